/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * policy.h - who may reach whom: DIR/policy.conf.
 *
 * Format (INI, read through common/config.h; '#' or ';' start a comment):
 *
 *   [default]
 *   action = deny            ; allow | deny; "allow" when the section or
 *                            ; the key is absent
 *
 *   [laptops-to-servers]     ; any other section is one ALLOW rule; its
 *   from = tag:laptop alice  ; name is just a label
 *   to   = tag:server db1
 *
 *   [admins-anywhere]
 *   from = tag:admin
 *   to   = *
 *
 * `from` and `to` are both required, each a non-empty space-separated list
 * of selectors:
 *   NAME      the node of that name (pki_name_valid: [a-z0-9][a-z0-9.-]*)
 *   tag:TAG   every node whose tags include TAG ([a-z0-9_-]{1,31})
 *   *         every node
 * A session A -> B is allowed when some rule has a `from` selector matching
 * A and a `to` selector matching B; otherwise the [default] action decides.
 * Rules are one-way: allow B -> A with a second rule (or list both in
 * from and to). A gateway's routes belong to the gateway node: reaching a
 * prefix behind gateway G is allowed exactly when A may reach G.
 * No other keys are accepted ([default] takes only `action`, a rule only
 * `from`/`to`); at most POLICY_MAX_RULES rules and POLICY_MAX_SELECTORS
 * selectors per list.
 *
 * Errors name the file and line: "policy.conf:7: [web] unknown key 'form'",
 * "policy.conf:3: [default] action = 'maybe': must be allow or deny",
 * "policy.conf:5: [web] rule without 'to'". A caller that fails to load a
 * new policy keeps the old one in force.
 */
#ifndef MAVPN_KEYBROKER_POLICY_H
#define MAVPN_KEYBROKER_POLICY_H

#include <stdbool.h>

#include "common/config.h"

#define POLICY_ERR_MAX CONFIG_ERR_MAX
#define POLICY_MAX_RULES 4096
#define POLICY_MAX_SELECTORS 256

/* Immutable once loaded; freely shared by readers of one thread. */
struct policy;

/* Parse path. NULL on error with "file:line: reason" in err. */
struct policy *policy_load(const char *path, char err[static POLICY_ERR_MAX])
	__attribute__((warn_unused_result));
/* A policy with no rules and the given default action (allow-all when
 * default_allow). NULL only when out of memory. */
struct policy *policy_new_default(bool default_allow);
void policy_free(struct policy *p);	/* NULL is fine */

/*
 * May node `from_name` (tags `from_tags`, space-separated, may be NULL or
 * "") open a session to node `to_name` (tags `to_tags`)? Rules first, then
 * the default action. Names are compared exactly.
 */
bool policy_allows(const struct policy *p, const char *from_name, const char *from_tags,
		   const char *to_name, const char *to_tags);

/* For status / logs. */
int policy_rule_count(const struct policy *p);
bool policy_default_allow(const struct policy *p);

/* The commented file `kbstate_init` writes (default allow). */
extern const char policy_default_text[];

#endif
