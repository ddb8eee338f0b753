// SPDX-License-Identifier: GPL-2.0-only
/*
 * timers.c - every timer of the node daemon.
 *
 *   tick            (NODE_TICK_MS, repeating; this file)
 *                   - router_expire: slots past their receive grace wiped;
 *                     requests without answer for NODE_REQ_TIMEOUT_MS
 *                     dropped, their queued packets answered with ICMP
 *                     host unreachable (counted as "timeout")
 *                   - responder fallback: a fresh next slot not confirmed by
 *                     the initiator within NODE_RESPONDER_PROMOTE_MS is
 *                     promoted by us when we have no live current session,
 *                     queued packets flushed
 *                   - rekey ahead of expiry for sessions in use
 *                     (send_maybe_rekey: at life - min(20 s, life/4); the
 *                     responder only at half that margin)
 *                   - keepalive: an empty data packet after NODE_KEEPALIVE_MS
 *                     without sending, only while data arrived from the
 *                     peer in the last NODE_IN_USE_MS (received keepalives
 *                     do not count: two idle ends go quiet)
 *   broker retry    (ctl_client.c) exponential backoff 250 ms .. 10 s + jitter
 *   broker deadline (ctl_client.c) connect + TLS + WELCOME within 10 s
 *   broker ping     (ctl_client.c) PING every keepalive_s; 3 silent intervals
 *                   close the channel and reconnect
 *   signals         (daemon.c) TERM/INT stop, HUP reloads the log level (not over -v)
 */
#include "common/log.h"
#include "node/node.h"
#include "router/icmp.h"


static void tick_peer(struct node *n, struct peer *p, uint64_t now)
{
	struct session_slot *nx = p->next;

	/* Only without a live current: a next slot the initiator never
	 * confirmed may be one it never got (its GRANT lost), and replacing a
	 * working session with it would cut the traffic. */
	if (nx && nx->keys.valid && !peer_send_slot(p, now) &&
	    now - nx->created_ms >= NODE_RESPONDER_PROMOTE_MS) {
		log_debug("promoting the session with %s without word from the initiator", p->name);
		peer_promote_next(&n->rt, p);
	}
	if (p->queue.count && peer_send_slot(p, now))
		send_flush_peer(n, p);
	/* In use: data (not keepalives, see receive.c) arrived recently. A
	 * node that only sends rekeys on its send path (send_maybe_rekey). */
	if (!p->current || !p->current->keys.valid || !p->last_rx_ms ||
	    now - p->last_rx_ms >= NODE_IN_USE_MS)
		return;
	send_maybe_rekey(n, p, now);
	if (now - p->last_tx_ms >= NODE_KEEPALIVE_MS)
		(void)send_keepalive(n, p);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct node *n = w->data;
	struct icmp_ctx ctx = { n, ICMP_UNREACH_HOST, DROP_TIMEOUT };
	uint64_t now = log_now_ms();
	struct peer *p;

	(void)loop;
	(void)revents;
	router_expire(&n->rt, now, send_icmp_unreach_cb, &ctx);
	router_for_each_peer(&n->rt, p)
		tick_peer(n, p, now);
}

void timers_start(struct node *n)
{
	ev_timer_init(&n->tick, tick_cb, NODE_TICK_MS / 1000.0, NODE_TICK_MS / 1000.0);
	n->tick.data = n;
	ev_timer_start(n->loop, &n->tick);
}

void timers_stop(struct node *n)
{
	if (n->tick.data)
		ev_timer_stop(n->loop, &n->tick);
}
