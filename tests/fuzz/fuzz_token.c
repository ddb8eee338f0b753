// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_token.c - token_decode on arbitrary text. A string that decodes
 * must come out of token_encode as a canonical token that decodes to the
 * same secret and fingerprint.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct token t, u;
	char out[TOKEN_STR_MAX];
	char *s;
	ssize_t n;

	if (size > 4096)
		return 0;
	s = malloc(size + 1);	/* exact size: ASan sees a read past the NUL */
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (token_decode(&t, s) == TOKEN_OK) {
		n = token_encode(&t, out, sizeof out);
		if (n <= 0 || (size_t)n != strlen(out))
			abort();
		if (token_decode(&u, out) != TOKEN_OK || memcmp(&t, &u, sizeof t) != 0)
			abort();
	}
	free(s);
	return 0;
}
