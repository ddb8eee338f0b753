/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * status.h - drop counters (one per reason, each with its own rate-limited
 * log line) and the status report of `mavpn status [--json]`.
 *
 * The daemon fills a struct node_status snapshot (plain data, no pointers
 * into live state) and renders it; the renderers are pure so tests drive
 * them directly.
 */
#ifndef MAVPN_NODE_STATUS_H
#define MAVPN_NODE_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"
#include "proto/ctl.h"

enum drop_reason {
	DROP_BAD_HEADER = 0,	/* UDP datagram failed data_parse() */
	DROP_UNKNOWN_INDEX,	/* receiver index matches no session */
	DROP_REPLAY,		/* counter replayed or too old */
	DROP_TAG,		/* authentication failed */
	DROP_SRC_NOT_ALLOWED,	/* inner source outside the peer's allowed prefixes */
	DROP_QUEUE_FULL,	/* pending queue overflow (oldest dropped) */
	DROP_NO_SESSION,	/* no session and none can be requested (broker down too long) */
	DROP_NO_ROUTE,		/* TUN packet to a destination outside our overlay prefixes
				 * and every gateway route (routed into the TUN by hand):
				 * answered with ICMP net unreachable, no SESSION_REQ */
	DROP_REFUSED,		/* broker refused the session (queue answered with ICMP) */
	DROP_TIMEOUT,		/* brokering timed out (queue answered with ICMP) */
	DROP_TOO_BIG,		/* inner packet above the tunnel MTU (ICMP sent) */
	DROP_BAD_INNER,		/* TUN packet or decrypted payload not a valid IP packet */
	DROP_EXPIRED,		/* session keys spent */
	DROP_SEND_ERROR,	/* sendto() on the data socket failed */
	DROP_TUN_WRITE,		/* write() to the TUN failed */
	DROP_MAX
};

/* "bad_header", "unknown_index", ... (JSON keys). */
const char *drop_reason_name(enum drop_reason r);

struct node_drops {
	uint64_t count[DROP_MAX];
	struct log_ratelimit rl[DROP_MAX];
};

/* Count one drop; log the line (warning) unless rate limited. */
void node_drop(struct node_drops *d, enum drop_reason r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define STATUS_MAX_PEERS 256

struct node_status_peer {
	char name[CTL_NAME_MAX + 1];
	struct ctl_ip vip;
	bool has_endpoint;
	struct ctl_endpoint endpoint;
	/* Static string, one of:
	 *   "up"       a live session: keys valid and not past their life
	 *   "expired"  the current session's life is over (its keys stay for
	 *              the receive grace period) and no newer one is in place
	 *   "offered"  we accepted the peer's OFFER (responder); the session
	 *              becomes current when the initiator's first packet
	 *              arrives, or after NODE_RESPONDER_PROMOTE_MS
	 *   "pending"  our SESSION_REQ for this peer waits for the broker
	 *   "idle"     none of these: keys erased (expired or revoked), the
	 *              peer is remembered for its counters and endpoint */
	const char *state;
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets;
	int64_t session_age_s;		/* -1: no live session */
	int64_t key_left_s;		/* seconds until the current key expires, -1 none */
	uint64_t sid;
	const char *aead;		/* static string or NULL */
	uint32_t queued;		/* packets waiting for a session */
	uint8_t n_allowed;
	struct ctl_prefix allowed[CTL_MAX_PREFIXES];
};

struct node_status {
	char name[CTL_NAME_MAX + 1];
	int pid;
	char ifname[32];
	struct ctl_ip vip4;
	bool has_vip6;
	struct ctl_ip vip6;
	uint16_t listen_port;
	uint32_t mtu;
	int64_t uptime_s;
	struct ctl_endpoint broker;
	bool broker_connected;
	/* "connected", "connecting", "handshake", "waiting" (to retry) or
	 * "revoked" (refused as revoked/unknown: no more reconnects) */
	char broker_state[16];
	bool has_observed;
	struct ctl_endpoint observed;
	int64_t broker_down_s;		/* seconds since disconnected, -1 connected */
	uint64_t broker_reconnects;
	uint8_t n_routes;		/* gateway prefixes routed into the tunnel */
	struct ctl_prefix routes[CTL_MAX_PREFIXES];
	uint8_t n_own_routes;		/* prefixes served as a gateway */
	struct ctl_prefix own_routes[CTL_MAX_PREFIXES];
	bool forward;
	uint64_t drops[DROP_MAX];
	/* the kernel's counters of the TUN (netlink IFLA_STATS64) */
	bool has_tun_stats;
	uint32_t tun_txqueuelen;
	uint64_t tun_tx_dropped;	/* packets for us the kernel dropped: its
					 * queue (txqueuelen) was full, we fell behind */
	struct node_session_counters {
		uint64_t initiated;	/* GRANTs installed */
		uint64_t accepted;	/* OFFERs installed */
		uint64_t rekeys;	/* of those, replacing a live session */
		uint64_t refused;	/* REFUSEs received */
		uint64_t revoked;	/* REVOKEs received */
	} sessions;
	unsigned n_peers;
	struct node_status_peer peers[STATUS_MAX_PEERS];
};

/* Render as one JSON object (with a trailing newline) or as human text.
 * Return the length written (NUL-terminated), or -1 if cap is too small. */
int status_json(const struct node_status *s, char *out, size_t cap);
int status_text(const struct node_status *s, char *out, size_t cap);

#endif
