// SPDX-License-Identifier: GPL-2.0-only
/* ct.c - constant-time compare and a wipe the optimiser keeps (contract: ct.h). */
#include "crypto/ct.h"

#include <string.h>

int ct_memeq(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *pa = a;
	const volatile unsigned char *pb = b;
	unsigned acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= (unsigned)(pa[i] ^ pb[i]);
	/* acc in 0..255: (acc - 1) >> 8 is 1 only when acc == 0, no branch. */
	return (int)(((acc - 1u) >> 8) & 1u);
}

/* The call goes through a volatile pointer, so the compiler cannot know it
 * is memset and cannot drop it as a dead store; the barrier after it tells
 * the compiler the memory was read. */
static void *(*const volatile wipe_memset)(void *, int, size_t) = memset;

void ct_wipe(void *p, size_t n)
{
	if (n == 0)
		return;
	wipe_memset(p, 0, n);
	__asm__ __volatile__("" : : "r"(p) : "memory");
}
