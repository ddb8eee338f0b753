/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netlink.c - rtnetlink requests through libmnl; contract in netlink.h.
 * The only file of mavpn that includes libmnl.h.
 *
 * Each request is built in a stack buffer with the _check put variants,
 * sent with NLM_F_ACK, and answered by transact(): it reads replies until
 * the ACK / error / NLMSG_DONE for our sequence number, hands data messages
 * to a callback, and turns an error into errno plus the ext-ack text
 * (libmnl 1.0.4 does not decode ext-ack, so we read NLMSGERR_ATTR_MSG).
 */
#include "tun/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define REQ_BUF 1024
#define RECV_BUF 32768
#define EXTACK_MAX 160

typedef int (*data_cb)(const struct nlmsghdr *nlh, void *data);

/* "mavpn0", or "ifindex 7" when the index does not resolve. */
static const char *ifdesc(int ifindex, char out[static IF_NAMESIZE + 16])
{
	char name[IF_NAMESIZE];

	if (ifindex > 0 && if_indextoname((unsigned)ifindex, name))
		snprintf(out, IF_NAMESIZE + 16, "%s", name);
	else
		snprintf(out, IF_NAMESIZE + 16, "ifindex %d", ifindex);
	return out;
}

static const char *prefix_str(int family, const uint8_t *addr, unsigned len,
			      char out[static INET6_ADDRSTRLEN + 8])
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(family, addr, a, sizeof a))
		snprintf(a, sizeof a, "?");
	snprintf(out, INET6_ADDRSTRLEN + 8, "%s/%u", a, len);
	return out;
}

/* Writes "<what>: <extack> (<strerror>)" or "<what>: <strerror>". */
static void fail(char *err, int e, const char *extack, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void fail(char *err, int e, const char *extack, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(err, NL_ERR_MAX, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n < NL_ERR_MAX - 1) {
		char *p = err + n;
		size_t room = (size_t)(NL_ERR_MAX - n);

		if (extack && extack[0])
			snprintf(p, room, ": %s (%s)", extack, strerror(e));
		else
			snprintf(p, room, ": %s", strerror(e));
	}
	errno = e;
}

/* Copy NLMSGERR_ATTR_MSG out of an error message, if present. */
static void read_extack(const struct nlmsghdr *nlh, char out[static EXTACK_MAX])
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off, total = nlh->nlmsg_len;
	const struct nlattr *attr;

	out[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (total < MNL_NLMSG_HDRLEN + sizeof *e)
		return;
	/* The original request follows, whole unless capped. */
	off = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof *e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += MNL_ALIGN(e->msg.nlmsg_len) - MNL_ALIGN(sizeof(struct nlmsghdr));
	if (off > total)
		return;
	for (attr = (const struct nlattr *)((const char *)nlh + off);
	     mnl_attr_ok(attr, (int)(total - ((const char *)attr - (const char *)nlh)));
	     attr = mnl_attr_next(attr)) {
		if (mnl_attr_get_type(attr) != NLMSGERR_ATTR_MSG)
			continue;
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			return;
		snprintf(out, EXTACK_MAX, "%s", mnl_attr_get_str(attr));
		/* strip a trailing newline some subsystems add */
		size_t n = strlen(out);
		if (n && out[n - 1] == '\n')
			out[n - 1] = '\0';
		return;
	}
}

/*
 * Send nlh and read until our ACK, error, or NLMSG_DONE. Returns 0, or -1
 * with errno and extack filled (possibly empty).
 */
static int transact(struct nl *nl, struct nlmsghdr *nlh, data_cb cb, void *data,
		    char extack[static EXTACK_MAX])
{
	char buf[RECV_BUF];
	uint32_t seq;

	extack[0] = '\0';
	if (!nl->sock) {
		errno = EBADF;
		return -1;
	}
	seq = ++nl->seq;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -1;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, sizeof buf);
		const struct nlmsghdr *m;
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		len = (int)n;
		for (m = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(m, len);
		     m = mnl_nlmsg_next(m, &len)) {
			if (!mnl_nlmsg_seq_ok(m, seq) || !mnl_nlmsg_portid_ok(m, nl->portid))
				continue;	/* stale answer to an earlier request */
			if (m->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);

				if (m->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof *e) {
					errno = EBADMSG;
					return -1;
				}
				if (e->error == 0)
					return 0;
				read_extack(m, extack);
				errno = -e->error;
				return -1;
			}
			if (m->nlmsg_type == NLMSG_DONE) {
				if (m->nlmsg_len >= MNL_NLMSG_HDRLEN + sizeof(int)) {
					int e;

					memcpy(&e, mnl_nlmsg_get_payload(m), sizeof e);
					if (e < 0) {
						read_extack(m, extack);
						errno = -e;
						return -1;
					}
				}
				return 0;
			}
			if (m->nlmsg_type < NLMSG_MIN_TYPE)
				continue;	/* NOOP, OVERRUN */
			if (cb && cb(m, data) < 0)
				return -1;
		}
	}
}

int nl_open(struct nl *nl, char err[static NL_ERR_MAX])
{
	int one = 1;

	nl->sock = NULL;
	nl->seq = 0;
	nl->portid = 0;
	struct mnl_socket *s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!s) {
		fail(err, errno, NULL, "cannot open rtnetlink socket");
		return -1;
	}
	if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		mnl_socket_close(s);
		fail(err, e, NULL, "cannot bind rtnetlink socket");
		return -1;
	}
	/* Both are best effort: old kernels answer without text. */
	(void)mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &one, sizeof one);
	(void)mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof one);
	nl->sock = s;
	nl->portid = mnl_socket_get_portid(s);
	return 0;
}

void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

/* ---- links ------------------------------------------------------------- */

static struct nlmsghdr *link_msg(char *buf, uint16_t type, int ifindex,
				 struct ifinfomsg **ifi)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	*ifi = mnl_nlmsg_put_extra_header(nlh, sizeof **ifi);
	(*ifi)->ifi_family = AF_UNSPEC;
	(*ifi)->ifi_index = ifindex;
	return nlh;
}

static int link_info_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_link_info *out = data;
	const struct ifinfomsg *ifi;
	const struct nlattr *attr;

	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof *ifi)
		return 0;
	ifi = mnl_nlmsg_get_payload(nlh);
	out->flags = ifi->ifi_flags;
	mnl_attr_for_each(attr, nlh, sizeof *ifi) {
		uint16_t type = mnl_attr_get_type(attr);

		if (type == IFLA_MTU && mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			out->mtu = mnl_attr_get_u32(attr);
		else if (type == IFLA_TXQLEN && mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			out->txqlen = mnl_attr_get_u32(attr);
		else if (type == IFLA_STATS64 &&
			 mnl_attr_get_payload_len(attr) >= sizeof(struct rtnl_link_stats64)) {
			struct rtnl_link_stats64 st;

			/* copy: the payload is only 4-byte aligned */
			memcpy(&st, mnl_attr_get_payload(attr), sizeof st);
			out->has_stats = true;
			out->tx_dropped = st.tx_dropped;
			out->rx_dropped = st.rx_dropped;
		}
	}
	return 0;
}

int nl_link_get(struct nl *nl, int ifindex, struct nl_link_info *out,
		char err[static NL_ERR_MAX])
{
	char buf[REQ_BUF], ext[EXTACK_MAX], d[IF_NAMESIZE + 16];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, ifindex, &ifi);

	memset(out, 0, sizeof *out);
	if (transact(nl, nlh, link_info_cb, out, ext) < 0) {
		fail(err, errno, ext, "cannot read link %s", ifdesc(ifindex, d));
		return -1;
	}
	return 0;
}

static int link_set(struct nl *nl, int ifindex, int up, unsigned mtu,
		    char err[static NL_ERR_MAX])
{
	char buf[REQ_BUF], ext[EXTACK_MAX], d[IF_NAMESIZE + 16];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, ifindex, &ifi);

	if (up >= 0) {
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = up ? IFF_UP : 0;
	}
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (transact(nl, nlh, NULL, NULL, ext) == 0)
		return 0;
	if (up < 0)
		fail(err, errno, ext, "cannot set MTU %u on %s", mtu, ifdesc(ifindex, d));
	else if (mtu)
		fail(err, errno, ext, "cannot bring %s up with MTU %u", ifdesc(ifindex, d), mtu);
	else
		fail(err, errno, ext, "cannot set %s %s", ifdesc(ifindex, d), up ? "up" : "down");
	return -1;
}

int nl_link_up(struct nl *nl, int ifindex, unsigned mtu, char err[static NL_ERR_MAX])
{
	return link_set(nl, ifindex, 1, mtu, err);
}

int nl_link_down(struct nl *nl, int ifindex, char err[static NL_ERR_MAX])
{
	return link_set(nl, ifindex, 0, 0, err);
}

int nl_link_set_mtu(struct nl *nl, int ifindex, unsigned mtu, char err[static NL_ERR_MAX])
{
	char d[IF_NAMESIZE + 16];

	if (mtu == 0) {
		fail(err, EINVAL, NULL, "cannot set MTU 0 on %s", ifdesc(ifindex, d));
		return -1;
	}
	return link_set(nl, ifindex, -1, mtu, err);
}

int nl_link_set_txqlen(struct nl *nl, int ifindex, unsigned txqlen, char err[static NL_ERR_MAX])
{
	char buf[REQ_BUF], ext[EXTACK_MAX], d[IF_NAMESIZE + 16];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, ifindex, &ifi);

	mnl_attr_put_u32(nlh, IFLA_TXQLEN, txqlen);
	if (transact(nl, nlh, NULL, NULL, ext) < 0) {
		fail(err, errno, ext, "cannot set txqueuelen %u on %s", txqlen, ifdesc(ifindex, d));
		return -1;
	}
	return 0;
}

int nl_link_del(struct nl *nl, int ifindex, char err[static NL_ERR_MAX])
{
	char buf[REQ_BUF], ext[EXTACK_MAX], d[IF_NAMESIZE + 16];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;

	ifdesc(ifindex, d);	/* before it goes */
	nlh = link_msg(buf, RTM_DELLINK, ifindex, &ifi);
	if (transact(nl, nlh, NULL, NULL, ext) < 0) {
		fail(err, errno, ext, "cannot delete link %s", d);
		return -1;
	}
	return 0;
}

/* ---- addresses and routes: argument checks ------------------------------ */

static int addr_bytes(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* Validates family and prefixlen; fills desc. 0 or -1 + err. */
static int check_prefix(const char *what, int family, const uint8_t *addr,
			unsigned len, bool need_masked, char desc[static INET6_ADDRSTRLEN + 8],
			char err[static NL_ERR_MAX])
{
	int n = addr_bytes(family);

	if (!n) {
		fail(err, EAFNOSUPPORT, NULL, "%s: unknown address family %d", what, family);
		return -1;
	}
	prefix_str(family, addr, len, desc);
	if (len > (unsigned)n * 8) {
		fail(err, EINVAL, NULL, "%s %s: invalid prefix length %u (IPv%d allows 0..%d)",
		     what, desc, len, family == AF_INET ? 4 : 6, n * 8);
		return -1;
	}
	if (need_masked) {
		for (unsigned bit = len; bit < (unsigned)n * 8; bit++) {
			if (addr[bit / 8] & (0x80u >> (bit % 8))) {
				fail(err, EINVAL, NULL, "%s %s: host bits set beyond /%u",
				     what, desc, len);
				return -1;
			}
		}
	}
	return 0;
}

/* ---- addresses ---------------------------------------------------------- */

static int addr_req(struct nl *nl, uint16_t type, int ifindex, int family,
		    const uint8_t *addr, unsigned prefixlen, bool noprefixroute,
		    char err[static NL_ERR_MAX])
{
	const char *verb = type == RTM_NEWADDR ? "add" : "delete";
	const char *prep = type == RTM_NEWADDR ? "to" : "from";
	char buf[REQ_BUF], ext[EXTACK_MAX], d[IF_NAMESIZE + 16];
	char desc[INET6_ADDRSTRLEN + 8], what[64];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	uint32_t flags = 0;
	size_t n = (size_t)addr_bytes(family);

	snprintf(what, sizeof what, "cannot %s address", verb);
	if (check_prefix(what, family, addr, prefixlen, false, desc, err) < 0)
		return -1;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	if (type == RTM_NEWADDR)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = (uint8_t)prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	/* TUN is point-to-point: IFA_ADDRESS alone would be read as the peer. */
	mnl_attr_put(nlh, IFA_LOCAL, n, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, n, addr);
	if (type == RTM_NEWADDR) {
		if (family == AF_INET6)
			flags |= IFA_F_NODAD;
		if (noprefixroute)
			flags |= IFA_F_NOPREFIXROUTE;
		if (flags)
			mnl_attr_put_u32(nlh, IFA_FLAGS, flags);
	}
	if (transact(nl, nlh, NULL, NULL, ext) < 0) {
		fail(err, errno, ext, "cannot %s address %s %s %s", verb, desc, prep,
		     ifdesc(ifindex, d));
		return -1;
	}
	return 0;
}

int nl_addr_add(struct nl *nl, int ifindex, int family, const uint8_t *addr,
		unsigned prefixlen, bool noprefixroute, char err[static NL_ERR_MAX])
{
	return addr_req(nl, RTM_NEWADDR, ifindex, family, addr, prefixlen, noprefixroute, err);
}

int nl_addr_del(struct nl *nl, int ifindex, int family, const uint8_t *addr,
		unsigned prefixlen, char err[static NL_ERR_MAX])
{
	return addr_req(nl, RTM_DELADDR, ifindex, family, addr, prefixlen, false, err);
}

/* ---- routes ------------------------------------------------------------- */

static int route_req(struct nl *nl, uint16_t type, int ifindex, int family,
		     const uint8_t *dst, unsigned prefixlen, unsigned metric,
		     char err[static NL_ERR_MAX])
{
	const char *verb = type == RTM_NEWROUTE ? "add" : "delete";
	char buf[REQ_BUF], ext[EXTACK_MAX], d[IF_NAMESIZE + 16];
	char desc[INET6_ADDRSTRLEN + 8], what[64];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	snprintf(what, sizeof what, "cannot %s route", verb);
	if (check_prefix(what, family, dst, prefixlen, true, desc, err) < 0)
		return -1;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = (uint8_t)prefixlen;
	rtm->rtm_table = RT_TABLE_MAIN;
	if (type == RTM_NEWROUTE) {
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
		rtm->rtm_protocol = RTPROT_STATIC;
		rtm->rtm_type = RTN_UNICAST;
		rtm->rtm_scope = family == AF_INET ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	} else {
		/* match any protocol/type, as `ip route del` does */
		rtm->rtm_protocol = RTPROT_UNSPEC;
		rtm->rtm_type = RTN_UNSPEC;
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	}
	if (prefixlen)
		mnl_attr_put(nlh, RTA_DST, (size_t)addr_bytes(family), dst);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	if (metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, metric);
	if (transact(nl, nlh, NULL, NULL, ext) < 0) {
		fail(err, errno, ext, "cannot %s route %s dev %s", verb, desc, ifdesc(ifindex, d));
		return -1;
	}
	return 0;
}

int nl_route_add(struct nl *nl, int ifindex, int family, const uint8_t *dst,
		 unsigned prefixlen, unsigned metric, char err[static NL_ERR_MAX])
{
	return route_req(nl, RTM_NEWROUTE, ifindex, family, dst, prefixlen, metric, err);
}

int nl_route_del(struct nl *nl, int ifindex, int family, const uint8_t *dst,
		 unsigned prefixlen, unsigned metric, char err[static NL_ERR_MAX])
{
	return route_req(nl, RTM_DELROUTE, ifindex, family, dst, prefixlen, metric, err);
}

struct route_find {
	int family;
	const uint8_t *dst;
	unsigned len;
	int prefer_oif;
	int found;
	int oif;
};

static int route_find_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_find *f = data;
	const struct rtmsg *rtm;
	const struct nlattr *attr;
	uint32_t table;
	int oif = 0;
	bool dst_ok;
	size_t n = (size_t)addr_bytes(f->family);

	if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof *rtm)
		return 0;
	rtm = mnl_nlmsg_get_payload(nlh);
	if (rtm->rtm_family != f->family || rtm->rtm_dst_len != f->len)
		return 0;
	table = rtm->rtm_table;
	dst_ok = f->len == 0;
	mnl_attr_for_each(attr, nlh, sizeof *rtm) {
		switch (mnl_attr_get_type(attr)) {
		case RTA_TABLE:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				table = mnl_attr_get_u32(attr);
			break;
		case RTA_DST:
			if (mnl_attr_get_payload_len(attr) == n)
				dst_ok = memcmp(mnl_attr_get_payload(attr), f->dst, n) == 0;
			break;
		case RTA_OIF:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				oif = (int)mnl_attr_get_u32(attr);
			break;
		default:
			break;
		}
	}
	if (table != RT_TABLE_MAIN || !dst_ok)
		return 0;
	if (!f->found || oif == f->prefer_oif)
		f->oif = oif;
	f->found = 1;
	return 0;
}

int nl_route_find(struct nl *nl, int family, const uint8_t *dst, unsigned prefixlen,
		  int *oif, char err[static NL_ERR_MAX])
{
	char buf[REQ_BUF], ext[EXTACK_MAX], desc[INET6_ADDRSTRLEN + 8];
	struct route_find f = { family, dst, prefixlen, *oif, 0, 0 };
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (check_prefix("cannot look up route", family, dst, prefixlen, false, desc, err) < 0)
		return -1;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
	rtm->rtm_family = (uint8_t)family;
	if (transact(nl, nlh, route_find_cb, &f, ext) < 0) {
		fail(err, errno, ext, "cannot look up route %s", desc);
		return -1;
	}
	*oif = f.found ? f.oif : 0;
	return f.found;
}
