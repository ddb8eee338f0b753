// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_cli.c - the `mavpn` command line as a user meets it: help texts,
 * exit codes, and errors that name the bad value; `up` reporting a daemon
 * startup failure through the readiness pipe; enroll failing cleanly
 * (nothing written, no directory) when the broker is unreachable. Then
 * with a real mavpn-keybroker on loopback: enroll creating the directory;
 * and, as root in a network namespace of the test's own (TUN, broker and
 * packets stay inside), the daemon itself: SIGHUP keeping `up -v`; a node
 * revoked while up stops reconnecting (status broker.state "revoked"),
 * logs it once, and exits 4 when stopped; `up` of a revoked node exits 4.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/token.h"

static char tmpdir[128];
static char out[8192];

static void setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/mavpn-cli-test-%d-XXXXXX", (int)getpid());
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[256];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		cr_log_warn("cannot remove %s", tmpdir);
}

/* Run bin with args (a shell fragment); stdout+stderr into out; exit code. */
static int run_bin(const char *bin, const char *args)
{
	char cmd[1024];
	FILE *f;
	size_t n;
	int st;

	snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", bin, args);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	n = fread(out, 1, sizeof out - 1, f);
	out[n] = 0;
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* mavpn with args. */
static int run(const char *args)
{
	return run_bin(MAVPN_BIN, args);
}

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

TestSuite(cli, .init = setup, .fini = teardown);

Test(cli, help_everywhere)
{
	static const char *const cmds[] = { "--help", "enroll --help", "up --help", "down --help",
					    "status --help", "help" };

	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		cr_expect_eq(run(cmds[i]), 0, "%s", cmds[i]);
		cr_expect(strstr(out, "usage: mavpn") != NULL, "%s: %s", cmds[i], out);
	}
	cr_assert_eq(run("--help"), 0);
	cr_assert(strstr(out, "enroll") && strstr(out, "up") && strstr(out, "down") &&
		  strstr(out, "status"));
}

Test(cli, version_is_the_project_version)
{
	cr_assert_eq(run("--version"), 0);
	cr_assert_str_eq(out, "mavpn " MAVPN_PROJECT_VERSION "\n");
}

Test(cli, usage_errors)
{
	cr_assert_eq(run(""), 2);
	cr_assert_eq(run("frob"), 2);
	cr_assert(strstr(out, "unknown command 'frob'"), "%s", out);
	cr_assert_eq(run("status --bogus"), 2);
	cr_assert(strncmp(out, "mavpn status: unrecognized option '--bogus'\n", 44) == 0, "%s", out);
	cr_assert_eq(run("up --bogus"), 2);
	cr_assert(strncmp(out, "mavpn up: unrecognized option '--bogus'\n", 40) == 0, "%s", out);
	cr_assert_eq(run("enroll --mtu"), 2);
	cr_assert(strncmp(out, "mavpn enroll: option '--mtu' requires an argument\n", 50) == 0, "%s", out);
	cr_assert_eq(run("down -x"), 2);
	cr_assert(strncmp(out, "mavpn down: invalid option -- 'x'\n", 34) == 0, "%s", out);
	cr_assert_eq(run("down -d /tmp extra"), 2);
	cr_assert(strstr(out, "unexpected argument 'extra'"), "%s", out);
	cr_assert_eq(run("enroll -d /tmp/x --token t"), 2);
	cr_assert(strstr(out, "--broker"), "%s", out);
}

Test(cli, enroll_quotes_bad_values)
{
	char args[512];

	snprintf(args, sizeof args, "enroll -d %s/n --broker 1.2.3.4 --token mvt1-x", tmpdir);
	cr_assert_eq(run(args), 1);
	cr_assert(strstr(out, "'1.2.3.4'"), "%s", out);
	snprintf(args, sizeof args, "enroll -d %s/n --broker 1.2.3.4:7443 --token mvt1-abc", tmpdir);
	cr_assert_eq(run(args), 1);
	cr_assert(strstr(out, "--token 'mvt1-abc'"), "%s", out);
	snprintf(args, sizeof args, "enroll -d %s/n --broker 1.2.3.4:7443 --token t --listen-port 70000",
		 tmpdir);
	cr_assert_eq(run(args), 2);
	cr_assert(strstr(out, "'70000'"), "%s", out);
	snprintf(args, sizeof args, "enroll -d %s/n --broker 1.2.3.4:7443 --token t --mtu 1000", tmpdir);
	cr_assert_eq(run(args), 2);
	cr_assert(strstr(out, "'1000'"), "%s", out);
	cr_assert_eq(run("up -d ''"), 2);
}

Test(cli, enroll_unreachable_broker_writes_nothing)
{
	struct token t;
	char tok[TOKEN_STR_MAX], args[512], path[256];
	struct stat st;

	memset(&t, 0x5a, sizeof t);
	cr_assert_gt(token_encode(&t, tok, sizeof tok), 0);
	/* port 1 on loopback: nothing listens, the connect is refused at once */
	snprintf(args, sizeof args, "enroll -d %s/n --broker 127.0.0.1:1 --token %s --timeout 3",
		 tmpdir, tok);
	cr_assert_eq(run(args), 1);
	cr_assert(strstr(out, "cannot connect to broker 127.0.0.1:1"), "%s", out);
	snprintf(path, sizeof path, "%s/n", tmpdir);
	cr_assert_neq(stat(path, &st), 0, "state directory created by a failed enroll");
	/* nor missing parents */
	snprintf(args, sizeof args, "enroll -d %s/p/q/r --broker 127.0.0.1:1 --token %s --timeout 3",
		 tmpdir, tok);
	cr_assert_eq(run(args), 1);
	snprintf(path, sizeof path, "%s/p", tmpdir);
	cr_assert_neq(stat(path, &st), 0, "parent created by a failed enroll");
	/* an existing empty directory stays, empty */
	snprintf(path, sizeof path, "%s/e", tmpdir);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(args, sizeof args, "enroll -d %s/e --broker 127.0.0.1:1 --token %s --timeout 3",
		 tmpdir, tok);
	cr_assert_eq(run(args), 1);
	snprintf(args, sizeof args, "ls -A '%s/e' | wc -l", tmpdir);
	{
		FILE *f = popen(args, "r");
		int n = -1;

		cr_assert_not_null(f);
		cr_assert_eq(fscanf(f, "%d", &n), 1);
		pclose(f);
		cr_assert_eq(n, 0, "files left in an existing directory");
	}
}

Test(cli, enroll_checks_the_directory_before_the_broker)
{
	struct token t;
	char tok[TOKEN_STR_MAX], args[512];

	memset(&t, 0x5a, sizeof t);
	cr_assert_gt(token_encode(&t, tok, sizeof tok), 0);
	write_file("plain", "x");
	/* the token works once: a directory that cannot be made must fail
	 * before the broker is asked (here: none listens, the message tells) */
	snprintf(args, sizeof args, "enroll -d %s/plain/n --broker 127.0.0.1:1 --token %s", tmpdir, tok);
	cr_assert_eq(run(args), 1);
	cr_assert(strstr(out, "cannot create directory") && strstr(out, "not a directory"), "%s", out);
	snprintf(args, sizeof args, "enroll -d %s/plain --broker 127.0.0.1:1 --token %s", tmpdir, tok);
	cr_assert_eq(run(args), 1);
	cr_assert(strstr(out, "is not a directory"), "%s", out);
}

/* ---- with a real keybroker on loopback ---------------------------------- */

static pid_t kb_pid;
static char kb_listen[64];

/* mavpn-keybroker with args; output into out. */
static int kb(const char *args)
{
	return run_bin(KEYBROKER_BIN, args);
}

/* A TCP port on 127.0.0.1 that nothing uses right now (bind to port 0). */
static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	cr_assert_geq(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static const char *kb_prefix = "100.96.0.0/24";

/* init + run a broker in tmpdir/kb, listening on 127.0.0.1:PORT (free_port). */
static void kb_start(void)
{
	char args[512], path[256], logp[256];

	snprintf(kb_listen, sizeof kb_listen, "127.0.0.1:%d", free_port());
	snprintf(args, sizeof args, "init -d %s/kb --listen %s --prefix %s", tmpdir,
		 kb_listen, kb_prefix);
	cr_assert_eq(kb(args), 0, "%s", out);
	snprintf(logp, sizeof logp, "%s/kb.log", tmpdir);
	snprintf(path, sizeof path, "%s/kb", tmpdir);
	kb_pid = fork();
	cr_assert_geq(kb_pid, 0);
	if (kb_pid == 0) {
		int fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		execl(KEYBROKER_BIN, "mavpn-keybroker", "run", "-d", path, (char *)NULL);
		_exit(127);
	}
	snprintf(path, sizeof path, "%s/kb/admin.sock", tmpdir);
	for (int i = 0; i < 100 && access(path, F_OK) != 0; i++)
		usleep(50000);
	cr_assert_eq(access(path, F_OK), 0, "keybroker did not start (see %s)", logp);
}

static void kb_teardown(void)
{
	if (kb_pid > 0) {
		kill(kb_pid, SIGTERM);
		waitpid(kb_pid, NULL, 0);
		kb_pid = 0;
	}
	teardown();
}

/* A fresh token for name (into tok). */
static void kb_token(const char *name, char tok[static TOKEN_STR_MAX])
{
	char args[256];

	snprintf(args, sizeof args, "token create -d %s/kb %s", tmpdir, name);
	cr_assert_eq(kb(args), 0, "%s", out);
	cr_assert(sscanf(out, "%127s", tok) == 1 && strncmp(tok, "mvt1-", 5) == 0, "%s", out);
}

Test(cli, enroll_creates_the_directory_on_success, .init = setup, .fini = kb_teardown)
{
	char tok[TOKEN_STR_MAX], args[700], path[256];
	struct stat st;

	kb_start();
	kb_token("alpha", tok);
	snprintf(args, sizeof args, "enroll -d %s/p/q/r --broker %s --token %s", tmpdir, kb_listen, tok);
	cr_assert_eq(run(args), 0, "%s", out);
	cr_assert(strstr(out, "enrolled as alpha"), "%s", out);
	snprintf(path, sizeof path, "%s/p/q/r", tmpdir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700, "state directory mode %o", st.st_mode & 0777);
	snprintf(path, sizeof path, "%s/p/q", tmpdir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0755 & ~umask(022), "parent mode %o", st.st_mode & 0777);
	static const char *const files[] = { "node.key", "node.crt", "ca.crt", "mavpn.conf" };
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s/p/q/r/%s", tmpdir, files[i]);
		cr_assert_eq(stat(path, &st), 0, "%s missing", files[i]);
		cr_assert_eq(st.st_mode & 0777, 0600, "%s mode %o", files[i], st.st_mode & 0777);
		snprintf(path, sizeof path, "%s/p/q/r/%s.new", tmpdir, files[i]);
		cr_assert_neq(stat(path, &st), 0, "%s left behind", path);
	}
	/* enrolled: a second enroll is refused before the broker is asked */
	snprintf(args, sizeof args, "enroll -d %s/p/q/r --broker 127.0.0.1:1 --token %s", tmpdir, tok);
	cr_assert_eq(run(args), 1);
	cr_assert(strstr(out, "already enrolled"), "%s", out);
}

Test(cli, enroll_refuses_an_enrolled_dir)
{
	struct token t;
	char tok[TOKEN_STR_MAX], args[512];

	memset(&t, 0x33, sizeof t);
	cr_assert_gt(token_encode(&t, tok, sizeof tok), 0);
	write_file("node.crt", "x");
	snprintf(args, sizeof args, "enroll -d %s --broker 127.0.0.1:1 --token %s", tmpdir, tok);
	cr_assert_eq(run(args), 1);
	cr_assert(strstr(out, "already enrolled") && strstr(out, "--force"), "%s", out);
}

Test(cli, not_running)
{
	char args[256];

	snprintf(args, sizeof args, "status -d %s", tmpdir);
	cr_assert_eq(run(args), 3);
	cr_assert(strstr(out, "not running"), "%s", out);
	snprintf(args, sizeof args, "status -d %s --json", tmpdir);
	cr_assert_eq(run(args), 3);
	snprintf(args, sizeof args, "down -d %s", tmpdir);
	cr_assert_eq(run(args), 0);
	cr_assert(strstr(out, "not running"), "%s", out);
	cr_assert_eq(run("up -d /nonexistent/mavpn-dir"), 1);
	cr_assert(strstr(out, "mavpn enroll"), "%s", out);
}

Test(cli, up_reports_config_errors_in_both_modes)
{
	char args[256];

	write_file("mavpn.conf", "[node]\nname = a\nvip = 100.96.0.5\nprefix = 100.96.0.0/24\n"
				 "mtu = 70000\n[broker]\naddress = 127.0.0.1:1\nname = keybroker\n");
	snprintf(args, sizeof args, "up -f -d %s", tmpdir);
	cr_assert_eq(run(args), 1);
	cr_assert(strstr(out, "mtu = '70000'"), "%s", out);
	/* background: the forked daemon fails and tells `up` through the pipe */
	snprintf(args, sizeof args, "up -d %s --timeout 10", tmpdir);
	cr_assert_eq(run(args), 1);
	cr_assert(strstr(out, "mtu = '70000'"), "%s", out);
	snprintf(args, sizeof args, "status -d %s", tmpdir);
	cr_assert_eq(run(args), 3, "a daemon stayed behind: %s", out);
}

Test(cli, up_without_identity_files)
{
	char args[256];

	write_file("mavpn.conf", "[node]\nname = a\nvip = 100.96.0.5\nprefix = 100.96.0.0/24\n"
				 "[broker]\naddress = 127.0.0.1:1\nname = keybroker\n");
	snprintf(args, sizeof args, "up -d %s --timeout 10", tmpdir);
	cr_assert_eq(run(args), 1);
	cr_assert(strstr(out, "node.crt"), "%s", out);
	/* the pid file and control socket are gone again */
	{
		char path[256];
		struct stat st;

		snprintf(path, sizeof path, "%s/mavpn.pid", tmpdir);
		cr_assert_neq(stat(path, &st), 0, "pid file left behind");
		snprintf(path, sizeof path, "%s/control.sock", tmpdir);
		cr_assert_neq(stat(path, &st), 0, "control socket left behind");
	}
}

/* ---- the daemon, in a network namespace of the test's own --------------- */

static pid_t up_pid;
static char up_log[256], node_dir[256];

/* Root only: this test process moves into a fresh network namespace (lo
 * up), so the broker, the TUN and every packet stay in it. */
static void enter_netns(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root (network namespace, TUN)");
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %m");
	cr_assert_eq(system("ip link set lo up"), 0);
}

static void up_teardown(void)
{
	if (up_pid > 0) {
		kill(up_pid, SIGTERM);
		waitpid(up_pid, NULL, 0);
		up_pid = 0;
	}
	kb_teardown();
}

/* Count of needle in the daemon's log. */
static int log_count(const char *needle)
{
	static char buf[1 << 16];
	FILE *f = fopen(up_log, "r");
	size_t n;
	int c = 0;

	cr_assert_not_null(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	for (const char *p = buf; (p = strstr(p, needle)); p++)
		c++;
	return c;
}

/* status --json into out; wait up to ms for needle to appear in it. */
static bool status_has(const char *needle, int ms)
{
	char args[300];

	snprintf(args, sizeof args, "status -d %s --json", node_dir);
	for (int i = 0; i <= ms / 100; i++) {
		if (run(args) == 0 && strstr(out, needle))
			return true;
		usleep(100000);
	}
	return false;
}

/* Broker + enrolled node "alpha" running `mavpn up -f extra` as our child. */
static void node_up_fg(const char *extra)
{
	char tok[TOKEN_STR_MAX], args[700];

	enter_netns();
	kb_start();
	kb_token("alpha", tok);
	snprintf(node_dir, sizeof node_dir, "%s/alpha", tmpdir);
	snprintf(args, sizeof args, "enroll -d %s --broker %s --token %s", node_dir, kb_listen, tok);
	cr_assert_eq(run(args), 0, "%s", out);
	snprintf(up_log, sizeof up_log, "%s/up.log", tmpdir);
	up_pid = fork();
	cr_assert_geq(up_pid, 0);
	if (up_pid == 0) {
		int fd = open(up_log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		unsetenv("NOTIFY_SOCKET");
		unsetenv("JOURNAL_STREAM");
		execl(MAVPN_BIN, "mavpn", "up", "-f", "-d", node_dir, extra, (char *)NULL);
		_exit(127);
	}
	cr_assert(status_has("\"connected\":true", 10000), "node did not come up: %s", out);
	/* the default txqueuelen is on the TUN, and its drop counter is read */
	cr_assert(strstr(out, "\"tun\":{\"txqueuelen\":2000,\"tx_dropped\":0}"), "%s", out);
}

Test(daemon, sighup_keeps_the_command_line_log_level, .init = setup, .fini = up_teardown)
{
	char cmd[600];

	node_up_fg("-v");
	snprintf(cmd, sizeof cmd, "sed -i 's/^log_level *=.*/log_level = error/' %s/mavpn.conf",
		 node_dir);
	cr_assert_eq(system(cmd), 0);
	kill(up_pid, SIGHUP);
	for (int i = 0; i < 50 && !log_count("reload:"); i++)
		usleep(50000);
	cr_assert_eq(log_count("reload: log level stays debug"), 1, "HUP changed the level");
	/* still debug: a packet to an unknown VIP logs its SESSION_REQ */
	cr_assert_eq(log_count("SESSION_REQ"), 0);
	(void)!system("ping -c 1 -W 1 100.96.0.9 >/dev/null 2>&1");
	cr_assert_gt(log_count("SESSION_REQ"), 0, "no debug line after HUP");
}

Test(daemon, revoked_node_stops_reconnecting_and_exits_4, .init = setup, .fini = up_teardown)
{
	char args[400];
	int st, reconnects;
	const char *r;

	node_up_fg("-v");
	snprintf(args, sizeof args, "node revoke -d %s/kb alpha", tmpdir);
	cr_assert_eq(kb(args), 0, "%s", out);
	/* the broker closes the channel; the reconnect is refused for good */
	cr_assert(status_has("\"state\":\"revoked\"", 8000), "not revoked: %s", out);
	cr_assert(strstr(out, "\"connected\":false"), "%s", out);
	r = strstr(out, "\"reconnects\":");
	cr_assert_not_null(r);
	reconnects = atoi(r + 13);
	sleep(3);	/* backoff starts at 250 ms: several retries would have happened */
	cr_assert(status_has("\"state\":\"revoked\"", 0), "%s", out);
	r = strstr(out, "\"reconnects\":");
	cr_assert_eq(atoi(r + 13), reconnects, "still reconnecting: %s", out);
	cr_assert_eq(log_count("this node was revoked by the keybroker; re-enroll with a new token"),
		     1, "the revocation should be logged once");
	cr_assert_eq(log_count("refused the node"), 1, "one refusal line");
	snprintf(args, sizeof args, "status -d %s", node_dir);
	cr_assert_eq(run(args), 0);
	cr_assert(strstr(out, "REVOKED"), "%s", out);
	/* packets get an answer at once: admin prohibited */
	cr_assert_neq(system("ping -c 1 -W 1 100.96.0.9 >/dev/null 2>&1"), 0);
	/* `mavpn down` still cleans up; the daemon exits with 4 */
	snprintf(args, sizeof args, "down -d %s", node_dir);
	cr_assert_eq(run(args), 0, "%s", out);
	cr_assert_eq(waitpid(up_pid, &st, 0), up_pid);
	up_pid = 0;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 4, "exit status %#x", st);
	/* and a revoked node cannot come up again: exit 4 at once */
	snprintf(args, sizeof args, "up -d %s --timeout 10", node_dir);
	cr_assert_eq(run(args), 4, "%s", out);
	cr_assert(strstr(out, "refused the node: revoked") && strstr(out, "enroll again"), "%s", out);
	snprintf(args, sizeof args, "up -f -d %s --timeout 10", node_dir);
	cr_assert_eq(run(args), 4, "%s", out);
}

/* A node key others can read is refused before anything is set up. */
Test(cli, up_refuses_a_readable_key, .init = setup, .fini = kb_teardown)
{
	char tok[TOKEN_STR_MAX], args[700], path[256];

	kb_start();
	kb_token("alpha", tok);
	snprintf(args, sizeof args, "enroll -d %s/n --broker %s --token %s", tmpdir, kb_listen, tok);
	cr_assert_eq(run(args), 0, "%s", out);
	snprintf(path, sizeof path, "%s/n/node.key", tmpdir);
	cr_assert_eq(chmod(path, 0644), 0);
	snprintf(args, sizeof args, "up -f -d %s/n", tmpdir);
	cr_assert_eq(run(args), 1, "%s", out);
	cr_assert(strstr(out, "mode 0644") && strstr(out, "chmod 600"), "%s", out);
}

/* A refusal with its own text is shown as such, not under a generic label. */
Test(cli, enroll_full_pool_message, .init = setup, .fini = kb_teardown)
{
	char tok[TOKEN_STR_MAX], args[700];

	kb_prefix = "100.96.0.0/30";	/* room for exactly one node */
	kb_start();
	kb_token("alpha", tok);
	snprintf(args, sizeof args, "enroll -d %s/a --broker %s --token %s", tmpdir, kb_listen, tok);
	cr_assert_eq(run(args), 0, "%s", out);
	kb_token("beta", tok);
	snprintf(args, sizeof args, "enroll -d %s/b --broker %s --token %s", tmpdir, kb_listen, tok);
	cr_assert_eq(run(args), 1, "%s", out);
	cr_assert(strstr(out, "broker refused the enrollment: overlay prefix 100.96.0.0/30 is full"),
		  "%s", out);
	cr_assert_null(strstr(out, "limit reached"), "%s", out);
}
