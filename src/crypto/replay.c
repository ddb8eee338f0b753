// SPDX-License-Identifier: GPL-2.0-only
/*
 * replay.c - RFC 6479 anti-replay window (contract: replay.h).
 *
 * Counter c lives at bit (c % 64) of word (c / 64) % REPLAY_WORDS. The ring
 * has one word more than the window, so when top moves forward the words it
 * enters can be zeroed whole without losing any counter still inside the
 * window. Acceptable: c >= top (new), or top - REPLAY_WINDOW <= c < top with
 * its bit clear. So with top = highest + 1, counters highest-8191..highest
 * are tracked and anything older is rejected.
 */
#include "crypto/replay.h"

#include <string.h>

static inline uint64_t word_of(uint64_t c)
{
	return (c / REPLAY_BITS_PER_WORD) % REPLAY_WORDS;
}

static inline uint64_t bit_of(uint64_t c)
{
	return 1ull << (c % REPLAY_BITS_PER_WORD);
}

void replay_init(struct replay *w)
{
	memset(w, 0, sizeof(*w));
}

bool replay_check(const struct replay *w, uint64_t counter)
{
	if (counter >= REPLAY_COUNTER_LIMIT)
		return false;
	if (counter >= w->top)
		return true;
	if (w->top - counter > REPLAY_WINDOW)
		return false;
	return (w->bitmap[word_of(counter)] & bit_of(counter)) == 0;
}

bool replay_update(struct replay *w, uint64_t counter)
{
	if (!replay_check(w, counter))
		return false;
	if (counter >= w->top) {
		/* top == 0: the bitmap is all zero since replay_init() */
		if (w->top != 0) {
			uint64_t cur = (w->top - 1) / REPLAY_BITS_PER_WORD;
			uint64_t steps = counter / REPLAY_BITS_PER_WORD - cur;

			if (steps > REPLAY_WORDS)
				steps = REPLAY_WORDS;
			for (uint64_t i = 1; i <= steps; i++)
				w->bitmap[(cur + i) % REPLAY_WORDS] = 0;
		}
		w->top = counter + 1;
	}
	w->bitmap[word_of(counter)] |= bit_of(counter);
	return true;
}
