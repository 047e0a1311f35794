/*
 * A connection's client address as every process logs and matches it:
 * numeric IPv4 or IPv6 (with a numeric or interface scope), or "local"
 * for a pipe or a UNIX socket (inetd-style tests, local tunnels).
 */
#ifndef PRIVPOP_PEERADDR_H
#define PRIVPOP_PEERADDR_H

#include <stddef.h>

#include "limits.h"	/* PEER_ADDR_MAX */

#define PEER_LOCAL	"local"

/* The peer of fd, from the kernel (getpeername): 0 with the address in
 * out, -1 (an inet socket whose name cannot be printed) or PEER_GONE
 * (a socket whose peer has already reset it: no address, and no
 * client to serve); out is "-" for both. */
#define PEER_GONE	(-2)
int	peer_addr_of(int fd, char *out, size_t outlen);
/* Whether s is one of the forms above; 1 or 0. */
int	peer_addr_valid(const char *s);

#endif
