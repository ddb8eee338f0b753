/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * audit.c - audit rows and last_seen updates, written off the hot path.
 *
 * A registry write is a transaction with an fsync (~0.3 ms here), so the
 * brokering path never writes one itself: rows are queued and written by a
 * timer every KBD_AUDIT_FLUSH_S, spending at most KBD_AUDIT_BUDGET_MS per
 * flush. When more rows arrive than the budget can write (thousands of
 * grants per second), the queue is capped at KBD_AUDIT_QUEUE_MAX and the
 * excess is written as summary rows ("audit_summary": N session_grant rows
 * not itemized), so the log still accounts for every event. Everything left
 * is written at shutdown.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "keybroker/kbd.h"
#include "keybroker/registry.h"

struct audit_row {
	struct audit_row *next;
	int64_t time;
	int64_t node_id;		/* last_seen row when event is NULL */
	const char *event;		/* static string */
	char node[PKI_NAME_MAX + 1];
	char peer[PKI_NAME_MAX + 1];
	char detail[160];
};

static const char *const summarized_event[] = {
	"session_grant", "session_refuse", "connect_refused", "other",
};

static void push(struct kbd *kb, struct audit_row *r)
{
	if (kb->aq_tail)
		kb->aq_tail->next = r;
	else
		kb->aq_head = r;
	kb->aq_tail = r;
	kb->aq_len++;
}

void audit_event(struct kbd *kb, const char *event, const char *node, const char *peer,
		 const char *fmt, ...)
{
	struct audit_row *r;
	va_list ap;

	if (kb->aq_len >= KBD_AUDIT_QUEUE_MAX) {
		size_t i;

		for (i = 0; i < 3 && strcmp(event, summarized_event[i]) != 0; i++)
			;
		kb->aq_summarized[i]++;
		kb->cnt.audit_summarized++;
		return;
	}
	r = calloc(1, sizeof *r);
	if (!r) {
		kb->aq_summarized[3]++;
		return;
	}
	r->time = time(NULL);
	r->event = event;
	snprintf(r->node, sizeof r->node, "%s", node ? node : "");
	snprintf(r->peer, sizeof r->peer, "%s", peer ? peer : "");
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof r->detail, fmt, ap);
	va_end(ap);
	push(kb, r);
}

void audit_last_seen(struct kbd *kb, struct kbnode *n)
{
	struct audit_row *r;

	n->last_seen = time(NULL);
	if (n->last_seen_dirty)
		return;
	r = calloc(1, sizeof *r);
	if (!r)
		return;
	n->last_seen_dirty = true;
	r->node_id = n->id;
	r->time = n->last_seen;
	push(kb, r);
}

static void write_row(struct kbd *kb, struct audit_row *r)
{
	char err[REGISTRY_ERR_MAX] = "";
	enum reg_result res;

	if (!r->event) {
		struct kbnode *n = dir_by_id(kb, r->node_id);

		if (n)
			n->last_seen_dirty = false;
		res = registry_node_set_last_seen(kb->reg, r->node_id,
						  n ? n->last_seen : r->time, err);
	} else {
		res = registry_audit_add(kb->reg, r->time, r->event,
					 r->node[0] ? r->node : NULL,
					 r->peer[0] ? r->peer : NULL,
					 r->detail[0] ? r->detail : NULL, err);
		if (res == REG_OK)
			kb->cnt.audit_rows++;
	}
	if (res != REG_OK) {
		static struct log_ratelimit rl;

		kb->cnt.db_errors++;
		if (log_ratelimited(&rl))
			log_error("registry write failed: %s", err);
	}
}

void audit_flush(struct kbd *kb, bool all)
{
	uint64_t start = log_now_ms();
	struct audit_row *r;

	while ((r = kb->aq_head) != NULL) {
		if (!all && log_now_ms() - start >= KBD_AUDIT_BUDGET_MS)
			break;
		kb->aq_head = r->next;
		if (!kb->aq_head)
			kb->aq_tail = NULL;
		kb->aq_len--;
		write_row(kb, r);
		free(r);
	}
	for (size_t i = 0; i < 4; i++) {
		char detail[96], err[REGISTRY_ERR_MAX];

		if (!kb->aq_summarized[i])
			continue;
		snprintf(detail, sizeof detail, "%llu %s rows not itemized (audit rate limit)",
			 (unsigned long long)kb->aq_summarized[i], summarized_event[i]);
		if (registry_audit_add(kb->reg, time(NULL), "audit_summary", NULL, NULL,
				       detail, err) == REG_OK)
			kb->aq_summarized[i] = 0;
	}
}

static void flush_cb(EV_P_ ev_timer *w, int revents)
{
	struct kbd *kb = w->data;

	(void)EV_A;
	(void)revents;
	audit_flush(kb, false);
}

void audit_init(struct kbd *kb)
{
	ev_timer_init(&kb->audit_timer, flush_cb, KBD_AUDIT_FLUSH_S, KBD_AUDIT_FLUSH_S);
	kb->audit_timer.data = kb;
	ev_timer_start(kb->loop, &kb->audit_timer);
}

void audit_stop(struct kbd *kb)
{
	ev_timer_stop(kb->loop, &kb->audit_timer);
	audit_flush(kb, true);
}
