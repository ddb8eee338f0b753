/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * admin.h - the keybroker's admin socket, DIR/admin.sock (unix stream,
 * mode 0600: root only).
 *
 * Protocol: the client connects, writes ONE request line (terminated by
 * '\n'), the daemon writes its reply and closes. The reply's first line is
 * "ok" or "error: <reason>"; the following lines (if any) are the payload.
 *
 * Requests:
 *   revoke NAME    NAME was just marked revoked in the registry (by the CLI):
 *                  close its channel, send REVOKE to every node holding a
 *                  session with it.
 *   reload         reload DIR/policy.conf (error text "policy.conf:LINE:
 *                  reason" when it is malformed; the old policy stays).
 *   status         human-readable status: connected nodes, live sessions,
 *                  counters, RSS.
 *   status json    the same as one JSON object.
 */
#ifndef MAVPN_KEYBROKER_ADMIN_H
#define MAVPN_KEYBROKER_ADMIN_H

#include <stddef.h>

#define ADMIN_SOCK_NAME "admin.sock"
#define ADMIN_REQUEST_MAX 256		/* one request line, '\n' included */
#define ADMIN_TIMEOUT_MS 5000		/* client side: connect + reply */

/*
 * Client side (the CLI). Sends request (without the trailing '\n') to the
 * daemon serving dir and reads the reply into reply (NUL-terminated,
 * truncated to cap - 1 bytes), with the leading "ok\n" / "error: " status
 * line removed, so reply holds the payload or the error text.
 * Returns 0 when the daemon answered ok, 1 when it answered with an error
 * (reply holds the reason), -1 with errno set when it could not be reached:
 * ENOENT / ECONNREFUSED when the daemon is not running, ETIMEDOUT when it
 * did not answer within ADMIN_TIMEOUT_MS, EINVAL for a request too long or
 * containing '\n'.
 */
int admin_request(const char *dir, const char *request, char *reply, size_t cap)
	__attribute__((warn_unused_result));

#endif
