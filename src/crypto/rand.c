// SPDX-License-Identifier: GPL-2.0-only
/*
 * rand.c - HMAC-DRBG (SHA-256) seeded from getrandom(2) (contract: rand.h).
 *
 * The state is per process. It is seeded on first use, reseeded every
 * RESEED_CALLS calls and whenever getpid() changed (we are a forked child,
 * whose copy of the state the parent also holds).
 */
#include "crypto/rand.h"

#include <bearssl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

#include "crypto/ct.h"

#define SEED_LEN 48		/* 384 bits: entropy + nonce for a 256-bit DRBG */
#define RESEED_CALLS (1u << 20)

static br_hmac_drbg_context drbg;
static bool seeded;
static pid_t seeded_pid;
static uint32_t calls;

/* Fill buf from the kernel (blocking until the pool is ready). */
static int kernel_random(uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(buf + got, n - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

int rand_reseed(void)
{
	uint8_t seed[SEED_LEN];
	int ret = -1;

	if (kernel_random(seed, sizeof(seed)) != 0) {
		ct_wipe(&drbg, sizeof(drbg));
		seeded = false;
		goto out;
	}
	br_hmac_drbg_init(&drbg, &br_sha256_vtable, seed, sizeof(seed));
	seeded = true;
	seeded_pid = getpid();
	calls = 0;
	ret = 0;
out:
	ct_wipe(seed, sizeof(seed));
	return ret;
}

int rand_bytes(void *out, size_t n)
{
	if (!seeded || calls >= RESEED_CALLS || getpid() != seeded_pid) {
		if (rand_reseed() != 0) {
			int e = errno;

			ct_wipe(out, n);
			errno = e;
			return -1;
		}
	}
	calls++;
	if (n)
		br_hmac_drbg_generate(&drbg, out, n);
	return 0;
}

uint32_t rand_uniform(uint32_t bound)
{
	/* Reject the low (2^32 mod bound) values so that every residue has
	 * the same number of preimages. */
	uint32_t min, v;

	if (bound == 0)
		abort();
	min = (uint32_t)(-bound) % bound;
	do {
		if (rand_bytes(&v, sizeof(v)) != 0)
			abort();
	} while (v < min);
	return v % bound;
}
