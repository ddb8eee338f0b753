/* SPDX-License-Identifier: GPL-2.0-only */
/* listener.c - see listener.h. */
#include "keybroker/listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "keybroker/conn.h"

static void to_endpoint(const struct sockaddr_storage *ss, struct ctl_endpoint *e)
{
	memset(e, 0, sizeof *e);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		ctl_ip_from_v4(&e->ip, (const uint8_t *)&s4->sin_addr);
		e->port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		const uint8_t *a = s6->sin6_addr.s6_addr;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			ctl_ip_from_v4(&e->ip, a + 12);
		else
			ctl_ip_from_v6(&e->ip, a);
		e->port = ntohs(s6->sin6_port);
	}
}

static void backoff_cb(EV_P_ ev_timer *w, int revents)
{
	struct kbd *kb = w->data;

	(void)revents;
	ev_io_start(EV_A, &kb->lio);
}

static void accept_cb(EV_P_ ev_io *w, int revents)
{
	struct kbd *kb = w->data;

	(void)revents;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		struct ctl_endpoint peer;
		int fd = accept4(w->fd, (struct sockaddr *)&ss, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		int one = 1;

		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			kb->cnt.accept_errors++;
			{
				static struct log_ratelimit rl;

				if (log_ratelimited(&rl))
					log_warn_errno("accept (pausing %.0f ms)",
						       KBD_ACCEPT_BACKOFF_S * 1000);
			}
			ev_io_stop(EV_A, w);
			ev_timer_set(&kb->lbackoff, KBD_ACCEPT_BACKOFF_S, 0.);
			ev_timer_start(EV_A, &kb->lbackoff);
			return;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		to_endpoint(&ss, &peer);
		conn_accept(kb, fd, &peer);
	}
}

int listener_open(struct kbd *kb)
{
	const struct ctl_endpoint *l = &kb->st.listen;
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;

	memset(&ss, 0, sizeof ss);
	if (l->ip.af == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(l->port);
		memcpy(&s4->sin_addr, l->ip.a, 4);
		sl = sizeof *s4;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(l->port);
		memcpy(&s6->sin6_addr, l->ip.a, 16);
		sl = sizeof *s6;
	}
	ctl_endpoint_fmt(l, kb->listen_text);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_error_errno("socket");
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		log_error_errno("bind %s", kb->listen_text);
		close(fd);
		return -1;
	}
	if (listen(fd, 4096) < 0) {
		log_error_errno("listen %s", kb->listen_text);
		close(fd);
		return -1;
	}
	kb->lfd = fd;
	ev_io_init(&kb->lio, accept_cb, fd, EV_READ);
	kb->lio.data = kb;
	ev_io_start(kb->loop, &kb->lio);
	ev_timer_init(&kb->lbackoff, backoff_cb, KBD_ACCEPT_BACKOFF_S, 0.);
	kb->lbackoff.data = kb;
	return 0;
}

void listener_close(struct kbd *kb)
{
	if (kb->lfd < 0)
		return;
	ev_io_stop(kb->loop, &kb->lio);
	ev_timer_stop(kb->loop, &kb->lbackoff);
	close(kb->lfd);
	kb->lfd = -1;
}
