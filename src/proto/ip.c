// SPDX-License-Identifier: GPL-2.0-only
/*
 * ip.c - addresses, prefixes and endpoints: binary helpers and the text
 * forms (contract in ctl.h). Parsers are strict: no surrounding blanks, no
 * trailing garbage, no leading zeros in a prefix length or port, no host
 * bits in a prefix, no port 0.
 */
#include "proto/ctl.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

void ctl_ip_from_v4(struct ctl_ip *ip, const uint8_t a[4])
{
	memset(ip, 0, sizeof *ip);
	ip->af = 4;
	memcpy(ip->a, a, 4);
}

void ctl_ip_from_v6(struct ctl_ip *ip, const uint8_t a[16])
{
	memset(ip, 0, sizeof *ip);
	ip->af = 6;
	memcpy(ip->a, a, 16);
}

void ctl_ip_to16(const struct ctl_ip *ip, uint8_t out[16])
{
	memset(out, 0, 16);
	if (ip->af == 4) {
		out[10] = 0xff;
		out[11] = 0xff;
		memcpy(out + 12, ip->a, 4);
	} else if (ip->af == 6) {
		memcpy(out, ip->a, 16);
	}
}

static size_t ip_bytes(uint8_t af)
{
	return af == 4 ? 4 : af == 6 ? 16 : 0;
}

bool ctl_ip_eq(const struct ctl_ip *a, const struct ctl_ip *b)
{
	return a->af == b->af && memcmp(a->a, b->a, ip_bytes(a->af)) == 0;
}

/* Do the first bits of a and b agree? (n <= 8 * 16) */
static bool bits_eq(const uint8_t *a, const uint8_t *b, unsigned n)
{
	unsigned full = n / 8, rest = n % 8;
	uint8_t mask;

	if (memcmp(a, b, full) != 0)
		return false;
	if (!rest)
		return true;
	mask = (uint8_t)(0xff00u >> rest);
	return ((a[full] ^ b[full]) & mask) == 0;
}

bool ctl_prefix_valid(const struct ctl_prefix *p)
{
	size_t n = ip_bytes(p->ip.af);
	unsigned i;

	if (!n || p->len > 8 * n)
		return false;
	/* host bits: every bit from len on must be zero */
	for (i = p->len; i < 8 * n; i++)
		if (p->ip.a[i / 8] & (0x80u >> (i % 8)))
			return false;
	return true;
}

bool ctl_prefix_contains(const struct ctl_prefix *p, const struct ctl_ip *ip)
{
	size_t n = ip_bytes(p->ip.af);

	if (!n || p->ip.af != ip->af || p->len > 8 * n)
		return false;
	return bits_eq(p->ip.a, ip->a, p->len);
}

/* ---- text forms ---------------------------------------------------------- */

/* Strict decimal in [min, max]: digits only, no sign, no leading zero. */
static int parse_dec(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long v = 0;
	const char *p;

	if (!*s || (s[0] == '0' && s[1]))
		return -1;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned)(*p - '0');
		if (v > max)
			return -1;
	}
	if (v < min)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* Parse an address from the n characters at s (not NUL-terminated). */
static int parse_addr(struct ctl_ip *ip, const char *s, size_t n, int want)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	uint8_t a[16];

	if (n == 0 || n >= sizeof tmp)
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (want != 6 && inet_pton(AF_INET, tmp, a) == 1) {
		ctl_ip_from_v4(ip, a);
		return 0;
	}
	if (want != 4 && inet_pton(AF_INET6, tmp, a) == 1) {
		ctl_ip_from_v6(ip, a);
		return 0;
	}
	return -1;
}

int ctl_ip_parse(struct ctl_ip *ip, const char *s)
{
	struct ctl_ip tmp;

	if (parse_addr(&tmp, s, strlen(s), 0) < 0)
		return -1;
	*ip = tmp;
	return 0;
}

int ctl_prefix_parse(struct ctl_prefix *p, const char *s)
{
	struct ctl_prefix tmp;
	const char *slash = strchr(s, '/');
	unsigned len;

	if (!slash)
		return -1;
	memset(&tmp, 0, sizeof tmp);
	if (parse_addr(&tmp.ip, s, (size_t)(slash - s), 0) < 0)
		return -1;
	if (parse_dec(slash + 1, 0, tmp.ip.af == 4 ? 32 : 128, &len) < 0)
		return -1;
	tmp.len = (uint8_t)len;
	if (!ctl_prefix_valid(&tmp))
		return -1;
	*p = tmp;
	return 0;
}

int ctl_endpoint_parse(struct ctl_endpoint *e, const char *s)
{
	struct ctl_endpoint tmp;
	const char *colon;
	unsigned port;

	memset(&tmp, 0, sizeof tmp);
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -1;
		if (parse_addr(&tmp.ip, s + 1, (size_t)(close - s - 1), 6) < 0)
			return -1;
		colon = close + 1;
	} else {
		colon = strchr(s, ':');
		if (!colon || strchr(colon + 1, ':'))
			return -1;	/* bare IPv6 needs brackets */
		if (parse_addr(&tmp.ip, s, (size_t)(colon - s), 4) < 0)
			return -1;
	}
	if (parse_dec(colon + 1, 1, 65535, &port) < 0)
		return -1;
	tmp.port = (uint16_t)port;
	*e = tmp;
	return 0;
}

const char *ctl_ip_fmt(const struct ctl_ip *ip, char out[static CTL_ADDRSTRLEN])
{
	if (ip->af == 4)
		inet_ntop(AF_INET, ip->a, out, CTL_ADDRSTRLEN);
	else if (ip->af == 6)
		inet_ntop(AF_INET6, ip->a, out, CTL_ADDRSTRLEN);
	else
		snprintf(out, CTL_ADDRSTRLEN, "?");
	return out;
}

const char *ctl_prefix_fmt(const struct ctl_prefix *p, char out[static CTL_ADDRSTRLEN])
{
	char a[CTL_ADDRSTRLEN];

	snprintf(out, CTL_ADDRSTRLEN, "%.46s/%u", ctl_ip_fmt(&p->ip, a), (unsigned)p->len);
	return out;
}

const char *ctl_endpoint_fmt(const struct ctl_endpoint *e, char out[static CTL_ADDRSTRLEN])
{
	char a[CTL_ADDRSTRLEN];

	ctl_ip_fmt(&e->ip, a);
	if (e->ip.af == 6)
		snprintf(out, CTL_ADDRSTRLEN, "[%.46s]:%u", a, (unsigned)e->port);
	else
		snprintf(out, CTL_ADDRSTRLEN, "%.46s:%u", a, (unsigned)e->port);
	return out;
}
