/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_daemon.c - the keybroker daemon over loopback: a real daemon
 * (keybroker_run in a forked child, own state dir and port per test) driven
 * by test nodes built on channel.h / tls.h.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "crypto/aead.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "crypto/session.h"
#include "crypto/x25519.h"
#include "kbclient.h"
#include "keybroker/registry.h"
#include "proto/data.h"
#include "proto/token.h"

static struct kbfix F;

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	log_init("test-daemon", LOG_LVL_WARN);
}

static void teardown(void)
{
	fix_cleanup(&F);
}

TestSuite(kbd, .init = setup, .fini = teardown, .timeout = 60);

static struct ctl_msg *msg(void)
{
	struct ctl_msg *m = calloc(1, sizeof *m);

	cr_assert(m);
	return m;
}

static uint32_t live_nodes(void)
{
	struct registry *r;
	struct reg_counts c;
	char err[REGISTRY_ERR_MAX];

	cr_assert(registry_open(F.st.registry_path, &r, err) == REG_OK);
	cr_assert(registry_counts(r, time(NULL), &c, err) == REG_OK);
	registry_close(r);
	return c.nodes;
}

static void ping_ok(struct tnode *n)
{
	struct ctl_msg *m = msg();

	m->type = CTL_PING;
	m->u.ping.nonce = 0x1122334455667788ull;
	cr_assert_eq(tc_send(n->c, m), 0);
	cr_assert_eq(tc_recv(n->c, m, 3000), 0, "%s: no answer to PING", n->name);
	cr_assert_eq(m->type, CTL_PONG, "%s: got %s", n->name, ctl_type_name(m->type));
	cr_assert_eq(m->u.ping.nonce, 0x1122334455667788ull);
	free(m);
}

/* ---- enrollment ---------------------------------------------------------- */

Test(kbd, enroll_ok)
{
	struct tnode a;
	struct pki_cert_info ci;

	fix_init(&F, NULL);
	fix_start(&F);
	cr_assert_eq(tnode_enroll(&F, &a, "alpha", "laptop", NULL), 0);
	cr_assert_str_eq(a.ok.name, "alpha");
	cr_assert_str_eq(a.ok.broker_name, "keybroker");
	cr_assert_eq(a.ok.vip4.af, 4);
	cr_assert_eq(a.ok.vip4.a[0], 10);
	cr_assert_eq(a.ok.vip4.a[1], 98);
	cr_assert_eq(a.ok.vip4.a[3], 2, "first node gets offset 2");
	cr_assert(a.ok.has_vip6);
	cr_assert_eq(a.ok.vip6.a[15], 2);
	cr_assert_eq(a.ok.prefix4.len, 24);
	cr_assert(a.ok.has_prefix6);
	cr_assert_eq(a.ok.prefix6.len, 64);
	cr_assert_eq(a.ok.ca_len, F.st.ca_len);
	cr_assert_arr_eq(a.ok.ca, F.st.ca_der, F.st.ca_len);
	cr_assert(pki_cert_verify(a.cert, a.cert_len, F.st.ca_der, F.st.ca_len, time(NULL)));
	cr_assert_eq(pki_cert_parse(&ci, a.cert, a.cert_len), 0);
	cr_assert_str_eq(ci.name, "alpha");
	cr_assert_arr_eq(ci.pub, a.key.pub, PKI_PUB_LEN);
	cr_assert_eq(live_nodes(), 1);
	/* the certificate works on the control channel */
	cr_assert_eq(tnode_up(&F, &a), 0);
	tnode_free(&a);
	cr_assert_eq(fix_stop(&F), 0, "clean exit on SIGTERM");
}

Test(kbd, enroll_refusals_change_nothing)
{
	struct ctl_msg *m = msg();
	struct pki_key k;
	uint8_t secret[16], bad[16];
	struct token t;
	char text[TOKEN_STR_MAX];

	fix_init(&F, NULL);
	fix_start(&F);
	cr_assert_eq(pki_key_generate(&k), 0);

	/* unknown */
	cr_assert_eq(rand_bytes(bad, 16), 0);
	cr_assert_eq(enroll_raw(&F, bad, &k, m), 0);
	cr_assert_eq(m->type, CTL_ERROR);
	cr_assert_eq(m->u.error.code, CTL_CODE_TOKEN_UNKNOWN, "%s", m->u.error.reason);

	/* expired */
	fix_token(&F, "late", NULL, NULL, -10, secret);
	cr_assert_eq(enroll_raw(&F, secret, &k, m), 0);
	cr_assert_eq(m->type, CTL_ERROR);
	cr_assert_eq(m->u.error.code, CTL_CODE_TOKEN_EXPIRED, "%s", m->u.error.reason);
	cr_assert_eq(live_nodes(), 0);

	/* mistyped: the printed token with one character changed fails its
	 * checksum before anything is sent; one bit off in the secret is an
	 * unknown token for the broker */
	fix_token(&F, "beta", NULL, NULL, 3600, secret);
	memcpy(t.secret, secret, 16);
	memcpy(t.ca_fpr, F.st.ca_fpr, 32);
	cr_assert(token_encode(&t, text, sizeof text) > 0);
	text[10] = text[10] == 'a' ? 'b' : 'a';
	cr_assert_neq(token_decode(&t, text), TOKEN_OK);
	memcpy(bad, secret, 16);
	bad[0] ^= 1;
	cr_assert_eq(enroll_raw(&F, bad, &k, m), 0);
	cr_assert_eq(m->u.error.code, CTL_CODE_TOKEN_UNKNOWN);
	cr_assert_eq(live_nodes(), 0);

	/* the right one works once; used afterwards */
	cr_assert_eq(enroll_raw(&F, secret, &k, m), 0);
	cr_assert_eq(m->type, CTL_ENROLL_OK);
	cr_assert_str_eq(m->u.enroll_ok.name, "beta");
	cr_assert_eq(live_nodes(), 1);
	cr_assert_eq(pki_key_generate(&k), 0);
	cr_assert_eq(enroll_raw(&F, secret, &k, m), 0);
	cr_assert_eq(m->type, CTL_ERROR);
	cr_assert_eq(m->u.error.code, CTL_CODE_TOKEN_USED, "%s", m->u.error.reason);
	cr_assert(strstr(m->u.error.reason, "used"));
	cr_assert_eq(live_nodes(), 1);
	free(m);
}

/* Proof of possession: ENROLL_REQ must be signed by the key it presents,
 * over this very token secret; a bad proof is a PROTOCOL refusal that
 * registers nothing and leaves the token usable. */
Test(kbd, enroll_needs_proof_of_possession)
{
	static const char *why = "enrollment request not signed by the presented key";
	struct ctl_msg *m = msg();
	struct pki_key k, other;
	uint8_t secret[16], secret2[16], sig[CTL_SIG_MAX];
	char reply[8192];
	size_t n;

	fix_init(&F, NULL);
	fix_start(&F);
	cr_assert_eq(pki_key_generate(&k), 0);
	cr_assert_eq(pki_key_generate(&other), 0);
	fix_token(&F, "delta", NULL, NULL, 3600, secret);
	fix_token(&F, "echo", NULL, NULL, 3600, secret2);

	/* (2) k's public key, signed by another key over the same message */
	n = enroll_sign(&other, secret, k.pub, sig);
	cr_assert_eq(enroll_raw_sig(&F, secret, k.pub, sig, n, m), 0);
	cr_assert_eq(m->type, CTL_ERROR);
	cr_assert_eq(m->u.error.code, CTL_CODE_PROTOCOL, "code %u: %s", m->u.error.code,
		     m->u.error.reason);
	cr_assert_str_eq(m->u.error.reason, why);
	cr_assert_eq(live_nodes(), 0);

	/* (3) signed by k, but over another (valid, unused) token secret */
	n = enroll_sign(&k, secret2, k.pub, sig);
	cr_assert_eq(enroll_raw_sig(&F, secret, k.pub, sig, n, m), 0);
	cr_assert_eq(m->type, CTL_ERROR);
	cr_assert_eq(m->u.error.code, CTL_CODE_PROTOCOL, "%s", m->u.error.reason);
	cr_assert_str_eq(m->u.error.reason, why);
	/* ... and the mirror: that proof with the token it was made for, but
	 * presenting the other key */
	cr_assert_eq(enroll_raw_sig(&F, secret2, other.pub, sig, n, m), 0);
	cr_assert_eq(m->u.error.code, CTL_CODE_PROTOCOL, "%s", m->u.error.reason);
	/* a correct signature with one bit flipped, and a DER-shaped 8-byte one */
	n = enroll_sign(&k, secret, k.pub, sig);
	sig[n - 1] ^= 1;
	cr_assert_eq(enroll_raw_sig(&F, secret, k.pub, sig, n, m), 0);
	cr_assert_eq(m->u.error.code, CTL_CODE_PROTOCOL, "%s", m->u.error.reason);
	cr_assert_eq(enroll_raw_sig(&F, secret, k.pub,
				    (const uint8_t[]){ 0x30, 6, 2, 1, 1, 2, 1, 1 }, 8, m), 0);
	cr_assert_eq(m->u.error.code, CTL_CODE_PROTOCOL, "%s", m->u.error.reason);
	cr_assert_eq(live_nodes(), 0);
	cr_assert_eq(fix_admin(&F, "status json", reply, sizeof reply), 0);
	cr_assert(strstr(reply, "\"enroll_refused\":5"), "%s", reply);
	cr_assert(strstr(reply, "\"enrollments\":0"), "%s", reply);

	/* (1) the right proof: the token was still unused */
	cr_assert_eq(enroll_raw(&F, secret, &k, m), 0);
	cr_assert_eq(m->type, CTL_ENROLL_OK, "%s", m->type == CTL_ERROR ? m->u.error.reason : "");
	cr_assert_str_eq(m->u.enroll_ok.name, "delta");
	cr_assert_eq(live_nodes(), 1);
	cr_assert_eq(enroll_raw(&F, secret2, &other, m), 0);
	cr_assert_eq(m->type, CTL_ENROLL_OK, "%s", m->type == CTL_ERROR ? m->u.error.reason : "");
	cr_assert_str_eq(m->u.enroll_ok.name, "echo");
	cr_assert_eq(live_nodes(), 2);
	pki_key_clear(&k);
	pki_key_clear(&other);
	free(m);
}

/* The node prints "<code name>: <reason>" (the reason alone is dropped when
 * it equals the code name): the reason must add to the code, not repeat it. */
static void assert_no_repeat(const struct ctl_msg *m)
{
	const char *code = ctl_code_name((enum ctl_code)m->u.error.code);

	cr_assert(strcmp(m->u.error.reason, code) == 0 || !strstr(m->u.error.reason, code),
		  "reason repeats the code: '%s: %s'", code, m->u.error.reason);
}

Test(kbd, enroll_refusal_reasons)
{
	struct ctl_msg *m = msg();
	struct pki_key k;
	uint8_t old[16], newer[16];

	fix_init(&F, NULL);
	fix_start(&F);
	cr_assert_eq(pki_key_generate(&k), 0);
	/* a token replaced by a newer one for the same name */
	fix_token(&F, "gamma", NULL, NULL, 3600, old);
	fix_token(&F, "gamma", NULL, NULL, 3600, newer);
	cr_assert_eq(enroll_raw(&F, old, &k, m), 0);
	cr_assert_eq(m->type, CTL_ERROR);
	cr_assert_eq(m->u.error.code, CTL_CODE_TOKEN_UNKNOWN);
	cr_assert_str_eq(m->u.error.reason, "mistyped, replaced by a newer token for the same "
					    "name, or never created here");
	assert_no_repeat(m);
	/* the newer one works; then it is used */
	cr_assert_eq(enroll_raw(&F, newer, &k, m), 0);
	cr_assert_eq(m->type, CTL_ENROLL_OK);
	cr_assert_eq(pki_key_generate(&k), 0);
	cr_assert_eq(enroll_raw(&F, newer, &k, m), 0);
	cr_assert_eq(m->u.error.code, CTL_CODE_TOKEN_USED);
	assert_no_repeat(m);
	free(m);
}

Test(kbd, enroll_pool_full_is_its_own_refusal)
{
	struct ctl_msg *m = msg();
	struct tnode a;
	struct pki_key k;
	uint8_t secret[16];

	/* a /30 holds one node (offset 2) */
	fix_init_net(&F, NULL, "10.98.7.0/30", NULL);
	fix_start(&F);
	cr_assert_eq(tnode_enroll(&F, &a, "only", NULL, NULL), 0);
	cr_assert_eq(a.ok.vip4.a[3], 2);
	cr_assert_eq(pki_key_generate(&k), 0);
	fix_token(&F, "second", NULL, NULL, 3600, secret);
	cr_assert_eq(enroll_raw(&F, secret, &k, m), 0);
	cr_assert_eq(m->type, CTL_ERROR);
	cr_assert_eq(m->u.error.code, CTL_CODE_LIMIT, "code %u: %s", m->u.error.code,
		     m->u.error.reason);
	cr_assert_str_eq(m->u.error.reason, "overlay prefix 10.98.7.0/30 is full");
	cr_assert_eq(live_nodes(), 1);
	/* the token is still unused: after a revoke frees the address it works */
	{
		struct registry *r;
		char err[REGISTRY_ERR_MAX];

		cr_assert(registry_open(F.st.registry_path, &r, err) == REG_OK);
		cr_assert(registry_node_revoke(r, "only", time(NULL), NULL, err) == REG_OK);
		registry_close(r);
	}
	cr_assert_eq(enroll_raw(&F, secret, &k, m), 0);
	cr_assert_eq(m->type, CTL_ENROLL_OK, "%s", m->type == CTL_ERROR ? m->u.error.reason : "");
	cr_assert_eq(m->u.enroll_ok.vip4.a[3], 2, "the revoked node's address is reused");
	tnode_free(&a);
	free(m);
}

/* ---- HELLO / WELCOME ------------------------------------------------------- */

Test(kbd, hello_welcome_and_gateway_routes)
{
	struct tnode a, gw;
	char buf[CTL_ADDRSTRLEN];

	fix_init(&F, NULL);
	fix_start(&F);
	cr_assert_eq(tnode_enroll(&F, &a, "alpha", NULL, NULL), 0);
	cr_assert_eq(tnode_enroll(&F, &gw, "gw", NULL, "10.200.0.0/24"), 0);
	cr_assert_eq(tnode_up(&F, &a), 0);
	cr_assert_str_eq(a.welcome.name, "alpha");
	cr_assert(ctl_ip_eq(&a.welcome.vip4, &a.ok.vip4));
	cr_assert_str_eq(ctl_endpoint_fmt(&a.welcome.observed, buf),
			 (snprintf(buf, sizeof buf, "127.0.0.1:%u", a.data_port), buf));
	cr_assert_eq(a.welcome.keepalive_s, 5);
	cr_assert_eq(a.welcome.key_life_s, 120);
	cr_assert_eq(a.welcome.n_routes, 1, "gateway prefix reachable by policy");
	cr_assert_str_eq(ctl_prefix_fmt(&a.welcome.routes[0], buf), "10.200.0.0/24");
	cr_assert_eq(a.welcome.n_own_routes, 0);
	cr_assert_eq(tnode_up(&F, &gw), 0);
	cr_assert_eq(gw.welcome.n_own_routes, 1);
	cr_assert_eq(gw.welcome.n_routes, 0, "its own routes are not offered back");
	ping_ok(&a);
	tnode_free(&a);
	tnode_free(&gw);
}

/* ---- brokering ------------------------------------------------------------- */

static const char routes16[] =
	"10.200.0.0/24 10.101.0.0/16 10.102.0.0/16 10.103.0.0/16 10.104.0.0/16 "
	"10.105.0.0/16 10.106.0.0/16 10.107.0.0/16 10.108.0.0/16 10.109.0.0/16 "
	"10.110.0.0/16 10.111.0.0/16 10.112.0.0/16 10.113.0.0/16 10.114.0.0/16 "
	"10.115.0.0/16";

static void session_req(struct tnode *n, uint32_t req_id, const struct ctl_ip *dst,
			const struct x25519_eph *e, uint32_t index)
{
	struct ctl_msg *m = msg();

	m->type = CTL_SESSION_REQ;
	m->u.session_req.req_id = req_id;
	m->u.session_req.dst = *dst;
	memcpy(m->u.session_req.eph, e->pub, 32);
	m->u.session_req.index = index;
	m->u.session_req.aead_mask = AEAD_MASK(AEAD_CHACHA20_POLY1305) | AEAD_MASK(AEAD_AES256_GCM);
	cr_assert_eq(tc_send(n->c, m), 0);
	free(m);
}

static void two_up(struct tnode *a, struct tnode *b)
{
	cr_assert_eq(tnode_enroll(&F, a, "alpha", "laptop", NULL), 0);
	cr_assert_eq(tnode_enroll(&F, b, "bravo", "server", "10.200.0.0/24"), 0);
	cr_assert_eq(tnode_up(&F, a), 0);
	cr_assert_eq(tnode_up(&F, b), 0);
}

/* A asks for B; B accepts: returns the sid; checks both sides and keys. */
static uint64_t broker_pair(struct tnode *a, struct tnode *b)
{
	struct x25519_eph ea, eb;
	struct ctl_msg *offer = msg(), *grant = msg(), *m = msg();
	struct session_keys ka, kb;
	uint8_t via[16], vib[16], pkt[DATA_HDR_LEN + 5 + DATA_TAG_LEN];
	char buf[CTL_ADDRSTRLEN];
	uint64_t sid;
	bool has_a4 = false, has_a6 = false;

	cr_assert_eq(x25519_eph_generate(&ea), 0);
	cr_assert_eq(x25519_eph_generate(&eb), 0);
	session_req(a, 77, &b->ok.vip4, &ea, 1111);

	cr_assert_eq(tc_expect(b->c, CTL_OFFER, offer, 3000), 0);
	cr_assert_neq(offer->u.session.sid, 0);
	cr_assert_eq(offer->u.session.req_id, 0);
	cr_assert_str_eq(offer->u.session.peer_name, a->name);
	cr_assert(ctl_ip_eq(&offer->u.session.peer_vip4, &a->ok.vip4));
	cr_assert(offer->u.session.has_peer_vip6);
	cr_assert_arr_eq(offer->u.session.peer_eph, ea.pub, 32);
	cr_assert_eq(offer->u.session.peer_index, 1111);
	cr_assert_eq(offer->u.session.life_s, 120);
	for (int i = 0; i < offer->u.session.n_allowed; i++) {
		const struct ctl_prefix *p = &offer->u.session.allowed[i];

		has_a4 |= p->len == 32 && ctl_ip_eq(&p->ip, &a->ok.vip4);
		has_a6 |= p->len == 128 && ctl_ip_eq(&p->ip, &a->ok.vip6);
	}
	cr_assert(has_a4 && has_a6, "A's allowed prefixes: VIP4/32 and VIP6/128");
	cr_assert_geq(offer->u.session.n_endpoints, 2);
	snprintf(buf, sizeof buf, "127.0.0.1:%u", a->data_port);
	{
		char got[CTL_ADDRSTRLEN];

		cr_assert_str_eq(ctl_endpoint_fmt(&offer->u.session.endpoints[0], got), buf,
				 "observed endpoint first");
		cr_assert_str_eq(ctl_endpoint_fmt(&offer->u.session.endpoints[1], got),
				 (snprintf(buf, sizeof buf, "192.0.2.7:%u", a->data_port), buf));
	}
	cr_assert_eq(offer->u.session.aead, aead_pick(AEAD_MASK(AEAD_CHACHA20_POLY1305) |
						     AEAD_MASK(AEAD_AES256_GCM)));

	m->type = CTL_ACCEPT;
	m->u.accept.sid = offer->u.session.sid;
	memcpy(m->u.accept.eph, eb.pub, 32);
	m->u.accept.index = 2222;
	cr_assert_eq(tc_send(b->c, m), 0);

	cr_assert_eq(tc_expect(a->c, CTL_GRANT, grant, 3000), 0);
	cr_assert_eq(grant->u.session.req_id, 77);
	cr_assert_eq(grant->u.session.sid, offer->u.session.sid);
	cr_assert_str_eq(grant->u.session.peer_name, b->name);
	cr_assert(ctl_ip_eq(&grant->u.session.peer_vip4, &b->ok.vip4));
	cr_assert(ct_memeq(grant->u.session.secret, offer->u.session.secret, 32), "same S");
	cr_assert_arr_eq(grant->u.session.peer_eph, eb.pub, 32);
	cr_assert_eq(grant->u.session.peer_index, 2222);
	cr_assert_eq(grant->u.session.aead, offer->u.session.aead);
	/* B's approved route travels as an allowed prefix */
	{
		bool route = false;

		for (int i = 0; i < grant->u.session.n_allowed; i++)
			route |= strcmp(ctl_prefix_fmt(&grant->u.session.allowed[i], buf),
					"10.200.0.0/24") == 0;
		cr_assert(route, "gateway route in B's allowed prefixes");
	}

	/* both ends derive the same keys: A seals, B opens, and back */
	ctl_ip_to16(&a->ok.vip4, via);
	ctl_ip_to16(&b->ok.vip4, vib);
	cr_assert_eq(session_derive(&ka, SESSION_INITIATOR, grant->u.session.aead,
				    grant->u.session.secret, &ea, grant->u.session.peer_eph,
				    grant->u.session.sid, via, vib), 0);
	cr_assert_eq(session_derive(&kb, SESSION_RESPONDER, offer->u.session.aead,
				    offer->u.session.secret, &eb, offer->u.session.peer_eph,
				    offer->u.session.sid, via, vib), 0);
	memset(pkt, 0, sizeof pkt);
	pkt[0] = DATA_TYPE;
	memcpy(pkt + DATA_HDR_LEN, "hello", 5);
	cr_assert_geq(session_seal(&ka, pkt, 5), 0);
	cr_assert_eq(session_open(&kb, pkt, 5), SESSION_OPEN_OK);
	cr_assert_arr_eq(pkt + DATA_HDR_LEN, "hello", 5);
	memset(pkt, 0, sizeof pkt);
	pkt[0] = DATA_TYPE;
	memcpy(pkt + DATA_HDR_LEN, "world", 5);
	cr_assert_geq(session_seal(&kb, pkt, 5), 0);
	cr_assert_eq(session_open(&ka, pkt, 5), SESSION_OPEN_OK);
	session_keys_clear(&ka);
	session_keys_clear(&kb);
	sid = grant->u.session.sid;
	ct_wipe(offer, sizeof *offer);
	ct_wipe(grant, sizeof *grant);
	free(offer);
	free(grant);
	free(m);
	return sid;
}

Test(kbd, broker_allow_grant_offer_keys)
{
	struct tnode a, b;
	char reply[8192];

	fix_init(&F, NULL);
	fix_start(&F);
	two_up(&a, &b);
	(void)broker_pair(&a, &b);
	cr_assert_eq(fix_admin(&F, "status json", reply, sizeof reply), 0);
	cr_assert(strstr(reply, "\"grants\":1"), "%s", reply);
	cr_assert(strstr(reply, "\"live_sessions\":1"), "%s", reply);
	cr_assert(strstr(reply, "\"name\":\"alpha\""), "%s", reply);
	tnode_free(&a);
	tnode_free(&b);
}

static void expect_refuse(struct tnode *a, uint32_t req_id, uint16_t code, int timeout_ms)
{
	struct ctl_msg *m = msg();

	cr_assert_eq(tc_expect(a->c, CTL_REFUSE, m, timeout_ms), 0);
	cr_assert_eq(m->u.refuse.req_id, req_id);
	cr_assert_eq(m->u.refuse.code, code, "code %u (%s)", m->u.refuse.code,
		     m->u.refuse.reason);
	free(m);
}

Test(kbd, broker_refusals_policy_offline_unknown)
{
	struct tnode a, b, c;
	struct x25519_eph e;
	struct ctl_ip ip;

	fix_init(&F, "[default]\naction = deny\n\n[l2s]\nfrom = tag:laptop\nto = charlie\n");
	fix_start(&F);
	two_up(&a, &b);
	cr_assert_eq(tnode_enroll(&F, &c, "charlie", NULL, NULL), 0);
	cr_assert_eq(x25519_eph_generate(&e), 0);

	session_req(&a, 1, &b.ok.vip4, &e, 1);
	expect_refuse(&a, 1, CTL_CODE_POLICY, 3000);
	session_req(&a, 2, &c.ok.vip4, &e, 1);
	expect_refuse(&a, 2, CTL_CODE_OFFLINE, 3000);
	cr_assert_eq(ctl_ip_parse(&ip, "10.98.0.200"), 0);
	session_req(&a, 3, &ip, &e, 1);
	expect_refuse(&a, 3, CTL_CODE_UNKNOWN_DST, 3000);
	/* a gateway's route is reached through its gateway: policy decides */
	cr_assert_eq(ctl_ip_parse(&ip, "10.200.0.9"), 0);
	session_req(&a, 4, &ip, &e, 1);
	expect_refuse(&a, 4, CTL_CODE_POLICY, 3000);
	ping_ok(&a);
	tnode_free(&a);
	tnode_free(&b);
	tnode_free(&c);
}

Test(kbd, broker_timeout_and_decline)
{
	struct tnode a, b;
	struct x25519_eph e;
	struct ctl_msg *m = msg();
	uint64_t t0;

	fix_init(&F, NULL);
	fix_start(&F);
	two_up(&a, &b);
	cr_assert_eq(x25519_eph_generate(&e), 0);
	t0 = log_now_ms();
	session_req(&a, 9, &b.ok.vip4, &e, 5);
	cr_assert_eq(tc_expect(b.c, CTL_OFFER, m, 3000), 0);
	/* B stays silent: A hears TIMEOUT after ~3 s */
	expect_refuse(&a, 9, CTL_CODE_TIMEOUT, 5000);
	cr_assert_geq(log_now_ms() - t0, 2900);
	cr_assert_leq(log_now_ms() - t0, 4500);
	/* a late ACCEPT is ignored, the channel stays up */
	{
		struct ctl_msg *acc = msg();

		acc->type = CTL_ACCEPT;
		acc->u.accept.sid = m->u.session.sid;
		acc->u.accept.index = 3;
		cr_assert_eq(tc_send(b.c, acc), 0);
		free(acc);
	}
	ping_ok(&b);
	/* declined */
	session_req(&a, 10, &b.ok.vip4, &e, 5);
	cr_assert_eq(tc_expect(b.c, CTL_OFFER, m, 3000), 0);
	{
		uint64_t sid = m->u.session.sid;

		memset(m, 0, sizeof *m);
		m->type = CTL_REFUSE;
		m->u.refuse.sid = sid;
		m->u.refuse.code = CTL_CODE_DECLINED;
		cr_assert_eq(tc_send(b.c, m), 0);
	}
	expect_refuse(&a, 10, CTL_CODE_DECLINED, 3000);
	free(m);
	tnode_free(&a);
	tnode_free(&b);
}

Test(kbd, broker_coalesces_crossing_requests)
{
	struct tnode a, b;
	struct x25519_eph e;
	struct ctl_msg *m = msg();
	char reply[4096];

	fix_init(&F, NULL);
	fix_start(&F);
	two_up(&a, &b);
	cr_assert_eq(x25519_eph_generate(&e), 0);
	session_req(&a, 1, &b.ok.vip4, &e, 5);
	session_req(&a, 2, &b.ok.vip4, &e, 5);	/* duplicate */
	cr_assert_eq(tc_expect(b.c, CTL_OFFER, m, 3000), 0);
	session_req(&b, 3, &a.ok.vip4, &e, 6);	/* crossing */
	cr_assert_eq(tc_recv(a.c, m, 300), -1, "no OFFER to A while A->B is in flight");
	cr_assert_eq(fix_admin(&F, "status json", reply, sizeof reply), 0);
	cr_assert(strstr(reply, "\"coalesced\":2"), "%s", reply);
	cr_assert(strstr(reply, "\"offers\":1"), "%s", reply);
	free(m);
	tnode_free(&a);
	tnode_free(&b);
}

/* ---- policy reload, revocation, restart ------------------------------------ */

static void expect_revoke(struct tnode *n, uint64_t sid, const char *peer, uint16_t code,
			  int timeout_ms)
{
	struct ctl_msg *m = msg();

	cr_assert_eq(tc_expect(n->c, CTL_REVOKE, m, timeout_ms), 0, "%s gets REVOKE", n->name);
	cr_assert_eq(m->u.revoke.sid, sid);
	cr_assert_str_eq(m->u.revoke.peer_name, peer);
	cr_assert_eq(m->u.revoke.code, code);
	free(m);
}

Test(kbd, reload_revokes_forbidden_sessions)
{
	struct tnode a, b;
	uint64_t sid;
	char reply[512];

	fix_init(&F, NULL);
	fix_start(&F);
	two_up(&a, &b);
	sid = broker_pair(&a, &b);

	/* a malformed file is rejected with its line; the old policy stays */
	fix_write_policy(&F, "[default]\naction = deny\n[r]\nform = alpha\n");
	cr_assert_eq(fix_admin(&F, "reload", reply, sizeof reply), 1);
	cr_assert(strstr(reply, "policy.conf:4"), "%s", reply);
	ping_ok(&a);

	fix_write_policy(&F, "[default]\naction = deny\n");
	cr_assert_eq(fix_admin(&F, "reload", reply, sizeof reply), 0, "%s", reply);
	expect_revoke(&a, sid, "bravo", CTL_CODE_POLICY, 1000);
	expect_revoke(&b, sid, "alpha", CTL_CODE_POLICY, 1000);
	/* and the gateway route is withdrawn from A */
	{
		struct ctl_msg *m = msg();

		cr_assert_eq(tc_expect(a.c, CTL_ROUTES, m, 1000), 0);
		cr_assert_eq(m->u.routes.n_routes, 0);
		free(m);
	}
	/* SIGHUP reloads too: allow again, routes come back */
	fix_write_policy(&F, "[default]\naction = allow\n");
	kill(F.pid, SIGHUP);
	{
		struct ctl_msg *m = msg();

		cr_assert_eq(tc_expect(a.c, CTL_ROUTES, m, 2000), 0);
		cr_assert_eq(m->u.routes.n_routes, 1);
		free(m);
	}
	tnode_free(&a);
	tnode_free(&b);
}

/* token create keeps a gateway within 14 routes (two VIPs); a registry
 * holding 16 (the registry's own limit) must not lose routes silently */
Test(kbd, too_many_allowed_prefixes_are_counted)
{
	struct tnode a, gw;
	char reply[8192];

	fix_init(&F, NULL);
	fix_start(&F);
	cr_assert_eq(tnode_enroll(&F, &a, "alpha", "laptop", NULL), 0);
	cr_assert_eq(tnode_enroll(&F, &gw, "bravo", NULL, routes16), 0);
	cr_assert_eq(tnode_up(&F, &a), 0);
	cr_assert_eq(tnode_up(&F, &gw), 0);
	cr_assert_eq(a.welcome.n_routes, 16, "16 reachable routes fit WELCOME");
	cr_assert_eq(fix_admin(&F, "status json", reply, sizeof reply), 0, "%s", reply);
	cr_assert(strstr(reply, "\"prefixes_dropped\":0"), "%s", reply);
	(void)broker_pair(&a, &gw);
	/* the GRANT to alpha describes bravo: 2 VIPs + 16 routes > 16 */
	cr_assert_eq(fix_admin(&F, "status json", reply, sizeof reply), 0, "%s", reply);
	cr_assert(strstr(reply, "\"prefixes_dropped\":2"), "%s", reply);
	tnode_free(&a);
	tnode_free(&gw);
}

Test(kbd, revoke_closes_notifies_and_refuses)
{
	struct tnode a, b;
	struct registry *r;
	char err[REGISTRY_ERR_MAX], reply[8192];
	uint64_t t0;

	fix_init(&F, NULL);
	fix_start(&F);
	two_up(&a, &b);
	(void)broker_pair(&a, &b);
	cr_assert_eq(fix_admin(&F, "status json", reply, sizeof reply), 0, "%s", reply);
	cr_assert(strstr(reply, "\"nodes_enrolled\":2,"), "%s", reply);

	/* what `node revoke` does: registry first, then tell the daemon */
	cr_assert(registry_open(F.st.registry_path, &r, err) == REG_OK);
	cr_assert_eq(registry_node_revoke(r, "bravo", time(NULL), "test", err), REG_OK);
	registry_close(r);
	t0 = log_now_ms();
	cr_assert_eq(fix_admin(&F, "revoke bravo", reply, sizeof reply), 0, "%s", reply);
	expect_revoke(&a, 0, "bravo", CTL_CODE_REVOKED, 1000);
	cr_assert_lt(log_now_ms() - t0, 1000, "peer told within 1 s");
	{
		struct ctl_msg *m = msg();

		cr_assert_eq(tc_expect(b.c, CTL_ERROR, m, 1000), 0);
		cr_assert_eq(m->u.error.code, CTL_CODE_REVOKED);
		free(m);
	}
	cr_assert(tc_wait_closed(b.c, 3000), "revoked node's channel closed");
	/* the status counts live nodes only, at once (not after a restart) */
	cr_assert_eq(fix_admin(&F, "status json", reply, sizeof reply), 0, "%s", reply);
	cr_assert(strstr(reply, "\"nodes_enrolled\":1,"), "%s", reply);
	cr_assert_eq(fix_admin(&F, "status", reply, sizeof reply), 0, "%s", reply);
	cr_assert(strstr(reply, "nodes enrolled 1,"), "%s", reply);
	/* it cannot come back */
	cr_assert_eq(tnode_up(&F, &b), CTL_CODE_REVOKED);
	cr_assert(tc_wait_closed(b.c, 3000));
	/* bravo was a gateway: its route is withdrawn from alpha */
	{
		struct ctl_msg *m = msg();

		cr_assert_eq(tc_expect(a.c, CTL_ROUTES, m, 1000), 0);
		cr_assert_eq(m->u.routes.n_routes, 0);
		free(m);
	}
	/* unknown name */
	cr_assert_eq(fix_admin(&F, "revoke nobody", reply, sizeof reply), 1);
	ping_ok(&a);
	tnode_free(&a);
	tnode_free(&b);
}

/* The next $NOTIFY_SOCKET datagram, "" after timeout_ms. */
static const char *notify_next(int fd, int timeout_ms)
{
	static char buf[256];
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = timeout_ms % 1000 * 1000 };
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	n = recv(fd, buf, sizeof buf - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* systemd Type=notify: READY=1 once listening; every reload (SIGHUP as
 * from kill -HUP, admin "reload" as from ExecReload) framed by
 * RELOADING=1 + MONOTONIC_USEC and READY=1, a failed one too; STOPPING=1. */
Test(kbd, systemd_notify_ready_reload_stopping)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char reply[256];
	const char *m;
	int fd;

	fix_init(&F, NULL);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/notify.sock", F.dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);	/* inherited by the daemon */
	fix_start(&F);
	unsetenv("NOTIFY_SOCKET");
	cr_assert_str_eq(notify_next(fd, 3000), "READY=1");

	kill(F.pid, SIGHUP);
	m = notify_next(fd, 3000);
	cr_assert(strncmp(m, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0 && m[27] >= '1' &&
		  m[27] <= '9', "%s", m);
	cr_assert_str_eq(notify_next(fd, 3000), "READY=1");

	cr_assert_eq(fix_admin(&F, "reload", reply, sizeof reply), 0, "%s", reply);
	cr_assert_eq(strncmp(notify_next(fd, 3000), "RELOADING=1\n", 12), 0);
	cr_assert_str_eq(notify_next(fd, 3000), "READY=1");

	fix_write_policy(&F, "[default]\naction = maybe\n");
	cr_assert_eq(fix_admin(&F, "reload", reply, sizeof reply), 1, "%s", reply);
	cr_assert_eq(strncmp(notify_next(fd, 3000), "RELOADING=1\n", 12), 0);
	cr_assert_str_eq(notify_next(fd, 3000), "READY=1", "a failed reload ends too");

	cr_assert_eq(fix_stop(&F), 0);
	cr_assert_str_eq(notify_next(fd, 3000), "STOPPING=1");
	close(fd);
}

Test(kbd, restart_keeps_state)
{
	struct tnode a;

	fix_init(&F, NULL);
	fix_start(&F);
	cr_assert_eq(tnode_enroll(&F, &a, "alpha", NULL, NULL), 0);
	cr_assert_eq(tnode_up(&F, &a), 0);
	cr_assert_eq(fix_stop(&F), 0);
	cr_assert(tc_wait_closed(a.c, 2000));
	fix_start(&F);
	cr_assert_eq(tnode_up(&F, &a), 0);
	cr_assert(ctl_ip_eq(&a.welcome.vip4, &a.ok.vip4));
	ping_ok(&a);
	tnode_free(&a);
	cr_assert_eq(fix_stop(&F), 0);
}

Test(kbd, reconnect_replaces_older_connection)
{
	struct tnode a;
	struct tclient *old;

	fix_init(&F, NULL);
	fix_start(&F);
	cr_assert_eq(tnode_enroll(&F, &a, "alpha", NULL, NULL), 0);
	cr_assert_eq(tnode_up(&F, &a), 0);
	old = a.c;
	a.c = NULL;
	cr_assert_eq(tnode_up(&F, &a), 0);
	cr_assert(tc_wait_closed(old, 3000));
	tc_free(old);
	ping_ok(&a);
	tnode_free(&a);
}

/* ---- hostile input ---------------------------------------------------------- */

static void good_node(struct tnode *g)
{
	cr_assert_eq(tnode_enroll(&F, g, "good", NULL, NULL), 0);
	cr_assert_eq(tnode_up(&F, g), 0);
}

Test(kbd, hostile_garbage_before_tls)
{
	struct tnode g;
	struct rawtls r = { .fd = -1 };
	uint8_t junk[600];

	fix_init(&F, NULL);
	fix_start(&F);
	good_node(&g);
	cr_assert_eq(raw_connect(&r, F.port, NULL), 0);
	memset(junk, 'G', sizeof junk);
	cr_assert_eq(raw_write(&r, junk, sizeof junk, true), 0);
	cr_assert(raw_wait_closed(&r, 3000));
	raw_free(&r);
	ping_ok(&g);
	tnode_free(&g);
}

Test(kbd, hostile_bad_frames_after_tls)
{
	struct tnode g, h;
	struct rawtls r = { .fd = -1 };
	char reply[8192];
	/* valid header, but an unknown message type */
	static const uint8_t badtype[] = { 1, 99, 0, 0, 0, 0, 0, 0 };
	/* header announcing a 1 MiB body */
	static const uint8_t huge[] = { 1, 10, 0, 0, 0, 0x10, 0, 0 };

	fix_init(&F, NULL);
	fix_start(&F);
	good_node(&g);
	cr_assert_eq(tnode_enroll(&F, &h, "hostile", NULL, NULL), 0);

	cr_assert_eq(raw_connect(&r, F.port, tls_client_new(h.creds, F.st.name)), 0);
	cr_assert_eq(raw_handshake(&r, 5000), 0);
	cr_assert_eq(raw_write(&r, badtype, sizeof badtype, false), 0);
	cr_assert(raw_wait_closed(&r, 3000), "bad frame closes the channel");
	raw_free(&r);

	cr_assert_eq(raw_connect(&r, F.port, tls_client_new(h.creds, F.st.name)), 0);
	cr_assert_eq(raw_handshake(&r, 5000), 0);
	cr_assert_eq(raw_write(&r, huge, sizeof huge, false), 0);
	cr_assert(raw_wait_closed(&r, 3000), "oversized frame header closes the channel");
	raw_free(&r);

	/* enrollment connection sending a control frame */
	cr_assert_eq(raw_connect(&r, F.port, tls_client_new_pinned(F.st.ca_fpr, F.st.name)), 0);
	cr_assert_eq(raw_handshake(&r, 5000), 0);
	{
		struct ctl_msg *m = msg();
		uint8_t buf[CTL_MAX_FRAME];
		ssize_t n;

		m->type = CTL_PING;
		n = ctl_encode(m, buf, sizeof buf);
		cr_assert_gt(n, 0);
		cr_assert_eq(raw_write(&r, buf, (size_t)n, false), 0);
		free(m);
	}
	cr_assert(raw_wait_closed(&r, 3000), "only ENROLL_REQ without a certificate");
	raw_free(&r);

	ping_ok(&g);
	cr_assert_eq(fix_admin(&F, "status json", reply, sizeof reply), 0);
	cr_assert(strstr(reply, "\"protocol_errors\":3"), "%s", reply);
	tnode_free(&g);
	tnode_free(&h);
}

static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert(f, "%s", path);
	n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	return (ssize_t)n;
}

/* A certificate the broker cannot validate never authenticates: either the
 * handshake fails, or the connection is an unauthenticated (enrollment)
 * one and HELLO is refused as a protocol error. */
static void not_authenticated(struct tls_creds *cr)
{
	struct tnode s;
	char reply[8192];
	int r;

	memset(&s, 0, sizeof s);
	snprintf(s.name, sizeof s.name, "victim");
	s.creds = cr;
	r = tnode_up(&F, &s);
	cr_assert(r == -1 || r == CTL_CODE_PROTOCOL, "tnode_up gave %d", r);
	tc_free(s.c);
	cr_assert_eq(fix_admin(&F, "status json", reply, sizeof reply), 0);
	cr_assert_null(strstr(reply, "\"name\":\"victim\""), "%s", reply);
}

Test(kbd, hostile_foreign_ca_and_expired_cert)
{
	struct tnode g, h;
	struct pki_key ca2, leaf;
	uint8_t ca2_der[PKI_CERT_MAX], cert[PKI_CERT_MAX];
	ssize_t ca2_len, cert_len;
	struct pki_cert_params p;
	struct tls_creds *cr;
	char pem[8192], err[256], path[160];
	struct pki_key cakey;
	time_t now = time(NULL);

	fix_init(&F, NULL);
	fix_start(&F);
	good_node(&g);
	cr_assert_eq(tnode_enroll(&F, &h, "victim", NULL, NULL), 0);

	/* a certificate for an enrolled name from another CA (same CN) */
	cr_assert_eq(pki_key_generate(&ca2), 0);
	memset(&p, 0, sizeof p);
	p.kind = PKI_CERT_CA;
	p.name = "keybroker-ca";
	p.pub = ca2.pub;
	p.not_before = now - 3600;
	p.not_after = now + 86400;
	ca2_len = pki_cert_issue(ca2_der, sizeof ca2_der, &p, &ca2, NULL, 0, NULL);
	cr_assert_gt(ca2_len, 0);
	memset(&p, 0, sizeof p);
	p.kind = PKI_CERT_CLIENT;
	p.name = "victim";
	p.pub = h.key.pub;
	p.not_before = now - 3600;
	p.not_after = now + 86400;
	cert_len = pki_cert_issue(cert, sizeof cert, &p, &ca2, ca2_der, (size_t)ca2_len, NULL);
	cr_assert_gt(cert_len, 0);
	/* the client trusts the real CA (to get as far as the handshake) */
	cr = tls_creds_new(cert, (size_t)cert_len, F.st.ca_der, F.st.ca_len, &h.key, err,
			   sizeof err);
	cr_assert(cr, "%s", err);
	not_authenticated(cr);
	tls_creds_free(cr);

	/* an expired certificate from the right CA */
	snprintf(path, sizeof path, "%s/ca.key", F.dir);
	read_file(path, pem, sizeof pem);
	cr_assert_eq(pki_key_from_pem(&cakey, pem, strlen(pem), err, sizeof err), 0, "%s", err);
	cr_assert_eq(pki_key_generate(&leaf), 0);
	memset(&p, 0, sizeof p);
	p.kind = PKI_CERT_CLIENT;
	p.name = "victim";
	p.pub = h.key.pub;
	p.not_before = now - 10 * 86400;
	p.not_after = now - 86400;
	cert_len = pki_cert_issue(cert, sizeof cert, &p, &cakey, F.st.ca_der, F.st.ca_len, NULL);
	cr_assert_gt(cert_len, 0);
	cr = tls_creds_new(cert, (size_t)cert_len, F.st.ca_der, F.st.ca_len, &h.key, err,
			   sizeof err);
	cr_assert(cr, "%s", err);
	not_authenticated(cr);
	tls_creds_free(cr);

	/* a valid certificate from the right CA for a name that is not enrolled */
	memset(&p, 0, sizeof p);
	p.kind = PKI_CERT_CLIENT;
	p.name = "stranger";
	p.pub = leaf.pub;
	p.not_before = now - 3600;
	p.not_after = now + 86400;
	cert_len = pki_cert_issue(cert, sizeof cert, &p, &cakey, F.st.ca_der, F.st.ca_len, NULL);
	cr_assert_gt(cert_len, 0);
	cr = tls_creds_new(cert, (size_t)cert_len, F.st.ca_der, F.st.ca_len, &leaf, err,
			   sizeof err);
	cr_assert(cr);
	{
		struct tnode s;

		memset(&s, 0, sizeof s);
		snprintf(s.name, sizeof s.name, "stranger");
		s.creds = cr;
		cr_assert_eq(tnode_up(&F, &s), CTL_CODE_UNKNOWN_NODE);
		tc_free(s.c);
	}
	tls_creds_free(cr);
	pki_key_clear(&cakey);
	pki_key_clear(&ca2);
	pki_key_clear(&leaf);

	ping_ok(&g);
	tnode_free(&g);
	tnode_free(&h);
}

/* The fixture itself: another process holding the chosen port makes the
 * daemon exit at start; fix_start moves to a new port and the test talks to
 * its own daemon (parallel suites picked the same "free" port before). */
Test(kbd, fixture_moves_off_a_taken_port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct tnode a;
	uint16_t taken;
	int fd, one = 1;

	fix_init(&F, NULL);
	taken = F.port;
	sa.sin_port = htons(taken);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0, "bind %u: %s", taken,
		     strerror(errno));
	cr_assert_eq(listen(fd, 4), 0);
	fix_start(&F);
	cr_assert_neq(F.port, taken);
	cr_assert_eq(tnode_enroll(&F, &a, "alpha", NULL, NULL), 0);
	cr_assert_eq(tnode_up(&F, &a), 0);
	tnode_free(&a);
	close(fd);
}

Test(kbd, admin_status_and_errors)
{
	char reply[8192];

	fix_init(&F, NULL);
	fix_start(&F);
	cr_assert_eq(fix_admin(&F, "status", reply, sizeof reply), 0);
	cr_assert(strstr(reply, "listening on 127.0.0.1:"), "%s", reply);
	cr_assert_eq(fix_admin(&F, "frobnicate", reply, sizeof reply), 1);
	cr_assert(strstr(reply, "frobnicate"), "%s", reply);
	cr_assert_eq(fix_stop(&F), 0);
	cr_assert_eq(fix_admin(&F, "status", reply, sizeof reply), -1);
	cr_assert(errno == ENOENT || errno == ECONNREFUSED, "errno %d", errno);
}

Test(kbd, reload_during_offer_tells_both)
{
	struct tnode a, b;
	struct x25519_eph e;
	struct ctl_msg *m = msg();
	char reply[512];
	uint64_t sid;

	fix_init(&F, NULL);
	fix_start(&F);
	two_up(&a, &b);
	cr_assert_eq(x25519_eph_generate(&e), 0);
	session_req(&a, 5, &b.ok.vip4, &e, 5);
	cr_assert_eq(tc_expect(b.c, CTL_OFFER, m, 3000), 0);
	sid = m->u.session.sid;
	fix_write_policy(&F, "[default]\naction = deny\n");
	cr_assert_eq(fix_admin(&F, "reload", reply, sizeof reply), 0, "%s", reply);
	expect_refuse(&a, 5, CTL_CODE_POLICY, 1000);
	expect_revoke(&b, sid, "alpha", CTL_CODE_POLICY, 1000);
	free(m);
	tnode_free(&a);
	tnode_free(&b);
}

/* The daemon holds the CA key: it must never write a core file. */
Test(kbd, no_core_dumps)
{
	char path[64], line[256];
	bool seen = false;
	FILE *f;

	fix_init(&F, NULL);
	fix_start(&F);
	snprintf(path, sizeof path, "/proc/%d/limits", (int)F.pid);
	f = fopen(path, "r");
	cr_assert(f, "%s", path);
	while (fgets(line, sizeof line, f)) {
		char soft[32], hard[32];

		if (strncmp(line, "Max core file size", 18) == 0) {
			seen = true;
			/* soft AND hard limit 0: the daemon cannot raise it again */
			cr_assert_eq(sscanf(line + 18, "%31s %31s", soft, hard), 2, "%s", line);
			cr_assert_str_eq(soft, "0", "%s", line);
			cr_assert_str_eq(hard, "0", "%s", line);
		}
	}
	fclose(f);
	cr_assert(seen);
}

/* ---- unauthenticated connections per source address ---------------------- */

/* Plain TCP from 127.0.0.2 (another source than the test nodes' 127.0.0.1)
 * to the broker, never starting TLS. */
static int idle_from_2(uint16_t port)
{
	struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0);
	src.sin_addr.s_addr = htonl(0x7f000002);
	dst.sin_addr.s_addr = htonl(0x7f000001);
	dst.sin_port = htons(port);
	cr_assert_eq(bind(fd, (struct sockaddr *)&src, sizeof src), 0, "%s", strerror(errno));
	cr_assert_eq(connect(fd, (struct sockaddr *)&dst, sizeof dst), 0, "%s", strerror(errno));
	return fd;
}

/* True when the broker closed fd within ms (EOF or reset). */
static bool closed_within(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	char b;
	ssize_t r;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	r = recv(fd, &b, 1, 0);
	return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static uint64_t status_counter(const char *name)
{
	char reply[16384], key[64];
	const char *p;

	cr_assert_eq(fix_admin(&F, "status json", reply, sizeof reply), 0, "%s", reply);
	snprintf(key, sizeof key, "\"%s\":", name);
	p = strstr(reply, key);
	cr_assert(p, "no %s in %s", name, reply);
	return strtoull(p + strlen(key), NULL, 10);
}

#define PER_IP KBSTATE_DEFAULT_UNAUTH_PER_IP

Test(kbd, unauth_per_ip_limit_spares_other_sources, .timeout = 120)
{
	struct tnode a, b;
	int fds[PER_IP + 1];
	uint64_t failed0;

	fix_init(&F, NULL);
	fix_start(&F);
	cr_assert_eq(F.st.unauth_per_ip, PER_IP, "default unauth_per_ip");
	cr_assert_eq(tnode_enroll(&F, &a, "alpha", NULL, NULL), 0);
	for (int i = 0; i <= PER_IP; i++)
		fds[i] = idle_from_2(F.port);
	/* the last one is over the limit: closed at once, counted */
	cr_assert(closed_within(fds[PER_IP], 3000), "connection %d not refused", PER_IP + 1);
	cr_assert_eq(status_counter("unauth_per_ip_refused"), 1);
	cr_assert_eq(status_counter("unauth_cap_refused"), 0);
	for (int i = 0; i < PER_IP; i++)
		cr_assert(!closed_within(fds[i], 1), "connection %d closed early", i);
	/* another source is not affected: enrollment and a node connection */
	cr_assert_eq(tnode_up(&F, &a), 0);
	ping_ok(&a);
	cr_assert_eq(tnode_enroll(&F, &b, "bravo", NULL, NULL), 0);
	cr_assert_eq(tnode_up(&F, &b), 0);
	ping_ok(&b);
	cr_assert_eq(status_counter("unauth_per_ip_refused"), 1);

	/* closing the idle ones gives their slots back (each is a failed
	 * handshake once the broker sees the EOF) */
	failed0 = status_counter("handshake_failed");
	for (int i = 0; i <= PER_IP; i++)
		close(fds[i]);
	for (int t = 0; t < 100 && status_counter("handshake_failed") < failed0 + PER_IP; t++)
		usleep(50000);
	cr_assert_geq(status_counter("handshake_failed"), failed0 + PER_IP);
	/* a full set from 127.0.0.2 fits again, the one after is refused again */
	for (int i = 0; i <= PER_IP; i++)
		fds[i] = idle_from_2(F.port);
	cr_assert(closed_within(fds[PER_IP], 3000));
	for (int i = 0; i < PER_IP; i++)
		cr_assert(!closed_within(fds[i], 1), "connection %d refused after the close", i);
	cr_assert_eq(status_counter("unauth_per_ip_refused"), 2);
	for (int i = 0; i <= PER_IP; i++)
		close(fds[i]);
	ping_ok(&a);
	tnode_free(&a);
	tnode_free(&b);
}

/* keybroker.conf unauth_per_ip lowers (or raises) the limit */
Test(kbd, unauth_per_ip_from_config)
{
	char path[160];
	FILE *fp;
	int fds[3];

	fix_init(&F, NULL);	/* state only: the daemon starts below */
	snprintf(path, sizeof path, "%s/%s", F.dir, KBSTATE_CONF);
	fp = fopen(path, "a");
	cr_assert(fp);
	fprintf(fp, "unauth_per_ip = 2\n");
	fclose(fp);
	kbstate_free(&F.st);
	{
		char err[KBSTATE_ERR_MAX];

		cr_assert_eq(kbstate_load(F.dir, &F.st, err), 0, "%s", err);
	}
	cr_assert_eq(F.st.unauth_per_ip, 2);
	fix_start(&F);
	for (int i = 0; i < 3; i++)
		fds[i] = idle_from_2(F.port);
	cr_assert(closed_within(fds[2], 3000));
	cr_assert(!closed_within(fds[0], 1));
	cr_assert(!closed_within(fds[1], 1));
	cr_assert_eq(status_counter("unauth_per_ip_refused"), 1);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
}
