/* SPDX-License-Identifier: GPL-2.0-only */
/* htab.c - see htab.h. */
#include "keybroker/htab.h"

#include <stdlib.h>
#include <string.h>

static size_t slot(const struct htab *t, uint64_t key)
{
	uint64_t h = key * 0x9e3779b97f4a7c15ull;

	h ^= h >> 29;
	return (size_t)(h & (t->nb - 1));
}

static void grow(struct htab *t)
{
	size_t nb = t->nb ? t->nb * 2 : 64;
	struct hlink **b = calloc(nb, sizeof *b);
	struct htab nt = { .b = b, .nb = nb, .n = t->n };

	if (!b)
		return;
	for (size_t i = 0; i < t->nb; i++) {
		struct hlink *l = t->b[i], *next;

		for (; l; l = next) {
			size_t s = slot(&nt, l->key);

			next = l->next;
			l->next = b[s];
			b[s] = l;
		}
	}
	free(t->b);
	*t = nt;
}

int htab_add(struct htab *t, struct hlink *l, uint64_t key)
{
	size_t s;

	if (t->n >= t->nb)
		grow(t);
	if (!t->nb)
		return -1;
	s = slot(t, key);
	l->key = key;
	l->next = t->b[s];
	t->b[s] = l;
	t->n++;
	return 0;
}

void htab_del(struct htab *t, struct hlink *l)
{
	struct hlink **pp;

	if (!t->nb)
		return;
	for (pp = &t->b[slot(t, l->key)]; *pp; pp = &(*pp)->next) {
		if (*pp == l) {
			*pp = l->next;
			l->next = NULL;
			t->n--;
			return;
		}
	}
}

struct hlink *htab_find(const struct htab *t, uint64_t key)
{
	struct hlink *l;

	if (!t->nb)
		return NULL;
	for (l = t->b[slot(t, key)]; l; l = l->next)
		if (l->key == key)
			return l;
	return NULL;
}

struct hlink *htab_next(const struct hlink *l)
{
	uint64_t key = l->key;

	for (l = l->next; l; l = l->next)
		if (l->key == key)
			return (struct hlink *)l;
	return NULL;
}

void htab_free(struct htab *t)
{
	free(t->b);
	memset(t, 0, sizeof *t);
}

void htab_foreach(const struct htab *t, void (*fn)(struct hlink *l, void *arg), void *arg)
{
	for (size_t i = 0; i < t->nb; i++) {
		struct hlink *l = t->b[i], *next;

		for (; l; l = next) {
			next = l->next;
			fn(l, arg);
		}
	}
}

uint64_t htab_key16(const uint8_t b[16])
{
	uint64_t a = 0, c = 0;

	for (int i = 0; i < 8; i++) {
		a = a << 8 | b[i];
		c = c << 8 | b[8 + i];
	}
	return a ^ (c * 0xff51afd7ed558ccdull);
}
