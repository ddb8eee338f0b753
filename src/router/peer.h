/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * peer.h - a remote node as the router sees it: identity, addresses,
 * allowed inner sources, endpoint, three session slots, counters, the queue
 * of packets waiting for a session and the in-flight SESSION_REQ.
 *
 * Peers are created and owned by the router (router.h: router_peer_add /
 * router_peer_remove); their address is stable while they live. A peer
 * embeds everything by value (WireGuard's peer.h / OpenBSD's r_keypair[3]):
 * a rekey never allocates.
 *
 * Session slots. slots[3] never move; next/current/previous point into it
 * and rotate. The session table (session_table.h) maps each slot's local
 * receiver index to the slot; slot->peer leads back to the peer.
 *
 *   next      installed, not yet confirmed (responder: after OFFER, until
 *             the first packet from the initiator arrives on it)
 *   current   the session we send with
 *   previous  the one before current: receive-only, kept for a grace
 *             period so packets in flight at rollover are not lost
 *
 * Lifecycle of a slot: empty (keys.valid false, local_index 0) -> installed
 * (peer_install_next) -> promoted (peer_promote_next) -> cleared (expiry,
 * REVOKE, or pushed out of previous). Clearing wipes the keys
 * (session_keys_clear) and releases the receiver index.
 */
#ifndef MAVPN_ROUTER_PEER_H
#define MAVPN_ROUTER_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "crypto/session.h"
#include "crypto/x25519.h"
#include "proto/ctl.h"
#include "router/pending.h"
#include "router/prefix_table.h"

struct router;
struct peer;

/* Defaults of the timing rules below (milliseconds). */
#define PEER_REKEY_AHEAD_MS 20000u	/* ask for a new session this long before expiry
					 * (or at 3/4 of the life when it is shorter) */
#define PEER_RX_GRACE_MS 10000u		/* keep receiving on a slot this long after expiry */
#define PEER_REQ_TIMEOUT_MS 10000u	/* a SESSION_REQ without answer may be retried */

struct session_slot {
	struct session_keys keys;	/* keys.valid: slot in use */
	uint32_t local_index;		/* ours: peer puts it in packets to us; 0 = none */
	uint32_t remote_index;		/* theirs: we put it in packets to them */
	uint64_t sid;			/* broker's session id */
	uint64_t created_ms;		/* monotonic (log_now_ms) */
	uint64_t expires_ms;		/* no sending at/after; receiving until + PEER_RX_GRACE_MS */
	enum session_role role;
	uint64_t rx_packets;		/* per-session counters (the peer keeps totals) */
	uint64_t tx_packets;
	struct peer *peer;		/* owner; set once at peer creation */
};

/* The in-flight SESSION_REQ for a known peer (rekey / re-establish). */
struct peer_request {
	bool active;
	uint32_t req_id;
	uint32_t local_index;		/* reserved in the session table, sent in the REQ */
	struct x25519_eph eph;		/* wiped when the GRANT is consumed or on refusal */
	uint64_t started_ms;
};

struct peer_counters {
	uint64_t rx_bytes, rx_packets;
	uint64_t tx_bytes, tx_packets;
	uint64_t rx_bad_src;		/* decrypted, inner source not allowed (the
					 * receive path counts it); queue drops: queue.dropped */
};

struct peer {
	uint64_t id;			/* numeric, for logs; unique per router, never reused */
	char name[CTL_NAME_MAX + 1];
	struct ctl_ip vip4;		/* af 0 = unknown */
	struct ctl_ip vip6;		/* af 0 = none */

	uint8_t n_allowed;		/* the peer's allowed inner sources (GRANT/OFFER) */
	struct ctl_prefix allowed[CTL_MAX_PREFIXES];
	struct prefix_table allowed_tab;	/* same set, for router_allowed_src() */

	uint8_t n_endpoints;		/* as announced by the broker */
	struct ctl_endpoint endpoints[CTL_MAX_ENDPOINTS];
	struct sockaddr_storage endpoint;	/* where we send now (roaming updates it) */
	socklen_t endpoint_len;			/* 0 = none */

	struct session_slot slots[3];
	struct session_slot *next, *current, *previous;

	struct peer_counters ctr;
	struct pending_queue queue;	/* packets waiting for a usable session */
	struct peer_request req;

	uint64_t last_rx_ms, last_tx_ms;

	struct peer *list_next;		/* router's list; private */
	struct peer **list_pprev;
	struct peer *hash_next;		/* router's name hash; private */
};

/* Is src (af 4/6/AF_INET/AF_INET6, 4 or 16 bytes) inside the peer's
 * allowed prefixes? The receive-path check after decryption. */
bool router_allowed_src(const struct peer *p, int af, const uint8_t *src);

/*
 * Replace the peer's identity data from an OFFER/GRANT body: VIPs, allowed
 * prefixes (peer's allowed_tab AND the router's destination table: each
 * allowed prefix and VIP host route -> p), endpoint list; endpoint is set to
 * endpoints[0] when the peer has none yet. Prefixes of the peer previously
 * in the destination table are removed first. 0, or -1 (ENOMEM; the peer is
 * then left with the prefixes inserted so far).
 */
int peer_update_from_session(struct router *r, struct peer *p, const struct ctl_session *s)
	__attribute__((warn_unused_result));

/* Set the current endpoint (roaming: called with the source address of an
 * authenticated packet). Returns true when it changed. */
bool peer_set_endpoint(struct peer *p, const struct sockaddr *sa, socklen_t len);

/* Parameters of a session to install (see crypto/session.h for the KDF). */
struct session_params {
	enum session_role role;
	enum aead_alg alg;
	uint64_t sid;
	uint32_t local_index;		/* reserved with session_table_reserve(); the
					 * slot takes ownership (released on clear) */
	uint32_t remote_index;
	uint64_t now_ms;
	uint64_t life_ms;		/* > 0 */
	const uint8_t *secret;		/* SESSION_SECRET_LEN */
	struct x25519_eph *eph;		/* our ephemeral: ALWAYS wiped */
	const uint8_t *peer_pub;	/* X25519_LEN */
	const uint8_t *vip_initiator;	/* SESSION_VIP_LEN (ctl_ip_to16 form) */
	const uint8_t *vip_responder;
};

/*
 * Derive keys into the next slot (whatever was in next is cleared first)
 * and bind sp->local_index to it. Never allocates. 0, or -1 when the
 * derivation failed (low-order public, bad alg) or the index is not
 * reserved: the next slot is then empty, sp->local_index released, eph wiped.
 */
int peer_install_next(struct router *r, struct peer *p, struct session_params *sp)
	__attribute__((warn_unused_result));

/*
 * Initiator rule (WireGuard's): the new session goes straight to current.
 * If next holds an unconfirmed session (we answered an OFFER of the peer
 * meanwhile), that one becomes previous (still receivable) and the old
 * current is cleared; otherwise current becomes previous. Same failure
 * behaviour and arguments as peer_install_next. Never allocates.
 */
int peer_install_current(struct router *r, struct peer *p, struct session_params *sp)
	__attribute__((warn_unused_result));

/* next -> current, current -> previous, old previous cleared. No-op (false)
 * when next is empty. Responder: when the first authenticated packet
 * arrives on the next slot (peer_note_rx does it). */
bool peer_promote_next(struct router *r, struct peer *p);

/*
 * Receive path helper: s is the slot a packet authenticated on. When s is
 * p->next, promote it. Updates rx counters (slot and peer) with len bytes
 * and last_rx_ms. Returns true when a promotion happened.
 */
bool peer_note_rx(struct router *r, struct session_slot *s, size_t len, uint64_t now_ms);
void peer_note_tx(struct session_slot *s, size_t len, uint64_t now_ms);

/* The slot to send with: current, when valid and now < expires_ms; else
 * NULL (queue the packet and request a session). */
struct session_slot *peer_send_slot(struct peer *p, uint64_t now_ms);

/* May a packet be received on s at now? (valid and now < expires_ms +
 * PEER_RX_GRACE_MS) */
bool peer_slot_rx_ok(const struct session_slot *s, uint64_t now_ms);

/* True when the sender side should request a new session now: no usable
 * current, or current within the rekey margin of its expiry; and no
 * request in flight (or the request timed out). */
bool peer_needs_rekey(const struct peer *p, uint64_t now_ms);

/*
 * The rekey rule for one slot: a session of life L (expires - created) is
 * due for renewal at expires - min(PEER_REKEY_AHEAD_MS, L/4) when we
 * initiated it, and only at half that margin when we are its responder, so
 * the two ends do not ask at the same moment (the broker would drop the
 * crossing request). A slot without life (or a bogus one) is due at expiry.
 */
bool peer_slot_rekey_due(const struct session_slot *s, uint64_t now_ms);

/* Clear every slot past its receive grace (now >= expires_ms +
 * PEER_RX_GRACE_MS). Requests time out in router_expire().
 * An expired current stays in place (receive-only) until its grace ends.
 * Returns the number of slots cleared. */
unsigned peer_expire(struct router *r, struct peer *p, uint64_t now_ms);

/* Wipe one slot: session_keys_clear, release its index, zero the fields. */
void peer_slot_clear(struct router *r, struct session_slot *s);

/* REVOKE with sid: clear the slot(s) holding sid. Returns how many. */
unsigned peer_erase_sid(struct router *r, struct peer *p, uint64_t sid);

/* REVOKE for the whole peer: clear all three slots, cancel the in-flight
 * request (wipe eph, release its index). The queue is left alone (the
 * caller decides: pending_clear on revocation). */
void peer_erase_sessions(struct router *r, struct peer *p);

/* Start a request for this peer: generate the ephemeral, reserve an index,
 * take req_id (caller's choice, e.g. router_next_req_id). Cancels an older
 * one. 0, or -1 (RNG failure / ENOMEM). */
int peer_request_begin(struct router *r, struct peer *p, uint32_t req_id, uint64_t now_ms)
	__attribute__((warn_unused_result));
/* Drop the request: wipe eph, release the index if still reserved. */
void peer_request_cancel(struct router *r, struct peer *p);

#endif
