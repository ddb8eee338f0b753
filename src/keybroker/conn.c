/* SPDX-License-Identifier: GPL-2.0-only */
/* conn.c - accepted connections: TLS pump, authentication, dispatch,
 * timeouts. See conn.h. */
#include "keybroker/conn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "channel/channel.h"
#include "common/log.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "keybroker/broker.h"
#include "keybroker/registry.h"

/* ---- unauthenticated connections per source address (kbd.h) ---------- */

struct uaddr {
	struct hlink l;		/* in kb->unauth_by_ip */
	uint8_t af;		/* 4 or 6 */
	uint8_t a[8];		/* IPv4 address, or the IPv6 /64 */
	uint32_t n;		/* unauthenticated conns from there (> 0) */
};

/* The peer decides its address (and a /64 holds many), so the table key is
 * the address mixed with a per-daemon random seed (a bijective 64-bit
 * finalizer): colliding chains cannot be aimed at without the seed. The
 * table never holds more than conn_cap / KBD_UNAUTH_CAP_DIV entries. */
static uint64_t ua_key(struct kbd *kb, uint8_t af, const uint8_t a[8])
{
	uint64_t x = 0;

	if (!kb->unauth_seeded) {
		if (rand_bytes(&kb->unauth_seed, sizeof kb->unauth_seed) < 0)
			kb->unauth_seed = 0x9e3779b97f4a7c15ull;	/* still correct */
		kb->unauth_seeded = true;
	}
	for (int i = 0; i < 8; i++)
		x = x << 8 | a[i];
	x ^= kb->unauth_seed ^ (af == 6);	/* v4 a.b.c.d vs v6 a.b.c.d:: */
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static void ua_addr(const struct ctl_ip *ip, uint8_t *af, uint8_t a[8])
{
	memset(a, 0, 8);
	*af = ip->af == 6 ? 6 : 4;
	memcpy(a, ip->a, *af == 6 ? 8 : 4);
}

static size_t ua_cap(const struct kbd *kb)
{
	size_t cap = kb->conn_cap / KBD_UNAUTH_CAP_DIV;

	return cap ? cap : 1;
}

static uint32_t ua_per_ip(const struct kbd *kb)
{
	return kb->st.unauth_per_ip ? kb->st.unauth_per_ip : KBD_UNAUTH_PER_IP;
}

/* Count c as unauthenticated: 0, or -1 when a limit says no (counted,
 * logged rate-limited). */
static int ua_take(struct kbd *kb, struct conn *c)
{
	static struct log_ratelimit rl_ip, rl_cap;
	char peer[CTL_ADDRSTRLEN];
	struct uaddr *u = NULL;
	struct hlink *l;
	uint8_t af, a[8];
	uint64_t key;

	if (kb->n_unauth >= ua_cap(kb)) {
		kb->cnt.unauth_cap_refused++;
		if (log_ratelimited(&rl_cap))
			log_warn("refused %s: %zu connections are not authenticated yet "
				 "(cap %zu)", ctl_endpoint_fmt(&c->peer, peer), kb->n_unauth,
				 ua_cap(kb));
		return -1;
	}
	ua_addr(&c->peer.ip, &af, a);
	key = ua_key(kb, af, a);
	for (l = htab_find(&kb->unauth_by_ip, key); l; l = htab_next(l)) {
		struct uaddr *x = container_of(l, struct uaddr, l);

		if (x->af == af && memcmp(x->a, a, sizeof x->a) == 0) {
			u = x;
			break;
		}
	}
	if (u && u->n >= ua_per_ip(kb)) {
		kb->cnt.unauth_per_ip_refused++;
		if (log_ratelimited(&rl_ip))
			log_warn("refused %s: %u connections from there are not "
				 "authenticated yet (unauth_per_ip %u)",
				 ctl_endpoint_fmt(&c->peer, peer), u->n, ua_per_ip(kb));
		return -1;
	}
	if (!u) {
		u = calloc(1, sizeof *u);
		if (!u || htab_add(&kb->unauth_by_ip, &u->l, key) < 0) {
			free(u);
			log_error("out of memory for a new connection");
			return -1;
		}
		u->af = af;
		memcpy(u->a, a, sizeof u->a);
	}
	u->n++;
	kb->n_unauth++;
	c->ua = u;
	return 0;
}

/* c no longer counts as unauthenticated (authenticated, or freed). */
static void ua_release(struct conn *c)
{
	struct kbd *kb = c->kb;
	struct uaddr *u = c->ua;

	if (!u)
		return;
	c->ua = NULL;
	kb->n_unauth--;
	if (--u->n == 0) {
		htab_del(&kb->unauth_by_ip, &u->l);
		free(u);
	}
}

static void kick(struct conn *c)
{
	struct kbd *kb = c->kb;

	if (c->kicked || !c->ch)
		return;
	c->kicked = true;
	c->kick_prev = NULL;
	c->kick_next = kb->kick_head;
	if (kb->kick_head)
		kb->kick_head->kick_prev = c;
	kb->kick_head = c;
}

static void unkick(struct conn *c)
{
	struct kbd *kb = c->kb;

	if (!c->kicked)
		return;
	if (c->kick_prev)
		c->kick_prev->kick_next = c->kick_next;
	else
		kb->kick_head = c->kick_next;
	if (c->kick_next)
		c->kick_next->kick_prev = c->kick_prev;
	c->kick_prev = c->kick_next = NULL;
	c->kicked = false;
}

/* Drop the node link (the node is offline from now on). */
static void detach(struct conn *c)
{
	struct kbnode *n = c->node;

	if (!n)
		return;
	c->node = NULL;
	if (n->conn != c)
		return;
	n->conn = NULL;
	if (c->state == CONN_ACTIVE && c->kb->n_active)
		c->kb->n_active--;
	audit_last_seen(c->kb, n);
	broker_node_offline(c->kb, n);
}

static void destroy(struct conn *c)
{
	struct kbd *kb = c->kb;

	if (c->in_io)
		log_bug("conn %llu destroyed inside its own channel callback",
			(unsigned long long)c->id);
	if (c->ch && channel_error(c->ch) == CHANNEL_ERR_PROTOCOL)
		kb->cnt.protocol_errors++;
	if (c->ch && channel_error(c->ch) == CHANNEL_ERR_OVERFLOW)
		kb->cnt.overflow++;
	if (c->state == CONN_HANDSHAKE && c->ch)
		kb->cnt.handshake_failed++;
	detach(c);
	unkick(c);
	ua_release(c);
	if (c->ch) {
		ev_io_stop(kb->loop, &c->io);
		log_debug("conn %llu closed: %s", (unsigned long long)c->id,
			  channel_strerror(c->ch));
		channel_free(c->ch);
		c->ch = NULL;
	}
	if (c->prev)
		c->prev->next = c->next;
	else if (kb->conns == c)
		kb->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	kb->n_conns--;
	free(c);
}

static void rearm(struct conn *c)
{
	int ev = channel_events(c->ch) & (EV_READ | EV_WRITE);

	if (ev == c->io.events && ev_is_active(&c->io))
		return;
	ev_io_stop(c->kb->loop, &c->io);
	ev_io_set(&c->io, c->io.fd, ev);
	if (ev)
		ev_io_start(c->kb->loop, &c->io);
}

static int handshake_done(struct conn *c);

/* Pump the channel; frees c when it is finished. */
static void conn_io(struct conn *c)
{
	enum channel_status s;

	unkick(c);
	c->in_io = true;
	s = channel_io(c->ch);
	c->in_io = false;
	if (s == CHANNEL_OK && !c->dead && c->state == CONN_HANDSHAKE &&
	    channel_ready(c->ch)) {
		if (handshake_done(c) < 0)
			c->dead = true;
		else
			kick(c);	/* frames may have been queued */
	}
	if (s == CHANNEL_CLOSED || c->dead) {
		destroy(c);
		return;
	}
	rearm(c);
}

static void io_cb(EV_P_ ev_io *w, int revents)
{
	struct conn *c = container_of(w, struct conn, io);

	(void)EV_A;
	(void)revents;
	conn_io(c);
}

void conn_kick_all(struct kbd *kb)
{
	struct conn *c;

	while ((c = kb->kick_head) != NULL)
		conn_io(c);	/* unkicks c first */
}

int conn_send(struct conn *c, const struct ctl_msg *m)
{
	if (c->state == CONN_CLOSING || c->dead)
		return -1;
	if (!c->ch) {
		if (c->kb->test_sink)
			c->kb->test_sink(c, m, c->kb->test_sink_arg);
		return 0;
	}
	if (channel_send(c->ch, m) < 0) {
		c->kb->cnt.overflow++;
		log_warn("conn %llu (%s): cannot queue %s (peer not reading): closing",
			 (unsigned long long)c->id, c->node ? c->node->name : "-",
			 ctl_type_name(m->type));
		detach(c);
		c->state = CONN_CLOSING;
		c->closing_ms = kbd_now_ms(c->kb);
		channel_close(c->ch);
		kick(c);
		return -1;
	}
	kick(c);
	return 0;
}

void conn_shutdown(struct conn *c, uint16_t code, const char *fmt, ...)
{
	struct ctl_msg m;
	va_list ap;

	if (c->state == CONN_CLOSING)
		return;
	memset(&m, 0, sizeof m);
	m.type = CTL_ERROR;
	m.u.error.code = code;
	va_start(ap, fmt);
	vsnprintf(m.u.error.reason, sizeof m.u.error.reason, fmt, ap);
	va_end(ap);
	/* keep the text printable for the encoder */
	for (char *p = m.u.error.reason; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	if (code != CTL_CODE_NONE && (!c->ch || channel_ready(c->ch)))
		(void)conn_send(c, &m);
	detach(c);
	c->state = CONN_CLOSING;
	c->closing_ms = kbd_now_ms(c->kb);
	if (c->ch) {
		channel_close(c->ch);
		kick(c);
	}
}

/* Registry check of a client certificate: 0 (c->node set) or -1 (refused,
 * ERROR queued). */
static int authenticate(struct conn *c, const char *name, const uint8_t pub[PKI_PUB_LEN])
{
	struct kbd *kb = c->kb;
	char err[REGISTRY_ERR_MAX] = "";
	struct reg_node *rn = malloc(sizeof *rn);
	enum reg_result r;
	uint16_t code = CTL_CODE_UNKNOWN_NODE;
	const char *why = "unknown node";
	struct kbnode *n;
	char peer[CTL_ADDRSTRLEN];

	if (!rn) {
		conn_shutdown(c, CTL_CODE_INTERNAL, "out of memory");
		return -1;
	}
	r = registry_node_by_name(kb->reg, name, rn, err);
	if (r == REG_OK && memcmp(rn->pub, pub, PKI_PUB_LEN) == 0)
		goto ok;
	if (r != REG_OK && r != REG_NOT_FOUND) {
		kb->cnt.db_errors++;
		code = CTL_CODE_INTERNAL;
		why = "registry error";
		log_error("registry lookup of '%s': %s", name, err);
		goto refuse;
	}
	/* Not the live node of that name: a revoked key, or a stranger. */
	if (registry_node_by_pub(kb->reg, pub, rn, err) == REG_OK && rn->revoked_at) {
		code = CTL_CODE_REVOKED;
		why = "node revoked";
	}
refuse:
	kb->cnt.connect_refused++;
	log_warn("refused %s from %s: %s", name, ctl_endpoint_fmt(&c->peer, peer), why);
	audit_event(kb, "connect_refused", name, NULL, "%s from %s", why, peer);
	conn_shutdown(c, code, "%s: %s", name, why);
	free(rn);
	return -1;
ok:
	n = dir_by_id(kb, rn->id);
	if (!n || strcmp(n->name, rn->name) != 0)
		n = dir_upsert(kb, rn);
	free(rn);
	if (!n) {
		conn_shutdown(c, CTL_CODE_INTERNAL, "out of memory");
		return -1;
	}
	if (n->conn && n->conn != c) {
		struct conn *old = n->conn;

		kb->cnt.replaced++;
		log_info("node %s connected again: closing its older connection %llu",
			 n->name, (unsigned long long)old->id);
		conn_shutdown(old, CTL_CODE_NONE, "replaced");
	}
	n->conn = c;
	c->node = n;
	c->state = CONN_AUTHED;
	ua_release(c);
	return 0;
}

static int handshake_done(struct conn *c)
{
	struct tls_conn *t = channel_tls(c->ch);
	char name[PKI_NAME_MAX + 1];
	uint8_t pub[PKI_PUB_LEN];

	c->kb->cnt.handshakes++;
	c->last_rx_ms = kbd_now_ms(c->kb);
	if (tls_peer_name(t, name) < 0) {
		c->state = CONN_ENROLL;
		return 0;
	}
	if (tls_peer_pub(t, pub) < 0) {
		c->kb->cnt.connect_refused++;
		conn_shutdown(c, CTL_CODE_UNKNOWN_NODE, "no usable client key");
		return 0;
	}
	(void)authenticate(c, name, pub);
	return 0;	/* a refusal closes gracefully, ERROR first */
}

/* Token bucket: true when the frame may be handled. */
static bool rate_ok(struct conn *c)
{
	uint64_t now = kbd_now_ms(c->kb);
	uint64_t add = (now - c->bucket_ms) * KBD_RATE_PER_S;	/* 1/1000 frames */
	uint64_t b = c->bucket + add;

	c->bucket_ms = now;
	if (b >= (uint64_t)KBD_RATE_BURST * 1000) {
		b = (uint64_t)KBD_RATE_BURST * 1000;
		c->strikes = 0;	/* a full bucket forgives past bursts */
	}
	if (b < 1000) {
		c->bucket = (uint32_t)b;
		return false;
	}
	c->bucket = (uint32_t)(b - 1000);
	return true;
}

static int protocol_error(struct conn *c, const struct ctl_msg *m)
{
	struct kbd *kb = c->kb;
	static const char *const state_name[] = { "handshake", "enrollment", "authenticated",
						  "active", "closing" };

	kb->cnt.protocol_errors++;
	log_warn("conn %llu (%s): unexpected %s in state %s: closing",
		 (unsigned long long)c->id, c->node ? c->node->name : "no certificate",
		 ctl_type_name(m->type), state_name[c->state]);
	conn_shutdown(c, CTL_CODE_PROTOCOL, "unexpected %s", ctl_type_name(m->type));
	return 0;
}

int conn_dispatch(struct conn *c, const struct ctl_msg *m)
{
	struct kbd *kb = c->kb;
	struct ctl_msg r;

	if (c->state == CONN_CLOSING || c->dead)
		return 0;
	c->last_rx_ms = kbd_now_ms(kb);
	if (!rate_ok(c)) {
		kb->cnt.rate_limited++;
		if (++c->strikes > KBD_RATE_STRIKES) {
			conn_shutdown(c, CTL_CODE_LIMIT, "too many frames");
			return 0;
		}
		if (m->type == CTL_SESSION_REQ) {
			memset(&r, 0, sizeof r);
			r.type = CTL_REFUSE;
			r.u.refuse.req_id = m->u.session_req.req_id;
			r.u.refuse.dst = m->u.session_req.dst;
			r.u.refuse.code = CTL_CODE_LIMIT;
			snprintf(r.u.refuse.reason, sizeof r.u.refuse.reason,
				 "rate limit (%u frames/s)", KBD_RATE_PER_S);
			kb->cnt.refusals[CTL_CODE_LIMIT]++;
			(void)conn_send(c, &r);
		}
		return 0;
	}

	switch (c->state) {
	case CONN_ENROLL:
		if (m->type != CTL_ENROLL_REQ)
			return protocol_error(c, m);
		return enroll_handle(c, &m->u.enroll_req);
	case CONN_AUTHED:
	case CONN_ACTIVE:
		break;
	default:
		return protocol_error(c, m);
	}

	switch (m->type) {
	case CTL_PING:
		memset(&r, 0, sizeof r);
		r.type = CTL_PONG;
		r.u.ping.nonce = m->u.ping.nonce;
		(void)conn_send(c, &r);
		return 0;
	case CTL_PONG:
		return 0;
	case CTL_HELLO:
		if (c->state != CONN_AUTHED)
			return protocol_error(c, m);
		return broker_hello(c, &m->u.hello);
	case CTL_SESSION_REQ:
		if (c->state != CONN_ACTIVE)
			return protocol_error(c, m);
		return broker_session_req(c, &m->u.session_req);
	case CTL_ACCEPT:
		if (c->state != CONN_ACTIVE)
			return protocol_error(c, m);
		return broker_accept(c, &m->u.accept);
	case CTL_REFUSE:
		if (c->state != CONN_ACTIVE)
			return protocol_error(c, m);
		return broker_refuse(c, &m->u.refuse);
	default:
		return protocol_error(c, m);
	}
}

static int on_frame(struct channel *ch, const struct ctl_msg *m, void *arg)
{
	struct conn *c = arg;

	(void)ch;
	if (c->state == CONN_HANDSHAKE) {
		if (handshake_done(c) < 0)
			return -1;
	}
	return conn_dispatch(c, m);
}

void conn_observed(const struct conn *c, struct ctl_endpoint *out)
{
	*out = c->peer;
	out->port = c->data_port;
}

uint8_t conn_endpoints(const struct conn *c, struct ctl_endpoint *out, uint8_t max)
{
	uint8_t n = 0;

	if (!max)
		return 0;
	if (c->data_port) {
		conn_observed(c, &out[n]);
		n++;
	}
	for (uint8_t i = 0; i < c->n_endpoints && n < max; i++) {
		const struct ctl_endpoint *e = &c->endpoints[i];

		if (n && out[0].port == e->port && ctl_ip_eq(&out[0].ip, &e->ip))
			continue;
		out[n++] = *e;
	}
	return n;
}

void conn_accept(struct kbd *kb, int fd, const struct ctl_endpoint *peer)
{
	struct conn *c;
	struct tls_conn *t;

	if (kb->n_conns >= kb->conn_cap) {
		kb->cnt.conn_cap_refused++;
		close(fd);
		return;
	}
	c = calloc(1, sizeof *c);
	if (!c) {
		close(fd);
		log_error("out of memory for a new connection");
		return;
	}
	c->kb = kb;
	c->peer = *peer;
	if (ua_take(kb, c) < 0) {
		free(c);
		close(fd);
		return;
	}
	t = tls_server_new(kb->creds, false);
	if (!t) {
		ua_release(c);
		free(c);
		close(fd);
		log_error("out of memory for a new connection");
		return;
	}
	c->ch = channel_new(fd, t, on_frame, c);
	if (!c->ch) {
		tls_free(t);
		close(fd);
		ua_release(c);
		free(c);
		log_error("out of memory for a new channel");
		return;
	}
	c->id = ++kb->next_conn_id;
	c->since_ms = c->last_rx_ms = c->bucket_ms = kbd_now_ms(kb);
	c->since_unix = time(NULL);
	c->bucket = KBD_RATE_BURST * 1000;
	c->state = CONN_HANDSHAKE;
	c->next = kb->conns;
	if (kb->conns)
		kb->conns->prev = c;
	kb->conns = c;
	kb->n_conns++;
	kb->cnt.accepted++;
	ev_io_init(&c->io, io_cb, fd, 0);
	rearm(c);
}

void conn_sweep(struct kbd *kb, uint64_t now)
{
	uint64_t dead_ms = (uint64_t)kb->st.keepalive_s * 1000 * KBD_DEAD_FACTOR;
	struct conn *c, *next;

	for (c = kb->conns; c; c = next) {
		next = c->next;
		if (!c->ch)
			continue;
		switch (c->state) {
		case CONN_HANDSHAKE:
			if (now - c->since_ms >= KBD_HANDSHAKE_TIMEOUT_MS) {
				kb->cnt.handshake_timeouts++;
				c->state = CONN_CLOSING;	/* not a handshake failure count */
				destroy(c);
			}
			break;
		case CONN_ENROLL:
			if (now - c->last_rx_ms >= KBD_ENROLL_TIMEOUT_MS)
				conn_shutdown(c, CTL_CODE_TIMEOUT, "no enrollment request");
			break;
		case CONN_AUTHED:
		case CONN_ACTIVE:
			if (now - c->last_rx_ms >= dead_ms) {
				kb->cnt.dead_peers++;
				log_info("node %s: nothing for %llu s: closing",
					 c->node ? c->node->name : "?",
					 (unsigned long long)(now - c->last_rx_ms) / 1000);
				conn_shutdown(c, CTL_CODE_TIMEOUT, "keepalive missed");
			}
			break;
		case CONN_CLOSING:
			if (now - c->closing_ms >= KBD_CLOSE_LINGER_MS)
				destroy(c);
			break;
		}
	}
}

void conn_free_all(struct kbd *kb)
{
	while (kb->conns) {
		struct conn *c = kb->conns;

		if (!c->ch) {
			conn_free_test(c);
			continue;
		}
		c->state = CONN_CLOSING;
		destroy(c);
	}
	htab_free(&kb->unauth_by_ip);	/* every slot went with its conn */
}

struct conn *conn_new_test(struct kbd *kb, struct kbnode *node, enum conn_state st)
{
	struct conn *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->kb = kb;
	c->id = ++kb->next_conn_id;
	c->state = (uint8_t)st;
	c->since_ms = c->last_rx_ms = c->bucket_ms = kbd_now_ms(kb);
	c->bucket = KBD_RATE_BURST * 1000;
	c->peer.ip.af = 4;
	c->peer.ip.a[0] = 127;
	c->peer.ip.a[3] = 1;
	c->peer.port = 40000;
	if (node) {
		if (node->conn)
			conn_shutdown(node->conn, CTL_CODE_NONE, "replaced");
		node->conn = c;
		c->node = node;
		if (st == CONN_ACTIVE)
			kb->n_active++;
	}
	c->next = kb->conns;
	if (kb->conns)
		kb->conns->prev = c;
	kb->conns = c;
	kb->n_conns++;
	return c;
}

void conn_free_test(struct conn *c)
{
	c->in_io = false;
	destroy(c);
}
