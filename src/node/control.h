/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * control.h - the files in the node's state directory that tie the CLI to
 * its daemon: the pid file (DIR/mavpn.pid, held under an exclusive flock for
 * the daemon's whole life: one daemon per directory) and the control
 * socket (DIR/control.sock, AF_UNIX stream, mode 0600).
 *
 * Control protocol: the client connects, writes one request line
 * ("status", "status-json" or "stop") and reads the reply until EOF. The
 * first reply line is "ok" or "error: reason"; the rest is the body.
 */
#ifndef MAVPN_NODE_CONTROL_H
#define MAVPN_NODE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CONTROL_SOCK "control.sock"
#define CONTROL_PIDFILE "mavpn.pid"
#define CONTROL_LINE_MAX 128
#define CONTROL_REPLY_MAX (1u << 20)	/* largest reply the client accepts */

/* dir + "/" + file into out; -1 when it does not fit (sun_path is 108). */
int control_path(char *out, size_t cap, const char *dir, const char *file);

/*
 * Take the pid file lock. 0: locked, *fd holds it (keep it open; write
 * the pid with control_pidfile_write once the final pid is known).
 * 1: another process holds it; *holder is its pid (0 if unreadable).
 * -1: error (errno).
 */
int control_pidfile_lock(const char *dir, int *fd, pid_t *holder);
int control_pidfile_write(int fd, pid_t pid);
/* Pid of the running daemon, 0 when none holds the lock, -1 on error. */
pid_t control_running_pid(const char *dir);
/* Wait until no process holds the lock (the daemon has exited), polling
 * up to timeout_ms. 0 when gone, -1 on timeout. */
int control_wait_exit(const char *dir, int timeout_ms);

/* Server: create DIR/control.sock (replacing a stale one), listening,
 * non-blocking, close-on-exec. fd or -1 (errno). */
int control_listen(const char *dir);

/*
 * Client: send request, read the whole reply into a malloc'd,
 * NUL-terminated *reply. 0 ok; -1 no daemon listening (ENOENT,
 * ECONNREFUSED); -2 other error (errno). timeout_ms bounds each wait.
 */
int control_request(const char *dir, const char *request, char **reply, int timeout_ms);

#endif
