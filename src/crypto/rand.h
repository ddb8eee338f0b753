/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rand.h - the CSPRNG: HMAC-DRBG (SHA-256) seeded from getrandom(2).
 *
 * rand_bytes() seeds itself on first use (blocking getrandom, flags 0) and
 * reseeds from getrandom() every 2^20 calls and after fork() (pid change).
 * BearSSL's own system seeder is not used (deps.md: it picks rdrand here).
 * Not thread-safe: one thread per process uses it (the daemons are single-
 * threaded); call rand_reseed() in a child that must not share the stream.
 */
#ifndef MAVPN_CRYPTO_RAND_H
#define MAVPN_CRYPTO_RAND_H

#include <stddef.h>
#include <stdint.h>

/* Fill out[0..n) with random bytes. 0 on success, -1 (errno set) if the
 * kernel source failed; out is then zeroed. */
int rand_bytes(void *out, size_t n) __attribute__((warn_unused_result));

/* A uniformly random value in [0, bound); bound > 0. Aborts if getrandom
 * fails (only used for non-secret choices: indices, jitter). */
uint32_t rand_uniform(uint32_t bound);

/* Drop the current state and seed again from getrandom(). 0 or -1. */
int rand_reseed(void);

#endif
