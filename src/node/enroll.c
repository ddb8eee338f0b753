// SPDX-License-Identifier: GPL-2.0-only
/* enroll.c - `mavpn enroll`; contract in enroll.h. */
#include "node/enroll.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "channel/channel.h"
#include "common/config.h"
#include "common/log.h"
#include "crypto/ct.h"
#include "crypto/pki.h"
#include "crypto/tls.h"
#include "node/nodeconf.h"
#include "node/sockaddr.h"
#include "proto/ctl.h"
#include "proto/token.h"

static int fail(char err[static ENROLL_ERR_MAX], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int fail(char err[static ENROLL_ERR_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, ENROLL_ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

static uint64_t now_ms(void)
{
	return log_now_ms();
}

/* Blocking TCP connect with a deadline; returns a non-blocking fd. */
static int tcp_connect(const struct ctl_endpoint *ep, uint64_t deadline, char err[static ENROLL_ERR_MAX])
{
	struct sockaddr_storage ss;
	char a[CTL_ADDRSTRLEN];
	socklen_t sl = sockaddr_from_endpoint(&ss, ep);
	int fd, soerr = 0;
	socklen_t el = sizeof soerr;

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(err, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		fail(err, "cannot connect to broker %s: %s", ctl_endpoint_fmt(ep, a), strerror(errno));
		close(fd);
		return -1;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		uint64_t now = now_ms();
		int n;

		if (now >= deadline) {
			fail(err, "cannot connect to broker %s: timed out", ctl_endpoint_fmt(ep, a));
			close(fd);
			return -1;
		}
		n = poll(&p, 1, (int)(deadline - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0)
			break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) < 0 || soerr) {
		fail(err, "cannot connect to broker %s: %s", ctl_endpoint_fmt(ep, a),
		     strerror(soerr ? soerr : errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct reply {
	bool got;
	struct ctl_msg m;
};

static int on_frame(struct channel *ch, const struct ctl_msg *m, void *arg)
{
	struct reply *r = arg;

	(void)ch;
	if (r->got)
		return 0;
	r->m = *m;
	r->got = true;
	return 0;
}

/* Send req and wait for one frame. */
static int exchange(struct channel *ch, const struct ctl_msg *req, struct reply *r,
		    uint64_t deadline, char err[static ENROLL_ERR_MAX])
{
	if (channel_send(ch, req) < 0)
		return fail(err, "cannot queue %s", ctl_type_name(req->type));
	for (;;) {
		enum channel_status st = channel_io(ch);
		struct pollfd p = { .fd = channel_fd(ch) };
		uint64_t now;
		int ev, n;

		if (r->got)
			return 0;
		if (st == CHANNEL_CLOSED)
			return fail(err, "broker closed the enrollment connection: %s",
				    channel_strerror(ch));
		ev = channel_events(ch);
		p.events = (short)((ev & 1 ? POLLIN : 0) | (ev & 2 ? POLLOUT : 0));
		now = now_ms();
		if (now >= deadline)
			return fail(err, "broker did not answer within %llu ms",
				    (unsigned long long)(deadline - (now - 1)));
		n = poll(&p, 1, (int)(deadline - now));
		if (n < 0 && errno != EINTR)
			return fail(err, "poll: %s", strerror(errno));
		if (n == 0)
			return fail(err, "broker did not answer in time");
	}
}

/*
 * Before the broker is contacted (the token works once): DIR must be a
 * directory we can write and not enrolled yet, or, when missing, its
 * deepest existing ancestor must be a directory we can create entries in.
 * Nothing is created here (make_dir does that after ENROLL_OK).
 */
static int check_dir(const struct enroll_opts *o, char err[static ENROLL_ERR_MAX])
{
	char path[4096];
	struct stat st;
	char *slash;

	if (stat(o->dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return fail(err, "'%s' is not a directory", o->dir);
		if (access(o->dir, W_OK | X_OK) != 0)
			return fail(err, "cannot write to '%s': %s", o->dir, strerror(errno));
		snprintf(path, sizeof path, "%s/%s", o->dir, NODE_CERT_FILE);
		if (!o->force && access(path, F_OK) == 0)
			return fail(err, "'%s' is already enrolled (%s exists; use --force to enroll again)",
				    o->dir, path);
		return 0;
	}
	if (errno != ENOENT && errno != ENOTDIR)
		return fail(err, "cannot use '%s': %s", o->dir, strerror(errno));
	snprintf(path, sizeof path, "%s", o->dir);
	for (;;) {
		while ((slash = strrchr(path, '/')) && slash[1] == 0 && slash > path)
			*slash = 0;	/* trailing slashes */
		slash = strrchr(path, '/');
		if (!slash)
			snprintf(path, sizeof path, ".");
		else if (slash == path)
			path[1] = 0;	/* "/" */
		else
			*slash = 0;
		if (stat(path, &st) == 0)
			break;
		if (errno != ENOENT && errno != ENOTDIR)
			return fail(err, "cannot create directory '%s': %s: %s", o->dir, path,
				    strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return fail(err, "cannot create directory '%s': '%s' is not a directory", o->dir, path);
	if (access(path, W_OK | X_OK) != 0)
		return fail(err, "cannot create directory '%s': %s: %s", o->dir, path, strerror(errno));
	return 0;
}

/* Directories make_dir created, deepest last, for rollback. */
struct made {
	char path[4096];
	unsigned n;
	size_t len[64];		/* each created directory is path[0..len) */
};

static void unmake_dir(struct made *m)
{
	while (m->n) {
		char c;
		size_t l = m->len[--m->n];

		c = m->path[l];
		m->path[l] = 0;
		(void)rmdir(m->path);
		m->path[l] = c;
	}
}

/* mkdir -p: parents 0755 (e.g. /var/lib/mavpn for mavpn@NAME), DIR 0700. */
static int make_dir(const struct enroll_opts *o, struct made *m, char err[static ENROLL_ERR_MAX])
{
	char *p;

	m->n = 0;
	snprintf(m->path, sizeof m->path, "%s", o->dir);
	for (p = m->path + 1;; p++) {
		bool last = *p == 0;

		if (!last && *p != '/')
			continue;
		if (!last && p[1] == 0)
			last = true;	/* trailing '/' */
		*p = 0;
		if (mkdir(m->path, last ? 0700 : 0755) == 0) {
			if (m->n < sizeof m->len / sizeof m->len[0])
				m->len[m->n++] = (size_t)(p - m->path);
		} else if (errno != EEXIST) {
			int e = errno;

			fail(err, "cannot create directory '%s': %s", m->path, strerror(e));
			if (!last)
				*p = '/';
			unmake_dir(m);
			return -1;
		}
		if (last)
			break;
		*p = '/';
	}
	return 0;
}

/* Check ENROLL_OK against the token and our key. */
static int check_reply(const struct ctl_enroll_ok *ok, const struct token *tok,
		       const struct pki_key *key, char err[static ENROLL_ERR_MAX])
{
	uint8_t fpr[PKI_FPR_LEN];
	struct pki_cert_info ci;

	pki_fingerprint(fpr, ok->ca, ok->ca_len);
	if (!ct_memeq(fpr, tok->ca_fpr, PKI_FPR_LEN))
		return fail(err, "broker sent a CA certificate that the token does not pin");
	if (pki_cert_parse(&ci, ok->cert, ok->cert_len) != 0)
		return fail(err, "broker sent an unreadable node certificate");
	if (memcmp(ci.pub, key->pub, PKI_PUB_LEN) != 0)
		return fail(err, "broker's certificate is not for our key");
	if (strcmp(ci.name, ok->name) != 0)
		return fail(err, "certificate name '%s' differs from the assigned name '%s'",
			    ci.name, ok->name);
	if (!pki_cert_verify(ok->cert, ok->cert_len, ok->ca, ok->ca_len, time(NULL)))
		return fail(err, "node certificate does not verify against the CA");
	if (!pki_name_valid(ok->name) || !pki_name_valid(ok->broker_name))
		return fail(err, "broker sent an invalid name");
	if (ok->vip4.af != 4 || ok->prefix4.ip.af != 4)
		return fail(err, "broker sent no IPv4 VIP/prefix");
	return 0;
}

/* The four files, all or none: each is written as NAME.new first
 * (config_write_atomic: fsync, mode 0600), then all are renamed. */
static const char *const out_files[4] = { NODE_CA_FILE, NODE_KEY_FILE, NODE_CERT_FILE,
					  NODECONF_FILE };

static void file_path(char out[static 4096], const char *dir, const char *name, bool tmp)
{
	snprintf(out, 4096, "%s/%s%s", dir, name, tmp ? ".new" : "");
}

static int save(const struct enroll_opts *o, const struct ctl_enroll_ok *ok,
		const struct pki_key *key, const struct ctl_endpoint *broker,
		char err[static ENROLL_ERR_MAX])
{
	static char pem[3][8192], conf[8192];
	char path[4096], dst[4096];
	struct nodeconf nc;
	struct made made;
	unsigned written = 0, i;
	int rc = -1;

	nodeconf_defaults(&nc);
	snprintf(nc.name, sizeof nc.name, "%s", ok->name);
	nc.vip4 = ok->vip4;
	nc.prefix4 = ok->prefix4;
	nc.has_vip6 = ok->has_vip6 && ok->has_prefix6;
	nc.vip6 = ok->vip6;
	nc.has_prefix6 = nc.has_vip6;
	nc.prefix6 = ok->prefix6;
	if (o->listen_port >= 0)
		nc.listen_port = (uint16_t)o->listen_port;
	if (o->ifname)
		snprintf(nc.ifname, sizeof nc.ifname, "%s", o->ifname);
	if (o->mtu)
		nc.mtu = o->mtu;
	nc.broker = *broker;
	snprintf(nc.broker_name, sizeof nc.broker_name, "%s", ok->broker_name);
	nc.n_routes = ok->n_routes;
	memcpy(nc.routes, ok->routes, sizeof nc.routes);
	nc.forward = o->forward;
	if (nodeconf_format(&nc, conf, sizeof conf) < 0)
		return fail(err, "configuration too large");
	if (pki_cert_to_pem(ok->ca, ok->ca_len, pem[0], sizeof pem[0]) < 0)
		return fail(err, "cannot encode the CA certificate");
	if (pki_key_to_pem(key, pem[1], sizeof pem[1]) < 0) {
		fail(err, "cannot encode the node key");
		goto out;
	}
	if (pki_cert_to_pem(ok->cert, ok->cert_len, pem[2], sizeof pem[2]) < 0) {
		fail(err, "cannot encode the node certificate");
		goto out;
	}
	if (make_dir(o, &made, err))
		goto out;
	for (i = 0; i < 4; i++) {
		file_path(path, o->dir, out_files[i], true);
		if (config_write_atomic(path, i < 3 ? pem[i] : conf) != 0) {
			fail(err, "cannot write %s: %s", path, strerror(errno));
			goto undo;
		}
		written++;
	}
	for (i = 0; i < 4; i++) {
		file_path(path, o->dir, out_files[i], true);
		file_path(dst, o->dir, out_files[i], false);
		if (rename(path, dst) != 0) {
			fail(err, "cannot rename %s to %s: %s", path, dst, strerror(errno));
			goto undo;	/* only with a broken file system */
		}
	}
	rc = 0;
	goto out;
undo:
	for (i = 0; i < written; i++) {
		file_path(path, o->dir, out_files[i], true);
		(void)unlink(path);
	}
	unmake_dir(&made);
out:
	ct_wipe(pem, sizeof pem);
	return rc;
}

/* ENROLL_REQ: token secret, the new public key, and the proof that we hold
 * its private key (a signature over ctl_enroll_sig_msg). 0 or -1. */
static int build_req(struct ctl_msg *req, const struct token *tok, const struct pki_key *key)
{
	struct ctl_enroll_req *r = &req->u.enroll_req;
	uint8_t msg[CTL_ENROLL_SIG_MSG_LEN];
	ssize_t n;

	req->type = CTL_ENROLL_REQ;
	memcpy(r->token_secret, tok->secret, CTL_TOKEN_SECRET_LEN);
	memcpy(r->pub, key->pub, CTL_PUB_LEN);
	ctl_enroll_sig_msg(msg, r->token_secret, r->pub);
	n = pki_sign(key, msg, sizeof msg, r->sig);
	ct_wipe(msg, sizeof msg);
	if (n < CTL_SIG_MIN || n > CTL_SIG_MAX)
		return -1;
	r->sig_len = (uint8_t)n;
	return 0;
}

int node_enroll(const struct enroll_opts *o, char *name_out, char *vip_out,
		char err[static ENROLL_ERR_MAX])
{
	static struct ctl_msg req;
	static struct reply rep;
	struct ctl_endpoint broker;
	struct pki_key key;
	struct token tok;
	struct tls_conn *tls = NULL;
	struct channel *ch = NULL;
	uint64_t deadline;
	enum token_err te;
	int fd, rc = -1;

	memset(&key, 0, sizeof key);
	memset(&rep, 0, sizeof rep);
	memset(&req, 0, sizeof req);
	if (ctl_endpoint_parse(&broker, o->broker) != 0)
		return fail(err, "--broker '%s': not IP:PORT", o->broker);
	te = token_decode(&tok, o->token);
	if (te != TOKEN_OK)
		return fail(err, "--token '%.24s%s': %s", o->token,
			    strlen(o->token) > 24 ? "..." : "", token_strerror(te));
	if (check_dir(o, err))
		goto out;
	if (pki_key_generate(&key) != 0) {
		fail(err, "cannot generate the node key");
		goto out;
	}
	if (build_req(&req, &tok, &key) != 0) {
		fail(err, "cannot sign the enrollment request with the node key");
		goto out;
	}
	deadline = now_ms() + (uint64_t)(o->timeout_ms > 0 ? o->timeout_ms : ENROLL_TIMEOUT_MS);
	fd = tcp_connect(&broker, deadline, err);
	if (fd < 0)
		goto out;
	tls = tls_client_new_pinned(tok.ca_fpr, o->broker_name ? o->broker_name : "keybroker");
	if (!tls) {
		close(fd);
		fail(err, "cannot set up TLS");
		goto out;
	}
	ch = channel_new(fd, tls, on_frame, &rep);
	if (!ch) {
		tls_free(tls);
		close(fd);
		fail(err, "out of memory");
		goto out;
	}
	if (exchange(ch, &req, &rep, deadline, err))
		goto out;
	if (rep.m.type == CTL_ERROR) {
		enum ctl_code c = (enum ctl_code)rep.m.u.error.code;
		const char *code = ctl_code_name(c);
		const char *why = rep.m.u.error.reason;
		bool extra = why[0] && strcmp(code, why) != 0;
		/* Token refusals: the broker's text completes the label ("unknown
		 * token: mistyped, ..."). Otherwise its text says it all ("overlay
		 * prefix 10.0.0.0/30 is full"), and a generic label would mislead. */
		bool label = !extra || c == CTL_CODE_TOKEN_UNKNOWN || c == CTL_CODE_TOKEN_USED ||
			     c == CTL_CODE_TOKEN_EXPIRED;

		fail(err, "broker refused the enrollment: %s%s%s", label ? code : "",
		     label && extra ? ": " : "", extra ? why : "");
		goto out;
	}
	if (rep.m.type != CTL_ENROLL_OK) {
		fail(err, "broker answered %s instead of ENROLL_OK", ctl_type_name(rep.m.type));
		goto out;
	}
	if (check_reply(&rep.m.u.enroll_ok, &tok, &key, err) ||
	    save(o, &rep.m.u.enroll_ok, &key, &broker, err))
		goto out;
	if (name_out)
		snprintf(name_out, CTL_NAME_MAX + 1, "%s", rep.m.u.enroll_ok.name);
	if (vip_out)
		ctl_ip_fmt(&rep.m.u.enroll_ok.vip4, vip_out);
	rc = 0;
out:
	if (ch) {
		channel_close(ch);
		(void)channel_io(ch);
		channel_free(ch);
	}
	pki_key_clear(&key);
	ct_wipe(&tok, sizeof tok);
	ct_wipe(&req, sizeof req);
	ct_wipe(&rep, sizeof rep);
	return rc;
}
