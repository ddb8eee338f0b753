// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_node.c - the node's pure parts: mavpn.conf parsing (values, defaults,
 * every error quoting the bad value), the status renderers (JSON checked
 * with jq as an outside parser), drop counters, the pid-file lock and
 * control socket, sockaddr conversions.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "node/control.h"
#include "node/nodeconf.h"
#include "node/sockaddr.h"
#include "node/status.h"

/* ---- helpers ------------------------------------------------------------ */

static char tmpdir[128];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/mavpn-node-test-%d-XXXXXX", (int)getpid());
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
	char cmd[256];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		cr_log_warn("cannot remove %s", tmpdir);
}

static const char *write_conf(const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/mavpn.conf", tmpdir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

#define BASE_NODE "[node]\nname = alpha\nvip = 100.96.0.5\nprefix = 100.96.0.0/24\n"
#define BASE_BROKER "[broker]\naddress = 172.31.77.2:7443\nname = keybroker\n"

/* ---- nodeconf ----------------------------------------------------------- */

TestSuite(nodeconf, .init = make_tmpdir, .fini = rm_tmpdir);

Test(nodeconf, minimal_file_gets_defaults)
{
	struct nodeconf nc;
	char err[NODECONF_ERR_MAX] = "";
	char a[CTL_ADDRSTRLEN];

	cr_assert_eq(nodeconf_load(&nc, write_conf(BASE_NODE BASE_BROKER), err), 0, "%s", err);
	cr_assert_str_eq(nc.name, "alpha");
	cr_assert_str_eq(ctl_ip_fmt(&nc.vip4, a), "100.96.0.5");
	cr_assert_str_eq(ctl_prefix_fmt(&nc.prefix4, a), "100.96.0.0/24");
	cr_assert_not(nc.has_vip6);
	cr_assert_eq(nc.listen_port, NODECONF_DEFAULT_PORT);
	cr_assert_eq(nc.mtu, 1420);
	cr_assert_eq(nc.txqueuelen, 2000);
	cr_assert_str_eq(nc.ifname, "mavpn%d");
	cr_assert_not(nc.attach);
	cr_assert_eq(nc.key_life_s, 0);
	cr_assert_str_eq(ctl_endpoint_fmt(&nc.broker, a), "172.31.77.2:7443");
	cr_assert_str_eq(nc.broker_name, "keybroker");
	cr_assert_eq(nc.n_routes, 0);
	cr_assert_not(nc.forward);
}

Test(nodeconf, every_key)
{
	struct nodeconf nc;
	char err[NODECONF_ERR_MAX] = "";
	char a[CTL_ADDRSTRLEN];

	cr_assert_eq(nodeconf_load(&nc, write_conf(
		"[node]\nname = gw-1\nvip = 100.96.0.9\nvip6 = fd7a:6d76::9\n"
		"prefix = 100.96.0.0/24\nprefix6 = fd7a:6d76::/64\nlisten_port = 0\n"
		"mtu = 1280\ntxqueuelen = 0\ninterface = wg-x\nattach = yes\nkey_life = 3\n"
		"log_level = debug\n"
		"[broker]\naddress = [2001:db8::1]:7443\nname = kb.example\n"
		"[gateway]\nroutes = 10.200.0.0/24, 10.201.0.0/16 fd00:1::/64\nforward = yes\n"), err),
		0, "%s", err);
	cr_assert(nc.has_vip6);
	cr_assert_str_eq(ctl_ip_fmt(&nc.vip6, a), "fd7a:6d76::9");
	cr_assert_eq(nc.listen_port, 0);
	cr_assert_eq(nc.mtu, 1280);
	cr_assert_eq(nc.txqueuelen, 0);
	cr_assert_str_eq(nc.ifname, "wg-x");
	cr_assert(nc.attach);
	cr_assert_eq(nc.key_life_s, 3);
	cr_assert_eq(nc.log_level, 3);
	cr_assert_str_eq(ctl_endpoint_fmt(&nc.broker, a), "[2001:db8::1]:7443");
	cr_assert_eq(nc.n_routes, 3);
	cr_assert_str_eq(ctl_prefix_fmt(&nc.routes[1], a), "10.201.0.0/16");
	cr_assert_str_eq(ctl_prefix_fmt(&nc.routes[2], a), "fd00:1::/64");
	cr_assert(nc.forward);
}

/* Each bad file must fail and the message must quote the offending text. */
static const struct {
	const char *text;
	const char *needle;
} bad_files[] = {
	/* 0 */ { "[node]\nvip = 100.96.0.5\nprefix = 100.96.0.0/24\n" BASE_BROKER, "name is missing" },
	/* 1 */ { "[node]\nname = Alpha!\nvip = 100.96.0.5\nprefix = 100.96.0.0/24\n" BASE_BROKER, "'Alpha!'" },
	/* 2 */ { "[node]\nname = a\nvip = 100.96.0.300\nprefix = 100.96.0.0/24\n" BASE_BROKER, "'100.96.0.300'" },
	/* 3 */ { "[node]\nname = a\nvip = fd00::1\nprefix = 100.96.0.0/24\n" BASE_BROKER, "'fd00::1'" },
	/* 4 */ { "[node]\nname = a\nvip = 100.97.0.5\nprefix = 100.96.0.0/24\n" BASE_BROKER, "outside prefix" },
	/* 5 */ { "[node]\nname = a\nvip = 100.96.0.5\nprefix = 100.96.0.1/24\n" BASE_BROKER, "'100.96.0.1/24'" },
	/* 6 */ { BASE_NODE "mtu = 70000\n" BASE_BROKER, "70000" },
	/* 7 */ { BASE_NODE "mtu = 1279\n" BASE_BROKER, "1279" },
	/* 8 */ { BASE_NODE "listen_port = 65536\n" BASE_BROKER, "65536" },
	/* 9 */ { BASE_NODE "interface = this-name-is-too-long\n" BASE_BROKER, "'this-name-is-too-long'" },
	/* 10 */ { BASE_NODE "interface = a%d%d\n" BASE_BROKER, "'a%d%d'" },
	/* 11 */ { BASE_NODE "interface = mavpn%d\nattach = yes\n" BASE_BROKER, "'mavpn%d'" },
	/* 12 */ { BASE_NODE "attach = maybe\n" BASE_BROKER, "maybe" },
	/* 13 */ { BASE_NODE "log_level = loud\n" BASE_BROKER, "'loud'" },
	/* 14 */ { BASE_NODE "[broker]\nname = keybroker\n", "address is missing" },
	/* 15 */ { BASE_NODE "[broker]\naddress = 172.31.77.2\nname = keybroker\n", "'172.31.77.2'" },
	/* 16 */ { BASE_NODE "[broker]\naddress = 172.31.77.2:0\nname = keybroker\n", "'172.31.77.2:0'" },
	/* 17 */ { BASE_NODE "[broker]\naddress = 172.31.77.2:7443\n", "name is missing" },
	/* 18 */ { BASE_NODE BASE_BROKER "[gateway]\nroutes = 10.200.0.0/33\n", "'10.200.0.0/33'" },
	/* 19 */ { BASE_NODE BASE_BROKER "[gateway]\nforward = sometimes\n", "sometimes" },
	/* 20 */ { BASE_NODE "vip6 = fd7a:6d76::9\n" BASE_BROKER, "vip6 and prefix6" },
	/* 21 */ { BASE_NODE "vip6 = fd7a:6d77::9\nprefix6 = fd7a:6d76::/64\n" BASE_BROKER, "outside prefix6" },
	/* 22 */ { "name = a\n" BASE_NODE BASE_BROKER, "mavpn.conf:1" },
	/* 23 */ { BASE_NODE "key_life = -1\n" BASE_BROKER, "-1" },
	/* 30 */ { BASE_NODE "txqueuelen = 1000001\n" BASE_BROKER, "txqueuelen = '1000001': must be between 0 and 1000000" },
	/* 31 */ { BASE_NODE "txqueuelen = lots\n" BASE_BROKER, "'lots'" },
	/* 24 */ { BASE_NODE "mut = 9000\n" BASE_BROKER, "mavpn.conf:5: unknown key 'mut' in [node]" },
	/* 25 */ { BASE_NODE BASE_BROKER "\n[bogus]\nx = 1\n", "mavpn.conf:9: unknown section [bogus]" },
	/* 26 */ { BASE_NODE BASE_BROKER "[bogus]\n", "unknown section [bogus]" },
	/* 27 */ { BASE_NODE "[broker]\naddress = 172.31.77.2:7443\nname = kb\nport = 1\n",
		   ":8: unknown key 'port' in [broker]" },
	/* 28 */ { BASE_NODE BASE_BROKER "[gateway]\nforwarding = yes\n", "unknown key 'forwarding' in [gateway]" },
	/* 29 */ { BASE_NODE BASE_BROKER "[Gateway]\nRoute = 10.0.0.0/8\n", "unknown key 'route' in [gateway]" },
};

Test(nodeconf, bad_values_are_quoted)
{
	for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
		struct nodeconf nc;
		char err[NODECONF_ERR_MAX] = "";

		cr_expect_eq(nodeconf_load(&nc, write_conf(bad_files[i].text), err), -1,
			     "case %zu loaded", i);
		cr_expect(strstr(err, bad_files[i].needle) != NULL,
			  "case %zu: '%s' does not mention '%s'", i, err, bad_files[i].needle);
	}
}

Test(nodeconf, documented_sample_loads)
{
	struct nodeconf nc;
	char err[NODECONF_ERR_MAX] = "";

	cr_assert_eq(nodeconf_load(&nc, MAVPN_SOURCE_ROOT "/etc/mavpn.conf", err), 0, "%s", err);
	cr_assert_str_eq(nc.name, "alpha");
	cr_assert(nc.has_vip6);
	cr_assert_not(nc.forward);
	cr_assert_eq(nc.n_routes, 0);
}

Test(nodeconf, missing_file)
{
	struct nodeconf nc;
	char err[NODECONF_ERR_MAX] = "", path[256];

	snprintf(path, sizeof path, "%s/nope.conf", tmpdir);
	cr_assert_eq(nodeconf_load(&nc, path, err), -1);
	cr_assert(strstr(err, "nope.conf") != NULL, "%s", err);
}

Test(nodeconf, format_then_load_round_trip)
{
	struct nodeconf a, b;
	char text[4096], err[NODECONF_ERR_MAX] = "";

	nodeconf_defaults(&a);
	snprintf(a.name, sizeof a.name, "beta");
	cr_assert_eq(ctl_ip_parse(&a.vip4, "100.96.0.7"), 0);
	cr_assert_eq(ctl_prefix_parse(&a.prefix4, "100.96.0.0/24"), 0);
	a.has_vip6 = a.has_prefix6 = true;
	cr_assert_eq(ctl_ip_parse(&a.vip6, "fd7a:6d76::7"), 0);
	cr_assert_eq(ctl_prefix_parse(&a.prefix6, "fd7a:6d76::/64"), 0);
	a.listen_port = 40000;
	a.mtu = 1400;
	a.txqueuelen = 12345;
	a.key_life_s = 30;
	cr_assert_eq(ctl_endpoint_parse(&a.broker, "172.31.77.2:7443"), 0);
	snprintf(a.broker_name, sizeof a.broker_name, "keybroker");
	a.forward = true;
	cr_assert_gt(nodeconf_format(&a, text, sizeof text), 0);
	cr_assert_eq(nodeconf_load(&b, write_conf(text), err), 0, "%s\n%s", err, text);
	cr_assert_str_eq(b.name, a.name);
	cr_assert(ctl_ip_eq(&b.vip4, &a.vip4));
	cr_assert(ctl_ip_eq(&b.vip6, &a.vip6));
	cr_assert_eq(b.prefix6.len, 64);
	cr_assert_eq(b.listen_port, 40000);
	cr_assert_eq(b.mtu, 1400);
	cr_assert_eq(b.txqueuelen, 12345);
	cr_assert_eq(b.key_life_s, 30);
	cr_assert(b.forward);
	cr_assert_str_eq(b.broker_name, "keybroker");
	/* too small a buffer is an error, not a truncated file */
	cr_assert_eq(nodeconf_format(&a, text, 40), -1);
}

Test(nodeconf, gateway_section_can_be_appended)
{
	/* enroll writes no [gateway] for a route-only gateway: an admin (and
	 * the lab) appends one, which must not be a duplicate section */
	struct nodeconf a, b;
	char text[4096], err[NODECONF_ERR_MAX] = "";

	nodeconf_defaults(&a);
	snprintf(a.name, sizeof a.name, "gw");
	cr_assert_eq(ctl_ip_parse(&a.vip4, "100.96.0.8"), 0);
	cr_assert_eq(ctl_prefix_parse(&a.prefix4, "100.96.0.0/24"), 0);
	cr_assert_eq(ctl_endpoint_parse(&a.broker, "172.31.77.2:7443"), 0);
	snprintf(a.broker_name, sizeof a.broker_name, "keybroker");
	a.n_routes = 1;
	cr_assert_eq(ctl_prefix_parse(&a.routes[0], "10.200.0.0/24"), 0);
	cr_assert_gt(nodeconf_format(&a, text, sizeof text - 40), 0);
	strcat(text, "\n[gateway]\nforward = yes\n");
	cr_assert_eq(nodeconf_load(&b, write_conf(text), err), 0, "%s\n%s", err, text);
	cr_assert(b.forward);
}

Test(nodeconf, routes_parser)
{
	struct ctl_prefix r[CTL_MAX_PREFIXES];
	char err[NODECONF_ERR_MAX], many[1024] = "";
	uint8_t n;

	cr_assert_eq(nodeconf_parse_routes("", r, &n, err), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(nodeconf_parse_routes("  ,10.0.0.0/8,, ", r, &n, err), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(nodeconf_parse_routes("10.0.0.0/8 junk", r, &n, err), -1);
	cr_assert(strstr(err, "'junk'") != NULL, "%s", err);
	for (int i = 0; i <= CTL_MAX_PREFIXES; i++) {
		char w[32];

		snprintf(w, sizeof w, "10.%d.0.0/16 ", i);
		strcat(many, w);
	}
	cr_assert_eq(nodeconf_parse_routes(many, r, &n, err), -1);
	cr_assert(strstr(err, "more than") != NULL, "%s", err);
}

/* ---- status ------------------------------------------------------------- */

static void sample_status(struct node_status *s)
{
	memset(s, 0, sizeof *s);
	snprintf(s->name, sizeof s->name, "alpha");
	s->pid = 4242;
	snprintf(s->ifname, sizeof s->ifname, "mavpn0");
	cr_assert_eq(ctl_ip_parse(&s->vip4, "100.96.0.5"), 0);
	s->listen_port = 51820;
	s->mtu = 1420;
	s->uptime_s = 77;
	cr_assert_eq(ctl_endpoint_parse(&s->broker, "172.31.77.2:7443"), 0);
	s->broker_connected = true;
	s->has_observed = true;
	cr_assert_eq(ctl_endpoint_parse(&s->observed, "172.31.77.11:51820"), 0);
	s->broker_down_s = -1;
	s->n_routes = 1;
	cr_assert_eq(ctl_prefix_parse(&s->routes[0], "10.200.0.0/24"), 0);
	s->drops[DROP_REPLAY] = 20;
	s->sessions.initiated = 5;
	s->sessions.accepted = 4;
	s->sessions.rekeys = 7;
	s->drops[DROP_SRC_NOT_ALLOWED] = 3;
	s->n_peers = 2;
	snprintf(s->peers[0].name, sizeof s->peers[0].name, "beta");
	cr_assert_eq(ctl_ip_parse(&s->peers[0].vip, "100.96.0.6"), 0);
	s->peers[0].has_endpoint = true;
	cr_assert_eq(ctl_endpoint_parse(&s->peers[0].endpoint, "172.31.77.12:51820"), 0);
	s->peers[0].state = "up";
	s->peers[0].rx_bytes = 1000;
	s->peers[0].tx_bytes = 18446744073709551615ull;
	s->peers[0].session_age_s = 12;
	s->peers[0].key_left_s = 108;
	s->peers[0].aead = "aes-256-gcm";
	s->peers[0].n_allowed = 1;
	cr_assert_eq(ctl_prefix_parse(&s->peers[0].allowed[0], "100.96.0.6/32"), 0);
	snprintf(s->peers[1].name, sizeof s->peers[1].name, "q\"uo\\te");
	cr_assert_eq(ctl_ip_parse(&s->peers[1].vip, "100.96.0.7"), 0);
	s->peers[1].state = "idle";
	s->peers[1].session_age_s = -1;
	s->peers[1].key_left_s = -1;
}

/* Run jq -r FILTER on json; return its first output line. */
static char *jq(const char *json, const char *filter)
{
	static char out[512];
	char path[256], cmd[1024];
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "%s/status.json", tmpdir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(json, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "jq -e -r '%s' < '%s' 2>&1", filter, path);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	n = fread(out, 1, sizeof out - 1, f);
	out[n] = 0;
	out[strcspn(out, "\n")] = 0;
	pclose(f);
	return out;
}

TestSuite(status, .init = make_tmpdir, .fini = rm_tmpdir);

Test(status, json_fields_read_back_with_jq)
{
	static struct node_status s;
	static char buf[65536];

	sample_status(&s);
	cr_assert_gt(status_json(&s, buf, sizeof buf), 0);
	cr_assert_str_eq(jq(buf, ".name"), "alpha");
	cr_assert_str_eq(jq(buf, ".vip"), "100.96.0.5");
	cr_assert_str_eq(jq(buf, ".vip6"), "null");
	cr_assert_str_eq(jq(buf, ".broker.connected"), "true");
	cr_assert_str_eq(jq(buf, ".broker.observed"), "172.31.77.11:51820");
	cr_assert_str_eq(jq(buf, ".routes[0]"), "10.200.0.0/24");
	cr_assert_str_eq(jq(buf, ".peers | length"), "2");
	cr_assert_str_eq(jq(buf, ".peers[0].endpoint"), "172.31.77.12:51820");
	cr_assert_str_eq(jq(buf, ".peers[0].rx_bytes"), "1000");
	cr_assert_str_eq(jq(buf, ".peers[0].tx_bytes | tostring"), "18446744073709552000");
	cr_assert_str_eq(jq(buf, ".peers[0].session_age_s"), "12");
	cr_assert_str_eq(jq(buf, ".peers[0].allowed[0]"), "100.96.0.6/32");
	cr_assert_str_eq(jq(buf, ".peers[1].name"), "q\"uo\\te");
	cr_assert_str_eq(jq(buf, ".peers[1].session_age_s == null"), "true");
	cr_assert_str_eq(jq(buf, ".peers[1].endpoint == null"), "true");
	cr_assert_str_eq(jq(buf, ".drops.replay"), "20");
	cr_assert_str_eq(jq(buf, ".sessions.initiated"), "5");
	cr_assert_str_eq(jq(buf, ".sessions.accepted"), "4");
	cr_assert_str_eq(jq(buf, ".sessions.rekeys"), "7");
	cr_assert_str_eq(jq(buf, ".sessions.revoked"), "0");
	cr_assert_str_eq(jq(buf, ".drops.src_not_allowed"), "3");
	cr_assert_str_eq(jq(buf, ".drops.bad_header"), "0");
	cr_assert_str_eq(jq(buf, ".drops | length"), "15");
	cr_assert_str_eq(jq(buf, "[.peers[] | select(.session_age_s != null)] | length"), "1");
}

Test(status, json_every_drop_reason_present)
{
	static struct node_status s;
	static char buf[65536];

	sample_status(&s);
	for (int r = 0; r < DROP_MAX; r++)
		s.drops[r] = (uint64_t)r * 7 + 1;
	cr_assert_gt(status_json(&s, buf, sizeof buf), 0);
	for (int r = 0; r < DROP_MAX; r++) {
		char f[64], want[32];

		snprintf(f, sizeof f, ".drops.%s", drop_reason_name((enum drop_reason)r));
		snprintf(want, sizeof want, "%d", r * 7 + 1);
		cr_expect_str_eq(jq(buf, f), want, "%s", f);
	}
}

Test(status, disconnected_broker)
{
	static struct node_status s;
	static char buf[65536];

	sample_status(&s);
	s.broker_connected = false;
	s.has_observed = false;
	s.broker_down_s = 9;
	s.n_peers = 0;
	cr_assert_gt(status_json(&s, buf, sizeof buf), 0);
	cr_assert_str_eq(jq(buf, ".broker.connected"), "false");
	cr_assert_str_eq(jq(buf, ".broker.down_s"), "9");
	cr_assert_str_eq(jq(buf, ".peers | length"), "0");
	cr_assert_gt(status_text(&s, buf, sizeof buf), 0);
	cr_assert(strstr(buf, "DISCONNECTED for 9s") != NULL, "%s", buf);
	cr_assert(strstr(buf, "no peers") != NULL, "%s", buf);
}

Test(status, tun_tx_dropped)
{
	static struct node_status s;
	static char buf[65536];

	sample_status(&s);
	cr_assert_gt(status_json(&s, buf, sizeof buf), 0);
	cr_assert_str_eq(jq(buf, ".tun.tx_dropped"), "null", "unknown stays null");
	s.has_tun_stats = true;
	s.tun_txqueuelen = 5000;
	s.tun_tx_dropped = 12345678901ull;
	cr_assert_gt(status_json(&s, buf, sizeof buf), 0);
	cr_assert_str_eq(jq(buf, ".tun.tx_dropped"), "12345678901");
	cr_assert_str_eq(jq(buf, ".tun.txqueuelen"), "5000");
	cr_assert_gt(status_text(&s, buf, sizeof buf), 0);
	cr_assert(strstr(buf, "tun: tx_dropped 12345678901 ") != NULL, "%s", buf);
}

Test(status, revoked_broker_state)
{
	static struct node_status s;
	static char buf[65536];

	sample_status(&s);
	s.broker_connected = false;
	s.has_observed = false;
	s.broker_down_s = 3;
	snprintf(s.broker_state, sizeof s.broker_state, "revoked");
	cr_assert_gt(status_json(&s, buf, sizeof buf), 0);
	cr_assert_str_eq(jq(buf, ".broker.connected"), "false");
	cr_assert_str_eq(jq(buf, ".broker.state"), "revoked");
	cr_assert_gt(status_text(&s, buf, sizeof buf), 0);
	cr_assert(strstr(buf, "REVOKED this node for 3s (re-enroll with a new token)") != NULL, "%s", buf);
	snprintf(s.broker_state, sizeof s.broker_state, "waiting");
	cr_assert_gt(status_json(&s, buf, sizeof buf), 0);
	cr_assert_str_eq(jq(buf, ".broker.state"), "waiting");
}

Test(status, overflow_is_an_error)
{
	static struct node_status s;
	char small[100];

	sample_status(&s);
	cr_assert_eq(status_json(&s, small, sizeof small), -1);
	cr_assert_eq(small[0], 0);
	cr_assert_eq(status_text(&s, small, sizeof small), -1);
	cr_assert_eq(status_json(&s, small, 0), -1);
}

Test(status, text_lists_peers_and_drops)
{
	static struct node_status s;
	static char buf[65536];

	sample_status(&s);
	cr_assert_gt(status_text(&s, buf, sizeof buf), 0);
	cr_assert(strstr(buf, "beta") && strstr(buf, "172.31.77.12:51820"), "%s", buf);
	cr_assert(strstr(buf, "drops: 23 replay=20 src_not_allowed=3"), "%s", buf);
	cr_assert(strstr(buf, "gateway routes: 10.200.0.0/24"), "%s", buf);
	cr_assert(strstr(buf, "sessions: 5 initiated, 4 accepted (7 rekeys)"), "%s", buf);
}

Test(status, drop_names_unique_and_counting)
{
	struct node_drops d;

	memset(&d, 0, sizeof d);
	for (int i = 0; i < DROP_MAX; i++) {
		cr_assert_not_null(drop_reason_name((enum drop_reason)i));
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(drop_reason_name((enum drop_reason)i),
					  drop_reason_name((enum drop_reason)j));
	}
	cr_assert_str_eq(drop_reason_name(DROP_MAX), "?");
	/* counts every drop; the log line is rate limited, the count is not */
	for (int i = 0; i < 100; i++)
		node_drop(&d, DROP_TAG, "test %d", i);
	cr_assert_eq(d.count[DROP_TAG], 100);
	cr_assert_gt(d.rl[DROP_TAG].suppressed, 0);
	cr_assert_eq(d.count[DROP_REPLAY], 0);
}

/* ---- control ------------------------------------------------------------ */

TestSuite(control, .init = make_tmpdir, .fini = rm_tmpdir);

Test(control, pidfile_lock_is_exclusive)
{
	pid_t holder = 0;
	int fd, fd2;

	cr_assert_eq(control_running_pid(tmpdir), 0);
	cr_assert_eq(control_pidfile_lock(tmpdir, &fd, &holder), 0);
	cr_assert_eq(control_pidfile_write(fd, 31337), 0);
	cr_assert_eq(control_pidfile_lock(tmpdir, &fd2, &holder), 1);
	cr_assert_eq(holder, 31337);
	cr_assert_eq(fd2, -1);
	cr_assert_eq(control_running_pid(tmpdir), 31337);
	cr_assert_eq(control_wait_exit(tmpdir, 50), -1);
	close(fd);
	cr_assert_eq(control_running_pid(tmpdir), 0);
	cr_assert_eq(control_wait_exit(tmpdir, 50), 0);
}

Test(control, request_reply_and_not_running)
{
	char *reply = NULL;
	pid_t pid;
	int lfd;

	cr_assert_eq(control_request(tmpdir, "status", &reply, 500), -1);
	lfd = control_listen(tmpdir);
	cr_assert_geq(lfd, 0, "%s", strerror(errno));
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char line[64] = "";
		int c;
		ssize_t k;
		struct timeval tv = { 2, 0 };

		setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		for (;;) {
			c = accept(lfd, NULL, NULL);
			if (c >= 0)
				break;
			if (errno != EAGAIN && errno != EINTR)
				_exit(1);
			usleep(10000);
		}
		k = recv(c, line, sizeof line - 1, 0);
		if (k > 0 && strcmp(line, "status-json\n") == 0)
			(void)!write(c, "ok\n{\"x\":1}\n", 11);
		else
			(void)!write(c, "error: bad\n", 11);
		close(c);
		_exit(0);
	}
	cr_assert_eq(control_request(tmpdir, "status-json", &reply, 3000), 0, "%s", strerror(errno));
	cr_assert_str_eq(reply, "ok\n{\"x\":1}\n");
	free(reply);
	waitpid(pid, NULL, 0);
	close(lfd);
	/* a stale socket file with nobody listening reads as "not running" */
	cr_assert_eq(control_request(tmpdir, "status", &reply, 500), -1);
}

Test(control, socket_is_private)
{
	char path[256];
	struct stat st;
	int lfd = control_listen(tmpdir);

	cr_assert_geq(lfd, 0);
	snprintf(path, sizeof path, "%s/%s", tmpdir, CONTROL_SOCK);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0077, 0, "mode %o", st.st_mode & 0777);
	close(lfd);
}

Test(control, path_too_long)
{
	char dir[200], out[108];

	memset(dir, 'a', sizeof dir - 1);
	dir[sizeof dir - 1] = 0;
	cr_assert_eq(control_path(out, sizeof out, dir, CONTROL_SOCK), -1);
	cr_assert_eq(errno, ENAMETOOLONG);
}

/* ---- sockaddr ----------------------------------------------------------- */

Test(sockaddr, v4_mapped_round_trip)
{
	struct ctl_endpoint ep, back;
	struct sockaddr_storage ss, ss2;
	socklen_t sl;
	char a[CTL_ADDRSTRLEN];

	cr_assert_eq(ctl_endpoint_parse(&ep, "172.31.77.12:51820"), 0);
	sl = sockaddr_from_endpoint(&ss, &ep);
	cr_assert_eq(sl, sizeof(struct sockaddr_in));
	ss2 = ss;
	sl = sockaddr_for_socket(&ss2, sl, AF_INET6);
	cr_assert_eq(ss2.ss_family, AF_INET6);
	cr_assert_eq(sl, sizeof(struct sockaddr_in6));
	cr_assert(sockaddr_to_endpoint(&back, (struct sockaddr *)&ss2, sl));
	cr_assert_str_eq(ctl_endpoint_fmt(&back, a), "172.31.77.12:51820");
	cr_assert(sockaddr_equal((struct sockaddr *)&ss, sizeof(struct sockaddr_in),
				 (struct sockaddr *)&ss2, sl));
	back.port++;
	sl = sockaddr_from_endpoint(&ss2, &back);
	cr_assert_not(sockaddr_equal((struct sockaddr *)&ss, sizeof(struct sockaddr_in),
				     (struct sockaddr *)&ss2, sl));
}

Test(sockaddr, v6_and_bad_family)
{
	struct ctl_endpoint ep, back;
	struct sockaddr_storage ss;
	socklen_t sl;
	char a[CTL_ADDRSTRLEN];

	cr_assert_eq(ctl_endpoint_parse(&ep, "[2001:db8::7]:4500"), 0);
	sl = sockaddr_from_endpoint(&ss, &ep);
	cr_assert_eq(sockaddr_for_socket(&ss, sl, AF_INET6), sl);
	cr_assert(sockaddr_to_endpoint(&back, (struct sockaddr *)&ss, sl));
	cr_assert_str_eq(ctl_endpoint_fmt(&back, a), "[2001:db8::7]:4500");
	memset(&ep, 0, sizeof ep);
	cr_assert_eq(sockaddr_from_endpoint(&ss, &ep), 0);
	ss.ss_family = AF_UNIX;
	cr_assert_not(sockaddr_to_endpoint(&back, (struct sockaddr *)&ss, sizeof ss));
	/* too short for its family */
	ss.ss_family = AF_INET6;
	cr_assert_not(sockaddr_to_endpoint(&back, (struct sockaddr *)&ss, 8));
}

/* ---- decide ------------------------------------------------------------- */

#include "node/decide.h"
#include "router/icmp.h"
#include "router/peer.h"

/* Numbered edges of the rekey rule: life L, margin min(20 s, L/4),
 * halved for the responder. */
static const struct {
	uint64_t created, expires;
	enum session_role role;
	uint64_t now;
	bool due;
} rekey_edges[] = {
	/* 0 */ { 0, 120000, SESSION_INITIATOR, 0, false },
	/* 1 */ { 0, 120000, SESSION_INITIATOR, 99999, false },	/* margin 20 s */
	/* 2 */ { 0, 120000, SESSION_INITIATOR, 100000, true },
	/* 3 */ { 0, 120000, SESSION_RESPONDER, 100000, false },	/* margin 10 s */
	/* 4 */ { 0, 120000, SESSION_RESPONDER, 109999, false },
	/* 5 */ { 0, 120000, SESSION_RESPONDER, 110000, true },
	/* 6 */ { 1000, 4000, SESSION_INITIATOR, 3249, false },	/* L=3 s: margin 750 ms */
	/* 7 */ { 1000, 4000, SESSION_INITIATOR, 3250, true },
	/* 8 */ { 1000, 4000, SESSION_RESPONDER, 3624, false },	/* 375 ms */
	/* 9 */ { 1000, 4000, SESSION_RESPONDER, 3625, true },
	/* 10 */ { 0, 80000, SESSION_INITIATOR, 59999, false },	/* L/4 = 20 s exactly */
	/* 11 */ { 0, 80000, SESSION_INITIATOR, 60000, true },
	/* 12 */ { 5000, 5000, SESSION_INITIATOR, 5000, true },	/* no life at all */
	/* 13 */ { 9000, 5000, SESSION_INITIATOR, 0, false },	/* bogus: expiry in the future */
	/* 14 */ { 0, 120000, SESSION_INITIATOR, 200000, true },	/* long past */
};

Test(decide, rekey_edges)
{
	for (size_t i = 0; i < sizeof rekey_edges / sizeof rekey_edges[0]; i++) {
		struct session_slot s = { .created_ms = rekey_edges[i].created,
					  .expires_ms = rekey_edges[i].expires,
					  .role = rekey_edges[i].role };

		cr_expect_eq(peer_slot_rekey_due(&s, rekey_edges[i].now), rekey_edges[i].due,
			     "edge %zu", i);
	}
}

Test(decide, refuse_codes_to_icmp)
{
	cr_assert_eq(decide_refuse_icmp(CTL_CODE_POLICY), ICMP_UNREACH_ADMIN);
	cr_assert_eq(decide_refuse_icmp(CTL_CODE_REVOKED), ICMP_UNREACH_ADMIN);
	cr_assert_eq(decide_refuse_icmp(CTL_CODE_UNKNOWN_DST), ICMP_UNREACH_NET);
	cr_assert_eq(decide_refuse_icmp(CTL_CODE_OFFLINE), ICMP_UNREACH_HOST);
	cr_assert_eq(decide_refuse_icmp(CTL_CODE_TIMEOUT), ICMP_UNREACH_HOST);
	cr_assert_eq(decide_refuse_icmp(CTL_CODE_LIMIT), ICMP_UNREACH_HOST);
	cr_assert_eq(decide_refuse_icmp(9999), ICMP_UNREACH_HOST);
}

Test(decide, silent_destinations)
{
	static const uint8_t mc4[4] = { 224, 0, 0, 22 }, mc4hi[4] = { 239, 255, 255, 250 },
			     bc[4] = { 255, 255, 255, 255 }, uni[4] = { 100, 96, 0, 3 },
			     e0[4] = { 240, 0, 0, 1 }, dirbc[4] = { 100, 96, 0, 255 };
	uint8_t v6[16] = { 0xff, 0x02 };

	cr_assert(decide_silent_dst(4, mc4));
	cr_assert(decide_silent_dst(4, mc4hi));
	cr_assert(decide_silent_dst(4, bc));
	cr_assert_not(decide_silent_dst(4, uni));
	cr_assert_not(decide_silent_dst(4, e0));	/* class E: not multicast */
	cr_assert_not(decide_silent_dst(4, dirbc));	/* may be a peer's VIP in a /23 */
	cr_assert(decide_silent_dst(6, v6));
	v6[0] = 0xfd;
	cr_assert_not(decide_silent_dst(6, v6));
	v6[0] = 0xfe;
	v6[1] = 0x80;
	cr_assert_not(decide_silent_dst(6, v6));
}

Test(decide, backoff_doubles_to_the_cap_with_bounded_jitter)
{
	uint32_t b = 0, seen[16];
	int n = 0;

	b = decide_backoff_next(b);
	cr_assert_eq(b, DECIDE_BACKOFF_MIN_MS);
	while (n < 16) {
		seen[n++] = b;
		if (b == DECIDE_BACKOFF_MAX_MS)
			break;
		b = decide_backoff_next(b);
	}
	cr_assert_eq(seen[1], 500);
	cr_assert_eq(seen[2], 1000);
	cr_assert_eq(b, DECIDE_BACKOFF_MAX_MS);
	cr_assert_lt(n, 10, "cap reached after %d steps", n);
	cr_assert_eq(decide_backoff_next(DECIDE_BACKOFF_MAX_MS), DECIDE_BACKOFF_MAX_MS);
	cr_assert_eq(decide_backoff_next(7000), DECIDE_BACKOFF_MAX_MS);
	/* jitter: cur .. cur + cur/2 inclusive, both ends reachable */
	cr_assert_eq(decide_backoff_delay(1000, 0), 1000);
	cr_assert_eq(decide_backoff_delay(1000, 500), 1500);
	cr_assert_eq(decide_backoff_delay(1000, 501), 1000);
	for (uint32_t r = 0; r < 100000; r += 7919) {
		uint32_t d = decide_backoff_delay(DECIDE_BACKOFF_MAX_MS, r * 2654435761u);

		cr_assert(d >= DECIDE_BACKOFF_MAX_MS && d <= DECIDE_BACKOFF_MAX_MS * 3 / 2, "%u", d);
	}
}
