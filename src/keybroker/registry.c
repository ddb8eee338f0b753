// SPDX-License-Identifier: GPL-2.0-only
/*
 * registry.c - nodes, tokens and audit log in SQLite (the only includer of
 * sqlite3.h). Contract, schema and VIP allocation rules: registry.h.
 */
#include "keybroker/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>


#define BUSY_TIMEOUT_MS 5000
#define MAX_TAGS 16
#define TAG_MAX_LEN 31
/* audit text before substr() cuts it to REG_DETAIL_MAX */
#define DETAIL_BUF (REG_TAGS_MAX + REG_ROUTES_MAX + 256)

struct registry {
	sqlite3 *db;
	void (*hook)(void *arg, const char *stage);
	void *hook_arg;
	/* statements kept prepared for the hot writes (batches) */
	sqlite3_stmt *st_audit, *st_seen;
	/* batch state (registry_begin .. registry_commit) */
	bool batch;
	enum reg_result batch_res;	/* first failure inside the batch */
	char batch_err[REGISTRY_ERR_MAX];
};

/* Ordered migrations: entry i brings user_version from i to i + 1. */
static const char *const migrations[REGISTRY_SCHEMA_VERSION] = {
	/* 1: tables */
	"CREATE TABLE nodes("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" vip4 INTEGER NOT NULL,"
	" vip6 BLOB,"
	" pub BLOB NOT NULL UNIQUE,"
	" serial BLOB NOT NULL,"
	" cert BLOB NOT NULL,"
	" tags TEXT NOT NULL DEFAULT '',"
	" routes TEXT NOT NULL DEFAULT '',"
	" created INTEGER NOT NULL,"
	" last_seen INTEGER,"
	" revoked_at INTEGER,"
	" revoke_reason TEXT"
	") STRICT;"
	"CREATE UNIQUE INDEX nodes_live_name ON nodes(name) WHERE revoked_at IS NULL;"
	"CREATE UNIQUE INDEX nodes_live_vip4 ON nodes(vip4) WHERE revoked_at IS NULL;"
	"CREATE TABLE tokens("
	" hash BLOB PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" tags TEXT NOT NULL DEFAULT '',"
	" routes TEXT NOT NULL DEFAULT '',"
	" created INTEGER NOT NULL,"
	" expires INTEGER NOT NULL,"
	" used_at INTEGER,"
	" node_id INTEGER REFERENCES nodes(id)"
	") STRICT;"
	"CREATE TABLE audit("
	" id INTEGER PRIMARY KEY,"
	" time INTEGER NOT NULL,"
	" event TEXT NOT NULL,"
	" node TEXT,"
	" peer TEXT,"
	" detail TEXT"
	") STRICT;",
	/* 2: lookup indexes */
	"CREATE INDEX tokens_name ON tokens(name);"
	"CREATE INDEX audit_node ON audit(node);"
	"CREATE INDEX nodes_vip6 ON nodes(vip6) WHERE vip6 IS NOT NULL;",
};

#define NODE_COLS \
	"id, name, vip4, vip6, pub, serial, cert, tags, routes, created, " \
	"last_seen, revoked_at, revoke_reason"

__attribute__((format(printf, 2, 3)))
static void seterr(char *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err, REGISTRY_ERR_MAX, fmt, ap);
	va_end(ap);
}

static enum reg_result db_err(struct registry *r, char *err, const char *what)
{
	seterr(err, "registry: %s: %s", what, sqlite3_errmsg(r->db));
	return REG_ERR_DB;
}

const char *registry_strerror(enum reg_result r)
{
	switch (r) {
	case REG_OK: return "ok";
	case REG_ERR_DB: return "registry database error";
	case REG_NOT_FOUND: return "no such node";
	case REG_NAME_TAKEN: return "a node with this name is already enrolled";
	case REG_PUB_TAKEN: return "this public key is already enrolled";
	case REG_TOKEN_UNKNOWN: return "unknown token";
	case REG_TOKEN_USED: return "token already used";
	case REG_TOKEN_EXPIRED: return "token expired";
	case REG_POOL_FULL: return "no free address left in the overlay prefix";
	case REG_ISSUE_FAILED: return "could not issue the certificate";
	case REG_INVALID: return "invalid argument";
	}
	return "?";
}

uint16_t registry_ctl_code(enum reg_result r)
{
	switch (r) {
	case REG_TOKEN_UNKNOWN: return CTL_CODE_TOKEN_UNKNOWN;
	case REG_TOKEN_USED:
	case REG_NAME_TAKEN: return CTL_CODE_TOKEN_USED;
	case REG_TOKEN_EXPIRED: return CTL_CODE_TOKEN_EXPIRED;
	case REG_PUB_TAKEN: return CTL_CODE_REVOKED;
	default: return CTL_CODE_INTERNAL;
	}
}

/* ---- validation -------------------------------------------------------- */

static bool tag_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

bool registry_tags_valid(const char *tags)
{
	int words = 0;
	const char *p = tags;

	if (!tags)
		return false;
	if (strlen(tags) >= REG_TAGS_MAX)
		return false;
	if (!*p)
		return true;
	for (;;) {
		const char *w = p;

		while (tag_char(*p))
			p++;
		if (p == w || p - w > TAG_MAX_LEN || ++words > MAX_TAGS)
			return false;
		if (!*p)
			return true;
		if (*p != ' ')
			return false;
		p++;
	}
}

bool registry_has_tag(const char *tags, const char *tag)
{
	size_t tl = tag ? strlen(tag) : 0;

	if (!tags || !tl)
		return false;
	for (const char *p = tags; *p;) {
		while (*p == ' ')
			p++;
		const char *w = p;

		while (*p && *p != ' ')
			p++;
		if ((size_t)(p - w) == tl && memcmp(w, tag, tl) == 0)
			return true;
	}
	return false;
}

/* Parse a routes string into out[] (may be NULL). -1 when malformed. */
static int parse_routes(const char *routes, struct ctl_prefix *out, uint8_t *n_out)
{
	char word[CTL_ADDRSTRLEN];
	int n = 0;
	const char *p = routes;

	if (!routes || strlen(routes) >= REG_ROUTES_MAX)
		return -1;
	if (*p) {
		for (;;) {
			const char *w = p;
			struct ctl_prefix pf;

			while (*p && *p != ' ')
				p++;
			size_t len = (size_t)(p - w);

			if (len == 0 || len >= sizeof(word) || n == CTL_MAX_PREFIXES)
				return -1;
			memcpy(word, w, len);
			word[len] = '\0';
			if (ctl_prefix_parse(&pf, word) != 0)
				return -1;
			if (out)
				out[n] = pf;
			n++;
			if (!*p)
				break;
			p++;
		}
	}
	if (n_out)
		*n_out = (uint8_t)n;
	return 0;
}

bool registry_routes_valid(const char *routes)
{
	return parse_routes(routes, NULL, NULL) == 0;
}

/* Mirrors pki_name_valid() without linking the X.509 code here. */
static bool name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > PKI_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (!alnum && (i == 0 || (ch != '.' && ch != '-')))
			return false;
	}
	return true;
}

/* ---- open / migrate ---------------------------------------------------- */

static int exec(struct registry *r, const char *sql, char *err)
{
	char *msg = NULL;

	if (sqlite3_exec(r->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		seterr(err, "registry: %.60s: %s", sql, msg ? msg : sqlite3_errmsg(r->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int user_version(struct registry *r)
{
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(r->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

int registry_schema_version(struct registry *r)
{
	return r ? user_version(r) : -1;
}

static void rollback(struct registry *r)
{
	if (!sqlite3_get_autocommit(r->db))
		sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Apply migrations (from, upto], each in its own IMMEDIATE transaction
 * that re-reads the version, so two processes opening at once are fine. */
static enum reg_result migrate(struct registry *r, int upto, char *err)
{
	for (;;) {
		char sql[64];

		if (exec(r, "BEGIN IMMEDIATE", err) < 0)
			return REG_ERR_DB;
		int v = user_version(r);

		if (v < 0) {
			rollback(r);
			return db_err(r, err, "reading user_version");
		}
		if (v > REGISTRY_SCHEMA_VERSION) {
			rollback(r);
			seterr(err, "registry: schema version %d is newer than this program (%d)",
			       v, REGISTRY_SCHEMA_VERSION);
			return REG_ERR_DB;
		}
		if (v >= upto) {
			if (exec(r, "COMMIT", err) < 0) {
				rollback(r);
				return REG_ERR_DB;
			}
			return REG_OK;
		}
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (exec(r, migrations[v], err) < 0 || exec(r, sql, err) < 0 ||
		    exec(r, "COMMIT", err) < 0) {
			rollback(r);
			return REG_ERR_DB;
		}
	}
}

enum reg_result registry_open_upto(const char *path, int upto, struct registry **out,
				   char err[REGISTRY_ERR_MAX])
{
	struct registry *r;
	enum reg_result res;
	int fd;

	*out = NULL;
	if (upto < 0 || upto > REGISTRY_SCHEMA_VERSION) {
		seterr(err, "registry: bad schema version %d", upto);
		return REG_INVALID;
	}
	/* Create the file ourselves so it is 0600 whatever the umask;
	 * SQLite gives -wal and -shm the database file's mode. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		seterr(err, "registry: %s: %s", path, strerror(errno));
		return REG_ERR_DB;
	}
	close(fd);
	r = calloc(1, sizeof(*r));
	if (!r) {
		seterr(err, "registry: out of memory");
		return REG_ERR_DB;
	}
	if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		res = db_err(r, err, path);
		goto fail;
	}
	sqlite3_busy_timeout(r->db, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(r->db, 1);
	if (exec(r, "PRAGMA journal_mode = WAL", err) < 0 ||
	    exec(r, "PRAGMA synchronous = FULL", err) < 0 ||
	    exec(r, "PRAGMA foreign_keys = ON", err) < 0 ||
	    exec(r, "PRAGMA trusted_schema = OFF", err) < 0) {
		res = REG_ERR_DB;
		goto fail;
	}
	res = migrate(r, upto, err);
	if (res != REG_OK)
		goto fail;
	*out = r;
	return REG_OK;
fail:
	registry_close(r);
	return res;
}

enum reg_result registry_open(const char *path, struct registry **out,
			      char err[REGISTRY_ERR_MAX])
{
	return registry_open_upto(path, REGISTRY_SCHEMA_VERSION, out, err);
}

void registry_close(struct registry *r)
{
	if (!r)
		return;
	sqlite3_finalize(r->st_audit);
	sqlite3_finalize(r->st_seen);
	/* an open batch is rolled back by closing */
	sqlite3_close_v2(r->db);
	free(r);
}

void registry_set_test_hook(struct registry *r, void (*hook)(void *arg, const char *stage),
			    void *arg)
{
	r->hook = hook;
	r->hook_arg = arg;
}

static void hook(struct registry *r, const char *stage)
{
	if (r->hook)
		r->hook(r->hook_arg, stage);
}

/* ---- statements -------------------------------------------------------- */

static sqlite3_stmt *prep(struct registry *r, const char *sql, char *err)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
		db_err(r, err, "prepare");
		return NULL;
	}
	return st;
}

/* A statement prepared once and kept in *slot until registry_close(); give
 * it back with release() after use. NULL on error (err set). */
static sqlite3_stmt *cached(struct registry *r, sqlite3_stmt **slot, const char *sql,
			    char *err)
{
	if (!*slot && sqlite3_prepare_v3(r->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot,
					 NULL) != SQLITE_OK) {
		*slot = NULL;
		db_err(r, err, "prepare");
	}
	return *slot;
}

static void release(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void col_text(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

/* Copy a blob column of exactly n bytes; -1 when the size differs. */
static int col_blob(sqlite3_stmt *st, int i, void *out, size_t n)
{
	if ((size_t)sqlite3_column_bytes(st, i) != n)
		return -1;
	const void *b = sqlite3_column_blob(st, i);

	if (!b)
		return -1;
	memcpy(out, b, n);
	return 0;
}

static void ip4_from_u32(struct ctl_ip *ip, uint32_t v)
{
	uint8_t a[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	ctl_ip_from_v4(ip, a);
}

static uint32_t u32_from_ip4(const uint8_t a[4])
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

/* Row of NODE_COLS -> out. */
static enum reg_result read_node(struct registry *r, sqlite3_stmt *st, struct reg_node *out,
				 char *err)
{
	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	col_text(st, 1, out->name, sizeof(out->name));
	ip4_from_u32(&out->vip4, (uint32_t)sqlite3_column_int64(st, 2));
	if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
		uint8_t a[16];

		if (col_blob(st, 3, a, 16) < 0)
			goto corrupt;
		ctl_ip_from_v6(&out->vip6, a);
		out->has_vip6 = true;
	}
	if (col_blob(st, 4, out->pub, PKI_PUB_LEN) < 0 ||
	    col_blob(st, 5, out->serial, PKI_SERIAL_LEN) < 0)
		goto corrupt;
	int clen = sqlite3_column_bytes(st, 6);

	if (clen <= 0 || clen > PKI_CERT_MAX)
		goto corrupt;
	memcpy(out->cert, sqlite3_column_blob(st, 6), (size_t)clen);
	out->cert_len = (uint16_t)clen;
	col_text(st, 7, out->tags, sizeof(out->tags));
	col_text(st, 8, out->routes, sizeof(out->routes));
	if (parse_routes(out->routes, out->route, &out->n_routes) < 0)
		goto corrupt;
	out->created = sqlite3_column_int64(st, 9);
	out->last_seen = sqlite3_column_int64(st, 10);	/* NULL reads as 0 */
	out->revoked_at = sqlite3_column_int64(st, 11);
	col_text(st, 12, out->revoke_reason, sizeof(out->revoke_reason));
	return REG_OK;
corrupt:
	(void)r;
	seterr(err, "registry: node row %lld is malformed", (long long)out->id);
	return REG_ERR_DB;
}

/* Run st (bound) expecting at most one node row. */
static enum reg_result one_node(struct registry *r, sqlite3_stmt *st, struct reg_node *out,
				char *err)
{
	enum reg_result res;
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		res = read_node(r, st, out, err);
	else if (rc == SQLITE_DONE)
		res = REG_NOT_FOUND;
	else
		res = db_err(r, err, "node lookup");
	sqlite3_finalize(st);
	return res;
}

/* ---- audit ------------------------------------------------------------- */

static enum reg_result audit_insert(struct registry *r, int64_t now, const char *event,
				    const char *node, const char *peer, const char *detail,
				    char *err)
{
	sqlite3_stmt *st = cached(r, &r->st_audit, "INSERT INTO audit(time, event, node, peer, "
				  "detail) VALUES (?, ?, ?, ?, substr(?, 1, ?))", err);
	enum reg_result res = REG_OK;

	if (!st)
		return REG_ERR_DB;
	sqlite3_bind_int64(st, 1, now);
	bind_text(st, 2, event);
	bind_text(st, 3, node);
	bind_text(st, 4, peer);
	bind_text(st, 5, detail);
	sqlite3_bind_int(st, 6, REG_DETAIL_MAX - 1);
	if (sqlite3_step(st) != SQLITE_DONE)
		res = db_err(r, err, "audit insert");
	release(st);
	return res;
}

/* ---- batches ----------------------------------------------------------- */

/* Calls that run their own transaction refuse to run inside a batch. */
static bool batch_open(struct registry *r, char *err)
{
	if (!r->batch)
		return false;
	seterr(err, "registry: a batch is open (registry_commit or registry_rollback first)");
	return true;
}

/* A write inside a failed batch is not attempted: SQLite may already have
 * rolled the transaction back, and the statement would then commit alone. */
static bool batch_failed(struct registry *r, char *err)
{
	if (!r->batch || r->batch_res == REG_OK)
		return false;
	seterr(err, "registry: batch already failed: %s", r->batch_err);
	return true;
}

/* Remember the first failure of a write inside a batch; returns res. */
static enum reg_result batch_note(struct registry *r, enum reg_result res, const char *msg)
{
	if (r->batch && res != REG_OK && res != REG_NOT_FOUND && r->batch_res == REG_OK) {
		r->batch_res = res;
		snprintf(r->batch_err, sizeof(r->batch_err), "%s",
			 *msg ? msg : registry_strerror(res));
	}
	return res;
}

enum reg_result registry_begin(struct registry *r, char err[REGISTRY_ERR_MAX])
{
	if (batch_open(r, err))
		return REG_INVALID;
	if (exec(r, "BEGIN IMMEDIATE", err) < 0)
		return REG_ERR_DB;
	r->batch = true;
	r->batch_res = REG_OK;
	r->batch_err[0] = '\0';
	return REG_OK;
}

bool registry_in_batch(const struct registry *r)
{
	return r->batch;
}

void registry_rollback(struct registry *r)
{
	if (!r->batch)
		return;
	rollback(r);
	r->batch = false;
}

enum reg_result registry_commit(struct registry *r, char err[REGISTRY_ERR_MAX])
{
	enum reg_result res = r->batch_res;

	if (!r->batch) {
		seterr(err, "registry: commit without registry_begin");
		return REG_INVALID;
	}
	if (res != REG_OK) {
		seterr(err, "registry: batch rolled back: %s", r->batch_err);
		registry_rollback(r);
		return res;
	}
	hook(r, "commit");
	if (exec(r, "COMMIT", err) < 0)
		res = REG_ERR_DB;
	registry_rollback(r);	/* no-op after a good COMMIT */
	return res;
}

enum reg_result registry_audit_add_batch(struct registry *r, const struct reg_audit_row *rows,
					 size_t n, char err[REGISTRY_ERR_MAX])
{
	char e[REGISTRY_ERR_MAX] = "";
	enum reg_result res = registry_begin(r, err);

	if (res != REG_OK)
		return res;
	for (size_t i = 0; i < n; i++) {
		res = registry_audit_add(r, rows[i].time, rows[i].event, rows[i].node,
					 rows[i].peer, rows[i].detail, e);
		if (res != REG_OK) {
			seterr(err, "registry: audit row %zu of %zu: %s", i, n, e);
			registry_rollback(r);
			return res;
		}
	}
	return registry_commit(r, err);
}

enum reg_result registry_audit_add(struct registry *r, int64_t now, const char *event,
				   const char *node, const char *peer,
				   const char *detail, char err[REGISTRY_ERR_MAX])
{
	char e[REGISTRY_ERR_MAX] = "";
	enum reg_result res;

	if (batch_failed(r, err))
		return REG_ERR_DB;
	if (!event || !*event) {
		seterr(e, "registry: audit event missing (node '%s')", node ? node : "");
		res = REG_INVALID;
	} else {
		res = audit_insert(r, now, event, node, peer, detail, e);
	}
	if (res != REG_OK)
		seterr(err, "%s", e);
	return batch_note(r, res, e);
}

enum reg_result registry_audit_foreach(struct registry *r, uint32_t limit,
				       int (*fn)(void *arg, int64_t time, const char *event,
						 const char *node, const char *peer,
						 const char *detail),
				       void *arg, char err[REGISTRY_ERR_MAX])
{
	sqlite3_stmt *st = prep(r, "SELECT time, event, node, peer, detail FROM "
				   "(SELECT * FROM audit ORDER BY id DESC LIMIT ?) ORDER BY id",
				   err);
	enum reg_result res = REG_OK;
	int rc;

	if (!st)
		return REG_ERR_DB;
	sqlite3_bind_int64(st, 1, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fn(arg, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
		       (const char *)sqlite3_column_text(st, 2),
		       (const char *)sqlite3_column_text(st, 3),
		       (const char *)sqlite3_column_text(st, 4)))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		res = db_err(r, err, "audit read");
	sqlite3_finalize(st);
	return res;
}

/* ---- tokens ------------------------------------------------------------ */

/* Is there a live node called name? 1 yes, 0 no, -1 error. */
static int live_name(struct registry *r, const char *name, char *err)
{
	sqlite3_stmt *st = prep(r, "SELECT 1 FROM nodes WHERE name = ? AND revoked_at IS NULL",
				err);
	int rc, res;

	if (!st)
		return -1;
	bind_text(st, 1, name);
	rc = sqlite3_step(st);
	res = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
	if (res < 0)
		db_err(r, err, "name lookup");
	sqlite3_finalize(st);
	return res;
}

enum reg_result registry_token_add(struct registry *r,
				   const uint8_t hash[static REG_TOKEN_HASH_LEN],
				   const char *name, const char *tags,
				   const char *routes, int64_t created,
				   int64_t expires, char err[REGISTRY_ERR_MAX])
{
	sqlite3_stmt *st = NULL;
	enum reg_result res;
	char detail[DETAIL_BUF];

	tags = tags ? tags : "";
	routes = routes ? routes : "";
	if (!name_valid(name)) {
		seterr(err, "bad node name '%s'", name ? name : "");
		return REG_INVALID;
	}
	if (!registry_tags_valid(tags)) {
		seterr(err, "bad tags '%s'", tags);
		return REG_INVALID;
	}
	if (!registry_routes_valid(routes)) {
		seterr(err, "bad routes '%s'", routes);
		return REG_INVALID;
	}
	if (expires <= created) {
		seterr(err, "token expires before it is created");
		return REG_INVALID;
	}
	if (batch_open(r, err))
		return REG_INVALID;
	if (exec(r, "BEGIN IMMEDIATE", err) < 0)
		return REG_ERR_DB;
	int taken = live_name(r, name, err);

	if (taken < 0) {
		res = REG_ERR_DB;
		goto out;
	}
	if (taken) {
		seterr(err, "node '%s' is already enrolled (revoke it first)", name);
		res = REG_NAME_TAKEN;
		goto out;
	}
	st = prep(r, "DELETE FROM tokens WHERE name = ? AND used_at IS NULL", err);
	if (!st) {
		res = REG_ERR_DB;
		goto out;
	}
	bind_text(st, 1, name);
	if (sqlite3_step(st) != SQLITE_DONE) {
		res = db_err(r, err, "token replace");
		goto out;
	}
	sqlite3_finalize(st);
	st = prep(r, "INSERT INTO tokens(hash, name, tags, routes, created, expires) "
		     "VALUES (?, ?, ?, ?, ?, ?)", err);
	if (!st) {
		res = REG_ERR_DB;
		goto out;
	}
	sqlite3_bind_blob(st, 1, hash, REG_TOKEN_HASH_LEN, SQLITE_TRANSIENT);
	bind_text(st, 2, name);
	bind_text(st, 3, tags);
	bind_text(st, 4, routes);
	sqlite3_bind_int64(st, 5, created);
	sqlite3_bind_int64(st, 6, expires);
	if (sqlite3_step(st) != SQLITE_DONE) {
		res = db_err(r, err, "token insert");
		goto out;
	}
	snprintf(detail, sizeof(detail), "expires=%lld tags='%s' routes='%s'",
		 (long long)expires, tags, routes);
	res = audit_insert(r, created, "token_create", name, NULL, detail, err);
	if (res != REG_OK)
		goto out;
	if (exec(r, "COMMIT", err) < 0)
		res = REG_ERR_DB;
out:
	sqlite3_finalize(st);
	if (res != REG_OK)
		rollback(r);
	return res;
}

enum reg_result registry_token_get(struct registry *r,
				   const uint8_t hash[static REG_TOKEN_HASH_LEN],
				   struct reg_token *out, char err[REGISTRY_ERR_MAX])
{
	sqlite3_stmt *st = prep(r, "SELECT name, tags, routes, created, expires, used_at "
				   "FROM tokens WHERE hash = ?", err);
	enum reg_result res;
	int rc;

	if (!st)
		return REG_ERR_DB;
	sqlite3_bind_blob(st, 1, hash, REG_TOKEN_HASH_LEN, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		memcpy(out->hash, hash, REG_TOKEN_HASH_LEN);
		col_text(st, 0, out->name, sizeof(out->name));
		col_text(st, 1, out->tags, sizeof(out->tags));
		col_text(st, 2, out->routes, sizeof(out->routes));
		out->created = sqlite3_column_int64(st, 3);
		out->expires = sqlite3_column_int64(st, 4);
		out->used_at = sqlite3_column_int64(st, 5);
		res = REG_OK;
	} else if (rc == SQLITE_DONE) {
		res = REG_TOKEN_UNKNOWN;
	} else {
		res = db_err(r, err, "token lookup");
	}
	sqlite3_finalize(st);
	return res;
}

/* ---- enrollment -------------------------------------------------------- */

static bool prefix4_ok(const struct ctl_prefix *p)
{
	return p && p->ip.af == 4 && p->len >= 8 && p->len <= 30;
}

static bool prefix6_ok(const struct ctl_prefix *p)
{
	return p && p->ip.af == 6 && p->len >= 16 && p->len <= 96;
}

/* Lowest free node address in prefix (see registry.h). */
static enum reg_result alloc_vip4(struct registry *r, const struct ctl_prefix *p,
				  uint32_t *vip, uint32_t *offset, char *err)
{
	uint32_t size = (uint32_t)1 << (32 - p->len);
	uint32_t base = u32_from_ip4(p->ip.a) & ~(size - 1);
	uint32_t first = base + 2, last = base + size - 2, cand = first;
	sqlite3_stmt *st = prep(r, "SELECT vip4 FROM nodes WHERE revoked_at IS NULL AND "
				   "vip4 BETWEEN ? AND ? ORDER BY vip4", err);
	enum reg_result res = REG_OK;
	int rc;

	if (!st)
		return REG_ERR_DB;
	sqlite3_bind_int64(st, 1, first);
	sqlite3_bind_int64(st, 2, last);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint32_t v = (uint32_t)sqlite3_column_int64(st, 0);

		if (v > cand)
			break;
		if (v == cand)
			cand++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		res = db_err(r, err, "address allocation");
	else if (cand > last)
		res = REG_POOL_FULL;
	sqlite3_finalize(st);
	*vip = cand;
	*offset = cand - base;
	return res;
}

static void vip6_for(const struct ctl_prefix *p6, uint32_t offset, uint8_t out[16])
{
	memcpy(out, p6->ip.a, 16);
	out[12] |= (uint8_t)(offset >> 24);
	out[13] |= (uint8_t)(offset >> 16);
	out[14] |= (uint8_t)(offset >> 8);
	out[15] |= (uint8_t)offset;
}

/* 1 when the public key is in any row, 0 not, -1 error. */
static int pub_known(struct registry *r, const uint8_t *pub, char *err)
{
	sqlite3_stmt *st = prep(r, "SELECT 1 FROM nodes WHERE pub = ?", err);
	int rc, res;

	if (!st)
		return -1;
	sqlite3_bind_blob(st, 1, pub, PKI_PUB_LEN, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	res = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
	if (res < 0)
		db_err(r, err, "key lookup");
	sqlite3_finalize(st);
	return res;
}

static void refusal_audit(struct registry *r, int64_t now, const char *name,
			  enum reg_result why)
{
	char e2[REGISTRY_ERR_MAX];

	(void)audit_insert(r, now, "enroll_refused", name && *name ? name : NULL, NULL,
			   registry_strerror(why), e2);
}

enum reg_result registry_enroll(struct registry *r,
				const uint8_t token_hash[static REG_TOKEN_HASH_LEN],
				const uint8_t pub[static PKI_PUB_LEN], int64_t now,
				const struct ctl_prefix *prefix4,
				const struct ctl_prefix *prefix6,
				registry_issue_fn issue, void *issue_arg,
				struct reg_node *out, char err[REGISTRY_ERR_MAX])
{
	struct reg_token tok = { 0 };
	enum reg_result res;
	sqlite3_stmt *st = NULL;
	uint32_t vip = 0, offset = 0;
	struct ctl_ip vip4, vip6;
	uint8_t a6[16];
	uint8_t *der = NULL;
	uint8_t serial[PKI_SERIAL_LEN];
	ssize_t der_len;
	int64_t node_id;
	int k;

	if (!prefix4_ok(prefix4) || (prefix6 && !prefix6_ok(prefix6)) || !issue || !out) {
		seterr(err, "registry: bad enrollment parameters");
		return REG_INVALID;
	}
	if (pub[0] != 0x04) {
		seterr(err, "registry: public key is not an uncompressed point");
		return REG_INVALID;
	}
	if (batch_open(r, err))
		return REG_INVALID;
	der = malloc(PKI_CERT_MAX);
	if (!der) {
		seterr(err, "registry: out of memory");
		return REG_ERR_DB;
	}
	if (exec(r, "BEGIN IMMEDIATE", err) < 0) {
		free(der);
		return REG_ERR_DB;
	}
	res = registry_token_get(r, token_hash, &tok, err);
	if (res != REG_OK)
		goto refuse;
	if (tok.used_at != 0) {
		res = REG_TOKEN_USED;
		goto refuse;
	}
	if (tok.expires <= now) {
		res = REG_TOKEN_EXPIRED;
		goto refuse;
	}
	k = live_name(r, tok.name, err);
	if (k != 0) {
		res = k < 0 ? REG_ERR_DB : REG_NAME_TAKEN;
		goto refuse;
	}
	k = pub_known(r, pub, err);
	if (k != 0) {
		res = k < 0 ? REG_ERR_DB : REG_PUB_TAKEN;
		goto refuse;
	}
	res = alloc_vip4(r, prefix4, &vip, &offset, err);
	if (res != REG_OK)
		goto refuse;
	ip4_from_u32(&vip4, vip);
	if (prefix6) {
		vip6_for(prefix6, offset, a6);
		ctl_ip_from_v6(&vip6, a6);
	}
	der_len = issue(issue_arg, tok.name, &vip4, prefix6 ? &vip6 : NULL, pub, der,
			PKI_CERT_MAX, serial);
	if (der_len <= 0 || der_len > PKI_CERT_MAX) {
		seterr(err, "registry: could not issue a certificate for '%s'", tok.name);
		res = REG_ISSUE_FAILED;
		goto refuse;
	}
	hook(r, "issued");

	st = prep(r, "INSERT INTO nodes(name, vip4, vip6, pub, serial, cert, tags, routes, "
		     "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", err);
	if (!st) {
		res = REG_ERR_DB;
		goto refuse;
	}
	bind_text(st, 1, tok.name);
	sqlite3_bind_int64(st, 2, vip);
	if (prefix6)
		sqlite3_bind_blob(st, 3, a6, 16, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_blob(st, 4, pub, PKI_PUB_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 5, serial, PKI_SERIAL_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 6, der, (int)der_len, SQLITE_TRANSIENT);
	bind_text(st, 7, tok.tags);
	bind_text(st, 8, tok.routes);
	sqlite3_bind_int64(st, 9, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		res = db_err(r, err, "node insert");
		goto refuse;
	}
	sqlite3_finalize(st);
	st = NULL;
	node_id = sqlite3_last_insert_rowid(r->db);
	hook(r, "inserted");

	st = prep(r, "UPDATE tokens SET used_at = ?, node_id = ? WHERE hash = ? AND used_at IS NULL",
		  err);
	if (!st) {
		res = REG_ERR_DB;
		goto refuse;
	}
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, node_id);
	sqlite3_bind_blob(st, 3, token_hash, REG_TOKEN_HASH_LEN, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(r->db) != 1) {
		res = db_err(r, err, "token update");
		goto refuse;
	}
	sqlite3_finalize(st);
	st = NULL;
	hook(r, "token");

	char detail[DETAIL_BUF], ip[CTL_ADDRSTRLEN], ip6[CTL_ADDRSTRLEN];

	snprintf(detail, sizeof(detail), "vip4=%s%s%s tags='%s' routes='%s'",
		 ctl_ip_fmt(&vip4, ip), prefix6 ? " vip6=" : "",
		 prefix6 ? ctl_ip_fmt(&vip6, ip6) : "", tok.tags, tok.routes);
	res = audit_insert(r, now, "enroll", tok.name, NULL, detail, err);
	if (res != REG_OK)
		goto refuse;
	if (exec(r, "COMMIT", err) < 0) {
		res = REG_ERR_DB;
		goto refuse;
	}
	free(der);
	st = prep(r, "SELECT " NODE_COLS " FROM nodes WHERE id = ?", err);
	if (!st)
		return REG_ERR_DB;
	sqlite3_bind_int64(st, 1, node_id);
	res = one_node(r, st, out, err);
	return res == REG_NOT_FOUND ? REG_ERR_DB : res;

refuse:
	sqlite3_finalize(st);
	rollback(r);
	free(der);
	if (res != REG_ERR_DB && res != REG_INVALID) {
		refusal_audit(r, now, res == REG_TOKEN_UNKNOWN ? NULL : tok.name, res);
		if (res != REG_ISSUE_FAILED)
			seterr(err, "%s", registry_strerror(res));
	}
	return res;
}

/* ---- nodes ------------------------------------------------------------- */

enum reg_result registry_node_by_name(struct registry *r, const char *name,
				      struct reg_node *out, char err[REGISTRY_ERR_MAX])
{
	sqlite3_stmt *st = prep(r, "SELECT " NODE_COLS " FROM nodes WHERE name = ? AND "
				   "revoked_at IS NULL", err);

	if (!st)
		return REG_ERR_DB;
	bind_text(st, 1, name);
	return one_node(r, st, out, err);
}

enum reg_result registry_node_by_vip(struct registry *r, const struct ctl_ip *vip,
				     struct reg_node *out, char err[REGISTRY_ERR_MAX])
{
	sqlite3_stmt *st;

	if (vip->af == 4) {
		st = prep(r, "SELECT " NODE_COLS " FROM nodes WHERE vip4 = ? AND "
			     "revoked_at IS NULL", err);
		if (!st)
			return REG_ERR_DB;
		sqlite3_bind_int64(st, 1, u32_from_ip4(vip->a));
	} else if (vip->af == 6) {
		st = prep(r, "SELECT " NODE_COLS " FROM nodes WHERE vip6 = ? AND "
			     "revoked_at IS NULL", err);
		if (!st)
			return REG_ERR_DB;
		sqlite3_bind_blob(st, 1, vip->a, 16, SQLITE_TRANSIENT);
	} else {
		return REG_INVALID;
	}
	return one_node(r, st, out, err);
}

enum reg_result registry_node_by_pub(struct registry *r,
				     const uint8_t pub[static PKI_PUB_LEN],
				     struct reg_node *out, char err[REGISTRY_ERR_MAX])
{
	sqlite3_stmt *st = prep(r, "SELECT " NODE_COLS " FROM nodes WHERE pub = ?", err);

	if (!st)
		return REG_ERR_DB;
	sqlite3_bind_blob(st, 1, pub, PKI_PUB_LEN, SQLITE_TRANSIENT);
	return one_node(r, st, out, err);
}

enum reg_result registry_node_foreach(struct registry *r, bool include_revoked,
				      int (*fn)(void *arg, const struct reg_node *n),
				      void *arg, char err[REGISTRY_ERR_MAX])
{
	sqlite3_stmt *st = prep(r, include_revoked
				? "SELECT " NODE_COLS " FROM nodes ORDER BY revoked_at IS NOT NULL, "
				  "vip4, id"
				: "SELECT " NODE_COLS " FROM nodes WHERE revoked_at IS NULL "
				  "ORDER BY vip4", err);
	struct reg_node *n = malloc(sizeof(*n));
	enum reg_result res = REG_OK;
	int rc;

	if (!st || !n) {
		sqlite3_finalize(st);
		free(n);
		if (st)
			seterr(err, "registry: out of memory");
		return REG_ERR_DB;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		res = read_node(r, st, n, err);
		if (res != REG_OK || fn(arg, n))
			break;
	}
	if (res == REG_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
		res = db_err(r, err, "node list");
	sqlite3_finalize(st);
	free(n);
	return res;
}

enum reg_result registry_node_set_last_seen(struct registry *r, int64_t node_id,
					    int64_t now, char err[REGISTRY_ERR_MAX])
{
	char e[REGISTRY_ERR_MAX] = "";
	sqlite3_stmt *st;
	enum reg_result res = REG_OK;

	if (batch_failed(r, err))
		return REG_ERR_DB;
	st = cached(r, &r->st_seen, "UPDATE nodes SET last_seen = ? WHERE id = ?", e);
	if (!st) {
		res = REG_ERR_DB;
	} else {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int64(st, 2, node_id);
		if (sqlite3_step(st) != SQLITE_DONE) {
			res = db_err(r, e, "last_seen update");
		} else if (sqlite3_changes(r->db) == 0) {
			seterr(e, "registry: no node with id %lld", (long long)node_id);
			res = REG_NOT_FOUND;
		}
		release(st);
	}
	if (res != REG_OK)
		seterr(err, "%s", e);
	return batch_note(r, res, e);
}

enum reg_result registry_node_revoke(struct registry *r, const char *name,
				     int64_t now, const char *reason,
				     char err[REGISTRY_ERR_MAX])
{
	sqlite3_stmt *st = NULL;
	enum reg_result res;

	if (batch_open(r, err))
		return REG_INVALID;
	if (exec(r, "BEGIN IMMEDIATE", err) < 0)
		return REG_ERR_DB;
	st = prep(r, "UPDATE nodes SET revoked_at = ?, revoke_reason = ? "
		     "WHERE name = ? AND revoked_at IS NULL", err);
	if (!st) {
		res = REG_ERR_DB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, now);
	bind_text(st, 2, reason ? reason : "revoked by admin");
	bind_text(st, 3, name);
	if (sqlite3_step(st) != SQLITE_DONE) {
		res = db_err(r, err, "revoke");
		goto out;
	}
	if (sqlite3_changes(r->db) == 0) {
		seterr(err, "no enrolled node named '%s'", name);
		res = REG_NOT_FOUND;
		goto out;
	}
	res = audit_insert(r, now, "revoke", name, NULL, reason, err);
	if (res != REG_OK)
		goto out;
	if (exec(r, "COMMIT", err) < 0)
		res = REG_ERR_DB;
out:
	sqlite3_finalize(st);
	if (res != REG_OK)
		rollback(r);
	return res;
}

static int count(struct registry *r, const char *sql, int64_t now, uint32_t *out, char *err)
{
	sqlite3_stmt *st = prep(r, sql, err);
	int res = -1;

	if (!st)
		return -1;
	if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_int64(st, 1, now);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*out = (uint32_t)sqlite3_column_int64(st, 0);
		res = 0;
	} else {
		db_err(r, err, "count");
	}
	sqlite3_finalize(st);
	return res;
}

enum reg_result registry_counts(struct registry *r, int64_t now, struct reg_counts *out,
				char err[REGISTRY_ERR_MAX])
{
	memset(out, 0, sizeof(*out));
	if (count(r, "SELECT count(*) FROM nodes WHERE revoked_at IS NULL", now, &out->nodes,
		  err) < 0 ||
	    count(r, "SELECT count(*) FROM nodes WHERE revoked_at IS NOT NULL", now,
		  &out->revoked, err) < 0 ||
	    count(r, "SELECT count(*) FROM tokens WHERE used_at IS NULL AND expires > ?", now,
		  &out->tokens_pending, err) < 0 ||
	    count(r, "SELECT count(*) FROM audit", now, &out->audit_rows, err) < 0)
		return REG_ERR_DB;
	return REG_OK;
}
