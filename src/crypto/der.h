/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * der.h - the small DER toolkit behind pki.c (private to src/crypto).
 *
 * Writer: appends into a caller buffer. Constructed values are opened with
 * der_begin(), which reserves room for the longest length form, and closed
 * with der_end(), which rewrites the minimal length and slides the content
 * back. Any overflow sets w->err and every later call is a no-op; check
 * w->err once at the end.
 *
 * Reader: a cursor over a byte range. der_next() reads one TLV with a
 * single-byte tag and a definite length of at most 3 length bytes, checks
 * the length against what remains before handing out the value, and
 * advances the cursor. Nothing is ever read past r->len.
 */
#ifndef MAVPN_CRYPTO_DER_H
#define MAVPN_CRYPTO_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Universal and context tags we use. */
#define DER_BOOLEAN 0x01
#define DER_INTEGER 0x02
#define DER_BITSTRING 0x03
#define DER_OCTETSTRING 0x04
#define DER_NULL 0x05
#define DER_OID 0x06
#define DER_UTF8STRING 0x0c
#define DER_PRINTABLESTRING 0x13
#define DER_IA5STRING 0x16
#define DER_UTCTIME 0x17
#define DER_GENTIME 0x18
#define DER_SEQUENCE 0x30
#define DER_SET 0x31
#define DER_CTX(n) (0x80 | (n))		/* context, primitive */
#define DER_CTXC(n) (0xa0 | (n))	/* context, constructed */

struct der_w {
	uint8_t *buf;
	size_t cap, len;
	bool err;
};

void der_w_init(struct der_w *w, uint8_t *buf, size_t cap);
/* Raw bytes, no header. */
void der_raw(struct der_w *w, const void *p, size_t n);
/* A primitive TLV whose value is p[0..n). */
void der_tlv(struct der_w *w, uint8_t tag, const void *p, size_t n);
/* Open a constructed value; returns the mark to hand to der_end(). */
size_t der_begin(struct der_w *w, uint8_t tag);
void der_end(struct der_w *w, size_t mark);
/* INTEGER from an unsigned big-endian magnitude (leading zeros stripped,
 * 0x00 prepended when the top bit is set). */
void der_uint(struct der_w *w, const uint8_t *mag, size_t n);
/* UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5).
 * Sets err for times gmtime cannot represent. */
void der_time(struct der_w *w, time_t t);

struct der_r {
	const uint8_t *p;
	size_t len;
};

/* Read one TLV from r into *tag and *val (val covers the value only) and
 * advance r. 0, or -1 on truncation / unsupported encoding (r unchanged). */
int der_next(struct der_r *r, uint8_t *tag, struct der_r *val)
	__attribute__((warn_unused_result));
/* der_next() that also demands the tag. */
int der_expect(struct der_r *r, uint8_t tag, struct der_r *val)
	__attribute__((warn_unused_result));
/* Consume the next TLV only when it has this tag (optional fields);
 * true when consumed. */
bool der_optional(struct der_r *r, uint8_t tag, struct der_r *val);
/* Parse a UTCTime or GeneralizedTime value ("...Z" only). 0 or -1. */
int der_parse_time(uint8_t tag, const struct der_r *v, time_t *out)
	__attribute__((warn_unused_result));
/* True when v holds exactly the OID body oid[0..n). */
bool der_oid_eq(const struct der_r *v, const uint8_t *oid, size_t n);

/*
 * BearSSL glue shared by pki.c and tls.c (defined in pki.c).
 * A trust anchor built from a CA certificate: ta's pointers refer to dn and
 * q inside the same struct, so never copy a der_ta after filling it.
 */
#include <bearssl.h>
#define DER_TA_DN_MAX 512
struct der_ta {
	br_x509_trust_anchor ta;
	uint8_t dn[DER_TA_DN_MAX];
	uint8_t q[65];
};
/* 0, or -1 when der is not a P-256 CA certificate. */
int der_ta_from_cert(struct der_ta *t, const uint8_t *der, size_t len)
	__attribute__((warn_unused_result));
/* Unix time -> br_x509_minimal_set_time() arguments. */
void der_x509_time(time_t now, uint32_t *days, uint32_t *secs);

#endif
