/*
 * The PROXY protocol, versions 1 and 2, as HAProxy's specification
 * ("The PROXY protocol", haproxy.org) defines them; see proxy_proto.h.
 * Strict: one space between v1's fields, ports without leading zeros,
 * addresses inet_pton takes, v2's lengths checked against each other,
 * its CRC32C checked when sent, texts kept only when printable.
 *
 * Runs as: privpop (the session child).
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include "proxy_proto.h"

static const unsigned char v2sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

#define V2_HDR		16
#define V2_CMD_LOCAL	0x0
#define V2_CMD_PROXY	0x1
#define V2_AF_UNSPEC	0x0
#define V2_AF_INET	0x1
#define V2_AF_INET6	0x2
#define V2_AF_UNIX	0x3
#define V2_STREAM	0x1
#define V2_INET_LEN	12	/* two IPv4 addresses, two ports */
#define V2_INET6_LEN	36
#define V2_UNIX_LEN	216	/* two paths of 108 */

#define TLV_AUTHORITY	0x02
#define TLV_CRC32C	0x03
#define TLV_SSL		0x20
#define TLV_SSL_VERSION	0x21
#define TLV_SSL_CIPHER	0x23
#define SSL_CLIENT_SSL	0x01
#define SSL_HDR		5	/* client (1), verify (4) */

static ssize_t
bad(char *why, size_t whylen, const char *what)
{
	snprintf(why, whylen, "%s", what);
	return -1;
}

/* Whether the n bytes at p start a prefix of the n bytes at want. */
static int
prefix_of(const unsigned char *p, size_t n, const void *want, size_t wn)
{
	return memcmp(p, want, n < wn ? n : wn) == 0;
}

/* A port of v1: 0, or 1 to 5 digits without a leading zero, <= 65535. */
static int
v1_port(const char *p, size_t n, uint16_t *port_r)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5 || (n > 1 && p[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port_r = (uint16_t)v;
	return 0;
}

/* An address of v1 in family af, written back in inet_ntop's form. */
static int
v1_addr(const char *p, size_t n, int af, char *out, size_t outlen)
{
	char a[PEER_ADDR_MAX];
	unsigned char bin[sizeof(struct in6_addr)];

	if (n == 0 || n >= sizeof(a))
		return -1;
	memcpy(a, p, n);
	a[n] = '\0';
	if (inet_pton(af, a, bin) != 1 ||
	    inet_ntop(af, bin, out, (socklen_t)outlen) == NULL)
		return -1;
	return 0;
}

static ssize_t
parse_v1(const unsigned char *buf, size_t len, struct proxy_info *pi,
    char *why, size_t whylen)
{
	const char *f[6], *line = (const char *)buf;
	size_t fl[6], i, end, nf, start;
	int af;

	for (end = 0; end < len && end < PROXY_V1_MAX; end++)
		if (buf[end] == '\n')
			break;
	if (end == len && len < PROXY_V1_MAX)
		return 0;
	if (end == len || end >= PROXY_V1_MAX)
		return bad(why, whylen, "a PROXY v1 line longer than 107 bytes");
	if (end == 0 || buf[end - 1] != '\r')
		return bad(why, whylen, "a PROXY v1 line without CRLF");
	end--;				/* the CR */
	for (i = 0; i < end; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return bad(why, whylen, "a control byte in the PROXY "
			    "v1 line");
	pi->version = 1;
	/* UNKNOWN: the rest of the line is to be ignored */
	if (end >= 13 && memcmp(line, "PROXY UNKNOWN", 13) == 0 &&
	    (end == 13 || line[13] == ' ')) {
		pi->local = 1;
		return (ssize_t)end + 2;
	}
	for (nf = 0, start = 0, i = 0; i <= end; i++) {
		if (i < end && line[i] != ' ')
			continue;
		if (nf == 6 || i == start)
			return bad(why, whylen, "a PROXY v1 line not of 6 "
			    "fields, one space apart");
		f[nf] = line + start;
		fl[nf++] = i - start;
		start = i + 1;
	}
	if (nf != 6)
		return bad(why, whylen, "a PROXY v1 line not of 6 fields, one "
		    "space apart");
	if (fl[0] != 5 || memcmp(f[0], "PROXY", 5) != 0 || fl[1] != 4)
		return bad(why, whylen, "not a PROXY v1 line");
	if (memcmp(f[1], "TCP4", 4) == 0)
		af = AF_INET;
	else if (memcmp(f[1], "TCP6", 4) == 0)
		af = AF_INET6;
	else
		return bad(why, whylen, "a PROXY v1 protocol other than TCP4, "
		    "TCP6 or UNKNOWN");
	if (v1_addr(f[2], fl[2], af, pi->src, sizeof(pi->src)) == -1 ||
	    v1_addr(f[3], fl[3], af, pi->dst, sizeof(pi->dst)) == -1)
		return bad(why, whylen, "a PROXY v1 address not of its "
		    "protocol's form");
	if (v1_port(f[4], fl[4], &pi->src_port) == -1 ||
	    v1_port(f[5], fl[5], &pi->dst_port) == -1)
		return bad(why, whylen, "a PROXY v1 port not a number of 0 to "
		    "65535");
	return (ssize_t)end + 2;
}

/* CRC-32C (Castagnoli, reflected, polynomial 0x82F63B78) of p[0..n). */
static uint32_t
crc32c(uint32_t crc, const unsigned char *p, size_t n)
{
	int k;

	crc = ~crc;
	while (n-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return ~crc;
}

/* A TLV's text: printable, cut to what out holds. */
static int
tlv_text(const unsigned char *p, size_t n, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return -1;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* PP2_TYPE_SSL's value: its client flags, verify result and sub-TLVs. */
static int
parse_ssl(const unsigned char *p, size_t n, struct proxy_info *pi)
{
	size_t off, vlen;

	if (n < SSL_HDR)
		return -1;
	pi->ssl = (p[0] & SSL_CLIENT_SSL) != 0;
	pi->ssl_verified = pi->ssl && p[1] == 0 && p[2] == 0 && p[3] == 0 &&
	    p[4] == 0;
	for (off = SSL_HDR; off < n; off += 3 + vlen) {
		if (n - off < 3)
			return -1;
		vlen = (size_t)p[off + 1] << 8 | p[off + 2];
		if (vlen > n - off - 3)
			return -1;
		if (p[off] == TLV_SSL_VERSION && tlv_text(p + off + 3, vlen,
		    pi->ssl_version, sizeof(pi->ssl_version)) == -1)
			return -1;
		if (p[off] == TLV_SSL_CIPHER && tlv_text(p + off + 3, vlen,
		    pi->ssl_cipher, sizeof(pi->ssl_cipher)) == -1)
			return -1;
	}
	return 0;
}

static ssize_t
parse_tlvs(const unsigned char *buf, size_t total, size_t off,
    struct proxy_info *pi, char *why, size_t whylen)
{
	unsigned char zero[4] = { 0, 0, 0, 0 };
	size_t vlen, i;
	uint32_t want, got;
	int seen_auth = 0, seen_ssl = 0, seen_crc = 0;

	for (; off < total; off += 3 + vlen) {
		const unsigned char *v;

		if (total - off < 3)
			return bad(why, whylen, "a PROXY v2 TLV cut short");
		vlen = (size_t)buf[off + 1] << 8 | buf[off + 2];
		if (vlen > total - off - 3)
			return bad(why, whylen, "a PROXY v2 TLV longer than "
			    "the header");
		v = buf + off + 3;
		switch (buf[off]) {
		case TLV_AUTHORITY:
			if (seen_auth++ || vlen == 0 ||
			    vlen > PROXY_AUTHORITY_MAX ||
			    tlv_text(v, vlen, pi->authority,
			    sizeof(pi->authority)) == -1)
				return bad(why, whylen, "a PROXY v2 authority "
				    "not a host name of at most 255 bytes");
			for (i = 0; i < vlen; i++)
				if (strchr("abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_",
				    v[i]) == NULL)
					return bad(why, whylen, "a PROXY v2 "
					    "authority not a host name");
			break;
		case TLV_SSL:
			if (seen_ssl++ || parse_ssl(v, vlen, pi) == -1)
				return bad(why, whylen, "a malformed PROXY v2 "
				    "SSL TLV");
			break;
		case TLV_CRC32C:
			if (seen_crc++ || vlen != 4)
				return bad(why, whylen, "a malformed PROXY v2 "
				    "CRC32C TLV");
			/* over the whole header, this field zeroed */
			want = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
			    (uint32_t)v[2] << 8 | v[3];
			got = crc32c(0, buf, (size_t)(v - buf));
			got = crc32c(got, zero, 4);
			got = crc32c(got, v + 4, total - (size_t)(v - buf) - 4);
			if (got != want)
				return bad(why, whylen, "a PROXY v2 header "
				    "whose CRC32C does not match");
			break;
		default:	/* ALPN, NOOP, UNIQUE_ID, NETNS, ...: skipped */
			break;
		}
	}
	return (ssize_t)total;
}

static ssize_t
parse_v2(const unsigned char *buf, size_t len, struct proxy_info *pi,
    char *why, size_t whylen)
{
	size_t body, total, need;
	int af;

	if (len < V2_HDR)
		return 0;
	if ((buf[12] >> 4) != 2)
		return bad(why, whylen, "a PROXY header of a version other "
		    "than 2");
	body = (size_t)buf[14] << 8 | buf[15];
	if (body > PROXY_V2_MAX)
		return bad(why, whylen, "a PROXY v2 header longer than "
		    "privpop takes (PROXY_V2_MAX)");
	total = V2_HDR + body;
	if (len < total)
		return 0;
	pi->version = 2;
	switch (buf[12] & 0x0f) {
	case V2_CMD_LOCAL:	/* the balancer's own connection */
		pi->local = 1;
		return (ssize_t)total;
	case V2_CMD_PROXY:
		break;
	default:
		return bad(why, whylen, "a PROXY v2 command other than LOCAL "
		    "or PROXY");
	}
	switch (buf[13] >> 4) {
	case V2_AF_UNSPEC:
		pi->local = 1;
		return (ssize_t)total;
	case V2_AF_INET:
		af = AF_INET;
		need = V2_INET_LEN;
		break;
	case V2_AF_INET6:
		af = AF_INET6;
		need = V2_INET6_LEN;
		break;
	case V2_AF_UNIX:	/* a local socket's paths: nothing to route */
		if (body < V2_UNIX_LEN)
			return bad(why, whylen, "a PROXY v2 UNIX address block "
			    "cut short");
		pi->local = 1;
		return parse_tlvs(buf, total, V2_HDR + V2_UNIX_LEN, pi, why,
		    whylen);
	default:
		return bad(why, whylen, "a PROXY v2 address family privpop "
		    "does not know");
	}
	if ((buf[13] & 0x0f) != V2_STREAM)
		return bad(why, whylen, "a PROXY v2 transport other than "
		    "STREAM");
	if (body < need)
		return bad(why, whylen, "a PROXY v2 address block cut short");
	{
		const unsigned char *a = buf + V2_HDR;
		size_t al = af == AF_INET ? 4 : 16;

		if (inet_ntop(af, a, pi->src, sizeof(pi->src)) == NULL ||
		    inet_ntop(af, a + al, pi->dst, sizeof(pi->dst)) == NULL)
			return bad(why, whylen, "a PROXY v2 address privpop "
			    "cannot print");
		pi->src_port = (uint16_t)(a[2 * al] << 8 | a[2 * al + 1]);
		pi->dst_port = (uint16_t)(a[2 * al + 2] << 8 | a[2 * al + 3]);
	}
	return parse_tlvs(buf, total, V2_HDR + need, pi, why, whylen);
}

ssize_t
proxy_parse(const unsigned char *buf, size_t len, struct proxy_info *pi,
    char *why, size_t whylen)
{
	memset(pi, 0, sizeof(*pi));
	if (len == 0)
		return 0;
	if (prefix_of(buf, len, v2sig, sizeof(v2sig)))
		return len < sizeof(v2sig) ? 0 :
		    parse_v2(buf, len, pi, why, whylen);
	if (prefix_of(buf, len, "PROXY ", 6))
		return len < 6 ? 0 : parse_v1(buf, len, pi, why, whylen);
	return bad(why, whylen, "no PROXY header (HAProxy's send-proxy or "
	    "send-proxy-v2) where one is required");
}
