/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * decide.h - the data path's small decisions as pure functions (no state,
 * no clock, no I/O), so tests can walk their edges:
 * when to rekey, which ICMP answers a refusal, which inner destinations
 * are never tunnelled, how the broker reconnect delay grows.
 */
#ifndef MAVPN_NODE_DECIDE_H
#define MAVPN_NODE_DECIDE_H

#include <stdbool.h>
#include <stdint.h>


/* enum icmp_unreach (router/icmp.h) for a REFUSE code (enum ctl_code):
 * policy/revoked -> admin prohibited, unknown destination -> net
 * unreachable, everything else (offline, timeout, limit, ...) -> host. */
int decide_refuse_icmp(uint16_t code);

/* Inner destinations never sent through the tunnel (dropped silently):
 * IPv4 multicast and limited broadcast, IPv6 multicast (MLD, RS, ...).
 * af 4 or 6; dst 4 or 16 bytes. */
bool decide_silent_dst(int af, const uint8_t *dst);

/* Broker reconnect: the next backoff after cur (doubling, from min to the
 * cap), and the delay to wait now: cur plus a jitter in [0, cur/2]
 * taken from r (any 32-bit random value). */
#define DECIDE_BACKOFF_MIN_MS 250u
#define DECIDE_BACKOFF_MAX_MS 10000u
uint32_t decide_backoff_next(uint32_t cur_ms);
uint32_t decide_backoff_delay(uint32_t cur_ms, uint32_t r);

#endif
