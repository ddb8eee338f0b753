/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * registry.h - the keybroker's durable state: nodes, enrollment tokens and
 * the audit log, in one SQLite database (DIR/registry.db). registry.c is the
 * only file that includes sqlite3.h.
 *
 * Database: WAL journal, foreign_keys on, busy_timeout 5 s, synchronous
 * FULL. The daemon and the admin command line open it at the same time; WAL
 * makes that safe. A struct registry is used by one thread only.
 *
 * Schema (PRAGMA user_version = REGISTRY_SCHEMA_VERSION; registry_open()
 * applies the missing migrations in order, each in its own transaction, so
 * reopening is idempotent and an old database is upgraded in place):
 *
 *   nodes(id INTEGER PK, name TEXT, vip4 INTEGER (host order), vip6 BLOB(16)
 *         NULL, pub BLOB(65) UNIQUE, serial BLOB(16), cert BLOB (DER),
 *         tags TEXT (space-separated), routes TEXT (space-separated CIDRs),
 *         created INTEGER, last_seen INTEGER NULL, revoked_at INTEGER NULL,
 *         revoke_reason TEXT NULL)
 *      UNIQUE(name) and UNIQUE(vip4) among non-revoked rows only (partial
 *      indexes). A revoked row is KEPT (history, and so its public key stays
 *      refused): the name and the VIP of a revoked node may be enrolled
 *      again, as a new row. A public key is never accepted twice, revoked or
 *      not.
 *   tokens(hash BLOB(32) PK = SHA-256 of the 16-byte secret, name TEXT,
 *         tags TEXT, routes TEXT, created INTEGER, expires INTEGER,
 *         used_at INTEGER NULL, node_id INTEGER NULL REFERENCES nodes)
 *   audit(id INTEGER PK, time INTEGER, event TEXT, node TEXT NULL,
 *         peer TEXT NULL, detail TEXT NULL)
 *
 * Migrations: 1 creates the three tables and the partial unique indexes;
 * 2 adds the lookup indexes (tokens by name, audit by node, nodes by
 * vip6).
 *
 * Times are UNIX seconds (int64). The token secret itself is never stored.
 *
 * Overlay addresses (VIPs). For an IPv4 overlay prefix P/len (len 8..30):
 *   offset 0           network address, never assigned
 *   offset 1           reserved for the keybroker (never given to a node)
 *   offset 2 .. last-1 nodes, lowest free first
 *   last (all ones)    broadcast address, never assigned
 * so a /29 holds 5 nodes and a /30 one. VIPs of revoked nodes are free again.
 * When an IPv6 overlay prefix is configured (len <= 96) a node's VIP6 is
 * that prefix plus the same host offset as its VIP4 (10.98.0.7 <->
 * fd00:98::7), so the two stay paired.
 *
 * Return values: every call returns enum reg_result (REG_OK = 0); on
 * REG_ERR_DB the message is in err (REGISTRY_ERR_MAX bytes, may be NULL).
 */
#ifndef MAVPN_KEYBROKER_REGISTRY_H
#define MAVPN_KEYBROKER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crypto/pki.h"
#include "proto/ctl.h"

#define REGISTRY_SCHEMA_VERSION 2
#define REGISTRY_ERR_MAX 256
#define REG_TOKEN_HASH_LEN 32		/* SHA-256 of the token secret */
#define REG_TAGS_MAX 256		/* "tag1 tag2 ..." incl. NUL */
#define REG_ROUTES_MAX 1024		/* "10.1.0.0/24 fd00:1::/64 ..." incl. NUL */
#define REG_REASON_MAX 128
#define REG_DETAIL_MAX 512		/* audit detail, longer text is cut */

enum reg_result {
	REG_OK = 0,
	REG_ERR_DB,		/* SQLite error / I/O: message in err */
	REG_NOT_FOUND,		/* no such (live) node */
	REG_NAME_TAKEN,		/* a non-revoked node already has this name */
	REG_PUB_TAKEN,		/* this public key is already enrolled (maybe revoked) */
	REG_TOKEN_UNKNOWN,	/* no token with that hash */
	REG_TOKEN_USED,
	REG_TOKEN_EXPIRED,
	REG_POOL_FULL,		/* no free VIP left in the overlay prefix */
	REG_ISSUE_FAILED,	/* the issue callback failed */
	REG_INVALID,		/* bad argument (name, tags, routes, prefix) */
};

/* Text for logs / the command line ("token already used", ...). */
const char *registry_strerror(enum reg_result r);
/* The refusal code an ENROLL_REQ gets for r: TOKEN_UNKNOWN/USED/EXPIRED map
 * to CTL_CODE_TOKEN_*, NAME_TAKEN to CTL_CODE_TOKEN_USED, PUB_TAKEN to
 * CTL_CODE_REVOKED, anything else to CTL_CODE_INTERNAL. */
uint16_t registry_ctl_code(enum reg_result r);

struct registry;

struct reg_node {
	int64_t id;			/* row id, stable; use it for set_last_seen */
	char name[PKI_NAME_MAX + 1];
	struct ctl_ip vip4;		/* af = 4 */
	bool has_vip6;
	struct ctl_ip vip6;		/* af = 6 when has_vip6 */
	uint8_t pub[PKI_PUB_LEN];
	uint8_t serial[PKI_SERIAL_LEN];
	uint16_t cert_len;
	uint8_t cert[PKI_CERT_MAX];	/* node certificate, DER */
	char tags[REG_TAGS_MAX];	/* space-separated, "" when none */
	char routes[REG_ROUTES_MAX];	/* approved gateway routes, text */
	uint8_t n_routes;		/* the same, parsed */
	struct ctl_prefix route[CTL_MAX_PREFIXES];
	int64_t created;
	int64_t last_seen;		/* 0 = never connected */
	int64_t revoked_at;		/* 0 = not revoked */
	char revoke_reason[REG_REASON_MAX];
};

struct reg_token {
	uint8_t hash[REG_TOKEN_HASH_LEN];
	char name[PKI_NAME_MAX + 1];
	char tags[REG_TAGS_MAX];
	char routes[REG_ROUTES_MAX];
	int64_t created, expires;
	int64_t used_at;		/* 0 = unused */
};

struct reg_counts {
	uint32_t nodes;			/* live (non-revoked) nodes */
	uint32_t revoked;		/* revoked rows */
	uint32_t tokens_pending;	/* unused, unexpired at `now` */
	uint32_t audit_rows;
};

/* Open (creating if needed, file mode 0600) and migrate. *out NULL on error.
 * REG_ERR_DB also when the file's user_version is newer than this build. */
enum reg_result registry_open(const char *path, struct registry **out,
			      char err[REGISTRY_ERR_MAX])
	__attribute__((warn_unused_result));
void registry_close(struct registry *r);	/* NULL is fine */
/* The database's schema version (PRAGMA user_version), -1 on error. */
int registry_schema_version(struct registry *r);

/* Validation shared with the command line. Tags: 0..16 words of
 * [a-z0-9_-]{1,31} separated by single spaces. Routes: 0..CTL_MAX_PREFIXES
 * CIDRs (ctl_prefix_parse, host bits zero) separated by single spaces.
 * Canonical forms are what the registry stores. */
bool registry_tags_valid(const char *tags);
bool registry_routes_valid(const char *routes);
/* True when the space-separated list `tags` contains the word `tag`. */
bool registry_has_tag(const char *tags, const char *tag);

/*
 * Add an enrollment token for `name`. Refused with REG_NAME_TAKEN when a
 * non-revoked node already has that name. Older unused tokens for the same
 * name are deleted (the newest token wins). Audit row "token_create".
 */
enum reg_result registry_token_add(struct registry *r,
				   const uint8_t hash[static REG_TOKEN_HASH_LEN],
				   const char *name, const char *tags,
				   const char *routes, int64_t created,
				   int64_t expires, char err[REGISTRY_ERR_MAX])
	__attribute__((warn_unused_result));
enum reg_result registry_token_get(struct registry *r,
				   const uint8_t hash[static REG_TOKEN_HASH_LEN],
				   struct reg_token *out, char err[REGISTRY_ERR_MAX])
	__attribute__((warn_unused_result));

/*
 * Called by registry_enroll() INSIDE its transaction: write the node's
 * certificate (DER) for name/VIPs/pub into der (cap bytes) and its serial.
 * vip6 is NULL when no IPv6 prefix. Returns the DER length or -1.
 * Must not touch the registry.
 */
typedef ssize_t (*registry_issue_fn)(void *arg, const char *name,
				     const struct ctl_ip *vip4,
				     const struct ctl_ip *vip6,
				     const uint8_t pub[PKI_PUB_LEN],
				     uint8_t *der, size_t cap,
				     uint8_t serial[PKI_SERIAL_LEN]);

/*
 * Enrollment, all-or-nothing in ONE transaction (BEGIN IMMEDIATE .. COMMIT):
 * look the token up by hash (REG_TOKEN_UNKNOWN / _USED / _EXPIRED when
 * expires <= now), refuse a name held by a live node (REG_NAME_TAKEN) or a
 * public key seen before (REG_PUB_TAKEN), allocate the lowest free VIP4 in
 * prefix4 (+ VIP6 in prefix6 when not NULL; REG_POOL_FULL), call issue(),
 * insert the node (tags and routes from the token), mark the token used,
 * write the audit row "enroll", commit. On any refusal or error the
 * database is unchanged (a refusal writes only an audit row
 * "enroll_refused" in its own transaction). A crash (kill -9) at any
 * point leaves either nothing or everything. *out filled on REG_OK.
 */
enum reg_result registry_enroll(struct registry *r,
				const uint8_t token_hash[static REG_TOKEN_HASH_LEN],
				const uint8_t pub[static PKI_PUB_LEN], int64_t now,
				const struct ctl_prefix *prefix4,
				const struct ctl_prefix *prefix6,
				registry_issue_fn issue, void *issue_arg,
				struct reg_node *out, char err[REGISTRY_ERR_MAX])
	__attribute__((warn_unused_result));

/* Lookups. by_name and by_vip find only the live (non-revoked) node;
 * by_pub finds any row, revoked ones included (check out->revoked_at: the
 * control channel must refuse a revoked key). REG_NOT_FOUND when none. */
enum reg_result registry_node_by_name(struct registry *r, const char *name,
				      struct reg_node *out, char err[REGISTRY_ERR_MAX])
	__attribute__((warn_unused_result));
enum reg_result registry_node_by_vip(struct registry *r, const struct ctl_ip *vip,
				     struct reg_node *out, char err[REGISTRY_ERR_MAX])
	__attribute__((warn_unused_result));
enum reg_result registry_node_by_pub(struct registry *r,
				     const uint8_t pub[static PKI_PUB_LEN],
				     struct reg_node *out, char err[REGISTRY_ERR_MAX])
	__attribute__((warn_unused_result));

/* Call fn for every node ordered by VIP4 (live first, then revoked ones when
 * include_revoked). fn returns 0 to go on, non-zero to stop (then REG_OK).
 * The struct passed to fn is only valid during the call. */
enum reg_result registry_node_foreach(struct registry *r, bool include_revoked,
				      int (*fn)(void *arg, const struct reg_node *n),
				      void *arg, char err[REGISTRY_ERR_MAX]);

/* Set nodes.last_seen of row node_id (revoked or not). REG_NOT_FOUND when
 * no row has that id. May be part of a batch (registry_begin). */
enum reg_result registry_node_set_last_seen(struct registry *r, int64_t node_id,
					    int64_t now, char err[REGISTRY_ERR_MAX]);

/* Mark the live node `name` revoked at `now` with reason (may be NULL) and
 * write the audit row "revoke", in one transaction. REG_NOT_FOUND when no
 * live node has that name. */
enum reg_result registry_node_revoke(struct registry *r, const char *name,
				     int64_t now, const char *reason,
				     char err[REGISTRY_ERR_MAX])
	__attribute__((warn_unused_result));

/* Append an audit row. event: short word ("session_grant",
 * "session_refuse", "connect_refused", ...), REG_INVALID when NULL or "";
 * node, peer, detail may be NULL (detail cut to REG_DETAIL_MAX - 1). On its
 * own it is one transaction (one fsync); inside a batch (registry_begin) it
 * joins the batch. */
enum reg_result registry_audit_add(struct registry *r, int64_t now, const char *event,
				   const char *node, const char *peer,
				   const char *detail, char err[REGISTRY_ERR_MAX]);

/*
 * Batched writes: many audit rows and last_seen updates in ONE transaction,
 * so they cost one fsync instead of one each (synchronous FULL: ~0.3 ms per
 * commit; an insert inside a batch costs a few microseconds).
 *
 *   registry_begin(r)            BEGIN IMMEDIATE (waits up to the busy
 *                                timeout for another writer). REG_INVALID
 *                                when a batch is already open.
 *   registry_audit_add(...)      any number of these two, each returning
 *   registry_node_set_last_seen  its own result as outside a batch
 *   registry_commit(r)           COMMIT: every write of the batch is
 *                                durable, or (on any error) none is.
 *   registry_rollback(r)         forget the batch (nothing written).
 *
 * All or nothing: when a write inside the batch fails (REG_INVALID or
 * REG_ERR_DB; REG_NOT_FOUND from set_last_seen writes nothing and does not
 * count as a failure) the batch is failed: later writes in it return
 * REG_ERR_DB at once without writing, and registry_commit() rolls the whole
 * batch back and returns the first failure (its message in err). A
 * process killed (kill -9) at any point of a batch leaves all of its rows
 * or none. Lookups, foreach and counts work inside a batch and see its
 * uncommitted rows. The calls with a transaction of their own
 * (registry_token_add, registry_enroll, registry_node_revoke) return
 * REG_INVALID while a batch is open, changing nothing. registry_close()
 * rolls an open batch back.
 */
enum reg_result registry_begin(struct registry *r, char err[REGISTRY_ERR_MAX])
	__attribute__((warn_unused_result));
enum reg_result registry_commit(struct registry *r, char err[REGISTRY_ERR_MAX])
	__attribute__((warn_unused_result));
void registry_rollback(struct registry *r);	/* no batch open: no-op */
bool registry_in_batch(const struct registry *r);

/* One audit row for registry_audit_add_batch (strings as registry_audit_add;
 * not copied, only read during the call). */
struct reg_audit_row {
	int64_t time;
	const char *event;
	const char *node, *peer, *detail;
};

/* Append n audit rows in one transaction (registry_begin + n
 * registry_audit_add + registry_commit), all or none: on a bad row
 * (REG_INVALID, err names its index) or a database error nothing is
 * written. n = 0 is REG_OK. REG_INVALID when a batch is already open. */
enum reg_result registry_audit_add_batch(struct registry *r, const struct reg_audit_row *rows,
					 size_t n, char err[REGISTRY_ERR_MAX])
	__attribute__((warn_unused_result));

/* Call fn for the last `limit` audit rows, oldest first. */
enum reg_result registry_audit_foreach(struct registry *r, uint32_t limit,
				       int (*fn)(void *arg, int64_t time, const char *event,
						 const char *node, const char *peer,
						 const char *detail),
				       void *arg, char err[REGISTRY_ERR_MAX]);

enum reg_result registry_counts(struct registry *r, int64_t now, struct reg_counts *out,
				char err[REGISTRY_ERR_MAX]);

/* Tests only: open and migrate up to schema version `upto` (<=
 * REGISTRY_SCHEMA_VERSION), to check that later migrations upgrade an
 * older database in place. */
enum reg_result registry_open_upto(const char *path, int upto, struct registry **out,
				   char err[REGISTRY_ERR_MAX])
	__attribute__((warn_unused_result));

/* Tests only: called inside registry_enroll()'s transaction with stage
 * "issued" (after issue()), "inserted" (node row written) and "token"
 * (token marked used), before COMMIT; and by registry_commit() with stage
 * "commit" just before its COMMIT (every write of the batch done). NULL
 * removes it. */
void registry_set_test_hook(struct registry *r, void (*hook)(void *arg, const char *stage),
			    void *arg);

#endif
