// SPDX-License-Identifier: GPL-2.0-only
/*
 * Longest-prefix match: edge tables, then a seeded random cross-check
 * against a linear scan.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/ctl.h"
#include "router/prefix_table.h"

static int V[64];	/* distinct non-NULL values */
#define VAL(i) ((void *)&V[i])

static void a4(uint8_t out[4], const char *s)
{
	cr_assert_eq(inet_pton(AF_INET, s, out), 1, "bad test address %s", s);
}

static void a6(uint8_t out[16], const char *s)
{
	cr_assert_eq(inet_pton(AF_INET6, s, out), 1, "bad test address %s", s);
}

static void ins4(struct prefix_table *t, const char *s, unsigned len, int v, int expect)
{
	uint8_t a[4];

	a4(a, s);
	cr_assert_eq(prefix_table_insert(t, 4, a, len, VAL(v)), expect, "insert %s/%u", s, len);
}

static void ins6(struct prefix_table *t, const char *s, unsigned len, int v, int expect)
{
	uint8_t a[16];

	a6(a, s);
	cr_assert_eq(prefix_table_insert(t, 6, a, len, VAL(v)), expect, "insert %s/%u", s, len);
}

static void *look4(const struct prefix_table *t, const char *s)
{
	uint8_t a[4];

	a4(a, s);
	return prefix_table_lookup(t, AF_INET, a);
}

static void *look6(const struct prefix_table *t, const char *s)
{
	uint8_t a[16];

	a6(a, s);
	return prefix_table_lookup(t, AF_INET6, a);
}

Test(prefix, v4_edge_table)
{
	struct prefix_table t;
	static const struct { const char *addr; int v; } cases[] = {
		/*  1 */ { "10.1.2.3", 4 },	/* /32 exact */
		/*  2 */ { "10.1.2.4", 3 },	/* /24 */
		/*  3 */ { "10.1.3.1", 2 },	/* /16 */
		/*  4 */ { "10.2.0.0", 1 },	/* /8 */
		/*  5 */ { "11.0.0.0", 0 },	/* /0 default */
		/*  6 */ { "255.255.255.255", 0 },
		/*  7 */ { "0.0.0.0", 0 },
		/*  8 */ { "10.1.2.2", 3 },
		/*  9 */ { "10.1.2.255", 3 },
		/* 10 */ { "10.1.255.255", 2 },
		/* 11 */ { "10.255.255.255", 1 },
		/* 12 */ { "192.168.1.128", 6 },	/* /25 upper half */
		/* 13 */ { "192.168.1.127", 5 },	/* /24 lower half */
		/* 14 */ { "192.168.1.0", 5 },
		/* 15 */ { "9.255.255.255", 0 },
	};
	size_t i;

	prefix_table_init(&t);
	cr_assert_null(look4(&t, "10.1.2.3"), "empty table matches nothing");
	ins4(&t, "0.0.0.0", 0, 0, 0);
	ins4(&t, "10.0.0.0", 8, 1, 0);
	ins4(&t, "10.1.0.0", 16, 2, 0);
	ins4(&t, "10.1.2.0", 24, 3, 0);
	ins4(&t, "10.1.2.3", 32, 4, 0);
	ins4(&t, "192.168.1.0", 24, 5, 0);
	ins4(&t, "192.168.1.128", 25, 6, 0);
	cr_assert_eq(prefix_table_count(&t), 7);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		cr_assert_eq(look4(&t, cases[i].addr), VAL(cases[i].v),
			     "case %zu: %s expected value %d", i + 1, cases[i].addr, cases[i].v);
	cr_assert_null(look6(&t, "::"), "v4 entries never match v6");
	prefix_table_free(&t);
	cr_assert_eq(prefix_table_count(&t), 0);
}

Test(prefix, v6_edge_table)
{
	struct prefix_table t;

	prefix_table_init(&t);
	ins6(&t, "::", 0, 0, 0);
	ins6(&t, "fd00::", 8, 1, 0);
	ins6(&t, "fd00:1::", 32, 2, 0);
	ins6(&t, "fd00:1:2:3::", 64, 3, 0);
	ins6(&t, "fd00:1:2:3::1", 128, 4, 0);
	ins6(&t, "fd00:1:2:3:8000::", 65, 5, 0);
	ins6(&t, "2001:db8::", 127, 6, 0);

	cr_assert_eq(look6(&t, "fd00:1:2:3::1"), VAL(4));
	cr_assert_eq(look6(&t, "fd00:1:2:3::2"), VAL(3));
	cr_assert_eq(look6(&t, "fd00:1:2:3:7fff:ffff:ffff:ffff"), VAL(3));
	cr_assert_eq(look6(&t, "fd00:1:2:3:8000::1"), VAL(5));
	cr_assert_eq(look6(&t, "fd00:1:2:4::"), VAL(2));
	cr_assert_eq(look6(&t, "fd00:2::"), VAL(1));
	cr_assert_eq(look6(&t, "fdff::"), VAL(1));
	cr_assert_eq(look6(&t, "fe00::"), VAL(0));
	cr_assert_eq(look6(&t, "2001:db8::1"), VAL(6));
	cr_assert_eq(look6(&t, "2001:db8::2"), VAL(0), "outside the /127");
	cr_assert_eq(look6(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), VAL(0));
	cr_assert_null(look4(&t, "10.0.0.1"), "v6 entries never match v4");
	prefix_table_free(&t);
}

Test(prefix, bad_arguments)
{
	struct prefix_table t;
	uint8_t a[16] = { 0 };

	prefix_table_init(&t);
	cr_assert_eq(prefix_table_insert(&t, 4, a, 33, VAL(0)), -1);
	cr_assert_eq(prefix_table_insert(&t, 6, a, 129, VAL(0)), -1);
	cr_assert_eq(prefix_table_insert(&t, 5, a, 8, VAL(0)), -1);
	cr_assert_eq(prefix_table_insert(&t, 4, a, 8, NULL), -1, "NULL value refused");
	cr_assert_null(prefix_table_lookup(&t, 7, a));
	cr_assert_eq(prefix_table_remove(&t, 4, a, 8), -1, "remove from empty");
	cr_assert_eq(prefix_table_count(&t), 0);
}

Test(prefix, host_bits_are_masked)
{
	struct prefix_table t;
	uint8_t a[4];

	prefix_table_init(&t);
	ins4(&t, "10.1.2.3", 24, 1, 0);
	a4(a, "10.1.2.0");
	cr_assert_eq(prefix_table_get(&t, 4, a, 24), VAL(1));
	ins4(&t, "10.1.2.200", 24, 2, 1);	/* same prefix: replaced */
	cr_assert_eq(prefix_table_count(&t), 1);
	cr_assert_eq(look4(&t, "10.1.2.77"), VAL(2));
	a4(a, "10.1.2.99");
	cr_assert_eq(prefix_table_remove(&t, 4, a, 24), 0, "remove ignores host bits too");
	cr_assert_null(look4(&t, "10.1.2.77"));
	ins6(&t, "fd00::ffff", 16, 3, 0);
	cr_assert_eq(look6(&t, "fd00:abcd::"), VAL(3));
	ins4(&t, "1.2.3.4", 0, 4, 0);
	cr_assert_eq(look4(&t, "200.0.0.1"), VAL(4), "/0 with host bits is the default");
	prefix_table_free(&t);
}

Test(prefix, insert_replace_remove)
{
	struct prefix_table t;
	uint8_t a[4];

	prefix_table_init(&t);
	ins4(&t, "10.0.0.0", 16, 1, 0);
	ins4(&t, "10.0.0.0", 24, 2, 0);
	ins4(&t, "10.0.1.0", 24, 3, 0);	/* forces a branch node at /23 */
	ins4(&t, "10.0.0.0", 24, 4, 1);
	cr_assert_eq(prefix_table_count(&t), 3);
	cr_assert_eq(look4(&t, "10.0.0.5"), VAL(4));
	cr_assert_eq(look4(&t, "10.0.1.5"), VAL(3));
	cr_assert_eq(look4(&t, "10.0.2.5"), VAL(1));

	a4(a, "10.0.0.0");
	cr_assert_eq(prefix_table_remove(&t, 4, a, 23), -1, "branch node is not a prefix");
	cr_assert_eq(prefix_table_remove(&t, 4, a, 25), -1, "absent longer prefix");
	cr_assert_eq(prefix_table_remove(&t, 4, a, 8), -1, "absent shorter prefix");
	cr_assert_eq(prefix_table_remove(&t, 4, a, 16), 0);
	cr_assert_eq(prefix_table_remove(&t, 4, a, 16), -1, "second remove fails");
	cr_assert_eq(prefix_table_count(&t), 2);
	cr_assert_null(look4(&t, "10.0.2.5"));
	cr_assert_eq(look4(&t, "10.0.0.5"), VAL(4), "longer prefixes survive removing the shorter");
	cr_assert_eq(look4(&t, "10.0.1.5"), VAL(3));
	cr_assert_eq(prefix_table_remove(&t, 4, a, 24), 0);
	cr_assert_null(look4(&t, "10.0.0.5"));
	cr_assert_eq(look4(&t, "10.0.1.5"), VAL(3));
	ins4(&t, "10.0.0.0", 16, 5, 0);	/* re-insert above a lone /24 */
	cr_assert_eq(look4(&t, "10.0.0.5"), VAL(5));
	cr_assert_eq(look4(&t, "10.0.1.5"), VAL(3));
	prefix_table_free(&t);
}

struct walk_rec {
	int n;
	char text[16][CTL_ADDRSTRLEN];
	void *val[16];
};

static int rec_fn(void *ctx, int af, const uint8_t *addr, unsigned plen, void *value)
{
	struct walk_rec *w = ctx;
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(af == 4 ? AF_INET : AF_INET6, addr, buf, sizeof buf);
	snprintf(w->text[w->n], sizeof w->text[0], "%s/%u", buf, plen);
	w->val[w->n++] = value;
	return w->n == 5 ? 42 : 0;
}

Test(prefix, walk_order_and_stop)
{
	struct prefix_table t;
	struct walk_rec w = { 0 };
	static const char *expect[] = {
		"10.0.0.0/8", "10.1.0.0/16", "10.128.0.0/9", "192.168.0.0/16", "fd00::/8",
	};
	int i, rc;

	prefix_table_init(&t);
	ins6(&t, "fd00::", 8, 5, 0);
	ins6(&t, "fe80::", 10, 6, 0);
	ins4(&t, "192.168.0.0", 16, 4, 0);
	ins4(&t, "10.128.0.0", 9, 3, 0);
	ins4(&t, "10.1.0.0", 16, 2, 0);
	ins4(&t, "10.0.0.0", 8, 1, 0);
	rc = prefix_table_walk(&t, rec_fn, &w);
	cr_assert_eq(rc, 42, "walk returns the callback's stop value");
	cr_assert_eq(w.n, 5, "walk stopped at the 5th prefix");
	for (i = 0; i < 5; i++)
		cr_assert_str_eq(w.text[i], expect[i], "walk item %d", i);
	cr_assert_eq(w.val[0], VAL(1));
	prefix_table_free(&t);
}

Test(prefix, remove_by_value)
{
	struct prefix_table t;
	uint8_t a[4];

	prefix_table_init(&t);
	ins4(&t, "10.0.0.0", 8, 1, 0);
	ins4(&t, "10.1.0.0", 16, 2, 0);
	ins4(&t, "10.1.1.0", 24, 1, 0);
	ins4(&t, "10.1.1.1", 32, 2, 0);
	ins4(&t, "172.16.0.0", 12, 1, 0);
	ins6(&t, "fd00::", 64, 1, 0);
	ins6(&t, "fd00::1", 128, 2, 0);
	cr_assert_eq(prefix_table_remove_by_value(&t, VAL(1)), 4);
	cr_assert_eq(prefix_table_count(&t), 3);
	cr_assert_null(look4(&t, "10.200.0.1"));
	cr_assert_null(look4(&t, "172.16.0.1"));
	cr_assert_eq(look4(&t, "10.1.1.9"), VAL(2), "falls back to peer 2's /16");
	cr_assert_eq(look4(&t, "10.1.1.1"), VAL(2));
	cr_assert_null(look6(&t, "fd00::2"));
	cr_assert_eq(look6(&t, "fd00::1"), VAL(2));
	cr_assert_eq(prefix_table_remove_by_value(&t, VAL(1)), 0);
	a4(a, "10.1.0.0");
	cr_assert_eq(prefix_table_remove(&t, 4, a, 16), 0, "trie still consistent");
	cr_assert_eq(prefix_table_remove_by_value(&t, VAL(2)), 2);
	cr_assert_eq(prefix_table_count(&t), 0);
	cr_assert_null(t.root4, "no node left behind");
	cr_assert_null(t.root6);
	prefix_table_free(&t);
}

Test(prefix, ctl_wrappers)
{
	struct prefix_table t;
	struct ctl_prefix p;
	uint8_t a[4];

	prefix_table_init(&t);
	memset(&p, 0, sizeof p);
	p.ip.af = 4;
	a4(p.ip.a, "10.200.0.0");
	p.len = 24;
	cr_assert_eq(prefix_table_insert_ctl(&t, &p, VAL(7)), 0);
	a4(a, "10.200.0.9");
	cr_assert_eq(prefix_table_lookup(&t, 4, a), VAL(7));
	cr_assert_eq(prefix_table_remove_ctl(&t, &p), 0);
	cr_assert_null(prefix_table_lookup(&t, 4, a));
	prefix_table_free(&t);
}

/* ---- randomized cross-check against a linear scan ------------------------ */

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

struct ref {
	uint8_t addr[16];	/* masked */
	unsigned len;
	int value;
	int live;
};

static int ref_contains(const struct ref *r, const uint8_t *a)
{
	/* byte-wise, unlike the trie's own helpers */
	unsigned full = r->len / 8, rest = r->len % 8, i;

	for (i = 0; i < full; i++)
		if (r->addr[i] != a[i])
			return 0;
	if (rest) {
		unsigned shift = 8 - rest;

		if ((r->addr[full] >> shift) != (a[full] >> shift))
			return 0;
	}
	return 1;
}

static void ref_mask(uint8_t *a, unsigned nbytes, unsigned len)
{
	unsigned i;

	for (i = len; i < nbytes * 8; i++)
		a[i / 8] &= (uint8_t)~(1u << (7 - i % 8));
}

#define NREF 3000
#define NLOOK 6000
static int VALS[NREF];

static void random_addr(uint8_t *out, unsigned nbytes, uint8_t bases[8][16])
{
	unsigned i, flips;

	/* Start from one of a few bases so prefixes overlap and nest. */
	memcpy(out, bases[rng() % 8], nbytes);
	flips = (unsigned)(rng() % 6);
	for (i = 0; i < flips; i++) {
		unsigned bit = (unsigned)(rng() % (nbytes * 8));

		out[bit / 8] ^= (uint8_t)(1u << (7 - bit % 8));
	}
	if (rng() % 10 == 0)
		for (i = 0; i < nbytes; i++)
			out[i] = (uint8_t)rng();
}

static void cross_check(int af, uint64_t seed)
{
	unsigned nbytes = af == 4 ? 4 : 16, maxlen = nbytes * 8;
	static struct ref refs[NREF];
	uint8_t bases[8][16];
	struct prefix_table t;
	size_t live = 0;
	int i, j, round;

	rng_state = seed;
	memset(refs, 0, sizeof refs);
	for (i = 0; i < 8; i++)
		for (j = 0; j < 16; j++)
			bases[i][j] = (uint8_t)rng();
	prefix_table_init(&t);

	for (round = 0; round < 2; round++) {
		/* insert (with duplicates: replace) */
		for (i = 0; i < NREF; i++) {
			struct ref *r = &refs[i];
			int dup = -1, rc;

			random_addr(r->addr, nbytes, bases);
			r->len = (unsigned)(rng() % (maxlen + 1));
			if (rng() % 4 == 0)	/* favour lengths near the end */
				r->len = maxlen - (unsigned)(rng() % 9);
			ref_mask(r->addr, nbytes, r->len);
			r->value = i;
			for (j = 0; j < NREF; j++)
				if (j != i && refs[j].live && refs[j].len == r->len &&
				    memcmp(refs[j].addr, r->addr, nbytes) == 0)
					dup = j;
			rc = prefix_table_insert(&t, af, r->addr, r->len, &VALS[i]);
			cr_assert_eq(rc, dup >= 0 ? 1 : 0, "insert %d (dup %d)", i, dup);
			if (dup >= 0)
				refs[dup].live = 0;
			else
				live++;
			r->live = 1;
		}
		cr_assert_eq(prefix_table_count(&t), live);

		/* remove about a third */
		for (i = 0; i < NREF; i++) {
			if (!refs[i].live || rng() % 3 != 0)
				continue;
			cr_assert_eq(prefix_table_remove(&t, af, refs[i].addr, refs[i].len), 0);
			refs[i].live = 0;
			live--;
		}
		cr_assert_eq(prefix_table_count(&t), live);

		/* lookups: near stored prefixes and fully random */
		for (i = 0; i < NLOOK; i++) {
			uint8_t a[16];
			int best = -1;
			unsigned best_len = 0;
			void *got;

			if (i % 2) {
				const struct ref *r = &refs[rng() % NREF];
				unsigned k;

				memcpy(a, r->addr, nbytes);
				for (k = r->len; k < maxlen; k++)
					if (rng() & 1)
						a[k / 8] ^= (uint8_t)(1u << (7 - k % 8));
			} else {
				random_addr(a, nbytes, bases);
			}
			for (j = 0; j < NREF; j++)
				if (refs[j].live && ref_contains(&refs[j], a) &&
				    (best < 0 || refs[j].len > best_len)) {
					best = j;
					best_len = refs[j].len;
				}
			got = prefix_table_lookup(&t, af, a);
			cr_assert_eq(got, best < 0 ? NULL : (void *)&VALS[refs[best].value],
				     "round %d lookup %d: expected ref %d (/%u)", round, i, best, best_len);
		}
		/* exact get agrees for every live prefix */
		for (i = 0; i < NREF; i++)
			if (refs[i].live)
				cr_assert_eq(prefix_table_get(&t, af, refs[i].addr, refs[i].len),
					     &VALS[i]);
		/* second round: remove all remaining, then refill */
		if (round == 0) {
			for (i = 0; i < NREF; i++)
				if (refs[i].live && i % 2 == 0) {
					cr_assert_eq(prefix_table_remove(&t, af, refs[i].addr,
									 refs[i].len), 0);
					refs[i].live = 0;
					live--;
				}
			for (i = 0; i < NREF; i++)
				if (refs[i].live) {
					cr_assert_eq(prefix_table_remove(&t, af, refs[i].addr,
									 refs[i].len), 0);
					refs[i].live = 0;
					live--;
				}
			cr_assert_eq(prefix_table_count(&t), 0);
			cr_assert_null(af == 4 ? t.root4 : t.root6, "empty trie has no nodes");
		}
	}
	prefix_table_free(&t);
}

Test(prefix, random_cross_check_v4, .timeout = 60)
{
	cross_check(4, 0x243f6a8885a308d3ull);
}

Test(prefix, random_cross_check_v6, .timeout = 60)
{
	cross_check(6, 0x13198a2e03707344ull);
}

Test(prefix, random_cross_check_v4_seed2, .timeout = 60)
{
	cross_check(4, 0xa4093822299f31d0ull);
}

Test(prefix, random_remove_by_value, .timeout = 60)
{
	struct prefix_table t;
	static struct ref refs[NREF];
	uint8_t bases[8][16];
	int owner[NREF];
	int i, j, k;

	rng_state = 0x082efa98ec4e6c89ull;
	for (i = 0; i < 8; i++)
		for (j = 0; j < 16; j++)
			bases[i][j] = (uint8_t)rng();
	prefix_table_init(&t);
	memset(refs, 0, sizeof refs);
	/* 8 "peers" (values V[0..7]) own random v6 prefixes; replaced ones
	 * change owner. */
	for (i = 0; i < 1000; i++) {
		int dup = -1;

		random_addr(refs[i].addr, 16, bases);
		refs[i].len = (unsigned)(rng() % 129);
		ref_mask(refs[i].addr, 16, refs[i].len);
		owner[i] = (int)(rng() % 8);
		for (j = 0; j < i; j++)
			if (refs[j].live && refs[j].len == refs[i].len &&
			    memcmp(refs[j].addr, refs[i].addr, 16) == 0)
				dup = j;
		cr_assert_eq(prefix_table_insert(&t, 6, refs[i].addr, refs[i].len, VAL(owner[i])),
			     dup >= 0);
		if (dup >= 0)
			refs[dup].live = 0;
		refs[i].live = 1;
	}
	for (k = 0; k < 8; k += 3) {
		size_t expect = 0;

		for (i = 0; i < 1000; i++)
			if (refs[i].live && owner[i] == k) {
				expect++;
				refs[i].live = 0;
			}
		cr_assert_eq(prefix_table_remove_by_value(&t, VAL(k)), expect, "peer %d", k);
	}
	j = 0;
	for (i = 0; i < 1000; i++) {
		if (!refs[i].live)
			continue;
		j++;
		cr_assert_eq(prefix_table_get(&t, 6, refs[i].addr, refs[i].len), VAL(owner[i]),
			     "prefix %d after remove_by_value", i);
	}
	cr_assert_eq(prefix_table_count(&t), (size_t)j);
	prefix_table_free(&t);
}
