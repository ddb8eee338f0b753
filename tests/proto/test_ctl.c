// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_ctl.c - control frames: round trips, annotated byte arrays (one or
 * more per error code), truncation at every length, random garbage,
 * single-bit flips, stream reassembly.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ctl.h"
#include "samples.h"

static uint8_t frame[CTL_MAX_FRAME];

static uint64_t rng_state;
static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, seeded per test */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* decode from a heap copy of exactly len bytes, so ASan sees any overread */
static enum ctl_err decode_exact(struct ctl_msg *m, const uint8_t *buf, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum ctl_err e;

	cr_assert_not_null(copy);
	if (len)
		memcpy(copy, buf, len);
	e = ctl_decode(m, copy, len);
	free(copy);
	if (e != CTL_OK)
		cr_assert(all_zero(m, sizeof *m), "output not wiped after error %d", e);
	return e;
}

static size_t encode_ok(const struct ctl_msg *m, uint8_t *out, size_t cap)
{
	ssize_t n = ctl_encode(m, out, cap);

	cr_assert_gt(n, 0, "encode %s failed: %s", ctl_type_name(m->type),
		     n < 0 ? ctl_strerror((enum ctl_err)-n) : "empty");
	return (size_t)n;
}

/* ---- round trips --------------------------------------------------------- */

Test(ctl, roundtrip_every_type_and_variant)
{
	static struct ctl_msg in, out;
	static uint8_t again[CTL_MAX_FRAME];
	size_t t;
	int v;
	unsigned seed;

	for (t = 0; t < sample_ntypes; t++)
		for (v = 0; v < SAMPLE_NVARIANTS; v++)
			for (seed = 0; seed < 4; seed++) {
				size_t n, n2;

				sample_msg(&in, sample_types[t], v, seed);
				n = encode_ok(&in, frame, sizeof frame);
				cr_assert_leq(n, CTL_MAX_FRAME);
				cr_assert_eq(decode_exact(&out, frame, n), CTL_OK,
					     "%s variant %d", ctl_type_name(sample_types[t]), v);
				cr_assert(memcmp(&in, &out, sizeof in) == 0,
					  "%s variant %d: decoded message differs",
					  ctl_type_name(sample_types[t]), v);
				n2 = encode_ok(&out, again, sizeof again);
				cr_assert_eq(n, n2);
				cr_assert_arr_eq(frame, again, n);
			}
}

Test(ctl, full_variant_has_everything)
{
	/* guard the samples themselves: FULL really has the maxima */
	static struct ctl_msg m;

	sample_msg(&m, CTL_ENROLL_OK, SAMPLE_FULL, 0);
	cr_assert(m.u.enroll_ok.has_vip6 && m.u.enroll_ok.has_prefix6);
	cr_assert_eq(m.u.enroll_ok.n_routes, CTL_MAX_PREFIXES);
	cr_assert_eq(m.u.enroll_ok.cert_len, CTL_CERT_MAX);
	cr_assert_eq(strlen(m.u.enroll_ok.name), CTL_NAME_MAX);
	sample_msg(&m, CTL_ENROLL_REQ, SAMPLE_FULL, 0);
	cr_assert_eq(m.u.enroll_req.sig_len, CTL_SIG_MAX);
	sample_msg(&m, CTL_WELCOME, SAMPLE_FULL, 0);
	cr_assert_eq(m.u.welcome.n_own_routes, CTL_MAX_PREFIXES);
	sample_msg(&m, CTL_OFFER, SAMPLE_FULL, 0);
	cr_assert_eq(m.u.session.n_endpoints, CTL_MAX_ENDPOINTS);
	sample_msg(&m, CTL_ERROR, SAMPLE_FULL, 0);
	cr_assert_eq(strlen(m.u.error.reason), CTL_REASON_MAX);
	sample_msg(&m, CTL_ERROR, SAMPLE_MIN, 0);
	cr_assert_eq(m.u.error.reason[0], '\0');
}

Test(ctl, optional_absent_decodes_as_absent)
{
	static struct ctl_msg in, out;
	size_t n;

	sample_msg(&in, CTL_WELCOME, SAMPLE_MIN, 1);
	n = encode_ok(&in, frame, sizeof frame);
	cr_assert_eq(decode_exact(&out, frame, n), CTL_OK);
	cr_assert(!out.u.welcome.has_vip6 && !out.u.welcome.has_prefix6);
	cr_assert_eq(out.u.welcome.n_routes, 0);

	sample_msg(&in, CTL_REFUSE, SAMPLE_MIN, 1);
	n = encode_ok(&in, frame, sizeof frame);
	cr_assert_eq(decode_exact(&out, frame, n), CTL_OK);
	cr_assert_eq(out.u.refuse.dst.af, 0);
	cr_assert_eq(out.u.refuse.reason[0], '\0');
}

/* ---- hand-written frames ------------------------------------------------- */

struct vec {
	const char *what;
	const uint8_t *b;
	size_t n;
	enum ctl_err want;
};
#define V(what, want, ...) { what, (const uint8_t[]){ __VA_ARGS__ }, \
	sizeof((const uint8_t[]){ __VA_ARGS__ }), want }
/* header: version 1, type, flags 0, body length (u32 BE) */
#define HDR(type, blen) 1, type, 0, 0, 0, 0, (uint8_t)((blen) >> 8), (uint8_t)(blen)
#define NONCE8 1, 2, 3, 4, 5, 6, 7, 8

static const struct vec vecs[] = {
	V("PING nonce 0x0102030405060708", CTL_OK,
	  HDR(12, 11), /* NONCE */ 21, 0, 8, NONCE8),
	V("HELLO port 51820, mask 6, endpoint 192.0.2.1:4500", CTL_OK,
	  HDR(10, 21), /* DATA_PORT */ 14, 0, 2, 0xca, 0x6c, /* AEAD_MASK */ 15, 0, 4, 0, 0, 0, 6,
	  /* ENDPOINT */ 16, 0, 6, 192, 0, 2, 1, 0x11, 0x94),
	V("ROUTES, empty body (repeated fields may be absent)", CTL_OK, HDR(26, 0)),
	V("ROUTES 10.1.0.0/16 and ::/0", CTL_OK,
	  HDR(26, 28), 9, 0, 5, 10, 1, 0, 0, 16, 9, 0, 17, 0, 0, 0, 0, 0, 0, 0, 0,
	  0, 0, 0, 0, 0, 0, 0, 0, 0),
	V("ERROR code 14, fields in reverse order", CTL_OK,
	  HDR(3, 11), /* REASON "bye" */ 13, 0, 3, 'b', 'y', 'e', /* CODE */ 12, 0, 2, 0, 14),

	V("empty buffer", CTL_ERR_TRUNCATED),
	V("7-byte header", CTL_ERR_TRUNCATED, 1, 12, 0, 0, 0, 0, 0),
	V("body length 8185 > CTL_MAX_BODY", CTL_ERR_TOO_BIG, 1, 12, 0, 0, 0, 0, 0x1f, 0xf9),
	V("body length 0xffffffff", CTL_ERR_TOO_BIG, 1, 12, 0, 0, 0xff, 0xff, 0xff, 0xff),
	V("version 2", CTL_ERR_VERSION, 2, 12, 0, 0, 0, 0, 0, 11, 21, 0, 8, NONCE8),
	V("version 0", CTL_ERR_VERSION, 0, 12, 0, 0, 0, 0, 0, 0),
	V("type 0", CTL_ERR_TYPE, HDR(0, 0)),
	V("type 4 (gap in the numbering)", CTL_ERR_TYPE, HDR(4, 0)),
	V("type 255", CTL_ERR_TYPE, HDR(255, 0)),
	V("flags 0x0001", CTL_ERR_FLAGS, 1, 12, 0, 1, 0, 0, 0, 11, 21, 0, 8, NONCE8),
	V("flags 0x8000", CTL_ERR_FLAGS, 1, 12, 0x80, 0, 0, 0, 0, 11, 21, 0, 8, NONCE8),
	V("header says 12 body bytes, 11 present", CTL_ERR_TRUNCATED,
	  HDR(12, 12), 21, 0, 8, NONCE8),
	V("header says 10 body bytes, 11 present", CTL_ERR_TRUNCATED,
	  HDR(12, 10), 21, 0, 8, NONCE8),
	V("field length 9 runs past the body", CTL_ERR_TRUNCATED,
	  HDR(12, 11), 21, 0, 9, NONCE8),
	V("field header cut after tag", CTL_ERR_TRUNCATED, HDR(12, 12), 21, 0, 8, NONCE8, 21),
	V("field header cut inside length", CTL_ERR_TRUNCATED, HDR(12, 13), 21, 0, 8, NONCE8, 21, 0),
	V("NONCE of 4 bytes", CTL_ERR_FIELD_LEN, HDR(12, 7), 21, 0, 4, 1, 2, 3, 4),
	V("VIP4 (v4 only) of 16 bytes in WELCOME", CTL_ERR_FIELD_LEN,
	  HDR(11, 19), 5, 0, 16, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1),
	V("ENDPOINT of 5 bytes", CTL_ERR_FIELD_LEN,
	  HDR(10, 20), 14, 0, 2, 0xca, 0x6c, 15, 0, 4, 0, 0, 0, 6, 16, 0, 5, 192, 0, 2, 1, 0x11),
	V("REASON of 0 bytes", CTL_ERR_FIELD_LEN, HDR(3, 8), 12, 0, 2, 0, 1, 13, 0, 0),
	V("EPH of 31 bytes", CTL_ERR_FIELD_LEN, HDR(22, 34), 24, 0, 31,
	  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
	V("REQ_ID (tag 22) not allowed in PING", CTL_ERR_FIELD_UNKNOWN,
	  HDR(12, 18), 21, 0, 8, NONCE8, 22, 0, 4, 0, 0, 0, 1),
	V("tag 0", CTL_ERR_FIELD_UNKNOWN, HDR(12, 3), 0, 0, 0),
	V("tag 200 (unassigned)", CTL_ERR_FIELD_UNKNOWN, HDR(12, 4), 200, 0, 1, 0),
	V("NONCE twice", CTL_ERR_FIELD_DUP, HDR(12, 22), 21, 0, 8, NONCE8, 21, 0, 8, NONCE8),
	V("HELLO with 9 endpoints (max 8)", CTL_ERR_FIELD_DUP,
	  HDR(10, 12 + 9 * 9), 14, 0, 2, 0xca, 0x6c, 15, 0, 4, 0, 0, 0, 6,
	  16, 0, 6, 10, 0, 0, 1, 0, 1, 16, 0, 6, 10, 0, 0, 2, 0, 1, 16, 0, 6, 10, 0, 0, 3, 0, 1,
	  16, 0, 6, 10, 0, 0, 4, 0, 1, 16, 0, 6, 10, 0, 0, 5, 0, 1, 16, 0, 6, 10, 0, 0, 6, 0, 1,
	  16, 0, 6, 10, 0, 0, 7, 0, 1, 16, 0, 6, 10, 0, 0, 8, 0, 1, 16, 0, 6, 10, 0, 0, 9, 0, 1),
	V("PING without NONCE", CTL_ERR_FIELD_MISSING, HDR(12, 0)),
	V("HELLO without AEAD_MASK", CTL_ERR_FIELD_MISSING, HDR(10, 5), 14, 0, 2, 0xca, 0x6c),
	V("ERROR reason with byte 0x01", CTL_ERR_VALUE,
	  HDR(3, 10), 12, 0, 2, 0, 1, 13, 0, 2, 'a', 1),
	V("ERROR reason with NUL", CTL_ERR_VALUE, HDR(3, 10), 12, 0, 2, 0, 1, 13, 0, 2, 'a', 0),
	V("ERROR reason with 0x7f", CTL_ERR_VALUE, HDR(3, 9), 12, 0, 2, 0, 1, 13, 0, 1, 0x7f),
	V("REVOKE name with upper case", CTL_ERR_VALUE,
	  HDR(25, 22), 26, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 3, 'B', 'o', 'b',
	  12, 0, 2, 0, 7),
	V("REVOKE name starting with '-'", CTL_ERR_VALUE,
	  HDR(25, 22), 26, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 3, '-', 'o', 'b',
	  12, 0, 2, 0, 7),
	V("ROUTES 10.1.0.0/15 (host bit set)", CTL_ERR_VALUE, HDR(26, 8), 9, 0, 5, 10, 1, 0, 0, 15),
	V("ROUTES 10.0.0.0/33", CTL_ERR_VALUE, HDR(26, 8), 9, 0, 5, 10, 0, 0, 0, 33),
	V("HELLO endpoint port 0", CTL_ERR_VALUE,
	  HDR(10, 21), 14, 0, 2, 0xca, 0x6c, 15, 0, 4, 0, 0, 0, 6, 16, 0, 6, 192, 0, 2, 1, 0, 0),
	V("HELLO data port 0", CTL_ERR_VALUE, HDR(10, 12), 14, 0, 2, 0, 0, 15, 0, 4, 0, 0, 0, 6),
	V("ACCEPT sid 0", CTL_ERR_VALUE, HDR(22, 53),
	  26, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0,
	  24, 0, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	  0, 0, 0, 0, 0, 0, 0, 25, 0, 4, 0, 0, 0, 1),
};

Test(ctl, annotated_vectors)
{
	static struct ctl_msg m;
	size_t i;

	for (i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
		enum ctl_err e = decode_exact(&m, vecs[i].b, vecs[i].n);

		cr_expect_eq(e, vecs[i].want, "%s: got %s, want %s", vecs[i].what,
			     ctl_strerror(e), ctl_strerror(vecs[i].want));
	}
}

Test(ctl, annotated_values)
{
	static struct ctl_msg m;
	char s[CTL_ADDRSTRLEN];

	cr_assert_eq(decode_exact(&m, vecs[0].b, vecs[0].n), CTL_OK);
	cr_assert_eq(m.type, CTL_PING);
	cr_assert_eq(m.u.ping.nonce, 0x0102030405060708ull);

	cr_assert_eq(decode_exact(&m, vecs[1].b, vecs[1].n), CTL_OK);
	cr_assert_eq(m.u.hello.data_port, 51820);
	cr_assert_eq(m.u.hello.aead_mask, 6);
	cr_assert_eq(m.u.hello.n_endpoints, 1);
	cr_assert_str_eq(ctl_endpoint_fmt(&m.u.hello.endpoints[0], s), "192.0.2.1:4500");

	cr_assert_eq(decode_exact(&m, vecs[3].b, vecs[3].n), CTL_OK);
	cr_assert_eq(m.u.routes.n_routes, 2);
	cr_assert_str_eq(ctl_prefix_fmt(&m.u.routes.routes[0], s), "10.1.0.0/16");
	cr_assert_str_eq(ctl_prefix_fmt(&m.u.routes.routes[1], s), "::/0");

	cr_assert_eq(decode_exact(&m, vecs[4].b, vecs[4].n), CTL_OK);
	cr_assert_eq(m.u.error.code, CTL_CODE_SHUTDOWN);
	cr_assert_str_eq(m.u.error.reason, "bye");
}

Test(ctl, every_error_code_has_a_vector)
{
	bool seen[CTL_ERR_SPACE + 1] = { false };
	size_t i;
	int e;

	for (i = 0; i < sizeof vecs / sizeof vecs[0]; i++)
		seen[vecs[i].want] = true;
	for (e = CTL_OK; e <= CTL_ERR_SPACE; e++)
		if (e != CTL_ERR_NEED_MORE && e != CTL_ERR_SPACE)	/* not decoder errors */
			cr_expect(seen[e], "no vector for %s", ctl_strerror(e));
}

Test(ctl, decode_is_exact_encode)
{
	/* the encoder produces byte-for-byte the hand-written PING */
	static struct ctl_msg m;
	size_t n;

	memset(&m, 0, sizeof m);
	m.type = CTL_PING;
	m.u.ping.nonce = 0x0102030405060708ull;
	n = encode_ok(&m, frame, sizeof frame);
	cr_assert_eq(n, vecs[0].n);
	cr_assert_arr_eq(frame, vecs[0].b, n);
}

/* ---- field tables, checked field by field --------------------------------- */

struct tlv {
	size_t off, len;	/* whole field (tag + length + value) within the frame */
	uint8_t tag;
};

/* independent walker over a well-formed frame's fields */
static size_t walk(const uint8_t *f, size_t n, struct tlv *out, size_t max)
{
	size_t pos = CTL_HDR_LEN, k = 0;

	while (pos < n) {
		size_t vl = (size_t)f[pos + 1] << 8 | f[pos + 2];

		cr_assert_leq(pos + 3 + vl, n);
		cr_assert_lt(k, max);
		out[k].off = pos;
		out[k].len = 3 + vl;
		out[k].tag = f[pos];
		k++;
		pos += 3 + vl;
	}
	return k;
}

static void set_body_len(uint8_t *f, size_t total)
{
	size_t b = total - CTL_HDR_LEN;

	f[4] = (uint8_t)(b >> 24);
	f[5] = (uint8_t)(b >> 16);
	f[6] = (uint8_t)(b >> 8);
	f[7] = (uint8_t)b;
}

/* frame without field i */
static size_t drop_field(uint8_t *dst, const uint8_t *f, size_t n, const struct tlv *t)
{
	memcpy(dst, f, t->off);
	memcpy(dst + t->off, f + t->off + t->len, n - t->off - t->len);
	set_body_len(dst, n - t->len);
	return n - t->len;
}

/* frame with extra field bytes appended */
static size_t add_field(uint8_t *dst, const uint8_t *f, size_t n, const uint8_t *fld, size_t fl)
{
	memcpy(dst, f, n);
	memcpy(dst + n, fld, fl);
	set_body_len(dst, n + fl);
	return n + fl;
}

Test(ctl, every_min_field_is_required)
{
	/* MIN samples carry exactly the required fields: dropping any one of
	 * them is FIELD_MISSING, duplicating any one is FIELD_DUP */
	static struct ctl_msg m;
	static uint8_t f[CTL_MAX_FRAME], g[2 * CTL_MAX_FRAME];
	struct tlv t[64];
	size_t ty, i, n, nt, gn;
	unsigned checked = 0;

	for (ty = 0; ty < sample_ntypes; ty++) {
		sample_msg(&m, sample_types[ty], SAMPLE_MIN, 1);
		n = encode_ok(&m, f, sizeof f);
		nt = walk(f, n, t, 64);
		for (i = 0; i < nt; i++) {
			gn = drop_field(g, f, n, &t[i]);
			cr_expect_eq(decode_exact(&m, g, gn), CTL_ERR_FIELD_MISSING,
				     "%s without tag %u", ctl_type_name(sample_types[ty]), t[i].tag);
			gn = add_field(g, f, n, f + t[i].off, t[i].len);
			cr_expect_eq(decode_exact(&m, g, gn), CTL_ERR_FIELD_DUP,
				     "%s with tag %u twice", ctl_type_name(sample_types[ty]), t[i].tag);
			checked++;
		}
	}
	cr_assert_gt(checked, 40);
}

Test(ctl, full_optional_fields_can_go)
{
	/* FULL minus any field that MIN lacks still decodes (optional or
	 * repeated); one more repeat than the maximum is FIELD_DUP */
	static struct ctl_msg m;
	static uint8_t f[CTL_MAX_FRAME], fmin[CTL_MAX_FRAME], g[2 * CTL_MAX_FRAME];
	struct tlv t[64], tm[64];
	size_t ty, i, j, n, nmin, nt, ntm, gn;

	for (ty = 0; ty < sample_ntypes; ty++) {
		sample_msg(&m, sample_types[ty], SAMPLE_MIN, 1);
		nmin = encode_ok(&m, fmin, sizeof fmin);
		ntm = walk(fmin, nmin, tm, 64);
		sample_msg(&m, sample_types[ty], SAMPLE_FULL, 1);
		n = encode_ok(&m, f, sizeof f);
		nt = walk(f, n, t, 64);
		for (i = 0; i < nt; i++) {
			bool required = false, repeated = false;

			for (j = 0; j < ntm; j++)
				required |= tm[j].tag == t[i].tag;
			for (j = 0; j < nt; j++)
				repeated |= j != i && t[j].tag == t[i].tag;
			gn = drop_field(g, f, n, &t[i]);
			if (!required)
				cr_expect_eq(decode_exact(&m, g, gn), CTL_OK, "%s without tag %u",
					     ctl_type_name(sample_types[ty]), t[i].tag);
			if (repeated) {	/* FULL has the maximum count already */
				gn = add_field(g, f, n, f + t[i].off, t[i].len);
				if (gn <= CTL_MAX_FRAME)
					cr_expect_eq(decode_exact(&m, g, gn), CTL_ERR_FIELD_DUP,
						     "%s: one %u too many",
						     ctl_type_name(sample_types[ty]), t[i].tag);
			}
		}
	}
}

Test(ctl, foreign_fields_are_unknown)
{
	/* a field of another message type, not in this type's table, is
	 * FIELD_UNKNOWN (the set of allowed tags is read off the FULL sample) */
	static struct ctl_msg m;
	static uint8_t f[CTL_MAX_FRAME], o[CTL_MAX_FRAME], g[2 * CTL_MAX_FRAME];
	struct tlv t[64], to[64];
	size_t a, b, i, j, n, no, nt, nto, gn;
	unsigned checked = 0;

	for (a = 0; a < sample_ntypes; a++) {
		sample_msg(&m, sample_types[a], SAMPLE_FULL, 1);
		n = encode_ok(&m, f, sizeof f);
		nt = walk(f, n, t, 64);
		for (b = 0; b < sample_ntypes; b++) {
			sample_msg(&m, sample_types[b], SAMPLE_MID, 1);
			no = encode_ok(&m, o, sizeof o);
			nto = walk(o, no, to, 64);
			for (i = 0; i < nto; i++) {
				bool allowed = false;

				for (j = 0; j < nt; j++)
					allowed |= t[j].tag == to[i].tag;
				if (allowed)
					continue;
				gn = add_field(g, f, n, o + to[i].off, to[i].len);
				if (gn > CTL_MAX_FRAME)
					continue;
				cr_expect_eq(decode_exact(&m, g, gn), CTL_ERR_FIELD_UNKNOWN,
					     "tag %u in %s", to[i].tag, ctl_type_name(sample_types[a]));
				checked++;
			}
		}
	}
	cr_assert_gt(checked, 100);
}

/* ---- encoder errors ------------------------------------------------------ */

static enum ctl_err enc_err(const struct ctl_msg *m)
{
	ssize_t n = ctl_encode(m, frame, sizeof frame);

	return n < 0 ? (enum ctl_err)-n : CTL_OK;
}

Test(ctl, encode_rejects_bad_values)
{
	static struct ctl_msg m;

	sample_msg(&m, CTL_ROUTES, SAMPLE_FULL, 0);
	m.u.routes.n_routes = CTL_MAX_PREFIXES + 1;
	cr_expect_eq(enc_err(&m), CTL_ERR_VALUE, "17 routes");
	m.u.routes.n_routes = 1;
	m.u.routes.routes[0].len = 8;	/* 10.200.0.0/8: host bits */
	cr_expect_eq(enc_err(&m), CTL_ERR_VALUE, "host bits");

	sample_msg(&m, CTL_ENROLL_OK, SAMPLE_MID, 0);
	m.u.enroll_ok.cert_len = 0;
	cr_expect_eq(enc_err(&m), CTL_ERR_VALUE, "empty cert");
	m.u.enroll_ok.cert_len = CTL_CERT_MAX + 1;
	cr_expect_eq(enc_err(&m), CTL_ERR_VALUE, "cert too long");
	sample_msg(&m, CTL_ENROLL_OK, SAMPLE_MID, 0);
	m.u.enroll_ok.vip4 = m.u.enroll_ok.vip6;
	cr_expect_eq(enc_err(&m), CTL_ERR_VALUE, "v6 in vip4");
	sample_msg(&m, CTL_ENROLL_OK, SAMPLE_MID, 0);
	m.u.enroll_ok.name[0] = 'A';
	cr_expect_eq(enc_err(&m), CTL_ERR_VALUE, "upper-case name");
	sample_msg(&m, CTL_ENROLL_OK, SAMPLE_MID, 0);
	m.u.enroll_ok.name[0] = '\0';
	cr_expect_eq(enc_err(&m), CTL_ERR_VALUE, "empty required name");
	sample_msg(&m, CTL_ENROLL_OK, SAMPLE_MID, 0);
	memset(m.u.enroll_ok.name, 'a', sizeof m.u.enroll_ok.name);	/* unterminated */
	cr_expect_eq(enc_err(&m), CTL_ERR_VALUE, "unterminated name");

	sample_msg(&m, CTL_ERROR, SAMPLE_MID, 0);
	m.u.error.reason[3] = '\n';
	cr_expect_eq(enc_err(&m), CTL_ERR_VALUE, "newline in reason");

	sample_msg(&m, CTL_HELLO, SAMPLE_MID, 0);
	m.u.hello.endpoints[1].port = 0;
	cr_expect_eq(enc_err(&m), CTL_ERR_VALUE, "port 0");
	sample_msg(&m, CTL_HELLO, SAMPLE_MID, 0);
	m.u.hello.endpoints[0].ip.af = 5;
	cr_expect_eq(enc_err(&m), CTL_ERR_VALUE, "af 5");

	sample_msg(&m, CTL_ACCEPT, SAMPLE_MID, 0);
	m.u.accept.sid = 0;
	cr_expect_eq(enc_err(&m), CTL_ERR_VALUE, "sid 0");
	sample_msg(&m, CTL_REFUSE, SAMPLE_MID, 0);
	m.u.refuse.dst.af = 7;
	cr_expect_eq(enc_err(&m), CTL_ERR_VALUE, "dst af 7");

	sample_msg(&m, CTL_PING, SAMPLE_MID, 0);
	m.type = (enum ctl_type)4;
	cr_expect_eq(enc_err(&m), CTL_ERR_TYPE);
	m.type = (enum ctl_type)(256 + CTL_PING);
	cr_expect_eq(enc_err(&m), CTL_ERR_TYPE);
}

/* ENROLL_REQ's SIG is variable length, CTL_SIG_MIN..CTL_SIG_MAX bytes. */
Test(ctl, enroll_sig_length_bounds)
{
	static struct ctl_msg m, out;
	static uint8_t body[CTL_MAX_FRAME];
	static const size_t lens[] = { 0, 1, 7, 8, 9, 70, 71, 72, 73, 200 };
	size_t i, n, b;

	for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		bool ok = lens[i] >= CTL_SIG_MIN && lens[i] <= CTL_SIG_MAX;

		/* encoder: sig_len out of range is a bad value */
		sample_msg(&m, CTL_ENROLL_REQ, SAMPLE_MID, 3);
		m.u.enroll_req.sig_len = (uint8_t)lens[i];
		cr_expect_eq(enc_err(&m), ok ? CTL_OK : CTL_ERR_VALUE, "encode sig_len %zu",
			     lens[i]);
		/* decoder: hand-built frame with a SIG field of that length */
		b = 0;
		body[b++] = 1; body[b++] = 0; body[b++] = CTL_TOKEN_SECRET_LEN;
		memset(body + b, 0x11, CTL_TOKEN_SECRET_LEN);
		b += CTL_TOKEN_SECRET_LEN;
		body[b++] = 2; body[b++] = 0; body[b++] = CTL_PUB_LEN;
		memset(body + b, 0x04, CTL_PUB_LEN);
		b += CTL_PUB_LEN;
		body[b++] = 30; body[b++] = 0; body[b++] = (uint8_t)lens[i];
		memset(body + b, 0x30, lens[i]);
		b += lens[i];
		n = 0;
		frame[n++] = 1; frame[n++] = CTL_ENROLL_REQ; frame[n++] = 0; frame[n++] = 0;
		frame[n++] = 0; frame[n++] = 0; frame[n++] = (uint8_t)(b >> 8); frame[n++] = (uint8_t)b;
		memcpy(frame + n, body, b);
		n += b;
		cr_expect_eq(decode_exact(&out, frame, n), ok ? CTL_OK : CTL_ERR_FIELD_LEN,
			     "decode SIG of %zu bytes", lens[i]);
		if (ok)
			cr_expect_eq(out.u.enroll_req.sig_len, lens[i]);
	}
	/* without the SIG field at all: required */
	n -= 3 + lens[i - 1];
	frame[6] = (uint8_t)((n - 8) >> 8);
	frame[7] = (uint8_t)(n - 8);
	cr_expect_eq(decode_exact(&out, frame, n), CTL_ERR_FIELD_MISSING);
}

Test(ctl, enroll_sig_msg_layout)
{
	uint8_t secret[CTL_TOKEN_SECRET_LEN], pub[CTL_PUB_LEN];
	uint8_t out[CTL_ENROLL_SIG_MSG_LEN + 1];
	size_t i;

	cr_assert_eq(CTL_ENROLL_SIG_MSG_LEN, 15 + 16 + 65);
	for (i = 0; i < sizeof secret; i++)
		secret[i] = (uint8_t)(0xa0 + i);
	for (i = 0; i < sizeof pub; i++)
		pub[i] = (uint8_t)(i + 1);
	memset(out, 0xee, sizeof out);
	ctl_enroll_sig_msg(out, secret, pub);
	cr_assert_arr_eq(out, "mavpn enroll v1", 15);
	cr_assert_arr_eq(out + 15, secret, 16);
	cr_assert_arr_eq(out + 31, pub, 65);
	cr_assert_eq(out[CTL_ENROLL_SIG_MSG_LEN], 0xee, "wrote past the message");
}

Test(ctl, encode_space_at_every_cap)
{
	static struct ctl_msg m;
	size_t t, cap, n;
	uint8_t *out;

	for (t = 0; t < sample_ntypes; t++) {
		sample_msg(&m, sample_types[t], SAMPLE_MID, 3);
		n = encode_ok(&m, frame, sizeof frame);
		for (cap = 0; cap < n; cap++) {
			out = malloc(cap ? cap : 1);
			cr_assert_eq(ctl_encode(&m, out, cap), -(ssize_t)CTL_ERR_SPACE,
				     "%s cap %zu", ctl_type_name(m.type), cap);
			free(out);
		}
		out = malloc(n);
		cr_assert_eq(ctl_encode(&m, out, n), (ssize_t)n);
		free(out);
	}
}

/* ---- truncation, garbage, bit flips -------------------------------------- */

Test(ctl, truncation_at_every_length)
{
	static struct ctl_msg in, out, again;
	static uint8_t cut[CTL_MAX_FRAME], re[CTL_MAX_FRAME];
	size_t t, k, n, fl;
	int v;

	for (t = 0; t < sample_ntypes; t++)
		for (v = 0; v < SAMPLE_NVARIANTS; v++) {
			sample_msg(&in, sample_types[t], v, 5);
			n = encode_ok(&in, frame, sizeof frame);
			for (k = 0; k < n; k++) {
				/* plain cut: header and buffer disagree */
				cr_assert_neq(decode_exact(&out, frame, k), CTL_OK,
					      "%s v%d cut at %zu", ctl_type_name(in.type), v, k);
				cr_assert_eq(ctl_frame_len(frame, k, &fl), CTL_ERR_NEED_MORE);
				if (k < CTL_HDR_LEN)
					continue;
				/* cut with the body length patched: the body parser sees
				 * the cut. Either an error, or (cut between optional
				 * fields) a valid shorter message that encodes to it. */
				memcpy(cut, frame, k);
				cut[4] = (uint8_t)((k - CTL_HDR_LEN) >> 24);
				cut[5] = (uint8_t)((k - CTL_HDR_LEN) >> 16);
				cut[6] = (uint8_t)((k - CTL_HDR_LEN) >> 8);
				cut[7] = (uint8_t)(k - CTL_HDR_LEN);
				if (decode_exact(&out, cut, k) == CTL_OK) {
					size_t m2 = encode_ok(&out, re, sizeof re);

					cr_assert_eq(m2, k);
					cr_assert_arr_eq(re, cut, k);
					cr_assert_eq(decode_exact(&again, re, m2), CTL_OK);
				}
			}
			cr_assert_eq(ctl_frame_len(frame, n, &fl), CTL_OK);
			cr_assert_eq(fl, n);
		}
}

/* decode; when OK, re-encoding and decoding again must give the same message */
static void check_consistent(const uint8_t *buf, size_t len)
{
	static struct ctl_msg m, m2;
	static uint8_t re[CTL_MAX_FRAME];
	size_t fl;
	enum ctl_err e = decode_exact(&m, buf, len), fe;

	/* ctl_frame_len agrees with ctl_decode on the header */
	fe = ctl_frame_len(buf, len, &fl);
	if (e == CTL_OK)
		cr_assert(fe == CTL_OK && fl == len);
	if (fe == CTL_ERR_VERSION || fe == CTL_ERR_TYPE || fe == CTL_ERR_FLAGS ||
	    fe == CTL_ERR_TOO_BIG)
		cr_assert_eq(e, fe);
	if (e != CTL_OK)
		return;
	{
		ssize_t n = ctl_encode(&m, re, sizeof re);

		cr_assert_gt(n, 0, "decoded message does not re-encode: %s",
			     n < 0 ? ctl_strerror((enum ctl_err)-n) : "");
		cr_assert_eq(decode_exact(&m2, re, (size_t)n), CTL_OK);
		cr_assert(memcmp(&m, &m2, sizeof m) == 0);
	}
}

Test(ctl, random_garbage)
{
	static uint8_t buf[600];
	unsigned i;
	size_t len, k;

	rng_state = 0x9e3779b97f4a7c15ull;
	for (i = 0; i < 20000; i++) {
		len = rnd() % sizeof buf;
		for (k = 0; k < len; k++)
			buf[k] = (uint8_t)rnd();
		if (i % 2 && len >= CTL_HDR_LEN) {
			/* plausible header so the body parser is exercised */
			buf[0] = CTL_VERSION;
			buf[1] = (uint8_t)sample_types[rnd() % sample_ntypes];
			buf[2] = buf[3] = 0;
			buf[4] = buf[5] = 0;
			buf[6] = (uint8_t)((len - CTL_HDR_LEN) >> 8);
			buf[7] = (uint8_t)(len - CTL_HDR_LEN);
			/* and plausible field tags / small lengths */
			for (k = CTL_HDR_LEN; k + 3 <= len && i % 4 == 1; ) {
				size_t fl = rnd() % 20;

				buf[k] = (uint8_t)(1 + rnd() % 29);
				buf[k + 1] = 0;
				buf[k + 2] = (uint8_t)fl;
				k += 3 + fl;
			}
		}
		check_consistent(buf, len);
	}
}

Test(ctl, single_bit_flips)
{
	static struct ctl_msg in;
	static uint8_t flip[CTL_MAX_FRAME];
	size_t t, n, bit, step;
	int v;

	for (t = 0; t < sample_ntypes; t++)
		for (v = 0; v < SAMPLE_NVARIANTS; v++) {
			sample_msg(&in, sample_types[t], v, 2);
			n = encode_ok(&in, frame, sizeof frame);
			memcpy(flip, frame, n);
			/* every bit of MIN/MID frames; FULL frames are large
			 * (blobs): every bit of the first 600 bytes, then every 7th */
			for (bit = 0; bit < 8 * n; bit += step) {
				step = (v == SAMPLE_FULL && bit >= 8 * 600) ? 7 : 1;
				flip[bit / 8] ^= (uint8_t)(1u << (bit % 8));
				check_consistent(flip, n);
				flip[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			}
		}
}

/* ---- stream reassembly --------------------------------------------------- */

Test(ctl, stream_reassembly_in_random_chunks)
{
	static uint8_t stream[16 * CTL_MAX_FRAME], rx[2 * CTL_MAX_FRAME];
	static struct ctl_msg want[14 * SAMPLE_NVARIANTS], got;
	size_t nf = 0, slen = 0, have = 0, pos = 0, done = 0, t;
	int v;

	rng_state = 42;
	for (t = 0; t < sample_ntypes; t++)
		for (v = 0; v < SAMPLE_NVARIANTS; v++) {
			sample_msg(&want[nf], sample_types[t], v, (unsigned)nf);
			slen += encode_ok(&want[nf], stream + slen, sizeof stream - slen);
			nf++;
		}
	while (done < nf) {
		size_t chunk = 1 + rnd() % 700, fl;
		enum ctl_err e;

		if (chunk > slen - pos)
			chunk = slen - pos;
		memcpy(rx + have, stream + pos, chunk);
		pos += chunk;
		have += chunk;
		while ((e = ctl_frame_len(rx, have, &fl)) == CTL_OK) {
			cr_assert_eq(decode_exact(&got, rx, fl), CTL_OK);
			cr_assert(memcmp(&got, &want[done], sizeof got) == 0, "frame %zu", done);
			done++;
			memmove(rx, rx + fl, have - fl);
			have -= fl;
		}
		cr_assert_eq(e, CTL_ERR_NEED_MORE);
		cr_assert(pos < slen || done == nf);
	}
	cr_assert_eq(have, 0);
}

Test(ctl, frame_len_rejects_bad_header_early)
{
	size_t fl = 0;
	const uint8_t bad_ver[] = { 2 };
	const uint8_t bad_type[] = { 1, 99 };
	const uint8_t bad_flags[] = { 1, 12, 0, 1 };
	const uint8_t too_big[] = { 1, 12, 0, 0, 0, 0, 0x20, 0x00 };
	const uint8_t ok_hdr[] = { 1, 12, 0, 0, 0, 0, 0, 11 };

	cr_assert_eq(ctl_frame_len(bad_ver, 1, &fl), CTL_ERR_VERSION);
	cr_assert_eq(ctl_frame_len(bad_type, 2, &fl), CTL_ERR_TYPE);
	cr_assert_eq(ctl_frame_len(bad_flags, 4, &fl), CTL_ERR_FLAGS);
	cr_assert_eq(ctl_frame_len(bad_flags, 3, &fl), CTL_ERR_NEED_MORE);
	cr_assert_eq(ctl_frame_len(too_big, 8, &fl), CTL_ERR_TOO_BIG);
	cr_assert_eq(ctl_frame_len(ok_hdr, 8, &fl), CTL_ERR_NEED_MORE);
	cr_assert_eq(ctl_frame_len(ok_hdr, 0, &fl), CTL_ERR_NEED_MORE);
}

/* ---- names --------------------------------------------------------------- */

Test(ctl, names)
{
	int i;

	cr_assert_str_eq(ctl_type_name(CTL_SESSION_REQ), "SESSION_REQ");
	cr_assert_str_eq(ctl_type_name(CTL_GRANT), "GRANT");
	cr_assert_str_eq(ctl_type_name((enum ctl_type)99), "?");
	cr_assert_str_eq(ctl_type_name((enum ctl_type)(256 + 1)), "?");
	cr_assert_str_eq(ctl_code_name(CTL_CODE_POLICY), "denied by policy");
	for (i = CTL_OK; i <= CTL_ERR_SPACE; i++) {
		int j;

		for (j = CTL_OK; j < i; j++)
			cr_assert_str_neq(ctl_strerror(i), ctl_strerror(j));
	}
	for (i = CTL_CODE_NONE; i <= CTL_CODE_SHUTDOWN; i++)
		cr_assert_str_neq(ctl_code_name(i), "unknown code");
	cr_assert_str_eq(ctl_code_name((enum ctl_code)999), "unknown code");
}

Test(ctl, name_validity)
{
	char longest[CTL_NAME_MAX + 2];

	cr_assert(ctl_name_valid("a"));
	cr_assert(ctl_name_valid("0gw.lan-2"));
	cr_assert(!ctl_name_valid(""));
	cr_assert(!ctl_name_valid(".a"));
	cr_assert(!ctl_name_valid("-a"));
	cr_assert(!ctl_name_valid("a_b"));
	cr_assert(!ctl_name_valid("aB"));
	cr_assert(!ctl_name_valid("a b"));
	memset(longest, 'x', sizeof longest);
	longest[CTL_NAME_MAX] = '\0';
	cr_assert(ctl_name_valid(longest));
	longest[CTL_NAME_MAX] = 'x';
	longest[CTL_NAME_MAX + 1] = '\0';
	cr_assert(!ctl_name_valid(longest));
}
