// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_ctl.c - ctl_decode on arbitrary bytes. A frame that decodes must
 * re-encode, the re-encoding must decode to the same message, and encoding
 * that message again must give the same bytes (the encoder is canonical).
 * A frame that fails must leave the output wiped.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ctl_msg m, m2;
static uint8_t re[CTL_MAX_FRAME], re2[CTL_MAX_FRAME];

static int all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		if (*b++)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ssize_t n, n2;

	if (ctl_decode(&m, data, size) != CTL_OK) {
		if (!all_zero(&m, sizeof m))
			abort();	/* must be wiped on error */
		return 0;
	}
	n = ctl_encode(&m, re, sizeof re);
	if (n <= 0)
		abort();	/* a decoded message must be encodable */
	if (ctl_decode(&m2, re, (size_t)n) != CTL_OK)
		abort();
	if (memcmp(&m, &m2, sizeof m) != 0)
		abort();
	n2 = ctl_encode(&m2, re2, sizeof re2);
	if (n2 != n || memcmp(re, re2, (size_t)n) != 0)
		abort();
	/* the field order may differ, the length may not */
	if ((size_t)n != size)
		abort();
	return 0;
}
