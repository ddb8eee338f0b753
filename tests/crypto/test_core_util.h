/* SPDX-License-Identifier: GPL-2.0-only */
/* test_core_util.h - hex helpers shared by the crypto core test files. */
#ifndef MAVPN_TEST_CORE_UTIL_H
#define MAVPN_TEST_CORE_UTIL_H

#include <criterion/criterion.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode hex (spaces ignored) into out; aborts the test on bad input or
 * overflow. Returns the byte count. */
static inline size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = 0;
	int hi = -1;

	for (const char *p = hex; *p; p++) {
		int v;

		if (*p == ' ' || *p == '\n')
			continue;
		v = hexval(*p);
		cr_assert(v >= 0, "bad hex digit '%c' in test vector", *p);
		if (hi < 0) {
			hi = v;
			continue;
		}
		cr_assert(n < cap, "test vector longer than %zu bytes", cap);
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	cr_assert(hi < 0, "odd number of hex digits in test vector");
	return n;
}

static inline int all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

#endif
