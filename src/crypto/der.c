// SPDX-License-Identifier: GPL-2.0-only
/* der.c - DER writer and bounded reader; contract in der.h. */
#include "crypto/der.h"

#include <stdio.h>
#include <string.h>

#define LEN_RESERVE 3	/* 0x82 hi lo: enough for 65535-byte values */

void der_w_init(struct der_w *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->err = false;
}

void der_raw(struct der_w *w, const void *p, size_t n)
{
	if (w->err)
		return;
	if (n > w->cap - w->len) {
		w->err = true;
		return;
	}
	if (n)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static size_t len_size(size_t n)
{
	return n < 0x80 ? 1 : n < 0x100 ? 2 : 3;
}

static void put_len(uint8_t *dst, size_t n)
{
	if (n < 0x80) {
		dst[0] = (uint8_t)n;
	} else if (n < 0x100) {
		dst[0] = 0x81;
		dst[1] = (uint8_t)n;
	} else {
		dst[0] = 0x82;
		dst[1] = (uint8_t)(n >> 8);
		dst[2] = (uint8_t)n;
	}
}

void der_tlv(struct der_w *w, uint8_t tag, const void *p, size_t n)
{
	uint8_t hdr[1 + LEN_RESERVE];

	if (n > 0xffff) {
		w->err = true;
		return;
	}
	hdr[0] = tag;
	put_len(hdr + 1, n);
	der_raw(w, hdr, 1 + len_size(n));
	der_raw(w, p, n);
}

size_t der_begin(struct der_w *w, uint8_t tag)
{
	static const uint8_t zero[LEN_RESERVE];
	size_t mark = w->len;

	der_raw(w, &tag, 1);
	der_raw(w, zero, LEN_RESERVE);
	return mark;
}

void der_end(struct der_w *w, size_t mark)
{
	size_t start = mark + 1 + LEN_RESERVE, n, ls;

	if (w->err)
		return;
	n = w->len - start;
	if (n > 0xffff) {
		w->err = true;
		return;
	}
	ls = len_size(n);
	memmove(w->buf + mark + 1 + ls, w->buf + start, n);
	put_len(w->buf + mark + 1, n);
	w->len = mark + 1 + ls + n;
}

void der_uint(struct der_w *w, const uint8_t *mag, size_t n)
{
	size_t mark;

	while (n > 1 && mag[0] == 0) {
		mag++;
		n--;
	}
	mark = der_begin(w, DER_INTEGER);
	if (n == 0 || (mag[0] & 0x80))
		der_raw(w, "\0", 1);
	der_raw(w, mag, n);
	der_end(w, mark);
}

void der_time(struct der_w *w, time_t t)
{
	struct tm tm;
	char s[32];
	int n;

	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
		w->err = true;
		return;
	}
	if (tm.tm_year >= 50 && tm.tm_year < 150) {
		n = snprintf(s, sizeof s, "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100,
			     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		der_tlv(w, DER_UTCTIME, s, (size_t)n);
	} else {
		n = snprintf(s, sizeof s, "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900,
			     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		der_tlv(w, DER_GENTIME, s, (size_t)n);
	}
}

int der_next(struct der_r *r, uint8_t *tag, struct der_r *val)
{
	size_t pos = 0, n;

	if (r->len < 2)
		return -1;
	if ((r->p[0] & 0x1f) == 0x1f)	/* high tag numbers: never in our certs */
		return -1;
	*tag = r->p[pos++];
	n = r->p[pos++];
	if (n & 0x80) {
		size_t k = n & 0x7f;

		if (k == 0 || k > 3 || r->len - pos < k)	/* indefinite / huge */
			return -1;
		n = 0;
		for (size_t i = 0; i < k; i++)
			n = (n << 8) | r->p[pos++];
		if (n < 0x80 || (k > 1 && n >> (8 * (k - 1)) == 0))	/* not minimal */
			return -1;
	}
	if (n > r->len - pos)
		return -1;
	val->p = r->p + pos;
	val->len = n;
	r->p += pos + n;
	r->len -= pos + n;
	return 0;
}

int der_expect(struct der_r *r, uint8_t tag, struct der_r *val)
{
	struct der_r save = *r;
	uint8_t t;

	if (der_next(r, &t, val) < 0)
		return -1;
	if (t != tag) {
		*r = save;
		return -1;
	}
	return 0;
}

bool der_optional(struct der_r *r, uint8_t tag, struct der_r *val)
{
	return der_expect(r, tag, val) == 0;
}

static int digits(const uint8_t *p, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

int der_parse_time(uint8_t tag, const struct der_r *v, time_t *out)
{
	const uint8_t *p = v->p;
	struct tm tm;
	int year, mon, day, hh, mm, ss;
	size_t yl;
	time_t t;

	if (tag == DER_UTCTIME && v->len == 13)
		yl = 2;
	else if (tag == DER_GENTIME && v->len == 15)
		yl = 4;
	else
		return -1;
	if (p[v->len - 1] != 'Z')
		return -1;
	if (digits(p, yl, &year) < 0 || digits(p + yl, 2, &mon) < 0 ||
	    digits(p + yl + 2, 2, &day) < 0 || digits(p + yl + 4, 2, &hh) < 0 ||
	    digits(p + yl + 6, 2, &mm) < 0 || digits(p + yl + 8, 2, &ss) < 0)
		return -1;
	if (yl == 2)
		year += year < 50 ? 2000 : 1900;
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	t = timegm(&tm);
	if (t == (time_t)-1 && !(year == 1969 && mon == 12 && day == 31))
		return -1;
	*out = t;
	return 0;
}

bool der_oid_eq(const struct der_r *v, const uint8_t *oid, size_t n)
{
	return v->len == n && memcmp(v->p, oid, n) == 0;
}
