// SPDX-License-Identifier: GPL-2.0-only
/* nodeconf.c - DIR/mavpn.conf; contract in nodeconf.h. */
#include "node/nodeconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "crypto/pki.h"

void nodeconf_defaults(struct nodeconf *nc)
{
	memset(nc, 0, sizeof *nc);
	nc->listen_port = NODECONF_DEFAULT_PORT;
	nc->mtu = NODECONF_DEFAULT_MTU;
	nc->txqueuelen = NODECONF_DEFAULT_TXQLEN;
	snprintf(nc->ifname, sizeof nc->ifname, "%s", NODECONF_DEFAULT_IFNAME);
	nc->log_level = LOG_LVL_INFO;
}

static int fail(char err[static NODECONF_ERR_MAX], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int fail(char err[static NODECONF_ERR_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, NODECONF_ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

static bool ifname_valid(const char *s)
{
	size_t n = strlen(s);
	int pct = 0;

	if (n == 0 || n >= NODECONF_IFNAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			if (s[i + 1] != 'd' || ++pct > 1)
				return false;
			i++;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

int nodeconf_parse_routes(const char *s, struct ctl_prefix *routes, uint8_t *n,
			  char err[static NODECONF_ERR_MAX])
{
	char word[CTL_ADDRSTRLEN + 8];
	const char *p = s;

	*n = 0;
	while (*p) {
		size_t len;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		len = strcspn(p, " \t,");
		if (len >= sizeof word)
			return fail(err, "'%.*s': not a prefix (too long)", (int)len, p);
		memcpy(word, p, len);
		word[len] = 0;
		p += len;
		if (*n >= CTL_MAX_PREFIXES)
			return fail(err, "'%s': more than %d routes", word, CTL_MAX_PREFIXES);
		if (ctl_prefix_parse(&routes[*n], word) != 0)
			return fail(err, "'%s': not a prefix (CIDR without host bits)", word);
		(*n)++;
	}
	return 0;
}

static int get_ip(const struct config *c, const char *path, const char *sec, const char *key,
		  bool required, int af, struct ctl_ip *ip, bool *present,
		  char err[static NODECONF_ERR_MAX])
{
	const char *v = config_get_str(c, sec, key, NULL);

	if (present)
		*present = false;
	if (!v || !*v) {
		if (required)
			return fail(err, "%s: [%s] %s is missing", path, sec, key);
		return 0;
	}
	if (ctl_ip_parse(ip, v) != 0 || ip->af != af)
		return fail(err, "%s: [%s] %s = '%s': not an IPv%d address", path, sec, key, v, af);
	if (present)
		*present = true;
	return 0;
}

static int get_prefix(const struct config *c, const char *path, const char *sec,
		      const char *key, bool required, int af, struct ctl_prefix *p,
		      bool *present, char err[static NODECONF_ERR_MAX])
{
	const char *v = config_get_str(c, sec, key, NULL);

	if (present)
		*present = false;
	if (!v || !*v) {
		if (required)
			return fail(err, "%s: [%s] %s is missing", path, sec, key);
		return 0;
	}
	if (ctl_prefix_parse(p, v) != 0 || p->ip.af != af)
		return fail(err, "%s: [%s] %s = '%s': not an IPv%d prefix (CIDR without host bits)",
			    path, sec, key, v, af);
	if (present)
		*present = true;
	return 0;
}

static int get_u32(const struct config *c, const char *path, const char *sec, const char *key,
		   uint32_t def, uint32_t min, uint32_t max, uint32_t *out,
		   char err[static NODECONF_ERR_MAX])
{
	char cerr[CONFIG_ERR_MAX];

	(void)path;	/* config's own message names the file */
	if (config_get_u32(c, sec, key, def, min, max, out, cerr) != 0)
		return fail(err, "%s", cerr);
	return 0;
}

static int get_name(const struct config *c, const char *path, const char *sec,
		    const char *key, char out[static CTL_NAME_MAX + 1],
		    char err[static NODECONF_ERR_MAX])
{
	const char *v = config_get_str(c, sec, key, NULL);

	if (!v || !*v)
		return fail(err, "%s: [%s] %s is missing", path, sec, key);
	if (!pki_name_valid(v))
		return fail(err, "%s: [%s] %s = '%s': not a valid name ([a-z0-9.-], 1-63 chars)",
			    path, sec, key, v);
	snprintf(out, CTL_NAME_MAX + 1, "%s", v);
	return 0;
}

static const char *const level_names[] = { "error", "warning", "info", "debug" };

/* Every section and key mavpn.conf may hold (nodeconf.h lists them). */
static const struct {
	const char *section;
	const char *const keys[14];
} known[] = {
	{ "node", { "name", "vip", "vip6", "prefix", "prefix6", "listen_port", "mtu",
		    "txqueuelen", "interface", "attach", "key_life", "log_level", NULL } },
	{ "broker", { "address", "name", NULL } },
	{ "gateway", { "routes", "forward", NULL } },
};

/* A typo must not pass silently ("mut = 9000" would leave the MTU at its
 * default): reject unknown sections and keys, naming file and line. */
static int check_known(const struct config *c, const char *path,
		       char err[static NODECONF_ERR_MAX])
{
	for (int i = 0; i < config_section_count(c); i++) {
		const char *sec = config_section_name(c, i);
		size_t k;

		for (k = 0; k < sizeof known / sizeof known[0]; k++)
			if (strcmp(sec, known[k].section) == 0)
				break;
		if (k == sizeof known / sizeof known[0])
			return fail(err, "%s:%d: unknown section [%s] (use [node], [broker] or [gateway])",
				    path, config_section_line(c, sec), sec);
		for (int j = 0; j < config_key_count(c, sec); j++) {
			const char *key = config_key_name(c, sec, j);
			const char *const *kk;

			for (kk = known[k].keys; *kk; kk++)
				if (strcmp(key, *kk) == 0)
					break;
			if (!*kk)
				return fail(err, "%s:%d: unknown key '%s' in [%s]", path,
					    config_key_line(c, sec, key), key, sec);
		}
	}
	return 0;
}

static int load(struct nodeconf *nc, const struct config *c, const char *path,
		char err[static NODECONF_ERR_MAX])
{
	char cerr[NODECONF_ERR_MAX];
	const char *v;
	uint32_t u;

	if (check_known(c, path, err))
		return -1;
	if (get_name(c, path, "node", "name", nc->name, err) ||
	    get_ip(c, path, "node", "vip", true, 4, &nc->vip4, NULL, err) ||
	    get_ip(c, path, "node", "vip6", false, 6, &nc->vip6, &nc->has_vip6, err) ||
	    get_prefix(c, path, "node", "prefix", true, 4, &nc->prefix4, NULL, err) ||
	    get_prefix(c, path, "node", "prefix6", false, 6, &nc->prefix6, &nc->has_prefix6, err))
		return -1;
	if (!ctl_prefix_contains(&nc->prefix4, &nc->vip4)) {
		char a[CTL_ADDRSTRLEN], b[CTL_ADDRSTRLEN];

		return fail(err, "%s: [node] vip = '%s' is outside prefix '%s'", path,
			    ctl_ip_fmt(&nc->vip4, a), ctl_prefix_fmt(&nc->prefix4, b));
	}
	if (nc->has_vip6 != nc->has_prefix6)
		return fail(err, "%s: [node] vip6 and prefix6 go together", path);
	if (nc->has_vip6 && !ctl_prefix_contains(&nc->prefix6, &nc->vip6)) {
		char a[CTL_ADDRSTRLEN], b[CTL_ADDRSTRLEN];

		return fail(err, "%s: [node] vip6 = '%s' is outside prefix6 '%s'", path,
			    ctl_ip_fmt(&nc->vip6, a), ctl_prefix_fmt(&nc->prefix6, b));
	}
	if (get_u32(c, path, "node", "listen_port", NODECONF_DEFAULT_PORT, 0, 65535, &u, err))
		return -1;
	nc->listen_port = (uint16_t)u;
	if (get_u32(c, path, "node", "mtu", NODECONF_DEFAULT_MTU, 1280, 65535, &nc->mtu, err) ||
	    get_u32(c, path, "node", "txqueuelen", NODECONF_DEFAULT_TXQLEN, 0, NODECONF_MAX_TXQLEN,
		    &nc->txqueuelen, err) ||
	    get_u32(c, path, "node", "key_life", 0, 0, 86400, &nc->key_life_s, err))
		return -1;
	v = config_get_str(c, "node", "interface", NODECONF_DEFAULT_IFNAME);
	if (!ifname_valid(v))
		return fail(err, "%s: [node] interface = '%s': not an interface name or pattern "
			    "(1-15 chars of [A-Za-z0-9._-], at most one %%d)", path, v);
	snprintf(nc->ifname, sizeof nc->ifname, "%s", v);
	if (config_get_bool(c, "node", "attach", false, &nc->attach, cerr) != 0)
		return fail(err, "%s", cerr);
	if (nc->attach && strchr(nc->ifname, '%'))
		return fail(err, "%s: [node] attach = yes needs a fixed interface name, not '%s'",
			    path, nc->ifname);
	v = config_get_str(c, "node", "log_level", NULL);
	if (v) {
		int i;

		for (i = 0; i < 4; i++)
			if (strcmp(v, level_names[i]) == 0)
				break;
		if (i == 4)
			return fail(err, "%s: [node] log_level = '%s': use error, warning, info or debug",
				    path, v);
		nc->log_level = i;
	}

	v = config_get_str(c, "broker", "address", NULL);
	if (!v || !*v)
		return fail(err, "%s: [broker] address is missing", path);
	if (ctl_endpoint_parse(&nc->broker, v) != 0)
		return fail(err, "%s: [broker] address = '%s': not IP:PORT", path, v);
	if (get_name(c, path, "broker", "name", nc->broker_name, err))
		return -1;

	v = config_get_str(c, "gateway", "routes", "");
	if (nodeconf_parse_routes(v, nc->routes, &nc->n_routes, cerr) != 0)
		return fail(err, "%s: [gateway] routes: %s", path, cerr);
	if (config_get_bool(c, "gateway", "forward", false, &nc->forward, cerr) != 0)
		return fail(err, "%s", cerr);
	return 0;
}

int nodeconf_load(struct nodeconf *nc, const char *path, char err[static NODECONF_ERR_MAX])
{
	char cerr[CONFIG_ERR_MAX];
	struct config *c;
	int rc;

	nodeconf_defaults(nc);
	c = config_load(path, cerr);
	if (!c)
		return fail(err, "%s", cerr);
	rc = load(nc, c, path, err);
	config_free(c);
	return rc;
}

int nodeconf_format(const struct nodeconf *nc, char *out, size_t cap)
{
	struct strbuf o = { out, cap, 0, false };
	char a[CTL_ADDRSTRLEN];

	if (cap == 0)
		return -1;
	out[0] = 0;
	strbuf_put(&o, "; mavpn node configuration (written by `mavpn enroll`; see etc/mavpn.conf)\n\n");
	strbuf_put(&o, "[node]\n");
	strbuf_put(&o, "; node name, as in the certificate\nname = %s\n", nc->name);
	strbuf_put(&o, "; overlay addresses handed out by the broker\nvip = %s\n", ctl_ip_fmt(&nc->vip4, a));
	strbuf_put(&o, "prefix = %s\n", ctl_prefix_fmt(&nc->prefix4, a));
	if (nc->has_vip6) {
		strbuf_put(&o, "vip6 = %s\n", ctl_ip_fmt(&nc->vip6, a));
		strbuf_put(&o, "prefix6 = %s\n", ctl_prefix_fmt(&nc->prefix6, a));
	}
	strbuf_put(&o, "; UDP port of the data socket (0 = any)\nlisten_port = %u\n", nc->listen_port);
	strbuf_put(&o, "; tunnel MTU (1280..65535)\nmtu = %u\n", nc->mtu);
	strbuf_put(&o, "; TUN transmit queue in packets (0 = the kernel's 500)\ntxqueuelen = %u\n",
	    nc->txqueuelen);
	strbuf_put(&o, "; TUN name or pattern; attach = yes uses an existing persistent TUN\n");
	strbuf_put(&o, "interface = %s\nattach = %s\n", nc->ifname, nc->attach ? "yes" : "no");
	strbuf_put(&o, "; session key life in seconds (0 = the broker's)\nkey_life = %u\n", nc->key_life_s);
	strbuf_put(&o, "log_level = %s\n", level_names[nc->log_level >= 0 && nc->log_level < 4 ? nc->log_level : 2]);
	strbuf_put(&o, "\n[broker]\naddress = %s\n", ctl_endpoint_fmt(&nc->broker, a));
	strbuf_put(&o, "; TLS server name in the broker's certificate\nname = %s\n", nc->broker_name);
	/* No [gateway] section is written: the broker hands out the routes this
	 * node serves (WELCOME), and an admin appends [gateway] forward = yes
	 * to a gateway's file (a section may appear only once). */
	if (nc->n_routes) {
		strbuf_put(&o, "\n; this node is a gateway for (approved by the broker):");
		for (unsigned i = 0; i < nc->n_routes; i++)
			strbuf_put(&o, " %s", ctl_prefix_fmt(&nc->routes[i], a));
		strbuf_put(&o, "\n; append a [gateway] section with forward = yes to enable IP forwarding\n");
	}
	if (nc->forward)
		strbuf_put(&o, "\n[gateway]\nforward = yes\n");
	return o.overflow ? -1 : (int)o.len;
}
