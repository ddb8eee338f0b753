// SPDX-License-Identifier: GPL-2.0-only
/*
 * Session index table, peer session slots (next/current/previous), and the
 * control events (GRANT/OFFER/REFUSE/REVOKE) between two routers, with real
 * key derivation: packets sealed by one router must open on the other.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "crypto/session.h"
#include "router/router.h"

/* ---- session table ------------------------------------------------------ */

Test(session_table, reserve_bind_lookup_release)
{
	struct session_table st;
	struct session_slot a, b;
	uint32_t i1, i2;

	cr_assert_eq(session_table_init(&st, 4), 0);
	i1 = session_table_reserve(&st);
	i2 = session_table_reserve(&st);
	cr_assert_neq(i1, 0);
	cr_assert_neq(i2, 0);
	cr_assert_neq(i1, i2);
	cr_assert(session_table_contains(&st, i1));
	cr_assert_null(session_table_lookup(&st, i1), "reserved index selects nothing");
	cr_assert_eq(session_table_bind(&st, i1, &a), 0);
	cr_assert_eq(session_table_lookup(&st, i1), &a);
	cr_assert_eq(session_table_bind(&st, i1, &b), 0, "rebind moves the index");
	cr_assert_eq(session_table_lookup(&st, i1), &b);
	{
		uint32_t unknown = i1 + 1;

		while (unknown == 0 || unknown == i2)
			unknown++;
		cr_assert_eq(session_table_bind(&st, unknown, &a), -1, "bind of an unknown index");
	}
	cr_assert_eq(session_table_release(&st, i1), 0);
	cr_assert_eq(session_table_release(&st, i1), -1, "double release");
	cr_assert_null(session_table_lookup(&st, i1));
	cr_assert_not(session_table_contains(&st, i1));
	cr_assert(session_table_contains(&st, i2));
	cr_assert_eq(session_table_release(&st, 0), -1);
	cr_assert_null(session_table_lookup(&st, 0));
	cr_assert_eq(st.count, 1);
	session_table_free(&st);
}

/* Thousands of random reserve/release operations against a reference list;
 * exercises growth and backward-shift deletion. */
Test(session_table, random_against_reference, .timeout = 60)
{
	static uint32_t live[6000];
	static struct session_slot slots[6000];
	struct session_table st;
	size_t n = 0, i, op;
	uint64_t x = 0x2545f4914f6cdd1dull;

	cr_assert_eq(session_table_init(&st, 0), 0);
	for (op = 0; op < 20000; op++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		if (n < 10 || (x % 3 != 0 && n < 6000)) {
			uint32_t idx = session_table_reserve(&st);

			cr_assert_neq(idx, 0);
			for (i = 0; i < n; i++)
				cr_assert_neq(live[i], idx, "fresh index collides");
			cr_assert_eq(session_table_bind(&st, idx, &slots[n]), 0);
			live[n++] = idx;
		} else {
			size_t k = (size_t)(x >> 8) % n;

			cr_assert_eq(session_table_release(&st, live[k]), 0);
			cr_assert_null(session_table_lookup(&st, live[k]));
			/* keep slots[] parallel to live[] */
			if (k != n - 1) {
				live[k] = live[n - 1];
				cr_assert_eq(session_table_bind(&st, live[k], &slots[k]), 0);
			}
			n--;
		}
		cr_assert_eq(st.count, n);
		cr_assert_leq(st.count * 2, st.cap, "load factor <= 1/2");
		if (op % 1000 == 0)
			for (i = 0; i < n; i++)
				cr_assert_eq(session_table_lookup(&st, live[i]), &slots[i],
					     "op %zu: index %u lost", op, live[i]);
	}
	for (i = 0; i < n; i++)
		cr_assert_eq(session_table_lookup(&st, live[i]), &slots[i]);
	session_table_free(&st);
}

/* ---- two routers and a broker in the test ------------------------------- */

struct node {
	struct router r;
	struct ctl_ip vip;
	const char *name;
};

static const uint8_t SECRET[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31 };

static void ip4(struct ctl_ip *ip, const char *s)
{
	memset(ip, 0, sizeof *ip);
	ip->af = 4;
	cr_assert_eq(inet_pton(AF_INET, s, ip->a), 1);
}

static void node_init(struct node *n, const char *name, const char *vip)
{
	cr_assert_eq(router_init(&n->r, NULL), 0);
	n->name = name;
	ip4(&n->vip, vip);
}

/* OFFER/GRANT body describing `about` (with extra allowed prefix route). */
static void describe(struct ctl_session *s, const struct node *about, uint64_t sid,
		     uint32_t life_s, const char *route)
{
	memset(s, 0, sizeof *s);
	s->sid = sid;
	strcpy(s->peer_name, about->name);
	s->peer_vip4 = about->vip;
	s->allowed[0].ip = about->vip;
	s->allowed[0].len = 32;
	s->n_allowed = 1;
	if (route) {
		char buf[64], *slash;

		strcpy(buf, route);
		slash = strchr(buf, '/');
		*slash = 0;
		ip4(&s->allowed[1].ip, buf);
		s->allowed[1].len = (uint8_t)atoi(slash + 1);
		s->n_allowed = 2;
	}
	s->n_endpoints = 1;
	ip4(&s->endpoints[0].ip, "192.0.2.10");
	s->endpoints[0].port = 4500;
	memcpy(s->secret, SECRET, 32);
	s->aead = AEAD_CHACHA20_POLY1305;
	s->life_s = life_s;
}

/* Broker the request req from initiator a to responder b. Returns a's peer
 * for b; *pb_out gets b's peer for a. */
static struct peer *broker(struct node *a, struct node *b, const struct ctl_session_req *req,
			   uint64_t sid, uint32_t life_s, const char *b_route, uint64_t now,
			   struct peer **pb_out)
{
	struct ctl_session offer, grant;
	struct ctl_accept acc;
	struct peer *pa, *pb;

	describe(&offer, a, sid, life_s, NULL);
	memcpy(offer.peer_eph, req->eph, 32);
	offer.peer_index = req->index;
	pb = router_on_offer(&b->r, &offer, &b->vip, now, &acc);
	cr_assert_not_null(pb, "offer accepted (errno %d)", errno);
	cr_assert_eq(acc.sid, sid);
	cr_assert_neq(acc.index, 0);
	cr_assert_eq(router_slot_by_index(&b->r, acc.index), pb->next, "responder installs next");
	cr_assert(pb->next->keys.valid);
	cr_assert_eq(pb->next->role, SESSION_RESPONDER);

	describe(&grant, b, sid, life_s, b_route);
	grant.req_id = req->req_id;
	memcpy(grant.peer_eph, acc.eph, 32);
	grant.peer_index = acc.index;
	pa = router_on_grant(&a->r, &grant, &a->vip, now);
	cr_assert_not_null(pa, "grant consumed (errno %d)", errno);
	cr_assert(pa->current->keys.valid);
	cr_assert_eq(pa->current->role, SESSION_INITIATOR);
	cr_assert_eq(pa->current->sid, sid);
	cr_assert_eq(pa->current->local_index, req->index);
	cr_assert_eq(pa->current->remote_index, acc.index);
	cr_assert_eq(router_slot_by_index(&a->r, req->index), pa->current);
	cr_assert_eq(pb->next->remote_index, req->index);
	if (pb_out)
		*pb_out = pb;
	return pa;
}

/* Seal `msg` with s_from and open it on router `to` by index. */
static enum session_open_result send_one(struct session_slot *s_from, struct router *to,
					 const char *msg, struct session_slot **s_to)
{
	uint8_t buf[16 + 256 + 16];
	size_t len = strlen(msg);
	uint32_t idx = s_from->remote_index;
	struct session_slot *s;
	enum session_open_result rc;

	memset(buf, 0, 16);
	buf[0] = 1;
	memcpy(buf + 4, &idx, 4);	/* LE on our test hosts */
	memcpy(buf + 16, msg, len);
	cr_assert_geq(session_seal(&s_from->keys, buf, len), 0);
	s = router_slot_by_index(to, idx);
	if (s_to)
		*s_to = s;
	if (!s)
		return SESSION_OPEN_INVALID;
	rc = session_open(&s->keys, buf, len);
	if (rc == SESSION_OPEN_OK)
		cr_assert_eq(memcmp(buf + 16, msg, len), 0, "plaintext survives");
	return rc;
}

struct collected {
	int n;
	uint8_t first[8];
	size_t len[8];
};

static void collect(void *ctx, const uint8_t *pkt, size_t len)
{
	struct collected *c = ctx;

	if (c->n < 8) {
		c->first[c->n] = pkt[0];
		c->len[c->n] = len;
	}
	c->n++;
}

static int all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		if (*b++)
			return 0;
	return 1;
}

Test(router, first_contact_grant_offer_data)
{
	struct node a, b;
	struct pending_dst *pd;
	struct ctl_session_req req;
	struct peer *pa, *pb;
	struct session_slot *s;
	uint8_t pkt[3][40];
	uint8_t addr[4];
	int i;

	node_init(&a, "alpha", "100.64.0.1");
	node_init(&b, "bravo", "100.64.0.2");

	/* A has traffic for B's VIP but knows no peer yet */
	cr_assert_null(router_peer_by_dst(&a.r, 4, b.vip.a));
	pd = router_pending_add(&a.r, AF_INET, b.vip.a, 1000);
	cr_assert_not_null(pd);
	cr_assert_eq(router_pending_find(&a.r, 4, b.vip.a), pd);
	cr_assert_null(router_pending_add(&a.r, 4, b.vip.a, 1000), "one pending entry per dst");
	cr_assert_eq(errno, EEXIST);
	for (i = 0; i < 3; i++) {
		memset(pkt[i], 0x45 + i, sizeof pkt[i]);
		cr_assert_eq(pending_push(&pd->queue, pkt[i], sizeof pkt[i] - (size_t)i), 0);
	}
	router_session_req(pd, NULL, NULL, AEAD_MASK(AEAD_CHACHA20_POLY1305), &req);
	cr_assert_neq(req.req_id, 0);
	cr_assert_eq(req.index, pd->local_index);
	cr_assert(ctl_ip_eq(&req.dst, &b.vip));
	cr_assert(session_table_contains(&a.r.sessions, req.index));

	pa = broker(&a, &b, &req, 77, 120, "10.200.0.0/24", 1000, &pb);
	cr_assert_str_eq(pa->name, "bravo");
	cr_assert_str_eq(pb->name, "alpha");
	cr_assert_null(router_pending_by_req(&a.r, req.req_id), "pending destination converted");
	cr_assert_eq(a.r.n_pending, 0);
	cr_assert_eq(pa->queue.count, 3, "queued packets moved to the peer");
	{
		struct collected c = { 0 };

		cr_assert_eq(pending_flush(&pa->queue, collect, &c), 3);
		for (i = 0; i < 3; i++) {
			cr_assert_eq(c.first[i], 0x45 + i, "flush order");
			cr_assert_eq(c.len[i], 40u - (size_t)i);
		}
	}
	/* destination table: VIP and the gateway route */
	cr_assert_eq(router_peer_by_dst(&a.r, 4, b.vip.a), pa);
	inet_pton(AF_INET, "10.200.0.77", addr);
	cr_assert_eq(router_peer_by_dst(&a.r, 4, addr), pa);
	cr_assert(router_allowed_src(pa, 4, addr));
	inet_pton(AF_INET, "10.201.0.1", addr);
	cr_assert_null(router_peer_by_dst(&a.r, 4, addr));
	cr_assert_not(router_allowed_src(pa, 4, addr));
	cr_assert(router_allowed_src(pb, AF_INET, a.vip.a));
	cr_assert_not(router_allowed_src(pb, 4, b.vip.a), "B's own VIP is not alpha's source");
	cr_assert_eq(router_peer_by_name(&a.r, "bravo"), pa);
	cr_assert_null(router_peer_by_name(&a.r, "charlie"));
	cr_assert_eq(pa->endpoint.ss_family, AF_INET, "endpoint taken from the grant");

	/* A -> B opens on B's next slot and promotes it */
	cr_assert_eq(peer_send_slot(pa, 1001), pa->current);
	cr_assert_null(peer_send_slot(pb, 1001), "responder does not send before confirmation");
	cr_assert_eq(send_one(pa->current, &b.r, "hello bravo", &s), SESSION_OPEN_OK);
	cr_assert_eq(s, pb->next);
	cr_assert(peer_note_rx(&b.r, s, 11, 1002), "first packet promotes");
	cr_assert_eq(pb->current, s);
	cr_assert_not(pb->next->keys.valid);
	cr_assert_eq(pb->ctr.rx_packets, 1);
	cr_assert_eq(pb->ctr.rx_bytes, 11);
	cr_assert_not(peer_note_rx(&b.r, s, 5, 1003), "second packet: no promotion");
	/* B -> A */
	cr_assert_eq(peer_send_slot(pb, 1003), pb->current);
	cr_assert_eq(send_one(pb->current, &a.r, "hello alpha", &s), SESSION_OPEN_OK);
	cr_assert_eq(s, pa->current);

	router_free(&a.r);
	router_free(&b.r);
}

Test(router, rekey_rotation_next_current_previous)
{
	struct node a, b;
	struct pending_dst *pd;
	struct ctl_session_req req;
	struct peer *pa, *pb;
	struct session_slot *s, *a77, *b77, *a78, *b78;
	uint32_t a_idx77, b_idx77;

	node_init(&a, "alpha", "100.64.0.1");
	node_init(&b, "bravo", "100.64.0.2");
	pd = router_pending_add(&a.r, 4, b.vip.a, 0);
	router_session_req(pd, NULL, NULL, 2, &req);
	pa = broker(&a, &b, &req, 77, 120, NULL, 0, &pb);
	cr_assert_eq(send_one(pa->current, &b.r, "x", &s), SESSION_OPEN_OK);
	peer_note_rx(&b.r, s, 1, 1);
	a77 = pa->current;
	b77 = pb->current;
	a_idx77 = a77->local_index;
	b_idx77 = b77->local_index;

	/* rekey ahead of expiry: at 100 s of a 120 s life */
	cr_assert_not(peer_needs_rekey(pa, 99999));
	cr_assert(peer_needs_rekey(pa, 100000));
	cr_assert_eq(peer_request_begin(&a.r, pa, router_next_req_id(&a.r), 100000), 0);
	cr_assert_not(peer_needs_rekey(pa, 100001), "request in flight");
	router_session_req(NULL, pa, NULL, 2, &req);
	cr_assert_eq(req.index, pa->req.local_index);
	cr_assert_null(router_slot_by_index(&a.r, req.index), "reserved, not bound yet");
	cr_assert_eq(broker(&a, &b, &req, 78, 120, NULL, 100000, NULL), pa);
	cr_assert_not(pa->req.active);
	a78 = pa->current;
	b78 = pb->next;
	cr_assert_eq(pa->previous, a77, "initiator: old current -> previous");
	cr_assert_eq(pb->current, b77, "responder: old session still current");
	cr_assert_eq(b78->sid, 78);

	/* a packet sealed with the old key while rolling over still opens */
	cr_assert_eq(send_one(a77, &b.r, "late", &s), SESSION_OPEN_OK);
	cr_assert_eq(s, b77);
	cr_assert_not(peer_note_rx(&b.r, s, 4, 100001));
	/* the first packet on the new key promotes it at B */
	cr_assert_eq(send_one(a78, &b.r, "new", &s), SESSION_OPEN_OK);
	cr_assert_eq(s, b78);
	cr_assert(peer_note_rx(&b.r, s, 3, 100002));
	cr_assert_eq(pb->current, b78);
	cr_assert_eq(pb->previous, b77);
	cr_assert_eq(send_one(pb->current, &a.r, "back", &s), SESSION_OPEN_OK);
	cr_assert_eq(s, a78);

	/* third session pushes sid 77 out of both peers: keys wiped, index gone */
	cr_assert_eq(peer_request_begin(&a.r, pa, router_next_req_id(&a.r), 200000), 0);
	router_session_req(NULL, pa, NULL, 2, &req);
	broker(&a, &b, &req, 79, 120, NULL, 200000, NULL);
	cr_assert_eq(pa->previous, a78);
	cr_assert_null(router_slot_by_index(&a.r, a_idx77));
	cr_assert_not(session_table_contains(&a.r.sessions, a_idx77));
	cr_assert_eq(pa->current, a77, "the slot of sid 77 was wiped and reused for 79");
	cr_assert_eq(a77->sid, 79);
	cr_assert_neq(a77->local_index, a_idx77);
	cr_assert_eq(send_one(pa->current, &b.r, "v79", &s), SESSION_OPEN_OK);
	peer_note_rx(&b.r, s, 3, 200001);
	cr_assert_eq(pb->current->sid, 79);
	cr_assert_eq(pb->previous->sid, 78);
	cr_assert_null(router_slot_by_index(&b.r, b_idx77));
	cr_assert(all_zero(&b77->keys, sizeof b77->keys));
	/* 3 slots at most per peer: A holds 79 + 78, B holds 79 + 78 */
	cr_assert_eq(a.r.sessions.count, 2);
	cr_assert_eq(b.r.sessions.count, 2);

	router_free(&a.r);
	router_free(&b.r);
}

Test(router, expiry_and_grace)
{
	struct node a, b;
	struct pending_dst *pd;
	struct ctl_session_req req;
	struct peer *pa, *pb;
	uint32_t idx;

	node_init(&a, "alpha", "100.64.0.1");
	node_init(&b, "bravo", "100.64.0.2");
	pd = router_pending_add(&a.r, 4, b.vip.a, 5000);
	router_session_req(pd, NULL, NULL, 2, &req);
	pa = broker(&a, &b, &req, 5, 8, NULL, 5000, &pb);	/* 8 s life */
	idx = pa->current->local_index;
	/* rekey margin = min(20 s, life/4 = 2 s) */
	cr_assert_not(peer_needs_rekey(pa, 5000 + 5999));
	cr_assert(peer_needs_rekey(pa, 5000 + 6000));
	cr_assert_not_null(peer_send_slot(pa, 5000 + 7999));
	cr_assert_null(peer_send_slot(pa, 5000 + 8000), "no sending at expiry");
	cr_assert(peer_slot_rx_ok(pa->current, 5000 + 8000 + PEER_RX_GRACE_MS - 1));
	cr_assert_not(peer_slot_rx_ok(pa->current, 5000 + 8000 + PEER_RX_GRACE_MS));
	cr_assert_eq(router_expire(&a.r, 5000 + 8000 + PEER_RX_GRACE_MS - 1, NULL, NULL), 0);
	cr_assert_eq(router_expire(&a.r, 5000 + 8000 + PEER_RX_GRACE_MS, NULL, NULL), 1);
	cr_assert_not(pa->current->keys.valid);
	cr_assert_null(router_slot_by_index(&a.r, idx));
	cr_assert_eq(a.r.sessions.count, 0);
	/* B's unconfirmed next slot expires the same way */
	cr_assert_eq(peer_expire(&b.r, pb, 5000 + 8000 + PEER_RX_GRACE_MS), 1);
	cr_assert_eq(b.r.sessions.count, 0);
	router_free(&a.r);
	router_free(&b.r);
}

Test(router, revoke_erases_keys)
{
	struct node a, b;
	struct pending_dst *pd;
	struct ctl_session_req req;
	struct ctl_revoke rv;
	struct peer *pa, *pb;
	struct session_slot *s;
	uint8_t junk[20] = { 0x45 };
	uint32_t idx1, idx2;
	int i;

	node_init(&a, "alpha", "100.64.0.1");
	node_init(&b, "bravo", "100.64.0.2");
	pd = router_pending_add(&a.r, 4, b.vip.a, 0);
	router_session_req(pd, NULL, NULL, 2, &req);
	pa = broker(&a, &b, &req, 41, 120, NULL, 0, &pb);
	idx1 = pa->current->local_index;
	cr_assert_eq(peer_request_begin(&a.r, pa, router_next_req_id(&a.r), 10), 0);
	router_session_req(NULL, pa, NULL, 2, &req);
	broker(&a, &b, &req, 42, 120, NULL, 10, NULL);
	idx2 = pa->current->local_index;
	cr_assert(pa->previous->keys.valid);
	(void)pending_push(&pa->queue, junk, sizeof junk);

	/* revoke one session by sid */
	memset(&rv, 0, sizeof rv);
	strcpy(rv.peer_name, "bravo");
	rv.sid = 41;
	cr_assert_eq(router_on_revoke(&a.r, &rv), 1);
	cr_assert_null(router_slot_by_index(&a.r, idx1));
	cr_assert_eq(router_slot_by_index(&a.r, idx2), pa->current);
	cr_assert_eq(router_on_revoke(&a.r, &rv), 0, "already gone");

	/* and then everything with the peer; an in-flight request too */
	cr_assert_eq(peer_request_begin(&a.r, pa, router_next_req_id(&a.r), 20), 0);
	cr_assert_eq(a.r.sessions.count, 2);
	rv.sid = 0;
	cr_assert_eq(router_on_revoke(&a.r, &rv), 1);
	for (i = 0; i < 3; i++) {
		cr_assert_not(pa->slots[i].keys.valid, "slot %d", i);
		cr_assert(all_zero(&pa->slots[i].keys, sizeof pa->slots[i].keys), "slot %d wiped", i);
		cr_assert_eq(pa->slots[i].local_index, 0);
	}
	cr_assert_not(pa->req.active);
	cr_assert(all_zero(&pa->req.eph, sizeof pa->req.eph), "ephemeral wiped");
	cr_assert_eq(a.r.sessions.count, 0, "every index released");
	cr_assert_eq(pa->queue.count, 0, "queue freed");
	cr_assert_null(peer_send_slot(pa, 30));
	cr_assert_eq(router_peer_by_dst(&a.r, 4, b.vip.a), pa, "peer kept for a new request");
	/* B can no longer reach A on the revoked session */
	s = pb->current->keys.valid ? pb->current : pb->next;
	cr_assert_eq(send_one(s, &a.r, "dead", NULL), SESSION_OPEN_INVALID);

	strcpy(rv.peer_name, "nobody");
	cr_assert_eq(router_on_revoke(&a.r, &rv), -1);
	cr_assert_eq(errno, ENOENT);
	router_free(&a.r);
	router_free(&b.r);
}

Test(router, refuse_and_timeout_hand_back_packets)
{
	struct node a;
	struct pending_dst *pd, *pd2;
	struct ctl_refuse rf;
	struct collected c = { 0 };
	uint8_t d[4], pkt[30];
	uint32_t idx;
	int i;

	node_init(&a, "alpha", "100.64.0.1");
	inet_pton(AF_INET, "100.64.0.9", d);
	pd = router_pending_add(&a.r, 4, d, 0);
	idx = pd->local_index;
	for (i = 0; i < 4; i++) {
		memset(pkt, 0x60 + i, sizeof pkt);
		(void)pending_push(&pd->queue, pkt, sizeof pkt);
	}
	memset(&rf, 0, sizeof rf);
	rf.req_id = pd->req_id + 1000;
	cr_assert_eq(router_on_refuse(&a.r, &rf, 1, collect, &c), -1, "unknown req_id");
	cr_assert_eq(a.r.ctr.stale_ctl, 1);
	rf.req_id = pd->req_id;
	rf.code = CTL_CODE_POLICY;
	cr_assert_eq(router_on_refuse(&a.r, &rf, 1, collect, &c), 4);
	cr_assert_eq(c.n, 4);
	for (i = 0; i < 4; i++)
		cr_assert_eq(c.first[i], 0x60 + i);
	cr_assert_eq(a.r.n_pending, 0);
	cr_assert_not(session_table_contains(&a.r.sessions, idx), "reserved index released");
	cr_assert_eq(a.r.ctr.pending_refused, 4);

	/* timeout */
	pd2 = router_pending_add(&a.r, 4, d, 100);
	(void)pending_push(&pd2->queue, pkt, sizeof pkt);
	c.n = 0;
	router_expire(&a.r, 100 + PEER_REQ_TIMEOUT_MS - 1, collect, &c);
	cr_assert_eq(a.r.n_pending, 1);
	router_expire(&a.r, 100 + PEER_REQ_TIMEOUT_MS, collect, &c);
	cr_assert_eq(a.r.n_pending, 0);
	cr_assert_eq(c.n, 1);
	cr_assert_eq(a.r.ctr.pending_timeout, 1);
	cr_assert_eq(a.r.sessions.count, 0);
	router_free(&a.r);
}

Test(router, stale_grant_and_bad_public)
{
	struct node a, b;
	struct pending_dst *pd;
	struct ctl_session_req req;
	struct ctl_session g;
	struct ctl_accept acc;
	uint8_t pkt[20] = { 0x45 };

	node_init(&a, "alpha", "100.64.0.1");
	node_init(&b, "bravo", "100.64.0.2");
	describe(&g, &b, 9, 120, NULL);
	g.req_id = 12345;
	cr_assert_null(router_on_grant(&a.r, &g, &a.vip, 0));
	cr_assert_eq(errno, ENOENT);
	cr_assert_eq(a.r.ctr.stale_ctl, 1);
	cr_assert_eq(a.r.n_peers, 0, "a stale grant creates no peer");

	/* low-order (all-zero) peer public: derivation fails, request dropped */
	pd = router_pending_add(&a.r, 4, b.vip.a, 0);
	(void)pending_push(&pd->queue, pkt, sizeof pkt);
	router_session_req(pd, NULL, NULL, 2, &req);
	g.req_id = req.req_id;
	g.peer_index = 0x1234;
	memset(g.peer_eph, 0, 32);
	cr_assert_null(router_on_grant(&a.r, &g, &a.vip, 0));
	cr_assert_eq(errno, EPROTO);
	cr_assert_eq(a.r.n_pending, 0);
	cr_assert_eq(a.r.sessions.count, 0, "index released");
	cr_assert_eq(a.r.ctr.pending_refused, 1);

	describe(&g, &a, 10, 120, NULL);
	memset(g.peer_eph, 0, 32);
	cr_assert_null(router_on_offer(&b.r, &g, &b.vip, 0, &acc));
	cr_assert_eq(errno, EPROTO);
	cr_assert(all_zero(&acc, sizeof acc), "no ACCEPT content on failure");
	cr_assert_eq(b.r.sessions.count, 0);
	router_free(&a.r);
	router_free(&b.r);
}

/* Both ends ask at once: B holds an unconfirmed next (A's offer) when its
 * own grant arrives; the initiator rule keeps that next as previous. */
Test(router, crossing_requests)
{
	struct node a, b;
	struct pending_dst *pd;
	struct ctl_session_req req_a, req_b;
	struct ctl_session offer, grant;
	struct ctl_accept acc;
	struct peer *pa, *pb;
	struct session_slot *s, *b_from_a;

	node_init(&a, "alpha", "100.64.0.1");
	node_init(&b, "bravo", "100.64.0.2");
	pd = router_pending_add(&a.r, 4, b.vip.a, 0);
	router_session_req(pd, NULL, NULL, 2, &req_a);
	pa = broker(&a, &b, &req_a, 1, 120, NULL, 0, &pb);
	cr_assert_eq(send_one(pa->current, &b.r, "x", &s), SESSION_OPEN_OK);
	peer_note_rx(&b.r, s, 1, 1);

	/* A rekeys (sid 2): B gets the offer, next = sid 2 */
	cr_assert_eq(peer_request_begin(&a.r, pa, router_next_req_id(&a.r), 10), 0);
	router_session_req(NULL, pa, NULL, 2, &req_a);
	describe(&offer, &a, 2, 120, NULL);
	memcpy(offer.peer_eph, req_a.eph, 32);
	offer.peer_index = req_a.index;
	cr_assert_eq(router_on_offer(&b.r, &offer, &b.vip, 10, &acc), pb);
	b_from_a = pb->next;
	/* meanwhile B rekeys too (sid 3), brokered completely */
	cr_assert_eq(peer_request_begin(&b.r, pb, router_next_req_id(&b.r), 11), 0);
	router_session_req(NULL, pb, NULL, 2, &req_b);
	cr_assert_eq(broker(&b, &a, &req_b, 3, 120, NULL, 11, NULL), pb);
	cr_assert_eq(pb->current->sid, 3);
	cr_assert_eq(pb->previous, b_from_a, "unconfirmed next kept as previous");
	cr_assert_eq(pb->previous->sid, 2);
	/* now A's grant for sid 2 arrives */
	describe(&grant, &b, 2, 120, NULL);
	grant.req_id = req_a.req_id;
	memcpy(grant.peer_eph, acc.eph, 32);
	grant.peer_index = acc.index;
	cr_assert_eq(router_on_grant(&a.r, &grant, &a.vip, 12), pa);
	cr_assert_eq(pa->current->sid, 2);
	cr_assert_eq(pa->previous->sid, 3);
	/* both directions still work */
	cr_assert_eq(send_one(pa->current, &b.r, "a2", &s), SESSION_OPEN_OK);
	cr_assert_eq(s, b_from_a);
	cr_assert_eq(send_one(pb->current, &a.r, "b3", &s), SESSION_OPEN_OK);
	cr_assert_eq(s->sid, 3);
	router_free(&a.r);
	router_free(&b.r);
}

Test(router, peers_by_name_and_removal)
{
	struct router r;
	struct peer *p[300], *q;
	char name[32];
	int i;

	cr_assert_eq(router_init(&r, NULL), 0);
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof name, "node-%d", i);
		p[i] = router_peer_add(&r, name);
		cr_assert_not_null(p[i]);
		cr_assert_eq(p[i]->id, (uint64_t)i + 1);
	}
	cr_assert_null(router_peer_add(&r, "node-7"));
	cr_assert_eq(errno, EEXIST);
	cr_assert_null(router_peer_add(&r, ""));
	cr_assert_eq(errno, EINVAL);
	memset(name, 'x', sizeof name);
	name[31] = 0;
	cr_assert_not_null(router_peer_add(&r, name));
	for (i = 0; i < 300; i += 2)
		router_peer_remove(&r, p[i]);
	cr_assert_eq(r.n_peers, 151);
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof name, "node-%d", i);
		q = router_peer_by_name(&r, name);
		cr_assert_eq(q, i % 2 ? p[i] : NULL, "%s", name);
	}
	q = router_peer_add(&r, "node-0");
	cr_assert_not_null(q);
	cr_assert_eq(q->id, 302, "ids are never reused");
	router_free(&r);
	cr_assert_eq(r.n_peers, 0);
}

Test(router, pending_limit)
{
	struct router_config cfg = { .max_pending_dsts = 3 };
	struct router r;
	uint8_t d[4] = { 10, 0, 0, 0 };
	int i;

	cr_assert_eq(router_init(&r, &cfg), 0);
	for (i = 1; i <= 3; i++) {
		d[3] = (uint8_t)i;
		cr_assert_not_null(router_pending_add(&r, 4, d, 0));
	}
	d[3] = 4;
	cr_assert_null(router_pending_add(&r, 4, d, 0));
	cr_assert_eq(errno, ENOSPC);
	cr_assert_eq(r.ctr.pending_limit, 1);
	cr_assert_eq(r.sessions.count, 3);
	d[3] = 2;
	router_pending_remove(&r, router_pending_find(&r, 4, d));
	d[3] = 4;
	cr_assert_not_null(router_pending_add(&r, 4, d, 0));
	router_free(&r);
}

Test(router, refuse_of_a_peer_request)
{
	struct node a, b;
	struct pending_dst *pd;
	struct ctl_session_req req;
	struct ctl_refuse rf;
	struct collected c = { 0 };
	struct peer *pa;
	uint8_t pkt[24] = { 0x45 };
	uint32_t idx;

	node_init(&a, "alpha", "100.64.0.1");
	node_init(&b, "bravo", "100.64.0.2");
	pd = router_pending_add(&a.r, 4, b.vip.a, 0);
	router_session_req(pd, NULL, NULL, 2, &req);
	pa = broker(&a, &b, &req, 1, 120, NULL, 0, NULL);

	/* rekey refused while current is still usable: queue kept */
	cr_assert_eq(peer_request_begin(&a.r, pa, router_next_req_id(&a.r), 50), 0);
	idx = pa->req.local_index;
	(void)pending_push(&pa->queue, pkt, sizeof pkt);
	memset(&rf, 0, sizeof rf);
	rf.req_id = pa->req.req_id;
	cr_assert_eq(router_on_refuse(&a.r, &rf, 60, collect, &c), 0);
	cr_assert_eq(c.n, 0);
	cr_assert_eq(pa->queue.count, 1);
	cr_assert_not(pa->req.active);
	cr_assert_not(session_table_contains(&a.r.sessions, idx), "reserved index released");
	cr_assert(pa->current->keys.valid, "current session untouched");

	/* after expiry a refusal hands the queue back (ICMP) */
	cr_assert_eq(peer_request_begin(&a.r, pa, router_next_req_id(&a.r), 130000), 0);
	rf.req_id = pa->req.req_id;
	cr_assert_eq(router_on_refuse(&a.r, &rf, 130000, collect, &c), 1);
	cr_assert_eq(c.n, 1);
	cr_assert_eq(pa->queue.count, 0);

	/* a peer request that times out does the same */
	cr_assert_eq(peer_request_begin(&a.r, pa, router_next_req_id(&a.r), 140000), 0);
	(void)pending_push(&pa->queue, pkt, sizeof pkt);
	router_expire(&a.r, 140000 + PEER_REQ_TIMEOUT_MS, collect, &c);
	cr_assert_not(pa->req.active);
	cr_assert_eq(c.n, 2);
	cr_assert_eq(a.r.ctr.pending_timeout, 1);
	router_free(&a.r);
	router_free(&b.r);
}

Test(router, install_failure_wipes_and_releases)
{
	struct router r;
	struct peer *p;
	struct session_params sp;
	struct x25519_eph eph;
	uint8_t zero_pub[32] = { 0 }, vip[16] = { 0 };
	uint32_t idx;

	cr_assert_eq(router_init(&r, NULL), 0);
	p = router_peer_add(&r, "x");
	cr_assert_eq(x25519_eph_generate(&eph), 0);
	idx = session_table_reserve(&r.sessions);
	memset(&sp, 0, sizeof sp);
	sp.role = SESSION_RESPONDER;
	sp.alg = AEAD_CHACHA20_POLY1305;
	sp.sid = 1;
	sp.local_index = idx;
	sp.now_ms = 0;
	sp.life_ms = 1000;
	sp.secret = SECRET;
	sp.eph = &eph;
	sp.peer_pub = zero_pub;		/* low order: X25519 result is zero */
	sp.vip_initiator = vip;
	sp.vip_responder = vip;
	cr_assert_eq(peer_install_next(&r, p, &sp), -1);
	cr_assert(all_zero(&eph, sizeof eph), "ephemeral wiped on failure");
	cr_assert_not(p->next->keys.valid);
	cr_assert_not(session_table_contains(&r.sessions, idx), "index released on failure");

	/* an index that was never reserved is refused, eph wiped all the same */
	cr_assert_eq(x25519_eph_generate(&eph), 0);
	sp.local_index = 0x5a5a5a5a;
	sp.eph = &eph;
	{
		struct x25519_eph other;

		cr_assert_eq(x25519_eph_generate(&other), 0);
		sp.peer_pub = other.pub;
		cr_assert_eq(peer_install_next(&r, p, &sp), -1);
		x25519_eph_clear(&other);
	}
	cr_assert(all_zero(&eph, sizeof eph));
	cr_assert_eq(r.sessions.count, 0);
	router_free(&r);
}

Test(router, prefixes_follow_the_latest_session_info)
{
	struct node a, b;
	struct ctl_session s;
	struct peer *p;
	uint8_t addr[4];

	node_init(&a, "alpha", "100.64.0.1");
	node_init(&b, "bravo", "100.64.0.2");
	p = router_peer_add(&a.r, "bravo");
	describe(&s, &b, 1, 120, "10.200.0.0/24");
	cr_assert_eq(peer_update_from_session(&a.r, p, &s), 0);
	inet_pton(AF_INET, "10.200.0.5", addr);
	cr_assert_eq(router_peer_by_dst(&a.r, 4, addr), p);
	/* the next session info carries another route: the old one goes */
	describe(&s, &b, 2, 120, "10.201.0.0/16");
	cr_assert_eq(peer_update_from_session(&a.r, p, &s), 0);
	cr_assert_null(router_peer_by_dst(&a.r, 4, addr));
	cr_assert_not(router_allowed_src(p, 4, addr));
	inet_pton(AF_INET, "10.201.3.4", addr);
	cr_assert_eq(router_peer_by_dst(&a.r, 4, addr), p);
	cr_assert(router_allowed_src(p, 4, addr));
	cr_assert_eq(prefix_table_count(&a.r.dst), 2, "VIP + one route");
	/* removal leaves nothing behind */
	router_peer_remove(&a.r, p);
	cr_assert_eq(prefix_table_count(&a.r.dst), 0);
	cr_assert_null(router_peer_by_dst(&a.r, 4, b.vip.a));
	router_free(&a.r);
	router_free(&b.r);
}

Test(router, roaming_endpoint)
{
	struct router r;
	struct peer *p;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	cr_assert_eq(router_init(&r, NULL), 0);
	p = router_peer_add(&r, "x");
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(4500);
	inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
	cr_assert(peer_set_endpoint(p, (struct sockaddr *)&sin, sizeof sin));
	cr_assert_not(peer_set_endpoint(p, (struct sockaddr *)&sin, sizeof sin), "unchanged");
	sin.sin_port = htons(4501);
	cr_assert(peer_set_endpoint(p, (struct sockaddr *)&sin, sizeof sin), "port change");
	memset(&sin6, 0, sizeof sin6);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(4500);
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	cr_assert(peer_set_endpoint(p, (struct sockaddr *)&sin6, sizeof sin6));
	cr_assert_eq(p->endpoint_len, sizeof sin6);
	cr_assert_eq(p->endpoint.ss_family, AF_INET6);
	cr_assert_not(peer_set_endpoint(p, NULL, 0));
	router_free(&r);
}
