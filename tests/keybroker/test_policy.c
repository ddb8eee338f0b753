// SPDX-License-Identifier: GPL-2.0-only
/* Tests for src/keybroker/policy.c: decision tables and malformed files. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "keybroker/policy.h"

static char tmpdir[256];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mavpn-test-policy-%ld-XXXXXX", (long)getpid());
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)system(cmd);
}

static struct policy *load(const char *text, char err[POLICY_ERR_MAX])
{
	char path[300];

	snprintf(path, sizeof(path), "%s/policy.conf", tmpdir);
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	return policy_load(path, err);
}

struct q {
	const char *from, *from_tags, *to, *to_tags;
	bool allow;
};

static void check_table(const char *text, const struct q *t, size_t n)
{
	char err[POLICY_ERR_MAX];
	struct policy *p = load(text, err);

	cr_assert_not_null(p, "%s", err);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(policy_allows(p, t[i].from, t[i].from_tags, t[i].to, t[i].to_tags),
			     t[i].allow, "query %zu: %s[%s] -> %s[%s] should be %s", i + 1,
			     t[i].from, t[i].from_tags ? t[i].from_tags : "", t[i].to,
			     t[i].to_tags ? t[i].to_tags : "", t[i].allow ? "allowed" : "denied");
	policy_free(p);
}

Test(policy, default_text_allows_all, .init = setup, .fini = teardown)
{
	static const struct q t[] = {
		{ "a", "", "b", "", true },
		{ "b", NULL, "a", NULL, true },
	};
	check_table(policy_default_text, t, 2);

	char err[POLICY_ERR_MAX];
	struct policy *p = load(policy_default_text, err);

	cr_assert(policy_default_allow(p));
	cr_assert_eq(policy_rule_count(p), 0);
	policy_free(p);
}

Test(policy, empty_file_means_allow, .init = setup, .fini = teardown)
{
	static const struct q t[] = { { "x", "", "y", "", true } };

	check_table("# nothing\n", t, 1);
}

Test(policy, default_deny_with_names, .init = setup, .fini = teardown)
{
	static const struct q t[] = {
		/* 1 */ { "alice", "", "db1", "", true },
		/* 2 */ { "db1", "", "alice", "", false },	/* one-way */
		/* 3 */ { "bob", "", "db1", "", true },
		/* 4 */ { "carol", "", "db1", "", false },
		/* 5 */ { "alice", "", "db2", "", false },
		/* 6 */ { "alic", "", "db1", "", false },	/* no prefix match */
		/* 7 */ { "alice2", "", "db1", "", false },
		/* 8 */ { "alice", "alice", "db1", "", true },
		/* 9 */ { "x", "alice", "db1", "", false },	/* a tag is not a name */
	};
	check_table("[default]\naction = deny\n\n[r1]\nfrom = alice bob\nto = db1\n", t,
		    sizeof(t) / sizeof(t[0]));
}

Test(policy, tags_and_star, .init = setup, .fini = teardown)
{
	static const struct q t[] = {
		/* 1 */ { "l1", "laptop", "s1", "server", true },
		/* 2 */ { "l1", "dev laptop", "s1", "db server", true },
		/* 3 */ { "l1", "laptops", "s1", "server", false },	/* whole words only */
		/* 4 */ { "l1", "lap", "s1", "server", false },
		/* 5 */ { "l1", "laptop", "s1", "", false },
		/* 6 */ { "l1", NULL, "s1", "server", false },
		/* 7 */ { "adm", "admin", "anything", NULL, true },	/* to = * */
		/* 8 */ { "anything", NULL, "adm", "admin", false },
		/* 9 */ { "mon", "", "x", "", true },		/* mon -> * */
		/* 10 */ { "y", "", "mon", "", true },		/* * -> mon */
		/* 11 */ { "s1", "server", "l1", "laptop", false },
	};
	check_table("[default]\n"
		    "action = deny\n"
		    "[laptops-to-servers]\n"
		    "from = tag:laptop\n"
		    "to = tag:server\n"
		    "[admins]\n"
		    "from = tag:admin\n"
		    "to = *\n"
		    "[monitor]\n"
		    "from = mon\n"
		    "to = *\n"
		    "[reach-monitor]\n"
		    "from = *\n"
		    "to = mon\n",
		    t, sizeof(t) / sizeof(t[0]));
}

Test(policy, rules_do_not_restrict_default_allow, .init = setup, .fini = teardown)
{
	/* With default allow, rules only add: everything is allowed. */
	static const struct q t[] = {
		{ "a", "", "b", "", true },
		{ "z", "", "q", "", true },
	};
	check_table("[r]\nfrom = a\nto = b\n", t, 2);
}

Test(policy, new_default, .init = setup, .fini = teardown)
{
	struct policy *p = policy_new_default(false);

	cr_assert_not(policy_allows(p, "a", "", "b", ""));
	policy_free(p);
	p = policy_new_default(true);
	cr_assert(policy_allows(p, "a", "", "b", ""));
	policy_free(p);
	cr_assert_not(policy_allows(NULL, "a", "", "b", ""));
}

struct bad {
	const char *text;
	int line;
	const char *needle;
};

Test(policy, malformed_files_name_line_and_reason, .init = setup, .fini = teardown)
{
	static const struct bad t[] = {
		/* 1 */ { "[default]\naction = maybe\n", 2, "action = 'maybe': must be allow or deny" },
		/* 2 */ { "[default]\nacton = deny\n", 2, "unknown key 'acton'" },
		/* 3 */ { "[default]\naction = deny\n[web]\nform = a\nto = b\n", 4,
			   "unknown key 'form'" },
		/* 4 */ { "[web]\nfrom = a\n", 1, "rule without 'to'" },
		/* 5 */ { "\n\n[web]\nto = a\n", 3, "rule without 'from'" },
		/* 6 */ { "[web]\nfrom =\nto = b\n", 2, "from: empty list" },
		/* 7 */ { "[web]\nfrom = a\nto =   \n", 3, "to: empty list" },
		/* 8 */ { "[web]\nfrom = Alice\nto = b\n", 2, "bad selector 'Alice'" },
		/* 9 */ { "[web]\nfrom = a\nto = tag:\n", 3, "bad selector 'tag:'" },
		/* 10 */ { "[web]\nfrom = a\nto = tag:Big\n", 3, "bad selector 'tag:Big'" },
		/* 11 */ { "[web]\nfrom = a\nto = -x\n", 3, "bad selector '-x'" },
		/* 12 */ { "[web]\nfrom = a **\nto = b\n", 2, "bad selector '**'" },
		/* 13 */ { "[web]\nfrom = a\nto = b\n[web]\nfrom = c\nto = d\n", 4, "repeated" },
		/* 14 */ { "from = a\n", 1, "outside of any section" },
		/* 15 */ { "[default]\naction = Allow\n", 2, "action = 'Allow'" },
		/* 16 */ { "[web]\nfrom = a,b\nto = c\n", 2, "bad selector 'a,b'" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char err[POLICY_ERR_MAX] = "";
		char want[64];
		struct policy *p = load(t[i].text, err);

		cr_assert_null(p, "case %zu accepted", i + 1);
		snprintf(want, sizeof(want), "policy.conf:%d:", t[i].line);
		cr_assert(strstr(err, want), "case %zu: '%s' lacks '%s'", i + 1, err, want);
		cr_assert(strstr(err, t[i].needle), "case %zu: '%s' lacks '%s'", i + 1, err,
			  t[i].needle);
	}
}

Test(policy, long_name_limits, .init = setup, .fini = teardown)
{
	char text[512], err[POLICY_ERR_MAX];
	char n63[64], n64[65];

	memset(n63, 'a', 63);
	n63[63] = '\0';
	memset(n64, 'a', 64);
	n64[64] = '\0';
	snprintf(text, sizeof(text), "[default]\naction=deny\n[r]\nfrom = %s\nto = *\n", n63);
	struct policy *p = load(text, err);

	cr_assert_not_null(p, "%s", err);
	cr_assert(policy_allows(p, n63, "", "x", ""));
	cr_assert_not(policy_allows(p, "a", "", "x", ""));
	policy_free(p);
	snprintf(text, sizeof(text), "[r]\nfrom = %s\nto = *\n", n64);
	cr_assert_null(load(text, err));
	cr_assert(strstr(err, "policy.conf:2:"), "%s", err);
}
