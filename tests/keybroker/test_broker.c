// SPDX-License-Identifier: GPL-2.0-only
/*
 * broker.c message handling without sockets (conn_new_test + test_sink):
 * what a node says in HELLO about itself is checked before the broker hands
 * it to peers in OFFER/GRANT.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "crypto/hash.h"
#include "crypto/rand.h"
#include "keybroker/broker.h"
#include "keybroker/conn.h"
#include "keybroker/kbd.h"
#include "keybroker/registry.h"

static char dir[96];
static struct kbd *kb;

static void sink(struct conn *c, const struct ctl_msg *m, void *arg)
{
	(void)c;
	(void)m;
	(void)arg;
}

static void enroll(const char *name)
{
	struct kbstate st;
	struct registry *r;
	struct reg_node *rn = malloc(sizeof *rn);
	char err[KBSTATE_ERR_MAX];
	uint8_t secret[16], hash[32];
	struct pki_key k;
	int64_t now = time(NULL);

	cr_assert_not_null(rn);
	cr_assert_eq(kbstate_load(dir, &st, err), 0, "%s", err);
	cr_assert_eq(registry_open(st.registry_path, &r, err), REG_OK, "%s", err);
	cr_assert_eq(pki_key_generate(&k), 0);
	cr_assert_eq(rand_bytes(secret, sizeof secret), 0);
	sha256(hash, secret, sizeof secret);
	cr_assert_eq(registry_token_add(r, hash, name, "", "", now, now + 3600, err), REG_OK,
		     "%s", err);
	cr_assert_eq(registry_enroll(r, hash, k.pub, now, &st.prefix4,
				     st.has_prefix6 ? &st.prefix6 : NULL, kbstate_issue_cb, &st,
				     rn, err), REG_OK, "%s", err);
	registry_close(r);
	kbstate_free(&st);
	free(rn);
}

static void setup(void)
{
	char err[KBSTATE_ERR_MAX];

	log_init("test-broker", LOG_LVL_ERROR);
	snprintf(dir, sizeof dir, "/tmp/mavpn-test-broker-%d", (int)getpid());
	cr_assert_eq(kbstate_init(dir, "127.0.0.1:1", "10.77.0.0/24", "fd00:77::/64", NULL, err),
		     0, "%s", err);
	enroll("alpha");
	kb = kbd_open(dir);
	cr_assert_not_null(kb);
	kb->test_sink = sink;
}

static void teardown(void)
{
	char cmd[160];

	if (kb)
		kbd_close(kb);
	kb = NULL;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static void ep(struct ctl_msg *m, const char *text)
{
	struct ctl_hello *h = &m->u.hello;

	cr_assert_lt(h->n_endpoints, CTL_MAX_ENDPOINTS);
	cr_assert_eq(ctl_endpoint_parse(&h->endpoints[h->n_endpoints], text), 0, "%s", text);
	h->n_endpoints++;
}

/* Send HELLO with m's endpoints, return what peers would be given
 * (conn_endpoints: observed first, then the local ones kept). */
static uint8_t hello(struct ctl_msg *m, struct ctl_endpoint out[static CTL_MAX_ENDPOINTS])
{
	struct kbnode *n = dir_by_name(kb, "alpha");
	struct conn *c;

	cr_assert_not_null(n);
	c = conn_new_test(kb, n, CONN_AUTHED);
	cr_assert_not_null(c);
	m->type = CTL_HELLO;
	m->u.hello.data_port = 4500;
	m->u.hello.aead_mask = 0x6;
	cr_assert_eq(conn_dispatch(c, m), 0);
	cr_assert_eq(c->state, CONN_ACTIVE);
	return conn_endpoints(c, out, CTL_MAX_ENDPOINTS);
}

static bool has(const struct ctl_endpoint *v, uint8_t n, const char *text)
{
	struct ctl_endpoint e;

	cr_assert_eq(ctl_endpoint_parse(&e, text), 0);
	for (uint8_t i = 0; i < n; i++)
		if (v[i].port == e.port && ctl_ip_eq(&v[i].ip, &e.ip))
			return true;
	return false;
}

TestSuite(broker_hello, .init = setup, .fini = teardown, .timeout = 60);

/* 1: a node may not point its peers at their own loopback, at nothing, at
 * a multicast group or into the overlay; public addresses stay. */
Test(broker_hello, endpoints_filtered)
{
	struct ctl_endpoint out[CTL_MAX_ENDPOINTS];
	struct ctl_msg m;
	uint8_t n;

	memset(&m, 0, sizeof m);
	ep(&m, "192.0.2.10:4500");
	ep(&m, "127.0.0.1:4500");
	ep(&m, "0.0.0.0:4500");
	ep(&m, "224.0.0.251:4500");
	ep(&m, "10.77.0.9:4500");
	ep(&m, "[::1]:4500");
	ep(&m, "[fe80::1]:4500");
	ep(&m, "[2001:db8::5]:4500");
	n = hello(&m, out);
	cr_assert_eq(n, 3, "observed + 2 usable endpoints expected, got %u", n);
	cr_assert(has(out, n, "127.0.0.1:4500"), "observed endpoint (TCP peer) comes first");
	cr_assert(has(out + 1, n - 1, "192.0.2.10:4500"));
	cr_assert(has(out + 1, n - 1, "[2001:db8::5]:4500"));
	cr_assert_eq(kb->cnt.endpoints_dropped, 6);
}

/* 2: the other unusable kinds: limited broadcast, v6 multicast, the v6
 * overlay, v4-mapped loopback, unspecified v6. */
Test(broker_hello, endpoints_filtered_more)
{
	struct ctl_endpoint out[CTL_MAX_ENDPOINTS];
	struct ctl_msg m;
	uint8_t n;

	memset(&m, 0, sizeof m);
	ep(&m, "255.255.255.255:4500");
	ep(&m, "[ff02::1]:4500");
	ep(&m, "[fd00:77::9]:4500");
	ep(&m, "[::ffff:127.0.0.1]:4500");
	ep(&m, "[::]:4500");
	ep(&m, "169.254.10.20:4500");
	ep(&m, "198.51.100.7:4501");
	n = hello(&m, out);
	cr_assert_eq(n, 2, "observed + 1 usable endpoint expected, got %u", n);
	cr_assert(has(out + 1, n - 1, "198.51.100.7:4501"));
	cr_assert_eq(kb->cnt.endpoints_dropped, 6);
}
