/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * audit.c - audit rows and last_seen updates, written off the hot path.
 *
 * The brokering path never writes the registry itself: each event becomes a
 * queued row (at most one pending last_seen row per node), and a timer
 * writes the queue every KBD_AUDIT_FLUSH_S in batches of at most
 * AUDIT_BATCH_ROWS rows. A batch is ONE registry transaction
 * (registry_begin .. registry_commit): one fsync per batch instead of one
 * per row, a few microseconds per row. Every row is written itemized.
 *
 * A round writes batches until the queue is empty or KBD_AUDIT_BUDGET_MS
 * has passed (always at least one batch), so a backlog never stalls the
 * loop for long; what is left waits for the next round. A row leaves the
 * queue only once its batch is committed: a batch that fails (database
 * error, lock held elsewhere past the busy timeout) is rolled back whole,
 * stays queued and is tried again next round.
 *
 * Last resort, overflow: the queue holds at most AUDIT_QUEUE_HARD_MAX rows
 * (about 130 bytes each, ~34 MB) before it stops taking event rows. That
 * is only reached when the registry cannot be written for a long while
 * (disk full, I/O errors) or events outrun the disk for tens of seconds
 * (a batch of 4096 rows commits in a few ms). Then each new event row is
 * dropped instead of queued: counted by kind in kb->aq_dropped[] and in
 * the status counter audit_dropped, logged (rate limited), and the next
 * committed batch carries one "audit_overflow" row per kind saying how many
 * rows were lost. last_seen updates are never dropped (one per node at
 * most). At shutdown everything queued is written (three tries); if the
 * registry still fails, the rows lost are counted and logged.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "keybroker/kbd.h"
#include "keybroker/registry.h"

#define AUDIT_BATCH_ROWS 4096		/* rows per transaction */
#define AUDIT_QUEUE_HARD_MAX KBD_AUDIT_QUEUE_MAX
#define AUDIT_DETAIL_MAX 160		/* formatted detail incl. NUL */

struct audit_row {
	struct audit_row *next;
	int64_t time;
	int64_t node_id;		/* last_seen row when event is NULL */
	const char *event;		/* static string */
	const char *node, *peer, *detail;	/* into text[], NULL when empty */
	char text[];
};

/* Kinds counted when rows are dropped (kb->aq_dropped[i]). */
static const char *const dropped_kind[] = {
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

static void drop(struct kbd *kb, const char *event, const char *why)
{
	static struct log_ratelimit rl;
	size_t i;

	for (i = 0; i < 3 && strcmp(event, dropped_kind[i]) != 0; i++)
		;
	kb->aq_dropped[i]++;
	kb->cnt.audit_dropped++;
	if (log_ratelimited(&rl))
		log_error("audit row '%s' dropped: %s (%llu dropped so far)", event, why,
			  (unsigned long long)kb->cnt.audit_dropped);
}

/* Copy s (may be NULL or "") into *pos; NULL when empty. */
static const char *stash(char **pos, const char *s, size_t len)
{
	char *out = *pos;

	if (!len)
		return NULL;
	memcpy(out, s, len);
	out[len] = '\0';
	*pos += len + 1;
	return out;
}

void audit_event(struct kbd *kb, const char *event, const char *node, const char *peer,
		 const char *fmt, ...)
{
	char detail[AUDIT_DETAIL_MAX];
	struct audit_row *r;
	size_t ln, lp, ld;
	char *pos;
	va_list ap;

	if (!event || !*event)
		event = "other";	/* the registry refuses an empty event */
	if (kb->aq_len >= AUDIT_QUEUE_HARD_MAX) {
		drop(kb, event, "audit queue full (registry not keeping up)");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	ln = node ? strnlen(node, PKI_NAME_MAX) : 0;
	lp = peer ? strnlen(peer, PKI_NAME_MAX) : 0;
	ld = strlen(detail);
	r = malloc(sizeof *r + ln + lp + ld + 3);
	if (!r) {
		drop(kb, event, "out of memory");
		return;
	}
	pos = r->text;
	r->next = NULL;
	r->time = time(NULL);
	r->node_id = 0;
	r->event = event;
	r->node = stash(&pos, node, ln);
	r->peer = stash(&pos, peer, lp);
	r->detail = stash(&pos, detail, ld);
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
		return;		/* written with the node's next update */
	n->last_seen_dirty = true;
	r->node_id = n->id;
	r->time = n->last_seen;
	push(kb, r);
}

/* Write one row into the open batch. false when the batch has failed. */
static bool write_row(struct kbd *kb, const struct audit_row *r, char *err)
{
	enum reg_result res;

	if (!r->event) {
		struct kbnode *n = dir_by_id(kb, r->node_id);

		res = registry_node_set_last_seen(kb->reg, r->node_id,
						  n ? n->last_seen : r->time, err);
		return res == REG_OK || res == REG_NOT_FOUND;
	}
	res = registry_audit_add(kb->reg, r->time, r->event, r->node, r->peer, r->detail, err);
	return res == REG_OK;
}

/* "audit_overflow" rows for the rows dropped since the last batch. */
static bool write_overflow(struct kbd *kb, char *err)
{
	for (size_t i = 0; i < 4; i++) {
		char detail[96];

		if (!kb->aq_dropped[i])
			continue;
		snprintf(detail, sizeof detail, "%llu %s rows dropped: audit queue full",
			 (unsigned long long)kb->aq_dropped[i], dropped_kind[i]);
		if (registry_audit_add(kb->reg, time(NULL), "audit_overflow", NULL, NULL,
				       detail, err) != REG_OK)
			return false;
	}
	return true;
}

/* Pop n rows from the head of the queue (they were committed). */
static void pop_written(struct kbd *kb, size_t count)
{
	while (count--) {
		struct audit_row *r = kb->aq_head;

		kb->aq_head = r->next;
		if (!kb->aq_head)
			kb->aq_tail = NULL;
		kb->aq_len--;
		if (r->event) {
			kb->cnt.audit_rows++;
		} else {
			struct kbnode *n = dir_by_id(kb, r->node_id);

			if (n)
				n->last_seen_dirty = false;
		}
		free(r);
	}
}

/* Write up to AUDIT_BATCH_ROWS rows from the head in one transaction.
 * 0 when committed (rows popped), -1 when it failed (rows stay queued). */
static int write_batch(struct kbd *kb)
{
	static struct log_ratelimit rl;
	char err[REGISTRY_ERR_MAX] = "";
	const struct audit_row *r;
	size_t n = 0;
	bool ok;

	if (registry_begin(kb->reg, err) != REG_OK)
		goto fail;
	ok = write_overflow(kb, err);
	for (r = kb->aq_head; ok && r && n < AUDIT_BATCH_ROWS; r = r->next, n++)
		ok = write_row(kb, r, err);
	if (!ok) {
		registry_rollback(kb->reg);
		goto fail;
	}
	if (registry_commit(kb->reg, err) != REG_OK)
		goto fail;
	memset(kb->aq_dropped, 0, sizeof kb->aq_dropped);
	pop_written(kb, n);
	return 0;
fail:
	kb->cnt.db_errors++;
	if (log_ratelimited(&rl))
		log_error("audit batch not written (%zu rows queued, kept for retry): %s",
			  kb->aq_len, err);
	return -1;
}

/* Shutdown after the registry failed: free what could not be written. */
static void discard_all(struct kbd *kb)
{
	size_t events = 0, seen = 0;
	struct audit_row *r;

	while ((r = kb->aq_head) != NULL) {
		kb->aq_head = r->next;
		if (r->event) {
			events++;
			kb->cnt.audit_dropped++;
		} else {
			seen++;
		}
		free(r);
	}
	kb->aq_tail = NULL;
	kb->aq_len = 0;
	log_error("shutdown: %zu audit rows and %zu last_seen updates lost "
		  "(the registry could not be written)", events, seen);
}

void audit_flush(struct kbd *kb, bool all)
{
	uint64_t start = log_now_ms();
	bool overflow = false;
	int failures = 0;

	for (size_t i = 0; i < 4; i++)
		overflow |= kb->aq_dropped[i] != 0;
	if (!kb->aq_head && !overflow)
		return;
	do {
		/* a round stops at its first failure; shutdown tries 3 times */
		if (write_batch(kb) < 0 && (!all || ++failures == 3))
			break;
	} while (kb->aq_head && (all || log_now_ms() - start < KBD_AUDIT_BUDGET_MS));
	if (all && kb->aq_head)
		discard_all(kb);
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
