/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * node.h - the node daemon's state, shared by the files of src/node (not a
 * public interface: the CLI uses daemon.h, enroll.h and control.h).
 *
 * One thread, one libev loop (the default loop: signals). The struct node
 * owns every watcher it registers (STYLE.md 13), the TUN, the data socket,
 * the control socket, the broker channel and the router.
 *
 * Files:
 *   daemon.c      startup/teardown, signals, readiness, control socket,
 *                 gateway routes, IP forwarding; the CLI's up/down/status
 *   ctl_client.c  the broker channel: connect, HELLO/WELCOME, keepalive,
 *                 reconnect with backoff, dispatch of broker messages
 *   sessions.c    GRANT / OFFER / REFUSE / REVOKE
 *   send.c        TUN -> seal -> UDP; queueing and SESSION_REQ; rekey
 *   receive.c     UDP -> open -> checks -> TUN; roaming
 *   udp.c         the data socket
 *   timers.c      the housekeeping tick (lists every timer)
 *   status_fill.c snapshot for `mavpn status`
 *   pure parts (unit tested alone): nodeconf.c, status.c (drops, renderers),
 *   control.c (pid lock, control socket), decide.c, sockaddr.c; enroll.c
 */
#ifndef MAVPN_NODE_NODE_H
#define MAVPN_NODE_NODE_H

#include <ev.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "crypto/tls.h"
#include "node/nodeconf.h"
#include "node/status.h"
#include "proto/ctl.h"
#include "proto/data.h"
#include "router/icmp.h"
#include "router/router.h"
#include "tun/tun.h"

struct channel;

/* Timing (milliseconds). See timers.c for the list of timers. */
#define NODE_TICK_MS 100u		/* housekeeping period */
#define NODE_REQ_TIMEOUT_MS 5000u	/* brokering without answer: ICMP unreachable */
#define NODE_KEEPALIVE_MS 10000u	/* empty packet after this long without sending... */
#define NODE_IN_USE_MS 25000u		/* ...while data came from the peer this recently */
#define NODE_RESPONDER_PROMOTE_MS 1000u	/* responder promotes next itself after this */
#define BROKER_CONNECT_TIMEOUT_MS 10000u	/* TCP + TLS + WELCOME */
#define BROKER_DEFAULT_KEEPALIVE_S 5u
#define BROKER_DEAD_INTERVALS 3u	/* silent keepalive intervals before reconnect */

#define NODE_DIR_MAX 96		/* the CLI allows 80: DIR/control.sock fits sun_path */
#define NODE_PATH_MAX (NODE_DIR_MAX + 32)
#define NODE_PKT_MAX (DATA_HDR_LEN + DATA_MAX_PAYLOAD + DATA_TAG_LEN)
/* Batching: up to NODE_BATCH packets per sendmmsg / recvmmsg, each in its
 * own slot of NODE_PKT_SLOT bytes (NODE_PKT_MAX rounded up to 64). */
#define NODE_BATCH 32
#define NODE_PKT_SLOT ((NODE_PKT_MAX + 63u) & ~63u)
#define NODE_BUF_SIZE ((size_t)NODE_BATCH * NODE_PKT_SLOT)

enum broker_state {
	BROKER_IDLE = 0,	/* waiting for the retry timer */
	BROKER_CONNECTING,	/* TCP connect in progress */
	BROKER_HANDSHAKE,	/* TLS + HELLO sent, waiting for WELCOME */
	BROKER_UP,		/* WELCOME received */
	BROKER_REVOKED,		/* refused as REVOKED / UNKNOWN_NODE after having been up:
				 * final, no reconnect (node_revoked) */
};

struct broker {
	enum broker_state state;
	int fd;
	struct channel *ch;
	ev_io io;
	ev_timer retry;		/* reconnect after backoff */
	ev_timer ping;		/* PING every keepalive_s; dead-peer check */
	ev_timer deadline;	/* connect + handshake + WELCOME */
	uint32_t backoff_ms;
	uint64_t last_rx_ms;
	uint64_t down_since_ms;	/* 0 while up */
	uint64_t reconnects;
	uint64_t ping_nonce;
	uint32_t keepalive_s;
	bool ever_up;
	bool refused_for_good;	/* ERROR REVOKED / UNKNOWN_NODE after ever_up */
	struct ctl_welcome welcome;
	char last_error[256];
};

struct node {
	struct ev_loop *loop;
	char dir[NODE_DIR_MAX];
	struct nodeconf conf;
	uint64_t start_ms;
	int pid_fd;
	int ready_fd;		/* readiness pipe to `mavpn up`, -1 once used */
	bool foreground;
	int cli_log_level;	/* -v of `mavpn up`, -1 none: wins over mavpn.conf, also on HUP */
	bool stopping;
	int exit_code;

	struct tls_creds *creds;

	struct nl nl;
	struct tun tun;
	ev_io tun_w;

	int udp_fd;
	int udp_family;		/* AF_INET6 (dual stack) or AF_INET */
	uint16_t udp_port;
	ev_io udp_w;

	int ctl_fd;		/* control.sock */
	ev_io ctl_w;

	struct broker bc;
	/* Tests only: when set, broker_send() hands frames here instead of the
	 * channel (and succeeds), so the data path runs without a broker. */
	void (*ctl_sink)(struct node *n, const struct ctl_msg *m);
	struct router rt;
	bool rt_ready;

	/* gateway routes routed into the TUN (WELCOME.routes / ROUTES) */
	uint8_t n_routes;
	struct ctl_prefix routes[CTL_MAX_PREFIXES];
	uint8_t n_own_routes;
	struct ctl_prefix own_routes[CTL_MAX_PREFIXES];
	/* ip_forward values before we changed them (forward = yes) */
	char old_fwd4, old_fwd6;

	struct node_drops drops;
	struct node_session_counters sessions;

	ev_signal sig_term, sig_int, sig_hup, sig_pipe;
	ev_timer tick;

	/* NODE_BATCH packet slots each way (NODE_BUF_SIZE bytes). Send: a
	 * packet is sealed in place in slot tx_n; while tx_batching (one TUN
	 * wakeup) sealed packets wait there and udp_flush() sends them all
	 * with sendmmsg; otherwise each goes at once. Receive: recvmmsg fills
	 * the slots, then each datagram is handled in turn. */
	uint8_t *txbuf;
	uint8_t *rxbuf;
	bool tx_batching;
	unsigned tx_n;
	struct mmsghdr tx_msg[NODE_BATCH];
	struct iovec tx_iov[NODE_BATCH];
	struct sockaddr_storage tx_addr[NODE_BATCH];
	const char *tx_name[NODE_BATCH];	/* peer names, for drop messages */
	uint8_t icmpbuf[ICMP_OUT_MAX];
};

/* daemon.c */
void node_ready(struct node *n);			/* first WELCOME */
/* The broker refused us for good (REVOKED, UNKNOWN_NODE) after we had been
 * up: log it once, erase every session and queued packet, stay up without
 * the broker (status: broker.state "revoked"; `mavpn down` cleans up) and
 * exit with NODE_EXIT_REVOKED when stopped. */
void node_revoked(struct node *n, const char *why);
void node_wait_reason(struct node *n, const char *reason);	/* before ready */
/* Gateway routes into the TUN: make the installed set equal to want. */
void node_set_routes(struct node *n, const struct ctl_prefix *want, uint8_t n_want);
void node_fatal(struct node *n, const char *fmt, ...)	/* stop with an error (exit 1) */
	__attribute__((format(printf, 2, 3)));
void node_fatal_code(struct node *n, int code, const char *fmt, ...)	/* ... exit code */
	__attribute__((format(printf, 3, 4)));

/* ctl_client.c */
void broker_init(struct node *n);
void broker_start(struct node *n);			/* connect now */
void broker_stop(struct node *n);			/* close, no reconnect */
bool broker_up(const struct node *n);
bool broker_revoked(const struct node *n);
/* "connected", "connecting", "handshake", "waiting" (retry timer), "revoked" */
const char *broker_state_name(const struct node *n);
/* Send a frame if connected; false otherwise (the caller retries later). */
bool broker_send(struct node *n, const struct ctl_msg *m);

/* sessions.c: what the broker tells us about sessions */
void sessions_on_grant(struct node *n, const struct ctl_session *g);
void sessions_on_offer(struct node *n, const struct ctl_session *o);
void sessions_on_refuse(struct node *n, const struct ctl_refuse *rf);
void sessions_on_revoke(struct node *n, const struct ctl_revoke *rv);

/* udp.c */
int udp_open(struct node *n, char *err, size_t errlen);
void udp_close(struct node *n);
/* Send pkt to the peer's current endpoint; counts DROP_SEND_ERROR. While
 * n->tx_batching and pkt is slot tx_n of txbuf, it is only queued (sent by
 * udp_flush, at once when the batch is full). */
bool udp_send_to_peer(struct node *n, struct peer *p, const uint8_t *pkt, size_t len);
/* Send the queued batch (sendmmsg); a datagram the kernel refuses is
 * counted as DROP_SEND_ERROR and the rest still go. */
void udp_flush(struct node *n);
/* The send slot the next packet is built in. */
static inline uint8_t *node_tx_slot(struct node *n)
{
	return n->txbuf + (size_t)n->tx_n * NODE_PKT_SLOT;
}

/* send.c */
void send_tun_readable(struct node *n);
/* Seal pkt (plaintext, len bytes) on the peer's current slot and send it. */
bool send_plain_to_peer(struct node *n, struct peer *p, const uint8_t *pkt, size_t len);
bool send_keepalive(struct node *n, struct peer *p);
void send_flush_peer(struct node *n, struct peer *p);
/* Send SESSION_REQ for every pending destination / active peer request
 * (after reconnecting). */
void send_resend_requests(struct node *n);
/* Answer queued packets with ICMP unreachable: pending_fn with ctx =
 * struct icmp_ctx. */
struct icmp_ctx {
	struct node *n;
	int why;		/* enum icmp_unreach */
	enum drop_reason reason;
};
void send_icmp_unreach_cb(void *ctx, const uint8_t *pkt, size_t len);
/* Rekey the peer if its current session nears expiry. */
void send_maybe_rekey(struct node *n, struct peer *p, uint64_t now);

/* receive.c */
void receive_udp_readable(struct node *n);
/* One datagram (buf is modified in place: opened, then written to the TUN). */
void receive_packet(struct node *n, uint8_t *buf, size_t len,
		    const struct sockaddr_storage *from, socklen_t fl);

/* timers.c */
void timers_start(struct node *n);
void timers_stop(struct node *n);

/* status snapshot */
void node_status_fill(struct node *n, struct node_status *s);

#endif
