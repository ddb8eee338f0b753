/* SPDX-License-Identifier: GPL-2.0-only */
/* dir.c - the daemon's in-memory directory of enrolled nodes (kbd.h). The
 * registry stays the authority: every connect re-reads the node's row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "keybroker/kbd.h"
#include "keybroker/policy.h"
#include "keybroker/registry.h"

static uint64_t vip4_key(const struct ctl_ip *ip)
{
	return (uint64_t)ip->a[0] << 24 | (uint64_t)ip->a[1] << 16 |
	       (uint64_t)ip->a[2] << 8 | ip->a[3];
}

struct kbnode *dir_by_id(struct kbd *kb, int64_t id)
{
	struct hlink *l = htab_find(&kb->nodes_by_id, (uint64_t)id);

	return l ? container_of(l, struct kbnode, by_id) : NULL;
}

struct kbnode *dir_by_name(struct kbd *kb, const char *name)
{
	for (struct kbnode *n = kb->nodes; n; n = n->next)
		if (!n->revoked && strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

static void unhash_vips(struct kbd *kb, struct kbnode *n)
{
	if (n->vip4.af)
		htab_del(&kb->nodes_by_vip4, &n->by_vip4);
	if (n->has_vip6)
		htab_del(&kb->nodes_by_vip6, &n->by_vip6);
}

void dir_revoke(struct kbd *kb, struct kbnode *n)
{
	if (n->revoked)
		return;
	unhash_vips(kb, n);
	n->revoked = true;
	kb->n_nodes--;
}

struct kbnode *dir_upsert(struct kbd *kb, const struct reg_node *rn)
{
	struct kbnode *n = dir_by_id(kb, rn->id);
	char *tags = strdup(rn->tags);
	struct ctl_prefix *routes = NULL;
	bool fresh = !n, was_live = n && !n->revoked;

	if (rn->n_routes) {
		routes = calloc(rn->n_routes, sizeof *routes);
		if (routes)
			memcpy(routes, rn->route, rn->n_routes * sizeof *routes);
	}
	if (!tags || (rn->n_routes && !routes))
		goto oom;
	if (fresh) {
		n = calloc(1, sizeof *n);
		if (!n)
			goto oom;
		n->id = rn->id;
		if (htab_add(&kb->nodes_by_id, &n->by_id, (uint64_t)rn->id) < 0) {
			free(n);
			goto oom;
		}
		n->next = kb->nodes;
		kb->nodes = n;
	} else {
		if (!n->revoked)
			unhash_vips(kb, n);
		free(n->tags);
		free(n->routes);
	}
	snprintf(n->name, sizeof n->name, "%s", rn->name);
	n->tags = tags;
	n->routes = routes;
	n->n_routes = rn->n_routes;
	n->vip4 = rn->vip4;
	n->has_vip6 = rn->has_vip6;
	n->vip6 = rn->vip6;
	n->last_seen = rn->last_seen;
	n->revoked = rn->revoked_at != 0;
	if (!n->revoked && !was_live)
		kb->n_nodes++;
	else if (n->revoked && was_live)
		kb->n_nodes--;
	if (n->n_routes && !n->on_gw_list) {
		n->on_gw_list = true;
		n->gw_next = kb->gateways;
		kb->gateways = n;
	}
	if (!n->revoked) {
		/* A hash insert only fails when the first bucket array cannot be
		 * allocated; the node is then found by id only. */
		if (n->vip4.af == 4 &&
		    htab_add(&kb->nodes_by_vip4, &n->by_vip4, vip4_key(&n->vip4)) < 0)
			n->vip4.af = 0;
		if (n->has_vip6 &&
		    htab_add(&kb->nodes_by_vip6, &n->by_vip6, htab_key16(n->vip6.a)) < 0)
			n->has_vip6 = false;
	}
	return n;
oom:
	free(tags);
	free(routes);
	log_error("out of memory adding node %s to the directory", rn->name);
	return NULL;
}

static int load_one(void *arg, const struct reg_node *rn)
{
	return dir_upsert(arg, rn) ? 0 : 1;
}

int dir_load(struct kbd *kb)
{
	char err[REGISTRY_ERR_MAX] = "";

	if (registry_node_foreach(kb->reg, false, load_one, kb, err) != REG_OK) {
		log_error("cannot read the nodes from the registry: %s", err);
		return -1;
	}
	return 0;
}

struct kbnode *dir_lookup_dst(struct kbd *kb, const struct ctl_ip *ip,
			      const struct kbnode *self)
{
	struct kbnode *best = NULL;
	int best_len = -1;
	struct hlink *l;

	if (ip->af == 4) {
		for (l = htab_find(&kb->nodes_by_vip4, vip4_key(ip)); l; l = htab_next(l)) {
			struct kbnode *n = container_of(l, struct kbnode, by_vip4);

			if (ctl_ip_eq(&n->vip4, ip))
				return n == self ? NULL : n;
		}
	} else if (ip->af == 6) {
		for (l = htab_find(&kb->nodes_by_vip6, htab_key16(ip->a)); l; l = htab_next(l)) {
			struct kbnode *n = container_of(l, struct kbnode, by_vip6);

			if (ctl_ip_eq(&n->vip6, ip))
				return n == self ? NULL : n;
		}
	}
	for (struct kbnode *n = kb->gateways; n; n = n->gw_next) {
		if (n->revoked || n == self || !n->n_routes)
			continue;
		for (uint8_t i = 0; i < n->n_routes; i++) {
			if (n->routes[i].len > best_len &&
			    ctl_prefix_contains(&n->routes[i], ip)) {
				best = n;
				best_len = n->routes[i].len;
			}
		}
	}
	return best;
}

/* A list did not fit into a frame: never silently. */
static void dropped(struct kbd *kb, const char *what, const struct kbnode *n, unsigned want,
		    uint8_t max)
{
	static struct log_ratelimit rl;

	kb->cnt.prefixes_dropped += want - max;
	if (log_ratelimited(&rl))
		log_warn("%s %s: %u prefixes, a frame carries %u: the last %u are dropped",
			 what, n->name, want, max, want - max);
}

uint8_t dir_allowed(struct kbd *kb, const struct kbnode *n, struct ctl_prefix *out,
		    uint8_t max)
{
	unsigned want = (n->vip4.af == 4) + n->has_vip6 + n->n_routes;
	uint8_t k = 0;

	if (k < max && n->vip4.af == 4) {
		memset(&out[k], 0, sizeof out[k]);
		out[k].ip = n->vip4;
		out[k++].len = 32;
	}
	if (k < max && n->has_vip6) {
		memset(&out[k], 0, sizeof out[k]);
		out[k].ip = n->vip6;
		out[k++].len = 128;
	}
	for (uint8_t i = 0; i < n->n_routes && k < max; i++)
		out[k++] = n->routes[i];
	if (want > k)
		dropped(kb, "allowed prefixes of", n, want, k);
	return k;
}

bool dir_allows(const struct kbd *kb, const struct kbnode *from, const struct kbnode *to)
{
	return policy_allows(kb->pol, from->name, from->tags, to->name, to->tags);
}

static bool has_prefix(const struct ctl_prefix *v, uint8_t n, const struct ctl_prefix *p)
{
	for (uint8_t i = 0; i < n; i++)
		if (v[i].len == p->len && ctl_ip_eq(&v[i].ip, &p->ip))
			return true;
	return false;
}

uint8_t dir_reachable_routes(struct kbd *kb, const struct kbnode *self,
			     struct ctl_prefix *out, uint8_t max)
{
	unsigned want = 0;
	uint8_t k = 0;

	for (struct kbnode *g = kb->gateways; g; g = g->gw_next) {
		if (g->revoked || g == self || !g->n_routes || !dir_allows(kb, self, g))
			continue;
		for (uint8_t i = 0; i < g->n_routes; i++) {
			if (has_prefix(out, k, &g->routes[i]))
				continue;
			if (k < max)
				out[k++] = g->routes[i];
			else
				want++;	/* over the limit (duplicates among them counted) */
		}
	}
	if (want)
		dropped(kb, "gateway routes reachable from", self, k + want, max);
	return k;
}

void dir_free(struct kbd *kb)
{
	struct kbnode *n, *next;

	for (n = kb->nodes; n; n = next) {
		next = n->next;
		free(n->tags);
		free(n->routes);
		free(n);
	}
	kb->nodes = NULL;
	kb->gateways = NULL;
	kb->n_nodes = 0;
	htab_free(&kb->nodes_by_id);
	htab_free(&kb->nodes_by_vip4);
	htab_free(&kb->nodes_by_vip6);
}
