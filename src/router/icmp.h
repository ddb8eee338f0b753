/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * icmp.h - ICMP errors the node writes back into its TUN device.
 *
 * Each builder takes the offending inner packet (as read from the TUN) and
 * writes into out a complete IP packet addressed to that packet's source:
 *
 *   IPv4: IPv4 header (20, TTL 64, TOS 0xc0, checksum) | ICMP (8) | quote
 *         quote = as much of the offending datagram as keeps the whole ICMP
 *         datagram within 576 bytes (RFC 1812 4.3.2.3): up to 548 bytes,
 *         never less than its IP header + 8 (when it has them).
 *   IPv6: IPv6 header (40, hop limit 64) | ICMPv6 (8) | quote
 *         quote = as much as fits in 1280 bytes total (RFC 4443 2.4 c):
 *         up to 1232 bytes. ICMPv6 checksum over the pseudo-header.
 *
 * Source address of the ICMP packet: src (4 or 16 bytes, matching the
 * offending packet's family: normally the node's VIP), or, when src is
 * NULL, the offending packet's destination address.
 *
 * No ICMP is generated (return 0) when RFC 1812 4.3.2.7 / RFC 4443 2.4 (e)
 * forbid it: the offending packet is itself an ICMP error, a non-first
 * fragment, addressed to multicast/broadcast (v6: except packet too big),
 * or its source is not a unicast host (unspecified, loopback, multicast,
 * limited broadcast).
 *
 * out must not overlap pkt (nor src).
 *
 * Return: bytes written (> 0), 0 when no ICMP must be sent, -1 when pkt is
 * malformed, src's family does not fit, or cap is too small (cap >= 576 for
 * v4 and >= 1280 for v6 always suffices; ICMP_OUT_MAX covers both).
 */
#ifndef MAVPN_ROUTER_ICMP_H
#define MAVPN_ROUTER_ICMP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ICMP4_MAX_TOTAL 576
#define ICMP4_MAX_QUOTE (ICMP4_MAX_TOTAL - 20 - 8)	/* 548 */
#define ICMP6_MAX_TOTAL 1280
#define ICMP6_MAX_QUOTE (ICMP6_MAX_TOTAL - 40 - 8)	/* 1232 */
#define ICMP_OUT_MAX ICMP6_MAX_TOTAL

/* Minimum MTUs (RFC 791 / RFC 8200): MTUs below are raised to these in
 * "fragmentation needed" / "packet too big". */
#define ICMP4_MIN_MTU 68
#define ICMP6_MIN_MTU 1280

/* Why the destination is unreachable -> (type, code):
 *                          IPv4 (type 3)        IPv6 (type 1)
 *   ICMP_UNREACH_NET        0 net unreachable    0 no route to destination
 *   ICMP_UNREACH_HOST       1 host unreachable   3 address unreachable
 *   ICMP_UNREACH_ADMIN     13 admin prohibited   1 administratively prohibited
 *   ICMP_UNREACH_PORT       3 port unreachable   4 port unreachable
 */
enum icmp_unreach {
	ICMP_UNREACH_NET = 0,
	ICMP_UNREACH_HOST,
	ICMP_UNREACH_ADMIN,
	ICMP_UNREACH_PORT,
};

ssize_t icmp_build_unreach(uint8_t *out, size_t cap, enum icmp_unreach why,
			   const uint8_t *pkt, size_t len, const uint8_t *src)
	__attribute__((warn_unused_result));

/* IPv4: type 3 code 4 "fragmentation needed and DF set", next-hop MTU in
 * bytes 6..7 (RFC 1191). IPv6: type 2 "packet too big", MTU in bytes 4..7. */
ssize_t icmp_build_too_big(uint8_t *out, size_t cap, uint32_t mtu,
			   const uint8_t *pkt, size_t len, const uint8_t *src)
	__attribute__((warn_unused_result));

enum router_mtu_verdict {
	ROUTER_MTU_OK = 0,	/* fits (or v4 without DF: send; the outer packet
				 * may be fragmented by the underlay) */
	ROUTER_MTU_ICMP,	/* too big: drop it, write out[0..*out_len) to the TUN */
	ROUTER_MTU_DROP,	/* too big and no ICMP allowed (e.g. about an ICMP
				 * error), or malformed: drop silently */
};

/*
 * For an inner packet about to be tunnelled: if len > mtu and (v4 with DF,
 * or v6), build "fragmentation needed" / "packet too big" carrying mtu.
 * For GSO super-packets, pass the segment size, not the total.
 * *out_len is set (0 unless ROUTER_MTU_ICMP).
 */
enum router_mtu_verdict router_check_mtu(const uint8_t *pkt, size_t len, uint32_t mtu,
					 uint8_t *out, size_t cap, size_t *out_len,
					 const uint8_t *src)
	__attribute__((warn_unused_result));

/* Internet checksum (RFC 1071) of data, folded, not complemented, added to
 * an initial 32-bit sum; exported for the node's own use. */
uint32_t icmp_csum_add(uint32_t sum, const uint8_t *data, size_t len);
uint16_t icmp_csum_fold(uint32_t sum);	/* ~fold(sum) */

#endif
