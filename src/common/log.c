// SPDX-License-Identifier: GPL-2.0-only
/* log.c - see log.h for the contract. */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *log_prog = "mavpn";
static enum log_level log_level = LOG_LVL_INFO;
static bool log_daemon;

static const char *const level_name[] = { "error", "warning", "info", "debug" };
static const int level_syslog[] = { 3, 4, 6, 7 };

void log_init(const char *prog, enum log_level level)
{
	log_prog = prog;
	log_level = level;
}

void log_set_level(enum log_level level) { log_level = level; }
enum log_level log_get_level(void) { return log_level; }
void log_set_daemon(bool daemon) { log_daemon = daemon; }

static void vlog(enum log_level level, int err, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	if (level > log_level)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if (err && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n, ": %s", strerror(err));
	if (log_daemon)
		fprintf(stderr, "<%d>%s: %s\n", level_syslog[level], log_prog, line);
	else
		fprintf(stderr, "%s: %s: %s\n", log_prog, level_name[level], line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, 0, fmt, ap);
	va_end(ap);
}

void log_msg_errno(enum log_level level, const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(level, err, fmt, ap);
	va_end(ap);
	errno = err;
}

void log_bug_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: BUG at %s:%d: ", log_prog, file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

uint64_t log_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

bool log_ratelimited(struct log_ratelimit *rl)
{
	uint64_t now = log_now_ms();

	if (now - rl->window_start_ms >= 1000) {
		if (rl->suppressed && log_level >= LOG_LVL_WARN)
			fprintf(stderr, "%s: warning: %llu similar lines suppressed\n",
				log_prog, (unsigned long long)rl->suppressed);
		rl->window_start_ms = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed < 5) {
		rl->printed++;
		return true;
	}
	rl->suppressed++;
	return false;
}
