// SPDX-License-Identifier: GPL-2.0-only
/*
 * x25519.c - X25519 on BearSSL's c25519_m31 (contract: x25519.h).
 *
 * BearSSL documents the multiplier as big-endian, but for Curve25519 it
 * takes the scalar in RFC 7748 byte order and clamps it itself (deps.md
 * 2(b)); the RFC 7748 vectors in tests/crypto pin that down. We mask the
 * top bit of the u-coordinate ourselves, as RFC 7748 section 5 requires.
 */
#include "crypto/x25519.h"

#include <bearssl.h>
#include <string.h>

#include "crypto/ct.h"
#include "crypto/rand.h"

static const uint8_t base_point[X25519_LEN] = { 9 };

/* 1 when all n bytes are zero; constant time. */
static int all_zero(const uint8_t *p, size_t n)
{
	unsigned acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return (int)(((acc - 1u) >> 8) & 1u);
}

int x25519(uint8_t out[static X25519_LEN], const uint8_t scalar[static X25519_LEN],
	   const uint8_t point[static X25519_LEN])
{
	uint8_t u[X25519_LEN];
	uint8_t k[X25519_LEN];
	int ret = -1;

	memcpy(u, point, X25519_LEN);
	u[X25519_LEN - 1] &= 0x7f;
	memcpy(k, scalar, X25519_LEN);
	if (br_ec_c25519_m31.mul(u, sizeof(u), k, sizeof(k), BR_EC_curve25519) != 1
	    || all_zero(u, sizeof(u))) {
		ct_wipe(out, X25519_LEN);
		goto out;
	}
	memcpy(out, u, X25519_LEN);
	ret = 0;
out:
	ct_wipe(u, sizeof(u));
	ct_wipe(k, sizeof(k));
	return ret;
}

void x25519_public(uint8_t pub[static X25519_LEN], const uint8_t scalar[static X25519_LEN])
{
	/* scalar * 9 is never the all-zero point for a clamped scalar. */
	if (x25519(pub, scalar, base_point) != 0)
		ct_wipe(pub, X25519_LEN);
}

int x25519_eph_generate(struct x25519_eph *e)
{
	if (rand_bytes(e->priv, sizeof(e->priv)) != 0) {
		x25519_eph_clear(e);
		return -1;
	}
	x25519_public(e->pub, e->priv);
	return 0;
}

void x25519_eph_clear(struct x25519_eph *e)
{
	ct_wipe(e, sizeof(*e));
}
