/*
 * The client's SCRAM messages, parsed where client bytes belong; see
 * scram_msg.h.  Runs as: privpop (session child).
 */
#include "config.h"

#include <string.h>

#include "base64.h"
#include "scram_msg.h"

/* saslname: '=2C' is ',' and '=3D' is '='; any other '=' is invalid,
 * as are NUL and an empty name. */
static int
unescape_name(const char *p, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char c = p[i];

		if (c == '=') {
			if (n - i >= 3 && p[i + 1] == '2' && p[i + 2] == 'C')
				c = ',';
			else if (n - i >= 3 && p[i + 1] == '3' &&
			    p[i + 2] == 'D')
				c = '=';
			else
				return -1;
			i += 2;
		}
		if (c == '\0' || o + 1 >= outlen)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return o > 0 ? 0 : -1;
}

/* RFC 5802 "printable" (%x21-2B / %x2D-7E), n > 0 */
static int
printable(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',')
			return 0;
	return n > 0;
}

int
scram_parse_client_first(const char *msg, struct scram_client_first *f)
{
	const char *name, *comma, *nonce;
	size_t nlen;

	memset(f, 0, sizeof(*f));
	if ((msg[0] != 'n' && msg[0] != 'y') || msg[1] != ',' ||
	    msg[2] != ',' || strncmp(msg + 3, "n=", 2) != 0)
		return -1;
	name = msg + 5;
	if ((comma = strchr(name, ',')) == NULL ||
	    strncmp(comma, ",r=", 3) != 0)
		goto bad;
	nonce = comma + 3;
	nlen = strlen(nonce);
	if (unescape_name(name, (size_t)(comma - name), f->user,
	    sizeof(f->user)) == -1 || nlen > SCRAM_NONCE_MAX ||
	    !printable(nonce, nlen))
		goto bad;
	memcpy(f->cnonce, nonce, nlen + 1);
	f->gs2_y = msg[0] == 'y';
	return 0;
bad:
	memset(f, 0, sizeof(*f));
	return -1;
}

int
scram_parse_client_final(const char *msg, int gs2_y,
    const char *server_first, unsigned char proof[SCRAM_PROOF_LEN])
{
	const char *e = strchr(server_first, ',');
	size_t nlen;

	/* our nonce: the r= that server-first starts with */
	if (strncmp(server_first, "r=", 2) != 0 || e == NULL)
		return -1;
	nlen = (size_t)(e - server_first - 2);
	if (strncmp(msg, gs2_y ? "c=eSws,r=" : "c=biws,r=", 9) != 0 ||
	    strncmp(msg + 9, server_first + 2, nlen) != 0 ||
	    strncmp(msg + 9 + nlen, ",p=", 3) != 0)
		return -1;
	msg += 9 + nlen + 3;
	return base64_decode(msg, strlen(msg), proof, SCRAM_PROOF_LEN) ==
	    SCRAM_PROOF_LEN ? 0 : -1;
}
