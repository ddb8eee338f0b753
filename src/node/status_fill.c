// SPDX-License-Identifier: GPL-2.0-only
/* status_fill.c - snapshot of the running daemon for `mavpn status`. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "crypto/aead.h"
#include "node/node.h"
#include "node/sockaddr.h"

static void fill_peer(struct node_status_peer *o, const struct peer *p, uint64_t now)
{
	const struct session_slot *s = p->current;

	memset(o, 0, sizeof *o);
	snprintf(o->name, sizeof o->name, "%s", p->name);
	o->vip = p->vip4;
	if (p->endpoint_len)
		o->has_endpoint = sockaddr_to_endpoint(&o->endpoint, (const struct sockaddr *)&p->endpoint,
						       p->endpoint_len);
	o->rx_bytes = p->ctr.rx_bytes;
	o->tx_bytes = p->ctr.tx_bytes;
	o->rx_packets = p->ctr.rx_packets;
	o->tx_packets = p->ctr.tx_packets;
	o->session_age_s = -1;
	o->key_left_s = -1;
	o->queued = p->queue.count;
	if (s && s->keys.valid) {
		o->session_age_s = (int64_t)((now - s->created_ms) / 1000);
		o->key_left_s = s->expires_ms > now ? (int64_t)((s->expires_ms - now) / 1000) : 0;
		o->sid = s->sid;
		o->aead = aead_name(s->keys.tx.alg);
		o->state = s->expires_ms > now ? "up" : "expired";
	} else if (p->next && p->next->keys.valid) {
		o->state = "offered";
	} else if (p->req.active) {
		o->state = "pending";
	} else {
		o->state = "idle";
	}
	o->n_allowed = p->n_allowed;
	memcpy(o->allowed, p->allowed, sizeof o->allowed);
}

void node_status_fill(struct node *n, struct node_status *s)
{
	uint64_t now = log_now_ms();
	const struct peer *p;
	unsigned i = 0;

	memset(s, 0, sizeof *s);
	snprintf(s->name, sizeof s->name, "%s", n->conf.name);
	s->pid = (int)getpid();
	snprintf(s->ifname, sizeof s->ifname, "%s", n->tun.ifname);
	s->vip4 = n->conf.vip4;
	s->has_vip6 = n->conf.has_vip6;
	s->vip6 = n->conf.vip6;
	s->listen_port = n->udp_port;
	s->mtu = n->conf.mtu;
	s->uptime_s = (int64_t)((now - n->start_ms) / 1000);
	s->broker = n->conf.broker;
	s->broker_connected = broker_up(n);
	snprintf(s->broker_state, sizeof s->broker_state, "%s", broker_state_name(n));
	s->has_observed = s->broker_connected && n->bc.welcome.observed.ip.af != 0;
	s->observed = n->bc.welcome.observed;
	s->broker_down_s = s->broker_connected ? -1
		: n->bc.down_since_ms ? (int64_t)((now - n->bc.down_since_ms) / 1000)
		: (int64_t)((now - n->start_ms) / 1000);
	s->broker_reconnects = n->bc.reconnects;
	s->n_routes = n->n_routes;
	memcpy(s->routes, n->routes, sizeof s->routes);
	s->n_own_routes = n->n_own_routes;
	memcpy(s->own_routes, n->own_routes, sizeof s->own_routes);
	s->forward = n->conf.forward;
	memcpy(s->drops, n->drops.count, sizeof s->drops);
	if (n->nl.sock && n->tun.ifindex > 0) {
		struct nl_link_info li;
		char err[NL_ERR_MAX];

		if (nl_link_get(&n->nl, n->tun.ifindex, &li, err) == 0 && li.has_stats) {
			s->has_tun_stats = true;
			s->tun_txqueuelen = li.txqlen;
			s->tun_tx_dropped = li.tx_dropped;
		} else {
			log_debug("status: %s", err);
		}
	}
	s->sessions = n->sessions;
	router_for_each_peer(&n->rt, p) {
		if (i >= STATUS_MAX_PEERS)
			break;
		fill_peer(&s->peers[i++], p, now);
	}
	s->n_peers = i;
}
