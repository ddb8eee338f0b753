/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netlink.h - the few rtnetlink requests mavpn needs (links, addresses,
 * routes), through libmnl. netlink.c is the only file that includes
 * libmnl.h; this header only forward-declares its socket type.
 *
 * Every request asks for an ACK and waits for it (synchronous, one request
 * in flight), and the socket has NETLINK_EXT_ACK + NETLINK_CAP_ACK set, so a
 * refused request yields the kernel's own explanation. Each call returns 0
 * on success or -1 with errno set (to the kernel's error) and a one-line
 * human message in err[NL_ERR_MAX] that quotes the request and, when the
 * kernel sent one, its ext-ack text, e.g.
 *   "cannot set MTU 70000 on mavpn0: mtu greater than device maximum (Invalid argument)"
 * err is untouched on success.
 *
 * Addresses are plain bytes: family AF_INET (4 bytes at addr) or AF_INET6
 * (16 bytes). Prefix lengths are checked (0..32 / 0..128) before sending.
 * Interfaces are named by ifindex; messages show the name when it resolves.
 *
 * Not thread-safe: one struct nl per thread.
 */
#ifndef MAVPN_TUN_NETLINK_H
#define MAVPN_TUN_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

#define NL_ERR_MAX 256

struct mnl_socket;

struct nl {
	struct mnl_socket *sock;	/* NULL when closed */
	uint32_t portid;
	uint32_t seq;
};

/* Open and bind a NETLINK_ROUTE socket (ext-ack on). 0 or -1 + err. */
int nl_open(struct nl *nl, char err[static NL_ERR_MAX])
	__attribute__((warn_unused_result));
/* Close; safe on a zeroed or already closed handle. */
void nl_close(struct nl *nl);

/* Link state as the kernel reports it. */
struct nl_link_info {
	unsigned mtu;
	unsigned flags;		/* IFF_UP, IFF_POINTOPOINT, ... (ifi_flags) */
	unsigned txqlen;	/* IFLA_TXQLEN: transmit queue length, packets */
	bool has_stats;		/* IFLA_STATS64 was present: */
	uint64_t tx_dropped;	/* packets the kernel dropped on transmit (for a
				 * TUN: its queue to the reader was full) */
	uint64_t rx_dropped;
};
int nl_link_get(struct nl *nl, int ifindex, struct nl_link_info *out,
		char err[static NL_ERR_MAX]) __attribute__((warn_unused_result));

/* Set IFF_UP and, when mtu != 0, the MTU in the same request. */
int nl_link_up(struct nl *nl, int ifindex, unsigned mtu, char err[static NL_ERR_MAX]);
/* Clear IFF_UP. */
int nl_link_down(struct nl *nl, int ifindex, char err[static NL_ERR_MAX]);
/* Set the MTU only. No range check here: the kernel's answer is reported. */
int nl_link_set_mtu(struct nl *nl, int ifindex, unsigned mtu, char err[static NL_ERR_MAX]);
/* Set the transmit queue length (IFLA_TXQLEN, packets; the kernel accepts
 * any u32, 0 included). For a TUN it bounds the packets waiting for the
 * reader: beyond it the kernel drops them (tx_dropped). */
int nl_link_set_txqlen(struct nl *nl, int ifindex, unsigned txqlen, char err[static NL_ERR_MAX]);
/* Delete a link (RTM_DELLINK), e.g. a persistent TUN. */
int nl_link_del(struct nl *nl, int ifindex, char err[static NL_ERR_MAX]);

/*
 * Add addr/prefixlen to the link (IFA_LOCAL = IFA_ADDRESS = addr, scope
 * universe, NLM_F_CREATE|NLM_F_EXCL so an existing address gives EEXIST).
 * IPv6 addresses get IFA_F_NODAD. With noprefixroute the kernel adds no
 * route for the prefix (IFA_F_NOPREFIXROUTE): the caller adds its own.
 */
int nl_addr_add(struct nl *nl, int ifindex, int family, const uint8_t *addr,
		unsigned prefixlen, bool noprefixroute, char err[static NL_ERR_MAX]);
int nl_addr_del(struct nl *nl, int ifindex, int family, const uint8_t *addr,
		unsigned prefixlen, char err[static NL_ERR_MAX]);

/*
 * Route dst/prefixlen out of ifindex in the main table, proto static,
 * scope link (v4) / universe (v6), metric 0 = kernel default.
 * Added with NLM_F_CREATE|NLM_F_EXCL: an existing route with the same key
 * (v4: dst+len+metric, whatever its device; v6: same plus device) gives
 * EEXIST. Host bits beyond prefixlen must be zero (EINVAL, checked here).
 */
int nl_route_add(struct nl *nl, int ifindex, int family, const uint8_t *dst,
		 unsigned prefixlen, unsigned metric, char err[static NL_ERR_MAX]);
int nl_route_del(struct nl *nl, int ifindex, int family, const uint8_t *dst,
		 unsigned prefixlen, unsigned metric, char err[static NL_ERR_MAX]);
/*
 * Look for a main-table route with exactly this dst/prefixlen (any metric,
 * any device). Returns 1 and its output ifindex in *oif (0 if it has none,
 * e.g. blackhole), 0 if there is none, -1 on error. When several match, the
 * one whose device equals *oif on entry is reported (pass 0 for any).
 */
int nl_route_find(struct nl *nl, int family, const uint8_t *dst, unsigned prefixlen,
		  int *oif, char err[static NL_ERR_MAX]) __attribute__((warn_unused_result));

#endif
