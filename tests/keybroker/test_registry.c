// SPDX-License-Identifier: GPL-2.0-only
/* Tests for src/keybroker/registry.c: schema, tokens, enrollment (and each
 * refusal), VIP allocation, revocation, listing, crash atomicity. */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keybroker/registry.h"

static char tmpdir[256];
static char dbpath[300];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mavpn-test-registry-%ld-XXXXXX", (long)getpid());
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/registry.db", tmpdir);
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)system(cmd);
}

static struct registry *open_db(void)
{
	struct registry *r = NULL;
	char err[REGISTRY_ERR_MAX] = "";

	cr_assert_eq(registry_open(dbpath, &r, err), REG_OK, "%s", err);
	return r;
}

static void hash_of(uint8_t h[REG_TOKEN_HASH_LEN], int seed)
{
	for (int i = 0; i < REG_TOKEN_HASH_LEN; i++)
		h[i] = (uint8_t)(seed * 31 + i);
}

static void pub_of(uint8_t p[PKI_PUB_LEN], int seed)
{
	p[0] = 0x04;
	for (int i = 1; i < PKI_PUB_LEN; i++)
		p[i] = (uint8_t)(seed * 7 + i);
}

static struct ctl_prefix pfx(const char *s)
{
	struct ctl_prefix p;

	cr_assert_eq(ctl_prefix_parse(&p, s), 0, "prefix %s", s);
	return p;
}

/* A fake CA: the "certificate" is "CERT:<name>:<vip>" and the serial a
 * counter, so the test can see what was issued. */
struct fake_ca {
	int calls;
	bool fail;
};

static ssize_t fake_issue(void *arg, const char *name, const struct ctl_ip *vip4,
			  const struct ctl_ip *vip6, const uint8_t pub[PKI_PUB_LEN],
			  uint8_t *der, size_t cap, uint8_t serial[PKI_SERIAL_LEN])
{
	struct fake_ca *ca = arg;
	char ip[CTL_ADDRSTRLEN], ip6[CTL_ADDRSTRLEN] = "-";

	(void)pub;
	ca->calls++;
	if (ca->fail)
		return -1;
	if (vip6)
		ctl_ip_fmt(vip6, ip6);
	int n = snprintf((char *)der, cap, "CERT:%s:%s:%s", name, ctl_ip_fmt(vip4, ip), ip6);

	memset(serial, 0, PKI_SERIAL_LEN);
	serial[15] = (uint8_t)ca->calls;
	return n;
}

static void add_token(struct registry *r, int seed, const char *name, const char *tags,
		      const char *routes, int64_t created, int64_t expires)
{
	uint8_t h[REG_TOKEN_HASH_LEN];
	char err[REGISTRY_ERR_MAX] = "";

	hash_of(h, seed);
	cr_assert_eq(registry_token_add(r, h, name, tags, routes, created, expires, err), REG_OK,
		     "%s", err);
}

static enum reg_result enroll(struct registry *r, int tok_seed, int pub_seed, int64_t now,
			      const struct ctl_prefix *p4, const struct ctl_prefix *p6,
			      struct fake_ca *ca, struct reg_node *out)
{
	uint8_t h[REG_TOKEN_HASH_LEN], pub[PKI_PUB_LEN];
	char err[REGISTRY_ERR_MAX] = "";

	hash_of(h, tok_seed);
	pub_of(pub, pub_seed);
	return registry_enroll(r, h, pub, now, p4, p6, fake_issue, ca, out, err);
}

static struct reg_counts counts(struct registry *r, int64_t now)
{
	struct reg_counts c;
	char err[REGISTRY_ERR_MAX];

	cr_assert_eq(registry_counts(r, now, &c, err), REG_OK, "%s", err);
	return c;
}

Test(registry, schema_created_mode_0600, .init = setup, .fini = teardown)
{
	struct stat st;
	struct registry *r;

	umask(022);
	r = open_db();
	cr_assert_eq(registry_schema_version(r), REGISTRY_SCHEMA_VERSION);
	struct reg_counts c = counts(r, 0);

	cr_assert_eq(c.nodes + c.revoked + c.tokens_pending + c.audit_rows, 0);
	registry_close(r);
	cr_assert_eq(stat(dbpath, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
}

Test(registry, migrations_upgrade_and_idempotent_reopen, .init = setup, .fini = teardown)
{
	struct registry *r = NULL;
	char err[REGISTRY_ERR_MAX] = "";
	struct reg_token t;
	uint8_t h[REG_TOKEN_HASH_LEN];

	cr_assert_eq(registry_open_upto(dbpath, 1, &r, err), REG_OK, "%s", err);
	cr_assert_eq(registry_schema_version(r), 1);
	add_token(r, 1, "alice", "dev", "", 100, 200);
	registry_close(r);

	for (int i = 0; i < 3; i++) {
		r = open_db();
		cr_assert_eq(registry_schema_version(r), REGISTRY_SCHEMA_VERSION);
		hash_of(h, 1);
		cr_assert_eq(registry_token_get(r, h, &t, err), REG_OK);
		cr_assert_str_eq(t.name, "alice");
		cr_assert_eq(counts(r, 150).tokens_pending, 1);
		registry_close(r);
	}
	/* asking for an unknown version is refused */
	cr_assert_eq(registry_open_upto(dbpath, REGISTRY_SCHEMA_VERSION + 1, &r, err), REG_INVALID);
	cr_assert_null(r);
}

Test(registry, wal_files_private_and_newer_schema_refused, .init = setup, .fini = teardown)
{
	struct registry *r;
	char err[REGISTRY_ERR_MAX] = "", wal[400], cmd[600];
	struct stat st;

	umask(0);
	r = open_db();
	add_token(r, 1, "a", "", "", 0, 100);
	snprintf(wal, sizeof(wal), "%s-wal", dbpath);
	cr_assert_eq(stat(wal, &st), 0, "no WAL file: journal_mode is not WAL");
	cr_assert_eq(st.st_mode & 0777, 0600);
	registry_close(r);
	if (system("command -v sqlite3 >/dev/null 2>&1") != 0)
		cr_skip_test("sqlite3 command not installed");
	/* a database written by a newer mavpn is not touched */
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'PRAGMA user_version = %d'", dbpath,
		 REGISTRY_SCHEMA_VERSION + 1);
	cr_assert_eq(system(cmd), 0);
	r = (struct registry *)1;
	cr_assert_eq(registry_open(dbpath, &r, err), REG_ERR_DB);
	cr_assert_null(r);
	cr_assert(strstr(err, "newer"), "%s", err);
}

Test(registry, open_refuses_garbage_file, .init = setup, .fini = teardown)
{
	struct registry *r = (struct registry *)1;
	char err[REGISTRY_ERR_MAX] = "";
	FILE *f = fopen(dbpath, "w");

	fputs("this is not a database, just long enough text to look like a header......\n", f);
	fclose(f);
	cr_assert_eq(registry_open(dbpath, &r, err), REG_ERR_DB);
	cr_assert_null(r);
	cr_assert(strstr(err, "registry"), "%s", err);
}

Test(registry, token_add_get_and_validation, .init = setup, .fini = teardown)
{
	struct registry *r = open_db();
	char err[REGISTRY_ERR_MAX];
	struct reg_token t;
	uint8_t h[REG_TOKEN_HASH_LEN];

	add_token(r, 1, "gw1", "gateway lab", "10.200.0.0/24 fd00:200::/64", 1000, 4600);
	hash_of(h, 1);
	cr_assert_eq(registry_token_get(r, h, &t, err), REG_OK);
	cr_assert_arr_eq(t.hash, h, REG_TOKEN_HASH_LEN);
	cr_assert_str_eq(t.name, "gw1");
	cr_assert_str_eq(t.tags, "gateway lab");
	cr_assert_str_eq(t.routes, "10.200.0.0/24 fd00:200::/64");
	cr_assert_eq(t.created, 1000);
	cr_assert_eq(t.expires, 4600);
	cr_assert_eq(t.used_at, 0);
	hash_of(h, 2);
	cr_assert_eq(registry_token_get(r, h, &t, err), REG_TOKEN_UNKNOWN);

	static const struct {
		const char *name, *tags, *routes;
	} bad[] = {
		{ "Alice", "", "" }, { "", "", "" }, { "-a", "", "" }, { "a_b", "", "" },
		{ "ok", "Tag", "" }, { "ok", "a  b", "" }, { "ok", " a", "" }, { "ok", "a ", "" },
		{ "ok", "a,b", "" }, { "ok", "", "10.0.0.1/24" }, { "ok", "", "10.0.0.0/33" },
		{ "ok", "", "10.0.0.0/24  10.1.0.0/24" }, { "ok", "", "banana" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hash_of(h, 100 + (int)i);
		cr_assert_eq(registry_token_add(r, h, bad[i].name, bad[i].tags, bad[i].routes, 1, 2,
						err),
			     REG_INVALID, "case %zu", i);
	}
	hash_of(h, 50);
	cr_assert_eq(registry_token_add(r, h, "ok", "", "", 10, 10, err), REG_INVALID);
	registry_close(r);
}

Test(registry, newer_token_replaces_unused_older, .init = setup, .fini = teardown)
{
	struct registry *r = open_db();
	char err[REGISTRY_ERR_MAX];
	struct reg_token t;
	uint8_t h[REG_TOKEN_HASH_LEN];

	add_token(r, 1, "alice", "", "", 100, 1000);
	add_token(r, 2, "bob", "", "", 100, 1000);
	add_token(r, 3, "alice", "", "", 110, 1000);
	hash_of(h, 1);
	cr_assert_eq(registry_token_get(r, h, &t, err), REG_TOKEN_UNKNOWN);
	hash_of(h, 3);
	cr_assert_eq(registry_token_get(r, h, &t, err), REG_OK);
	cr_assert_eq(counts(r, 200).tokens_pending, 2);
	/* expired ones are not pending */
	cr_assert_eq(counts(r, 1000).tokens_pending, 0);
	registry_close(r);
}

Test(registry, enroll_success, .init = setup, .fini = teardown)
{
	struct registry *r = open_db();
	struct ctl_prefix p4 = pfx("10.98.0.0/24"), p6 = pfx("fd00:98::/64");
	struct fake_ca ca = { 0 };
	struct reg_node n, m;
	char err[REGISTRY_ERR_MAX], ip[CTL_ADDRSTRLEN];
	uint8_t pub[PKI_PUB_LEN], h[REG_TOKEN_HASH_LEN];
	struct reg_token t;

	add_token(r, 1, "gw1", "gateway", "10.200.0.0/24", 1000, 4600);
	cr_assert_eq(enroll(r, 1, 1, 2000, &p4, &p6, &ca, &n), REG_OK);
	cr_assert_eq(ca.calls, 1);
	cr_assert_str_eq(n.name, "gw1");
	cr_assert_str_eq(ctl_ip_fmt(&n.vip4, ip), "10.98.0.2");
	cr_assert(n.has_vip6);
	cr_assert_str_eq(ctl_ip_fmt(&n.vip6, ip), "fd00:98::2");
	pub_of(pub, 1);
	cr_assert_arr_eq(n.pub, pub, PKI_PUB_LEN);
	cr_assert_eq(n.cert_len, strlen("CERT:gw1:10.98.0.2:fd00:98::2"));
	cr_assert_arr_eq(n.cert, "CERT:gw1:10.98.0.2:fd00:98::2", n.cert_len);
	cr_assert_eq(n.serial[15], 1);
	cr_assert_str_eq(n.tags, "gateway");
	cr_assert_str_eq(n.routes, "10.200.0.0/24");
	cr_assert_eq(n.n_routes, 1);
	cr_assert_str_eq(ctl_prefix_fmt(&n.route[0], ip), "10.200.0.0/24");
	cr_assert_eq(n.created, 2000);
	cr_assert_eq(n.last_seen, 0);
	cr_assert_eq(n.revoked_at, 0);

	hash_of(h, 1);
	cr_assert_eq(registry_token_get(r, h, &t, err), REG_OK);
	cr_assert_eq(t.used_at, 2000);

	/* the three lookups find the same row */
	cr_assert_eq(registry_node_by_name(r, "gw1", &m, err), REG_OK);
	cr_assert_eq(m.id, n.id);
	cr_assert_eq(registry_node_by_vip(r, &n.vip4, &m, err), REG_OK);
	cr_assert_eq(m.id, n.id);
	cr_assert_eq(registry_node_by_vip(r, &n.vip6, &m, err), REG_OK);
	cr_assert_eq(m.id, n.id);
	cr_assert_eq(registry_node_by_pub(r, pub, &m, err), REG_OK);
	cr_assert_eq(m.id, n.id);
	cr_assert_eq(registry_node_by_name(r, "gw2", &m, err), REG_NOT_FOUND);
	pub_of(pub, 9);
	cr_assert_eq(registry_node_by_pub(r, pub, &m, err), REG_NOT_FOUND);

	cr_assert_eq(registry_node_set_last_seen(r, n.id, 2500, err), REG_OK);
	cr_assert_eq(registry_node_by_name(r, "gw1", &m, err), REG_OK);
	cr_assert_eq(m.last_seen, 2500);
	cr_assert_eq(registry_node_set_last_seen(r, n.id + 100, 2500, err), REG_NOT_FOUND);
	registry_close(r);
}

struct audit_seen {
	int n;
	char events[16][32];
	char nodes[16][64];
};

static int audit_cb(void *arg, int64_t time, const char *event, const char *node,
		    const char *peer, const char *detail)
{
	struct audit_seen *s = arg;

	(void)time, (void)peer, (void)detail;
	if (s->n < 16) {
		snprintf(s->events[s->n], 32, "%s", event);
		snprintf(s->nodes[s->n], 64, "%s", node ? node : "-");
	}
	s->n++;
	return 0;
}

Test(registry, enroll_refusals_change_nothing, .init = setup, .fini = teardown)
{
	struct registry *r = open_db();
	struct ctl_prefix p4 = pfx("10.98.0.0/24");
	struct fake_ca ca = { 0 };
	struct reg_node n;
	struct reg_counts before, after;

	add_token(r, 1, "alice", "", "", 1000, 2000);
	add_token(r, 2, "bob", "", "", 1000, 2000);
	cr_assert_eq(enroll(r, 1, 1, 1500, &p4, NULL, &ca, &n), REG_OK);
	before = counts(r, 1500);

	static const struct {
		int tok, pub;
		int64_t now;
		enum reg_result want;
		uint16_t code;
	} t[] = {
		/* 1 unknown */ { 7, 2, 1500, REG_TOKEN_UNKNOWN, CTL_CODE_TOKEN_UNKNOWN },
		/* 2 used */ { 1, 2, 1500, REG_TOKEN_USED, CTL_CODE_TOKEN_USED },
		/* 3 expired (expires == now) */ { 2, 2, 2000, REG_TOKEN_EXPIRED, CTL_CODE_TOKEN_EXPIRED },
		/* 4 expired later */ { 2, 2, 9000, REG_TOKEN_EXPIRED, CTL_CODE_TOKEN_EXPIRED },
		/* 5 key reuse */ { 2, 1, 1500, REG_PUB_TAKEN, CTL_CODE_REVOKED },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int calls = ca.calls;
		enum reg_result res = enroll(r, t[i].tok, t[i].pub, t[i].now, &p4, NULL, &ca, &n);

		cr_assert_eq(res, t[i].want, "case %zu: %s", i + 1, registry_strerror(res));
		cr_assert_eq(registry_ctl_code(res), t[i].code);
		cr_assert_eq(ca.calls, calls, "case %zu issued a certificate", i + 1);
		after = counts(r, 1500);
		cr_assert_eq(after.nodes, before.nodes);
		cr_assert_eq(after.revoked, before.revoked);
		cr_assert_eq(after.tokens_pending, before.tokens_pending);
	}
	/* the certificate callback failing also changes nothing */
	ca.fail = true;
	cr_assert_eq(enroll(r, 2, 2, 1500, &p4, NULL, &ca, &n), REG_ISSUE_FAILED);
	after = counts(r, 1500);
	cr_assert_eq(after.nodes, before.nodes);
	cr_assert_eq(after.tokens_pending, before.tokens_pending);
	/* ... and bob's token still works afterwards */
	ca.fail = false;
	cr_assert_eq(enroll(r, 2, 2, 1500, &p4, NULL, &ca, &n), REG_OK);
	cr_assert_str_eq(n.name, "bob");

	struct audit_seen s = { 0 };
	char err[REGISTRY_ERR_MAX];

	cr_assert_eq(registry_audit_foreach(r, 100, audit_cb, &s, err), REG_OK);
	/* token_create x2, enroll, 6 refusals, enroll */
	cr_assert_eq(s.n, 10);
	cr_assert_str_eq(s.events[2], "enroll");
	cr_assert_str_eq(s.events[3], "enroll_refused");
	cr_assert_str_eq(s.nodes[3], "-");	/* unknown token: no name */
	cr_assert_str_eq(s.nodes[4], "alice");
	cr_assert_str_eq(s.events[9], "enroll");
	/* limit keeps the newest rows, oldest first */
	memset(&s, 0, sizeof(s));
	cr_assert_eq(registry_audit_foreach(r, 2, audit_cb, &s, err), REG_OK);
	cr_assert_eq(s.n, 2);
	cr_assert_str_eq(s.events[1], "enroll");
	cr_assert_str_eq(s.nodes[1], "bob");
	registry_close(r);
}

Test(registry, vip_order_exhaustion_and_reuse, .init = setup, .fini = teardown)
{
	struct registry *r = open_db();
	struct ctl_prefix p4 = pfx("10.9.0.8/29"), p6 = pfx("fd00:9::/96");
	struct fake_ca ca = { 0 };
	struct reg_node n;
	char name[16], ip[CTL_ADDRSTRLEN], err[REGISTRY_ERR_MAX];
	static const char *const want4[] = { "10.9.0.10", "10.9.0.11", "10.9.0.12", "10.9.0.13",
					     "10.9.0.14" };
	static const char *const want6[] = { "fd00:9::2", "fd00:9::3", "fd00:9::4", "fd00:9::5",
					     "fd00:9::6" };

	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		add_token(r, i, name, "", "", 0, 100);
	}
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(enroll(r, i, i, 10, &p4, &p6, &ca, &n), REG_OK, "node %d", i);
		cr_assert_str_eq(ctl_ip_fmt(&n.vip4, ip), want4[i]);
		cr_assert_str_eq(ctl_ip_fmt(&n.vip6, ip), want6[i]);
	}
	/* .8 network, .9 broker, .15 broadcast: the /29 is full */
	cr_assert_eq(enroll(r, 5, 5, 10, &p4, &p6, &ca, &n), REG_POOL_FULL);
	cr_assert_eq(counts(r, 10).nodes, 5);
	cr_assert_eq(counts(r, 10).tokens_pending, 1);
	/* a revoked node's address is free again, lowest first */
	cr_assert_eq(registry_node_revoke(r, "n3", 20, NULL, err), REG_OK);
	cr_assert_eq(registry_node_revoke(r, "n1", 20, "lost laptop", err), REG_OK);
	cr_assert_eq(enroll(r, 5, 5, 30, &p4, &p6, &ca, &n), REG_OK);
	cr_assert_str_eq(ctl_ip_fmt(&n.vip4, ip), "10.9.0.11");
	cr_assert_eq(registry_node_by_vip(r, &n.vip4, &n, err), REG_OK);
	cr_assert_str_eq(n.name, "n5");
	registry_close(r);
}

Test(registry, smallest_prefix_and_bad_prefixes, .init = setup, .fini = teardown)
{
	struct registry *r = open_db();
	struct ctl_prefix p30 = pfx("10.1.1.0/30"), p31 = pfx("10.1.1.0/31"),
			  p6bad = pfx("fd00::/120"), p6 = pfx("fd00::/64");
	struct fake_ca ca = { 0 };
	struct reg_node n;
	char ip[CTL_ADDRSTRLEN];

	add_token(r, 1, "a", "", "", 0, 100);
	add_token(r, 2, "b", "", "", 0, 100);
	cr_assert_eq(enroll(r, 1, 1, 10, &p31, NULL, &ca, &n), REG_INVALID);
	cr_assert_eq(enroll(r, 1, 1, 10, &p30, &p6bad, &ca, &n), REG_INVALID);
	cr_assert_eq(enroll(r, 1, 1, 10, &p6, NULL, &ca, &n), REG_INVALID);
	cr_assert_eq(enroll(r, 1, 1, 10, &p30, NULL, &ca, &n), REG_OK);
	cr_assert_str_eq(ctl_ip_fmt(&n.vip4, ip), "10.1.1.2");
	cr_assert_not(n.has_vip6);
	cr_assert_eq(enroll(r, 2, 2, 10, &p30, NULL, &ca, &n), REG_POOL_FULL);
	registry_close(r);
}

Test(registry, revoke_and_reenroll_name, .init = setup, .fini = teardown)
{
	struct registry *r = open_db();
	struct ctl_prefix p4 = pfx("10.98.0.0/24");
	struct fake_ca ca = { 0 };
	struct reg_node n, old;
	char err[REGISTRY_ERR_MAX];
	uint8_t h[REG_TOKEN_HASH_LEN], pub[PKI_PUB_LEN];

	add_token(r, 1, "alice", "", "", 0, 100);
	cr_assert_eq(enroll(r, 1, 1, 10, &p4, NULL, &ca, &old), REG_OK);
	/* a token for a live name is refused at creation */
	hash_of(h, 2);
	cr_assert_eq(registry_token_add(r, h, "alice", "", "", 20, 100, err), REG_NAME_TAKEN);
	cr_assert(strstr(err, "alice"), "%s", err);
	cr_assert_eq(registry_node_revoke(r, "bob", 30, NULL, err), REG_NOT_FOUND);
	cr_assert_eq(registry_node_revoke(r, "alice", 30, "stolen", err), REG_OK);
	cr_assert_eq(registry_node_revoke(r, "alice", 31, NULL, err), REG_NOT_FOUND);
	cr_assert_eq(registry_node_by_name(r, "alice", &n, err), REG_NOT_FOUND);
	cr_assert_eq(registry_node_by_vip(r, &old.vip4, &n, err), REG_NOT_FOUND);
	/* the revoked key stays known, and revoked */
	pub_of(pub, 1);
	cr_assert_eq(registry_node_by_pub(r, pub, &n, err), REG_OK);
	cr_assert_eq(n.revoked_at, 30);
	cr_assert_str_eq(n.revoke_reason, "stolen");
	/* the name may be enrolled again, with a new key, as a new row */
	add_token(r, 2, "alice", "", "", 40, 100);
	cr_assert_eq(enroll(r, 2, 1, 50, &p4, NULL, &ca, &n), REG_PUB_TAKEN);
	cr_assert_eq(enroll(r, 2, 2, 50, &p4, NULL, &ca, &n), REG_OK);
	cr_assert_neq(n.id, old.id);
	cr_assert_eq(registry_node_by_name(r, "alice", &n, err), REG_OK);
	cr_assert_eq(n.revoked_at, 0);
	struct reg_counts c = counts(r, 50);

	cr_assert_eq(c.nodes, 1);
	cr_assert_eq(c.revoked, 1);
	registry_close(r);
}

struct list_seen {
	int n;
	char names[8][64];
	bool revoked[8];
	int stop_after;
};

static int list_cb(void *arg, const struct reg_node *n)
{
	struct list_seen *s = arg;

	snprintf(s->names[s->n], 64, "%s", n->name);
	s->revoked[s->n] = n->revoked_at != 0;
	s->n++;
	return s->stop_after && s->n >= s->stop_after;
}

Test(registry, node_list_order, .init = setup, .fini = teardown)
{
	struct registry *r = open_db();
	struct ctl_prefix p4 = pfx("10.98.0.0/24");
	struct fake_ca ca = { 0 };
	struct reg_node n;
	char err[REGISTRY_ERR_MAX];
	static const char *const names[] = { "c", "a", "b", "d" };

	for (int i = 0; i < 4; i++) {
		add_token(r, i, names[i], "", "", 0, 100);
		cr_assert_eq(enroll(r, i, i, 10, &p4, NULL, &ca, &n), REG_OK);
	}
	cr_assert_eq(registry_node_revoke(r, "c", 20, NULL, err), REG_OK);

	struct list_seen s = { 0 };

	cr_assert_eq(registry_node_foreach(r, false, list_cb, &s, err), REG_OK);
	cr_assert_eq(s.n, 3);
	cr_assert_str_eq(s.names[0], "a");	/* by VIP: a=.3 b=.4 d=.5 */
	cr_assert_str_eq(s.names[1], "b");
	cr_assert_str_eq(s.names[2], "d");
	memset(&s, 0, sizeof(s));
	cr_assert_eq(registry_node_foreach(r, true, list_cb, &s, err), REG_OK);
	cr_assert_eq(s.n, 4);
	cr_assert_str_eq(s.names[3], "c");
	cr_assert(s.revoked[3]);
	cr_assert_not(s.revoked[0]);
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	cr_assert_eq(registry_node_foreach(r, true, list_cb, &s, err), REG_OK);
	cr_assert_eq(s.n, 2);
	registry_close(r);
}

Test(registry, two_handles_share_the_database, .init = setup, .fini = teardown)
{
	struct registry *a = open_db(), *b = open_db();
	struct ctl_prefix p4 = pfx("10.98.0.0/24");
	struct fake_ca ca = { 0 };
	struct reg_node n;
	char err[REGISTRY_ERR_MAX];

	add_token(a, 1, "x", "", "", 0, 100);
	cr_assert_eq(enroll(b, 1, 1, 10, &p4, NULL, &ca, &n), REG_OK);
	cr_assert_eq(registry_node_revoke(a, "x", 20, NULL, err), REG_OK);
	cr_assert_eq(registry_node_by_name(b, "x", &n, err), REG_NOT_FOUND);
	registry_close(a);
	registry_close(b);
}

/* ---- crash atomicity: a child enrolls and is killed inside the
 * transaction (the hook tells the parent, then sleeps). -------------------- */

struct crash_arg {
	const char *stage;
	int fd;
};

static void crash_hook(void *arg, const char *stage)
{
	struct crash_arg *c = arg;

	if (strcmp(stage, c->stage) == 0) {
		(void)!write(c->fd, "x", 1);
		pause();
	}
}

static void crash_at(const char *stage)
{
	int pfd[2];
	pid_t pid;
	char ch;

	cr_assert_eq(pipe(pfd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct registry *r = NULL;
		char err[REGISTRY_ERR_MAX];
		struct crash_arg ca = { stage, pfd[1] };
		struct fake_ca fca = { 0 };
		struct ctl_prefix p4;
		struct reg_node n;
		uint8_t h[REG_TOKEN_HASH_LEN], pub[PKI_PUB_LEN];

		close(pfd[0]);
		if (registry_open(dbpath, &r, err) != REG_OK ||
		    ctl_prefix_parse(&p4, "10.98.0.0/24") != 0)
			_exit(3);
		registry_set_test_hook(r, crash_hook, &ca);
		hash_of(h, 1);
		pub_of(pub, 1);
		(void)!registry_enroll(r, h, pub, 10, &p4, NULL, fake_issue, &fca, &n, err);
		(void)!write(pfd[1], "d", 1);	/* finished: the stage was never hit */
		_exit(0);
	}
	close(pfd[1]);
	cr_assert_eq(read(pfd[0], &ch, 1), 1);
	cr_assert_eq(ch, 'x', "stage %s not reached", stage);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	int status;

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status));
	close(pfd[0]);
}

Test(registry, crash_inside_enrollment_leaves_nothing, .init = setup, .fini = teardown)
{
	static const char *const stages[] = { "issued", "inserted", "token" };
	struct registry *r = open_db();

	add_token(r, 1, "victim", "", "", 0, 100);
	registry_close(r);
	for (size_t i = 0; i < 3; i++) {
		crash_at(stages[i]);
		r = open_db();
		struct reg_counts c = counts(r, 10);
		struct reg_token t;
		struct reg_node n;
		uint8_t h[REG_TOKEN_HASH_LEN];
		char err[REGISTRY_ERR_MAX];

		cr_assert_eq(c.nodes, 0, "stage %s left a node", stages[i]);
		cr_assert_eq(c.revoked, 0);
		hash_of(h, 1);
		cr_assert_eq(registry_token_get(r, h, &t, err), REG_OK);
		cr_assert_eq(t.used_at, 0, "stage %s left the token used", stages[i]);
		cr_assert_eq(registry_node_by_name(r, "victim", &n, err), REG_NOT_FOUND);
		registry_close(r);
	}
	/* and after all that, the enrollment goes through whole */
	r = open_db();
	struct fake_ca ca = { 0 };
	struct ctl_prefix p4 = pfx("10.98.0.0/24");
	struct reg_node n;

	cr_assert_eq(enroll(r, 1, 1, 10, &p4, NULL, &ca, &n), REG_OK);
	cr_assert_str_eq(n.name, "victim");
	registry_close(r);
	r = open_db();
	cr_assert_eq(counts(r, 10).nodes, 1);
	cr_assert_eq(counts(r, 10).tokens_pending, 0);
	registry_close(r);
}

/* ---- batches: many writes in one transaction --------------------------- */

struct audit_all {
	int n;
	int cap;
	int64_t *time;
	char (*event)[32];
	char (*detail)[64];
};

static int audit_all_cb(void *arg, int64_t time, const char *event, const char *node,
			const char *peer, const char *detail)
{
	struct audit_all *a = arg;

	(void)node, (void)peer;
	if (a->n < a->cap) {
		a->time[a->n] = time;
		snprintf(a->event[a->n], 32, "%s", event);
		snprintf(a->detail[a->n], 64, "%s", detail ? detail : "");
	}
	a->n++;
	return 0;
}

static void audit_all_read(struct registry *r, struct audit_all *a, int cap)
{
	char err[REGISTRY_ERR_MAX] = "";

	a->n = 0;
	a->cap = cap;
	a->time = calloc((size_t)cap, sizeof(*a->time));
	a->event = calloc((size_t)cap, sizeof(*a->event));
	a->detail = calloc((size_t)cap, sizeof(*a->detail));
	cr_assert(a->time && a->event && a->detail);
	cr_assert_eq(registry_audit_foreach(r, (uint32_t)cap, audit_all_cb, a, err), REG_OK,
		     "%s", err);
	cr_assert_lt(a->n, cap, "more audit rows than expected");
}

static void audit_all_free(struct audit_all *a)
{
	free(a->time);
	free(a->event);
	free(a->detail);
}

static int64_t last_seen_of(struct registry *r, const char *name)
{
	struct reg_node n;
	char err[REGISTRY_ERR_MAX] = "";

	cr_assert_eq(registry_node_by_name(r, name, &n, err), REG_OK, "%s", err);
	return n.last_seen;
}

#define BATCH_N 5000

Test(registry, batch_of_n_rows_all_present_in_order, .init = setup, .fini = teardown)
{
	struct registry *r = open_db(), *other = open_db();
	struct ctl_prefix p4 = pfx("10.98.0.0/24");
	struct fake_ca ca = { 0 };
	struct reg_node n;
	struct audit_all a;
	char err[REGISTRY_ERR_MAX] = "", detail[64], node[16];
	uint32_t before;

	add_token(r, 1, "gw", "", "", 0, 100);
	cr_assert_eq(enroll(r, 1, 1, 10, &p4, NULL, &ca, &n), REG_OK);
	before = counts(r, 10).audit_rows;
	cr_assert_eq(before, 2);	/* token_create, enroll */

	cr_assert_not(registry_in_batch(r));
	cr_assert_eq(registry_begin(r, err), REG_OK, "%s", err);
	cr_assert(registry_in_batch(r));
	for (int i = 0; i < BATCH_N; i++) {
		snprintf(detail, sizeof(detail), "row %d", i);
		snprintf(node, sizeof(node), "n%d", i % 97);
		cr_assert_eq(registry_audit_add(r, 1000 + i, i % 2 ? "session_grant" : "session_refuse",
						node, "peer", detail, err), REG_OK, "row %d: %s", i, err);
		if (i == BATCH_N / 2)
			cr_assert_eq(registry_node_set_last_seen(r, n.id, 4242, err), REG_OK, "%s", err);
	}
	/* unknown node: REG_NOT_FOUND, and the batch goes on */
	cr_assert_eq(registry_node_set_last_seen(r, n.id + 50, 1, err), REG_NOT_FOUND);
	/* the batch sees its own rows, another handle sees none before COMMIT */
	cr_assert_eq(counts(r, 10).audit_rows, before + BATCH_N);
	cr_assert_eq(counts(other, 10).audit_rows, before);
	cr_assert_eq(last_seen_of(other, "gw"), 0);
	cr_assert_eq(registry_commit(r, err), REG_OK, "%s", err);
	cr_assert_not(registry_in_batch(r));
	cr_assert_eq(counts(other, 10).audit_rows, before + BATCH_N);
	cr_assert_eq(last_seen_of(other, "gw"), 4242);
	registry_close(other);
	registry_close(r);

	/* reopened: every row, itemized, in order, with its own values */
	r = open_db();
	audit_all_read(r, &a, BATCH_N + 10);
	cr_assert_eq(a.n, (int)before + BATCH_N);
	for (int i = 0; i < BATCH_N; i++) {
		int k = (int)before + i;

		snprintf(detail, sizeof(detail), "row %d", i);
		cr_assert_eq(a.time[k], 1000 + i, "row %d time %lld", i, (long long)a.time[k]);
		cr_assert_str_eq(a.event[k], i % 2 ? "session_grant" : "session_refuse");
		cr_assert_str_eq(a.detail[k], detail);
	}
	audit_all_free(&a);
	registry_close(r);
}

Test(registry, audit_add_batch_writes_all_rows, .init = setup, .fini = teardown)
{
	struct registry *r = open_db();
	static struct reg_audit_row rows[BATCH_N];
	static char details[BATCH_N][24];
	struct audit_all a;
	char err[REGISTRY_ERR_MAX] = "";

	cr_assert_eq(registry_audit_add_batch(r, rows, 0, err), REG_OK, "%s", err);
	cr_assert_eq(counts(r, 0).audit_rows, 0);
	for (int i = 0; i < BATCH_N; i++) {
		snprintf(details[i], sizeof(details[i]), "sid %08x", (unsigned)i * 2654435761u);
		rows[i] = (struct reg_audit_row){ .time = i, .event = "session_grant",
						  .node = "a", .peer = i % 3 ? "b" : NULL,
						  .detail = details[i] };
	}
	cr_assert_eq(registry_audit_add_batch(r, rows, BATCH_N, err), REG_OK, "%s", err);
	cr_assert_not(registry_in_batch(r));
	registry_close(r);
	r = open_db();
	audit_all_read(r, &a, BATCH_N + 1);
	cr_assert_eq(a.n, BATCH_N);
	for (int i = 0; i < BATCH_N; i++) {
		cr_assert_eq(a.time[i], i);
		cr_assert_str_eq(a.detail[i], details[i]);
	}
	audit_all_free(&a);
	registry_close(r);
}

Test(registry, failed_batch_rolls_back_entirely, .init = setup, .fini = teardown)
{
	struct registry *r = open_db();
	struct ctl_prefix p4 = pfx("10.98.0.0/24");
	struct fake_ca ca = { 0 };
	static struct reg_audit_row rows[1000];
	struct reg_node n;
	char err[REGISTRY_ERR_MAX] = "";
	uint8_t h[REG_TOKEN_HASH_LEN];
	uint32_t before;

	add_token(r, 1, "gw", "", "", 0, 100);
	cr_assert_eq(enroll(r, 1, 1, 10, &p4, NULL, &ca, &n), REG_OK);
	before = counts(r, 10).audit_rows;

	/* a bad row in the middle: the rows before it are undone too */
	cr_assert_eq(registry_begin(r, err), REG_OK, "%s", err);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(registry_audit_add(r, i, "session_grant", "a", "b", "x", err), REG_OK);
	cr_assert_eq(registry_node_set_last_seen(r, n.id, 777, err), REG_OK);
	cr_assert_eq(registry_audit_add(r, 5, "", "badnode", NULL, NULL, err), REG_INVALID);
	cr_assert(strstr(err, "badnode"), "error does not quote the row: %s", err);
	/* nothing more is written into a failed batch */
	cr_assert_eq(registry_audit_add(r, 6, "session_grant", "a", "b", "y", err), REG_ERR_DB);
	cr_assert(strstr(err, "already failed"), "%s", err);
	cr_assert_eq(registry_node_set_last_seen(r, n.id, 888, err), REG_ERR_DB);
	cr_assert_eq(registry_commit(r, err), REG_INVALID);
	cr_assert(strstr(err, "rolled back"), "%s", err);
	cr_assert_not(registry_in_batch(r));
	cr_assert_eq(counts(r, 10).audit_rows, before);
	cr_assert_eq(last_seen_of(r, "gw"), 0);

	/* registry_audit_add_batch: row 700 of 1000 is bad, none is written */
	for (int i = 0; i < 1000; i++)
		rows[i] = (struct reg_audit_row){ .time = i, .event = "session_grant",
						  .detail = "z" };
	rows[700].event = NULL;
	cr_assert_eq(registry_audit_add_batch(r, rows, 1000, err), REG_INVALID);
	cr_assert(strstr(err, "row 700"), "%s", err);
	cr_assert_not(registry_in_batch(r));
	cr_assert_eq(counts(r, 10).audit_rows, before);

	/* explicit rollback */
	cr_assert_eq(registry_begin(r, err), REG_OK, "%s", err);
	for (int i = 0; i < 50; i++)
		cr_assert_eq(registry_audit_add(r, i, "session_grant", NULL, NULL, NULL, err), REG_OK);
	registry_rollback(r);
	registry_rollback(r);	/* no batch: no-op */
	cr_assert_eq(counts(r, 10).audit_rows, before);

	/* misuse: nested begin, commit without begin, calls with their own
	 * transaction; none changes anything, the open batch still commits */
	cr_assert_eq(registry_commit(r, err), REG_INVALID);
	cr_assert_eq(registry_begin(r, err), REG_OK, "%s", err);
	cr_assert_eq(registry_begin(r, err), REG_INVALID);
	cr_assert_eq(registry_audit_add_batch(r, rows, 10, err), REG_INVALID);
	hash_of(h, 9);
	cr_assert_eq(registry_token_add(r, h, "other", "", "", 0, 100, err), REG_INVALID);
	cr_assert(strstr(err, "batch is open"), "%s", err);
	cr_assert_eq(registry_node_revoke(r, "gw", 20, NULL, err), REG_INVALID);
	cr_assert_eq(enroll(r, 9, 9, 10, &p4, NULL, &ca, &n), REG_INVALID);
	cr_assert_eq(registry_audit_add(r, 1, "session_grant", "a", "b", "kept", err), REG_OK);
	cr_assert_eq(registry_commit(r, err), REG_OK, "%s", err);
	cr_assert_eq(counts(r, 10).audit_rows, before + 1);
	cr_assert_eq(counts(r, 10).nodes, 1, "revoke ran inside the batch");
	cr_assert_eq(registry_token_get(r, h, &(struct reg_token){ 0 }, err), REG_TOKEN_UNKNOWN);

	/* and the registry works normally afterwards */
	cr_assert_eq(registry_node_revoke(r, "gw", 20, NULL, err), REG_OK, "%s", err);
	registry_close(r);
}

Test(registry, close_with_open_batch_writes_nothing, .init = setup, .fini = teardown)
{
	struct registry *r = open_db();
	char err[REGISTRY_ERR_MAX] = "";

	cr_assert_eq(registry_begin(r, err), REG_OK, "%s", err);
	for (int i = 0; i < 20; i++)
		cr_assert_eq(registry_audit_add(r, i, "session_grant", NULL, NULL, NULL, err), REG_OK);
	registry_close(r);
	r = open_db();
	cr_assert_eq(counts(r, 0).audit_rows, 0);
	registry_close(r);
}

/* ---- crash atomicity of batches ----------------------------------------- */

#define CRASH_ROWS 300

/* A child writes a batch of CRASH_ROWS rows and is killed: with stage
 * "commit" inside registry_commit before COMMIT, with stage NULL right
 * after registry_commit returned. */
static void crash_batch(const char *stage)
{
	int pfd[2];
	pid_t pid;
	char ch;
	int status;

	cr_assert_eq(pipe(pfd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct registry *r = NULL;
		char err[REGISTRY_ERR_MAX];
		struct crash_arg ca = { stage ? stage : "-", pfd[1] };

		close(pfd[0]);
		if (registry_open(dbpath, &r, err) != REG_OK)
			_exit(3);
		registry_set_test_hook(r, crash_hook, &ca);
		if (registry_begin(r, err) != REG_OK)
			_exit(4);
		for (int i = 0; i < CRASH_ROWS; i++)
			if (registry_audit_add(r, i, "session_grant", "a", "b", "crash", err) != REG_OK)
				_exit(5);
		if (registry_commit(r, err) != REG_OK)
			_exit(6);
		(void)!write(pfd[1], "c", 1);	/* committed */
		pause();
		_exit(0);
	}
	close(pfd[1]);
	cr_assert_eq(read(pfd[0], &ch, 1), 1, "child died early");
	cr_assert_eq(ch, stage ? 'x' : 'c', "stage %s not reached (got %c)",
		     stage ? stage : "after commit", ch);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status));
	close(pfd[0]);
}

Test(registry, crash_during_batch_leaves_none_after_commit_all, .init = setup,
     .fini = teardown)
{
	struct registry *r;

	crash_batch("commit");
	r = open_db();
	cr_assert_eq(counts(r, 0).audit_rows, 0, "a killed batch left rows");
	registry_close(r);
	crash_batch(NULL);
	r = open_db();
	cr_assert_eq(counts(r, 0).audit_rows, CRASH_ROWS, "a committed batch lost rows");
	registry_close(r);
	crash_batch("commit");
	r = open_db();
	cr_assert_eq(counts(r, 0).audit_rows, CRASH_ROWS);
	registry_close(r);
}

/* A child writes batches of CRASH_ROWS rows ("k<run> b<batch> r<row>") in a
 * loop and is killed at a moment that lands anywhere in a batch (inserts,
 * COMMIT, fsync): every batch is then whole or absent. */
#define KILL_RUNS 5
#define KILL_MAX_BATCHES 2000

static int batch_rows[KILL_RUNS][KILL_MAX_BATCHES];
static int bad_rows;

static int count_batch_cb(void *arg, int64_t time, const char *event, const char *node,
			  const char *peer, const char *detail)
{
	int k, b, i;

	(void)arg, (void)time, (void)event, (void)node, (void)peer;
	if (!detail || sscanf(detail, "k%d b%d r%d", &k, &b, &i) != 3 || k < 0 ||
	    k >= KILL_RUNS || b < 0 || b >= KILL_MAX_BATCHES || i != (int)time)
		bad_rows++;
	else
		batch_rows[k][b]++;
	return 0;
}

Test(registry, kill_at_any_moment_leaves_whole_batches, .init = setup, .fini = teardown,
     .timeout = 60)
{
	int total_batches = 0;

	for (int k = 0; k < KILL_RUNS; k++) {
		int pfd[2], status;
		pid_t pid;
		char ch;

		cr_assert_eq(pipe(pfd), 0);
		pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			struct registry *r = NULL;
			char err[REGISTRY_ERR_MAX], d[48];

			close(pfd[0]);
			if (registry_open(dbpath, &r, err) != REG_OK)
				_exit(3);
			for (int b = 0; b < KILL_MAX_BATCHES; b++) {
				if (registry_begin(r, err) != REG_OK)
					_exit(4);
				for (int i = 0; i < CRASH_ROWS; i++) {
					snprintf(d, sizeof(d), "k%d b%d r%d", k, b, i);
					if (registry_audit_add(r, i, "session_grant", NULL, NULL, d,
							       err) != REG_OK)
						_exit(5);
				}
				if (registry_commit(r, err) != REG_OK)
					_exit(6);
				if (b == 0)	/* one batch in: the parent's clock starts */
					(void)!write(pfd[1], "s", 1);
			}
			_exit(0);
		}
		close(pfd[1]);
		cr_assert_eq(read(pfd[0], &ch, 1), 1, "child did not commit its first batch");
		close(pfd[0]);
		/* 5 .. 50 ms later: a kill anywhere in a later batch */
		usleep((useconds_t)(5000 + 10000 * k + (getpid() % 7) * 500));
		cr_assert_eq(kill(pid, SIGKILL), 0);
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFSIGNALED(status), "run %d: child ended on its own (%d)", k, status);
	}

	struct registry *r = open_db();
	char err[REGISTRY_ERR_MAX] = "";

	cr_assert_eq(registry_audit_foreach(r, UINT32_MAX, count_batch_cb, NULL, err), REG_OK,
		     "%s", err);
	cr_assert_eq(bad_rows, 0);
	for (int k = 0; k < KILL_RUNS; k++) {
		for (int b = 0; b < KILL_MAX_BATCHES; b++) {
			cr_assert(batch_rows[k][b] == 0 || batch_rows[k][b] == CRASH_ROWS,
				  "run %d batch %d: %d of %d rows", k, b, batch_rows[k][b],
				  CRASH_ROWS);
			/* batches are committed in order: no hole before a later one */
			if (b > 0 && batch_rows[k][b])
				cr_assert_eq(batch_rows[k][b - 1], CRASH_ROWS);
			total_batches += batch_rows[k][b] ? 1 : 0;
		}
	}
	cr_assert_geq(total_batches, KILL_RUNS, "a first batch of a run was lost");
	registry_close(r);
}

/* ---- audit.c, the daemon's writer: queue -> batches -------------------- */

#include "keybroker/kbd.h"

struct audit_fixture {
	struct registry *r;
	struct kbd *kb;
	struct kbnode *node;
};

static void audit_fixture_open(struct audit_fixture *f)
{
	struct ctl_prefix p4 = pfx("10.98.0.0/24");
	struct fake_ca ca = { 0 };
	struct reg_node n;

	f->r = open_db();
	add_token(f->r, 1, "gw", "", "", 0, 100);
	cr_assert_eq(enroll(f->r, 1, 1, 10, &p4, NULL, &ca, &n), REG_OK);
	f->kb = calloc(1, sizeof(*f->kb));
	cr_assert_not_null(f->kb);
	f->kb->reg = f->r;
	f->node = dir_upsert(f->kb, &n);
	cr_assert_not_null(f->node);
}

static void audit_fixture_close(struct audit_fixture *f)
{
	dir_free(f->kb);
	free(f->kb);
	registry_close(f->r);
}

/* rows "sid <i>" of event session_grant, in order, none missing */
static void assert_grants_itemized(struct registry *r, int n)
{
	struct audit_all a;
	char want[32];
	int g = 0;

	audit_all_read(r, &a, n + 16);
	for (int k = 0; k < a.n; k++) {
		if (strcmp(a.event[k], "session_grant") != 0)
			continue;
		snprintf(want, sizeof(want), "sid %d", g);
		cr_assert_str_eq(a.detail[k], want, "grant row %d", g);
		g++;
	}
	cr_assert_eq(g, n, "%d itemized grant rows, %d queued", g, n);
	audit_all_free(&a);
}

#define AUDIT_N 20000

Test(audit, every_queued_row_written_itemized, .init = setup, .fini = teardown, .timeout = 60)
{
	struct audit_fixture f;
	int rounds = 0;

	audit_fixture_open(&f);
	for (int i = 0; i < AUDIT_N; i++) {
		audit_event(f.kb, "session_grant", "gw", "peer", "sid %d", i);
		if (i % 1000 == 0)
			audit_last_seen(f.kb, f.node);
	}
	cr_assert(f.node->last_seen_dirty);
	cr_assert_eq(f.kb->aq_len, AUDIT_N + 1, "one last_seen row per node");
	/* timer rounds, each bounded in time: they write everything */
	while (f.kb->aq_len && rounds++ < 1000)
		audit_flush(f.kb, false);
	cr_assert_eq(f.kb->aq_len, 0);
	cr_assert_eq(f.kb->cnt.audit_rows, AUDIT_N);
	cr_assert_eq(f.kb->cnt.audit_dropped, 0);
	cr_assert_eq(f.kb->cnt.db_errors, 0);
	cr_assert_not(f.node->last_seen_dirty);
	cr_assert_eq(last_seen_of(f.r, "gw"), f.node->last_seen);
	assert_grants_itemized(f.r, AUDIT_N);
	cr_assert_eq(counts(f.r, 10).audit_rows, AUDIT_N + 2);	/* + token_create, enroll */
	audit_fixture_close(&f);
}

Test(audit, failed_batch_stays_queued_and_is_retried, .init = setup, .fini = teardown,
     .timeout = 60)
{
	struct audit_fixture f;
	struct registry *other;
	char err[REGISTRY_ERR_MAX] = "";

	audit_fixture_open(&f);
	for (int i = 0; i < 500; i++)
		audit_event(f.kb, "session_grant", "gw", NULL, "sid %d", i);
	/* another writer holds the lock past the busy timeout: the round fails */
	other = open_db();
	cr_assert_eq(registry_begin(other, err), REG_OK, "%s", err);
	audit_flush(f.kb, false);
	cr_assert_eq(f.kb->cnt.db_errors, 1);
	cr_assert_eq(f.kb->aq_len, 500, "rows left the queue without being written");
	cr_assert_eq(f.kb->cnt.audit_rows, 0);
	registry_rollback(other);
	registry_close(other);
	audit_flush(f.kb, false);
	cr_assert_eq(f.kb->aq_len, 0);
	cr_assert_eq(f.kb->cnt.audit_rows, 500);
	assert_grants_itemized(f.r, 500);
	audit_fixture_close(&f);
}

static int find_overflow_cb(void *arg, int64_t time, const char *event, const char *node,
			    const char *peer, const char *detail)
{
	char *out = arg;
	size_t len = strlen(out);

	(void)time, (void)node, (void)peer;
	if (strcmp(event, "audit_overflow") == 0)
		snprintf(out + len, 256 - len, "%s;", detail ? detail : "");
	return 0;
}

Test(audit, overflow_is_counted_and_recorded, .init = setup, .fini = teardown, .timeout = 120)
{
	struct audit_fixture f;
	char detail[256] = "";
	int queued = 0;

	audit_fixture_open(&f);
	/* fill the queue to its cap (never reached at a load the registry
	 * keeps up with), then 7 more rows */
	while (f.kb->cnt.audit_dropped == 0 && queued < 2000000)
		audit_event(f.kb, "session_grant", "gw", NULL, "sid %d", queued++);
	queued--;	/* the last one was dropped */
	cr_assert_gt(queued, 100000, "queue capped at only %d rows", queued);
	for (int i = 0; i < 6; i++)
		audit_event(f.kb, "session_grant", "gw", NULL, "dropped %d", i);
	audit_event(f.kb, "connect_refused", "x", NULL, "dropped");
	cr_assert_eq(f.kb->cnt.audit_dropped, 8);
	cr_assert_eq(f.kb->aq_len, (size_t)queued);
	/* last_seen is never dropped */
	audit_last_seen(f.kb, f.node);
	cr_assert_eq(f.kb->aq_len, (size_t)queued + 1);
	audit_flush(f.kb, true);
	cr_assert_eq(f.kb->aq_len, 0);
	cr_assert_eq(f.kb->cnt.audit_rows, (uint64_t)queued);
	assert_grants_itemized(f.r, queued);
	char err[REGISTRY_ERR_MAX] = "";

	cr_assert_eq(registry_audit_foreach(f.r, UINT32_MAX, find_overflow_cb, detail, err),
		     REG_OK, "%s", err);
	cr_assert_str_eq(detail, "7 session_grant rows dropped: audit queue full;"
			 "1 connect_refused rows dropped: audit queue full;");
	for (int i = 0; i < 4; i++)
		cr_assert_eq(f.kb->aq_dropped[i], 0, "counter %d not reset once recorded", i);
	audit_fixture_close(&f);
}
