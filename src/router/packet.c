// SPDX-License-Identifier: GPL-2.0-only
/*
 * packet.c - inner IP header parsing (contract in packet.h).
 */
#include "router/packet.h"

#include <string.h>

#define V6_NEXT_HOPOPTS 0
#define V6_NEXT_ROUTING 43
#define V6_NEXT_FRAGMENT 44
#define V6_NEXT_AH 51
#define V6_NEXT_NONE 59
#define V6_NEXT_DSTOPTS 60
#define V6_MAX_EXT 8

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int router_pkt_af(const uint8_t *pkt, size_t len)
{
	if (!pkt || len < 1)
		return 0;
	switch (pkt[0] >> 4) {
	case 4: return 4;
	case 6: return 6;
	default: return 0;
	}
}

static int icmp4_is_error(int type)
{
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

static int parse4(struct router_pkt *p, const uint8_t *pkt, size_t len)
{
	size_t ihl, tot;
	uint16_t frag;

	if (len < ROUTER_IPV4_HDR_MIN)
		return -1;
	ihl = (size_t)(pkt[0] & 0x0f) * 4;
	tot = be16(pkt + 2);
	if (ihl < ROUTER_IPV4_HDR_MIN || ihl > len || tot < ihl || tot > len)
		return -1;
	frag = be16(pkt + 6);
	p->af = 4;
	p->proto = pkt[9];
	p->src = pkt + 12;
	p->dst = pkt + 16;
	p->hdr_len = ihl;
	p->total_len = tot;
	p->df = (frag & 0x4000) != 0;
	p->fragment = (frag & 0x3fff) != 0;
	p->first_fragment = (frag & 0x1fff) == 0;
	if (p->proto == ROUTER_IPPROTO_ICMP) {
		if (!p->first_fragment)
			p->icmp_error = true;
		else if (ihl + 1 <= tot) {
			p->icmp_type = pkt[ihl];
			p->icmp_error = icmp4_is_error(p->icmp_type);
		}
	}
	return 0;
}

static int parse6(struct router_pkt *p, const uint8_t *pkt, size_t len)
{
	size_t tot, off = ROUTER_IPV6_HDR_LEN, hlen;
	uint8_t next;
	int n;

	if (len < ROUTER_IPV6_HDR_LEN)
		return -1;
	tot = (size_t)be16(pkt + 4) + ROUTER_IPV6_HDR_LEN;
	if (tot == ROUTER_IPV6_HDR_LEN && pkt[6] != V6_NEXT_NONE)
		return -1;	/* payload_len 0: a jumbogram (or empty) */
	if (tot > len)
		return -1;
	p->af = 6;
	p->src = pkt + 8;
	p->dst = pkt + 24;
	p->total_len = tot;
	p->df = true;
	p->first_fragment = true;
	next = pkt[6];

	for (n = 0; n < V6_MAX_EXT; n++) {
		if (next == V6_NEXT_HOPOPTS || next == V6_NEXT_ROUTING ||
		    next == V6_NEXT_DSTOPTS || next == V6_NEXT_AH) {
			if (off + 2 > tot)
				goto cut;
			hlen = next == V6_NEXT_AH ? ((size_t)pkt[off + 1] + 2) * 4
						  : ((size_t)pkt[off + 1] + 1) * 8;
			if (off + hlen > tot)
				goto cut;
			next = pkt[off];
			off += hlen;
		} else if (next == V6_NEXT_FRAGMENT) {
			uint16_t fo;

			if (off + 8 > tot)
				goto cut;
			fo = be16(pkt + off + 2);
			p->fragment = true;
			p->first_fragment = (fo & 0xfff8) == 0;
			next = pkt[off];
			off += 8;
			if (!p->first_fragment)
				break;
		} else {
			break;
		}
	}
	if (n == V6_MAX_EXT)
		goto cut;
	p->proto = next;
	p->hdr_len = off;
	if (next == ROUTER_IPPROTO_ICMPV6) {
		if (!p->first_fragment)
			p->icmp_error = true;
		else if (off + 1 <= tot) {
			p->icmp_type = pkt[off];
			p->icmp_error = p->icmp_type < 128;
		}
	}
	return 0;
cut:
	p->proto = V6_NEXT_NONE;
	p->hdr_len = off;
	p->icmp_error = true;	/* unknown content: never answer it */
	return 0;
}

int router_pkt_parse(struct router_pkt *p, const uint8_t *pkt, size_t len)
{
	memset(p, 0, sizeof *p);
	p->icmp_type = -1;
	if (!pkt)
		return -1;
	switch (router_pkt_af(pkt, len)) {
	case 4: return parse4(p, pkt, len);
	case 6: return parse6(p, pkt, len);
	default: return -1;
	}
}
