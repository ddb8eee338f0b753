/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * session.h - per-session traffic keys (DESIGN.md step 5) and the one place
 * that seals and opens data packets.
 *
 * Key derivation, for a session brokered with id `sid` between an initiator
 * I (who sent SESSION_REQ) and a responder R:
 *
 *   dh   = X25519(own ephemeral private, peer ephemeral public)
 *   info = "mavpn v1 session keys" || BE64(sid) || vip(I) || vip(R)
 *          (each VIP as 16 bytes: IPv6, or IPv4-mapped ::ffff:a.b.c.d)
 *   okm  = HKDF-SHA256(salt = S (the broker's 32-byte secret), ikm = dh, info)
 *   key I->R = okm[0..32), key R->I = okm[32..64)
 *
 * The initiator sends with I->R and receives with R->I; the responder the
 * reverse. dh, okm and the caller's ephemeral are wiped before return (the
 * ephemeral on success and failure: forward secrecy).
 *
 * A struct session_keys is embedded by its owner (a router session slot):
 * it holds the two expanded keys, the send counter and the receive replay
 * window. Nothing outside src/crypto reads its key fields.
 */
#ifndef MAVPN_CRYPTO_SESSION_H
#define MAVPN_CRYPTO_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/aead.h"
#include "crypto/replay.h"
#include "crypto/x25519.h"

#define SESSION_SECRET_LEN 32
#define SESSION_VIP_LEN 16
#define SESSION_KDF_LABEL "mavpn v1 session keys"

/* Send at most this many packets under one key (then the sender must have
 * rekeyed; further seals fail). */
#define SESSION_MAX_PACKETS (1ull << 60)

struct session_keys {
	struct aead tx;
	struct aead rx;
	uint64_t tx_counter;	/* next counter to send */
	struct replay rx_window;
	bool valid;
};

enum session_role { SESSION_INITIATOR, SESSION_RESPONDER };

/* Derive both directions into k (valid = true). Always wipes *eph.
 * -1 (k cleared) on a low-order peer public or unknown alg. */
int session_derive(struct session_keys *k, enum session_role role, enum aead_alg alg,
		   const uint8_t secret[static SESSION_SECRET_LEN],
		   struct x25519_eph *eph,
		   const uint8_t peer_pub[static X25519_LEN], uint64_t sid,
		   const uint8_t vip_initiator[static SESSION_VIP_LEN],
		   const uint8_t vip_responder[static SESSION_VIP_LEN])
	__attribute__((warn_unused_result));

/* Erase everything (valid = false). Safe on a cleared struct. */
void session_keys_clear(struct session_keys *k);

/*
 * Seal one data packet in place. pkt points at the 16-byte data header,
 * already filled by the caller except the counter (bytes 8..16), followed by
 * len bytes of plaintext and AEAD_TAG_LEN bytes of room for the tag.
 * Writes the counter into the header, encrypts with the header as AD,
 * appends the tag. Returns the counter used, or -1 when the key is spent
 * (SESSION_MAX_PACKETS) or invalid.
 */
int64_t session_seal(struct session_keys *k, uint8_t *pkt, size_t len)
	__attribute__((warn_unused_result));

enum session_open_result {
	SESSION_OPEN_OK = 0,
	SESSION_OPEN_REPLAY,	/* counter too old or already seen (window unchanged;
				 * payload wiped if the duplicate was only caught
				 * after decryption by replay_update) */
	SESSION_OPEN_TAG,	/* authentication failed (window unchanged, output wiped) */
	SESSION_OPEN_INVALID,	/* no key */
};

/*
 * Open one data packet in place: pkt = 16-byte header (counter at bytes
 * 8..16, little-endian) || ciphertext (len bytes) || tag. Replay check before
 * decryption, window advanced only after the tag verified.
 */
enum session_open_result session_open(struct session_keys *k, uint8_t *pkt, size_t len)
	__attribute__((warn_unused_result));

#endif
