/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hash.h - SHA-256, HMAC-SHA256 and HKDF-SHA256 (RFC 5869).
 */
#ifndef MAVPN_CRYPTO_HASH_H
#define MAVPN_CRYPTO_HASH_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

void sha256(uint8_t out[static SHA256_LEN], const void *data, size_t len);
void hmac_sha256(uint8_t out[static SHA256_LEN], const void *key, size_t keylen,
		 const void *data, size_t len);

/* HKDF-SHA256 extract-then-expand. salt may be NULL (salt = HashLen zeros).
 * outlen <= 255 * 32, otherwise -1 and out untouched. Intermediate PRK is
 * wiped before return. */
int hkdf_sha256(uint8_t *out, size_t outlen,
		const void *salt, size_t saltlen,
		const void *ikm, size_t ikmlen,
		const void *info, size_t infolen) __attribute__((warn_unused_result));

#endif
