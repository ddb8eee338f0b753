// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_datapath.c - the node's send and receive paths end to end, without a
 * TUN or a broker: two struct node (alpha, beta) whose "TUN" is one end of
 * an AF_UNIX seqpacket socketpair and whose data sockets are real UDP
 * sockets on 127.0.0.1; the test plays the broker by handing OFFER, GRANT,
 * REFUSE and REVOKE to the node's handlers and catching SESSION_REQ and
 * ACCEPT through the ctl_sink hook.
 *
 * Checked: first packet queued + SESSION_REQ, GRANT flushes it, the peer
 * decrypts it byte for byte into its TUN; replay, bit flip, garbage,
 * unknown index and spoofed inner source are dropped and counted by
 * reason; an authenticated packet from a new address moves the endpoint;
 * REFUSE answers the queued packet with ICMP admin-prohibited into the
 * TUN; REVOKE erases the keys at once; a destination outside the overlay
 * and every gateway route is answered with ICMP net unreachable (no_route);
 * the peer states of `mavpn status` (offered, up, idle, pending).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/aead.h"
#include "node/node.h"
#include "node/sockaddr.h"
#include "router/icmp.h"

struct tnode {
	struct node n;
	int tun_peer;			/* the test's end of the fake TUN */
	struct ctl_msg last;		/* last frame sent to the "broker" */
	int sent;
};

static struct tnode A, B;
static const uint8_t SECRET[32] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };

static void sink(struct node *n, const struct ctl_msg *m)
{
	struct tnode *t = n == &A.n ? &A : &B;

	t->last = *m;
	t->sent++;
}

static void ip(struct ctl_ip *o, const char *s)
{
	cr_assert_eq(ctl_ip_parse(o, s), 0, "%s", s);
}

static void tnode_init(struct tnode *t, const char *name, const char *vip)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof sa;
	int sp[2];

	memset(t, 0, sizeof *t);
	nodeconf_defaults(&t->n.conf);
	snprintf(t->n.conf.name, sizeof t->n.conf.name, "%s", name);
	ip(&t->n.conf.vip4, vip);
	cr_assert_eq(ctl_prefix_parse(&t->n.conf.prefix4, "100.96.0.0/24"), 0);
	cr_assert_eq(router_init(&t->n.rt, NULL), 0);
	t->n.rt_ready = true;
	t->n.ctl_sink = sink;
	t->n.txbuf = malloc(NODE_BUF_SIZE);
	t->n.rxbuf = malloc(NODE_BUF_SIZE);
	cr_assert(t->n.txbuf && t->n.rxbuf);
	/* seqpacket: message boundaries like a TUN, and no 10-datagram
	 * queue limit (net.unix.max_dgram_qlen) for the batch test */
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sp), 0);
	t->n.tun.fd = sp[0];
	t->tun_peer = sp[1];
	snprintf(t->n.tun.ifname, sizeof t->n.tun.ifname, "fake-%s", name);
	t->n.udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	cr_assert_geq(t->n.udp_fd, 0);
	t->n.udp_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(t->n.udp_fd, (struct sockaddr *)&sa, sizeof sa), 0);
	cr_assert_eq(getsockname(t->n.udp_fd, (struct sockaddr *)&sa, &sl), 0);
	t->n.udp_port = ntohs(sa.sin_port);
}

static void setup(void)
{
	log_init("test", LOG_LVL_ERROR);
	tnode_init(&A, "alpha", "100.96.0.2");
	tnode_init(&B, "beta", "100.96.0.3");
}

/* A minimal IPv4/ICMP echo request, checksum not needed by the node. */
static size_t make_pkt(uint8_t *p, const char *src, const char *dst, uint8_t fill, size_t len)
{
	memset(p, fill, len);
	p[0] = 0x45;
	p[1] = 0;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[4] = p[5] = p[6] = p[7] = 0;
	p[8] = 64;
	p[9] = 1;
	cr_assert_eq(inet_pton(AF_INET, src, p + 12), 1);
	cr_assert_eq(inet_pton(AF_INET, dst, p + 16), 1);
	p[20] = 8;
	p[21] = 0;
	return len;
}

/* Put pkt into t's TUN and let the node read it. */
static void tun_in(struct tnode *t, const uint8_t *pkt, size_t len)
{
	cr_assert_eq(write(t->tun_peer, pkt, len), (ssize_t)len);
	send_tun_readable(&t->n);
}

/* What the node wrote to its TUN (0 if nothing). */
static ssize_t tun_out(struct tnode *t, uint8_t *buf, size_t cap)
{
	ssize_t k = read(t->tun_peer, buf, cap);

	return k < 0 ? 0 : k;
}

/* Take the next datagram waiting at t's UDP socket without the node. */
static ssize_t udp_steal(struct tnode *t, uint8_t *buf, size_t cap)
{
	struct pollfd p = { .fd = t->n.udp_fd, .events = POLLIN };

	if (poll(&p, 1, 1000) != 1)
		return -1;
	return recv(t->n.udp_fd, buf, cap, 0);
}

static void udp_wait(struct tnode *t)
{
	struct pollfd p = { .fd = t->n.udp_fd, .events = POLLIN };

	cr_assert_eq(poll(&p, 1, 1000), 1, "no datagram arrived");
}

static void describe(struct ctl_session *s, struct tnode *about, uint64_t sid)
{
	memset(s, 0, sizeof *s);
	s->sid = sid;
	snprintf(s->peer_name, sizeof s->peer_name, "%s", about->n.conf.name);
	s->peer_vip4 = about->n.conf.vip4;
	s->allowed[0].ip = about->n.conf.vip4;
	s->allowed[0].len = 32;
	s->n_allowed = 1;
	s->n_endpoints = 1;
	ip(&s->endpoints[0].ip, "127.0.0.1");
	s->endpoints[0].port = about->n.udp_port;
	memcpy(s->secret, SECRET, sizeof SECRET);
	s->aead = AEAD_CHACHA20_POLY1305;
	s->life_s = 60;
}

/* Play the broker for alpha's last SESSION_REQ. */
static void broker_grant(uint64_t sid)
{
	struct ctl_session_req req;
	struct ctl_session offer, grant;

	cr_assert_eq(A.last.type, CTL_SESSION_REQ);
	req = A.last.u.session_req;
	describe(&offer, &A, sid);
	memcpy(offer.peer_eph, req.eph, 32);
	offer.peer_index = req.index;
	B.sent = 0;
	sessions_on_offer(&B.n, &offer);
	cr_assert_eq(B.sent, 1);
	cr_assert_eq(B.last.type, CTL_ACCEPT, "beta answered %s", ctl_type_name(B.last.type));
	cr_assert_eq(B.last.u.accept.sid, sid);
	describe(&grant, &B, sid);
	grant.req_id = req.req_id;
	memcpy(grant.peer_eph, B.last.u.accept.eph, 32);
	grant.peer_index = B.last.u.accept.index;
	sessions_on_grant(&A.n, &grant);
}

static void establish(void)
{
	uint8_t pkt[200], out[400];
	size_t len = make_pkt(pkt, "100.96.0.2", "100.96.0.3", 0xa1, 120);

	tun_in(&A, pkt, len);
	cr_assert_eq(A.n.rt.n_pending, 1, "first packet waits");
	cr_assert_eq(A.sent, 1);
	broker_grant(0x1234);
	cr_assert_eq(A.n.rt.n_pending, 0);
	udp_wait(&B);
	receive_udp_readable(&B.n);
	cr_assert_eq(tun_out(&B, out, sizeof out), (ssize_t)len, "queued packet delivered");
	cr_assert_eq(memcmp(out, pkt, len), 0);
}

TestSuite(datapath, .init = setup);

Test(datapath, first_packet_grant_flush_and_both_ways)
{
	uint8_t pkt[200], out[400];
	struct peer *pa, *pb;
	size_t len;

	establish();
	pa = router_peer_by_name(&A.n.rt, "beta");
	pb = router_peer_by_name(&B.n.rt, "alpha");
	cr_assert(pa && pb);
	cr_assert(pb->current && pb->current->keys.valid, "first packet promoted beta's session");
	/* beta answers on its now current session */
	len = make_pkt(pkt, "100.96.0.3", "100.96.0.2", 0xb2, 100);
	tun_in(&B, pkt, len);
	udp_wait(&A);
	receive_udp_readable(&A.n);
	cr_assert_eq(tun_out(&A, out, sizeof out), (ssize_t)len);
	cr_assert_eq(memcmp(out, pkt, len), 0);
	cr_assert_eq(pa->ctr.rx_packets, 1);
	cr_assert_eq(pb->ctr.rx_packets, 1);
	for (int r = 0; r < DROP_MAX; r++) {
		cr_expect_eq(A.n.drops.count[r], 0, "alpha %s", drop_reason_name((enum drop_reason)r));
		cr_expect_eq(B.n.drops.count[r], 0, "beta %s", drop_reason_name((enum drop_reason)r));
	}
	cr_assert_eq(A.n.sessions.initiated, 1);
	cr_assert_eq(B.n.sessions.accepted, 1);
}

Test(datapath, hostile_datagrams_counted_by_reason)
{
	uint8_t pkt[200], dg[400], copy[400], out[400];
	struct sockaddr_storage from;
	socklen_t fl;
	ssize_t k;
	size_t len;

	establish();
	memset(&from, 0, sizeof from);
	{
		struct ctl_endpoint ep;

		ip(&ep.ip, "127.0.0.1");
		ep.port = A.n.udp_port;
		fl = sockaddr_from_endpoint(&from, &ep);
	}
	len = make_pkt(pkt, "100.96.0.2", "100.96.0.3", 0xc3, 90);
	tun_in(&A, pkt, len);
	k = udp_steal(&B, dg, sizeof dg);
	cr_assert_eq(k, (ssize_t)(len + DATA_OVERHEAD));
	memcpy(copy, dg, (size_t)k);
	receive_packet(&B.n, dg, (size_t)k, &from, fl);
	cr_assert_eq(tun_out(&B, out, sizeof out), (ssize_t)len);

	/* 1: the same datagram again */
	memcpy(dg, copy, (size_t)k);
	receive_packet(&B.n, dg, (size_t)k, &from, fl);
	cr_assert_eq(B.n.drops.count[DROP_REPLAY], 1);
	/* 2: one ciphertext bit flipped (a fresh counter, so not a replay) */
	tun_in(&A, pkt, len);
	k = udp_steal(&B, dg, sizeof dg);
	dg[DATA_HDR_LEN + 5] ^= 0x10;
	receive_packet(&B.n, dg, (size_t)k, &from, fl);
	cr_assert_eq(B.n.drops.count[DROP_TAG], 1);
	/* 3: garbage and a truncated header */
	memset(dg, 0x77, 64);
	receive_packet(&B.n, dg, 64, &from, fl);
	receive_packet(&B.n, dg, 10, &from, fl);
	cr_assert_eq(B.n.drops.count[DROP_BAD_HEADER], 2);
	/* 4: well-formed header, index nobody owns */
	memcpy(dg, copy, (size_t)k);
	dg[4] ^= 0xff;
	dg[5] ^= 0xff;
	receive_packet(&B.n, dg, (size_t)k, &from, fl);
	cr_assert_eq(B.n.drops.count[DROP_UNKNOWN_INDEX], 1);
	/* 5: alpha seals a packet whose inner source is not alpha's */
	len = make_pkt(pkt, "100.96.0.250", "100.96.0.3", 0xd4, 80);
	tun_in(&A, pkt, len);
	udp_wait(&B);
	receive_udp_readable(&B.n);
	cr_assert_eq(B.n.drops.count[DROP_SRC_NOT_ALLOWED], 1);
	cr_assert_eq(tun_out(&B, out, sizeof out), 0, "nothing reached beta's TUN");
	/* and the tunnel still works */
	len = make_pkt(pkt, "100.96.0.2", "100.96.0.3", 0xe5, 70);
	tun_in(&A, pkt, len);
	udp_wait(&B);
	receive_udp_readable(&B.n);
	cr_assert_eq(tun_out(&B, out, sizeof out), (ssize_t)len);
	cr_assert_eq(B.n.drops.count[DROP_REPLAY], 1);
	cr_assert_eq(B.n.drops.count[DROP_TAG], 1);
}

Test(datapath, roaming_follows_authenticated_packets_only)
{
	uint8_t pkt[200], dg[400], out[400];
	struct ctl_endpoint ep;
	struct sockaddr_storage from;
	socklen_t fl;
	struct peer *pb;
	ssize_t k;
	size_t len;
	char a[CTL_ADDRSTRLEN];

	establish();
	pb = router_peer_by_name(&B.n.rt, "alpha");
	ip(&ep.ip, "127.0.0.1");
	ep.port = 40001;
	fl = sockaddr_from_endpoint(&from, &ep);
	/* a forged datagram from the new address moves nothing */
	memset(dg, 0, 64);
	dg[0] = 1;
	receive_packet(&B.n, dg, 64, &from, fl);
	cr_assert(sockaddr_to_endpoint(&ep, (struct sockaddr *)&pb->endpoint, pb->endpoint_len));
	cr_assert_eq(ep.port, A.n.udp_port, "endpoint %s", ctl_endpoint_fmt(&ep, a));
	/* a genuine one does */
	len = make_pkt(pkt, "100.96.0.2", "100.96.0.3", 0x11, 60);
	tun_in(&A, pkt, len);
	k = udp_steal(&B, dg, sizeof dg);
	cr_assert_gt(k, 0);
	receive_packet(&B.n, dg, (size_t)k, &from, fl);
	cr_assert_eq(tun_out(&B, out, sizeof out), (ssize_t)len);
	cr_assert(sockaddr_to_endpoint(&ep, (struct sockaddr *)&pb->endpoint, pb->endpoint_len));
	cr_assert_eq(ep.port, 40001, "endpoint %s", ctl_endpoint_fmt(&ep, a));
}

Test(datapath, refuse_answers_with_icmp_admin_prohibited)
{
	uint8_t pkt[200], out[1400];
	struct ctl_refuse rf;
	size_t len = make_pkt(pkt, "100.96.0.2", "100.96.0.9", 0x42, 84);
	ssize_t k;

	tun_in(&A, pkt, len);
	cr_assert_eq(A.last.type, CTL_SESSION_REQ);
	memset(&rf, 0, sizeof rf);
	rf.req_id = A.last.u.session_req.req_id;
	rf.dst = A.last.u.session_req.dst;
	rf.code = CTL_CODE_POLICY;
	sessions_on_refuse(&A.n, &rf);
	k = tun_out(&A, out, sizeof out);
	cr_assert_geq(k, 28, "an ICMP error came back");
	cr_assert_eq(out[0] >> 4, 4);
	cr_assert_eq(out[9], 1, "ICMP");
	cr_assert_eq(out[20], 3, "destination unreachable");
	cr_assert_eq(out[21], 13, "administratively prohibited");
	cr_assert_eq(memcmp(out + 12, pkt + 16, 4), 0, "from the refused destination");
	cr_assert_eq(memcmp(out + 16, pkt + 12, 4), 0, "to the sender");
	cr_assert_eq(memcmp(out + 28, pkt, 20), 0, "quoting the packet");
	cr_assert_eq(A.n.drops.count[DROP_REFUSED], 1);
	cr_assert_eq(A.n.rt.n_pending, 0);
}

Test(datapath, revoke_erases_keys_at_once)
{
	uint8_t pkt[200];
	struct ctl_revoke rv;
	struct peer *pb;
	size_t len;

	establish();
	memset(&rv, 0, sizeof rv);
	snprintf(rv.peer_name, sizeof rv.peer_name, "alpha");
	rv.code = CTL_CODE_REVOKED;
	sessions_on_revoke(&B.n, &rv);
	pb = router_peer_by_name(&B.n.rt, "alpha");
	cr_assert(pb);
	for (int i = 0; i < 3; i++)
		cr_assert_not(pb->slots[i].keys.valid, "slot %d still has keys", i);
	len = make_pkt(pkt, "100.96.0.2", "100.96.0.3", 0x5a, 64);
	tun_in(&A, pkt, len);
	udp_wait(&B);
	receive_udp_readable(&B.n);
	cr_assert_eq(B.n.drops.count[DROP_UNKNOWN_INDEX], 1);
}

Test(datapath, crossing_requests_offer_serves_both)
{
	uint8_t pa_pkt[200], pb_pkt[200], out[400];
	size_t la = make_pkt(pa_pkt, "100.96.0.2", "100.96.0.3", 0x61, 70);
	size_t lb = make_pkt(pb_pkt, "100.96.0.3", "100.96.0.2", 0x62, 75);
	struct ctl_session_req req;
	struct ctl_session offer, grant;

	/* both ask; the broker keeps alpha's request and drops beta's */
	tun_in(&A, pa_pkt, la);
	tun_in(&B, pb_pkt, lb);
	cr_assert_eq(B.n.rt.n_pending, 1);
	req = A.last.u.session_req;
	describe(&offer, &A, 77);
	memcpy(offer.peer_eph, req.eph, 32);
	offer.peer_index = req.index;
	sessions_on_offer(&B.n, &offer);
	cr_assert_eq(B.n.rt.n_pending, 0, "beta's own request dropped");
	describe(&grant, &B, 77);
	grant.req_id = req.req_id;
	memcpy(grant.peer_eph, B.last.u.accept.eph, 32);
	grant.peer_index = B.last.u.accept.index;
	sessions_on_grant(&A.n, &grant);
	/* alpha's queued packet reaches beta, which then flushes its own */
	udp_wait(&B);
	receive_udp_readable(&B.n);
	cr_assert_eq(tun_out(&B, out, sizeof out), (ssize_t)la);
	udp_wait(&A);
	receive_udp_readable(&A.n);
	cr_assert_eq(tun_out(&A, out, sizeof out), (ssize_t)lb, "beta's queued packet arrived");
	cr_assert_eq(memcmp(out, pb_pkt, lb), 0);
}

static const char *peer_state(struct tnode *t, const char *name)
{
	static struct node_status st;

	node_status_fill(&t->n, &st);
	for (unsigned i = 0; i < st.n_peers; i++)
		if (strcmp(st.peers[i].name, name) == 0)
			return st.peers[i].state;
	return "(absent)";
}

Test(datapath, peer_states_as_status_reports_them)
{
	uint8_t pkt[200], out[400];
	struct ctl_session_req req;
	struct ctl_session offer, grant;
	struct ctl_revoke rv;
	size_t len = make_pkt(pkt, "100.96.0.2", "100.96.0.3", 0x71, 90);

	tun_in(&A, pkt, len);
	req = A.last.u.session_req;
	describe(&offer, &A, 0x99);
	memcpy(offer.peer_eph, req.eph, 32);
	offer.peer_index = req.index;
	sessions_on_offer(&B.n, &offer);
	cr_assert_str_eq(peer_state(&B, "alpha"), "offered");
	describe(&grant, &B, 0x99);
	grant.req_id = req.req_id;
	memcpy(grant.peer_eph, B.last.u.accept.eph, 32);
	grant.peer_index = B.last.u.accept.index;
	sessions_on_grant(&A.n, &grant);
	cr_assert_str_eq(peer_state(&A, "beta"), "up");
	udp_wait(&B);
	receive_udp_readable(&B.n);
	cr_assert_eq(tun_out(&B, out, sizeof out), (ssize_t)len);
	cr_assert_str_eq(peer_state(&B, "alpha"), "up", "the initiator's packet promoted it");
	/* revoked: keys gone, the peer stays known */
	memset(&rv, 0, sizeof rv);
	snprintf(rv.peer_name, sizeof rv.peer_name, "beta");
	rv.code = CTL_CODE_REVOKED;
	sessions_on_revoke(&A.n, &rv);
	cr_assert_str_eq(peer_state(&A, "beta"), "idle");
	/* the next packet to beta asks the broker again for the known peer */
	tun_in(&A, pkt, len);
	cr_assert_eq(A.last.type, CTL_SESSION_REQ);
	cr_assert_str_eq(peer_state(&A, "beta"), "pending");
}

Test(datapath, no_route_answers_icmp_net_unreachable)
{
	uint8_t pkt[200], out[1400];
	size_t len = make_pkt(pkt, "100.96.0.2", "192.0.2.7", 0x55, 64);
	ssize_t k;

	A.sent = 0;
	tun_in(&A, pkt, len);
	cr_assert_eq(A.sent, 0, "no SESSION_REQ for an unroutable destination");
	cr_assert_eq(A.n.rt.n_pending, 0);
	cr_assert_eq(A.n.drops.count[DROP_NO_ROUTE], 1);
	k = tun_out(&A, out, sizeof out);
	cr_assert_geq(k, 28, "an ICMP error came back");
	cr_assert_eq(out[20], 3, "destination unreachable");
	cr_assert_eq(out[21], 0, "net unreachable");
	cr_assert_eq(memcmp(out + 16, pkt + 12, 4), 0, "to the sender");
	/* a gateway route announced by the broker makes it routable */
	A.n.n_routes = 1;
	cr_assert_eq(ctl_prefix_parse(&A.n.routes[0], "192.0.2.0/24"), 0);
	tun_in(&A, pkt, len);
	cr_assert_eq(A.sent, 1);
	cr_assert_eq(A.last.type, CTL_SESSION_REQ);
	cr_assert_eq(A.n.drops.count[DROP_NO_ROUTE], 1);
}

Test(datapath, batch_of_many_packets_in_order)
{
	enum { N = 45 };	/* more than NODE_BATCH: two sendmmsg, two recvmmsg */
	uint8_t pkt[N][200], out[400];
	struct peer *pa;
	uint64_t tx0;

	establish();
	pa = router_peer_by_name(&A.n.rt, "beta");
	tx0 = pa->ctr.tx_packets;
	for (int i = 0; i < N; i++) {
		size_t len = make_pkt(pkt[i], "100.96.0.2", "100.96.0.3", (uint8_t)i, 60 + (size_t)i);

		cr_assert_eq(write(A.tun_peer, pkt[i], len), (ssize_t)len);
	}
	send_tun_readable(&A.n);	/* one wakeup reads them all */
	cr_assert_eq(A.n.tx_n, 0, "batch left unsent");
	cr_assert_not(A.n.tx_batching);
	cr_assert_eq(pa->ctr.tx_packets - tx0, N);
	udp_wait(&B);
	receive_udp_readable(&B.n);
	for (int i = 0; i < N; i++) {
		ssize_t k = tun_out(&B, out, sizeof out);

		if (k == 0) {	/* the rest arrived after the first recvmmsg */
			receive_udp_readable(&B.n);
			k = tun_out(&B, out, sizeof out);
		}
		cr_assert_eq(k, 60 + i, "packet %d: %zd bytes", i, k);
		cr_assert_eq(memcmp(out, pkt[i], (size_t)k), 0, "packet %d differs", i);
	}
	for (int r = 0; r < DROP_MAX; r++)
		cr_assert_eq(B.n.drops.count[r], 0, "drop %s", drop_reason_name(r));
}
