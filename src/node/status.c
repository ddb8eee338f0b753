// SPDX-License-Identifier: GPL-2.0-only
/* status.c - drop counters and the status renderers; contract in status.h. */
#include "common/strbuf.h"
#include "node/status.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const drop_names[DROP_MAX] = {
	[DROP_BAD_HEADER] = "bad_header",
	[DROP_UNKNOWN_INDEX] = "unknown_index",
	[DROP_REPLAY] = "replay",
	[DROP_TAG] = "tag",
	[DROP_SRC_NOT_ALLOWED] = "src_not_allowed",
	[DROP_QUEUE_FULL] = "queue_full",
	[DROP_NO_SESSION] = "no_session",
	[DROP_NO_ROUTE] = "no_route",
	[DROP_REFUSED] = "refused",
	[DROP_TIMEOUT] = "timeout",
	[DROP_TOO_BIG] = "too_big",
	[DROP_BAD_INNER] = "bad_inner",
	[DROP_EXPIRED] = "expired",
	[DROP_SEND_ERROR] = "send_error",
	[DROP_TUN_WRITE] = "tun_write",
};

const char *drop_reason_name(enum drop_reason r)
{
	return (unsigned)r < DROP_MAX ? drop_names[r] : "?";
}

void node_drop(struct node_drops *d, enum drop_reason r, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if ((unsigned)r >= DROP_MAX)
		log_bug("drop reason %d", (int)r);
	d->count[r]++;
	if (!log_ratelimited(&d->rl[r]))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	log_warn("drop (%s): %s", drop_names[r], line);
}

/* A JSON string literal (quotes included). */
static void put_str(struct strbuf *o, const char *s)
{
	strbuf_put(o, "\"");
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			strbuf_put(o, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			strbuf_put(o, "\\u%04x", c);
		else
			strbuf_put(o, "%c", c);
	}
	strbuf_put(o, "\"");
}

static void put_ip(struct strbuf *o, const struct ctl_ip *ip)
{
	char a[CTL_ADDRSTRLEN];

	put_str(o, ctl_ip_fmt(ip, a));
}

static void put_prefixes(struct strbuf *o, const struct ctl_prefix *p, unsigned n)
{
	char a[CTL_ADDRSTRLEN];

	strbuf_put(o, "[");
	for (unsigned i = 0; i < n; i++) {
		strbuf_put(o, i ? "," : "");
		put_str(o, ctl_prefix_fmt(&p[i], a));
	}
	strbuf_put(o, "]");
}

/* A count of seconds, or null when negative (none). */
static void put_int_or_null(struct strbuf *o, int64_t v)
{
	if (v < 0)
		strbuf_put(o, "null");
	else
		strbuf_put(o, "%" PRId64, v);
}

static int finish(struct strbuf *o)
{
	if (o->overflow) {
		if (o->cap)
			o->buf[0] = 0;
		return -1;
	}
	return (int)o->len;
}

int status_json(const struct node_status *s, char *out, size_t cap)
{
	struct strbuf o = { out, cap, 0, cap == 0 };
	char a[CTL_ADDRSTRLEN];

	strbuf_put(&o, "{\"name\":");
	put_str(&o, s->name);
	strbuf_put(&o, ",\"pid\":%d,\"interface\":", s->pid);
	put_str(&o, s->ifname);
	strbuf_put(&o, ",\"vip\":");
	put_ip(&o, &s->vip4);
	strbuf_put(&o, ",\"vip6\":");
	if (s->has_vip6)
		put_ip(&o, &s->vip6);
	else
		strbuf_put(&o, "null");
	strbuf_put(&o, ",\"listen_port\":%u,\"mtu\":%u,\"uptime_s\":%" PRId64, s->listen_port, s->mtu,
	    s->uptime_s);
	strbuf_put(&o, ",\"broker\":{\"address\":");
	put_str(&o, ctl_endpoint_fmt(&s->broker, a));
	strbuf_put(&o, ",\"connected\":%s,\"state\":", s->broker_connected ? "true" : "false");
	put_str(&o, s->broker_state[0] ? s->broker_state : (s->broker_connected ? "connected" : "?"));
	strbuf_put(&o, ",\"observed\":");
	if (s->has_observed)
		put_str(&o, ctl_endpoint_fmt(&s->observed, a));
	else
		strbuf_put(&o, "null");
	strbuf_put(&o, ",\"down_s\":");
	put_int_or_null(&o, s->broker_down_s);
	strbuf_put(&o, ",\"reconnects\":%" PRIu64 "}", s->broker_reconnects);
	strbuf_put(&o, ",\"routes\":");
	put_prefixes(&o, s->routes, s->n_routes);
	strbuf_put(&o, ",\"gateway\":{\"routes\":");
	put_prefixes(&o, s->own_routes, s->n_own_routes);
	strbuf_put(&o, ",\"forward\":%s}", s->forward ? "true" : "false");
	strbuf_put(&o, ",\"peers\":[");
	for (unsigned i = 0; i < s->n_peers && i < STATUS_MAX_PEERS; i++) {
		const struct node_status_peer *p = &s->peers[i];

		strbuf_put(&o, "%s{\"name\":", i ? "," : "");
		put_str(&o, p->name);
		strbuf_put(&o, ",\"vip\":");
		put_ip(&o, &p->vip);
		strbuf_put(&o, ",\"endpoint\":");
		if (p->has_endpoint)
			put_str(&o, ctl_endpoint_fmt(&p->endpoint, a));
		else
			strbuf_put(&o, "null");
		strbuf_put(&o, ",\"state\":");
		put_str(&o, p->state ? p->state : "?");
		strbuf_put(&o, ",\"rx_bytes\":%" PRIu64 ",\"tx_bytes\":%" PRIu64
		    ",\"rx_packets\":%" PRIu64 ",\"tx_packets\":%" PRIu64
		    ",\"session_age_s\":",
		    p->rx_bytes, p->tx_bytes, p->rx_packets, p->tx_packets);
		put_int_or_null(&o, p->session_age_s);
		strbuf_put(&o, ",\"key_left_s\":");
		put_int_or_null(&o, p->key_left_s);
		/* sid as a hex string: JSON numbers lose u64 precision in most parsers */
		strbuf_put(&o, ",\"sid\":\"%016" PRIx64 "\",\"queued\":%u,\"aead\":", p->sid, p->queued);
		if (p->aead)
			put_str(&o, p->aead);
		else
			strbuf_put(&o, "null");
		strbuf_put(&o, ",\"allowed\":");
		put_prefixes(&o, p->allowed, p->n_allowed);
		strbuf_put(&o, "}");
	}
	strbuf_put(&o, "],\"sessions\":{\"initiated\":%" PRIu64 ",\"accepted\":%" PRIu64
	    ",\"rekeys\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"revoked\":%" PRIu64 "}",
	    s->sessions.initiated, s->sessions.accepted, s->sessions.rekeys, s->sessions.refused,
	    s->sessions.revoked);
	if (s->has_tun_stats)
		strbuf_put(&o, ",\"tun\":{\"txqueuelen\":%" PRIu32 ",\"tx_dropped\":%" PRIu64 "}",
		    s->tun_txqueuelen, s->tun_tx_dropped);
	else
		strbuf_put(&o, ",\"tun\":{\"txqueuelen\":null,\"tx_dropped\":null}");
	strbuf_put(&o, ",\"drops\":{");
	for (unsigned r = 0; r < DROP_MAX; r++)
		strbuf_put(&o, "%s\"%s\":%" PRIu64, r ? "," : "", drop_names[r], s->drops[r]);
	strbuf_put(&o, "}}\n");
	return finish(&o);
}

static void put_age(struct strbuf *o, int64_t s)
{
	if (s < 0)
		strbuf_put(o, "-");
	else if (s < 120)
		strbuf_put(o, "%" PRId64 "s", s);
	else if (s < 7200)
		strbuf_put(o, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else
		strbuf_put(o, "%" PRId64 "h%02" PRId64 "m", s / 3600, s / 60 % 60);
}

int status_text(const struct node_status *s, char *out, size_t cap)
{
	struct strbuf o = { out, cap, 0, cap == 0 };
	char a[CTL_ADDRSTRLEN], b[CTL_ADDRSTRLEN];
	uint64_t total = 0;

	strbuf_put(&o, "node %s (pid %d), interface %s, vip %s", s->name, s->pid, s->ifname,
	    ctl_ip_fmt(&s->vip4, a));
	if (s->has_vip6)
		strbuf_put(&o, " %s", ctl_ip_fmt(&s->vip6, a));
	strbuf_put(&o, ", mtu %u, udp port %u, up ", s->mtu, s->listen_port);
	put_age(&o, s->uptime_s);
	strbuf_put(&o, "\nbroker %s: %s", ctl_endpoint_fmt(&s->broker, a),
	    s->broker_connected ? "connected"
	    : strcmp(s->broker_state, "revoked") == 0 ? "REVOKED this node"
	    : "DISCONNECTED");
	if (!s->broker_connected && s->broker_down_s >= 0) {
		strbuf_put(&o, " for ");
		put_age(&o, s->broker_down_s);
	}
	if (strcmp(s->broker_state, "revoked") == 0)
		strbuf_put(&o, " (re-enroll with a new token)");
	if (s->broker_connected && s->has_observed)
		strbuf_put(&o, " (sees us as %s)", ctl_endpoint_fmt(&s->observed, b));
	strbuf_put(&o, "\n");
	if (s->n_routes) {
		strbuf_put(&o, "gateway routes:");
		for (unsigned i = 0; i < s->n_routes; i++)
			strbuf_put(&o, " %s", ctl_prefix_fmt(&s->routes[i], a));
		strbuf_put(&o, "\n");
	}
	if (s->n_own_routes) {
		strbuf_put(&o, "serving as gateway for:");
		for (unsigned i = 0; i < s->n_own_routes; i++)
			strbuf_put(&o, " %s", ctl_prefix_fmt(&s->own_routes[i], a));
		strbuf_put(&o, " (forwarding %s)\n", s->forward ? "on" : "off");
	}
	if (s->n_peers == 0)
		strbuf_put(&o, "no peers\n");
	else
		strbuf_put(&o, "%-16s %-15s %-22s %-8s %12s %12s %7s %7s\n", "PEER", "VIP", "ENDPOINT",
		    "STATE", "RX", "TX", "AGE", "KEY");
	for (unsigned i = 0; i < s->n_peers && i < STATUS_MAX_PEERS; i++) {
		const struct node_status_peer *p = &s->peers[i];
		char age[32], left[32];
		struct strbuf oa = { age, sizeof age, 0, false }, ol = { left, sizeof left, 0, false };

		put_age(&oa, p->session_age_s);
		put_age(&ol, p->key_left_s);
		strbuf_put(&o, "%-16s %-15s %-22s %-8s %12" PRIu64 " %12" PRIu64 " %7s %7s\n", p->name,
		    ctl_ip_fmt(&p->vip, a),
		    p->has_endpoint ? ctl_endpoint_fmt(&p->endpoint, b) : "-",
		    p->state ? p->state : "?", p->rx_bytes, p->tx_bytes, age, left);
	}
	strbuf_put(&o, "sessions: %" PRIu64 " initiated, %" PRIu64 " accepted (%" PRIu64 " rekeys), %"
	    PRIu64 " refused, %" PRIu64 " revoked\n", s->sessions.initiated, s->sessions.accepted,
	    s->sessions.rekeys, s->sessions.refused, s->sessions.revoked);
	for (unsigned r = 0; r < DROP_MAX; r++)
		total += s->drops[r];
	strbuf_put(&o, "drops: %" PRIu64, total);
	for (unsigned r = 0; r < DROP_MAX; r++)
		if (s->drops[r])
			strbuf_put(&o, " %s=%" PRIu64, drop_names[r], s->drops[r]);
	strbuf_put(&o, "\n");
	if (s->has_tun_stats)
		strbuf_put(&o, "tun: tx_dropped %" PRIu64 " (kernel drops before we read; txqueuelen %"
		    PRIu32 ")\n", s->tun_tx_dropped, s->tun_txqueuelen);
	return finish(&o);
}
