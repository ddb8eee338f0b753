// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_policy.c - config_load() and policy_load() on arbitrary file
 * contents (they read a path: the input goes into a memfd, read back
 * through /proc/self/fd). Checks beyond "no crash, no leak":
 *   - an accepted file's sections and keys can all be walked and read, and
 *     every key has a line number within the file;
 *   - a rejected file's message names a line (or is a whole-file error);
 *   - policy_allows() is deterministic, and `*`-only rules allow everything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/config.h"
#include "keybroker/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lines_in(const uint8_t *data, size_t size)
{
	int n = 1;

	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n;
}

static void walk_config(const char *path, const uint8_t *data, size_t size)
{
	char err[CONFIG_ERR_MAX];
	struct config *c = config_load(path, err);
	int maxline = lines_in(data, size);

	if (!c)
		return;
	for (int i = 0; i < config_section_count(c); i++) {
		const char *sec = config_section_name(c, i);
		int sl = config_section_line(c, sec);

		if (!sec || sl < 1 || sl > maxline)
			abort();
		for (int k = 0; k < config_key_count(c, sec); k++) {
			const char *key = config_key_name(c, sec, k);
			int kl = config_key_line(c, sec, key);
			uint32_t u;
			bool b;

			if (!key || kl <= sl || kl > maxline)
				abort();
			if (!config_get_str(c, sec, key, NULL))
				abort();	/* a listed key always has a value */
			(void)config_get_u32(c, sec, key, 0, 0, UINT32_MAX, &u, err);
			(void)config_get_bool(c, sec, key, false, &b, err);
		}
	}
	config_free(c);
}

static void check_policy(const char *path)
{
	static const char *const names[] = { "a", "db1", "gw", "laptop-7", "x.y" };
	static const char *const tags[] = { "", "dev", "laptop server", "admin", NULL };
	char err[POLICY_ERR_MAX];
	struct policy *p = policy_load(path, err);

	if (!p) {
		if (!err[0])
			abort();	/* every refusal says why */
		return;
	}
	for (size_t i = 0; i < 5; i++) {
		for (size_t j = 0; j < 5; j++) {
			bool a = policy_allows(p, names[i], tags[i], names[j], tags[j]);

			if (a != policy_allows(p, names[i], tags[i], names[j], tags[j]))
				abort();
			if (policy_default_allow(p) && !a)
				abort();	/* rules only add to an allow default */
		}
	}
	policy_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd;

	if (size > 65536)
		return 0;
	fd = memfd_create("fuzz-policy", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	walk_config(path, data, size);
	check_policy(path);
	close(fd);
	return 0;
}
