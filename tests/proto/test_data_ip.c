// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_data_ip.c - the data header gate (edge table) and the address,
 * prefix and endpoint helpers (parse tables, formatting, containment).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ctl.h"
#include "proto/data.h"

/* ---- data header --------------------------------------------------------- */

struct data_case {
	const char *what;
	size_t len;
	uint8_t type, r1, r2, r3;
	enum data_err want;
};

Test(data, parse_edge_table)
{
	static const struct data_case cases[] = {
		{ "empty", 0, 1, 0, 0, 0, DATA_ERR_SHORT },
		{ "header only (16)", 16, 1, 0, 0, 0, DATA_ERR_SHORT },
		{ "15 bytes", 15, 1, 0, 0, 0, DATA_ERR_SHORT },
		{ "31 bytes: one short of header + tag", 31, 1, 0, 0, 0, DATA_ERR_SHORT },
		{ "32 bytes: keepalive", 32, 1, 0, 0, 0, DATA_OK },
		{ "33 bytes: one payload byte", 33, 1, 0, 0, 0, DATA_OK },
		{ "1420 + 32", 1452, 1, 0, 0, 0, DATA_OK },
		{ "max payload", DATA_MAX_PAYLOAD + 32, 1, 0, 0, 0, DATA_OK },
		{ "max payload + 1", DATA_MAX_PAYLOAD + 33, 1, 0, 0, 0, DATA_ERR_LONG },
		{ "type 0", 32, 0, 0, 0, 0, DATA_ERR_TYPE },
		{ "type 2", 48, 2, 0, 0, 0, DATA_ERR_TYPE },
		{ "type 0x81", 48, 0x81, 0, 0, 0, DATA_ERR_TYPE },
		{ "reserved[0] = 1", 48, 1, 1, 0, 0, DATA_ERR_RESERVED },
		{ "reserved[1] = 0x80", 48, 1, 0, 0x80, 0, DATA_ERR_RESERVED },
		{ "reserved[2] = 0xff", 48, 1, 0, 0, 0xff, DATA_ERR_RESERVED },
		{ "short wins over type", 31, 9, 0, 0, 0, DATA_ERR_SHORT },
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct data_case *c = &cases[i];
		uint8_t *pkt = calloc(1, c->len ? c->len : 1);	/* exact size: ASan */
		uint32_t rcv = 0;
		uint64_t ctr = 0;
		size_t pl = 12345;
		enum data_err e;

		cr_assert_not_null(pkt);
		if (c->len >= 4) {
			pkt[0] = c->type;
			pkt[1] = c->r1;
			pkt[2] = c->r2;
			pkt[3] = c->r3;
		}
		if (c->len >= 16) {
			pkt[4] = 0x78; pkt[5] = 0x56; pkt[6] = 0x34; pkt[7] = 0x12;
			pkt[8] = 0x01; pkt[15] = 0x80;
		}
		e = data_parse(pkt, c->len, &rcv, &ctr, &pl);
		cr_expect_eq(e, c->want, "%s: got %s", c->what, data_strerror(e));
		if (e == DATA_OK) {
			cr_expect_eq(rcv, 0x12345678u, "%s: receiver LE", c->what);
			cr_expect_eq(ctr, 0x8000000000000001ull, "%s: counter LE", c->what);
			cr_expect_eq(pl, c->len - 32, "%s", c->what);
		}
		free(pkt);
	}
}

Test(data, hdr_init_roundtrip)
{
	uint8_t pkt[DATA_OVERHEAD + 5];
	uint32_t rcv;
	uint64_t ctr;
	size_t pl;

	memset(pkt, 0xee, sizeof pkt);
	data_hdr_init(pkt, 0xdeadbeef);
	/* counter bytes are session_seal's: write one here */
	memset(pkt + 8, 0, 8);
	pkt[8] = 7;
	cr_assert_eq(pkt[0], DATA_TYPE);
	cr_assert_eq(pkt[1] | pkt[2] | pkt[3], 0);
	cr_assert_eq(pkt[4], 0xef);	/* little-endian */
	cr_assert_eq(pkt[7], 0xde);
	cr_assert_eq(data_parse(pkt, sizeof pkt, &rcv, &ctr, &pl), DATA_OK);
	cr_assert_eq(rcv, 0xdeadbeef);
	cr_assert_eq(ctr, 7);
	cr_assert_eq(pl, 5);
	cr_assert_eq(sizeof(struct data_hdr), DATA_HDR_LEN);
}

Test(data, strerror_distinct)
{
	cr_assert_str_neq(data_strerror(DATA_ERR_SHORT), data_strerror(DATA_ERR_TYPE));
	cr_assert_str_neq(data_strerror(DATA_ERR_RESERVED), data_strerror(DATA_ERR_LONG));
}

/* ---- text parsers -------------------------------------------------------- */

struct pcase {
	const char *in;
	const char *out;	/* canonical text, NULL = must be rejected */
};

Test(ip, parse_table)
{
	static const struct pcase cases[] = {
		{ "10.0.0.1", "10.0.0.1" },
		{ "0.0.0.0", "0.0.0.0" },
		{ "255.255.255.255", "255.255.255.255" },
		{ "fd00::1", "fd00::1" },
		{ "FD00:0:0::1", "fd00::1" },
		{ "::", "::" },
		{ "::ffff:10.0.0.1", "::ffff:10.0.0.1" },
		{ "2001:db8:0:0:0:0:0:1", "2001:db8::1" },
		{ "", NULL },
		{ " 10.0.0.1", NULL },
		{ "10.0.0.1 ", NULL },
		{ "10.0.0.1x", NULL },
		{ "10.0.0", NULL },
		{ "10.0.0.256", NULL },
		{ "10.0.0.01", NULL },
		{ "10.0.0.1/32", NULL },
		{ "10.0.0.1:80", NULL },
		{ "fd00::1%eth0", NULL },
		{ "fd00:::1", NULL },
		{ "[fd00::1]", NULL },
		{ "fd00::1::2", NULL },
		{ "1:2:3:4:5:6:7:8:9", NULL },
		{ "0x0a.0.0.1", NULL },
		{ "fd00:0000:0000:0000:0000:0000:0000:0000:0001", NULL },
	};
	size_t i;
	char buf[CTL_ADDRSTRLEN];

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ctl_ip ip;
		int r = ctl_ip_parse(&ip, cases[i].in);

		if (!cases[i].out) {
			cr_expect_eq(r, -1, "accepted \"%s\"", cases[i].in);
			continue;
		}
		cr_expect_eq(r, 0, "rejected \"%s\"", cases[i].in);
		if (r == 0)
			cr_expect_str_eq(ctl_ip_fmt(&ip, buf), cases[i].out, "\"%s\"", cases[i].in);
	}
}

Test(ip, prefix_table)
{
	static const struct pcase cases[] = {
		{ "10.0.0.0/24", "10.0.0.0/24" },
		{ "10.200.0.0/16", "10.200.0.0/16" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "10.0.0.1/32", "10.0.0.1/32" },
		{ "10.0.0.128/25", "10.0.0.128/25" },
		{ "fd00::/8", "fd00::/8" },
		{ "::/0", "::/0" },
		{ "2001:db8::1/128", "2001:db8::1/128" },
		{ "2001:DB8:1::/48", "2001:db8:1::/48" },
		{ "10.0.0.1/24", NULL },	/* host bits */
		{ "10.0.0.128/24", NULL },
		{ "10.0.0.0/33", NULL },
		{ "10.0.0.0/-1", NULL },
		{ "10.0.0.0/+8", NULL },
		{ "10.0.0.0/08", NULL },
		{ "10.0.0.0/", NULL },
		{ "10.0.0.0", NULL },
		{ "/24", NULL },
		{ "10.0.0.0/24 ", NULL },
		{ "10.0.0.0/24x", NULL },
		{ "10.0.0.0/24/24", NULL },
		{ "10.0.0.0/99999999999999999999", NULL },
		{ "fd00::1/64", NULL },
		{ "fd00::/129", NULL },
		{ "fd00::/1280", NULL },
		{ "fd00::/ 8", NULL },
	};
	size_t i;
	char buf[CTL_ADDRSTRLEN];

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ctl_prefix p;
		int r = ctl_prefix_parse(&p, cases[i].in);

		if (!cases[i].out) {
			cr_expect_eq(r, -1, "accepted \"%s\"", cases[i].in);
			continue;
		}
		cr_expect_eq(r, 0, "rejected \"%s\"", cases[i].in);
		if (r == 0) {
			cr_expect(ctl_prefix_valid(&p));
			cr_expect_str_eq(ctl_prefix_fmt(&p, buf), cases[i].out, "\"%s\"", cases[i].in);
		}
	}
}

Test(ip, endpoint_table)
{
	static const struct pcase cases[] = {
		{ "192.0.2.1:4500", "192.0.2.1:4500" },
		{ "192.0.2.1:1", "192.0.2.1:1" },
		{ "192.0.2.1:65535", "192.0.2.1:65535" },
		{ "[2001:db8::1]:4500", "[2001:db8::1]:4500" },
		{ "[::ffff:192.0.2.1]:53", "[::ffff:192.0.2.1]:53" },
		{ "192.0.2.1:0", NULL },
		{ "192.0.2.1:65536", NULL },
		{ "192.0.2.1:100000", NULL },
		{ "192.0.2.1:04500", NULL },
		{ "192.0.2.1:-1", NULL },
		{ "192.0.2.1:", NULL },
		{ "192.0.2.1", NULL },
		{ ":4500", NULL },
		{ "192.0.2.1:4500x", NULL },
		{ "192.0.2.1:4500 ", NULL },
		{ "192.0.2.1:45:00", NULL },
		{ "2001:db8::1:4500", NULL },	/* v6 needs brackets */
		{ "[2001:db8::1]4500", NULL },
		{ "[2001:db8::1]:", NULL },
		{ "[192.0.2.1]:4500", NULL },	/* brackets are for v6 */
		{ "[2001:db8::1:4500", NULL },
		{ "[]:4500", NULL },
		{ "host.example:4500", NULL },
	};
	size_t i;
	char buf[CTL_ADDRSTRLEN];

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ctl_endpoint e;
		int r = ctl_endpoint_parse(&e, cases[i].in);

		if (!cases[i].out) {
			cr_expect_eq(r, -1, "accepted \"%s\"", cases[i].in);
			continue;
		}
		cr_expect_eq(r, 0, "rejected \"%s\"", cases[i].in);
		if (r == 0)
			cr_expect_str_eq(ctl_endpoint_fmt(&e, buf), cases[i].out, "\"%s\"",
					 cases[i].in);
	}
}

Test(ip, parse_failure_leaves_output_alone)
{
	struct ctl_ip ip;
	struct ctl_prefix p;
	struct ctl_endpoint e;

	memset(&ip, 0xaa, sizeof ip);
	memset(&p, 0xaa, sizeof p);
	memset(&e, 0xaa, sizeof e);
	cr_assert_eq(ctl_ip_parse(&ip, "10.0.0.1x"), -1);
	cr_assert_eq(ctl_prefix_parse(&p, "10.0.0.1/24"), -1);
	cr_assert_eq(ctl_endpoint_parse(&e, "192.0.2.1:0"), -1);
	cr_assert_eq(ip.af, 0xaa);
	cr_assert_eq(p.len, 0xaa);
	cr_assert_eq(e.port, 0xaaaa);
}

Test(ip, longest_text_forms_fit)
{
	char buf[CTL_ADDRSTRLEN];
	struct ctl_endpoint e;
	struct ctl_prefix p;
	const char *ep = "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535";

	cr_assert_eq(ctl_endpoint_parse(&e, ep), 0);
	/* inet_ntop picks its own form; whatever it is, it must round-trip */
	ctl_endpoint_fmt(&e, buf);
	{
		struct ctl_endpoint e2;

		cr_assert_eq(ctl_endpoint_parse(&e2, buf), 0, "%s", buf);
		cr_assert(ctl_ip_eq(&e.ip, &e2.ip) && e.port == e2.port);
	}
	cr_assert_eq(ctl_prefix_parse(&p, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"), 0);
	cr_assert_str_eq(ctl_prefix_fmt(&p, buf), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
}

Test(ip, contains_table)
{
	static const struct {
		const char *prefix, *ip;
		bool want;
	} cases[] = {
		{ "10.0.0.0/24", "10.0.0.0", true },
		{ "10.0.0.0/24", "10.0.0.255", true },
		{ "10.0.0.0/24", "10.0.1.0", false },
		{ "10.0.0.0/24", "9.255.255.255", false },
		{ "10.0.0.128/25", "10.0.0.127", false },
		{ "10.0.0.128/25", "10.0.0.128", true },
		{ "10.0.0.5/32", "10.0.0.5", true },
		{ "10.0.0.5/32", "10.0.0.4", false },
		{ "0.0.0.0/0", "203.0.113.9", true },
		{ "0.0.0.0/0", "::", false },		/* family mismatch */
		{ "::/0", "10.0.0.1", false },
		{ "::/0", "2001:db8::1", true },
		{ "fd00::/8", "fd12::1", true },
		{ "fd00::/8", "fe00::1", false },
		{ "2001:db8::/33", "2001:db8:7fff::1", true },
		{ "2001:db8::/33", "2001:db8:8000::1", false },
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ctl_prefix p;
		struct ctl_ip ip;

		cr_assert_eq(ctl_prefix_parse(&p, cases[i].prefix), 0, "%s", cases[i].prefix);
		cr_assert_eq(ctl_ip_parse(&ip, cases[i].ip), 0, "%s", cases[i].ip);
		cr_expect_eq(ctl_prefix_contains(&p, &ip), cases[i].want, "%s in %s",
			     cases[i].ip, cases[i].prefix);
	}
}

Test(ip, binary_helpers)
{
	const uint8_t a4[4] = { 100, 64, 0, 7 };
	const uint8_t a6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7 };
	const uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 100, 64, 0, 7 };
	struct ctl_ip x, y;
	uint8_t out[16];
	struct ctl_prefix p;

	ctl_ip_from_v4(&x, a4);
	cr_assert_eq(x.af, 4);
	ctl_ip_to16(&x, out);
	cr_assert_arr_eq(out, mapped, 16);
	ctl_ip_from_v6(&y, a6);
	ctl_ip_to16(&y, out);
	cr_assert_arr_eq(out, a6, 16);
	cr_assert(!ctl_ip_eq(&x, &y));
	cr_assert_eq(ctl_ip_parse(&y, "100.64.0.7"), 0);
	cr_assert(ctl_ip_eq(&x, &y));
	y.a[3] = 8;
	cr_assert(!ctl_ip_eq(&x, &y));
	/* bytes beyond a v4 address do not matter */
	y = x;
	y.a[10] = 0x55;
	cr_assert(ctl_ip_eq(&x, &y));

	memset(&p, 0, sizeof p);
	p.ip = x;
	p.len = 32;
	cr_assert(ctl_prefix_valid(&p));
	p.len = 33;
	cr_assert(!ctl_prefix_valid(&p));
	p.len = 24;
	cr_assert(!ctl_prefix_valid(&p));	/* .7 is a host bit */
	p.ip.af = 5;
	p.len = 0;
	cr_assert(!ctl_prefix_valid(&p));
}
