// SPDX-License-Identifier: GPL-2.0-only
/*
 * Crypto core: the AEADs against published vectors, on both the fast and the
 * portable implementation, plus cross-checks and the selection helpers.
 *
 * ChaCha20-Poly1305: RFC 8439 section 2.8.2.
 * AES-256-GCM: McGrew & Viega, "The Galois/Counter Mode of Operation",
 * test cases 13-18 (the 256-bit key ones). 13-16 use 96-bit IVs and go
 * through aead_seal()/aead_open(); 17 (8-byte IV) and 18 (60-byte IV) go
 * through the test-only aead_gcm_{seal,open}_iv() of crypto/aead_test.h,
 * which shares every step with the data-plane path except the J0 derivation.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/aead_test.h"
#include "test_core_util.h"

static const char rfc8439_pt[] =
	"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for "
	"the future, sunscreen would be it.";

static void chapol_vector(void)
{
	uint8_t key[32], nonce[12], aad[12], ct[114], tag[16], buf[114], out_tag[16];
	struct aead a;

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x80 + i);
	unhex(nonce, sizeof(nonce), "07000000 4041424344454647");
	unhex(aad, sizeof(aad), "50515253c0c1c2c3c4c5c6c7");
	unhex(ct, sizeof(ct),
	      "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
	      "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
	      "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
	      "3ff4def08e4b7a9de576d26586cec64b6116");
	unhex(tag, sizeof(tag), "1ae10b594f09e26a7e902ecbd0600691");
	cr_assert_eq(sizeof(rfc8439_pt) - 1, sizeof(buf));

	cr_assert_eq(aead_init(&a, AEAD_CHACHA20_POLY1305, key), 0);
	memcpy(buf, rfc8439_pt, sizeof(buf));
	aead_seal(&a, nonce, aad, sizeof(aad), buf, sizeof(buf), out_tag);
	cr_assert_arr_eq(buf, ct, sizeof(ct));
	cr_assert_arr_eq(out_tag, tag, sizeof(tag));

	cr_assert_eq(aead_open(&a, nonce, aad, sizeof(aad), buf, sizeof(buf), tag), 0);
	cr_assert_arr_eq(buf, rfc8439_pt, sizeof(buf));

	/* wrong tag / wrong AAD: -1 and the buffer wiped */
	memcpy(buf, ct, sizeof(ct));
	tag[15] ^= 1;
	cr_assert_eq(aead_open(&a, nonce, aad, sizeof(aad), buf, sizeof(buf), tag), -1);
	cr_assert(all_zero(buf, sizeof(buf)));
	tag[15] ^= 1;
	memcpy(buf, ct, sizeof(ct));
	aad[0] ^= 0x80;
	cr_assert_eq(aead_open(&a, nonce, aad, sizeof(aad), buf, sizeof(buf), tag), -1);
	cr_assert(all_zero(buf, sizeof(buf)));
	aead_clear(&a);
	cr_assert(all_zero(&a, sizeof(a)));
}

Test(aead_chapol, rfc8439_2_8_2_fast)
{
#if defined(__x86_64__)
	cr_assert_str_eq(aead_impl_name(AEAD_CHACHA20_POLY1305), "sse2+ctmulq");
#endif
	chapol_vector();
}

Test(aead_chapol, rfc8439_2_8_2_portable)
{
	aead_force_portable(true);
	cr_assert_str_eq(aead_impl_name(AEAD_CHACHA20_POLY1305), "ct+ctmul");
	chapol_vector();
}

struct gcm_vec {
	int tc;
	const char *key, *iv, *pt, *aad, *ct, *tag;
};

#define K0 "0000000000000000000000000000000000000000000000000000000000000000"
#define K1 "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
#define P64 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
	    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
#define P60 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
	    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
#define A20 "feedfacedeadbeeffeedfacedeadbeefabaddad2"

static const struct gcm_vec gcm_vecs[] = {
	{ 13, K0, "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b" },
	{ 14, K0, "000000000000000000000000", "00000000000000000000000000000000", "",
	  "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919" },
	{ 15, K1, "cafebabefacedbaddecaf888", P64, "",
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
	  "b094dac5d93471bdec1a502270e3cc6c" },
	{ 16, K1, "cafebabefacedbaddecaf888", P60, A20,
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	  "76fc6ece0f4e1768cddf8853bb2d551b" },
	{ 17, K1, "cafebabefacedbad", P60, A20,
	  "c3762df1ca787d32ae47c13bf19844cbaf1ae14d0b976afac52ff7d79bba9de0"
	  "feb582d33934a4f0954cc2363bc73f7862ac430e64abe499f47c9b1f",
	  "3a337dbf46a792c45e454913fe2ea8f2" },
	{ 18, K1,
	  "9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728"
	  "c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b",
	  P60, A20,
	  "5a8def2f0c9e53f1f75d7853659e2a20eeb2b22aafde6419a058ab4f6f746bf4"
	  "0fc0c3b780f244452da3ebf1c5d82cdea2418997200ef82e44ae7e3f",
	  "a44a8266ee1c8eb0c8b5d4cf5ae9f19a" },
};

static void gcm_vectors(const char *impl)
{
	cr_assert_str_eq(aead_impl_name(AEAD_AES256_GCM), impl);
	for (size_t i = 0; i < sizeof(gcm_vecs) / sizeof(gcm_vecs[0]); i++) {
		const struct gcm_vec *v = &gcm_vecs[i];
		uint8_t key[32], iv[64], pt[64], aad[32], ct[64], tag[16], buf[64], t[16];
		size_t ivlen, ptlen, aadlen;
		struct aead a;

		unhex(key, sizeof(key), v->key);
		ivlen = unhex(iv, sizeof(iv), v->iv);
		ptlen = unhex(pt, sizeof(pt), v->pt);
		aadlen = unhex(aad, sizeof(aad), v->aad);
		cr_assert_eq(unhex(ct, sizeof(ct), v->ct), ptlen);
		unhex(tag, sizeof(tag), v->tag);
		cr_assert_eq(aead_init(&a, AEAD_AES256_GCM, key), 0);

		if (ivlen == AEAD_NONCE_LEN) {
			memcpy(buf, pt, ptlen);
			aead_seal(&a, iv, aad, aadlen, buf, ptlen, t);
			cr_assert_arr_eq(buf, ct, ptlen, "tc %d ciphertext", v->tc);
			cr_assert_arr_eq(t, tag, 16, "tc %d tag", v->tc);
			cr_assert_eq(aead_open(&a, iv, aad, aadlen, buf, ptlen, tag), 0, "tc %d", v->tc);
			cr_assert_arr_eq(buf, pt, ptlen, "tc %d plaintext", v->tc);
			/* any flipped tag bit fails and wipes */
			for (int bit = 0; bit < 128; bit++) {
				memcpy(buf, ct, ptlen);
				t[bit / 8] = (uint8_t)(tag[bit / 8] ^ (1u << (bit % 8)));
				cr_assert_eq(aead_open(&a, iv, aad, aadlen, buf, ptlen, t), -1,
					     "tc %d tag bit %d", v->tc, bit);
				cr_assert(all_zero(buf, ptlen));
				t[bit / 8] = tag[bit / 8];
			}
		}
		/* every vector also through the any-IV path */
		memcpy(buf, pt, ptlen);
		cr_assert_eq(aead_gcm_seal_iv(&a, iv, ivlen, aad, aadlen, buf, ptlen, t), 0);
		cr_assert_arr_eq(buf, ct, ptlen, "tc %d ciphertext (iv path)", v->tc);
		cr_assert_arr_eq(t, tag, 16, "tc %d tag (iv path)", v->tc);
		cr_assert_eq(aead_gcm_open_iv(&a, iv, ivlen, aad, aadlen, buf, ptlen, tag), 0);
		cr_assert_arr_eq(buf, pt, ptlen);
		if (ptlen) {
			memcpy(buf, ct, ptlen);
			buf[ptlen - 1] ^= 0x01;
			cr_assert_eq(aead_gcm_open_iv(&a, iv, ivlen, aad, aadlen, buf, ptlen, tag), -1);
			cr_assert(all_zero(buf, ptlen));
		}
		aead_clear(&a);
	}
}

Test(aead_gcm, mcgrew_viega_13_to_18_fast)
{
	if (!(aead_fast_mask() & AEAD_MASK(AEAD_AES256_GCM)))
		cr_skip_test("no AES-NI + PCLMUL on this CPU");
	gcm_vectors("x86ni+pclmul");
}

Test(aead_gcm, mcgrew_viega_13_to_18_portable)
{
	aead_force_portable(true);
	gcm_vectors("ct64+ctmul64");
}

/* Deterministic pseudo-random bytes for cross-checks. */
static void prng_fill(uint32_t *s, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		*s ^= *s << 13;
		*s ^= *s >> 17;
		*s ^= *s << 5;
		p[i] = (uint8_t)*s;
	}
}

/* Fast and portable implementations agree on seeded random inputs of every
 * length 0..300 (all block-boundary cases) with AAD of 0..40 bytes. */
static void cross_check(enum aead_alg alg)
{
	static uint8_t key[32], nonce[12], ad[40], pt[300], b1[300], b2[300];
	uint8_t t1[16], t2[16];
	struct aead fast, port;
	uint32_t s = 0x9e3779b9u;

	prng_fill(&s, key, sizeof(key));
	aead_force_portable(false);
	cr_assert_eq(aead_init(&fast, alg, key), 0);
	aead_force_portable(true);
	cr_assert_eq(aead_init(&port, alg, key), 0);
	for (size_t len = 0; len <= sizeof(pt); len++) {
		size_t adlen = len % 41;

		prng_fill(&s, nonce, sizeof(nonce));
		prng_fill(&s, ad, adlen);
		prng_fill(&s, pt, len);
		memcpy(b1, pt, len);
		memcpy(b2, pt, len);
		aead_seal(&fast, nonce, ad, adlen, b1, len, t1);
		aead_seal(&port, nonce, ad, adlen, b2, len, t2);
		cr_assert_arr_eq(b1, b2, len, "len %zu ciphertext", len);
		cr_assert_arr_eq(t1, t2, 16, "len %zu tag", len);
		cr_assert_eq(aead_open(&port, nonce, ad, adlen, b1, len, t1), 0, "len %zu", len);
		cr_assert_arr_eq(b1, pt, len);
		cr_assert_eq(aead_open(&fast, nonce, ad, adlen, b2, len, t2), 0, "len %zu", len);
		cr_assert_arr_eq(b2, pt, len);
	}
}

Test(aead_gcm, fast_matches_portable)
{
	if (!(aead_fast_mask() & AEAD_MASK(AEAD_AES256_GCM)))
		cr_skip_test("no AES-NI + PCLMUL on this CPU");
	cross_check(AEAD_AES256_GCM);
}

Test(aead_chapol, fast_matches_portable)
{
	cross_check(AEAD_CHACHA20_POLY1305);
}

/* The counter form is aead_seal() with nonce 0^4 || LE64(counter), and a
 * struct aead keeps working after being copied elsewhere. */
Test(aead, ctr_nonce_layout_and_copied_key)
{
	static const enum aead_alg algs[] = { AEAD_AES256_GCM, AEAD_CHACHA20_POLY1305 };
	const uint64_t ctr = 0x0102030405060708ull;
	uint8_t key[32], nonce[12] = { 0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1 };
	uint8_t b1[100], b2[100], t1[16], t2[16];
	uint32_t s = 42;

	prng_fill(&s, key, sizeof(key));
	for (size_t i = 0; i < 2; i++) {
		struct aead a, *copy = malloc(sizeof(*copy));

		cr_assert(copy);
		prng_fill(&s, b1, sizeof(b1));
		memcpy(b2, b1, sizeof(b1));
		cr_assert_eq(aead_init(&a, algs[i], key), 0);
		memcpy(copy, &a, sizeof(a));
		aead_seal_ctr(copy, ctr, "hdr", 3, b1, sizeof(b1), t1);
		aead_clear(&a);	/* the copy must not depend on the original */
		cr_assert_eq(aead_init(&a, algs[i], key), 0);
		aead_seal(&a, nonce, "hdr", 3, b2, sizeof(b2), t2);
		cr_assert_arr_eq(b1, b2, sizeof(b1));
		cr_assert_arr_eq(t1, t2, 16);
		cr_assert_eq(aead_open_ctr(copy, ctr, "hdr", 3, b1, sizeof(b1), t1), 0);
		cr_assert_eq(aead_open_ctr(copy, ctr + 1, "hdr", 3, b2, sizeof(b2), t2), -1,
			     "a different counter must not open");
		cr_assert(all_zero(b2, sizeof(b2)));
		aead_clear(copy);
		free(copy);
	}
}

Test(aead, init_rejects_unknown_alg)
{
	uint8_t key[32] = { 1 };
	struct aead a;

	cr_assert_eq(aead_init(&a, (enum aead_alg)0, key), -1);
	cr_assert_eq(aead_init(&a, (enum aead_alg)3, key), -1);
	cr_assert_eq(aead_init(&a, AEAD_AES256_GCM, key), 0);
}

Test(aead, open_with_cleared_key_fails_and_wipes)
{
	uint8_t key[32] = { 1 }, buf[20], tag[16] = { 0 };
	struct aead a;

	cr_assert_eq(aead_init(&a, AEAD_AES256_GCM, key), 0);
	aead_clear(&a);
	memset(buf, 0x33, sizeof(buf));
	cr_assert_eq(aead_open_ctr(&a, 0, NULL, 0, buf, sizeof(buf), tag), -1);
	cr_assert(all_zero(buf, sizeof(buf)));
}

Test(aead, pick_table)
{
	const uint32_t c = AEAD_MASK(AEAD_CHACHA20_POLY1305), g = AEAD_MASK(AEAD_AES256_GCM);

	cr_assert_eq(aead_pick(c | g), AEAD_AES256_GCM);
	cr_assert_eq(aead_pick(g), AEAD_AES256_GCM);
	cr_assert_eq(aead_pick(c), AEAD_CHACHA20_POLY1305);
	cr_assert_eq(aead_pick(0), 0);
	cr_assert_eq(aead_pick(1u), 0, "bit 0 is no algorithm");
	cr_assert_eq(aead_pick(~(c | g)), 0, "unknown bits only");
	cr_assert_eq(aead_pick(0xffffffffu), AEAD_AES256_GCM);
	cr_assert_str_eq(aead_name(AEAD_AES256_GCM), "aes-256-gcm");
	cr_assert_str_eq(aead_name(AEAD_CHACHA20_POLY1305), "chacha20-poly1305");
}

/* The mask follows the CPU (checked independently via cpuid) and the
 * portable override. */
Test(aead, fast_mask_follows_cpu)
{
	const uint32_t c = AEAD_MASK(AEAD_CHACHA20_POLY1305), g = AEAD_MASK(AEAD_AES256_GCM);
	bool hw = false;

#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	hw = __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul");
#endif
	cr_assert_eq(aead_fast_mask(), hw ? (c | g) : c);
	cr_assert_str_eq(aead_impl_name(AEAD_AES256_GCM), hw ? "x86ni+pclmul" : "ct64+ctmul64");
	aead_force_portable(true);
	cr_assert_eq(aead_fast_mask(), c);
	aead_force_portable(false);
	cr_assert_eq(aead_fast_mask(), hw ? (c | g) : c);
}
