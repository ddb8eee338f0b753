// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl.c - control frame encoder/decoder (contract in ctl.h).
 *
 * Every field is  tag u8 | length u16 BE | value.  Integers are big-endian.
 * A tag has one type everywhere; the messages below say which tags they
 * carry. Encodings of the composite types:
 *   ip        4 or 16 address bytes (the length gives the family)
 *   prefix    address (4 / 16) || prefix length u8          (5 or 17 bytes)
 *   endpoint  address (4 / 16) || port u16 BE               (6 or 18 bytes)
 *
 *  tag  name          type               used by (R required, O optional,
 *                                         N* repeated up to N; "!0": not zero)
 *  ---  ------------  -----------------  -----------------------------------
 *    1  TOKEN_SECRET  bytes 16           ENROLL_REQ R
 *    2  PUB           bytes 65           ENROLL_REQ R
 *    3  NAME          name 1..63         ENROLL_OK R, WELCOME R, OFFER/GRANT R
 *                                        (the peer), REVOKE R (the peer)
 *    4  BROKER_NAME   name 1..63         ENROLL_OK R
 *    5  VIP4          ip, v4 only        ENROLL_OK R, WELCOME R, OFFER/GRANT R
 *    6  VIP6          ip, v6 only        ENROLL_OK O, WELCOME O, OFFER/GRANT O
 *    7  PREFIX4       prefix, v4 only    ENROLL_OK R, WELCOME R
 *    8  PREFIX6       prefix, v6 only    ENROLL_OK O, WELCOME O
 *    9  ROUTE         prefix             ENROLL_OK 16*, WELCOME 16*, ROUTES 16*
 *   10  CERT          blob 1..2048       ENROLL_OK R
 *   11  CA            blob 1..2048       ENROLL_OK R
 *   12  CODE          u16                ERROR R, REFUSE R, REVOKE R
 *   13  REASON        text 1..200        ERROR O, REFUSE O
 *   14  DATA_PORT     u16                HELLO R !0
 *   15  AEAD_MASK     u32                HELLO R, SESSION_REQ R
 *   16  ENDPOINT      endpoint           HELLO 8*, OFFER/GRANT 8*
 *   17  OBSERVED      endpoint           WELCOME R
 *   18  KEEPALIVE     u16                WELCOME R !0
 *   19  KEY_LIFE      u32                WELCOME R !0, OFFER/GRANT R !0
 *   20  OWN_ROUTE     prefix             WELCOME 16*
 *   21  NONCE         u64                PING R, PONG R
 *   22  REQ_ID        u32                SESSION_REQ R, OFFER/GRANT R, REFUSE R
 *   23  DST           ip                 SESSION_REQ R, REFUSE O
 *   24  EPH           bytes 32           SESSION_REQ R, OFFER/GRANT R, ACCEPT R
 *   25  INDEX         u32                SESSION_REQ R, OFFER/GRANT R, ACCEPT R
 *   26  SID           u64                OFFER/GRANT R !0, ACCEPT R !0,
 *                                        REFUSE R, REVOKE R
 *   27  ALLOWED       prefix             OFFER/GRANT 16*
 *   28  SECRET        bytes 32           OFFER/GRANT R
 *   29  AEAD          u8                 OFFER/GRANT R !0
 *   30  SIG           vbytes 8..72       ENROLL_REQ R (ECDSA DER by PUB over
 *                                        ctl_enroll_sig_msg)
 *
 * Presence of an optional field: the has_* flag when the struct has one,
 * otherwise a non-empty string (REASON) or an address with af != 0 (DST).
 * A name is [a-z0-9][a-z0-9.-]*; a text is printable ASCII (0x20..0x7e).
 */
#include "proto/ctl.h"

#include <stddef.h>
#include <string.h>

#include "crypto/ct.h"
#include "proto/cursor.h"

enum ft {
	CTL_FT_U8, CTL_FT_U16, CTL_FT_U32, CTL_FT_U64,
	CTL_FT_IP, CTL_FT_PREFIX, CTL_FT_ENDPOINT,
	CTL_FT_BYTES,	/* exactly size bytes */
	CTL_FT_NAME,	/* 1..size chars, [a-z0-9][a-z0-9.-]* */
	CTL_FT_TEXT,	/* 1..size printable ASCII chars */
	CTL_FT_BLOB,	/* 1..size bytes, length kept in a uint16_t */
	CTL_FT_VBYTES,	/* min..size bytes, length kept in a uint8_t */
};

enum tag {
	T_TOKEN_SECRET = 1, T_PUB, T_NAME, T_BROKER_NAME, T_VIP4, T_VIP6,
	T_PREFIX4, T_PREFIX6, T_ROUTE, T_CERT, T_CA, T_CODE, T_REASON,
	T_DATA_PORT, T_AEAD_MASK, T_ENDPOINT, T_OBSERVED, T_KEEPALIVE,
	T_KEY_LIFE, T_OWN_ROUTE, T_NONCE, T_REQ_ID, T_DST, T_EPH, T_INDEX,
	T_SID, T_ALLOWED, T_SECRET, T_AEAD, T_SIG,
	T_MAX
};

struct tag_def {
	uint8_t ft;	/* enum ft */
	uint8_t af;	/* CTL_FT_IP/PREFIX/ENDPOINT: 0 any, 4 or 6 only */
	uint16_t size;	/* CTL_FT_BYTES: length; CTL_FT_NAME/TEXT/BLOB/VBYTES: maximum */
	uint8_t min;	/* CTL_FT_VBYTES: minimum length */
};

static const struct tag_def tags[T_MAX] = {
	[T_TOKEN_SECRET] = { CTL_FT_BYTES, 0, CTL_TOKEN_SECRET_LEN },
	[T_PUB] = { CTL_FT_BYTES, 0, CTL_PUB_LEN },
	[T_NAME] = { CTL_FT_NAME, 0, CTL_NAME_MAX },
	[T_BROKER_NAME] = { CTL_FT_NAME, 0, CTL_NAME_MAX },
	[T_VIP4] = { CTL_FT_IP, 4, 0 },
	[T_VIP6] = { CTL_FT_IP, 6, 0 },
	[T_PREFIX4] = { CTL_FT_PREFIX, 4, 0 },
	[T_PREFIX6] = { CTL_FT_PREFIX, 6, 0 },
	[T_ROUTE] = { CTL_FT_PREFIX, 0, 0 },
	[T_CERT] = { CTL_FT_BLOB, 0, CTL_CERT_MAX },
	[T_CA] = { CTL_FT_BLOB, 0, CTL_CERT_MAX },
	[T_CODE] = { CTL_FT_U16, 0, 0 },
	[T_REASON] = { CTL_FT_TEXT, 0, CTL_REASON_MAX },
	[T_DATA_PORT] = { CTL_FT_U16, 0, 0 },
	[T_AEAD_MASK] = { CTL_FT_U32, 0, 0 },
	[T_ENDPOINT] = { CTL_FT_ENDPOINT, 0, 0 },
	[T_OBSERVED] = { CTL_FT_ENDPOINT, 0, 0 },
	[T_KEEPALIVE] = { CTL_FT_U16, 0, 0 },
	[T_KEY_LIFE] = { CTL_FT_U32, 0, 0 },
	[T_OWN_ROUTE] = { CTL_FT_PREFIX, 0, 0 },
	[T_NONCE] = { CTL_FT_U64, 0, 0 },
	[T_REQ_ID] = { CTL_FT_U32, 0, 0 },
	[T_DST] = { CTL_FT_IP, 0, 0 },
	[T_EPH] = { CTL_FT_BYTES, 0, CTL_EPH_LEN },
	[T_INDEX] = { CTL_FT_U32, 0, 0 },
	[T_SID] = { CTL_FT_U64, 0, 0 },
	[T_ALLOWED] = { CTL_FT_PREFIX, 0, 0 },
	[T_SECRET] = { CTL_FT_BYTES, 0, CTL_SECRET_LEN },
	[T_AEAD] = { CTL_FT_U8, 0, 0 },
	[T_SIG] = { CTL_FT_VBYTES, 0, CTL_SIG_MAX, CTL_SIG_MIN },
};
_Static_assert(T_SIG == 30, "tag numbers are part of the wire format");
_Static_assert(CTL_SIG_MAX <= 0xff, "VBYTES length fits in a uint8_t");

/* field modes */
#define M_REQ 0x01
#define M_OPT 0x02
#define M_REP 0x04
#define M_NONZERO 0x10	/* integer value must not be 0 */
#define NOAUX 0xffff

struct field {
	uint8_t tag;
	uint8_t mode;
	uint8_t max;	/* M_REP: maximum count */
	uint16_t off;	/* value (M_REP: array) offset in struct ctl_msg */
	uint16_t aux;	/* bool has_* (M_OPT), uint8_t count (M_REP),
			 * uint16_t length (CTL_FT_BLOB), uint8_t length
			 * (CTL_FT_VBYTES), or NOAUX */
};

#define OFF(member) ((uint16_t)offsetof(struct ctl_msg, u.member))
#define REQ(tag, member) { tag, M_REQ, 1, OFF(member), NOAUX }
#define REQ_NZ(tag, member) { tag, M_REQ | M_NONZERO, 1, OFF(member), NOAUX }
/* required field with a length member: CTL_FT_BLOB (uint16_t), CTL_FT_VBYTES (uint8_t) */
#define BLOB(tag, member, len) { tag, M_REQ, 1, OFF(member), OFF(len) }
#define OPT(tag, member) { tag, M_OPT, 1, OFF(member), NOAUX }
#define OPT_HAS(tag, member, has) { tag, M_OPT, 1, OFF(member), OFF(has) }
#define REP(tag, max, member, count) { tag, M_REP, max, OFF(member), OFF(count) }

static const struct field f_enroll_req[] = {
	REQ(T_TOKEN_SECRET, enroll_req.token_secret),
	REQ(T_PUB, enroll_req.pub),
	BLOB(T_SIG, enroll_req.sig, enroll_req.sig_len),
};

static const struct field f_enroll_ok[] = {
	REQ(T_NAME, enroll_ok.name),
	REQ(T_BROKER_NAME, enroll_ok.broker_name),
	REQ(T_VIP4, enroll_ok.vip4),
	OPT_HAS(T_VIP6, enroll_ok.vip6, enroll_ok.has_vip6),
	REQ(T_PREFIX4, enroll_ok.prefix4),
	OPT_HAS(T_PREFIX6, enroll_ok.prefix6, enroll_ok.has_prefix6),
	REP(T_ROUTE, CTL_MAX_PREFIXES, enroll_ok.routes, enroll_ok.n_routes),
	BLOB(T_CERT, enroll_ok.cert, enroll_ok.cert_len),
	BLOB(T_CA, enroll_ok.ca, enroll_ok.ca_len),
};

static const struct field f_error[] = {
	REQ(T_CODE, error.code),
	OPT(T_REASON, error.reason),
};

static const struct field f_hello[] = {
	REQ_NZ(T_DATA_PORT, hello.data_port),
	REQ(T_AEAD_MASK, hello.aead_mask),
	REP(T_ENDPOINT, CTL_MAX_ENDPOINTS, hello.endpoints, hello.n_endpoints),
};

static const struct field f_welcome[] = {
	REQ(T_NAME, welcome.name),
	REQ(T_VIP4, welcome.vip4),
	OPT_HAS(T_VIP6, welcome.vip6, welcome.has_vip6),
	REQ(T_PREFIX4, welcome.prefix4),
	OPT_HAS(T_PREFIX6, welcome.prefix6, welcome.has_prefix6),
	REQ(T_OBSERVED, welcome.observed),
	REQ_NZ(T_KEEPALIVE, welcome.keepalive_s),
	REQ_NZ(T_KEY_LIFE, welcome.key_life_s),
	REP(T_ROUTE, CTL_MAX_PREFIXES, welcome.routes, welcome.n_routes),
	REP(T_OWN_ROUTE, CTL_MAX_PREFIXES, welcome.own_routes, welcome.n_own_routes),
};

static const struct field f_ping[] = {
	REQ(T_NONCE, ping.nonce),
};

static const struct field f_session_req[] = {
	REQ(T_REQ_ID, session_req.req_id),
	REQ(T_DST, session_req.dst),
	REQ(T_EPH, session_req.eph),
	REQ(T_INDEX, session_req.index),
	REQ(T_AEAD_MASK, session_req.aead_mask),
};

static const struct field f_session[] = {
	REQ(T_REQ_ID, session.req_id),
	REQ_NZ(T_SID, session.sid),
	REQ(T_NAME, session.peer_name),
	REQ(T_VIP4, session.peer_vip4),
	OPT_HAS(T_VIP6, session.peer_vip6, session.has_peer_vip6),
	REP(T_ALLOWED, CTL_MAX_PREFIXES, session.allowed, session.n_allowed),
	REP(T_ENDPOINT, CTL_MAX_ENDPOINTS, session.endpoints, session.n_endpoints),
	REQ(T_SECRET, session.secret),
	REQ(T_EPH, session.peer_eph),
	REQ(T_INDEX, session.peer_index),
	REQ_NZ(T_AEAD, session.aead),
	REQ_NZ(T_KEY_LIFE, session.life_s),
};

static const struct field f_accept[] = {
	REQ_NZ(T_SID, accept.sid),
	REQ(T_EPH, accept.eph),
	REQ(T_INDEX, accept.index),
};

static const struct field f_refuse[] = {
	REQ(T_REQ_ID, refuse.req_id),
	REQ(T_SID, refuse.sid),
	OPT(T_DST, refuse.dst),
	REQ(T_CODE, refuse.code),
	OPT(T_REASON, refuse.reason),
};

static const struct field f_revoke[] = {
	REQ(T_SID, revoke.sid),
	REQ(T_NAME, revoke.peer_name),
	REQ(T_CODE, revoke.code),
};

static const struct field f_routes[] = {
	REP(T_ROUTE, CTL_MAX_PREFIXES, routes.routes, routes.n_routes),
};

#define MAX_FIELDS 12	/* largest table: f_session */

struct msg_def {
	uint8_t type;
	uint8_t n;
	const char *name;
	const struct field *f;
};

#define MSG(t, name, tab) { t, sizeof(tab) / sizeof(tab[0]), name, tab }
static const struct msg_def msgs[] = {
	MSG(CTL_ENROLL_REQ, "ENROLL_REQ", f_enroll_req),
	MSG(CTL_ENROLL_OK, "ENROLL_OK", f_enroll_ok),
	MSG(CTL_ERROR, "ERROR", f_error),
	MSG(CTL_HELLO, "HELLO", f_hello),
	MSG(CTL_WELCOME, "WELCOME", f_welcome),
	MSG(CTL_PING, "PING", f_ping),
	MSG(CTL_PONG, "PONG", f_ping),
	MSG(CTL_SESSION_REQ, "SESSION_REQ", f_session_req),
	MSG(CTL_OFFER, "OFFER", f_session),
	MSG(CTL_ACCEPT, "ACCEPT", f_accept),
	MSG(CTL_GRANT, "GRANT", f_session),
	MSG(CTL_REFUSE, "REFUSE", f_refuse),
	MSG(CTL_REVOKE, "REVOKE", f_revoke),
	MSG(CTL_ROUTES, "ROUTES", f_routes),
};
_Static_assert(sizeof(f_session) / sizeof(f_session[0]) == MAX_FIELDS, "MAX_FIELDS");
_Static_assert(sizeof(struct ctl_msg) < NOAUX, "offsets fit in uint16_t");

static const struct msg_def *msg_def(unsigned type)
{
	size_t i;

	for (i = 0; i < sizeof msgs / sizeof msgs[0]; i++)
		if (msgs[i].type == type)
			return &msgs[i];
	return NULL;
}

static size_t elem_size(const struct tag_def *d)
{
	switch (d->ft) {
	case CTL_FT_PREFIX:
		return sizeof(struct ctl_prefix);
	case CTL_FT_ENDPOINT:
		return sizeof(struct ctl_endpoint);
	case CTL_FT_IP:
		return sizeof(struct ctl_ip);
	default:
		return 0;	/* never repeated */
	}
}

static size_t addr_len(uint8_t af)
{
	return af == 4 ? 4 : af == 6 ? 16 : 0;
}

bool ctl_name_valid(const char *s)
{
	size_t i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (i = 1; s[i]; i++) {
		char c = s[i];

		if (i >= CTL_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return false;
	}
	return true;
}

static bool text_ok(const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

/* ---- decoding ------------------------------------------------------------ */

/* Is n a valid value length for d? Sets *af for the address types. */
static bool len_ok(const struct tag_def *d, size_t n, uint8_t *af)
{
	size_t extra;

	switch (d->ft) {
	case CTL_FT_U8:
		return n == 1;
	case CTL_FT_U16:
		return n == 2;
	case CTL_FT_U32:
		return n == 4;
	case CTL_FT_U64:
		return n == 8;
	case CTL_FT_IP:
	case CTL_FT_PREFIX:
	case CTL_FT_ENDPOINT:
		extra = d->ft == CTL_FT_IP ? 0 : d->ft == CTL_FT_PREFIX ? 1 : 2;
		if (n == 4 + extra)
			*af = 4;
		else if (n == 16 + extra)
			*af = 6;
		else
			return false;
		return d->af == 0 || d->af == *af;
	case CTL_FT_BYTES:
		return n == d->size;
	case CTL_FT_NAME:
	case CTL_FT_TEXT:
	case CTL_FT_BLOB:
		return n >= 1 && n <= d->size;
	case CTL_FT_VBYTES:
		return n >= d->min && n <= d->size;
	}
	return false;
}

static enum ctl_err get_value(const struct tag_def *d, uint8_t mode, const uint8_t *v,
			      size_t n, uint8_t af, uint8_t *dst, uint8_t *aux)
{
	uint64_t x = 0;

	switch (d->ft) {
	case CTL_FT_U8:
		x = v[0];
		*dst = v[0];
		break;
	case CTL_FT_U16:
		x = get_u16be(v);
		*(uint16_t *)(void *)dst = (uint16_t)x;
		break;
	case CTL_FT_U32:
		x = get_u32be(v);
		*(uint32_t *)(void *)dst = (uint32_t)x;
		break;
	case CTL_FT_U64:
		x = get_u64be(v);
		*(uint64_t *)(void *)dst = x;
		break;
	case CTL_FT_IP: {
		struct ctl_ip *ip = (struct ctl_ip *)(void *)dst;

		ip->af = af;
		memcpy(ip->a, v, addr_len(af));
		return CTL_OK;
	}
	case CTL_FT_PREFIX: {
		struct ctl_prefix *p = (struct ctl_prefix *)(void *)dst;

		p->ip.af = af;
		memcpy(p->ip.a, v, addr_len(af));
		p->len = v[addr_len(af)];
		return ctl_prefix_valid(p) ? CTL_OK : CTL_ERR_VALUE;
	}
	case CTL_FT_ENDPOINT: {
		struct ctl_endpoint *e = (struct ctl_endpoint *)(void *)dst;

		e->ip.af = af;
		memcpy(e->ip.a, v, addr_len(af));
		e->port = get_u16be(v + addr_len(af));
		return e->port ? CTL_OK : CTL_ERR_VALUE;
	}
	case CTL_FT_BYTES:
		memcpy(dst, v, n);
		return CTL_OK;
	case CTL_FT_NAME:
	case CTL_FT_TEXT:
		/* dst has size + 1 bytes, zeroed: the copy stays terminated */
		if (!text_ok(v, n))
			return CTL_ERR_VALUE;
		memcpy(dst, v, n);
		if (d->ft == CTL_FT_NAME && !ctl_name_valid((const char *)dst))
			return CTL_ERR_VALUE;
		return CTL_OK;
	case CTL_FT_BLOB:
		memcpy(dst, v, n);
		*(uint16_t *)(void *)aux = (uint16_t)n;
		return CTL_OK;
	case CTL_FT_VBYTES:
		memcpy(dst, v, n);
		*aux = (uint8_t)n;
		return CTL_OK;
	}
	if ((mode & M_NONZERO) && x == 0)
		return CTL_ERR_VALUE;
	return CTL_OK;
}

/* Checks the fixed header; len >= CTL_HDR_LEN. */
static enum ctl_err check_hdr(const uint8_t *buf, size_t len, size_t *frame_len)
{
	uint32_t body;

	(void)len;
	/* same order as ctl_frame_len: version, type, flags, length */
	if (buf[0] != CTL_VERSION)
		return CTL_ERR_VERSION;
	if (!msg_def(buf[1]))
		return CTL_ERR_TYPE;
	if (get_u16be(buf + 2) != 0)
		return CTL_ERR_FLAGS;
	body = get_u32be(buf + 4);
	if (body > CTL_MAX_BODY)
		return CTL_ERR_TOO_BIG;
	*frame_len = CTL_HDR_LEN + (size_t)body;
	return CTL_OK;
}

/* Judge the header bytes that have arrived so far (len may be < 8), so a
 * bad peer is dropped early; CTL_OK when nothing seen is wrong. */
static enum ctl_err check_partial_hdr(const uint8_t *buf, size_t len)
{
	if (len >= 1 && buf[0] != CTL_VERSION)
		return CTL_ERR_VERSION;
	if (len >= 2 && !msg_def(buf[1]))
		return CTL_ERR_TYPE;
	if (len >= 4 && get_u16be(buf + 2) != 0)
		return CTL_ERR_FLAGS;
	return CTL_OK;
}

enum ctl_err ctl_frame_len(const uint8_t *buf, size_t len, size_t *frame_len)
{
	enum ctl_err e;
	size_t fl;

	e = check_partial_hdr(buf, len);
	if (e != CTL_OK)
		return e;
	if (len < CTL_HDR_LEN)
		return CTL_ERR_NEED_MORE;
	e = check_hdr(buf, len, &fl);
	if (e != CTL_OK)
		return e;
	if (len < fl)
		return CTL_ERR_NEED_MORE;
	*frame_len = fl;
	return CTL_OK;
}

static enum ctl_err decode_body(struct ctl_msg *m, const struct msg_def *md, struct rcur *c)
{
	uint8_t count[MAX_FIELDS] = { 0 };
	uint8_t *base = (uint8_t *)m;
	size_t i;

	while (rcur_left(c) > 0) {
		const struct tag_def *d;
		const struct field *f = NULL;
		const uint8_t *v;
		uint8_t tag, af = 0;
		uint16_t n;
		enum ctl_err e;
		uint8_t *dst;

		if (!rcur_u8(c, &tag) || !rcur_u16be(c, &n) || !rcur_take(c, n, &v))
			return CTL_ERR_TRUNCATED;
		for (i = 0; i < md->n; i++)
			if (md->f[i].tag == tag) {
				f = &md->f[i];
				break;
			}
		if (!f)
			return CTL_ERR_FIELD_UNKNOWN;
		d = &tags[tag];
		if (!len_ok(d, n, &af))
			return CTL_ERR_FIELD_LEN;
		if (count[i] >= f->max)
			return CTL_ERR_FIELD_DUP;
		dst = base + f->off;
		if (f->mode & M_REP)
			dst += count[i] * elem_size(d);
		e = get_value(d, f->mode, v, n, af, dst,
			      f->aux != NOAUX ? base + f->aux : NULL);
		if (e != CTL_OK)
			return e;
		count[i]++;
	}
	for (i = 0; i < md->n; i++) {
		const struct field *f = &md->f[i];

		if ((f->mode & M_REQ) && count[i] == 0)
			return CTL_ERR_FIELD_MISSING;
		if (f->aux == NOAUX)
			continue;
		if (f->mode & M_REP)
			base[f->aux] = count[i];
		else if (f->mode & M_OPT)
			*(bool *)(void *)(base + f->aux) = count[i] > 0;
	}
	return CTL_OK;
}

enum ctl_err ctl_decode(struct ctl_msg *m, const uint8_t *buf, size_t len)
{
	const struct msg_def *md;
	struct rcur c;
	enum ctl_err e;
	size_t fl;

	memset(m, 0, sizeof *m);
	if (len < CTL_HDR_LEN) {
		e = check_partial_hdr(buf, len);
		if (e == CTL_OK)
			e = CTL_ERR_TRUNCATED;
		goto out;
	}
	e = check_hdr(buf, len, &fl);
	if (e != CTL_OK)
		goto out;
	if (fl != len) {
		e = CTL_ERR_TRUNCATED;	/* buffer and header disagree */
		goto out;
	}
	md = msg_def(buf[1]);
	m->type = (enum ctl_type)buf[1];
	rcur_init(&c, buf + CTL_HDR_LEN, len - CTL_HDR_LEN);
	e = decode_body(m, md, &c);
out:
	if (e != CTL_OK)
		ct_wipe(m, sizeof *m);
	return e;
}

/* ---- encoding ------------------------------------------------------------ */

/* Validate one value and return its encoded length (0 = invalid). */
static size_t value_len(const struct tag_def *d, uint8_t mode, const uint8_t *src,
			const uint8_t *aux)
{
	uint64_t x;
	size_t n;

	switch (d->ft) {
	case CTL_FT_U8:
		x = src[0];
		return (mode & M_NONZERO) && !x ? 0 : 1;
	case CTL_FT_U16:
		x = *(const uint16_t *)(const void *)src;
		return (mode & M_NONZERO) && !x ? 0 : 2;
	case CTL_FT_U32:
		x = *(const uint32_t *)(const void *)src;
		return (mode & M_NONZERO) && !x ? 0 : 4;
	case CTL_FT_U64:
		x = *(const uint64_t *)(const void *)src;
		return (mode & M_NONZERO) && !x ? 0 : 8;
	case CTL_FT_IP: {
		const struct ctl_ip *ip = (const struct ctl_ip *)(const void *)src;

		if (!addr_len(ip->af) || (d->af && d->af != ip->af))
			return 0;
		return addr_len(ip->af);
	}
	case CTL_FT_PREFIX: {
		const struct ctl_prefix *p = (const struct ctl_prefix *)(const void *)src;

		if (!ctl_prefix_valid(p) || (d->af && d->af != p->ip.af))
			return 0;
		return addr_len(p->ip.af) + 1;
	}
	case CTL_FT_ENDPOINT: {
		const struct ctl_endpoint *e = (const struct ctl_endpoint *)(const void *)src;

		if (!addr_len(e->ip.af) || (d->af && d->af != e->ip.af) || !e->port)
			return 0;
		return addr_len(e->ip.af) + 2;
	}
	case CTL_FT_BYTES:
		return d->size;
	case CTL_FT_NAME:
	case CTL_FT_TEXT:
		n = strnlen((const char *)src, (size_t)d->size + 1);
		if (n == 0 || n > d->size || !text_ok(src, n))
			return 0;
		if (d->ft == CTL_FT_NAME && !ctl_name_valid((const char *)src))
			return 0;
		return n;
	case CTL_FT_BLOB:
		n = *(const uint16_t *)(const void *)aux;
		return n >= 1 && n <= d->size ? n : 0;
	case CTL_FT_VBYTES:
		n = *aux;
		return n >= d->min && n <= d->size ? n : 0;
	}
	return 0;
}

static void put_value(const struct tag_def *d, const uint8_t *src, uint8_t *v, size_t n)
{
	switch (d->ft) {
	case CTL_FT_U8:
		v[0] = src[0];
		break;
	case CTL_FT_U16:
		put_u16be(v, *(const uint16_t *)(const void *)src);
		break;
	case CTL_FT_U32:
		put_u32be(v, *(const uint32_t *)(const void *)src);
		break;
	case CTL_FT_U64:
		put_u64be(v, *(const uint64_t *)(const void *)src);
		break;
	case CTL_FT_IP:
		memcpy(v, ((const struct ctl_ip *)(const void *)src)->a, n);
		break;
	case CTL_FT_PREFIX: {
		const struct ctl_prefix *p = (const struct ctl_prefix *)(const void *)src;

		memcpy(v, p->ip.a, n - 1);
		v[n - 1] = p->len;
		break;
	}
	case CTL_FT_ENDPOINT: {
		const struct ctl_endpoint *e = (const struct ctl_endpoint *)(const void *)src;

		memcpy(v, e->ip.a, n - 2);
		put_u16be(v + n - 2, e->port);
		break;
	}
	case CTL_FT_BYTES:
	case CTL_FT_NAME:
	case CTL_FT_TEXT:
	case CTL_FT_BLOB:
	case CTL_FT_VBYTES:
		memcpy(v, src, n);
		break;
	}
}

/* Is an optional field without a has_* flag present? */
static bool opt_present(const struct tag_def *d, const uint8_t *src)
{
	switch (d->ft) {
	case CTL_FT_NAME:
	case CTL_FT_TEXT:
		return src[0] != '\0';
	case CTL_FT_IP:
		return ((const struct ctl_ip *)(const void *)src)->af != 0;
	default:
		return true;
	}
}

static enum ctl_err put_field(struct wcur *w, const struct field *f, const uint8_t *src,
			      const uint8_t *aux)
{
	const struct tag_def *d = &tags[f->tag];
	size_t n = value_len(d, f->mode, src, aux);
	uint8_t *p;

	if (n == 0)
		return CTL_ERR_VALUE;
	if (!wcur_take(w, 3 + n, &p))
		return CTL_ERR_SPACE;
	p[0] = f->tag;
	put_u16be(p + 1, (uint16_t)n);
	put_value(d, src, p + 3, n);
	return CTL_OK;
}

static enum ctl_err encode_body(const struct ctl_msg *m, const struct msg_def *md,
				struct wcur *w)
{
	const uint8_t *base = (const uint8_t *)m;
	size_t i, k, count;
	enum ctl_err e;

	for (i = 0; i < md->n; i++) {
		const struct field *f = &md->f[i];
		const struct tag_def *d = &tags[f->tag];
		const uint8_t *aux = f->aux != NOAUX ? base + f->aux : NULL;

		if (f->mode & M_REP) {
			count = *aux;
			if (count > f->max)
				return CTL_ERR_VALUE;
			for (k = 0; k < count; k++) {
				e = put_field(w, f, base + f->off + k * elem_size(d), NULL);
				if (e != CTL_OK)
					return e;
			}
			continue;
		}
		if (f->mode & M_OPT) {
			bool present = aux ? *(const bool *)(const void *)aux
					   : opt_present(d, base + f->off);
			if (!present)
				continue;
		}
		e = put_field(w, f, base + f->off, aux);
		if (e != CTL_OK)
			return e;
	}
	return CTL_OK;
}

ssize_t ctl_encode(const struct ctl_msg *m, uint8_t *out, size_t cap)
{
	const struct msg_def *md = msg_def((unsigned)m->type);
	struct wcur w = { out, cap, 0 };
	enum ctl_err e;
	uint8_t *hdr;

	if (!md || (unsigned)m->type > 0xff)
		return -(ssize_t)CTL_ERR_TYPE;
	if (!wcur_take(&w, CTL_HDR_LEN, &hdr))
		return -(ssize_t)CTL_ERR_SPACE;
	e = encode_body(m, md, &w);
	if (e != CTL_OK)
		return -(ssize_t)e;
	if (w.pos > CTL_MAX_FRAME)
		return -(ssize_t)CTL_ERR_TOO_BIG;
	hdr[0] = CTL_VERSION;
	hdr[1] = (uint8_t)m->type;
	put_u16be(hdr + 2, 0);
	put_u32be(hdr + 4, (uint32_t)(w.pos - CTL_HDR_LEN));
	return (ssize_t)w.pos;
}

/* ---- enrollment proof of possession -------------------------------------- */

void ctl_enroll_sig_msg(uint8_t out[static CTL_ENROLL_SIG_MSG_LEN],
			const uint8_t secret[static CTL_TOKEN_SECRET_LEN],
			const uint8_t pub[static CTL_PUB_LEN])
{
	const size_t l = sizeof(CTL_ENROLL_SIG_LABEL) - 1;

	memcpy(out, CTL_ENROLL_SIG_LABEL, l);
	memcpy(out + l, secret, CTL_TOKEN_SECRET_LEN);
	memcpy(out + l + CTL_TOKEN_SECRET_LEN, pub, CTL_PUB_LEN);
}

/* ---- names --------------------------------------------------------------- */

const char *ctl_strerror(enum ctl_err e)
{
	switch (e) {
	case CTL_OK:
		return "ok";
	case CTL_ERR_NEED_MORE:
		return "incomplete frame";
	case CTL_ERR_TOO_BIG:
		return "frame too big";
	case CTL_ERR_VERSION:
		return "unsupported frame version";
	case CTL_ERR_TYPE:
		return "unknown message type";
	case CTL_ERR_FLAGS:
		return "non-zero frame flags";
	case CTL_ERR_TRUNCATED:
		return "truncated frame or field";
	case CTL_ERR_FIELD_LEN:
		return "field length wrong for its type";
	case CTL_ERR_FIELD_UNKNOWN:
		return "field not allowed in this message";
	case CTL_ERR_FIELD_DUP:
		return "field repeated";
	case CTL_ERR_FIELD_MISSING:
		return "required field missing";
	case CTL_ERR_VALUE:
		return "bad field value";
	case CTL_ERR_SPACE:
		return "output buffer too small";
	}
	return "unknown control error";
}

const char *ctl_type_name(enum ctl_type t)
{
	const struct msg_def *md = (unsigned)t <= 0xff ? msg_def((unsigned)t) : NULL;

	return md ? md->name : "?";
}

const char *ctl_code_name(enum ctl_code c)
{
	switch (c) {
	case CTL_CODE_NONE:
		return "no reason given";
	case CTL_CODE_POLICY:
		return "denied by policy";
	case CTL_CODE_OFFLINE:
		return "destination offline";
	case CTL_CODE_UNKNOWN_DST:
		return "no node owns that address";
	case CTL_CODE_TIMEOUT:
		return "destination did not answer";
	case CTL_CODE_LIMIT:
		return "rate or pending limit reached";
	case CTL_CODE_INTERNAL:
		return "internal error";
	case CTL_CODE_REVOKED:
		return "revoked";
	case CTL_CODE_UNKNOWN_NODE:
		return "unknown node";
	case CTL_CODE_TOKEN_UNKNOWN:
		return "unknown token";
	case CTL_CODE_TOKEN_USED:
		return "token already used";
	case CTL_CODE_TOKEN_EXPIRED:
		return "token expired";
	case CTL_CODE_PROTOCOL:
		return "protocol error";
	case CTL_CODE_DECLINED:
		return "destination declined";
	case CTL_CODE_SHUTDOWN:
		return "broker shutting down";
	}
	return "unknown code";
}
