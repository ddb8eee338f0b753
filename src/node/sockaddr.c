// SPDX-License-Identifier: GPL-2.0-only
/* sockaddr.c - contract in sockaddr.h. */
#include "node/sockaddr.h"

#include <netinet/in.h>
#include <string.h>

socklen_t sockaddr_from_endpoint(struct sockaddr_storage *ss, const struct ctl_endpoint *ep)
{
	memset(ss, 0, sizeof *ss);
	if (ep->ip.af == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(ep->port);
		memcpy(&s4->sin_addr, ep->ip.a, 4);
		return sizeof *s4;
	}
	if (ep->ip.af == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(ep->port);
		memcpy(&s6->sin6_addr, ep->ip.a, 16);
		return sizeof *s6;
	}
	return 0;
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool sockaddr_to_endpoint(struct ctl_endpoint *ep, const struct sockaddr *sa, socklen_t len)
{
	memset(ep, 0, sizeof *ep);
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		ctl_ip_from_v4(&ep->ip, (const uint8_t *)&s4->sin_addr);
		ep->port = ntohs(s4->sin_port);
		return true;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		const uint8_t *a = (const uint8_t *)&s6->sin6_addr;

		if (memcmp(a, v4mapped, 12) == 0)
			ctl_ip_from_v4(&ep->ip, a + 12);
		else
			ctl_ip_from_v6(&ep->ip, a);
		ep->port = ntohs(s6->sin6_port);
		return true;
	}
	return false;
}

socklen_t sockaddr_for_socket(struct sockaddr_storage *ss, socklen_t len, int sock_family)
{
	if (sock_family == AF_INET6 && ss->ss_family == AF_INET) {
		struct sockaddr_in s4;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		memcpy(&s4, ss, sizeof s4);
		memset(ss, 0, sizeof *ss);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = s4.sin_port;
		memcpy(&s6->sin6_addr, v4mapped, 12);
		memcpy((uint8_t *)&s6->sin6_addr + 12, &s4.sin_addr, 4);
		return sizeof *s6;
	}
	return len;
}

bool sockaddr_equal(const struct sockaddr *a, socklen_t alen, const struct sockaddr *b,
		    socklen_t blen)
{
	struct ctl_endpoint ea, eb;

	if (!sockaddr_to_endpoint(&ea, a, alen) || !sockaddr_to_endpoint(&eb, b, blen))
		return false;
	return ea.port == eb.port && ctl_ip_eq(&ea.ip, &eb.ip);
}
