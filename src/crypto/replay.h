/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * replay.h - sliding anti-replay window (RFC 6479 style bitmap of words).
 *
 * REPLAY_WINDOW counters behind the highest one seen are tracked. A counter
 * is acceptable if it is above the highest seen, or inside the window and
 * not yet marked. Use in this order, always:
 *
 *	if (!replay_check(&w, ctr))          drop: replay / too old
 *	if (aead_open_ctr(...) != 0)         drop: tag failure (window unchanged)
 *	if (!replay_update(&w, ctr))         drop: replay (raced duplicate)
 *
 * replay_check() never modifies the window; replay_update() is the only
 * writer and must only be called once the tag verified.
 * Counter values >= REPLAY_COUNTER_LIMIT are always rejected (the sender
 * rekeys long before; it keeps the nonce space away from wrap-around).
 */
#ifndef MAVPN_CRYPTO_REPLAY_H
#define MAVPN_CRYPTO_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define REPLAY_BITS_PER_WORD 64u
#define REPLAY_WORDS 129u	/* one word more than the window, RFC 6479 */
#define REPLAY_WINDOW ((REPLAY_WORDS - 1u) * REPLAY_BITS_PER_WORD)	/* 8192 */
#define REPLAY_COUNTER_LIMIT (UINT64_MAX - (1ull << 13))

struct replay {
	uint64_t top;		/* highest counter accepted + 1; 0 = none yet */
	uint64_t bitmap[REPLAY_WORDS];
};

void replay_init(struct replay *w);
bool replay_check(const struct replay *w, uint64_t counter);
bool replay_update(struct replay *w, uint64_t counter);

#endif
