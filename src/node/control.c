// SPDX-License-Identifier: GPL-2.0-only
/* control.c - pid file lock and control socket; contract in control.h. */
#include "node/control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int control_path(char *out, size_t cap, const char *dir, const char *file)
{
	int n = snprintf(out, cap, "%s/%s", dir, file);

	if (n < 0 || (size_t)n >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static pid_t read_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	long v;
	char *end;

	if (n <= 0)
		return 0;
	buf[n] = 0;
	v = strtol(buf, &end, 10);
	if (end == buf || v <= 0 || v > 0x7fffffff)
		return 0;
	return (pid_t)v;
}

int control_pidfile_lock(const char *dir, int *fd, pid_t *holder)
{
	char path[4096];
	int f;

	*fd = -1;
	*holder = 0;
	if (control_path(path, sizeof path, dir, CONTROL_PIDFILE) < 0)
		return -1;
	f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (f < 0)
		return -1;
	if (flock(f, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		if (e == EWOULDBLOCK) {
			*holder = read_pid(f);
			close(f);
			return 1;
		}
		close(f);
		errno = e;
		return -1;
	}
	*fd = f;
	return 0;
}

int control_pidfile_write(int fd, pid_t pid)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%ld\n", (long)pid);

	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		return -1;
	return 0;
}

pid_t control_running_pid(const char *dir)
{
	pid_t holder;
	int fd;
	int rc = control_pidfile_lock(dir, &fd, &holder);

	if (rc == 0) {
		close(fd);
		return 0;
	}
	if (rc == 1)
		return holder ? holder : 1;
	if (errno == ENOENT)
		return 0;
	return -1;
}

int control_wait_exit(const char *dir, int timeout_ms)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	for (int waited = 0;; waited += 20) {
		pid_t p = control_running_pid(dir);

		if (p == 0)
			return 0;
		if (waited >= timeout_ms)
			return -1;
		nanosleep(&ts, NULL);
	}
}

int control_listen(const char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd;

	if (control_path(sa.sun_path, sizeof sa.sun_path, dir, CONTROL_SOCK) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* Only the lock holder gets here: a socket file left behind is stale. */
	unlink(sa.sun_path);
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;

		umask(old);
		close(fd);
		errno = e;
		return -1;
	}
	umask(old);
	if (listen(fd, 8) < 0) {
		int e = errno;

		close(fd);
		unlink(sa.sun_path);
		errno = e;
		return -1;
	}
	return fd;
}

static int wait_fd(int fd, short ev, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		errno = ETIMEDOUT;
	return n > 0 ? 0 : -1;
}

int control_request(const char *dir, const char *request, char **reply, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[CONTROL_LINE_MAX];
	size_t len = 0, cap = 4096;
	char *buf = NULL;
	int fd, n, e;

	*reply = NULL;
	if (control_path(sa.sun_path, sizeof sa.sun_path, dir, CONTROL_SOCK) < 0)
		return -2;
	n = snprintf(line, sizeof line, "%s\n", request);
	if (n < 0 || (size_t)n >= sizeof line) {
		errno = EINVAL;
		return -2;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -2;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return (e == ENOENT || e == ECONNREFUSED) ? -1 : -2;
	}
	if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n)
		goto fail;
	buf = malloc(cap);
	if (!buf)
		goto fail;
	for (;;) {
		ssize_t k;

		if (len + 1 >= cap) {
			char *nb;

			if (cap >= CONTROL_REPLY_MAX) {
				errno = EMSGSIZE;
				goto fail;
			}
			nb = realloc(buf, cap * 2);
			if (!nb)
				goto fail;
			buf = nb;
			cap *= 2;
		}
		if (wait_fd(fd, POLLIN, timeout_ms) < 0)
			goto fail;
		k = recv(fd, buf + len, cap - len - 1, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			goto fail;
		if (k == 0)
			break;
		len += (size_t)k;
	}
	buf[len] = 0;
	close(fd);
	*reply = buf;
	return 0;
fail:
	e = errno;
	free(buf);
	close(fd);
	errno = e;
	return -2;
}
