/*
 * Runs in the slot (unprivileged, right after accept) and in
 * privpop-auth (root), which learns the address from the client's
 * socket itself rather than from the session child's word.
 *
 * Runs as: privpop (the slot) and root (privpop-auth).
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "peeraddr.h"

int
peer_addr_of(int fd, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[PEER_ADDR_MAX];

	snprintf(out, outlen, PEER_LOCAL);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1) {
		/* a TCP connection reset before this (a balancer's health
		 * check, a scanner) is no pipe: it must not read as local */
		if (errno == ENOTCONN) {
			snprintf(out, outlen, "-");
			return PEER_GONE;
		}
		return 0;
	}
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return 0;
	if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), NULL,
	    0, NI_NUMERICHOST) != 0 || !peer_addr_valid(host) ||
	    snprintf(out, outlen, "%s", host) >= (int)outlen) {
		snprintf(out, outlen, "-");
		return -1;
	}
	return 0;
}

int
peer_addr_valid(const char *s)
{
	char a[PEER_ADDR_MAX];
	unsigned char bin[sizeof(struct in6_addr)];
	size_t n = strcspn(s, "%");

	if (strcmp(s, PEER_LOCAL) == 0)
		return 1;
	if (n >= sizeof(a))
		return 0;
	memcpy(a, s, n);
	a[n] = '\0';
	if (s[n] == '\0')
		return inet_pton(AF_INET, a, bin) == 1 ||
		    inet_pton(AF_INET6, a, bin) == 1;
	/* a scope: only after an IPv6 address, a plain interface name */
	s += n + 1;
	n = strlen(s);
	return inet_pton(AF_INET6, a, bin) == 1 && n > 0 && n < 16 &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == n;
}
