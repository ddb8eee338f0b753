// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_crypto.c - AEAD throughput of the data-plane calls (tools/bench-crypto
 * runs it). For each AEAD, seals and opens PKT-byte packets with
 * aead_seal_ctr()/aead_open_ctr() and the 16-byte data header as AD, for
 * about SECS seconds each, and prints one line per measurement:
 *
 *	<alg> <impl> seal|open <MB/s>	(MB = 10^6 bytes of payload)
 *
 * Time is user CPU time, as in `openssl speed` (see now()).
 *
 * Open copies a sealed packet into the work buffer before each call (open
 * decrypts in place); that copy is included in the time.
 * Usage: bench-crypto-bin [seconds] [packet bytes] [portable]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "crypto/aead.h"
#include "crypto/aead_test.h"
#include "crypto/rand.h"

#define HDR 16
#define MAX_PKT 65536

/* User CPU seconds of this process: `openssl speed` divides by user time
 * too (unless -elapsed), so both sides are measured alike and other load on
 * a shared machine mostly drops out. */
static double now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6;
}

static uint8_t hdr[HDR], buf[MAX_PKT], sealed[MAX_PKT], tag[16], sealed_tag[16];

static double bench(const struct aead *a, int open, size_t len, double secs)
{
	uint64_t ctr = 0, n = 0;
	double t0 = now(), t;

	if (open) {
		memset(sealed, 0x5a, len);
		aead_seal_ctr(a, 7, hdr, HDR, sealed, len, sealed_tag);
	}
	do {
		for (int i = 0; i < 256; i++, n++) {
			if (open) {
				memcpy(buf, sealed, len);
				if (aead_open_ctr(a, 7, hdr, HDR, buf, len, sealed_tag) != 0) {
					fprintf(stderr, "bench-crypto: open failed\n");
					exit(1);
				}
			} else {
				aead_seal_ctr(a, ctr++, hdr, HDR, buf, len, tag);
			}
		}
		t = now() - t0;
	} while (t < secs);
	return (double)n * (double)len / t / 1e6;
}

int main(int argc, char **argv)
{
	static const enum aead_alg algs[] = { AEAD_AES256_GCM, AEAD_CHACHA20_POLY1305 };
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	size_t len = argc > 2 ? (size_t)atol(argv[2]) : 1420;
	uint8_t key[AEAD_KEY_LEN];

	if (secs <= 0 || len == 0 || len > MAX_PKT) {
		fprintf(stderr, "usage: %s [seconds > 0] [packet bytes 1..%d] [portable]\n",
			argv[0], MAX_PKT);
		return 2;
	}
	if (argc > 3 && strcmp(argv[3], "portable") == 0)
		aead_force_portable(true);
	if (rand_bytes(key, sizeof(key)) != 0 || rand_bytes(buf, len) != 0) {
		perror("bench-crypto: rand_bytes");
		return 1;
	}
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		struct aead a;

		if (aead_init(&a, algs[i], key) != 0)
			return 1;
		for (int open = 0; open <= 1; open++) {
			printf("%s %s %s %.1f\n", aead_name(algs[i]), aead_impl_name(algs[i]),
			       open ? "open" : "seal", bench(&a, open, len, secs));
			fflush(stdout);
		}
		aead_clear(&a);
	}
	return 0;
}
