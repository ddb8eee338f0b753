// SPDX-License-Identifier: GPL-2.0-only
/*
 * samples.c - valid control messages of every type (see samples.h).
 */
#include "samples.h"

#include <stdio.h>
#include <string.h>

const enum ctl_type sample_types[] = {
	CTL_ENROLL_REQ, CTL_ENROLL_OK, CTL_ERROR, CTL_HELLO, CTL_WELCOME,
	CTL_PING, CTL_PONG, CTL_SESSION_REQ, CTL_OFFER, CTL_ACCEPT, CTL_GRANT,
	CTL_REFUSE, CTL_REVOKE, CTL_ROUTES,
};
const size_t sample_ntypes = sizeof sample_types / sizeof sample_types[0];

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + 1);
}

static void v4(struct ctl_ip *ip, unsigned a, unsigned b, unsigned c, unsigned d)
{
	const uint8_t x[4] = { (uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)d };

	ctl_ip_from_v4(ip, x);
}

static void v6(struct ctl_ip *ip, unsigned seed)
{
	uint8_t x[16] = { 0xfd, 0x00 };

	fill(x + 2, 14, seed);
	ctl_ip_from_v6(ip, x);
}

/* i-th prefix: alternate v4 /24 and v6 /64 (FULL), or v4 only */
static void prefix(struct ctl_prefix *p, unsigned i, int use6)
{
	memset(p, 0, sizeof *p);
	if (use6 && (i & 1)) {
		v6(&p->ip, i);
		memset(p->ip.a + 8, 0, 8);
		p->len = 64;
	} else {
		v4(&p->ip, 10, 200, i, 0);
		p->len = 24;
	}
}

static void endpoint(struct ctl_endpoint *e, unsigned i, int use6)
{
	memset(e, 0, sizeof *e);
	if (use6 && (i & 1))
		v6(&e->ip, i + 100);
	else
		v4(&e->ip, 192, 0, 2, i + 1);
	e->port = (uint16_t)(4500 + i);
}

/* longest valid name: 63 chars [a-z0-9.-], first alnum */
static void name(char *out, enum sample_variant v, const char *base)
{
	if (v == SAMPLE_FULL) {
		size_t i;

		for (i = 0; i < CTL_NAME_MAX; i++)
			out[i] = "abcdefghijklmnopqrstuvwxyz0123456789.-"[i % 38];
		out[CTL_NAME_MAX] = '\0';
	} else {
		snprintf(out, CTL_NAME_MAX + 1, "%s", base);
	}
}

static void reason(char *out, enum sample_variant v)
{
	if (v == SAMPLE_FULL) {
		size_t i;

		for (i = 0; i < CTL_REASON_MAX; i++)
			out[i] = (char)(0x20 + i % 95);	/* every printable char */
		out[CTL_REASON_MAX] = '\0';
	} else if (v == SAMPLE_MID) {
		snprintf(out, CTL_REASON_MAX + 1, "peer said: no (policy \"lan\")");
	}
}

void sample_msg(struct ctl_msg *m, enum ctl_type t, enum sample_variant v, unsigned seed)
{
	int full = v == SAMPLE_FULL, mid = v == SAMPLE_MID;
	unsigned nprefix = full ? CTL_MAX_PREFIXES : mid ? 3 : 0;
	unsigned nendp = full ? CTL_MAX_ENDPOINTS : mid ? 2 : 0;
	unsigned i;

	memset(m, 0, sizeof *m);
	m->type = t;
	switch (t) {
	case CTL_ENROLL_REQ:
		fill(m->u.enroll_req.token_secret, CTL_TOKEN_SECRET_LEN, seed);
		fill(m->u.enroll_req.pub, CTL_PUB_LEN, seed + 1);
		m->u.enroll_req.pub[0] = 4;
		/* signature length: shortest, longest, a typical DER length */
		m->u.enroll_req.sig_len = full ? CTL_SIG_MAX : mid ? 71 : CTL_SIG_MIN;
		fill(m->u.enroll_req.sig, m->u.enroll_req.sig_len, seed + 2);
		break;
	case CTL_ENROLL_OK: {
		struct ctl_enroll_ok *e = &m->u.enroll_ok;

		name(e->name, v, "laptop-1");
		name(e->broker_name, v, "keybroker");
		v4(&e->vip4, 100, 64, 0, 2 + seed % 200);
		e->has_vip6 = full || mid;
		if (e->has_vip6)
			v6(&e->vip6, seed);
		v4(&e->prefix4.ip, 100, 64, 0, 0);
		e->prefix4.len = 10;
		e->has_prefix6 = full;
		if (full) {
			v6(&e->prefix6.ip, 0);
			memset(e->prefix6.ip.a + 6, 0, 10);
			e->prefix6.len = 48;
		}
		e->n_routes = (uint8_t)nprefix;
		for (i = 0; i < nprefix; i++)
			prefix(&e->routes[i], i, full);
		e->cert_len = full ? CTL_CERT_MAX : mid ? 400 : 1;
		fill(e->cert, e->cert_len, seed + 2);
		e->ca_len = full ? CTL_CERT_MAX : 350;
		fill(e->ca, e->ca_len, seed + 3);
		break;
	}
	case CTL_ERROR:
		m->u.error.code = full ? CTL_CODE_SHUTDOWN : CTL_CODE_PROTOCOL;
		reason(m->u.error.reason, v);
		break;
	case CTL_HELLO:
		m->u.hello.data_port = full ? 65535 : (uint16_t)(51820 + seed % 10);
		m->u.hello.aead_mask = full ? 0xffffffffu : 6;
		m->u.hello.n_endpoints = (uint8_t)nendp;
		for (i = 0; i < nendp; i++)
			endpoint(&m->u.hello.endpoints[i], i, full || mid);
		break;
	case CTL_WELCOME: {
		struct ctl_welcome *w = &m->u.welcome;

		name(w->name, v, "gw.lan-2");
		v4(&w->vip4, 100, 64, 0, 3);
		w->has_vip6 = full;
		if (full)
			v6(&w->vip6, seed + 5);
		v4(&w->prefix4.ip, 100, 64, 0, 0);
		w->prefix4.len = 10;
		w->has_prefix6 = full || mid;
		if (w->has_prefix6) {
			v6(&w->prefix6.ip, 0);
			memset(w->prefix6.ip.a + 8, 0, 8);
			w->prefix6.len = 64;
		}
		endpoint(&w->observed, seed, mid);
		w->keepalive_s = full ? 65535 : 10;
		w->key_life_s = full ? 0xffffffffu : 120;
		w->n_routes = (uint8_t)nprefix;
		for (i = 0; i < nprefix; i++)
			prefix(&w->routes[i], i, full);
		w->n_own_routes = (uint8_t)(full ? CTL_MAX_PREFIXES : mid ? 1 : 0);
		for (i = 0; i < w->n_own_routes; i++)
			prefix(&w->own_routes[i], i + 1, full);
		break;
	}
	case CTL_PING:
	case CTL_PONG:
		m->u.ping.nonce = full ? UINT64_MAX : 0x0102030405060708ull + seed;
		break;
	case CTL_SESSION_REQ:
		m->u.session_req.req_id = full ? 0xffffffffu : seed;
		if (mid || full)
			v6(&m->u.session_req.dst, seed);
		else
			v4(&m->u.session_req.dst, 100, 64, 0, 9);
		fill(m->u.session_req.eph, CTL_EPH_LEN, seed + 4);
		m->u.session_req.index = 0x11223344u + seed;
		m->u.session_req.aead_mask = 6;
		break;
	case CTL_OFFER:
	case CTL_GRANT: {
		struct ctl_session *s = &m->u.session;

		s->req_id = t == CTL_GRANT ? 7 + seed : 0;
		s->sid = full ? UINT64_MAX : 0xabcdef0000000001ull + seed;
		name(s->peer_name, v, "phone");
		v4(&s->peer_vip4, 100, 64, 1, 1);
		s->has_peer_vip6 = full || mid;
		if (s->has_peer_vip6)
			v6(&s->peer_vip6, seed + 9);
		s->n_allowed = (uint8_t)nprefix;
		for (i = 0; i < nprefix; i++)
			prefix(&s->allowed[i], i, full || mid);
		s->n_endpoints = (uint8_t)nendp;
		for (i = 0; i < nendp; i++)
			endpoint(&s->endpoints[i], i, full);
		fill(s->secret, CTL_SECRET_LEN, seed + 6);
		fill(s->peer_eph, CTL_EPH_LEN, seed + 7);
		s->peer_index = 0x55667788u ^ seed;
		s->aead = full ? 255 : 1;
		s->life_s = full ? 0xffffffffu : 120;
		break;
	}
	case CTL_ACCEPT:
		m->u.accept.sid = full ? UINT64_MAX : 0xabcdef0000000001ull + seed;
		fill(m->u.accept.eph, CTL_EPH_LEN, seed + 8);
		m->u.accept.index = full ? 0xffffffffu : 0;
		break;
	case CTL_REFUSE:
		m->u.refuse.req_id = seed;
		m->u.refuse.sid = mid ? 0x99 : 0;
		if (full)
			v6(&m->u.refuse.dst, seed);
		else if (mid)
			v4(&m->u.refuse.dst, 100, 64, 0, 77);
		m->u.refuse.code = CTL_CODE_POLICY;
		reason(m->u.refuse.reason, v);
		break;
	case CTL_REVOKE:
		m->u.revoke.sid = full ? UINT64_MAX : 0;
		name(m->u.revoke.peer_name, v, "old-laptop");
		m->u.revoke.code = CTL_CODE_REVOKED;
		break;
	case CTL_ROUTES:
		m->u.routes.n_routes = (uint8_t)nprefix;
		for (i = 0; i < nprefix; i++)
			prefix(&m->u.routes.routes[i], i, full || mid);
		break;
	}
}
