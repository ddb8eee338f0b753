// SPDX-License-Identifier: GPL-2.0-only
/*
 * mavpn.c - the node's command line: argument parsing and output only.
 *
 *   mavpn enroll -d DIR --broker IP:PORT --token TOKEN [--listen-port N]
 *   mavpn up     -d DIR [-f]
 *   mavpn down   -d DIR
 *   mavpn status -d DIR [--json]
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "node/daemon.h"
#include "node/enroll.h"
#include "node/nodeconf.h"
#include "proto/ctl.h"

#define PROG "mavpn"
#ifndef MAVPN_VERSION
#error "MAVPN_VERSION comes from meson (project version)"
#endif

static const char usage_main[] =
	"usage: mavpn COMMAND [options]\n"
	"\n"
	"commands:\n"
	"  enroll -d DIR --broker IP:PORT --token TOKEN [--listen-port N]\n"
	"                      register this node with the keybroker (once)\n"
	"  up     -d DIR [-f]  start the node daemon; returns once the broker accepted it\n"
	"  down   -d DIR       stop the daemon; interface, addresses and routes are removed\n"
	"  status -d DIR [--json]\n"
	"                      show the node, its broker connection, peers and drops\n"
	"\n"
	"DIR defaults to " NODE_DEFAULT_DIR ". `mavpn COMMAND --help` for details.\n";

static const char usage_enroll[] =
	"usage: mavpn enroll [-d DIR] --broker IP:PORT --token TOKEN [options]\n"
	"\n"
	"Generates the node key, enrolls with the keybroker using a one-time token\n"
	"(from `mavpn-keybroker token create NAME`) and writes DIR/node.key, node.crt,\n"
	"ca.crt and mavpn.conf.\n"
	"\n"
	"  -d, --dir DIR          state directory (default " NODE_DEFAULT_DIR ")\n"
	"  -b, --broker IP:PORT   keybroker address\n"
	"  -t, --token TOKEN      enrollment token (mvt1-...)\n"
	"  -p, --listen-port N    UDP data port (default 51820; 0 = any)\n"
	"      --broker-name NAME TLS name of the broker during enrollment (default keybroker)\n"
	"  -i, --interface NAME   TUN name or pattern (default mavpn%d)\n"
	"      --mtu N            tunnel MTU (1280..65535, default 1420)\n"
	"      --forward          gateway: enable IP forwarding while up\n"
	"      --force            enroll again over an existing enrollment\n"
	"      --timeout SECONDS  give up after this long (default 15)\n"
	"  -h, --help             this help\n";

static const char usage_up[] =
	"usage: mavpn up [-d DIR] [-f] [options]\n"
	"\n"
	"Creates the TUN interface, connects to the keybroker and starts the data\n"
	"path. Without -f the daemon goes to the background (log: DIR/mavpn.log) and\n"
	"`up` returns 0 once the interface is configured and the broker accepted\n"
	"the node. Exit code 4: the broker refused the node as revoked or unknown\n"
	"(enroll again with a new token); a node revoked while up stays up without\n"
	"the broker until `mavpn down` and then exits 4 (with -f).\n"
	"\n"
	"  -d, --dir DIR          state directory (default " NODE_DEFAULT_DIR ")\n"
	"  -f, --foreground       stay in the foreground, log to stderr (systemd)\n"
	"      --timeout SECONDS  wait this long for the broker (default 30)\n"
	"  -v, --verbose          debug logging\n"
	"  -h, --help             this help\n";

static const char usage_down[] =
	"usage: mavpn down [-d DIR] [--timeout SECONDS]\n"
	"\n"
	"Stops the daemon and waits until it has exited: interface, addresses and\n"
	"routes are gone when it returns.\n"
	"\n"
	"  -d, --dir DIR          state directory (default " NODE_DEFAULT_DIR ")\n"
	"      --timeout SECONDS  then kill it (default 10)\n"
	"  -h, --help             this help\n";

static const char usage_status[] =
	"usage: mavpn status [-d DIR] [--json]\n"
	"\n"
	"Shows the node, its broker connection, its peers (endpoint, traffic,\n"
	"session age) and the drop counters by reason. Exit code 3: not running.\n"
	"\n"
	"  -d, --dir DIR          state directory (default " NODE_DEFAULT_DIR ")\n"
	"  -j, --json             one JSON object\n"
	"  -h, --help             this help\n";

static int bad_usage(const char *usage)
{
	fputs(usage, stderr);
	return 2;
}

/* Strict decimal in [min, max]. */
static int parse_num(const char *opt, const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < min || v > max) {
		fprintf(stderr, PROG ": %s '%s': must be a number from %ld to %ld\n", opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

static bool dir_ok(const char *dir)
{
	if (!*dir || strlen(dir) > 80) {
		/* the control socket path (DIR/control.sock) must fit sun_path */
		fprintf(stderr, PROG ": -d '%s': must be a path of 1 to 80 characters\n", dir);
		return false;
	}
	return true;
}

static bool extra_args(int argc, char **argv, const char *usage)
{
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		fputs(usage, stderr);
		return true;
	}
	return false;
}

enum { OPT_BROKER_NAME = 256, OPT_MTU, OPT_FORWARD, OPT_FORCE, OPT_TIMEOUT };

static int cmd_enroll(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "broker", required_argument, NULL, 'b' },
		{ "token", required_argument, NULL, 't' },
		{ "listen-port", required_argument, NULL, 'p' },
		{ "broker-name", required_argument, NULL, OPT_BROKER_NAME },
		{ "interface", required_argument, NULL, 'i' },
		{ "mtu", required_argument, NULL, OPT_MTU },
		{ "forward", no_argument, NULL, OPT_FORWARD },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct enroll_opts o = { .dir = NODE_DEFAULT_DIR, .listen_port = -1 };
	char err[ENROLL_ERR_MAX], name[CTL_NAME_MAX + 1], vip[CTL_ADDRSTRLEN];
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "d:b:t:p:i:h", lo, NULL)) != -1) {
		switch (c) {
		case 'd': o.dir = optarg; break;
		case 'b': o.broker = optarg; break;
		case 't': o.token = optarg; break;
		case 'p':
			if (parse_num("--listen-port", optarg, 0, 65535, &v))
				return 2;
			o.listen_port = (int)v;
			break;
		case OPT_BROKER_NAME: o.broker_name = optarg; break;
		case 'i':
			if (!*optarg || strlen(optarg) >= NODECONF_IFNAME_MAX) {
				fprintf(stderr, PROG ": --interface '%s': 1 to 15 characters\n", optarg);
				return 2;
			}
			o.ifname = optarg;
			break;
		case OPT_MTU:
			if (parse_num("--mtu", optarg, 1280, 65535, &v))
				return 2;
			o.mtu = (unsigned)v;
			break;
		case OPT_FORWARD: o.forward = true; break;
		case OPT_FORCE: o.force = true; break;
		case OPT_TIMEOUT:
			if (parse_num("--timeout", optarg, 1, 3600, &v))
				return 2;
			o.timeout_ms = (int)v * 1000;
			break;
		case 'h': fputs(usage_enroll, stdout); return 0;
		default: return bad_usage(usage_enroll);
		}
	}
	if (extra_args(argc, argv, usage_enroll))
		return 2;
	if (!o.broker || !o.token) {
		fprintf(stderr, PROG ": enroll needs --broker and --token\n");
		return bad_usage(usage_enroll);
	}
	if (!dir_ok(o.dir))
		return 2;
	if (node_enroll(&o, name, vip, err) != 0) {
		fprintf(stderr, PROG ": enroll: %s\n", err);
		return 1;
	}
	printf("enrolled as %s, vip %s (state in %s)\n", name, vip, o.dir);
	return 0;
}

static int cmd_up(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NODE_DEFAULT_DIR;
	bool fg = false;
	int level = -1, timeout_ms = NODE_UP_TIMEOUT_MS, c;
	long v;

	while ((c = getopt_long(argc, argv, "d:fvh", lo, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'f': fg = true; break;
		case 'v': level = LOG_LVL_DEBUG; break;
		case OPT_TIMEOUT:
			if (parse_num("--timeout", optarg, 1, 3600, &v))
				return 2;
			timeout_ms = (int)v * 1000;
			break;
		case 'h': fputs(usage_up, stdout); return 0;
		default: return bad_usage(usage_up);
		}
	}
	if (extra_args(argc, argv, usage_up) || !dir_ok(dir))
		return 2;
	if (access(dir, F_OK) != 0) {
		fprintf(stderr, PROG ": -d '%s': %s (run `mavpn enroll` first)\n", dir, strerror(errno));
		return 1;
	}
	if (fg) {
		struct daemon_opts o = { .dir = dir, .foreground = true, .ready_fd = -1,
					 .log_level = level };

		if (getenv("JOURNAL_STREAM") || getenv("NOTIFY_SOCKET"))
			log_set_daemon(true);
		return node_daemon_run(&o);
	}
	return node_up_background(dir, level, timeout_ms);
}

static int cmd_down(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NODE_DEFAULT_DIR;
	int timeout_ms = 10000, c;
	long v;

	while ((c = getopt_long(argc, argv, "d:h", lo, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case OPT_TIMEOUT:
			if (parse_num("--timeout", optarg, 1, 3600, &v))
				return 2;
			timeout_ms = (int)v * 1000;
			break;
		case 'h': fputs(usage_down, stdout); return 0;
		default: return bad_usage(usage_down);
		}
	}
	if (extra_args(argc, argv, usage_down) || !dir_ok(dir))
		return 2;
	return node_down(dir, timeout_ms);
}

static int cmd_status(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NODE_DEFAULT_DIR;
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "d:jh", lo, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'j': json = true; break;
		case 'h': fputs(usage_status, stdout); return 0;
		default: return bad_usage(usage_status);
		}
	}
	if (extra_args(argc, argv, usage_status) || !dir_ok(dir))
		return 2;
	return node_status_print(dir, json);
}

int main(int argc, char **argv)
{
	/* prog: what getopt puts in front of its errors (argv[0]), e.g.
	 * "mavpn up: unrecognized option '--bogus'" */
	static char p_enroll[] = PROG " enroll", p_up[] = PROG " up", p_down[] = PROG " down",
		    p_status[] = PROG " status";
	static const struct {
		const char *name;
		char *prog;
		int (*run)(int argc, char **argv);
	} cmds[] = {
		{ "enroll", p_enroll, cmd_enroll },
		{ "up", p_up, cmd_up },
		{ "down", p_down, cmd_down },
		{ "status", p_status, cmd_status },
	};
	const char *cmd;

	log_init(PROG, LOG_LVL_INFO);
	if (argc < 2)
		return bad_usage(usage_main);
	cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf(PROG " " MAVPN_VERSION "\n");
		return 0;
	}
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		if (strcmp(cmd, cmds[i].name) != 0)
			continue;
		argc--;
		argv++;
		argv[0] = cmds[i].prog;
		optind = 1;
		return cmds[i].run(argc, argv);
	}
	fprintf(stderr, PROG ": unknown command '%s'\n", cmd);
	return bad_usage(usage_main);
}
