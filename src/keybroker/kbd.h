/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kbd.h - the keybroker daemon's shared state (internal to src/keybroker;
 * the public entry points are daemon.h and admin.h).
 *
 * One struct kbd per running daemon, single threaded on the libev default
 * loop. Objects and who owns them:
 *   struct kbnode  directory entry, one per enrolled node (loaded from the
 *                  registry at start, added on enrollment). Never freed while
 *                  the daemon runs (a revoked node is flagged and unhashed),
 *                  so offers and sessions may point at them freely.
 *   struct conn    one accepted TCP connection (conn.h); owns its channel
 *                  and its ev_io. Linked to its kbnode once authenticated.
 *   struct offer   a brokering in flight (SESSION_REQ sent on as OFFER,
 *                  waiting for ACCEPT); holds S until GRANT, then wiped.
 *   struct gsess   a granted session (sid, ends, expiry) kept for
 *                  revocation; forgotten at expiry. Holds no secret.
 *
 * Limits (named constants, each counted in status when hit) live here.
 */
#ifndef MAVPN_KEYBROKER_KBD_H
#define MAVPN_KEYBROKER_KBD_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/tls.h"
#include "keybroker/htab.h"
#include "keybroker/kbstate.h"
#include "proto/ctl.h"

#define KBD_HANDSHAKE_TIMEOUT_MS 10000	/* TCP accept -> TLS ready */
#define KBD_ENROLL_TIMEOUT_MS 10000	/* TLS ready without cert -> ENROLL_REQ */
#define KBD_DEAD_FACTOR 3		/* no frame for 3 x keepalive: dead */
#define KBD_CLOSE_LINGER_MS 2000	/* graceful close, then hard close */
#define KBD_OFFER_TIMEOUT_S 3.0		/* OFFER -> ACCEPT */
#define KBD_MAX_CONNS 20000		/* connection cap (also bounded by fds) */
/*
 * Unauthenticated connections (TLS handshake in progress, or TLS done without
 * a client certificate and not enrolled yet; also while such a connection
 * lingers closing) cost an ECDHE+ECDSA handshake and ~24 KB each and may sit
 * for KBD_HANDSHAKE_TIMEOUT_MS + KBD_ENROLL_TIMEOUT_MS. So that one host
 * cannot fill the connection cap with them:
 *   - at most kbstate.unauth_per_ip (keybroker.conf key unauth_per_ip,
 *     default KBD_UNAUTH_PER_IP) per source address (IPv4 address, or IPv6
 *     /64: one host usually owns a whole /64);
 *   - at most conn_cap / KBD_UNAUTH_CAP_DIV in all (5000 of 20000).
 * Beyond either, a new connection is closed right after accept() (counted:
 * unauth_per_ip_refused / unauth_cap_refused, logged rate-limited). We refuse
 * the newcomer rather than dropping the oldest: dropping would let a flood
 * evict legitimate handshakes in progress, refusing only costs the flooder.
 * A connection stops counting once its client certificate is accepted
 * (AUTHED): authenticated nodes are never limited by this.
 */
#define KBD_UNAUTH_PER_IP KBSTATE_DEFAULT_UNAUTH_PER_IP	/* 32 */
#define KBD_UNAUTH_CAP_DIV 4
#define KBD_FD_RESERVE 64		/* fds kept free for sqlite, admin, ... */
#define KBD_RATE_PER_S 500		/* frames per second per connection */
#define KBD_RATE_BURST 1000
#define KBD_RATE_STRIKES 2000		/* frames over the limit before closing */
#define KBD_MAX_PENDING 128		/* offers in flight per initiator */
#define KBD_ACCEPT_BACKOFF_S 0.1	/* accept() failed (EMFILE...): pause */
#define KBD_SWEEP_S 1.0			/* timeouts, session expiry */
#define KBD_AUDIT_FLUSH_S 0.25		/* deferred audit rows */
#define KBD_AUDIT_BUDGET_MS 20		/* max time per flush writing rows */
#define KBD_AUDIT_QUEUE_MAX 262144	/* queued audit rows; beyond, new events are dropped: counted, logged, recorded as audit_overflow rows */

struct conn;

struct kbnode {
	struct hlink by_id, by_vip4, by_vip6;
	struct kbnode *next;		/* kb->nodes, every entry */
	struct kbnode *gw_next;		/* kb->gateways: entries with routes */
	bool on_gw_list;
	int64_t id;			/* registry row id */
	char name[PKI_NAME_MAX + 1];
	struct ctl_ip vip4;
	bool has_vip6;
	struct ctl_ip vip6;
	char *tags;			/* space-separated, "" when none */
	uint8_t n_routes;		/* approved gateway routes */
	struct ctl_prefix *routes;
	bool revoked;
	bool last_seen_dirty;		/* audit.c: last_seen to write */
	uint32_t mark;			/* scratch for de-duplicating walks */
	struct conn *conn;		/* the live, authenticated connection */
	int64_t last_seen;
};

struct offer {
	struct hlink by_sid, by_pair;
	struct offer *prev, *next;	/* kb->offers */
	struct kbd *kb;
	struct kbnode *a, *b;		/* initiator, responder */
	uint32_t req_id;
	struct ctl_ip dst;
	uint64_t sid;
	uint32_t index_a;
	uint8_t aead;
	uint8_t secret[CTL_SECRET_LEN];	/* S: wiped on free */
	uint8_t eph_a[CTL_EPH_LEN];
	uint64_t started_ms;
	ev_timer timer;
};

struct gsess {
	struct hlink by_sid;
	struct gsess *next;		/* FIFO by expiry */
	struct kbnode *a, *b;		/* NULL once revoked (left for the FIFO) */
	uint64_t sid;
	uint64_t expiry_ms;
};

struct kbd_counters {
	uint64_t accepted, accept_errors, conn_cap_refused;
	uint64_t unauth_per_ip_refused;	/* conn.c: KBD_UNAUTH_PER_IP reached */
	uint64_t unauth_cap_refused;	/* conn.c: conn_cap / KBD_UNAUTH_CAP_DIV reached */
	uint64_t handshakes, handshake_failed, handshake_timeouts;
	uint64_t enrollments, enroll_refused;
	uint64_t connect_refused, replaced, hellos, dead_peers;
	uint64_t offers, grants, coalesced, late_answers;
	uint64_t refusals[CTL_CODE_SHUTDOWN + 1];
	uint64_t revokes_sent, nodes_revoked, sessions_revoked;
	uint64_t protocol_errors, rate_limited, overflow;
	uint64_t reloads, reload_failed, routes_updates;
	uint64_t prefixes_dropped;	/* dir.c: did not fit CTL_MAX_PREFIXES */
	uint64_t endpoints_dropped;	/* broker.c: HELLO endpoint unusable (loopback, overlay...) */
	uint64_t audit_rows, audit_dropped, db_errors;
	uint64_t grant_latency_us_sum;	/* OFFER -> GRANT, for the mean */
};

struct audit_row;
struct aclient;

struct kbd {
	struct ev_loop *loop;
	struct kbstate st;
	struct registry *reg;
	struct policy *pol;
	struct tls_creds *creds;
	char dir[PATH_MAX];

	/* directory */
	struct htab nodes_by_id, nodes_by_vip4, nodes_by_vip6;
	struct kbnode *nodes;
	struct kbnode *gateways;	/* nodes that ever had approved routes */
	size_t n_nodes;			/* live entries (status: nodes_enrolled) */
	uint32_t mark;

	/* connections */
	struct conn *conns;		/* doubly linked */
	struct conn *kick_head;		/* to pump in the prepare watcher */
	size_t n_conns, n_active;
	size_t conn_cap;
	uint64_t next_conn_id;
	/* unauthenticated connections (conn.c): one entry per source address
	 * (struct uaddr) holding the count; keys mixed with a random seed */
	struct htab unauth_by_ip;
	size_t n_unauth;
	uint64_t unauth_seed;
	bool unauth_seeded;

	/* brokering */
	struct htab offers_by_sid, offers_by_pair;
	struct offer *offers;
	size_t n_offers;
	struct htab sess_by_sid;
	struct gsess *sess_head, *sess_tail;
	size_t n_sess;

	/* listener */
	int lfd;
	ev_io lio;
	ev_timer lbackoff;
	char listen_text[CTL_ADDRSTRLEN];

	/* admin socket */
	int afd;
	ev_io aio;
	struct aclient *aclients;	/* admin.c: requests being served */

	/* audit queue (audit.c) */
	struct audit_row *aq_head, *aq_tail;
	size_t aq_len;
	uint64_t aq_dropped[4];
	ev_timer audit_timer;

	ev_signal sig_term, sig_int, sig_hup;
	ev_timer sweep;
	ev_prepare kick;

	struct kbd_counters cnt;
	uint64_t started_ms;
	int64_t started_unix;

	/* tests / fuzzing: when set, frames for connections without a channel
	 * go here instead of a socket. */
	void (*test_sink)(struct conn *c, const struct ctl_msg *m, void *arg);
	void *test_sink_arg;
};

/* Monotonic ms of the loop's current iteration. */
uint64_t kbd_now_ms(const struct kbd *kb);

/* ---- dir.c: the node directory ---------------------------------------- */
struct reg_node;
/* Load every live node from the registry. 0 or -1 (logged). */
int dir_load(struct kbd *kb);
/* Add (or refresh) the entry for a registry row; NULL when out of memory. */
struct kbnode *dir_upsert(struct kbd *kb, const struct reg_node *rn);
struct kbnode *dir_by_id(struct kbd *kb, int64_t id);
/* The live node holding VIP ip (exact), else the gateway whose approved
 * route contains ip (longest prefix); except `self`. NULL when none. */
struct kbnode *dir_lookup_dst(struct kbd *kb, const struct ctl_ip *ip,
			      const struct kbnode *self);
/* The live node named name, NULL when none. */
struct kbnode *dir_by_name(struct kbd *kb, const char *name);
/* Flag revoked, drop from the VIP tables. */
void dir_revoke(struct kbd *kb, struct kbnode *n);
void dir_free(struct kbd *kb);
/* VIPs /32 (/128) + approved routes; returns the count (<= max). The VIPs
 * come first; what does not fit is counted in prefixes_dropped and logged
 * (token create keeps routes within kbstate_max_routes, so only a registry
 * written by other means can get there). */
uint8_t dir_allowed(struct kbd *kb, const struct kbnode *n, struct ctl_prefix *out,
		    uint8_t max);
/* Gateway prefixes of other live nodes that policy lets n reach, without
 * duplicates; beyond max counted in prefixes_dropped and logged. */
uint8_t dir_reachable_routes(struct kbd *kb, const struct kbnode *n,
			     struct ctl_prefix *out, uint8_t max);
bool dir_allows(const struct kbd *kb, const struct kbnode *from, const struct kbnode *to);

/* ---- audit.c: deferred audit rows and last_seen ------------------------ */
void audit_event(struct kbd *kb, const char *event, const char *node,
		 const char *peer, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void audit_last_seen(struct kbd *kb, struct kbnode *n);
/* Write queued rows (within KBD_AUDIT_BUDGET_MS unless all is true). */
void audit_flush(struct kbd *kb, bool all);
void audit_init(struct kbd *kb);
void audit_stop(struct kbd *kb);

/* ---- admin.c: server side ---------------------------------------------- */
int admin_listen(struct kbd *kb);
void admin_stop(struct kbd *kb);

/* ---- status.c ----------------------------------------------------------- */
/* malloc'd text (caller frees), NULL when out of memory. */
char *status_text(struct kbd *kb, bool json);

/* ---- daemon.c ----------------------------------------------------------- */
/* Load state, registry, policy, credentials and the directory of DIR; set
 * up timers on the libev default loop, but open no socket (keybroker_run
 * adds the listener and the admin socket; the fuzz harness uses it bare).
 * NULL on failure (logged). */
struct kbd *kbd_open(const char *dir);
void kbd_close(struct kbd *kb);
/* Reload policy.conf: 0, or -1 with the reason in err (old policy kept). */
int kbd_reload(struct kbd *kb, char *err, size_t errlen);

#endif
