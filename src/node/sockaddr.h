/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sockaddr.h - struct ctl_endpoint <-> struct sockaddr_storage. An IPv4
 * endpoint becomes AF_INET (the data socket is dual-stack and maps it
 * itself when it is AF_INET6: see sockaddr_for_socket).
 */
#ifndef MAVPN_NODE_SOCKADDR_H
#define MAVPN_NODE_SOCKADDR_H

#include <stdbool.h>
#include <sys/socket.h>

#include "proto/ctl.h"

/* Returns the length to pass to connect/sendto (0 for a bad af). */
socklen_t sockaddr_from_endpoint(struct sockaddr_storage *ss, const struct ctl_endpoint *ep);
/* Unmaps ::ffff:a.b.c.d to IPv4. false for other families. */
bool sockaddr_to_endpoint(struct ctl_endpoint *ep, const struct sockaddr *sa, socklen_t len);
/* Rewrite an AF_INET address as ::ffff:a.b.c.d for an AF_INET6 socket;
 * returns the new length. Other families unchanged. */
socklen_t sockaddr_for_socket(struct sockaddr_storage *ss, socklen_t len, int sock_family);
/* Same address and port (after unmapping). */
bool sockaddr_equal(const struct sockaddr *a, socklen_t alen, const struct sockaddr *b,
		    socklen_t blen);
#endif
