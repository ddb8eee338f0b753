/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * token.h - the enrollment token: one string that gives trust both ways.
 *
 * Binary form (53 bytes): version (1) || secret (16) || CA fingerprint
 * (SHA-256 of the CA certificate DER, 32) || checksum (first 4 bytes of
 * SHA-256 over the preceding 49 bytes).
 * Printed form: "mvt1-" followed by the binary form in RFC 4648 base32
 * (lower case, no padding), in groups of 5 characters separated by '-'.
 * Decoding ignores case, '-' and whitespace, and reports a mistyped token
 * (bad character, wrong length, checksum mismatch) as such.
 */
#ifndef MAVPN_PROTO_TOKEN_H
#define MAVPN_PROTO_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TOKEN_VERSION 1
#define TOKEN_SECRET_LEN 16
#define TOKEN_FPR_LEN 32
#define TOKEN_PREFIX "mvt1-"
#define TOKEN_STR_MAX 128	/* printed form incl. NUL fits */

struct token {
	uint8_t secret[TOKEN_SECRET_LEN];
	uint8_t ca_fpr[TOKEN_FPR_LEN];
};

enum token_err {
	TOKEN_OK = 0,
	TOKEN_ERR_PREFIX,	/* does not start with "mvt1-" */
	TOKEN_ERR_CHAR,		/* character outside the base32 alphabet */
	TOKEN_ERR_LENGTH,	/* too short or too long */
	TOKEN_ERR_CHECKSUM,	/* mistyped: checksum mismatch */
	TOKEN_ERR_VERSION,	/* unknown version byte */
};

/* Printed form into out (NUL-terminated); returns length or -1 if cap is
 * too small. */
ssize_t token_encode(const struct token *t, char *out, size_t cap);
enum token_err token_decode(struct token *t, const char *s)
	__attribute__((warn_unused_result));
const char *token_strerror(enum token_err e);

#endif
