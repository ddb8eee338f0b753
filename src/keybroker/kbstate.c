// SPDX-License-Identifier: GPL-2.0-only
/*
 * kbstate.c - the keybroker state directory: init, load, CA key custody.
 * Contract and file list: kbstate.h.
 */
#include "keybroker/kbstate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "crypto/ct.h"
#include "keybroker/policy.h"
#include "keybroker/registry.h"

#define MAX_STATE_FILE 65536
#define PEM_MAX 4096
#define SKEW_S 3600			/* not_before = now - 1 h */
#define DAY_S 86400

struct kbstate_ca {
	struct pki_key key;
};

__attribute__((format(printf, 2, 3)))
static void seterr(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, KBSTATE_ERR_MAX, fmt, ap);
	va_end(ap);
}

static int path_in(char *out, size_t cap, const char *dir, const char *file)
{
	int n = snprintf(out, cap, "%s/%s", dir, file);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* ---- argument checks shared by init and load ----------------------------- */

static int parse_listen(const char *s, struct ctl_endpoint *ep, char *err)
{
	if (!s || ctl_endpoint_parse(ep, s) != 0) {
		seterr(err, "listen address '%s': expected IP:PORT (e.g. 192.0.2.1:4500 or "
			    "[2001:db8::1]:4500)", s ? s : "");
		return -1;
	}
	return 0;
}

static int parse_prefix4(const char *s, struct ctl_prefix *p, char *err)
{
	if (!s || ctl_prefix_parse(p, s) != 0 || p->ip.af != 4) {
		seterr(err, "prefix '%s': expected an IPv4 network in CIDR form with the host "
			    "bits zero (e.g. 10.98.0.0/24)", s ? s : "");
		return -1;
	}
	if (p->len < 8 || p->len > 30) {
		seterr(err, "prefix '%s': length must be between /8 and /30", s);
		return -1;
	}
	return 0;
}

static int parse_prefix6(const char *s, struct ctl_prefix *p, char *err)
{
	if (!s || ctl_prefix_parse(p, s) != 0 || p->ip.af != 6) {
		seterr(err, "prefix6 '%s': expected an IPv6 network in CIDR form with the host "
			    "bits zero (e.g. fd00:98::/64)", s ? s : "");
		return -1;
	}
	if (p->len < 16 || p->len > 96) {
		seterr(err, "prefix6 '%s': length must be between /16 and /96", s);
		return -1;
	}
	return 0;
}

static int parse_name(const char *s, char *err)
{
	if (!pki_name_valid(s)) {
		seterr(err, "name '%s': expected 1 to %d characters of a-z, 0-9, '.', '-', "
			    "starting with a letter or digit", s, PKI_NAME_MAX);
		return -1;
	}
	return 0;
}

int kbstate_parse_duration(const char *s, int64_t *secs)
{
	int64_t n = 0, unit;
	const char *p = s;

	if (!s || *s < '1' || *s > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		n = n * 10 + (*p - '0');
		if (n > 365LL * DAY_S)
			return -1;
		p++;
	}
	switch (*p) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = DAY_S; break;
	default: return -1;
	}
	if (p[1] != '\0' || n * unit > 365LL * DAY_S)
		return -1;
	*secs = n * unit;
	return 0;
}

/* ---- files ---------------------------------------------------------------- */

/* Read a small file; buf NUL-terminated. Returns length or -1 + err. */
static ssize_t read_small(const char *path, char *buf, size_t cap, char *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t n = 0;

	if (fd < 0) {
		seterr(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			seterr(err, "%s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap - 1) {
			seterr(err, "%s: file too large", path);
			close(fd);
			return -1;
		}
	}
	close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

/* A private key file must not be readable by anyone else. */
static int check_private(const char *path, char *err)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		seterr(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_mode & 077) {
		seterr(err, "%s: mode %03o lets other users read a private key (chmod 600 it)",
		       path, st.st_mode & 0777);
		return -1;
	}
	return 0;
}

static int load_key(const char *dir, const char *file, struct pki_key *k, char *err)
{
	char path[PATH_MAX], kerr[128];
	char *pem = malloc(PEM_MAX);
	ssize_t n;
	int res = -1;

	if (!pem || path_in(path, sizeof(path), dir, file) < 0) {
		seterr(err, "%s/%s: out of memory or path too long", dir, file);
		goto out;
	}
	if (check_private(path, err) < 0)
		goto out;
	n = read_small(path, pem, PEM_MAX, err);
	if (n < 0)
		goto out;
	if (pki_key_from_pem(k, pem, (size_t)n, kerr, sizeof(kerr)) != 0) {
		seterr(err, "%s: %s", path, kerr);
		goto out;
	}
	res = 0;
out:
	if (pem)
		ct_wipe(pem, PEM_MAX);
	free(pem);
	return res;
}

static int load_cert(const char *dir, const char *file, uint8_t *der, size_t *len, char *err)
{
	char path[PATH_MAX];
	char pem[PEM_MAX];
	ssize_t n;

	if (path_in(path, sizeof(path), dir, file) < 0) {
		seterr(err, "%s/%s: path too long", dir, file);
		return -1;
	}
	n = read_small(path, pem, sizeof(pem), err);
	if (n < 0)
		return -1;
	n = pki_cert_from_pem(der, PKI_CERT_MAX, pem, (size_t)n);
	if (n <= 0) {
		seterr(err, "%s: no valid CERTIFICATE block", path);
		return -1;
	}
	*len = (size_t)n;
	return 0;
}

static int write_in(const char *dir, const char *file, const char *text, char *err)
{
	char path[PATH_MAX];

	if (path_in(path, sizeof(path), dir, file) < 0) {
		seterr(err, "%s/%s: path too long", dir, file);
		return -1;
	}
	if (config_write_atomic(path, text) < 0) {
		seterr(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int write_key(const char *dir, const char *file, const struct pki_key *k, char *err)
{
	char pem[PEM_MAX];
	int res = -1;

	if (pki_key_to_pem(k, pem, sizeof(pem)) < 0)
		seterr(err, "%s: could not encode the private key", file);
	else
		res = write_in(dir, file, pem, err);
	ct_wipe(pem, sizeof(pem));
	return res;
}

static int write_cert(const char *dir, const char *file, const uint8_t *der, size_t len,
		      char *err)
{
	char pem[PEM_MAX];

	if (pki_cert_to_pem(der, len, pem, sizeof(pem)) < 0) {
		seterr(err, "%s: could not encode the certificate", file);
		return -1;
	}
	return write_in(dir, file, pem, err);
}

/* ---- init ----------------------------------------------------------------- */

static const char *const state_files[] = {
	KBSTATE_CONF, KBSTATE_CA_KEY, KBSTATE_CA_CRT, KBSTATE_SRV_KEY, KBSTATE_SRV_CRT,
	KBSTATE_POLICY, KBSTATE_REGISTRY, KBSTATE_REGISTRY "-wal", KBSTATE_REGISTRY "-shm",
};

static void remove_state(const char *dir, bool created_dir)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(state_files) / sizeof(state_files[0]); i++)
		if (path_in(path, sizeof(path), dir, state_files[i]) == 0)
			unlink(path);
	if (created_dir)
		rmdir(dir);
}

/* mkdir -p for the parents (0755), the last component 0700. Refuses a
 * directory that is not empty. *created tells whether DIR was made here. */
static int make_dir(const char *dir, bool *created, char *err)
{
	char tmp[PATH_MAX];
	struct stat st;
	DIR *d;
	struct dirent *e;

	*created = false;
	if (strlen(dir) >= sizeof(tmp) - 32) {
		seterr(err, "state directory '%s': path too long", dir);
		return -1;
	}
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			seterr(err, "state directory '%s' exists and is not a directory", dir);
			return -1;
		}
		char p1[PATH_MAX], p2[PATH_MAX];

		snprintf(p1, sizeof(p1), "%s/%s", dir, KBSTATE_CONF);
		snprintf(p2, sizeof(p2), "%s/%s", dir, KBSTATE_CA_KEY);
		if (access(p1, F_OK) == 0 || access(p2, F_OK) == 0) {
			seterr(err, "state directory '%s' already holds a keybroker state "
				    "(refusing to overwrite its CA)", dir);
			return -1;
		}
		d = opendir(dir);
		if (!d) {
			seterr(err, "state directory '%s': %s", dir, strerror(errno));
			return -1;
		}
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
				closedir(d);
				seterr(err, "state directory '%s' is not empty", dir);
				return -1;
			}
		}
		closedir(d);
		if (chmod(dir, 0700) < 0) {
			seterr(err, "state directory '%s': %s", dir, strerror(errno));
			return -1;
		}
		return 0;
	}
	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
			seterr(err, "cannot create '%s': %s", tmp, strerror(errno));
			return -1;
		}
		*p = '/';
	}
	if (mkdir(dir, 0700) < 0) {
		seterr(err, "cannot create state directory '%s': %s", dir, strerror(errno));
		return -1;
	}
	*created = true;
	if (chmod(dir, 0700) < 0) {	/* whatever the umask */
		seterr(err, "state directory '%s': %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static void ca_name(char out[PKI_NAME_MAX + 1], const char *name)
{
	if (strlen(name) + 3 <= PKI_NAME_MAX)
		snprintf(out, PKI_NAME_MAX + 1, "%s-ca", name);
	else
		snprintf(out, PKI_NAME_MAX + 1, "mavpn-ca");
}

int kbstate_init(const char *dir, const char *listen, const char *prefix4,
		 const char *prefix6, const char *name, char err[static KBSTATE_ERR_MAX])
{
	struct ctl_endpoint ep;
	struct ctl_prefix p4, p6;
	struct pki_key ca_key, srv_key;
	uint8_t ca_der[PKI_CERT_MAX], srv_der[PKI_CERT_MAX];
	ssize_t ca_len, srv_len;
	char caname[PKI_NAME_MAX + 1];
	char conf[1024], a[CTL_ADDRSTRLEN], b[CTL_ADDRSTRLEN], c6[CTL_ADDRSTRLEN];
	char path[PATH_MAX];
	bool created = false;
	struct registry *reg = NULL;
	char rerr[REGISTRY_ERR_MAX];
	time_t now = time(NULL);
	int res = -1;

	memset(&ca_key, 0, sizeof(ca_key));
	memset(&srv_key, 0, sizeof(srv_key));
	err[0] = '\0';
	name = name ? name : KBSTATE_DEFAULT_NAME;
	if (!dir || !*dir) {
		seterr(err, "state directory: empty path");
		return -1;
	}
	if (parse_listen(listen, &ep, err) < 0 || parse_prefix4(prefix4, &p4, err) < 0 ||
	    (prefix6 && parse_prefix6(prefix6, &p6, err) < 0) || parse_name(name, err) < 0)
		return -1;
	/* "dir/" and "dir" are the same directory */
	char clean[PATH_MAX];
	size_t dl = strlen(dir);

	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	if (dl >= sizeof(clean)) {
		seterr(err, "state directory '%s': path too long", dir);
		return -1;
	}
	memcpy(clean, dir, dl);
	clean[dl] = '\0';
	dir = clean;
	if (make_dir(dir, &created, err) < 0)
		return -1;

	if (pki_key_generate(&ca_key) != 0 || pki_key_generate(&srv_key) != 0) {
		seterr(err, "could not generate keys (random source failed)");
		goto out;
	}
	ca_name(caname, name);
	struct pki_cert_params cp = {
		.kind = PKI_CERT_CA, .name = caname, .pub = ca_key.pub,
		.not_before = now - SKEW_S, .not_after = now + (time_t)KBSTATE_CA_DAYS * DAY_S,
	};
	ca_len = pki_cert_issue(ca_der, sizeof(ca_der), &cp, &ca_key, NULL, 0, NULL);
	struct pki_cert_params sp = {
		.kind = PKI_CERT_SERVER, .name = name, .pub = srv_key.pub,
		.not_before = now - SKEW_S, .not_after = now + (time_t)KBSTATE_SERVER_DAYS * DAY_S,
	};
	srv_len = ca_len > 0 ? pki_cert_issue(srv_der, sizeof(srv_der), &sp, &ca_key, ca_der,
					      (size_t)ca_len, NULL) : -1;
	if (ca_len <= 0 || srv_len <= 0) {
		seterr(err, "could not issue the CA / broker certificates");
		goto out;
	}
	if (write_key(dir, KBSTATE_CA_KEY, &ca_key, err) < 0 ||
	    write_cert(dir, KBSTATE_CA_CRT, ca_der, (size_t)ca_len, err) < 0 ||
	    write_key(dir, KBSTATE_SRV_KEY, &srv_key, err) < 0 ||
	    write_cert(dir, KBSTATE_SRV_CRT, srv_der, (size_t)srv_len, err) < 0 ||
	    write_in(dir, KBSTATE_POLICY, policy_default_text, err) < 0)
		goto out;
	if (path_in(path, sizeof(path), dir, KBSTATE_REGISTRY) < 0 ||
	    registry_open(path, &reg, rerr) != REG_OK) {
		seterr(err, "%s", rerr);
		goto out;
	}
	registry_close(reg);
	snprintf(conf, sizeof(conf),
		 "# mavpn keybroker (written by `mavpn-keybroker init`)\n"
		 "[keybroker]\n"
		 "listen = %s\n"
		 "prefix = %s\n"
		 "%s%s%s"
		 "name = %s\n"
		 "key_life = %d\n"
		 "keepalive = %d\n",
		 ctl_endpoint_fmt(&ep, a), ctl_prefix_fmt(&p4, b),
		 prefix6 ? "prefix6 = " : "", prefix6 ? ctl_prefix_fmt(&p6, c6) : "",
		 prefix6 ? "\n" : "", name, KBSTATE_DEFAULT_KEY_LIFE, KBSTATE_DEFAULT_KEEPALIVE);
	/* keybroker.conf last: its presence marks a complete state */
	if (write_in(dir, KBSTATE_CONF, conf, err) < 0)
		goto out;
	res = 0;
out:
	pki_key_clear(&ca_key);
	pki_key_clear(&srv_key);
	if (res < 0)
		remove_state(dir, created);
	return res;
}

/* ---- load ----------------------------------------------------------------- */

static const char *const conf_keys[] = {
	"listen", "prefix", "prefix6", "name", "key_life", "keepalive", "unauth_per_ip",
};

static int load_conf(const char *dir, struct kbstate *st, char *err)
{
	char path[PATH_MAX], cerr[CONFIG_ERR_MAX];
	struct config *c;
	const char *v;
	int res = -1;

	if (path_in(path, sizeof(path), dir, KBSTATE_CONF) < 0) {
		seterr(err, "%s: path too long", dir);
		return -1;
	}
	c = config_load(path, cerr);
	if (!c) {
		seterr(err, "%s", cerr);
		return -1;
	}
	for (int i = 0; i < config_section_count(c); i++) {
		const char *sec = config_section_name(c, i);

		if (strcmp(sec, "keybroker") != 0) {
			seterr(err, "%s:%d: unknown section [%s]", path,
			       config_section_line(c, sec), sec);
			goto out;
		}
	}
	for (int i = 0; i < config_key_count(c, "keybroker"); i++) {
		const char *k = config_key_name(c, "keybroker", i);
		bool known = false;

		for (size_t j = 0; j < sizeof(conf_keys) / sizeof(conf_keys[0]); j++)
			known |= strcmp(k, conf_keys[j]) == 0;
		if (!known) {
			seterr(err, "%s:%d: [keybroker] unknown key '%s'", path,
			       config_key_line(c, "keybroker", k), k);
			goto out;
		}
	}
	char verr[KBSTATE_ERR_MAX];

	v = config_get_str(c, "keybroker", "listen", NULL);
	if (!v) {
		seterr(err, "%s: [keybroker] listen is missing", path);
		goto out;
	}
	if (parse_listen(v, &st->listen, verr) < 0) {
		seterr(err, "%s:%d: %s", path, config_key_line(c, "keybroker", "listen"), verr);
		goto out;
	}
	snprintf(st->listen_text, sizeof(st->listen_text), "%s", v);
	v = config_get_str(c, "keybroker", "prefix", NULL);
	if (!v) {
		seterr(err, "%s: [keybroker] prefix is missing", path);
		goto out;
	}
	if (parse_prefix4(v, &st->prefix4, verr) < 0) {
		seterr(err, "%s:%d: %s", path, config_key_line(c, "keybroker", "prefix"), verr);
		goto out;
	}
	v = config_get_str(c, "keybroker", "prefix6", NULL);
	if (v && *v) {
		if (parse_prefix6(v, &st->prefix6, verr) < 0) {
			seterr(err, "%s:%d: %s", path, config_key_line(c, "keybroker", "prefix6"),
			       verr);
			goto out;
		}
		st->has_prefix6 = true;
	}
	v = config_get_str(c, "keybroker", "name", KBSTATE_DEFAULT_NAME);
	if (parse_name(v, verr) < 0) {
		seterr(err, "%s:%d: %s", path, config_key_line(c, "keybroker", "name"), verr);
		goto out;
	}
	snprintf(st->name, sizeof(st->name), "%s", v);
	if (config_get_u32(c, "keybroker", "key_life", KBSTATE_DEFAULT_KEY_LIFE,
			   KBSTATE_MIN_KEY_LIFE, KBSTATE_MAX_KEY_LIFE,
			   &st->key_life_s, cerr) < 0 ||
	    config_get_u32(c, "keybroker", "keepalive", KBSTATE_DEFAULT_KEEPALIVE, 1, 300,
			   &st->keepalive_s, cerr) < 0 ||
	    config_get_u32(c, "keybroker", "unauth_per_ip", KBSTATE_DEFAULT_UNAUTH_PER_IP, 1,
			   KBSTATE_MAX_UNAUTH_PER_IP, &st->unauth_per_ip, cerr) < 0) {
		seterr(err, "%s", cerr);
		goto out;
	}
	res = 0;
out:
	config_free(c);
	return res;
}

int kbstate_check_args(const char *listen, const char *prefix4, const char *prefix6,
		       const char *name, char err[static KBSTATE_ERR_MAX])
{
	struct ctl_endpoint ep;
	struct ctl_prefix p4, p6;

	err[0] = '\0';
	if (parse_listen(listen, &ep, err) < 0 || parse_prefix4(prefix4, &p4, err) < 0 ||
	    (prefix6 && parse_prefix6(prefix6, &p6, err) < 0) ||
	    parse_name(name ? name : KBSTATE_DEFAULT_NAME, err) < 0)
		return -1;
	return 0;
}

static int load(const char *dir, struct kbstate *st, bool keys, char *err)
{
	struct pki_cert_info ci;
	struct stat sb;

	memset(st, 0, sizeof(*st));
	err[0] = '\0';
	if (!dir || stat(dir, &sb) < 0) {
		seterr(err, "state directory '%s': %s", dir ? dir : "",
		       dir ? strerror(errno) : "missing");
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		seterr(err, "state directory '%s': not a directory", dir);
		return -1;
	}
	if (snprintf(st->dir, sizeof(st->dir), "%s", dir) >= (int)sizeof(st->dir) ||
	    path_in(st->registry_path, sizeof(st->registry_path), dir, KBSTATE_REGISTRY) < 0 ||
	    path_in(st->policy_path, sizeof(st->policy_path), dir, KBSTATE_POLICY) < 0 ||
	    path_in(st->admin_sock_path, sizeof(st->admin_sock_path), dir,
		    KBSTATE_ADMIN_SOCK) < 0) {
		seterr(err, "state directory '%s': path too long", dir);
		return -1;
	}
	if (load_conf(dir, st, err) < 0)
		goto fail;
	if (keys) {
		st->ca = calloc(1, sizeof(*st->ca));
		if (!st->ca) {
			seterr(err, "out of memory");
			goto fail;
		}
	}
	if (load_cert(dir, KBSTATE_CA_CRT, st->ca_der, &st->ca_len, err) < 0 ||
	    load_cert(dir, KBSTATE_SRV_CRT, st->server_der, &st->server_len, err) < 0)
		goto fail;
	if (keys && (load_key(dir, KBSTATE_CA_KEY, &st->ca->key, err) < 0 ||
		     load_key(dir, KBSTATE_SRV_KEY, &st->server_key, err) < 0))
		goto fail;
	pki_fingerprint(st->ca_fpr, st->ca_der, st->ca_len);
	/* The four files must belong together. */
	if (pki_cert_parse(&ci, st->ca_der, st->ca_len) != 0 || !ci.is_ca ||
	    (keys && !ct_memeq(ci.pub, st->ca->key.pub, PKI_PUB_LEN))) {
		seterr(err, "%s/%s does not match %s", dir, KBSTATE_CA_CRT, KBSTATE_CA_KEY);
		goto fail;
	}
	if (pki_cert_parse(&ci, st->server_der, st->server_len) != 0 ||
	    (keys && !ct_memeq(ci.pub, st->server_key.pub, PKI_PUB_LEN))) {
		seterr(err, "%s/%s does not match %s", dir, KBSTATE_SRV_CRT, KBSTATE_SRV_KEY);
		goto fail;
	}
	if (strcmp(ci.name, st->name) != 0) {
		seterr(err, "%s/%s is for '%s' but keybroker.conf says name = %s", dir,
		       KBSTATE_SRV_CRT, ci.name, st->name);
		goto fail;
	}
	if (!pki_cert_verify(st->server_der, st->server_len, st->ca_der, st->ca_len,
			     time(NULL))) {
		seterr(err, "%s/%s is not signed by %s or has expired", dir, KBSTATE_SRV_CRT,
		       KBSTATE_CA_CRT);
		goto fail;
	}
	return 0;
fail:
	kbstate_free(st);
	return -1;
}

int kbstate_load(const char *dir, struct kbstate *st, char err[static KBSTATE_ERR_MAX])
{
	return load(dir, st, true, err);
}

int kbstate_load_public(const char *dir, struct kbstate *st, char err[static KBSTATE_ERR_MAX])
{
	return load(dir, st, false, err);
}

void kbstate_free(struct kbstate *st)
{
	if (!st)
		return;
	if (st->ca) {
		pki_key_clear(&st->ca->key);
		free(st->ca);
		st->ca = NULL;
	}
	pki_key_clear(&st->server_key);
}

/* ---- issuing -------------------------------------------------------------- */

ssize_t kbstate_issue_node_cert(const struct kbstate *st, const char *name,
				const struct ctl_ip *vip4, const struct ctl_ip *vip6,
				const uint8_t pub[PKI_PUB_LEN], uint8_t *out, size_t cap,
				uint8_t serial[PKI_SERIAL_LEN])
{
	time_t now = time(NULL);
	struct pki_cert_params p = {
		.kind = PKI_CERT_CLIENT, .name = name, .pub = pub,
		.not_before = now - SKEW_S, .not_after = now + (time_t)KBSTATE_NODE_DAYS * DAY_S,
	};

	if (!st || !st->ca || !vip4 || vip4->af != 4 || (vip6 && vip6->af != 6))
		return -1;
	p.has_vip4 = true;
	memcpy(p.vip4, vip4->a, 4);
	if (vip6) {
		p.has_vip6 = true;
		memcpy(p.vip6, vip6->a, 16);
	}
	return pki_cert_issue(out, cap, &p, &st->ca->key, st->ca_der, st->ca_len, serial);
}

ssize_t kbstate_issue_cb(void *st, const char *name, const struct ctl_ip *vip4,
			 const struct ctl_ip *vip6, const uint8_t pub[PKI_PUB_LEN],
			 uint8_t *der, size_t cap, uint8_t serial[PKI_SERIAL_LEN])
{
	return kbstate_issue_node_cert(st, name, vip4, vip6, pub, der, cap, serial);
}
