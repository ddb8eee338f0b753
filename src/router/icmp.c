// SPDX-License-Identifier: GPL-2.0-only
/*
 * icmp.c - ICMP / ICMPv6 error generation (contract in icmp.h).
 */
#include "router/icmp.h"

#include <stdbool.h>
#include <string.h>

#include "router/packet.h"

#define ICMP_HDR_LEN 8
#define IP4_HDR_LEN 20
#define IP6_HDR_LEN 40
#define OUT_TTL 64
#define OUT_TOS 0xc0	/* precedence "internetwork control", as routers do */

#define ICMP4_DEST_UNREACH 3
#define ICMP4_FRAG_NEEDED 4	/* code under type 3 */
#define ICMP6_DEST_UNREACH 1
#define ICMP6_PACKET_TOO_BIG 2

uint32_t icmp_csum_add(uint32_t sum, const uint8_t *data, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		sum += (uint32_t)(data[i] << 8 | data[i + 1]);
		if (sum & 0x80000000u)
			sum = (sum & 0xffff) + (sum >> 16);
	}
	if (len & 1)
		sum += (uint32_t)data[len - 1] << 8;
	return sum;
}

uint16_t icmp_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Not a unicast host source: RFC 1812 4.3.2.7 (0/8, 127/8, 224/4 multicast,
 * 240/4 incl. limited broadcast). */
static bool v4_src_bad(const uint8_t *a)
{
	return a[0] == 0 || a[0] == 127 || a[0] >= 224;
}

static bool v4_dst_bad(const uint8_t *a)
{
	static const uint8_t bcast[4] = { 255, 255, 255, 255 };

	return (a[0] >= 224 && a[0] <= 239) || memcmp(a, bcast, 4) == 0;
}

static bool v6_unspecified(const uint8_t *a)
{
	static const uint8_t zero[16];

	return memcmp(a, zero, 16) == 0;
}

static bool v6_loopback(const uint8_t *a)
{
	static const uint8_t one[16] = { [15] = 1 };

	return memcmp(a, one, 16) == 0;
}

static bool v6_src_bad(const uint8_t *a)
{
	return v6_unspecified(a) || v6_loopback(a) || a[0] == 0xff;
}

/*
 * Write the ICMP(v6) error (type, code, bytes 4..7 = rest) about the
 * parsed packet p into out. rest4 is the second header word.
 */
static ssize_t build(uint8_t *out, size_t cap, const struct router_pkt *p,
		     const uint8_t *pkt, const uint8_t *src,
		     uint8_t type, uint8_t code, uint32_t rest)
{
	const uint8_t *from = src ? src : p->dst;
	size_t iplen = p->af == 4 ? IP4_HDR_LEN : IP6_HDR_LEN;
	size_t maxq = p->af == 4 ? ICMP4_MAX_QUOTE : ICMP6_MAX_QUOTE;
	size_t q = p->total_len < maxq ? p->total_len : maxq;
	size_t icmplen = ICMP_HDR_LEN + q, total = iplen + icmplen;
	uint8_t *ip = out, *icmp = out + iplen;
	uint32_t sum;

	if (!out || cap < total)
		return -1;

	/* out and pkt do not overlap (contract). */
	icmp[0] = type;
	icmp[1] = code;
	icmp[2] = icmp[3] = 0;
	put32(icmp + 4, rest);
	memcpy(icmp + ICMP_HDR_LEN, pkt, q);

	if (p->af == 4) {
		memset(ip, 0, IP4_HDR_LEN);
		ip[0] = 0x45;
		ip[1] = OUT_TOS;
		put16(ip + 2, (uint16_t)total);
		/* id 0, no fragmentation flags: 576 bytes cross every link */
		ip[8] = OUT_TTL;
		ip[9] = ROUTER_IPPROTO_ICMP;
		memcpy(ip + 16, p->src, 4);
		memcpy(ip + 12, from, 4);
		put16(ip + 10, icmp_csum_fold(icmp_csum_add(0, ip, IP4_HDR_LEN)));
		put16(icmp + 2, icmp_csum_fold(icmp_csum_add(0, icmp, icmplen)));
	} else {
		uint8_t pseudo[8];

		memset(ip, 0, IP6_HDR_LEN);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)icmplen);
		ip[6] = ROUTER_IPPROTO_ICMPV6;
		ip[7] = OUT_TTL;
		memcpy(ip + 24, p->src, 16);
		memcpy(ip + 8, from, 16);
		/* Pseudo-header: src, dst, upper-layer length (32), zero, next header. */
		put32(pseudo, (uint32_t)icmplen);
		pseudo[4] = pseudo[5] = pseudo[6] = 0;
		pseudo[7] = ROUTER_IPPROTO_ICMPV6;
		sum = icmp_csum_add(0, ip + 8, 32);
		sum = icmp_csum_add(sum, pseudo, sizeof pseudo);
		sum = icmp_csum_add(sum, icmp, icmplen);
		put16(icmp + 2, icmp_csum_fold(sum));
	}
	return (ssize_t)total;
}

/*
 * Parse pkt and decide whether an error may be sent about it.
 * -1 malformed, 0 forbidden, 1 allowed.
 */
static int check(struct router_pkt *p, const uint8_t *pkt, size_t len, bool too_big)
{
	if (router_pkt_parse(p, pkt, len) != 0)
		return -1;
	if (p->icmp_error || !p->first_fragment)
		return 0;
	if (p->af == 4)
		return !(v4_src_bad(p->src) || v4_dst_bad(p->dst));
	if (v6_src_bad(p->src))
		return 0;
	if (p->dst[0] == 0xff && !too_big)
		return 0;
	return 1;
}

/* The ICMP source must be of the packet's family: we cannot tell a
 * caller's buffer length, so a NULL src is the only "not given". */
ssize_t icmp_build_unreach(uint8_t *out, size_t cap, enum icmp_unreach why,
			   const uint8_t *pkt, size_t len, const uint8_t *src)
{
	static const uint8_t code4[] = {
		[ICMP_UNREACH_NET] = 0, [ICMP_UNREACH_HOST] = 1,
		[ICMP_UNREACH_ADMIN] = 13, [ICMP_UNREACH_PORT] = 3,
	};
	static const uint8_t code6[] = {
		[ICMP_UNREACH_NET] = 0, [ICMP_UNREACH_HOST] = 3,
		[ICMP_UNREACH_ADMIN] = 1, [ICMP_UNREACH_PORT] = 4,
	};
	struct router_pkt p;
	int ok;

	if ((unsigned)why > ICMP_UNREACH_PORT)
		return -1;
	ok = check(&p, pkt, len, false);
	if (ok <= 0)
		return ok;
	if (p.af == 4)
		return build(out, cap, &p, pkt, src, ICMP4_DEST_UNREACH, code4[why], 0);
	return build(out, cap, &p, pkt, src, ICMP6_DEST_UNREACH, code6[why], 0);
}

ssize_t icmp_build_too_big(uint8_t *out, size_t cap, uint32_t mtu,
			   const uint8_t *pkt, size_t len, const uint8_t *src)
{
	struct router_pkt p;
	int ok;

	ok = check(&p, pkt, len, true);
	if (ok <= 0)
		return ok;
	if (p.af == 4) {
		if (mtu < ICMP4_MIN_MTU)
			mtu = ICMP4_MIN_MTU;
		if (mtu > 0xffff)
			mtu = 0xffff;
		return build(out, cap, &p, pkt, src, ICMP4_DEST_UNREACH, ICMP4_FRAG_NEEDED, mtu);
	}
	if (mtu < ICMP6_MIN_MTU)
		mtu = ICMP6_MIN_MTU;
	return build(out, cap, &p, pkt, src, ICMP6_PACKET_TOO_BIG, 0, mtu);
}

enum router_mtu_verdict router_check_mtu(const uint8_t *pkt, size_t len, uint32_t mtu,
					 uint8_t *out, size_t cap, size_t *out_len,
					 const uint8_t *src)
{
	struct router_pkt p;
	ssize_t n;

	*out_len = 0;
	if (router_pkt_parse(&p, pkt, len) != 0)
		return ROUTER_MTU_DROP;
	if (p.total_len <= mtu)
		return ROUTER_MTU_OK;
	if (p.af == 4 && !p.df)
		return ROUTER_MTU_OK;
	n = icmp_build_too_big(out, cap, mtu, pkt, len, src);
	if (n <= 0)
		return ROUTER_MTU_DROP;
	*out_len = (size_t)n;
	return ROUTER_MTU_ICMP;
}
