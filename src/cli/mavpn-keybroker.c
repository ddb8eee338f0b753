// SPDX-License-Identifier: GPL-2.0-only
/*
 * mavpn-keybroker - the keybroker's command line: argument parsing and
 * output only. The work is done by src/keybroker (kbstate, registry,
 * policy, daemon, admin).
 *
 * Exit codes: 0 success, 1 failure, 2 usage error (bad option or value),
 * 3 from status when the keybroker is not running (as `mavpn status`).
 * Admin commands change the registry directly (SQLite WAL makes that safe
 * next to the running daemon), then tell the daemon through DIR/admin.sock
 * so the change applies at once; without a running daemon they say so and
 * the change applies when it starts.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "crypto/ct.h"
#include "crypto/hash.h"
#include "crypto/rand.h"
#include "keybroker/admin.h"
#include "keybroker/daemon.h"
#include "keybroker/kbstate.h"
#include "keybroker/policy.h"
#include "keybroker/registry.h"
#include "proto/token.h"

#define PROG "mavpn-keybroker"
#define EXIT_USAGE 2
#define DEFAULT_TTL 3600
#define REPLY_MAX 65536

static const char usage_main[] =
	"usage: " PROG " COMMAND [options]\n"
	"\n"
	"  init   -d DIR --listen IP:PORT --prefix CIDR4 [--prefix6 CIDR6] [--name DNSNAME]\n"
	"  run    -d DIR\n"
	"  token create  -d DIR NAME [--tag TAG]... [--route CIDR]... [--ttl DURATION]\n"
	"  node list     -d DIR [--json] [--all]\n"
	"  node revoke   -d DIR NAME [--reason TEXT]\n"
	"  policy reload -d DIR\n"
	"  status -d DIR [--json]\n"
	"\n"
	"Every command takes --help. Exit codes: 0 ok, 1 failure, 2 usage error,\n"
	"3 keybroker not running (status).\n";

static const char usage_init[] =
	"usage: " PROG " init -d DIR --listen IP:PORT --prefix CIDR4 [--prefix6 CIDR6]\n"
	"                     [--name DNSNAME]\n"
	"\n"
	"Create the state directory DIR (mode 0700): CA key and certificate (ECDSA\n"
	"P-256, 10 years), the broker's TLS certificate for DNSNAME (default\n"
	"\"keybroker\"), the registry, a default policy.conf (allow all) and\n"
	"keybroker.conf. Refuses a DIR that already holds a state.\n"
	"  --listen IP:PORT   TCP address for enrollment and control channels\n"
	"  --prefix CIDR4     overlay network, /8 to /30 (.1 is the broker's)\n"
	"  --prefix6 CIDR6    optional IPv6 overlay, /16 to /96\n";

static const char usage_run[] =
	"usage: " PROG " run -d DIR\n"
	"\n"
	"Run the keybroker in the foreground. SIGTERM/SIGINT stop it, SIGHUP\n"
	"reloads policy.conf. Readiness and reloads are reported to systemd\n"
	"(Type=notify) when $NOTIFY_SOCKET is set.\n"
	"\n"
	"Log lines go to stderr: \"mavpn-keybroker: LEVEL: text\" on a terminal;\n"
	"when stderr is the systemd journal ($JOURNAL_STREAM) they start with the\n"
	"syslog priority \"<N>\" instead (journald adds the time); anywhere else\n"
	"(a file, a pipe) with an ISO-8601 UTC timestamp, e.g.\n"
	"\"2026-01-31T12:34:56.789Z mavpn-keybroker: info: text\".\n";

/* usage_token names the route limits of kbstate_max_routes() */
_Static_assert(CTL_MAX_PREFIXES == 16, "update --route in usage_token");
static const char usage_token[] =
	"usage: " PROG " token create -d DIR NAME [--tag TAG]... [--route CIDR]...\n"
	"                             [--ttl DURATION]\n"
	"\n"
	"Create a one-time enrollment token for node NAME and print it alone on\n"
	"stdout. Give it to the node, which enrolls with\n"
	"  mavpn enroll -d DIR --broker IP:PORT --token TOKEN\n"
	"(IP:PORT: an address of this keybroker's --listen that the node reaches).\n"
	"  --tag TAG       tag the node (policy `tag:TAG`); repeatable\n"
	"  --route CIDR    let the node serve this prefix as a gateway; repeatable,\n"
	"                  at most 14 (15 when the keybroker has no --prefix6).\n"
	"                  Refused: a default route (0.0.0.0/0, ::/0), a prefix\n"
	"                  overlapping the overlay prefixes, and one overlapping a\n"
	"                  route another live gateway serves\n"
	"  --ttl DURATION  validity: 30s, 15m, 1h, 7d ... (default 1h, at most 365d)\n";

static const char usage_node[] =
	"usage: " PROG " node list   -d DIR [--json] [--all]\n"
	"       " PROG " node revoke -d DIR NAME [--reason TEXT]\n"
	"\n"
	"list    enrolled nodes (--all: revoked ones too)\n"
	"revoke  refuse NAME from now on; the running keybroker closes its channel\n"
	"        and tells every peer to erase the keys of its sessions\n";

static const char usage_policy[] =
	"usage: " PROG " policy reload -d DIR\n"
	"\n"
	"Check DIR/policy.conf and make the running keybroker apply it at once\n"
	"(sessions it forbids are revoked). A malformed file is reported with its\n"
	"line and changes nothing.\n";

static const char usage_status[] =
	"usage: " PROG " status -d DIR [--json]\n"
	"\n"
	"Connected nodes, live sessions and counters from the running keybroker,\n"
	"or \"keybroker not running\" and the registry's counts.\n"
	"\n"
	"Exit codes: 0 running, 3 not running (the registry's counts are still\n"
	"printed), 1 failure (no answer from its admin socket, unreadable state),\n"
	"2 usage error.\n";

__attribute__((format(printf, 1, 2)))
static void error(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A usage error: message, a pointer to --help, exit code 2. */
__attribute__((format(printf, 2, 3)))
static int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '" PROG " %s --help'.\n", cmd);
	return EXIT_USAGE;
}

static void fmt_time(int64_t t, char *out, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == 0 || !gmtime_r(&tt, &tm))
		snprintf(out, cap, "-");
	else
		strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* getopt_long state shared by the subcommands. */
struct opts {
	const char *dir;
	bool help, json, all;
};

enum { OPT_LISTEN = 256, OPT_PREFIX, OPT_PREFIX6, OPT_NAME, OPT_TAG, OPT_ROUTE, OPT_TTL,
       OPT_JSON, OPT_ALL, OPT_REASON };

/*
 * Parse argv with the long options allowed for this command; every other
 * option is a usage error naming it. Positional arguments are collected in
 * pos (at most npos_max). handle() gets the command-specific options.
 * Returns 0, or EXIT_USAGE after printing the message.
 */
static int parse(int argc, char **argv, const char *cmd, const struct option *allowed,
		 struct opts *o, const char **pos, int npos_max, int *npos,
		 int (*handle)(void *ctx, int opt, const char *arg), void *ctx)
{
	int c;

	*npos = 0;
	optind = 0;	/* full reinitialisation (GNU) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-:d:h", allowed, NULL)) != -1) {
		switch (c) {
		case 1:
			if (*npos == npos_max)
				return usage_error(cmd, "%s: unexpected argument '%s'", cmd, optarg);
			pos[(*npos)++] = optarg;
			break;
		case 'd':
			o->dir = optarg;
			break;
		case 'h':
			o->help = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_ALL:
			o->all = true;
			break;
		case ':':
			return usage_error(cmd, "%s: option '%s' needs a value", cmd, argv[optind - 1]);
		case '?':
			return usage_error(cmd, "%s: unknown option '%s'", cmd, argv[optind - 1]);
		default:
			if (handle(ctx, c, optarg) != 0)
				return EXIT_USAGE;
			break;
		}
	}
	return 0;
}

static int need_dir(const char *cmd, const struct opts *o)
{
	if (!o->dir || !*o->dir)
		return usage_error(cmd, "%s: missing -d DIR", cmd);
	return 0;
}

static int no_opts(void *ctx, int opt, const char *arg)
{
	(void)ctx, (void)opt, (void)arg;
	return 0;
}

/* ---- init ----------------------------------------------------------------- */

struct init_args {
	const char *listen, *prefix, *prefix6, *name;
};

static int init_opt(void *ctx, int opt, const char *arg)
{
	struct init_args *a = ctx;

	switch (opt) {
	case OPT_LISTEN: a->listen = arg; break;
	case OPT_PREFIX: a->prefix = arg; break;
	case OPT_PREFIX6: a->prefix6 = arg; break;
	case OPT_NAME: a->name = arg; break;
	}
	return 0;
}

static int cmd_init(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "prefix", required_argument, NULL, OPT_PREFIX },
		{ "prefix6", required_argument, NULL, OPT_PREFIX6 },
		{ "name", required_argument, NULL, OPT_NAME },
		{ 0 },
	};
	struct opts o = { 0 };
	struct init_args a = { 0 };
	const char *pos[1];
	int npos, r;
	char err[KBSTATE_ERR_MAX];
	struct kbstate st;

	r = parse(argc, argv, "init", lo, &o, pos, 0, &npos, init_opt, &a);
	if (r)
		return r;
	if (o.help) {
		fputs(usage_init, stdout);
		return 0;
	}
	if ((r = need_dir("init", &o)))
		return r;
	if (!a.listen)
		return usage_error("init", "init: missing --listen IP:PORT");
	if (!a.prefix)
		return usage_error("init", "init: missing --prefix CIDR4");
	if (kbstate_check_args(a.listen, a.prefix, a.prefix6, a.name, err) < 0)
		return usage_error("init", "init: %s", err);
	if (kbstate_init(o.dir, a.listen, a.prefix, a.prefix6, a.name, err) < 0) {
		error("init: %s", err);
		return 1;
	}
	if (kbstate_load_public(o.dir, &st, err) < 0) {
		error("init: %s", err);
		return 1;
	}
	char fpr[PKI_FPR_LEN * 3 + 1], p[CTL_ADDRSTRLEN];

	for (int i = 0; i < PKI_FPR_LEN; i++)
		snprintf(fpr + 3 * i, sizeof(fpr) - 3 * (size_t)i, "%02X%s", st.ca_fpr[i],
			 i + 1 < PKI_FPR_LEN ? ":" : "");
	printf("initialised %s\n", o.dir);
	printf("  listen   %s (TLS name %s)\n", st.listen_text, st.name);
	printf("  prefix   %s", ctl_prefix_fmt(&st.prefix4, p));
	if (st.has_prefix6)
		printf(", %s", ctl_prefix_fmt(&st.prefix6, p));
	printf("\n  CA       SHA256 %s\n", fpr);
	printf("next: %s run -d %s, then %s token create -d %s NAME\n", PROG, o.dir, PROG, o.dir);
	kbstate_free(&st);
	return 0;
}

/* ---- run ------------------------------------------------------------------ */

static int cmd_run(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct opts o = { 0 };
	const char *pos[1];
	int npos, r;

	r = parse(argc, argv, "run", lo, &o, pos, 0, &npos, no_opts, NULL);
	if (r)
		return r;
	if (o.help) {
		fputs(usage_run, stdout);
		return 0;
	}
	if ((r = need_dir("run", &o)))
		return r;
	/* under systemd (journal) or redirected: priority or time on each line */
	if (!isatty(STDERR_FILENO) || getenv("JOURNAL_STREAM"))
		log_set_daemon(true);
	return keybroker_run(o.dir) == 0 ? 0 : 1;
}

/* ---- token create --------------------------------------------------------- */

struct token_args {
	char tags[REG_TAGS_MAX];
	char routes[REG_ROUTES_MAX];
	int ntags, nroutes;
	int64_t ttl;
};

static int token_opt(void *ctx, int opt, const char *arg)
{
	struct token_args *a = ctx;

	switch (opt) {
	case OPT_TAG: {
		if (strchr(arg, ' ') || !registry_tags_valid(arg) || !*arg) {
			usage_error("token", "token create: bad --tag '%s': use 1 to 31 of a-z, 0-9, "
					      "'_', '-'", arg);
			return -1;
		}
		if (registry_has_tag(a->tags, arg))
			return 0;
		size_t len = strlen(a->tags);

		if (a->ntags == 16 || len + strlen(arg) + 2 > sizeof(a->tags)) {
			usage_error("token", "token create: too many tags (at most 16)");
			return -1;
		}
		snprintf(a->tags + len, sizeof(a->tags) - len, "%s%s", len ? " " : "", arg);
		a->ntags++;
		return 0;
	}
	case OPT_ROUTE: {
		struct ctl_prefix pf;
		char canon[CTL_ADDRSTRLEN];

		if (ctl_prefix_parse(&pf, arg) != 0) {
			usage_error("token", "token create: bad --route '%s': expected a network in "
					      "CIDR form with the host bits zero (e.g. 10.200.0.0/24)",
				    arg);
			return -1;
		}
		ctl_prefix_fmt(&pf, canon);
		if (pf.len == 0) {
			usage_error("token", "token create: refusing --route '%s': a default "
					      "route would send every destination to this node; "
					      "give the networks behind it", arg);
			return -1;
		}
		size_t len = strlen(a->routes);

		/* counted, not kept: cmd_token refuses the count with the limit
		 * of this keybroker (kbstate_max_routes) */
		if (a->nroutes >= CTL_MAX_PREFIXES) {
			a->nroutes++;
			return 0;
		}
		if (len + strlen(canon) + 2 > sizeof(a->routes)) {
			usage_error("token", "token create: the routes are too long together "
					      "(at most %d characters)", REG_ROUTES_MAX - 1);
			return -1;
		}
		snprintf(a->routes + len, sizeof(a->routes) - len, "%s%s", len ? " " : "", canon);
		a->nroutes++;
		return 0;
	}
	case OPT_TTL:
		if (kbstate_parse_duration(arg, &a->ttl) != 0) {
			usage_error("token", "token create: bad --ttl '%s': expected a number and "
					      "a unit s/m/h/d, e.g. 15m or 7d (at most 365d)", arg);
			return -1;
		}
		return 0;
	}
	return 0;
}

/* Two prefixes overlap when the shorter one contains the other. */
static bool overlaps(const struct ctl_prefix *a, const struct ctl_prefix *b)
{
	const struct ctl_prefix *shorter = a->len <= b->len ? a : b;
	const struct ctl_prefix *longer = shorter == a ? b : a;

	return a->ip.af == b->ip.af && ctl_prefix_contains(shorter, &longer->ip);
}

/* The routes of token_args, parsed (they were checked by token_opt). */
static int parse_routes(const char *text, struct ctl_prefix *out, int max)
{
	char word[CTL_ADDRSTRLEN + 8];
	int n = 0;

	while (*text && n < max) {
		size_t len = strcspn(text, " ");

		snprintf(word, sizeof(word), "%.*s", (int)len, text);
		if (ctl_prefix_parse(&out[n], word) == 0)
			n++;
		text += len;
		text += strspn(text, " ");
	}
	return n;
}

/* A route that overlaps the overlay: its addresses are the nodes' own. */
static int check_routes_overlay(const struct kbstate *st, const struct ctl_prefix *r, int n)
{
	char p[CTL_ADDRSTRLEN], o[CTL_ADDRSTRLEN];

	for (int i = 0; i < n; i++) {
		const struct ctl_prefix *ov = NULL;

		if (overlaps(&r[i], &st->prefix4))
			ov = &st->prefix4;
		else if (st->has_prefix6 && overlaps(&r[i], &st->prefix6))
			ov = &st->prefix6;
		if (ov)
			return usage_error("token", "token create: refusing --route %s: it overlaps "
					   "the overlay prefix %s", ctl_prefix_fmt(&r[i], p),
					   ctl_prefix_fmt(ov, o));
	}
	return 0;
}

struct gw_check {
	const char *name;		/* the token's node: its old row is not a rival */
	const struct ctl_prefix *r;
	int n;
	bool conflict;
};

static int gw_check_one(void *arg, const struct reg_node *node)
{
	struct gw_check *g = arg;
	char p[CTL_ADDRSTRLEN], q[CTL_ADDRSTRLEN];

	if (strcmp(node->name, g->name) == 0)
		return 0;
	for (int i = 0; i < g->n; i++)
		for (int j = 0; j < node->n_routes; j++)
			if (overlaps(&g->r[i], &node->route[j])) {
				error("token create: refusing --route %s: gateway %s already serves "
				      "%s", ctl_prefix_fmt(&g->r[i], p), node->name,
				      ctl_prefix_fmt(&node->route[j], q));
				g->conflict = true;
				return 1;
			}
	return 0;
}

static int open_registry(const struct kbstate *st, struct registry **r)
{
	char err[REGISTRY_ERR_MAX];

	if (registry_open(st->registry_path, r, err) != REG_OK) {
		error("%s", err);
		return -1;
	}
	return 0;
}

/* The node's side of enrollment, on stderr: the command with this broker's
 * listen address (a wildcard address cannot be dialled: IP then), and
 * --broker-name when the TLS name is not the default. */
static void enroll_hint(const struct kbstate *st)
{
	static const uint8_t zero[16];
	char ip[CTL_ADDRSTRLEN];
	bool any = memcmp(st->listen.ip.a, zero, st->listen.ip.af == 4 ? 4 : 16) == 0;

	if (any)
		snprintf(ip, sizeof(ip), "IP");
	else
		ctl_ip_fmt(&st->listen.ip, ip);
	fprintf(stderr, PROG ": on the node: mavpn enroll -d DIR --broker %s%s%s:%u%s%s "
		"--token TOKEN\n", st->listen.ip.af == 6 && !any ? "[" : "", ip,
		st->listen.ip.af == 6 && !any ? "]" : "", st->listen.port,
		strcmp(st->name, "keybroker") ? " --broker-name " : "",
		strcmp(st->name, "keybroker") ? st->name : "");
}

static int cmd_token(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "tag", required_argument, NULL, OPT_TAG },
		{ "route", required_argument, NULL, OPT_ROUTE },
		{ "ttl", required_argument, NULL, OPT_TTL },
		{ 0 },
	};
	struct opts o = { 0 };
	struct token_args a = { .ttl = DEFAULT_TTL };
	const char *pos[2];
	int npos, r, rc = 1;
	char err[KBSTATE_ERR_MAX], rerr[REGISTRY_ERR_MAX];
	struct kbstate st;
	struct registry *reg = NULL;
	struct token t;
	uint8_t hash[REG_TOKEN_HASH_LEN];
	char text[TOKEN_STR_MAX];

	r = parse(argc, argv, "token", lo, &o, pos, 2, &npos, token_opt, &a);
	if (r)
		return r;
	if (o.help || (npos >= 1 && strcmp(pos[0], "help") == 0)) {
		fputs(usage_token, stdout);
		return 0;
	}
	if (npos == 0)
		return usage_error("token", "token: missing subcommand (create)");
	if (strcmp(pos[0], "create") != 0)
		return usage_error("token", "token: unknown subcommand '%s' (create)", pos[0]);
	if (npos < 2)
		return usage_error("token", "token create: missing NAME");
	if (!pki_name_valid(pos[1]))
		return usage_error("token", "token create: bad node name '%s': use 1 to %d of "
					     "a-z, 0-9, '.', '-', starting with a letter or digit",
				   pos[1], PKI_NAME_MAX);
	if ((r = need_dir("token", &o)))
		return r;
	if (kbstate_load_public(o.dir, &st, err) < 0) {
		error("%s", err);
		return 1;
	}
	if (a.nroutes > kbstate_max_routes(&st)) {
		rc = usage_error("token", "token create: too many routes: %d given, at most %d "
				 "(a session carries %d prefixes, %d of them the node's own "
				 "overlay address%s)", a.nroutes, kbstate_max_routes(&st),
				 CTL_MAX_PREFIXES, CTL_MAX_PREFIXES - kbstate_max_routes(&st),
				 st.has_prefix6 ? "es" : "");
		goto out;
	}
	struct ctl_prefix routes[CTL_MAX_PREFIXES];
	int nroutes = parse_routes(a.routes, routes, CTL_MAX_PREFIXES);

	if ((r = check_routes_overlay(&st, routes, nroutes))) {
		rc = r;
		goto out;
	}
	if (open_registry(&st, &reg) < 0)
		goto out;
	if (nroutes) {
		struct gw_check g = { .name = pos[1], .r = routes, .n = nroutes };

		if (registry_node_foreach(reg, false, gw_check_one, &g, rerr) != REG_OK) {
			error("token create: %s", rerr);
			goto out;
		}
		if (g.conflict)
			goto out;
	}
	memcpy(t.ca_fpr, st.ca_fpr, TOKEN_FPR_LEN);
	if (rand_bytes(t.secret, sizeof(t.secret)) != 0) {
		error("token create: random source failed: %s", strerror(errno));
		goto out;
	}
	sha256(hash, t.secret, sizeof(t.secret));
	int64_t now = (int64_t)time(NULL);
	enum reg_result res = registry_token_add(reg, hash, pos[1], a.tags, a.routes, now,
						 now + a.ttl, rerr);

	if (res != REG_OK) {
		error("token create: %s", rerr);
		goto out;
	}
	if (token_encode(&t, text, sizeof(text)) < 0) {
		error("token create: could not encode the token");
		goto out;
	}
	char until[32];

	fmt_time(now + a.ttl, until, sizeof(until));
	puts(text);
	fflush(stdout);
	fprintf(stderr, PROG ": one-time token for '%s', valid until %s\n", pos[1], until);
	enroll_hint(&st);
	rc = 0;
out:
	ct_wipe(&t, sizeof(t));
	ct_wipe(text, sizeof(text));
	registry_close(reg);
	kbstate_free(&st);
	return rc;
}

/* ---- node list / revoke --------------------------------------------------- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* Space-separated words as a JSON array of strings. */
static void json_words(FILE *f, const char *s)
{
	char word[REG_ROUTES_MAX];
	bool first = true;

	fputc('[', f);
	while (*s) {
		while (*s == ' ')
			s++;
		size_t n = strcspn(s, " ");

		if (!n)
			break;
		snprintf(word, sizeof(word), "%.*s", (int)n, s);
		if (!first)
			fputc(',', f);
		json_str(f, word);
		first = false;
		s += n;
	}
	fputc(']', f);
}

struct list_ctx {
	bool json;
	int count;
};

static int list_one(void *arg, const struct reg_node *n)
{
	struct list_ctx *c = arg;
	char v4[CTL_ADDRSTRLEN], v6[CTL_ADDRSTRLEN] = "-", seen[32], created[32], revoked[32];
	char serial[2 * PKI_SERIAL_LEN + 1];

	ctl_ip_fmt(&n->vip4, v4);
	if (n->has_vip6)
		ctl_ip_fmt(&n->vip6, v6);
	fmt_time(n->last_seen, seen, sizeof(seen));
	fmt_time(n->created, created, sizeof(created));
	fmt_time(n->revoked_at, revoked, sizeof(revoked));
	for (int i = 0; i < PKI_SERIAL_LEN; i++)
		snprintf(serial + 2 * i, 3, "%02x", n->serial[i]);
	if (c->json) {
		printf("%s\n  {\"name\":", c->count ? "," : "");
		json_str(stdout, n->name);
		printf(",\"vip4\":\"%s\",\"vip6\":", v4);
		if (n->has_vip6)
			printf("\"%s\"", v6);
		else
			printf("null");
		printf(",\"tags\":");
		json_words(stdout, n->tags);
		printf(",\"routes\":");
		json_words(stdout, n->routes);
		printf(",\"serial\":\"%s\",\"created\":%lld,\"last_seen\":", serial,
		       (long long)n->created);
		if (n->last_seen)
			printf("%lld", (long long)n->last_seen);
		else
			printf("null");
		printf(",\"revoked\":%s", n->revoked_at ? "true" : "false");
		if (n->revoked_at) {
			printf(",\"revoked_at\":%lld,\"revoke_reason\":", (long long)n->revoked_at);
			json_str(stdout, n->revoke_reason);
		}
		printf("}");
	} else {
		if (c->count == 0)
			printf("%-20s %-15s %-22s %-20s %-20s %s\n", "NAME", "VIP", "VIP6", "TAGS",
			       "LAST SEEN", "ROUTES / STATE");
		printf("%-20s %-15s %-22s %-20s %-20s %s%s%s\n", n->name, v4, v6,
		       *n->tags ? n->tags : "-", seen, *n->routes ? n->routes : "",
		       n->revoked_at ? (*n->routes ? " " : "") : "",
		       n->revoked_at ? "REVOKED" : "");
	}
	c->count++;
	return 0;
}

struct node_args {
	const char *reason;
};

static int node_opt(void *ctx, int opt, const char *arg)
{
	struct node_args *a = ctx;

	if (opt == OPT_REASON) {
		if (strlen(arg) >= REG_REASON_MAX || strpbrk(arg, "\n\r")) {
			usage_error("node", "node revoke: bad --reason '%s': one line, at most %d "
					     "characters", arg, REG_REASON_MAX - 1);
			return -1;
		}
		a->reason = arg;
	}
	return 0;
}

static int node_list(const struct opts *o)
{
	char err[KBSTATE_ERR_MAX], rerr[REGISTRY_ERR_MAX];
	struct kbstate st;
	struct registry *reg = NULL;
	struct list_ctx c = { .json = o->json };
	int rc = 1;

	if (kbstate_load_public(o->dir, &st, err) < 0) {
		error("%s", err);
		return 1;
	}
	if (open_registry(&st, &reg) < 0)
		goto out;
	if (c.json)
		printf("[");
	if (registry_node_foreach(reg, o->all, list_one, &c, rerr) != REG_OK) {
		error("node list: %s", rerr);
		goto out;
	}
	if (c.json)
		printf("%s]\n", c.count ? "\n" : "");
	else if (c.count == 0)
		printf("no nodes enrolled\n");
	rc = 0;
out:
	registry_close(reg);
	kbstate_free(&st);
	return rc;
}

static bool not_running(int r)
{
	return r < 0 && (errno == ENOENT || errno == ECONNREFUSED);
}

static int node_revoke(const struct opts *o, const char *name, const char *reason)
{
	char err[KBSTATE_ERR_MAX], rerr[REGISTRY_ERR_MAX], req[ADMIN_REQUEST_MAX];
	char reply[1024];
	struct kbstate st;
	struct registry *reg = NULL;
	int rc = 1, r;

	if (kbstate_load_public(o->dir, &st, err) < 0) {
		error("%s", err);
		return 1;
	}
	if (open_registry(&st, &reg) < 0)
		goto out;
	if (registry_node_revoke(reg, name, (int64_t)time(NULL),
				 reason ? reason : "revoked by admin", rerr) != REG_OK) {
		error("node revoke: %s", rerr);
		goto out;
	}
	snprintf(req, sizeof(req), "revoke %s", name);
	r = admin_request(o->dir, req, reply, sizeof(reply));
	if (r == 0) {
		printf("revoked %s: the keybroker closed its channel and told its peers\n", name);
		rc = 0;
	} else if (not_running(r)) {
		printf("revoked %s in the registry (keybroker not running: it will refuse %s "
		       "when it starts)\n", name, name);
		rc = 0;
	} else if (r == 1) {
		error("node revoke: %s is revoked in the registry, but the keybroker answered: %s",
		      name, reply);
	} else {
		error("node revoke: %s is revoked in the registry, but the keybroker could not be "
		      "told: %s", name, strerror(errno));
	}
out:
	registry_close(reg);
	kbstate_free(&st);
	return rc;
}

static int cmd_node(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "reason", required_argument, NULL, OPT_REASON },
		{ 0 },
	};
	struct opts o = { 0 };
	struct node_args a = { 0 };
	const char *pos[2];
	int npos, r;

	r = parse(argc, argv, "node", lo, &o, pos, 2, &npos, node_opt, &a);
	if (r)
		return r;
	if (o.help || (npos >= 1 && strcmp(pos[0], "help") == 0)) {
		fputs(usage_node, stdout);
		return 0;
	}
	if (npos == 0)
		return usage_error("node", "node: missing subcommand (list, revoke)");
	if (strcmp(pos[0], "list") == 0) {
		if (npos > 1)
			return usage_error("node", "node list: unexpected argument '%s'", pos[1]);
		if (a.reason)
			return usage_error("node", "node list: --reason belongs to node revoke");
		if ((r = need_dir("node", &o)))
			return r;
		return node_list(&o);
	}
	if (strcmp(pos[0], "revoke") == 0) {
		if (npos < 2)
			return usage_error("node", "node revoke: missing NAME");
		if (o.json || o.all)
			return usage_error("node", "node revoke: %s belongs to node list",
					   o.json ? "--json" : "--all");
		if (!pki_name_valid(pos[1]))
			return usage_error("node", "node revoke: bad node name '%s'", pos[1]);
		if ((r = need_dir("node", &o)))
			return r;
		return node_revoke(&o, pos[1], a.reason);
	}
	return usage_error("node", "node: unknown subcommand '%s' (list, revoke)", pos[0]);
}

/* ---- policy reload -------------------------------------------------------- */

static int cmd_policy(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct opts o = { 0 };
	const char *pos[1];
	int npos, r;
	char path[PATH_MAX], err[POLICY_ERR_MAX], reply[1024];
	struct policy *p;

	r = parse(argc, argv, "policy", lo, &o, pos, 1, &npos, no_opts, NULL);
	if (r)
		return r;
	if (o.help || (npos >= 1 && strcmp(pos[0], "help") == 0)) {
		fputs(usage_policy, stdout);
		return 0;
	}
	if (npos == 0)
		return usage_error("policy", "policy: missing subcommand (reload)");
	if (strcmp(pos[0], "reload") != 0)
		return usage_error("policy", "policy: unknown subcommand '%s' (reload)", pos[0]);
	if ((r = need_dir("policy", &o)))
		return r;
	if (snprintf(path, sizeof(path), "%s/%s", o.dir, KBSTATE_POLICY) >= (int)sizeof(path)) {
		error("policy reload: path too long");
		return 1;
	}
	p = policy_load(path, err);
	if (!p) {
		error("policy reload: %s (nothing changed)", err);
		return 1;
	}
	int nrules = policy_rule_count(p);
	bool allow = policy_default_allow(p);

	policy_free(p);
	r = admin_request(o.dir, "reload", reply, sizeof(reply));
	if (r == 0) {
		printf("policy reloaded: %d rule%s, default %s\n", nrules, nrules == 1 ? "" : "s",
		       allow ? "allow" : "deny");
		return 0;
	}
	if (not_running(r)) {
		printf("policy.conf is valid (%d rule%s, default %s); keybroker not running: it "
		       "will apply it when it starts\n", nrules, nrules == 1 ? "" : "s",
		       allow ? "allow" : "deny");
		return 0;
	}
	if (r == 1)
		error("policy reload: the keybroker refused it: %s", reply);
	else
		error("policy reload: could not reach the keybroker: %s", strerror(errno));
	return 1;
}

/* ---- status --------------------------------------------------------------- */

#define EXIT_NOT_RUNNING 3	/* as `mavpn status` */

static int cmd_status(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ 0 },
	};
	struct opts o = { 0 };
	const char *pos[1];
	int npos, r;
	bool json;

	r = parse(argc, argv, "status", lo, &o, pos, 0, &npos, no_opts, NULL);
	if (r)
		return r;
	if (o.help) {
		fputs(usage_status, stdout);
		return 0;
	}
	if ((r = need_dir("status", &o)))
		return r;
	json = o.json;

	char *reply = malloc(REPLY_MAX);

	if (!reply) {
		error("status: out of memory");
		return 1;
	}
	r = admin_request(o.dir, json ? "status json" : "status", reply, REPLY_MAX);
	if (r == 0) {
		fputs(reply, stdout);
		if (*reply && reply[strlen(reply) - 1] != '\n')
			fputc('\n', stdout);
		free(reply);
		return 0;
	}
	free(reply);
	if (!not_running(r)) {
		error("status: could not reach the keybroker: %s",
		      r == 1 ? "it answered with an error" : strerror(errno));
		return 1;
	}
	/* not running: the registry's view */
	char err[KBSTATE_ERR_MAX], rerr[REGISTRY_ERR_MAX];
	struct kbstate st;
	struct registry *reg = NULL;
	struct reg_counts c;
	int rc = 1;

	if (kbstate_load_public(o.dir, &st, err) < 0) {
		error("%s", err);
		return 1;
	}
	if (open_registry(&st, &reg) < 0)
		goto out;
	if (registry_counts(reg, (int64_t)time(NULL), &c, rerr) != REG_OK) {
		error("status: %s", rerr);
		goto out;
	}
	if (json)
		printf("{\"running\":false,\"nodes\":%u,\"revoked\":%u,\"tokens_pending\":%u,"
		       "\"listen\":\"%s\"}\n", c.nodes, c.revoked, c.tokens_pending, st.listen_text);
	else
		printf("keybroker not running\n"
		       "registry: %u node%s enrolled, %u revoked, %u token%s pending\n",
		       c.nodes, c.nodes == 1 ? "" : "s", c.revoked, c.tokens_pending,
		       c.tokens_pending == 1 ? "" : "s");
	rc = EXIT_NOT_RUNNING;
out:
	registry_close(reg);
	kbstate_free(&st);
	return rc;
}

/* ---- main ----------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "init", cmd_init }, { "run", cmd_run }, { "token", cmd_token },
		{ "node", cmd_node }, { "policy", cmd_policy }, { "status", cmd_status },
	};

	log_init(PROG, LOG_LVL_INFO);
	if (argc < 2) {
		fputs(usage_main, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf(PROG " " MAVPN_VERSION "\n");
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, PROG ": unknown command '%s'\n", argv[1]);
	fputs(usage_main, stderr);
	return EXIT_USAGE;
}
