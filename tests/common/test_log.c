// SPDX-License-Identifier: GPL-2.0-only
/* test_log.c - the line formats of log.c: plain, daemon mode writing to a
 * file (UTC timestamp with milliseconds), daemon mode on the journal
 * ("<N>" only, decided by JOURNAL_STREAM naming stderr). stderr is
 * redirected to a file per test (each test runs in its own process). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static char path[64];
static int saved = -1;

/* stderr -> a fresh file; returns its fd (still open) */
static void capture(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/mavpn-test-log-%d-XXXXXX", (int)getpid());
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	cr_assert(saved >= 0);
	cr_assert(dup2(fd, 2) == 2);
	close(fd);
}

/* restore stderr, return what was written */
static char *release(void)
{
	static char buf[4096];
	FILE *f;
	size_t n;

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	f = fopen(path, "r");
	cr_assert(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(path);
	return buf;
}

static void setup(void)
{
	unsetenv("JOURNAL_STREAM");
	log_init("tlog", LOG_LVL_INFO);
	log_set_daemon(false);
}

TestSuite(log, .init = setup);

Test(log, plain_lines)
{
	capture();
	log_info("hello %d", 42);
	log_debug("not shown at level info");
	errno = ENOENT;
	log_warn_errno("open %s", "x");
	cr_assert_str_eq(release(),
			 "tlog: info: hello 42\n"
			 "tlog: warning: open x: No such file or directory\n");
}

static void match(const char *text, const char *re)
{
	regex_t rx;

	cr_assert_eq(regcomp(&rx, re, REG_EXTENDED | REG_NEWLINE), 0, "%s", re);
	cr_assert_eq(regexec(&rx, text, 0, NULL, 0), 0, "'%s' does not match /%s/", text, re);
	regfree(&rx);
}

/* daemon mode writing to a file: ISO-8601 UTC with milliseconds, near now */
Test(log, daemon_file_lines_have_utc_timestamps)
{
	struct tm tm = { 0 };
	time_t before = time(NULL), t;
	char *out;

	log_set_daemon(true);
	capture();
	log_error("boom");
	log_info("second");
	out = release();
	match(out, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
		   "tlog: error: boom\n"
		   "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
		   "tlog: info: second\n$");
	cr_assert_not_null(strptime(out, "%Y-%m-%dT%H:%M:%S", &tm));
	t = timegm(&tm);
	cr_assert(t >= before - 1 && t <= time(NULL) + 1, "timestamp %lld is not now (%lld)",
		  (long long)t, (long long)before);
	cr_assert_null(strchr(out, '<'), "no journal prefix in a file: %s", out);
}

/* JOURNAL_STREAM naming our stderr: "<N>" only, no timestamp (journald
 * keeps its own) */
Test(log, daemon_on_the_journal_has_priority_only)
{
	struct stat st;
	char v[64];

	capture();
	cr_assert_eq(fstat(2, &st), 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	log_set_daemon(true);
	log_error("e");
	log_warn("w");
	log_info("i");
	cr_assert_str_eq(release(), "<3>tlog: e\n<4>tlog: w\n<6>tlog: i\n");
}

/* inherited JOURNAL_STREAM while stderr is a file (a daemon started from a
 * unit that redirects its stderr): timestamps, not "<N>" */
Test(log, inherited_journal_stream_for_another_file)
{
	setenv("JOURNAL_STREAM", "8:123456789", 1);
	capture();
	log_set_daemon(true);
	log_warn("w");
	match(release(), "^[0-9-]{10}T[0-9:]{8}\\.[0-9]{3}Z tlog: warning: w\n$");
}

/* back to plain */
Test(log, daemon_off_again)
{
	log_set_daemon(true);
	log_set_daemon(false);
	capture();
	log_info("x");
	cr_assert_str_eq(release(), "tlog: info: x\n");
}
