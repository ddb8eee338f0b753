/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * config.h - INI files (the one user of iniparser).
 *
 * config_load() first checks the syntax line by line itself (iniparser
 * reports no line numbers): every non-blank, non-comment (';' or '#') line
 * must be "[section]" or "key = value" inside a section, keys and sections
 * [A-Za-z0-9_.-]+, no key twice in one section, no section twice. An error
 * names the file, the line and the reason:
 *     "policy.conf:7: key 'form' outside of any section"
 * Then values are read through iniparser. Section and key names are case
 * insensitive (stored lower case).
 *
 * Typed getters quote the bad value in their error:
 *     "mavpn.conf: [node] mtu = '70000': must be between 1280 and 65535"
 */
#ifndef MAVPN_COMMON_CONFIG_H
#define MAVPN_COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_ERR_MAX 256

struct config;

/* NULL on error, with the message in err. */
struct config *config_load(const char *path, char err[static CONFIG_ERR_MAX]);
void config_free(struct config *c);

/* Sections in file order. */
int config_section_count(const struct config *c);
const char *config_section_name(const struct config *c, int i);
/* Keys of a section in file order (names without "section:"); count via
 * config_key_count. NULL if no such section/index. */
int config_key_count(const struct config *c, const char *section);
const char *config_key_name(const struct config *c, const char *section, int i);
/* Line where section:key was defined (0 if absent). */
int config_key_line(const struct config *c, const char *section, const char *key);
int config_section_line(const struct config *c, const char *section);

/* Value or def when absent. */
const char *config_get_str(const struct config *c, const char *section,
			   const char *key, const char *def);
/* 0 ok (out set: def when absent), -1 with message when malformed/out of
 * range. Booleans accept yes/no/true/false/1/0/on/off only. */
int config_get_u32(const struct config *c, const char *section, const char *key,
		   uint32_t def, uint32_t min, uint32_t max, uint32_t *out,
		   char err[static CONFIG_ERR_MAX]);
int config_get_bool(const struct config *c, const char *section, const char *key,
		    bool def, bool *out, char err[static CONFIG_ERR_MAX]);

/* Write a file atomically (tmp + fsync + rename), mode 0600. text is the
 * whole file. 0 or -1 with errno. */
int config_write_atomic(const char *path, const char *text);

#endif
