// SPDX-License-Identifier: GPL-2.0-only
/*
 * peer.c - peer state: addresses, allowed sources, session slots
 * (contract in peer.h). Creation and lookup live in router.c.
 */
#include "router/peer.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "crypto/ct.h"
#include "router/router.h"

bool router_allowed_src(const struct peer *p, int af, const uint8_t *src)
{
	if (!p || !src)
		return false;
	return prefix_table_lookup(&p->allowed_tab, af, src) != NULL;
}

static int ctl_endpoint_to_sa(const struct ctl_endpoint *e, struct sockaddr_storage *ss,
			      socklen_t *len)
{
	memset(ss, 0, sizeof *ss);
	if (e->ip.af == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(e->port);
		memcpy(&sin->sin_addr, e->ip.a, 4);
		*len = sizeof *sin;
		return 0;
	}
	if (e->ip.af == 6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(e->port);
		memcpy(&sin6->sin6_addr, e->ip.a, 16);
		*len = sizeof *sin6;
		return 0;
	}
	*len = 0;
	return -1;
}

static int insert_host(struct prefix_table *t, const struct ctl_ip *ip, void *value)
{
	if (ip->af != 4 && ip->af != 6)
		return 0;
	return prefix_table_insert(t, ip->af, ip->a, ip->af == 4 ? 32 : 128, value) < 0 ? -1 : 0;
}

int peer_update_from_session(struct router *r, struct peer *p, const struct ctl_session *s)
{
	unsigned i, n_allowed, n_ep;

	p->vip4 = s->peer_vip4;
	if (s->has_peer_vip6)
		p->vip6 = s->peer_vip6;
	else
		memset(&p->vip6, 0, sizeof p->vip6);

	n_allowed = s->n_allowed <= CTL_MAX_PREFIXES ? s->n_allowed : CTL_MAX_PREFIXES;
	p->n_allowed = (uint8_t)n_allowed;
	memcpy(p->allowed, s->allowed, n_allowed * sizeof p->allowed[0]);

	n_ep = s->n_endpoints <= CTL_MAX_ENDPOINTS ? s->n_endpoints : CTL_MAX_ENDPOINTS;
	p->n_endpoints = (uint8_t)n_ep;
	memcpy(p->endpoints, s->endpoints, n_ep * sizeof p->endpoints[0]);
	if (n_ep && (p->endpoint_len == 0 || !p->current->keys.valid))
		(void)ctl_endpoint_to_sa(&p->endpoints[0], &p->endpoint, &p->endpoint_len);

	/* Rebuild both tables from scratch: the new set replaces the old. */
	prefix_table_free(&p->allowed_tab);
	prefix_table_remove_by_value(&r->dst, p);
	if (insert_host(&p->allowed_tab, &p->vip4, p) || insert_host(&p->allowed_tab, &p->vip6, p) ||
	    insert_host(&r->dst, &p->vip4, p) || insert_host(&r->dst, &p->vip6, p))
		goto nomem;
	for (i = 0; i < n_allowed; i++) {
		if (prefix_table_insert_ctl(&p->allowed_tab, &p->allowed[i], p) < 0 ||
		    prefix_table_insert_ctl(&r->dst, &p->allowed[i], p) < 0)
			goto nomem;
	}
	return 0;
nomem:
	errno = ENOMEM;
	return -1;
}

bool peer_set_endpoint(struct peer *p, const struct sockaddr *sa, socklen_t len)
{
	if (!sa || len == 0 || len > (socklen_t)sizeof p->endpoint)
		return false;
	if (len == p->endpoint_len && memcmp(&p->endpoint, sa, len) == 0)
		return false;
	memset(&p->endpoint, 0, sizeof p->endpoint);
	memcpy(&p->endpoint, sa, len);
	p->endpoint_len = len;
	return true;
}

void peer_slot_clear(struct router *r, struct session_slot *s)
{
	struct peer *owner = s->peer;

	session_keys_clear(&s->keys);
	if (s->local_index)
		(void)session_table_release(&r->sessions, s->local_index);
	memset(s, 0, sizeof *s);
	s->keys.valid = false;
	s->peer = owner;
}

/* Derive sp into slot s (already cleared) and bind the index. */
static int fill_slot(struct router *r, struct session_slot *s, struct session_params *sp)
{
	int rc = -1;

	if (!sp->eph)
		goto out;
	if (!sp->secret || !sp->peer_pub || !sp->vip_initiator || !sp->vip_responder ||
	    sp->life_ms == 0 || !session_table_contains(&r->sessions, sp->local_index) ||
	    session_table_lookup(&r->sessions, sp->local_index) != NULL) {
		x25519_eph_clear(sp->eph);
		goto out;
	}
	if (session_derive(&s->keys, sp->role, sp->alg, sp->secret, sp->eph, sp->peer_pub,
			   sp->sid, sp->vip_initiator, sp->vip_responder) != 0)
		goto out;
	s->local_index = sp->local_index;
	s->remote_index = sp->remote_index;
	s->sid = sp->sid;
	s->created_ms = sp->now_ms;
	s->expires_ms = sp->now_ms + sp->life_ms;
	s->role = sp->role;
	(void)session_table_bind(&r->sessions, sp->local_index, s);
	rc = 0;
out:
	if (rc != 0) {
		if (sp->local_index && session_table_lookup(&r->sessions, sp->local_index) == NULL)
			(void)session_table_release(&r->sessions, sp->local_index);
		session_keys_clear(&s->keys);
	}
	return rc;
}

int peer_install_next(struct router *r, struct peer *p, struct session_params *sp)
{
	peer_slot_clear(r, p->next);
	return fill_slot(r, p->next, sp);
}

int peer_install_current(struct router *r, struct peer *p, struct session_params *sp)
{
	struct session_slot *fresh;

	if (p->next->keys.valid) {
		/* next (newer than current) survives as previous */
		struct session_slot *old_prev = p->previous, *old_cur = p->current;

		peer_slot_clear(r, old_prev);
		peer_slot_clear(r, old_cur);
		p->previous = p->next;
		p->next = old_prev;
		fresh = old_cur;
	} else {
		struct session_slot *old_prev = p->previous;

		peer_slot_clear(r, old_prev);
		p->previous = p->current;
		fresh = old_prev;
	}
	p->current = fresh;
	return fill_slot(r, fresh, sp);
}

bool peer_promote_next(struct router *r, struct peer *p)
{
	struct session_slot *old_prev;

	if (!p->next->keys.valid)
		return false;
	old_prev = p->previous;
	peer_slot_clear(r, old_prev);
	p->previous = p->current;
	p->current = p->next;
	p->next = old_prev;
	return true;
}

bool peer_note_rx(struct router *r, struct session_slot *s, size_t len, uint64_t now_ms)
{
	struct peer *p = s->peer;
	bool promoted = false;

	if (p && s == p->next)
		promoted = peer_promote_next(r, p);
	s->rx_packets++;
	if (p) {
		p->ctr.rx_packets++;
		p->ctr.rx_bytes += len;
		p->last_rx_ms = now_ms;
	}
	return promoted;
}

void peer_note_tx(struct session_slot *s, size_t len, uint64_t now_ms)
{
	struct peer *p = s->peer;

	s->tx_packets++;
	if (p) {
		p->ctr.tx_packets++;
		p->ctr.tx_bytes += len;
		p->last_tx_ms = now_ms;
	}
}

struct session_slot *peer_send_slot(struct peer *p, uint64_t now_ms)
{
	struct session_slot *s = p->current;

	if (s->keys.valid && now_ms < s->expires_ms)
		return s;
	return NULL;
}

bool peer_slot_rx_ok(const struct session_slot *s, uint64_t now_ms)
{
	return s && s->keys.valid && now_ms < s->expires_ms + PEER_RX_GRACE_MS;
}

bool peer_slot_rekey_due(const struct session_slot *s, uint64_t now_ms)
{
	uint64_t life = s->expires_ms > s->created_ms ? s->expires_ms - s->created_ms : 0;
	uint64_t ahead = life / 4 < PEER_REKEY_AHEAD_MS ? life / 4 : PEER_REKEY_AHEAD_MS;

	if (s->role == SESSION_RESPONDER)
		ahead /= 2;
	return now_ms + ahead >= s->expires_ms;
}

bool peer_needs_rekey(const struct peer *p, uint64_t now_ms)
{
	const struct session_slot *s = p->current;

	if (p->req.active)
		return false;
	if (!s->keys.valid || now_ms >= s->expires_ms)
		return true;
	return peer_slot_rekey_due(s, now_ms);
}

unsigned peer_expire(struct router *r, struct peer *p, uint64_t now_ms)
{
	unsigned i, n = 0;

	for (i = 0; i < 3; i++) {
		struct session_slot *s = &p->slots[i];

		if (s->keys.valid && now_ms >= s->expires_ms + PEER_RX_GRACE_MS) {
			peer_slot_clear(r, s);
			n++;
		}
	}
	return n;
}

unsigned peer_erase_sid(struct router *r, struct peer *p, uint64_t sid)
{
	unsigned i, n = 0;

	for (i = 0; i < 3; i++) {
		struct session_slot *s = &p->slots[i];

		if (s->keys.valid && s->sid == sid) {
			peer_slot_clear(r, s);
			n++;
		}
	}
	return n;
}

void peer_erase_sessions(struct router *r, struct peer *p)
{
	unsigned i;

	for (i = 0; i < 3; i++)
		peer_slot_clear(r, &p->slots[i]);
	peer_request_cancel(r, p);
}

int peer_request_begin(struct router *r, struct peer *p, uint32_t req_id, uint64_t now_ms)
{
	uint32_t index;

	peer_request_cancel(r, p);
	if (x25519_eph_generate(&p->req.eph) != 0)
		return -1;
	index = session_table_reserve(&r->sessions);
	if (!index) {
		x25519_eph_clear(&p->req.eph);
		errno = ENOMEM;
		return -1;
	}
	p->req.active = true;
	p->req.req_id = req_id;
	p->req.local_index = index;
	p->req.started_ms = now_ms;
	return 0;
}

void peer_request_cancel(struct router *r, struct peer *p)
{
	/* The index is ours only while it is still merely reserved. */
	if (p->req.local_index && session_table_contains(&r->sessions, p->req.local_index) &&
	    session_table_lookup(&r->sessions, p->req.local_index) == NULL)
		(void)session_table_release(&r->sessions, p->req.local_index);
	x25519_eph_clear(&p->req.eph);
	ct_wipe(&p->req, sizeof p->req);
	p->req.active = false;
}
