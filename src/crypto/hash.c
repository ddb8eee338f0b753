// SPDX-License-Identifier: GPL-2.0-only
/* hash.c - SHA-256, HMAC-SHA256, HKDF-SHA256 over BearSSL (contract: hash.h). */
#include "crypto/hash.h"

#include <bearssl.h>

#include "crypto/ct.h"

void sha256(uint8_t out[static SHA256_LEN], const void *data, size_t len)
{
	br_sha256_context c;

	br_sha256_init(&c);
	br_sha256_update(&c, data, len);
	br_sha256_out(&c, out);
	ct_wipe(&c, sizeof(c));
}

void hmac_sha256(uint8_t out[static SHA256_LEN], const void *key, size_t keylen,
		 const void *data, size_t len)
{
	br_hmac_key_context kc;
	br_hmac_context hc;

	br_hmac_key_init(&kc, &br_sha256_vtable, key, keylen);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, data, len);
	br_hmac_out(&hc, out);
	ct_wipe(&hc, sizeof(hc));
	ct_wipe(&kc, sizeof(kc));
}

int hkdf_sha256(uint8_t *out, size_t outlen,
		const void *salt, size_t saltlen,
		const void *ikm, size_t ikmlen,
		const void *info, size_t infolen)
{
	br_hkdf_context hc;
	int ret = -1;

	if (outlen > 255u * SHA256_LEN)
		return -1;
	if (salt)
		br_hkdf_init(&hc, &br_sha256_vtable, salt, saltlen);
	else
		br_hkdf_init(&hc, &br_sha256_vtable, BR_HKDF_NO_SALT, 0);
	br_hkdf_inject(&hc, ikm, ikmlen);
	br_hkdf_flip(&hc);
	if (br_hkdf_produce(&hc, info, infolen, out, outlen) != outlen) {
		ct_wipe(out, outlen);
		goto out;
	}
	ret = 0;
out:
	/* the context holds the PRK and the last output block */
	ct_wipe(&hc, sizeof(hc));
	return ret;
}
