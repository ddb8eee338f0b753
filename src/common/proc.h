/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * proc.h - process-wide hardening shared by the two daemons.
 */
#ifndef MAVPN_COMMON_PROC_H
#define MAVPN_COMMON_PROC_H

/*
 * No core file, ever: RLIMIT_CORE soft and hard limit 0 (so it cannot be
 * raised again) and PR_SET_DUMPABLE 0 (covers core_pattern pipes such as
 * systemd-coredump, and ptrace by other processes of the same user). Call
 * before any key is loaded. Failures are logged, not fatal.
 */
void proc_no_core_dumps(void);

#endif
