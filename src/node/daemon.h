/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * daemon.h - the node daemon as the CLI starts and stops it.
 *
 * node_daemon_run() runs the daemon in the calling process until SIGTERM,
 * SIGINT, `mavpn down` or a fatal error; the TUN, its addresses and routes,
 * the control socket and the pid file are gone when it returns.
 *
 * Readiness: the daemon is ready when the TUN is configured and the broker
 * accepted it (first WELCOME). It then writes "ok PID IFNAME\n" to
 * ready_fd (if >= 0) and sends READY=1 to $NOTIFY_SOCKET (systemd
 * Type=notify). Before that, each failed broker attempt writes
 * "wait REASON\n" and a fatal error "error REASON\n" to ready_fd.
 */
#ifndef MAVPN_NODE_DAEMON_H
#define MAVPN_NODE_DAEMON_H

#include <stdbool.h>

#define NODE_DEFAULT_DIR "/var/lib/mavpn"
#define NODE_UP_TIMEOUT_MS 30000
#define NODE_LOG_FILE "mavpn.log"

struct daemon_opts {
	const char *dir;
	bool foreground;
	int ready_fd;		/* -1: none */
	int log_level;		/* -1: from mavpn.conf */
};

/* The broker refused the node as revoked or unknown (before or after it was
 * first accepted): the node must be enrolled again. systemd/mavpn@.service
 * lists it in RestartPreventExitStatus=. */
#define NODE_EXIT_REVOKED 4

/* Exit code: 0 after a clean stop, 1 after a fatal error, NODE_EXIT_REVOKED
 * when the broker refused it as revoked/unknown: at startup (at once), or
 * later (the daemon then stays up without the broker until stopped). */
int node_daemon_run(const struct daemon_opts *o);

/* `mavpn up` without -f: fork a daemon (its log goes to DIR/mavpn.log) and
 * wait up to timeout_ms for its readiness. Prints the outcome; returns the
 * CLI's exit code (NODE_EXIT_REVOKED when the daemon exited with it). A
 * daemon not ready in time is stopped. */
int node_up_background(const char *dir, int log_level, int timeout_ms);

/* `mavpn down`: ask the daemon to stop and wait until it has exited
 * (SIGTERM, then SIGKILL after timeout_ms). Returns the exit code. */
int node_down(const char *dir, int timeout_ms);

/* `mavpn status`: print the daemon's report. Exit code 0, or 3 when not
 * running. */
int node_status_print(const char *dir, bool json);

#endif
