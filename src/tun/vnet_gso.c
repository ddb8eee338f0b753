/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vnet_gso.c - software segmentation of TSO/USO super-packets read from a
 * vnet TUN; contract in vnet.h (vnet_gso_segment).
 */
#include "tun/vnet.h"

#include <errno.h>
#include <string.h>

#define PROTO_TCP 6
#define PROTO_UDP 17
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

/* Layout of the packet, validated once. */
struct layout {
	int ver;
	size_t l3;		/* IP header length = L4 offset */
	size_t hdrs;		/* IP + L4 header length */
	uint8_t proto;
};

static int parse(const struct vnet_hdr *h, const uint8_t *pkt, size_t len, struct layout *l)
{
	uint8_t base = h->gso_type & (uint8_t)~VNET_GSO_ECN;

	if (len < 1)
		return -1;
	l->ver = pkt[0] >> 4;
	if (l->ver == 4) {
		if (len < 20)
			return -1;
		l->l3 = (size_t)(pkt[0] & 0x0f) * 4;
		if (l->l3 < 20 || l->l3 > len)
			return -1;
		if (rd16(pkt + 6) & 0x3fff)
			return -1;	/* a fragment cannot be segmented */
		l->proto = pkt[9];
	} else if (l->ver == 6) {
		if (len < 40)
			return -1;
		l->l3 = 40;
		l->proto = pkt[6];	/* extension headers: refused below */
	} else {
		return -1;
	}
	switch (base) {
	case VNET_GSO_TCPV4:
	case VNET_GSO_TCPV6:
		if (l->proto != PROTO_TCP || l->ver != (base == VNET_GSO_TCPV4 ? 4 : 6))
			return -1;
		if (len < l->l3 + 20)
			return -1;
		l->hdrs = l->l3 + (size_t)(pkt[l->l3 + 12] >> 4) * 4;
		if (l->hdrs < l->l3 + 20 || l->hdrs > len)
			return -1;
		break;
	case VNET_GSO_UDP_L4:
		if (l->proto != PROTO_UDP || len < l->l3 + 8)
			return -1;
		l->hdrs = l->l3 + 8;
		break;
	default:
		return -1;
	}
	if ((h->flags & VNET_F_NEEDS_CSUM) && h->csum_start != l->l3)
		return -1;
	return 0;
}

/* Full L4 checksum of seg (IP header at 0, L4 at l3) with pseudo header. */
static uint16_t l4_csum(const struct layout *l, const uint8_t *seg, size_t seglen)
{
	size_t l4len = seglen - l->l3;
	uint32_t s;

	if (l->ver == 4)
		s = vnet_csum_partial(seg + 12, 8, 0);
	else
		s = vnet_csum_partial(seg + 8, 32, 0);
	s += l->proto;
	s += (uint32_t)(l4len >> 16) + (uint32_t)(l4len & 0xffff);
	return vnet_csum_fold(vnet_csum_partial(seg + l->l3, l4len, s));
}

static int fail(int e)
{
	errno = e;
	return -1;
}

int vnet_gso_segment(const struct vnet_hdr *h, const uint8_t *pkt, size_t len,
		     uint8_t *out, size_t out_cap, struct vnet_seg *segs, size_t max_segs)
{
	struct layout l;
	size_t payload, nseg, need, pos = 0;

	if (max_segs < 1)
		return fail(ENOSPC);
	if ((h->gso_type & (uint8_t)~VNET_GSO_ECN) == VNET_GSO_NONE) {
		if (len > out_cap)
			return fail(ENOSPC);
		memcpy(out, pkt, len);
		if (vnet_csum_finish(h, out, len) < 0)
			return fail(EINVAL);
		segs[0].off = 0;
		segs[0].len = len;
		return 1;
	}
	if (h->gso_size == 0 || parse(h, pkt, len, &l) < 0 ||
	    l.hdrs + h->gso_size > 65535)
		return fail(EINVAL);
	payload = len - l.hdrs;
	nseg = payload ? (payload + h->gso_size - 1) / h->gso_size : 1;
	need = nseg * l.hdrs + payload;
	if (nseg > max_segs || need > out_cap)
		return fail(ENOSPC);

	for (size_t k = 0; k < nseg; k++) {
		size_t chunk = payload - k * h->gso_size;
		uint8_t *seg = out + pos;
		size_t seglen;

		if (chunk > h->gso_size)
			chunk = h->gso_size;
		seglen = l.hdrs + chunk;
		memcpy(seg, pkt, l.hdrs);
		memcpy(seg + l.hdrs, pkt + l.hdrs + k * h->gso_size, chunk);

		if (l.ver == 4) {
			wr16(seg + 2, (uint16_t)seglen);
			wr16(seg + 4, (uint16_t)(rd16(pkt + 4) + k));
			wr16(seg + 10, 0);
			wr16(seg + 10, vnet_csum_fold(vnet_csum_partial(seg, l.l3, 0)));
		} else {
			wr16(seg + 4, (uint16_t)(seglen - 40));
		}
		if (l.proto == PROTO_TCP) {
			uint8_t *tcp = seg + l.l3;

			wr32(tcp + 4, rd32(pkt + l.l3 + 4) + (uint32_t)(k * h->gso_size));
			if (k + 1 < nseg)
				tcp[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
			if (k > 0)
				tcp[13] &= (uint8_t)~TCP_CWR;
			wr16(tcp + 16, 0);
			wr16(tcp + 16, l4_csum(&l, seg, seglen));
		} else {
			uint8_t *udp = seg + l.l3;
			uint16_t c;

			wr16(udp + 4, (uint16_t)(8 + chunk));
			wr16(udp + 6, 0);
			c = l4_csum(&l, seg, seglen);
			wr16(udp + 6, c ? c : 0xffff);
		}
		segs[k].off = pos;
		segs[k].len = seglen;
		pos += seglen;
	}
	return (int)nseg;
}
