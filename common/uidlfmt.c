/*
 * pop3_uidl_format templates (see uidlfmt.h): checked where the
 * configuration is read, rendered by privpop-store for the messages a
 * dovecot-uidlist covers.  Pure string code, no I/O.
 *
 * Runs as: any process that reads the configuration (root master,
 * privpop-auth) to check it; the mailbox owner (privpop-store) to
 * render it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uidlfmt.h"

/* A width above the longest UIDL is a mistake, not a format. */
#define UIDLFMT_MAX_WIDTH	70

enum { V_UID, V_UIDV, V_FILE, V_GUID, V_PCT };

struct spec {
	int	 var;
	int	 zero;		/* width starts with 0 */
	size_t	 width;		/* 0: none */
	char	 mods[8];	/* X U L, in order */
	size_t	 nmods;
};

static const struct {
	const char	*name;
	int		 var;
} longnames[] = {
	{ "uid", V_UID }, { "uidvalidity", V_UIDV },
	{ "filename", V_FILE }, { "guid", V_GUID },
};

/* Parse the directive after a '%' at *pp; advance past it.  0 or -1. */
static int
parse_spec(const char **pp, struct spec *s)
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
		if (parse_spec(&p, &s) == -1)
			return -1;
	}
	return 0;
}

/* The decimal digits of s as Dovecot's X modifier reads them: a value
 * that is not a whole number is 0. */
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
		if (parse_spec(&p, &s) == -1)
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
		case V_GUID:
			n = (size_t)snprintf(val, sizeof(val), "%s",
			    s.var == V_FILE || v->guid == NULL ? v->filename :
			    v->guid);
			if (n >= sizeof(val))
				return -1;
			break;
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
