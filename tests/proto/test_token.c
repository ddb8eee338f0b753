// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_token.c - enrollment token: a vector computed with Python (hashlib +
 * base64.b32encode), round trips, every single-character substitution,
 * case, separators, truncation and over-long input.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "proto/token.h"

/* secret = 00..0f, fingerprint = 20..3f (Python reference) */
static const char vec_v1[] =
	"mvt1-aeaac-aqdaq-cqmby-ibefa-wdanb-yhsai-jcems-ckjrh-fausu-kzmfu-xc6mb-"
	"rgizt-injwg-44dso-r3hq6-t4pzt-ryw44";
/* the same with version byte 2 and its own valid checksum */
static const char vec_v2[] =
	"mvt1-aiaac-aqdaq-cqmby-ibefa-wdanb-yhsai-jcems-ckjrh-fausu-kzmfu-xc6mb-"
	"rgizt-injwg-44dso-r3hq6-t4pyv-3qc7k";

static void vec_token(struct token *t)
{
	int i;

	for (i = 0; i < TOKEN_SECRET_LEN; i++)
		t->secret[i] = (uint8_t)i;
	for (i = 0; i < TOKEN_FPR_LEN; i++)
		t->ca_fpr[i] = (uint8_t)(0x20 + i);
}

static uint64_t rng_state = 0x1234567;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

Test(token, python_vector_encode)
{
	struct token t;
	char s[TOKEN_STR_MAX];

	vec_token(&t);
	cr_assert_eq(token_encode(&t, s, sizeof s), (ssize_t)strlen(vec_v1));
	cr_assert_str_eq(s, vec_v1);
}

Test(token, python_vector_decode)
{
	struct token want, got;

	vec_token(&want);
	memset(&got, 0, sizeof got);
	cr_assert_eq(token_decode(&got, vec_v1), TOKEN_OK);
	cr_assert_arr_eq(got.secret, want.secret, TOKEN_SECRET_LEN);
	cr_assert_arr_eq(got.ca_fpr, want.ca_fpr, TOKEN_FPR_LEN);
	cr_assert_eq(token_decode(&got, vec_v2), TOKEN_ERR_VERSION);
}

Test(token, random_roundtrips_and_shape)
{
	int n, i;

	for (n = 0; n < 500; n++) {
		struct token t, u;
		char s[TOKEN_STR_MAX];
		ssize_t len;

		for (i = 0; i < TOKEN_SECRET_LEN; i++)
			t.secret[i] = (uint8_t)rnd();
		for (i = 0; i < TOKEN_FPR_LEN; i++)
			t.ca_fpr[i] = (uint8_t)rnd();
		len = token_encode(&t, s, sizeof s);
		cr_assert_eq(len, 106);
		cr_assert_eq((size_t)len, strlen(s));
		cr_assert(strncmp(s, "mvt1-", 5) == 0);
		for (i = 5; i < len; i++) {
			/* groups of 5 separated by '-' */
			if ((i - 5) % 6 == 5)
				cr_assert_eq(s[i], '-', "%s", s);
			else
				cr_assert(islower((unsigned char)s[i]) ||
					  (s[i] >= '2' && s[i] <= '7'), "%s", s);
		}
		cr_assert_eq(token_decode(&u, s), TOKEN_OK);
		cr_assert_arr_eq(t.secret, u.secret, TOKEN_SECRET_LEN);
		cr_assert_arr_eq(t.ca_fpr, u.ca_fpr, TOKEN_FPR_LEN);
	}
}

Test(token, encode_capacity)
{
	struct token t;
	char s[TOKEN_STR_MAX];

	vec_token(&t);
	cr_assert_eq(token_encode(&t, s, 106), -1);
	cr_assert_eq(token_encode(&t, s, 0), -1);
	cr_assert_eq(token_encode(&t, s, 107), 106);
}

Test(token, every_single_substitution_is_detected)
{
	static const char others[] = "abcdefghijklmnopqrstuvwxyz234567018!_.";
	char s[sizeof vec_v1];
	size_t i, k;
	struct token t;
	unsigned checked = 0;

	for (i = 5; i < sizeof vec_v1 - 1; i++) {
		if (vec_v1[i] == '-')
			continue;
		for (k = 0; k < sizeof others - 1; k++) {
			enum token_err e;

			if (others[k] == vec_v1[i])
				continue;
			memcpy(s, vec_v1, sizeof s);
			s[i] = others[k];
			e = token_decode(&t, s);
			cr_assert(e == TOKEN_ERR_CHECKSUM || e == TOKEN_ERR_CHAR,
				  "pos %zu '%c': %s", i, others[k], token_strerror(e));
			if ((others[k] >= 'a' && others[k] <= 'z') ||
			    (others[k] >= '2' && others[k] <= '7'))
				cr_assert_eq(e, TOKEN_ERR_CHECKSUM, "pos %zu '%c'", i, others[k]);
			else
				cr_assert_eq(e, TOKEN_ERR_CHAR, "pos %zu '%c'", i, others[k]);
			checked++;
		}
	}
	cr_assert_eq(checked, 85 * 37u);
}

Test(token, adjacent_swaps_are_detected)
{
	char s[sizeof vec_v1];
	size_t i, j;
	struct token t;

	for (i = 5; i + 1 < sizeof vec_v1 - 1; i++) {
		char c;

		j = vec_v1[i + 1] == '-' ? i + 2 : i + 1;
		if (vec_v1[i] == '-' || vec_v1[i] == vec_v1[j] || j >= sizeof vec_v1 - 1)
			continue;
		memcpy(s, vec_v1, sizeof s);
		c = s[i];
		s[i] = s[j];
		s[j] = c;
		cr_assert_eq(token_decode(&t, s), TOKEN_ERR_CHECKSUM, "swap at %zu", i);
	}
}

Test(token, case_and_separators_ignored)
{
	char s[3 * sizeof vec_v1];
	size_t i, o;
	struct token want, got;

	vec_token(&want);
	/* upper case */
	for (i = 0; i < sizeof vec_v1; i++)
		s[i] = (char)toupper((unsigned char)vec_v1[i]);
	cr_assert_eq(token_decode(&got, s), TOKEN_OK);
	cr_assert_arr_eq(got.secret, want.secret, TOKEN_SECRET_LEN);
	/* no dashes at all */
	for (i = o = 0; i < sizeof vec_v1; i++)
		if (vec_v1[i] != '-')
			s[o++] = vec_v1[i];
	cr_assert_eq(token_decode(&got, s), TOKEN_OK);
	/* wrapped over lines, indented, mixed case, extra dashes */
	for (i = o = 0; i < sizeof vec_v1; i++) {
		char c = vec_v1[i];

		if (i % 11 == 3)
			s[o++] = '\n';
		if (i % 13 == 4)
			s[o++] = ' ';
		if (i % 17 == 6)
			s[o++] = '-';
		if (i % 19 == 0)
			s[o++] = '\t';
		s[o++] = (i % 2) ? (char)toupper((unsigned char)c) : c;
	}
	cr_assert_eq(token_decode(&got, s), TOKEN_OK, "%s", s);
	cr_assert_arr_eq(got.ca_fpr, want.ca_fpr, TOKEN_FPR_LEN);
	/* surrounding whitespace (as pasted) */
	snprintf(s, sizeof s, "  %s\r\n", vec_v1);
	cr_assert_eq(token_decode(&got, s), TOKEN_OK);
}

Test(token, truncated_and_overlong)
{
	char s[sizeof vec_v1 + 8];
	size_t k;
	struct token t;

	/* every prefix of the token is an error: PREFIX while the prefix is
	 * incomplete, LENGTH after */
	for (k = 0; k < sizeof vec_v1 - 1; k++) {
		enum token_err e;

		memcpy(s, vec_v1, k);
		s[k] = '\0';
		e = token_decode(&t, s);
		if (k < 4)
			cr_assert_eq(e, TOKEN_ERR_PREFIX, "k=%zu", k);
		else
			cr_assert_eq(e, TOKEN_ERR_LENGTH, "k=%zu %s", k, token_strerror(e));
	}
	snprintf(s, sizeof s, "%sa", vec_v1);
	cr_assert_eq(token_decode(&t, s), TOKEN_ERR_LENGTH);
	snprintf(s, sizeof s, "%s-aaaaa", vec_v1);
	cr_assert_eq(token_decode(&t, s), TOKEN_ERR_LENGTH);
	/* a bad character anywhere wins over the length */
	snprintf(s, sizeof s, "%s-aaaa0", vec_v1);
	cr_assert_eq(token_decode(&t, s), TOKEN_ERR_CHAR);
}

Test(token, prefix_and_padding_bit)
{
	char s[sizeof vec_v1];
	struct token t;

	cr_assert_eq(token_decode(&t, ""), TOKEN_ERR_PREFIX);
	cr_assert_eq(token_decode(&t, vec_v1 + 5), TOKEN_ERR_PREFIX);	/* no "mvt1-" */
	memcpy(s, vec_v1, sizeof s);
	s[3] = '2';	/* mvt2- */
	cr_assert_eq(token_decode(&t, s), TOKEN_ERR_PREFIX);
	memcpy(s, vec_v1, sizeof s);
	s[0] = 'M';
	s[2] = 'T';
	cr_assert_eq(token_decode(&t, s), TOKEN_OK);
	/* the last character carries 4 bits and one zero padding bit:
	 * '4' = 28 = 11100b; '5' = 29 sets the padding bit only */
	memcpy(s, vec_v1, sizeof s);
	cr_assert_eq(s[sizeof s - 2], '4');
	s[sizeof s - 2] = '5';
	cr_assert_eq(token_decode(&t, s), TOKEN_ERR_CHECKSUM);
}

Test(token, strerror_distinct)
{
	int i, j;

	for (i = TOKEN_OK; i <= TOKEN_ERR_VERSION; i++)
		for (j = TOKEN_OK; j < i; j++)
			cr_assert_str_neq(token_strerror(i), token_strerror(j));
}
