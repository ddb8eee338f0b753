/* SPDX-License-Identifier: GPL-2.0-only */
/* kbclient.c - see kbclient.h. */
#include "kbclient.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "crypto/aead.h"
#include "crypto/ct.h"
#include "crypto/hash.h"
#include "crypto/rand.h"
#include "keybroker/admin.h"
#include "keybroker/daemon.h"
#include "keybroker/registry.h"

static uint16_t free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(fd >= 0);
	cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	cr_assert(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
	close(fd);
	return ntohs(sa.sin_port);
}

void fix_write_policy(struct kbfix *f, const char *text)
{
	char path[160];
	FILE *fp;

	snprintf(path, sizeof path, "%s/policy.conf", f->dir);
	fp = fopen(path, "w");
	cr_assert(fp);
	fputs(text, fp);
	fclose(fp);
}

void fix_init(struct kbfix *f, const char *policy)
{
	fix_init_net(f, policy, "10.98.0.0/24", "fd00:98::/64");
}

void fix_init_net(struct kbfix *f, const char *policy, const char *prefix4,
		  const char *prefix6)
{
	char err[KBSTATE_ERR_MAX], listen[64];

	memset(f, 0, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/kbd-test-%d-XXXXXX", (int)getpid());
	cr_assert(mkdtemp(f->dir), "mkdtemp");
	f->port = free_port();
	snprintf(listen, sizeof listen, "127.0.0.1:%u", f->port);
	cr_assert(kbstate_init(f->dir, listen, prefix4, prefix6, NULL, err) == 0,
		  "kbstate_init: %s", err);
	cr_assert(kbstate_load(f->dir, &f->st, err) == 0, "kbstate_load: %s", err);
	if (policy)
		fix_write_policy(f, policy);
}

/* Point DIR/keybroker.conf at another port and reload f->st. */
static void set_port(struct kbfix *f, uint16_t port)
{
	char path[160], tmp[168], line[512], err[KBSTATE_ERR_MAX];
	FILE *in, *out;

	snprintf(path, sizeof path, "%s/keybroker.conf", f->dir);
	snprintf(tmp, sizeof tmp, "%s.new", path);
	in = fopen(path, "r");
	out = fopen(tmp, "w");
	cr_assert(in && out, "%s", path);
	while (fgets(line, sizeof line, in)) {
		if (strncmp(line, "listen", 6) == 0 && strchr(line, '='))
			fprintf(out, "listen = 127.0.0.1:%u\n", port);
		else
			fputs(line, out);
	}
	fclose(in);
	cr_assert_eq(fclose(out), 0);
	cr_assert_eq(rename(tmp, path), 0);
	kbstate_free(&f->st);
	cr_assert(kbstate_load(f->dir, &f->st, err) == 0, "kbstate_load: %s", err);
	f->port = port;
}

/* The TCP port answers with OUR broker: a TLS handshake pinned to this
 * state's CA succeeds only against the daemon holding its key. */
static bool port_is_ours(struct kbfix *f)
{
	struct tclient *c = tc_connect(f->port, tls_client_new_pinned(f->st.ca_fpr, f->st.name));
	bool ok;

	if (!c)
		return false;
	ok = tc_handshake(c, 5000) == 0;
	tc_free(c);
	return ok;
}

/* One start: 0 ready and verified, -1 it exited at start (reported), -2 it
 * runs but the port is not its own (stopped). */
static int start_once(struct kbfix *f)
{
	pid_t parent = getpid();

	f->pid = fork();
	cr_assert(f->pid >= 0);
	if (f->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(99);
		log_init("kbd-test", getenv("KBD_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_WARN);
		exit(keybroker_run(f->dir));
	}
	/* ready when the admin socket (in our own DIR) answers */
	for (int i = 0; i < 1000; i++) {
		char reply[64];
		int st;

		if (admin_request(f->dir, "status", reply, sizeof reply) >= 0) {
			if (port_is_ours(f))
				return 0;
			fprintf(stderr, "fix_start: 127.0.0.1:%u does not answer as this daemon\n",
				f->port);
			fix_stop(f);
			return -2;
		}
		if (waitpid(f->pid, &st, WNOHANG) == f->pid) {
			f->pid = 0;
			fprintf(stderr, "fix_start: daemon exited at start (status %d, port %u)\n",
				st, f->port);
			return -1;
		}
		usleep(10000);
	}
	cr_assert_fail("daemon not ready within 10 s");
	return -1;
}

/*
 * Start the daemon. The port was found free by fix_init (bind to port 0,
 * close), but another process may take it before the daemon binds it: then
 * the daemon exits at start ("bind ...: Address already in use") and we try
 * again on a new free port, a few times.
 */
void fix_start(struct kbfix *f)
{
	for (int attempt = 1; attempt <= 5; attempt++) {
		if (start_once(f) == 0)
			return;
		set_port(f, free_port());
	}
	cr_assert_fail("daemon did not start in 5 attempts (see the lines above)");
}

int fix_stop(struct kbfix *f)
{
	int st;

	if (f->pid <= 0)
		return -1;
	kill(f->pid, SIGTERM);
	for (int i = 0; i < 1000; i++) {
		if (waitpid(f->pid, &st, WNOHANG) == f->pid) {
			f->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		}
		usleep(10000);
	}
	kill(f->pid, SIGKILL);
	waitpid(f->pid, &st, 0);
	f->pid = 0;
	return -1;
}

void fix_cleanup(struct kbfix *f)
{
	char cmd[160];

	if (f->pid > 0)
		fix_stop(f);
	kbstate_free(&f->st);
	if (f->dir[0] && strncmp(f->dir, "/tmp/kbd-test-", 14) == 0) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup of %s failed\n", f->dir);
	}
}

void fix_token(struct kbfix *f, const char *name, const char *tags, const char *routes,
	       int64_t ttl, uint8_t secret[16])
{
	struct registry *r;
	char err[REGISTRY_ERR_MAX];
	uint8_t hash[32];
	int64_t now = time(NULL);

	cr_assert(registry_open(f->st.registry_path, &r, err) == REG_OK, "%s", err);
	cr_assert(rand_bytes(secret, 16) == 0);
	sha256(hash, secret, 16);
	cr_assert(registry_token_add(r, hash, name, tags ? tags : "", routes ? routes : "",
				     now - (ttl < 0 ? 3600 : 0), now + ttl, err) == REG_OK,
		  "token_add: %s", err);
	registry_close(r);
}

int fix_admin(struct kbfix *f, const char *req, char *reply, size_t cap)
{
	return admin_request(f->dir, req, reply, cap);
}

/* ---- clients ---------------------------------------------------------------- */

static int on_frame(struct channel *ch, const struct ctl_msg *m, void *arg)
{
	struct tclient *c = arg;
	struct ctl_msg *copy;

	(void)ch;
	if (c->qt - c->qh >= 64)
		return -1;
	copy = malloc(sizeof *copy);
	if (!copy)
		return -1;
	memcpy(copy, m, sizeof *copy);
	c->q[c->qt++ % 64] = copy;
	return 0;
}

struct tclient *tc_connect(uint16_t port, struct tls_conn *tls)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct tclient *c;
	int fd, one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		tls_free(tls);
		errno = e;
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	c = calloc(1, sizeof *c);
	cr_assert(c);
	c->fd = fd;
	c->ch = channel_new(fd, tls, on_frame, c);
	cr_assert(c->ch);
	return c;
}

static uint64_t now_ms(void)
{
	return log_now_ms();
}

/* One pump round; 0 open, -2 closed. */
static int pump(struct tclient *c, int wait_ms)
{
	struct pollfd p = { .fd = c->fd };
	int ev;

	if (channel_io(c->ch) == CHANNEL_CLOSED)
		return -2;
	ev = channel_events(c->ch);
	p.events = (short)(((ev & 1) ? POLLIN : 0) | ((ev & 2) ? POLLOUT : 0));
	if (p.events)
		poll(&p, 1, wait_ms);
	else
		usleep(1000);
	if (channel_io(c->ch) == CHANNEL_CLOSED)
		return -2;
	return 0;
}

int tc_handshake(struct tclient *c, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	while (!channel_ready(c->ch)) {
		if (now_ms() >= end || pump(c, 20) < 0)
			return -1;
	}
	return 0;
}

int tc_send(struct tclient *c, const struct ctl_msg *m)
{
	if (channel_send(c->ch, m) < 0)
		return -1;
	return channel_io(c->ch) == CHANNEL_CLOSED ? -2 : 0;
}

int tc_recv(struct tclient *c, struct ctl_msg *m, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	int closed = 0;

	for (;;) {
		if (c->qh != c->qt) {
			struct ctl_msg *q = c->q[c->qh++ % 64];

			memcpy(m, q, sizeof *m);
			ct_wipe(q, sizeof *q);
			free(q);
			return 0;
		}
		if (closed)
			return -2;
		if (now_ms() >= end)
			return -1;
		if (pump(c, 20) < 0)
			closed = 1;
	}
}

int tc_expect(struct tclient *c, enum ctl_type t, struct ctl_msg *m, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		uint64_t now = now_ms();
		int r;

		if (now >= end)
			return -1;
		r = tc_recv(c, m, (int)(end - now));
		if (r < 0)
			return r;
		if (m->type == CTL_PING) {
			struct ctl_msg p = { .type = CTL_PONG };

			p.u.ping.nonce = m->u.ping.nonce;
			(void)tc_send(c, &p);
			continue;
		}
		if (m->type == CTL_PONG)
			continue;
		if (m->type == t)
			return 0;
		fprintf(stderr, "tc_expect: wanted %s, got %s\n", ctl_type_name(t),
			ctl_type_name(m->type));
		return -3;
	}
}

bool tc_wait_closed(struct tclient *c, int timeout_ms)
{
	struct ctl_msg *m = malloc(sizeof *m);
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	bool closed = false;

	for (;;) {
		uint64_t now = now_ms();
		int r;

		if (now >= end)
			break;
		r = tc_recv(c, m, (int)(end - now));
		if (r == -2) {
			closed = true;
			break;
		}
		if (r == -1)
			break;
	}
	free(m);
	return closed;
}

void tc_free(struct tclient *c)
{
	if (!c)
		return;
	while (c->qh != c->qt)
		free(c->q[c->qh++ % 64]);
	channel_free(c->ch);
	free(c);
}

/* ---- nodes ---------------------------------------------------------------- */

size_t enroll_sign(const struct pki_key *key, const uint8_t secret[16], const uint8_t pub[65],
		   uint8_t sig[static CTL_SIG_MAX])
{
	uint8_t msg[CTL_ENROLL_SIG_MSG_LEN];
	ssize_t n;

	ctl_enroll_sig_msg(msg, secret, pub);
	n = pki_sign(key, msg, sizeof msg, sig);
	ct_wipe(msg, sizeof msg);
	cr_assert(n >= CTL_SIG_MIN && n <= CTL_SIG_MAX, "pki_sign returned %zd", n);
	return (size_t)n;
}

int enroll_raw(struct kbfix *f, const uint8_t secret[16], const struct pki_key *key,
	       struct ctl_msg *m)
{
	uint8_t sig[CTL_SIG_MAX];
	size_t n = enroll_sign(key, secret, key->pub, sig);

	return enroll_raw_sig(f, secret, key->pub, sig, n, m);
}

int enroll_raw_sig(struct kbfix *f, const uint8_t secret[16], const uint8_t pub[65],
		   const uint8_t *sig, size_t sig_len, struct ctl_msg *m)
{
	struct tclient *c = tc_connect(f->port, tls_client_new_pinned(f->st.ca_fpr, f->st.name));
	struct ctl_msg req = { .type = CTL_ENROLL_REQ };
	uint64_t t0 = now_ms();
	int r = -1, k;

	if (!c) {
		fprintf(stderr, "enroll_raw: connect to 127.0.0.1:%u: %s\n", f->port,
			strerror(errno));
		return -1;
	}
	memcpy(req.u.enroll_req.token_secret, secret, 16);
	memcpy(req.u.enroll_req.pub, pub, 65);
	cr_assert(sig_len <= CTL_SIG_MAX);
	memcpy(req.u.enroll_req.sig, sig, sig_len);
	req.u.enroll_req.sig_len = (uint8_t)sig_len;
	if (tc_handshake(c, 5000) != 0)
		fprintf(stderr, "enroll_raw: TLS handshake with 127.0.0.1:%u failed after %llu ms: "
			"%s\n", f->port, (unsigned long long)(now_ms() - t0),
			channel_strerror(c->ch));
	else if ((k = tc_send(c, &req)) != 0) {
		/* The pump that flushed the request may also have read the whole
		 * answer and the broker's close (it answers, then closes): the
		 * channel is closed, the answer queued. Only nothing is a failure. */
		if (tc_recv(c, m, 0) == 0)
			r = 0;
		else
			fprintf(stderr, "enroll_raw: sending ENROLL_REQ failed (%d): %s, nothing "
				"received\n", k, channel_strerror(c->ch));
	}
	else if ((k = tc_recv(c, m, 5000)) != 0)
		fprintf(stderr, "enroll_raw: no reply to ENROLL_REQ: %s after %llu ms (%s)\n",
			k == -2 ? "connection closed" : "timed out",
			(unsigned long long)(now_ms() - t0), channel_strerror(c->ch));
	else
		r = 0;
	tc_free(c);
	return r;
}

int tnode_enroll(struct kbfix *f, struct tnode *n, const char *name, const char *tags,
		 const char *routes)
{
	uint8_t secret[16];
	struct ctl_msg *m = calloc(1, sizeof *m);
	char err[256];
	int r;

	memset(n, 0, sizeof *n);
	snprintf(n->name, sizeof n->name, "%s", name);
	cr_assert(pki_key_generate(&n->key) == 0);
	fix_token(f, name, tags, routes, 3600, secret);
	r = enroll_raw(f, secret, &n->key, m);
	if (r == 0 && m->type == CTL_ERROR) {
		r = m->u.error.code;
		fprintf(stderr, "tnode_enroll(%s): refused: code %d (%s): %s\n", name, r,
			ctl_code_name((enum ctl_code)r), m->u.error.reason);
	} else if (r == 0 && m->type != CTL_ENROLL_OK) {
		fprintf(stderr, "tnode_enroll(%s): answered %s instead of ENROLL_OK\n", name,
			ctl_type_name(m->type));
		r = -1;
	} else if (r != 0) {
		fprintf(stderr, "tnode_enroll(%s): no answer (see enroll_raw above)\n", name);
	}
	if (r == 0) {
		n->ok = m->u.enroll_ok;
		memcpy(n->cert, m->u.enroll_ok.cert, m->u.enroll_ok.cert_len);
		n->cert_len = m->u.enroll_ok.cert_len;
		n->creds = tls_creds_new(n->cert, n->cert_len, m->u.enroll_ok.ca,
					 m->u.enroll_ok.ca_len, &n->key, err, sizeof err);
		cr_assert(n->creds, "creds: %s", err);
	}
	free(m);
	return r;
}

int tnode_up(struct kbfix *f, struct tnode *n)
{
	struct ctl_msg *m = calloc(1, sizeof *m);
	int r = -1;

	tc_free(n->c);
	n->c = tc_connect(f->port, tls_client_new(n->creds, f->st.name));
	if (!n->c)
		goto out;
	/* a refusal (ERROR + close) may arrive together with the end of the
	 * handshake: then the ERROR frame is already queued */
	if (tc_handshake(n->c, 5000) < 0) {
		if (tc_recv(n->c, m, 0) == 0 && m->type == CTL_ERROR)
			r = m->u.error.code;
		goto out;
	}
	memset(m, 0, sizeof *m);
	m->type = CTL_HELLO;
	if (!n->data_port)
		n->data_port = (uint16_t)(20000 + rand_uniform(20000));
	m->u.hello.data_port = n->data_port;
	m->u.hello.aead_mask = AEAD_MASK(AEAD_CHACHA20_POLY1305) | AEAD_MASK(AEAD_AES256_GCM);
	m->u.hello.n_endpoints = 1;
	m->u.hello.endpoints[0].ip.af = 4;
	m->u.hello.endpoints[0].ip.a[0] = 192;
	m->u.hello.endpoints[0].ip.a[1] = 0;
	m->u.hello.endpoints[0].ip.a[2] = 2;
	m->u.hello.endpoints[0].ip.a[3] = 7;
	m->u.hello.endpoints[0].port = n->data_port;
	/* the broker may refuse (ERROR, close) before HELLO even leaves:
	 * read what it sent either way */
	(void)tc_send(n->c, m);
	r = tc_recv(n->c, m, 5000);
	if (r == 0 && m->type == CTL_WELCOME) {
		n->welcome = m->u.welcome;
		r = 0;
	} else if (r == 0 && m->type == CTL_ERROR) {
		r = m->u.error.code;
	} else {
		r = -1;
	}
out:
	free(m);
	return r;
}

void tnode_free(struct tnode *n)
{
	tc_free(n->c);
	n->c = NULL;
	tls_creds_free(n->creds);
	n->creds = NULL;
	pki_key_clear(&n->key);
}

/* ---- raw TLS ---------------------------------------------------------------- */

int raw_connect(struct rawtls *r, uint16_t port, struct tls_conn *tls)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->tls = tls;
	r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->fd < 0 || connect(r->fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		return -1;
	fcntl(r->fd, F_SETFL, fcntl(r->fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

/* One round: -2 closed (EOF or TLS closed), 0 otherwise. */
static int raw_pump(struct rawtls *r, int wait_ms)
{
	unsigned st = tls_state(r->tls);
	struct pollfd p = { .fd = r->fd };

	if (st & TLS_CLOSED)
		return -2;
	if (st & TLS_WANT_SEND) {
		size_t n;
		const uint8_t *b = tls_send_buf(r->tls, &n);
		ssize_t k = send(r->fd, b, n, MSG_NOSIGNAL);

		if (k > 0)
			tls_send_ack(r->tls, (size_t)k);
		else if (k < 0 && errno != EAGAIN) {
			tls_eof(r->tls);
			return -2;
		}
	}
	st = tls_state(r->tls);
	p.events = (short)(((st & TLS_WANT_RECV) ? POLLIN : 0) |
			   ((st & TLS_WANT_SEND) ? POLLOUT : 0));
	if (!p.events)
		p.events = POLLIN;
	poll(&p, 1, wait_ms);
	if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
		uint8_t junk[4096];
		size_t n;
		uint8_t *b = (tls_state(r->tls) & TLS_WANT_RECV) ? tls_recv_buf(r->tls, &n) : NULL;
		ssize_t k;

		if (!b) {
			b = junk;
			n = sizeof junk;
		}
		k = recv(r->fd, b, n, 0);
		if (k == 0 || (k < 0 && errno != EAGAIN)) {
			tls_eof(r->tls);
			return -2;
		}
		if (k > 0 && b != junk)
			tls_recv_ack(r->tls, (size_t)k);
		if (b != junk) {
			uint8_t app[512];

			while (tls_read(r->tls, app, sizeof app) > 0)
				;
		}
	}
	return (tls_state(r->tls) & TLS_CLOSED) ? -2 : 0;
}

int raw_handshake(struct rawtls *r, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	while (!(tls_state(r->tls) & TLS_READY)) {
		if (now_ms() >= end || raw_pump(r, 20) < 0)
			return -1;
	}
	return 0;
}

int raw_write(struct rawtls *r, const void *buf, size_t n, bool plain)
{
	const uint8_t *p = buf;

	if (plain)
		return send(r->fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
	for (int i = 0; i < 200 && n; i++) {
		size_t k = tls_write(r->tls, p, n);

		p += k;
		n -= k;
		if (raw_pump(r, 5) < 0)
			break;
	}
	for (int i = 0; i < 20; i++)
		if (raw_pump(r, 5) < 0)
			break;
	return n ? -1 : 0;
}

bool raw_wait_closed(struct rawtls *r, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	while (now_ms() < end) {
		if (r->tls && raw_pump(r, 20) < 0)
			return true;
		if (!r->tls) {
			char b[256];
			struct pollfd p = { .fd = r->fd, .events = POLLIN };
			ssize_t k;

			poll(&p, 1, 20);
			k = recv(r->fd, b, sizeof b, 0);
			if (k == 0 || (k < 0 && errno != EAGAIN))
				return true;
		}
	}
	return false;
}

void raw_free(struct rawtls *r)
{
	if (r->fd >= 0)
		close(r->fd);
	tls_free(r->tls);
	r->fd = -1;
	r->tls = NULL;
}
