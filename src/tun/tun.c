/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tun.c - open/attach the TUN device, packet I/O, offloads; contract in
 * tun.h. Link configuration lives in tun_config.c.
 */
#include "tun/tun.h"
#include "tun/vnet.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void init(struct tun *t)
{
	memset(t, 0, sizeof *t);
	t->fd = -1;
}

static int read_mtu(const char *ifname, unsigned *mtu)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = -1;

	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
	if (ioctl(s, SIOCGIFMTU, &ifr) == 0) {
		*mtu = (unsigned)ifr.ifr_mtu;
		r = 0;
	}
	close(s);
	return r;
}

int tun_open(struct tun *t, const char *name, unsigned flags, char err[static TUN_ERR_MAX])
{
	struct ifreq ifr;
	bool exists;
	int e;

	init(t);
	if (!name || !name[0])
		name = TUN_DEFAULT_NAME;
	if (!name[0] || strlen(name) >= IFNAMSIZ || strchr(name, '/') ||
	    strpbrk(name, " \t\n")) {
		snprintf(err, TUN_ERR_MAX, "invalid interface name '%s' (1..%d characters, no '/' or space)",
			 name, IFNAMSIZ - 1);
		errno = EINVAL;
		return -1;
	}
	exists = !strchr(name, '%') && if_nametoindex(name) != 0;

	t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | ((flags & TUN_O_NONBLOCK) ? O_NONBLOCK : 0));
	if (t->fd < 0) {
		e = errno;
		snprintf(err, TUN_ERR_MAX, "cannot open /dev/net/tun: %s", strerror(e));
		goto fail;
	}
	if (ioctl(t->fd, TUNGETFEATURES, &t->features) < 0)
		t->features = 0;
	if ((flags & TUN_O_VNET_HDR) && t->features && !(t->features & IFF_VNET_HDR)) {
		e = EOPNOTSUPP;
		snprintf(err, TUN_ERR_MAX, "TUN device '%s': kernel lacks IFF_VNET_HDR", name);
		goto fail;
	}

	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (flags & TUN_O_VNET_HDR)
		ifr.ifr_flags |= IFF_VNET_HDR;
	if (flags & TUN_O_MULTI_QUEUE)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	if (!exists && !strchr(name, '%'))
		ifr.ifr_flags |= IFF_TUN_EXCL;	/* lose a creation race loudly */
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		if (exists && e == EBUSY)
			snprintf(err, TUN_ERR_MAX, "cannot attach to TUN '%s': in use by another process (%s)",
				 name, strerror(e));
		else if (exists)
			snprintf(err, TUN_ERR_MAX, "cannot attach to existing device '%s': %s "
				 "(it must be a TUN in tun mode, %s)", name, strerror(e),
				 (flags & TUN_O_MULTI_QUEUE) ? "created multi_queue" : "without multi_queue");
		else
			snprintf(err, TUN_ERR_MAX, "cannot create TUN '%s': %s", name, strerror(e));
		goto fail;
	}
	snprintf(t->ifname, sizeof t->ifname, "%s", ifr.ifr_name);
	t->vnet_hdr = flags & TUN_O_VNET_HDR;
	t->multi_queue = flags & TUN_O_MULTI_QUEUE;
	t->nonblock = flags & TUN_O_NONBLOCK;

	memset(&ifr, 0, sizeof ifr);
	if (ioctl(t->fd, TUNGETIFF, &ifr) == 0)
		t->persistent_attached = ifr.ifr_flags & IFF_PERSIST;
	else
		t->persistent_attached = exists;

	t->ifindex = (int)if_nametoindex(t->ifname);
	if (t->ifindex <= 0 || read_mtu(t->ifname, &t->mtu) < 0) {
		e = errno;
		snprintf(err, TUN_ERR_MAX, "TUN '%s' opened but not visible: %s", t->ifname, strerror(e));
		goto fail;
	}
	if (t->vnet_hdr) {
		int sz = VNET_HDR_LEN;

		if (ioctl(t->fd, TUNSETVNETHDRSZ, &sz) < 0) {
			e = errno;
			snprintf(err, TUN_ERR_MAX, "cannot set vnet header size %d on '%s': %s",
				 sz, t->ifname, strerror(e));
			goto fail;
		}
	}
	/* An attached device keeps offloads from its previous user: without a
	 * vnet header, TSO left on would hand us super-packets. */
	if (ioctl(t->fd, TUNSETOFFLOAD, 0u) < 0) {
		e = errno;
		snprintf(err, TUN_ERR_MAX, "cannot clear offloads on '%s': %s",
			 t->ifname, strerror(e));
		goto fail;
	}
	return 0;
fail:
	tun_close(t);
	init(t);
	errno = e;
	return -1;
}

int tun_queue_open(struct tun *t, char err[static TUN_ERR_MAX])
{
	struct ifreq ifr;
	int fd, e, sz = VNET_HDR_LEN;

	if (t->fd < 0 || !t->multi_queue) {
		snprintf(err, TUN_ERR_MAX, "cannot add a queue to '%s': not opened multi-queue",
			 t->fd < 0 ? "(closed)" : t->ifname);
		errno = EINVAL;
		return -1;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | (t->nonblock ? O_NONBLOCK : 0));
	if (fd < 0) {
		e = errno;
		snprintf(err, TUN_ERR_MAX, "cannot open /dev/net/tun: %s", strerror(e));
		errno = e;
		return -1;
	}
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", t->ifname);
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | (t->vnet_hdr ? IFF_VNET_HDR : 0);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 ||
	    (t->vnet_hdr && ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0)) {
		e = errno;
		close(fd);
		snprintf(err, TUN_ERR_MAX, "cannot add a queue to '%s': %s", t->ifname, strerror(e));
		errno = e;
		return -1;
	}
	return fd;
}

void tun_close(struct tun *t)
{
	if (t->fd >= 0) {
		if (t->offloads && t->persistent_attached)
			(void)ioctl(t->fd, TUNSETOFFLOAD, 0u);	/* leave it as found */
		close(t->fd);
	}
	t->fd = -1;
}

ssize_t tun_read(struct tun *t, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read(t->fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

ssize_t tun_write(struct tun *t, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = write(t->fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

/* ---- offloads ------------------------------------------------------------ */

static bool offload_ok(int fd, unsigned v)
{
	return ioctl(fd, TUNSETOFFLOAD, v) == 0;
}

int tun_probe_offloads(struct tun *t, struct tun_offloads *out, char err[static TUN_ERR_MAX])
{
	/* Each candidate with what it needs: TSO/USO require CSUM; the kernel
	 * takes USO only as USO4|USO6 together. */
	static const unsigned tries[] = {
		TUN_F_CSUM,
		TUN_F_CSUM | TUN_F_TSO4,
		TUN_F_CSUM | TUN_F_TSO6,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN,
		TUN_F_CSUM | TUN_F_USO4 | TUN_F_USO6,
	};
	unsigned best = 0;

	memset(out, 0, sizeof *out);
	if (t->fd < 0) {
		snprintf(err, TUN_ERR_MAX, "offload probe: TUN is not open");
		errno = EBADF;
		return -1;
	}
	if (ioctl(t->fd, TUNGETFEATURES, &out->features) < 0)
		out->features = t->features;
	out->vnet_hdr_supported = out->features & IFF_VNET_HDR;
	if (ioctl(t->fd, TUNGETVNETHDRSZ, &out->vnet_hdr_sz) < 0)
		out->vnet_hdr_sz = 0;
	for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
		if (offload_ok(t->fd, tries[i]))
			out->accepted |= tries[i];
	}
	best = out->accepted & (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6);
	/* The union of what passed alone should pass together; step down if not. */
	while (best && !offload_ok(t->fd, best)) {
		if (best & TUN_F_USO4)
			best &= ~(unsigned)(TUN_F_USO4 | TUN_F_USO6);
		else if (best & TUN_F_TSO6)
			best &= ~(unsigned)TUN_F_TSO6;
		else if (best & TUN_F_TSO4)
			best &= ~(unsigned)TUN_F_TSO4;
		else
			best = 0;
	}
	out->best = best;
	if (!offload_ok(t->fd, t->offloads)) {
		int e = errno;

		snprintf(err, TUN_ERR_MAX, "offload probe: cannot restore offloads 0x%x on %s: %s",
			 t->offloads, t->ifname, strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

int tun_set_offload(struct tun *t, unsigned tun_f, char err[static TUN_ERR_MAX])
{
	if (tun_f && !t->vnet_hdr) {
		snprintf(err, TUN_ERR_MAX, "cannot set offloads 0x%x on %s: opened without vnet header",
			 tun_f, t->ifname);
		errno = EINVAL;
		return -1;
	}
	if (!offload_ok(t->fd, tun_f)) {
		int e = errno;

		snprintf(err, TUN_ERR_MAX, "cannot set offloads 0x%x on %s: %s", tun_f, t->ifname,
			 strerror(e));
		errno = e;
		return -1;
	}
	t->offloads = tun_f;
	return 0;
}
