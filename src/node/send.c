// SPDX-License-Identifier: GPL-2.0-only
/*
 * send.c - the send path: TUN read -> destination lookup -> live session?
 * seal and send : queue and ask the broker (SESSION_REQ). Also the rekey
 * decision, keepalives, queue flushes and ICMP answers for queued packets.
 *
 * Packets are read straight into a send slot (node_tx_slot) + DATA_HDR_LEN
 * so sealing works in place (header in front, tag room behind). One TUN
 * wakeup reads until EAGAIN (at most 64 packets) and sends what it sealed
 * with sendmmsg (udp_flush) in batches of up to NODE_BATCH.
 */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "crypto/aead.h"
#include "node/decide.h"
#include "node/node.h"
#include "proto/data.h"
#include "router/icmp.h"
#include "router/packet.h"

/*
 * Source address of the ICMP errors we write into the TUN: NULL, i.e. the
 * offending packet's destination. Our own VIP would not do: the kernel
 * drops a packet arriving on an interface with one of its own addresses as
 * source (a martian), and a local sender (the usual case) is us.
 */
static const uint8_t *icmp_src(const struct node *n, int af)
{
	(void)n;
	(void)af;
	return NULL;
}

static void tun_put(struct node *n, const uint8_t *pkt, size_t len)
{
	if (tun_write(&n->tun, pkt, len) < 0)
		node_drop(&n->drops, DROP_TUN_WRITE, "write to %s: %s", n->tun.ifname, strerror(errno));
}

void send_icmp_unreach_cb(void *ctx, const uint8_t *pkt, size_t len)
{
	struct icmp_ctx *c = ctx;
	struct node *n = c->n;
	ssize_t k;

	n->drops.count[c->reason]++;
	k = icmp_build_unreach(n->icmpbuf, sizeof n->icmpbuf, (enum icmp_unreach)c->why, pkt, len,
			       icmp_src(n, router_pkt_af(pkt, len)));
	if (k > 0)
		tun_put(n, n->icmpbuf, (size_t)k);
}

/* Answer pkt (read from the TUN) with ICMP unreachable; the caller counts. */
static void icmp_answer(struct node *n, enum icmp_unreach why, const uint8_t *pkt, size_t len,
			int af)
{
	ssize_t k = icmp_build_unreach(n->icmpbuf, sizeof n->icmpbuf, why, pkt, len,
				       icmp_src(n, af));

	if (k > 0)
		tun_put(n, n->icmpbuf, (size_t)k);
}

/* Seal buf[DATA_HDR_LEN .. +len) on slot s and send it to p. */
static bool seal_send(struct node *n, struct peer *p, struct session_slot *s, uint8_t *buf,
		      size_t len, uint64_t now)
{
	data_hdr_init(buf, s->remote_index);
	if (session_seal(&s->keys, buf, len) < 0) {
		node_drop(&n->drops, DROP_EXPIRED, "key for %s spent", p->name);
		return false;
	}
	if (!udp_send_to_peer(n, p, buf, len + DATA_OVERHEAD))
		return false;
	peer_note_tx(s, len, now);
	return true;
}

bool send_plain_to_peer(struct node *n, struct peer *p, const uint8_t *pkt, size_t len)
{
	uint64_t now = log_now_ms();
	struct session_slot *s = peer_send_slot(p, now);

	if (!s) {
		node_drop(&n->drops, DROP_NO_SESSION, "no live session with %s", p->name);
		return false;
	}
	if (len > DATA_MAX_PAYLOAD)
		return false;
	memmove(node_tx_slot(n) + DATA_HDR_LEN, pkt, len);
	return seal_send(n, p, s, node_tx_slot(n), len, now);
}

bool send_keepalive(struct node *n, struct peer *p)
{
	uint64_t now = log_now_ms();
	struct session_slot *s = peer_send_slot(p, now);

	if (!s)
		return false;
	log_debug("keepalive to %s", p->name);
	return seal_send(n, p, s, node_tx_slot(n), 0, now);
}

struct flush_ctx {
	struct node *n;
	struct peer *p;
	size_t sent;
};

static void flush_cb(void *ctx, const uint8_t *pkt, size_t len)
{
	struct flush_ctx *f = ctx;

	if (send_plain_to_peer(f->n, f->p, pkt, len))
		f->sent++;
}

void send_flush_peer(struct node *n, struct peer *p)
{
	struct flush_ctx f = { n, p, 0 };

	if (!p->queue.count || !peer_send_slot(p, log_now_ms()))
		return;
	pending_flush(&p->queue, flush_cb, &f);
	log_debug("flushed %zu queued packets to %s", f.sent, p->name);
}

static void send_req(struct node *n, const struct pending_dst *pd, const struct peer *p,
		     const struct ctl_ip *dst)
{
	struct ctl_msg m;
	char a[CTL_ADDRSTRLEN];

	memset(&m, 0, sizeof m);
	m.type = CTL_SESSION_REQ;
	router_session_req(pd, p, dst, aead_fast_mask(), &m.u.session_req);
	if (broker_send(n, &m))
		log_debug("SESSION_REQ %u for %s%s%s", m.u.session_req.req_id, ctl_ip_fmt(dst, a),
			  p ? " peer " : "", p ? p->name : "");
	else
		log_debug("broker down: SESSION_REQ for %s waits", ctl_ip_fmt(dst, a));
}

void send_resend_requests(struct node *n)
{
	struct pending_dst *pd;
	struct peer *p;

	for (pd = n->rt.pending; pd; pd = pd->next)
		send_req(n, pd, NULL, &pd->dst);
	router_for_each_peer(&n->rt, p)
		if (p->req.active)
			send_req(n, NULL, p, &p->vip4);
}

static bool begin_peer_request(struct node *n, struct peer *p, const struct ctl_ip *dst,
			       uint64_t now)
{
	if (peer_request_begin(&n->rt, p, router_next_req_id(&n->rt), now) != 0) {
		log_warn("cannot start a session request for %s: %s", p->name, strerror(errno));
		return false;
	}
	send_req(n, NULL, p, dst);
	return true;
}

void send_maybe_rekey(struct node *n, struct peer *p, uint64_t now)
{
	struct session_slot *s = p->current;

	if (p->req.active || !s || !s->keys.valid)
		return;
	if (p->next && p->next->keys.valid)
		return;		/* a newer session is already installed (we are its responder) */
	if (!peer_slot_rekey_due(s, now))
		return;
	log_debug("rekey with %s (key left %lld ms)", p->name,
		  (long long)s->expires_ms - (long long)now);
	(void)begin_peer_request(n, p, &p->vip4, now);
}

static void count_queue_drops(struct node *n, int r, const char *who)
{
	if (r > 0)
		for (int i = 0; i < r; i++)
			node_drop(&n->drops, DROP_QUEUE_FULL, "queue for %s full: oldest dropped", who);
	else if (r < 0)
		node_drop(&n->drops, DROP_QUEUE_FULL, "packet for %s not queued", who);
}

/* No usable current slot with p: queue, and make sure a session is coming. */
static void queue_for_peer(struct node *n, struct peer *p, const struct ctl_ip *dst,
			   const uint8_t *pkt, size_t len, uint64_t now)
{
	count_queue_drops(n, pending_push(&p->queue, pkt, len), p->name);
	if (p->next && p->next->keys.valid) {
		/* Responder of a fresh session (and no live current, or we would
		 * not be here): the initiator's first packet promotes it; if none
		 * came, promote ourselves. */
		if (now - p->next->created_ms >= NODE_RESPONDER_PROMOTE_MS) {
			peer_promote_next(&n->rt, p);
			send_flush_peer(n, p);
		}
		return;
	}
	if (!p->req.active)
		(void)begin_peer_request(n, p, dst, now);
}

/* Could a peer serve dst? Inside our overlay prefixes or a gateway route
 * the broker announced (and we installed into the TUN). */
static bool routed_here(const struct node *n, const struct ctl_ip *dst)
{
	if (ctl_prefix_contains(&n->conf.prefix4, dst) ||
	    (n->conf.has_prefix6 && ctl_prefix_contains(&n->conf.prefix6, dst)))
		return true;
	for (unsigned i = 0; i < n->n_routes; i++)
		if (ctl_prefix_contains(&n->routes[i], dst))
			return true;
	return false;
}

static void send_one(struct node *n, uint8_t *pkt, size_t len)
{
	struct router_pkt rp;
	struct ctl_ip dst;
	struct peer *p;
	struct pending_dst *pd;
	struct session_slot *s;
	size_t olen = 0;
	uint64_t now;

	if (router_pkt_parse(&rp, pkt, len) != 0) {
		node_drop(&n->drops, DROP_BAD_INNER, "%zu-byte packet from %s is not IP", len,
			  n->tun.ifname);
		return;
	}
	if (decide_silent_dst(rp.af, rp.dst))
		return;
	switch (router_check_mtu(pkt, len, n->conf.mtu, n->icmpbuf, sizeof n->icmpbuf, &olen,
				 icmp_src(n, rp.af))) {
	case ROUTER_MTU_OK:
		break;
	case ROUTER_MTU_ICMP:
		tun_put(n, n->icmpbuf, olen);
		/* fall through */
	case ROUTER_MTU_DROP:
		node_drop(&n->drops, DROP_TOO_BIG, "%zu-byte packet above mtu %u", len, n->conf.mtu);
		return;
	}
	if (rp.af == 4)
		ctl_ip_from_v4(&dst, rp.dst);
	else
		ctl_ip_from_v6(&dst, rp.dst);
	if (broker_revoked(n)) {
		/* no session can come any more: say so at once */
		icmp_answer(n, ICMP_UNREACH_ADMIN, pkt, len, rp.af);
		node_drop(&n->drops, DROP_NO_SESSION, "this node was revoked by the keybroker");
		return;
	}
	now = log_now_ms();
	p = router_peer_by_dst(&n->rt, rp.af, rp.dst);
	if (p) {
		s = peer_send_slot(p, now);
		if (s && !p->queue.count) {
			seal_send(n, p, s, pkt - DATA_HDR_LEN, len, now);
			send_maybe_rekey(n, p, now);
			return;
		}
		if (s) {
			/* keep the order: this packet goes behind the queued ones */
			count_queue_drops(n, pending_push(&p->queue, pkt, len), p->name);
			send_flush_peer(n, p);
			return;
		}
		queue_for_peer(n, p, &dst, pkt, len, now);
		return;
	}
	pd = router_pending_find(&n->rt, rp.af, rp.dst);
	if (!pd && !routed_here(n, &dst)) {
		char a[CTL_ADDRSTRLEN];

		/* Someone routed it into the TUN by hand: no peer can serve it,
		 * asking the broker would only earn a refusal. */
		icmp_answer(n, ICMP_UNREACH_NET, pkt, len, rp.af);
		node_drop(&n->drops, DROP_NO_ROUTE, "no route for %s: outside the overlay and "
			  "every gateway route", ctl_ip_fmt(&dst, a));
		return;
	}
	if (!pd) {
		char a[CTL_ADDRSTRLEN];

		pd = router_pending_add(&n->rt, rp.af, rp.dst, now);
		if (!pd) {
			node_drop(&n->drops, errno == ENOSPC ? DROP_QUEUE_FULL : DROP_NO_SESSION,
				  "cannot wait for a session to %s: %s", ctl_ip_fmt(&dst, a),
				  strerror(errno));
			return;
		}
		send_req(n, pd, NULL, &dst);
	}
	{
		char a[CTL_ADDRSTRLEN];

		count_queue_drops(n, pending_push(&pd->queue, pkt, len), ctl_ip_fmt(&dst, a));
	}
}

void send_tun_readable(struct node *n)
{
	n->tx_batching = true;
	/* bounded per wakeup: the data socket gets its turn */
	for (int i = 0; i < 64; i++) {
		uint8_t *pkt = node_tx_slot(n) + DATA_HDR_LEN;
		ssize_t len = tun_read(&n->tun, pkt, DATA_MAX_PAYLOAD);

		if (len < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn_errno("read from %s", n->tun.ifname);
			break;
		}
		if (len == 0)
			break;
		/* sealed and queued: the slot advanced; otherwise it is reused */
		send_one(n, pkt, (size_t)len);
	}
	udp_flush(n);
	n->tx_batching = false;
}
