// SPDX-License-Identifier: GPL-2.0-only
/* Crypto core: the anti-replay window, as a numbered edge table. */
#include <criterion/criterion.h>
#include <string.h>

#include "crypto/replay.h"

enum op { CHECK, UPDATE };

struct row {
	int n;
	enum op op;
	uint64_t ctr;
	bool want;
};

#define W REPLAY_WINDOW		/* 8192 */
#define L REPLAY_COUNTER_LIMIT

/* Every row: replay_check() must give `want` and leave the window
 * byte-for-byte unchanged; an UPDATE row then calls replay_update(), which
 * must agree, and must leave the window unchanged when it refuses. */
static void run(const struct row *rows, size_t n)
{
	struct replay w, before;

	replay_init(&w);
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		memcpy(&before, &w, sizeof(w));
		cr_assert_eq(replay_check(&w, r->ctr), r->want, "row %d: check(%llu)", r->n,
			     (unsigned long long)r->ctr);
		cr_assert(memcmp(&before, &w, sizeof(w)) == 0, "row %d: check mutated", r->n);
		if (r->op == CHECK)
			continue;
		cr_assert_eq(replay_update(&w, r->ctr), r->want, "row %d: update(%llu)", r->n,
			     (unsigned long long)r->ctr);
		if (!r->want)
			cr_assert(memcmp(&before, &w, sizeof(w)) == 0,
				  "row %d: refused update mutated", r->n);
		else
			cr_assert_eq(replay_check(&w, r->ctr), false, "row %d: not marked", r->n);
	}
}

Test(replay, edge_table)
{
	static const struct row rows[] = {
		{ 1, UPDATE, 0, true },		/* first packet is counter 0 */
		{ 2, UPDATE, 1, true },		/* in order */
		{ 3, UPDATE, 1, false },	/* duplicate of newest */
		{ 4, UPDATE, 0, false },	/* duplicate of older */
		{ 5, UPDATE, 2, true },
		{ 6, UPDATE, 2, false },
		{ 7, CHECK, 3, true },		/* check alone does not mark... */
		{ 8, CHECK, 3, true },		/* ...so it stays acceptable */
		{ 9, UPDATE, 8195, true },	/* jump inside range: top = 8196 */
		{ 10, UPDATE, 3, false },	/* top - 8193: unseen but too old */
		{ 11, UPDATE, 4, true },	/* top - 8192: unseen, exactly at edge */
		{ 12, UPDATE, 4, false },	/* ... and only once */
		{ 13, UPDATE, 8194, true },	/* just below newest, unseen */
		{ 14, UPDATE, 8195, false },	/* newest again */
		{ 15, UPDATE, 8196, true },	/* next in order: top = 8197 */
		{ 16, UPDATE, 4, false },	/* edge moved past 4 */
		{ 17, UPDATE, 5, true },	/* new edge, unseen */
		{ 18, UPDATE, 28197, true },	/* far future (> window): all cleared */
		{ 19, UPDATE, 28196, true },	/* just behind, never seen */
		{ 20, UPDATE, 8196, false },	/* old after the jump */
		{ 21, UPDATE, 28198 - W, true },	/* 20006: edge after jump */
		{ 22, UPDATE, 28198 - W - 1, false },	/* 20005: beyond edge */
		{ 23, UPDATE, 28300, true },	/* small jump, crosses a word */
		/* 28262 = 20006 + 8256 shares ring word and bit with 20006 (row 21);
		 * advancing must have cleared that word */
		{ 24, UPDATE, 28262, true },
		{ 25, UPDATE, 28262, false },
		{ 26, UPDATE, 28299, true },
		{ 27, UPDATE, 28298, true },
		{ 28, UPDATE, 28299, false },
		{ 29, UPDATE, 28301 - W, true },	/* 20109 */
		{ 30, UPDATE, 28300 - W, false },	/* 20108 */
		{ 31, UPDATE, L, false },	/* at the limit: always refused */
		{ 32, UPDATE, UINT64_MAX, false },
		{ 33, UPDATE, L - 1, true },	/* last usable counter */
		{ 34, UPDATE, L - 1, false },
		{ 35, UPDATE, L - 2, true },
		{ 36, UPDATE, L - W, true },	/* edge below the last usable */
		{ 37, UPDATE, L - W - 1, false },
		{ 38, UPDATE, 28300, false },	/* ancient */
		{ 39, UPDATE, L, false },
	};

	run(rows, sizeof(rows) / sizeof(rows[0]));
}

/* A window whose first packet is far from 0. */
Test(replay, first_packet_large_counter)
{
	static const struct row rows[] = {
		{ 1, UPDATE, 100000, true },
		{ 2, UPDATE, 100000 - W + 1, true },	/* 91809: top - 8192 */
		{ 3, UPDATE, 100000 - W, false },
		{ 4, UPDATE, 0, false },
		{ 5, UPDATE, 100001, true },
	};

	run(rows, sizeof(rows) / sizeof(rows[0]));
}

Test(replay, limit_on_fresh_window)
{
	static const struct row rows[] = {
		{ 1, UPDATE, L, false },
		{ 2, UPDATE, L + 1, false },
		{ 3, UPDATE, L - 1, true },
	};

	run(rows, sizeof(rows) / sizeof(rows[0]));
}

/* Every counter of a shuffled run of 3 * window packets, with duplicates,
 * against a plain reference model (set of seen counters + highest). */
Test(replay, matches_reference_model)
{
	enum { N = 3 * 8192 };
	static bool seen[N + 64];
	struct replay w;
	uint64_t top = 0;
	uint32_t x = 12345;

	replay_init(&w);
	for (int i = 0; i < 200000; i++) {
		uint64_t c;
		bool want;

		x = x * 1103515245u + 12345u;
		/* mostly near the front, sometimes far behind */
		c = (uint64_t)(i / 8) + ((x >> 8) % 9000) - 8500;
		if ((int64_t)c < 0 || c >= N)
			continue;
		want = !seen[c] && (c >= top || top - c <= W);
		cr_assert_eq(replay_update(&w, c), want, "step %d counter %llu", i,
			     (unsigned long long)c);
		if (want) {
			seen[c] = true;
			if (c >= top)
				top = c + 1;
		}
	}
}
