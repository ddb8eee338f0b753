// SPDX-License-Identifier: GPL-2.0-only
/*
 * ICMP / ICMPv6 errors and the inner-packet parser. Every generated packet
 * is parsed back here and its checksums verified with this file's own
 * arithmetic (a 64-bit accumulator folded at the end), not with icmp.c's.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "router/icmp.h"
#include "router/packet.h"

/* ---- own checksum arithmetic -------------------------------------------- */

static uint64_t sum_words(uint64_t acc, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		acc += (i % 2 == 0) ? (uint64_t)p[i] * 256u : p[i];
	return acc;
}

/* One's complement sum folded to 16 bits. Valid data (checksum field
 * included) folds to 0xffff. */
static uint16_t fold(uint64_t acc)
{
	while (acc > 0xffff)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

static void verify_v4_header(const uint8_t *ip)
{
	cr_assert_eq(fold(sum_words(0, ip, 20)), 0xffff, "IPv4 header checksum");
}

static void verify_icmp4(const uint8_t *icmp, size_t len)
{
	cr_assert_eq(fold(sum_words(0, icmp, len)), 0xffff, "ICMP checksum");
}

static void verify_icmp6(const uint8_t *ip6)
{
	size_t plen = (size_t)ip6[4] << 8 | ip6[5];
	uint8_t ph[40];
	uint64_t acc;

	/* RFC 8200 8.1 pseudo-header: src, dst, upper-layer length (32 bits),
	 * 3 zero bytes, next header. */
	memcpy(ph, ip6 + 8, 32);
	ph[32] = 0;
	ph[33] = 0;
	ph[34] = (uint8_t)(plen >> 8);
	ph[35] = (uint8_t)plen;
	ph[36] = ph[37] = ph[38] = 0;
	ph[39] = 58;
	acc = sum_words(0, ph, 40);
	acc = sum_words(acc, ip6 + 40, plen);
	cr_assert_eq(fold(acc), 0xffff, "ICMPv6 checksum over the pseudo-header");
}

/* ---- offending packets -------------------------------------------------- */

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* IPv4 packet of total length tot with payload bytes i*3+1. */
static size_t mk4(uint8_t *b, const char *src, const char *dst, uint8_t proto,
		  unsigned frag, size_t tot)
{
	size_t i;

	memset(b, 0, 20);
	b[0] = 0x45;
	put16(b + 2, (unsigned)tot);
	put16(b + 4, 0x1234);
	put16(b + 6, frag);
	b[8] = 61;
	b[9] = proto;
	inet_pton(AF_INET, src, b + 12);
	inet_pton(AF_INET, dst, b + 16);
	for (i = 20; i < tot; i++)
		b[i] = (uint8_t)(i * 3 + 1);
	put16(b + 10, (uint16_t)~fold(sum_words(0, b, 20)));
	return tot;
}

/* IPv6 packet, payload of plen bytes; first payload byte = first_byte. */
static size_t mk6(uint8_t *b, const char *src, const char *dst, uint8_t next, size_t plen)
{
	size_t i;

	memset(b, 0, 40);
	b[0] = 0x60;
	put16(b + 4, (unsigned)plen);
	b[6] = next;
	b[7] = 63;
	inet_pton(AF_INET6, src, b + 8);
	inet_pton(AF_INET6, dst, b + 24);
	for (i = 40; i < 40 + plen; i++)
		b[i] = (uint8_t)(i * 5 + 2);
	return 40 + plen;
}

#define DF 0x4000
#define MF 0x2000

static uint8_t vip4[4], vip6[16];

static void init_vips(void)
{
	inet_pton(AF_INET, "100.64.0.1", vip4);
	inet_pton(AF_INET6, "fd7a::1", vip6);
}

/* Check an ICMPv4 error about orig (orig_len bytes). */
static void check4(const uint8_t *out, ssize_t n, const uint8_t *orig, size_t orig_len,
		   uint8_t type, uint8_t code, const uint8_t *expect_src)
{
	size_t q = orig_len < 548 ? orig_len : 548;

	cr_assert_eq(n, (ssize_t)(20 + 8 + q), "length: IP + ICMP + quote (%zd)", n);
	cr_assert_leq(n, 576);
	cr_assert_eq(out[0], 0x45);
	cr_assert_eq((size_t)(out[2] << 8 | out[3]), (size_t)n, "IPv4 total length");
	cr_assert_eq(out[9], 1, "protocol ICMP");
	cr_assert_gt(out[8], 0, "TTL");
	verify_v4_header(out);
	cr_assert_eq(memcmp(out + 12, expect_src, 4), 0, "ICMP source");
	cr_assert_eq(memcmp(out + 16, orig + 12, 4), 0, "sent back to the offender's source");
	cr_assert_eq(out[20], type);
	cr_assert_eq(out[21], code);
	verify_icmp4(out + 20, (size_t)n - 20);
	cr_assert_eq(memcmp(out + 28, orig, q), 0, "quote = first %zu bytes of the packet", q);
}

static void check6(const uint8_t *out, ssize_t n, const uint8_t *orig, size_t orig_len,
		   uint8_t type, uint8_t code, const uint8_t *expect_src)
{
	size_t q = orig_len < 1232 ? orig_len : 1232;

	cr_assert_eq(n, (ssize_t)(40 + 8 + q), "length: IPv6 + ICMPv6 + quote (%zd)", n);
	cr_assert_leq(n, 1280);
	cr_assert_eq(out[0] >> 4, 6);
	cr_assert_eq((size_t)(out[4] << 8 | out[5]), (size_t)n - 40, "payload length");
	cr_assert_eq(out[6], 58, "next header ICMPv6");
	cr_assert_gt(out[7], 0, "hop limit");
	cr_assert_eq(memcmp(out + 8, expect_src, 16), 0, "ICMPv6 source");
	cr_assert_eq(memcmp(out + 24, orig + 8, 16), 0, "sent back to the offender's source");
	cr_assert_eq(out[40], type);
	cr_assert_eq(out[41], code);
	verify_icmp6(out);
	cr_assert_eq(memcmp(out + 48, orig, q), 0, "quote = first %zu bytes of the packet", q);
}

static uint8_t pkt[70000];
static uint8_t out[ICMP_OUT_MAX];

Test(icmp, v4_unreach_codes)
{
	static const struct { enum icmp_unreach why; uint8_t code; } t[] = {
		{ ICMP_UNREACH_NET, 0 }, { ICMP_UNREACH_HOST, 1 },
		{ ICMP_UNREACH_ADMIN, 13 }, { ICMP_UNREACH_PORT, 3 },
	};
	size_t i, len;
	ssize_t n;

	init_vips();
	for (i = 0; i < 4; i++) {
		len = mk4(pkt, "100.64.0.1", "100.64.0.9", 17, DF, 60);
		n = icmp_build_unreach(out, sizeof out, t[i].why, pkt, len, vip4);
		check4(out, n, pkt, len, 3, t[i].code, vip4);
		cr_assert_eq(out[24] | out[25] | out[26] | out[27], 0, "unused word is zero");
	}
}

Test(icmp, v4_quote_sizes)
{
	static const size_t sizes[] = { 20, 28, 29, 100, 547, 548, 549, 576, 1400, 1500, 65535 };
	size_t i, len;
	ssize_t n;

	init_vips();
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		len = mk4(pkt, "192.0.2.7", "100.64.0.9", 6, 0, sizes[i]);
		n = icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len, vip4);
		check4(out, n, pkt, len, 3, 1, vip4);
	}
	/* link padding after tot_len is not quoted */
	len = mk4(pkt, "192.0.2.7", "100.64.0.9", 6, 0, 40);
	n = icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len + 20, vip4);
	check4(out, n, pkt, len, 3, 1, vip4);
}

Test(icmp, v6_unreach_codes_and_quote)
{
	static const struct { enum icmp_unreach why; uint8_t code; } t[] = {
		{ ICMP_UNREACH_NET, 0 }, { ICMP_UNREACH_HOST, 3 },
		{ ICMP_UNREACH_ADMIN, 1 }, { ICMP_UNREACH_PORT, 4 },
	};
	static const size_t plens[] = { 0, 8, 1191, 1192, 1193, 1240, 1400, 9000, 65535 };
	size_t i, len;
	ssize_t n;

	init_vips();
	for (i = 0; i < 4; i++) {
		len = mk6(pkt, "fd7a::5", "fd7a::9", 17, 100);
		n = icmp_build_unreach(out, sizeof out, t[i].why, pkt, len, vip6);
		check6(out, n, pkt, len, 1, t[i].code, vip6);
	}
	for (i = 0; i < sizeof plens / sizeof plens[0]; i++) {
		len = mk6(pkt, "2001:db8::5", "fd7a::9", plens[i] ? 6 : 59, plens[i]);
		n = icmp_build_unreach(out, sizeof out, ICMP_UNREACH_ADMIN, pkt, len, vip6);
		check6(out, n, pkt, len, 1, 1, vip6);
	}
}

Test(icmp, null_source_uses_offender_destination)
{
	uint8_t d4[4], d6[16];
	size_t len;
	ssize_t n;

	inet_pton(AF_INET, "10.200.0.5", d4);
	inet_pton(AF_INET6, "fd00:200::5", d6);
	len = mk4(pkt, "100.64.0.2", "10.200.0.5", 17, 0, 100);
	n = icmp_build_unreach(out, sizeof out, ICMP_UNREACH_NET, pkt, len, NULL);
	check4(out, n, pkt, len, 3, 0, d4);
	len = mk6(pkt, "fd7a::2", "fd00:200::5", 17, 100);
	n = icmp_build_unreach(out, sizeof out, ICMP_UNREACH_NET, pkt, len, NULL);
	check6(out, n, pkt, len, 1, 0, d6);
}

Test(icmp, frag_needed_and_packet_too_big)
{
	size_t len;
	ssize_t n;

	init_vips();
	len = mk4(pkt, "100.64.0.1", "100.64.0.9", 6, DF, 1500);
	n = icmp_build_too_big(out, sizeof out, 1420, pkt, len, vip4);
	check4(out, n, pkt, len, 3, 4, vip4);
	cr_assert_eq(out[24] << 8 | out[25], 0, "unused half-word");
	cr_assert_eq(out[26] << 8 | out[27], 1420, "next-hop MTU (RFC 1191)");

	len = mk6(pkt, "fd7a::5", "fd7a::9", 6, 1460);
	n = icmp_build_too_big(out, sizeof out, 1420, pkt, len, vip6);
	check6(out, n, pkt, len, 2, 0, vip6);
	cr_assert_eq((uint32_t)out[44] << 24 | out[45] << 16 | out[46] << 8 | out[47], 1420u);

	/* IPv6 MTU below 1280 is reported as 1280 */
	n = icmp_build_too_big(out, sizeof out, 1000, pkt, len, vip6);
	check6(out, n, pkt, len, 2, 0, vip6);
	cr_assert_eq((uint32_t)out[44] << 24 | out[45] << 16 | out[46] << 8 | out[47], 1280u);
}

Test(icmp, check_mtu)
{
	size_t len, olen = 99;
	enum router_mtu_verdict v;

	init_vips();
	/* v4 DF, too big -> ICMP */
	len = mk4(pkt, "100.64.0.1", "100.64.0.9", 17, DF, 1421);
	v = router_check_mtu(pkt, len, 1420, out, sizeof out, &olen, vip4);
	cr_assert_eq(v, ROUTER_MTU_ICMP);
	check4(out, (ssize_t)olen, pkt, len, 3, 4, vip4);
	cr_assert_eq(out[26] << 8 | out[27], 1420);
	/* exactly the MTU fits */
	len = mk4(pkt, "100.64.0.1", "100.64.0.9", 17, DF, 1420);
	cr_assert_eq(router_check_mtu(pkt, len, 1420, out, sizeof out, &olen, vip4), ROUTER_MTU_OK);
	cr_assert_eq(olen, 0);
	/* DF not set: send (the underlay may fragment), no ICMP */
	len = mk4(pkt, "100.64.0.1", "100.64.0.9", 17, 0, 3000);
	cr_assert_eq(router_check_mtu(pkt, len, 1420, out, sizeof out, &olen, vip4), ROUTER_MTU_OK);
	cr_assert_eq(olen, 0);
	/* v6 too big */
	len = mk6(pkt, "fd7a::1", "fd7a::9", 17, 1400);
	cr_assert_eq(router_check_mtu(pkt, len, 1420, out, sizeof out, &olen, vip6), ROUTER_MTU_ICMP);
	check6(out, (ssize_t)olen, pkt, len, 2, 0, vip6);
	len = mk6(pkt, "fd7a::1", "fd7a::9", 17, 1380);
	cr_assert_eq(router_check_mtu(pkt, len, 1420, out, sizeof out, &olen, vip6), ROUTER_MTU_OK);
	/* too big ICMP error: no ICMP about it */
	len = mk4(pkt, "100.64.0.1", "100.64.0.9", 1, DF, 1500);
	pkt[20] = 3;
	cr_assert_eq(router_check_mtu(pkt, len, 1420, out, sizeof out, &olen, vip4), ROUTER_MTU_DROP);
	cr_assert_eq(olen, 0);
	/* malformed */
	cr_assert_eq(router_check_mtu(pkt, 10, 1420, out, sizeof out, &olen, vip4), ROUTER_MTU_DROP);
}

Test(icmp, never_about_icmp_errors)
{
	static const uint8_t err4[] = { 3, 4, 5, 11, 12 };
	static const uint8_t ok4[] = { 0, 8, 13, 14 };
	static const uint8_t err6[] = { 1, 2, 3, 4, 100, 127 };
	static const uint8_t ok6[] = { 128, 129, 135, 200 };
	size_t i, len;

	init_vips();
	for (i = 0; i < sizeof err4; i++) {
		len = mk4(pkt, "100.64.0.1", "100.64.0.9", 1, 0, 84);
		pkt[20] = err4[i];
		cr_assert_eq(icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len, vip4), 0,
			     "ICMP type %u is an error", err4[i]);
		cr_assert_eq(icmp_build_too_big(out, sizeof out, 576, pkt, len, vip4), 0);
	}
	for (i = 0; i < sizeof ok4; i++) {
		ssize_t n;

		len = mk4(pkt, "100.64.0.1", "100.64.0.9", 1, 0, 84);
		pkt[20] = ok4[i];
		n = icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len, vip4);
		check4(out, n, pkt, len, 3, 1, vip4);
	}
	for (i = 0; i < sizeof err6; i++) {
		len = mk6(pkt, "fd7a::1", "fd7a::9", 58, 64);
		pkt[40] = err6[i];
		cr_assert_eq(icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len, vip6), 0,
			     "ICMPv6 type %u is an error", err6[i]);
		cr_assert_eq(icmp_build_too_big(out, sizeof out, 1280, pkt, len, vip6), 0);
	}
	for (i = 0; i < sizeof ok6; i++) {
		ssize_t n;

		len = mk6(pkt, "fd7a::1", "fd7a::9", 58, 64);
		pkt[40] = ok6[i];
		n = icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len, vip6);
		check6(out, n, pkt, len, 1, 3, vip6);
	}
	/* ICMPv6 error behind extension headers (hop-by-hop 8 + dest opts 16) */
	len = mk6(pkt, "fd7a::1", "fd7a::9", 0, 8 + 16 + 8);
	pkt[40] = 60;
	pkt[41] = 0;
	pkt[48] = 58;
	pkt[49] = 1;
	pkt[64] = 1;	/* ICMPv6 destination unreachable */
	cr_assert_eq(icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len, vip6), 0);
	pkt[64] = 128;	/* echo request behind the same headers: answered */
	cr_assert_gt(icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len, vip6), 0);
}

Test(icmp, suppressed_sources_destinations_fragments)
{
	size_t len;
	ssize_t n;

	init_vips();
	/* non-first fragment */
	len = mk4(pkt, "100.64.0.1", "100.64.0.9", 17, 185, 100);
	cr_assert_eq(icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len, vip4), 0);
	/* first fragment (MF, offset 0) is answered */
	len = mk4(pkt, "100.64.0.1", "100.64.0.9", 17, MF, 100);
	n = icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len, vip4);
	check4(out, n, pkt, len, 3, 1, vip4);
	/* bad v4 sources and destinations */
	static const char *bad_src[] = { "0.0.0.0", "127.0.0.1", "224.0.0.1", "255.255.255.255" };
	static const char *bad_dst[] = { "224.0.0.5", "239.1.2.3", "255.255.255.255" };
	for (size_t i = 0; i < 4; i++) {
		len = mk4(pkt, bad_src[i], "100.64.0.9", 17, 0, 60);
		cr_assert_eq(icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len, vip4), 0,
			     "source %s", bad_src[i]);
	}
	for (size_t i = 0; i < 3; i++) {
		len = mk4(pkt, "100.64.0.1", bad_dst[i], 17, 0, 60);
		cr_assert_eq(icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len, vip4), 0,
			     "destination %s", bad_dst[i]);
	}
	/* v6: unspecified / loopback / multicast source; multicast destination
	 * gets no unreachable but does get packet too big (RFC 4443 2.4 e.2) */
	len = mk6(pkt, "::", "fd7a::9", 17, 60);
	cr_assert_eq(icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len, vip6), 0);
	len = mk6(pkt, "::1", "fd7a::9", 17, 60);
	cr_assert_eq(icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len, vip6), 0);
	len = mk6(pkt, "ff02::1", "fd7a::9", 17, 60);
	cr_assert_eq(icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len, vip6), 0);
	len = mk6(pkt, "fd7a::1", "ff0e::1", 17, 1400);
	cr_assert_eq(icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len, vip6), 0);
	n = icmp_build_too_big(out, sizeof out, 1280, pkt, len, vip6);
	check6(out, n, pkt, len, 2, 0, vip6);
	/* v6 non-first fragment */
	len = mk6(pkt, "fd7a::1", "fd7a::9", 44, 8 + 64);
	pkt[40] = 17;
	put16(pkt + 42, 8 << 3);	/* offset 64 bytes */
	cr_assert_eq(icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len, vip6), 0);
	put16(pkt + 42, 1);		/* offset 0, M flag: first fragment */
	n = icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len, vip6);
	check6(out, n, pkt, len, 1, 3, vip6);
}

Test(icmp, bad_input_and_small_buffer)
{
	size_t len;

	init_vips();
	len = mk4(pkt, "100.64.0.1", "100.64.0.9", 17, 0, 100);
	cr_assert_eq(icmp_build_unreach(out, 127, ICMP_UNREACH_HOST, pkt, len, vip4), -1,
		     "128 bytes needed");
	cr_assert_eq(icmp_build_unreach(out, 128, ICMP_UNREACH_HOST, pkt, len, vip4), 128);
	cr_assert_eq(icmp_build_unreach(out, sizeof out, 99, pkt, len, vip4), -1, "unknown reason");
	cr_assert_eq(icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, 19, vip4), -1);
	cr_assert_eq(icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, 99, vip4), -1,
		     "tot_len beyond the buffer");
	pkt[0] = 0x44;	/* IHL 4 */
	cr_assert_eq(icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len, vip4), -1);
	pkt[0] = 0x55;	/* version 5 */
	cr_assert_eq(icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len, vip4), -1);
	len = mk6(pkt, "fd7a::1", "fd7a::9", 17, 100);
	cr_assert_eq(icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, pkt, len - 1, vip6), -1);
	cr_assert_eq(icmp_build_unreach(out, 40 + 8 + 139, ICMP_UNREACH_HOST, pkt, len, vip6), -1);
	cr_assert_eq(icmp_build_unreach(out, 40 + 8 + 140, ICMP_UNREACH_HOST, pkt, len, vip6), 188);
}

/* ---- parser ------------------------------------------------------------- */

Test(packet, parse_v4)
{
	struct router_pkt p;
	size_t len;

	len = mk4(pkt, "10.0.0.1", "10.0.0.2", 6, DF, 60);
	cr_assert_eq(router_pkt_parse(&p, pkt, len + 4), 0);
	cr_assert_eq(p.af, 4);
	cr_assert_eq(p.proto, 6);
	cr_assert_eq(p.src, pkt + 12);
	cr_assert_eq(p.dst, pkt + 16);
	cr_assert_eq(p.hdr_len, 20);
	cr_assert_eq(p.total_len, 60);
	cr_assert(p.df);
	cr_assert_not(p.fragment);
	cr_assert(p.first_fragment);
	cr_assert_not(p.icmp_error);
	cr_assert_eq(p.icmp_type, -1);
	/* options: IHL 6 */
	pkt[0] = 0x46;
	cr_assert_eq(router_pkt_parse(&p, pkt, len), 0);
	cr_assert_eq(p.hdr_len, 24);
	/* tot_len shorter than IHL */
	put16(pkt + 2, 22);
	cr_assert_eq(router_pkt_parse(&p, pkt, len), -1);
	pkt[0] = 0x4f;	/* IHL 60 > tot_len 60? equal: allowed, no payload */
	put16(pkt + 2, 60);
	cr_assert_eq(router_pkt_parse(&p, pkt, len), 0);
	cr_assert_eq(p.hdr_len, 60);
	cr_assert_eq(router_pkt_parse(&p, pkt, 59), -1, "IHL beyond the buffer");
	cr_assert_eq(router_pkt_parse(&p, pkt, 0), -1);
	cr_assert_eq(router_pkt_parse(&p, NULL, 60), -1);
	/* ICMP echo vs error */
	len = mk4(pkt, "10.0.0.1", "10.0.0.2", 1, 0, 28);
	pkt[20] = 8;
	cr_assert_eq(router_pkt_parse(&p, pkt, len), 0);
	cr_assert_eq(p.icmp_type, 8);
	cr_assert_not(p.icmp_error);
	pkt[20] = 11;
	cr_assert_eq(router_pkt_parse(&p, pkt, len), 0);
	cr_assert(p.icmp_error);
	/* ICMP, tot_len = header only: type unreadable, not flagged */
	len = mk4(pkt, "10.0.0.1", "10.0.0.2", 1, 0, 20);
	cr_assert_eq(router_pkt_parse(&p, pkt, len), 0);
	cr_assert_eq(p.icmp_type, -1);
	/* non-first ICMP fragment: treated as an error */
	len = mk4(pkt, "10.0.0.1", "10.0.0.2", 1, 100, 60);
	cr_assert_eq(router_pkt_parse(&p, pkt, len), 0);
	cr_assert(p.fragment);
	cr_assert_not(p.first_fragment);
	cr_assert(p.icmp_error);
}

Test(packet, parse_v6)
{
	struct router_pkt p;
	size_t len;

	len = mk6(pkt, "fd00::1", "fd00::2", 17, 32);
	cr_assert_eq(router_pkt_parse(&p, pkt, len), 0);
	cr_assert_eq(p.af, 6);
	cr_assert_eq(p.proto, 17);
	cr_assert_eq(p.src, pkt + 8);
	cr_assert_eq(p.dst, pkt + 24);
	cr_assert_eq(p.hdr_len, 40);
	cr_assert_eq(p.total_len, 72);
	cr_assert(p.df);
	cr_assert_eq(router_pkt_parse(&p, pkt, len - 1), -1, "payload beyond buffer");
	cr_assert_eq(router_pkt_parse(&p, pkt, 39), -1);
	/* jumbogram marker (payload length 0 with a next header) refused */
	put16(pkt + 4, 0);
	cr_assert_eq(router_pkt_parse(&p, pkt, len), -1);
	/* routing header (16 bytes) then fragment (offset 0) then TCP */
	len = mk6(pkt, "fd00::1", "fd00::2", 43, 16 + 8 + 20);
	pkt[40] = 44;
	pkt[41] = 1;
	pkt[56] = 6;
	put16(pkt + 58, 1);
	cr_assert_eq(router_pkt_parse(&p, pkt, len), 0);
	cr_assert_eq(p.proto, 6);
	cr_assert_eq(p.hdr_len, 64);
	cr_assert(p.fragment);
	cr_assert(p.first_fragment);
	/* extension header that overruns the payload: chain cut, treated as
	 * unknown (never answered) */
	len = mk6(pkt, "fd00::1", "fd00::2", 60, 8);
	pkt[40] = 17;
	pkt[41] = 1;	/* 16 bytes claimed, 8 present */
	cr_assert_eq(router_pkt_parse(&p, pkt, len), 0);
	cr_assert_eq(p.proto, 59);
	cr_assert(p.icmp_error);
	cr_assert_eq(router_pkt_af(pkt, len), 6);
	pkt[0] = 0x70;
	cr_assert_eq(router_pkt_parse(&p, pkt, len), -1);
	cr_assert_eq(router_pkt_af(pkt, len), 0);
}

/* Random headers (version nibble forced to 4 or 6, lengths around the
 * edges): the parser must stay inside the buffer (ASan watches), report
 * lengths within it, and any ICMP built must verify. */
Test(packet, random_headers_stay_in_bounds, .timeout = 60)
{
	uint64_t x = 0xd1b54a32d192ed03ull;
	uint8_t *buf;
	int i, parsed = 0, built4 = 0, built6 = 0;

	init_vips();
	for (i = 0; i < 20000; i++) {
		struct router_pkt p;
		size_t len, j;
		ssize_t n;

		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		len = (size_t)(x % 160);
		buf = malloc(len ? len : 1);	/* exact size: overreads are caught */
		for (j = 0; j < len; j++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			buf[j] = (uint8_t)x;
		}
		if (len) {
			buf[0] = (uint8_t)((x & 1 ? 0x40 : 0x60) | (buf[0] & 0x0f));
			if (len >= 6 && (x & 6) == 0) {	/* make the length fields fit often */
				if (buf[0] >> 4 == 4) {
					buf[0] = 0x45;
					put16(buf + 2, (unsigned)len);
					if (len >= 8)	/* mostly unfragmented */
						put16(buf + 6, (x & 8) ? DF : 0);
				} else if (len >= 40) {
					put16(buf + 4, (unsigned)(len - 40));
				}
			}
		}
		if (router_pkt_parse(&p, buf, len) == 0) {
			parsed++;
			cr_assert_leq(p.total_len, len);
			cr_assert_leq(p.hdr_len, p.total_len);
			cr_assert(p.src >= buf && p.dst + (p.af == 4 ? 4 : 16) <= buf + len);
			n = icmp_build_unreach(out, sizeof out, ICMP_UNREACH_HOST, buf, len,
					       p.af == 4 ? vip4 : vip6);
			cr_assert_geq(n, 0);
			if (n > 0 && p.af == 4) {
				check4(out, n, buf, p.total_len, 3, 1, vip4);
				built4++;
			} else if (n > 0) {
				check6(out, n, buf, p.total_len, 1, 3, vip6);
				built6++;
			}
		}
		free(buf);
	}
	cr_log_info("parsed %d, ICMP built v4 %d v6 %d", parsed, built4, built6);
	cr_assert_gt(built4, 500, "the random input reaches the builder (v4: %d)", built4);
	cr_assert_gt(built6, 100, "the random input reaches the builder (v6: %d)", built6);
}

/* ---- external oracle: tcpdump decodes and checks what we built ---------- */

static void pcap_put(FILE *f, const uint8_t *p, size_t n)
{
	uint32_t rec[4] = { 0, 0, (uint32_t)n, (uint32_t)n };

	fwrite(rec, sizeof rec, 1, f);
	fwrite(p, 1, n, f);
}

Test(icmp, tcpdump_oracle, .timeout = 60)
{
	/* pcap global header, LINKTYPE_RAW (101), native byte order */
	struct { uint32_t magic; uint16_t vmaj, vmin; int32_t tz; uint32_t sig, snap, link; }
		gh = { 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101 };
	char path[64], cmd[160], line[512];
	int n_pkts = 0, n_lines = 0, n_ok6 = 0, n_frag = 0, n_big = 0;
	size_t len;
	ssize_t n;
	FILE *f;

	if (access("/usr/bin/tcpdump", X_OK) != 0 && access("/usr/sbin/tcpdump", X_OK) != 0)
		cr_skip_test("tcpdump not installed");
	init_vips();
	snprintf(path, sizeof path, "/tmp/mavpn-router-icmp-%d.pcap", (int)getpid());
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	fwrite(&gh, sizeof gh, 1, f);
	for (size_t sz = 28; sz <= 1600; sz += 97) {
		len = mk4(pkt, "100.64.0.1", "100.64.0.9", 17, DF, sz);
		n = icmp_build_unreach(out, sizeof out, (enum icmp_unreach)(sz % 4), pkt, len, vip4);
		cr_assert_gt(n, 0);
		pcap_put(f, out, (size_t)n);
		n = icmp_build_too_big(out, sizeof out, 1420, pkt, len, vip4);
		pcap_put(f, out, (size_t)n);
		len = mk6(pkt, "fd7a::5", "fd7a::9", 17, sz);
		n = icmp_build_unreach(out, sizeof out, (enum icmp_unreach)(sz % 4), pkt, len, vip6);
		cr_assert_gt(n, 0);
		pcap_put(f, out, (size_t)n);
		n = icmp_build_too_big(out, sizeof out, 1420, pkt, len, vip6);
		pcap_put(f, out, (size_t)n);
		n_pkts += 4;
	}
	fclose(f);

	snprintf(cmd, sizeof cmd, "tcpdump -vv -n -r %s 2>/dev/null", path);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof line, f)) {
		cr_assert_null(strstr(line, "bad cksum"), "tcpdump: %s", line);
		cr_assert_null(strstr(line, "wrong icmp cksum"), "tcpdump: %s", line);
		cr_assert_null(strstr(line, "bad icmp6 cksum"), "tcpdump: %s", line);
		if (strstr(line, " > ") && (strstr(line, "ICMP") || strstr(line, "ICMP6")))
			n_lines++;
		if (strstr(line, "icmp6 sum ok"))
			n_ok6++;
		if (strstr(line, "need to frag (mtu 1420)"))
			n_frag++;
		if (strstr(line, "packet too big") && strstr(line, "mtu 1420"))
			n_big++;
	}
	pclose(f);
	unlink(path);
	cr_assert_eq(n_lines, n_pkts, "tcpdump decoded every packet as ICMP");
	cr_assert_eq(n_ok6, n_pkts / 2, "tcpdump verified every ICMPv6 checksum");
	cr_assert_eq(n_frag, n_pkts / 4);
	cr_assert_eq(n_big, n_pkts / 4);
}
