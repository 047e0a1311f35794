/*
 * The PROXY protocol header a load balancer (HAProxy's send-proxy and
 * send-proxy-v2) puts before the client's first byte: the client's real
 * address and port, and in v2 what the balancer knew of the client's
 * TLS and the name it asked for.  Parsed only by the session child,
 * from haproxy_trusted_networks only, before the greeting.
 */
#ifndef PRIVPOP_PROXY_PROTO_H
#define PRIVPOP_PROXY_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "limits.h"	/* PEER_ADDR_MAX, PROXY_* */

struct proxy_info {
	int		 local;		/* v2 LOCAL, v1 UNKNOWN, or a v2
					   family we do not route (UNSPEC,
					   UNIX): the connection is the
					   balancer's own (a health check) */
	char		 src[PEER_ADDR_MAX];	/* numeric, as peeraddr.h */
	char		 dst[PEER_ADDR_MAX];
	uint16_t	 src_port, dst_port;
	int		 version;		/* 1 or 2 */
	/* v2 TLVs; empty when absent */
	char		 authority[PROXY_AUTHORITY_MAX + 1];	/* SNI */
	int		 ssl;		/* PP2_TYPE_SSL: the client used TLS */
	int		 ssl_verified;	/* and its certificate verified */
	char		 ssl_version[PROXY_SSL_TEXT_MAX + 1];
	char		 ssl_cipher[PROXY_SSL_TEXT_MAX + 1];
};

/* Parse the header at the start of buf[0..len).  Returns its length
 * (the bytes to consume; what follows is the client's) with *pi filled,
 * 0 when buf is a correct beginning but too short to decide, or -1 with
 * what is wrong in why: not a PROXY header, a malformed one, one longer
 * than PROXY_V2_MAX. */
ssize_t	proxy_parse(const unsigned char *buf, size_t len,
	    struct proxy_info *pi, char *why, size_t whylen);

#endif
