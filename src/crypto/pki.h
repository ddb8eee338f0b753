/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pki.h - identity keys (ECDSA P-256) and the X.509 v3 certificates the
 * keybroker CA issues. BearSSL parses certificates but writes none: the DER
 * writer here is ours (deps.md 2(c) lists the fields).
 *
 * Certificates issued here:
 *   CA     : subject CN=<ca name>, basicConstraints CA:TRUE (critical),
 *            keyUsage keyCertSign|cRLSign (critical), SKI.
 *   server : CN=<name>, SAN dNSName=<name>, basicConstraints CA:FALSE,
 *            keyUsage digitalSignature, extKeyUsage serverAuth, SKI, AKI.
 *   client : CN=<node name>, SAN dNSName=<node name> + iPAddress=<VIP4>
 *            [+ <VIP6>], keyUsage digitalSignature, extKeyUsage clientAuth,
 *            SKI, AKI.
 * Serials are 16 random bytes with the top bit cleared. Every issued
 * certificate passes `openssl verify -x509_strict -purpose ssl{client,server}`.
 *
 * Files are the caller's business: everything here works on memory
 * (PEM text in, PEM or DER out). A struct pki_key is plain memory owned by
 * the caller; pki_key_clear() wipes it.
 */
#ifndef MAVPN_CRYPTO_PKI_H
#define MAVPN_CRYPTO_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define PKI_PRIV_LEN 32
#define PKI_PUB_LEN 65		/* uncompressed point 0x04 || X || Y */
#define PKI_SERIAL_LEN 16
#define PKI_FPR_LEN 32		/* SHA-256 of a certificate's DER */
#define PKI_CERT_MAX 2048	/* largest DER certificate we write or accept */
#define PKI_NAME_MAX 63		/* node / CA names: [a-z0-9][a-z0-9.-]{0,62} */

struct pki_key {
	uint8_t priv[PKI_PRIV_LEN];	/* private: src/crypto only */
	uint8_t pub[PKI_PUB_LEN];
};

enum pki_cert_kind { PKI_CERT_CA, PKI_CERT_SERVER, PKI_CERT_CLIENT };

struct pki_cert_params {
	enum pki_cert_kind kind;
	const char *name;		/* CN (and SAN dNSName for server/client) */
	const uint8_t *pub;		/* subject public key, PKI_PUB_LEN bytes */
	time_t not_before, not_after;	/* UTC seconds */
	bool has_vip4, has_vip6;	/* client: SAN iPAddress entries */
	uint8_t vip4[4], vip6[16];
};

/* Valid node/CA name: 1..63 chars of [a-z0-9.-], starting with [a-z0-9]. */
bool pki_name_valid(const char *name);

int pki_key_generate(struct pki_key *k) __attribute__((warn_unused_result));
void pki_key_clear(struct pki_key *k);

/* PKCS#8 PEM ("PRIVATE KEY") of k into out (NUL-terminated). Returns the
 * length without the NUL, or -1 if cap is too small. */
ssize_t pki_key_to_pem(const struct pki_key *k, char *out, size_t cap);
/* Parse a PEM P-256 private key (PKCS#8 or SEC1). 0, or -1 with a reason in
 * err (errlen bytes). Fills pub too. Intermediate buffers wiped. */
int pki_key_from_pem(struct pki_key *k, const char *pem, size_t len,
		     char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Issue a certificate for p, signed by issuer_key. For PKI_CERT_CA with
 * issuer_der == NULL the certificate is self-signed (issuer = subject,
 * p->pub must be issuer_key's public key). Otherwise issuer_der is the CA
 * certificate (its subject becomes our issuer, its SKI our AKI).
 * serial_out (may be NULL) receives the serial. Returns the DER length
 * written to out, or -1 (bad parameter / cap too small / RNG failure).
 */
ssize_t pki_cert_issue(uint8_t *out, size_t cap, const struct pki_cert_params *p,
		       const struct pki_key *issuer_key,
		       const uint8_t *issuer_der, size_t issuer_len,
		       uint8_t serial_out[PKI_SERIAL_LEN]);

/* What pki_cert_parse() reads back from a DER certificate (at most
 * PKI_CERT_MAX bytes, P-256 key, printable CN of 1..PKI_NAME_MAX chars,
 * SAN iPAddress entries of 4 / 16 bytes; the first of each family is
 * kept). Parsing checks structure only, not the signature or the dates:
 * that is pki_cert_verify(). 0 or -1; info is zeroed first. */
struct pki_cert_info {
	char name[PKI_NAME_MAX + 1];	/* subject CN */
	uint8_t pub[PKI_PUB_LEN];
	bool is_ca;
	time_t not_before, not_after;
	bool has_vip4, has_vip6;
	uint8_t vip4[4], vip6[16];
};
int pki_cert_parse(struct pki_cert_info *info, const uint8_t *der, size_t len)
	__attribute__((warn_unused_result));

/* True when der is signed by the CA whose certificate is ca_der and is
 * valid at time now (chain of one, as br_x509_minimal checks it). */
bool pki_cert_verify(const uint8_t *der, size_t len, const uint8_t *ca_der,
		     size_t ca_len, time_t now);

/* SHA-256 of the DER bytes. */
void pki_fingerprint(uint8_t out[static PKI_FPR_LEN], const uint8_t *der, size_t len);

/* DER <-> PEM "CERTIFICATE". cert_to_pem returns length without NUL or -1.
 * cert_from_pem reads the first CERTIFICATE block, returns DER length or -1. */
ssize_t pki_cert_to_pem(const uint8_t *der, size_t len, char *out, size_t cap);
ssize_t pki_cert_from_pem(uint8_t *out, size_t cap, const char *pem, size_t len);

/* ECDSA P-256 / SHA-256 signature (ASN.1 DER, <= 72 bytes) and its check. */
#define PKI_SIG_MAX 72
ssize_t pki_sign(const struct pki_key *k, const void *msg, size_t len,
		 uint8_t sig[static PKI_SIG_MAX]);
bool pki_verify(const uint8_t pub[static PKI_PUB_LEN], const void *msg, size_t len,
		const uint8_t *sig, size_t siglen);

#endif
