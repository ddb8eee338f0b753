// SPDX-License-Identifier: GPL-2.0-only
/*
 * token.c - enrollment token encoding (contract in token.h).
 *
 * 53 binary bytes = 424 bits = 85 base32 characters (the last one carries
 * 4 data bits and one padding bit, which must be zero so that every
 * single-character change is caught), printed as 17 groups of 5.
 */
#include "proto/token.h"

#include <string.h>

#include "crypto/ct.h"
#include "crypto/hash.h"

#define BIN_LEN (1 + TOKEN_SECRET_LEN + TOKEN_FPR_LEN + 4)	/* 53 */
#define SUM_OFF (BIN_LEN - 4)
#define B32_LEN ((BIN_LEN * 8 + 4) / 5)				/* 85 */
#define PREFIX_LEN (sizeof TOKEN_PREFIX - 1)
#define GROUP 5
#define PRINTED_LEN (PREFIX_LEN + B32_LEN + (B32_LEN - 1) / GROUP)	/* 106 */
_Static_assert(B32_LEN == 85, "85 base32 characters");
_Static_assert(PRINTED_LEN + 1 <= TOKEN_STR_MAX, "printed token fits TOKEN_STR_MAX");

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

static void checksum(uint8_t out[4], const uint8_t bin[SUM_OFF])
{
	uint8_t h[SHA256_LEN];

	sha256(h, bin, SUM_OFF);
	memcpy(out, h, 4);
	ct_wipe(h, sizeof h);
}

ssize_t token_encode(const struct token *t, char *out, size_t cap)
{
	uint8_t bin[BIN_LEN];
	size_t i, o = 0, nchars = 0;
	unsigned acc = 0, bits = 0;

	if (cap < PRINTED_LEN + 1)
		return -1;
	bin[0] = TOKEN_VERSION;
	memcpy(bin + 1, t->secret, TOKEN_SECRET_LEN);
	memcpy(bin + 1 + TOKEN_SECRET_LEN, t->ca_fpr, TOKEN_FPR_LEN);
	checksum(bin + SUM_OFF, bin);

	memcpy(out, TOKEN_PREFIX, PREFIX_LEN);
	o = PREFIX_LEN;
	for (i = 0; i < BIN_LEN || bits > 0;) {
		unsigned idx;

		if (bits < 5 && i < BIN_LEN) {
			acc = (acc << 8 | bin[i++]) & 0xfff;
			bits += 8;
			continue;
		}
		if (bits >= 5) {
			idx = (acc >> (bits - 5)) & 31;
			bits -= 5;
		} else {
			idx = (acc << (5 - bits)) & 31;	/* last char, zero padding */
			bits = 0;
		}
		if (nchars && nchars % GROUP == 0)
			out[o++] = '-';
		out[o++] = alphabet[idx];
		nchars++;
	}
	out[o] = '\0';
	ct_wipe(bin, sizeof bin);
	ct_wipe(&acc, sizeof acc);
	return (ssize_t)o;
}

static int b32_val(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

static int skipped(char c)
{
	return c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	       c == '\v' || c == '\f';
}

enum token_err token_decode(struct token *t, const char *s)
{
	uint8_t bin[BIN_LEN], sum[4];
	size_t o = 0, nchars = 0, k = 0;
	unsigned acc = 0, bits = 0;
	enum token_err e;

	/* the prefix, ignoring case and the characters we skip anywhere */
	for (; *s && k < PREFIX_LEN - 1; s++) {
		char c = *s;

		if (skipped(c))
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != TOKEN_PREFIX[k])
			return TOKEN_ERR_PREFIX;
		k++;
	}
	if (k < PREFIX_LEN - 1)
		return TOKEN_ERR_PREFIX;

	for (; *s; s++) {
		int v;

		if (skipped(*s))
			continue;
		v = b32_val(*s);
		if (v < 0) {
			e = TOKEN_ERR_CHAR;
			goto out;
		}
		if (++nchars > B32_LEN)
			continue;	/* keep scanning: a bad char wins */
		acc = (acc << 5 | (unsigned)v) & 0xfff;
		bits += 5;
		if (bits >= 8) {
			bin[o++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	if (nchars != B32_LEN) {
		e = TOKEN_ERR_LENGTH;
		goto out;
	}
	/* o == BIN_LEN and one padding bit is left over: it must be zero */
	if (o != BIN_LEN || bits != 1 || (acc & 1)) {
		e = TOKEN_ERR_CHECKSUM;
		goto out;
	}
	checksum(sum, bin);
	if (!ct_memeq(sum, bin + SUM_OFF, 4)) {
		e = TOKEN_ERR_CHECKSUM;
		goto out;
	}
	if (bin[0] != TOKEN_VERSION) {
		e = TOKEN_ERR_VERSION;
		goto out;
	}
	memcpy(t->secret, bin + 1, TOKEN_SECRET_LEN);
	memcpy(t->ca_fpr, bin + 1 + TOKEN_SECRET_LEN, TOKEN_FPR_LEN);
	e = TOKEN_OK;
out:
	ct_wipe(bin, sizeof bin);
	ct_wipe(&acc, sizeof acc);
	return e;
}

const char *token_strerror(enum token_err e)
{
	switch (e) {
	case TOKEN_OK:
		return "ok";
	case TOKEN_ERR_PREFIX:
		return "not an enrollment token (expected \"" TOKEN_PREFIX "...\")";
	case TOKEN_ERR_CHAR:
		return "token contains a character outside a-z, 2-7";
	case TOKEN_ERR_LENGTH:
		return "token too short or too long";
	case TOKEN_ERR_CHECKSUM:
		return "token mistyped (checksum mismatch)";
	case TOKEN_ERR_VERSION:
		return "unknown token version";
	}
	return "unknown token error";
}
