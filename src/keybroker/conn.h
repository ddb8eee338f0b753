/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * conn.h - one accepted connection of the keybroker (internal).
 *
 * Lifecycle (enum conn_state):
 *   HANDSHAKE  TLS running; KBD_HANDSHAKE_TIMEOUT_MS from accept.
 *   ENROLL     TLS done, no client certificate: only ENROLL_REQ is accepted,
 *              answered, then the connection closes.
 *   AUTHED     client certificate checked against the registry (name + key,
 *              not revoked); the conn is the node's live connection;
 *              waiting for HELLO (PING allowed).
 *   ACTIVE     HELLO seen: PING, SESSION_REQ, ACCEPT, REFUSE.
 *   CLOSING    ERROR sent / close_notify queued; no frame is handled any
 *              more; freed when the channel closes or after
 *              KBD_CLOSE_LINGER_MS.
 * A conn owns its channel (and so its fd and TLS state) and its ev_io. It is
 * freed only by conn_io() (after its own channel reports closed) or by the
 * sweep, never while its channel is delivering a frame.
 * Unauthenticated (HANDSHAKE, ENROLL, and CLOSING reached from them) the
 * conn holds a slot of its source address (ua, see KBD_UNAUTH_PER_IP in
 * kbd.h); the slot is given back when it becomes AUTHED or is freed.
 * Memory: sizeof(struct conn) + channel_mem() (TLS included).
 */
#ifndef MAVPN_KEYBROKER_CONN_H
#define MAVPN_KEYBROKER_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "keybroker/kbd.h"

struct uaddr;

enum conn_state { CONN_HANDSHAKE, CONN_ENROLL, CONN_AUTHED, CONN_ACTIVE, CONN_CLOSING };

struct conn {
	struct kbd *kb;
	struct channel *ch;		/* NULL only for test connections */
	ev_io io;
	struct conn *prev, *next;	/* kb->conns */
	struct conn *kick_prev, *kick_next;
	struct kbnode *node;		/* from AUTHED on */
	uint64_t id;			/* for logs */
	uint64_t since_ms, last_rx_ms, closing_ms;
	int64_t since_unix;
	uint64_t bucket_ms;
	uint32_t bucket;		/* token bucket, in 1/1000 frames */
	uint32_t strikes;		/* frames refused by the rate limit */
	uint16_t n_pending;		/* offers in flight as initiator */
	uint8_t state;			/* enum conn_state */
	bool kicked, in_io, dead;
	struct ctl_endpoint peer;	/* TCP peer */
	struct uaddr *ua;		/* unauthenticated slot (conn.c), or NULL */
	/* from HELLO */
	uint32_t aead_mask;
	uint16_t data_port;
	uint8_t n_endpoints;
	struct ctl_endpoint endpoints[CTL_MAX_ENDPOINTS];
	uint32_t routes_sig;		/* of the routes last sent */
};

/* Take a freshly accepted non-blocking fd (closed on failure, or at once
 * when the connection cap or an unauthenticated limit is reached: counted
 * in conn_cap_refused / unauth_cap_refused / unauth_per_ip_refused). */
void conn_accept(struct kbd *kb, int fd, const struct ctl_endpoint *peer);

/* Queue a frame; the channel is pumped from the loop's prepare watcher.
 * -1 when it cannot be queued (encode error or output queue full: the
 * connection is then closed). */
int conn_send(struct conn *c, const struct ctl_msg *m);

/* Refuse / end: queue ERROR {code, reason} (unless code is CTL_CODE_NONE),
 * then close gracefully. Detaches the node at once. Idempotent. */
void conn_shutdown(struct conn *c, uint16_t code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Handle one decoded frame as if it came from c's channel (the channel
 * callback and the fuzz harness use this). Returns 0, or -1 when c must be
 * closed at once. */
int conn_dispatch(struct conn *c, const struct ctl_msg *m);

/* The node's endpoints for OFFER/GRANT: observed (TCP peer IP + data port)
 * first, then the HELLO ones broker_hello() kept (never loopback, unspecified,
 * multicast, broadcast, v6 link-local or overlay addresses) not equal to it.
 * Returns the count. */
uint8_t conn_endpoints(const struct conn *c, struct ctl_endpoint *out, uint8_t max);
/* The observed endpoint (TCP peer IP + HELLO data port). */
void conn_observed(const struct conn *c, struct ctl_endpoint *out);

/* Pump every connection queued by conn_send() (prepare watcher). */
void conn_kick_all(struct kbd *kb);
/* Timeouts: handshake, dead peers, lingering closes. */
void conn_sweep(struct kbd *kb, uint64_t now_ms);
/* Free every connection (daemon shutdown). */
void conn_free_all(struct kbd *kb);

/* Test connections (no socket): frames sent to them go to kb->test_sink. */
struct conn *conn_new_test(struct kbd *kb, struct kbnode *node, enum conn_state st);
void conn_free_test(struct conn *c);

#endif
