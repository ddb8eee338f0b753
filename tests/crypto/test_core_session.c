// SPDX-License-Identifier: GPL-2.0-only
/* Crypto core: session key derivation and data packet seal/open. */
#include <criterion/criterion.h>
#include <string.h>

#include "crypto/hash.h"
#include "crypto/rand.h"
#include "crypto/session.h"
#include "proto/data.h"
#include "test_core_util.h"

struct pair {
	struct session_keys i, r;
	struct x25519_eph ei, er;	/* copies kept before derive wipes them */
	uint8_t secret[32], vip_i[16], vip_r[16];
	uint64_t sid;
};

static void setup_inputs(struct pair *p)
{
	memset(p, 0, sizeof(*p));
	cr_assert_eq(x25519_eph_generate(&p->ei), 0);
	cr_assert_eq(x25519_eph_generate(&p->er), 0);
	cr_assert_eq(rand_bytes(p->secret, sizeof(p->secret)), 0);
	/* 10.98.0.1 and 10.98.0.2, IPv4-mapped */
	unhex(p->vip_i, 16, "00000000000000000000ffff0a620001");
	unhex(p->vip_r, 16, "00000000000000000000ffff0a620002");
	p->sid = 0x1122334455667788ull;
}

static int derive(struct session_keys *k, enum session_role role, enum aead_alg alg,
		  const struct pair *p)
{
	struct x25519_eph eph = role == SESSION_INITIATOR ? p->ei : p->er;
	const uint8_t *peer = role == SESSION_INITIATOR ? p->er.pub : p->ei.pub;
	int ret = session_derive(k, role, alg, p->secret, &eph, peer, p->sid, p->vip_i, p->vip_r);

	cr_assert(all_zero(&eph, sizeof(eph)), "ephemeral not wiped (ret %d)", ret);
	return ret;
}

static void setup_pair(struct pair *p, enum aead_alg alg)
{
	setup_inputs(p);
	cr_assert_eq(derive(&p->i, SESSION_INITIATOR, alg, p), 0);
	cr_assert_eq(derive(&p->r, SESSION_RESPONDER, alg, p), 0);
}

/* type 1, reserved 0, receiver index LE (proto/data.h layout; written here
 * so this suite does not depend on the proto module's code). */
static void hdr_init(uint8_t *pkt, uint32_t receiver)
{
	pkt[0] = DATA_TYPE;
	pkt[1] = pkt[2] = pkt[3] = 0;
	for (int b = 0; b < 4; b++)
		pkt[4 + b] = (uint8_t)(receiver >> (8 * b));
}

static const enum aead_alg algs[] = { AEAD_AES256_GCM, AEAD_CHACHA20_POLY1305 };

Test(session, both_sides_derive_opposite_keys)
{
	for (size_t a = 0; a < 2; a++) {
		struct pair p;

		setup_pair(&p, algs[a]);
		cr_assert(p.i.valid && p.r.valid);
		cr_assert(memcmp(&p.i.tx, &p.r.rx, sizeof(struct aead)) == 0, "I->R differs");
		cr_assert(memcmp(&p.i.rx, &p.r.tx, sizeof(struct aead)) == 0, "R->I differs");
		cr_assert(memcmp(&p.i.tx, &p.i.rx, sizeof(struct aead)) != 0, "both directions equal");
		cr_assert_eq(p.i.tx.alg, algs[a]);
		cr_assert_eq(p.i.tx_counter, 0);
	}
}

/* The derived keys equal a from-scratch computation with x25519() and
 * hkdf_sha256() following session.h; checked by sealing the same packet
 * under both and comparing bytes. */
Test(session, keys_match_independent_kdf)
{
	for (size_t a = 0; a < 2; a++) {
		uint8_t dh[32], info[21 + 8 + 32], okm[64], pkt[16 + 40 + 16], ref[16 + 40 + 16];
		struct aead k_ir, k_ri;
		struct pair p;

		setup_pair(&p, algs[a]);
		cr_assert_eq(x25519(dh, p.ei.priv, p.er.pub), 0);
		memcpy(info, "mavpn v1 session keys", 21);
		for (int b = 0; b < 8; b++)
			info[21 + b] = (uint8_t)(p.sid >> (56 - 8 * b));
		memcpy(info + 29, p.vip_i, 16);
		memcpy(info + 45, p.vip_r, 16);
		cr_assert_eq(hkdf_sha256(okm, 64, p.secret, 32, dh, 32, info, sizeof(info)), 0);
		cr_assert_eq(aead_init(&k_ir, algs[a], okm), 0);
		cr_assert_eq(aead_init(&k_ri, algs[a], okm + 32), 0);
		cr_assert(memcmp(&k_ir, &p.i.tx, sizeof(k_ir)) == 0);
		cr_assert(memcmp(&k_ri, &p.r.tx, sizeof(k_ri)) == 0);

		/* byte-level: session_seal == aead_seal_ctr(okm key, header as AD) */
		for (size_t j = 0; j < sizeof(pkt); j++)
			pkt[j] = (uint8_t)j;
		hdr_init(pkt, 77);
		memcpy(ref, pkt, sizeof(pkt));
		cr_assert_eq(session_seal(&p.r, pkt, 40), 0);
		memset(ref + 8, 0, 8);	/* counter 0, little-endian */
		aead_seal_ctr(&k_ri, 0, ref, 16, ref + 16, 40, ref + 56);
		cr_assert_arr_eq(pkt, ref, sizeof(pkt));
	}
}

/* Any change of sid, either VIP, S, role order or peer key: other keys. */
Test(session, inputs_bind_the_keys)
{
	struct pair base, p;
	struct session_keys k;

	setup_pair(&base, AEAD_AES256_GCM);
	for (int v = 0; v < 6; v++) {
		p = base;
		switch (v) {
		case 0: p.sid ^= 1; break;
		case 1: p.vip_i[15] ^= 1; break;
		case 2: p.vip_r[0] ^= 0x80; break;
		case 3: p.secret[31] ^= 1; break;
		case 4: memcpy(p.vip_i, base.vip_r, 16); memcpy(p.vip_r, base.vip_i, 16); break;
		case 5: cr_assert_eq(x25519_eph_generate(&p.er), 0); break;
		}
		cr_assert_eq(derive(&k, SESSION_INITIATOR, AEAD_AES256_GCM, &p), 0);
		cr_assert(memcmp(&k.tx, &base.i.tx, sizeof(k.tx)) != 0, "variant %d: same tx", v);
		cr_assert(memcmp(&k.rx, &base.i.rx, sizeof(k.rx)) != 0, "variant %d: same rx", v);
	}
	/* and the same inputs give the same keys */
	cr_assert_eq(derive(&k, SESSION_INITIATOR, AEAD_AES256_GCM, &base), 0);
	cr_assert(memcmp(&k, &base.i, sizeof(k)) == 0);
}

Test(session, low_order_peer_or_bad_alg_fails_and_clears)
{
	static const uint8_t zero_pub[32];
	struct session_keys k;
	struct pair p;
	struct x25519_eph eph;

	setup_pair(&p, AEAD_AES256_GCM);
	k = p.i;	/* a valid, non-zero struct to be overwritten */
	eph = p.ei;
	cr_assert_eq(session_derive(&k, SESSION_INITIATOR, AEAD_AES256_GCM, p.secret, &eph,
				    zero_pub, p.sid, p.vip_i, p.vip_r), -1);
	cr_assert(all_zero(&eph, sizeof(eph)), "eph kept after failure");
	cr_assert(!k.valid);
	cr_assert(all_zero(&k, sizeof(k)), "keys not cleared");

	k = p.i;
	eph = p.ei;
	cr_assert_eq(session_derive(&k, SESSION_INITIATOR, (enum aead_alg)7, p.secret, &eph,
				    p.er.pub, p.sid, p.vip_i, p.vip_r), -1);
	cr_assert(all_zero(&eph, sizeof(eph)));
	cr_assert(all_zero(&k, sizeof(k)));
}

Test(session, seal_open_both_ways_and_replay)
{
	for (size_t a = 0; a < 2; a++) {
		uint8_t pkt[DATA_HDR_LEN + 1420 + DATA_TAG_LEN], copy[sizeof(pkt)], msg[1420];
		struct pair p;

		setup_pair(&p, algs[a]);
		for (int n = 0; n < 5; n++) {
			struct session_keys *tx = n % 2 ? &p.r : &p.i, *rx = n % 2 ? &p.i : &p.r;
			size_t len = n == 4 ? 0 : 1420 - (size_t)n * 300;	/* n 4: keepalive */
			uint64_t want_ctr = tx->tx_counter;
			uint64_t wire = 0;

			cr_assert_eq(rand_bytes(msg, len), 0);
			hdr_init(pkt, 1000u + (uint32_t)n);
			memcpy(pkt + DATA_HDR_LEN, msg, len);
			cr_assert_eq(session_seal(tx, pkt, len), (int64_t)want_ctr);
			for (int b = 7; b >= 0; b--)
				wire = wire << 8 | pkt[8 + b];
			cr_assert_eq(wire, want_ctr, "counter not LE at bytes 8..16");
			if (len)
				cr_assert(memcmp(pkt + DATA_HDR_LEN, msg, len) != 0, "not encrypted");
			memcpy(copy, pkt, sizeof(pkt));
			cr_assert_eq(session_open(rx, pkt, len), SESSION_OPEN_OK, "n %d", n);
			cr_assert_arr_eq(pkt + DATA_HDR_LEN, msg, len);
			/* the same packet again is a replay */
			cr_assert_eq(session_open(rx, copy, len), SESSION_OPEN_REPLAY);
			/* and a packet sealed in one direction does not open as the other */
			memcpy(pkt, copy, sizeof(pkt));
			{
				struct session_keys wrong = *tx;

				replay_init(&wrong.rx_window);
				cr_assert_eq(session_open(&wrong, pkt, len), SESSION_OPEN_TAG);
			}
		}
		cr_assert_eq(p.i.tx_counter, 3);
		cr_assert_eq(p.r.tx_counter, 2);
	}
}

Test(session, invalid_and_spent_keys)
{
	uint8_t pkt[DATA_HDR_LEN + 8 + DATA_TAG_LEN] = { 0 };
	struct session_keys k;
	struct pair p;

	memset(&k, 0, sizeof(k));
	cr_assert_eq(session_seal(&k, pkt, 8), -1);
	cr_assert_eq(session_open(&k, pkt, 8), SESSION_OPEN_INVALID);

	setup_pair(&p, AEAD_CHACHA20_POLY1305);
	p.i.tx_counter = SESSION_MAX_PACKETS - 1;
	hdr_init(pkt, 1);
	cr_assert_eq(session_seal(&p.i, pkt, 8), (int64_t)(SESSION_MAX_PACKETS - 1));
	cr_assert_eq(session_open(&p.r, pkt, 8), SESSION_OPEN_OK);
	cr_assert_eq(session_seal(&p.i, pkt, 8), -1, "sealed past SESSION_MAX_PACKETS");
	cr_assert_eq(p.i.tx_counter, SESSION_MAX_PACKETS);

	session_keys_clear(&p.r);
	cr_assert(!p.r.valid);
	cr_assert(all_zero(&p.r, sizeof(p.r)));
	cr_assert_eq(session_open(&p.r, pkt, 8), SESSION_OPEN_INVALID);
}

/* Flip every bit of header, ciphertext and tag in turn: each variant must
 * fail with SESSION_OPEN_TAG, leave the payload all zero and the window
 * unchanged. The receiver has seen counter 0 only; the packet carries
 * counter 3, so no single counter-bit flip lands on a seen counter. */
Test(session, tamper_every_bit)
{
	enum { LEN = 64 };

	for (size_t a = 0; a < 2; a++) {
		uint8_t pkt[DATA_HDR_LEN + LEN + DATA_TAG_LEN], good[sizeof(pkt)];
		struct replay before;
		struct pair p;

		setup_pair(&p, algs[a]);
		for (int n = 0; n < 4; n++) {
			memset(pkt, 0xab, sizeof(pkt));
			hdr_init(pkt, 9);
			cr_assert_eq(session_seal(&p.i, pkt, LEN), n);
			if (n == 0)
				cr_assert_eq(session_open(&p.r, pkt, LEN), SESSION_OPEN_OK);
		}
		memcpy(good, pkt, sizeof(pkt));
		memcpy(&before, &p.r.rx_window, sizeof(before));
		for (size_t bit = 0; bit < 8 * sizeof(pkt); bit++) {
			memcpy(pkt, good, sizeof(pkt));
			pkt[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			cr_assert_eq(session_open(&p.r, pkt, LEN), SESSION_OPEN_TAG,
				     "alg %d: byte %zu bit %zu accepted", algs[a], bit / 8, bit % 8);
			cr_assert(all_zero(pkt + DATA_HDR_LEN, LEN), "byte %zu: payload not wiped",
				  bit / 8);
			cr_assert(memcmp(&before, &p.r.rx_window, sizeof(before)) == 0,
				  "byte %zu: window moved", bit / 8);
		}
		/* the untouched packet still opens afterwards */
		memcpy(pkt, good, sizeof(pkt));
		cr_assert_eq(session_open(&p.r, pkt, LEN), SESSION_OPEN_OK);
		for (size_t j = 0; j < LEN; j++)
			cr_assert_eq(pkt[DATA_HDR_LEN + j], 0xab);
	}
}
