// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pending queues: bounds by count and by bytes, oldest dropped first,
 * exact drop counter, flush order, splice.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "router/pending.h"

/* A packet of len bytes tagged with sequence number seq (first 4 bytes). */
static size_t mkpkt(uint8_t *buf, uint32_t seq, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(seq * 7 + i);
	if (len >= 4)
		memcpy(buf, &seq, 4);
	return len;
}

struct seen {
	uint32_t n;
	uint32_t seq[4096];
	size_t len[4096];
	int bad_content;
};

static void collect(void *ctx, const uint8_t *pkt, size_t len)
{
	struct seen *s = ctx;
	static uint8_t want[110000];
	uint32_t seq;

	memcpy(&seq, pkt, 4);
	mkpkt(want, seq, len);
	if (memcmp(want, pkt, len) != 0)
		s->bad_content++;
	s->seq[s->n] = seq;
	s->len[s->n] = len;
	s->n++;
}

Test(pending, defaults)
{
	struct pending_queue q;

	pending_init(&q, 0, 0);
	cr_assert_eq(q.max_pkts, 64);
	cr_assert_eq(q.max_bytes, 256 * 1024);
	cr_assert_eq(q.count, 0);
	cr_assert_null(q.head);
}

Test(pending, count_bound_drops_oldest)
{
	struct pending_queue q;
	struct seen s = { 0 };
	uint8_t buf[100];
	uint32_t i;

	pending_init(&q, 0, 0);
	for (i = 0; i < 64; i++)
		cr_assert_eq(pending_push(&q, buf, mkpkt(buf, i, 100)), 0, "packet %u fits", i);
	cr_assert_eq(q.count, 64);
	cr_assert_eq(q.bytes, 6400);
	cr_assert_eq(q.dropped, 0);
	/* 65th: exactly one (the oldest, seq 0) goes */
	cr_assert_eq(pending_push(&q, buf, mkpkt(buf, 64, 100)), 1);
	cr_assert_eq(q.count, 64);
	cr_assert_eq(q.dropped, 1);
	for (i = 65; i < 100; i++)
		cr_assert_eq(pending_push(&q, buf, mkpkt(buf, i, 100)), 1);
	cr_assert_eq(q.dropped, 36);
	cr_assert_eq(pending_flush(&q, collect, &s), 64);
	cr_assert_eq(s.n, 64);
	for (i = 0; i < 64; i++)
		cr_assert_eq(s.seq[i], 36 + i, "flush position %u", i);
	cr_assert_eq(s.bad_content, 0);
	cr_assert_eq(q.count, 0);
	cr_assert_eq(q.bytes, 0);
	cr_assert_null(q.head);
	cr_assert_null(q.tail);
}

Test(pending, byte_bound_drops_oldest)
{
	struct pending_queue q;
	struct seen s = { 0 };
	static uint8_t buf[70000];
	uint32_t i;

	pending_init(&q, 0, 0);
	/* 26 * 10000 = 260000 <= 262144 < 270000 */
	for (i = 0; i < 26; i++)
		cr_assert_eq(pending_push(&q, buf, mkpkt(buf, i, 10000)), 0);
	cr_assert_eq(q.bytes, 260000);
	cr_assert_eq(pending_push(&q, buf, mkpkt(buf, 26, 10000)), 1);
	cr_assert_eq(q.count, 26);
	cr_assert_eq(q.dropped, 1);
	/* queue = seq 1..26 (260000 bytes). A 65000-byte packet needs
	 * bytes <= 262144 - 65000 = 197144: seven old ones (seq 1..7) go. */
	cr_assert_eq(pending_push(&q, buf, mkpkt(buf, 27, 65000)), 7);
	cr_assert_eq(q.dropped, 8);
	cr_assert_eq(q.count, 20);
	cr_assert_eq(q.bytes, 10000u * 19 + 65000);
	cr_assert_leq(q.bytes, 256 * 1024);
	pending_flush(&q, collect, &s);
	cr_assert_eq(s.n, 20);
	cr_assert_eq(s.seq[0], 8, "oldest survivor");
	cr_assert_eq(s.seq[18], 26);
	cr_assert_eq(s.seq[19], 27);
	cr_assert_eq(s.len[19], 65000);
	cr_assert_eq(s.bad_content, 0);
}

Test(pending, oversize_and_empty_refused)
{
	struct pending_queue q;
	static uint8_t buf[2000];

	pending_init(&q, 4, 1500);
	cr_assert_eq(pending_push(&q, buf, mkpkt(buf, 1, 1500)), 0, "exactly max_bytes fits");
	cr_assert_eq(pending_push(&q, buf, mkpkt(buf, 2, 1501)), -1);
	cr_assert_eq(q.dropped, 1);
	cr_assert_eq(q.count, 1, "refused packet did not evict anything");
	cr_assert_eq(pending_push(&q, buf, 0), -1);
	cr_assert_eq(q.dropped, 2);
	cr_assert_eq(pending_push(&q, buf, mkpkt(buf, 3, 1)), 1, "1501 > 1500: oldest goes");
	cr_assert_eq(pending_clear(&q), 1);
	cr_assert_eq(q.dropped, 3, "clear does not count as drops");
}

/* Random sizes against a model of the queue: exact drop count and order. */
Test(pending, random_against_model)
{
	struct pending_queue q;
	struct seen s = { 0 };
	static uint8_t buf[110000];
	static uint32_t mseq[5000];
	static size_t mlen[5000];
	size_t head = 0, tail = 0, mbytes = 0;
	uint64_t mdropped = 0, x = 0x9e3779b97f4a7c15ull;
	uint32_t i;

	pending_init(&q, 50, 100000);
	for (i = 0; i < 4000; i++) {
		size_t len;
		int rc, expect = 0;

		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		len = 4 + x % 9000;
		if (x % 97 == 0)
			len = 100001;	/* too big */
		if (len > 100000) {
			mdropped++;
			expect = -1;
		} else {
			while (head < tail && (tail - head + 1 > 50 || mbytes + len > 100000)) {
				mbytes -= mlen[head++];
				mdropped++;
				expect++;
			}
			mseq[tail] = i;
			mlen[tail++] = len;
			mbytes += len;
		}
		rc = pending_push(&q, buf, mkpkt(buf, i, len));
		cr_assert_eq(rc, expect, "push %u", i);
		cr_assert_eq(q.dropped, mdropped);
		cr_assert_eq(q.bytes, mbytes);
		cr_assert_eq(q.count, tail - head);
	}
	pending_flush(&q, collect, &s);
	cr_assert_eq(s.n, tail - head);
	for (i = 0; i < s.n; i++) {
		cr_assert_eq(s.seq[i], mseq[head + i]);
		cr_assert_eq(s.len[i], mlen[head + i]);
	}
	cr_assert_eq(s.bad_content, 0);
}

Test(pending, splice_respects_destination_bounds)
{
	struct pending_queue a, b;
	struct seen s = { 0 };
	uint8_t buf[100];
	uint32_t i;

	pending_init(&a, 10, 0);
	pending_init(&b, 4, 0);
	for (i = 0; i < 3; i++)
		cr_assert_eq(pending_push(&b, buf, mkpkt(buf, 100 + i, 50)), 0);
	for (i = 0; i < 6; i++)
		cr_assert_eq(pending_push(&a, buf, mkpkt(buf, i, 50)), 0);
	pending_splice(&b, &a);
	cr_assert_eq(a.count, 0);
	cr_assert_null(a.head);
	cr_assert_eq(b.count, 4);
	cr_assert_eq(b.dropped, 5, "3 old + 2 spliced oldest dropped");
	pending_flush(&b, collect, &s);
	cr_assert_eq(s.n, 4);
	for (i = 0; i < 4; i++)
		cr_assert_eq(s.seq[i], 2 + i);
}

Test(pending, flush_without_callback_frees)
{
	struct pending_queue q;
	uint8_t buf[64];
	uint32_t i;

	pending_init(&q, 8, 0);
	for (i = 0; i < 20; i++)
		(void)pending_push(&q, buf, mkpkt(buf, i, 64));
	cr_assert_eq(pending_flush(&q, NULL, NULL), 8);
	cr_assert_eq(q.count, 0);
	/* leak check: ASan's leak sanitizer fails the test if anything stays */
}
