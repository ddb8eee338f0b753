// SPDX-License-Identifier: GPL-2.0-only
/*
 * gen_corpus.c - writes the seed corpus for the proto harnesses:
 *   gen-corpus DIR     creates DIR/<harness>/<name> for fuzz_ctl,
 *                      fuzz_ctl_stream, fuzz_token, fuzz_data, fuzz_ip.
 * The committed files under tests/fuzz/corpus/ come from this program
 * (run from build-fuzz: build-fuzz/tests/fuzz/gen-corpus tests/fuzz/corpus).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "proto/ctl.h"
#include "proto/data.h"
#include "proto/token.h"
#include "samples.h"

static const char *root;

static void put(const char *harness, const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", root, harness);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof path, "%s/%s/%s", root, harness, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static void ctl_seeds(void)
{
	static const char *vname[] = { "min", "full", "mid" };
	static struct ctl_msg m;
	static uint8_t buf[CTL_MAX_FRAME], stream[4 * CTL_MAX_FRAME + 1];
	size_t t, slen = 1;
	int v;
	char name[64];

	stream[0] = 7;	/* chunk size byte for fuzz_ctl_stream */
	for (t = 0; t < sample_ntypes; t++)
		for (v = 0; v < SAMPLE_NVARIANTS; v++) {
			ssize_t n;

			sample_msg(&m, sample_types[t], v, (unsigned)t);
			n = ctl_encode(&m, buf, sizeof buf);
			if (n < 0) {
				fprintf(stderr, "encode %s: %s\n", ctl_type_name(m.type),
					ctl_strerror((enum ctl_err)-n));
				exit(1);
			}
			snprintf(name, sizeof name, "%s-%s", ctl_type_name(m.type), vname[v]);
			lower(name);
			put("fuzz_ctl", name, buf, (size_t)n);
			/* streams: all MIN frames in one, MID frames in another */
			if (v != SAMPLE_FULL && slen + (size_t)n < sizeof stream) {
				memcpy(stream + slen, buf, (size_t)n);
				slen += (size_t)n;
			}
			if (v == SAMPLE_MID && t % 5 == 4) {
				snprintf(name, sizeof name, "stream-%zu", t);
				put("fuzz_ctl_stream", name, stream, slen);
				slen = 1;
				stream[0] = (uint8_t)(t * 3);
			}
		}
	if (slen > 1)
		put("fuzz_ctl_stream", "stream-last", stream, slen);
}

static void token_seeds(void)
{
	struct token t;
	char s[TOKEN_STR_MAX], alt[2 * TOKEN_STR_MAX];
	size_t i, o;
	ssize_t n;

	for (i = 0; i < TOKEN_SECRET_LEN; i++)
		t.secret[i] = (uint8_t)i;
	for (i = 0; i < TOKEN_FPR_LEN; i++)
		t.ca_fpr[i] = (uint8_t)(0x20 + i);
	n = token_encode(&t, s, sizeof s);
	if (n < 0)
		exit(1);
	put("fuzz_token", "canonical", s, (size_t)n);
	for (i = o = 0; s[i]; i++)	/* upper case, no dashes */
		if (s[i] != '-')
			alt[o++] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
	put("fuzz_token", "upper-nodash", alt, o);
	for (i = o = 0; s[i]; i++) {	/* wrapped, indented */
		if (i % 24 == 23)
			alt[o++] = '\n';
		alt[o++] = s[i] == '-' ? ' ' : s[i];
	}
	put("fuzz_token", "wrapped", alt, o);
	memset(&t, 0xff, sizeof t);
	n = token_encode(&t, s, sizeof s);
	put("fuzz_token", "all-ff", s, (size_t)n);
	s[n - 3] = 'a';
	put("fuzz_token", "mistyped", s, (size_t)n);
}

static void data_seeds(void)
{
	uint8_t pkt[DATA_OVERHEAD + 64];

	memset(pkt, 0x5a, sizeof pkt);
	data_hdr_init(pkt, 0x01020304);
	memset(pkt + 8, 0, 8);
	put("fuzz_data", "keepalive", pkt, DATA_OVERHEAD);
	pkt[8] = 0x2a;
	put("fuzz_data", "payload-64", pkt, sizeof pkt);
	pkt[2] = 1;
	put("fuzz_data", "reserved-set", pkt, sizeof pkt);
}

static void ip_seeds(void)
{
	static const char *s[] = {
		"10.0.0.1", "fd00::1", "10.200.0.0/24", "fd00:1::/48", "0.0.0.0/0",
		"192.0.2.1:4500", "[2001:db8::1]:51820", "[::ffff:192.0.2.1]:53",
		"::ffff:10.0.0.1", "255.255.255.255/32",
	};
	size_t i;
	char name[32];

	for (i = 0; i < sizeof s / sizeof s[0]; i++) {
		snprintf(name, sizeof name, "seed-%02zu", i);
		put("fuzz_ip", name, s[i], strlen(s[i]));
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
		return 2;
	}
	root = argv[1];
	if (mkdir(root, 0755) < 0 && errno != EEXIST) {
		perror(root);
		return 1;
	}
	ctl_seeds();
	token_seeds();
	data_seeds();
	ip_seeds();
	return 0;
}
