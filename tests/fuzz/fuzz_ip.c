// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_ip.c - the address, prefix and endpoint text parsers. Whatever
 * parses must format to text that parses back to the same value.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char txt[CTL_ADDRSTRLEN];
	struct ctl_ip ip, ip2;
	struct ctl_prefix p, p2;
	struct ctl_endpoint e, e2;
	char *s;

	if (size > 256)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	if (ctl_ip_parse(&ip, s) == 0) {
		if (ctl_ip_parse(&ip2, ctl_ip_fmt(&ip, txt)) != 0 || !ctl_ip_eq(&ip, &ip2))
			abort();
	}
	if (ctl_prefix_parse(&p, s) == 0) {
		if (!ctl_prefix_valid(&p) || !ctl_prefix_contains(&p, &p.ip))
			abort();
		if (ctl_prefix_parse(&p2, ctl_prefix_fmt(&p, txt)) != 0 ||
		    !ctl_ip_eq(&p.ip, &p2.ip) || p.len != p2.len)
			abort();
	}
	if (ctl_endpoint_parse(&e, s) == 0) {
		if (e.port == 0)
			abort();
		if (ctl_endpoint_parse(&e2, ctl_endpoint_fmt(&e, txt)) != 0 ||
		    !ctl_ip_eq(&e.ip, &e2.ip) || e.port != e2.port)
			abort();
	}
	free(s);
	return 0;
}
