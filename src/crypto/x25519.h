/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * x25519.h - X25519 (RFC 7748) for the session ephemerals.
 *
 * Byte order is RFC 7748's everywhere (little-endian scalars and u-coordinates);
 * clamping is done inside. An ephemeral key pair lives in a struct x25519_eph
 * that its owner embeds (the router's pending state) and wipes with
 * x25519_eph_clear() as soon as the session keys are derived.
 */
#ifndef MAVPN_CRYPTO_X25519_H
#define MAVPN_CRYPTO_X25519_H

#include <stdint.h>

#define X25519_LEN 32

struct x25519_eph {
	uint8_t priv[X25519_LEN];	/* private: only src/crypto reads it */
	uint8_t pub[X25519_LEN];
};

/* out = scalar * point. -1 when the result is all zero (low-order point),
 * out is then zeroed; 0 otherwise. */
int x25519(uint8_t out[static X25519_LEN], const uint8_t scalar[static X25519_LEN],
	   const uint8_t point[static X25519_LEN]) __attribute__((warn_unused_result));

/* pub = scalar * 9. */
void x25519_public(uint8_t pub[static X25519_LEN], const uint8_t scalar[static X25519_LEN]);

/* Fresh ephemeral pair from rand_bytes(). 0, or -1 if the RNG failed. */
int x25519_eph_generate(struct x25519_eph *e) __attribute__((warn_unused_result));
void x25519_eph_clear(struct x25519_eph *e);

#endif
