/* SPDX-License-Identifier: GPL-2.0-only */
/* admin.c - the admin socket: server side (daemon) and admin_request()
 * (command line). See admin.h. */
#include "keybroker/admin.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "keybroker/broker.h"
#include "keybroker/kbd.h"

static int sock_path(struct sockaddr_un *sa, const char *dir)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if ((size_t)snprintf(sa->sun_path, sizeof sa->sun_path, "%s/%s", dir,
			     ADMIN_SOCK_NAME) >= sizeof sa->sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* ---- client ---------------------------------------------------------------- */

static int wait_fd(int fd, short ev, uint64_t deadline)
{
	for (;;) {
		uint64_t now = log_now_ms();
		struct pollfd p = { .fd = fd, .events = ev };
		int k;

		if (now >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		k = poll(&p, 1, (int)(deadline - now));
		if (k > 0)
			return 0;
		if (k < 0 && errno != EINTR)
			return -1;
	}
}

int admin_request(const char *dir, const char *request, char *reply, size_t cap)
{
	uint64_t deadline = log_now_ms() + ADMIN_TIMEOUT_MS;
	struct sockaddr_un sa;
	char line[ADMIN_REQUEST_MAX + 1];
	char *buf = NULL;
	size_t len = 0, bcap = 0, n;
	int fd = -1, rc = -1, saved;
	char *body;

	if (cap)
		reply[0] = '\0';
	n = strlen(request);
	if (n + 1 > ADMIN_REQUEST_MAX || strchr(request, '\n')) {
		errno = EINVAL;
		return -1;
	}
	if (sock_path(&sa, dir) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (errno != EINPROGRESS && errno != EAGAIN)
			goto out;
		if (wait_fd(fd, POLLOUT, deadline) < 0)
			goto out;
	}
	memcpy(line, request, n);
	line[n++] = '\n';
	for (size_t off = 0; off < n;) {
		ssize_t k = send(fd, line + off, n - off, MSG_NOSIGNAL);

		if (k > 0) {
			off += (size_t)k;
			continue;
		}
		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, deadline) < 0)
				goto out;
			continue;
		}
		goto out;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t k;

		if (len + 4096 + 1 > bcap) {
			char *nb = realloc(buf, bcap ? bcap * 2 : 8192);

			if (!nb)
				goto out;
			buf = nb;
			bcap = bcap ? bcap * 2 : 8192;
		}
		k = recv(fd, buf + len, bcap - len - 1, 0);
		if (k > 0) {
			len += (size_t)k;
			continue;
		}
		if (k == 0)
			break;
		if (errno == EAGAIN || errno == EINTR) {
			if (wait_fd(fd, POLLIN, deadline) < 0)
				goto out;
			continue;
		}
		goto out;
	}
	if (!buf) {
		errno = EPROTO;
		goto out;
	}
	buf[len] = '\0';
	if (strncmp(buf, "ok\n", 3) == 0 || strcmp(buf, "ok") == 0) {
		body = buf + (len >= 3 ? 3 : len);
		rc = 0;
	} else if (strncmp(buf, "error: ", 7) == 0) {
		body = buf + 7;
		if (len && buf[len - 1] == '\n')
			buf[len - 1] = '\0';
		rc = 1;
	} else {
		errno = EPROTO;
		goto out;
	}
	if (cap)
		snprintf(reply, cap, "%s", body);
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	free(buf);
	errno = saved;
	return rc;
}

/* ---- server ---------------------------------------------------------------- */

struct aclient {
	struct kbd *kb;
	struct aclient *prev, *next;	/* kb->aclients */
	ev_io io;
	ev_timer timer;
	char in[ADMIN_REQUEST_MAX];
	size_t in_len;
	char *out;
	size_t out_len, out_pos;
};

static void aclient_free(struct aclient *a)
{
	if (a->prev)
		a->prev->next = a->next;
	else
		a->kb->aclients = a->next;
	if (a->next)
		a->next->prev = a->prev;
	ev_io_stop(a->kb->loop, &a->io);
	ev_timer_stop(a->kb->loop, &a->timer);
	close(a->io.fd);
	free(a->out);
	free(a);
}

static void set_reply(struct aclient *a, bool ok, const char *text)
{
	size_t tl = strlen(text);

	a->out = malloc(tl + 16);
	if (!a->out) {
		a->out_len = 0;
		return;
	}
	a->out_len = (size_t)sprintf(a->out, "%s%s%s", ok ? "ok\n" : "error: ", text,
				     (!ok && (tl == 0 || text[tl - 1] != '\n')) ? "\n" : "");
}

static void handle(struct aclient *a, char *req)
{
	struct kbd *kb = a->kb;
	char err[512];

	if (strncmp(req, "revoke ", 7) == 0) {
		if (broker_revoke(kb, req + 7, err, sizeof err) == 0)
			set_reply(a, true, "");
		else
			set_reply(a, false, err);
	} else if (strcmp(req, "reload") == 0) {
		if (kbd_reload(kb, err, sizeof err) == 0)
			set_reply(a, true, "");
		else
			set_reply(a, false, err);
	} else if (strcmp(req, "status") == 0 || strcmp(req, "status json") == 0) {
		char *s = status_text(kb, req[6] != '\0');

		if (s) {
			set_reply(a, true, s);
			free(s);
		} else {
			set_reply(a, false, "out of memory");
		}
	} else {
		char q[80];

		snprintf(q, sizeof q, "%s", req);
		for (char *p = q; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
		snprintf(err, sizeof err,
			 "unknown request '%s' (revoke NAME | reload | status [json])", q);
		set_reply(a, false, err);
	}
}

static void aclient_cb(EV_P_ ev_io *w, int revents)
{
	struct aclient *a = container_of(w, struct aclient, io);

	(void)revents;
	if (!a->out) {
		ssize_t k = recv(w->fd, a->in + a->in_len, sizeof a->in - a->in_len, 0);
		char *nl;

		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (k <= 0) {
			aclient_free(a);
			return;
		}
		a->in_len += (size_t)k;
		nl = memchr(a->in, '\n', a->in_len);
		if (!nl && a->in_len < sizeof a->in)
			return;
		if (!nl)
			set_reply(a, false, "request too long");
		else {
			*nl = '\0';
			handle(a, a->in);
		}
		if (!a->out) {
			aclient_free(a);
			return;
		}
		ev_io_stop(EV_A, w);
		ev_io_set(w, w->fd, EV_WRITE);
		ev_io_start(EV_A, w);
	}
	while (a->out_pos < a->out_len) {
		ssize_t k = send(w->fd, a->out + a->out_pos, a->out_len - a->out_pos,
				 MSG_NOSIGNAL);

		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (k <= 0)
			break;
		a->out_pos += (size_t)k;
	}
	aclient_free(a);
}

static void aclient_timeout(EV_P_ ev_timer *w, int revents)
{
	(void)EV_A;
	(void)revents;
	aclient_free(w->data);
}

static void accept_cb(EV_P_ ev_io *w, int revents)
{
	struct kbd *kb = w->data;

	(void)revents;
	for (;;) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ucred cr;
		socklen_t cl = sizeof cr;
		struct aclient *a;

		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 ||
		    (cr.uid != 0 && cr.uid != geteuid())) {
			log_warn("admin socket: refused a client with uid %u", (unsigned)cr.uid);
			close(fd);
			continue;
		}
		a = calloc(1, sizeof *a);
		if (!a) {
			close(fd);
			continue;
		}
		a->kb = kb;
		a->next = kb->aclients;
		if (kb->aclients)
			kb->aclients->prev = a;
		kb->aclients = a;
		ev_io_init(&a->io, aclient_cb, fd, EV_READ);
		ev_io_start(EV_A, &a->io);
		ev_timer_init(&a->timer, aclient_timeout, ADMIN_TIMEOUT_MS / 1000.0, 0.);
		a->timer.data = a;
		ev_timer_start(EV_A, &a->timer);
	}
}

int admin_listen(struct kbd *kb)
{
	struct sockaddr_un sa;
	mode_t old;
	int fd, probe;

	if (sock_path(&sa, kb->dir) < 0) {
		log_error("admin socket path in %s is too long", kb->dir);
		return -1;
	}
	/* A live daemon already answering there? */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0) {
		close(probe);
		log_error("%s: another keybroker is running on this state directory",
			  sa.sun_path);
		return -1;
	}
	if (probe >= 0)
		close(probe);
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		log_error_errno("admin socket");
		return -1;
	}
	old = umask(0077);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		umask(old);
		log_error_errno("bind %s", sa.sun_path);
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(sa.sun_path, 0600) < 0 || listen(fd, 16) < 0) {
		log_error_errno("admin socket %s", sa.sun_path);
		close(fd);
		unlink(sa.sun_path);
		return -1;
	}
	kb->afd = fd;
	ev_io_init(&kb->aio, accept_cb, fd, EV_READ);
	kb->aio.data = kb;
	ev_io_start(kb->loop, &kb->aio);
	return 0;
}

void admin_stop(struct kbd *kb)
{
	struct sockaddr_un sa;

	while (kb->aclients)
		aclient_free(kb->aclients);
	if (kb->afd < 0)
		return;
	ev_io_stop(kb->loop, &kb->aio);
	close(kb->afd);
	kb->afd = -1;
	if (sock_path(&sa, kb->dir) == 0)
		unlink(sa.sun_path);
}
