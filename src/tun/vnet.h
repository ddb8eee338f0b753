/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vnet.h - the 10-byte virtio_net_hdr that precedes every packet on a TUN
 * opened with TUN_O_VNET_HDR (IFF_VNET_HDR).
 *
 * Layout (legacy virtio, native endianness: we never set TUNSETVNETLE/BE):
 *   flags u8 | gso_type u8 | hdr_len u16 | gso_size u16 |
 *   csum_start u16 | csum_offset u16
 * Pure functions: no fd, no allocation.
 */
#ifndef MAVPN_TUN_VNET_H
#define MAVPN_TUN_VNET_H

#include <stddef.h>
#include <stdint.h>

#define VNET_HDR_LEN 10

#define VNET_F_NEEDS_CSUM 1		/* L4 checksum to be finished */
#define VNET_F_DATA_VALID 2		/* checksum already verified */

#define VNET_GSO_NONE 0
#define VNET_GSO_TCPV4 1
#define VNET_GSO_UDP 3			/* UFO, obsolete */
#define VNET_GSO_TCPV6 4
#define VNET_GSO_UDP_L4 5		/* USO */
#define VNET_GSO_ECN 0x80

struct vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

/*
 * Read the header from buf[0..len). Returns 0, or -1 when len is below
 * VNET_HDR_LEN, flags carry unknown bits, or gso_type is unknown.
 */
int vnet_hdr_parse(struct vnet_hdr *h, const uint8_t *buf, size_t len)
	__attribute__((warn_unused_result));
/* Write h as 10 bytes. */
void vnet_hdr_build(const struct vnet_hdr *h, uint8_t out[static VNET_HDR_LEN]);

/*
 * Finish a NEEDS_CSUM checksum in pkt[0..len) (the IP packet after the
 * header): sums pkt[csum_start..len) - whose checksum field already holds
 * the pseudo-header sum, as the kernel leaves it - and stores the folded
 * complement at csum_start + csum_offset. A UDP result of 0 is sent as
 * 0xffff. No-op (0) without NEEDS_CSUM. Returns -1 when csum_start or
 * csum_start + csum_offset + 2 lie beyond len.
 */
int vnet_csum_finish(const struct vnet_hdr *h, uint8_t *pkt, size_t len)
	__attribute__((warn_unused_result));

/*
 * Segment a packet read from a TUN with TSO/USO offloads (TUN_F_TSO4/6,
 * TUN_F_USO4/6) into wire-ready IP packets, as the kernel's software GSO
 * would: pkt[0..len) is the IP packet after the vnet header h.
 *  - VNET_GSO_NONE: one segment, a copy, NEEDS_CSUM finished.
 *  - VNET_GSO_TCPV4/TCPV6 (+ECN): each segment carries gso_size payload
 *    bytes (the last one the rest); TCP seq advances, FIN/PSH stay only on
 *    the last segment, CWR only on the first; IPv4 ID increments per
 *    segment; IPv4 header and TCP checksums are computed in full.
 *  - VNET_GSO_UDP_L4: each segment is a UDP datagram of gso_size payload
 *    (last one shorter) with its own length and full checksum.
 * IPv6 extension headers and the old UFO (VNET_GSO_UDP) are refused, as is
 * an L4 protocol or IP version that does not match gso_type, or a
 * csum_start that is not the L4 header offset.
 * Output: segment k is out[segs[k].off .. + segs[k].len), contiguous.
 * Returns the segment count (>= 1), or -1 with errno EINVAL (malformed or
 * unsupported) or ENOSPC (more than max_segs segments, or out_cap too
 * small: it needs len + (count - 1) * header length).
 */
struct vnet_seg {
	size_t off;
	size_t len;
};

int vnet_gso_segment(const struct vnet_hdr *h, const uint8_t *pkt, size_t len,
		     uint8_t *out, size_t out_cap, struct vnet_seg *segs, size_t max_segs)
	__attribute__((warn_unused_result));

/* RFC 1071 one's-complement sum of buf (no fold, no complement); add
 * several with vnet_csum_fold(a + b). */
uint32_t vnet_csum_partial(const uint8_t *buf, size_t len, uint32_t sum);
uint16_t vnet_csum_fold(uint32_t sum);	/* ~folded, host order */

#endif
