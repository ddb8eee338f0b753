/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * enroll.h - `mavpn enroll`: on-line registration with the keybroker
 * (DESIGN.md step 1).
 *
 * Generates the node identity key, connects to the broker with server-only
 * TLS pinned to the CA fingerprint inside the token, sends ENROLL_REQ
 * (token secret + public key) and receives ENROLL_OK (name, VIPs,
 * prefixes, certificate, CA certificate) or a refusal. The received CA must
 * be the one the token pins, and the certificate must carry our key and
 * verify against it. Then writes, into dir:
 *   node.key (PKCS#8 PEM, 0600), node.crt, ca.crt (PEM), mavpn.conf.
 *
 * Nothing is written when any step fails, and no directory is created:
 * before the broker is contacted (the token works once) dir must be a
 * writable directory without node.crt (unless force), or be creatable (its
 * deepest existing ancestor a writable directory); only after ENROLL_OK
 * checked out are dir (0700) and its missing parents (0755) created. The
 * four files are written as NAME.new (fsync'd) and then renamed; if
 * writing fails, the .new files and the directories created are removed.
 */
#ifndef MAVPN_NODE_ENROLL_H
#define MAVPN_NODE_ENROLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENROLL_ERR_MAX 512
#define ENROLL_TIMEOUT_MS 15000

#define NODE_KEY_FILE "node.key"
#define NODE_CERT_FILE "node.crt"
#define NODE_CA_FILE "ca.crt"

struct enroll_opts {
	const char *dir;
	const char *broker;		/* "IP:PORT" */
	const char *token;		/* printed token "mvt1-..." */
	const char *broker_name;	/* TLS name to expect during enrollment (NULL: "keybroker") */
	int listen_port;		/* -1: default */
	const char *ifname;		/* NULL: default pattern */
	unsigned mtu;			/* 0: default */
	bool forward;			/* gateway: write forward = yes */
	bool force;			/* overwrite an existing enrollment */
	int timeout_ms;			/* 0: ENROLL_TIMEOUT_MS */
};

/* 0, or -1 with a one-line reason in err. On success *name_out (if not
 * NULL, CTL_NAME_MAX + 1 bytes) receives the node name and vip_out
 * (CTL_ADDRSTRLEN bytes) its VIP text. */
int node_enroll(const struct enroll_opts *o, char *name_out, char *vip_out,
		char err[static ENROLL_ERR_MAX]) __attribute__((warn_unused_result));

#endif
