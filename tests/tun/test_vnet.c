/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_vnet.c - virtio_net_hdr parse/build and checksum completion
 * (pure; the kernel cross-check is in test_tun.c).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tun/vnet.h"

/* Independent checksum for the oracle: plain 16-bit big-endian words. */
static uint16_t ref_csum(const uint8_t *b, size_t n, uint32_t init)
{
	uint32_t s = init;

	for (size_t i = 0; i < n; i++)
		s += (i % 2) ? b[i] : (uint32_t)b[i] << 8;
	while (s > 0xffff)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

Test(vnet, build_parse_round_trip)
{
	static const struct vnet_hdr cases[] = {
		{ 0, VNET_GSO_NONE, 0, 0, 0, 0 },
		{ VNET_F_NEEDS_CSUM, VNET_GSO_NONE, 0, 0, 20, 6 },
		{ VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, 52, 1448, 20, 16 },
		{ VNET_F_NEEDS_CSUM, VNET_GSO_TCPV6 | VNET_GSO_ECN, 72, 1428, 40, 16 },
		{ VNET_F_NEEDS_CSUM, VNET_GSO_UDP_L4, 28, 1000, 20, 6 },
		{ VNET_F_DATA_VALID, VNET_GSO_NONE, 0, 0, 0, 0 },
		{ VNET_F_NEEDS_CSUM, VNET_GSO_UDP_L4, 0xffff, 0xffff, 0xffff, 0xffff },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t b[VNET_HDR_LEN + 4];
		struct vnet_hdr h;

		memset(b, 0xee, sizeof b);
		vnet_hdr_build(&cases[i], b);
		cr_assert_eq(b[VNET_HDR_LEN], 0xee, "case %zu: wrote past 10 bytes", i);
		cr_assert_eq(b[0], cases[i].flags);
		cr_assert_eq(b[1], cases[i].gso_type);
		cr_assert_eq(vnet_hdr_parse(&h, b, VNET_HDR_LEN), 0, "case %zu", i);
		cr_assert_eq(h.flags, cases[i].flags);
		cr_assert_eq(h.gso_type, cases[i].gso_type);
		cr_assert_eq(h.hdr_len, cases[i].hdr_len);
		cr_assert_eq(h.gso_size, cases[i].gso_size);
		cr_assert_eq(h.csum_start, cases[i].csum_start);
		cr_assert_eq(h.csum_offset, cases[i].csum_offset, "case %zu", i);
	}
}

Test(vnet, native_layout)
{
	/* csum_start 20, csum_offset 6 as the kernel writes them on x86 */
	const uint8_t b[VNET_HDR_LEN] = { 1, 0, 0, 0, 0, 0, 20, 0, 6, 0 };
	struct vnet_hdr h;

	cr_assert_eq(vnet_hdr_parse(&h, b, sizeof b), 0);
	cr_assert_eq(h.flags, VNET_F_NEEDS_CSUM);
	cr_assert_eq(h.csum_start, 20);
	cr_assert_eq(h.csum_offset, 6);
}

Test(vnet, parse_rejects)
{
	uint8_t b[VNET_HDR_LEN] = { 0 };
	struct vnet_hdr h;

	/* 1. every length below 10 */
	for (size_t n = 0; n < VNET_HDR_LEN; n++)
		cr_assert_eq(vnet_hdr_parse(&h, b, n), -1, "len %zu", n);
	/* 2. unknown flag bits */
	for (unsigned f = 4; f < 256; f <<= 1) {
		b[0] = (uint8_t)f;
		cr_assert_eq(vnet_hdr_parse(&h, b, sizeof b), -1, "flags 0x%x", f);
	}
	b[0] = 0;
	/* 3. unknown gso types, ECN without GSO */
	static const uint8_t bad_gso[] = { 2, 6, 7, 0x7f, VNET_GSO_ECN };
	for (size_t i = 0; i < sizeof bad_gso; i++) {
		b[1] = bad_gso[i];
		b[4] = 100;	/* gso_size set, so only the type is wrong */
		cr_assert_eq(vnet_hdr_parse(&h, b, sizeof b), -1, "gso 0x%x", bad_gso[i]);
	}
	/* 4. GSO with gso_size 0 */
	b[1] = VNET_GSO_TCPV4;
	b[4] = b[5] = 0;
	cr_assert_eq(vnet_hdr_parse(&h, b, sizeof b), -1);
	b[4] = 100;
	cr_assert_eq(vnet_hdr_parse(&h, b, sizeof b), 0);
}

Test(vnet, rfc1071_example)
{
	/* RFC 1071 section 3: sum of these words is 0x2ddf0 -> 0xddf2 */
	const uint8_t d[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	cr_assert_eq(vnet_csum_fold(vnet_csum_partial(d, sizeof d, 0)), (uint16_t)~0xddf2);
	/* odd length pads with a zero byte */
	const uint8_t o[] = { 0x12, 0x34, 0x56 };
	cr_assert_eq(vnet_csum_fold(vnet_csum_partial(o, 3, 0)), (uint16_t)~(0x1234 + 0x5600));
	cr_assert_eq(vnet_csum_fold(vnet_csum_partial(o, 3, 0)), ref_csum(o, 3, 0));
}

/* IPv4 + UDP with the pseudo-header sum in the checksum field, as the kernel
 * leaves a NEEDS_CSUM packet. Returns total length. */
static size_t partial_udp4(uint8_t *p, const uint8_t *payload, size_t plen)
{
	size_t ulen = 8 + plen, tot = 20 + ulen;
	uint32_t ps;

	memset(p, 0, 28);
	p[0] = 0x45;
	p[2] = (uint8_t)(tot >> 8);
	p[3] = (uint8_t)tot;
	p[8] = 64;
	p[9] = 17;
	memcpy(p + 12, (uint8_t[]){ 10, 200, 0, 9, 10, 98, 0, 5 }, 8);
	p[20] = 0x30; p[21] = 0x39;	/* 12345 */
	p[22] = 0x15; p[23] = 0xb3;	/* 5555 */
	p[24] = (uint8_t)(ulen >> 8);
	p[25] = (uint8_t)ulen;
	memcpy(p + 28, payload, plen);
	/* pseudo header: src, dst, proto, udp length (not complemented) */
	ps = 0x0ac8 + 0x0009 + 0x0a62 + 0x0005 + 17 + (uint32_t)ulen;
	while (ps > 0xffff)
		ps = (ps & 0xffff) + (ps >> 16);
	p[26] = (uint8_t)(ps >> 8);
	p[27] = (uint8_t)ps;
	return tot;
}

/* Verify a finished UDP/IPv4 checksum with the reference sum. */
static bool udp4_ok(const uint8_t *p, size_t tot)
{
	uint8_t ph[12];
	size_t ulen = tot - 20;
	uint32_t s = 0;

	memcpy(ph, p + 12, 8);
	ph[8] = 0;
	ph[9] = 17;
	ph[10] = (uint8_t)(ulen >> 8);
	ph[11] = (uint8_t)ulen;
	for (size_t i = 0; i < 12; i += 2)
		s += (uint32_t)ph[i] << 8 | ph[i + 1];
	return ref_csum(p + 20, ulen, s) == 0;
}

Test(vnet, csum_finish_udp)
{
	const struct vnet_hdr h = { VNET_F_NEEDS_CSUM, 0, 0, 0, 20, 6 };
	uint8_t p[128];

	for (size_t plen = 0; plen < 40; plen++) {
		uint8_t pay[40];

		for (size_t i = 0; i < plen; i++)
			pay[i] = (uint8_t)(i * 37 + plen);
		size_t tot = partial_udp4(p, pay, plen);
		cr_assert_not(udp4_ok(p, tot) && plen > 0, "partial packet already valid?");
		cr_assert_eq(vnet_csum_finish(&h, p, tot), 0);
		cr_assert(udp4_ok(p, tot), "payload %zu: checksum wrong after finish", plen);
		cr_assert_neq(p[26] << 8 | p[27], 0);
	}
}

Test(vnet, csum_finish_udp_zero_becomes_ffff)
{
	const struct vnet_hdr h = { VNET_F_NEEDS_CSUM, 0, 0, 0, 20, 6 };
	uint8_t p[64], pay[4] = { 0, 0, 0, 0 };
	size_t tot = partial_udp4(p, pay, sizeof pay);
	uint8_t save[64];

	memcpy(save, p, sizeof p);
	cr_assert_eq(vnet_csum_finish(&h, p, tot), 0);
	/* Adding the computed checksum into a payload word drives the sum to
	 * 0xffff, i.e. a computed checksum of 0. */
	uint16_t c = (uint16_t)(p[26] << 8 | p[27]);
	memcpy(p, save, sizeof p);
	p[28] = (uint8_t)(c >> 8);
	p[29] = (uint8_t)c;
	cr_assert_eq(vnet_csum_finish(&h, p, tot), 0);
	cr_assert_eq(p[26], 0xff);
	cr_assert_eq(p[27], 0xff);
	cr_assert(udp4_ok(p, tot), "0xffff is the same as 0 in one's complement");
}

Test(vnet, csum_finish_bounds_and_noop)
{
	struct vnet_hdr h = { VNET_F_NEEDS_CSUM, 0, 0, 0, 20, 6 };
	uint8_t p[28] = { 0x45 }, q[28];

	memcpy(q, p, sizeof p);
	cr_assert_eq(vnet_csum_finish(&h, p, 27), -1, "field ends past len");
	cr_assert_eq(vnet_csum_finish(&h, p, 28), 0);
	h.csum_start = 28;
	cr_assert_eq(vnet_csum_finish(&h, p, 28), -1, "start at len");
	h.csum_start = 0xffff;
	h.csum_offset = 0xffff;
	cr_assert_eq(vnet_csum_finish(&h, p, 28), -1, "no overflow");
	h.flags = 0;
	memcpy(p, q, sizeof p);
	cr_assert_eq(vnet_csum_finish(&h, p, 28), 0);
	cr_assert_arr_eq(p, q, sizeof p, "no NEEDS_CSUM: untouched");
}
