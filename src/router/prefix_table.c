// SPDX-License-Identifier: GPL-2.0-only
/*
 * prefix_table.c - path-compressed binary trie (contract in prefix_table.h).
 *
 * Each node stands for one prefix (key/bits, key masked to bits). A node
 * either carries a value (a stored prefix) or is a branch point without a
 * value; a node without a value always has two children (remove restores
 * this), so the trie has at most 2n-1 nodes for n prefixes. child[b] holds
 * the longer prefixes whose bit number `bits` is b.
 */
#include "router/prefix_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/ctl.h"

#define PT_MAX_BITS 128

struct pt_node {
	struct pt_node *child[2];
	void *value;		/* NULL: branch point only */
	uint8_t bits;
	uint8_t key[16];
};

int prefix_af_norm(int af)
{
	if (af == 4 || af == AF_INET)
		return 4;
	if (af == 6 || af == AF_INET6)
		return 6;
	return 0;
}

static unsigned af_bits(int af)
{
	return af == 4 ? 32 : 128;
}

static unsigned bit_at(const uint8_t *key, unsigned i)
{
	return (key[i / 8] >> (7 - i % 8)) & 1u;
}

/* Copy the first bits of addr into out (16 bytes), the rest zero. */
static void mask_key(uint8_t out[16], const uint8_t *addr, unsigned nbytes, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	memset(out, 0, 16);
	memcpy(out, addr, full);
	if (rest && full < nbytes)
		out[full] = addr[full] & (uint8_t)(0xff00u >> rest);
}

/* Number of leading bits (at most max) on which a and b agree. */
static unsigned common_bits(const uint8_t *a, const uint8_t *b, unsigned max)
{
	unsigned i = 0;

	while (i + 8 <= max && a[i / 8] == b[i / 8])
		i += 8;
	if (i >= max)
		return max;
	{
		uint8_t x = a[i / 8] ^ b[i / 8];

		while (i < max && !(x & (0x80u >> (i % 8))))
			i++;
	}
	return i < max ? i : max;
}

/* Does addr lie inside node n's prefix? */
static int node_matches(const struct pt_node *n, const uint8_t *addr)
{
	unsigned full = n->bits / 8, rest = n->bits % 8;

	if (memcmp(n->key, addr, full) != 0)
		return 0;
	if (!rest)
		return 1;
	return ((n->key[full] ^ addr[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

static struct pt_node *node_new(const uint8_t key[16], unsigned bits, void *value)
{
	struct pt_node *n = calloc(1, sizeof *n);

	if (!n)
		return NULL;
	mask_key(n->key, key, 16, bits);
	n->bits = (uint8_t)bits;
	n->value = value;
	return n;
}

static struct pt_node **root_of(struct prefix_table *t, int af)
{
	return af == 4 ? &t->root4 : &t->root6;
}

static size_t *count_of(struct prefix_table *t, int af)
{
	return af == 4 ? &t->count4 : &t->count6;
}

void prefix_table_init(struct prefix_table *t)
{
	memset(t, 0, sizeof *t);
}

static void free_nodes(struct pt_node *n)
{
	if (!n)
		return;
	free_nodes(n->child[0]);
	free_nodes(n->child[1]);
	free(n);
}

void prefix_table_free(struct prefix_table *t)
{
	free_nodes(t->root4);
	free_nodes(t->root6);
	prefix_table_init(t);
}

int prefix_table_insert(struct prefix_table *t, int af, const uint8_t *addr,
			unsigned plen, void *value)
{
	struct pt_node **pp, *n, *fresh, *branch;
	uint8_t key[16];
	unsigned c;

	af = prefix_af_norm(af);
	if (!af || !addr || !value || plen > af_bits(af)) {
		errno = EINVAL;
		return -1;
	}
	mask_key(key, addr, af == 4 ? 4 : 16, plen);

	pp = root_of(t, af);
	while ((n = *pp) != NULL) {
		c = common_bits(n->key, key, n->bits < plen ? n->bits : plen);
		if (c == n->bits && c == plen) {
			int replaced = n->value != NULL;

			n->value = value;
			if (!replaced)
				(*count_of(t, af))++;
			return replaced;
		}
		if (c == n->bits) {		/* n is a strict ancestor: descend */
			pp = &n->child[bit_at(key, n->bits)];
			continue;
		}
		if (c == plen) {		/* new prefix is a strict ancestor of n */
			fresh = node_new(key, plen, value);
			if (!fresh)
				goto nomem;
			fresh->child[bit_at(n->key, plen)] = n;
			*pp = fresh;
			(*count_of(t, af))++;
			return 0;
		}
		/* They diverge at bit c: a branch node holds both. */
		fresh = node_new(key, plen, value);
		branch = node_new(key, c, NULL);
		if (!fresh || !branch) {
			free(fresh);
			free(branch);
			goto nomem;
		}
		branch->child[bit_at(key, c)] = fresh;
		branch->child[bit_at(n->key, c)] = n;
		*pp = branch;
		(*count_of(t, af))++;
		return 0;
	}
	fresh = node_new(key, plen, value);
	if (!fresh)
		goto nomem;
	*pp = fresh;
	(*count_of(t, af))++;
	return 0;
nomem:
	errno = ENOMEM;
	return -1;
}

/* Restore the invariant at *pp: a valueless node keeps two children. */
static void compact(struct pt_node **pp)
{
	struct pt_node *n = *pp;

	if (!n || n->value)
		return;
	if (n->child[0] && n->child[1])
		return;
	*pp = n->child[0] ? n->child[0] : n->child[1];
	free(n);
}

int prefix_table_remove(struct prefix_table *t, int af, const uint8_t *addr, unsigned plen)
{
	struct pt_node **pp, **parent = NULL, *n;
	uint8_t key[16];

	af = prefix_af_norm(af);
	if (!af || !addr || plen > af_bits(af))
		return -1;
	mask_key(key, addr, af == 4 ? 4 : 16, plen);

	pp = root_of(t, af);
	while ((n = *pp) != NULL && n->bits <= plen) {
		if (!node_matches(n, key))
			return -1;
		if (n->bits == plen) {
			if (!n->value)
				return -1;
			n->value = NULL;
			(*count_of(t, af))--;
			compact(pp);
			if (parent)
				compact(parent);
			return 0;
		}
		parent = pp;
		pp = &n->child[bit_at(key, n->bits)];
	}
	return -1;
}

static size_t remove_value(struct pt_node **pp, const void *value)
{
	struct pt_node *n = *pp;
	size_t k = 0;

	if (!n)
		return 0;
	k += remove_value(&n->child[0], value);
	k += remove_value(&n->child[1], value);
	if (n->value == value) {
		n->value = NULL;
		k++;
	}
	compact(pp);
	return k;
}

size_t prefix_table_remove_by_value(struct prefix_table *t, const void *value)
{
	size_t k4, k6;

	if (!value)
		return 0;
	k4 = remove_value(&t->root4, value);
	k6 = remove_value(&t->root6, value);
	t->count4 -= k4;
	t->count6 -= k6;
	return k4 + k6;
}

void *prefix_table_lookup(const struct prefix_table *t, int af, const uint8_t *addr)
{
	const struct pt_node *n;
	void *best = NULL;
	unsigned max;

	af = prefix_af_norm(af);
	if (!af || !addr)
		return NULL;
	max = af_bits(af);
	n = af == 4 ? t->root4 : t->root6;
	while (n && node_matches(n, addr)) {
		if (n->value)
			best = n->value;
		if (n->bits >= max)
			break;
		n = n->child[bit_at(addr, n->bits)];
	}
	return best;
}

void *prefix_table_get(const struct prefix_table *t, int af, const uint8_t *addr,
		       unsigned plen)
{
	const struct pt_node *n;
	uint8_t key[16];

	af = prefix_af_norm(af);
	if (!af || !addr || plen > af_bits(af))
		return NULL;
	mask_key(key, addr, af == 4 ? 4 : 16, plen);
	n = af == 4 ? t->root4 : t->root6;
	while (n && n->bits <= plen && node_matches(n, key)) {
		if (n->bits == plen)
			return n->value;
		n = n->child[bit_at(key, n->bits)];
	}
	return NULL;
}

static int walk_nodes(const struct pt_node *n, int af, prefix_table_walk_fn fn, void *ctx)
{
	int rc;

	if (!n)
		return 0;
	if (n->value && (rc = fn(ctx, af, n->key, n->bits, n->value)) != 0)
		return rc;
	if ((rc = walk_nodes(n->child[0], af, fn, ctx)) != 0)
		return rc;
	return walk_nodes(n->child[1], af, fn, ctx);
}

int prefix_table_walk(const struct prefix_table *t, prefix_table_walk_fn fn, void *ctx)
{
	int rc = walk_nodes(t->root4, 4, fn, ctx);

	if (rc)
		return rc;
	return walk_nodes(t->root6, 6, fn, ctx);
}

size_t prefix_table_count(const struct prefix_table *t)
{
	return t->count4 + t->count6;
}

int prefix_table_insert_ctl(struct prefix_table *t, const struct ctl_prefix *p, void *value)
{
	return prefix_table_insert(t, p->ip.af, p->ip.a, p->len, value);
}

int prefix_table_remove_ctl(struct prefix_table *t, const struct ctl_prefix *p)
{
	return prefix_table_remove(t, p->ip.af, p->ip.a, p->len);
}
