/*
 * Rendering a pop3_uidl_format template (uidlfmt.h) for the messages a
 * dovecot-uidlist covers.
 *
 * Runs as: mailbox owner (privpop-store, privpop-uidl after its drop).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uidlfmt.h"
#include "uidlfmt_spec.h"

static unsigned long long
dec_value(const char *s)
{
	unsigned long long v = 0;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (~0ULL - 9) / 10)
			return 0;
		v = v * 10 + (unsigned long long)(*s - '0');
	}
	return v;
}

/* Append n bytes of p to out at *o: -1 when it does not fit. */
static int
put(char *out, size_t outsz, size_t *o, const char *p, size_t n)
{
	if (n >= outsz - *o)
		return -1;
	memcpy(out + *o, p, n);
	*o += n;
	out[*o] = '\0';
	return 0;
}

int
uidlfmt_render(const char *fmt, const struct uidlfmt_vars *v, char *out,
    size_t outsz)
{
	char val[256], tmp[256];
	const char *p = fmt, *lit;
	struct spec s;
	size_t o = 0, i, n;

	if (outsz == 0)
		return -1;
	out[0] = '\0';
	if (uidlfmt_check(fmt) == -1)
		return -1;	/* the templates the configuration takes */
	while (*p != '\0') {
		lit = p;
		while (*p != '\0' && *p != '%')
			p++;
		if (p > lit && put(out, outsz, &o, lit, (size_t)(p - lit)) == -1)
			return -1;
		if (*p == '\0')
			break;
		p++;
		if (uidlfmt_spec(&p, &s) == -1)
			return -1;
		switch (s.var) {
		case V_PCT:
			snprintf(val, sizeof(val), "%%");
			break;
		case V_UID:
			snprintf(val, sizeof(val), "%u", (unsigned)v->uid);
			break;
		case V_UIDV:
			snprintf(val, sizeof(val), "%u",
			    (unsigned)v->uidvalidity);
			break;
		case V_FILE:
		case V_GUID: {
			const char *sv = s.var == V_FILE || v->guid == NULL ?
			    v->filename : v->guid;

			/* an mbox message has neither */
			if (sv == NULL)
				return -1;
			n = (size_t)snprintf(val, sizeof(val), "%s", sv);
			if (n >= sizeof(val))
				return -1;
			break;
		}
		}
		for (i = 0; i < s.nmods; i++) {
			char *c;

			if (s.mods[i] == 'X') {
				snprintf(tmp, sizeof(tmp), "%llx",
				    dec_value(val));
				memcpy(val, tmp, strlen(tmp) + 1);
			} else
				for (c = val; *c != '\0'; c++)
					if (s.mods[i] == 'U' &&
					    *c >= 'a' && *c <= 'z')
						*c = (char)(*c - 'a' + 'A');
					else if (s.mods[i] == 'L' &&
					    *c >= 'A' && *c <= 'Z')
						*c = (char)(*c - 'A' + 'a');
		}
		n = strlen(val);
		if (s.width > 0 && s.zero)
			for (; n < s.width; s.width--)
				if (put(out, outsz, &o, "0", 1) == -1)
					return -1;
		if (s.width > 0 && !s.zero && n > s.width)
			n = s.width;
		if (put(out, outsz, &o, val, n) == -1)
			return -1;
	}
	return 0;
}
