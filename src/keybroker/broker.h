/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * broker.h - message handlers of the keybroker (internal): enrollment,
 * HELLO, session brokering (DESIGN.md steps 3-5), revocation and the
 * effects of a policy reload. Every handler gets an already decoded frame
 * from an authenticated connection in the right state (conn.c checks); a
 * handler answers through conn_send() and returns 0, or -1 when the
 * connection must be closed for a protocol violation (counted).
 *
 * The broker mints the session id and S, hands S to both ends (OFFER,
 * GRANT) and wipes its copy as soon as GRANT is queued, or when the
 * brokering fails. It never sees the ephemerals' private halves, so it
 * never knows the traffic keys.
 */
#ifndef MAVPN_KEYBROKER_BROKER_H
#define MAVPN_KEYBROKER_BROKER_H

#include <stddef.h>

#include "keybroker/conn.h"

/* enroll.c */
int enroll_handle(struct conn *c, const struct ctl_enroll_req *req);

int broker_hello(struct conn *c, const struct ctl_hello *h);
int broker_session_req(struct conn *c, const struct ctl_session_req *r);
int broker_accept(struct conn *c, const struct ctl_accept *a);
int broker_refuse(struct conn *c, const struct ctl_refuse *r);

/* node's connection went away: fail the offers waiting on it. */
void broker_node_offline(struct kbd *kb, struct kbnode *n);

/* Admin "revoke NAME": 0, or -1 with the reason in err. */
int broker_revoke(struct kbd *kb, const char *name, char *err, size_t errlen);

/* After kb->pol changed: revoke now-forbidden sessions and offers at both
 * ends; send CTL_ROUTES where reachable gateway routes changed. */
void broker_policy_changed(struct kbd *kb);
/* Gateway routes of some node appeared/disappeared. */
void broker_routes_changed(struct kbd *kb);
/* Route signature for change detection. */
uint32_t broker_routes_sig(const struct ctl_prefix *r, uint8_t n);

/* Forget expired sessions. */
void broker_sweep(struct kbd *kb, uint64_t now_ms);
void broker_free(struct kbd *kb);

#endif
