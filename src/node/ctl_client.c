// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl_client.c - the node's control channel to the keybroker: non-blocking
 * TCP connect, mutual TLS (channel.h), HELLO -> WELCOME, PING every
 * keepalive_s, reconnect with exponential backoff and jitter, and the
 * dispatch of every broker message. Live sessions do not depend on this
 * channel: the data path keeps running while it is down.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "channel/channel.h"
#include "common/log.h"
#include "crypto/aead.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "node/daemon.h"
#include "node/decide.h"
#include "node/node.h"
#include "node/sockaddr.h"

static void io_cb(struct ev_loop *loop, ev_io *w, int revents);

bool broker_up(const struct node *n)
{
	return n->bc.state == BROKER_UP;
}

bool broker_revoked(const struct node *n)
{
	return n->bc.state == BROKER_REVOKED;
}

const char *broker_state_name(const struct node *n)
{
	switch (n->bc.state) {
	case BROKER_IDLE: return "waiting";
	case BROKER_CONNECTING: return "connecting";
	case BROKER_HANDSHAKE: return "handshake";
	case BROKER_UP: return "connected";
	case BROKER_REVOKED: return "revoked";
	}
	return "?";
}

static void rearm(struct node *n)
{
	struct broker *b = &n->bc;
	int ev;

	if (b->fd < 0)
		return;
	ev = b->state == BROKER_CONNECTING ? EV_WRITE : channel_events(b->ch);
	ev &= EV_READ | EV_WRITE;
	if (ev_is_active(&b->io) && (b->io.events & (EV_READ | EV_WRITE)) == ev)
		return;
	ev_io_stop(n->loop, &b->io);
	if (!ev)
		ev = EV_READ;
	ev_io_set(&b->io, b->fd, ev);
	ev_io_start(n->loop, &b->io);
}

static void close_conn(struct node *n)
{
	struct broker *b = &n->bc;

	ev_io_stop(n->loop, &b->io);
	ev_timer_stop(n->loop, &b->ping);
	ev_timer_stop(n->loop, &b->deadline);
	if (b->ch) {
		channel_free(b->ch);	/* closes the fd */
		b->ch = NULL;
	} else if (b->fd >= 0) {
		close(b->fd);
	}
	b->fd = -1;
}

/* The connection failed or was lost: close it and schedule a retry. */
static void conn_failed(struct node *n, const char *reason)
{
	struct broker *b = &n->bc;
	double delay;

	if (b->refused_for_good) {
		/* ERROR REVOKED / UNKNOWN_NODE came first (on_frame): final */
		close_conn(n);
		ev_timer_stop(n->loop, &b->retry);
		b->state = BROKER_REVOKED;
		if (b->down_since_ms == 0)
			b->down_since_ms = log_now_ms();
		node_revoked(n, b->last_error);
		return;
	}
	if (b->state == BROKER_UP) {
		log_warn("broker connection lost: %s (live sessions continue)", reason);
		b->down_since_ms = log_now_ms();
	} else {
		log_info("broker %s: %s", b->reconnects || b->ever_up ? "reconnect failed" : "not reachable yet",
			 reason);
	}
	snprintf(b->last_error, sizeof b->last_error, "%s", reason);
	close_conn(n);
	b->state = BROKER_IDLE;
	if (!b->ever_up)
		node_wait_reason(n, reason);
	if (n->stopping)
		return;
	delay = decide_backoff_delay(b->backoff_ms, rand_uniform(UINT32_MAX)) / 1000.0;
	b->backoff_ms = decide_backoff_next(b->backoff_ms);
	ev_timer_stop(n->loop, &b->retry);
	ev_timer_set(&b->retry, delay, 0.);
	ev_timer_start(n->loop, &b->retry);
}

bool broker_send(struct node *n, const struct ctl_msg *m)
{
	struct broker *b = &n->bc;

	if (n->ctl_sink) {
		n->ctl_sink(n, m);
		return true;
	}
	if (!b->ch || (b->state != BROKER_UP && m->type != CTL_HELLO))
		return false;
	if (channel_send(b->ch, m) < 0) {
		log_warn("broker: cannot queue %s (output full)", ctl_type_name(m->type));
		return false;
	}
	/* Pump on the next loop iteration: we may be inside channel_io(). */
	ev_feed_event(n->loop, &b->io, EV_WRITE);
	return true;
}

/* Local addresses we listen on, for the broker to hand to peers. */
static void hello_endpoints(struct node *n, struct ctl_hello *h)
{
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa) < 0)
		return;
	for (i = ifa; i && h->n_endpoints < CTL_MAX_ENDPOINTS; i = i->ifa_next) {
		struct ctl_endpoint ep;

		if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
			continue;
		if (strcmp(i->ifa_name, n->tun.ifname) == 0)
			continue;
		if (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6)
			continue;
		if (n->udp_family == AF_INET && i->ifa_addr->sa_family == AF_INET6)
			continue;
		if (!sockaddr_to_endpoint(&ep, i->ifa_addr,
					  i->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
									    : sizeof(struct sockaddr_in6)))
			continue;
		if (ep.ip.af == 6 && ep.ip.a[0] == 0xfe && (ep.ip.a[1] & 0xc0) == 0x80)
			continue;	/* link-local: needs a scope */
		if (ctl_prefix_contains(&n->conf.prefix4, &ep.ip) ||
		    (n->conf.has_prefix6 && ctl_prefix_contains(&n->conf.prefix6, &ep.ip)))
			continue;
		ep.port = n->udp_port;
		h->endpoints[h->n_endpoints++] = ep;
	}
	freeifaddrs(ifa);
}

static void send_hello(struct node *n)
{
	struct ctl_msg m;

	memset(&m, 0, sizeof m);
	m.type = CTL_HELLO;
	m.u.hello.data_port = n->udp_port;
	m.u.hello.aead_mask = aead_fast_mask();
	hello_endpoints(n, &m.u.hello);
	if (!broker_send(n, &m))
		log_warn("broker: cannot queue HELLO");
}

static void on_welcome(struct node *n, const struct ctl_welcome *w)
{
	struct broker *b = &n->bc;
	char a[CTL_ADDRSTRLEN], c[CTL_ADDRSTRLEN];

	if (!ctl_ip_eq(&w->vip4, &n->conf.vip4))
		log_warn("broker assigns vip %s but mavpn.conf says %s (keeping %s)",
			 ctl_ip_fmt(&w->vip4, a), ctl_ip_fmt(&n->conf.vip4, c), c);
	b->welcome = *w;
	b->state = BROKER_UP;
	b->backoff_ms = DECIDE_BACKOFF_MIN_MS;
	b->keepalive_s = w->keepalive_s ? w->keepalive_s : BROKER_DEFAULT_KEEPALIVE_S;
	ev_timer_stop(n->loop, &b->deadline);
	ev_timer_stop(n->loop, &b->ping);
	ev_timer_set(&b->ping, b->keepalive_s, b->keepalive_s);
	ev_timer_start(n->loop, &b->ping);
	if (b->down_since_ms)
		log_info("broker connection back after %llu ms",
			 (unsigned long long)(log_now_ms() - b->down_since_ms));
	else
		log_info("broker accepted %s (sees us at %s, keepalive %us, key life %us)", w->name,
			 ctl_endpoint_fmt(&w->observed, a), b->keepalive_s, w->key_life_s);
	b->down_since_ms = 0;
	n->n_own_routes = w->n_own_routes;
	memcpy(n->own_routes, w->own_routes, sizeof n->own_routes);
	node_set_routes(n, w->routes, w->n_routes);
	if (!b->ever_up) {
		b->ever_up = true;
		node_ready(n);
	}
	send_resend_requests(n);
}

static bool fatal_code(uint16_t code)
{
	return code == CTL_CODE_REVOKED || code == CTL_CODE_UNKNOWN_NODE;
}

static int on_frame(struct channel *ch, const struct ctl_msg *m, void *arg)
{
	struct node *n = arg;
	struct broker *b = &n->bc;

	(void)ch;
	b->last_rx_ms = log_now_ms();
	if (b->state != BROKER_UP && m->type != CTL_WELCOME && m->type != CTL_ERROR &&
	    m->type != CTL_PING) {
		log_warn("broker sent %s before WELCOME", ctl_type_name(m->type));
		return -1;
	}
	switch (m->type) {
	case CTL_WELCOME:
		if (b->state == BROKER_UP) {
			log_warn("broker sent a second WELCOME");
			return -1;
		}
		on_welcome(n, &m->u.welcome);
		return 0;
	case CTL_ERROR: {
		const char *code = ctl_code_name((enum ctl_code)m->u.error.code);
		bool extra = m->u.error.reason[0] && strcmp(code, m->u.error.reason) != 0;

		snprintf(b->last_error, sizeof b->last_error, "broker refused the node: %s%s%s",
			 code, extra ? ": " : "", extra ? m->u.error.reason : "");
		if (!fatal_code(m->u.error.code)) {
			log_error("%s", b->last_error);
			return -1;
		}
		if (!b->ever_up) {
			node_fatal_code(n, NODE_EXIT_REVOKED, "%s (enroll again with a new token)",
					b->last_error);
			return -1;
		}
		/* Reconnecting after a revoke: trying again would be refused
		 * forever. conn_failed() (the channel closes on -1) stops. */
		b->refused_for_good = true;
		return -1;
	}
	case CTL_PING: {
		struct ctl_msg r;

		memset(&r, 0, sizeof r);
		r.type = CTL_PONG;
		r.u.ping.nonce = m->u.ping.nonce;
		if (b->state == BROKER_UP)
			(void)broker_send(n, &r);
		else if (channel_send(b->ch, &r) == 0)
			ev_feed_event(n->loop, &b->io, EV_WRITE);
		return 0;
	}
	case CTL_PONG:
		return 0;
	case CTL_GRANT:
		sessions_on_grant(n, &m->u.session);
		return 0;
	case CTL_OFFER:
		sessions_on_offer(n, &m->u.session);
		return 0;
	case CTL_REFUSE:
		sessions_on_refuse(n, &m->u.refuse);
		return 0;
	case CTL_REVOKE:
		sessions_on_revoke(n, &m->u.revoke);
		return 0;
	case CTL_ROUTES:
		node_set_routes(n, m->u.routes.routes, m->u.routes.n_routes);
		return 0;
	default:
		log_warn("broker sent unexpected %s", ctl_type_name(m->type));
		return -1;
	}
}

/* TCP connected: start TLS and queue HELLO. */
static void connected(struct node *n)
{
	struct broker *b = &n->bc;
	struct tls_conn *tls;
	int soerr = 0;
	socklen_t sl = sizeof soerr;

	if (getsockopt(b->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (soerr) {
		char reason[128];

		snprintf(reason, sizeof reason, "connect: %s", strerror(soerr));
		conn_failed(n, reason);
		return;
	}
	tls = tls_client_new(n->creds, n->conf.broker_name);
	if (!tls) {
		conn_failed(n, "cannot set up TLS");
		return;
	}
	b->ch = channel_new(b->fd, tls, on_frame, n);
	if (!b->ch) {
		tls_free(tls);
		conn_failed(n, "out of memory");
		return;
	}
	b->state = BROKER_HANDSHAKE;
	b->last_rx_ms = log_now_ms();
	send_hello(n);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct node *n = w->data;
	struct broker *b = &n->bc;

	(void)loop;
	(void)revents;
	if (b->state == BROKER_CONNECTING) {
		if (!(revents & EV_WRITE))
			return;
		connected(n);
		if (b->state != BROKER_HANDSHAKE)
			return;
	}
	if (!b->ch)
		return;
	if (channel_io(b->ch) == CHANNEL_CLOSED || b->refused_for_good) {
		char reason[256];

		snprintf(reason, sizeof reason, "%s", b->state == BROKER_HANDSHAKE && b->last_error[0] &&
			 strncmp(b->last_error, "broker refused", 14) == 0 ? b->last_error
			 : channel_strerror(b->ch));
		if (!n->stopping)
			conn_failed(n, reason);
		else
			close_conn(n);
		return;
	}
	rearm(n);
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	broker_start(w->data);
}

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct node *n = w->data;

	(void)loop;
	(void)revents;
	if (n->bc.state != BROKER_UP)
		conn_failed(n, n->bc.state == BROKER_CONNECTING ? "connect timed out"
				: "no WELCOME from the broker (TLS handshake or HELLO timed out)");
}

static void ping_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct node *n = w->data;
	struct broker *b = &n->bc;
	uint64_t now = log_now_ms();
	struct ctl_msg m;

	(void)loop;
	(void)revents;
	if (b->state != BROKER_UP)
		return;
	if (now - b->last_rx_ms > (uint64_t)BROKER_DEAD_INTERVALS * b->keepalive_s * 1000u) {
		char reason[96];

		snprintf(reason, sizeof reason, "broker silent for %llu ms",
			 (unsigned long long)(now - b->last_rx_ms));
		conn_failed(n, reason);
		return;
	}
	memset(&m, 0, sizeof m);
	m.type = CTL_PING;
	m.u.ping.nonce = ++b->ping_nonce;
	(void)broker_send(n, &m);
}

void broker_init(struct node *n)
{
	struct broker *b = &n->bc;

	memset(b, 0, sizeof *b);
	b->fd = -1;
	b->backoff_ms = DECIDE_BACKOFF_MIN_MS;
	ev_init(&b->io, io_cb);
	b->io.data = n;
	ev_init(&b->retry, retry_cb);
	b->retry.data = n;
	ev_init(&b->ping, ping_cb);
	b->ping.data = n;
	ev_init(&b->deadline, deadline_cb);
	b->deadline.data = n;
}

void broker_start(struct node *n)
{
	struct broker *b = &n->bc;
	struct sockaddr_storage ss;
	socklen_t sl;
	char reason[160], a[CTL_ADDRSTRLEN];

	if (b->state != BROKER_IDLE || n->stopping)
		return;
	if (b->ever_up || b->last_error[0])
		b->reconnects++;
	sl = sockaddr_from_endpoint(&ss, &n->conf.broker);
	b->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (b->fd < 0) {
		snprintf(reason, sizeof reason, "socket: %s", strerror(errno));
		conn_failed(n, reason);
		return;
	}
	b->state = BROKER_CONNECTING;
	log_debug("connecting to broker %s", ctl_endpoint_fmt(&n->conf.broker, a));
	if (connect(b->fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		snprintf(reason, sizeof reason, "connect %s: %s", ctl_endpoint_fmt(&n->conf.broker, a),
			 strerror(errno));
		conn_failed(n, reason);
		return;
	}
	ev_timer_set(&b->deadline, BROKER_CONNECT_TIMEOUT_MS / 1000.0, 0.);
	ev_timer_start(n->loop, &b->deadline);
	ev_io_set(&b->io, b->fd, EV_WRITE);
	ev_io_start(n->loop, &b->io);
}

void broker_stop(struct node *n)
{
	struct broker *b = &n->bc;

	ev_timer_stop(n->loop, &b->retry);
	if (b->ch && b->state == BROKER_UP) {
		/* best effort close_notify */
		channel_close(b->ch);
		(void)channel_io(b->ch);
	}
	close_conn(n);
	b->state = BROKER_IDLE;
}
