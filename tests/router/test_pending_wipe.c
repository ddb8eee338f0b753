// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pending queues hold plaintext inner packets (read from the TUN before any
 * session exists): every way a packet leaves the queue must zero its bytes
 * before the block goes back to the allocator.
 *
 * The test executable is linked with -Wl,--wrap=free, so every free() in
 * pending.c reaches __wrap_free() below first; when the block is the one
 * the test watches, it records whether the packet bytes were already zero.
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "router/pending.h"

void __real_free(void *p);
void __wrap_free(void *p);

#define PKT_LEN 300

static const void *watched;	/* struct pending_pkt being watched */
static bool watched_freed;
static bool watched_zero;

void __wrap_free(void *p)
{
	if (p && p == watched) {
		const struct pending_pkt *pk = p;
		bool zero = true;

		for (size_t i = 0; i < PKT_LEN; i++)
			if (pk->data[i] != 0)
				zero = false;
		watched_freed = true;
		watched_zero = zero;
		watched = NULL;
	}
	__real_free(p);
}

static void watch(const struct pending_pkt *p)
{
	cr_assert_not_null(p);
	cr_assert_eq(p->len, PKT_LEN);
	watched = p;
	watched_freed = watched_zero = false;
}

static void check_wiped(const char *how)
{
	cr_assert(watched_freed, "%s: the watched packet was not freed", how);
	cr_assert(watched_zero, "%s: plaintext packet freed without being wiped", how);
}

static void push_secret(struct pending_queue *q)
{
	uint8_t pkt[PKT_LEN];

	memset(pkt, 0xa5, sizeof pkt);
	cr_assert_geq(pending_push(q, pkt, sizeof pkt), 0);
}

Test(pending_wipe, clear_wipes)
{
	struct pending_queue q;

	pending_init(&q, 4, 0);
	push_secret(&q);
	watch(q.head);
	cr_assert_eq(pending_clear(&q), 1);
	check_wiped("pending_clear");
}

static void noop(void *ctx, const uint8_t *pkt, size_t len)
{
	(void)ctx;
	(void)pkt;
	(void)len;
}

Test(pending_wipe, flush_wipes)
{
	struct pending_queue q;

	pending_init(&q, 4, 0);
	push_secret(&q);
	watch(q.head);
	cr_assert_eq(pending_flush(&q, noop, NULL), 1);
	check_wiped("pending_flush");
}

Test(pending_wipe, overflow_drop_wipes)
{
	struct pending_queue q;

	pending_init(&q, 1, 0);
	push_secret(&q);
	watch(q.head);
	push_secret(&q);	/* drops the oldest */
	check_wiped("pending_push dropping the oldest");
	pending_clear(&q);
}

Test(pending_wipe, splice_drop_wipes)
{
	struct pending_queue src, dst;

	pending_init(&src, 4, 0);
	pending_init(&dst, 4, PKT_LEN - 1);	/* too small for the packet */
	push_secret(&src);
	watch(src.head);
	pending_splice(&dst, &src);
	check_wiped("pending_splice dropping an oversized packet");
	cr_assert_eq(dst.count, 0);
}
