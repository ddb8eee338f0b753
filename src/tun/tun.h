/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tun.h - the node's TUN device: open/attach, read/write bare IP packets,
 * offload probing, and the link configuration (MTU, addresses, routes)
 * applied through netlink.h and removed again on teardown.
 *
 * Ownership: struct tun owns its fd and the record of every address and
 * route tun_configure()/tun_route_add() put on the device; nothing else.
 * A device we created (IFF_TUN|IFF_NO_PI, non-persistent) disappears when
 * tun_close() closes the fd. A pre-existing persistent TUN (created by
 * `ip tuntap add name X mode tun user U` or systemd-networkd Kind=tun) is
 * only attached to: persistent_attached is true and we never delete it;
 * tun_unconfigure() removes exactly what we added and restores its MTU and
 * up/down state.
 *
 * Errors: calls taking err[TUN_ERR_MAX] return 0 or -1 with errno set and a
 * one-line message quoting the bad value (and the kernel's ext-ack text for
 * netlink failures). err is untouched on success.
 */
#ifndef MAVPN_TUN_TUN_H
#define MAVPN_TUN_TUN_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tun/netlink.h"

#define TUN_ERR_MAX 256			/* >= NL_ERR_MAX */
#define TUN_DEFAULT_NAME "mavpn%d"

/*
 * MTU range. Below 1280 the kernel deletes every IPv6 address on the link
 * (IPv6 minimum link MTU, RFC 8200) and raising the MTU again does not bring
 * them back, so we refuse it even for IPv4-only configurations.
 */
#define TUN_MTU_DEFAULT 1420
#define TUN_MTU_MIN 1280
#define TUN_MTU_MAX 65535

#define TUN_MAX_ADDRS 8			/* per configuration, both families */
#define TUN_MAX_ROUTES 256		/* configured + added later */

/* Offload bits for TUNSETOFFLOAD; Debian 12's uapi headers lack USO. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

/* tun_open() flags. */
#define TUN_O_NONBLOCK 0x1		/* O_NONBLOCK on the fd (event loops) */
#define TUN_O_VNET_HDR 0x2		/* IFF_VNET_HDR: each packet read/written
					 * starts with a 10-byte virtio_net_hdr
					 * (see vnet.h); offloads stay off until
					 * tun_set_offload() */
#define TUN_O_MULTI_QUEUE 0x4		/* IFF_MULTI_QUEUE: more queues with
					 * tun_queue_open(); an existing device
					 * must have been created multi_queue */

/* An address with prefix length, or a route destination (host bits zero). */
struct tun_prefix {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t addr[16];		/* 4 bytes used for AF_INET */
	uint8_t len;			/* 0..32 / 0..128 */
};

struct tun {
	int fd;				/* -1 when closed */
	char ifname[IFNAMSIZ];		/* the kernel's name (fills "mavpn%d") */
	int ifindex;
	unsigned mtu;			/* as last set/read by us */
	bool persistent_attached;	/* device existed: never delete it */
	bool vnet_hdr;			/* opened with TUN_O_VNET_HDR */
	bool multi_queue;		/* opened with TUN_O_MULTI_QUEUE */
	bool nonblock;			/* opened with TUN_O_NONBLOCK */
	unsigned features;		/* TUNGETFEATURES (IFF_* bits) */
	unsigned offloads;		/* TUN_F_* currently set by us */

	/* What tun_configure()/tun_route_add() changed (for unconfigure). */
	bool configured;
	bool link_changed;		/* we set MTU/up: restore old values */
	unsigned old_mtu;
	bool old_up;
	bool txqlen_changed;		/* we set txqueuelen: restore old_txqlen */
	unsigned old_txqlen;
	size_t n_addrs;
	struct tun_prefix addrs[TUN_MAX_ADDRS];
	size_t n_routes;
	struct tun_prefix routes[TUN_MAX_ROUTES];
};

/*
 * Open a TUN. name: NULL or "" (-> TUN_DEFAULT_NAME) or a name, "%d"
 * allowed. Offloads start cleared (also on an attached device).
 * If a link of that exact name exists (if_nametoindex) we attach to it:
 * it must be a TUN (not TAP) without multi-queue, not in use by another
 * process; persistent_attached is then set. Otherwise a fresh non-persistent
 * device is created. On success t is filled (ifname, ifindex, mtu,
 * features) and the link is still down and unconfigured.
 * t is initialised even on failure (fd -1): tun_close() is always safe.
 */
int tun_open(struct tun *t, const char *name, unsigned flags, char err[static TUN_ERR_MAX])
	__attribute__((warn_unused_result));

/*
 * Close the fd (an attached device gets its offloads cleared first).
 * Does not touch addresses/routes: call tun_unconfigure()
 * first for an attached persistent device (a created one vanishes anyway,
 * and its routes and addresses with it). Safe to call twice.
 */
void tun_close(struct tun *t);

/*
 * Open one more queue of a multi-queue device (TUN_O_MULTI_QUEUE): returns
 * a new fd (O_CLOEXEC, plus O_NONBLOCK / vnet header as for t) that the
 * caller owns and closes, or -1 + err. The kernel spreads locally sent
 * flows over the queues by hash; each queue fd can read and write. A
 * created device vanishes when its last queue fd closes. Offloads set with
 * tun_set_offload() apply to the device, whichever queue set them.
 */
int tun_queue_open(struct tun *t, char err[static TUN_ERR_MAX])
	__attribute__((warn_unused_result));

/*
 * One packet per call: returns its length, 0 never, -1 with errno
 * (EAGAIN with TUN_O_NONBLOCK when empty). With vnet_hdr the buffer starts
 * with the 10-byte header on reads AND writes (write an all-zero header for
 * a plain packet). A packet longer than len is truncated by the kernel
 * (give mtu + VNET_HDR_LEN bytes, or 65536 + 10 with TSO/USO).
 */
ssize_t tun_read(struct tun *t, void *buf, size_t len);
ssize_t tun_write(struct tun *t, const void *buf, size_t len);

/* Offload probe result. */
struct tun_offloads {
	unsigned features;		/* TUNGETFEATURES */
	bool vnet_hdr_supported;	/* IFF_VNET_HDR in features */
	int vnet_hdr_sz;		/* TUNGETVNETHDRSZ (10), 0 if unknown */
	unsigned accepted;		/* TUN_F_* bits accepted by TUNSETOFFLOAD
					 * (each tried with TUN_F_CSUM; TSO/USO
					 * without CSUM is EINVAL) */
	unsigned best;			/* largest accepted combination among
					 * CSUM|TSO4|TSO6|USO4|USO6 */
};

/*
 * Try each offload on this device and report. Leaves the device's offload
 * setting as it was (t->offloads) before returning. 0 or -1 + err.
 */
int tun_probe_offloads(struct tun *t, struct tun_offloads *out, char err[static TUN_ERR_MAX])
	__attribute__((warn_unused_result));
/*
 * Set offloads (TUN_F_* bits, 0 = none). Requires t->vnet_hdr unless 0:
 * without the header the kernel could hand us GSO super-packets we cannot
 * tell apart. Remember TUN_F_CSUM leaves locally generated packets with
 * their L4 checksum unfinished (vnet_csum_finish()).
 */
int tun_set_offload(struct tun *t, unsigned tun_f, char err[static TUN_ERR_MAX])
	__attribute__((warn_unused_result));

/* ---- link configuration ------------------------------------------------ */

struct tun_config {
	unsigned mtu;			/* 0 -> TUN_MTU_DEFAULT */
	unsigned txqueuelen;		/* packets queued for our reader before the
					 * kernel drops (tx_dropped); 0 -> leave the
					 * device's (a new TUN has 500) */
	size_t n_addrs;
	struct tun_prefix addrs[TUN_MAX_ADDRS];	/* e.g. VIP 10.98.0.5/16 */
	size_t n_routes;
	struct tun_prefix routes[TUN_MAX_ROUTES]; /* overlay + gateway prefixes */
};

/*
 * Validate the whole config first (MTU range, families, prefix lengths,
 * host bits of routes, counts), then: set MTU and up; the txqueuelen
 * (when not 0; restored by tun_unconfigure on an attached device); add each address
 * (IFA_F_NOPREFIXROUTE) and a route for its prefix (unless /32 or /128, or
 * already in routes); add each route. Everything added is recorded in t.
 * A route that already exists on this device is adopted (recorded, so
 * teardown removes it: leftovers from a crashed run); one that exists via
 * another device is an error. On any error, everything done so far is
 * rolled back (as tun_unconfigure) and -1 returned with err naming the item.
 * Must not be called twice without tun_unconfigure() in between.
 * Note: the kernel finishes a new IPv6 address (its local route) in a
 * workqueue shortly after acking it, so packets to it written into the TUN
 * in the first milliseconds may be dropped; sending from it works at once.
 */
int tun_configure(struct tun *t, struct nl *nl, const struct tun_config *cfg,
		  char err[static TUN_ERR_MAX]) __attribute__((warn_unused_result));

/*
 * Remove what we added, newest first: routes, addresses, then restore MTU,
 * txqueuelen and up/down state for an attached device (a created one is set down).
 * Keeps going past failures (e.g. the device already vanished); returns 0
 * if everything went, -1 with the first error in err otherwise (err may be
 * NULL). Afterwards t records nothing. Idempotent; safe after SIGTERM.
 */
int tun_unconfigure(struct tun *t, struct nl *nl, char *err);

/*
 * Routes learned later (gateway prefixes from the broker). tun_route_add
 * records the route (ENOSPC beyond TUN_MAX_ROUTES; adding a recorded route
 * again is a no-op returning 0); tun_route_del removes a recorded one
 * (ENOENT if we did not add it).
 */
int tun_route_add(struct tun *t, struct nl *nl, const struct tun_prefix *p,
		  char err[static TUN_ERR_MAX]) __attribute__((warn_unused_result));
int tun_route_del(struct tun *t, struct nl *nl, const struct tun_prefix *p,
		  char err[static TUN_ERR_MAX]);

/*
 * Parse "10.98.0.5/16" or "fd00:98::1/48" (no "/len" = host prefix) into p.
 * Returns 0 or -1 + err quoting the text. Host bits are kept (addresses);
 * tun_prefix_masked() tells whether they are all zero (routes need that).
 */
int tun_prefix_parse(struct tun_prefix *p, const char *text, char err[static TUN_ERR_MAX])
	__attribute__((warn_unused_result));
bool tun_prefix_masked(const struct tun_prefix *p);
/* Format as "addr/len" into out (INET6_ADDRSTRLEN + 4 bytes suffice). */
const char *tun_prefix_str(const struct tun_prefix *p, char *out, size_t outlen);

#endif
