/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * broker_load.c - load generator for the keybroker (issue item 10); run it
 * through tools/broker-load.
 *
 *   broker-load-bin -b PATH/mavpn-keybroker [-n NODES] [-s SECONDS]
 *                   [-w WINDOW] [-c HANDSHAKES] [-k]
 *
 * 1. Creates a throw-away state directory (kbstate_init, overlay /16) and N
 *    nodes in it. Shortcut: instead of N on-line enrollments over TLS, each
 *    node gets a one-time token and is enrolled straight through the
 *    registry API (registry_token_add + registry_enroll with
 *    kbstate_issue_cb: the same transaction and certificate the broker's
 *    ENROLL_REQ path uses, minus the TLS round trip).
 * 2. Starts `mavpn-keybroker run -d DIR` (fork/exec) and reads its VmRSS.
 * 3. Opens N mutual-TLS connections over loopback (at most -c handshakes in
 *    flight), sends HELLO, waits for WELCOME: handshakes/s, broker RSS per
 *    connected node.
 * 4. For -s seconds keeps -w SESSION_REQs in flight between random pairs of
 *    distinct nodes (never two for the same pair: the broker coalesces
 *    those); every OFFER is answered with ACCEPT at once; counts GRANTs/s
 *    and the SESSION_REQ -> GRANT latency (p50, p99).
 * One process, one epoll loop, channel.h for framing (as a node would).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "channel/channel.h"
#include "common/log.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/rand.h"
#include "keybroker/kbstate.h"
#include "keybroker/registry.h"

enum { ST_IDLE, ST_HANDSHAKE, ST_HELLO, ST_UP, ST_DEAD };

struct lnode {
	struct tls_creds *creds;
	struct channel *ch;
	struct ctl_ip vip;
	int fd;
	int events;
	uint8_t state;
	bool dirty;
};

struct inflight {
	uint64_t t_us;
	uint32_t a, b;
	bool used;
};

static struct lnode *nodes;
static uint32_t n_nodes;
static int ep;
static struct inflight *req;	/* indexed by req_id % window */
static uint32_t window;
static uint64_t *pairs;		/* open-addressing set of in-flight pairs (0 = empty) */
static size_t pairs_cap;
static uint32_t *lat;		/* grant latencies, us */
static size_t n_lat, cap_lat;
static uint64_t grants, refusals, offers, lost, up_count, dead_count;
static uint32_t inflight_n;
static uint32_t *dirty_list;
static size_t n_dirty;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void die(const char *what)
{
	fprintf(stderr, "broker-load: %s\n", what);
	exit(1);
}

/* ---- pair set --------------------------------------------------------------- */

static uint64_t pkey(uint32_t a, uint32_t b)
{
	return a < b ? ((uint64_t)(a + 1) << 32 | (b + 1)) : ((uint64_t)(b + 1) << 32 | (a + 1));
}

static size_t pslot(uint64_t k)
{
	return (size_t)((k * 0x9e3779b97f4a7c15ull) >> 20) & (pairs_cap - 1);
}

static bool pair_has(uint64_t k)
{
	for (size_t i = pslot(k);; i = (i + 1) & (pairs_cap - 1)) {
		if (pairs[i] == k)
			return true;
		if (!pairs[i])
			return false;
	}
}

static void pair_add(uint64_t k)
{
	size_t i = pslot(k);

	while (pairs[i])
		i = (i + 1) & (pairs_cap - 1);
	pairs[i] = k;
}

static void pair_del(uint64_t k)
{
	size_t i = pslot(k), j;

	while (pairs[i] != k) {
		if (!pairs[i])
			return;
		i = (i + 1) & (pairs_cap - 1);
	}
	/* backward-shift deletion for linear probing */
	pairs[i] = 0;
	for (j = (i + 1) & (pairs_cap - 1); pairs[j]; j = (j + 1) & (pairs_cap - 1)) {
		uint64_t kk = pairs[j];
		size_t h = pslot(kk);

		if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
			pairs[i] = kk;
			pairs[j] = 0;
			i = j;
		}
	}
}

/* ---- setup ------------------------------------------------------------------ */

static void make_nodes(const char *dir, struct kbstate *st)
{
	struct registry *r;
	char err[REGISTRY_ERR_MAX];
	struct reg_node *rn = malloc(sizeof *rn);
	int64_t now = time(NULL);
	uint64_t t0 = now_us();

	if (!rn || registry_open(st->registry_path, &r, err) != REG_OK)
		die(err);
	for (uint32_t i = 0; i < n_nodes; i++) {
		uint8_t secret[16], hash[32];
		char name[32];
		struct pki_key key;
		enum reg_result res;

		snprintf(name, sizeof name, "load%05u", i);
		if (pki_key_generate(&key) < 0 || rand_bytes(secret, sizeof secret) < 0)
			die("key generation failed");
		sha256(hash, secret, sizeof secret);
		if (registry_token_add(r, hash, name, "", "", now, now + 3600, err) != REG_OK)
			die(err);
		res = registry_enroll(r, hash, key.pub, now, &st->prefix4, NULL,
				      kbstate_issue_cb, st, rn, err);
		if (res != REG_OK) {
			fprintf(stderr, "enroll %s: %s %s\n", name, registry_strerror(res), err);
			exit(1);
		}
		nodes[i].vip = rn->vip4;
		nodes[i].creds = tls_creds_new(rn->cert, rn->cert_len, st->ca_der, st->ca_len,
					       &key, err, sizeof err);
		if (!nodes[i].creds)
			die(err);
		pki_key_clear(&key);
		if (i && i % 2000 == 0)
			fprintf(stderr, "  %u nodes created (%.1f s)\n", i,
				(double)(now_us() - t0) / 1e6);
	}
	registry_close(r);
	free(rn);
	(void)dir;
}

static unsigned long rss_kib(pid_t pid)
{
	char path[64], line[128];
	unsigned long v = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %lu kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

static int port_open(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

/* ---- connections -------------------------------------------------------------- */

static void mark_dirty(uint32_t i)
{
	if (!nodes[i].dirty) {
		nodes[i].dirty = true;
		dirty_list[n_dirty++] = i;
	}
}

static void node_dead(uint32_t i)
{
	struct lnode *n = &nodes[i];

	if (n->state == ST_DEAD)
		return;
	if (n->state == ST_UP)
		up_count--;
	if (getenv("BROKER_LOAD_DEBUG"))
		fprintf(stderr, "node %u closed: %s\n", i, channel_strerror(n->ch));
	epoll_ctl(ep, EPOLL_CTL_DEL, n->fd, NULL);
	channel_free(n->ch);
	n->ch = NULL;
	n->state = ST_DEAD;
	dead_count++;
}

static void send_hello(uint32_t i)
{
	struct ctl_msg m;

	memset(&m, 0, sizeof m);
	m.type = CTL_HELLO;
	m.u.hello.data_port = (uint16_t)(10000 + i % 50000);
	m.u.hello.aead_mask = AEAD_MASK(AEAD_CHACHA20_POLY1305) | AEAD_MASK(AEAD_AES256_GCM);
	(void)channel_send(nodes[i].ch, &m);
	nodes[i].state = ST_HELLO;
}

static void finish_request(uint32_t req_id, bool granted)
{
	struct inflight *f = &req[req_id % window];

	if (!f->used)
		return;
	if (granted) {
		if (n_lat == cap_lat) {
			cap_lat = cap_lat ? cap_lat * 2 : 65536;
			lat = realloc(lat, cap_lat * sizeof *lat);
			if (!lat)
				die("out of memory");
		}
		lat[n_lat++] = (uint32_t)(now_us() - f->t_us);
	}
	pair_del(pkey(f->a, f->b));
	f->used = false;
	inflight_n--;
}

static int on_frame(struct channel *ch, const struct ctl_msg *m, void *arg)
{
	uint32_t i = (uint32_t)(uintptr_t)arg;
	struct ctl_msg r;

	(void)ch;
	switch (m->type) {
	case CTL_WELCOME:
		if (nodes[i].state == ST_HELLO) {
			nodes[i].state = ST_UP;
			up_count++;
		}
		break;
	case CTL_PING:
		memset(&r, 0, sizeof r);
		r.type = CTL_PONG;
		r.u.ping.nonce = m->u.ping.nonce;
		(void)channel_send(nodes[i].ch, &r);
		mark_dirty(i);
		break;
	case CTL_OFFER:
		offers++;
		memset(&r, 0, sizeof r);
		r.type = CTL_ACCEPT;
		r.u.accept.sid = m->u.session.sid;
		memset(r.u.accept.eph, 0x5a, sizeof r.u.accept.eph);
		r.u.accept.index = (uint32_t)m->u.session.sid;
		(void)channel_send(nodes[i].ch, &r);
		mark_dirty(i);
		break;
	case CTL_GRANT:
		grants++;
		finish_request(m->u.session.req_id, true);
		break;
	case CTL_REFUSE:
		refusals++;
		finish_request(m->u.refuse.req_id, false);
		break;
	default:
		break;
	}
	return 0;
}

static void pump(uint32_t i)
{
	struct lnode *n = &nodes[i];
	struct epoll_event ev = { 0 };
	int want;

	if (!n->ch)
		return;
	if (channel_io(n->ch) == CHANNEL_CLOSED) {
		node_dead(i);
		return;
	}
	if (n->state == ST_HANDSHAKE && channel_ready(n->ch)) {
		send_hello(i);
		if (channel_io(n->ch) == CHANNEL_CLOSED) {
			node_dead(i);
			return;
		}
	}
	want = channel_events(n->ch);
	if (want != n->events) {
		ev.events = ((want & 1) ? EPOLLIN : 0) | ((want & 2) ? EPOLLOUT : 0);
		ev.data.u32 = i;
		epoll_ctl(ep, EPOLL_CTL_MOD, n->fd, &ev);
		n->events = want;
	}
}

static int connect_node(uint32_t i, uint16_t port, const char *server_name)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };
	struct tls_conn *t;
	int fd, one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	t = tls_client_new(nodes[i].creds, server_name);
	nodes[i].ch = t ? channel_new(fd, t, on_frame, (void *)(uintptr_t)i) : NULL;
	if (!nodes[i].ch)
		die("out of memory");
	nodes[i].fd = fd;
	nodes[i].state = ST_HANDSHAKE;
	nodes[i].events = 3;
	ev.data.u32 = i;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	return 0;
}

/* Keepalive: every node PINGs about every 4 s (the broker drops a node
 * after 3 x 5 s of silence); a slice of the nodes every 100 ms. */
static void keepalive(void)
{
	static uint64_t last;
	static uint32_t cursor;
	uint64_t now = now_us(), elapsed;
	uint64_t slice;

	if (!last)
		last = now;
	elapsed = now - last;
	if (elapsed < 50000)
		return;
	last = now;
	/* the share of all nodes due in this much time (a full round per 3 s),
	 * so a slow loop iteration does not starve the keepalives */
	slice = (uint64_t)n_nodes * elapsed / 3000000u + 1;
	if (slice > n_nodes)
		slice = n_nodes;
	for (uint32_t k = 0; k < slice; k++, cursor = (cursor + 1) % n_nodes) {
		struct ctl_msg m;

		if (nodes[cursor].state != ST_UP)
			continue;
		memset(&m, 0, sizeof m);
		m.type = CTL_PING;
		m.u.ping.nonce = now;
		(void)channel_send(nodes[cursor].ch, &m);
		mark_dirty(cursor);
	}
}

static void loop_once(int timeout_ms)
{
	struct epoll_event evs[512];
	int k = epoll_wait(ep, evs, 512, timeout_ms);

	for (int j = 0; j < k; j++)
		pump(evs[j].data.u32);
	keepalive();
	while (n_dirty) {
		uint32_t i = dirty_list[--n_dirty];

		nodes[i].dirty = false;
		pump(i);
	}
}

static void issue_requests(void)
{
	static uint32_t next_id = 1;

	while (inflight_n < window) {
		uint32_t a = rand_uniform(n_nodes), b = rand_uniform(n_nodes);
		struct inflight *f;
		struct ctl_msg m;
		uint64_t k;

		if (a == b || nodes[a].state != ST_UP || nodes[b].state != ST_UP)
			continue;
		k = pkey(a, b);
		if (pair_has(k))
			continue;
		while (req[next_id % window].used || next_id == 0)
			next_id++;
		f = &req[next_id % window];
		f->used = true;
		f->a = a;
		f->b = b;
		f->t_us = now_us();
		pair_add(k);
		inflight_n++;
		memset(&m, 0, sizeof m);
		m.type = CTL_SESSION_REQ;
		m.u.session_req.req_id = next_id++;
		m.u.session_req.dst = nodes[b].vip;
		memset(m.u.session_req.eph, 0x33, sizeof m.u.session_req.eph);
		m.u.session_req.index = a;
		m.u.session_req.aead_mask = AEAD_MASK(AEAD_CHACHA20_POLY1305);
		(void)channel_send(nodes[a].ch, &m);
		mark_dirty(a);
	}
}

static void expire_requests(uint64_t now)
{
	for (uint32_t j = 0; j < window; j++) {
		if (req[j].used && now - req[j].t_us > 5000000u) {
			lost++;
			pair_del(pkey(req[j].a, req[j].b));
			req[j].used = false;
			inflight_n--;
		}
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *bin = NULL;
	double seconds = 10;
	uint32_t conc = 256;
	bool keep = false;
	char dir[] = "/tmp/broker-load-XXXXXX", err[KBSTATE_ERR_MAX], listen[64];
	struct kbstate st;
	struct rlimit rl;
	uint16_t port;
	pid_t pid;
	unsigned long rss0, rss1;
	uint64_t t0, t_hs, t_end;
	uint32_t next_conn = 0;
	int opt;

	n_nodes = 10000;
	window = 64;
	log_init("broker-load", LOG_LVL_WARN);
	while ((opt = getopt(argc, argv, "b:n:s:w:c:k")) != -1) {
		switch (opt) {
		case 'b': bin = optarg; break;
		case 'n': n_nodes = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 's': seconds = strtod(optarg, NULL); break;
		case 'w': window = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'c': conc = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'k': keep = true; break;
		default:
			fprintf(stderr, "usage: %s -b MAVPN-KEYBROKER [-n N] [-s S] [-w W] [-c C] [-k]\n",
				argv[0]);
			return 2;
		}
	}
	if (!bin || n_nodes < 2 || n_nodes > 60000 || !window || !conc)
		die("need -b PATH and 2 <= N <= 60000");
	signal(SIGPIPE, SIG_IGN);
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < n_nodes + 64)
		die("RLIMIT_NOFILE hard limit too low for N connections");

	nodes = calloc(n_nodes, sizeof *nodes);
	dirty_list = calloc(n_nodes, sizeof *dirty_list);
	req = calloc(window, sizeof *req);
	for (pairs_cap = 1024; pairs_cap < 4 * (size_t)window; pairs_cap *= 2)
		;
	pairs = calloc(pairs_cap, sizeof *pairs);
	if (!nodes || !dirty_list || !req || !pairs)
		die("out of memory");

	if (!mkdtemp(dir))
		die("mkdtemp");
	{
		struct sockaddr_in sa = { .sin_family = AF_INET };
		socklen_t sl = sizeof sa;
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
		    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
			die("no free port");
		port = ntohs(sa.sin_port);
		close(fd);
	}
	snprintf(listen, sizeof listen, "127.0.0.1:%u", port);
	if (kbstate_init(dir, listen, "10.64.0.0/16", NULL, NULL, err) < 0)
		die(err);
	{
		/* all N nodes come from 127.0.0.1 with up to -c handshakes in
		 * flight: raise the per-address limit on unauthenticated
		 * connections (keybroker.conf unauth_per_ip, default 32) */
		char conf[sizeof dir + 32];
		FILE *fp;

		snprintf(conf, sizeof conf, "%s/%s", dir, KBSTATE_CONF);
		fp = fopen(conf, "a");
		if (!fp || fprintf(fp, "unauth_per_ip = %u\n",
				   conc < KBSTATE_MAX_UNAUTH_PER_IP ? conc : KBSTATE_MAX_UNAUTH_PER_IP) < 0 ||
		    fclose(fp) != 0)
			die("cannot write unauth_per_ip to keybroker.conf");
	}
	if (kbstate_load(dir, &st, err) < 0)
		die(err);
	fprintf(stderr, "broker-load: creating %u nodes in %s (registry API shortcut)\n",
		n_nodes, dir);
	t0 = now_us();
	make_nodes(dir, &st);
	fprintf(stderr, "broker-load: nodes created in %.1f s\n", (double)(now_us() - t0) / 1e6);

	pid = fork();
	if (pid == 0) {
		char logpath[64];
		int lfd;

		snprintf(logpath, sizeof logpath, "%s/broker.log", dir);
		lfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (lfd >= 0)
			dup2(lfd, 2);
		prctl(PR_SET_PDEATHSIG, SIGTERM);	/* never outlive the generator */
		execl(bin, bin, "run", "-d", dir, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && !port_open(port); i++)
		usleep(10000);
	if (!port_open(port)) {
		kill(pid, SIGTERM);
		die("broker did not start");
	}
	usleep(200000);
	rss0 = rss_kib(pid);

	ep = epoll_create1(EPOLL_CLOEXEC);
	t0 = now_us();
	/* handshake phase */
	{
		uint64_t last = t0;

		while (up_count + dead_count < n_nodes) {
			while (next_conn < n_nodes && next_conn - up_count - dead_count < conc) {
				if (connect_node(next_conn, port, st.name) < 0)
					die("connect failed");
				next_conn++;
			}
			loop_once(10);
			if (now_us() - last > 5000000) {
				last = now_us();
				fprintf(stderr, "  %lu connected (%.0f s)\n", (unsigned long)up_count,
					(double)(last - t0) / 1e6);
			}
			if (now_us() - t0 > 600000000u)
				die("handshake phase took over 10 minutes");
		}
	}
	t_hs = now_us();
	usleep(500000);
	for (int i = 0; i < 20; i++)
		loop_once(10);
	rss1 = rss_kib(pid);

	/* session phase */
	{
		uint64_t start = now_us(), last_exp = start;

		t_end = start + (uint64_t)(seconds * 1e6);
		while (now_us() < t_end) {
			issue_requests();
			loop_once(1);
			if (now_us() - last_exp > 1000000) {
				last_exp = now_us();
				expire_requests(last_exp);
			}
		}
		t_end = now_us() - start;
	}
	qsort(lat, n_lat, sizeof *lat, cmp_u32);

	printf("\n| metric | value |\n|---|---|\n");
	printf("| nodes connected (held) | %lu of %u |\n", (unsigned long)up_count, n_nodes);
	printf("| handshake phase | %.1f s |\n", (double)(t_hs - t0) / 1e6);
	printf("| handshakes/s (TLS + HELLO/WELCOME) | %.0f |\n",
	       (double)up_count / ((double)(t_hs - t0) / 1e6));
	printf("| session phase | %.1f s, window %u |\n", (double)t_end / 1e6, window);
	printf("| grants/s | %.0f |\n", (double)grants / ((double)t_end / 1e6));
	printf("| grant latency p50 / p99 | %.2f / %.2f ms |\n",
	       n_lat ? lat[n_lat / 2] / 1000.0 : 0.0,
	       n_lat ? lat[(size_t)((double)n_lat * 0.99)] / 1000.0 : 0.0);
	printf("| refusals / lost | %lu / %lu |\n", (unsigned long)refusals, (unsigned long)lost);
	printf("| broker RSS idle / with nodes | %lu / %lu KiB |\n", rss0, rss1);
	printf("| broker RSS per connected node | %.1f KiB |\n",
	       up_count ? (double)(rss1 - rss0) / (double)up_count : 0.0);
	printf("| broker RSS after sessions | %lu KiB |\n", rss_kib(pid));

	kill(pid, SIGTERM);
	{
		int stt;

		waitpid(pid, &stt, 0);
		if (!WIFEXITED(stt) || WEXITSTATUS(stt) != 0)
			fprintf(stderr, "broker-load: broker exit status %d\n", stt);
	}
	for (uint32_t i = 0; i < n_nodes; i++) {
		if (nodes[i].ch)
			channel_free(nodes[i].ch);
		tls_creds_free(nodes[i].creds);
	}
	kbstate_free(&st);
	if (!keep) {
		char cmd[128];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "broker-load: could not remove %s\n", dir);
	} else {
		fprintf(stderr, "broker-load: state kept in %s\n", dir);
	}
	return 0;
}
