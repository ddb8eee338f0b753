/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * packet.h - read the IP header of an inner packet (from the TUN, or just
 * decrypted), with a bounds check before every read.
 *
 * Only what the router needs: family, addresses, protocol of the transport
 * (after IPv6 extension headers), lengths, DF and fragment offset, and
 * whether it is an ICMP/ICMPv6 error (the router never answers those with
 * an ICMP error).
 */
#ifndef MAVPN_ROUTER_PACKET_H
#define MAVPN_ROUTER_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ROUTER_IPV4_HDR_MIN 20
#define ROUTER_IPV6_HDR_LEN 40
#define ROUTER_IPPROTO_ICMP 1
#define ROUTER_IPPROTO_ICMPV6 58

struct router_pkt {
	uint8_t af;		/* 4 or 6 */
	uint8_t proto;		/* transport protocol (v6: after extension headers;
				 * 59 "no next header" if the chain ends or is cut) */
	const uint8_t *src;	/* into the packet: 4 or 16 bytes */
	const uint8_t *dst;
	size_t hdr_len;		/* v4: IHL*4; v6: 40 + extension headers walked */
	size_t total_len;	/* from the header (tot_len / 40 + payload_len), <= len */
	bool df;		/* v4: DF flag; v6: always true (no on-path fragmentation) */
	bool fragment;		/* part of a fragmented datagram (any) */
	bool first_fragment;	/* offset 0 (true also when not fragmented) */
	bool icmp_error;	/* ICMP/ICMPv6 error message (v4 types 3,4,5,11,12;
				 * v6 types 1..127), or unknown content treated as an
				 * error: a non-first fragment of ICMP, a v6 header
				 * chain that cannot be walked */
	int icmp_type;		/* -1 when not ICMP or not readable */
};

/*
 * Parse pkt[0..len). 0 on success; -1 when not a well-formed IPv4/IPv6
 * packet: too short, bad version, IHL < 5, tot_len < IHL*4 or > len,
 * v6 payload_len + 40 > len (payload_len 0 / jumbograms are refused).
 * Trailing bytes beyond total_len (link padding) are allowed.
 */
int router_pkt_parse(struct router_pkt *p, const uint8_t *pkt, size_t len)
	__attribute__((warn_unused_result));

/* Shortcuts: family (4/6) or 0 from the version nibble (no other check). */
int router_pkt_af(const uint8_t *pkt, size_t len);

#endif
