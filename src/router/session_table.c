// SPDX-License-Identifier: GPL-2.0-only
/*
 * session_table.c - receiver index -> slot (contract in session_table.h).
 * Open addressing, linear probing, backward-shift deletion (no tombstones),
 * load factor kept at or below 1/2.
 */
#include "router/session_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"

#define ST_MIN_CAP 16u

/* Indices are random, but mix anyway so the bucket does not depend on the
 * low bits alone (murmur3 finaliser). */
static size_t home(const struct session_table *st, uint32_t index)
{
	uint32_t h = index;

	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h & (st->cap - 1);
}

static size_t find_pos(const struct session_table *st, uint32_t index, int *found)
{
	size_t i = home(st, index);

	while (st->e[i].index != 0) {
		if (st->e[i].index == index) {
			*found = 1;
			return i;
		}
		i = (i + 1) & (st->cap - 1);
	}
	*found = 0;
	return i;
}

static int alloc_buckets(struct session_table *st, size_t cap)
{
	st->e = calloc(cap, sizeof *st->e);
	if (!st->e) {
		errno = ENOMEM;
		return -1;
	}
	st->cap = cap;
	return 0;
}

int session_table_init(struct session_table *st, size_t capacity_hint)
{
	size_t cap = ST_MIN_CAP;

	memset(st, 0, sizeof *st);
	if (!capacity_hint)
		capacity_hint = 64;
	while (cap < 2 * capacity_hint && cap < ((size_t)1 << 30))
		cap <<= 1;
	return alloc_buckets(st, cap);
}

void session_table_free(struct session_table *st)
{
	free(st->e);
	memset(st, 0, sizeof *st);
}

static int grow(struct session_table *st)
{
	struct session_table_entry *old = st->e;
	size_t old_cap = st->cap, i;
	int found;

	if (alloc_buckets(st, old_cap * 2) != 0) {
		st->e = old;
		st->cap = old_cap;
		return -1;
	}
	for (i = 0; i < old_cap; i++) {
		if (old[i].index != 0) {
			size_t pos = find_pos(st, old[i].index, &found);

			st->e[pos] = old[i];
		}
	}
	free(old);
	return 0;
}

uint32_t session_table_reserve(struct session_table *st)
{
	uint32_t index;
	size_t pos;
	int found;

	if (!st->e)
		return 0;
	if ((st->count + 1) * 2 > st->cap && grow(st) != 0)
		return 0;
	do {
		if (rand_bytes(&index, sizeof index) != 0)
			return 0;
		if (index == 0)
			continue;
		pos = find_pos(st, index, &found);
	} while (index == 0 || found);
	st->e[pos].index = index;
	st->e[pos].slot = NULL;
	st->count++;
	return index;
}

int session_table_bind(struct session_table *st, uint32_t index, struct session_slot *slot)
{
	size_t pos;
	int found;

	if (index == 0 || !st->e)
		return -1;
	pos = find_pos(st, index, &found);
	if (!found)
		return -1;
	st->e[pos].slot = slot;
	return 0;
}

int session_table_release(struct session_table *st, uint32_t index)
{
	size_t i, j, k, mask;
	int found;

	if (index == 0 || !st->e)
		return -1;
	i = find_pos(st, index, &found);
	if (!found)
		return -1;
	mask = st->cap - 1;
	/* Backward shift: pull later entries of the probe run into the hole
	 * unless their home lies cyclically in (i, j]. */
	j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (st->e[j].index == 0)
			break;
		k = home(st, st->e[j].index);
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			st->e[i] = st->e[j];
			i = j;
		}
	}
	st->e[i].index = 0;
	st->e[i].slot = NULL;
	st->count--;
	return 0;
}

struct session_slot *session_table_lookup(const struct session_table *st, uint32_t index)
{
	size_t pos;
	int found;

	if (index == 0 || !st->e)
		return NULL;
	pos = find_pos(st, index, &found);
	return found ? st->e[pos].slot : NULL;
}

int session_table_contains(const struct session_table *st, uint32_t index)
{
	int found = 0;

	if (index == 0 || !st->e)
		return 0;
	(void)find_pos(st, index, &found);
	return found;
}
