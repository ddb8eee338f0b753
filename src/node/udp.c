// SPDX-License-Identifier: GPL-2.0-only
/*
 * udp.c - the data socket: one UDP socket, dual stack when the host has
 * IPv6 (IPv4 peers appear as ::ffff:a.b.c.d), bound to [node] listen_port.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "node/node.h"
#include "node/sockaddr.h"

static void udp_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	receive_udp_readable(w->data);
}

static int bind_socket(int family, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, zero = 0, buf = 4 << 20;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&ss, 0, sizeof ss);
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		s6->sin6_addr = in6addr_any;
		sl = sizeof *s6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
		sl = sizeof *s4;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int udp_open(struct node *n, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;

	n->udp_family = AF_INET6;
	n->udp_fd = bind_socket(AF_INET6, n->conf.listen_port);
	if (n->udp_fd < 0 && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
		n->udp_family = AF_INET;
		n->udp_fd = bind_socket(AF_INET, n->conf.listen_port);
	}
	if (n->udp_fd < 0) {
		snprintf(err, errlen, "cannot bind the data socket to UDP port %u: %s",
			 n->conf.listen_port, strerror(errno));
		return -1;
	}
	if (getsockname(n->udp_fd, (struct sockaddr *)&ss, &sl) == 0) {
		struct ctl_endpoint ep;

		if (sockaddr_to_endpoint(&ep, (struct sockaddr *)&ss, sl))
			n->udp_port = ep.port;
	}
	ev_io_init(&n->udp_w, udp_cb, n->udp_fd, EV_READ);
	n->udp_w.data = n;
	ev_io_start(n->loop, &n->udp_w);
	log_info("data socket on UDP port %u", n->udp_port);
	return 0;
}

void udp_close(struct node *n)
{
	if (n->udp_fd < 0)
		return;
	ev_io_stop(n->loop, &n->udp_w);
	close(n->udp_fd);
	n->udp_fd = -1;
}

void udp_flush(struct node *n)
{
	unsigned off = 0;

	while (off < n->tx_n) {
		int r = sendmmsg(n->udp_fd, n->tx_msg + off, n->tx_n - off, MSG_DONTWAIT);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			/* the first unsent datagram failed: count it, go on */
			node_drop(&n->drops, DROP_SEND_ERROR, "sendto %s: %s", n->tx_name[off],
				  strerror(r < 0 ? errno : EIO));
			off++;
			continue;
		}
		off += (unsigned)r;
	}
	n->tx_n = 0;
}

/* Queue slot tx_n (holding pkt) for udp_flush. */
static void batch_add(struct node *n, struct peer *p, const uint8_t *pkt, size_t len)
{
	unsigned i = n->tx_n;
	struct msghdr *h = &n->tx_msg[i].msg_hdr;

	memcpy(&n->tx_addr[i], &p->endpoint, sizeof n->tx_addr[i]);
	memset(h, 0, sizeof *h);
	h->msg_namelen = sockaddr_for_socket(&n->tx_addr[i], p->endpoint_len, n->udp_family);
	h->msg_name = &n->tx_addr[i];
	n->tx_iov[i].iov_base = (void *)pkt;
	n->tx_iov[i].iov_len = len;
	h->msg_iov = &n->tx_iov[i];
	h->msg_iovlen = 1;
	n->tx_name[i] = p->name;
	if (++n->tx_n == NODE_BATCH)
		udp_flush(n);
}

bool udp_send_to_peer(struct node *n, struct peer *p, const uint8_t *pkt, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	if (p->endpoint_len == 0) {
		node_drop(&n->drops, DROP_SEND_ERROR, "no endpoint known for %s", p->name);
		return false;
	}
	if (n->tx_batching && pkt == node_tx_slot(n)) {
		batch_add(n, p, pkt, len);
		return true;
	}
	memcpy(&ss, &p->endpoint, sizeof ss);
	sl = sockaddr_for_socket(&ss, p->endpoint_len, n->udp_family);
	for (;;) {
		if (sendto(n->udp_fd, pkt, len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) >= 0)
			return true;
		if (errno != EINTR)
			break;
	}
	node_drop(&n->drops, DROP_SEND_ERROR, "sendto %s: %s", p->name, strerror(errno));
	return false;
}
