// SPDX-License-Identifier: GPL-2.0-only
/* Runs the built mavpn-keybroker binary (path in $MAVPN_KEYBROKER): init,
 * token create (decoded and checked against openssl), node list --json,
 * node revoke and policy reload without a daemon, usage errors (exit 2,
 * the bad value named). */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <regex.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto/hash.h"
#include "keybroker/kbstate.h"
#include "keybroker/registry.h"
#include "proto/token.h"

#define OUT_MAX 65536

static char tmpdir[256];
static char dir[300];
static char out[OUT_MAX], errout[OUT_MAX];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mavpn-test-cli-%ld-XXXXXX", (long)getpid());
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(dir, sizeof(dir), "%s/kb", tmpdir);
	cr_assert_not_null(getenv("MAVPN_KEYBROKER"), "MAVPN_KEYBROKER not set");
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)system(cmd);
}

static void slurp(int fd, char *buf)
{
	size_t n = 0;
	ssize_t r;

	lseek(fd, 0, SEEK_SET);
	while (n < OUT_MAX - 1 && (r = read(fd, buf + n, OUT_MAX - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fd);
}

static int kbv(const char *const *args);

/* Run mavpn-keybroker with the NULL-terminated arguments; stdout/stderr
 * land in out/errout. Returns the exit code. */
static int kb(const char *a0, ...)
{
	const char *argv[64];
	int n = 0;
	va_list ap;

	va_start(ap, a0);
	for (const char *a = a0; a && n < 63; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return kbv(argv);
}

/* The same with a NULL-terminated argument vector (at most 62 entries). */
static int kbv(const char *const *args)
{
	const char *argv[64];
	int n = 0;
	char o[400], e[400];

	argv[n++] = getenv("MAVPN_KEYBROKER");
	for (; *args && n < 63; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	snprintf(o, sizeof(o), "%s/stdout", tmpdir);
	snprintf(e, sizeof(e), "%s/stderr", tmpdir);
	int fo = open(o, O_RDWR | O_CREAT | O_TRUNC, 0600);
	int fe = open(e, O_RDWR | O_CREAT | O_TRUNC, 0600);

	cr_assert(fo >= 0 && fe >= 0);
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(fo, 1);
		dup2(fe, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st;

	cr_assert_eq(waitpid(pid, &st, 0), pid);
	slurp(fo, out);
	slurp(fe, errout);
	cr_assert(WIFEXITED(st), "killed by signal");
	return WEXITSTATUS(st);
}

static void init_state(void)
{
	int rc = kb("init", "-d", dir, "--listen", "127.0.0.1:4500", "--prefix", "10.98.0.0/24",
		    "--prefix6", "fd00:98::/64", NULL);

	cr_assert_eq(rc, 0, "init: %s", errout);
}

Test(cli, init_prints_summary_and_refuses_twice, .init = setup, .fini = teardown)
{
	init_state();
	cr_assert(strstr(out, "10.98.0.0/24") && strstr(out, "SHA256"), "%s", out);
	cr_assert_eq(kb("init", "-d", dir, "--listen", "127.0.0.1:4500", "--prefix",
			"10.98.0.0/24", NULL), 1);
	cr_assert(strstr(errout, "already holds"), "%s", errout);
}

Test(cli, token_create_decodes_and_pins_the_ca, .init = setup, .fini = teardown)
{
	struct token t;
	char line[256] = "", cmd[512], hex[100] = "";
	uint8_t h[32];
	struct kbstate st;
	struct registry *r;
	struct reg_token rt;
	char err[KBSTATE_ERR_MAX], rerr[REGISTRY_ERR_MAX];
	int64_t before = (int64_t)time(NULL);

	init_state();
	cr_assert_eq(kb("token", "create", "-d", dir, "gw1", "--tag", "gateway", "--route",
			"10.200.0.0/24", "--tag", "lab", "--route", "fd00:200::/64", "--ttl", "15m",
			NULL), 0, "%s", errout);
	/* stdout is the token alone, one line */
	size_t len = strlen(out);

	cr_assert_gt(len, 10);
	cr_assert_eq(out[len - 1], '\n');
	cr_assert_eq(strchr(out, '\n'), out + len - 1, "more than one line: %s", out);
	out[len - 1] = '\0';
	cr_assert_eq(strncmp(out, TOKEN_PREFIX, strlen(TOKEN_PREFIX)), 0, "%s", out);
	/* stderr tells the node's command with this broker's address */
	cr_assert(strstr(errout, "mavpn enroll -d DIR --broker 127.0.0.1:4500 --token TOKEN"),
		  "%s", errout);
	cr_assert_eq(token_decode(&t, out), TOKEN_OK);

	/* its fingerprint is the CA's, as openssl computes it */
	snprintf(cmd, sizeof(cmd), "openssl x509 -in '%s/ca.crt' -noout -fingerprint -sha256", dir);
	FILE *p = popen(cmd, "r");

	cr_assert_not_null(fgets(line, sizeof(line), p));
	pclose(p);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 3 * i, sizeof(hex) - 3 * (size_t)i, "%02X%s", t.ca_fpr[i],
			 i < 31 ? ":" : "");
	cr_assert(strstr(line, hex), "openssl: %s token: %s", line, hex);

	/* the registry holds SHA-256(secret) with the name, tags, routes, expiry */
	cr_assert_eq(kbstate_load_public(dir, &st, err), 0, "%s", err);
	cr_assert_eq(registry_open(st.registry_path, &r, rerr), REG_OK);
	sha256(h, t.secret, sizeof(t.secret));
	cr_assert_eq(registry_token_get(r, h, &rt, rerr), REG_OK);
	cr_assert_str_eq(rt.name, "gw1");
	cr_assert_str_eq(rt.tags, "gateway lab");
	cr_assert_str_eq(rt.routes, "10.200.0.0/24 fd00:200::/64");
	cr_assert_geq(rt.expires, before + 900);
	cr_assert_leq(rt.expires, (int64_t)time(NULL) + 900);
	/* and not the secret itself: the secret is not a token hash */
	uint8_t padded[32] = { 0 };

	memcpy(padded, t.secret, 16);
	cr_assert_eq(registry_token_get(r, padded, &rt, rerr), REG_TOKEN_UNKNOWN);
	registry_close(r);
	kbstate_free(&st);

	/* two tokens differ */
	char first[TOKEN_STR_MAX];

	snprintf(first, sizeof(first), "%s", out);
	cr_assert_eq(kb("token", "create", "-d", dir, "other", NULL), 0);
	cr_assert_str_neq(first, out);
}

Test(cli, node_list_json_and_revoke_without_daemon, .init = setup, .fini = teardown)
{
	struct kbstate st;
	struct registry *r;
	char err[KBSTATE_ERR_MAX], rerr[REGISTRY_ERR_MAX];
	struct pki_key k;
	struct reg_node n;
	uint8_t h[32], secret[16] = { 9 };

	init_state();
	cr_assert_eq(kb("node", "list", "-d", dir, "--json", NULL), 0);
	cr_assert_str_eq(out, "[]\n");
	/* enroll two nodes straight through the registry */
	cr_assert_eq(kbstate_load(dir, &st, err), 0, "%s", err);
	cr_assert_eq(registry_open(st.registry_path, &r, rerr), REG_OK);
	for (int i = 0; i < 2; i++) {
		secret[1] = (uint8_t)i;
		sha256(h, secret, 16);
		cr_assert_eq(registry_token_add(r, h, i ? "bob" : "alice", i ? "" : "dev laptop",
						i ? "10.200.0.0/24" : "", time(NULL),
						time(NULL) + 60, rerr), REG_OK);
		cr_assert_eq(pki_key_generate(&k), 0);
		cr_assert_eq(registry_enroll(r, h, k.pub, time(NULL), &st.prefix4, &st.prefix6,
					     kbstate_issue_cb, &st, &n, rerr), REG_OK, "%s", rerr);
	}
	registry_close(r);
	kbstate_free(&st);

	cr_assert_eq(kb("node", "list", "-d", dir, "--json", NULL), 0, "%s", errout);
	char path[400], cmd[1200];

	snprintf(path, sizeof(path), "%s/list.json", tmpdir);
	FILE *f = fopen(path, "w");

	fputs(out, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json,sys; d=json.load(open(sys.argv[1]));"
		 "assert [x[\"name\"] for x in d]==[\"alice\",\"bob\"], d;"
		 "assert d[0][\"vip4\"]==\"10.98.0.2\" and d[0][\"vip6\"]==\"fd00:98::2\", d;"
		 "assert d[0][\"tags\"]==[\"dev\",\"laptop\"] and d[1][\"routes\"]==[\"10.200.0.0/24\"], d;"
		 "assert d[0][\"revoked\"] is False and d[0][\"last_seen\"] is None, d' '%s'",
		 path);
	cr_assert_eq(system(cmd), 0, "%s", out);

	/* text listing */
	cr_assert_eq(kb("node", "list", "-d", dir, NULL), 0);
	cr_assert(strstr(out, "alice") && strstr(out, "10.98.0.3"), "%s", out);

	/* revoke with no daemon running: done in the registry, said so */
	cr_assert_eq(kb("node", "revoke", "-d", dir, "alice", "--reason", "lost laptop", NULL), 0,
		     "%s", errout);
	cr_assert(strstr(out, "not running"), "%s", out);
	cr_assert_eq(kb("node", "list", "-d", dir, "--json", NULL), 0);
	cr_assert_null(strstr(out, "alice"), "%s", out);
	cr_assert_eq(kb("node", "list", "-d", dir, "--json", "--all", NULL), 0);
	cr_assert(strstr(out, "\"revoke_reason\":\"lost laptop\""), "%s", out);
	cr_assert_eq(kb("node", "revoke", "-d", dir, "alice", NULL), 1);
	cr_assert(strstr(errout, "'alice'"), "%s", errout);
	/* a token for a live name is refused, for a revoked one accepted */
	cr_assert_eq(kb("token", "create", "-d", dir, "bob", NULL), 1);
	cr_assert(strstr(errout, "bob") && strstr(errout, "already enrolled"), "%s", errout);
	cr_assert_eq(kb("token", "create", "-d", dir, "alice", NULL), 0, "%s", errout);

	/* not running: exit 3 (as `mavpn status`), the registry's counts shown */
	cr_assert_eq(kb("status", "-d", dir, NULL), 3, "%s", errout);
	cr_assert(strstr(out, "keybroker not running") && strstr(out, "1 node enrolled, 1 revoked"),
		  "%s", out);
	cr_assert_eq(kb("status", "-d", dir, "--json", NULL), 3, "%s", errout);
	cr_assert(strstr(out, "\"running\":false") && strstr(out, "\"nodes\":1,"), "%s", out);
	/* no state at all: a failure, not "not running" */
	cr_assert_eq(kb("status", "-d", tmpdir, NULL), 1);
}

Test(cli, policy_reload_validates_first, .init = setup, .fini = teardown)
{
	char path[400];
	FILE *f;

	init_state();
	cr_assert_eq(kb("policy", "reload", "-d", dir, NULL), 0, "%s", errout);
	snprintf(path, sizeof(path), "%s/policy.conf", dir);
	f = fopen(path, "w");
	fputs("[default]\naction = deny\n\n[web]\nfrom = tag:dev\nto = web1 Bad\n", f);
	fclose(f);
	cr_assert_eq(kb("policy", "reload", "-d", dir, NULL), 1);
	cr_assert(strstr(errout, "policy.conf:6:") && strstr(errout, "'Bad'"), "%s", errout);
	f = fopen(path, "w");
	fputs("[default]\naction = deny\n\n[web]\nfrom = tag:dev\nto = web1\n", f);
	fclose(f);
	cr_assert_eq(kb("policy", "reload", "-d", dir, NULL), 0, "%s", errout);
	cr_assert(strstr(out, "1 rule") && strstr(out, "deny"), "%s", out);
}

struct usage_case {
	const char *args[12];
	const char *needle;	/* must appear on stderr */
};

Test(cli, usage_errors_exit_2_and_name_the_value, .init = setup, .fini = teardown)
{
	init_state();
	const struct usage_case t[] = {
		/* 1 */ { { "frobnicate" }, "'frobnicate'" },
		/* 2 */ { { "init", "-d", "/tmp/x-never", "--listen", "nowhere", "--prefix",
			    "10.0.0.0/24" }, "'nowhere'" },
		/* 3 */ { { "init", "-d", "/tmp/x-never", "--listen", "127.0.0.1:1", "--prefix",
			    "10.0.0.1/24" }, "'10.0.0.1/24'" },
		/* 4 */ { { "init", "-d", "/tmp/x-never", "--listen", "127.0.0.1:1", "--prefix",
			    "10.0.0.0/24", "--prefix6", "fd00::/127" }, "/96" },
		/* 5 */ { { "init", "-d", "/tmp/x-never", "--listen", "127.0.0.1:1", "--prefix",
			    "10.0.0.0/24", "--name", "Big" }, "'Big'" },
		/* 6 */ { { "init", "-d", "/tmp/x-never", "--prefix", "10.0.0.0/24" }, "--listen" },
		/* 7 */ { { "token", "create", "-d", dir, "Alice" }, "'Alice'" },
		/* 8 */ { { "token", "create", "-d", dir, "a", "--tag", "No!" }, "'No!'" },
		/* 9 */ { { "token", "create", "-d", dir, "a", "--route", "10.1.1.1/24" },
			  "'10.1.1.1/24'" },
		/* 10 */ { { "token", "create", "-d", dir, "a", "--ttl", "2y" }, "'2y'" },
		/* 11 */ { { "token", "create", "-d", dir, "a", "--ttl", "0s" }, "'0s'" },
		/* 12 */ { { "token", "create", "-d", dir, "a", "b" }, "'b'" },
		/* 13 */ { { "token", "destroy", "-d", dir }, "'destroy'" },
		/* 14 */ { { "token", "create", "a" }, "-d DIR" },
		/* 15 */ { { "node", "list", "-d", dir, "--colour" }, "'--colour'" },
		/* 16 */ { { "node", "zap", "-d", dir }, "'zap'" },
		/* 17 */ { { "node", "revoke", "-d", dir }, "NAME" },
		/* 18 */ { { "status", "-d" }, "'-d'" },
		/* 19 */ { { "policy", "reload", "-d", dir, "--force" }, "'--force'" },
		/* 20 */ { { "run" }, "-d DIR" },
		/* 21 */ { { "node", "revoke", "-d", dir, "x/y" }, "'x/y'" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *const *a = t[i].args;
		int rc = kb(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], NULL);

		cr_assert_eq(rc, 2, "case %zu: exit %d, stderr %s", i + 1, rc, errout);
		cr_assert(strstr(errout, t[i].needle), "case %zu: stderr '%s' lacks \"%s\"", i + 1,
			  errout, t[i].needle);
	}
	cr_assert_neq(access("/tmp/x-never", F_OK), 0);
}

Test(cli, every_command_has_help, .init = setup, .fini = teardown)
{
	static const char *const cmds[][3] = {
		{ "init", "--help" }, { "run", "--help" }, { "token", "create", "--help" },
		{ "node", "list", "--help" }, { "node", "revoke", "--help" },
		{ "policy", "reload", "--help" }, { "status", "--help" }, { "--help" },
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		cr_assert_eq(kb(cmds[i][0], cmds[i][1], cmds[i][2], NULL), 0, "case %zu", i);
		cr_assert(strstr(out, "usage: mavpn-keybroker"), "case %zu: %s", i, out);
		size_t len = strlen(out);

		/* ends with exactly one newline: the shell prompt starts on its
		 * own line, and no stray blank line */
		cr_assert(len >= 2 && out[len - 1] == '\n' && out[len - 2] != '\n',
			  "case %zu: help does not end with one newline: '%s'", i, out);
	}
	/* the enrollment command the token help names is the node's real one */
	cr_assert_eq(kb("token", "create", "--help", NULL), 0);
	cr_assert(strstr(out, "mavpn enroll -d DIR --broker IP:PORT --token TOKEN"), "%s", out);
	cr_assert_eq(kb(NULL), 2);
	cr_assert(strstr(errout, "usage:"), "%s", errout);
}

static uint16_t free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(fd >= 0);
	cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	cr_assert(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* Rewrite the listen line of dir/keybroker.conf. */
static void set_listen(const char *listen)
{
	char path[400], tmp[410], line[512];
	FILE *in, *o;

	snprintf(path, sizeof(path), "%s/keybroker.conf", dir);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	in = fopen(path, "r");
	o = fopen(tmp, "w");
	cr_assert(in && o);
	while (fgets(line, sizeof(line), in)) {
		if (strncmp(line, "listen", 6) == 0 && strchr(line, '='))
			fprintf(o, "listen = %s\n", listen);
		else
			fputs(line, o);
	}
	fclose(in);
	cr_assert_eq(fclose(o), 0);
	cr_assert_eq(rename(tmp, path), 0);
}

/* With a running daemon: status shows its answer, policy reload reaches it
 * (and a bad file changes nothing), node revoke cuts the node off live. */
static pid_t daemon_pid;

static void stop_daemon(void)
{
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
		daemon_pid = 0;
	}
	teardown();
}

Test(cli, admin_commands_reach_the_running_daemon, .init = setup, .fini = stop_daemon)
{
	char port[32], listen[64], sock[400], logp[400], path[400];
	struct kbstate st;
	struct registry *r;
	char err[KBSTATE_ERR_MAX], rerr[REGISTRY_ERR_MAX];
	struct pki_key k;
	struct reg_node n;
	uint8_t h[32], secret[16] = { 7 };

	snprintf(port, sizeof(port), "%u", free_port());
	snprintf(listen, sizeof(listen), "127.0.0.1:%s", port);
	cr_assert_eq(kb("init", "-d", dir, "--listen", listen, "--prefix", "10.98.0.0/24", NULL),
		     0, "%s", errout);
	/* one enrolled node for the daemon to know */
	cr_assert_eq(kbstate_load(dir, &st, err), 0, "%s", err);
	cr_assert_eq(registry_open(st.registry_path, &r, rerr), REG_OK);
	sha256(h, secret, 16);
	cr_assert_eq(registry_token_add(r, h, "victim", "", "", time(NULL), time(NULL) + 60, rerr),
		     REG_OK);
	cr_assert_eq(pki_key_generate(&k), 0);
	cr_assert_eq(registry_enroll(r, h, k.pub, time(NULL), &st.prefix4, NULL, kbstate_issue_cb,
				     &st, &n, rerr), REG_OK, "%s", rerr);
	registry_close(r);
	kbstate_free(&st);

	snprintf(logp, sizeof(logp), "%s/daemon.log", tmpdir);
	snprintf(sock, sizeof(sock), "%s/admin.sock", dir);
	/* the port was free a moment ago; when another process took it since,
	 * the daemon exits at start: move to a new one (a few times) */
	for (int attempt = 1; attempt <= 5; attempt++) {
		int wst;

		daemon_pid = fork();
		cr_assert_geq(daemon_pid, 0);
		if (daemon_pid == 0) {
			int fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

			dup2(fd, 1);
			dup2(fd, 2);
			execl(getenv("MAVPN_KEYBROKER"), "mavpn-keybroker", "run", "-d", dir,
			      (char *)NULL);
			_exit(127);
		}
		for (int i = 0; i < 200 && access(sock, F_OK) != 0; i++) {
			if (waitpid(daemon_pid, &wst, WNOHANG) == daemon_pid) {
				daemon_pid = 0;
				break;
			}
			usleep(50000);
		}
		if (daemon_pid > 0)
			break;
		snprintf(port, sizeof(port), "%u", free_port());
		snprintf(listen, sizeof(listen), "127.0.0.1:%s", port);
		set_listen(listen);
	}
	cr_assert_eq(access(sock, F_OK), 0, "daemon did not start (see %s)", logp);

	cr_assert_eq(kb("status", "-d", dir, NULL), 0, "%s", errout);
	cr_assert_null(strstr(out, "not running"), "%s", out);
	cr_assert(strstr(out, listen), "%s", out);
	cr_assert_eq(kb("status", "-d", dir, "--json", NULL), 0, "%s", errout);
	cr_assert_eq(out[0], '{', "%s", out);

	/* bad policy: refused by the CLI itself, the daemon keeps its policy */
	snprintf(path, sizeof(path), "%s/policy.conf", dir);
	FILE *f = fopen(path, "w");

	fputs("[default]\naction = nope\n", f);
	fclose(f);
	cr_assert_eq(kb("policy", "reload", "-d", dir, NULL), 1);
	cr_assert(strstr(errout, "policy.conf:2:"), "%s", errout);
	f = fopen(path, "w");
	fputs("[default]\naction = deny\n[a]\nfrom = *\nto = victim\n", f);
	fclose(f);
	cr_assert_eq(kb("policy", "reload", "-d", dir, NULL), 0, "%s", errout);
	cr_assert(strstr(out, "policy reloaded: 1 rule, default deny"), "%s", out);
	cr_assert_eq(kb("status", "-d", dir, NULL), 0);
	cr_assert(strstr(out, "default deny"), "daemon did not apply the policy: %s", out);

	/* revoke: registry first, then the daemon */
	cr_assert_eq(kb("node", "revoke", "-d", dir, "victim", NULL), 0, "%s", errout);
	cr_assert(strstr(out, "closed its channel"), "%s", out);
	cr_assert_eq(kb("node", "list", "-d", dir, "--json", "--all", NULL), 0);
	cr_assert(strstr(out, "\"revoked\":true"), "%s", out);
}

/* token create with n --route 10.<i>.0.0/16 (and the extra arguments) */
static int token_routes(const char *d, const char *name, int n)
{
	static char nets[40][24];
	const char *argv[64] = { "token", "create", "-d", d, name };
	int k = 5;

	for (int i = 0; i < n && i < 40; i++) {
		snprintf(nets[i], sizeof(nets[i]), "10.%d.0.0/16", 100 + i);
		argv[k++] = "--route";
		argv[k++] = nets[i];
	}
	argv[k] = NULL;
	return kbv(argv);
}

Test(cli, route_limit_leaves_room_for_the_vips, .init = setup, .fini = teardown)
{
	char dir4[320];

	/* with --prefix6 a node has two VIPs: 14 routes */
	init_state();
	cr_assert_eq(token_routes(dir, "gw14", 14), 0, "%s", errout);
	cr_assert_eq(token_routes(dir, "gw15", 15), 2);
	cr_assert(strstr(errout, "15 given, at most 14"), "%s", errout);
	cr_assert_eq(token_routes(dir, "gw20", 20), 2);
	cr_assert(strstr(errout, "20 given, at most 14"), "%s", errout);
	/* IPv4 only: one VIP, 15 routes */
	snprintf(dir4, sizeof(dir4), "%s/kb4", tmpdir);
	cr_assert_eq(kb("init", "-d", dir4, "--listen", "127.0.0.1:4501", "--prefix",
			"10.97.0.0/24", NULL), 0, "%s", errout);
	cr_assert_eq(token_routes(dir4, "gw15", 15), 0, "%s", errout);
	cr_assert_eq(token_routes(dir4, "gw16", 16), 2);
	cr_assert(strstr(errout, "16 given, at most 15"), "%s", errout);
	/* the refused ones left no token behind */
	cr_assert_eq(kb("status", "-d", dir4, NULL), 3);
	cr_assert(strstr(out, "1 token pending"), "%s", out);
}

/* Enroll `name` with routes straight through the registry (no daemon). */
static void enroll_direct(const char *name, const char *routes, uint8_t seed)
{
	struct kbstate st;
	struct registry *r;
	char err[KBSTATE_ERR_MAX], rerr[REGISTRY_ERR_MAX];
	struct pki_key k;
	struct reg_node n;
	uint8_t h[32], secret[16] = { seed, 0x5a };

	cr_assert_eq(kbstate_load(dir, &st, err), 0, "%s", err);
	cr_assert_eq(registry_open(st.registry_path, &r, rerr), REG_OK);
	sha256(h, secret, 16);
	cr_assert_eq(registry_token_add(r, h, name, "", routes, time(NULL), time(NULL) + 60, rerr),
		     REG_OK, "%s", rerr);
	cr_assert_eq(pki_key_generate(&k), 0);
	cr_assert_eq(registry_enroll(r, h, k.pub, time(NULL), &st.prefix4, &st.prefix6,
				     kbstate_issue_cb, &st, &n, rerr), REG_OK, "%s", rerr);
	registry_close(r);
	kbstate_free(&st);
}

struct route_case {
	const char *route;
	int rc;			/* expected exit code */
	const char *needle[3];	/* all on stderr (exit != 0) */
};

Test(cli, routes_refused_with_the_reason, .init = setup, .fini = teardown)
{
	/* overlay 10.98.0.0/24 + fd00:98::/64; gw1 serves 10.200.0.0/24 and
	 * fd00:200::/64 */
	static const struct route_case t[] = {
		/* 1 */ { "0.0.0.0/0", 2, { "'0.0.0.0/0'", "default route" } },
		/* 2 */ { "::/0", 2, { "'::/0'", "default route" } },
		/* 3 */ { "10.98.0.0/24", 2, { "10.98.0.0/24", "overlay prefix 10.98.0.0/24" } },
		/* 4 */ { "10.0.0.0/8", 2, { "10.0.0.0/8", "overlay prefix 10.98.0.0/24" } },
		/* 5 */ { "10.98.0.128/25", 2, { "10.98.0.128/25", "overlay prefix" } },
		/* 6 */ { "fd00::/16", 2, { "fd00::/16", "overlay prefix fd00:98::/64" } },
		/* 7 */ { "fd00:98::/80", 2, { "fd00:98::/80", "overlay prefix fd00:98::/64" } },
		/* 8 */ { "10.200.0.0/24", 1, { "10.200.0.0/24", "gateway gw1",
					      "serves 10.200.0.0/24" } },
		/* 9 */ { "10.200.0.128/25", 1, { "--route 10.200.0.128/25", "gateway gw1" } },
		/* 10 */ { "10.192.0.0/10", 1, { "10.192.0.0/10", "gateway gw1" } },
		/* 11 */ { "fd00:200:0:0:1::/80", 1, { "fd00:200:0:0:1::/80", "gateway gw1",
						     "fd00:200::/64" } },
		/* 12 */ { "10.201.0.0/24", 0, { NULL } },
		/* 13 */ { "10.99.0.0/24", 0, { NULL } },
		/* 14 */ { "fd00:201::/64", 0, { NULL } },
		/* 15 */ { "128.0.0.0/1", 0, { NULL } },
	};

	init_state();
	enroll_direct("gw1", "10.200.0.0/24 fd00:200::/64", 1);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char name[16];
		int rc;

		snprintf(name, sizeof(name), "gw-%zu", i + 2);
		rc = kb("token", "create", "-d", dir, name, "--route", t[i].route, NULL);
		cr_assert_eq(rc, t[i].rc, "case %zu (%s): exit %d: %s", i + 1, t[i].route, rc,
			     errout);
		for (int k = 0; k < 3 && t[i].needle[k]; k++)
			cr_assert(strstr(errout, t[i].needle[k]), "case %zu: '%s' lacks \"%s\"",
				  i + 1, errout, t[i].needle[k]);
	}
	/* a refused route leaves no token: only cases 12..15 created one */
	cr_assert_eq(kb("status", "-d", dir, NULL), 3);
	cr_assert(strstr(out, "4 tokens pending"), "%s", out);
	/* a new token for gw1 itself is refused for its name, not its routes */
	cr_assert_eq(kb("token", "create", "-d", dir, "gw1", "--route", "10.200.0.0/24", NULL), 1);
	cr_assert(strstr(errout, "already enrolled"), "%s", errout);
	/* a revoked gateway's routes are free again */
	cr_assert_eq(kb("node", "revoke", "-d", dir, "gw1", NULL), 0, "%s", errout);
	cr_assert_eq(kb("token", "create", "-d", dir, "gw9", "--route", "10.200.0.0/24", NULL), 0,
		     "%s", errout);
}

/* `run` with stderr not a terminal: timestamped lines; with JOURNAL_STREAM
 * naming its stderr: the journal's "<N>" only. A missing state directory
 * makes it log one error and exit at once (no socket needed). */
Test(cli, run_log_lines_carry_time_or_priority, .init = setup, .fini = teardown)
{
	char missing[320], errpath[320], v[64];
	regex_t rx;
	struct stat st;

	snprintf(missing, sizeof(missing), "%s/none", tmpdir);
	unsetenv("JOURNAL_STREAM");
	cr_assert_eq(kb("run", "-d", missing, NULL), 1);
	cr_assert_eq(regcomp(&rx, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\."
				  "[0-9]{3}Z mavpn-keybroker: error: .*none", REG_EXTENDED), 0);
	cr_assert_eq(regexec(&rx, errout, 0, NULL, 0), 0, "%s", errout);
	regfree(&rx);

	/* kb() truncates the same file: its inode stays */
	snprintf(errpath, sizeof(errpath), "%s/stderr", tmpdir);
	cr_assert_eq(stat(errpath, &st), 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	cr_assert_eq(kb("run", "-d", missing, NULL), 1);
	unsetenv("JOURNAL_STREAM");
	cr_assert_eq(strncmp(errout, "<3>mavpn-keybroker: ", 20), 0, "%s", errout);
	cr_assert(strstr(errout, "none"), "%s", errout);
}
