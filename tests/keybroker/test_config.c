// SPDX-License-Identifier: GPL-2.0-only
/* Tests for src/common/config.c: syntax errors with line numbers, order,
 * typed getters, atomic writes. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"

static char tmpdir[256];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mavpn-test-config-%ld-XXXXXX", (long)getpid());
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)system(cmd);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static struct config *load_text(const char *text, char err[CONFIG_ERR_MAX])
{
	char path[300];

	snprintf(path, sizeof(path), "%s/t.conf", tmpdir);
	write_file(path, text);
	return config_load(path, err);
}

struct bad_case {
	const char *text;
	int line;		/* expected line in the message */
	const char *needle;	/* expected words in the message */
};

static const struct bad_case bad[] = {
	/* 1 */ { "key = 1\n", 1, "outside of any section" },
	/* 2 */ { "[a]\nx = 1\n\n[b\n", 4, "closing ']'" },
	/* 3 */ { "[a]\nx = 1\nx = 2\n", 3, "repeated" },
	/* 4 */ { "[a]\n[b]\n[A]\n", 3, "section [a] repeated" },
	/* 5 */ { "; c\n# c\n[a]\njust words\n", 4, "expected 'key = value'" },
	/* 6 */ { "[a]\nbad key = 1\n", 2, "bad key name 'bad key'" },
	/* 7 */ { "[a]\n = 1\n", 2, "bad key name ''" },
	/* 8 */ { "[a b]\n", 1, "bad section name 'a b'" },
	/* 9 */ { "[]\n", 1, "bad section name ''" },
	/* 10 */ { "[a]\nx = 1 \\\n", 2, "continuation" },
	/* 11 */ { "[a]\nk:y = 1\n", 2, "bad key name 'k:y'" },
	/* 12 */ { "[a]\r\nx = 1\r\n[a]\r\n", 3, "repeated" },
};

Test(config, syntax_errors_name_the_line, .init = setup, .fini = teardown)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[CONFIG_ERR_MAX] = "";
		char want[32];
		struct config *c = load_text(bad[i].text, err);

		cr_assert_null(c, "case %zu accepted", i + 1);
		snprintf(want, sizeof(want), "t.conf:%d:", bad[i].line);
		cr_assert(strstr(err, want), "case %zu: '%s' lacks '%s'", i + 1, err, want);
		cr_assert(strstr(err, bad[i].needle), "case %zu: '%s' lacks '%s'", i + 1, err,
			  bad[i].needle);
	}
}

Test(config, long_line_and_nul_refused, .init = setup, .fini = teardown)
{
	char err[CONFIG_ERR_MAX];
	char text[1100];
	char path[300];

	snprintf(text, sizeof(text), "[a]\nx = %01050d\n", 7);
	cr_assert_null(load_text(text, err));
	cr_assert(strstr(err, "t.conf:2:") && strstr(err, "longer"), "%s", err);

	snprintf(path, sizeof(path), "%s/nul.conf", tmpdir);
	FILE *f = fopen(path, "w");

	fwrite("[a]\nx = 1\0\n", 1, 11, f);
	fclose(f);
	cr_assert_null(config_load(path, err));
	cr_assert(strstr(err, "NUL"), "%s", err);
}

Test(config, missing_file_quotes_path, .init = setup, .fini = teardown)
{
	char err[CONFIG_ERR_MAX];
	char path[300];

	snprintf(path, sizeof(path), "%s/nope.conf", tmpdir);
	cr_assert_null(config_load(path, err));
	cr_assert(strstr(err, "nope.conf") && strstr(err, strerror(ENOENT)), "%s", err);
}

Test(config, sections_keys_in_order, .init = setup, .fini = teardown)
{
	char err[CONFIG_ERR_MAX];
	struct config *c = load_text("# top comment\n"
				     "[Zeta]\n"
				     "  B = two words ; comment\n"
				     "a=1\n"
				     "\n"
				     "[alpha]\n"
				     "q = \"quoted ; kept\"\n"
				     "empty =\n",
				     err);

	cr_assert_not_null(c, "%s", err);
	cr_assert_eq(config_section_count(c), 2);
	cr_assert_str_eq(config_section_name(c, 0), "zeta");
	cr_assert_str_eq(config_section_name(c, 1), "alpha");
	cr_assert_null(config_section_name(c, 2));
	cr_assert_eq(config_key_count(c, "zeta"), 2);
	cr_assert_str_eq(config_key_name(c, "zeta", 0), "b");
	cr_assert_str_eq(config_key_name(c, "ZETA", 1), "a");
	cr_assert_null(config_key_name(c, "zeta", 2));
	cr_assert_eq(config_section_line(c, "alpha"), 6);
	cr_assert_eq(config_key_line(c, "zeta", "a"), 4);
	cr_assert_eq(config_key_line(c, "zeta", "nope"), 0);
	cr_assert_str_eq(config_get_str(c, "zeta", "b", NULL), "two words");
	cr_assert_str_eq(config_get_str(c, "Zeta", "A", NULL), "1");
	cr_assert_str_eq(config_get_str(c, "alpha", "q", NULL), "quoted ; kept");
	cr_assert_str_eq(config_get_str(c, "alpha", "empty", "def"), "");
	cr_assert_str_eq(config_get_str(c, "alpha", "absent", "def"), "def");
	cr_assert_null(config_get_str(c, "nosuch", "a", NULL));
	config_free(c);
}

struct u32_case {
	const char *value;
	int ret;
	uint32_t out;
};

Test(config, get_u32_table, .init = setup, .fini = teardown)
{
	static const struct u32_case t[] = {
		{ "1280", 0, 1280 }, { "65535", 0, 65535 }, { "1279", -1, 0 },
		{ "65536", -1, 0 }, { "0x500", -1, 0 }, { "-1", -1, 0 }, { "", -1, 0 },
		{ "12a", -1, 0 }, { "99999999999999999999", -1, 0 }, { " 1400", 0, 1400 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char text[128], err[CONFIG_ERR_MAX] = "";
		uint32_t out = 7;

		snprintf(text, sizeof(text), "[node]\nmtu = %s\n", t[i].value);
		struct config *c = load_text(text, err);

		cr_assert_not_null(c, "%s", err);
		int r = config_get_u32(c, "node", "mtu", 1420, 1280, 65535, &out, err);

		cr_assert_eq(r, t[i].ret, "case %zu ('%s')", i, t[i].value);
		if (r == 0) {
			cr_assert_eq(out, t[i].out);
		} else {
			char want[64];

			snprintf(want, sizeof(want), "mtu = '%s'", config_get_str(c, "node", "mtu", ""));
			cr_assert(strstr(err, want) && strstr(err, "[node]"), "%s", err);
		}
		config_free(c);
	}
	/* absent -> default */
	char err[CONFIG_ERR_MAX];
	struct config *c = load_text("[node]\n", err);
	uint32_t out = 0;

	cr_assert_eq(config_get_u32(c, "node", "mtu", 1420, 1280, 65535, &out, err), 0);
	cr_assert_eq(out, 1420);
	config_free(c);
}

Test(config, get_bool_table, .init = setup, .fini = teardown)
{
	static const struct {
		const char *v;
		int ret;
		bool out;
	} t[] = {
		{ "yes", 0, true }, { "No", 0, false }, { "TRUE", 0, true }, { "false", 0, false },
		{ "1", 0, true }, { "0", 0, false }, { "on", 0, true }, { "off", 0, false },
		{ "y", -1, false }, { "nope", -1, false }, { "2", -1, false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char text[128], err[CONFIG_ERR_MAX] = "";
		bool out = !t[i].out;

		snprintf(text, sizeof(text), "[s]\nflag = %s\n", t[i].v);
		struct config *c = load_text(text, err);

		cr_assert_not_null(c, "%s", err);
		cr_assert_eq(config_get_bool(c, "s", "flag", false, &out, err), t[i].ret,
			     "case %zu", i);
		if (t[i].ret == 0)
			cr_assert_eq(out, t[i].out, "case %zu", i);
		else
			cr_assert(strstr(err, t[i].v), "%s", err);
		config_free(c);
	}
}

Test(config, write_atomic_mode_and_content, .init = setup, .fini = teardown)
{
	char path[300];
	char buf[64] = "";
	struct stat st;

	snprintf(path, sizeof(path), "%s/out.conf", tmpdir);
	umask(0);
	cr_assert_eq(config_write_atomic(path, "[a]\nx = 1\n"), 0);
	cr_assert_eq(config_write_atomic(path, "[a]\nx = 2\n"), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600);
	FILE *f = fopen(path, "r");

	cr_assert_eq(fread(buf, 1, sizeof(buf) - 1, f), 10);
	fclose(f);
	cr_assert_str_eq(buf, "[a]\nx = 2\n");
	/* no temporary file left behind */
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 1", tmpdir);
	cr_assert_eq(system(cmd), 0);
	/* unwritable directory -> -1 with errno */
	snprintf(path, sizeof(path), "%s/nodir/out.conf", tmpdir);
	errno = 0;
	cr_assert_eq(config_write_atomic(path, "x"), -1);
	cr_assert_eq(errno, ENOENT);
}
