/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vnet.c - virtio_net_hdr parse/build and checksum completion; contract in
 * vnet.h.
 */
#include "tun/vnet.h"

#include <string.h>

#define UDP_CSUM_OFFSET 6	/* offsetof(struct udphdr, check) */

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);	/* legacy virtio: native endianness */
	return v;
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

int vnet_hdr_parse(struct vnet_hdr *h, const uint8_t *buf, size_t len)
{
	uint8_t base;

	if (len < VNET_HDR_LEN)
		return -1;
	h->flags = buf[0];
	h->gso_type = buf[1];
	h->hdr_len = get16(buf + 2);
	h->gso_size = get16(buf + 4);
	h->csum_start = get16(buf + 6);
	h->csum_offset = get16(buf + 8);
	if (h->flags & ~(VNET_F_NEEDS_CSUM | VNET_F_DATA_VALID))
		return -1;
	base = h->gso_type & (uint8_t)~VNET_GSO_ECN;
	switch (base) {
	case VNET_GSO_NONE:
		if (h->gso_type & VNET_GSO_ECN)
			return -1;
		break;
	case VNET_GSO_TCPV4:
	case VNET_GSO_UDP:
	case VNET_GSO_TCPV6:
	case VNET_GSO_UDP_L4:
		if (h->gso_size == 0)
			return -1;
		break;
	default:
		return -1;
	}
	return 0;
}

void vnet_hdr_build(const struct vnet_hdr *h, uint8_t out[static VNET_HDR_LEN])
{
	out[0] = h->flags;
	out[1] = h->gso_type;
	put16(out + 2, h->hdr_len);
	put16(out + 4, h->gso_size);
	put16(out + 6, h->csum_start);
	put16(out + 8, h->csum_offset);
}

uint32_t vnet_csum_partial(const uint8_t *buf, size_t len, uint32_t sum)
{
	uint64_t s = sum;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)buf[i] << 8 | buf[i + 1];
	if (len & 1)
		s += (uint32_t)buf[len - 1] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t vnet_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int vnet_csum_finish(const struct vnet_hdr *h, uint8_t *pkt, size_t len)
{
	size_t start = h->csum_start, field = start + h->csum_offset;
	uint16_t c;

	if (!(h->flags & VNET_F_NEEDS_CSUM))
		return 0;
	if (start >= len || field + 2 > len)
		return -1;
	/* The field holds the pseudo-header sum: summing over it adds it in. */
	c = vnet_csum_fold(vnet_csum_partial(pkt + start, len - start, 0));
	if (c == 0 && h->csum_offset == UDP_CSUM_OFFSET)
		c = 0xffff;	/* 0 means "no checksum" for UDP */
	pkt[field] = (uint8_t)(c >> 8);
	pkt[field + 1] = (uint8_t)c;
	return 0;
}
