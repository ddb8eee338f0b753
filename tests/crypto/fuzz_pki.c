// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_pki.c - libFuzzer harness for the certificate and key readers of
 * crypto/pki.h: pki_cert_parse (our bounded DER walk + br_x509_decoder),
 * pki_cert_from_pem, pki_key_from_pem. Invariants: a parsed certificate
 * has a NUL-terminated CN of at most PKI_NAME_MAX printable bytes and an
 * uncompressed point; a parsed key's public half is recomputable.
 * Register in tests/fuzz/meson.build:
 *   ['fuzz_pki', files('../crypto/fuzz_pki.c'), [crypto_dep]],
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pki_cert_info ci;
	struct pki_key k;
	uint8_t der[PKI_CERT_MAX];
	char err[128];
	uint8_t *buf;
	ssize_t n;

	if (size > 3 * PKI_CERT_MAX)
		return 0;
	buf = malloc(size ? size : 1);	/* exact size: ASan sees any overread */
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (pki_cert_parse(&ci, buf, size) == 0) {
		size_t l = strnlen(ci.name, sizeof ci.name);

		if (l == 0 || l > PKI_NAME_MAX || ci.pub[0] != 0x04)
			abort();
		for (size_t i = 0; i < l; i++)
			if (ci.name[i] < 0x20 || ci.name[i] > 0x7e)
				abort();
	}
	n = pki_cert_from_pem(der, sizeof der, (const char *)buf, size);
	if (n > (ssize_t)sizeof der)
		abort();
	if (pki_key_from_pem(&k, (const char *)buf, size, err, sizeof err) == 0) {
		uint8_t sig[PKI_SIG_MAX];
		ssize_t sl = pki_sign(&k, "x", 1, sig);

		if (sl <= 0 || !pki_verify(k.pub, "x", 1, sig, (size_t)sl))
			abort();
		pki_key_clear(&k);
	}
	free(buf);
	return 0;
}
