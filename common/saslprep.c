/*
 * SASLprep for RFC 6856; see saslprep.h.  The session child runs it on
 * the client's user names and passwords, before they go to privpop-auth
 * (which compares bytes and never normalises: root parses nothing);
 * privpop-passwd on what it stores, so that both sides hold one form.
 *
 * Why libidn's stringprep_profile(..., "SASLprep", ...): it is Debian's
 * (libidn-dev), implements RFC 4013 with its tables compiled in, and
 * needs nothing but malloc: no file, no locale, no system call the
 * session's seccomp list lacks, so it runs in the chroot after the
 * filter.  libgsasl's gsasl_saslprep calls the same code through a
 * larger library; libidn2 has no SASLprep; RFC 8265's PRECIS has no
 * Debian library in C.
 *
 * Runs as: privpop, in the session child (chrooted, no privilege); the
 * administrator who runs privpop-passwd.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <stringprep.h>

#include "saslprep.h"
#include "utf8.h"

static int
saslprep_flags(char *s, size_t cap, Stringprep_profile_flags flags)
{
	char *out = NULL;
	size_t len = strlen(s), i;
	int r = -1;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			break;
	if (i == len)
		return len > 0 ? 0 : -1;	/* printable ASCII: itself */
	/* the library's input must be well-formed UTF-8; controls are
	 * prohibited by SASLprep anyway (RFC 4013 section 2.3) */
	if (!utf8_valid(s, len, 0))
		return -1;
	if (stringprep_profile(s, &out, "SASLprep", flags) != STRINGPREP_OK ||
	    out == NULL)
		goto done;
	if (out[0] == '\0' || strlen(out) >= cap)
		goto done;
	memcpy(s, out, strlen(out) + 1);
	r = 0;
done:
	if (out != NULL) {
		explicit_bzero(out, strlen(out));
		free(out);
	}
	return r;
}

int
saslprep_query(char *s, size_t cap)
{
	return saslprep_flags(s, cap, 0);
}

int
saslprep_stored(char *s, size_t cap)
{
	return saslprep_flags(s, cap, STRINGPREP_NO_UNASSIGNED);
}
