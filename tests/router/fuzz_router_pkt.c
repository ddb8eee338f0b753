// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_router_pkt.c - libFuzzer harness for the router's inner-packet
 * parser and the ICMP builders fed by it. Whatever parses must stay inside
 * the input; whatever ICMP is built must fit the RFC size limits and carry
 * checksums that verify.
 */
#include <stdlib.h>
#include <string.h>

#include "router/icmp.h"
#include "router/packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sum_ok(const uint8_t *p, size_t n, uint32_t acc)
{
	return icmp_csum_fold(icmp_csum_add(acc, p, n)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[ICMP_OUT_MAX];
	struct router_pkt p;
	uint8_t *pkt;
	size_t olen;
	ssize_t n;

	if (size < 1 || size > 70000)
		return 0;
	/* first byte picks the reason / MTU; the rest is the packet (copied so
	 * overreads past it are caught exactly) */
	pkt = malloc(size - 1 ? size - 1 : 1);
	if (!pkt)
		return 0;
	memcpy(pkt, data + 1, size - 1);
	size--;

	if (router_pkt_parse(&p, pkt, size) == 0) {
		if (p.total_len > size || p.hdr_len > p.total_len)
			abort();
		n = icmp_build_unreach(out, sizeof out, (enum icmp_unreach)(data[0] % 4), pkt, size, NULL);
		if (n < 0)
			abort();
		if (n > 0) {
			if (p.af == 4 && (n > ICMP4_MAX_TOTAL || !sum_ok(out, 20, 0) ||
					  !sum_ok(out + 20, (size_t)n - 20, 0)))
				abort();
			if (p.af == 6 && n > ICMP6_MAX_TOTAL)
				abort();
		}
		switch (router_check_mtu(pkt, size, 576u + data[0] * 4u, out, sizeof out, &olen, NULL)) {
		case ROUTER_MTU_ICMP:
			if (olen == 0 || olen > ICMP_OUT_MAX)
				abort();
			break;
		case ROUTER_MTU_OK:
		case ROUTER_MTU_DROP:
			if (olen != 0)
				abort();
			break;
		default:
			abort();
		}
	}
	free(pkt);
	return 0;
}
