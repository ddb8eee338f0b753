/* SPDX-License-Identifier: GPL-2.0-only */
/* broker.c - HELLO, session brokering, revocation, policy effects. See
 * broker.h and DESIGN.md steps 3-5. */
#include "keybroker/broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "crypto/aead.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "keybroker/registry.h"

static uint64_t pair_key(const struct kbnode *a, const struct kbnode *b)
{
	uint64_t x = (uint64_t)a->id, y = (uint64_t)b->id;

	return x < y ? (x << 32 | (y & 0xffffffffu)) : (y << 32 | (x & 0xffffffffu));
}

uint32_t broker_routes_sig(const struct ctl_prefix *r, uint8_t n)
{
	uint32_t h = 2166136261u;

	for (uint8_t i = 0; i < n; i++) {
		uint8_t b[18];

		b[0] = r[i].ip.af;
		memcpy(b + 1, r[i].ip.a, 16);
		b[17] = r[i].len;
		for (size_t k = 0; k < sizeof b; k++)
			h = (h ^ b[k]) * 16777619u;
	}
	return h ^ n;
}

/*
 * May a node's self-declared (HELLO) local endpoint be handed to its peers?
 * Not when it would make them send to themselves or to many: loopback
 * (also v4-mapped), unspecified, multicast, limited broadcast, IPv4 and
 * IPv6 link-local (one link only; IPv6 needs a scope), or an address inside the overlay (the
 * datagram would loop into the tunnel). An honest node never lists these
 * (node ctl_client.c skips them); the observed endpoint is not affected.
 */
static bool v4_usable(const struct kbd *kb, const uint8_t a[4])
{
	struct ctl_ip ip;

	if (a[0] == 0 || a[0] == 127 || a[0] >= 224)
		return false;	/* this network, loopback, multicast, reserved, broadcast */
	if (a[0] == 169 && a[1] == 254)
		return false;	/* link-local: only meaningful on one link, and scoped */
	ctl_ip_from_v4(&ip, a);
	return !ctl_prefix_contains(&kb->st.prefix4, &ip);
}

static bool endpoint_usable(const struct kbd *kb, const struct ctl_endpoint *e)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t zero[15];
	const uint8_t *a = e->ip.a;

	if (e->port == 0)
		return false;
	if (e->ip.af == 4)
		return v4_usable(kb, a);
	if (e->ip.af != 6)
		return false;
	if (memcmp(a, v4mapped, sizeof v4mapped) == 0)
		return v4_usable(kb, a + 12);	/* ::ffff:a.b.c.d judged as a.b.c.d */
	if (memcmp(a, zero, sizeof zero) == 0 && a[15] <= 1)
		return false;			/* :: and ::1 */
	if (a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
		return false;			/* multicast, link-local */
	return !(kb->st.has_prefix6 && ctl_prefix_contains(&kb->st.prefix6, &e->ip));
}

int broker_hello(struct conn *c, const struct ctl_hello *h)
{
	struct kbd *kb = c->kb;
	struct kbnode *n = c->node;
	struct ctl_msg m;
	struct ctl_welcome *w = &m.u.welcome;
	char ep[CTL_ADDRSTRLEN];
	uint8_t max = h->n_endpoints > CTL_MAX_ENDPOINTS ? CTL_MAX_ENDPOINTS : h->n_endpoints;

	c->data_port = h->data_port;
	c->aead_mask = h->aead_mask;
	c->n_endpoints = 0;
	for (uint8_t i = 0; i < max; i++) {
		if (endpoint_usable(kb, &h->endpoints[i])) {
			c->endpoints[c->n_endpoints++] = h->endpoints[i];
			continue;
		}
		kb->cnt.endpoints_dropped++;
		log_debug("node %s: HELLO endpoint %s not handed to peers", n->name,
			  ctl_endpoint_fmt(&h->endpoints[i], ep));
	}
	c->state = CONN_ACTIVE;
	kb->n_active++;
	kb->cnt.hellos++;
	audit_last_seen(kb, n);

	memset(&m, 0, sizeof m);
	m.type = CTL_WELCOME;
	snprintf(w->name, sizeof w->name, "%s", n->name);
	w->vip4 = n->vip4;
	w->has_vip6 = n->has_vip6;
	w->vip6 = n->vip6;
	w->prefix4 = kb->st.prefix4;
	w->has_prefix6 = kb->st.has_prefix6;
	w->prefix6 = kb->st.prefix6;
	conn_observed(c, &w->observed);
	w->keepalive_s = (uint16_t)kb->st.keepalive_s;
	w->key_life_s = kb->st.key_life_s;
	w->n_routes = dir_reachable_routes(kb, n, w->routes, CTL_MAX_PREFIXES);
	c->routes_sig = broker_routes_sig(w->routes, w->n_routes);
	w->n_own_routes = n->n_routes > CTL_MAX_PREFIXES ? CTL_MAX_PREFIXES : n->n_routes;
	if (w->n_own_routes)
		memcpy(w->own_routes, n->routes, w->n_own_routes * sizeof w->own_routes[0]);
	if (w->observed.port == 0)
		memset(&w->observed, 0, sizeof w->observed);
	log_info("node %s up from %s (conn %llu)", n->name,
		 ctl_endpoint_fmt(&w->observed, ep), (unsigned long long)c->id);
	(void)conn_send(c, &m);
	return 0;
}

/* ---- offers ------------------------------------------------------------ */

static void offer_free(struct kbd *kb, struct offer *o)
{
	htab_del(&kb->offers_by_sid, &o->by_sid);
	htab_del(&kb->offers_by_pair, &o->by_pair);
	if (o->prev)
		o->prev->next = o->next;
	else
		kb->offers = o->next;
	if (o->next)
		o->next->prev = o->prev;
	kb->n_offers--;
	ev_timer_stop(kb->loop, &o->timer);
	if (o->a->conn && o->a->conn->n_pending)
		o->a->conn->n_pending--;
	ct_wipe(o, sizeof *o);
	free(o);
}

static void refuse(struct conn *c, uint32_t req_id, const struct ctl_ip *dst,
		   uint16_t code, const char *peer, const char *reason)
{
	struct kbd *kb = c->kb;
	struct ctl_msg m;

	memset(&m, 0, sizeof m);
	m.type = CTL_REFUSE;
	m.u.refuse.req_id = req_id;
	m.u.refuse.dst = *dst;
	m.u.refuse.code = code;
	snprintf(m.u.refuse.reason, sizeof m.u.refuse.reason, "%s", reason);
	if (code <= CTL_CODE_SHUTDOWN)
		kb->cnt.refusals[code]++;
	if (code != CTL_CODE_LIMIT) {
		char d[CTL_ADDRSTRLEN];

		audit_event(kb, "session_refuse", c->node ? c->node->name : NULL, peer,
			    "dst %s: %s", ctl_ip_fmt(dst, d), reason);
	}
	(void)conn_send(c, &m);
}

static void offer_refuse(struct kbd *kb, struct offer *o, uint16_t code, const char *reason)
{
	if (o->a->conn && o->a->conn->state == CONN_ACTIVE)
		refuse(o->a->conn, o->req_id, &o->dst, code, o->b->name, reason);
	offer_free(kb, o);
}

static void offer_timeout(EV_P_ ev_timer *w, int revents)
{
	struct offer *o = container_of(w, struct offer, timer);

	(void)EV_A;
	(void)revents;
	offer_refuse(o->kb, o, CTL_CODE_TIMEOUT, "destination did not answer");
}

/* Fill an OFFER/GRANT body describing `peer` (who is reached through
 * peer->conn). */
static void describe(struct kbd *kb, struct ctl_session *s, const struct kbnode *peer)
{
	snprintf(s->peer_name, sizeof s->peer_name, "%s", peer->name);
	s->peer_vip4 = peer->vip4;
	s->has_peer_vip6 = peer->has_vip6;
	s->peer_vip6 = peer->vip6;
	s->n_allowed = dir_allowed(kb, peer, s->allowed, CTL_MAX_PREFIXES);
	s->n_endpoints = peer->conn ? conn_endpoints(peer->conn, s->endpoints,
						     CTL_MAX_ENDPOINTS) : 0;
}

static int mint_sid(struct kbd *kb, uint64_t *sid)
{
	for (int tries = 0; tries < 8; tries++) {
		if (rand_bytes(sid, sizeof *sid) < 0)
			return -1;
		if (*sid && !htab_find(&kb->offers_by_sid, *sid) &&
		    !htab_find(&kb->sess_by_sid, *sid))
			return 0;
	}
	return -1;
}

int broker_session_req(struct conn *c, const struct ctl_session_req *r)
{
	struct kbd *kb = c->kb;
	struct kbnode *a = c->node, *b;
	struct offer *o = NULL;
	struct ctl_msg m;
	uint32_t common;
	enum aead_alg alg;

	b = dir_lookup_dst(kb, &r->dst, a);
	if (!b) {
		refuse(c, r->req_id, &r->dst, CTL_CODE_UNKNOWN_DST, NULL,
		       "no node owns that address");
		return 0;
	}
	if (!dir_allows(kb, a, b)) {
		refuse(c, r->req_id, &r->dst, CTL_CODE_POLICY, b->name, "denied by policy");
		return 0;
	}
	if (!b->conn || b->conn->state != CONN_ACTIVE) {
		refuse(c, r->req_id, &r->dst, CTL_CODE_OFFLINE, b->name, "destination offline");
		return 0;
	}
	if (htab_find(&kb->offers_by_pair, pair_key(a, b))) {
		/* Same pair in flight (a duplicate, or B asking for A at the same
		 * time): the OFFER/GRANT under way sets the session up both ways. */
		kb->cnt.coalesced++;
		return 0;
	}
	if (c->n_pending >= KBD_MAX_PENDING) {
		refuse(c, r->req_id, &r->dst, CTL_CODE_LIMIT, b->name, "too many requests in flight");
		return 0;
	}
	common = c->aead_mask & b->conn->aead_mask & r->aead_mask;
	alg = aead_pick(common);
	if (!alg) {
		refuse(c, r->req_id, &r->dst, CTL_CODE_INTERNAL, b->name, "no common AEAD");
		return 0;
	}
	o = calloc(1, sizeof *o);
	if (!o || mint_sid(kb, &o->sid) < 0 ||
	    rand_bytes(o->secret, sizeof o->secret) < 0) {
		free(o);
		refuse(c, r->req_id, &r->dst, CTL_CODE_INTERNAL, b->name, "internal error");
		return 0;
	}
	o->kb = kb;
	o->a = a;
	o->b = b;
	o->req_id = r->req_id;
	o->dst = r->dst;
	o->index_a = r->index;
	o->aead = (uint8_t)alg;
	memcpy(o->eph_a, r->eph, CTL_EPH_LEN);
	o->started_ms = kbd_now_ms(kb);
	if (htab_add(&kb->offers_by_sid, &o->by_sid, o->sid) < 0) {
		ct_wipe(o, sizeof *o);
		free(o);
		refuse(c, r->req_id, &r->dst, CTL_CODE_INTERNAL, b->name, "internal error");
		return 0;
	}
	if (htab_add(&kb->offers_by_pair, &o->by_pair, pair_key(a, b)) < 0) {
		htab_del(&kb->offers_by_sid, &o->by_sid);
		ct_wipe(o, sizeof *o);
		free(o);
		refuse(c, r->req_id, &r->dst, CTL_CODE_INTERNAL, b->name, "internal error");
		return 0;
	}
	o->next = kb->offers;
	if (kb->offers)
		kb->offers->prev = o;
	kb->offers = o;
	kb->n_offers++;
	c->n_pending++;
	ev_timer_init(&o->timer, offer_timeout, KBD_OFFER_TIMEOUT_S, 0.);
	ev_timer_start(kb->loop, &o->timer);

	memset(&m, 0, sizeof m);
	m.type = CTL_OFFER;
	m.u.session.sid = o->sid;
	describe(kb, &m.u.session, a);
	memcpy(m.u.session.secret, o->secret, CTL_SECRET_LEN);
	memcpy(m.u.session.peer_eph, o->eph_a, CTL_EPH_LEN);
	m.u.session.peer_index = o->index_a;
	m.u.session.aead = o->aead;
	m.u.session.life_s = kb->st.key_life_s;
	kb->cnt.offers++;
	if (conn_send(b->conn, &m) < 0)
		offer_refuse(kb, o, CTL_CODE_OFFLINE, "destination unreachable");
	ct_wipe(&m, sizeof m);
	return 0;
}

static struct offer *offer_for(struct conn *c, uint64_t sid, int *bad)
{
	struct hlink *l = htab_find(&c->kb->offers_by_sid, sid);
	struct offer *o;

	*bad = 0;
	if (!l) {
		c->kb->cnt.late_answers++;	/* timed out, or its initiator left */
		return NULL;
	}
	o = container_of(l, struct offer, by_sid);
	if (o->b != c->node) {
		*bad = 1;	/* answering an offer that was not made to it */
		return NULL;
	}
	return o;
}

static void track_session(struct kbd *kb, struct offer *o)
{
	struct gsess *s = calloc(1, sizeof *s);

	if (!s)
		return;	/* not revocable early; it still expires on the nodes */
	s->sid = o->sid;
	s->a = o->a;
	s->b = o->b;
	s->expiry_ms = kbd_now_ms(kb) + (uint64_t)kb->st.key_life_s * 1000;
	if (htab_add(&kb->sess_by_sid, &s->by_sid, s->sid) < 0) {
		free(s);
		return;
	}
	if (kb->sess_tail)
		kb->sess_tail->next = s;
	else
		kb->sess_head = s;
	kb->sess_tail = s;
	kb->n_sess++;
}

int broker_accept(struct conn *c, const struct ctl_accept *acc)
{
	struct kbd *kb = c->kb;
	struct ctl_msg m;
	struct offer *o;
	int bad;
	uint64_t lat;

	o = offer_for(c, acc->sid, &bad);
	if (bad) {
		kb->cnt.protocol_errors++;
		conn_shutdown(c, CTL_CODE_PROTOCOL, "ACCEPT for an offer not made to you");
		return 0;
	}
	if (!o)
		return 0;
	if (!o->a->conn || o->a->conn->state != CONN_ACTIVE) {
		offer_free(kb, o);	/* initiator left: the session is never used */
		return 0;
	}
	memset(&m, 0, sizeof m);
	m.type = CTL_GRANT;
	m.u.session.req_id = o->req_id;
	m.u.session.sid = o->sid;
	describe(kb, &m.u.session, o->b);
	memcpy(m.u.session.secret, o->secret, CTL_SECRET_LEN);
	memcpy(m.u.session.peer_eph, acc->eph, CTL_EPH_LEN);
	m.u.session.peer_index = acc->index;
	m.u.session.aead = o->aead;
	m.u.session.life_s = kb->st.key_life_s;
	if (conn_send(o->a->conn, &m) == 0) {
		lat = kbd_now_ms(kb) - o->started_ms;
		kb->cnt.grants++;
		kb->cnt.grant_latency_us_sum += lat * 1000;
		track_session(kb, o);
		audit_event(kb, "session_grant", o->a->name, o->b->name, "sid %016llx %s",
			    (unsigned long long)o->sid, aead_name(o->aead));
	}
	ct_wipe(&m, sizeof m);
	offer_free(kb, o);	/* wipes S */
	return 0;
}

int broker_refuse(struct conn *c, const struct ctl_refuse *r)
{
	struct offer *o;
	int bad;

	o = offer_for(c, r->sid, &bad);
	if (bad) {
		c->kb->cnt.protocol_errors++;
		conn_shutdown(c, CTL_CODE_PROTOCOL, "REFUSE for an offer not made to you");
		return 0;
	}
	if (o)
		offer_refuse(c->kb, o, CTL_CODE_DECLINED, "destination declined");
	return 0;
}

void broker_node_offline(struct kbd *kb, struct kbnode *n)
{
	struct offer *o, *next;

	for (o = kb->offers; o; o = next) {
		next = o->next;
		if (o->b == n)
			offer_refuse(kb, o, CTL_CODE_OFFLINE, "destination went offline");
		else if (o->a == n)
			offer_free(kb, o);
	}
}

/* ---- sessions: expiry, revocation ---------------------------------------- */

static void send_revoke(struct kbd *kb, struct kbnode *to, uint64_t sid,
			const char *peer, uint16_t code)
{
	struct ctl_msg m;

	if (!to->conn || to->conn->state != CONN_ACTIVE)
		return;
	memset(&m, 0, sizeof m);
	m.type = CTL_REVOKE;
	m.u.revoke.sid = sid;
	snprintf(m.u.revoke.peer_name, sizeof m.u.revoke.peer_name, "%s", peer);
	m.u.revoke.code = code;
	if (conn_send(to->conn, &m) == 0)
		kb->cnt.revokes_sent++;
}

static void sess_forget(struct kbd *kb, struct gsess *s)
{
	htab_del(&kb->sess_by_sid, &s->by_sid);
	s->a = s->b = NULL;	/* the FIFO frees it */
}

void broker_sweep(struct kbd *kb, uint64_t now)
{
	struct gsess *s;

	while ((s = kb->sess_head) && (s->expiry_ms <= now || !s->a)) {
		kb->sess_head = s->next;
		if (!kb->sess_head)
			kb->sess_tail = NULL;
		if (s->a)
			htab_del(&kb->sess_by_sid, &s->by_sid);
		kb->n_sess--;
		free(s);
	}
}

int broker_revoke(struct kbd *kb, const char *name, char *err, size_t errlen)
{
	char rerr[REGISTRY_ERR_MAX] = "";
	struct reg_node *rn;
	struct kbnode *n;
	enum reg_result r;
	uint32_t peers = 0, sessions = 0;
	bool was_gw;

	if (!ctl_name_valid(name)) {
		snprintf(err, errlen, "invalid node name '%s'", name);
		return -1;
	}
	/* The command line marks the node revoked first; if it is still live
	 * in the registry (revoke sent by hand), revoke it there now. */
	rn = malloc(sizeof *rn);
	if (!rn) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r = registry_node_by_name(kb->reg, name, rn, rerr);
	free(rn);
	if (r == REG_OK) {
		r = registry_node_revoke(kb->reg, name, time(NULL), "revoked by admin", rerr);
		if (r != REG_OK) {
			snprintf(err, errlen, "registry: %s %s", registry_strerror(r), rerr);
			return -1;
		}
	} else if (r != REG_NOT_FOUND) {
		snprintf(err, errlen, "registry: %s %s", registry_strerror(r), rerr);
		return -1;
	}
	n = dir_by_name(kb, name);
	if (!n) {
		snprintf(err, errlen, "no live node named '%s' is known to the daemon", name);
		return -1;
	}
	was_gw = n->n_routes > 0;
	dir_revoke(kb, n);
	kb->cnt.nodes_revoked++;
	/* offers touching it */
	for (struct offer *o = kb->offers, *next; o; o = next) {
		next = o->next;
		if (o->b == n) {
			offer_refuse(kb, o, CTL_CODE_REVOKED, "destination revoked");
		} else if (o->a == n) {
			/* B may already hold keys from the OFFER */
			send_revoke(kb, o->b, o->sid, name, CTL_CODE_REVOKED);
			offer_free(kb, o);
		}
	}
	if (n->conn)
		conn_shutdown(n->conn, CTL_CODE_REVOKED, "node %s revoked", name);
	/* every peer holding a session with it: one REVOKE {sid 0} each */
	kb->mark++;
	for (struct gsess *s = kb->sess_head; s; s = s->next) {
		struct kbnode *peer;

		if (!s->a || (s->a != n && s->b != n))
			continue;
		peer = s->a == n ? s->b : s->a;
		sess_forget(kb, s);
		sessions++;
		if (peer->mark == kb->mark)
			continue;
		peer->mark = kb->mark;
		send_revoke(kb, peer, 0, name, CTL_CODE_REVOKED);
		peers++;
	}
	kb->cnt.sessions_revoked += sessions;
	log_info("node %s revoked: channel closed, %u session(s) at %u peer(s) revoked",
		 name, sessions, peers);
	audit_event(kb, "revoke_applied", name, NULL, "%u sessions, %u peers told", sessions,
		    peers);
	if (was_gw)
		broker_routes_changed(kb);
	return 0;
}

void broker_routes_changed(struct kbd *kb)
{
	struct ctl_msg m;

	for (struct conn *c = kb->conns; c; c = c->next) {
		uint32_t sig;

		if (c->state != CONN_ACTIVE || !c->node)
			continue;
		memset(&m, 0, sizeof m);
		m.type = CTL_ROUTES;
		m.u.routes.n_routes = dir_reachable_routes(kb, c->node, m.u.routes.routes,
							   CTL_MAX_PREFIXES);
		sig = broker_routes_sig(m.u.routes.routes, m.u.routes.n_routes);
		if (sig == c->routes_sig)
			continue;
		c->routes_sig = sig;
		kb->cnt.routes_updates++;
		(void)conn_send(c, &m);
	}
}

void broker_policy_changed(struct kbd *kb)
{
	uint32_t revoked = 0;

	for (struct gsess *s = kb->sess_head; s; s = s->next) {
		if (!s->a || dir_allows(kb, s->a, s->b))
			continue;
		send_revoke(kb, s->a, s->sid, s->b->name, CTL_CODE_POLICY);
		send_revoke(kb, s->b, s->sid, s->a->name, CTL_CODE_POLICY);
		audit_event(kb, "session_revoke", s->a->name, s->b->name,
			    "sid %016llx: denied by the new policy", (unsigned long long)s->sid);
		sess_forget(kb, s);
		revoked++;
	}
	for (struct offer *o = kb->offers, *next; o; o = next) {
		next = o->next;
		if (dir_allows(kb, o->a, o->b))
			continue;
		/* B may already hold keys from the OFFER */
		send_revoke(kb, o->b, o->sid, o->a->name, CTL_CODE_POLICY);
		offer_refuse(kb, o, CTL_CODE_POLICY, "denied by the new policy");
	}
	kb->cnt.sessions_revoked += revoked;
	if (revoked)
		log_info("policy reload: %u live session(s) revoked", revoked);
	broker_routes_changed(kb);
}

void broker_free(struct kbd *kb)
{
	while (kb->offers)
		offer_free(kb, kb->offers);
	while (kb->sess_head) {
		struct gsess *s = kb->sess_head;

		kb->sess_head = s->next;
		free(s);
	}
	kb->sess_tail = NULL;
	kb->n_sess = 0;
	htab_free(&kb->offers_by_sid);
	htab_free(&kb->offers_by_pair);
	htab_free(&kb->sess_by_sid);
}
