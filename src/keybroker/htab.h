/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * htab.h - an intrusive chained hash table keyed by uint64_t (daemon
 * internal). The caller embeds a struct hlink in its object and finds the
 * object back with container_of. Several objects may share a key: walk them
 * with htab_find() / htab_next(). Keys are mixed with a multiplicative hash;
 * every key we use is either random (session ids) or assigned by us (row
 * ids, VIPs), never chosen by a peer.
 *
 * Grows (doubling) when the load passes 1; never shrinks. Allocation
 * failure while growing keeps the old table (slower, still correct).
 */
#ifndef MAVPN_KEYBROKER_HTAB_H
#define MAVPN_KEYBROKER_HTAB_H

#include <stddef.h>
#include <stdint.h>

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct hlink {
	struct hlink *next;
	uint64_t key;
};

struct htab {
	struct hlink **b;
	size_t nb;		/* buckets, power of two (0 before the first add) */
	size_t n;		/* entries */
};

/* -1 when out of memory (nothing inserted). */
int htab_add(struct htab *t, struct hlink *l, uint64_t key)
	__attribute__((warn_unused_result));
/* l must be in t. */
void htab_del(struct htab *t, struct hlink *l);
/* First entry with key, or NULL; then htab_next() for the others. */
struct hlink *htab_find(const struct htab *t, uint64_t key);
struct hlink *htab_next(const struct hlink *l);
/* Frees the bucket array (not the entries). */
void htab_free(struct htab *t);

/* Visit every entry; fn may not modify t. */
void htab_foreach(const struct htab *t, void (*fn)(struct hlink *l, void *arg), void *arg);

/* 64-bit fold of 16 bytes (for IPv6 keys). */
uint64_t htab_key16(const uint8_t b[16]);

#endif
