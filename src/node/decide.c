// SPDX-License-Identifier: GPL-2.0-only
/* decide.c - pure data-path decisions; contract in decide.h. */
#include "node/decide.h"

#include "proto/ctl.h"
#include "router/icmp.h"

int decide_refuse_icmp(uint16_t code)
{
	switch (code) {
	case CTL_CODE_POLICY:
	case CTL_CODE_REVOKED:
		return ICMP_UNREACH_ADMIN;
	case CTL_CODE_UNKNOWN_DST:
		return ICMP_UNREACH_NET;
	default:
		return ICMP_UNREACH_HOST;
	}
}

bool decide_silent_dst(int af, const uint8_t *dst)
{
	if (af == 6)
		return dst[0] == 0xff;
	return (dst[0] & 0xf0) == 0xe0 ||
	       (dst[0] == 255 && dst[1] == 255 && dst[2] == 255 && dst[3] == 255);
}

uint32_t decide_backoff_next(uint32_t cur_ms)
{
	if (cur_ms < DECIDE_BACKOFF_MIN_MS)
		return DECIDE_BACKOFF_MIN_MS;
	if (cur_ms >= DECIDE_BACKOFF_MAX_MS / 2)
		return DECIDE_BACKOFF_MAX_MS;
	return cur_ms * 2;
}

uint32_t decide_backoff_delay(uint32_t cur_ms, uint32_t r)
{
	return cur_ms + r % (cur_ms / 2 + 1);
}
