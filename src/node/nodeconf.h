/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nodeconf.h - the node's configuration file DIR/mavpn.conf (INI), written
 * by `mavpn enroll` and read by the daemon. The documented sample is
 * etc/mavpn.conf.
 *
 *   [node]     name, vip, vip6, prefix, prefix6, listen_port, mtu,
 *              txqueuelen, interface, attach, key_life, log_level
 *   [broker]   address (IP:PORT), name (the broker's TLS server name)
 *   [gateway]  routes (space separated CIDRs this node serves), forward
 *
 * Every error quotes the file, the key and the bad value. Sections and keys
 * not listed above are errors too ("mavpn.conf:7: unknown key 'mut' in
 * [node]", "mavpn.conf:12: unknown section [bogus] ..."): a typo must not be
 * ignored silently.
 */
#ifndef MAVPN_NODE_NODECONF_H
#define MAVPN_NODE_NODECONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/ctl.h"

#define NODECONF_ERR_MAX 320
#define NODECONF_IFNAME_MAX 16		/* IFNAMSIZ, NUL included */
#define NODECONF_DEFAULT_PORT 51820
#define NODECONF_DEFAULT_MTU 1420
/* TUN transmit queue (packets waiting for the daemon to read them): the
 * kernel's 500 overflows under TCP bursts while the single reader seals
 * and sends, and each drop costs a TCP retransmit (tools/bench-tunnel:
 * 5000-48000 per 5 s run at 500, none at 2000). Not more: a deeper queue
 * only adds delay once TCP fills it (5000 x 1420 B is ~100 ms at 600 Mbit/s). */
#define NODECONF_DEFAULT_TXQLEN 2000
#define NODECONF_MAX_TXQLEN 1000000
#define NODECONF_DEFAULT_IFNAME "mavpn%d"
#define NODECONF_FILE "mavpn.conf"

struct nodeconf {
	char name[CTL_NAME_MAX + 1];
	struct ctl_ip vip4;
	bool has_vip6;
	struct ctl_ip vip6;
	struct ctl_prefix prefix4;
	bool has_prefix6;
	struct ctl_prefix prefix6;
	uint16_t listen_port;		/* 0 = let the kernel pick */
	uint32_t mtu;			/* 1280..65535 (IPv6 needs >= 1280) */
	uint32_t txqueuelen;		/* 0..NODECONF_MAX_TXQLEN; 0 = the kernel's */
	char ifname[NODECONF_IFNAME_MAX];	/* name or pattern with %d */
	bool attach;			/* use an existing persistent TUN, never delete it */
	uint32_t key_life_s;		/* 0 = what the broker hands out */
	int log_level;			/* enum log_level; default info */

	struct ctl_endpoint broker;
	char broker_name[CTL_NAME_MAX + 1];

	uint8_t n_routes;		/* [gateway] routes */
	struct ctl_prefix routes[CTL_MAX_PREFIXES];
	bool forward;			/* enable ip_forward (only when yes) */
};

/* Defaults for every optional field (port, mtu, interface, ...). */
void nodeconf_defaults(struct nodeconf *nc);

/* Load path. 0, or -1 with the reason in err (file:line for syntax errors,
 * "[node] mtu = '70000': ..." for bad values). Required: [node] name, vip,
 * prefix; [broker] address, name. */
int nodeconf_load(struct nodeconf *nc, const char *path, char err[static NODECONF_ERR_MAX])
	__attribute__((warn_unused_result));

/* Render nc as commented INI text into out (NUL-terminated). Returns the
 * length, or -1 if cap is too small. nodeconf_load() of the text gives nc
 * back, except routes: the broker is their authority (WELCOME), so they are
 * written as a comment only, and [gateway] is written only for forward =
 * yes (admins append "[gateway] forward = yes" to a gateway's file). */
int nodeconf_format(const struct nodeconf *nc, char *out, size_t cap);

/* Parse "10.0.0.0/24 fd00::/64 ..." (space or comma separated) into
 * routes. 0, or -1 with the bad word quoted in err. */
int nodeconf_parse_routes(const char *s, struct ctl_prefix *routes, uint8_t *n,
			  char err[static NODECONF_ERR_MAX]) __attribute__((warn_unused_result));

#endif
