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

static int write_file(const char *dir, const char *name, const char *text,
		      char err[static ENROLL_ERR_MAX])
{
	char path[4096];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (config_write_atomic(path, text) != 0)
		return fail(err, "cannot write %s: %s", path, strerror(errno));
	return 0;
}

static int check_dir(const struct enroll_opts *o, char err[static ENROLL_ERR_MAX])
{
	char path[4096];
	struct stat st;

	/* mkdir -p: parents 0755 (e.g. /var/lib/mavpn for mavpn@NAME), DIR 0700 */
	snprintf(path, sizeof path, "%s", o->dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return fail(err, "cannot create directory '%s': %s", path, strerror(errno));
		*p = '/';
	}
	if (mkdir(o->dir, 0700) < 0 && errno != EEXIST)
		return fail(err, "cannot create directory '%s': %s", o->dir, strerror(errno));
	if (stat(o->dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return fail(err, "'%s' is not a directory", o->dir);
	snprintf(path, sizeof path, "%s/%s", o->dir, NODE_CERT_FILE);
	if (!o->force && access(path, F_OK) == 0)
		return fail(err, "'%s' is already enrolled (%s exists; use --force to enroll again)",
			    o->dir, path);
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

static int save(const struct enroll_opts *o, const struct ctl_enroll_ok *ok,
		const struct pki_key *key, const struct ctl_endpoint *broker,
		char err[static ENROLL_ERR_MAX])
{
	static char pem[8192], conf[8192];
	struct nodeconf nc;
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

	if (pki_cert_to_pem(ok->ca, ok->ca_len, pem, sizeof pem) < 0)
		return fail(err, "cannot encode the CA certificate");
	if (write_file(o->dir, NODE_CA_FILE, pem, err))
		goto out;
	if (pki_key_to_pem(key, pem, sizeof pem) < 0) {
		fail(err, "cannot encode the node key");
		goto out;
	}
	if (write_file(o->dir, NODE_KEY_FILE, pem, err))
		goto out;
	if (pki_cert_to_pem(ok->cert, ok->cert_len, pem, sizeof pem) < 0) {
		fail(err, "cannot encode the node certificate");
		goto out;
	}
	if (write_file(o->dir, NODE_CERT_FILE, pem, err) ||
	    write_file(o->dir, NODECONF_FILE, conf, err))
		goto out;
	rc = 0;
out:
	ct_wipe(pem, sizeof pem);
	return rc;
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
	req.type = CTL_ENROLL_REQ;
	memcpy(req.u.enroll_req.token_secret, tok.secret, CTL_TOKEN_SECRET_LEN);
	memcpy(req.u.enroll_req.pub, key.pub, CTL_PUB_LEN);
	if (exchange(ch, &req, &rep, deadline, err))
		goto out;
	if (rep.m.type == CTL_ERROR) {
		const char *code = ctl_code_name((enum ctl_code)rep.m.u.error.code);
		bool extra = rep.m.u.error.reason[0] && strcmp(code, rep.m.u.error.reason) != 0;

		fail(err, "broker refused the enrollment: %s%s%s", code, extra ? ": " : "",
		     extra ? rep.m.u.error.reason : "");
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
