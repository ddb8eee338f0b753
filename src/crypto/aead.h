/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * aead.h - the two data-plane AEADs, behind one narrow interface.
 *
 *   AEAD_AES256_GCM        AES-NI + PCLMUL when the CPU has them (probed once
 *                          by aead_probe()); otherwise the portable
 *                          constant-time BearSSL code (slow: ~20x).
 *   AEAD_CHACHA20_POLY1305 BearSSL chacha20 sse2 when the CPU has it (measured
 *                          ~1.5x faster than "ct" here, see aead.c), else
 *                          "ct"; + poly1305 ctmulq (64-bit mul), else ctmul.
 *
 * Nonces are 12 bytes. The data plane uses aead_seal_ctr()/aead_open_ctr(),
 * whose nonce is 4 zero bytes followed by the 64-bit counter little-endian.
 *
 * A struct aead holds an expanded key. It is plain memory owned by the
 * caller (embedded in a session slot, never allocated here); its contents
 * are private to src/crypto. aead_clear() wipes it. A struct aead is
 * read-only after aead_init(): seal/open never modify it, so one key may be
 * used from several threads at once.
 *
 * Sealing and opening work in place: buf holds len bytes of plaintext
 * (resp. ciphertext); the 16-byte tag is separate. aead_open*() compares
 * the tag in constant time and, on failure, wipes buf[0..len) before
 * returning -1, so unauthenticated plaintext never escapes.
 * len must stay below 2^36 - 32 bytes (GCM's 32-bit block counter); the data
 * plane carries at most 64 KiB. Sealing with a cleared or never-initialised
 * struct aead is a bug and aborts; opening with one returns -1.
 */
#ifndef MAVPN_CRYPTO_AEAD_H
#define MAVPN_CRYPTO_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AEAD_KEY_LEN   32
#define AEAD_TAG_LEN   16
#define AEAD_NONCE_LEN 12

/* Wire values (used in control frames as a bitmask: 1u << alg). */
enum aead_alg {
	AEAD_CHACHA20_POLY1305 = 1,
	AEAD_AES256_GCM = 2,
};
#define AEAD_MASK(alg) (1u << (alg))

struct aead {
	enum aead_alg alg;
	/* private: expanded key schedule, layout known to aead.c only */
	_Alignas(16) unsigned char priv[480];
};

/* Probe CPU features once (idempotent; aead_init calls it). */
void aead_probe(void);

/* Bitmask (AEAD_MASK) of algorithms this host runs at full speed:
 * ChaCha20-Poly1305 always, AES-256-GCM only with AES-NI + PCLMUL. */
uint32_t aead_fast_mask(void);

/* Best of a mask of algorithms both ends support: AES-256-GCM when present,
 * otherwise ChaCha20-Poly1305; 0 when the mask has neither. */
enum aead_alg aead_pick(uint32_t common_mask);

/* Short names: "aes-256-gcm", "chacha20-poly1305". */
const char *aead_name(enum aead_alg alg);

/* Name of the implementation chosen for alg ("x86ni+pclmul", "ct64", ...). */
const char *aead_impl_name(enum aead_alg alg);

/* Expand key. 0, or -1 for an unknown alg. */
int aead_init(struct aead *a, enum aead_alg alg, const uint8_t key[static AEAD_KEY_LEN])
	__attribute__((warn_unused_result));
void aead_clear(struct aead *a);

void aead_seal(const struct aead *a, const uint8_t nonce[static AEAD_NONCE_LEN],
	       const void *ad, size_t adlen, void *buf, size_t len,
	       uint8_t tag[static AEAD_TAG_LEN]);
int aead_open(const struct aead *a, const uint8_t nonce[static AEAD_NONCE_LEN],
	      const void *ad, size_t adlen, void *buf, size_t len,
	      const uint8_t tag[static AEAD_TAG_LEN]) __attribute__((warn_unused_result));

/* Counter-nonce forms for the data plane (nonce = 0^4 || LE64(counter)). */
void aead_seal_ctr(const struct aead *a, uint64_t counter, const void *ad, size_t adlen,
		   void *buf, size_t len, uint8_t tag[static AEAD_TAG_LEN]);
int aead_open_ctr(const struct aead *a, uint64_t counter, const void *ad, size_t adlen,
		  void *buf, size_t len, const uint8_t tag[static AEAD_TAG_LEN])
	__attribute__((warn_unused_result));

#endif
