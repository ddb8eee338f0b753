// SPDX-License-Identifier: GPL-2.0-only
/*
 * sessions.c - what the broker tells the node about sessions (DESIGN.md
 * steps 4-7): GRANT (we asked: derive as initiator, flush the queue), OFFER
 * (a peer asked: derive as responder, ACCEPT), REFUSE (ICMP unreachable to
 * the local senders), REVOKE (erase the keys at once).
 *
 * Coalescing: when A and B ask for each other at the same time the broker
 * drops the second request; the OFFER then establishes the session both
 * ways. So an OFFER from a peer we have a request of our own for cancels
 * that request (its ephemeral wiped) and our queued packets for that peer
 * go out on the offered session.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "crypto/aead.h"
#include "crypto/ct.h"
#include "node/decide.h"
#include "node/node.h"
#include "router/icmp.h"

/* Apply the node's own key_life override (only ever shorter). */
static void local_life(const struct node *n, struct ctl_session *s)
{
	if (n->conf.key_life_s && n->conf.key_life_s < s->life_s)
		s->life_s = n->conf.key_life_s;
	if (s->life_s == 0)
		s->life_s = 120;
}

void sessions_on_grant(struct node *n, const struct ctl_session *g)
{
	static struct ctl_session gc;
	char a[CTL_ADDRSTRLEN], e[CTL_ADDRSTRLEN];
	struct peer *p;
	bool rekey = false;

	gc = *g;
	local_life(n, &gc);
	p = router_peer_by_name(&n->rt, g->peer_name);
	if (p && peer_send_slot(p, log_now_ms()))
		rekey = true;
	p = router_on_grant(&n->rt, &gc, &n->conf.vip4, log_now_ms());
	ct_wipe(&gc, sizeof gc);
	if (!p) {
		if (errno == ENOENT)
			log_debug("GRANT for unknown request %u (stale)", g->req_id);
		else
			log_warn("GRANT from %s unusable: %s", g->peer_name, strerror(errno));
		return;
	}
	n->sessions.initiated++;
	n->sessions.rekeys += rekey;
	log_info("session %016llx with %s (%s) as initiator, %s, life %us, endpoint %s",
		 (unsigned long long)g->sid, p->name, ctl_ip_fmt(&g->peer_vip4, a),
		 aead_name((enum aead_alg)g->aead), g->life_s,
		 g->n_endpoints ? ctl_endpoint_fmt(&g->endpoints[0], e) : "-");
	if (p->queue.count)
		send_flush_peer(n, p);
	else
		(void)send_keepalive(n, p);	/* lets the responder promote at once */
}

/* Our own waiting destinations that the OFFER's peer serves. */
static void adopt_pending(struct node *n, struct peer *p)
{
	struct pending_dst *pd, *next;

	for (pd = n->rt.pending; pd; pd = next) {
		next = pd->next;
		if (router_peer_by_dst(&n->rt, pd->dst.af, pd->dst.a) != p)
			continue;
		pending_splice(&p->queue, &pd->queue);
		router_pending_remove(&n->rt, pd);	/* wipes its ephemeral */
	}
}

void sessions_on_offer(struct node *n, const struct ctl_session *o)
{
	static struct ctl_session oc;
	struct ctl_msg m;
	char a[CTL_ADDRSTRLEN];
	struct peer *p;
	bool rekey = false;

	memset(&m, 0, sizeof m);
	oc = *o;
	local_life(n, &oc);
	p = router_peer_by_name(&n->rt, o->peer_name);
	if (p && peer_send_slot(p, log_now_ms()))
		rekey = true;
	p = router_on_offer(&n->rt, &oc, &n->conf.vip4, log_now_ms(), &m.u.accept);
	ct_wipe(&oc, sizeof oc);
	if (!p) {
		int e = errno;

		log_warn("OFFER from %s unusable: %s", o->peer_name, strerror(e));
		memset(&m, 0, sizeof m);
		m.type = CTL_REFUSE;
		m.u.refuse.sid = o->sid;
		m.u.refuse.code = e == EPROTO ? CTL_CODE_PROTOCOL : CTL_CODE_INTERNAL;
		snprintf(m.u.refuse.reason, sizeof m.u.refuse.reason, "cannot set up the session: %s",
			 strerror(e));
		(void)broker_send(n, &m);
		return;
	}
	n->sessions.accepted++;
	n->sessions.rekeys += rekey;
	m.type = CTL_ACCEPT;
	if (!broker_send(n, &m))
		log_warn("cannot send ACCEPT for session with %s", p->name);
	ct_wipe(&m, sizeof m);
	log_info("session %016llx with %s (%s) as responder, %s, life %us",
		 (unsigned long long)o->sid, p->name, ctl_ip_fmt(&o->peer_vip4, a),
		 aead_name((enum aead_alg)o->aead), o->life_s);
	if (p->req.active) {
		log_debug("crossing requests with %s: the offer serves both", p->name);
		peer_request_cancel(&n->rt, p);
	}
	adopt_pending(n, p);
	/* Queued packets leave when the initiator's first packet promotes the
	 * new session (receive.c), or after NODE_RESPONDER_PROMOTE_MS (timers.c);
	 * with a live current session they can go now. */
	if (p->queue.count && p->current && p->current->keys.valid)
		send_flush_peer(n, p);
}

void sessions_on_refuse(struct node *n, const struct ctl_refuse *rf)
{
	struct icmp_ctx ctx = { n, ICMP_UNREACH_HOST, DROP_REFUSED };
	char a[CTL_ADDRSTRLEN];
	int k;

	n->sessions.refused++;
	ctx.why = decide_refuse_icmp(rf->code);
	k = router_on_refuse(&n->rt, rf, log_now_ms(), send_icmp_unreach_cb, &ctx);
	if (k < 0) {
		log_debug("REFUSE for unknown request %u", rf->req_id);
		return;
	}
	{
		const char *code = ctl_code_name((enum ctl_code)rf->code);
		bool extra = rf->reason[0] && strcmp(rf->reason, code) != 0;

		log_info("no session to %s: %s%s%s (%d queued packets answered with ICMP unreachable)",
			 ctl_ip_fmt(&rf->dst, a), code, extra ? ": " : "", extra ? rf->reason : "", k);
	}
}

void sessions_on_revoke(struct node *n, const struct ctl_revoke *rv)
{
	int k = router_on_revoke(&n->rt, rv);

	n->sessions.revoked++;
	if (k < 0) {
		log_debug("REVOKE for unknown peer %s", rv->peer_name);
		return;
	}
	log_info("broker revoked %s with %s (%s): %d keys erased",
		 rv->sid ? "a session" : "every session", rv->peer_name,
		 ctl_code_name((enum ctl_code)rv->code), k);
}
