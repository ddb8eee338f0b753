// SPDX-License-Identifier: GPL-2.0-only
/* log.c - see log.h for the contract. */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char *log_prog = "mavpn";
static enum log_level log_level = LOG_LVL_INFO;
static bool log_daemon;
static bool log_journal;	/* daemon mode and stderr is the journal */

static const char *const level_name[] = { "error", "warning", "info", "debug" };
static const int level_syslog[] = { 3, 4, 6, 7 };

void log_init(const char *prog, enum log_level level)
{
	log_prog = prog;
	log_level = level;
}

void log_set_level(enum log_level level) { log_level = level; }
enum log_level log_get_level(void) { return log_level; }
/*
 * systemd sets JOURNAL_STREAM=DEV:INODE for a service whose stderr is the
 * journal; children inherit the variable even when their stderr goes
 * elsewhere, so it counts only when it names our stderr. A value that does
 * not parse is believed (the variable is systemd's alone).
 */
static bool stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (!v || !*v)
		return false;
	if (sscanf(v, "%llu:%llu%c", &dev, &ino, &tail) != 2)
		return true;
	if (fstat(2, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_set_daemon(bool daemon)
{
	log_daemon = daemon;
	log_journal = daemon && stderr_is_journal();
}

/* The start of every line, for `level` (-1: no level word). */
static void line_prefix(int level, char *out, size_t cap)
{
	if (log_journal) {
		/* a bug is critical (2) */
		snprintf(out, cap, "<%d>%s: ", level < 0 ? 2 : level_syslog[level], log_prog);
		return;
	}
	size_t n = 0;

	if (log_daemon) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
		n += (size_t)snprintf(out + n, cap - n, ".%03dZ ", (int)(ts.tv_nsec / 1000000));
		if (n >= cap)
			n = cap - 1;
	}
	if (level < 0)
		snprintf(out + n, cap - n, "%s: ", log_prog);
	else
		snprintf(out + n, cap - n, "%s: %s: ", log_prog, level_name[level]);
}

static void vlog(enum log_level level, int err, const char *fmt, va_list ap)
{
	char pre[96], line[1024];
	int n;

	if (level > log_level)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if (err && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n, ": %s", strerror(err));
	line_prefix((int)level, pre, sizeof(pre));
	fprintf(stderr, "%s%s\n", pre, line);
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
	char pre[96];

	line_prefix(-1, pre, sizeof(pre));
	fprintf(stderr, "%sBUG at %s:%d: ", pre, file, line);
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
		if (rl->suppressed && log_level >= LOG_LVL_WARN) {
			char pre[96];

			line_prefix(LOG_LVL_WARN, pre, sizeof(pre));
			fprintf(stderr, "%s%llu similar lines suppressed\n", pre,
				(unsigned long long)rl->suppressed);
		}
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
