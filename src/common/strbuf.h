/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * strbuf.h - bounded text building into a caller's buffer.
 *
 * strbuf_put() appends printf-style and keeps buf NUL-terminated. Once a
 * write does not fit, the buffer is marked overflowed and every later put is
 * ignored: the caller checks `overflow` once at the end instead of after
 * every call, and never emits a silently truncated text.
 */
#ifndef MAVPN_COMMON_STRBUF_H
#define MAVPN_COMMON_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t cap, len;
	bool overflow;		/* set by the first put that did not fit */
};

/* An empty strbuf over buf[0..cap); cap == 0 starts overflowed. */
#define STRBUF_INIT(b, c) { (b), (c), 0, (c) == 0 }

void strbuf_put(struct strbuf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
