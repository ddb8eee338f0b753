// SPDX-License-Identifier: GPL-2.0-only
/*
 * tls.c - TLS 1.2 over byte buffers with BearSSL's engine (contract: tls.h).
 *
 * Record buffers: BearSSL sizes a client's advertised max_fragment_length
 * from its buffers (largest 2^n, 9 <= n <= 12, with in >= 2^n + 325 and
 * out >= 2^n + 85), and every engine cuts its outgoing records to fit its
 * own output buffer. Both our ends use TLS_LOG_FRAG = 12: records carry at
 * most 4096 bytes of plaintext, so a 4421-byte input buffer always
 * suffices. The broker therefore holds ~8.6 KB of record buffers per
 * connection instead of BR_SSL_BUFSIZE_BIDI (33178 B). A foreign client
 * that neither advertises nor honours max_fragment_length and sends a
 * record above 4096 bytes fails with BR_ERR_TOO_LARGE; only mavpn nodes
 * talk to the broker.
 */
#include "crypto/tls.h"

#include <bearssl.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/ct.h"
#include "crypto/der.h"
#include "crypto/rand.h"

#define TLS_LOG_FRAG 12
#define TLS_IBUF ((1u << TLS_LOG_FRAG) + 325)
#define TLS_OBUF ((1u << TLS_LOG_FRAG) + 85)

#define PIN_CERTS_MAX 4
#define PIN_CHAIN_MAX (PIN_CERTS_MAX * PKI_CERT_MAX)

_Static_assert(TLS_ERR_NO_CLIENT_AUTH == BR_ERR_NO_CLIENT_AUTH, "tls.h error codes");
_Static_assert(TLS_ERR_IO == BR_ERR_IO, "tls.h error codes");
_Static_assert(TLS_ERR_X509_EXPIRED == BR_ERR_X509_EXPIRED, "tls.h error codes");
_Static_assert(TLS_ERR_X509_BAD_SERVER_NAME == BR_ERR_X509_BAD_SERVER_NAME, "tls.h error codes");
_Static_assert(TLS_ERR_X509_NOT_TRUSTED == BR_ERR_X509_NOT_TRUSTED, "tls.h error codes");

static const uint16_t suites[] = {
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
};

/* ---- credentials --------------------------------------------------------- */

struct tls_creds {
	bool has_cert;
	br_x509_certificate chain[2];	/* our certificate, then the CA's */
	size_t chain_len;
	uint8_t cert[PKI_CERT_MAX];
	uint8_t ca[PKI_CERT_MAX];
	struct der_ta ta;		/* the CA as trust anchor */
	uint8_t priv[PKI_PRIV_LEN];
	br_ec_private_key sk;
};

struct tls_creds *tls_creds_new(const uint8_t *cert_der, size_t cert_len, const uint8_t *ca_der,
				size_t ca_len, const struct pki_key *key, char *err, size_t errlen)
{
	struct tls_creds *c = NULL;
	struct pki_cert_info ci, ca;

	if (!ca_der || ca_len == 0 || ca_len > PKI_CERT_MAX || pki_cert_parse(&ca, ca_der, ca_len)) {
		snprintf(err, errlen, "CA certificate (%zu bytes) does not parse", ca_len);
		return NULL;
	}
	if (!ca.is_ca) {
		snprintf(err, errlen, "certificate \"%s\" is not a CA", ca.name);
		return NULL;
	}
	if (cert_der) {
		if (cert_len == 0 || cert_len > PKI_CERT_MAX ||
		    pki_cert_parse(&ci, cert_der, cert_len)) {
			snprintf(err, errlen, "certificate (%zu bytes) does not parse", cert_len);
			return NULL;
		}
		if (!key || memcmp(ci.pub, key->pub, PKI_PUB_LEN) != 0) {
			snprintf(err, errlen, "private key does not match certificate \"%s\"",
				 ci.name);
			return NULL;
		}
		/* Not checked here: that cert_der chains to ca_der. The peer
		 * checks it (and a broker re-keyed under a new CA must be
		 * told so by the handshake error, not by a refusal to try). */
	}
	c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(c->ca, ca_der, ca_len);
	if (der_ta_from_cert(&c->ta, c->ca, ca_len) < 0) {
		snprintf(err, errlen, "CA \"%s\" unusable as trust anchor", ca.name);
		free(c);
		return NULL;
	}
	if (cert_der) {
		c->has_cert = true;
		memcpy(c->cert, cert_der, cert_len);
		c->chain[0].data = c->cert;
		c->chain[0].data_len = cert_len;
		c->chain[1].data = c->ca;
		c->chain[1].data_len = ca_len;
		c->chain_len = 2;
		memcpy(c->priv, key->priv, PKI_PRIV_LEN);
		c->sk.curve = BR_EC_secp256r1;
		c->sk.x = c->priv;
		c->sk.xlen = PKI_PRIV_LEN;
	}
	return c;
}

void tls_creds_free(struct tls_creds *c)
{
	if (!c)
		return;
	ct_wipe(c, sizeof *c);
	free(c);
}

/* ---- pinned validator (enrollment) --------------------------------------- */

/*
 * Records the server's chain; at end_chain it looks for the certificate
 * whose SHA-256 is the pin, makes it the only trust anchor and replays the
 * chain through a br_x509_minimal (signature, validity, server name).
 */
struct pin_x509 {
	const br_x509_class *vtable;
	br_x509_minimal_context xc;
	br_name_element *cn;		/* the conn's CN receiver */
	struct der_ta ta;
	uint8_t fpr[PKI_FPR_LEN];
	const char *server_name;
	unsigned err;
	size_t n, used, expect;
	size_t off[PIN_CERTS_MAX], len[PIN_CERTS_MAX];
	uint8_t chain[PIN_CHAIN_MAX];
};

static struct pin_x509 *pin_of(const br_x509_class **ctx)
{
	return (struct pin_x509 *)(void *)ctx;
}

static void pin_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct pin_x509 *p = pin_of(ctx);

	p->server_name = server_name;
	p->err = 0;
	p->n = p->used = p->expect = 0;
}

static void pin_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct pin_x509 *p = pin_of(ctx);

	if (p->err)
		return;
	if (p->n >= PIN_CERTS_MAX || length > PKI_CERT_MAX || length > PIN_CHAIN_MAX - p->used) {
		p->err = BR_ERR_X509_LIMIT_EXCEEDED;
		return;
	}
	p->off[p->n] = p->used;
	p->len[p->n] = 0;
	p->expect = length;
}

static void pin_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct pin_x509 *p = pin_of(ctx);

	if (p->err)
		return;
	if (len > p->expect - p->len[p->n]) {
		p->err = BR_ERR_X509_LIMIT_EXCEEDED;
		return;
	}
	memcpy(p->chain + p->used, buf, len);
	p->used += len;
	p->len[p->n] += len;
}

static void pin_end_cert(const br_x509_class **ctx)
{
	struct pin_x509 *p = pin_of(ctx);

	if (p->err)
		return;
	if (p->len[p->n] != p->expect) {
		p->err = BR_ERR_X509_TRUNCATED;
		return;
	}
	p->n++;
}

static unsigned pin_end_chain(const br_x509_class **ctx)
{
	struct pin_x509 *p = pin_of(ctx);
	uint8_t f[PKI_FPR_LEN];
	size_t hit = SIZE_MAX;

	if (p->err)
		return p->err;
	if (p->n == 0)
		return BR_ERR_X509_EMPTY_CHAIN;
	for (size_t i = 0; i < p->n; i++) {
		pki_fingerprint(f, p->chain + p->off[i], p->len[i]);
		if (ct_memeq(f, p->fpr, PKI_FPR_LEN) && hit == SIZE_MAX)
			hit = i;
	}
	if (hit == SIZE_MAX || der_ta_from_cert(&p->ta, p->chain + p->off[hit], p->len[hit]) < 0)
		return BR_ERR_X509_NOT_TRUSTED;
	br_x509_minimal_init_full(&p->xc, &p->ta.ta, 1);
	br_x509_minimal_set_name_elements(&p->xc, p->cn, 1);
	p->xc.vtable->start_chain(&p->xc.vtable, p->server_name);
	for (size_t i = 0; i < p->n; i++) {
		p->xc.vtable->start_cert(&p->xc.vtable, (uint32_t)p->len[i]);
		p->xc.vtable->append(&p->xc.vtable, p->chain + p->off[i], p->len[i]);
		p->xc.vtable->end_cert(&p->xc.vtable);
	}
	return p->xc.vtable->end_chain(&p->xc.vtable);
}

static const br_x509_pkey *pin_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	const struct pin_x509 *p = (const struct pin_x509 *)(const void *)ctx;

	return p->xc.vtable->get_pkey(&p->xc.vtable, usages);
}

static const br_x509_class pin_vtable = {
	.context_size = sizeof(struct pin_x509),
	.start_chain = pin_start_chain,
	.start_cert = pin_start_cert,
	.append = pin_append,
	.end_cert = pin_end_cert,
	.end_chain = pin_end_chain,
	.get_pkey = pin_get_pkey,
};

/* ---- server-side validator ------------------------------------------------ */

/*
 * br_x509_minimal behind a thin wrapper that remembers how many
 * certificates the client sent and what validation said. With
 * BR_OPT_TOLERATE_NO_CLIENT_AUTH the engine carries on after a failed
 * validation, and br_x509_minimal may still hand out the key and the CN it
 * decoded; the wrapper's get_pkey() and tls_peer_*() only trust result 0.
 */
struct auth_x509 {
	const br_x509_class *vtable;
	br_x509_minimal_context xc;
	unsigned certs;		/* certificates presented */
	int result;		/* end_chain(): -1 not reached, 0 valid, else BR_ERR_X509_* */
};

static struct auth_x509 *auth_of(const br_x509_class *const *ctx)
{
	return (struct auth_x509 *)(void *)ctx;
}

static void auth_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct auth_x509 *a = auth_of(ctx);

	a->certs = 0;
	a->result = -1;
	a->xc.vtable->start_chain(&a->xc.vtable, server_name);
}

static void auth_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct auth_x509 *a = auth_of(ctx);

	a->certs++;
	a->xc.vtable->start_cert(&a->xc.vtable, length);
}

static void auth_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct auth_x509 *a = auth_of(ctx);

	a->xc.vtable->append(&a->xc.vtable, buf, len);
}

static void auth_end_cert(const br_x509_class **ctx)
{
	struct auth_x509 *a = auth_of(ctx);

	a->xc.vtable->end_cert(&a->xc.vtable);
}

static unsigned auth_end_chain(const br_x509_class **ctx)
{
	struct auth_x509 *a = auth_of(ctx);
	unsigned r = a->xc.vtable->end_chain(&a->xc.vtable);

	a->result = (int)r;
	return r;
}

static const br_x509_pkey *auth_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	const struct auth_x509 *a = auth_of(ctx);

	if (a->result != 0)
		return NULL;
	return a->xc.vtable->get_pkey(&a->xc.vtable, usages);
}

static const br_x509_class auth_vtable = {
	.context_size = sizeof(struct auth_x509),
	.start_chain = auth_start_chain,
	.start_cert = auth_start_cert,
	.append = auth_append,
	.end_cert = auth_end_cert,
	.end_chain = auth_end_chain,
	.get_pkey = auth_get_pkey,
};

/* ---- connections ---------------------------------------------------------- */

struct tls_conn {
	union {
		br_ssl_server_context s;
		br_ssl_client_context c;
	} u;
	br_ssl_engine_context *eng;
	struct auth_x509 auth;		/* server: wrapper; client: auth.xc alone */
	const br_x509_class **validator;	/* &auth.vtable, &auth.xc.vtable or &pin->vtable */
	br_name_element cn;
	char cn_buf[PKI_NAME_MAX + 1];
	struct pin_x509 *pin;		/* pinned client only, same allocation */
	size_t size;
	bool done;			/* handshake finished once */
	bool dead;			/* closed by us: tls_eof(), refused client cert */
	int dead_err;			/* tls_error() once dead */
	uint8_t ibuf[TLS_IBUF];
	uint8_t obuf[TLS_OBUF];
};

#define PIN_OFFSET ((sizeof(struct tls_conn) + alignof(struct pin_x509) - 1) & \
		    ~(alignof(struct pin_x509) - 1))

size_t tls_conn_size(void)
{
	return sizeof(struct tls_conn);	/* a broker-side connection: no pin area */
}

static struct tls_conn *conn_alloc(bool pinned)
{
	size_t size = pinned ? PIN_OFFSET + sizeof(struct pin_x509) : sizeof(struct tls_conn);
	struct tls_conn *c = calloc(1, size);

	if (!c)
		return NULL;
	c->size = size;
	c->cn.oid = (const unsigned char *)"\x03\x55\x04\x03";
	c->cn.buf = c->cn_buf;
	c->cn.len = sizeof c->cn_buf;
	if (pinned)
		c->pin = (struct pin_x509 *)(void *)((uint8_t *)c + PIN_OFFSET);
	return c;
}

/* Common engine setup; then the role's reset. */
static int engine_setup(struct tls_conn *c)
{
	uint8_t seed[32];
	int rc = 0;

	br_ssl_engine_set_versions(c->eng, BR_TLS12, BR_TLS12);
	/* the peer identity read after the handshake must stay the identity */
	br_ssl_engine_add_flags(c->eng, BR_OPT_NO_RENEGOTIATION);
	br_ssl_engine_set_suites(c->eng, suites, sizeof suites / sizeof suites[0]);
	br_ssl_engine_set_buffers_bidi(c->eng, c->ibuf, sizeof c->ibuf, c->obuf, sizeof c->obuf);
	if (rand_bytes(seed, sizeof seed) < 0)
		rc = -1;
	else
		br_ssl_engine_inject_entropy(c->eng, seed, sizeof seed);
	ct_wipe(seed, sizeof seed);
	return rc;
}

struct tls_conn *tls_server_new(const struct tls_creds *creds, bool require_client_cert)
{
	struct tls_conn *c;

	if (!creds || !creds->has_cert)
		return NULL;
	c = conn_alloc(false);
	if (!c)
		return NULL;
	c->eng = &c->u.s.eng;
	br_ssl_server_init_full_ec(&c->u.s, creds->chain, creds->chain_len, BR_KEYTYPE_EC,
				   &creds->sk);
	/* A client certificate is always requested; without
	 * require_client_cert its absence is tolerated (enrollment), but a
	 * certificate that is presented must still validate (tls_state()). */
	c->auth.vtable = &auth_vtable;
	c->auth.result = -1;
	br_x509_minimal_init_full(&c->auth.xc, &creds->ta.ta, 1);
	br_x509_minimal_set_name_elements(&c->auth.xc, &c->cn, 1);
	br_ssl_engine_set_x509(c->eng, &c->auth.vtable);
	br_ssl_engine_set_default_ecdsa(c->eng);	/* client CertificateVerify */
	br_ssl_server_set_trust_anchor_names_alt(&c->u.s, &creds->ta.ta, 1);
	c->validator = &c->auth.vtable;
	if (engine_setup(c) < 0) {
		tls_free(c);
		return NULL;
	}
	if (!require_client_cert)
		br_ssl_engine_add_flags(c->eng, BR_OPT_TOLERATE_NO_CLIENT_AUTH);
	if (!br_ssl_server_reset(&c->u.s)) {
		tls_free(c);
		return NULL;
	}
	return c;
}

static struct tls_conn *client_finish(struct tls_conn *c, const char *server_name)
{
	if (engine_setup(c) < 0 || !br_ssl_client_reset(&c->u.c, server_name, 0)) {
		tls_free(c);
		return NULL;
	}
	return c;
}

struct tls_conn *tls_client_new(const struct tls_creds *creds, const char *server_name)
{
	struct tls_conn *c;

	if (!creds || !server_name || !*server_name)
		return NULL;
	c = conn_alloc(false);
	if (!c)
		return NULL;
	c->eng = &c->u.c.eng;
	br_ssl_client_init_full(&c->u.c, &c->auth.xc, &creds->ta.ta, 1);
	br_x509_minimal_set_name_elements(&c->auth.xc, &c->cn, 1);
	c->validator = &c->auth.xc.vtable;
	if (creds->has_cert)
		br_ssl_client_set_single_ec(&c->u.c, creds->chain, 1, &creds->sk, BR_KEYTYPE_SIGN,
					    BR_KEYTYPE_EC, br_ec_get_default(),
					    br_ecdsa_sign_asn1_get_default());
	return client_finish(c, server_name);
}

struct tls_conn *tls_client_new_pinned(const uint8_t ca_fpr[static PKI_FPR_LEN],
				       const char *server_name)
{
	struct tls_conn *c;

	if (!server_name || !*server_name)
		return NULL;
	c = conn_alloc(true);
	if (!c)
		return NULL;
	c->eng = &c->u.c.eng;
	br_ssl_client_init_full(&c->u.c, &c->pin->xc, NULL, 0);
	c->pin->vtable = &pin_vtable;
	c->pin->cn = &c->cn;
	memcpy(c->pin->fpr, ca_fpr, PKI_FPR_LEN);
	br_ssl_engine_set_x509(c->eng, &c->pin->vtable);
	c->validator = &c->pin->vtable;
	return client_finish(c, server_name);
}

void tls_free(struct tls_conn *c)
{
	if (!c)
		return;
	ct_wipe(c, c->size);	/* session keys live in the engine context */
	free(c);
}

unsigned tls_state(struct tls_conn *c)
{
	unsigned st, r = 0;

	if (c->dead)
		return TLS_CLOSED;
	st = br_ssl_engine_current_state(c->eng);
	if (st & BR_SSL_CLOSED)
		return TLS_CLOSED;
	if (st & BR_SSL_SENDREC)
		r |= TLS_WANT_SEND;
	if (st & BR_SSL_RECVREC)
		r |= TLS_WANT_RECV;
	if (!c->done && (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP))) {
		/* optional client auth: a certificate was shown and refused */
		if (c->validator == &c->auth.vtable && c->auth.certs > 0 &&
		    c->auth.result != 0) {
			c->dead = true;
			c->dead_err = c->auth.result > 0 ? c->auth.result : BR_ERR_X509_NOT_TRUSTED;
			return TLS_CLOSED;
		}
		c->done = true;
	}
	if (c->done)
		r |= TLS_READY;
	return r;
}

uint8_t *tls_recv_buf(struct tls_conn *c, size_t *len)
{
	*len = 0;
	if (c->dead)
		return NULL;
	return br_ssl_engine_recvrec_buf(c->eng, len);
}

void tls_recv_ack(struct tls_conn *c, size_t n)
{
	if (!c->dead && n)
		br_ssl_engine_recvrec_ack(c->eng, n);
}

const uint8_t *tls_send_buf(struct tls_conn *c, size_t *len)
{
	*len = 0;
	if (c->dead)
		return NULL;
	return br_ssl_engine_sendrec_buf(c->eng, len);
}

void tls_send_ack(struct tls_conn *c, size_t n)
{
	if (!c->dead && n)
		br_ssl_engine_sendrec_ack(c->eng, n);
}

void tls_eof(struct tls_conn *c)
{
	if (c->dead || (br_ssl_engine_current_state(c->eng) & BR_SSL_CLOSED))
		return;
	c->dead = true;
	c->dead_err = BR_ERR_IO;
}

size_t tls_read(struct tls_conn *c, void *out, size_t cap)
{
	uint8_t *buf;
	size_t len;

	if ((tls_state(c) & TLS_CLOSED) || !(br_ssl_engine_current_state(c->eng) & BR_SSL_RECVAPP))
		return 0;
	buf = br_ssl_engine_recvapp_buf(c->eng, &len);
	if (len > cap)
		len = cap;
	memcpy(out, buf, len);
	br_ssl_engine_recvapp_ack(c->eng, len);
	return len;
}

size_t tls_write(struct tls_conn *c, const void *data, size_t n)
{
	uint8_t *buf;
	size_t len;

	if (n == 0 || (tls_state(c) & TLS_CLOSED) ||
	    !(br_ssl_engine_current_state(c->eng) & BR_SSL_SENDAPP))
		return 0;
	buf = br_ssl_engine_sendapp_buf(c->eng, &len);
	if (len > n)
		len = n;
	memcpy(buf, data, len);
	br_ssl_engine_sendapp_ack(c->eng, len);
	br_ssl_engine_flush(c->eng, 0);
	return len;
}

void tls_close(struct tls_conn *c)
{
	if (!c->dead)
		br_ssl_engine_close(c->eng);
}

int tls_error(const struct tls_conn *c)
{
	if (c->dead)
		return c->dead_err;
	return br_ssl_engine_last_error(c->eng);
}

int tls_peer_name(struct tls_conn *c, char out[static PKI_NAME_MAX + 1])
{
	unsigned usages;

	/* the CN counts only when the chain validated (get_pkey says so) */
	if (!c->done || c->dead || !c->validator || c->cn.status <= 0 ||
	    !(*c->validator)->get_pkey(c->validator, &usages))
		return -1;
	memcpy(out, c->cn_buf, sizeof c->cn_buf);
	out[PKI_NAME_MAX] = 0;
	return 0;
}

int tls_peer_pub(struct tls_conn *c, uint8_t out[static PKI_PUB_LEN])
{
	const br_x509_pkey *pk;
	unsigned usages;

	if (!c->done || c->dead || !c->validator)
		return -1;
	pk = (*c->validator)->get_pkey(c->validator, &usages);
	if (!pk || pk->key_type != BR_KEYTYPE_EC || pk->key.ec.curve != BR_EC_secp256r1 ||
	    pk->key.ec.qlen != PKI_PUB_LEN)
		return -1;
	memcpy(out, pk->key.ec.q, PKI_PUB_LEN);
	return 0;
}

/* ---- error text ------------------------------------------------------------ */

struct err_text {
	int code;
	const char *text;
};

#define E(sym, text) { BR_ERR_##sym, text " (" #sym ")" }
static const struct err_text errs[] = {
	E(OK, "no error"),
	E(BAD_PARAM, "bad parameter"),
	E(BAD_STATE, "bad engine state"),
	E(UNSUPPORTED_VERSION, "peer does not support TLS 1.2"),
	E(BAD_VERSION, "bad protocol version in record"),
	E(BAD_LENGTH, "bad record length"),
	E(TOO_LARGE, "record too large for the buffer"),
	E(BAD_MAC, "record authentication failed"),
	E(NO_RANDOM, "no entropy"),
	E(UNKNOWN_TYPE, "unknown record type"),
	E(UNEXPECTED, "unexpected message"),
	E(BAD_CCS, "bad ChangeCipherSpec"),
	E(BAD_ALERT, "bad alert"),
	E(BAD_HANDSHAKE, "malformed handshake message"),
	E(OVERSIZED_ID, "oversized session id"),
	E(BAD_CIPHER_SUITE, "no common cipher suite"),
	E(BAD_COMPRESSION, "bad compression"),
	E(BAD_FRAGLEN, "bad max fragment length"),
	E(BAD_SECRENEG, "bad secure renegotiation"),
	E(EXTRA_EXTENSION, "unexpected extension"),
	E(BAD_SNI, "bad server name indication"),
	E(BAD_HELLO_DONE, "bad ServerHelloDone"),
	E(LIMIT_EXCEEDED, "limit exceeded"),
	E(BAD_FINISHED, "bad Finished (keys differ)"),
	E(RESUME_MISMATCH, "session resumption mismatch"),
	E(INVALID_ALGORITHM, "invalid algorithm"),
	E(BAD_SIGNATURE, "bad handshake signature"),
	E(WRONG_KEY_USAGE, "peer key usage does not allow this"),
	E(NO_CLIENT_AUTH, "client sent no (usable) certificate"),
	E(IO, "connection closed or I/O error before TLS close"),
	E(X509_INVALID_VALUE, "certificate: invalid value"),
	E(X509_TRUNCATED, "certificate: truncated"),
	E(X509_EMPTY_CHAIN, "certificate: empty chain"),
	E(X509_INNER_TRUNC, "certificate: inner element truncated"),
	E(X509_BAD_TAG_CLASS, "certificate: bad tag class"),
	E(X509_BAD_TAG_VALUE, "certificate: bad tag value"),
	E(X509_INDEFINITE_LENGTH, "certificate: indefinite length"),
	E(X509_EXTRA_ELEMENT, "certificate: extra element"),
	E(X509_UNEXPECTED, "certificate: unexpected element"),
	E(X509_NOT_CONSTRUCTED, "certificate: element not constructed"),
	E(X509_NOT_PRIMITIVE, "certificate: element not primitive"),
	E(X509_PARTIAL_BYTE, "certificate: partial byte in bit string"),
	E(X509_BAD_BOOLEAN, "certificate: bad boolean"),
	E(X509_OVERFLOW, "certificate: value overflow"),
	E(X509_BAD_DN, "certificate: bad distinguished name"),
	E(X509_BAD_TIME, "certificate: bad time"),
	E(X509_UNSUPPORTED, "certificate: unsupported feature"),
	E(X509_LIMIT_EXCEEDED, "certificate: size limit exceeded"),
	E(X509_WRONG_KEY_TYPE, "certificate: wrong key type"),
	E(X509_BAD_SIGNATURE, "certificate: bad signature"),
	E(X509_TIME_UNKNOWN, "certificate: current time unknown"),
	E(X509_EXPIRED, "certificate expired or not yet valid"),
	E(X509_DN_MISMATCH, "certificate: issuer/subject mismatch"),
	E(X509_BAD_SERVER_NAME, "server certificate does not match the server name"),
	E(X509_CRITICAL_EXTENSION, "certificate: unknown critical extension"),
	E(X509_NOT_CA, "certificate: issuer is not a CA"),
	E(X509_FORBIDDEN_KEY_USAGE, "certificate: key usage forbids this"),
	E(X509_WEAK_PUBLIC_KEY, "certificate: weak public key"),
	E(X509_NOT_TRUSTED, "certificate not trusted (not issued by our CA / pin mismatch)"),
};
#undef E

static const char *alert_name(int a)
{
	switch (a) {
	case 0: return "close_notify";
	case 10: return "unexpected_message";
	case 20: return "bad_record_mac";
	case 22: return "record_overflow";
	case 40: return "handshake_failure";
	case 42: return "bad_certificate";
	case 43: return "unsupported_certificate";
	case 44: return "certificate_revoked";
	case 45: return "certificate_expired";
	case 46: return "certificate_unknown";
	case 47: return "illegal_parameter";
	case 48: return "unknown_ca";
	case 50: return "decode_error";
	case 51: return "decrypt_error";
	case 70: return "protocol_version";
	case 71: return "insufficient_security";
	case 80: return "internal_error";
	case 110: return "unsupported_extension";
	case 112: return "unrecognized_name";
	default: return "alert";
	}
}

const char *tls_strerror(int err)
{
	static char buf[96];

	for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++)
		if (errs[i].code == err)
			return errs[i].text;
	if (err >= BR_ERR_RECV_FATAL_ALERT && err < BR_ERR_RECV_FATAL_ALERT + 256) {
		snprintf(buf, sizeof buf, "peer sent fatal alert %d %s (RECV_FATAL_ALERT)",
			 err - BR_ERR_RECV_FATAL_ALERT, alert_name(err - BR_ERR_RECV_FATAL_ALERT));
		return buf;
	}
	if (err >= BR_ERR_SEND_FATAL_ALERT && err < BR_ERR_SEND_FATAL_ALERT + 256) {
		snprintf(buf, sizeof buf, "sent fatal alert %d %s (SEND_FATAL_ALERT)",
			 err - BR_ERR_SEND_FATAL_ALERT, alert_name(err - BR_ERR_SEND_FATAL_ALERT));
		return buf;
	}
	snprintf(buf, sizeof buf, "unknown TLS error %d", err);
	return buf;
}
