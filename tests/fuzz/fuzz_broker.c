/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz_broker.c - libFuzzer harness for the keybroker's message handlers:
 * decoded control frames are fed to conn_dispatch() on test connections
 * (no socket) in every state a real connection can be in: enrollment (no
 * certificate), authenticated before HELLO, and two active nodes. Whatever
 * the broker answers must encode (ctl_encode), and nothing may crash.
 *
 * Input: a sequence of records  selector (1 byte) || one control frame
 * (its length comes from the frame header, ctl_frame_len). The selector's
 * low two bits pick the connection. Every input starts from the same state:
 * connections, offers and sessions are rebuilt after each run.
 */
#include <stdint.h>
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

static struct kbd *kb;
static struct conn *conns[4];
static struct kbnode *na, *nb, *nc;

static void sink(struct conn *c, const struct ctl_msg *m, void *arg)
{
	static uint8_t out[CTL_MAX_FRAME];

	(void)c;
	(void)arg;
	if (ctl_encode(m, out, sizeof out) < 0)
		abort();	/* the broker produced a frame it cannot send */
}

static void enroll(const char *dir, const char *name, const char *routes)
{
	struct kbstate st;
	struct registry *r;
	struct reg_node *rn = malloc(sizeof *rn);
	char err[KBSTATE_ERR_MAX];
	uint8_t secret[16], hash[32];
	struct pki_key k;
	int64_t now = time(NULL);

	if (!rn || kbstate_load(dir, &st, err) < 0 ||
	    registry_open(st.registry_path, &r, err) != REG_OK || pki_key_generate(&k) < 0 ||
	    rand_bytes(secret, sizeof secret) < 0)
		abort();
	sha256(hash, secret, sizeof secret);
	if (registry_token_add(r, hash, name, "", routes, now, now + 3600, err) != REG_OK ||
	    registry_enroll(r, hash, k.pub, now, &st.prefix4, st.has_prefix6 ? &st.prefix6 : NULL,
			    kbstate_issue_cb, &st, rn, err) != REG_OK)
		abort();
	registry_close(r);
	kbstate_free(&st);
	free(rn);
}

static void build(void)
{
	conns[0] = conn_new_test(kb, NULL, CONN_ENROLL);
	conns[1] = conn_new_test(kb, nc, CONN_AUTHED);
	conns[2] = conn_new_test(kb, na, CONN_ACTIVE);
	conns[3] = conn_new_test(kb, nb, CONN_ACTIVE);
	for (int i = 2; i < 4; i++) {
		conns[i]->data_port = 4500;
		conns[i]->aead_mask = 0x6;
	}
}

static void reset(void)
{
	for (int i = 0; i < 4; i++)
		conn_free_test(conns[i]);
	broker_free(kb);
	build();
}

static char dir[64];

static void cleanup(void)
{
	char cmd[96];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_broker: could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[KBSTATE_ERR_MAX];

	(void)argc;
	(void)argv;
	log_init("fuzz-broker", LOG_LVL_ERROR);
	snprintf(dir, sizeof dir, "%s/fuzz-broker-%d",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
	if (kbstate_init(dir, "127.0.0.1:1", "10.77.0.0/24", "fd00:77::/64", NULL, err) < 0) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	atexit(cleanup);
	enroll(dir, "alpha", "");
	enroll(dir, "bravo", "10.200.0.0/24");
	enroll(dir, "charlie", "");
	kb = kbd_open(dir);
	if (!kb)
		abort();
	kb->test_sink = sink;
	na = dir_by_name(kb, "alpha");
	nb = dir_by_name(kb, "bravo");
	nc = dir_by_name(kb, "charlie");
	if (!na || !nb || !nc)
		abort();
	build();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_msg *m = malloc(sizeof *m);

	if (!m)
		return 0;
	while (size > 1) {
		struct conn *c = conns[data[0] & 3];
		size_t flen;

		data++;
		size--;
		if (ctl_frame_len(data, size, &flen) != CTL_OK)
			break;
		if (ctl_decode(m, data, flen) == CTL_OK)
			(void)conn_dispatch(c, m);
		data += flen;
		size -= flen;
	}
	free(m);
	/* the deferred audit queue is bounded; drop what this input queued */
	while (kb->aq_len > 64)
		audit_flush(kb, false);
	reset();
	return 0;
}
