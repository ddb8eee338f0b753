// SPDX-License-Identifier: GPL-2.0-only
/*
 * router.c - peers by name, pending destinations and the control events
 * that create sessions (contract in router.h).
 */
#include "router/router.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/ct.h"
#include "crypto/session.h"

#define NAME_HASH_BUCKETS 256u
#define DEFAULT_LIFE_MS 120000u

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s) {
		h ^= (uint8_t)*s++;
		h *= 16777619u;
	}
	return h;
}

int router_init(struct router *r, const struct router_config *cfg)
{
	memset(r, 0, sizeof *r);
	if (cfg)
		r->cfg = *cfg;
	if (!r->cfg.expected_peers)
		r->cfg.expected_peers = 64;
	if (!r->cfg.queue_pkts)
		r->cfg.queue_pkts = PENDING_DEFAULT_PKTS;
	if (!r->cfg.queue_bytes)
		r->cfg.queue_bytes = PENDING_DEFAULT_BYTES;
	if (!r->cfg.max_pending_dsts)
		r->cfg.max_pending_dsts = ROUTER_DEFAULT_MAX_PENDING_DSTS;
	if (!r->cfg.req_timeout_ms)
		r->cfg.req_timeout_ms = PEER_REQ_TIMEOUT_MS;
	prefix_table_init(&r->dst);
	r->name_hash_cap = NAME_HASH_BUCKETS;
	r->name_hash = calloc(r->name_hash_cap, sizeof *r->name_hash);
	if (!r->name_hash)
		goto nomem;
	if (session_table_init(&r->sessions, r->cfg.expected_peers * 4 +
			       r->cfg.max_pending_dsts) != 0)
		goto nomem;
	return 0;
nomem:
	free(r->name_hash);
	r->name_hash = NULL;
	errno = ENOMEM;
	return -1;
}

void router_free(struct router *r)
{
	while (r->peers)
		router_peer_remove(r, r->peers);
	while (r->pending)
		router_pending_remove(r, r->pending);
	prefix_table_free(&r->dst);
	session_table_free(&r->sessions);
	free(r->name_hash);
	memset(r, 0, sizeof *r);
}

struct peer *router_peer_by_name(const struct router *r, const char *name)
{
	struct peer *p;

	if (!name || !r->name_hash)
		return NULL;
	for (p = r->name_hash[name_hash(name) % r->name_hash_cap]; p; p = p->hash_next)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

struct peer *router_peer_add(struct router *r, const char *name)
{
	struct peer *p;
	size_t len, b;

	if (!name || (len = strlen(name)) == 0 || len > CTL_NAME_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (router_peer_by_name(r, name)) {
		errno = EEXIST;
		return NULL;
	}
	p = calloc(1, sizeof *p);
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	p->id = ++r->next_peer_id;
	memcpy(p->name, name, len + 1);
	prefix_table_init(&p->allowed_tab);
	pending_init(&p->queue, r->cfg.queue_pkts, r->cfg.queue_bytes);
	for (b = 0; b < 3; b++)
		p->slots[b].peer = p;
	p->next = &p->slots[0];
	p->current = &p->slots[1];
	p->previous = &p->slots[2];

	p->list_next = r->peers;
	if (r->peers)
		r->peers->list_pprev = &p->list_next;
	p->list_pprev = &r->peers;
	r->peers = p;
	b = name_hash(name) % r->name_hash_cap;
	p->hash_next = r->name_hash[b];
	r->name_hash[b] = p;
	r->n_peers++;
	return p;
}

void router_peer_remove(struct router *r, struct peer *p)
{
	struct peer **pp;

	peer_erase_sessions(r, p);
	pending_clear(&p->queue);
	prefix_table_remove_by_value(&r->dst, p);
	prefix_table_free(&p->allowed_tab);

	*p->list_pprev = p->list_next;
	if (p->list_next)
		p->list_next->list_pprev = p->list_pprev;
	for (pp = &r->name_hash[name_hash(p->name) % r->name_hash_cap]; *pp; pp = &(*pp)->hash_next) {
		if (*pp == p) {
			*pp = p->hash_next;
			break;
		}
	}
	r->n_peers--;
	ct_wipe(p, sizeof *p);
	free(p);
}

struct peer *router_peer_by_dst(const struct router *r, int af, const uint8_t *addr)
{
	return prefix_table_lookup(&r->dst, af, addr);
}

struct session_slot *router_slot_by_index(const struct router *r, uint32_t index)
{
	return session_table_lookup(&r->sessions, index);
}

static struct peer *peer_by_req(const struct router *r, uint32_t req_id)
{
	struct peer *p;

	router_for_each_peer(r, p)
		if (p->req.active && p->req.req_id == req_id)
			return p;
	return NULL;
}

uint32_t router_next_req_id(struct router *r)
{
	for (;;) {
		uint32_t id = ++r->next_req_id;

		if (id != 0 && !router_pending_by_req(r, id) && !peer_by_req(r, id))
			return id;
	}
}

static int ip_from(struct ctl_ip *ip, int af, const uint8_t *addr)
{
	af = prefix_af_norm(af);
	if (!af || !addr)
		return -1;
	if (af == 4)
		ctl_ip_from_v4(ip, addr);
	else
		ctl_ip_from_v6(ip, addr);
	return 0;
}

struct pending_dst *router_pending_find(const struct router *r, int af, const uint8_t *addr)
{
	struct pending_dst *pd;
	struct ctl_ip ip;

	if (ip_from(&ip, af, addr) != 0)
		return NULL;
	for (pd = r->pending; pd; pd = pd->next)
		if (ctl_ip_eq(&pd->dst, &ip))
			return pd;
	return NULL;
}

struct pending_dst *router_pending_by_req(const struct router *r, uint32_t req_id)
{
	struct pending_dst *pd;

	for (pd = r->pending; pd; pd = pd->next)
		if (pd->req_id == req_id)
			return pd;
	return NULL;
}

struct pending_dst *router_pending_add(struct router *r, int af, const uint8_t *addr,
				       uint64_t now_ms)
{
	struct pending_dst *pd;

	if (!prefix_af_norm(af) || !addr) {
		errno = EINVAL;
		return NULL;
	}
	if (router_pending_find(r, af, addr)) {
		errno = EEXIST;
		return NULL;
	}
	if (r->n_pending >= r->cfg.max_pending_dsts) {
		r->ctr.pending_limit++;
		errno = ENOSPC;
		return NULL;
	}
	pd = calloc(1, sizeof *pd);
	if (!pd) {
		errno = ENOMEM;
		return NULL;
	}
	(void)ip_from(&pd->dst, af, addr);
	if (x25519_eph_generate(&pd->eph) != 0) {
		int e = errno;

		free(pd);
		errno = e ? e : EIO;
		return NULL;
	}
	pd->local_index = session_table_reserve(&r->sessions);
	if (!pd->local_index) {
		x25519_eph_clear(&pd->eph);
		free(pd);
		errno = ENOMEM;
		return NULL;
	}
	pd->req_id = router_next_req_id(r);
	pd->started_ms = now_ms;
	pending_init(&pd->queue, r->cfg.queue_pkts, r->cfg.queue_bytes);
	pd->next = r->pending;
	r->pending = pd;
	r->n_pending++;
	return pd;
}

void router_pending_remove(struct router *r, struct pending_dst *pd)
{
	struct pending_dst **pp;

	for (pp = &r->pending; *pp; pp = &(*pp)->next) {
		if (*pp == pd) {
			*pp = pd->next;
			r->n_pending--;
			break;
		}
	}
	pending_clear(&pd->queue);
	if (pd->local_index && session_table_lookup(&r->sessions, pd->local_index) == NULL)
		(void)session_table_release(&r->sessions, pd->local_index);
	x25519_eph_clear(&pd->eph);
	ct_wipe(pd, sizeof *pd);
	free(pd);
}

void router_session_req(const struct pending_dst *pd, const struct peer *p,
			const struct ctl_ip *dst, uint32_t aead_mask,
			struct ctl_session_req *out)
{
	memset(out, 0, sizeof *out);
	out->aead_mask = aead_mask;
	if (pd) {
		out->req_id = pd->req_id;
		out->dst = pd->dst;
		memcpy(out->eph, pd->eph.pub, CTL_EPH_LEN);
		out->index = pd->local_index;
	} else if (p) {
		out->req_id = p->req.req_id;
		if (dst)
			out->dst = *dst;
		else
			out->dst = p->vip4;
		memcpy(out->eph, p->req.eph.pub, CTL_EPH_LEN);
		out->index = p->req.local_index;
	}
}

static uint64_t life_ms_of(const struct ctl_session *s)
{
	return s->life_s ? (uint64_t)s->life_s * 1000u : DEFAULT_LIFE_MS;
}

/* The peer named in an OFFER/GRANT, created if new, updated either way. */
static struct peer *peer_for_session(struct router *r, const struct ctl_session *s)
{
	struct peer *p = router_peer_by_name(r, s->peer_name);

	if (!p && !(p = router_peer_add(r, s->peer_name)))
		return NULL;
	if (peer_update_from_session(r, p, s) != 0)
		return NULL;
	return p;
}

struct peer *router_on_grant(struct router *r, const struct ctl_session *g,
			     const struct ctl_ip *own_vip4, uint64_t now_ms)
{
	struct pending_dst *pd = router_pending_by_req(r, g->req_id);
	struct peer *rp = pd ? NULL : peer_by_req(r, g->req_id), *p;
	struct session_params sp;
	uint8_t vip_i[SESSION_VIP_LEN], vip_r[SESSION_VIP_LEN];
	struct x25519_eph *eph;
	uint32_t *index;
	int rc;

	if (!pd && !rp) {
		r->ctr.stale_ctl++;
		errno = ENOENT;
		return NULL;
	}
	r->ctr.grants++;
	eph = pd ? &pd->eph : &rp->req.eph;
	index = pd ? &pd->local_index : &rp->req.local_index;

	p = peer_for_session(r, g);
	if (!p)
		return NULL;	/* ENOMEM; the request stays for a retry/timeout */

	ctl_ip_to16(own_vip4, vip_i);
	ctl_ip_to16(&g->peer_vip4, vip_r);
	memset(&sp, 0, sizeof sp);
	sp.role = SESSION_INITIATOR;
	sp.alg = (enum aead_alg)g->aead;
	sp.sid = g->sid;
	sp.local_index = *index;
	sp.remote_index = g->peer_index;
	sp.now_ms = now_ms;
	sp.life_ms = life_ms_of(g);
	sp.secret = g->secret;
	sp.eph = eph;
	sp.peer_pub = g->peer_eph;
	sp.vip_initiator = vip_i;
	sp.vip_responder = vip_r;
	rc = peer_install_current(r, p, &sp);
	/* Either way the index now belongs to the slot (or was released) and
	 * the ephemeral is wiped: the request is over. */
	*index = 0;
	if (rp)		/* (rp may differ from p if the broker resolved the
			 * destination to another peer: its request is over too) */
		peer_request_cancel(r, rp);
	if (pd) {
		if (rc == 0)
			pending_splice(&p->queue, &pd->queue);
		else
			r->ctr.pending_refused += pending_clear(&pd->queue);
		router_pending_remove(r, pd);
	}
	if (rc != 0) {
		errno = EPROTO;
		return NULL;
	}
	return p;
}

struct peer *router_on_offer(struct router *r, const struct ctl_session *o,
			     const struct ctl_ip *own_vip4, uint64_t now_ms,
			     struct ctl_accept *acc)
{
	struct session_params sp;
	struct x25519_eph eph;
	uint8_t vip_i[SESSION_VIP_LEN], vip_r[SESSION_VIP_LEN];
	struct peer *p;
	uint32_t index;

	memset(acc, 0, sizeof *acc);
	r->ctr.offers++;
	p = peer_for_session(r, o);
	if (!p)
		return NULL;
	if (x25519_eph_generate(&eph) != 0) {
		errno = EIO;
		return NULL;
	}
	index = session_table_reserve(&r->sessions);
	if (!index) {
		x25519_eph_clear(&eph);
		errno = ENOMEM;
		return NULL;
	}
	acc->sid = o->sid;
	acc->index = index;
	memcpy(acc->eph, eph.pub, CTL_EPH_LEN);

	ctl_ip_to16(&o->peer_vip4, vip_i);
	ctl_ip_to16(own_vip4, vip_r);
	memset(&sp, 0, sizeof sp);
	sp.role = SESSION_RESPONDER;
	sp.alg = (enum aead_alg)o->aead;
	sp.sid = o->sid;
	sp.local_index = index;
	sp.remote_index = o->peer_index;
	sp.now_ms = now_ms;
	sp.life_ms = life_ms_of(o);
	sp.secret = o->secret;
	sp.eph = &eph;
	sp.peer_pub = o->peer_eph;
	sp.vip_initiator = vip_i;
	sp.vip_responder = vip_r;
	if (peer_install_next(r, p, &sp) != 0) {
		ct_wipe(acc, sizeof *acc);
		x25519_eph_clear(&eph);
		errno = EPROTO;
		return NULL;
	}
	x25519_eph_clear(&eph);
	return p;
}

int router_on_refuse(struct router *r, const struct ctl_refuse *rf, uint64_t now_ms,
		     pending_fn fn, void *ctx)
{
	struct pending_dst *pd = router_pending_by_req(r, rf->req_id);
	struct peer *p;
	size_t n = 0;

	(void)now_ms;
	if (pd) {
		r->ctr.refusals++;
		n = pending_flush(&pd->queue, fn, ctx);
		r->ctr.pending_refused += n;
		router_pending_remove(r, pd);
		return (int)n;
	}
	p = peer_by_req(r, rf->req_id);
	if (!p) {
		r->ctr.stale_ctl++;
		errno = ENOENT;
		return -1;
	}
	r->ctr.refusals++;
	peer_request_cancel(r, p);
	if (!peer_send_slot(p, now_ms)) {
		n = pending_flush(&p->queue, fn, ctx);
		r->ctr.pending_refused += n;
	}
	return (int)n;
}

int router_on_revoke(struct router *r, const struct ctl_revoke *rv)
{
	struct peer *p = router_peer_by_name(r, rv->peer_name);
	unsigned i, n = 0;

	if (!p) {
		errno = ENOENT;
		return -1;
	}
	r->ctr.revokes++;
	if (rv->sid)
		return (int)peer_erase_sid(r, p, rv->sid);
	for (i = 0; i < 3; i++)
		n += p->slots[i].keys.valid;
	peer_erase_sessions(r, p);
	pending_clear(&p->queue);
	return (int)n;
}

unsigned router_expire(struct router *r, uint64_t now_ms, pending_fn fn, void *ctx)
{
	struct pending_dst *pd, *nx;
	struct peer *p;
	unsigned n = 0;

	router_for_each_peer(r, p) {
		n += peer_expire(r, p, now_ms);
		if (p->req.active && now_ms - p->req.started_ms >= r->cfg.req_timeout_ms) {
			peer_request_cancel(r, p);
			if (!peer_send_slot(p, now_ms))
				r->ctr.pending_timeout += pending_flush(&p->queue, fn, ctx);
		}
	}
	for (pd = r->pending; pd; pd = nx) {
		nx = pd->next;
		if (now_ms - pd->started_ms >= r->cfg.req_timeout_ms) {
			r->ctr.pending_timeout += pending_flush(&pd->queue, fn, ctx);
			router_pending_remove(r, pd);
		}
	}
	return n;
}
