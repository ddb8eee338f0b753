/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tls.h - TLS 1.2 (BearSSL engine) over byte buffers. Never touches a socket:
 * the caller moves bytes between the network and tls_{recv,send}_buf().
 *
 * Suites: ECDHE-ECDSA with ChaCha20-Poly1305 or AES-GCM; TLS 1.2 only;
 * certificates ECDSA P-256 issued by the keybroker CA (crypto/pki.h).
 *
 * Three roles:
 *   tls_server_new(creds, true)   broker control channel: client certificate
 *                                 required and chained to creds' CA.
 *   tls_server_new(creds, false)  broker listener serving enrollment AND control
 *                                 on one port: requests a client certificate but
 *                                 tolerates its absence
 *                                 (BR_OPT_TOLERATE_NO_CLIENT_AUTH); a presented
 *                                 certificate must still chain to creds' CA
 *                                 (else TLS_CLOSED with its X.509 error, e.g.
 *                                 TLS_ERR_X509_EXPIRED: never downgraded to
 *                                 anonymous).
 *                                 tls_peer_name()/tls_peer_pub() return -1 when
 *                                 the client sent none (then only ENROLL_REQ is
 *                                 acceptable on that connection).
 *   tls_client_new(creds, name)   node control channel: presents its
 *                                 certificate, trusts only creds' CA, checks
 *                                 the broker's SAN dNSName == name.
 *   tls_client_new_pinned(fpr, name)  enrollment: no client certificate; the
 *                                 server chain must contain a CA certificate
 *                                 whose SHA-256 equals fpr, and the leaf must
 *                                 chain to it (the token's pin).
 *
 * Buffers: each connection owns one allocation (engine context, X.509
 * context, record buffer); memory per connection is reported by
 * tls_conn_size(). Clients advertise max_fragment_length so the broker can
 * keep small record buffers: every mavpn end uses 4 KiB records (4421-byte
 * input + 4181-byte output buffer), ~16 KB per connection in all. A peer
 * sending records above 4096 bytes of plaintext fails with TOO_LARGE.
 *
 * Pump (non-blocking, repeat until no progress):
 *   st = tls_state(c)
 *   if (st & TLS_CLOSED)    done: tls_error(c) == 0 means clean close
 *   if (st & TLS_WANT_SEND) buf = tls_send_buf(c,&n); k = send(buf,n); tls_send_ack(c,k)
 *   if (st & TLS_WANT_RECV) buf = tls_recv_buf(c,&n); k = recv(buf,n); tls_recv_ack(c,k)
 *                           (k == 0, EOF: tls_eof(c))
 *   app data: tls_read() / tls_write() whenever TLS_READY
 * Poll for readability iff TLS_WANT_RECV, writability iff TLS_WANT_SEND.
 */
#ifndef MAVPN_CRYPTO_TLS_H
#define MAVPN_CRYPTO_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crypto/pki.h"

/* Our certificate + private key + the CA we trust; immutable once built,
 * shared by every connection made from it. */
struct tls_creds;

/* cert_der may be NULL (server-only client for enrollment is built with
 * tls_client_new_pinned instead). Copies everything; key is copied and the
 * copy wiped by tls_creds_free(). NULL on bad input (message in err):
 * unparsable certificate, CA not a CA, key not matching cert_der. Whether
 * cert_der chains to ca_der is left to the peer's handshake check.
 * Connections point into their creds: free creds only after every
 * connection made from them. */
struct tls_creds *tls_creds_new(const uint8_t *cert_der, size_t cert_len,
				const uint8_t *ca_der, size_t ca_len,
				const struct pki_key *key, char *err, size_t errlen);
void tls_creds_free(struct tls_creds *c);

struct tls_conn;

struct tls_conn *tls_server_new(const struct tls_creds *creds, bool require_client_cert);
struct tls_conn *tls_client_new(const struct tls_creds *creds, const char *server_name);
struct tls_conn *tls_client_new_pinned(const uint8_t ca_fpr[static PKI_FPR_LEN],
				       const char *server_name);
void tls_free(struct tls_conn *c);	/* wipes and frees; NULL is fine */

enum {
	TLS_WANT_RECV = 1u << 0,
	TLS_WANT_SEND = 1u << 1,
	TLS_READY = 1u << 2,	/* handshake done: app data may flow */
	TLS_CLOSED = 1u << 3,
};
unsigned tls_state(struct tls_conn *c);

uint8_t *tls_recv_buf(struct tls_conn *c, size_t *len);
void tls_recv_ack(struct tls_conn *c, size_t n);
const uint8_t *tls_send_buf(struct tls_conn *c, size_t *len);
void tls_send_ack(struct tls_conn *c, size_t n);
/* The transport hit EOF or an error: marks the connection closed with
 * BR_ERR_IO unless it was already closed cleanly. */
void tls_eof(struct tls_conn *c);

/* Application data. tls_read copies up to cap bytes, returns count (0 when
 * none is buffered). tls_write takes as much as fits now and flushes it into
 * records, returns count (0 when the engine cannot take any now). */
size_t tls_read(struct tls_conn *c, void *out, size_t cap);
size_t tls_write(struct tls_conn *c, const void *data, size_t n);

/* Send close_notify; keep pumping until TLS_CLOSED. */
void tls_close(struct tls_conn *c);

/* BearSSL error code (0 = none / clean close) and its text
 * ("client certificate not trusted (X509_NOT_TRUSTED)", ...). */
int tls_error(const struct tls_conn *c);
/* The tls_error() values callers branch on (BearSSL's numbers, so code
 * outside src/crypto needs no bearssl.h; tls.c asserts they match). */
#define TLS_ERR_NO_CLIENT_AUTH 29	/* server: client sent no certificate */
#define TLS_ERR_IO 31			/* transport EOF/error before close_notify */
#define TLS_ERR_X509_EXPIRED 54
#define TLS_ERR_X509_BAD_SERVER_NAME 56
#define TLS_ERR_X509_NOT_TRUSTED 62	/* not our CA / pin mismatch */
const char *tls_strerror(int err);

/* After the handshake: the peer certificate's subject CN (server side, client
 * cert) and its public key. -1 when unavailable. */
int tls_peer_name(struct tls_conn *c, char out[static PKI_NAME_MAX + 1]);
int tls_peer_pub(struct tls_conn *c, uint8_t out[static PKI_PUB_LEN]);

/* Bytes of memory held by one server or plain client connection (for the
 * broker's accounting); a pinned client holds ~12 KB more. */
size_t tls_conn_size(void);

#endif
