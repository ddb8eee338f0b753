/* SPDX-License-Identifier: GPL-2.0-only */
/* status.c - "status" and "status json" for the admin socket. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "channel/channel.h"
#include "keybroker/conn.h"
#include "keybroker/kbd.h"
#include "keybroker/policy.h"

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t nc = b->cap ? b->cap * 2 : 4096;

		while (nc < b->len + (size_t)n + 1)
			nc *= 2;
		char *np = realloc(b->p, nc);

		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
}

/* Resident set size in KiB, 0 when unknown. */
static unsigned long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	unsigned long v = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %lu kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

struct counter {
	const char *name;
	uint64_t v;
};

static size_t counters(const struct kbd *kb, struct counter *c)
{
	const struct kbd_counters *k = &kb->cnt;
	size_t n = 0;

#define C(field) c[n++] = (struct counter){ #field, k->field }
	C(accepted);
	C(accept_errors);
	C(conn_cap_refused);
	C(unauth_per_ip_refused);
	C(unauth_cap_refused);
	C(handshakes);
	C(handshake_failed);
	C(handshake_timeouts);
	C(enrollments);
	C(enroll_refused);
	C(connect_refused);
	C(replaced);
	C(hellos);
	C(dead_peers);
	C(offers);
	C(grants);
	C(coalesced);
	C(late_answers);
	c[n++] = (struct counter){ "refused_policy", k->refusals[CTL_CODE_POLICY] };
	c[n++] = (struct counter){ "refused_offline", k->refusals[CTL_CODE_OFFLINE] };
	c[n++] = (struct counter){ "refused_unknown_dst", k->refusals[CTL_CODE_UNKNOWN_DST] };
	c[n++] = (struct counter){ "refused_timeout", k->refusals[CTL_CODE_TIMEOUT] };
	c[n++] = (struct counter){ "refused_declined", k->refusals[CTL_CODE_DECLINED] };
	c[n++] = (struct counter){ "refused_limit", k->refusals[CTL_CODE_LIMIT] };
	c[n++] = (struct counter){ "refused_revoked", k->refusals[CTL_CODE_REVOKED] };
	c[n++] = (struct counter){ "refused_internal", k->refusals[CTL_CODE_INTERNAL] };
	C(revokes_sent);
	C(nodes_revoked);
	C(sessions_revoked);
	C(protocol_errors);
	C(rate_limited);
	C(overflow);
	C(reloads);
	C(reload_failed);
	C(routes_updates);
	C(prefixes_dropped);
	C(endpoints_dropped);
	C(audit_rows);
	C(audit_dropped);
	C(db_errors);
#undef C
	return n;
}

static void fmt_time(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

char *status_text(struct kbd *kb, bool json)
{
	struct sbuf b = { 0 };
	struct counter cs[64];
	size_t nc = counters(kb, cs);
	unsigned long rss = rss_kib();
	size_t conn_mem = 0;
	char since[32], started[32];
	bool first = true;

	for (struct conn *c = kb->conns; c; c = c->next)
		conn_mem += sizeof *c + (c->ch ? channel_mem(c->ch) : 0);
	fmt_time(kb->started_unix, started);
	if (json) {
		put(&b, "{\"listen\":\"%s\",\"started\":\"%s\",\"uptime_s\":%llu,"
			"\"nodes_enrolled\":%zu,\"connections\":%zu,\"nodes_connected\":%zu,"
			"\"live_sessions\":%zu,\"offers_in_flight\":%zu,"
			"\"policy_rules\":%d,\"policy_default\":\"%s\","
			"\"rss_kib\":%lu,\"conn_mem_bytes\":%zu,\"counters\":{",
		    kb->listen_text, started,
		    (unsigned long long)(kbd_now_ms(kb) - kb->started_ms) / 1000,
		    kb->n_nodes, kb->n_conns, kb->n_active, kb->n_sess, kb->n_offers,
		    policy_rule_count(kb->pol), policy_default_allow(kb->pol) ? "allow" : "deny",
		    rss, conn_mem);
		for (size_t i = 0; i < nc; i++)
			put(&b, "%s\"%s\":%llu", i ? "," : "", cs[i].name,
			    (unsigned long long)cs[i].v);
		put(&b, "},\"nodes\":[");
	} else {
		put(&b, "listening on %s since %s\n", kb->listen_text, started);
		put(&b, "nodes enrolled %zu, connected %zu (connections %zu), live sessions %zu, "
			"offers in flight %zu\n",
		    kb->n_nodes, kb->n_active, kb->n_conns, kb->n_sess, kb->n_offers);
		put(&b, "policy: %d rule(s), default %s\n", policy_rule_count(kb->pol),
		    policy_default_allow(kb->pol) ? "allow" : "deny");
		put(&b, "memory: RSS %lu KiB, connections %zu KiB\n", rss, conn_mem / 1024);
		put(&b, "counters:\n");
		for (size_t i = 0; i < nc; i++)
			put(&b, "  %-20s %llu\n", cs[i].name, (unsigned long long)cs[i].v);
		put(&b, "connected nodes:\n");
	}
	for (struct conn *c = kb->conns; c; c = c->next) {
		char vip[CTL_ADDRSTRLEN], ep[CTL_ADDRSTRLEN];
		struct ctl_endpoint o;

		if (c->state != CONN_ACTIVE || !c->node)
			continue;
		conn_observed(c, &o);
		ctl_ip_fmt(&c->node->vip4, vip);
		ctl_endpoint_fmt(&o, ep);
		fmt_time(c->since_unix, since);
		if (json)
			put(&b, "%s{\"name\":\"%s\",\"vip\":\"%s\",\"endpoint\":\"%s\","
				"\"since\":\"%s\"}",
			    first ? "" : ",", c->node->name, vip, ep, since);
		else
			put(&b, "  %-24s %-16s %-24s %s\n", c->node->name, vip, ep, since);
		first = false;
	}
	if (json)
		put(&b, "]}\n");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p ? b.p : strdup("");
}
