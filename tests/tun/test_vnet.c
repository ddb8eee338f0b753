/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_vnet.c - virtio_net_hdr parse/build and checksum completion
 * (pure; the kernel cross-check is in test_tun.c).
 */
#include <criterion/criterion.h>
#include <errno.h>
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
		uint8_t pay[40] = { 0 };

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

/* ---- GSO segmentation ------------------------------------------------------ */

static uint32_t ref_sum(const uint8_t *b, size_t n, uint32_t s)
{
	for (size_t i = 0; i < n; i++)
		s += (i % 2) ? b[i] : (uint32_t)b[i] << 8;
	return s;
}

/* L4 checksum over pseudo header + segment, reference implementation:
 * 0 when the stored checksum is right. */
static uint16_t ref_l4_ok(const uint8_t *p, size_t n)
{
	int v4 = (p[0] >> 4) == 4;
	size_t l3 = v4 ? (size_t)(p[0] & 15) * 4 : 40;
	uint32_t s = v4 ? ref_sum(p + 12, 8, 0) : ref_sum(p + 8, 32, 0);

	s += v4 ? p[9] : p[6];
	s += (uint32_t)(n - l3);
	return ref_csum(p + l3, n - l3, s);
}

/* A TSO/USO super-packet with payload bytes i*7+1 and a partial checksum. */
static size_t super_pkt(uint8_t *p, int ver, int proto, size_t plen, uint8_t tcpflags)
{
	size_t l3 = ver == 4 ? 20 : 40, l4 = proto == 6 ? 32 : 8, n = l3 + l4 + plen;

	memset(p, 0, l3 + l4);
	if (ver == 4) {
		p[0] = 0x45;
		p[2] = (uint8_t)(n >> 8);
		p[3] = (uint8_t)n;
		p[4] = 0xff; p[5] = 0xfe;	/* ID wraps during the test */
		p[6] = 0x40;			/* DF */
		p[8] = 64;
		p[9] = (uint8_t)proto;
		memcpy(p + 12, (uint8_t[]){ 10, 98, 0, 5, 10, 200, 0, 7 }, 8);
	} else {
		p[0] = 0x60;
		p[4] = (uint8_t)((n - 40) >> 8);
		p[5] = (uint8_t)(n - 40);
		p[6] = (uint8_t)proto;
		p[7] = 64;
		p[8] = 0xfd; p[23] = 5;
		p[24] = 0xfd; p[39] = 7;
	}
	p[l3] = 0x9c; p[l3 + 1] = 0x40;		/* ports */
	p[l3 + 2] = 0x15; p[l3 + 3] = 0xb3;
	if (proto == 6) {
		p[l3 + 4] = 0xff; p[l3 + 5] = 0xff; p[l3 + 6] = 0xf0; p[l3 + 7] = 0x00; /* seq wraps */
		p[l3 + 12] = 0x80;		/* doff 8: 12 bytes of options */
		p[l3 + 13] = tcpflags;
		p[l3 + 14] = 0x01;		/* window */
		p[l3 + 20] = 1; p[l3 + 21] = 1; p[l3 + 22] = 8; p[l3 + 23] = 10; /* NOP NOP TS */
		memset(p + l3 + 24, 0x11, 8);
	} else {
		p[l3 + 4] = (uint8_t)((8 + plen) >> 8);
		p[l3 + 5] = (uint8_t)(8 + plen);
	}
	for (size_t i = 0; i < plen; i++)
		p[l3 + l4 + i] = (uint8_t)(i * 7 + 1);
	/* partial checksum as the kernel leaves it: some junk is fine, it
	 * must be overwritten entirely */
	p[l3 + (proto == 6 ? 16 : 6)] = 0xab;
	return n;
}

static void check_segments(int ver, int proto, size_t plen, uint16_t gso, uint8_t flags)
{
	static uint8_t in[70000], out[90000];
	struct vnet_seg segs[128];
	size_t l3 = ver == 4 ? 20 : 40, l4 = proto == 6 ? 32 : 8, hdrs = l3 + l4;
	struct vnet_hdr h = { VNET_F_NEEDS_CSUM,
		proto == 17 ? VNET_GSO_UDP_L4 : ver == 4 ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6,
		(uint16_t)hdrs, gso, (uint16_t)l3, proto == 6 ? 16 : 6 };
	size_t n = super_pkt(in, ver, proto, plen, flags), want = (plen + gso - 1) / gso;
	int r = vnet_gso_segment(&h, in, n, out, sizeof out, segs, 128);
	size_t got = 0;

	cr_assert_eq(r, (int)want, "v%d proto %d plen %zu gso %u: %d segments", ver, proto, plen, gso, r);
	for (int k = 0; k < r; k++) {
		const uint8_t *s = out + segs[k].off;
		size_t chunk = segs[k].len - hdrs;

		cr_assert_eq(chunk, k + 1 < r ? gso : plen - (size_t)(r - 1) * gso, "seg %d", k);
		cr_assert_eq(segs[k].off, k ? segs[k - 1].off + segs[k - 1].len : 0);
		/* payload continues where the previous segment stopped */
		for (size_t i = 0; i < chunk; i++)
			cr_assert_eq(s[hdrs + i], (uint8_t)((got + i) * 7 + 1), "seg %d byte %zu", k, i);
		if (ver == 4) {
			cr_assert_eq(s[2] << 8 | s[3], (int)segs[k].len);
			cr_assert_eq((uint16_t)(s[4] << 8 | s[5]), (uint16_t)(0xfffe + k), "IP ID");
			cr_assert_eq(ref_csum(s, 20, 0), 0, "IPv4 header checksum");
			cr_assert_eq(s[6], 0x40, "DF kept");
		} else {
			cr_assert_eq(s[4] << 8 | s[5], (int)segs[k].len - 40);
		}
		cr_assert_eq(ref_l4_ok(s, segs[k].len), 0, "seg %d L4 checksum", k);
		if (proto == 6) {
			uint32_t seq = (uint32_t)s[l3 + 4] << 24 | (uint32_t)s[l3 + 5] << 16 |
				       (uint32_t)s[l3 + 6] << 8 | s[l3 + 7];
			uint8_t f = s[l3 + 13];

			cr_assert_eq(seq, (uint32_t)(0xfffff000u + got), "seq of seg %d", k);
			cr_assert_arr_eq(s + l3 + 20, in + l3 + 20, 12, "options copied");
			cr_assert_eq(f & 0x01, k + 1 == r ? (flags & 0x01) : 0, "FIN only last");
			cr_assert_eq(f & 0x08, k + 1 == r ? (flags & 0x08) : 0, "PSH only last");
			cr_assert_eq(f & 0x80, k == 0 ? (flags & 0x80) : 0, "CWR only first");
			cr_assert_eq(f & 0x10, flags & 0x10, "ACK everywhere");
		} else {
			cr_assert_eq(s[l3 + 4] << 8 | s[l3 + 5], (int)(8 + chunk));
			cr_assert_neq(s[l3 + 6] << 8 | s[l3 + 7], 0);
		}
		got += chunk;
	}
	cr_assert_eq(got, plen);
}

Test(vnet, gso_segment_tcp_udp_both_families)
{
	/* edges: exact multiple, one byte over, smaller than one segment */
	static const struct { size_t plen; uint16_t gso; } t[] = {
		{ 4000, 1000 }, { 4001, 1000 }, { 999, 1000 }, { 1, 1 }, { 64000, 1448 },
		{ 65000 - 72, 1200 },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		check_segments(4, 6, t[i].plen, t[i].gso, 0x10 | 0x08 | 0x01 | 0x80);
		check_segments(6, 6, t[i].plen, t[i].gso, 0x10);
		check_segments(4, 17, t[i].plen, t[i].gso, 0);
		check_segments(6, 17, t[i].plen, t[i].gso, 0);
	}
}

Test(vnet, gso_segment_rejects)
{
	static uint8_t in[9000], out[20000];
	struct vnet_seg segs[8];
	struct vnet_hdr h = { VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, 52, 1000, 20, 16 };
	size_t n = super_pkt(in, 4, 6, 4000, 0x10);

	/* 1. too few segment slots / too small an output buffer */
	cr_assert_eq(vnet_gso_segment(&h, in, n, out, sizeof out, segs, 3), -1);
	cr_assert_eq(errno, ENOSPC);
	cr_assert_eq(vnet_gso_segment(&h, in, n, out, n + 3 * 52 - 1, segs, 8), -1);
	cr_assert_eq(errno, ENOSPC);
	cr_assert_eq(vnet_gso_segment(&h, in, n, out, n + 3 * 52, segs, 8), 4, "exact fit");
	/* 2. type/version/protocol mismatch */
	h.gso_type = VNET_GSO_TCPV6;
	cr_assert_eq(vnet_gso_segment(&h, in, n, out, sizeof out, segs, 8), -1);
	cr_assert_eq(errno, EINVAL);
	h.gso_type = VNET_GSO_UDP_L4;
	cr_assert_eq(vnet_gso_segment(&h, in, n, out, sizeof out, segs, 8), -1);
	h.gso_type = VNET_GSO_UDP;	/* UFO */
	cr_assert_eq(vnet_gso_segment(&h, in, n, out, sizeof out, segs, 8), -1);
	h.gso_type = VNET_GSO_TCPV4;
	/* 3. csum_start not at L4, gso_size 0, truncated headers, fragment */
	h.csum_start = 24;
	cr_assert_eq(vnet_gso_segment(&h, in, n, out, sizeof out, segs, 8), -1);
	h.csum_start = 20;
	h.gso_size = 0;
	cr_assert_eq(vnet_gso_segment(&h, in, n, out, sizeof out, segs, 8), -1);
	h.gso_size = 1000;
	cr_assert_eq(vnet_gso_segment(&h, in, 20 + 31, out, sizeof out, segs, 8), -1, "cut TCP options");
	cr_assert_eq(vnet_gso_segment(&h, in, 19, out, sizeof out, segs, 8), -1);
	in[0] = 0x44;	/* IHL 16 */
	cr_assert_eq(vnet_gso_segment(&h, in, n, out, sizeof out, segs, 8), -1);
	in[0] = 0x45;
	in[7] = 1;	/* fragment offset */
	cr_assert_eq(vnet_gso_segment(&h, in, n, out, sizeof out, segs, 8), -1);
	in[7] = 0;
	/* 4. IPv6 extension header */
	n = super_pkt(in, 6, 17, 3000, 0);
	h = (struct vnet_hdr){ VNET_F_NEEDS_CSUM, VNET_GSO_UDP_L4, 48, 1000, 40, 6 };
	cr_assert_eq(vnet_gso_segment(&h, in, n, out, sizeof out, segs, 8), 3);
	in[6] = 0;	/* hop-by-hop */
	cr_assert_eq(vnet_gso_segment(&h, in, n, out, sizeof out, segs, 8), -1);
}

Test(vnet, gso_none_is_copy_with_finished_csum)
{
	uint8_t p[64], out[64];
	struct vnet_seg seg;
	uint8_t pay[5] = { 1, 2, 3, 4, 5 };
	const struct vnet_hdr h = { VNET_F_NEEDS_CSUM, VNET_GSO_NONE, 0, 0, 20, 6 };
	size_t n = partial_udp4(p, pay, sizeof pay);

	cr_assert_eq(vnet_gso_segment(&h, p, n, out, n - 1, &seg, 1), -1);
	cr_assert_eq(vnet_gso_segment(&h, p, n, out, sizeof out, &seg, 1), 1);
	cr_assert_eq(seg.off, 0);
	cr_assert_eq(seg.len, n);
	cr_assert(udp4_ok(out, n));
}
