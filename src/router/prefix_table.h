/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * prefix_table.h - longest-prefix match for IPv4 and IPv6 (a path-compressed
 * binary trie per family), prefix -> opaque value (in mavpn: a struct peer *).
 *
 * Addresses are (af, addr): af is 4 or 6 (as in struct ctl_ip), AF_INET and
 * AF_INET6 are accepted as synonyms; addr points at 4 resp. 16 bytes in
 * network order. Host bits of an inserted prefix are ignored (masked off):
 * 10.0.0.1/24 is stored and reported as 10.0.0.0/24.
 *
 * Memory: insert allocates at most two nodes; lookup never allocates and
 * never writes (safe from several readers when no writer runs). Values are
 * not owned: the table never frees or dereferences them. Values must not be
 * NULL (NULL is "no match").
 */
#ifndef MAVPN_ROUTER_PREFIX_TABLE_H
#define MAVPN_ROUTER_PREFIX_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctl_prefix;
struct pt_node;

struct prefix_table {
	struct pt_node *root4;
	struct pt_node *root6;
	size_t count4;		/* prefixes stored, per family */
	size_t count6;
};

/* An empty table (all zero is also a valid empty table). */
void prefix_table_init(struct prefix_table *t);
/* Free every node (not the values); the table is empty afterwards. */
void prefix_table_free(struct prefix_table *t);

/*
 * Map prefix (af, addr)/plen to value. plen <= 32 (v4) / 128 (v6).
 * Returns 0 when added, 1 when the prefix existed and its value was
 * replaced, -1 on bad af/plen/NULL value (errno EINVAL) or no memory
 * (ENOMEM; the table is unchanged).
 */
int prefix_table_insert(struct prefix_table *t, int af, const uint8_t *addr,
			unsigned plen, void *value) __attribute__((warn_unused_result));

/* Remove exactly this prefix. 0 when removed, -1 when not present / bad
 * arguments. */
int prefix_table_remove(struct prefix_table *t, int af, const uint8_t *addr, unsigned plen);

/* Remove every prefix whose value is `value`. Returns how many. */
size_t prefix_table_remove_by_value(struct prefix_table *t, const void *value);

/* Value of the longest prefix containing addr, or NULL. No allocation. */
void *prefix_table_lookup(const struct prefix_table *t, int af, const uint8_t *addr);

/* Value stored for exactly this prefix, or NULL. */
void *prefix_table_get(const struct prefix_table *t, int af, const uint8_t *addr,
		       unsigned plen);

/*
 * Call fn for every stored prefix: IPv4 first, then IPv6, each family in
 * address order, shorter prefixes before longer ones at the same address.
 * addr is the masked prefix (4 or 16 bytes, valid during the call only).
 * fn returns 0 to continue; any other value stops the walk and is returned.
 * fn must not modify the table.
 */
typedef int (*prefix_table_walk_fn)(void *ctx, int af, const uint8_t *addr,
				    unsigned plen, void *value);
int prefix_table_walk(const struct prefix_table *t, prefix_table_walk_fn fn, void *ctx);

size_t prefix_table_count(const struct prefix_table *t);

/* Convenience wrappers over struct ctl_prefix (proto/ctl.h). */
int prefix_table_insert_ctl(struct prefix_table *t, const struct ctl_prefix *p, void *value)
	__attribute__((warn_unused_result));
int prefix_table_remove_ctl(struct prefix_table *t, const struct ctl_prefix *p);

/* 4 or 6 for the accepted spellings of a family (4, 6, AF_INET, AF_INET6),
 * 0 otherwise. */
int prefix_af_norm(int af);

#endif
