/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * log.h - one logging facility for every mavpn program.
 *
 * Lines go to stderr, one fprintf each:
 *   normal        "prog: level: message"
 *   daemon mode   (log_set_daemon(true)), by where stderr goes:
 *     the systemd journal ($JOURNAL_STREAM names stderr's DEV:INODE)
 *                 "<N>prog: message", N the syslog priority (3 error,
 *                 4 warning, 6 info, 7 debug); journald adds the time
 *     anything else (a file such as the node's DIR/mavpn.log, a pipe)
 *                 "2026-01-31T12:34:56.789Z prog: level: message": ISO-8601
 *                 UTC with milliseconds
 * The *_errno variants append ": strerror(errno)". log_bug() logs and aborts:
 * it marks a state the code believes impossible, never bad input.
 *
 * Rate limiting: a struct log_ratelimit lives next to the counter it guards
 * (one per drop reason); log_ratelimited() returns true when a line may be
 * printed now (burst of 5, then one per second) and counts what it hid.
 */
#ifndef MAVPN_COMMON_LOG_H
#define MAVPN_COMMON_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Program name shown in front of every line; level below which lines print. */
void log_init(const char *prog, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Daemon mode on/off (see the top of this file). Decides journal or
 * timestamp from stderr AT THE CALL: call it once stderr is in place. */
void log_set_daemon(bool daemon);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_msg_errno(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
_Noreturn void log_bug_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_get_level() >= LOG_LVL_DEBUG) log_msg(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)
#define log_error_errno(...) log_msg_errno(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn_errno(...)  log_msg_errno(LOG_LVL_WARN, __VA_ARGS__)
#define log_bug(...) log_bug_at(__FILE__, __LINE__, __VA_ARGS__)

struct log_ratelimit {
	uint64_t window_start_ms;
	uint32_t printed;
	uint64_t suppressed;
};

/* True when a line may be printed now; counts suppressed lines otherwise. */
bool log_ratelimited(struct log_ratelimit *rl);

/* Monotonic milliseconds (CLOCK_MONOTONIC). */
uint64_t log_now_ms(void);

#endif
