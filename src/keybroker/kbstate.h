/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kbstate.h - the keybroker's state directory.
 *
 * DIR (mode 0700, owned by the user running `init`) holds, each file mode
 * 0600 and written atomically (tmp + fsync + rename):
 *   keybroker.conf   INI, section [keybroker]:
 *                      listen    = IP:PORT      (TCP, enrollment + control)
 *                      prefix    = CIDR4        (overlay, /8 .. /30)
 *                      prefix6   = CIDR6        (optional, /16 .. /96)
 *                      name      = DNSNAME      (broker TLS name, default
 *                                                "keybroker")
 *                      key_life  = 120          (session key life, s,
 *                                                2 .. 86400; below 10 s
 *                                                only for tests: every
 *                                                session is re-brokered
 *                                                that often)
 *                      keepalive = 5            (PING interval, s, 1 .. 300)
 *                      unauth_per_ip = 32       (connections not yet
 *                                                authenticated per source
 *                                                IPv4 address / IPv6 /64,
 *                                                1 .. 65535; kbd.h)
 *   ca.key           CA private key, PKCS#8 PEM (ECDSA P-256)
 *   ca.crt           self-signed CA certificate, PEM, valid 10 years,
 *                    CN "<name>-ca"
 *   broker.key       broker TLS private key, PKCS#8 PEM
 *   broker.crt       broker TLS certificate, PEM, SAN dNSName = name,
 *                    serverAuth, valid 10 years (no rotation command yet)
 *   registry.db      SQLite registry (registry.h), + -wal / -shm
 *   policy.conf      policy (policy.h), default: allow everything
 *   admin.sock       created by the running daemon (admin.h)
 *
 * The CA private key never leaves this module: struct kbstate keeps it
 * behind an opaque pointer and the only thing done with it is
 * kbstate_issue_node_cert() (STYLE.md 14).
 */
#ifndef MAVPN_KEYBROKER_KBSTATE_H
#define MAVPN_KEYBROKER_KBSTATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crypto/pki.h"
#include "proto/ctl.h"

#define KBSTATE_ERR_MAX 256
#define KBSTATE_DEFAULT_NAME "keybroker"
#define KBSTATE_DEFAULT_KEY_LIFE 120
#define KBSTATE_MIN_KEY_LIFE 2
#define KBSTATE_MAX_KEY_LIFE 86400
#define KBSTATE_DEFAULT_KEEPALIVE 5
#define KBSTATE_DEFAULT_UNAUTH_PER_IP 32
#define KBSTATE_MAX_UNAUTH_PER_IP 65535
#define KBSTATE_CA_DAYS 3650
#define KBSTATE_SERVER_DAYS 3650
#define KBSTATE_NODE_DAYS 365		/* node certificates */

/* File names inside DIR. */
#define KBSTATE_CONF "keybroker.conf"
#define KBSTATE_CA_KEY "ca.key"
#define KBSTATE_CA_CRT "ca.crt"
#define KBSTATE_SRV_KEY "broker.key"
#define KBSTATE_SRV_CRT "broker.crt"
#define KBSTATE_REGISTRY "registry.db"
#define KBSTATE_POLICY "policy.conf"
#define KBSTATE_ADMIN_SOCK "admin.sock"

struct kbstate_ca;	/* private: the CA key, kbstate.c only */

struct kbstate {
	char dir[PATH_MAX];
	char registry_path[PATH_MAX];
	char policy_path[PATH_MAX];
	char admin_sock_path[PATH_MAX];

	char listen_text[CTL_ADDRSTRLEN];	/* as written in keybroker.conf */
	struct ctl_endpoint listen;
	struct ctl_prefix prefix4;
	bool has_prefix6;
	struct ctl_prefix prefix6;
	char name[PKI_NAME_MAX + 1];		/* broker TLS server name */
	uint32_t key_life_s;
	uint32_t keepalive_s;
	uint32_t unauth_per_ip;			/* unauth_per_ip (kbd.h) */

	uint8_t ca_der[PKI_CERT_MAX];
	size_t ca_len;
	uint8_t ca_fpr[PKI_FPR_LEN];		/* SHA-256(ca_der): the token pin */

	uint8_t server_der[PKI_CERT_MAX];	/* broker TLS certificate */
	size_t server_len;
	struct pki_key server_key;		/* broker TLS key: for tls_creds_new() */

	struct kbstate_ca *ca;			/* opaque: CA key */
};

/*
 * Create the state directory and everything in it (see above). dir must not
 * exist, or be an empty directory; a DIR that already holds keybroker.conf
 * or ca.key is refused ("DIR already holds a keybroker state"). listen is
 * "IP:PORT", prefix4 a CIDR4 (/8../30), prefix6 a CIDR6 (/16../96) or NULL,
 * name a pki_name_valid() name or NULL for "keybroker". Each bad value is
 * quoted in err. 0, or -1 (files created so far are removed).
 */
int kbstate_init(const char *dir, const char *listen, const char *prefix4,
		 const char *prefix6, const char *name, char err[static KBSTATE_ERR_MAX])
	__attribute__((warn_unused_result));

/* Read DIR back (config, both certificates, both keys). Does not open the
 * registry or the policy (see registry_path / policy_path). On success
 * *st is filled and must be released with kbstate_free(). 0 or -1 + err. */
int kbstate_load(const char *dir, struct kbstate *st, char err[static KBSTATE_ERR_MAX])
	__attribute__((warn_unused_result));

/* The same without the two private keys (st->ca NULL, server_key zero):
 * for admin commands that only need the configuration and the CA
 * certificate (token create, node list, status). */
int kbstate_load_public(const char *dir, struct kbstate *st,
			char err[static KBSTATE_ERR_MAX])
	__attribute__((warn_unused_result));

/* Check init's arguments without touching the disk (same rules and
 * messages as kbstate_init). 0 or -1 + err. */
int kbstate_check_args(const char *listen, const char *prefix4, const char *prefix6,
		       const char *name, char err[static KBSTATE_ERR_MAX])
	__attribute__((warn_unused_result));

/* Wipe the keys and free the CA part. Safe on a zeroed or freed struct. */
void kbstate_free(struct kbstate *st);

/* Issue a node (client) certificate signed by the CA: CN/SAN = name, SAN
 * iPAddress = vip4 (+ vip6 when not NULL), valid now-1h .. now +
 * KBSTATE_NODE_DAYS. Returns the DER length or -1. Fits registry_issue_fn
 * when called through kbstate_issue_cb (arg = struct kbstate *). */
ssize_t kbstate_issue_node_cert(const struct kbstate *st, const char *name,
				const struct ctl_ip *vip4, const struct ctl_ip *vip6,
				const uint8_t pub[PKI_PUB_LEN], uint8_t *out, size_t cap,
				uint8_t serial[PKI_SERIAL_LEN]);
ssize_t kbstate_issue_cb(void *st, const char *name, const struct ctl_ip *vip4,
			 const struct ctl_ip *vip6, const uint8_t pub[PKI_PUB_LEN],
			 uint8_t *der, size_t cap, uint8_t serial[PKI_SERIAL_LEN]);

/* How many gateway routes one node may have with this configuration: a
 * session's allowed-prefix list holds CTL_MAX_PREFIXES entries, and the
 * node's own VIPs take the first ones (one, two with prefix6). */
static inline int kbstate_max_routes(const struct kbstate *st)
{
	return CTL_MAX_PREFIXES - (st->has_prefix6 ? 2 : 1);
}

/* Small helpers used by the command line too. */
/* "30s", "15m", "1h", "7d" (a positive integer and one unit) -> seconds,
 * at most 365d. 0 or -1. */
int kbstate_parse_duration(const char *s, int64_t *secs) __attribute__((warn_unused_result));

#endif
