/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * channel.h - a control channel: one non-blocking TCP socket, one TLS
 * connection, control-frame reassembly. Shared by the node's control client
 * and the broker's listener; knows no event loop (the caller owns the
 * ev_io and re-arms it from channel_events()).
 *
 * Lifecycle: channel_new() takes ownership of fd and tls. The caller calls
 * channel_io() when the fd is readable/writable (or after queueing frames);
 * it pumps TLS both ways and hands every complete, decoded frame to the
 * on_frame callback in arrival order. A frame that fails to decode closes
 * the channel (error CHANNEL_ERR_PROTOCOL, ctl error in channel_ctl_error()).
 * After channel_io() returns CHANNEL_CLOSED the caller frees the channel.
 *
 * Output is queued (bounded by CHANNEL_OUT_MAX bytes); channel_send()
 * returns -1 when the queue is full (the peer is not reading). A full queue
 * is fatal: the channel is closed with CHANNEL_ERR_OVERFLOW at once (the
 * next channel_io() returns CHANNEL_CLOSED). A frame that cannot be encoded
 * returns -1 and leaves the channel open.
 *
 * Graceful close (channel_close(), or the callback returning -1): queued
 * frames are flushed, close_notify is sent, and the channel closes when the
 * peer's close_notify arrives (a mavpn peer answers at once); bound the
 * wait with a timer. Frames received after the close request are dropped.
 * Memory: channel_mem() ~24 KB per idle channel (8 KiB reassembly buffer,
 * TLS ~16 KB, output queue on demand).
 */
#ifndef MAVPN_CHANNEL_CHANNEL_H
#define MAVPN_CHANNEL_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/tls.h"
#include "proto/ctl.h"

#define CHANNEL_OUT_MAX (64u * 1024u)

struct channel;

/* Called once per received frame; m is wiped after the call returns.
 * Return 0 to continue, -1 to close the channel. */
typedef int (*channel_frame_cb)(struct channel *ch, const struct ctl_msg *m, void *arg);

struct channel *channel_new(int fd, struct tls_conn *tls, channel_frame_cb cb, void *arg);
void channel_free(struct channel *ch);	/* closes the fd, frees tls */

enum channel_status {
	CHANNEL_OK = 0,		/* still open */
	CHANNEL_CLOSED,		/* closed cleanly or by error: see channel_error() */
};

enum channel_err {
	CHANNEL_ERR_NONE = 0,
	CHANNEL_ERR_EOF,	/* peer closed the TCP connection */
	CHANNEL_ERR_IO,		/* socket error (errno in channel_errno()) */
	CHANNEL_ERR_TLS,	/* TLS failure (code in channel_tls_error()) */
	CHANNEL_ERR_PROTOCOL,	/* bad frame (code in channel_ctl_error()) */
	CHANNEL_ERR_OVERFLOW,	/* output queue full */
	CHANNEL_ERR_LOCAL,	/* closed by us (callback returned -1, channel_close) */
};

enum channel_status channel_io(struct channel *ch);

/* Encode and queue a frame; then call channel_io() (or wait for writability).
 * -1 if it cannot be encoded or the queue is full. */
int channel_send(struct channel *ch, const struct ctl_msg *m);

/* Start a graceful close (TLS close_notify after queued frames). */
void channel_close(struct channel *ch);

/* Wanted readiness: bit 1 = read, bit 2 = write (EV_READ/EV_WRITE values). */
int channel_events(const struct channel *ch);
int channel_fd(const struct channel *ch);
bool channel_ready(const struct channel *ch);	/* TLS handshake complete */
struct tls_conn *channel_tls(struct channel *ch);

enum channel_err channel_error(const struct channel *ch);
const char *channel_strerror(const struct channel *ch);	/* human text incl. details */
int channel_tls_error(const struct channel *ch);
int channel_errno(const struct channel *ch);	/* CHANNEL_ERR_IO: the socket errno */
enum ctl_err channel_ctl_error(const struct channel *ch);
size_t channel_mem(const struct channel *ch);	/* bytes held, for accounting */
void *channel_arg(const struct channel *ch);
void channel_set_arg(struct channel *ch, void *arg);

#endif
