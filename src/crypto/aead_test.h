/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * aead_test.h - test-only hooks into aead.c. Never included outside tests/
 * and tools/bench-crypto.
 */
#ifndef MAVPN_CRYPTO_AEAD_TEST_H
#define MAVPN_CRYPTO_AEAD_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/aead.h"

/* true: every later aead_init() picks the portable constant-time code
 * (AES ct64 + GHASH ctmul64, Poly1305 ctmul) even where the CPU has the fast
 * instructions; aead_fast_mask() and aead_impl_name() follow. Keys already
 * expanded keep their implementation. false: back to the probed choice. */
void aead_force_portable(bool on);

/* AES-256-GCM with an IV of any length (SP 800-38D J0 derivation), so the
 * published vectors with 8- and 60-byte IVs can be checked. a must be an
 * AEAD_AES256_GCM key. seal: 0, or -1 for another alg. open: 0, or -1 with
 * buf wiped, as aead_open(). The data plane only ever uses 12-byte nonces. */
int aead_gcm_seal_iv(const struct aead *a, const uint8_t *iv, size_t ivlen,
		     const void *ad, size_t adlen, void *buf, size_t len,
		     uint8_t tag[static AEAD_TAG_LEN]);
int aead_gcm_open_iv(const struct aead *a, const uint8_t *iv, size_t ivlen,
		     const void *ad, size_t adlen, void *buf, size_t len,
		     const uint8_t tag[static AEAD_TAG_LEN]) __attribute__((warn_unused_result));

#endif
