// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_crypto_pki.c - keys, certificates, DER reader (crypto/pki.h, der.h).
 * openssl(1) is the external oracle: every certificate we issue must pass
 * `openssl verify -x509_strict -purpose ...`, and keys must cross both ways.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/der.h"
#include "crypto/pki.h"

/* ---- helpers ------------------------------------------------------------- */

static char tmpdir[64];

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void mk_tmp(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/mavpn-pki-%d-XXXXXX", (int)getpid());
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void rm_tmp(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

static const char *path(const char *name)
{
	static char buf[4][160];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "%s/%s", tmpdir, name);
	return buf[i];
}

static void write_file(const char *name, const void *data, size_t len)
{
	FILE *f = fopen(path(name), "wb");

	cr_assert_not_null(f, "open %s: %s", name, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

static size_t read_file(const char *name, void *out, size_t cap)
{
	FILE *f = fopen(path(name), "rb");
	size_t n;

	cr_assert_not_null(f, "open %s: %s", name, strerror(errno));
	n = fread(out, 1, cap, f);
	fclose(f);
	return n;
}

/* Run a shell command; capture stdout+stderr; return the exit status. */
static int run(char *out, size_t cap, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	FILE *p;
	size_t n = 0;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof cmd - strlen(cmd) - 1);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	if (out && cap) {
		n = fread(out, 1, cap - 1, p);
		out[n] = 0;
	} else {
		char sink[512];

		while (fread(sink, 1, sizeof sink, p) > 0)
			;
	}
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_cert_pem(const char *name, const uint8_t *der, size_t len)
{
	char pem[4096];
	ssize_t n = pki_cert_to_pem(der, len, pem, sizeof pem);

	cr_assert_gt(n, 0);
	write_file(name, pem, (size_t)n);
}

struct issued {
	struct pki_key key;
	uint8_t der[PKI_CERT_MAX];
	size_t len;
};

static void issue(struct issued *c, enum pki_cert_kind kind, const char *name, time_t nb,
		  time_t na, const struct issued *ca)
{
	struct pki_cert_params p = {
		.kind = kind, .name = name, .not_before = nb, .not_after = na,
	};
	ssize_t n;

	cr_assert_eq(pki_key_generate(&c->key), 0);
	p.pub = c->key.pub;
	if (kind == PKI_CERT_CLIENT) {
		p.has_vip4 = true;
		memcpy(p.vip4, "\x0a\x62\x00\x07", 4);
		p.has_vip6 = true;
		memcpy(p.vip6, "\xfd\x00\x00\x98\0\0\0\0\0\0\0\0\0\0\0\x07", 16);
	}
	if (ca)
		n = pki_cert_issue(c->der, sizeof c->der, &p, &ca->key, ca->der, ca->len, NULL);
	else
		n = pki_cert_issue(c->der, sizeof c->der, &p, &c->key, NULL, 0, NULL);
	cr_assert_gt(n, 0, "issue %s", name);
	c->len = (size_t)n;
}

static struct issued ca, ca2, srv, cli;
static time_t t0;

static void setup_pki(void)
{
	t0 = time(NULL);
	mk_tmp();
	issue(&ca, PKI_CERT_CA, "mavpn-ca", t0 - 3600, t0 + 10 * 365 * 86400L, NULL);
	issue(&ca2, PKI_CERT_CA, "mavpn-ca", t0 - 3600, t0 + 10 * 365 * 86400L, NULL);
	issue(&srv, PKI_CERT_SERVER, "keybroker", t0 - 60, t0 + 365 * 86400L, &ca);
	issue(&cli, PKI_CERT_CLIENT, "node-7.lab", t0 - 60, t0 + 365 * 86400L, &ca);
	write_cert_pem("ca.pem", ca.der, ca.len);
	write_cert_pem("ca2.pem", ca2.der, ca2.len);
	write_cert_pem("srv.pem", srv.der, srv.len);
	write_cert_pem("cli.pem", cli.der, cli.len);
}

static void teardown_pki(void)
{
	rm_tmp();
}

TestSuite(pki_cert, .init = setup_pki, .fini = teardown_pki);

/* ---- certificates against openssl ---------------------------------------- */

Test(pki_cert, openssl_verify_strict_purposes)
{
	char out[2048];
	int st;

	st = run(out, sizeof out, "openssl verify -x509_strict -purpose sslclient -CAfile %s %s",
		 path("ca.pem"), path("cli.pem"));
	cr_assert_eq(st, 0, "client: %s", out);
	cr_assert(strstr(out, ": OK"), "%s", out);
	st = run(out, sizeof out, "openssl verify -x509_strict -purpose sslserver -CAfile %s %s",
		 path("ca.pem"), path("srv.pem"));
	cr_assert_eq(st, 0, "server: %s", out);
	st = run(out, sizeof out, "openssl verify -x509_strict -CAfile %s %s", path("ca.pem"),
		 path("ca.pem"));
	cr_assert_eq(st, 0, "ca: %s", out);
	/* purposes are not interchangeable: extKeyUsage is enforced */
	st = run(out, sizeof out, "openssl verify -x509_strict -purpose sslserver -CAfile %s %s",
		 path("ca.pem"), path("cli.pem"));
	cr_assert_neq(st, 0, "client cert accepted as server: %s", out);
	st = run(out, sizeof out, "openssl verify -x509_strict -purpose sslclient -CAfile %s %s",
		 path("ca.pem"), path("srv.pem"));
	cr_assert_neq(st, 0, "server cert accepted as client: %s", out);
}

static void fmt_openssl_time(char *out, size_t cap, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, cap, "%b %e %H:%M:%S %Y GMT", &tm);
}

Test(pki_cert, openssl_text_shows_fields)
{
	char out[8192], nb[64], na[64];

	cr_assert_eq(run(out, sizeof out, "openssl x509 -text -noout -in %s", path("cli.pem")), 0,
		     "%s", out);
	cr_assert(strstr(out, "Subject: CN = node-7.lab"), "%s", out);
	cr_assert(strstr(out, "Issuer: CN = mavpn-ca"), "%s", out);
	cr_assert(strstr(out, "DNS:node-7.lab"), "%s", out);
	cr_assert(strstr(out, "IP Address:10.98.0.7"), "%s", out);
	cr_assert(strstr(out, "IP Address:FD00:98:0:0:0:0:0:7"), "%s", out);
	cr_assert(strstr(out, "TLS Web Client Authentication"), "%s", out);
	cr_assert(strstr(out, "Digital Signature"), "%s", out);
	cr_assert(strstr(out, "ecdsa-with-SHA256"), "%s", out);
	cr_assert(strstr(out, "Version: 3"), "%s", out);
	cr_assert(strstr(out, "prime256v1"), "%s", out);
	fmt_openssl_time(nb, sizeof nb, t0 - 60);
	fmt_openssl_time(na, sizeof na, t0 + 365 * 86400L);
	cr_assert(strstr(out, nb), "want Not Before %s in %s", nb, out);
	cr_assert(strstr(out, na), "want Not After %s in %s", na, out);

	cr_assert_eq(run(out, sizeof out, "openssl x509 -text -noout -in %s", path("ca.pem")), 0);
	cr_assert(strstr(out, "CA:TRUE"), "%s", out);
	cr_assert(strstr(out, "Certificate Sign, CRL Sign"), "%s", out);
	cr_assert(strstr(out, "Subject Key Identifier"), "%s", out);

	cr_assert_eq(run(out, sizeof out, "openssl x509 -text -noout -in %s", path("srv.pem")), 0);
	cr_assert(strstr(out, "DNS:keybroker"), "%s", out);
	cr_assert(strstr(out, "TLS Web Server Authentication"), "%s", out);
	cr_assert(strstr(out, "CA:FALSE"), "%s", out);
	cr_assert(strstr(out, "Authority Key Identifier"), "%s", out);
	cr_assert_null(strstr(out, "IP Address"), "%s", out);
}

Test(pki_cert, signature_flip_fails)
{
	char out[2048];
	uint8_t bad[PKI_CERT_MAX];

	memcpy(bad, cli.der, cli.len);
	bad[cli.len - 3] ^= 0x01;	/* inside the ECDSA s value */
	write_cert_pem("bad.pem", bad, cli.len);
	cr_assert_neq(run(out, sizeof out, "openssl verify -CAfile %s %s", path("ca.pem"),
			  path("bad.pem")), 0, "%s", out);
	cr_assert_not(pki_cert_verify(bad, cli.len, ca.der, ca.len, t0));
	cr_assert(pki_cert_verify(cli.der, cli.len, ca.der, ca.len, t0));
}

Test(pki_cert, other_ca_fails)
{
	char out[2048];

	cr_assert_neq(run(out, sizeof out, "openssl verify -CAfile %s %s", path("ca2.pem"),
			  path("cli.pem")), 0, "%s", out);
	cr_assert_not(pki_cert_verify(cli.der, cli.len, ca2.der, ca2.len, t0));
	cr_assert_not(pki_cert_verify(srv.der, srv.len, ca2.der, ca2.len, t0));
	/* a leaf is not a trust anchor */
	cr_assert_not(pki_cert_verify(cli.der, cli.len, srv.der, srv.len, t0));
}

Test(pki_cert, verify_time_window)
{
	cr_assert(pki_cert_verify(srv.der, srv.len, ca.der, ca.len, t0));
	cr_assert_not(pki_cert_verify(srv.der, srv.len, ca.der, ca.len, t0 - 120));
	cr_assert(pki_cert_verify(srv.der, srv.len, ca.der, ca.len, t0 + 365 * 86400L - 1));
	cr_assert_not(pki_cert_verify(srv.der, srv.len, ca.der, ca.len, t0 + 365 * 86400L + 1));
}

Test(pki_cert, parse_reads_back)
{
	struct pki_cert_info ci;

	cr_assert_eq(pki_cert_parse(&ci, cli.der, cli.len), 0);
	cr_assert_str_eq(ci.name, "node-7.lab");
	cr_assert_arr_eq(ci.pub, cli.key.pub, PKI_PUB_LEN);
	cr_assert_not(ci.is_ca);
	cr_assert_eq(ci.not_before, t0 - 60);
	cr_assert_eq(ci.not_after, t0 + 365 * 86400L);
	cr_assert(ci.has_vip4);
	cr_assert_arr_eq(ci.vip4, "\x0a\x62\x00\x07", 4);
	cr_assert(ci.has_vip6);
	cr_assert_arr_eq(ci.vip6, "\xfd\x00\x00\x98\0\0\0\0\0\0\0\0\0\0\0\x07", 16);

	cr_assert_eq(pki_cert_parse(&ci, ca.der, ca.len), 0);
	cr_assert(ci.is_ca);
	cr_assert_str_eq(ci.name, "mavpn-ca");
	cr_assert_not(ci.has_vip4);
	cr_assert_not(ci.has_vip6);

	/* every truncation is rejected, never read past the end (ASan) */
	for (size_t n = 0; n < cli.len; n++) {
		uint8_t *cut = malloc(n ? n : 1);

		memcpy(cut, cli.der, n);
		cr_assert_neq(pki_cert_parse(&ci, cut, n), 0, "accepted %zu bytes", n);
		free(cut);
	}
}

Test(pki_cert, parse_survives_every_bit_flip)
{
	struct pki_cert_info ci;
	uint8_t *bad = malloc(srv.len);	/* exact size: ASan sees any overread */
	int accepted = 0;

	for (size_t i = 0; i < srv.len; i++) {
		for (int b = 0; b < 8; b++) {
			memcpy(bad, srv.der, srv.len);
			bad[i] ^= (uint8_t)(1u << b);
			if (pki_cert_parse(&ci, bad, srv.len) == 0) {
				accepted++;
				cr_assert_leq(strlen(ci.name), PKI_NAME_MAX);
			}
			/* a changed byte never verifies */
			cr_assert_not(pki_cert_verify(bad, srv.len, ca.der, ca.len, t0),
				      "byte %zu bit %d", i, b);
		}
	}
	free(bad);
	/* flips inside values (key, names, signature) still parse; flips in
	 * the structure do not */
	cr_assert_gt(accepted, 0);
	cr_assert_lt(accepted, (int)srv.len * 8);
}

Test(pki_cert, generalized_time_after_2050)
{
	struct issued c;
	struct pki_cert_info ci;
	char out[8192];
	time_t nb = 2524608000;		/* 2050-01-01 00:00:00 */
	time_t na = 2871763200;		/* 2061-01-01 00:00:00 */

	issue(&c, PKI_CERT_SERVER, "far-future", nb, na, &ca);
	cr_assert_eq(pki_cert_parse(&ci, c.der, c.len), 0);
	cr_assert_eq(ci.not_before, nb);
	cr_assert_eq(ci.not_after, na);
	write_cert_pem("far.pem", c.der, c.len);
	cr_assert_eq(run(out, sizeof out, "openssl x509 -text -noout -in %s", path("far.pem")), 0);
	cr_assert(strstr(out, "Not Before: Jan  1 00:00:00 2050 GMT"), "%s", out);
	cr_assert(strstr(out, "Not After : Jan  1 00:00:00 2061 GMT"), "%s", out);
	cr_assert_eq(run(out, sizeof out, "openssl asn1parse -in %s", path("far.pem")), 0);
	cr_assert(strstr(out, "GENERALIZEDTIME   :20500101000000Z"), "%s", out);
	cr_assert(pki_cert_verify(c.der, c.len, ca.der, ca.len, nb + 1));
	pki_key_clear(&c.key);
}

Test(pki_cert, fingerprint_matches_openssl)
{
	uint8_t fpr[PKI_FPR_LEN];
	char out[512], want[128] = "", *p = want;

	pki_fingerprint(fpr, ca.der, ca.len);
	for (int i = 0; i < PKI_FPR_LEN; i++)
		p += sprintf(p, i ? ":%02X" : "%02X", fpr[i]);
	cr_assert_eq(run(out, sizeof out, "openssl x509 -noout -fingerprint -sha256 -in %s",
			 path("ca.pem")), 0);
	cr_assert(strstr(out, want), "want %s in %s", want, out);
}

Test(pki_cert, pem_round_trip_and_openssl_der)
{
	uint8_t der[PKI_CERT_MAX], od[PKI_CERT_MAX];
	char pem[4096];
	ssize_t n;
	size_t on;

	n = pki_cert_to_pem(srv.der, srv.len, pem, sizeof pem);
	cr_assert_gt(n, 0);
	cr_assert_eq(pki_cert_to_pem(srv.der, srv.len, pem, (size_t)n), -1);
	cr_assert_eq(pki_cert_from_pem(der, sizeof der, pem, (size_t)n), (ssize_t)srv.len);
	cr_assert_arr_eq(der, srv.der, srv.len);
	cr_assert_eq(pki_cert_from_pem(der, 100, pem, (size_t)n), -1, "cap ignored");
	cr_assert_eq(pki_cert_from_pem(der, sizeof der, "garbage", 7), -1);
	/* openssl re-encodes our DER byte for byte (our DER is canonical) */
	cr_assert_eq(run(NULL, 0, "openssl x509 -in %s -outform DER -out %s", path("srv.pem"),
			 path("srv.der")), 0);
	on = read_file("srv.der", od, sizeof od);
	cr_assert_eq(on, srv.len);
	cr_assert_arr_eq(od, srv.der, srv.len);
}

Test(pki_cert, issue_rejects_bad_params)
{
	struct pki_key k;
	uint8_t out[PKI_CERT_MAX];
	struct pki_cert_params p = { .kind = PKI_CERT_SERVER, .name = "ok", .not_before = t0,
				     .not_after = t0 + 10 };

	cr_assert_eq(pki_key_generate(&k), 0);
	p.pub = k.pub;
	cr_assert_gt(pki_cert_issue(out, sizeof out, &p, &ca.key, ca.der, ca.len, NULL), 0);
	cr_assert_eq(pki_cert_issue(out, 200, &p, &ca.key, ca.der, ca.len, NULL), -1);
	p.name = "Bad Name";
	cr_assert_eq(pki_cert_issue(out, sizeof out, &p, &ca.key, ca.der, ca.len, NULL), -1);
	p.name = "ok";
	p.not_after = p.not_before;
	cr_assert_eq(pki_cert_issue(out, sizeof out, &p, &ca.key, ca.der, ca.len, NULL), -1);
	p.not_after = t0 + 10;
	/* issuer key does not match the CA certificate */
	cr_assert_eq(pki_cert_issue(out, sizeof out, &p, &ca2.key, ca.der, ca.len, NULL), -1);
	/* a leaf cannot issue */
	cr_assert_eq(pki_cert_issue(out, sizeof out, &p, &srv.key, srv.der, srv.len, NULL), -1);
	/* self-signed only for a CA whose key is the issuer key */
	cr_assert_eq(pki_cert_issue(out, sizeof out, &p, &k, NULL, 0, NULL), -1);
	p.kind = PKI_CERT_CA;
	cr_assert_eq(pki_cert_issue(out, sizeof out, &p, &ca.key, NULL, 0, NULL), -1);
	/* a point not on the curve */
	uint8_t badpub[PKI_PUB_LEN];

	memcpy(badpub, k.pub, sizeof badpub);
	badpub[40] ^= 1;
	p.kind = PKI_CERT_SERVER;
	p.pub = badpub;
	cr_assert_eq(pki_cert_issue(out, sizeof out, &p, &ca.key, ca.der, ca.len, NULL), -1);
	pki_key_clear(&k);
}

Test(pki_cert, serials_random_positive)
{
	uint8_t s1[PKI_SERIAL_LEN], s2[PKI_SERIAL_LEN], out[PKI_CERT_MAX];
	struct pki_cert_params p = { .kind = PKI_CERT_SERVER, .name = "s", .pub = srv.key.pub,
				     .not_before = t0, .not_after = t0 + 10 };

	cr_assert_gt(pki_cert_issue(out, sizeof out, &p, &ca.key, ca.der, ca.len, s1), 0);
	cr_assert_gt(pki_cert_issue(out, sizeof out, &p, &ca.key, ca.der, ca.len, s2), 0);
	cr_assert_eq(s1[0] & 0x80, 0);
	cr_assert_eq(s2[0] & 0x80, 0);
	cr_assert(memcmp(s1, s2, sizeof s1) != 0);
}

Test(pki, name_valid_table)
{
	static const struct { const char *s; bool ok; } t[] = {
		{ "a", true }, { "node-1", true }, { "gw.lab", true }, { "0x", true },
		{ "", false }, { "-a", false }, { ".a", false }, { "A", false },
		{ "a_b", false }, { "a b", false }, { "é", false },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true },	/* 63 */
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false },	/* 64 */
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		cr_assert_eq(pki_name_valid(t[i].s), t[i].ok, "%zu: \"%s\"", i, t[i].s);
	cr_assert_not(pki_name_valid(NULL));
}

/* ---- keys ----------------------------------------------------------------- */

TestSuite(pki_key, .init = mk_tmp, .fini = rm_tmp);

/* openssl's view of a key file's public point (uncompressed, last 65 bytes
 * of the SPKI DER). */
static void openssl_pub(const char *keyname, uint8_t pub[PKI_PUB_LEN])
{
	uint8_t der[256];
	size_t n;
	char out[1024];

	cr_assert_eq(run(out, sizeof out, "openssl pkey -in %s -pubout -outform DER -out %s",
			 path(keyname), path("pub.der")), 0, "%s", out);
	n = read_file("pub.der", der, sizeof der);
	cr_assert_eq(n, 91, "SPKI of %zu bytes", n);
	memcpy(pub, der + n - PKI_PUB_LEN, PKI_PUB_LEN);
}

Test(pki_key, pem_round_trip_and_openssl_reads_ours)
{
	struct pki_key k, k2;
	char pem[1024], err[128], out[1024];
	uint8_t pub[PKI_PUB_LEN];
	ssize_t n;

	cr_assert_eq(pki_key_generate(&k), 0);
	cr_assert_eq(k.pub[0], 0x04);
	n = pki_key_to_pem(&k, pem, sizeof pem);
	cr_assert_gt(n, 0);
	cr_assert(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
	cr_assert_eq(pki_key_to_pem(&k, pem, 50), -1);
	n = pki_key_to_pem(&k, pem, sizeof pem);
	cr_assert_eq(pki_key_from_pem(&k2, pem, (size_t)n, err, sizeof err), 0, "%s", err);
	cr_assert_arr_eq(k2.priv, k.priv, PKI_PRIV_LEN);
	cr_assert_arr_eq(k2.pub, k.pub, PKI_PUB_LEN);

	write_file("ours.pem", pem, (size_t)n);
	cr_assert_eq(run(out, sizeof out, "openssl pkey -in %s -check -noout", path("ours.pem")),
		     0, "%s", out);
	openssl_pub("ours.pem", pub);
	cr_assert_arr_eq(pub, k.pub, PKI_PUB_LEN);
	pki_key_clear(&k);
	for (size_t i = 0; i < sizeof k; i++)
		cr_assert_eq(((uint8_t *)&k)[i], 0);
	pki_key_clear(&k2);
}

static void read_openssl_key(const char *cmd_fmt, const char *banner)
{
	struct pki_key k;
	char pem[2048], err[128], out[1024];
	uint8_t pub[PKI_PUB_LEN];
	size_t n;

	cr_assert_eq(run(out, sizeof out, cmd_fmt, path("o.pem")), 0, "%s", out);
	n = read_file("o.pem", pem, sizeof pem - 1);
	pem[n] = 0;
	cr_assert(strstr(pem, banner), "%s", pem);
	cr_assert_eq(pki_key_from_pem(&k, pem, n, err, sizeof err), 0, "%s", err);
	openssl_pub("o.pem", pub);
	cr_assert_arr_eq(pub, k.pub, PKI_PUB_LEN);
	pki_key_clear(&k);
}

Test(pki_key, reads_openssl_sec1)
{
	/* EC PARAMETERS block first, then EC PRIVATE KEY */
	read_openssl_key("openssl ecparam -genkey -name prime256v1 -out %s",
			 "BEGIN EC PRIVATE KEY");
}

Test(pki_key, reads_openssl_pkcs8)
{
	read_openssl_key("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s",
			 "BEGIN PRIVATE KEY");
}

Test(pki_key, rejects_wrong_keys)
{
	struct pki_key k;
	char pem[4096], err[128], out[1024];
	size_t n;

	cr_assert_eq(run(out, sizeof out, "openssl ecparam -genkey -name secp384r1 -noout -out %s",
			 path("p384.pem")), 0, "%s", out);
	n = read_file("p384.pem", pem, sizeof pem);
	cr_assert_eq(pki_key_from_pem(&k, pem, n, err, sizeof err), -1);
	cr_assert(strstr(err, "P-256"), "%s", err);

	cr_assert_eq(run(out, sizeof out, "openssl genpkey -algorithm ED25519 -out %s",
			 path("ed.pem")), 0, "%s", out);
	n = read_file("ed.pem", pem, sizeof pem);
	cr_assert_eq(pki_key_from_pem(&k, pem, n, err, sizeof err), -1);

	cr_assert_eq(pki_key_from_pem(&k, "no pem here", 11, err, sizeof err), -1);
	cr_assert(strstr(err, "no PRIVATE KEY"), "%s", err);
	static const char trunc[] = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqG\n"
				    "-----END PRIVATE KEY-----\n";
	cr_assert_eq(pki_key_from_pem(&k, trunc, sizeof trunc - 1, err, sizeof err), -1);
	for (size_t i = 0; i < sizeof k; i++)
		cr_assert_eq(((uint8_t *)&k)[i], 0, "key not wiped on failure");
}

Test(pki_key, sign_verify_and_openssl_dgst)
{
	struct pki_key k;
	uint8_t sig[PKI_SIG_MAX];
	char pem[1024], out[1024];
	static const char msg[] = "mavpn enrollment transcript";
	ssize_t n, pn;

	cr_assert_eq(pki_key_generate(&k), 0);
	n = pki_sign(&k, msg, sizeof msg - 1, sig);
	cr_assert_gt(n, 60);
	cr_assert_leq(n, PKI_SIG_MAX);
	cr_assert(pki_verify(k.pub, msg, sizeof msg - 1, sig, (size_t)n));
	cr_assert_not(pki_verify(k.pub, msg, sizeof msg - 2, sig, (size_t)n));
	sig[n - 1] ^= 1;
	cr_assert_not(pki_verify(k.pub, msg, sizeof msg - 1, sig, (size_t)n));
	sig[n - 1] ^= 1;

	pn = pki_key_to_pem(&k, pem, sizeof pem);
	write_file("k.pem", pem, (size_t)pn);
	write_file("msg", msg, sizeof msg - 1);
	write_file("sig", sig, (size_t)n);
	cr_assert_eq(run(out, sizeof out, "openssl dgst -sha256 -prverify %s -signature %s %s",
			 path("k.pem"), path("sig"), path("msg")), 0, "%s", out);
	/* and openssl's signature passes our check */
	cr_assert_eq(run(out, sizeof out, "openssl dgst -sha256 -sign %s -out %s %s",
			 path("k.pem"), path("osig"), path("msg")), 0, "%s", out);
	n = (ssize_t)read_file("osig", sig, sizeof sig);
	cr_assert(pki_verify(k.pub, msg, sizeof msg - 1, sig, (size_t)n));
	pki_key_clear(&k);
}

/* ---- DER reader edges ----------------------------------------------------- */

Test(der, next_edge_table)
{
	static const struct {
		const char *bytes;
		size_t len;
		int rc;
		size_t vlen;
	} t[] = {
		{ "\x04\x00", 2, 0, 0 },
		{ "\x04\x01\xaa", 3, 0, 1 },
		{ "\x04\x02\xaa", 3, -1, 0 },		/* value past the end */
		{ "\x04", 1, -1, 0 },			/* no length */
		{ "\x04\x80", 2, -1, 0 },		/* indefinite */
		{ "\x04\x81\x7f", 3, -1, 0 },		/* long form for a short length */
		{ "\x04\x81", 2, -1, 0 },		/* length bytes missing */
		{ "\x04\x82\x00\x80", 4, -1, 0 },	/* non-minimal long form */
		{ "\x04\x84\x00\x00\x00\x01", 6, -1, 0 },	/* too many length bytes */
		{ "\x1f\x01\x00", 3, -1, 0 },		/* high tag number */
		{ "\x04\x81\x80", 3, -1, 0 },		/* 128 claimed, 0 there */
	};
	struct der_r r, v;
	uint8_t tag;

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		r.p = (const uint8_t *)t[i].bytes;
		r.len = t[i].len;
		cr_assert_eq(der_next(&r, &tag, &v), t[i].rc, "row %zu", i);
		if (t[i].rc == 0) {
			cr_assert_eq(v.len, t[i].vlen, "row %zu", i);
			cr_assert_eq(r.len, 0, "row %zu", i);
		}
	}
}

Test(der, long_form_and_time)
{
	uint8_t buf[600], val[300];
	struct der_w w;
	struct der_r r, v;
	uint8_t tag;
	time_t t;

	memset(val, 0x5a, sizeof val);
	der_w_init(&w, buf, sizeof buf);
	der_tlv(&w, DER_OCTETSTRING, val, 200);		/* 0x81 form */
	size_t m = der_begin(&w, DER_SEQUENCE);
	der_raw(&w, val, 300);				/* 0x82 form */
	der_end(&w, m);
	cr_assert_not(w.err);
	cr_assert_eq(w.len, 3 + 200 + 4 + 300);
	cr_assert_arr_eq(buf, "\x04\x81\xc8", 3);
	cr_assert_arr_eq(buf + 203, "\x30\x82\x01\x2c", 4);
	r.p = buf;
	r.len = w.len;
	cr_assert_eq(der_next(&r, &tag, &v), 0);
	cr_assert_eq(v.len, 200);
	cr_assert_eq(der_next(&r, &tag, &v), 0);
	cr_assert_eq(tag, DER_SEQUENCE);
	cr_assert_eq(v.len, 300);
	/* overflow is sticky */
	der_w_init(&w, buf, 10);
	der_tlv(&w, DER_OCTETSTRING, val, 20);
	cr_assert(w.err);

	static const struct { uint8_t tag; const char *s; int rc; time_t t; } tt[] = {
		{ DER_UTCTIME, "491231235959Z", 0, 2524607999 },
		{ DER_UTCTIME, "500101000000Z", 0, -631152000 },
		{ DER_UTCTIME, "700101000000Z", 0, 0 },
		{ DER_GENTIME, "20500101000000Z", 0, 2524608000 },
		{ DER_UTCTIME, "701301000000Z", -1, 0 },	/* month 13 */
		{ DER_UTCTIME, "7001010000000", -1, 0 },	/* no Z */
		{ DER_UTCTIME, "70010100000Z", -1, 0 },		/* short */
		{ DER_GENTIME, "2050010100000aZ", -1, 0 },
	};
	for (size_t i = 0; i < sizeof tt / sizeof tt[0]; i++) {
		v.p = (const uint8_t *)tt[i].s;
		v.len = strlen(tt[i].s);
		cr_assert_eq(der_parse_time(tt[i].tag, &v, &t), tt[i].rc, "row %zu", i);
		if (tt[i].rc == 0)
			cr_assert_eq(t, tt[i].t, "row %zu: %lld", i, (long long)t);
	}
}
