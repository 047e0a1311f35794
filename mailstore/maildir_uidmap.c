/*
 * Dovecot's and Courier's UIDL records in a Maildir, read by
 * privpop-store; see maildir_uidmap.h.
 *
 * Runs as: mailbox owner (privpop-store).
 */
#include "uidl.h"
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "log.h"
#include "maildir_uidmap.h"
#include "numparse.h"
#include "strhash.h"
#include "uidlfmt.h"

void
uidmap_free(struct uidmap *u)
{
	free(u->buf);
	free(u->ents);
	free(u->tab);
	memset(u, 0, sizeof(*u));
}

/* A whole decimal number of p..p+n within [min, max]. */
static int
num(const char *p, size_t n, uint64_t min, uint64_t max, uint64_t *v)
{
	return parse_uint(p, n, min, max, v);
}

/* A file name as a line may give it: no '/', no NUL, a unique part
 * (up to ':') of at least one byte, not a dot file; cut at ':' in
 * place.  The key, or NULL. */
static const char *
name_key(char *p, size_t n)
{
	char *c;

	if (n == 0 || n >= MAIL_MAX_PATH || p[0] == '.' || p[0] == ':' ||
	    memchr(p, '/', n) != NULL || memchr(p, '\0', n) != NULL)
		return NULL;
	p[n] = '\0';
	if ((c = strchr(p, ':')) != NULL)
		*c = '\0';
	return p;
}

/* Split the text into lines (an unterminated last one is dropped: a
 * file being written) and count them.  0 or -1. */
static int
alloc_ents(struct uidmap *u, const char *start, const char *end)
{
	size_t lines = 0;
	const char *p;

	for (p = start; p < end && (p = memchr(p, '\n',
	    (size_t)(end - p))) != NULL; p++)
		lines++;
	if (lines > MAIL_MAX_MESSAGES)
		return -1;
	if (lines > 0 && (u->ents = reallocarray(NULL, lines,
	    sizeof(*u->ents))) == NULL)
		return -1;
	return 0;
}

/* Index the entries by key.  Dovecot: a later line naming the same file
 * replaces the earlier (what Dovecot does with such a file); Courier:
 * neither is used.  0 or -1. */
static int
build_index(struct uidmap *u)
{
	size_t slots, k, i;

	for (slots = 16; slots < u->n * 2; slots *= 2)
		;
	if ((u->tab = calloc(slots, sizeof(*u->tab))) == NULL)
		return -1;
	u->mask = slots - 1;
	for (k = 0; k < u->n; k++) {
		struct uidmap_ent *e = &u->ents[k];

		for (i = str_hash64(e->key, 0) & u->mask; u->tab[i] != 0;
		    i = (i + 1) & u->mask) {
			struct uidmap_ent *o = &u->ents[u->tab[i] - 1];

			if (strcmp(o->key, e->key) != 0)
				continue;
			u->bad++;
			if (u->kind == UIDMAP_COURIER) {
				o->dead = 1;
				e = NULL;	/* keep the dead one */
			}
			break;
		}
		if (e != NULL)
			u->tab[i] = (uint32_t)k + 1;
	}
	return 0;
}

/* A Dovecot version 3 header's fields: V is required. */
static int
dovecot_header3(struct uidmap *u, char *p, char *end)
{
	uint64_t v;
	int have_v = 0;

	while (p < end) {
		char *sp = memchr(p, ' ', (size_t)(end - p));
		size_t n;

		if (sp == NULL)
			sp = end;
		n = (size_t)(sp - p);
		if (n > 0 && p[0] == 'V') {
			if (num(p + 1, n - 1, 1, UINT32_MAX, &v) == -1)
				return -1;
			u->uidvalidity = (uint32_t)v;
			have_v = 1;
		} else if (n > 0 && (p[0] < 'A' || p[0] > 'Z'))
			return -1;
		p = sp + 1;
	}
	return have_v ? 0 : -1;
}

/* One record line (NUL-terminated at nl): 0 with e filled, or -1. */
static int
dovecot_line(struct uidmap *u, int version, char *p, char *nl,
    uint64_t prev, struct uidmap_ent *e)
{
	char *sp, *name;

	memset(e, 0, sizeof(*e));
	if (nl - p > MAILDIR_UIDMAP_LINE_MAX ||
	    memchr(p, '\0', (size_t)(nl - p)) != NULL ||
	    (sp = memchr(p, ' ', (size_t)(nl - p))) == NULL ||
	    num(p, (size_t)(sp - p), 1, UINT32_MAX - 1, &e->uid) == -1 ||
	    e->uid <= prev)
		return -1;
	p = sp + 1;
	if (version == 1)
		name = p;
	else {
		/* fields up to the one that starts with ':' */
		for (;;) {
			char *f;

			while (p < nl && *p == ' ')
				p++;
			if (p >= nl)
				return -1;	/* no file name */
			if (*p == ':') {
				name = p + 1;
				break;
			}
			f = p;
			if ((sp = memchr(p, ' ', (size_t)(nl - p))) == NULL)
				sp = nl;
			*sp = '\0';
			p = sp + 1;
			if (*f == 'P') {
				if (sp - f - 1 > POP3_MAX_UIDL)
					return -1;
				e->pop3 = f + 1;
			} else if (*f == 'G')
				e->guid = f + 1;
			/* other keys (S W O, unknown ones) are not used;
			 * Dovecot drops a field whose key is not A-Z */
		}
	}
	if ((e->key = name_key(name, (size_t)(nl - name))) == NULL)
		return -1;
	(void)u;
	return 0;
}

static int
parse_dovecot(struct uidmap *u, char *buf, char *end)
{
	char *nl, *p;
	uint64_t prev = 0, v;
	int version;

	if ((nl = memchr(buf, '\n', (size_t)(end - buf))) == NULL ||
	    nl - buf > MAILDIR_UIDMAP_LINE_MAX || nl - buf < 2 ||
	    buf[1] != ' ')
		return -1;
	*nl = '\0';
	if (buf[0] == '3') {
		if (dovecot_header3(u, buf + 2, nl) == -1)
			return -1;
		version = 3;
	} else if (buf[0] == '1') {
		char *sp = memchr(buf + 2, ' ', (size_t)(nl - buf - 2));

		if (sp == NULL ||
		    num(buf + 2, (size_t)(sp - buf - 2), 1, UINT32_MAX,
		    &v) == -1 ||
		    num(sp + 1, (size_t)(nl - sp - 1), 1, UINT32_MAX,
		    &prev) == -1)
			return -1;
		u->uidvalidity = (uint32_t)v;
		prev = 0;
		version = 1;
	} else
		return -1;	/* version 2 and unknown ones */
	if (alloc_ents(u, nl + 1, end) == -1)
		return -1;
	for (p = nl + 1; p < end && (nl = memchr(p, '\n',
	    (size_t)(end - p))) != NULL; p = nl + 1) {
		*nl = '\0';
		if (dovecot_line(u, version, p, nl, prev, &u->ents[u->n]) ==
		    -1) {
			u->bad++;
			continue;
		}
		prev = u->ents[u->n].uid;
		u->n++;
	}
	if (p < end)
		u->bad++;	/* an unterminated last line */
	return 0;
}

static int
courier_line(char *p, char *nl, struct uidmap_ent *e)
{
	char *sz, *ids, *c1, *c2;
	uint64_t v, utf8;

	memset(e, 0, sizeof(*e));
	if (nl - p > MAILDIR_UIDMAP_LINE_MAX ||
	    memchr(p, '\0', (size_t)(nl - p)) != NULL)
		return -1;
	*nl = '\0';
	if ((ids = strrchr(p, ' ')) == NULL)
		return -1;
	*ids++ = '\0';
	if ((sz = strrchr(p, ' ')) == NULL)
		return -1;
	*sz++ = '\0';
	if (num(sz, strlen(sz), 0, UINT64_MAX / 2, &v) == -1 ||
	    (c1 = strchr(ids, ':')) == NULL ||
	    num(ids, (size_t)(c1 - ids), 0, UINT64_MAX / 2, &e->uid) == -1)
		return -1;
	c1++;
	if ((c2 = strchr(c1, ':')) == NULL)
		c2 = c1 + strlen(c1);
	else if (num(c2 + 1, strlen(c2 + 1), 0, 1, &utf8) == -1)
		return -1;
	if (num(c1, (size_t)(c2 - c1), 0, UINT64_MAX / 2, &e->uidv) == -1)
		return -1;
	if ((e->key = name_key(p, strlen(p))) == NULL)
		return -1;
	return 0;
}

static int
parse_courier(struct uidmap *u, char *buf, char *end)
{
	char *nl, *p, *sp;
	uint64_t ver;

	if ((nl = memchr(buf, '\n', (size_t)(end - buf))) == NULL ||
	    nl - buf > MAILDIR_UIDMAP_LINE_MAX || buf[0] != '/')
		return -1;
	*nl = '\0';
	/* "/<version> <next uid> [<uidvalidity>]": the version decides */
	if ((sp = strchr(buf + 1, ' ')) == NULL ||
	    num(buf + 1, (size_t)(sp - buf - 1), 2, 3, &ver) == -1)
		return -1;
	if (alloc_ents(u, nl + 1, end) == -1)
		return -1;
	for (p = nl + 1; p < end && (nl = memchr(p, '\n',
	    (size_t)(end - p))) != NULL; p = nl + 1) {
		if (courier_line(p, nl, &u->ents[u->n]) == -1) {
			u->bad++;
			continue;
		}
		u->n++;
	}
	if (p < end)
		u->bad++;
	return 0;
}

int
uidmap_parse(struct uidmap *u, enum uidmap_kind kind, char *buf, size_t len)
{
	int rc;

	memset(u, 0, sizeof(*u));
	u->buf = buf;
	u->kind = kind;
	if (len == 0 || len > MAILDIR_UIDMAP_MAX)
		goto bad;
	rc = kind == UIDMAP_DOVECOT ? parse_dovecot(u, buf, buf + len) :
	    kind == UIDMAP_COURIER ? parse_courier(u, buf, buf + len) : -1;
	if (rc == -1 || build_index(u) == -1)
		goto bad;
	return 0;
bad:
	uidmap_free(u);
	return -1;
}

int
uidmap_load(struct uidmap *u, enum uidmap_kind kind, int dirfd)
{
	const char *name = kind == UIDMAP_DOVECOT ? UIDMAP_DOVECOT_FILE :
	    UIDMAP_COURIER_FILE;
	char *buf;
	size_t len;

	memset(u, 0, sizeof(*u));
	if ((buf = fs_read_file(dirfd, name, MAILDIR_UIDMAP_MAX, &len)) ==
	    NULL) {
		if (errno != ENOENT)
			log_warnx("maildir: %s unusable; its UIDLs are not "
			    "served", name);
		return -1;
	}
	if (uidmap_parse(u, kind, buf, len) == -1) {
		log_warnx("maildir: %s has no valid header; its UIDLs are "
		    "not served", name);
		return -1;
	}
	if (u->bad > 0)
		log_info("maildir: %s: %zu lines not used (malformed, or "
		    "naming a file twice)", name, u->bad);
	return 0;
}

/* Courier's UIDL for a uid of 0: the unique part, escaped. */
static int
courier_name_uidl(const char *key, char *uidl, size_t uidlsz)
{
	size_t o = 0;
	const unsigned char *p;

	for (p = (const unsigned char *)key; *p != '\0'; p++) {
		if (*p < 0x21 || *p > 0x7e || *p == '\'' || *p == '"' ||
		    *p == '+') {
			if (o + 3 >= uidlsz)
				return -1;
			snprintf(uidl + o, 4, "+%02X", *p);
			o += 3;
		} else {
			if (o + 1 >= uidlsz)
				return -1;
			uidl[o++] = (char)*p;
		}
	}
	uidl[o] = '\0';
	return 0;
}

int
uidmap_lookup(const struct uidmap *u, const char *key, const char *fmt,
    char *uidl, size_t uidlsz)
{
	const struct uidmap_ent *e = NULL;
	struct uidlfmt_vars v;
	size_t i;
	int rc;

	if (u->kind == 0 || u->n == 0 || uidlsz == 0)
		return -1;
	for (i = str_hash64(key, 0) & u->mask; u->tab[i] != 0;
	    i = (i + 1) & u->mask)
		if (strcmp(u->ents[u->tab[i] - 1].key, key) == 0) {
			e = &u->ents[u->tab[i] - 1];
			break;
		}
	if (e == NULL || e->dead)
		return -1;
	if (u->kind == UIDMAP_COURIER) {
		if (e->uid == 0)
			rc = courier_name_uidl(key, uidl, uidlsz);
		else if (e->uidv != 0)
			rc = snprintf(uidl, uidlsz, "UID%llu-%llu",
			    (unsigned long long)e->uid,
			    (unsigned long long)e->uidv) < (int)uidlsz ? 0 : -1;
		else
			rc = snprintf(uidl, uidlsz, "UID%llu",
			    (unsigned long long)e->uid) < (int)uidlsz ? 0 : -1;
	} else if (e->pop3 != NULL)
		rc = snprintf(uidl, uidlsz, "%s", e->pop3[0] != '\0' ?
		    e->pop3 : key) < (int)uidlsz ? 0 : -1;
	else {
		v.uid = (uint32_t)e->uid;
		v.uidvalidity = u->uidvalidity;
		v.filename = key;
		v.guid = e->guid != NULL && e->guid[0] != '\0' ? e->guid : key;
		rc = uidlfmt_render(fmt != NULL ? fmt : UIDLFMT_DEFAULT, &v,
		    uidl, uidlsz);
	}
	return rc == 0 && uidl_valid(uidl, strlen(uidl)) ? 0 : -1;
}
