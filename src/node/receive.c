// SPDX-License-Identifier: GPL-2.0-only
/*
 * receive.c - the receive path: UDP datagram -> data_parse (the one gate)
 * -> receiver index -> session slot -> session_open (replay check before,
 * window moved only after the tag verified) -> inner packet well formed
 * and its source inside the peer's allowed prefixes -> TUN. Only then does
 * the packet count as the peer's: rx counters, promotion of a fresh
 * session, and roaming (the peer's endpoint follows authenticated packets).
 * Each drop has its own reason, counter and rate-limited log line.
 */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "node/node.h"
#include "node/sockaddr.h"
#include "proto/data.h"
#include "router/packet.h"

static void roam(struct peer *p, const struct sockaddr_storage *from, socklen_t fl)
{
	struct sockaddr_storage ss;
	struct ctl_endpoint ep;
	char a[CTL_ADDRSTRLEN];
	socklen_t sl;

	/* store the plain form: ::ffff:a.b.c.d becomes a.b.c.d */
	if (!sockaddr_to_endpoint(&ep, (const struct sockaddr *)from, fl))
		return;
	sl = sockaddr_from_endpoint(&ss, &ep);
	if (peer_set_endpoint(p, (struct sockaddr *)&ss, sl))
		log_info("peer %s now at %s", p->name, ctl_endpoint_fmt(&ep, a));
}

static const char *from_str(const struct sockaddr_storage *from, socklen_t fl,
			    char out[static CTL_ADDRSTRLEN])
{
	struct ctl_endpoint ep;

	if (!sockaddr_to_endpoint(&ep, (const struct sockaddr *)from, fl))
		return "?";
	return ctl_endpoint_fmt(&ep, out);
}

void receive_packet(struct node *n, uint8_t *buf, size_t len,
		    const struct sockaddr_storage *from, socklen_t fl)
{
	char a[CTL_ADDRSTRLEN];
	struct session_slot *s;
	struct router_pkt rp;
	struct peer *p;
	enum data_err de;
	uint32_t idx;
	uint64_t ctr, now;
	size_t plen;
	bool promoted;

	de = data_parse(buf, len, &idx, &ctr, &plen);
	if (de != DATA_OK) {
		node_drop(&n->drops, DROP_BAD_HEADER, "%zu bytes from %s: %s", len,
			  from_str(from, fl, a), data_strerror(de));
		return;
	}
	s = router_slot_by_index(&n->rt, idx);
	if (!s || !s->keys.valid) {
		node_drop(&n->drops, DROP_UNKNOWN_INDEX, "index %08x from %s", idx, from_str(from, fl, a));
		return;
	}
	now = log_now_ms();
	p = s->peer;
	if (!peer_slot_rx_ok(s, now)) {
		node_drop(&n->drops, DROP_EXPIRED, "packet from %s on an expired session", p->name);
		return;
	}
	switch (session_open(&s->keys, buf, plen)) {
	case SESSION_OPEN_OK:
		break;
	case SESSION_OPEN_REPLAY:
		node_drop(&n->drops, DROP_REPLAY, "counter %llu from %s (%s) replayed or too old",
			  (unsigned long long)ctr, p->name, from_str(from, fl, a));
		return;
	case SESSION_OPEN_TAG:
		node_drop(&n->drops, DROP_TAG, "packet for %s from %s failed authentication", p->name,
			  from_str(from, fl, a));
		return;
	default:
		node_drop(&n->drops, DROP_UNKNOWN_INDEX, "index %08x has no key", idx);
		return;
	}
	if (plen > 0) {
		const uint8_t *inner = buf + DATA_HDR_LEN;

		if (router_pkt_parse(&rp, inner, plen) != 0) {
			node_drop(&n->drops, DROP_BAD_INNER, "%zu-byte payload from %s is not IP", plen,
				  p->name);
			return;
		}
		if (!router_allowed_src(p, rp.af, rp.src)) {
			struct ctl_ip src;

			if (rp.af == 4)
				ctl_ip_from_v4(&src, rp.src);
			else
				ctl_ip_from_v6(&src, rp.src);
			p->ctr.rx_bad_src++;
			node_drop(&n->drops, DROP_SRC_NOT_ALLOWED, "%s sent inner source %s", p->name,
				  ctl_ip_fmt(&src, a));
			return;
		}
	}
	/* A keepalive counts only to confirm a fresh session: were it to mark
	 * the peer as active, two idle ends would keep each other alive. */
	promoted = plen > 0 || s == p->next ? peer_note_rx(&n->rt, s, plen, now) : false;
	roam(p, from, fl);
	if (plen > 0 && tun_write(&n->tun, buf + DATA_HDR_LEN, plen) < 0)
		node_drop(&n->drops, DROP_TUN_WRITE, "write to %s: %s", n->tun.ifname, strerror(errno));
	if (promoted) {
		log_debug("session %llx with %s confirmed", (unsigned long long)s->sid, p->name);
		send_flush_peer(n, p);
	}
}

/* Up to NODE_BATCH datagrams per recvmmsg, at most 64 per wakeup (the TUN
 * gets its turn). */
void receive_udp_readable(struct node *n)
{
	struct sockaddr_storage from[NODE_BATCH];
	struct mmsghdr m[NODE_BATCH];
	struct iovec iov[NODE_BATCH];

	for (int round = 0; round < 64 / NODE_BATCH; round++) {
		int k;

		memset(m, 0, sizeof m);
		for (unsigned i = 0; i < NODE_BATCH; i++) {
			iov[i].iov_base = n->rxbuf + (size_t)i * NODE_PKT_SLOT;
			iov[i].iov_len = NODE_PKT_MAX;
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
			m[i].msg_hdr.msg_name = &from[i];
			m[i].msg_hdr.msg_namelen = sizeof from[i];
		}
		k = recvmmsg(n->udp_fd, m, NODE_BATCH, MSG_DONTWAIT, NULL);
		if (k < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn_errno("recvmmsg on the data socket");
			return;
		}
		for (int i = 0; i < k; i++)
			receive_packet(n, iov[i].iov_base, m[i].msg_len, &from[i],
				       m[i].msg_hdr.msg_namelen);
		if (k < NODE_BATCH)
			return;
	}
}
