// SPDX-License-Identifier: GPL-2.0-only
/*
 * session.c - session key derivation and data packet seal/open
 * (contract: session.h; packet layout: proto/data.h).
 */
#include "crypto/session.h"

#include <string.h>

#include "crypto/ct.h"
#include "crypto/hash.h"

#define HDR_LEN 16		/* proto/data.h DATA_HDR_LEN */
#define CTR_OFF 8		/* counter, little-endian, at header bytes 8..16 */
#define LABEL_LEN (sizeof(SESSION_KDF_LABEL) - 1)
#define INFO_LEN (LABEL_LEN + 8 + 2 * SESSION_VIP_LEN)

int session_derive(struct session_keys *k, enum session_role role, enum aead_alg alg,
		   const uint8_t secret[static SESSION_SECRET_LEN],
		   struct x25519_eph *eph,
		   const uint8_t peer_pub[static X25519_LEN], uint64_t sid,
		   const uint8_t vip_initiator[static SESSION_VIP_LEN],
		   const uint8_t vip_responder[static SESSION_VIP_LEN])
{
	uint8_t dh[X25519_LEN];
	uint8_t okm[2 * AEAD_KEY_LEN];
	uint8_t info[INFO_LEN];
	const uint8_t *tx, *rx;
	uint8_t *p = info;
	int ret = -1;

	session_keys_clear(k);
	if (alg != AEAD_AES256_GCM && alg != AEAD_CHACHA20_POLY1305)
		goto out;
	if (x25519(dh, eph->priv, peer_pub) != 0)
		goto out;

	memcpy(p, SESSION_KDF_LABEL, LABEL_LEN);
	p += LABEL_LEN;
	for (int i = 7; i >= 0; i--)
		*p++ = (uint8_t)(sid >> (8 * i));
	memcpy(p, vip_initiator, SESSION_VIP_LEN);
	p += SESSION_VIP_LEN;
	memcpy(p, vip_responder, SESSION_VIP_LEN);

	if (hkdf_sha256(okm, sizeof(okm), secret, SESSION_SECRET_LEN, dh, sizeof(dh),
			info, sizeof(info)) != 0)
		goto out;
	/* okm[0..32) is I->R, okm[32..64) is R->I */
	tx = role == SESSION_INITIATOR ? okm : okm + AEAD_KEY_LEN;
	rx = role == SESSION_INITIATOR ? okm + AEAD_KEY_LEN : okm;
	if (aead_init(&k->tx, alg, tx) != 0 || aead_init(&k->rx, alg, rx) != 0)
		goto out;
	k->tx_counter = 0;
	replay_init(&k->rx_window);
	k->valid = true;
	ret = 0;
out:
	if (ret != 0)
		session_keys_clear(k);
	ct_wipe(dh, sizeof(dh));
	ct_wipe(okm, sizeof(okm));
	x25519_eph_clear(eph);
	return ret;
}

void session_keys_clear(struct session_keys *k)
{
	ct_wipe(k, sizeof(*k));
	k->valid = false;
}

int64_t session_seal(struct session_keys *k, uint8_t *pkt, size_t len)
{
	uint64_t ctr;

	if (!k->valid || k->tx_counter >= SESSION_MAX_PACKETS)
		return -1;
	ctr = k->tx_counter++;
	for (int i = 0; i < 8; i++)
		pkt[CTR_OFF + i] = (uint8_t)(ctr >> (8 * i));
	aead_seal_ctr(&k->tx, ctr, pkt, HDR_LEN, pkt + HDR_LEN, len, pkt + HDR_LEN + len);
	return (int64_t)ctr;
}

enum session_open_result session_open(struct session_keys *k, uint8_t *pkt, size_t len)
{
	uint64_t ctr = 0;

	if (!k->valid)
		return SESSION_OPEN_INVALID;
	for (int i = 7; i >= 0; i--)
		ctr = (ctr << 8) | pkt[CTR_OFF + i];
	if (!replay_check(&k->rx_window, ctr))
		return SESSION_OPEN_REPLAY;
	if (aead_open_ctr(&k->rx, ctr, pkt, HDR_LEN, pkt + HDR_LEN, len, pkt + HDR_LEN + len) != 0)
		return SESSION_OPEN_TAG;
	if (!replay_update(&k->rx_window, ctr)) {
		/* authentic but a duplicate that raced us: drop its plaintext */
		ct_wipe(pkt + HDR_LEN, len);
		return SESSION_OPEN_REPLAY;
	}
	return SESSION_OPEN_OK;
}
