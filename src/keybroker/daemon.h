/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * daemon.h - the keybroker daemon (`mavpn-keybroker run -d DIR`).
 *
 * keybroker_run() runs in the foreground on the libev default loop, single
 * threaded, until SIGTERM or SIGINT:
 *   - loads the state in DIR (kbstate_load), opens the registry, loads
 *     DIR/policy.conf (a bad policy refuses to start, logging file:line:
 *     reason);
 *   - raises RLIMIT_NOFILE to its hard limit;
 *   - listens on the configured TCP IP:PORT (enrollment and control share
 *     the port) and on DIR/admin.sock (unix, mode 0600, see admin.h);
 *   - writes DIR/keybroker.pid, logs "listening on IP:PORT", and reports
 *     readiness (READY=1 to $NOTIFY_SOCKET when that is set);
 *   - SIGHUP reloads the policy (same as admin "reload"); each reload is
 *     framed by RELOADING=1 (with MONOTONIC_USEC) and READY=1, and
 *     STOPPING=1 is sent on the way out (systemd Type=notify).
 *
 * Returns 0 after a clean stop by signal (pid file and admin socket
 * removed), 1 when it could not start (reason logged). Never returns an
 * error because of what a client sent.
 */
#ifndef MAVPN_KEYBROKER_DAEMON_H
#define MAVPN_KEYBROKER_DAEMON_H

int keybroker_run(const char *dir);

#endif
