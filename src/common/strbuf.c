// SPDX-License-Identifier: GPL-2.0-only
/* strbuf.c - see strbuf.h for the contract. */
#include "common/strbuf.h"

#include <stdarg.h>
#include <stdio.h>

void strbuf_put(struct strbuf *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->overflow = true;
		return;
	}
	o->len += (size_t)n;
}
