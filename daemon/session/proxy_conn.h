/*
 * The PROXY header of a connection from haproxy_trusted_networks, read
 * by the session child before anything else (proxy_proto.h parses it).
 */
#ifndef PRIVPOP_PROXY_CONN_H
#define PRIVPOP_PROXY_CONN_H

#include <stddef.h>

#include "proxy_proto.h"

/* Read and parse the header on fd within timeout_s seconds, consuming
 * exactly its bytes: 0 with *pi filled, or -1 with why (no header, a
 * malformed one, the deadline, the connection closed). */
int	proxy_read(int fd, int timeout_s, struct proxy_info *pi, char *why,
	    size_t whylen);

#endif
