/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * session_table.h - receiver index -> session slot.
 *
 * Every session a node can receive on has a 32-bit receiver index chosen
 * here at random (rand_uniform from crypto/rand.h), never 0, unique in the
 * table (collision-checked). The peer puts it in the data headers it sends
 * us, so a received packet selects its keys with one hash lookup and no
 * address comparison (DESIGN.md, Data packet).
 *
 * An index is first *reserved* (it maps to no slot yet: e.g. sent in a
 * SESSION_REQ before the GRANT brings keys), then *bound* to a slot, and
 * finally *released*. Lookup of a reserved index returns NULL, like an
 * unknown one: the packet is dropped.
 *
 * Open addressing with linear probing and backward-shift deletion; the
 * table grows (allocation) only when the number of live indices crosses
 * half the capacity, never on lookup, bind or release. Size it at init for
 * the expected number of sessions (3 per peer + pending requests) and a
 * rekey never allocates.
 */
#ifndef MAVPN_ROUTER_SESSION_TABLE_H
#define MAVPN_ROUTER_SESSION_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct session_slot;

struct session_table_entry {
	uint32_t index;			/* 0 = empty bucket */
	struct session_slot *slot;	/* NULL = reserved */
};

struct session_table {
	struct session_table_entry *e;
	size_t cap;			/* power of two */
	size_t count;			/* live (reserved + bound) indices */
};

/* capacity_hint: expected number of live indices (0 = 64). 0, or -1 (ENOMEM). */
int session_table_init(struct session_table *st, size_t capacity_hint)
	__attribute__((warn_unused_result));
/* Free the bucket array (not the slots). */
void session_table_free(struct session_table *st);

/* Reserve a fresh random index (!= 0, unused). Returns it, or 0 when the
 * table could not grow (ENOMEM). */
uint32_t session_table_reserve(struct session_table *st) __attribute__((warn_unused_result));

/* Point a reserved (or bound) index at slot. 0, or -1 if index is not in
 * the table. Does not touch the slot: the caller records the index in it. */
int session_table_bind(struct session_table *st, uint32_t index, struct session_slot *slot);

/* Forget index (reserved or bound). 0, or -1 if absent. index 0 is a no-op
 * returning -1. */
int session_table_release(struct session_table *st, uint32_t index);

/* The slot bound to index; NULL when unknown, 0 or only reserved. */
struct session_slot *session_table_lookup(const struct session_table *st, uint32_t index);

/* 1 if index is live (reserved or bound), else 0. */
int session_table_contains(const struct session_table *st, uint32_t index);

#endif
