/* SPDX-License-Identifier: GPL-2.0-only */
/* enroll.c - ENROLL_REQ on a connection without a client certificate
 * (DESIGN.md step 1). The request must be signed by the key it enrolls
 * (proof of possession, ctl_enroll_sig_msg); the token secret is hashed at
 * once; the registry does the whole enrollment in one transaction; a refusal
 * changes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "crypto/ct.h"
#include "crypto/hash.h"
#include "crypto/pki.h"
#include "keybroker/broker.h"
#include "keybroker/registry.h"

/*
 * What a refused node is told. The node prints "<code name>: <reason>"
 * (ctl_code_name) and drops the reason when it equals the code name, so the
 * reason adds what the code does not already say instead of repeating it.
 * `text` gets the whole sentence for the broker's log.
 */
struct refusal {
	uint16_t code;
	char reason[CTL_REASON_MAX + 1];
	char text[CTL_REASON_MAX + 64];
};

static void refusal_for(const struct kbd *kb, enum reg_result r, struct refusal *f)
{
	const char *reason;
	char p[CTL_ADDRSTRLEN];

	f->code = registry_ctl_code(r);
	switch (r) {
	case REG_POOL_FULL:
		/* not a fault of the broker: a capacity limit of the network
		 * (the IPv6 overlay holds at least as many as the IPv4 one) */
		f->code = CTL_CODE_LIMIT;
		snprintf(f->reason, sizeof f->reason, "overlay prefix %s is full",
			 ctl_prefix_fmt(&kb->st.prefix4, p));
		snprintf(f->text, sizeof f->text, "%s (revoke unused nodes to free addresses)",
			 f->reason);
		return;
	case REG_TOKEN_UNKNOWN:
		reason = "mistyped, replaced by a newer token for the same name, or never "
			 "created here";
		break;
	case REG_TOKEN_USED:
		reason = "token already used";
		break;
	case REG_TOKEN_EXPIRED:
		reason = "token expired";
		break;
	case REG_NAME_TAKEN:
		reason = "a node with this name is already enrolled";
		break;
	case REG_PUB_TAKEN:
		reason = "this public key was enrolled before";
		break;
	default:
		reason = registry_strerror(r);
		break;
	}
	snprintf(f->reason, sizeof f->reason, "%s", reason);
	if (r == REG_TOKEN_UNKNOWN)
		snprintf(f->text, sizeof f->text, "unknown token (%s)", reason);
	else
		snprintf(f->text, sizeof f->text, "%s", reason);
}

/* Was the request signed by the private key of the public key it presents?
 * The decoder already bounded sig_len to CTL_SIG_MIN..CTL_SIG_MAX. */
static bool signed_by_pub(const struct ctl_enroll_req *req)
{
	uint8_t msg[CTL_ENROLL_SIG_MSG_LEN];
	bool ok;

	_Static_assert(CTL_PUB_LEN == PKI_PUB_LEN, "same key encoding");
	_Static_assert(CTL_SIG_MAX == PKI_SIG_MAX, "same signature bound");
	if (req->sig_len < CTL_SIG_MIN || req->sig_len > CTL_SIG_MAX)
		return false;
	ctl_enroll_sig_msg(msg, req->token_secret, req->pub);
	ok = pki_verify(req->pub, msg, sizeof msg, req->sig, req->sig_len);
	ct_wipe(msg, sizeof msg);
	return ok;
}

int enroll_handle(struct conn *c, const struct ctl_enroll_req *req)
{
	struct kbd *kb = c->kb;
	uint8_t hash[REG_TOKEN_HASH_LEN];
	char err[REGISTRY_ERR_MAX] = "";
	char peer[CTL_ADDRSTRLEN];
	struct reg_node *rn = calloc(1, sizeof *rn);
	struct ctl_msg *m = calloc(1, sizeof *m);
	struct ctl_enroll_ok *ok;
	struct kbnode *n;
	enum reg_result r;

	ctl_endpoint_fmt(&c->peer, peer);
	if (!rn || !m) {
		conn_shutdown(c, CTL_CODE_INTERNAL, "out of memory");
		goto out;
	}
	sha256(hash, req->token_secret, CTL_TOKEN_SECRET_LEN);
	if (req->pub[0] != 0x04) {
		kb->cnt.enroll_refused++;
		conn_shutdown(c, CTL_CODE_PROTOCOL, "public key is not an uncompressed P-256 point");
		goto out;
	}
	if (!signed_by_pub(req)) {
		kb->cnt.enroll_refused++;
		log_warn("enrollment from %s refused: enrollment request not signed by the "
			 "presented key (%u-byte signature)", peer, (unsigned)req->sig_len);
		conn_shutdown(c, CTL_CODE_PROTOCOL,
			      "enrollment request not signed by the presented key");
		goto out;
	}
	r = registry_enroll(kb->reg, hash, req->pub, time(NULL), &kb->st.prefix4,
			    kb->st.has_prefix6 ? &kb->st.prefix6 : NULL,
			    kbstate_issue_cb, &kb->st, rn, err);
	if (r != REG_OK) {
		struct refusal f;

		refusal_for(kb, r, &f);
		kb->cnt.enroll_refused++;
		if (r == REG_ERR_DB) {
			kb->cnt.db_errors++;
			log_error("enrollment from %s: registry error: %s", peer, err);
		} else {
			log_warn("enrollment from %s refused: %s", peer, f.text);
		}
		conn_shutdown(c, f.code, "%s", f.reason);
		goto out;
	}
	kb->cnt.enrollments++;
	log_info("enrolled node %s from %s", rn->name, peer);
	n = dir_upsert(kb, rn);

	m->type = CTL_ENROLL_OK;
	ok = &m->u.enroll_ok;
	snprintf(ok->name, sizeof ok->name, "%s", rn->name);
	snprintf(ok->broker_name, sizeof ok->broker_name, "%s", kb->st.name);
	ok->vip4 = rn->vip4;
	ok->has_vip6 = rn->has_vip6;
	ok->vip6 = rn->vip6;
	ok->prefix4 = kb->st.prefix4;
	ok->has_prefix6 = kb->st.has_prefix6;
	ok->prefix6 = kb->st.prefix6;
	ok->n_routes = rn->n_routes > CTL_MAX_PREFIXES ? CTL_MAX_PREFIXES : rn->n_routes;
	memcpy(ok->routes, rn->route, ok->n_routes * sizeof ok->routes[0]);
	ok->cert_len = rn->cert_len;
	memcpy(ok->cert, rn->cert, rn->cert_len);
	ok->ca_len = (uint16_t)kb->st.ca_len;
	memcpy(ok->ca, kb->st.ca_der, kb->st.ca_len);
	(void)conn_send(c, m);
	conn_shutdown(c, CTL_CODE_NONE, "enrolled");
	if (n && n->n_routes)
		broker_routes_changed(kb);
out:
	ct_wipe(hash, sizeof hash);
	free(rn);
	free(m);
	return 0;
}
