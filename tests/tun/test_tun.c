/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_tun.c - TUN + netlink against the real kernel. Every test first moves
 * its (Criterion-forked) process into a fresh network namespace with
 * unshare(CLONE_NEWNET), so names never collide and nothing leaks: the
 * namespace, its devices and routes vanish when the test process exits.
 * State is checked with `ip -j ... | jq -e` run inside the namespace.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tun/netlink.h"
#include "tun/tun.h"
#include "tun/vnet.h"

/* ---- helpers --------------------------------------------------------------- */

static void netns_enter(void)
{
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	cr_assert_eq(system("ip link set lo up"), 0);
}

/* Run a shell command (in our namespace); returns its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* `ip -j <args> | jq -e <filter>` succeeds. */
#define JQ(args, filter, ...) \
	(sh("ip -j " args " | jq -e '" filter "' >/dev/null", ##__VA_ARGS__) == 0)

static struct tun_prefix P(const char *s)
{
	struct tun_prefix p;
	char err[TUN_ERR_MAX];

	cr_assert_eq(tun_prefix_parse(&p, s, err), 0, "%s", err);
	return p;
}

static void open_nl(struct nl *nl)
{
	char err[NL_ERR_MAX];

	cr_assert_eq(nl_open(nl, err), 0, "%s", err);
}

/* Standard overlay: v4 + v6 VIP, one gateway prefix each. */
static void std_config(struct tun_config *c, unsigned mtu)
{
	memset(c, 0, sizeof *c);
	c->mtu = mtu;
	c->addrs[c->n_addrs++] = P("10.98.0.5/16");
	c->addrs[c->n_addrs++] = P("fd00:98::5/48");
	c->routes[c->n_routes++] = P("10.200.0.0/24");
	c->routes[c->n_routes++] = P("fd00:200::/64");
}

static void open_configured(struct tun *t, struct nl *nl, unsigned flags, unsigned mtu)
{
	char err[TUN_ERR_MAX];
	struct tun_config c;

	cr_assert_eq(tun_open(t, NULL, flags, err), 0, "%s", err);
	open_nl(nl);
	std_config(&c, mtu);
	cr_assert_eq(tun_configure(t, nl, &c, err), 0, "%s", err);
}

/* Read the next packet of IP version ver and protocol proto (UDP 17,
 * ICMP 1, ICMPv6 58), skipping others (MLD, RS). With vnet, the header is
 * returned in *vh and stripped. Returns packet length, fails on timeout. */
static size_t read_pkt(struct tun *t, int ver, int proto, uint8_t *pkt, size_t cap,
		       struct vnet_hdr *vh)
{
	uint8_t buf[70000];

	for (int tries = 0; tries < 50; tries++) {
		struct pollfd pfd = { .fd = t->fd, .events = POLLIN };
		size_t off = t->vnet_hdr ? VNET_HDR_LEN : 0;
		ssize_t n;

		cr_assert_eq(poll(&pfd, 1, 2000), 1, "no packet from the TUN within 2 s");
		n = tun_read(t, buf, sizeof buf);
		cr_assert_gt(n, 0, "tun_read: %s", strerror(errno));
		if ((size_t)n < off + 1)
			continue;
		if ((buf[off] >> 4) != ver)
			continue;
		if (ver == 4 && ((size_t)n < off + 20 || buf[off + 9] != proto))
			continue;
		if (ver == 6 && ((size_t)n < off + 40 || buf[off + 6] != proto))
			continue;
		if (off)
			cr_assert_eq(vnet_hdr_parse(vh, buf, (size_t)n), 0);
		cr_assert_leq((size_t)n - off, cap);
		memcpy(pkt, buf + off, (size_t)n - off);
		return (size_t)n - off;
	}
	cr_assert_fail("no matching packet among 50");
	return 0;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Reference one's-complement sum (independent of vnet.c). */
static uint32_t sum16(const uint8_t *b, size_t n, uint32_t s)
{
	for (size_t i = 0; i < n; i++)
		s += (i % 2) ? b[i] : (uint32_t)b[i] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s > 0xffff)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* UDP checksum over pseudo header + datagram (0 when valid). */
static uint16_t udp_check(int ver, const uint8_t *ip, size_t len)
{
	size_t hl = ver == 4 ? 20 : 40;
	size_t ulen = len - hl;
	uint32_t s;

	if (ver == 4)
		s = sum16(ip + 12, 8, 0);
	else
		s = sum16(ip + 8, 32, 0);
	s += 17 + (uint32_t)ulen;
	return fold(sum16(ip + hl, ulen, s));
}

/* Build an IP/UDP packet src:sport -> dst:dport with valid checksums. */
static size_t build_udp(int ver, uint8_t *p, const char *src, const char *dst,
			uint16_t sport, uint16_t dport, const void *pay, size_t plen)
{
	size_t hl = ver == 4 ? 20 : 40, ulen = 8 + plen, tot = hl + ulen;
	int af = ver == 4 ? AF_INET : AF_INET6;
	uint16_t c;

	memset(p, 0, tot);
	if (ver == 4) {
		p[0] = 0x45;
		p[2] = (uint8_t)(tot >> 8);
		p[3] = (uint8_t)tot;
		p[8] = 64;
		p[9] = 17;
		cr_assert_eq(inet_pton(af, src, p + 12), 1);
		cr_assert_eq(inet_pton(af, dst, p + 16), 1);
		c = fold(sum16(p, 20, 0));
		p[10] = (uint8_t)(c >> 8);
		p[11] = (uint8_t)c;
	} else {
		p[0] = 0x60;
		p[4] = (uint8_t)(ulen >> 8);
		p[5] = (uint8_t)ulen;
		p[6] = 17;
		p[7] = 64;
		cr_assert_eq(inet_pton(af, src, p + 8), 1);
		cr_assert_eq(inet_pton(af, dst, p + 24), 1);
	}
	p[hl] = (uint8_t)(sport >> 8);
	p[hl + 1] = (uint8_t)sport;
	p[hl + 2] = (uint8_t)(dport >> 8);
	p[hl + 3] = (uint8_t)dport;
	p[hl + 4] = (uint8_t)(ulen >> 8);
	p[hl + 5] = (uint8_t)ulen;
	memcpy(p + hl + 8, pay, plen);
	c = udp_check(ver, p, tot);
	if (c == 0)
		c = 0xffff;
	p[hl + 6] = (uint8_t)(c >> 8);
	p[hl + 7] = (uint8_t)c;
	return tot;
}

static void send_udp(int af, const char *dst, uint16_t port, const char *msg, int fd_opt)
{
	int fd = fd_opt >= 0 ? fd_opt : socket(af, SOCK_DGRAM, 0);
	struct sockaddr_storage ss;
	socklen_t sl;

	cr_assert_geq(fd, 0);
	memset(&ss, 0, sizeof ss);
	if (af == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		cr_assert_eq(inet_pton(AF_INET, dst, &s4->sin_addr), 1);
		sl = sizeof *s4;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		cr_assert_eq(inet_pton(AF_INET6, dst, &s6->sin6_addr), 1);
		sl = sizeof *s6;
	}
	cr_assert_eq(sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&ss, sl),
		     (ssize_t)strlen(msg), "sendto %s: %s", dst, strerror(errno));
	if (fd_opt < 0)
		close(fd);
}

/* ---- configuration --------------------------------------------------------- */

TestSuite(tun, .timeout = 60);

Test(tun, configure_addresses_mtu_routes)
{
	struct tun t;
	struct nl nl;

	netns_enter();
	open_configured(&t, &nl, 0, 1400);
	cr_assert_str_eq(t.ifname, "mavpn0");
	cr_assert_not(t.persistent_attached);
	cr_assert_eq(t.mtu, 1400);
	const char *d = t.ifname;
	cr_assert(JQ("link show dev %s", ".[0].mtu == 1400 and (.[0].flags | index(\"UP\"))", d));
	cr_assert(JQ("addr show dev %s", "[.[0].addr_info[] | select(.family==\"inet\" and "
		     ".local==\"10.98.0.5\" and .prefixlen==16)] | length == 1", d));
	cr_assert(JQ("addr show dev %s", "[.[0].addr_info[] | select(.family==\"inet6\" and "
		     ".local==\"fd00:98::5\" and .prefixlen==48)] | length == 1", d));
	/* one route per address prefix plus the listed ones, all proto static */
	cr_assert(JQ("-4 route show dev %s", "[.[] | select(.protocol==\"static\") | .dst] | sort"
		     " == [\"10.200.0.0/24\", \"10.98.0.0/16\"]", d));
	cr_assert(JQ("-6 route show dev %s", "[.[] | select(.protocol==\"static\") | .dst] | sort"
		     " == [\"fd00:200::/64\", \"fd00:98::/48\"]", d));
	/* no kernel prefix route besides ours (IFA_F_NOPREFIXROUTE) */
	cr_assert(JQ("-4 route show dev %s", "[.[] | select(.protocol==\"kernel\")] | length == 0", d));
	cr_assert_eq(t.n_addrs, 2);
	cr_assert_eq(t.n_routes, 4);
	cr_assert_eq(tun_unconfigure(&t, &nl, NULL), 0);
	tun_close(&t);
	nl_close(&nl);
}

Test(tun, default_mtu_and_named_device)
{
	char err[TUN_ERR_MAX];
	struct tun_config c = { 0 };
	struct tun t;
	struct nl nl;

	netns_enter();
	cr_assert_eq(tun_open(&t, "mvt-named", 0, err), 0, "%s", err);
	cr_assert_str_eq(t.ifname, "mvt-named");
	open_nl(&nl);
	c.addrs[c.n_addrs++] = P("10.98.0.9/32");	/* host address: no route */
	cr_assert_eq(tun_configure(&t, &nl, &c, err), 0, "%s", err);
	cr_assert(JQ("link show dev mvt-named", ".[0].mtu == %d", TUN_MTU_DEFAULT));
	cr_assert_eq(t.n_routes, 0);
	cr_assert_eq(tun_configure(&t, &nl, &c, err), -1, "twice must be refused");
	cr_assert_eq(errno, EALREADY);
	tun_close(&t);
	nl_close(&nl);
}

Test(tun, txqueuelen_applied_read_back_and_restored)
{
	char err[TUN_ERR_MAX];
	struct nl_link_info li;
	struct tun_config c;
	struct tun t;
	struct nl nl;
	int fd;

	netns_enter();
	/* a created device: 500 by default, ours when configured */
	cr_assert_eq(tun_open(&t, "mvt-q", TUN_O_NONBLOCK, err), 0, "%s", err);
	open_nl(&nl);
	cr_assert(JQ("link show dev mvt-q", ".[0].txqlen == 500"), "kernel default changed?");
	std_config(&c, 1400);
	c.txqueuelen = 5000;
	cr_assert_eq(tun_configure(&t, &nl, &c, err), 0, "%s", err);
	cr_assert(JQ("link show dev mvt-q", ".[0].txqlen == 5000"));
	cr_assert_eq(nl_link_get(&nl, t.ifindex, &li, err), 0, "%s", err);
	cr_assert_eq(li.txqlen, 5000);
	cr_assert(li.has_stats);
	cr_assert_eq(li.tx_dropped, 0);
	/* the queue to an idle reader overflows into tx_dropped, which
	 * nl_link_get reports as `ip -s` does */
	cr_assert_eq(nl_link_set_txqlen(&nl, t.ifindex, 4, err), 0, "%s", err);
	cr_assert(JQ("link show dev mvt-q", ".[0].txqlen == 4"));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	for (int i = 0; i < 20; i++)
		send_udp(AF_INET, "10.200.0.1", 9, "overflow", fd);
	close(fd);
	cr_assert_eq(nl_link_get(&nl, t.ifindex, &li, err), 0, "%s", err);
	cr_assert_geq(li.tx_dropped, 16, "tx_dropped %llu", (unsigned long long)li.tx_dropped);
	cr_assert(JQ("-s link show dev mvt-q", ".[0].stats64.tx.dropped == %llu",
		     (unsigned long long)li.tx_dropped));
	cr_assert_eq(tun_unconfigure(&t, &nl, NULL), 0);
	tun_close(&t);

	/* an attached device gets its own value back */
	cr_assert_eq(sh("ip tuntap add name mvtq0 mode tun && ip link set mvtq0 txqueuelen 321"), 0);
	cr_assert_eq(tun_open(&t, "mvtq0", 0, err), 0, "%s", err);
	std_config(&c, 1400);
	c.txqueuelen = 7000;
	cr_assert_eq(tun_configure(&t, &nl, &c, err), 0, "%s", err);
	cr_assert(JQ("link show dev mvtq0", ".[0].txqlen == 7000"));
	cr_assert_eq(tun_unconfigure(&t, &nl, err), 0, "%s", err);
	cr_assert(JQ("link show dev mvtq0", ".[0].txqlen == 321"), "old txqueuelen restored");
	/* 0: left alone */
	std_config(&c, 1400);
	cr_assert_eq(tun_configure(&t, &nl, &c, err), 0, "%s", err);
	cr_assert(JQ("link show dev mvtq0", ".[0].txqlen == 321"));
	cr_assert_eq(tun_unconfigure(&t, &nl, err), 0, "%s", err);
	cr_assert_eq(nl_link_del(&nl, t.ifindex, err), 0, "%s", err);
	tun_close(&t);
	nl_close(&nl);
}

/* ---- packets --------------------------------------------------------------- */

Test(tun, udp_from_socket_is_read_from_tun)
{
	uint8_t pkt[2048];
	struct tun t;
	struct nl nl;
	size_t n;

	netns_enter();
	open_configured(&t, &nl, TUN_O_NONBLOCK, 0);

	send_udp(AF_INET, "10.200.0.7", 5555, "hello-v4", -1);
	n = read_pkt(&t, 4, 17, pkt, sizeof pkt, NULL);
	cr_assert_eq(n, 20 + 8 + 8);
	cr_assert_eq(pkt[0] >> 4, 4);
	cr_assert_arr_eq(pkt + 16, ((uint8_t[]){ 10, 200, 0, 7 }), 4);
	cr_assert_arr_eq(pkt + 12, ((uint8_t[]){ 10, 98, 0, 5 }), 4, "source is our VIP");
	cr_assert_eq(be16(pkt + 22), 5555);
	cr_assert_arr_eq(pkt + 28, "hello-v4", 8);
	cr_assert_eq(udp_check(4, pkt, n), 0, "kernel filled the UDP checksum");

	send_udp(AF_INET6, "fd00:200::7", 6666, "hello-v6!", -1);
	n = read_pkt(&t, 6, 17, pkt, sizeof pkt, NULL);
	cr_assert_eq(n, 40 + 8 + 9);
	uint8_t want[16];
	inet_pton(AF_INET6, "fd00:200::7", want);
	cr_assert_arr_eq(pkt + 24, want, 16);
	inet_pton(AF_INET6, "fd00:98::5", want);
	cr_assert_arr_eq(pkt + 8, want, 16, "source is our v6 VIP");
	cr_assert_eq(be16(pkt + 42), 6666);
	cr_assert_arr_eq(pkt + 48, "hello-v6!", 9);
	cr_assert_eq(udp_check(6, pkt, n), 0);

	/* routed via the address prefix too, not only listed routes */
	send_udp(AF_INET, "10.98.44.1", 7777, "prefix", -1);
	n = read_pkt(&t, 4, 17, pkt, sizeof pkt, NULL);
	cr_assert_arr_eq(pkt + 16, ((uint8_t[]){ 10, 98, 44, 1 }), 4);
	tun_close(&t);
	nl_close(&nl);
}

/*
 * The kernel finishes an IPv6 address (local route for receiving) in a
 * workqueue after acking RTM_NEWADDR, even with IFA_F_NODAD: wait for it
 * before injecting packets addressed to it.
 */
static void wait_local6(const char *addr)
{
	for (int i = 0; i < 200; i++) {
		if (JQ("-6 route show table local", "any(.[]; .dst==\"%s\")", addr))
			return;
		usleep(10000);
	}
	cr_assert_fail("local route for %s never appeared", addr);
}

static void write_delivers(int ver)
{
	int af = ver == 4 ? AF_INET : AF_INET6;
	const char *vip = ver == 4 ? "10.98.0.5" : "fd00:98::5";
	const char *peer = ver == 4 ? "10.200.0.9" : "fd00:200::9";
	uint8_t pkt[256];
	struct sockaddr_storage ss = { 0 }, from;
	socklen_t fl = sizeof from;
	struct tun t;
	struct nl nl;
	char got[64];
	int fd;

	netns_enter();
	open_configured(&t, &nl, 0, 0);
	if (ver == 6)
		wait_local6(vip);
	fd = socket(af, SOCK_DGRAM, 0);
	cr_assert_geq(fd, 0);
	if (ver == 4) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;
		s->sin_family = AF_INET;
		s->sin_port = htons(4444);
		inet_pton(AF_INET, vip, &s->sin_addr);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
		s->sin6_family = AF_INET6;
		s->sin6_port = htons(4444);
		inet_pton(AF_INET6, vip, &s->sin6_addr);
	}
	cr_assert_eq(bind(fd, (struct sockaddr *)&ss, ver == 4 ? sizeof(struct sockaddr_in)
			  : sizeof(struct sockaddr_in6)), 0, "bind %s: %s", vip, strerror(errno));
	struct timeval tv = { 2, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

	size_t n = build_udp(ver, pkt, peer, vip, 3333, 4444, "from-tun", 8);
	cr_assert_eq(tun_write(&t, pkt, n), (ssize_t)n, "tun_write: %s", strerror(errno));
	ssize_t r = recvfrom(fd, got, sizeof got, 0, (struct sockaddr *)&from, &fl);
	cr_assert_eq(r, 8, "recvfrom: %s", strerror(errno));
	cr_assert_arr_eq(got, "from-tun", 8);
	char fs[INET6_ADDRSTRLEN];
	if (ver == 4)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&from)->sin_addr, fs, sizeof fs);
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&from)->sin6_addr, fs, sizeof fs);
	cr_assert_str_eq(fs, peer);

	/* A corrupted UDP checksum must not be delivered (the kernel checks). */
	pkt[n - 1] ^= 0x55;
	cr_assert_eq(tun_write(&t, pkt, n), (ssize_t)n);
	tv.tv_sec = 0;
	tv.tv_usec = 300000;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	cr_assert_eq(recvfrom(fd, got, sizeof got, 0, NULL, NULL), -1, "bad checksum delivered");
	close(fd);
	tun_close(&t);
	nl_close(&nl);
}

Test(tun, write_udp4_delivers_to_socket) { write_delivers(4); }
Test(tun, write_udp6_delivers_to_socket) { write_delivers(6); }

Test(tun, icmp_echo_through_tun)
{
	uint8_t req[28 + 8] = { 0 }, rep[2048];
	struct tun t;
	struct nl nl;
	uint16_t c;

	netns_enter();
	open_configured(&t, &nl, TUN_O_NONBLOCK, 0);
	req[0] = 0x45;
	req[3] = sizeof req;
	req[8] = 64;
	req[9] = 1;
	memcpy(req + 12, (uint8_t[]){ 10, 200, 0, 9, 10, 98, 0, 5 }, 8);
	c = fold(sum16(req, 20, 0));
	req[10] = (uint8_t)(c >> 8);
	req[11] = (uint8_t)c;
	req[20] = 8;			/* echo request */
	req[24] = 0x12; req[25] = 0x34;	/* id */
	req[26] = 0; req[27] = 1;	/* seq */
	memcpy(req + 28, "pingpong", 8);
	c = fold(sum16(req + 20, 16, 0));
	req[22] = (uint8_t)(c >> 8);
	req[23] = (uint8_t)c;
	cr_assert_eq(tun_write(&t, req, sizeof req), (ssize_t)sizeof req);
	size_t n = read_pkt(&t, 4, 1, rep, sizeof rep, NULL);
	cr_assert_eq(n, sizeof req);
	cr_assert_eq(rep[20], 0, "echo reply");
	cr_assert_arr_eq(rep + 12, ((uint8_t[]){ 10, 98, 0, 5, 10, 200, 0, 9 }), 8);
	cr_assert_arr_eq(rep + 24, req + 24, 12, "id, seq and data echoed");
	cr_assert_eq(fold(sum16(rep + 20, n - 20, 0)), 0, "ICMP checksum valid");
	tun_close(&t);
	nl_close(&nl);
}

/* ---- teardown -------------------------------------------------------------- */

Test(tun, teardown_created_device_leaves_nothing)
{
	char name[IFNAMSIZ];
	struct tun t;
	struct nl nl;

	netns_enter();
	open_configured(&t, &nl, 0, 0);
	snprintf(name, sizeof name, "%s", t.ifname);
	cr_assert_eq(tun_unconfigure(&t, &nl, NULL), 0);
	cr_assert_eq(t.n_routes + t.n_addrs, 0);
	cr_assert(JQ("addr show dev %s", "[.[0].addr_info[] | select(.scope==\"global\")] | length == 0", name));
	cr_assert(JQ("route show dev %s", "length == 0", name));
	cr_assert(JQ("-6 route show dev %s", "[.[] | select(.protocol==\"static\")] | length == 0", name));
	cr_assert(JQ("link show dev %s", ".[0].flags | index(\"UP\") | not", name));
	cr_assert_eq(tun_unconfigure(&t, &nl, NULL), 0, "idempotent");
	tun_close(&t);
	tun_close(&t);
	cr_assert_eq(if_nametoindex(name), 0, "device gone after close");
	cr_assert_neq(sh("ip link show dev %s 2>/dev/null", name), 0);
	nl_close(&nl);
}

Test(tun, attach_persistent_device_owned_by_nobody)
{
	char err[TUN_ERR_MAX];
	struct tun_config c;
	struct tun t;
	struct nl nl;

	netns_enter();
	cr_assert_eq(sh("ip tuntap add name mvtp0 mode tun user nobody"), 0);
	cr_assert(JQ("-d link show dev mvtp0", ".[0].linkinfo.info_data.user == \"nobody\""));
	cr_assert_eq(tun_open(&t, "mvtp0", TUN_O_NONBLOCK, err), 0, "%s", err);
	cr_assert(t.persistent_attached);
	cr_assert_eq(t.mtu, 1500);
	open_nl(&nl);
	std_config(&c, 1300);
	cr_assert_eq(tun_configure(&t, &nl, &c, err), 0, "%s", err);
	cr_assert(JQ("link show dev mvtp0", ".[0].mtu == 1300"));
	send_udp(AF_INET, "10.200.0.1", 9, "attached", -1);
	uint8_t pkt[2048];
	size_t n = read_pkt(&t, 4, 17, pkt, sizeof pkt, NULL);
	cr_assert_arr_eq(pkt + 28, "attached", 8);

	cr_assert_eq(tun_unconfigure(&t, &nl, err), 0, "%s", err);
	tun_close(&t);
	cr_assert_neq(if_nametoindex("mvtp0"), 0, "persistent device survives");
	cr_assert(JQ("addr show dev mvtp0", "[.[0].addr_info[] | select(.scope==\"global\")] | length == 0"));
	cr_assert(JQ("route show dev mvtp0", "length == 0"));
	cr_assert(JQ("-6 route show dev mvtp0", "[.[] | select(.protocol==\"static\")] | length == 0"));
	cr_assert(JQ("link show dev mvtp0", ".[0].mtu == 1500 and (.[0].flags | index(\"UP\") | not)"),
		  "old MTU and down state restored");
	/* and we can reattach, then delete it through netlink */
	cr_assert_eq(tun_open(&t, "mvtp0", 0, err), 0, "%s", err);
	cr_assert_eq(nl_link_del(&nl, t.ifindex, err), 0, "%s", err);
	tun_close(&t);
	cr_assert_eq(if_nametoindex("mvtp0"), 0);
	(void)n;
	nl_close(&nl);
}

Test(tun, leftover_route_on_own_device_is_adopted)
{
	char err[TUN_ERR_MAX];
	struct tun_config c;
	struct tun t;
	struct nl nl;

	netns_enter();
	cr_assert_eq(sh("ip tuntap add name mvtl0 mode tun && ip link set mvtl0 up && "
			"ip route add 10.200.0.0/24 dev mvtl0 proto static"), 0);
	cr_assert_eq(tun_open(&t, "mvtl0", 0, err), 0, "%s", err);
	open_nl(&nl);
	std_config(&c, 0);
	cr_assert_eq(tun_configure(&t, &nl, &c, err), 0, "%s", err);
	cr_assert_eq(tun_unconfigure(&t, &nl, err), 0, "%s", err);
	cr_assert(JQ("route show dev mvtl0", "length == 0"), "adopted route removed too");
	tun_close(&t);
	nl_close(&nl);
}

Test(tun, routes_added_later)
{
	char err[TUN_ERR_MAX];
	struct tun t;
	struct nl nl;
	struct tun_prefix p = P("10.250.0.0/16"), q = P("fd00:250::/56");

	netns_enter();
	open_configured(&t, &nl, 0, 0);
	cr_assert_eq(tun_route_add(&t, &nl, &p, err), 0, "%s", err);
	cr_assert_eq(tun_route_add(&t, &nl, &q, err), 0, "%s", err);
	cr_assert_eq(tun_route_add(&t, &nl, &p, err), 0, "re-adding a recorded route is a no-op");
	cr_assert_eq(t.n_routes, 6);
	cr_assert(JQ("route show dev %s", "[.[] | select(.dst==\"10.250.0.0/16\")] | length == 1", t.ifname));
	cr_assert(JQ("-6 route show dev %s", "[.[] | select(.dst==\"fd00:250::/56\")] | length == 1", t.ifname));
	cr_assert_eq(tun_route_del(&t, &nl, &p, err), 0, "%s", err);
	cr_assert(JQ("route show dev %s", "[.[] | select(.dst==\"10.250.0.0/16\")] | length == 0", t.ifname));
	cr_assert_eq(tun_route_del(&t, &nl, &p, err), -1);
	cr_assert_eq(errno, ENOENT);
	cr_assert(strstr(err, "10.250.0.0/16"), "%s", err);
	struct tun_prefix bad = P("10.250.1.1/16");
	cr_assert_eq(tun_route_add(&t, &nl, &bad, err), -1);
	cr_assert(strstr(err, "host bits") && strstr(err, "10.250.1.1/16"), "%s", err);
	/* unconfigure also removes the later route */
	cr_assert_eq(tun_unconfigure(&t, &nl, err), 0, "%s", err);
	cr_assert(JQ("-6 route show dev %s", "[.[] | select(.protocol==\"static\")] | length == 0", t.ifname));
	tun_close(&t);
	nl_close(&nl);
}

/* ---- bad input ------------------------------------------------------------- */

/* The device is exactly as tun_open left it: down, no global address, no route. */
static void assert_pristine(const char *d, unsigned mtu)
{
	cr_assert(JQ("link show dev %s", ".[0].mtu == %u and (.[0].flags | index(\"UP\") | not)", d, mtu));
	cr_assert(JQ("addr show dev %s", "[.[0].addr_info[] | select(.scope==\"global\")] | length == 0", d));
	cr_assert(JQ("route show dev %s", "length == 0", d));
	cr_assert(JQ("-6 route show dev %s", "[.[] | select(.protocol==\"static\")] | length == 0", d));
}

Test(tun, mtu_out_of_range_refused)
{
	static const unsigned bad[] = { 70000, 1000, 1279, 65536 };
	char err[TUN_ERR_MAX], num[16];
	struct tun_config c;
	struct tun t;
	struct nl nl;

	netns_enter();
	cr_assert_eq(tun_open(&t, NULL, 0, err), 0, "%s", err);
	open_nl(&nl);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		std_config(&c, bad[i]);
		cr_assert_eq(tun_configure(&t, &nl, &c, err), -1, "MTU %u accepted", bad[i]);
		snprintf(num, sizeof num, "MTU %u", bad[i]);
		cr_assert(strstr(err, num), "error does not name the value: %s", err);
		if (bad[i] < 1280)
			cr_assert(strstr(err, "IPv6"), "should explain why: %s", err);
		assert_pristine(t.ifname, 1500);
	}
	/* the edges are accepted */
	std_config(&c, 1280);
	cr_assert_eq(tun_configure(&t, &nl, &c, err), 0, "%s", err);
	cr_assert_eq(tun_unconfigure(&t, &nl, err), 0, "%s", err);
	std_config(&c, 65535);
	cr_assert_eq(tun_configure(&t, &nl, &c, err), 0, "%s", err);
	cr_assert(JQ("link show dev %s", ".[0].mtu == 65535", t.ifname));
	tun_close(&t);
	nl_close(&nl);
}

Test(tun, ext_ack_text_in_errors)
{
	char err[NL_ERR_MAX], terr[TUN_ERR_MAX];
	struct tun t;
	struct nl nl;
	uint8_t a4[4] = { 10, 98, 0, 5 };

	netns_enter();
	cr_assert_eq(tun_open(&t, NULL, 0, terr), 0, "%s", terr);
	open_nl(&nl);
	cr_assert_eq(nl_link_set_mtu(&nl, t.ifindex, 70000, err), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert(strstr(err, "70000") && strstr(err, t.ifname), "%s", err);
	cr_assert(strstr(err, "mtu greater than device maximum"), "no ext-ack text: %s", err);

	cr_assert_eq(nl_addr_add(&nl, t.ifindex, AF_INET, a4, 24, false, err), 0, "%s", err);
	cr_assert_eq(nl_addr_add(&nl, t.ifindex, AF_INET, a4, 24, false, err), -1);
	cr_assert_eq(errno, EEXIST);
	cr_assert(strstr(err, "10.98.0.5/24"), "%s", err);
	cr_assert(strstr(err, "Address already assigned"), "no ext-ack text: %s", err);
	tun_close(&t);
	nl_close(&nl);
}

Test(tun, unknown_interface_and_bad_prefixes)
{
	char err[NL_ERR_MAX];
	struct nl nl;
	uint8_t a4[4] = { 10, 1, 2, 3 }, net4[4] = { 10, 1, 2, 0 }, a6[16] = { 0xfd };

	netns_enter();
	open_nl(&nl);
	cr_assert_eq(nl_link_up(&nl, 4242, 1420, err), -1);
	cr_assert(errno == ENODEV || errno == ENXIO, "%s", err);	/* 6.x: ENXIO */
	cr_assert(strstr(err, "ifindex 4242"), "%s", err);
	cr_assert_eq(nl_addr_add(&nl, 4242, AF_INET, a4, 24, false, err), -1);
	cr_assert(errno == ENODEV || errno == ENXIO, "%s", err);
	cr_assert(strstr(err, "10.1.2.3/24") && strstr(err, "ifindex 4242"), "%s", err);
	cr_assert_eq(nl_route_add(&nl, 4242, AF_INET, net4, 24, 0, err), -1);
	cr_assert(errno == ENODEV || errno == ENXIO, "%s", err);
	cr_assert(strstr(err, "10.1.2.0/24"), "%s", err);
	cr_assert_eq(nl_link_del(&nl, 4242, err), -1);
	cr_assert(errno == ENODEV || errno == ENXIO, "%s", err);

	/* prefix lengths: refused before any request */
	cr_assert_eq(nl_addr_add(&nl, 1, AF_INET, a4, 33, false, err), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert(strstr(err, "invalid prefix length 33"), "%s", err);
	cr_assert_eq(nl_route_add(&nl, 1, AF_INET6, a6, 129, 0, err), -1);
	cr_assert(strstr(err, "129"), "%s", err);
	cr_assert_eq(nl_route_add(&nl, 1, AF_INET, a4, 24, 0, err), -1, "host bits");
	cr_assert(strstr(err, "host bits") && strstr(err, "10.1.2.3/24"), "%s", err);
	cr_assert_eq(nl_addr_add(&nl, 1, 99, a4, 24, false, err), -1);
	cr_assert_eq(errno, EAFNOSUPPORT);

	/* text parser edge table */
	static const struct { const char *s; int ok; int fam; int len; } tab[] = {
		{ "10.0.0.1/0", 1, AF_INET, 0 },	{ "10.0.0.1/32", 1, AF_INET, 32 },
		{ "10.0.0.1", 1, AF_INET, 32 },		{ "fd00::1", 1, AF_INET6, 128 },
		{ "fd00::/128", 1, AF_INET6, 128 },	{ "10.0.0.1/33", 0, 0, 0 },
		{ "fd00::/129", 0, 0, 0 },		{ "10.0.0.1/", 0, 0, 0 },
		{ "10.0.0.1/-1", 0, 0, 0 },		{ "10.0.0.1/1a", 0, 0, 0 },
		{ "10.0.0.1/0032", 0, 0, 0 },		{ "/24", 0, 0, 0 },
		{ "10.0.0.256/24", 0, 0, 0 },		{ "", 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
		struct tun_prefix p;
		char terr[TUN_ERR_MAX] = "";
		int r = tun_prefix_parse(&p, tab[i].s, terr);

		cr_assert_eq(r == 0, tab[i].ok, "'%s': %d %s", tab[i].s, r, terr);
		if (tab[i].ok) {
			cr_assert_eq(p.family, tab[i].fam, "'%s'", tab[i].s);
			cr_assert_eq(p.len, tab[i].len, "'%s'", tab[i].s);
		} else {
			cr_assert(strstr(terr, tab[i].s), "'%s' not quoted: %s", tab[i].s, terr);
		}
	}
	nl_close(&nl);
}

Test(tun, bad_config_leaves_device_untouched)
{
	char err[TUN_ERR_MAX];
	struct tun_config c;
	struct tun t;
	struct nl nl;

	netns_enter();
	cr_assert_eq(tun_open(&t, NULL, 0, err), 0, "%s", err);
	open_nl(&nl);

	std_config(&c, 0);
	c.routes[c.n_routes++] = P("10.201.0.1/24");	/* host bits */
	cr_assert_eq(tun_configure(&t, &nl, &c, err), -1);
	cr_assert(strstr(err, "10.201.0.1/24"), "%s", err);
	assert_pristine(t.ifname, 1500);

	std_config(&c, 0);
	c.addrs[0].len = 33;
	cr_assert_eq(tun_configure(&t, &nl, &c, err), -1);
	cr_assert(strstr(err, "invalid prefix length 33"), "%s", err);
	assert_pristine(t.ifname, 1500);

	std_config(&c, 0);
	c.addrs[0].family = 12345;
	cr_assert_eq(tun_configure(&t, &nl, &c, err), -1);
	cr_assert(strstr(err, "12345"), "%s", err);
	assert_pristine(t.ifname, 1500);
	tun_close(&t);
	nl_close(&nl);
}

Test(tun, kernel_failure_midway_rolls_back)
{
	char err[TUN_ERR_MAX];
	struct tun_config c;
	struct tun t;
	struct nl nl;

	netns_enter();
	/* a route the kernel will refuse with EEXIST, via another device */
	cr_assert_eq(sh("ip route add 10.201.0.0/24 dev lo"), 0);
	cr_assert_eq(tun_open(&t, NULL, 0, err), 0, "%s", err);
	open_nl(&nl);
	std_config(&c, 1400);
	c.routes[c.n_routes++] = P("10.201.0.0/24");	/* last: everything else done */
	cr_assert_eq(tun_configure(&t, &nl, &c, err), -1);
	cr_assert(strstr(err, "10.201.0.0/24") && strstr(err, "lo"), "%s", err);
	assert_pristine(t.ifname, 1500);
	cr_assert_eq(t.n_addrs + t.n_routes, 0);
	cr_assert(JQ("route show", "[.[] | select(.dst==\"10.201.0.0/24\" and .dev==\"lo\")] | length == 1"),
		  "the other device's route is untouched");
	/* and a correct configuration still works afterwards */
	std_config(&c, 1400);
	cr_assert_eq(tun_configure(&t, &nl, &c, err), 0, "%s", err);
	tun_close(&t);
	nl_close(&nl);
}

Test(tun, attach_refusals)
{
	char err[TUN_ERR_MAX];
	struct tun t, u;

	netns_enter();
	cr_assert_eq(tun_open(&t, "lo", 0, err), -1, "lo is not a TUN");
	cr_assert(strstr(err, "'lo'"), "%s", err);
	cr_assert_eq(t.fd, -1);
	tun_close(&t);

	cr_assert_eq(tun_open(&t, "mvt-busy", 0, err), 0, "%s", err);
	cr_assert_eq(tun_open(&u, "mvt-busy", 0, err), -1, "second opener");
	cr_assert_eq(errno, EBUSY);
	cr_assert(strstr(err, "in use"), "%s", err);
	tun_close(&t);

	cr_assert_eq(sh("ip tuntap add name mvt-tap mode tap"), 0);
	cr_assert_eq(tun_open(&u, "mvt-tap", 0, err), -1, "TAP is not TUN");
	cr_assert(strstr(err, "mvt-tap"), "%s", err);

	cr_assert_eq(tun_open(&u, "this-name-is-too-long", 0, err), -1);
	cr_assert(strstr(err, "this-name-is-too-long"), "%s", err);
}

/* ---- offloads -------------------------------------------------------------- */

Test(tun, offload_probe_and_csum_completion)
{
	char err[TUN_ERR_MAX];
	struct tun_offloads o;
	struct vnet_hdr vh;
	uint8_t a[2048], b[2048];
	struct tun t, plain;
	struct nl nl;
	size_t na, nb;
	int fd;

	netns_enter();
	open_configured(&t, &nl, TUN_O_VNET_HDR | TUN_O_NONBLOCK, 0);
	cr_assert(t.vnet_hdr);
	cr_assert_eq(tun_probe_offloads(&t, &o, err), 0, "%s", err);
	cr_assert(o.features & IFF_TUN);
	cr_assert(o.features & IFF_NO_PI);
	cr_assert(o.vnet_hdr_supported);
	cr_assert_eq(o.vnet_hdr_sz, VNET_HDR_LEN);
	cr_assert(o.accepted & TUN_F_CSUM, "accepted 0x%x", o.accepted);
	cr_assert(o.accepted & TUN_F_TSO4);
	cr_assert_eq(o.best & TUN_F_CSUM, TUN_F_CSUM);
	cr_assert_eq(o.best & ~o.accepted, 0);
	cr_assert_eq(t.offloads, 0, "probe left offloads unchanged");
	cr_log_info("features 0x%x accepted 0x%x best 0x%x", o.features, o.accepted, o.best);

	/* same datagram twice from one socket: offloads off, then CSUM on */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	send_udp(AF_INET, "10.200.0.7", 5000, "checksum-oracle", fd);
	na = read_pkt(&t, 4, 17, a, sizeof a, &vh);
	cr_assert_eq(vh.flags & VNET_F_NEEDS_CSUM, 0, "probe must not leave CSUM enabled");
	cr_assert_eq(udp_check(4, a, na), 0);

	cr_assert_eq(tun_set_offload(&t, TUN_F_CSUM, err), 0, "%s", err);
	send_udp(AF_INET, "10.200.0.7", 5000, "checksum-oracle", fd);
	nb = read_pkt(&t, 4, 17, b, sizeof b, &vh);
	cr_assert_eq(nb, na);
	cr_assert_eq(vh.flags, VNET_F_NEEDS_CSUM);
	cr_assert_eq(vh.csum_start, 20);
	cr_assert_eq(vh.csum_offset, 6);
	cr_assert_neq(udp_check(4, b, nb), 0, "kernel left the checksum unfinished");
	cr_assert_eq(vnet_csum_finish(&vh, b, nb), 0);
	cr_assert_eq(udp_check(4, b, nb), 0, "finished checksum verifies");
	cr_assert_eq(be16(b + 26), be16(a + 26), "equals the kernel-computed checksum");

	/* IPv6 too */
	int fd6 = socket(AF_INET6, SOCK_DGRAM, 0);
	send_udp(AF_INET6, "fd00:200::7", 5001, "v6-oracle", fd6);
	nb = read_pkt(&t, 6, 17, b, sizeof b, &vh);
	cr_assert_eq(vh.flags, VNET_F_NEEDS_CSUM);
	cr_assert_eq(vh.csum_start, 40);
	cr_assert_eq(vnet_csum_finish(&vh, b, nb), 0);
	cr_assert_eq(udp_check(6, b, nb), 0);
	close(fd6);
	close(fd);

	/* offloads need the vnet header */
	cr_assert_eq(tun_open(&plain, "mvt-plain", 0, err), 0, "%s", err);
	cr_assert_eq(tun_set_offload(&plain, TUN_F_CSUM, err), -1);
	cr_assert(strstr(err, "vnet header"), "%s", err);
	cr_assert_eq(tun_set_offload(&t, TUN_F_TSO4, err), -1, "TSO without CSUM");
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(t.offloads, TUN_F_CSUM, "failed set keeps the old value");
	tun_close(&plain);
	tun_close(&t);
	nl_close(&nl);
}

/* ---- multi-queue and crash recovery --------------------------------------- */

Test(tun, multi_queue_second_queue)
{
	char err[TUN_ERR_MAX];
	struct tun t, one;
	struct nl nl;
	struct tun_config c;
	uint8_t buf[2048];
	int q, got[2] = { 0, 0 }, fds[2];

	netns_enter();
	cr_assert_eq(tun_open(&one, "mvt-single", 0, err), 0, "%s", err);
	cr_assert_eq(tun_queue_open(&one, err), -1, "not multi-queue");
	cr_assert(strstr(err, "mvt-single"), "%s", err);
	tun_close(&one);

	cr_assert_eq(tun_open(&t, NULL, TUN_O_MULTI_QUEUE | TUN_O_NONBLOCK, err), 0, "%s", err);
	q = tun_queue_open(&t, err);
	cr_assert_geq(q, 0, "%s", err);
	open_nl(&nl);
	std_config(&c, 0);
	cr_assert_eq(tun_configure(&t, &nl, &c, err), 0, "%s", err);
	/* 32 flows (source ports): every datagram comes out of exactly one queue */
	for (int i = 0; i < 32; i++) {
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		send_udp(AF_INET, "10.200.0.8", (uint16_t)(6000 + i), "mq", fd);
		close(fd);
	}
	fds[0] = t.fd;
	fds[1] = q;
	for (int idle = 0; idle < 3;) {
		struct pollfd p[2] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 } };

		if (poll(p, 2, 300) <= 0) {
			idle++;
			continue;
		}
		for (int k = 0; k < 2; k++) {
			ssize_t n;

			while ((n = read(fds[k], buf, sizeof buf)) > 0)
				if ((buf[0] >> 4) == 4 && buf[9] == 17 && buf[16 + 3] == 8)
					got[k]++;
		}
	}
	cr_assert_eq(got[0] + got[1], 32, "queue 0 %d + queue 1 %d", got[0], got[1]);
	cr_log_info("flows per queue: %d / %d", got[0], got[1]);
	/* the second queue can write too */
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(4445) };
	inet_pton(AF_INET, "10.98.0.5", &sa.sin_addr);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	struct timeval tv = { 2, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	size_t n = build_udp(4, buf, "10.200.0.9", "10.98.0.5", 1, 4445, "q1", 2);
	cr_assert_eq(write(q, buf, n), (ssize_t)n);
	cr_assert_eq(recv(fd, buf, sizeof buf, 0), 2);
	close(fd);
	/* the device lives while any queue is open */
	char name[IFNAMSIZ];
	snprintf(name, sizeof name, "%s", t.ifname);
	tun_close(&t);
	cr_assert_neq(if_nametoindex(name), 0);
	close(q);
	cr_assert_eq(if_nametoindex(name), 0);
	nl_close(&nl);
}

Test(tun, restart_after_crash_adopts_leftovers)
{
	char err[TUN_ERR_MAX];
	struct tun_config c;
	struct tun t;
	struct nl nl;
	pid_t pid;
	int st;

	netns_enter();
	cr_assert_eq(sh("ip tuntap add name mvtc0 mode tun user nobody"), 0);
	std_config(&c, 1400);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* configure, then die without unconfiguring (SIGKILL-like) */
		if (tun_open(&t, "mvtc0", 0, err) < 0 || nl_open(&nl, err) < 0 ||
		    tun_configure(&t, &nl, &c, err) < 0)
			_exit(1);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed");
	cr_assert(JQ("-4 route show dev mvtc0", "length == 2"), "leftover routes present");

	cr_assert_eq(tun_open(&t, "mvtc0", 0, err), 0, "%s", err);
	open_nl(&nl);
	cr_assert_eq(tun_configure(&t, &nl, &c, err), 0, "restart: %s", err);
	cr_assert_eq(t.n_addrs, 2);
	cr_assert_eq(t.n_routes, 4);
	cr_assert_eq(tun_unconfigure(&t, &nl, err), 0, "%s", err);
	tun_close(&t);
	cr_assert(JQ("addr show dev mvtc0", "[.[0].addr_info[] | select(.scope==\"global\")] | length == 0"));
	cr_assert(JQ("route show dev mvtc0", "length == 0"));
	cr_assert(JQ("-6 route show dev mvtc0", "[.[] | select(.protocol==\"static\")] | length == 0"));
	nl_close(&nl);
}

/* ---- GSO against the kernel ------------------------------------------------ */

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

/* Send 3500 bytes as one UDP_SEGMENT=1000 send from fd to dst:5000. */
static void send_gso(int af, int fd, const char *dst, uint8_t *data, size_t n)
{
	int gso = 1000;
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;

	cr_assert_eq(setsockopt(fd, SOL_UDP, UDP_SEGMENT, &gso, sizeof gso), 0, "%s", strerror(errno));
	if (af == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;
		s->sin_family = AF_INET;
		s->sin_port = htons(5000);
		inet_pton(AF_INET, dst, &s->sin_addr);
		sl = sizeof *s;
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
		s->sin6_family = AF_INET6;
		s->sin6_port = htons(5000);
		inet_pton(AF_INET6, dst, &s->sin6_addr);
		sl = sizeof *s;
	}
	cr_assert_eq(sendto(fd, data, n, 0, (struct sockaddr *)&ss, sl), (ssize_t)n, "%s", strerror(errno));
}

static void uso_matches_kernel(int ver)
{
	int af = ver == 4 ? AF_INET : AF_INET6;
	const char *dst = ver == 4 ? "10.200.0.7" : "fd00:200::7";
	static uint8_t data[3500], super[70000], ours[80000], theirs[4][2048];
	struct vnet_seg segs[8];
	char err[TUN_ERR_MAX];
	struct tun_offloads o;
	struct vnet_hdr vh;
	struct tun t;
	struct nl nl;
	size_t n, tl[4];
	int fd, r;

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 13 + 5);
	netns_enter();
	open_configured(&t, &nl, TUN_O_VNET_HDR | TUN_O_NONBLOCK, 0);
	cr_assert_eq(tun_probe_offloads(&t, &o, err), 0, "%s", err);
	if (!(o.accepted & TUN_F_USO4))
		cr_skip_test("kernel without USO (needs 6.2)");
	fd = socket(af, SOCK_DGRAM, 0);

	/* 1. with USO: one super-packet, segmented by us */
	cr_assert_eq(tun_set_offload(&t, TUN_F_CSUM | TUN_F_USO4 | TUN_F_USO6, err), 0, "%s", err);
	send_gso(af, fd, dst, data, sizeof data);
	n = read_pkt(&t, ver, 17, super, sizeof super, &vh);
	cr_assert_eq(vh.gso_type, VNET_GSO_UDP_L4, "gso_type %u", vh.gso_type);
	cr_assert_eq(vh.gso_size, 1000);
	cr_assert_eq(n, (ver == 4 ? 20 : 40) + 8 + sizeof data);
	r = vnet_gso_segment(&vh, super, n, ours, sizeof ours, segs, 8);
	cr_assert_eq(r, 4, "segments: %d (%s)", r, strerror(errno));

	/* 2. without offloads: the kernel segments in software */
	cr_assert_eq(tun_set_offload(&t, 0, err), 0, "%s", err);
	send_gso(af, fd, dst, data, sizeof data);
	for (int k = 0; k < 4; k++) {
		tl[k] = read_pkt(&t, ver, 17, theirs[k], sizeof theirs[k], &vh);
		cr_assert_eq(vh.gso_type, VNET_GSO_NONE);
	}
	for (int k = 0; k < 4; k++) {
		const uint8_t *a = ours + segs[k].off, *b = theirs[k];

		cr_assert_eq(segs[k].len, tl[k], "segment %d length", k);
		cr_assert_eq(udp_check(ver, a, segs[k].len), 0);
		if (ver == 4) {
			/* identical but for IPv4 ID (next datagram) and header checksum */
			cr_assert_arr_eq(a, b, 4, "seg %d", k);
			cr_assert_arr_eq(a + 6, b + 6, 4, "seg %d", k);
			cr_assert_arr_eq(a + 12, b + 12, tl[k] - 12, "seg %d", k);
			cr_assert_eq(fold(sum16(a, 20, 0)), 0);
		} else {
			cr_assert_arr_eq(a, b, tl[k], "seg %d identical to the kernel's", k);
		}
	}
	close(fd);
	tun_close(&t);
	nl_close(&nl);
}

Test(tun, uso4_segments_match_kernel) { uso_matches_kernel(4); }
Test(tun, uso6_segments_match_kernel) { uso_matches_kernel(6); }

/* TCP/IPv4 checksum over pseudo header + segment (0 when valid). */
static uint16_t tcp4_check(const uint8_t *ip, size_t len)
{
	uint32_t s = sum16(ip + 12, 8, 0) + 6 + (uint32_t)(len - 20);

	return fold(sum16(ip + 20, len - 20, s));
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * TSO: a local TCP socket connects through the TUN, the test answers the
 * handshake by hand, then the socket's first burst arrives as one TSO
 * super-packet, which vnet_gso_segment must turn into valid segments that
 * carry exactly the bytes written.
 */
Test(tun, tso4_super_packet_segments)
{
	static uint8_t data[20000], pkt[70000], out[90000];
	struct vnet_seg segs[64];
	char err[TUN_ERR_MAX];
	struct vnet_hdr vh;
	struct tun t;
	struct nl nl;
	size_t n;
	int fd, r;

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 31 + 7);
	netns_enter();
	open_configured(&t, &nl, TUN_O_VNET_HDR | TUN_O_NONBLOCK, 0);
	cr_assert_eq(tun_set_offload(&t, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6, err), 0, "%s", err);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80) };
	inet_pton(AF_INET, "10.200.0.7", &sa.sin_addr);
	cr_assert(connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno == EINPROGRESS);
	n = read_pkt(&t, 4, 6, pkt, sizeof pkt, &vh);
	cr_assert_eq(pkt[33], 0x02, "SYN expected, flags 0x%x", pkt[33]);
	uint16_t cport = be16(pkt + 20);
	uint32_t isn = be32(pkt + 24);

	/* SYN-ACK with MSS 1400, no window scaling or timestamps */
	uint8_t sa_pkt[44] = { 0x45, 0, 0, 44, 0, 0, 0x40, 0, 64, 6 };
	memcpy(sa_pkt + 12, (uint8_t[]){ 10, 200, 0, 7, 10, 98, 0, 5 }, 8);
	uint16_t c = fold(sum16(sa_pkt, 20, 0));
	sa_pkt[10] = (uint8_t)(c >> 8);
	sa_pkt[11] = (uint8_t)c;
	uint8_t *tcp = sa_pkt + 20;
	tcp[0] = 0; tcp[1] = 80;
	tcp[2] = (uint8_t)(cport >> 8); tcp[3] = (uint8_t)cport;
	memcpy(tcp + 4, (uint8_t[]){ 0, 0, 0x03, 0xe8 }, 4);	/* seq 1000 */
	uint32_t ack = isn + 1;
	tcp[8] = (uint8_t)(ack >> 24); tcp[9] = (uint8_t)(ack >> 16);
	tcp[10] = (uint8_t)(ack >> 8); tcp[11] = (uint8_t)ack;
	tcp[12] = 0x60;
	tcp[13] = 0x12;
	tcp[14] = 0xff; tcp[15] = 0xff;
	tcp[20] = 2; tcp[21] = 4; tcp[22] = 0x05; tcp[23] = 0x78;	/* MSS 1400 */
	c = tcp4_check(sa_pkt, sizeof sa_pkt);
	tcp[16] = (uint8_t)(c >> 8);
	tcp[17] = (uint8_t)c;
	uint8_t wbuf[VNET_HDR_LEN + sizeof sa_pkt];
	const struct vnet_hdr none = { 0 };
	vnet_hdr_build(&none, wbuf);	/* a vnet TUN takes the header on writes too */
	memcpy(wbuf + VNET_HDR_LEN, sa_pkt, sizeof sa_pkt);
	cr_assert_eq(tun_write(&t, wbuf, sizeof wbuf), (ssize_t)sizeof wbuf);

	struct pollfd p = { fd, POLLOUT, 0 };
	cr_assert_eq(poll(&p, 1, 2000), 1, "connect did not complete");
	int soerr = -1;
	socklen_t sl = sizeof soerr;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	cr_assert_eq(soerr, 0, "connect: %s", strerror(soerr));
	cr_assert_eq(send(fd, data, sizeof data, 0), (ssize_t)sizeof data);

	/* skip the bare ACK; find the first super-packet */
	bool found = false;
	for (int i = 0; i < 20 && !found; i++) {
		n = read_pkt(&t, 4, 6, pkt, sizeof pkt, &vh);
		if ((vh.gso_type & ~VNET_GSO_ECN) == VNET_GSO_TCPV4)
			found = true;
	}
	cr_assert(found, "no TSO super-packet");
	cr_log_info("super-packet %zu bytes, gso_size %u, hdr_len %u, csum_start %u",
		    n, vh.gso_size, vh.hdr_len, vh.csum_start);
	cr_assert_gt(n - 40, vh.gso_size, "more than one segment's worth");
	r = vnet_gso_segment(&vh, pkt, n, out, sizeof out, segs, 64);
	cr_assert_gt(r, 1, "%d: %s", r, strerror(errno));
	uint32_t next = be32(pkt + 24);
	for (int k = 0; k < r; k++) {
		const uint8_t *s = out + segs[k].off;
		size_t hl = 20 + (size_t)(s[32] >> 4) * 4, plen = segs[k].len - hl;
		uint32_t off = be32(s + 24) - (isn + 1);

		cr_assert_eq(fold(sum16(s, 20, 0)), 0, "IP checksum seg %d", k);
		cr_assert_eq(tcp4_check(s, segs[k].len), 0, "TCP checksum seg %d", k);
		cr_assert_eq(be32(s + 24), next, "seq continuity seg %d", k);
		cr_assert_leq(plen, vh.gso_size);
		cr_assert_leq(off + plen, sizeof data);
		cr_assert_arr_eq(s + hl, data + off, plen, "payload seg %d", k);
		next += (uint32_t)plen;
	}
	close(fd);
	tun_close(&t);
	nl_close(&nl);
}

Test(tun, attach_clears_offloads_left_by_previous_user)
{
	char err[TUN_ERR_MAX];
	struct tun_config c;
	struct ifreq ifr = { 0 };
	uint8_t pkt[2048];
	struct tun t;
	struct nl nl;
	int raw;

	netns_enter();
	cr_assert_eq(sh("ip tuntap add name mvto0 mode tun vnet_hdr"), 0);
	/* a previous user leaves CSUM offload on */
	raw = open("/dev/net/tun", O_RDWR);
	cr_assert_geq(raw, 0);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "mvto0");
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
	cr_assert_eq(ioctl(raw, TUNSETIFF, &ifr), 0, "%s", strerror(errno));
	cr_assert_eq(ioctl(raw, TUNSETOFFLOAD, TUN_F_CSUM), 0);
	close(raw);

	cr_assert_eq(tun_open(&t, "mvto0", TUN_O_NONBLOCK, err), 0, "%s", err);
	cr_assert_not(t.vnet_hdr);
	open_nl(&nl);
	std_config(&c, 0);
	cr_assert_eq(tun_configure(&t, &nl, &c, err), 0, "%s", err);
	send_udp(AF_INET, "10.200.0.3", 53, "csum-left-on?", -1);
	size_t n = read_pkt(&t, 4, 17, pkt, sizeof pkt, NULL);
	cr_assert_arr_eq(pkt + 28, "csum-left-on?", 13, "bare IP, no vnet header");
	cr_assert_eq(udp_check(4, pkt, n), 0, "checksum finished: offloads were cleared");
	cr_assert_eq(tun_unconfigure(&t, &nl, err), 0, "%s", err);
	tun_close(&t);
	nl_close(&nl);
}
