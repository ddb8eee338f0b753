// SPDX-License-Identifier: GPL-2.0-only
/* strbuf: appends, exact fit, overflow sticks, zero capacity. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/strbuf.h"

Test(strbuf, appends_and_terminates)
{
	char b[16];
	struct strbuf o = STRBUF_INIT(b, sizeof b);

	strbuf_put(&o, "%s=%d", "mtu", 1420);
	strbuf_put(&o, ";");
	cr_assert_str_eq(b, "mtu=1420;");
	cr_assert_eq(o.len, 9);
	cr_assert_not(o.overflow);
}

Test(strbuf, exact_fit_and_one_more)
{
	char b[6];
	struct strbuf o = STRBUF_INIT(b, sizeof b);

	strbuf_put(&o, "12345");	/* 5 chars + NUL: fits exactly */
	cr_assert_not(o.overflow);
	cr_assert_str_eq(b, "12345");
	strbuf_put(&o, "6");
	cr_assert(o.overflow);
	strbuf_put(&o, "%s", "");	/* ignored once overflowed */
	cr_assert(o.overflow);
	cr_assert_eq(o.len, 5);
}

Test(strbuf, zero_capacity_starts_overflowed)
{
	struct strbuf o = STRBUF_INIT(NULL, 0);

	cr_assert(o.overflow);
	strbuf_put(&o, "x");
	cr_assert_eq(o.len, 0);
}
