/*
 * Address and network lists (trusted_networks, auth_penalty_exempt).
 * Runs as: root (the master and privpop-auth, which read the
 * configuration).
 */
#include "config.h"

#include <arpa/inet.h>

#include <string.h>

#include "addrlist.h"
#include "limits.h"
#include "numparse.h"

int
list_next(const char **s, const char **word_r, size_t *len_r)
{
	const char *p = *s;

	p += strspn(p, " ,\t");
	if (*p == '\0')
		return 0;
	*word_r = p;
	*len_r = strcspn(p, " ,\t");
	*s = p + *len_r;
	return 1;
}

/* "addr/bits" or a bare address: family, address bytes, prefix bits. */
static int
parse_range(const char *r, size_t rlen, int *af_r, unsigned char *a,
    int *bits_r)
{
	char net[PEER_ADDR_MAX];
	const char *slash = memchr(r, '/', rlen);
	size_t nlen = slash ? (size_t)(slash - r) : rlen;
	uint64_t v;

	if (nlen == 0 || nlen >= sizeof(net))
		return -1;
	memcpy(net, r, nlen);
	net[nlen] = '\0';
	*af_r = strchr(net, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(*af_r, net, a) != 1)
		return -1;
	*bits_r = *af_r == AF_INET ? 32 : 128;
	if (slash != NULL) {
		if (parse_uint(slash + 1, rlen - nlen - 1, 0,
		    (uint64_t)*bits_r, &v) == -1)
			return -1;
		*bits_r = (int)v;
	}
	return 0;
}

int
addrlist_valid(const char *list)
{
	unsigned char b[16];
	const char *w;
	size_t n;
	int af, bits;

	while (list_next(&list, &w, &n))
		if (parse_range(w, n, &af, b, &bits) == -1)
			return 0;
	return 1;
}

int
addrlist_match(const char *addr, const char *list)
{
	unsigned char a[16], net[16];
	const char *w;
	size_t n;
	int fa, fn, bits, i;

	fa = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(fa, addr, a) != 1)
		return 0;
	while (list_next(&list, &w, &n)) {
		if (parse_range(w, n, &fn, net, &bits) == -1 || fn != fa)
			continue;
		for (i = 0; bits > 0; i++, bits -= 8) {
			unsigned char mask = bits >= 8 ? 0xff :
			    (unsigned char)(0xff << (8 - bits));

			if ((a[i] & mask) != (net[i] & mask))
				break;
		}
		if (bits <= 0)
			return 1;
	}
	return 0;
}
