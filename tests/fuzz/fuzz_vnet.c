// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_vnet - the virtio_net_hdr parser, checksum completion and the GSO
 * splitter (src/tun/vnet.h) on arbitrary input: the first 10 bytes are the
 * header, the rest the packet a TUN would hand us. Invariants: no access out
 * of bounds (ASan), every segment lies inside the output buffer, segments are
 * contiguous and each one is no longer than the header plus gso_size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tun/vnet.h"

#define MAX_SEGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vnet_seg segs[MAX_SEGS];
	struct vnet_hdr h;
	uint8_t *pkt, *out;
	size_t len, cap;
	int n;

	if (vnet_hdr_parse(&h, data, size) != 0)
		return 0;
	len = size - VNET_HDR_LEN;
	pkt = malloc(len ? len : 1);
	if (!pkt)
		return 0;
	memcpy(pkt, data + VNET_HDR_LEN, len);
	(void)vnet_csum_finish(&h, pkt, len);

	cap = len + MAX_SEGS * 128;
	out = malloc(cap);
	if (!out) {
		free(pkt);
		return 0;
	}
	memcpy(pkt, data + VNET_HDR_LEN, len);
	n = vnet_gso_segment(&h, pkt, len, out, cap, segs, MAX_SEGS);
	if (n > 0) {
		size_t end = 0;

		for (int i = 0; i < n; i++) {
			if (segs[i].off != end || segs[i].off + segs[i].len > cap)
				abort();
			end = segs[i].off + segs[i].len;
		}
	}
	free(out);
	free(pkt);
	return 0;
}
