// SPDX-License-Identifier: GPL-2.0-only
/* Tests for src/keybroker/kbstate.c: init, load, node certificates. openssl
 * is the external oracle for every certificate. */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/hash.h"
#include "keybroker/kbstate.h"
#include "keybroker/registry.h"

static char tmpdir[256];
static char dir[300];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mavpn-test-kbstate-%ld-XXXXXX", (long)getpid());
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(dir, sizeof(dir), "%s/state", tmpdir);
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)system(cmd);
}

static void init_ok(const char *prefix6, const char *name)
{
	char err[KBSTATE_ERR_MAX] = "";

	cr_assert_eq(kbstate_init(dir, "127.0.0.1:4500", "10.98.0.0/24", prefix6, name, err), 0,
		     "%s", err);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void mode_is(const char *file, unsigned mode)
{
	char path[400];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	cr_assert_eq(stat(path, &st), 0, "%s missing", file);
	cr_assert_eq(st.st_mode & 07777, mode, "%s has mode %o", file, st.st_mode & 07777);
}

Test(kbstate, init_creates_files_with_modes, .init = setup, .fini = teardown)
{
	umask(022);
	init_ok(NULL, NULL);
	mode_is(".", 0700);
	mode_is(KBSTATE_CONF, 0600);
	mode_is(KBSTATE_CA_KEY, 0600);
	mode_is(KBSTATE_CA_CRT, 0600);
	mode_is(KBSTATE_SRV_KEY, 0600);
	mode_is(KBSTATE_SRV_CRT, 0600);
	mode_is(KBSTATE_POLICY, 0600);
	mode_is(KBSTATE_REGISTRY, 0600);
	/* nothing else (no temporary files) except SQLite's own */
	cr_assert_eq(sh("test $(ls -A '%s' | grep -v '^registry.db' | wc -l) -eq 6", dir), 0);
}

Test(kbstate, openssl_accepts_ca_and_broker_cert, .init = setup, .fini = teardown)
{
	init_ok("fd00:98::/64", "kb.example.net");
	cr_assert_eq(sh("cd '%s' && openssl verify -x509_strict -purpose sslserver -CAfile ca.crt "
			"broker.crt >/dev/null", dir), 0);
	/* the CA verifies itself as a trust anchor, and is a CA */
	cr_assert_eq(sh("cd '%s' && openssl x509 -in ca.crt -noout -text | "
			"grep -q 'CA:TRUE'", dir), 0);
	cr_assert_eq(sh("cd '%s' && openssl x509 -in broker.crt -noout -ext subjectAltName | "
			"grep -q 'DNS:kb.example.net'", dir), 0);
	cr_assert_eq(sh("cd '%s' && openssl x509 -in ca.crt -noout -subject | "
			"grep -q 'kb.example.net-ca'", dir), 0);
	/* the keys are ECDSA P-256 keys openssl can read, and match */
	cr_assert_eq(sh("cd '%s' && test \"$(openssl pkey -in ca.key -pubout)\" = "
			"\"$(openssl x509 -in ca.crt -noout -pubkey)\"", dir), 0);
	cr_assert_eq(sh("cd '%s' && test \"$(openssl pkey -in broker.key -pubout)\" = "
			"\"$(openssl x509 -in broker.crt -noout -pubkey)\"", dir), 0);
	cr_assert_eq(sh("cd '%s' && openssl pkey -in ca.key -noout -text | grep -q prime256v1",
			dir), 0);
	/* broker cert is not accepted as a client cert, i.e. purposes are real */
	cr_assert_neq(sh("cd '%s' && openssl verify -x509_strict -purpose sslclient -CAfile ca.crt "
			 "broker.crt >/dev/null 2>&1", dir), 0);
}

Test(kbstate, load_reads_everything_back, .init = setup, .fini = teardown)
{
	struct kbstate st;
	char err[KBSTATE_ERR_MAX] = "", ip[CTL_ADDRSTRLEN];
	uint8_t fpr[32];

	init_ok("fd00:98::/64", NULL);
	cr_assert_eq(kbstate_load(dir, &st, err), 0, "%s", err);
	cr_assert_str_eq(st.dir, dir);
	cr_assert_str_eq(st.name, "keybroker");
	cr_assert_str_eq(ctl_endpoint_fmt(&st.listen, ip), "127.0.0.1:4500");
	cr_assert_str_eq(st.listen_text, "127.0.0.1:4500");
	cr_assert_str_eq(ctl_prefix_fmt(&st.prefix4, ip), "10.98.0.0/24");
	cr_assert(st.has_prefix6);
	cr_assert_str_eq(ctl_prefix_fmt(&st.prefix6, ip), "fd00:98::/64");
	cr_assert_eq(st.key_life_s, 120);
	cr_assert_eq(st.keepalive_s, 5);
	cr_assert_gt(st.ca_len, 100);
	cr_assert_gt(st.server_len, 100);
	sha256(fpr, st.ca_der, st.ca_len);
	cr_assert_arr_eq(st.ca_fpr, fpr, 32);
	cr_assert_not_null(st.ca);
	cr_assert(strstr(st.registry_path, "/registry.db"));
	cr_assert(strstr(st.policy_path, "/policy.conf"));
	cr_assert(strstr(st.admin_sock_path, "/admin.sock"));

	/* fingerprint equals openssl's */
	char cmd[512], line[256] = "", hex[100] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "openssl x509 -in '%s/ca.crt' -noout -fingerprint -sha256", dir);
	p = popen(cmd, "r");
	cr_assert_not_null(fgets(line, sizeof(line), p));
	pclose(p);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%02X%s", st.ca_fpr[i], i < 31 ? ":" : "");
	cr_assert(strstr(line, hex), "%s vs %s", line, hex);

	kbstate_free(&st);
	cr_assert_null(st.ca);
	uint8_t zero[PKI_PRIV_LEN] = { 0 };

	cr_assert_arr_eq(st.server_key.priv, zero, PKI_PRIV_LEN);
	kbstate_free(&st);	/* twice is fine */
}

Test(kbstate, node_cert_passes_openssl_sslclient, .init = setup, .fini = teardown)
{
	struct kbstate st;
	char err[KBSTATE_ERR_MAX] = "";
	struct pki_key node;
	struct ctl_ip v4, v6;
	uint8_t der[PKI_CERT_MAX], serial[PKI_SERIAL_LEN];
	char pem[4096], path[400];

	init_ok("fd00:98::/64", NULL);
	cr_assert_eq(kbstate_load(dir, &st, err), 0, "%s", err);
	cr_assert_eq(pki_key_generate(&node), 0);
	cr_assert_eq(ctl_ip_parse(&v4, "10.98.0.2"), 0);
	cr_assert_eq(ctl_ip_parse(&v6, "fd00:98::2"), 0);
	ssize_t n = kbstate_issue_node_cert(&st, "laptop1", &v4, &v6, node.pub, der, sizeof(der),
					    serial);

	cr_assert_gt(n, 0);
	cr_assert(pki_cert_verify(der, (size_t)n, st.ca_der, st.ca_len, time(NULL)));
	cr_assert_gt(pki_cert_to_pem(der, (size_t)n, pem, sizeof(pem)), 0);
	snprintf(path, sizeof(path), "%s/node.crt", tmpdir);
	FILE *f = fopen(path, "w");

	fputs(pem, f);
	fclose(f);
	cr_assert_eq(sh("openssl verify -x509_strict -purpose sslclient -CAfile '%s/ca.crt' '%s' "
			">/dev/null", dir, path), 0);
	cr_assert_eq(sh("openssl x509 -in '%s' -noout -ext subjectAltName | "
			"grep -q 'IP Address:10.98.0.2'", path), 0);
	cr_assert_eq(sh("openssl x509 -in '%s' -noout -ext subjectAltName | "
			"grep -qi 'IP Address:FD00:98:0:0:0:0:0:2'", path), 0);
	cr_assert_eq(sh("openssl x509 -in '%s' -noout -subject | grep -q laptop1", path), 0);
	/* a v4-only certificate without vip6 */
	n = kbstate_issue_node_cert(&st, "laptop2", &v4, NULL, node.pub, der, sizeof(der), serial);
	cr_assert_gt(n, 0);
	/* wrong address families are refused */
	cr_assert_eq(kbstate_issue_node_cert(&st, "x", &v6, NULL, node.pub, der, sizeof(der),
					     serial), -1);
	pki_key_clear(&node);
	kbstate_free(&st);
}

static ssize_t issue_counting(void *arg, const char *name, const struct ctl_ip *vip4,
			      const struct ctl_ip *vip6, const uint8_t pub[PKI_PUB_LEN],
			      uint8_t *der, size_t cap, uint8_t serial[PKI_SERIAL_LEN])
{
	return kbstate_issue_cb(arg, name, vip4, vip6, pub, der, cap, serial);
}

Test(kbstate, enrollment_through_registry_issues_real_cert, .init = setup, .fini = teardown)
{
	struct kbstate st;
	struct registry *r;
	char err[KBSTATE_ERR_MAX] = "", rerr[REGISTRY_ERR_MAX] = "";
	uint8_t secret[16] = { 1, 2, 3 }, h[32];
	struct pki_key node;
	struct reg_node n;
	struct pki_cert_info ci;

	init_ok(NULL, NULL);
	cr_assert_eq(kbstate_load(dir, &st, err), 0, "%s", err);
	cr_assert_eq(registry_open(st.registry_path, &r, rerr), REG_OK, "%s", rerr);
	sha256(h, secret, sizeof(secret));
	cr_assert_eq(registry_token_add(r, h, "srv1", "server", "", time(NULL), time(NULL) + 60,
					rerr), REG_OK, "%s", rerr);
	cr_assert_eq(pki_key_generate(&node), 0);
	cr_assert_eq(registry_enroll(r, h, node.pub, time(NULL), &st.prefix4, NULL,
				     issue_counting, &st, &n, rerr), REG_OK, "%s", rerr);
	cr_assert_eq(pki_cert_parse(&ci, n.cert, n.cert_len), 0);
	cr_assert_str_eq(ci.name, "srv1");
	cr_assert(ci.has_vip4);
	cr_assert_arr_eq(ci.vip4, n.vip4.a, 4);
	cr_assert_arr_eq(ci.pub, node.pub, PKI_PUB_LEN);
	cr_assert_not(ci.is_ca);
	cr_assert(pki_cert_verify(n.cert, n.cert_len, st.ca_der, st.ca_len, time(NULL)));
	registry_close(r);
	pki_key_clear(&node);
	kbstate_free(&st);
}

Test(kbstate, init_twice_and_nonempty_refused, .init = setup, .fini = teardown)
{
	char err[KBSTATE_ERR_MAX] = "";
	char before[4096] = "", after[4096] = "";
	char path[512];
	FILE *f;

	init_ok(NULL, NULL);
	snprintf(path, sizeof(path), "%s/ca.crt", dir);
	f = fopen(path, "r");
	cr_assert_gt(fread(before, 1, sizeof(before) - 1, f), 0);
	fclose(f);
	cr_assert_eq(kbstate_init(dir, "127.0.0.1:4501", "10.99.0.0/24", NULL, NULL, err), -1);
	cr_assert(strstr(err, "already holds a keybroker state") && strstr(err, dir), "%s", err);
	f = fopen(path, "r");
	cr_assert_gt(fread(after, 1, sizeof(after) - 1, f), 0);
	fclose(f);
	cr_assert_str_eq(before, after, "the CA was overwritten");

	/* a directory with unrelated files is refused too, and left alone */
	char other[400];

	snprintf(other, sizeof(other), "%s/other", tmpdir);
	cr_assert_eq(mkdir(other, 0755), 0);
	snprintf(path, sizeof(path), "%s/notes.txt", other);
	f = fopen(path, "w");
	fclose(f);
	cr_assert_eq(kbstate_init(other, "127.0.0.1:4501", "10.99.0.0/24", NULL, NULL, err), -1);
	cr_assert(strstr(err, "not empty"), "%s", err);
	cr_assert_eq(access(path, F_OK), 0);
	/* an existing empty directory is fine, and gets mode 0700 */
	snprintf(other, sizeof(other), "%s/empty", tmpdir);
	cr_assert_eq(mkdir(other, 0755), 0);
	cr_assert_eq(kbstate_init(other, "127.0.0.1:4501", "10.99.0.0/24", NULL, NULL, err), 0,
		     "%s", err);
	struct stat sb;

	cr_assert_eq(stat(other, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0700);
}

Test(kbstate, bad_arguments_are_quoted, .init = setup, .fini = teardown)
{
	static const struct {
		const char *listen, *p4, *p6, *name, *needle;
	} t[] = {
		/* 1 */ { "localhost:4500", "10.0.0.0/24", NULL, NULL, "'localhost:4500'" },
		/* 2 */ { "127.0.0.1", "10.0.0.0/24", NULL, NULL, "'127.0.0.1'" },
		/* 3 */ { "127.0.0.1:0", "10.0.0.0/24", NULL, NULL, "'127.0.0.1:0'" },
		/* 4 */ { "127.0.0.1:4500", "10.0.0.1/24", NULL, NULL, "'10.0.0.1/24'" },
		/* 5 */ { "127.0.0.1:4500", "10.0.0.0/31", NULL, NULL, "/30" },
		/* 6 */ { "127.0.0.1:4500", "10.0.0.0/7", NULL, NULL, "'10.0.0.0/7'" },
		/* 7 */ { "127.0.0.1:4500", "fd00::/64", NULL, NULL, "prefix 'fd00::/64'" },
		/* 8 */ { "127.0.0.1:4500", "10.0.0.0/24", "10.1.0.0/24", NULL, "prefix6 '10.1.0.0/24'" },
		/* 9 */ { "127.0.0.1:4500", "10.0.0.0/24", "fd00::/120", NULL, "/96" },
		/* 10 */ { "127.0.0.1:4500", "10.0.0.0/24", NULL, "Broker", "name 'Broker'" },
		/* 11 */ { "127.0.0.1:4500", "10.0.0.0/24", NULL, "a_b", "name 'a_b'" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char err[KBSTATE_ERR_MAX] = "";

		cr_assert_eq(kbstate_init(dir, t[i].listen, t[i].p4, t[i].p6, t[i].name, err), -1,
			     "case %zu accepted", i + 1);
		cr_assert(strstr(err, t[i].needle), "case %zu: '%s' lacks \"%s\"", i + 1, err,
			  t[i].needle);
		cr_assert_neq(access(dir, F_OK), 0, "case %zu left a directory", i + 1);
	}
}

Test(kbstate, load_refuses_damaged_state, .init = setup, .fini = teardown)
{
	struct kbstate st;
	char err[KBSTATE_ERR_MAX] = "";
	char other[400];

	cr_assert_eq(kbstate_load(dir, &st, err), -1);	/* nothing there yet */
	cr_assert(strstr(err, dir), "%s", err);
	init_ok(NULL, NULL);

	/* unknown key in keybroker.conf: file and line */
	cr_assert_eq(sh("cd '%s' && cp keybroker.conf k.bak && echo 'colour = blue' >> "
			"keybroker.conf", dir), 0);
	cr_assert_eq(kbstate_load(dir, &st, err), -1);
	cr_assert(strstr(err, "keybroker.conf:8:") && strstr(err, "'colour'"), "%s", err);
	/* bad value */
	cr_assert_eq(sh("cd '%s' && sed 's/^key_life = .*/key_life = 1/' k.bak > keybroker.conf",
			dir), 0);
	cr_assert_eq(kbstate_load(dir, &st, err), -1);
	cr_assert(strstr(err, "key_life = '1'"), "%s", err);
	cr_assert_eq(sh("cd '%s' && cp k.bak keybroker.conf && rm k.bak", dir), 0);
	cr_assert_eq(kbstate_load(dir, &st, err), 0, "%s", err);
	kbstate_free(&st);

	/* a private key readable by others */
	cr_assert_eq(sh("chmod 644 '%s/ca.key'", dir), 0);
	cr_assert_eq(kbstate_load(dir, &st, err), -1);
	cr_assert(strstr(err, "ca.key") && strstr(err, "644"), "%s", err);
	cr_assert_eq(sh("chmod 600 '%s/ca.key'", dir), 0);

	/* a CA certificate from another state does not match ca.key */
	snprintf(other, sizeof(other), "%s/other", tmpdir);
	cr_assert_eq(kbstate_init(other, "127.0.0.1:4501", "10.99.0.0/24", NULL, NULL, err), 0);
	cr_assert_eq(sh("cp '%s/ca.crt' '%s/ca.crt'", other, dir), 0);
	cr_assert_eq(kbstate_load(dir, &st, err), -1);
	cr_assert(strstr(err, "ca.crt does not match ca.key"), "%s", err);
	/* ... and with both CA files swapped, the broker cert is not signed by it */
	cr_assert_eq(sh("cp -p '%s/ca.key' '%s/ca.key'", other, dir), 0);
	cr_assert_eq(kbstate_load(dir, &st, err), -1);
	cr_assert(strstr(err, "broker.crt is not signed"), "%s", err);
}

Test(kbstate, parse_duration_table)
{
	static const struct {
		const char *s;
		int ret;
		int64_t secs;
	} t[] = {
		{ "30s", 0, 30 }, { "15m", 0, 900 }, { "1h", 0, 3600 }, { "7d", 0, 604800 },
		{ "365d", 0, 31536000 }, { "366d", -1, 0 }, { "0s", -1, 0 }, { "1", -1, 0 },
		{ "h", -1, 0 }, { "1hh", -1, 0 }, { "-1h", -1, 0 }, { "1w", -1, 0 },
		{ "01h", -1, 0 }, { "", -1, 0 }, { "99999999999999999999s", -1, 0 },
		{ "1 h", -1, 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int64_t secs = -5;

		cr_assert_eq(kbstate_parse_duration(t[i].s, &secs), t[i].ret, "'%s'", t[i].s);
		if (t[i].ret == 0)
			cr_assert_eq(secs, t[i].secs, "'%s'", t[i].s);
	}
	int64_t s;

	cr_assert_eq(kbstate_parse_duration(NULL, &s), -1);
}

Test(kbstate, nested_path_with_trailing_slash, .init = setup, .fini = teardown)
{
	char err[KBSTATE_ERR_MAX] = "", nested[512], parent[400];
	struct stat sb;
	struct kbstate st;

	snprintf(parent, sizeof(parent), "%s/a/b", tmpdir);
	snprintf(nested, sizeof(nested), "%s/state//", parent);
	umask(077);
	cr_assert_eq(kbstate_init(nested, "127.0.0.1:4500", "10.98.0.0/24", NULL, NULL, err), 0,
		     "%s", err);
	cr_assert_eq(stat(nested, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0700);
	cr_assert_eq(stat(parent, &sb), 0);
	cr_assert(S_ISDIR(sb.st_mode));
	cr_assert_eq(kbstate_load(nested, &st, err), 0, "%s", err);
	kbstate_free(&st);
	cr_assert_eq(kbstate_init(nested, "127.0.0.1:4500", "10.98.0.0/24", NULL, NULL, err), -1);
}
