// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon.c - node daemon startup and teardown, signals, readiness (pipe to
 * `mavpn up`, sd_notify without libsystemd), the control socket, and the
 * CLI's up/down/status clients. Contract in daemon.h; shared state in node.h.
 */
#include "node/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/proc.h"
#include "crypto/ct.h"
#include "crypto/pki.h"
#include "crypto/rand.h"
#include "node/control.h"
#include "node/enroll.h"
#include "node/node.h"

/* ---- readiness ---------------------------------------------------------- */

static void ready_write(struct node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ready_write(struct node *n, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int len;

	if (n->ready_fd < 0)
		return;
	va_start(ap, fmt);
	len = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if ((size_t)len > sizeof line - 2)
		len = (int)sizeof line - 2;
	line[len++] = '\n';
	if (write(n->ready_fd, line, (size_t)len) < 0)
		log_debug("readiness pipe: %s", strerror(errno));
}

/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET. */
static void sd_notify_text(const char *text)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t sl;
	int fd;

	if (!path || !*path || strlen(path) >= sizeof sa.sun_path)
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = 0;	/* abstract namespace */
	sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, text, strlen(text), MSG_NOSIGNAL, (struct sockaddr *)&sa, sl) < 0)
		log_debug("NOTIFY_SOCKET: %s", strerror(errno));
	close(fd);
}

void node_ready(struct node *n)
{
	char a[CTL_ADDRSTRLEN], text[256];

	log_info("ready: %s on %s, vip %s, udp port %u", n->conf.name, n->tun.ifname,
		 ctl_ip_fmt(&n->conf.vip4, a), n->udp_port);
	if (n->ready_fd >= 0) {
		ready_write(n, "ok %d %s", (int)getpid(), n->tun.ifname);
		close(n->ready_fd);
		n->ready_fd = -1;
	}
	snprintf(text, sizeof text, "READY=1\nSTATUS=%s on %s, vip %s\nMAINPID=%d", n->conf.name,
		 n->tun.ifname, a, (int)getpid());
	sd_notify_text(text);
}

/* Before readiness: tell `mavpn up` why the broker is not there yet. */
void node_wait_reason(struct node *n, const char *reason)
{
	ready_write(n, "wait %s", reason);
}

static void fatal_line(struct node *n, int code, const char *line)
{
	log_error("%s", line);
	ready_write(n, "error %s", line);
	if (n->ready_fd >= 0) {
		close(n->ready_fd);
		n->ready_fd = -1;
	}
	n->exit_code = code;
	n->stopping = true;
	ev_break(n->loop, EVBREAK_ALL);
}

void node_fatal(struct node *n, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fatal_line(n, 1, line);
}

void node_fatal_code(struct node *n, int code, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fatal_line(n, code, line);
}

void node_revoked(struct node *n, const char *why)
{
	struct icmp_ctx ctx = { n, ICMP_UNREACH_ADMIN, DROP_NO_SESSION };
	struct pending_dst *pd, *next;
	struct peer *p;
	char text[256];
	unsigned peers = 0;

	log_error("this node was revoked by the keybroker; re-enroll with a new token "
		  "(%s; no more reconnects, `mavpn down` removes the interface)", why);
	/* Our peers erase their keys for us anyway: drop ours, answer what
	 * waits with ICMP admin prohibited. */
	router_for_each_peer(&n->rt, p) {
		if (p->req.active)
			peer_request_cancel(&n->rt, p);
		peer_erase_sessions(&n->rt, p);
		pending_flush(&p->queue, send_icmp_unreach_cb, &ctx);
		peers++;
	}
	for (pd = n->rt.pending; pd; pd = next) {
		next = pd->next;
		pending_flush(&pd->queue, send_icmp_unreach_cb, &ctx);
		router_pending_remove(&n->rt, pd);
	}
	if (peers)
		log_info("erased the sessions with %u peers", peers);
	n->exit_code = NODE_EXIT_REVOKED;
	snprintf(text, sizeof text, "STATUS=revoked by the keybroker: re-enroll with a new token");
	sd_notify_text(text);
}

/* ---- files -------------------------------------------------------------- */

static char *read_file(const char *dir, const char *name, size_t *len, char *err, size_t errlen)
{
	char path[NODE_PATH_MAX];
	struct stat st;
	char *buf = NULL;
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || st.st_size > 65536) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 st.st_size > 65536 ? "too large" : strerror(errno));
		close(fd);
		return NULL;
	}
	buf = calloc(1, (size_t)st.st_size + 2);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size) {
		snprintf(err, errlen, "cannot read %s", path);
		free(buf);
		close(fd);
		return NULL;
	}
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* The identity key must not be readable by anyone but its owner. */
static int key_private(const char *dir, char *err, size_t errlen)
{
	char path[NODE_PATH_MAX];
	struct stat st;

	snprintf(path, sizeof path, "%s/%s", dir, NODE_KEY_FILE);
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s: mode %04o lets others read the node's private key; "
			 "run: chmod 600 %s", path, (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	return 0;
}

static int load_identity(struct node *n, char *err, size_t errlen)
{
	uint8_t cert[PKI_CERT_MAX], ca[PKI_CERT_MAX];
	ssize_t cert_len, ca_len;
	struct pki_key key;
	char *pem;
	size_t len;
	int rc = -1;

	memset(&key, 0, sizeof key);
	pem = read_file(n->dir, NODE_CERT_FILE, &len, err, errlen);
	if (!pem)
		return -1;
	cert_len = pki_cert_from_pem(cert, sizeof cert, pem, len);
	free(pem);
	if (cert_len < 0) {
		snprintf(err, errlen, "%s/%s: no certificate", n->dir, NODE_CERT_FILE);
		return -1;
	}
	pem = read_file(n->dir, NODE_CA_FILE, &len, err, errlen);
	if (!pem)
		return -1;
	ca_len = pki_cert_from_pem(ca, sizeof ca, pem, len);
	free(pem);
	if (ca_len < 0) {
		snprintf(err, errlen, "%s/%s: no certificate", n->dir, NODE_CA_FILE);
		return -1;
	}
	if (key_private(n->dir, err, errlen) != 0)
		return -1;
	pem = read_file(n->dir, NODE_KEY_FILE, &len, err, errlen);
	if (!pem)
		return -1;
	{
		char kerr[128];

		if (pki_key_from_pem(&key, pem, len, kerr, sizeof kerr) != 0) {
			snprintf(err, errlen, "%s/%s: %s", n->dir, NODE_KEY_FILE, kerr);
			goto out;
		}
	}
	n->creds = tls_creds_new(cert, (size_t)cert_len, ca, (size_t)ca_len, &key, err, errlen);
	if (!n->creds)
		goto out;
	rc = 0;
out:
	ct_wipe(pem, len);
	free(pem);
	pki_key_clear(&key);
	return rc;
}

/* ---- IP forwarding (gateway, only with forward = yes) ------------------- */

static char sysctl_get(const char *path)
{
	char c = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = 0;
		close(fd);
	}
	return c;
}

static int sysctl_set(const char *path, char v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int rc = -1;

	if (fd >= 0) {
		rc = write(fd, &v, 1) == 1 ? 0 : -1;
		close(fd);
	}
	return rc;
}

#define FWD4 "/proc/sys/net/ipv4/ip_forward"
#define FWD6 "/proc/sys/net/ipv6/conf/all/forwarding"

static void forwarding_on(struct node *n)
{
	n->old_fwd4 = sysctl_get(FWD4);
	if (n->old_fwd4 != '1') {
		if (sysctl_set(FWD4, '1') < 0)
			log_warn_errno("cannot enable %s", FWD4);
		else
			log_info("gateway: enabled IPv4 forwarding");
	}
	if (n->conf.has_vip6) {
		n->old_fwd6 = sysctl_get(FWD6);
		if (n->old_fwd6 != '1' && sysctl_set(FWD6, '1') < 0)
			log_warn_errno("cannot enable %s", FWD6);
	}
}

static void forwarding_restore(struct node *n)
{
	if (n->old_fwd4 == '0')
		(void)sysctl_set(FWD4, '0');
	if (n->old_fwd6 == '0')
		(void)sysctl_set(FWD6, '0');
	n->old_fwd4 = n->old_fwd6 = 0;
}

/* ---- TUN ---------------------------------------------------------------- */

static void to_tun_prefix(struct tun_prefix *t, const struct ctl_ip *ip, unsigned len)
{
	memset(t, 0, sizeof *t);
	t->family = ip->af == 4 ? AF_INET : AF_INET6;
	memcpy(t->addr, ip->a, ip->af == 4 ? 4 : 16);
	t->len = (uint8_t)len;
}

static int tun_setup(struct node *n, char *err, size_t errlen)
{
	static struct tun_config cfg;
	char terr[TUN_ERR_MAX];

	if (nl_open(&n->nl, terr) != 0) {
		snprintf(err, errlen, "%s", terr);
		return -1;
	}
	if (n->conf.attach && if_nametoindex(n->conf.ifname) == 0) {
		snprintf(err, errlen, "[node] attach = yes but interface '%s' does not exist "
			 "(create it first, e.g. systemd/mavpn0.netdev)", n->conf.ifname);
		return -1;
	}
	if (tun_open(&n->tun, n->conf.ifname, TUN_O_NONBLOCK, terr) != 0) {
		snprintf(err, errlen, "%s", terr);
		return -1;
	}
	memset(&cfg, 0, sizeof cfg);
	cfg.mtu = n->conf.mtu;
	cfg.txqueuelen = n->conf.txqueuelen;
	to_tun_prefix(&cfg.addrs[cfg.n_addrs++], &n->conf.vip4, n->conf.prefix4.len);
	if (n->conf.has_vip6)
		to_tun_prefix(&cfg.addrs[cfg.n_addrs++], &n->conf.vip6, n->conf.prefix6.len);
	if (tun_configure(&n->tun, &n->nl, &cfg, terr) != 0) {
		snprintf(err, errlen, "%s", terr);
		return -1;
	}
	log_info("interface %s up, mtu %u, txqueuelen %u", n->tun.ifname, n->conf.mtu,
		 n->conf.txqueuelen);
	return 0;
}

void node_set_routes(struct node *n, const struct ctl_prefix *want, uint8_t n_want)
{
	char terr[TUN_ERR_MAX], a[CTL_ADDRSTRLEN];
	struct tun_prefix tp;
	uint8_t keep = 0;

	for (unsigned i = 0; i < n->n_routes; i++) {
		bool still = false;

		for (unsigned j = 0; j < n_want; j++)
			if (n->routes[i].len == want[j].len && ctl_ip_eq(&n->routes[i].ip, &want[j].ip))
				still = true;
		if (still) {
			n->routes[keep++] = n->routes[i];
			continue;
		}
		to_tun_prefix(&tp, &n->routes[i].ip, n->routes[i].len);
		if (tun_route_del(&n->tun, &n->nl, &tp, terr) != 0)
			log_warn("%s", terr);
		else
			log_info("route %s removed", ctl_prefix_fmt(&n->routes[i], a));
	}
	n->n_routes = keep;
	for (unsigned j = 0; j < n_want; j++) {
		bool have = false;

		for (unsigned i = 0; i < n->n_routes; i++)
			if (n->routes[i].len == want[j].len && ctl_ip_eq(&n->routes[i].ip, &want[j].ip))
				have = true;
		if (have || n->n_routes >= CTL_MAX_PREFIXES)
			continue;
		/* Our own LAN (we are its gateway) and the overlay stay as they are. */
		if (ctl_prefix_contains(&n->conf.prefix4, &want[j].ip) && want[j].len >= n->conf.prefix4.len)
			continue;
		for (unsigned k = 0; k < n->n_own_routes; k++)
			if (n->own_routes[k].len == want[j].len &&
			    ctl_ip_eq(&n->own_routes[k].ip, &want[j].ip))
				have = true;
		if (have)
			continue;
		to_tun_prefix(&tp, &want[j].ip, want[j].len);
		if (tun_route_add(&n->tun, &n->nl, &tp, terr) != 0) {
			log_warn("%s", terr);
			continue;
		}
		log_info("route %s via %s", ctl_prefix_fmt(&want[j], a), n->tun.ifname);
		n->routes[n->n_routes++] = want[j];
	}
}

/* ---- control socket ----------------------------------------------------- */

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t k = send(fd, buf, len, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		buf += k;
		len -= (size_t)k;
	}
}

static void control_serve(struct node *n, int fd)
{
	struct timeval tv = { 0, 500000 };
	char line[CONTROL_LINE_MAX];
	size_t len = 0;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	tv.tv_sec = 2;
	tv.tv_usec = 0;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	while (len < sizeof line - 1) {
		ssize_t k = recv(fd, line + len, sizeof line - 1 - len, 0);

		if (k <= 0)
			break;
		len += (size_t)k;
		if (memchr(line, '\n', len))
			break;
	}
	line[len] = 0;
	line[strcspn(line, "\r\n")] = 0;
	if (strcmp(line, "stop") == 0) {
		log_info("stop requested over %s", CONTROL_SOCK);
		write_all(fd, "ok\n", 3);
		n->stopping = true;
		ev_break(n->loop, EVBREAK_ALL);
	} else if (strcmp(line, "status") == 0 || strcmp(line, "status-json") == 0) {
		struct node_status *s = calloc(1, sizeof *s);
		size_t cap = 1 << 18;
		char *out = malloc(cap);
		int k;

		if (!s || !out) {
			write_all(fd, "error: out of memory\n", 21);
		} else {
			node_status_fill(n, s);
			write_all(fd, "ok\n", 3);
			k = line[6] ? status_json(s, out, cap) : status_text(s, out, cap);
			if (k > 0)
				write_all(fd, out, (size_t)k);
		}
		free(s);
		free(out);
	} else {
		char msg[CONTROL_LINE_MAX + 32];
		int k = snprintf(msg, sizeof msg, "error: unknown request '%s'\n", line);

		write_all(fd, msg, (size_t)k);
	}
}

static void control_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct node *n = w->data;
	int fd;

	(void)loop;
	(void)revents;
	for (int i = 0; i < 4; i++) {
		fd = accept4(n->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		control_serve(n, fd);
		close(fd);
	}
}

/* ---- signals ------------------------------------------------------------ */

static const char *log_level_label(int level)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };

	return level >= 0 && level < 4 ? names[level] : "?";
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct node *n = w->data;

	(void)revents;
	if (w->signum == SIGHUP) {
		struct nodeconf nc;
		char err[NODECONF_ERR_MAX], path[NODE_PATH_MAX];

		snprintf(path, sizeof path, "%s/%s", n->dir, NODECONF_FILE);
		if (nodeconf_load(&nc, path, err) != 0) {
			log_warn("reload: %s (keeping the running configuration)", err);
			return;
		}
		if (n->cli_log_level >= 0) {
			log_info("reload: log level stays %s (set on the command line; mavpn.conf "
				 "says %s)", log_level_label(n->cli_log_level),
				 log_level_label(nc.log_level));
			return;
		}
		log_set_level((enum log_level)nc.log_level);
		log_info("reload: log level %s", log_level_label(nc.log_level));
		return;
	}
	if (w->signum == SIGPIPE)
		return;
	log_info("signal %d: stopping", w->signum);
	n->stopping = true;
	ev_break(loop, EVBREAK_ALL);
}

static void signal_watch(struct node *n, ev_signal *w, int sig)
{
	ev_signal_init(w, signal_cb, sig);
	w->data = n;
	ev_signal_start(n->loop, w);
}

/* ---- run ---------------------------------------------------------------- */

static void teardown(struct node *n)
{
	char path[NODE_PATH_MAX];

	broker_stop(n);
	timers_stop(n);
	if (n->tun_w.data)
		ev_io_stop(n->loop, &n->tun_w);
	if (n->ctl_fd >= 0) {
		ev_io_stop(n->loop, &n->ctl_w);
		close(n->ctl_fd);
		snprintf(path, sizeof path, "%s/%s", n->dir, CONTROL_SOCK);
		unlink(path);
		n->ctl_fd = -1;
	}
	udp_close(n);
	if (n->tun.fd >= 0) {
		char terr[TUN_ERR_MAX];

		if (tun_unconfigure(&n->tun, &n->nl, terr) != 0)
			log_warn("teardown: %s", terr);
		tun_close(&n->tun);
		log_info("interface removed");
	}
	nl_close(&n->nl);
	forwarding_restore(n);
	if (n->rt_ready) {
		router_free(&n->rt);
		n->rt_ready = false;
	}
	tls_creds_free(n->creds);
	n->creds = NULL;
	if (n->pid_fd >= 0) {
		snprintf(path, sizeof path, "%s/%s", n->dir, CONTROL_PIDFILE);
		unlink(path);
		close(n->pid_fd);
		n->pid_fd = -1;
	}
	free(n->txbuf);
	free(n->rxbuf);
	n->txbuf = n->rxbuf = NULL;
}

static void tun_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	send_tun_readable(w->data);
}

static int startup(struct node *n, const struct daemon_opts *o, char *err, size_t errlen)
{
	char path[NODE_PATH_MAX], cerr[NODECONF_ERR_MAX];
	struct router_config rc = { 0 };
	pid_t holder;
	int r;

	snprintf(path, sizeof path, "%s/%s", n->dir, NODECONF_FILE);
	if (nodeconf_load(&n->conf, path, cerr) != 0) {
		snprintf(err, errlen, "%s", cerr);
		return -1;
	}
	log_set_level((enum log_level)(o->log_level >= 0 ? o->log_level : n->conf.log_level));
	r = control_pidfile_lock(n->dir, &n->pid_fd, &holder);
	if (r == 1) {
		snprintf(err, errlen, "already running, pid %d (%s)", (int)holder, n->dir);
		return -1;
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot lock %s/%s: %s", n->dir, CONTROL_PIDFILE, strerror(errno));
		return -1;
	}
	if (control_pidfile_write(n->pid_fd, getpid()) < 0) {
		snprintf(err, errlen, "cannot write %s/%s: %s", n->dir, CONTROL_PIDFILE, strerror(errno));
		return -1;
	}
	if (load_identity(n, err, errlen) != 0)
		return -1;
	n->txbuf = malloc(NODE_BUF_SIZE);
	n->rxbuf = malloc(NODE_BUF_SIZE);
	if (!n->txbuf || !n->rxbuf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc.expected_peers = 64;
	rc.req_timeout_ms = NODE_REQ_TIMEOUT_MS;
	if (router_init(&n->rt, &rc) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n->rt_ready = true;
	if (tun_setup(n, err, errlen) != 0)
		return -1;
	if (n->conf.forward)
		forwarding_on(n);
	if (udp_open(n, err, errlen) != 0)
		return -1;
	n->ctl_fd = control_listen(n->dir);
	if (n->ctl_fd < 0) {
		snprintf(err, errlen, "cannot listen on %s/%s: %s", n->dir, CONTROL_SOCK, strerror(errno));
		return -1;
	}
	ev_io_init(&n->ctl_w, control_cb, n->ctl_fd, EV_READ);
	n->ctl_w.data = n;
	ev_io_start(n->loop, &n->ctl_w);
	ev_io_init(&n->tun_w, tun_cb, n->tun.fd, EV_READ);
	n->tun_w.data = n;
	ev_io_start(n->loop, &n->tun_w);
	signal_watch(n, &n->sig_term, SIGTERM);
	signal_watch(n, &n->sig_int, SIGINT);
	signal_watch(n, &n->sig_hup, SIGHUP);
	signal_watch(n, &n->sig_pipe, SIGPIPE);
	timers_start(n);
	broker_start(n);
	return 0;
}

int node_daemon_run(const struct daemon_opts *o)
{
	static struct node node;
	struct node *n = &node;
	char err[1024];

	memset(n, 0, sizeof *n);
	proc_no_core_dumps();	/* before the node key and session keys exist */
	n->loop = ev_default_loop(EVFLAG_AUTO);
	if (!n->loop) {
		log_error("cannot create the event loop");
		return 1;
	}
	snprintf(n->dir, sizeof n->dir, "%s", o->dir);
	n->ready_fd = o->ready_fd;
	n->foreground = o->foreground;
	n->cli_log_level = o->log_level;
	n->pid_fd = n->ctl_fd = n->udp_fd = -1;
	n->tun.fd = -1;
	n->start_ms = log_now_ms();
	broker_init(n);		/* before anything can fail: teardown stops it */
	if (rand_reseed() != 0)
		log_warn("cannot reseed the RNG");
	if (startup(n, o, err, sizeof err) != 0) {
		node_fatal(n, "%s", err);
		teardown(n);
		return 1;
	}
	log_info("node %s starting (pid %d), broker %s", n->conf.name, (int)getpid(),
		 ctl_endpoint_fmt(&n->conf.broker, err));
	ev_run(n->loop, 0);
	if (n->ready_fd >= 0 && n->exit_code == 0) {
		ready_write(n, "error stopped before the broker accepted the node");
		close(n->ready_fd);
		n->ready_fd = -1;
	}
	sd_notify_text("STOPPING=1");
	teardown(n);
	log_info("stopped");
	return n->exit_code;
}

/* ---- CLI side ----------------------------------------------------------- */

static int open_log(const char *dir)
{
	char path[NODE_PATH_MAX];

	snprintf(path, sizeof path, "%s/%s", dir, NODE_LOG_FILE);
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

/* `mavpn up`'s code for a daemon that exited during startup. */
static int exit_of(int st)
{
	return WIFEXITED(st) && WEXITSTATUS(st) == NODE_EXIT_REVOKED ? NODE_EXIT_REVOKED : 1;
}

int node_up_background(const char *dir, int log_level, int timeout_ms)
{
	char buf[1024], last[1024] = "";
	size_t len = 0;
	uint64_t deadline;
	int p[2];
	pid_t pid, running;

	running = control_running_pid(dir);
	if (running > 0) {
		fprintf(stderr, "mavpn: already running, pid %d (%s)\n", (int)running, dir);
		return 1;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("mavpn: pipe");
		return 1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("mavpn: fork");
		return 1;
	}
	if (pid == 0) {
		struct daemon_opts o = { .dir = dir, .foreground = false, .ready_fd = p[1],
					 .log_level = log_level };
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		int logfd = open_log(dir);

		close(p[0]);
		setsid();
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		if (logfd >= 0)
			dup2(logfd, 2);
		else if (null >= 0)
			dup2(null, 2);
		/* DIR/mavpn.log is a plain file: daemon mode stamps each line
		 * with UTC time (log.c uses the journal's "<N>" only when
		 * JOURNAL_STREAM names stderr, never for this file) */
		log_set_daemon(true);
		_exit(node_daemon_run(&o));
	}
	close(p[1]);
	deadline = log_now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		uint64_t now = log_now_ms();
		char *nl;
		ssize_t k;
		int r;

		if (now >= deadline) {
			fprintf(stderr, "mavpn: the broker did not accept the node within %d s%s%s; "
				"stopping the daemon (log: %s/%s)\n", timeout_ms / 1000,
				last[0] ? ": " : "", last, dir, NODE_LOG_FILE);
			kill(pid, SIGTERM);
			waitpid(pid, NULL, 0);
			close(p[0]);
			return 1;
		}
		r = poll(&pf, 1, (int)(deadline - now));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		k = read(p[0], buf + len, sizeof buf - 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int st = 0;

			close(p[0]);
			waitpid(pid, &st, 0);
			fprintf(stderr, "mavpn: the daemon exited during startup%s%s (log: %s/%s)\n",
				last[0] ? ": " : "", last, dir, NODE_LOG_FILE);
			return exit_of(st);
		}
		len += (size_t)k;
		buf[len] = 0;
		while ((nl = strchr(buf, '\n'))) {
			*nl = 0;
			if (strncmp(buf, "ok ", 3) == 0) {
				int dpid = 0;
				char ifname[64] = "";

				if (sscanf(buf + 3, "%d %63s", &dpid, ifname) < 1)
					dpid = (int)pid;
				printf("mavpn: up, pid %d, interface %s\n", dpid, ifname);
				close(p[0]);
				return 0;
			}
			if (strncmp(buf, "error ", 6) == 0) {
				int st = 0;

				fprintf(stderr, "mavpn: %s\n", buf + 6);
				close(p[0]);
				waitpid(pid, &st, 0);
				return exit_of(st);
			}
			if (strncmp(buf, "wait ", 5) == 0)
				snprintf(last, sizeof last, "%s", buf + 5);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
		if (len >= sizeof buf - 1)
			len = 0;
	}
}

static bool is_zombie(pid_t pid)
{
	char path[64], buf[256];
	ssize_t k;
	char *p;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	k = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (k <= 0)
		return true;
	buf[k] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'Z';
}

int node_down(const char *dir, int timeout_ms)
{
	pid_t pid = control_running_pid(dir);
	char *reply = NULL;
	int r;

	if (pid == 0) {
		fprintf(stderr, "mavpn: not running (%s)\n", dir);
		return 0;
	}
	if (pid < 0) {
		fprintf(stderr, "mavpn: cannot check %s/%s: %s\n", dir, CONTROL_PIDFILE, strerror(errno));
		return 1;
	}
	r = control_request(dir, "stop", &reply, 2000);
	free(reply);
	if (r != 0 && pid > 1)
		kill(pid, SIGTERM);	/* control socket gone: fall back to the signal */
	if (control_wait_exit(dir, timeout_ms) == 0) {
		/* The lock goes with the fd, a moment before the process is gone;
		 * then its new parent (init: it is a daemon) must reap it, which
		 * some container inits do only every second or so. Wait for that
		 * too (kill -0 succeeds on a zombie), up to 5 s. */
		for (int i = 0; pid > 1 && i < 500 && kill(pid, 0) == 0; i++)
			usleep(10000);
		if (pid > 1 && kill(pid, 0) == 0 && !is_zombie(pid))
			fprintf(stderr, "mavpn: pid %d released the lock but still runs\n", (int)pid);
		return 0;
	}
	if (pid > 1) {
		fprintf(stderr, "mavpn: daemon pid %d did not stop within %d s: killing it\n",
			(int)pid, timeout_ms / 1000);
		kill(pid, SIGKILL);
		if (control_wait_exit(dir, 2000) == 0)
			return 1;
	}
	fprintf(stderr, "mavpn: daemon pid %d is still running\n", (int)pid);
	return 1;
}

int node_status_print(const char *dir, bool json)
{
	char *reply = NULL, *body;
	int r = control_request(dir, json ? "status-json" : "status", &reply, 3000);

	if (r == -1) {
		if (json)
			printf("{\"running\":false}\n");
		fprintf(stderr, "mavpn: not running (%s)\n", dir);
		return 3;
	}
	if (r != 0) {
		fprintf(stderr, "mavpn: cannot talk to the daemon in %s: %s\n", dir, strerror(errno));
		return 1;
	}
	body = strchr(reply, '\n');
	if (strncmp(reply, "ok", 2) != 0 || !body) {
		fprintf(stderr, "mavpn: daemon answered: %s\n", reply);
		free(reply);
		return 1;
	}
	fputs(body + 1, stdout);
	free(reply);
	return 0;
}
