// SPDX-License-Identifier: GPL-2.0-only
/*
 * pending.c - bounded FIFO of packets waiting for a session (contract in
 * pending.h). Singly linked, head = oldest; one allocation per packet,
 * wiped before it is freed (the packets are plaintext).
 */
#include "router/pending.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/ct.h"

void pending_init(struct pending_queue *q, uint32_t max_pkts, size_t max_bytes)
{
	memset(q, 0, sizeof *q);
	q->max_pkts = max_pkts ? max_pkts : PENDING_DEFAULT_PKTS;
	q->max_bytes = max_bytes ? max_bytes : PENDING_DEFAULT_BYTES;
}

static struct pending_pkt *pop(struct pending_queue *q)
{
	struct pending_pkt *p = q->head;

	if (!p)
		return NULL;
	q->head = p->next;
	if (!q->head)
		q->tail = NULL;
	q->count--;
	q->bytes -= p->len;
	p->next = NULL;
	return p;
}

static void append(struct pending_queue *q, struct pending_pkt *p)
{
	p->next = NULL;
	if (q->tail)
		q->tail->next = p;
	else
		q->head = p;
	q->tail = p;
	q->count++;
	q->bytes += p->len;
}

/* Queued packets are plaintext: zero them before the block is reused. */
static void release(struct pending_pkt *p)
{
	if (!p)
		return;
	ct_wipe(p->data, p->len);
	free(p);
}

/* Drop oldest packets until one of len bytes fits. Returns how many. */
static int make_room(struct pending_queue *q, size_t len)
{
	int dropped = 0;

	while (q->head && (q->count + 1 > q->max_pkts || q->bytes + len > q->max_bytes)) {
		release(pop(q));
		q->dropped++;
		dropped++;
	}
	return dropped;
}

int pending_push(struct pending_queue *q, const uint8_t *pkt, size_t len)
{
	struct pending_pkt *p;
	int dropped;

	if (len == 0 || len > q->max_bytes || q->max_pkts == 0) {
		q->dropped++;
		return -1;
	}
	p = malloc(sizeof *p + len);
	if (!p) {
		q->dropped++;
		return -1;
	}
	memcpy(p->data, pkt, len);
	p->len = len;
	dropped = make_room(q, len);
	append(q, p);
	return dropped;
}

size_t pending_flush(struct pending_queue *q, pending_fn fn, void *ctx)
{
	struct pending_pkt *p;
	size_t n = 0;

	while ((p = pop(q)) != NULL) {
		if (fn)
			fn(ctx, p->data, p->len);
		release(p);
		n++;
	}
	return n;
}

size_t pending_clear(struct pending_queue *q)
{
	return pending_flush(q, NULL, NULL);
}

void pending_splice(struct pending_queue *dst, struct pending_queue *src)
{
	struct pending_pkt *p;

	while ((p = pop(src)) != NULL) {
		if (p->len > dst->max_bytes || dst->max_pkts == 0) {
			release(p);
			dst->dropped++;
			continue;
		}
		make_room(dst, p->len);
		append(dst, p);
	}
}
