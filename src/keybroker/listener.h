/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * listener.h - the keybroker's TCP listener (internal): one port for
 * enrollment and control. Non-blocking, SO_REUSEADDR; accepts in a loop
 * until EAGAIN; when accept() fails for lack of fds or memory it pauses for
 * KBD_ACCEPT_BACKOFF_S on a timer instead of spinning. Connections beyond
 * kb->conn_cap are closed at once (counted).
 */
#ifndef MAVPN_KEYBROKER_LISTENER_H
#define MAVPN_KEYBROKER_LISTENER_H

#include "keybroker/kbd.h"

/* Bind kb->st.listen. 0, or -1 (logged). */
int listener_open(struct kbd *kb);
void listener_close(struct kbd *kb);

#endif
