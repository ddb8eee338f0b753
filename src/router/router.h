/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * router.h - the node's routing state: destination prefix -> peer,
 * receiver index -> session slot, peers by name, and destinations still
 * waiting for the broker (DESIGN.md steps 3-7). No sockets, no clock: every
 * call that needs the time takes now_ms (log_now_ms(), monotonic).
 *
 * Send path (a packet read from the TUN, destination d):
 *   p = router_peer_by_dst(r, af, d)
 *   p and (s = peer_send_slot(p, now)):  seal with s->keys, header index
 *        s->remote_index, send to p->endpoint; peer_note_tx. If
 *        peer_needs_rekey(p, now): peer_request_begin + SESSION_REQ.
 *   p, no usable slot: pending_push(&p->queue, ...); if !p->req.active:
 *        peer_request_begin + SESSION_REQ {req_id, dst d, p->req.eph.pub,
 *        p->req.local_index}.
 *   no p: pd = router_pending_find(r, af, d) or router_pending_add(...)
 *        (new one: send SESSION_REQ {pd->req_id, d, pd->eph.pub,
 *        pd->local_index}); pending_push(&pd->queue, ...).
 *   router_session_req() fills the ctl_session_req in both cases.
 *
 * Receive path (a data packet with receiver index i):
 *   s = router_slot_by_index(r, i); NULL -> drop. peer_slot_rx_ok(s, now)
 *   or drop; session_open(&s->keys, ...); router_pkt_parse the plaintext;
 *   router_allowed_src(s->peer, af, src) or drop (count rx_bad_src);
 *   peer_note_rx(r, s, len, now) (promotes next on first packet);
 *   peer_set_endpoint (roaming).
 *
 * Control events: router_on_grant, router_on_offer, router_on_refuse,
 * router_on_revoke; timers: router_expire.
 *
 * Single-threaded: no locking; the node's one loop owns the router.
 */
#ifndef MAVPN_ROUTER_ROUTER_H
#define MAVPN_ROUTER_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/x25519.h"
#include "proto/ctl.h"
#include "router/peer.h"
#include "router/pending.h"
#include "router/prefix_table.h"
#include "router/session_table.h"

#define ROUTER_DEFAULT_MAX_PENDING_DSTS 256u

struct router_config {
	size_t expected_peers;		/* sizes the index table; 0 = 64 */
	uint32_t queue_pkts;		/* per-queue bounds; 0 = PENDING_DEFAULT_PKTS */
	size_t queue_bytes;		/* 0 = PENDING_DEFAULT_BYTES */
	uint32_t max_pending_dsts;	/* 0 = ROUTER_DEFAULT_MAX_PENDING_DSTS */
	uint64_t req_timeout_ms;	/* 0 = PEER_REQ_TIMEOUT_MS */
};

/*
 * A destination address with traffic queued while the broker has not yet
 * answered, and no peer known for it (the node learns the peer from the
 * GRANT). Keyed by the exact destination address; found again by req_id.
 * The GRANT turns it into (or merges it with) a peer: queue spliced into
 * the peer's queue, reserved index bound to the peer's new session.
 */
struct pending_dst {
	struct ctl_ip dst;
	struct pending_queue queue;
	uint32_t req_id;
	uint32_t local_index;		/* reserved; sent in the SESSION_REQ */
	struct x25519_eph eph;		/* e_A; wiped on GRANT / refusal / timeout */
	uint64_t started_ms;
	struct pending_dst *next;	/* private */
};

struct router_counters {
	uint64_t grants, offers, refusals, revokes;
	uint64_t stale_ctl;		/* GRANT/REFUSE with no matching request */
	uint64_t pending_refused;	/* packets dropped because a request was refused */
	uint64_t pending_timeout;	/* packets dropped because a request timed out */
	uint64_t pending_limit;		/* router_pending_add refused: too many pending dsts */
};

struct router {
	struct router_config cfg;
	struct prefix_table dst;	/* destination prefix -> struct peer * */
	struct session_table sessions;	/* receiver index -> struct session_slot * */
	struct peer *peers;		/* list, newest first */
	size_t n_peers;
	struct peer **name_hash;	/* private */
	size_t name_hash_cap;
	struct pending_dst *pending;	/* list */
	size_t n_pending;
	uint64_t next_peer_id;
	uint32_t next_req_id;
	struct router_counters ctr;
};

/* cfg NULL = defaults. 0, or -1 (ENOMEM). */
int router_init(struct router *r, const struct router_config *cfg)
	__attribute__((warn_unused_result));
/* Remove every peer and pending destination (keys wiped, queues freed). */
void router_free(struct router *r);

/* New empty peer named name (1..CTL_NAME_MAX chars). NULL with errno
 * EEXIST (name taken), EINVAL or ENOMEM. */
struct peer *router_peer_add(struct router *r, const char *name);
/* Wipe its sessions, cancel its request, free its queue, remove its
 * prefixes, free it. p is invalid afterwards. */
void router_peer_remove(struct router *r, struct peer *p);

struct peer *router_peer_by_name(const struct router *r, const char *name);
/* Longest-prefix match in the destination table. */
struct peer *router_peer_by_dst(const struct router *r, int af, const uint8_t *addr);
/* The slot bound to a receiver index (NULL when unknown or only reserved). */
struct session_slot *router_slot_by_index(const struct router *r, uint32_t index);

#define router_for_each_peer(r, p) for ((p) = (r)->peers; (p); (p) = (p)->list_next)

/* A fresh request id (never 0; wraps, skipping ids still in use). */
uint32_t router_next_req_id(struct router *r);

/* Pending destinations. */
struct pending_dst *router_pending_find(const struct router *r, int af, const uint8_t *addr);
struct pending_dst *router_pending_by_req(const struct router *r, uint32_t req_id);
/* New pending destination: req_id assigned, ephemeral generated, index
 * reserved, empty queue with the configured bounds. NULL with errno
 * ENOSPC (max_pending_dsts reached; counted), EEXIST, EINVAL, ENOMEM or
 * the RNG's errno. */
struct pending_dst *router_pending_add(struct router *r, int af, const uint8_t *addr,
				       uint64_t now_ms);
/* Free its queue (no callback), wipe eph, release its index, unlink, free. */
void router_pending_remove(struct router *r, struct pending_dst *pd);

/* Fill a SESSION_REQ for a pending destination (pd != NULL) or for a
 * peer's in-flight request (p != NULL, p->req.active; dst = the inner
 * destination that triggered it). aead_mask: AEADs this node supports. */
void router_session_req(const struct pending_dst *pd, const struct peer *p,
			const struct ctl_ip *dst, uint32_t aead_mask,
			struct ctl_session_req *out);

/*
 * GRANT (we are the initiator). Finds the request by g->req_id (a pending
 * destination or a peer's request), finds or creates the peer named
 * g->peer_name, updates it (peer_update_from_session), derives keys into
 * its current slot with our ephemeral (wiped) and binds the reserved index
 * (peer_install_current). A pending destination's queue is spliced into
 * the peer's queue and the pending destination removed.
 * own_vip4: this node's VIP (the KDF uses the IPv4 VIPs of both ends in
 * their 16-byte form). Returns the peer (flush p->queue through the new
 * current slot; send a keepalive if the queue was empty so the responder
 * promotes), or NULL: errno ENOENT (stale/unknown req_id: counted in
 * stale_ctl), EPROTO (derivation failed: request dropped, its queued
 * packets freed), ENOMEM.
 */
struct peer *router_on_grant(struct router *r, const struct ctl_session *g,
			     const struct ctl_ip *own_vip4, uint64_t now_ms);

/*
 * OFFER (we are the responder). Finds or creates the peer, updates it,
 * generates our ephemeral, reserves an index, derives keys into the next
 * slot (not promoted: the first packet from the initiator promotes it).
 * Fills acc (sid, eph public, index) for the ACCEPT. Returns the peer, or
 * NULL (errno EPROTO: bad peer public / alg -> send REFUSE; ENOMEM).
 */
struct peer *router_on_offer(struct router *r, const struct ctl_session *o,
			     const struct ctl_ip *own_vip4, uint64_t now_ms,
			     struct ctl_accept *acc);

/*
 * REFUSE from the broker for req_id. Pending destination: every queued
 * packet goes to fn (oldest first: answer with ICMP unreachable, see
 * icmp.h), then it is removed. Peer request: cancelled; if the peer has no
 * usable current slot its queue goes to fn too. Returns the number of
 * packets handed to fn, or -1 (errno ENOENT) for an unknown req_id.
 */
int router_on_refuse(struct router *r, const struct ctl_refuse *rf, uint64_t now_ms,
		     pending_fn fn, void *ctx);

/*
 * REVOKE: sid != 0 erases that session of the named peer; sid == 0 erases
 * all its sessions, cancels its request and frees its queue (the peer
 * object and its destination prefixes stay: new traffic asks the broker
 * again, which refuses). Returns the number of slots erased, or -1 (errno
 * ENOENT) when no such peer.
 */
int router_on_revoke(struct router *r, const struct ctl_revoke *rv);

/*
 * Timers: peer_expire() on every peer; pending destinations and peer
 * requests older than req_timeout_ms are dropped, their queued packets
 * handed to fn (ICMP host unreachable) when a peer has no usable session.
 * Returns the number of slots cleared.
 */
unsigned router_expire(struct router *r, uint64_t now_ms, pending_fn fn, void *ctx);

#endif
