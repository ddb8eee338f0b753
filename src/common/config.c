// SPDX-License-Identifier: GPL-2.0-only
/*
 * config.c - INI files: our own line-by-line syntax check (with line
 * numbers), then values through iniparser. The contract is in config.h.
 *
 * The file is read once into memory; the syntax check runs on that copy
 * and iniparser loads the very same bytes from a memfd, so the two views
 * cannot disagree when the file changes underneath.
 */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iniparser/iniparser.h>

#define MAX_FILE (1u << 20)	/* 1 MiB: config files are small */
#define MAX_LINE 1000		/* iniparser 4.1 cuts lines at 1024 */
#define MAX_NAME 64

struct cfg_key {
	char name[MAX_NAME + 1];
	int line;
};

struct cfg_section {
	char name[MAX_NAME + 1];
	int line;
	int nkeys, capkeys;
	struct cfg_key *keys;
};

struct config {
	char *path;
	dictionary *dict;
	int nsec, capsec;
	struct cfg_section *secs;
};

__attribute__((format(printf, 2, 3)))
static void seterr(char *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err, CONFIG_ERR_MAX, fmt, ap);
	va_end(ap);
}

static int silent_error(const char *fmt, ...)
{
	(void)fmt;
	return 0;
}

static bool name_char(int ch)
{
	return isalnum(ch) || ch == '_' || ch == '.' || ch == '-';
}

/* Checks s[0..n) is a valid name; copies it lower-cased into out. */
static bool take_name(const char *s, size_t n, char out[MAX_NAME + 1])
{
	if (n == 0 || n > MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!name_char((unsigned char)s[i]))
			return false;
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[n] = '\0';
	return true;
}

static struct cfg_section *find_section(const struct config *c, const char *name)
{
	if (!c || !name)
		return NULL;
	for (int i = 0; i < c->nsec; i++)
		if (strcasecmp(c->secs[i].name, name) == 0)
			return &c->secs[i];
	return NULL;
}

static struct cfg_key *find_key(const struct cfg_section *s, const char *name)
{
	if (!s || !name)
		return NULL;
	for (int i = 0; i < s->nkeys; i++)
		if (strcasecmp(s->keys[i].name, name) == 0)
			return &s->keys[i];
	return NULL;
}

static int add_section(struct config *c, const char *name, int line)
{
	if (c->nsec == c->capsec) {
		int cap = c->capsec ? c->capsec * 2 : 8;
		struct cfg_section *n = realloc(c->secs, (size_t)cap * sizeof(*n));

		if (!n)
			return -1;
		c->secs = n;
		c->capsec = cap;
	}
	struct cfg_section *s = &c->secs[c->nsec++];

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->line = line;
	return 0;
}

static int add_key(struct cfg_section *s, const char *name, int line)
{
	if (s->nkeys == s->capkeys) {
		int cap = s->capkeys ? s->capkeys * 2 : 8;
		struct cfg_key *n = realloc(s->keys, (size_t)cap * sizeof(*n));

		if (!n)
			return -1;
		s->keys = n;
		s->capkeys = cap;
	}
	struct cfg_key *k = &s->keys[s->nkeys++];

	snprintf(k->name, sizeof(k->name), "%s", name);
	k->line = line;
	return 0;
}

/* Trim [*b, *e) of blanks on both ends. */
static void trim(const char **b, const char **e)
{
	while (*b < *e && isspace((unsigned char)**b))
		(*b)++;
	while (*e > *b && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

/* One line [b, e) (no '\n'); 0 or -1 with err. */
static int check_line(struct config *c, const char *b, const char *e, int line,
		      char *err)
{
	char name[MAX_NAME + 1];

	if (e - b > MAX_LINE) {
		seterr(err, "%s:%d: line longer than %d characters", c->path, line, MAX_LINE);
		return -1;
	}
	trim(&b, &e);
	if (b == e || *b == ';' || *b == '#')
		return 0;
	if (e[-1] == '\\') {
		seterr(err, "%s:%d: line continuation ('\\' at the end) is not supported",
		       c->path, line);
		return -1;
	}
	if (*b == '[') {
		const char *nb = b + 1, *ne = e - 1;

		if (e - b < 2 || *ne != ']') {
			seterr(err, "%s:%d: section header '%.*s' lacks its closing ']'",
			       c->path, line, (int)(e - b), b);
			return -1;
		}
		trim(&nb, &ne);
		if (!take_name(nb, (size_t)(ne - nb), name)) {
			seterr(err, "%s:%d: bad section name '%.*s' (use letters, digits, '_', '.', '-')",
			       c->path, line, (int)(ne - nb), nb);
			return -1;
		}
		struct cfg_section *s = find_section(c, name);

		if (s) {
			seterr(err, "%s:%d: section [%s] repeated (first on line %d)",
			       c->path, line, name, s->line);
			return -1;
		}
		if (add_section(c, name, line) < 0) {
			seterr(err, "%s: out of memory", c->path);
			return -1;
		}
		return 0;
	}
	const char *eq = memchr(b, '=', (size_t)(e - b));

	if (!eq) {
		seterr(err, "%s:%d: expected 'key = value' or '[section]', got '%.*s'",
		       c->path, line, (int)(e - b), b);
		return -1;
	}
	const char *kb = b, *ke = eq;

	trim(&kb, &ke);
	if (!take_name(kb, (size_t)(ke - kb), name)) {
		seterr(err, "%s:%d: bad key name '%.*s' (use letters, digits, '_', '.', '-')",
		       c->path, line, (int)(ke - kb), kb);
		return -1;
	}
	if (c->nsec == 0) {
		seterr(err, "%s:%d: key '%s' outside of any section", c->path, line, name);
		return -1;
	}
	struct cfg_section *s = &c->secs[c->nsec - 1];
	struct cfg_key *k = find_key(s, name);

	if (k) {
		seterr(err, "%s:%d: key '%s' repeated in [%s] (first on line %d)",
		       c->path, line, name, s->name, k->line);
		return -1;
	}
	if (add_key(s, name, line) < 0) {
		seterr(err, "%s: out of memory", c->path);
		return -1;
	}
	return 0;
}

static int check_text(struct config *c, const char *text, size_t len, char *err)
{
	const char *p = text, *end = text + len;
	int line = 0;

	if (memchr(text, '\0', len)) {
		seterr(err, "%s: contains a NUL byte", c->path);
		return -1;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		line++;
		if (check_line(c, p, le, line, err) < 0)
			return -1;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

/* Whole file into a malloc'd buffer (NUL-terminated). */
static char *read_file(const char *path, size_t *len, char *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t n = 0;
	struct stat st;

	if (fd < 0) {
		seterr(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		seterr(err, "%s: not a regular file", path);
		goto fail;
	}
	buf = malloc(MAX_FILE + 1);
	if (!buf) {
		seterr(err, "%s: out of memory", path);
		goto fail;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, MAX_FILE + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			seterr(err, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > MAX_FILE) {
			seterr(err, "%s: larger than %u bytes", path, MAX_FILE);
			goto fail;
		}
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

/* Let iniparser read exactly the bytes we checked. */
static dictionary *ini_from_memory(const char *path, const char *text, size_t len)
{
	int fd = memfd_create("mavpn-config", MFD_CLOEXEC);
	char fdpath[64];
	dictionary *d;

	if (fd < 0)
		return iniparser_load(path);
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return NULL;
		}
		off += (size_t)w;
	}
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	d = iniparser_load(fdpath);
	close(fd);
	return d;
}

struct config *config_load(const char *path, char err[static CONFIG_ERR_MAX])
{
	struct config *c = calloc(1, sizeof(*c));
	char *text = NULL;
	size_t len = 0;

	err[0] = '\0';
	if (!c || !(c->path = strdup(path))) {
		seterr(err, "%s: out of memory", path);
		goto fail;
	}
	text = read_file(path, &len, err);
	if (!text)
		goto fail;
	if (check_text(c, text, len, err) < 0)
		goto fail;
	iniparser_set_error_callback(silent_error);
	c->dict = ini_from_memory(path, text, len);
	if (!c->dict) {
		seterr(err, "%s: could not be parsed", path);
		goto fail;
	}
	free(text);
	return c;
fail:
	free(text);
	config_free(c);
	return NULL;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	if (c->dict)
		iniparser_freedict(c->dict);
	for (int i = 0; i < c->nsec; i++)
		free(c->secs[i].keys);
	free(c->secs);
	free(c->path);
	free(c);
}

int config_section_count(const struct config *c)
{
	return c ? c->nsec : 0;
}

const char *config_section_name(const struct config *c, int i)
{
	if (!c || i < 0 || i >= c->nsec)
		return NULL;
	return c->secs[i].name;
}

int config_key_count(const struct config *c, const char *section)
{
	const struct cfg_section *s = find_section(c, section);

	return s ? s->nkeys : 0;
}

const char *config_key_name(const struct config *c, const char *section, int i)
{
	const struct cfg_section *s = find_section(c, section);

	if (!s || i < 0 || i >= s->nkeys)
		return NULL;
	return s->keys[i].name;
}

int config_key_line(const struct config *c, const char *section, const char *key)
{
	const struct cfg_key *k = find_key(find_section(c, section), key);

	return k ? k->line : 0;
}

int config_section_line(const struct config *c, const char *section)
{
	const struct cfg_section *s = find_section(c, section);

	return s ? s->line : 0;
}

const char *config_get_str(const struct config *c, const char *section,
			   const char *key, const char *def)
{
	char full[2 * MAX_NAME + 2];

	/* Only keys our syntax check saw exist (iniparser would also answer
	 * "section" alone, with a NULL value). */
	if (!find_key(find_section(c, section), key))
		return def;
	snprintf(full, sizeof(full), "%s:%s", section, key);
	const char *v = iniparser_getstring(c->dict, full, NULL);

	return v ? v : "";
}

int config_get_u32(const struct config *c, const char *section, const char *key,
		   uint32_t def, uint32_t min, uint32_t max, uint32_t *out,
		   char err[static CONFIG_ERR_MAX])
{
	const char *v = config_get_str(c, section, key, NULL);
	uint64_t n = 0;

	if (!v) {
		*out = def;
		return 0;
	}
	if (*v == '\0')
		goto bad;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > UINT32_MAX)
			goto range;
	}
	if (n < min || n > max)
		goto range;
	*out = (uint32_t)n;
	return 0;
bad:
	seterr(err, "%s: [%s] %s = '%s': not a whole number", c->path, section, key, v);
	return -1;
range:
	seterr(err, "%s: [%s] %s = '%s': must be between %" PRIu32 " and %" PRIu32,
	       c->path, section, key, v, min, max);
	return -1;
}

int config_get_bool(const struct config *c, const char *section, const char *key,
		    bool def, bool *out, char err[static CONFIG_ERR_MAX])
{
	static const char *const yes[] = { "yes", "true", "1", "on" };
	static const char *const no[] = { "no", "false", "0", "off" };
	const char *v = config_get_str(c, section, key, NULL);

	if (!v) {
		*out = def;
		return 0;
	}
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	seterr(err, "%s: [%s] %s = '%s': must be yes/no, true/false, on/off or 1/0",
	       c->path, section, key, v);
	return -1;
}

int config_write_atomic(const char *path, const char *text)
{
	char tmp[PATH_MAX];
	size_t len = strlen(text);
	int fd, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		off += (size_t)w;
	}
	if (fchmod(fd, 0600) < 0 || fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	/* Make the rename itself durable. */
	{
		char dir[PATH_MAX];
		const char *slash = strrchr(path, '/');
		int dfd;

		if (!slash)
			snprintf(dir, sizeof(dir), ".");
		else if (slash == path)
			snprintf(dir, sizeof(dir), "/");
		else
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}
