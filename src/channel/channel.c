// SPDX-License-Identifier: GPL-2.0-only
/*
 * channel.c - TLS control channel over a non-blocking socket (contract:
 * channel.h).
 *
 * channel_io() loops until nothing moves: flush queued frames into TLS,
 * drain TLS application data into the reassembly buffer and dispatch every
 * complete frame, then move records to and from the socket. Socket reads
 * are capped per call (RECV_BUDGET) so one busy peer cannot starve the
 * others; the fd stays readable, so a level-triggered watcher comes back.
 * TLS application data is always drained before returning, so no input is
 * ever left waiting without a readiness event to wake us.
 *
 * Closing:
 *   - peer close_notify or TCP EOF     -> CHANNEL_ERR_EOF
 *   - socket error                     -> CHANNEL_ERR_IO (channel_errno)
 *   - TLS failure                      -> CHANNEL_ERR_TLS (channel_tls_error)
 *   - undecodable frame                -> CHANNEL_ERR_PROTOCOL, at once
 *   - output queue above CHANNEL_OUT_MAX -> CHANNEL_ERR_OVERFLOW, at once
 *   - channel_close() / callback -1    -> CHANNEL_ERR_LOCAL, gracefully:
 *     queued frames go out, then close_notify, then we wait for the peer's
 *     close_notify (the caller bounds that wait with its own timer).
 * Frames may carry secrets (session secret, token): the queue and the
 * reassembly buffer are wiped as bytes leave them.
 */
#include "channel/channel.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/ct.h"

#define RECV_BUDGET 16		/* socket reads per channel_io() */
#define OUT_KEEP 4096u		/* queue capacity kept while idle */

struct channel {
	int fd;
	struct tls_conn *tls;
	channel_frame_cb cb;
	void *arg;

	enum channel_err err;
	int sys_errno;
	int tls_err;
	enum ctl_err ctl_err;
	bool closed;		/* final: channel_io() returns CHANNEL_CLOSED */
	bool closing;		/* graceful close requested */
	bool close_sent;	/* tls_close() called */
	char text[160];		/* channel_strerror() */

	uint8_t *out;		/* queued plaintext frames: [out_off, out_len) */
	size_t out_cap, out_off, out_len;

	size_t in_len;
	uint8_t in[CTL_MAX_FRAME];	/* reassembly: never holds a whole frame after dispatch */
};

__attribute__((format(printf, 3, 4)))
static void set_err(struct channel *ch, enum channel_err e, const char *fmt, ...)
{
	va_list ap;

	if (ch->err != CHANNEL_ERR_NONE)
		return;	/* the first reason wins */
	ch->err = e;
	va_start(ap, fmt);
	vsnprintf(ch->text, sizeof ch->text, fmt, ap);
	va_end(ap);
}

static void hard_close(struct channel *ch)
{
	ch->closed = true;
}

struct channel *channel_new(int fd, struct tls_conn *tls, channel_frame_cb cb, void *arg)
{
	struct channel *ch;

	if (fd < 0 || !tls || !cb)
		return NULL;
	ch = calloc(1, sizeof *ch);
	if (!ch)
		return NULL;
	ch->fd = fd;
	ch->tls = tls;
	ch->cb = cb;
	ch->arg = arg;
	snprintf(ch->text, sizeof ch->text, "open");
	return ch;
}

static void out_release(struct channel *ch)
{
	if (ch->out) {
		ct_wipe(ch->out, ch->out_cap);
		free(ch->out);
	}
	ch->out = NULL;
	ch->out_cap = ch->out_off = ch->out_len = 0;
}

void channel_free(struct channel *ch)
{
	if (!ch)
		return;
	if (ch->fd >= 0)
		close(ch->fd);
	tls_free(ch->tls);
	out_release(ch);
	ct_wipe(ch, sizeof *ch);
	free(ch);
}

/* ---- output queue ----------------------------------------------------------- */

static size_t out_pending(const struct channel *ch)
{
	return ch->out_len - ch->out_off;
}

static int out_append(struct channel *ch, const uint8_t *p, size_t n)
{
	size_t pend = out_pending(ch);

	if (pend + n > CHANNEL_OUT_MAX)
		return -1;
	if (ch->out_off && ch->out_len + n > ch->out_cap) {	/* compact first */
		memmove(ch->out, ch->out + ch->out_off, pend);
		ct_wipe(ch->out + pend, ch->out_len - pend);
		ch->out_off = 0;
		ch->out_len = pend;
	}
	if (ch->out_len + n > ch->out_cap) {
		size_t cap = ch->out_cap ? ch->out_cap : 4096;
		uint8_t *nb;

		while (cap < ch->out_len + n)
			cap *= 2;
		if (cap > CHANNEL_OUT_MAX)
			cap = CHANNEL_OUT_MAX;
		nb = malloc(cap);	/* not realloc: the old copy must be wiped */
		if (!nb)
			return -1;
		if (ch->out) {
			memcpy(nb, ch->out, ch->out_len);
			ct_wipe(ch->out, ch->out_cap);
			free(ch->out);
		}
		ch->out = nb;
		ch->out_cap = cap;
	}
	memcpy(ch->out + ch->out_len, p, n);
	ch->out_len += n;
	return 0;
}

/* Hand queued bytes to TLS; true when any moved. */
static bool flush_out(struct channel *ch)
{
	bool moved = false;

	while (out_pending(ch)) {
		size_t k = tls_write(ch->tls, ch->out + ch->out_off, out_pending(ch));

		if (k == 0)
			break;
		ct_wipe(ch->out + ch->out_off, k);
		ch->out_off += k;
		moved = true;
	}
	if (!out_pending(ch)) {
		ch->out_off = ch->out_len = 0;
		if (ch->out_cap > OUT_KEEP)
			out_release(ch);
	}
	return moved;
}

int channel_send(struct channel *ch, const struct ctl_msg *m)
{
	uint8_t frame[CTL_MAX_FRAME];
	ssize_t n;
	int rc = -1;

	if (ch->closed || ch->closing)
		return -1;
	n = ctl_encode(m, frame, sizeof frame);
	if (n < 0)
		goto out;
	if (out_append(ch, frame, (size_t)n) < 0) {
		set_err(ch, CHANNEL_ERR_OVERFLOW,
			"output queue full (%zu bytes queued, limit %u): peer not reading",
			out_pending(ch), CHANNEL_OUT_MAX);
		hard_close(ch);
		goto out;
	}
	rc = 0;
out:
	ct_wipe(frame, n > 0 ? (size_t)n : 0);
	return rc;
}

/* ---- input ------------------------------------------------------------------ */

static void start_close(struct channel *ch, const char *why)
{
	set_err(ch, CHANNEL_ERR_LOCAL, "closed locally (%s)", why);
	ch->closing = true;
}

/* Decode and hand out every complete frame. -1 when the channel died. */
static int dispatch(struct channel *ch)
{
	size_t off = 0;
	int rc = 0;

	while (!ch->closed && !ch->closing && off < ch->in_len) {
		struct ctl_msg m;
		size_t fl;
		enum ctl_err e = ctl_frame_len(ch->in + off, ch->in_len - off, &fl);

		if (e == CTL_ERR_NEED_MORE)
			break;
		if (e == CTL_OK)
			e = ctl_decode(&m, ch->in + off, fl);
		if (e != CTL_OK) {
			ch->ctl_err = e;
			set_err(ch, CHANNEL_ERR_PROTOCOL, "bad control frame: %s", ctl_strerror(e));
			hard_close(ch);
			rc = -1;
			break;
		}
		off += fl;
		if (ch->cb(ch, &m, ch->arg) < 0)
			start_close(ch, "by handler");
		ct_wipe(&m, sizeof m);
	}
	if (ch->closing || ch->closed)
		off = ch->in_len;	/* input after a close request is dropped */
	if (ch->closed)
		rc = -1;		/* e.g. the handler overflowed the queue */
	memmove(ch->in, ch->in + off, ch->in_len - off);
	ct_wipe(ch->in + ch->in_len - off, off);
	ch->in_len -= off;
	return rc;
}

/* Drain TLS application data. 1 progress, 0 none, -1 channel died. */
static int read_in(struct channel *ch)
{
	int progress = 0;

	for (;;) {
		size_t n = tls_read(ch->tls, ch->in + ch->in_len, sizeof ch->in - ch->in_len);

		if (n == 0)
			return progress;
		progress = 1;
		ch->in_len += n;
		if (dispatch(ch) < 0)
			return -1;
	}
}

/* ---- socket ------------------------------------------------------------------ */

static int sock_send(struct channel *ch)
{
	size_t n;
	const uint8_t *b = tls_send_buf(ch->tls, &n);
	ssize_t k;

	if (!b || !n)
		return 0;
	k = send(ch->fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (k > 0) {
		tls_send_ack(ch->tls, (size_t)k);
		return 1;
	}
	if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	ch->sys_errno = errno;
	set_err(ch, CHANNEL_ERR_IO, "send: %s", strerror(errno));
	hard_close(ch);
	return -1;
}

static int sock_recv(struct channel *ch)
{
	size_t n;
	uint8_t *b = tls_recv_buf(ch->tls, &n);
	ssize_t k;

	if (!b || !n)
		return 0;
	k = recv(ch->fd, b, n, MSG_DONTWAIT);
	if (k > 0) {
		tls_recv_ack(ch->tls, (size_t)k);
		return 1;
	}
	if (k == 0) {
		tls_eof(ch->tls);	/* TLS_CLOSED now, unless it closed cleanly before */
		return 1;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	ch->sys_errno = errno;
	set_err(ch, CHANNEL_ERR_IO, "recv: %s", strerror(errno));
	hard_close(ch);
	return -1;
}

static void tls_closed(struct channel *ch)
{
	int e = tls_error(ch->tls);

	if (e == 0 || e == TLS_ERR_IO) {
		set_err(ch, CHANNEL_ERR_EOF, e ? "peer closed the connection"
					       : "peer closed the channel (close_notify)");
	} else {
		ch->tls_err = e;
		set_err(ch, CHANNEL_ERR_TLS, "TLS: %s", tls_strerror(e));
	}
	hard_close(ch);
}

enum channel_status channel_io(struct channel *ch)
{
	int budget = RECV_BUDGET;

	while (!ch->closed) {
		bool progress = false;
		unsigned st = tls_state(ch->tls);
		int r;

		if (st & TLS_CLOSED) {
			tls_closed(ch);
			break;
		}
		if (st & TLS_READY) {
			progress |= flush_out(ch);
			if (ch->closing && !ch->close_sent && !out_pending(ch)) {
				tls_close(ch->tls);
				ch->close_sent = true;
				progress = true;
			}
			r = read_in(ch);
			if (r < 0)
				break;
			progress |= r > 0;
		} else if (ch->closing) {
			hard_close(ch);	/* nothing to flush before the handshake */
			break;
		}
		st = tls_state(ch->tls);
		if (st & TLS_WANT_SEND) {
			r = sock_send(ch);
			if (r < 0)
				break;
			progress |= r > 0;
		}
		if ((st & TLS_WANT_RECV) && budget > 0) {
			r = sock_recv(ch);
			if (r < 0)
				break;
			if (r > 0) {
				budget--;
				progress = true;
			}
		}
		if (!progress)
			break;
	}
	return ch->closed ? CHANNEL_CLOSED : CHANNEL_OK;
}

void channel_close(struct channel *ch)
{
	if (!ch->closed && !ch->closing)
		start_close(ch, "channel_close");
}

int channel_events(const struct channel *ch)
{
	unsigned st;
	int ev = 0;

	if (ch->closed)
		return 0;
	st = tls_state(ch->tls);
	if (st & TLS_CLOSED)
		return 2;	/* let channel_io() run once more to report it */
	if (st & TLS_WANT_RECV)
		ev |= 1;
	if (st & TLS_WANT_SEND)
		ev |= 2;
	return ev;
}

int channel_fd(const struct channel *ch)
{
	return ch->fd;
}

bool channel_ready(const struct channel *ch)
{
	return !ch->closed && (tls_state(ch->tls) & TLS_READY);
}

struct tls_conn *channel_tls(struct channel *ch)
{
	return ch->tls;
}

enum channel_err channel_error(const struct channel *ch)
{
	return ch->err;
}

const char *channel_strerror(const struct channel *ch)
{
	return ch->text;
}

int channel_tls_error(const struct channel *ch)
{
	return ch->tls_err;
}

enum ctl_err channel_ctl_error(const struct channel *ch)
{
	return ch->ctl_err;
}

int channel_errno(const struct channel *ch)
{
	return ch->sys_errno;
}

size_t channel_mem(const struct channel *ch)
{
	return sizeof *ch + ch->out_cap + tls_conn_size();
}

void *channel_arg(const struct channel *ch)
{
	return ch->arg;
}

void channel_set_arg(struct channel *ch, void *arg)
{
	ch->arg = arg;
}
