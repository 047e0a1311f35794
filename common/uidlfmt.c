/*
 * pop3_uidl_format templates (see uidlfmt.h): their directives parsed
 * and checked where the configuration is read (and STORE_INIT); the
 * rendering, which only privpop-store does, is uidlfmt_render.c.  Pure
 * string code, no I/O.
 *
 * Runs as: any process that reads the configuration (root master,
 * privpop-auth) and the mailbox owner (privpop-store).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uidlfmt.h"
#include "uidlfmt_spec.h"

static const struct {
	const char	*name;
	int		 var;
} longnames[] = {
	{ "uid", V_UID }, { "uidvalidity", V_UIDV },
	{ "filename", V_FILE }, { "guid", V_GUID },
};

int
uidlfmt_spec(const char **pp, struct spec *s)
{
	const char *p = *pp;
	size_t i;

	memset(s, 0, sizeof(*s));
	if (*p == '%') {
		s->var = V_PCT;
		*pp = p + 1;
		return 0;
	}
	if (*p == '0') {
		s->zero = 1;
		p++;
	}
	while (*p >= '0' && *p <= '9') {
		s->width = s->width * 10 + (size_t)(*p - '0');
		if (s->width > UIDLFMT_MAX_WIDTH)
			return -1;
		p++;
	}
	while (*p == 'X' || *p == 'U' || *p == 'L') {
		if (s->nmods == sizeof(s->mods))
			return -1;
		s->mods[s->nmods++] = *p++;
	}
	switch (*p) {
	case 'u': s->var = V_UID; break;
	case 'v': s->var = V_UIDV; break;
	case 'f': s->var = V_FILE; break;
	case 'g': s->var = V_GUID; break;
	case '{': {
		const char *e = strchr(p, '}');

		if (e == NULL)
			return -1;
		for (i = 0; i < sizeof(longnames) / sizeof(longnames[0]); i++)
			if (strlen(longnames[i].name) == (size_t)(e - p - 1) &&
			    memcmp(longnames[i].name, p + 1,
			    (size_t)(e - p - 1)) == 0)
				break;
		if (i == sizeof(longnames) / sizeof(longnames[0]))
			return -1;
		s->var = longnames[i].var;
		*pp = e + 1;
		return 0;
	}
	default:
		return -1;	/* %m, unknown letters, a '%' at the end */
	}
	*pp = p + 1;
	return 0;
}

int
uidlfmt_check(const char *fmt)
{
	struct spec s;
	const char *p = fmt;

	if (*p == '\0')
		return -1;
	while (*p != '\0') {
		/* what a UIDL may hold (RFC 1939: 0x21 to 0x7E) */
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			return -1;
		if (*p++ != '%')
			continue;
		if (uidlfmt_spec(&p, &s) == -1)
			return -1;
	}
	return 0;
}

/* The decimal digits of s as Dovecot's X modifier reads them: a value
 * that is not a whole number is 0. */
