// SPDX-License-Identifier: GPL-2.0-only
/*
 * pki.c - P-256 identity keys and the X.509 v3 certificates of the broker CA.
 * Contract in pki.h; DER helpers in der.h; field list in deps.md 2(c).
 */
#include "crypto/pki.h"

#include <bearssl.h>
#include <stdio.h>
#include <string.h>

#include "crypto/ct.h"
#include "crypto/der.h"
#include "crypto/rand.h"

/* OID bodies (without tag and length). */
static const uint8_t OID_ECDSA_SHA256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
static const uint8_t OID_EC_PUBKEY[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const uint8_t OID_P256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t OID_CN[] = { 0x55, 0x04, 0x03 };
static const uint8_t OID_BASIC_CONSTRAINTS[] = { 0x55, 0x1d, 0x13 };
static const uint8_t OID_KEY_USAGE[] = { 0x55, 0x1d, 0x0f };
static const uint8_t OID_EXT_KEY_USAGE[] = { 0x55, 0x1d, 0x25 };
static const uint8_t OID_SAN[] = { 0x55, 0x1d, 0x11 };
static const uint8_t OID_SKI[] = { 0x55, 0x1d, 0x0e };
static const uint8_t OID_AKI[] = { 0x55, 0x1d, 0x23 };
static const uint8_t OID_SERVER_AUTH[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01 };
static const uint8_t OID_CLIENT_AUTH[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02 };

#define SKI_LEN 20	/* SHA-1 of the subject public key point */
#define DAYS_0AD_TO_1970 719528u

bool pki_name_valid(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strlen(name);
	if (n < 1 || n > PKI_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '.' && c != '-')))
			return false;
	}
	return true;
}

/* ---- keys ---------------------------------------------------------------- */

static bool point_valid(const uint8_t pub[PKI_PUB_LEN])
{
	const br_ec_impl *ec = br_ec_get_default();
	uint8_t tmp[PKI_PUB_LEN];
	static const uint8_t one[1] = { 1 };
	bool ok;

	if (pub[0] != 0x04)
		return false;
	memcpy(tmp, pub, sizeof tmp);
	ok = ec->mul(tmp, sizeof tmp, one, sizeof one, BR_EC_secp256r1) == 1;
	return ok;
}

static int pub_from_priv(struct pki_key *k)
{
	br_ec_private_key sk = { .curve = BR_EC_secp256r1, .x = k->priv, .xlen = PKI_PRIV_LEN };
	br_ec_public_key pk;
	uint8_t kbuf[BR_EC_KBUF_PUB_MAX_SIZE];
	size_t n = br_ec_compute_pub(br_ec_get_default(), &pk, kbuf, &sk);

	if (n != PKI_PUB_LEN)
		return -1;
	memcpy(k->pub, pk.q, PKI_PUB_LEN);
	return 0;
}

int pki_key_generate(struct pki_key *k)
{
	br_hmac_drbg_context drbg;
	uint8_t seed[48], kbuf[BR_EC_KBUF_PRIV_MAX_SIZE];
	br_ec_private_key sk;
	int rc = -1;

	memset(k, 0, sizeof *k);
	if (rand_bytes(seed, sizeof seed) < 0)
		goto out;
	br_hmac_drbg_init(&drbg, &br_sha256_vtable, seed, sizeof seed);
	if (br_ec_keygen(&drbg.vtable, br_ec_get_default(), &sk, kbuf, BR_EC_secp256r1) !=
	    PKI_PRIV_LEN)
		goto out;
	memcpy(k->priv, sk.x, PKI_PRIV_LEN);
	if (pub_from_priv(k) < 0)
		goto out;
	rc = 0;
out:
	ct_wipe(&drbg, sizeof drbg);
	ct_wipe(seed, sizeof seed);
	ct_wipe(kbuf, sizeof kbuf);
	ct_wipe(&sk, sizeof sk);
	if (rc < 0)
		ct_wipe(k, sizeof *k);
	return rc;
}

void pki_key_clear(struct pki_key *k)
{
	ct_wipe(k, sizeof *k);
}

ssize_t pki_key_to_pem(const struct pki_key *k, char *out, size_t cap)
{
	br_ec_private_key sk = { .curve = BR_EC_secp256r1, .x = (uint8_t *)k->priv,
				 .xlen = PKI_PRIV_LEN };
	br_ec_public_key pk = { .curve = BR_EC_secp256r1, .q = (uint8_t *)k->pub,
				.qlen = PKI_PUB_LEN };
	uint8_t der[256];
	size_t n, plen;
	ssize_t rc = -1;

	n = br_encode_ec_pkcs8_der(NULL, &sk, &pk);
	if (n == 0 || n > sizeof der)
		goto out;
	br_encode_ec_pkcs8_der(der, &sk, &pk);
	plen = br_pem_encode(NULL, der, n, "PRIVATE KEY", BR_PEM_LINE64);
	if (plen + 1 > cap)
		goto out;
	br_pem_encode(out, der, n, "PRIVATE KEY", BR_PEM_LINE64);
	rc = (ssize_t)plen;
out:
	ct_wipe(der, sizeof der);
	return rc;
}

/* PEM decoding: collect the DER of the first object whose banner is one of
 * names[]. Bounded by cap; overflow is an error. */
struct sink {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
};

static void sink_append(void *ctx, const void *data, size_t len)
{
	struct sink *s = ctx;

	if (s->overflow || len > s->cap - s->len) {
		s->overflow = true;
		return;
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;
}

/* Returns the DER length, 0 when no such object, -1 on a PEM error or
 * overflow. The decoder context (which may hold decoded bytes) is wiped. */
static ssize_t pem_find(const char *pem, size_t len, const char *const *names,
			uint8_t *out, size_t cap)
{
	br_pem_decoder_context pc;
	struct sink s = { .buf = out, .cap = cap };
	const char *p = pem;
	size_t rem = len;
	bool tail = false, inside = false;
	ssize_t rc = 0;

	br_pem_decoder_init(&pc);
	for (;;) {
		if (rem == 0) {
			if (tail)
				break;
			p = "\n";	/* terminate a last line without newline */
			rem = 1;
			tail = true;
		}
		size_t n = br_pem_decoder_push(&pc, p, rem);

		p += n;
		rem -= n;
		switch (br_pem_decoder_event(&pc)) {
		case BR_PEM_BEGIN_OBJ: {
			const char *name = br_pem_decoder_name(&pc);

			inside = false;
			for (size_t i = 0; names[i]; i++)
				if (strcmp(name, names[i]) == 0)
					inside = true;
			br_pem_decoder_setdest(&pc, inside ? sink_append : NULL, &s);
			break;
		}
		case BR_PEM_END_OBJ:
			if (inside) {
				rc = s.overflow ? -1 : (ssize_t)s.len;
				goto out;
			}
			break;
		case BR_PEM_ERROR:
			rc = -1;
			goto out;
		default:
			break;
		}
	}
out:
	ct_wipe(&pc, sizeof pc);
	if (rc <= 0)
		ct_wipe(out, cap);
	return rc;
}

int pki_key_from_pem(struct pki_key *k, const char *pem, size_t len, char *err, size_t errlen)
{
	static const char *const names[] = { "PRIVATE KEY", "EC PRIVATE KEY", NULL };
	br_skey_decoder_context dc;
	const br_ec_private_key *ek;
	uint8_t der[512];
	ssize_t n;
	int rc = -1, e;

	memset(k, 0, sizeof *k);
	br_skey_decoder_init(&dc);
	n = pem_find(pem, len, names, der, sizeof der);
	if (n < 0) {
		snprintf(err, errlen, "malformed PEM or key too large");
		goto out;
	}
	if (n == 0) {
		snprintf(err, errlen, "no PRIVATE KEY or EC PRIVATE KEY block");
		goto out;
	}
	br_skey_decoder_push(&dc, der, (size_t)n);
	e = br_skey_decoder_last_error(&dc);
	if (e != 0) {
		snprintf(err, errlen, "cannot decode private key (BearSSL error %d)", e);
		goto out;
	}
	if (br_skey_decoder_key_type(&dc) != BR_KEYTYPE_EC) {
		snprintf(err, errlen, "not an EC key (key type %d)", br_skey_decoder_key_type(&dc));
		goto out;
	}
	ek = br_skey_decoder_get_ec(&dc);
	if (ek->curve != BR_EC_secp256r1) {
		snprintf(err, errlen, "EC key on curve %d, need P-256 (%d)", ek->curve,
			 BR_EC_secp256r1);
		goto out;
	}
	if (ek->xlen == 0 || ek->xlen > PKI_PRIV_LEN) {
		snprintf(err, errlen, "private scalar has %zu bytes", ek->xlen);
		goto out;
	}
	memcpy(k->priv + PKI_PRIV_LEN - ek->xlen, ek->x, ek->xlen);
	if (pub_from_priv(k) < 0) {
		snprintf(err, errlen, "private scalar out of range");
		goto out;
	}
	rc = 0;
out:
	ct_wipe(&dc, sizeof dc);
	ct_wipe(der, sizeof der);
	if (rc < 0)
		ct_wipe(k, sizeof *k);
	return rc;
}

/* ---- reading certificates ------------------------------------------------ */

/* Raw pieces of a certificate, all pointing into the caller's DER. */
struct cert_view {
	struct der_r tbs;		/* whole TBS TLV */
	struct der_r subject;		/* whole Name TLV */
	uint8_t nb_tag, na_tag;
	struct der_r not_before, not_after;
	struct der_r point;		/* 65-byte EC point */
	struct der_r cn;		/* CN value */
	bool has_ski;
	struct der_r ski;
	bool has_vip4, has_vip6;
	const uint8_t *vip4, *vip6;
};

/* The TLV (header included) that der_next just consumed. */
static struct der_r whole(const struct der_r *before, const struct der_r *after)
{
	struct der_r t = { before->p, before->len - after->len };

	return t;
}

static int walk_name(const struct der_r *name, struct der_r *cn)
{
	struct der_r r = *name, set, atv, oid, val;
	uint8_t tag;

	cn->p = NULL;
	cn->len = 0;
	while (r.len) {
		if (der_expect(&r, DER_SET, &set) < 0)
			return -1;
		while (set.len) {
			if (der_expect(&set, DER_SEQUENCE, &atv) < 0 ||
			    der_expect(&atv, DER_OID, &oid) < 0 || der_next(&atv, &tag, &val) < 0)
				return -1;
			if (der_oid_eq(&oid, OID_CN, sizeof OID_CN) && !cn->p) {
				if (tag != DER_UTF8STRING && tag != DER_PRINTABLESTRING &&
				    tag != DER_IA5STRING)
					return -1;
				*cn = val;
			}
		}
	}
	return cn->p ? 0 : -1;
}

static int walk_san(struct der_r v, struct cert_view *cv)
{
	struct der_r seq, gn;
	uint8_t tag;

	if (der_expect(&v, DER_SEQUENCE, &seq) < 0 || v.len)
		return -1;
	while (seq.len) {
		if (der_next(&seq, &tag, &gn) < 0)
			return -1;
		if (tag != DER_CTX(7))
			continue;
		if (gn.len == 4 && !cv->has_vip4) {
			cv->has_vip4 = true;
			cv->vip4 = gn.p;
		} else if (gn.len == 16 && !cv->has_vip6) {
			cv->has_vip6 = true;
			cv->vip6 = gn.p;
		} else if (gn.len != 4 && gn.len != 16) {
			return -1;
		}
	}
	return 0;
}

static int walk_exts(struct der_r exts, struct cert_view *cv)
{
	struct der_r seq, ext, oid, val, b;

	if (der_expect(&exts, DER_SEQUENCE, &seq) < 0 || exts.len)
		return -1;
	while (seq.len) {
		if (der_expect(&seq, DER_SEQUENCE, &ext) < 0 || der_expect(&ext, DER_OID, &oid) < 0)
			return -1;
		(void)der_optional(&ext, DER_BOOLEAN, &b);	/* optional critical flag */
		if (der_expect(&ext, DER_OCTETSTRING, &val) < 0 || ext.len)
			return -1;
		if (der_oid_eq(&oid, OID_SAN, sizeof OID_SAN)) {
			if (walk_san(val, cv) < 0)
				return -1;
		} else if (der_oid_eq(&oid, OID_SKI, sizeof OID_SKI)) {
			if (der_expect(&val, DER_OCTETSTRING, &cv->ski) < 0 || val.len)
				return -1;
			cv->has_ski = true;
		}
	}
	return 0;
}

static int walk_spki(struct der_r spki, struct der_r *point)
{
	struct der_r alg, oid, curve, bits;

	if (der_expect(&spki, DER_SEQUENCE, &alg) < 0 || der_expect(&alg, DER_OID, &oid) < 0 ||
	    !der_oid_eq(&oid, OID_EC_PUBKEY, sizeof OID_EC_PUBKEY) ||
	    der_expect(&alg, DER_OID, &curve) < 0 ||
	    !der_oid_eq(&curve, OID_P256, sizeof OID_P256) || alg.len ||
	    der_expect(&spki, DER_BITSTRING, &bits) < 0 || spki.len)
		return -1;
	if (bits.len != 1 + PKI_PUB_LEN || bits.p[0] != 0 || bits.p[1] != 0x04)
		return -1;
	point->p = bits.p + 1;
	point->len = PKI_PUB_LEN;
	return 0;
}

static int cert_walk(const uint8_t *der, size_t len, struct cert_view *cv)
{
	struct der_r all = { der, len }, cert, tbs, v, tmp, before;
	uint8_t tag;

	memset(cv, 0, sizeof *cv);
	if (len > PKI_CERT_MAX || der_expect(&all, DER_SEQUENCE, &cert) < 0 || all.len)
		return -1;
	before = cert;
	if (der_expect(&cert, DER_SEQUENCE, &tbs) < 0)
		return -1;
	cv->tbs = whole(&before, &cert);
	(void)der_optional(&tbs, DER_CTXC(0), &tmp);	/* version */
	if (der_expect(&tbs, DER_INTEGER, &tmp) < 0 ||		/* serial */
	    der_expect(&tbs, DER_SEQUENCE, &tmp) < 0 ||		/* signature alg */
	    der_expect(&tbs, DER_SEQUENCE, &tmp) < 0)		/* issuer */
		return -1;
	if (der_expect(&tbs, DER_SEQUENCE, &v) < 0 ||		/* validity */
	    der_next(&v, &cv->nb_tag, &cv->not_before) < 0 ||
	    der_next(&v, &cv->na_tag, &cv->not_after) < 0 || v.len)
		return -1;
	before = tbs;
	if (der_expect(&tbs, DER_SEQUENCE, &tmp) < 0)		/* subject */
		return -1;
	cv->subject = whole(&before, &tbs);
	if (walk_name(&tmp, &cv->cn) < 0)
		return -1;
	if (der_expect(&tbs, DER_SEQUENCE, &tmp) < 0 || walk_spki(tmp, &cv->point) < 0)
		return -1;
	while (tbs.len) {	/* [1], [2] unique ids, [3] extensions */
		if (der_next(&tbs, &tag, &tmp) < 0)
			return -1;
		if (tag == DER_CTXC(3) && walk_exts(tmp, cv) < 0)
			return -1;
	}
	return 0;
}

struct dn_buf {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
};

static void dn_append(void *ctx, const void *data, size_t len)
{
	struct dn_buf *d = ctx;

	if (d->overflow || len > d->cap - d->len) {
		d->overflow = true;
		return;
	}
	memcpy(d->buf + d->len, data, len);
	d->len += len;
}

int pki_cert_parse(struct pki_cert_info *info, const uint8_t *der, size_t len)
{
	br_x509_decoder_context dc;
	const br_x509_pkey *pk;
	struct cert_view cv;

	memset(info, 0, sizeof *info);
	if (!der || cert_walk(der, len, &cv) < 0)
		return -1;
	br_x509_decoder_init(&dc, NULL, NULL);
	br_x509_decoder_push(&dc, der, len);
	if (br_x509_decoder_last_error(&dc) != 0)
		return -1;
	pk = br_x509_decoder_get_pkey(&dc);
	if (!pk || pk->key_type != BR_KEYTYPE_EC || pk->key.ec.curve != BR_EC_secp256r1 ||
	    pk->key.ec.qlen != PKI_PUB_LEN || memcmp(pk->key.ec.q, cv.point.p, PKI_PUB_LEN))
		return -1;
	if (cv.cn.len == 0 || cv.cn.len > PKI_NAME_MAX)
		return -1;
	for (size_t i = 0; i < cv.cn.len; i++)
		if (cv.cn.p[i] < 0x20 || cv.cn.p[i] > 0x7e)
			return -1;
	memcpy(info->name, cv.cn.p, cv.cn.len);
	info->name[cv.cn.len] = 0;
	memcpy(info->pub, cv.point.p, PKI_PUB_LEN);
	info->is_ca = br_x509_decoder_isCA(&dc);
	if (der_parse_time(cv.nb_tag, &cv.not_before, &info->not_before) < 0 ||
	    der_parse_time(cv.na_tag, &cv.not_after, &info->not_after) < 0)
		return -1;
	info->has_vip4 = cv.has_vip4;
	if (cv.has_vip4)
		memcpy(info->vip4, cv.vip4, 4);
	info->has_vip6 = cv.has_vip6;
	if (cv.has_vip6)
		memcpy(info->vip6, cv.vip6, 16);
	return 0;
}

int der_ta_from_cert(struct der_ta *t, const uint8_t *der, size_t len)
{
	br_x509_decoder_context dc;
	struct dn_buf dn = { .buf = t->dn, .cap = sizeof t->dn };
	const br_x509_pkey *pk;

	memset(t, 0, sizeof *t);
	dn.buf = t->dn;
	if (!der || len > PKI_CERT_MAX)
		return -1;
	br_x509_decoder_init(&dc, dn_append, &dn);
	br_x509_decoder_push(&dc, der, len);
	if (br_x509_decoder_last_error(&dc) != 0 || dn.overflow)
		return -1;
	pk = br_x509_decoder_get_pkey(&dc);
	if (!pk || pk->key_type != BR_KEYTYPE_EC || pk->key.ec.curve != BR_EC_secp256r1 ||
	    pk->key.ec.qlen != PKI_PUB_LEN)
		return -1;
	if (!br_x509_decoder_isCA(&dc))
		return -1;
	memcpy(t->q, pk->key.ec.q, PKI_PUB_LEN);
	t->ta.dn.data = t->dn;
	t->ta.dn.len = dn.len;
	t->ta.flags = BR_X509_TA_CA;
	t->ta.pkey.key_type = BR_KEYTYPE_EC;
	t->ta.pkey.key.ec.curve = BR_EC_secp256r1;
	t->ta.pkey.key.ec.q = t->q;
	t->ta.pkey.key.ec.qlen = PKI_PUB_LEN;
	return 0;
}

void der_x509_time(time_t now, uint32_t *days, uint32_t *secs)
{
	int64_t t = now < 0 ? 0 : (int64_t)now;

	*days = (uint32_t)(t / 86400) + DAYS_0AD_TO_1970;
	*secs = (uint32_t)(t % 86400);
}

bool pki_cert_verify(const uint8_t *der, size_t len, const uint8_t *ca_der, size_t ca_len,
		     time_t now)
{
	br_x509_minimal_context xc;
	struct der_ta ta;
	uint32_t days, secs;
	unsigned err;

	if (!der || len == 0 || len > PKI_CERT_MAX || der_ta_from_cert(&ta, ca_der, ca_len) < 0)
		return false;
	br_x509_minimal_init_full(&xc, &ta.ta, 1);
	der_x509_time(now, &days, &secs);
	br_x509_minimal_set_time(&xc, days, secs);
	xc.vtable->start_chain(&xc.vtable, NULL);
	xc.vtable->start_cert(&xc.vtable, (uint32_t)len);
	xc.vtable->append(&xc.vtable, der, len);
	xc.vtable->end_cert(&xc.vtable);
	err = xc.vtable->end_chain(&xc.vtable);
	return err == BR_ERR_OK;
}

/* ---- writing certificates ------------------------------------------------ */

static void put_name(struct der_w *w, const char *cn)
{
	size_t name = der_begin(w, DER_SEQUENCE);
	size_t set = der_begin(w, DER_SET);
	size_t atv = der_begin(w, DER_SEQUENCE);

	der_tlv(w, DER_OID, OID_CN, sizeof OID_CN);
	der_tlv(w, DER_UTF8STRING, cn, strlen(cn));
	der_end(w, atv);
	der_end(w, set);
	der_end(w, name);
}

static void put_spki(struct der_w *w, const uint8_t pub[PKI_PUB_LEN])
{
	size_t spki = der_begin(w, DER_SEQUENCE);
	size_t alg = der_begin(w, DER_SEQUENCE);
	size_t bits;

	der_tlv(w, DER_OID, OID_EC_PUBKEY, sizeof OID_EC_PUBKEY);
	der_tlv(w, DER_OID, OID_P256, sizeof OID_P256);
	der_end(w, alg);
	bits = der_begin(w, DER_BITSTRING);
	der_raw(w, "\0", 1);
	der_raw(w, pub, PKI_PUB_LEN);
	der_end(w, bits);
	der_end(w, spki);
}

static void put_sigalg(struct der_w *w)
{
	size_t alg = der_begin(w, DER_SEQUENCE);

	der_tlv(w, DER_OID, OID_ECDSA_SHA256, sizeof OID_ECDSA_SHA256);
	der_end(w, alg);
}

/* Extension header: SEQ { OID, [critical TRUE], OCTETSTRING { ... } };
 * returns the marks to close with ext_end(). */
struct ext_marks {
	size_t seq, oct;
};

static struct ext_marks ext_begin(struct der_w *w, const uint8_t *oid, size_t n, bool critical)
{
	struct ext_marks m;

	m.seq = der_begin(w, DER_SEQUENCE);
	der_tlv(w, DER_OID, oid, n);
	if (critical)
		der_tlv(w, DER_BOOLEAN, "\xff", 1);
	m.oct = der_begin(w, DER_OCTETSTRING);
	return m;
}

static void ext_end(struct der_w *w, struct ext_marks m)
{
	der_end(w, m.oct);
	der_end(w, m.seq);
}

static void ski_of(uint8_t out[SKI_LEN], const uint8_t pub[PKI_PUB_LEN])
{
	br_sha1_context h;

	br_sha1_init(&h);
	br_sha1_update(&h, pub, PKI_PUB_LEN);
	br_sha1_out(&h, out);
}

static void put_exts(struct der_w *w, const struct pki_cert_params *p,
		     const struct der_r *aki)
{
	uint8_t ski[SKI_LEN];
	struct ext_marks m;
	size_t outer = der_begin(w, DER_CTXC(3));
	size_t seq = der_begin(w, DER_SEQUENCE), s;
	bool ca = p->kind == PKI_CERT_CA;

	m = ext_begin(w, OID_BASIC_CONSTRAINTS, sizeof OID_BASIC_CONSTRAINTS, true);
	s = der_begin(w, DER_SEQUENCE);
	if (ca)
		der_tlv(w, DER_BOOLEAN, "\xff", 1);
	der_end(w, s);
	ext_end(w, m);

	m = ext_begin(w, OID_KEY_USAGE, sizeof OID_KEY_USAGE, true);
	/* CA: keyCertSign|cRLSign (bits 5,6; 1 unused bit); leaf: digitalSignature */
	der_tlv(w, DER_BITSTRING, ca ? "\x01\x06" : "\x07\x80", 2);
	ext_end(w, m);

	if (!ca) {
		m = ext_begin(w, OID_EXT_KEY_USAGE, sizeof OID_EXT_KEY_USAGE, false);
		s = der_begin(w, DER_SEQUENCE);
		if (p->kind == PKI_CERT_SERVER)
			der_tlv(w, DER_OID, OID_SERVER_AUTH, sizeof OID_SERVER_AUTH);
		else
			der_tlv(w, DER_OID, OID_CLIENT_AUTH, sizeof OID_CLIENT_AUTH);
		der_end(w, s);
		ext_end(w, m);

		m = ext_begin(w, OID_SAN, sizeof OID_SAN, false);
		s = der_begin(w, DER_SEQUENCE);
		der_tlv(w, DER_CTX(2), p->name, strlen(p->name));
		if (p->kind == PKI_CERT_CLIENT && p->has_vip4)
			der_tlv(w, DER_CTX(7), p->vip4, 4);
		if (p->kind == PKI_CERT_CLIENT && p->has_vip6)
			der_tlv(w, DER_CTX(7), p->vip6, 16);
		der_end(w, s);
		ext_end(w, m);
	}

	ski_of(ski, p->pub);
	m = ext_begin(w, OID_SKI, sizeof OID_SKI, false);
	der_tlv(w, DER_OCTETSTRING, ski, sizeof ski);
	ext_end(w, m);

	if (aki) {
		m = ext_begin(w, OID_AKI, sizeof OID_AKI, false);
		s = der_begin(w, DER_SEQUENCE);
		der_tlv(w, DER_CTX(0), aki->p, aki->len);
		der_end(w, s);
		ext_end(w, m);
	}
	der_end(w, seq);
	der_end(w, outer);
}

ssize_t pki_cert_issue(uint8_t *out, size_t cap, const struct pki_cert_params *p,
		       const struct pki_key *issuer_key, const uint8_t *issuer_der,
		       size_t issuer_len, uint8_t serial_out[PKI_SERIAL_LEN])
{
	br_ec_private_key sk = { .curve = BR_EC_secp256r1, .x = (uint8_t *)issuer_key->priv,
				 .xlen = PKI_PRIV_LEN };
	uint8_t serial[PKI_SERIAL_LEN], hash[32], sig[PKI_SIG_MAX], ski[SKI_LEN];
	struct cert_view iv;
	struct der_r aki;
	bool self = !issuer_der;
	struct der_w w;
	br_sha256_context h;
	size_t cert, tbs, mark, siglen;
	ssize_t rc = -1;

	if (!p || !out || !pki_name_valid(p->name) || !p->pub || !point_valid(p->pub) ||
	    p->not_after <= p->not_before)
		goto out;
	if (p->kind != PKI_CERT_CA && p->kind != PKI_CERT_SERVER && p->kind != PKI_CERT_CLIENT)
		goto out;
	if ((p->has_vip4 || p->has_vip6) && p->kind != PKI_CERT_CLIENT)
		goto out;
	if (self) {
		if (p->kind != PKI_CERT_CA || memcmp(p->pub, issuer_key->pub, PKI_PUB_LEN))
			goto out;
	} else {
		struct pki_cert_info ii;

		if (cert_walk(issuer_der, issuer_len, &iv) < 0 ||
		    pki_cert_parse(&ii, issuer_der, issuer_len) < 0 || !ii.is_ca ||
		    memcmp(ii.pub, issuer_key->pub, PKI_PUB_LEN))
			goto out;
		if (iv.has_ski) {
			aki = iv.ski;
		} else {
			ski_of(ski, ii.pub);
			aki.p = ski;
			aki.len = sizeof ski;
		}
	}
	if (rand_bytes(serial, sizeof serial) < 0)
		goto out;
	serial[0] &= 0x7f;
	if (serial[0] == 0)
		serial[0] = 0x01;	/* keep all 16 bytes significant */

	der_w_init(&w, out, cap);
	cert = der_begin(&w, DER_SEQUENCE);
	tbs = der_begin(&w, DER_SEQUENCE);
	mark = der_begin(&w, DER_CTXC(0));
	der_uint(&w, (const uint8_t *)"\x02", 1);
	der_end(&w, mark);
	der_uint(&w, serial, sizeof serial);
	put_sigalg(&w);
	if (self)
		put_name(&w, p->name);
	else
		der_raw(&w, iv.subject.p, iv.subject.len);
	mark = der_begin(&w, DER_SEQUENCE);
	der_time(&w, p->not_before);
	der_time(&w, p->not_after);
	der_end(&w, mark);
	put_name(&w, p->name);
	put_spki(&w, p->pub);
	put_exts(&w, p, self ? NULL : &aki);
	der_end(&w, tbs);
	if (w.err)
		goto out;

	br_sha256_init(&h);
	br_sha256_update(&h, w.buf + tbs, w.len - tbs);
	br_sha256_out(&h, hash);
	siglen = br_ecdsa_i31_sign_asn1(br_ec_get_default(), &br_sha256_vtable, hash, &sk, sig);
	if (siglen == 0)
		goto out;
	put_sigalg(&w);
	mark = der_begin(&w, DER_BITSTRING);
	der_raw(&w, "\0", 1);
	der_raw(&w, sig, siglen);
	der_end(&w, mark);
	der_end(&w, cert);
	if (w.err || w.len > PKI_CERT_MAX)
		goto out;
	if (serial_out)
		memcpy(serial_out, serial, sizeof serial);
	rc = (ssize_t)w.len;
out:
	ct_wipe(&sk, sizeof sk);
	ct_wipe(hash, sizeof hash);
	return rc;
}

/* ---- misc ---------------------------------------------------------------- */

void pki_fingerprint(uint8_t out[static PKI_FPR_LEN], const uint8_t *der, size_t len)
{
	br_sha256_context h;

	br_sha256_init(&h);
	br_sha256_update(&h, der, len);
	br_sha256_out(&h, out);
}

ssize_t pki_cert_to_pem(const uint8_t *der, size_t len, char *out, size_t cap)
{
	size_t n;

	if (!der || len == 0)
		return -1;
	n = br_pem_encode(NULL, der, len, "CERTIFICATE", BR_PEM_LINE64);
	if (n + 1 > cap)
		return -1;
	br_pem_encode(out, der, len, "CERTIFICATE", BR_PEM_LINE64);
	return (ssize_t)n;
}

ssize_t pki_cert_from_pem(uint8_t *out, size_t cap, const char *pem, size_t len)
{
	static const char *const names[] = { "CERTIFICATE", NULL };
	ssize_t n = pem_find(pem, len, names, out, cap);

	return n > 0 ? n : -1;
}

ssize_t pki_sign(const struct pki_key *k, const void *msg, size_t len,
		 uint8_t sig[static PKI_SIG_MAX])
{
	br_ec_private_key sk = { .curve = BR_EC_secp256r1, .x = (uint8_t *)k->priv,
				 .xlen = PKI_PRIV_LEN };
	uint8_t hash[32];
	size_t n;

	pki_fingerprint(hash, msg, len);
	n = br_ecdsa_i31_sign_asn1(br_ec_get_default(), &br_sha256_vtable, hash, &sk, sig);
	ct_wipe(&sk, sizeof sk);
	return n ? (ssize_t)n : -1;
}

bool pki_verify(const uint8_t pub[static PKI_PUB_LEN], const void *msg, size_t len,
		const uint8_t *sig, size_t siglen)
{
	br_ec_public_key pk = { .curve = BR_EC_secp256r1, .q = (uint8_t *)pub,
				.qlen = PKI_PUB_LEN };
	uint8_t hash[32];

	if (!sig || siglen == 0 || siglen > PKI_SIG_MAX)
		return false;
	pki_fingerprint(hash, msg, len);
	return br_ecdsa_i31_vrfy_asn1(br_ec_get_default(), hash, sizeof hash, &pk, sig,
				      siglen) == 1;
}
