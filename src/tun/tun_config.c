/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tun_config.c - MTU, addresses and routes on the TUN, recorded so teardown
 * removes exactly what we added; contract in tun.h.
 */
#include "tun/tun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned max_len(int family)
{
	return family == AF_INET ? 32 : 128;
}

static bool prefix_eq(const struct tun_prefix *a, const struct tun_prefix *b)
{
	size_t n = a->family == AF_INET ? 4 : 16;

	return a->family == b->family && a->len == b->len && memcmp(a->addr, b->addr, n) == 0;
}

static struct tun_prefix masked(const struct tun_prefix *p)
{
	struct tun_prefix m = *p;

	for (unsigned bit = p->len; bit < max_len(p->family); bit++)
		m.addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	return m;
}

bool tun_prefix_masked(const struct tun_prefix *p)
{
	struct tun_prefix m = masked(p);

	return prefix_eq(&m, p);
}

const char *tun_prefix_str(const struct tun_prefix *p, char *out, size_t outlen)
{
	char a[INET6_ADDRSTRLEN];

	if ((p->family != AF_INET && p->family != AF_INET6) ||
	    !inet_ntop(p->family, p->addr, a, sizeof a))
		snprintf(a, sizeof a, "(family %d)", p->family);
	snprintf(out, outlen, "%s/%u", a, (unsigned)p->len);
	return out;
}

int tun_prefix_parse(struct tun_prefix *p, const char *text, char err[static TUN_ERR_MAX])
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	size_t alen;

	memset(p, 0, sizeof *p);
	slash = strchr(text, '/');
	alen = slash ? (size_t)(slash - text) : strlen(text);
	if (alen == 0 || alen >= INET6_ADDRSTRLEN) {
		snprintf(err, TUN_ERR_MAX, "invalid address '%s'", text);
		errno = EINVAL;
		return -1;
	}
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, p->addr) == 1) {
		p->family = AF_INET;
	} else if (inet_pton(AF_INET6, buf, p->addr) == 1) {
		p->family = AF_INET6;
	} else {
		snprintf(err, TUN_ERR_MAX, "invalid address '%s'", text);
		errno = EINVAL;
		return -1;
	}
	p->len = (uint8_t)max_len(p->family);
	if (slash) {
		const char *s = slash + 1;
		unsigned long v = 0;

		if (!*s || strlen(s) > 3)
			goto badlen;
		for (; *s; s++) {
			if (*s < '0' || *s > '9')
				goto badlen;
			v = v * 10 + (unsigned long)(*s - '0');
		}
		if (v > max_len(p->family))
			goto badlen;
		p->len = (uint8_t)v;
	}
	return 0;
badlen:
	snprintf(err, TUN_ERR_MAX, "invalid prefix length in '%s' (IPv%d allows 0..%u)",
		 text, p->family == AF_INET ? 4 : 6, max_len(p->family));
	errno = EINVAL;
	return -1;
}

/* family + length check; routes also need zero host bits. */
static int check_prefix(const char *what, const struct tun_prefix *p, bool route,
			char err[static TUN_ERR_MAX])
{
	char s[INET6_ADDRSTRLEN + 8];

	if (p->family != AF_INET && p->family != AF_INET6) {
		snprintf(err, TUN_ERR_MAX, "%s: unknown address family %d", what, p->family);
		errno = EAFNOSUPPORT;
		return -1;
	}
	tun_prefix_str(p, s, sizeof s);
	if (p->len > max_len(p->family) || (!route && p->len == 0)) {
		snprintf(err, TUN_ERR_MAX, "%s %s: invalid prefix length %u (IPv%d allows %u..%u)",
			 what, s, (unsigned)p->len, p->family == AF_INET ? 4 : 6, route ? 0 : 1,
			 max_len(p->family));
		errno = EINVAL;
		return -1;
	}
	if (route && !tun_prefix_masked(p)) {
		snprintf(err, TUN_ERR_MAX, "%s %s: host bits set beyond /%u", what, s, (unsigned)p->len);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int check_mtu(const struct tun *t, unsigned mtu, char err[static TUN_ERR_MAX])
{
	if (mtu < TUN_MTU_MIN) {
		snprintf(err, TUN_ERR_MAX, "MTU %u on %s is below %u: the kernel would delete every "
			 "IPv6 address of the link (IPv6 minimum MTU)", mtu, t->ifname, TUN_MTU_MIN);
		errno = EINVAL;
		return -1;
	}
	if (mtu > TUN_MTU_MAX) {
		snprintf(err, TUN_ERR_MAX, "MTU %u on %s is above the maximum %u", mtu, t->ifname,
			 TUN_MTU_MAX);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int find_route(const struct tun *t, const struct tun_prefix *p)
{
	for (size_t i = 0; i < t->n_routes; i++)
		if (prefix_eq(&t->routes[i], p))
			return (int)i;
	return -1;
}

/*
 * Add one route and record it. An existing identical route on our device is
 * adopted (recorded); one via another device is an error.
 */
static int add_route(struct tun *t, struct nl *nl, const struct tun_prefix *p,
		     char err[static TUN_ERR_MAX])
{
	char s[INET6_ADDRSTRLEN + 8], dev[IF_NAMESIZE];
	int oif = t->ifindex, r;

	tun_prefix_str(p, s, sizeof s);
	if (find_route(t, p) >= 0)
		return 0;
	if (t->n_routes >= TUN_MAX_ROUTES) {
		snprintf(err, TUN_ERR_MAX, "cannot add route %s dev %s: limit of %d routes reached",
			 s, t->ifname, TUN_MAX_ROUTES);
		errno = ENOSPC;
		return -1;
	}
	if (nl_route_add(nl, t->ifindex, p->family, p->addr, p->len, 0, err) < 0) {
		if (errno != EEXIST)
			return -1;
		r = nl_route_find(nl, p->family, p->addr, p->len, &oif, err);
		if (r < 0)
			return -1;
		if (r == 0 || oif != t->ifindex) {
			if (r == 0 || !oif || !if_indextoname((unsigned)oif, dev))
				snprintf(dev, sizeof dev, "%s", r ? "none" : "?");
			snprintf(err, TUN_ERR_MAX, "cannot add route %s dev %s: a route to %s "
				 "already exists via %s", s, t->ifname, s, dev);
			errno = EEXIST;
			return -1;
		}
		/* leftover on our own device (earlier run): adopt it */
	}
	t->routes[t->n_routes++] = *p;
	return 0;
}

/* Deleting something already gone is not a failure. */
static bool gone(int e)
{
	return e == ESRCH || e == ENODEV || e == EADDRNOTAVAIL || e == ENOENT;
}

int tun_unconfigure(struct tun *t, struct nl *nl, char *err)
{
	char e1[TUN_ERR_MAX];
	int rc = 0;

#define NOTE_FAIL() do { \
		if (!gone(errno)) { \
			if (rc == 0 && err) \
				memcpy(err, e1, TUN_ERR_MAX); \
			rc = -1; \
		} \
	} while (0)

	while (t->n_routes) {
		const struct tun_prefix *p = &t->routes[t->n_routes - 1];

		if (nl_route_del(nl, t->ifindex, p->family, p->addr, p->len, 0, e1) < 0)
			NOTE_FAIL();
		t->n_routes--;
	}
	while (t->n_addrs) {
		const struct tun_prefix *p = &t->addrs[t->n_addrs - 1];

		if (nl_addr_del(nl, t->ifindex, p->family, p->addr, p->len, e1) < 0)
			NOTE_FAIL();
		t->n_addrs--;
	}
	if (t->link_changed) {
		struct nl_link_info li;

		if (nl_link_get(nl, t->ifindex, &li, e1) < 0) {
			NOTE_FAIL();
		} else {
			if (!t->old_up && (li.flags & IFF_UP) &&
			    nl_link_down(nl, t->ifindex, e1) < 0)
				NOTE_FAIL();
			if (t->old_mtu && li.mtu != t->old_mtu) {
				if (nl_link_set_mtu(nl, t->ifindex, t->old_mtu, e1) < 0)
					NOTE_FAIL();
				else
					t->mtu = t->old_mtu;
			}
			if (t->txqlen_changed && li.txqlen != t->old_txqlen &&
			    nl_link_set_txqlen(nl, t->ifindex, t->old_txqlen, e1) < 0)
				NOTE_FAIL();
		}
		t->link_changed = false;
		t->txqlen_changed = false;
	}
#undef NOTE_FAIL
	t->configured = false;
	return rc;
}

int tun_configure(struct tun *t, struct nl *nl, const struct tun_config *cfg,
		  char err[static TUN_ERR_MAX])
{
	unsigned mtu = cfg->mtu ? cfg->mtu : TUN_MTU_DEFAULT;
	struct nl_link_info li;
	int e;

	/* 1. validate everything before touching the kernel */
	if (t->fd < 0 || t->ifindex <= 0) {
		snprintf(err, TUN_ERR_MAX, "cannot configure: TUN is not open");
		errno = EBADF;
		return -1;
	}
	if (t->configured || t->n_addrs || t->n_routes) {
		snprintf(err, TUN_ERR_MAX, "cannot configure %s twice: unconfigure first", t->ifname);
		errno = EALREADY;
		return -1;
	}
	if (check_mtu(t, mtu, err) < 0)
		return -1;
	if (cfg->n_addrs > TUN_MAX_ADDRS || cfg->n_routes > TUN_MAX_ROUTES ||
	    cfg->n_routes + cfg->n_addrs > TUN_MAX_ROUTES) {
		snprintf(err, TUN_ERR_MAX, "cannot configure %s: %zu addresses / %zu routes exceed "
			 "the limits %d / %d", t->ifname, cfg->n_addrs, cfg->n_routes,
			 TUN_MAX_ADDRS, TUN_MAX_ROUTES);
		errno = E2BIG;
		return -1;
	}
	for (size_t i = 0; i < cfg->n_addrs; i++) {
		if (check_prefix("invalid address", &cfg->addrs[i], false, err) < 0)
			return -1;
		for (size_t j = 0; j < i; j++) {
			if (cfg->addrs[j].family == cfg->addrs[i].family &&
			    !memcmp(cfg->addrs[j].addr, cfg->addrs[i].addr,
				    cfg->addrs[i].family == AF_INET ? 4 : 16)) {
				char s[INET6_ADDRSTRLEN + 8];

				snprintf(err, TUN_ERR_MAX, "address %s listed twice",
					 tun_prefix_str(&cfg->addrs[i], s, sizeof s));
				errno = EINVAL;
				return -1;
			}
		}
	}
	for (size_t i = 0; i < cfg->n_routes; i++)
		if (check_prefix("invalid route", &cfg->routes[i], true, err) < 0)
			return -1;

	/* 2. link: remember the old state, then MTU + up in one request */
	if (nl_link_get(nl, t->ifindex, &li, err) < 0)
		return -1;
	t->old_mtu = li.mtu;
	t->old_up = li.flags & IFF_UP;
	t->link_changed = true;
	t->configured = true;
	if (nl_link_up(nl, t->ifindex, mtu, err) < 0)
		goto rollback;
	t->mtu = mtu;
	if (cfg->txqueuelen && cfg->txqueuelen != li.txqlen) {
		t->old_txqlen = li.txqlen;
		t->txqlen_changed = true;
		if (nl_link_set_txqlen(nl, t->ifindex, cfg->txqueuelen, err) < 0)
			goto rollback;
	}

	/* 3. addresses (no kernel prefix route: we own the routes) */
	for (size_t i = 0; i < cfg->n_addrs; i++) {
		const struct tun_prefix *a = &cfg->addrs[i];

		if (nl_addr_add(nl, t->ifindex, a->family, a->addr, a->len, true, err) < 0 &&
		    errno != EEXIST)
			goto rollback;
		/* EEXIST: addresses are per device, so it is ours already; adopt */
		t->addrs[t->n_addrs++] = *a;
	}

	/* 4. a route for each address prefix, then the listed routes */
	for (size_t i = 0; i < cfg->n_addrs; i++) {
		struct tun_prefix p = masked(&cfg->addrs[i]);

		if (p.len == max_len(p.family))
			continue;	/* host address: nothing to route */
		if (add_route(t, nl, &p, err) < 0)
			goto rollback;
	}
	for (size_t i = 0; i < cfg->n_routes; i++)
		if (add_route(t, nl, &cfg->routes[i], err) < 0)
			goto rollback;
	return 0;

rollback:
	e = errno;
	(void)tun_unconfigure(t, nl, NULL);
	errno = e;
	return -1;
}

int tun_route_add(struct tun *t, struct nl *nl, const struct tun_prefix *p,
		  char err[static TUN_ERR_MAX])
{
	if (check_prefix("invalid route", p, true, err) < 0)
		return -1;
	return add_route(t, nl, p, err);
}

int tun_route_del(struct tun *t, struct nl *nl, const struct tun_prefix *p,
		  char err[static TUN_ERR_MAX])
{
	char s[INET6_ADDRSTRLEN + 8];
	int i;

	if (check_prefix("invalid route", p, true, err) < 0)
		return -1;
	i = find_route(t, p);
	if (i < 0) {
		snprintf(err, TUN_ERR_MAX, "cannot delete route %s dev %s: not added by us",
			 tun_prefix_str(p, s, sizeof s), t->ifname);
		errno = ENOENT;
		return -1;
	}
	if (nl_route_del(nl, t->ifindex, p->family, p->addr, p->len, 0, err) < 0 &&
	    !gone(errno))
		return -1;
	memmove(&t->routes[i], &t->routes[i + 1],
		(t->n_routes - (size_t)i - 1) * sizeof t->routes[0]);
	t->n_routes--;
	return 0;
}
