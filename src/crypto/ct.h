/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ct.h - constant-time comparison and a wipe the compiler cannot drop.
 *
 * Every comparison of a tag, MAC, key or token hash goes through ct_memeq();
 * memcmp() never touches a secret. Every stack or heap copy of a secret is
 * cleared with ct_wipe() before it goes out of scope, on every path.
 */
#ifndef MAVPN_CRYPTO_CT_H
#define MAVPN_CRYPTO_CT_H

#include <stddef.h>

/* 1 when the n bytes at a and b are equal, 0 otherwise; time depends on n only. */
int ct_memeq(const void *a, const void *b, size_t n) __attribute__((warn_unused_result));

/* Zero n bytes at p; never elided by the optimiser. p may be NULL when n == 0. */
void ct_wipe(void *p, size_t n);

#endif
