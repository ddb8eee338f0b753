// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_channel.c - channel/channel.h over socketpair(AF_UNIX, SOCK_STREAM),
 * both ends non-blocking, TLS from crypto/tls.h, frames from proto/ctl.h.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "channel/channel.h"
#include "crypto/pki.h"
#include "crypto/tls.h"

struct ident {
	struct pki_key key;
	uint8_t der[PKI_CERT_MAX];
	size_t len;
};

static void mk(struct ident *c, enum pki_cert_kind kind, const char *name,
	       const struct ident *ca)
{
	time_t t0 = time(NULL);
	struct pki_cert_params p = {
		.kind = kind, .name = name, .not_before = t0 - 60, .not_after = t0 + 3600,
	};
	ssize_t n;

	cr_assert_eq(pki_key_generate(&c->key), 0);
	p.pub = c->key.pub;
	n = ca ? pki_cert_issue(c->der, sizeof c->der, &p, &ca->key, ca->der, ca->len, NULL)
	       : pki_cert_issue(c->der, sizeof c->der, &p, &c->key, NULL, 0, NULL);
	cr_assert_gt(n, 0);
	c->len = (size_t)n;
}

static struct ident ca, srv, cli;
static struct tls_creds *srv_creds, *cli_creds;

static struct tls_creds *creds(const struct ident *id)
{
	char err[160] = "";
	struct tls_creds *c = tls_creds_new(id->der, id->len, ca.der, ca.len, &id->key, err,
					    sizeof err);

	cr_assert_not_null(c, "%s", err);
	return c;
}

static void setup(void)
{
	mk(&ca, PKI_CERT_CA, "mavpn-ca", NULL);
	mk(&srv, PKI_CERT_SERVER, "keybroker", &ca);
	mk(&cli, PKI_CERT_CLIENT, "node-1", &ca);
	srv_creds = creds(&srv);
	cli_creds = creds(&cli);
}

static void teardown(void)
{
	tls_creds_free(srv_creds);
	tls_creds_free(cli_creds);
}

TestSuite(channel, .init = setup, .fini = teardown, .timeout = 60);

/* What a callback saw. */
#define LOG_MAX 300
struct rx {
	int n;
	enum ctl_type type[LOG_MAX];
	uint64_t nonce[LOG_MAX];
	uint16_t cert_len;
	uint8_t cert0;
	int stop_after;		/* return -1 on this frame (1-based), 0 = never */
	bool pong;		/* answer PING with PONG */
};

static int on_frame(struct channel *ch, const struct ctl_msg *m, void *arg)
{
	struct rx *rx = arg;

	if (rx->n < LOG_MAX) {
		rx->type[rx->n] = m->type;
		rx->nonce[rx->n] = (m->type == CTL_PING || m->type == CTL_PONG) ? m->u.ping.nonce : 0;
	}
	rx->n++;
	if (m->type == CTL_ENROLL_OK) {
		rx->cert_len = m->u.enroll_ok.cert_len;
		rx->cert0 = m->u.enroll_ok.cert[0];
	}
	if (rx->pong && m->type == CTL_PING) {
		struct ctl_msg r = { .type = CTL_PONG, .u.ping.nonce = m->u.ping.nonce };

		cr_assert_eq(channel_send(ch, &r), 0);
	}
	if (rx->stop_after && rx->n == rx->stop_after)
		return -1;
	return 0;
}

static void nonblock(int fd)
{
	cr_assert_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
}

static void pair(struct channel **s, struct channel **c, struct rx *srx, struct rx *crx)
{
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	nonblock(sv[0]);
	nonblock(sv[1]);
	*s = channel_new(sv[0], tls_server_new(srv_creds, true), on_frame, srx);
	*c = channel_new(sv[1], tls_client_new(cli_creds, "keybroker"), on_frame, crx);
	cr_assert_not_null(*s);
	cr_assert_not_null(*c);
}

/* Run both ends (a caller's event loop in miniature) until cond or both
 * closed; returns the iteration count. */
#define RUN(s, c, cond)                                                      \
	({                                                                   \
		int it_ = 0;                                                 \
		enum channel_status ss_ = CHANNEL_OK, cs_ = CHANNEL_OK;     \
		for (; it_ < 5000 && !(cond); it_++) {                       \
			if (ss_ == CHANNEL_OK)                               \
				ss_ = channel_io(s);                         \
			if (cs_ == CHANNEL_OK)                               \
				cs_ = channel_io(c);                         \
			if (ss_ == CHANNEL_CLOSED && cs_ == CHANNEL_CLOSED)  \
				break;                                       \
		}                                                            \
		it_;                                                         \
	})

static struct ctl_msg ping(uint64_t nonce)
{
	struct ctl_msg m = { .type = CTL_PING, .u.ping.nonce = nonce };

	return m;
}

Test(channel, frames_round_trip)
{
	struct rx srx = { .pong = true }, crx = { 0 };
	struct channel *s, *c;
	struct ctl_msg m = ping(0x1122334455667788ull);

	pair(&s, &c, &srx, &crx);
	/* queued before the handshake: goes out once TLS is up */
	cr_assert_eq(channel_send(c, &m), 0);
	cr_assert_not(channel_ready(c));
	RUN(s, c, crx.n == 1);
	cr_assert(channel_ready(c));
	cr_assert(channel_ready(s));
	cr_assert_eq(srx.n, 1);
	cr_assert_eq(srx.type[0], CTL_PING);
	cr_assert_eq(crx.n, 1);
	cr_assert_eq(crx.type[0], CTL_PONG);
	cr_assert_eq(crx.nonce[0], 0x1122334455667788ull);

	/* a burst keeps its order */
	for (uint64_t i = 0; i < 200; i++) {
		m = ping(1000 + i);
		cr_assert_eq(channel_send(c, &m), 0);
	}
	RUN(s, c, crx.n == 201);
	cr_assert_eq(crx.n, 201);
	for (int i = 0; i < 200; i++)
		cr_assert_eq(crx.nonce[1 + i], 1000u + (unsigned)i);

	/* a frame larger than one TLS record (4 KiB) is reassembled */
	struct ctl_msg big = { .type = CTL_ENROLL_OK };

	strcpy(big.u.enroll_ok.name, "node-1");
	strcpy(big.u.enroll_ok.broker_name, "keybroker");
	big.u.enroll_ok.vip4.af = 4;
	memcpy(big.u.enroll_ok.vip4.a, "\x0a\x62\x00\x01", 4);
	big.u.enroll_ok.prefix4.ip.af = 4;
	memcpy(big.u.enroll_ok.prefix4.ip.a, "\x0a\x62\x00\x00", 4);
	big.u.enroll_ok.prefix4.len = 16;
	big.u.enroll_ok.cert_len = CTL_CERT_MAX;
	memset(big.u.enroll_ok.cert, 0xc3, CTL_CERT_MAX);
	big.u.enroll_ok.ca_len = CTL_CERT_MAX;
	memset(big.u.enroll_ok.ca, 0x3c, CTL_CERT_MAX);
	cr_assert_eq(channel_send(s, &big), 0);
	RUN(s, c, crx.n == 202);
	cr_assert_eq(crx.type[201], CTL_ENROLL_OK);
	cr_assert_eq(crx.cert_len, CTL_CERT_MAX);
	cr_assert_eq(crx.cert0, 0xc3);

	/* peer identity through the channel's TLS */
	char name[PKI_NAME_MAX + 1];

	cr_assert_eq(tls_peer_name(channel_tls(s), name), 0);
	cr_assert_str_eq(name, "node-1");
	cr_assert_eq(channel_error(s), CHANNEL_ERR_NONE);
	size_t mem = channel_mem(s);

	fprintf(stderr, "channel_mem = %zu bytes\n", mem);
	cr_assert_lt(mem, 64 * 1024);
	channel_free(s);
	channel_free(c);
}

/* Client side driven by hand: a raw TLS connection on the socket, so we
 * can send bytes a channel never would. */
static void raw_pump(int fd, struct tls_conn *t)
{
	for (int i = 0; i < 1000; i++) {
		bool p = false;
		unsigned st = tls_state(t);
		size_t n;

		if (st & TLS_CLOSED)
			return;
		if (st & TLS_WANT_SEND) {
			const uint8_t *b = tls_send_buf(t, &n);
			ssize_t k = send(fd, b, n, MSG_NOSIGNAL);

			if (k > 0) {
				tls_send_ack(t, (size_t)k);
				p = true;
			}
		}
		if (st & TLS_WANT_RECV) {
			uint8_t *b = tls_recv_buf(t, &n);
			ssize_t k = recv(fd, b, n, 0);

			if (k > 0) {
				tls_recv_ack(t, (size_t)k);
				p = true;
			} else if (k == 0) {
				tls_eof(t);
				return;
			}
		}
		if (!p)
			return;
	}
}

static void garbage_case(const uint8_t *bytes, size_t n, enum ctl_err want)
{
	struct rx srx = { 0 };
	int sv[2];
	struct channel *s;
	struct tls_conn *t;
	enum channel_status st = CHANNEL_OK;
	uint8_t good[] = { 1, CTL_PING, 0, 0, 0, 0, 0, 11, 21, 0, 8, 0, 0, 0, 0, 0, 0, 0, 9 };

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	nonblock(sv[0]);
	nonblock(sv[1]);
	s = channel_new(sv[0], tls_server_new(srv_creds, true), on_frame, &srx);
	t = tls_client_new(cli_creds, "keybroker");
	for (int i = 0; i < 200 && !(tls_state(t) & TLS_READY); i++) {
		raw_pump(sv[1], t);
		cr_assert_eq(channel_io(s), CHANNEL_OK, "%s", channel_strerror(s));
	}
	cr_assert(tls_state(t) & TLS_READY);
	/* one good frame, then the bad bytes */
	uint8_t both[64];

	cr_assert_leq(sizeof good + n, sizeof both);
	memcpy(both, good, sizeof good);
	memcpy(both + sizeof good, bytes, n);
	cr_assert_eq(tls_write(t, both, sizeof good + n), sizeof good + n);
	for (int i = 0; i < 200 && st == CHANNEL_OK; i++) {
		raw_pump(sv[1], t);
		st = channel_io(s);
	}
	cr_assert_eq(st, CHANNEL_CLOSED);
	cr_assert_eq(srx.n, 1, "the good frame first");
	cr_assert_eq(srx.nonce[0], 9);
	cr_assert_eq(channel_error(s), CHANNEL_ERR_PROTOCOL, "%s", channel_strerror(s));
	cr_assert_eq(channel_ctl_error(s), want, "got %s", ctl_strerror(channel_ctl_error(s)));
	cr_assert(strstr(channel_strerror(s), ctl_strerror(want)), "%s", channel_strerror(s));
	cr_assert_eq(channel_events(s), 0);
	cr_assert_eq(channel_send(s, &(struct ctl_msg){ .type = CTL_PING }), -1);
	channel_free(s);
	tls_free(t);
	close(sv[1]);
}

Test(channel, garbage_version_closes)
{
	garbage_case((const uint8_t *)"GET / HTTP/1.1\r\n", 16, CTL_ERR_VERSION);
}

Test(channel, garbage_unknown_type_closes)
{
	garbage_case((const uint8_t *)"\x01\xee\x00\x00\x00\x00\x00\x00", 8, CTL_ERR_TYPE);
}

Test(channel, garbage_oversized_length_closes)
{
	/* caught from the header alone, long before 1 MB arrives */
	garbage_case((const uint8_t *)"\x01\x0c\x00\x00\x00\x10\x00\x00", 8, CTL_ERR_TOO_BIG);
}

Test(channel, garbage_truncated_field_closes)
{
	/* PING whose NONCE field claims 8 bytes but the body holds 2 */
	garbage_case((const uint8_t *)"\x01\x0c\x00\x00\x00\x00\x00\x05\x15\x00\x08\x00\x00", 13,
		     CTL_ERR_TRUNCATED);
}

Test(channel, output_overflow)
{
	struct rx srx = { 0 }, crx = { 0 };
	struct channel *s, *c;
	int small = 4096, i;
	struct ctl_msg m = ping(1);

	pair(&s, &c, &srx, &crx);
	cr_assert_eq(setsockopt(channel_fd(s), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
	RUN(s, c, channel_ready(s) && channel_ready(c));
	/* the client stops reading: the server's queue must hit its bound */
	for (i = 0; i < 100000; i++) {
		if (channel_send(s, &m) < 0)
			break;
		cr_assert_eq(channel_io(s), CHANNEL_OK);
	}
	cr_assert_lt(i, 100000, "queue never filled");
	cr_assert_gt(i, (int)(CHANNEL_OUT_MAX / 19), "queue smaller than CHANNEL_OUT_MAX");
	cr_assert_eq(channel_error(s), CHANNEL_ERR_OVERFLOW, "%s", channel_strerror(s));
	cr_assert_eq(channel_io(s), CHANNEL_CLOSED);
	cr_assert_leq(channel_mem(s), CTL_MAX_FRAME + 1024 + CHANNEL_OUT_MAX + tls_conn_size());
	channel_free(s);
	/* the client sees the connection drop */
	RUN(c, c, channel_error(c) != CHANNEL_ERR_NONE);
	cr_assert_eq(channel_error(c), CHANNEL_ERR_EOF, "%s", channel_strerror(c));
	channel_free(c);
}

Test(channel, handler_close_is_graceful)
{
	struct rx srx = { .stop_after = 3 }, crx = { 0 };
	struct channel *s, *c;
	struct ctl_msg m;

	pair(&s, &c, &srx, &crx);
	for (uint64_t i = 1; i <= 5; i++) {
		m = ping(i);
		cr_assert_eq(channel_send(c, &m), 0);
	}
	RUN(s, c, false);
	cr_assert_eq(srx.n, 3, "frames after the handler's -1 are dropped");
	cr_assert_eq(channel_error(s), CHANNEL_ERR_LOCAL, "%s", channel_strerror(s));
	cr_assert_eq(channel_error(c), CHANNEL_ERR_EOF, "%s", channel_strerror(c));
	cr_assert(strstr(channel_strerror(c), "close_notify"), "%s", channel_strerror(c));
	channel_free(s);
	channel_free(c);
}

Test(channel, close_flushes_queue_first)
{
	struct rx srx = { 0 }, crx = { 0 };
	struct channel *s, *c;
	struct ctl_msg m;

	pair(&s, &c, &srx, &crx);
	RUN(s, c, channel_ready(s) && channel_ready(c));
	for (uint64_t i = 1; i <= 50; i++) {
		m = ping(i);
		cr_assert_eq(channel_send(s, &m), 0);
	}
	channel_close(s);
	cr_assert_eq(channel_send(s, &m), -1, "no sending after close");
	RUN(s, c, false);
	cr_assert_eq(crx.n, 50);
	cr_assert_eq(crx.nonce[49], 50);
	cr_assert_eq(channel_error(s), CHANNEL_ERR_LOCAL);
	cr_assert_eq(channel_error(c), CHANNEL_ERR_EOF);
	channel_free(s);
	channel_free(c);
}

Test(channel, peer_vanishes_is_eof)
{
	struct rx srx = { 0 }, crx = { 0 };
	struct channel *s, *c;

	pair(&s, &c, &srx, &crx);
	RUN(s, c, channel_ready(s) && channel_ready(c));
	channel_free(c);	/* closes the socket without close_notify */
	cr_assert_eq(channel_events(s) & 1, 1, "waits for reading");
	cr_assert_eq(channel_io(s), CHANNEL_CLOSED);
	cr_assert_eq(channel_error(s), CHANNEL_ERR_EOF, "%s", channel_strerror(s));
	cr_assert(strstr(channel_strerror(s), "peer closed the connection"));
	channel_free(s);
}

Test(channel, tls_failure_reported)
{
	struct rx srx = { 0 }, crx = { 0 };
	int sv[2];
	struct channel *s, *c;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	nonblock(sv[0]);
	nonblock(sv[1]);
	s = channel_new(sv[0], tls_server_new(srv_creds, true), on_frame, &srx);
	c = channel_new(sv[1], tls_client_new(cli_creds, "not-the-broker"), on_frame, &crx);
	RUN(s, c, channel_error(c) != CHANNEL_ERR_NONE);
	cr_assert_eq(channel_error(c), CHANNEL_ERR_TLS, "%s", channel_strerror(c));
	cr_assert_eq(channel_tls_error(c), TLS_ERR_X509_BAD_SERVER_NAME);
	cr_assert(strstr(channel_strerror(c), "X509_BAD_SERVER_NAME"), "%s", channel_strerror(c));
	/* BearSSL sends no alert: the caller frees the channel, the server
	 * sees the connection go away mid-handshake */
	channel_free(c);
	cr_assert_eq(channel_io(s), CHANNEL_CLOSED);
	cr_assert_eq(channel_error(s), CHANNEL_ERR_EOF, "%s", channel_strerror(s));
	channel_free(s);
}

Test(channel, events_follow_tls)
{
	struct rx srx = { 0 }, crx = { 0 };
	struct channel *s, *c;

	pair(&s, &c, &srx, &crx);
	cr_assert_eq(channel_events(c) & 2, 2, "client starts by writing its hello (%d)", channel_events(c));
	cr_assert_eq(channel_events(s), 1, "server starts by reading (%d)", channel_events(s));
	RUN(s, c, channel_ready(s) && channel_ready(c));
	RUN(s, c, false);	/* settle */
	cr_assert_eq(channel_events(s), 1, "idle: read only, never busy-loop on write");
	cr_assert_eq(channel_events(c), 1);
	cr_assert_eq(channel_arg(s), &srx);
	channel_set_arg(s, &crx);
	cr_assert_eq(channel_arg(s), &crx);
	channel_free(s);
	channel_free(c);
}

/* A handler that answers one frame with more than the queue holds. */
static int flood_frame(struct channel *ch, const struct ctl_msg *m, void *arg)
{
	int *calls = arg;
	static struct ctl_msg big;

	(void)m;
	(*calls)++;
	memset(&big, 0, sizeof big);
	big.type = CTL_ENROLL_OK;
	strcpy(big.u.enroll_ok.name, "n");
	strcpy(big.u.enroll_ok.broker_name, "b");
	big.u.enroll_ok.vip4.af = 4;
	big.u.enroll_ok.prefix4.ip.af = 4;
	big.u.enroll_ok.cert_len = CTL_CERT_MAX;
	big.u.enroll_ok.ca_len = CTL_CERT_MAX;
	for (int i = 0; i < 40; i++)
		if (channel_send(ch, &big) < 0)
			break;
	return 0;
}

Test(channel, overflow_inside_handler_stops_dispatch)
{
	struct rx crx = { 0 };
	int calls = 0, sv[2];
	struct channel *s, *c;
	struct ctl_msg m;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	nonblock(sv[0]);
	nonblock(sv[1]);
	s = channel_new(sv[0], tls_server_new(srv_creds, true), flood_frame, &calls);
	c = channel_new(sv[1], tls_client_new(cli_creds, "keybroker"), on_frame, &crx);
	for (uint64_t i = 1; i <= 3; i++) {
		m = ping(i);
		cr_assert_eq(channel_send(c, &m), 0);
	}
	/* client writes, server reads all three frames in one go */
	RUN(s, c, channel_error(s) != CHANNEL_ERR_NONE);
	cr_assert_eq(channel_error(s), CHANNEL_ERR_OVERFLOW, "%s", channel_strerror(s));
	cr_assert_eq(calls, 1, "no frame may reach the handler of a closed channel");
	cr_assert_eq(channel_io(s), CHANNEL_CLOSED);
	channel_free(s);
	channel_free(c);
}
