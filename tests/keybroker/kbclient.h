/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kbclient.h - test helpers for the keybroker daemon's integration suite:
 * a throw-away state directory with a real daemon (keybroker_run in a
 * forked child), and blocking test clients built on channel.h / tls.h.
 */
#ifndef MAVPN_TESTS_KBCLIENT_H
#define MAVPN_TESTS_KBCLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "channel/channel.h"
#include "crypto/pki.h"
#include "crypto/tls.h"
#include "keybroker/kbstate.h"
#include "proto/ctl.h"

struct kbfix {
	char dir[96];
	uint16_t port;
	pid_t pid;
	struct kbstate st;
};

/* Create the state (10.98.0.0/24 + fd00:98::/64) with policy text (NULL =
 * the default allow-all file) and start the daemon. Asserts on failure. */
void fix_init(struct kbfix *f, const char *policy);
/* The same with other overlay prefixes (prefix6 may be NULL). */
void fix_init_net(struct kbfix *f, const char *policy, const char *prefix4,
		  const char *prefix6);
/* Start the daemon (forked keybroker_run); ready when its admin socket
 * answers and a TLS handshake pinned to this state's CA succeeds on f->port
 * (so the port is this daemon's). When the port was taken meanwhile the
 * daemon exits at start: retried on a new free port (f->port, f->st and
 * keybroker.conf updated), up to 5 times. Asserts on failure. */
void fix_start(struct kbfix *f);
/* SIGTERM, wait; returns the daemon's exit status (or -1 if killed). */
int fix_stop(struct kbfix *f);
/* fix_stop if running, then remove the directory. */
void fix_cleanup(struct kbfix *f);
void fix_write_policy(struct kbfix *f, const char *text);
/* Create a token for name (tags, routes may be NULL), ttl seconds (may be
 * negative: already expired). secret out. */
void fix_token(struct kbfix *f, const char *name, const char *tags, const char *routes,
	       int64_t ttl, uint8_t secret[16]);

struct tclient {
	int fd;
	struct channel *ch;
	struct ctl_msg *q[64];
	unsigned qh, qt;
};

/* TCP connect to 127.0.0.1:port; tls as given; NULL on connect failure. */
struct tclient *tc_connect(uint16_t port, struct tls_conn *tls);
/* Pump until the TLS handshake is complete: 0, or -1 (closed / timeout). */
int tc_handshake(struct tclient *c, int timeout_ms);
int tc_send(struct tclient *c, const struct ctl_msg *m);
/* Next frame into *m: 0, -1 timeout, -2 closed. */
int tc_recv(struct tclient *c, struct ctl_msg *m, int timeout_ms);
/* Wait for the next frame of type t, skipping PING/PONG: 0 / -1 / -2. */
int tc_expect(struct tclient *c, enum ctl_type t, struct ctl_msg *m, int timeout_ms);
/* True when the broker closes within timeout_ms (frames before are dropped). */
bool tc_wait_closed(struct tclient *c, int timeout_ms);
void tc_free(struct tclient *c);

/* An enrolled test node. */
struct tnode {
	char name[PKI_NAME_MAX + 1];
	struct pki_key key;
	uint8_t cert[PKI_CERT_MAX];
	size_t cert_len;
	struct ctl_enroll_ok ok;
	struct tls_creds *creds;
	struct tclient *c;
	struct ctl_welcome welcome;
	uint16_t data_port;
};

/* Enroll with a fresh token (tags, routes may be NULL). 0 or the refusal
 * code (ERROR) or -1; a failure prints its reason on stderr. */
int tnode_enroll(struct kbfix *f, struct tnode *n, const char *name, const char *tags,
		 const char *routes);
/* Connect with the node certificate and do HELLO/WELCOME. 0, or the ERROR
 * code the broker sent, or -1. */
int tnode_up(struct kbfix *f, struct tnode *n);
void tnode_free(struct tnode *n);

/* Enroll request on a pinned connection with the given secret, key->pub and
 * a correct proof of possession (signed by key): the reply (ENROLL_OK or
 * ERROR) in *m; 0, or -1 when nothing came. */
int enroll_raw(struct kbfix *f, const uint8_t secret[16], const struct pki_key *key,
	       struct ctl_msg *m);
/* The same with the signature given as is (sig_len CTL_SIG_MIN..CTL_SIG_MAX),
 * to send forged or mismatched proofs. */
int enroll_raw_sig(struct kbfix *f, const uint8_t secret[16], const uint8_t pub[65],
		   const uint8_t *sig, size_t sig_len, struct ctl_msg *m);
/* Sign the enrollment message for (secret, pub) with key: the signature
 * length (asserted CTL_SIG_MIN..CTL_SIG_MAX). key need not own pub. */
size_t enroll_sign(const struct pki_key *key, const uint8_t secret[16], const uint8_t pub[65],
		   uint8_t sig[static CTL_SIG_MAX]);

/* admin_request helper. */
int fix_admin(struct kbfix *f, const char *req, char *reply, size_t cap);



/* Raw TLS (no channel framing), for hostile-input tests. */
struct rawtls {
	int fd;
	struct tls_conn *tls;
};
int raw_connect(struct rawtls *r, uint16_t port, struct tls_conn *tls);
/* Pump until handshake done: 0, or -1 when it failed / closed. */
int raw_handshake(struct rawtls *r, int timeout_ms);
/* Send bytes inside TLS (or, when plain, on the bare socket). */
int raw_write(struct rawtls *r, const void *buf, size_t n, bool plain);
/* True when the peer closed the connection within timeout_ms. */
bool raw_wait_closed(struct rawtls *r, int timeout_ms);
void raw_free(struct rawtls *r);
#endif
