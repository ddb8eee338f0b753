// SPDX-License-Identifier: GPL-2.0-only
/* Crypto core: ct_memeq/ct_wipe, rand, SHA-256/HMAC/HKDF (RFC 5869) vectors. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/ct.h"
#include "crypto/hash.h"
#include "crypto/rand.h"
#include "test_core_util.h"

Test(ct, memeq_equal_and_each_position_differs)
{
	uint8_t a[64], b[64];

	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (uint8_t)(i * 7 + 1);
	cr_assert_eq(ct_memeq(a, b, sizeof(a)), 1);
	cr_assert_eq(ct_memeq(a, b, 0), 1, "empty ranges are equal");
	for (size_t i = 0; i < sizeof(a); i++) {
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1u << bit);
			cr_assert_eq(ct_memeq(a, b, sizeof(a)), 0, "byte %zu bit %d", i, bit);
			/* a difference beyond n is not looked at */
			cr_assert_eq(ct_memeq(a, b, i), 1, "prefix %zu", i);
			b[i] ^= (uint8_t)(1u << bit);
		}
	}
	b[5] = (uint8_t)(a[5] ^ 0xff);
	cr_assert_eq(ct_memeq(a, b, sizeof(a)), 0);
}

Test(ct, wipe_zeroes_and_accepts_null_empty)
{
	uint8_t buf[100];

	memset(buf, 0xa5, sizeof(buf));
	ct_wipe(buf + 10, 50);
	cr_assert(all_zero(buf + 10, 50));
	cr_assert_eq(buf[9], 0xa5);
	cr_assert_eq(buf[60], 0xa5);
	ct_wipe(NULL, 0);
}

Test(rand, outputs_differ_and_are_not_constant)
{
	uint8_t a[32], b[32];

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	cr_assert_eq(rand_bytes(a, sizeof(a)), 0);
	cr_assert_eq(rand_bytes(b, sizeof(b)), 0);
	cr_assert(!all_zero(a, sizeof(a)));
	cr_assert(memcmp(a, b, sizeof(a)) != 0, "two draws were equal");
	cr_assert_eq(rand_bytes(a, 0), 0);
}

Test(rand, byte_histogram_is_flat)
{
	enum { N = 256 * 1000 };
	static uint8_t buf[N];
	unsigned count[256] = { 0 };
	double chi = 0;

	cr_assert_eq(rand_bytes(buf, sizeof(buf)), 0);
	for (size_t i = 0; i < N; i++)
		count[buf[i]]++;
	for (int v = 0; v < 256; v++) {
		double d = (double)count[v] - 1000.0;

		chi += d * d / 1000.0;
	}
	/* 255 degrees of freedom: mean 255, sd ~22.6; 400 is beyond 6 sd */
	cr_assert(chi < 400.0, "chi-square %.1f", chi);
}

Test(rand, uniform_bounds_and_distribution)
{
	static const uint32_t bounds[] = { 1, 2, 3, 7, 1000, 0x80000001u, UINT32_MAX };
	unsigned count[10] = { 0 };

	for (size_t b = 0; b < sizeof(bounds) / sizeof(bounds[0]); b++)
		for (int i = 0; i < 2000; i++)
			cr_assert_lt(rand_uniform(bounds[b]), bounds[b]);
	for (int i = 0; i < 100000; i++)
		count[rand_uniform(10)]++;
	for (int v = 0; v < 10; v++)	/* expect 10000, sd ~95 */
		cr_assert(count[v] > 9500 && count[v] < 10500, "value %d seen %u times", v, count[v]);
}

Test(rand, forked_child_gets_its_own_stream)
{
	uint8_t warm[8], mine[32], theirs[32];
	int fds[2];
	pid_t pid;
	int st;

	cr_assert_eq(rand_bytes(warm, sizeof(warm)), 0);	/* state seeded before fork */
	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		uint8_t c[32];

		if (rand_bytes(c, sizeof(c)) != 0 || write(fds[1], c, sizeof(c)) != (ssize_t)sizeof(c))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	cr_assert_eq(read(fds[0], theirs, sizeof(theirs)), (ssize_t)sizeof(theirs));
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert_eq(rand_bytes(mine, sizeof(mine)), 0);
	cr_assert(memcmp(mine, theirs, sizeof(mine)) != 0, "child repeated the parent's stream");
}

Test(rand, reseed_changes_stream)
{
	uint8_t a[32], b[32];

	cr_assert_eq(rand_reseed(), 0);
	cr_assert_eq(rand_bytes(a, sizeof(a)), 0);
	cr_assert_eq(rand_reseed(), 0);
	cr_assert_eq(rand_bytes(b, sizeof(b)), 0);
	cr_assert(memcmp(a, b, sizeof(a)) != 0);
}

Test(hash, sha256_fips180_vectors)
{
	uint8_t out[SHA256_LEN], want[SHA256_LEN];

	sha256(out, "abc", 3);
	unhex(want, sizeof(want), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	cr_assert_arr_eq(out, want, SHA256_LEN);
	sha256(out, "", 0);
	unhex(want, sizeof(want), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	cr_assert_arr_eq(out, want, SHA256_LEN);
}

/* RFC 4231 test cases 1, 2 and 6 (key longer than the block). */
Test(hash, hmac_sha256_rfc4231)
{
	uint8_t key[131], out[SHA256_LEN], want[SHA256_LEN];
	static const char tc6[] = "Test Using Larger Than Block-Size Key - Hash Key First";

	memset(key, 0x0b, 20);
	hmac_sha256(out, key, 20, "Hi There", 8);
	unhex(want, sizeof(want), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	cr_assert_arr_eq(out, want, SHA256_LEN);

	hmac_sha256(out, "Jefe", 4, "what do ya want for nothing?", 28);
	unhex(want, sizeof(want), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	cr_assert_arr_eq(out, want, SHA256_LEN);

	memset(key, 0xaa, sizeof(key));
	hmac_sha256(out, key, sizeof(key), tc6, sizeof(tc6) - 1);
	unhex(want, sizeof(want), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	cr_assert_arr_eq(out, want, SHA256_LEN);
}

static void fill_seq(uint8_t *p, size_t n, uint8_t first)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(first + i);
}

Test(hkdf, rfc5869_case1)
{
	uint8_t ikm[22], salt[13], info[10], okm[42], want[42];

	memset(ikm, 0x0b, sizeof(ikm));
	fill_seq(salt, sizeof(salt), 0x00);
	fill_seq(info, sizeof(info), 0xf0);
	unhex(want, sizeof(want), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
			       "34007208d5b887185865");
	cr_assert_eq(hkdf_sha256(okm, sizeof(okm), salt, sizeof(salt), ikm, sizeof(ikm), info,
				 sizeof(info)), 0);
	cr_assert_arr_eq(okm, want, sizeof(want));
}

Test(hkdf, rfc5869_case2_long_inputs)
{
	uint8_t ikm[80], salt[80], info[80], okm[82], want[82];

	fill_seq(ikm, sizeof(ikm), 0x00);
	fill_seq(salt, sizeof(salt), 0x60);
	fill_seq(info, sizeof(info), 0xb0);
	unhex(want, sizeof(want), "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
			       "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
			       "cc30c58179ec3e87c14c01d5c1f3434f1d87");
	cr_assert_eq(hkdf_sha256(okm, sizeof(okm), salt, sizeof(salt), ikm, sizeof(ikm), info,
				 sizeof(info)), 0);
	cr_assert_arr_eq(okm, want, sizeof(want));
}

/* Case 3: zero-length salt and info; a NULL salt must give the same. */
Test(hkdf, rfc5869_case3_empty_salt_info)
{
	uint8_t ikm[22], okm[42], want[42];

	memset(ikm, 0x0b, sizeof(ikm));
	unhex(want, sizeof(want), "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
			       "9d201395faa4b61a96c8");
	cr_assert_eq(hkdf_sha256(okm, sizeof(okm), "", 0, ikm, sizeof(ikm), "", 0), 0);
	cr_assert_arr_eq(okm, want, sizeof(want));
	memset(okm, 0, sizeof(okm));
	cr_assert_eq(hkdf_sha256(okm, sizeof(okm), NULL, 0, ikm, sizeof(ikm), NULL, 0), 0);
	cr_assert_arr_eq(okm, want, sizeof(want));
}

Test(hkdf, output_length_limit)
{
	static uint8_t okm[255 * 32 + 1];
	uint8_t ikm[16] = { 1 };

	memset(okm, 0x5c, sizeof(okm));
	cr_assert_eq(hkdf_sha256(okm, sizeof(okm), NULL, 0, ikm, sizeof(ikm), NULL, 0), -1);
	for (size_t i = 0; i < sizeof(okm); i++)
		cr_assert_eq(okm[i], 0x5c, "out touched at %zu on a rejected length", i);
	cr_assert_eq(hkdf_sha256(okm, 255 * 32, NULL, 0, ikm, sizeof(ikm), NULL, 0), 0);
	cr_assert_eq(okm[255 * 32], 0x5c, "wrote past outlen");
	cr_assert(!all_zero(okm + 254 * 32, 32));
}
