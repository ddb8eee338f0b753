// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy.c - DIR/policy.conf: parse once into rules, answer policy_allows().
 * Format and semantics: policy.h.
 */
#include "keybroker/policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 63		/* = PKI_NAME_MAX */
#define TAG_MAX_LEN 31

enum sel_kind { SEL_ANY, SEL_NAME, SEL_TAG };

struct selector {
	enum sel_kind kind;
	char text[NAME_MAX_LEN + 1];	/* node name or tag */
};

struct sel_list {
	int n;
	struct selector *s;
};

struct rule {
	struct sel_list from, to;
};

struct policy {
	bool default_allow;
	int nrules;
	struct rule *rules;
};

const char policy_default_text[] =
	"# mavpn keybroker policy: who may open a session to whom.\n"
	"#\n"
	"# [default]\n"
	"# action = allow | deny     what happens when no rule below matches\n"
	"#                           (allow when absent)\n"
	"#\n"
	"# Every other section is one ALLOW rule (its name is a label):\n"
	"#   [laptops-to-servers]\n"
	"#   from = tag:laptop alice   sessions FROM these nodes ...\n"
	"#   to   = tag:server db1     ... TO these nodes are allowed\n"
	"# Selectors: a node name, tag:TAG (nodes carrying that tag) or * (any).\n"
	"# Rules are one-way. A gateway's routes are reached when the gateway\n"
	"# node itself may be reached. Apply changes with\n"
	"# `mavpn-keybroker policy reload -d DIR` (or SIGHUP).\n"
	"\n"
	"[default]\n"
	"action = allow\n";

__attribute__((format(printf, 2, 3)))
static void seterr(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, POLICY_ERR_MAX, fmt, ap);
	va_end(ap);
}

/* Mirrors pki_name_valid(): [a-z0-9][a-z0-9.-]{0,62}. */
static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (!alnum && (i == 0 || (ch != '.' && ch != '-')))
			return false;
	}
	return true;
}

/* Same rule as registry_tags_valid() words: [a-z0-9_-]{1,31}. */
static bool tag_ok(const char *s, size_t n)
{
	if (n == 0 || n > TAG_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
		      ch == '-'))
			return false;
	}
	return true;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Parse one from/to value into l. 0 or -1 with err. */
static int parse_list(struct sel_list *l, const char *value, const char *path, int line,
		      const char *sec, const char *key, char *err)
{
	const char *p = value;

	l->n = 0;
	l->s = NULL;
	for (;;) {
		while (is_blank(*p))
			p++;
		if (!*p)
			break;
		const char *w = p;

		while (*p && !is_blank(*p))
			p++;
		size_t n = (size_t)(p - w);
		struct selector sel = { 0 };

		if (n == 1 && w[0] == '*') {
			sel.kind = SEL_ANY;
		} else if (n > 4 && strncmp(w, "tag:", 4) == 0 && tag_ok(w + 4, n - 4)) {
			sel.kind = SEL_TAG;
			memcpy(sel.text, w + 4, n - 4);
		} else if (name_ok(w, n)) {
			sel.kind = SEL_NAME;
			memcpy(sel.text, w, n);
		} else {
			seterr(err, "%s:%d: [%s] %s: bad selector '%.*s' (node name, tag:TAG or *)",
			       path, line, sec, key, (int)(n > 80 ? 80 : n), w);
			goto fail;
		}
		if (l->n == POLICY_MAX_SELECTORS) {
			seterr(err, "%s:%d: [%s] %s: more than %d selectors", path, line, sec, key,
			       POLICY_MAX_SELECTORS);
			goto fail;
		}
		struct selector *ns = realloc(l->s, (size_t)(l->n + 1) * sizeof(*ns));

		if (!ns) {
			seterr(err, "%s: out of memory", path);
			goto fail;
		}
		l->s = ns;
		l->s[l->n++] = sel;
	}
	if (l->n == 0) {
		seterr(err, "%s:%d: [%s] %s: empty list (node names, tag:TAG or *)", path, line,
		       sec, key);
		return -1;
	}
	return 0;
fail:
	free(l->s);
	l->s = NULL;
	l->n = 0;
	return -1;
}

static int parse_default(struct policy *p, const struct config *c, const char *path,
			 char *err)
{
	for (int k = 0; k < config_key_count(c, "default"); k++) {
		const char *key = config_key_name(c, "default", k);

		if (strcmp(key, "action") != 0) {
			seterr(err, "%s:%d: [default] unknown key '%s' (only 'action')", path,
			       config_key_line(c, "default", key), key);
			return -1;
		}
	}
	const char *a = config_get_str(c, "default", "action", "allow");

	if (strcmp(a, "allow") == 0) {
		p->default_allow = true;
	} else if (strcmp(a, "deny") == 0) {
		p->default_allow = false;
	} else {
		seterr(err, "%s:%d: [default] action = '%s': must be allow or deny", path,
		       config_key_line(c, "default", "action"), a);
		return -1;
	}
	return 0;
}

static int parse_rule(struct rule *r, const struct config *c, const char *sec,
		      const char *path, char *err)
{
	for (int k = 0; k < config_key_count(c, sec); k++) {
		const char *key = config_key_name(c, sec, k);

		if (strcmp(key, "from") != 0 && strcmp(key, "to") != 0) {
			seterr(err, "%s:%d: [%s] unknown key '%s' (a rule takes 'from' and 'to')",
			       path, config_key_line(c, sec, key), sec, key);
			return -1;
		}
	}
	static const char *const keys[2] = { "from", "to" };
	struct sel_list *lists[2] = { &r->from, &r->to };

	for (int i = 0; i < 2; i++) {
		const char *v = config_get_str(c, sec, keys[i], NULL);

		if (!v) {
			seterr(err, "%s:%d: [%s] rule without '%s'", path,
			       config_section_line(c, sec), sec, keys[i]);
			return -1;
		}
		if (parse_list(lists[i], v, path, config_key_line(c, sec, keys[i]), sec, keys[i],
			       err) < 0)
			return -1;
	}
	return 0;
}

struct policy *policy_load(const char *path, char err[static POLICY_ERR_MAX])
{
	struct config *c;
	struct policy *p;

	err[0] = '\0';
	c = config_load(path, err);
	if (!c)
		return NULL;
	p = policy_new_default(true);
	if (!p) {
		seterr(err, "%s: out of memory", path);
		goto fail;
	}
	if (parse_default(p, c, path, err) < 0)
		goto fail;
	int nsec = config_section_count(c);

	if (nsec > POLICY_MAX_RULES + 1) {
		seterr(err, "%s: more than %d rules", path, POLICY_MAX_RULES);
		goto fail;
	}
	p->rules = calloc((size_t)(nsec ? nsec : 1), sizeof(*p->rules));
	if (!p->rules) {
		seterr(err, "%s: out of memory", path);
		goto fail;
	}
	for (int i = 0; i < nsec; i++) {
		const char *sec = config_section_name(c, i);

		if (strcmp(sec, "default") == 0)
			continue;
		/* counted first so policy_free releases a half-parsed rule */
		struct rule *r = &p->rules[p->nrules++];

		if (parse_rule(r, c, sec, path, err) < 0)
			goto fail;
	}
	config_free(c);
	return p;
fail:
	config_free(c);
	policy_free(p);
	return NULL;
}

struct policy *policy_new_default(bool default_allow)
{
	struct policy *p = calloc(1, sizeof(*p));

	if (p)
		p->default_allow = default_allow;
	return p;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nrules; i++) {
		free(p->rules[i].from.s);
		free(p->rules[i].to.s);
	}
	free(p->rules);
	free(p);
}

/* Is `word` one of the blank-separated words of `list`? */
static bool has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);

	if (!list)
		return false;
	for (const char *p = list; *p;) {
		while (is_blank(*p))
			p++;
		const char *w = p;

		while (*p && !is_blank(*p))
			p++;
		if ((size_t)(p - w) == wl && wl && memcmp(w, word, wl) == 0)
			return true;
	}
	return false;
}

static bool list_matches(const struct sel_list *l, const char *name, const char *tags)
{
	for (int i = 0; i < l->n; i++) {
		const struct selector *s = &l->s[i];

		switch (s->kind) {
		case SEL_ANY:
			return true;
		case SEL_NAME:
			if (name && strcmp(s->text, name) == 0)
				return true;
			break;
		case SEL_TAG:
			if (has_word(tags, s->text))
				return true;
			break;
		}
	}
	return false;
}

bool policy_allows(const struct policy *p, const char *from_name, const char *from_tags,
		   const char *to_name, const char *to_tags)
{
	if (!p)
		return false;
	for (int i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		if (list_matches(&r->from, from_name, from_tags) &&
		    list_matches(&r->to, to_name, to_tags))
			return true;
	}
	return p->default_allow;
}

int policy_rule_count(const struct policy *p)
{
	return p ? p->nrules : 0;
}

bool policy_default_allow(const struct policy *p)
{
	return p && p->default_allow;
}
