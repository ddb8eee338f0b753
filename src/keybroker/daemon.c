/* SPDX-License-Identifier: GPL-2.0-only */
/* daemon.c - keybroker_run(): set up, run the loop, tear down. See
 * daemon.h. */
#include "keybroker/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/proc.h"
#include "keybroker/broker.h"
#include "keybroker/conn.h"
#include "keybroker/listener.h"
#include "keybroker/policy.h"
#include "keybroker/registry.h"

uint64_t kbd_now_ms(const struct kbd *kb)
{
	return (uint64_t)(ev_now(kb->loop) * 1000.0);
}

/* sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET. */
static void notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n;
	int fd;

	if (!path || !*path || (path[0] != '/' && path[0] != '@'))
		return;
	n = strlen(path);
	if (n >= sizeof sa.sun_path)
		return;
	memcpy(sa.sun_path, path, n);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	close(fd);
}

/* RELOADING=1 carries the time of the reload (systemd >= 253 wants it for
 * Type=notify-reload; Type=notify takes it as well). */
static void notify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
	notify(msg);
}

int kbd_reload(struct kbd *kb, char *err, size_t errlen)
{
	char perr[POLICY_ERR_MAX] = "";
	struct policy *p;

	/* SIGHUP and the admin "reload" (ExecReload) alike */
	notify_reloading();
	p = policy_load(kb->st.policy_path, perr);
	if (!p) {
		kb->cnt.reload_failed++;
		log_error("policy reload failed, the old policy stays in force: %s", perr);
		snprintf(err, errlen, "%s", perr);
		notify("READY=1");
		return -1;
	}
	policy_free(kb->pol);
	kb->pol = p;
	kb->cnt.reloads++;
	log_info("policy reloaded: %d rule(s), default %s", policy_rule_count(p),
		 policy_default_allow(p) ? "allow" : "deny");
	broker_policy_changed(kb);
	notify("READY=1");
	return 0;
}

static void sig_cb(EV_P_ ev_signal *w, int revents)
{
	struct kbd *kb = w->data;
	char err[POLICY_ERR_MAX];

	(void)revents;
	if (w->signum == SIGHUP) {
		(void)kbd_reload(kb, err, sizeof err);
		return;
	}
	log_info("signal %d: stopping", w->signum);
	ev_break(EV_A, EVBREAK_ALL);
}

static void sweep_cb(EV_P_ ev_timer *w, int revents)
{
	struct kbd *kb = w->data;
	uint64_t now = kbd_now_ms(kb);

	(void)EV_A;
	(void)revents;
	conn_sweep(kb, now);
	broker_sweep(kb, now);
}

static void kick_cb(EV_P_ ev_prepare *w, int revents)
{
	(void)EV_A;
	(void)revents;
	conn_kick_all(w->data);
}

struct kbd *kbd_open(const char *dir)
{
	char err[KBSTATE_ERR_MAX > REGISTRY_ERR_MAX ? KBSTATE_ERR_MAX : REGISTRY_ERR_MAX];
	char perr[POLICY_ERR_MAX];
	struct kbd *kb = calloc(1, sizeof *kb);

	if (!kb) {
		log_error("out of memory");
		return NULL;
	}
	kb->lfd = kb->afd = -1;
	kb->loop = ev_default_loop(EVFLAG_AUTO);
	if (!kb->loop) {
		log_error("cannot start the event loop");
		free(kb);
		return NULL;
	}
	snprintf(kb->dir, sizeof kb->dir, "%s", dir);
	if (kbstate_load(dir, &kb->st, err) < 0) {
		log_error("%s", err);
		goto fail;
	}
	if (registry_open(kb->st.registry_path, &kb->reg, err) != REG_OK) {
		log_error("registry %s: %s", kb->st.registry_path, err);
		goto fail;
	}
	kb->pol = policy_load(kb->st.policy_path, perr);
	if (!kb->pol) {
		log_error("refusing to start with a bad policy: %s", perr);
		goto fail;
	}
	kb->creds = tls_creds_new(kb->st.server_der, kb->st.server_len, kb->st.ca_der,
				  kb->st.ca_len, &kb->st.server_key, err, sizeof err);
	if (!kb->creds) {
		log_error("broker TLS credentials: %s", err);
		goto fail;
	}
	if (dir_load(kb) < 0)
		goto fail;
	kb->started_ms = kbd_now_ms(kb);
	kb->started_unix = time(NULL);
	kb->conn_cap = KBD_MAX_CONNS;

	ev_timer_init(&kb->sweep, sweep_cb, KBD_SWEEP_S, KBD_SWEEP_S);
	kb->sweep.data = kb;
	ev_timer_start(kb->loop, &kb->sweep);
	ev_prepare_init(&kb->kick, kick_cb);
	kb->kick.data = kb;
	ev_prepare_start(kb->loop, &kb->kick);
	audit_init(kb);
	return kb;
fail:
	kbd_close(kb);
	return NULL;
}

void kbd_close(struct kbd *kb)
{
	if (!kb)
		return;
	listener_close(kb);
	admin_stop(kb);
	conn_free_all(kb);
	broker_free(kb);
	if (kb->reg)
		audit_stop(kb);
	ev_timer_stop(kb->loop, &kb->sweep);
	ev_prepare_stop(kb->loop, &kb->kick);
	dir_free(kb);
	tls_creds_free(kb->creds);
	policy_free(kb->pol);
	registry_close(kb->reg);
	kbstate_free(&kb->st);
	free(kb);
}

static size_t raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	return (size_t)rl.rlim_cur;
}

static int write_pid(const char *dir)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], buf[32];
	int fd, n;

	snprintf(path, sizeof path, "%s/keybroker.pid", dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	return rename(tmp, path);
}

int keybroker_run(const char *dir)
{
	struct kbd *kb;
	size_t nofile;
	char pidpath[PATH_MAX];
	struct sigaction sa = { .sa_handler = SIG_IGN };

	sigaction(SIGPIPE, &sa, NULL);
	proc_no_core_dumps();	/* before any key is loaded */
	kb = kbd_open(dir);
	if (!kb)
		return 1;
	nofile = raise_nofile();
	if (nofile > KBD_FD_RESERVE && nofile - KBD_FD_RESERVE < kb->conn_cap)
		kb->conn_cap = nofile - KBD_FD_RESERVE;
	if (listener_open(kb) < 0 || admin_listen(kb) < 0) {
		kbd_close(kb);
		return 1;
	}
	ev_signal_init(&kb->sig_term, sig_cb, SIGTERM);
	ev_signal_init(&kb->sig_int, sig_cb, SIGINT);
	ev_signal_init(&kb->sig_hup, sig_cb, SIGHUP);
	kb->sig_term.data = kb->sig_int.data = kb->sig_hup.data = kb;
	ev_signal_start(kb->loop, &kb->sig_term);
	ev_signal_start(kb->loop, &kb->sig_int);
	ev_signal_start(kb->loop, &kb->sig_hup);

	snprintf(pidpath, sizeof pidpath, "%s/keybroker.pid", dir);
	if (write_pid(dir) < 0)
		log_warn_errno("cannot write %s", pidpath);
	log_info("listening on %s (%zu node(s) enrolled, policy %d rule(s), up to %zu "
		 "connections)", kb->listen_text, kb->n_nodes, policy_rule_count(kb->pol),
		 kb->conn_cap);
	notify("READY=1");

	ev_run(kb->loop, 0);

	notify("STOPPING=1");
	ev_signal_stop(kb->loop, &kb->sig_term);
	ev_signal_stop(kb->loop, &kb->sig_int);
	ev_signal_stop(kb->loop, &kb->sig_hup);
	kbd_close(kb);
	unlink(pidpath);
	log_info("stopped");
	return 0;
}
