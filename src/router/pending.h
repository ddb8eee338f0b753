/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pending.h - bounded FIFO of inner packets waiting for a session
 * (DESIGN.md step 3: "queues the packet (bounded)").
 *
 * A queue holds copies of packets (one heap block each). It is bounded by a
 * packet count and a byte count (sum of packet lengths), whichever is hit
 * first. Pushing into a full queue drops the OLDEST packets until the new
 * one fits, and counts each drop. A packet longer than the byte bound is
 * itself dropped (counted). The queue is embedded by its owner (a peer or a
 * pending destination, see router.h); pending_clear() frees everything.
 * The packets are plaintext: every one is zeroed (ct_wipe) before its block
 * is freed, whether dropped, cleared, or handed out (after the callback).
 */
#ifndef MAVPN_ROUTER_PENDING_H
#define MAVPN_ROUTER_PENDING_H

#include <stddef.h>
#include <stdint.h>

#define PENDING_DEFAULT_PKTS 64u
#define PENDING_DEFAULT_BYTES (256u * 1024u)

struct pending_pkt {
	struct pending_pkt *next;
	size_t len;
	uint8_t data[];
};

struct pending_queue {
	struct pending_pkt *head;	/* oldest */
	struct pending_pkt *tail;	/* newest */
	uint32_t count;
	size_t bytes;
	uint32_t max_pkts;
	size_t max_bytes;
	uint64_t dropped;		/* packets dropped, cumulative (never reset by clear) */
};

/* Empty queue with bounds; 0 means the default for that bound. */
void pending_init(struct pending_queue *q, uint32_t max_pkts, size_t max_bytes);

/*
 * Append a copy of pkt[0..len). Returns the number of older packets dropped
 * to make room (>= 0), or -1 when the packet itself was not queued (len 0,
 * len > max_bytes, or no memory); that packet is counted in dropped too.
 */
int pending_push(struct pending_queue *q, const uint8_t *pkt, size_t len);

/* Called once per packet, oldest first. pkt is valid during the call only. */
typedef void (*pending_fn)(void *ctx, const uint8_t *pkt, size_t len);

/* Hand every packet to fn in arrival order, then free it; the queue is
 * empty afterwards. fn may push into OTHER queues, not into q. Returns the
 * number of packets handed out. fn == NULL just frees them. */
size_t pending_flush(struct pending_queue *q, pending_fn fn, void *ctx);

/* Free every packet without delivering it (refusal, revocation). Returns
 * how many were freed; they are NOT added to dropped (the caller counts a
 * refusal where it wants). */
size_t pending_clear(struct pending_queue *q);

/* Move all packets of src to the tail of dst (respecting dst's bounds:
 * oldest dropped as in pending_push). src is empty afterwards. */
void pending_splice(struct pending_queue *dst, struct pending_queue *src);

#endif
