/*
 * RFC 6856 LANG message catalogs; see lang.h.  The files are read and
 * parsed by the slot zygote (or an inetd session) after its drop to the
 * unprivileged user, through a directory descriptor the slot opened
 * before its chroot (slot.c); every slot it forks inherits the parsed
 * catalogs and only looks them up.  Nothing here runs as root: a
 * catalog is trusted no more than any file, every line is bounded and
 * checked, and a translation must hold the very printf conversions of
 * the English text it replaces, so a file cannot change what the
 * session formats.
 *
 * Runs as: privpop (slot zygote and session child).
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lang.h"
#include "log.h"
#include "utf8.h"
#include "limits.h"

static struct lang_cat cats[LANG_MAX];
static size_t ncats;
static int cur = -1;		/* -1: English, else an index of cats */

int
lang_tag_ok(const char *p, size_t len)
{
	size_t i, seg = 0, nseg = 0;

	if (len == 0 || len > LANG_TAG_MAX)
		return 0;
	for (i = 0; i <= len; i++) {
		char ch = i < len ? p[i] : '-';

		if (ch == '-') {
			if (seg == 0 || seg > 8)
				return 0;
			seg = 0;
			nseg++;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (nseg > 0 && ch >= '0' && ch <= '9')))
			return 0;
		seg++;
	}
	return 1;
}

/* The printf conversions of s, one letter each, in sig (NUL-ended):
 * the forms session.c uses and nothing else.  -1 on any other. */
static int
conv_sig(const char *s, char sig[LANG_CONV_MAX + 1])
{
	static const struct {
		const char	*form;
		char		 c;
	} forms[] = {
		{ "s", 's' }, { ".0s", 's' }, { ".*s", '*' }, { "u", 'u' },
		{ "d", 'd' }, { "lu", 'l' }, { "llu", 'U' }, { "lld", 'D' },
		{ "zu", 'z' },
	};
	size_t n = 0, k;

	while ((s = strchr(s, '%')) != NULL) {
		s++;
		if (*s == '%') {
			s++;
			continue;
		}
		for (k = 0; k < sizeof(forms) / sizeof(forms[0]); k++)
			if (strncmp(s, forms[k].form,
			    strlen(forms[k].form)) == 0)
				break;
		if (k == sizeof(forms) / sizeof(forms[0]) ||
		    n >= LANG_CONV_MAX)
			return -1;
		/* ".0s" and "s" take the same argument */
		sig[n++] = forms[k].c;
		s += strlen(forms[k].form);
	}
	sig[n] = '\0';
	return 0;
}

/* One "english<TAB>translation" line, NUL-terminated at p. */
static int
parse_line(struct lang_cat *c, char *p)
{
	char sa[LANG_CONV_MAX + 1], sb[LANG_CONV_MAX + 1], *tab;
	size_t i;

	if ((tab = strchr(p, '\t')) == NULL)
		return -1;
	*tab = '\0';
	tab++;
	if (*p == '\0' || *tab == '\0' || strlen(p) > LANG_LINE_MAX ||
	    strlen(tab) > LANG_LINE_MAX ||
	    !utf8_valid(p, strlen(p), 0) || !utf8_valid(tab, strlen(tab), 0))
		return -1;
	if (strcmp(p, "@name") == 0) {
		if (c->name != NULL || strchr(tab, '%') != NULL)
			return -1;
		c->name = tab;
		return 0;
	}
	if (conv_sig(p, sa) == -1 || conv_sig(tab, sb) == -1 ||
	    strcmp(sa, sb) != 0 || c->n >= LANG_ENTRIES_MAX)
		return -1;
	for (i = 0; i < c->n; i++)
		if (strcmp(c->e[i].en, p) == 0)
			return -1;	/* twice: which one was meant? */
	c->e[c->n].en = p;
	c->e[c->n].tr = tab;
	c->n++;
	return 0;
}

int
lang_parse(struct lang_cat *c, char *buf, size_t len, size_t *line_r)
{
	char *p = buf, *end = buf + len, *nl;
	size_t line = 0;

	c->name = NULL;
	c->n = 0;
	c->buf = buf;
	if ((c->e = calloc(LANG_ENTRIES_MAX, sizeof(*c->e))) == NULL)
		goto bad;
	if (memchr(buf, '\0', len) != NULL) {
		*line_r = 1;
		goto bad;
	}
	while (p < end) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;	/* a last line without its newline */
		if (nl > p && nl[-1] == '\r')
			nl[-1] = '\0';
		if (nl < end)
			*nl = '\0';
		else {
			/* buf has no room past len: the caller's extra byte */
			*end = '\0';
		}
		if (*p != '\0' && *p != '#' && parse_line(c, p) == -1) {
			*line_r = line;
			goto bad;
		}
		p = nl + 1;
	}
	if (c->name == NULL)
		c->name = c->tag;
	return 0;
bad:
	free(c->e);
	c->e = NULL;
	c->n = 0;
	return -1;
}

void
lang_free(struct lang_cat *c)
{
	free(c->e);
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

int
lang_add(const char *tag, char *buf, size_t len)
{
	struct lang_cat *c;
	size_t line = 0, i;

	if (ncats >= LANG_MAX || !lang_tag_ok(tag, strlen(tag)) ||
	    strcasecmp(tag, "en") == 0) {
		free(buf);
		return -1;
	}
	for (i = 0; i < ncats; i++)
		if (strcasecmp(cats[i].tag, tag) == 0) {
			free(buf);
			return -1;
		}
	c = &cats[ncats];
	memset(c, 0, sizeof(*c));
	snprintf(c->tag, sizeof(c->tag), "%s", tag);
	if (lang_parse(c, buf, len, &line) == -1) {
		log_warnx("language catalog %s: line %zu is malformed; "
		    "catalog ignored", tag, line);
		free(buf);
		memset(c, 0, sizeof(*c));
		return -1;
	}
	ncats++;
	return 0;
}

void
lang_reset(void)
{
	size_t i;

	for (i = 0; i < ncats; i++)
		lang_free(&cats[i]);
	ncats = 0;
	cur = -1;
}

static int
cat_cmp(const void *a, const void *b)
{
	return strcasecmp(((const struct lang_cat *)a)->tag,
	    ((const struct lang_cat *)b)->tag);
}

/* Read one catalog file (name, tag) of dirfd into a malloc'd buffer
 * with one byte more than its length (lang_parse's terminator). */
static char *
read_catalog(int dirfd, const char *name, size_t *len_r)
{
	struct stat sb;
	char *buf;
	size_t got = 0;
	ssize_t r;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1) {
		log_warn("language catalog %s", name);
		return NULL;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > LANG_FILE_MAX) {
		log_warnx("language catalog %s: not a regular file of at "
		    "most %d bytes; ignored", name, LANG_FILE_MAX);
		close(fd);
		return NULL;
	}
	if ((buf = malloc(LANG_FILE_MAX + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	/* at most LANG_FILE_MAX, whatever the file became since fstat */
	while (got < LANG_FILE_MAX &&
	    (r = read(fd, buf + got, LANG_FILE_MAX - got)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			log_warn("language catalog %s", name);
			free(buf);
			close(fd);
			return NULL;
		}
		got += (size_t)r;
	}
	close(fd);
	*len_r = got;
	return buf;
}

void
lang_load(int dirfd)
{
	char tag[LANG_TAG_MAX + 1], *buf;
	struct dirent *de;
	DIR *d;
	size_t len, n;
	int fd;

	if (dirfd == -1)
		return;
	if ((fd = dup(dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		close(dirfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n <= 4 || strcmp(de->d_name + n - 4, ".txt") != 0 ||
		    !lang_tag_ok(de->d_name, n - 4))
			continue;	/* not a catalog's name */
		memcpy(tag, de->d_name, n - 4);
		tag[n - 4] = '\0';
		if (ncats >= LANG_MAX) {
			log_warnx("language catalog %s: more than %d "
			    "catalogs; ignored", de->d_name, LANG_MAX);
			continue;
		}
		if ((buf = read_catalog(dirfd, de->d_name, &len)) != NULL)
			(void)lang_add(tag, buf, len);
	}
	closedir(d);
	close(dirfd);
	qsort(cats, ncats, sizeof(cats[0]), cat_cmp);
}

/* The catalog index of tag (case-insensitive), -1 for English, -2 for
 * none. */
static int
find(const char *p, size_t len)
{
	size_t i;

	if (len == 2 && strncasecmp(p, "en", 2) == 0)
		return -1;
	for (i = 0; i < ncats; i++)
		if (strlen(cats[i].tag) == len &&
		    strncasecmp(cats[i].tag, p, len) == 0)
			return (int)i;
	return -2;
}

int
lang_select(const char *range, size_t len)
{
	int k;

	if (len == 1 && range[0] == '*') {
		cur = -1;	/* the server's default: English */
		return 0;
	}
	if (!lang_tag_ok(range, len))
		return -1;
	/* RFC 4647 lookup: drop a subtag at a time ("de-CH" -> "de") */
	for (;;) {
		if ((k = find(range, len)) != -2) {
			cur = k;
			return 0;
		}
		while (len > 0 && range[len - 1] != '-')
			len--;
		if (len == 0)
			return -1;
		len--;
		/* a single-letter subtag is dropped with what follows */
		if (len >= 2 && range[len - 2] == '-')
			len -= 2;
	}
}

const char *
lang_current(void)
{
	return cur == -1 ? "en" : cats[cur].tag;
}

size_t
lang_count(void)
{
	return ncats + 1;
}

const char *
lang_tag(size_t i)
{
	return i == 0 ? "en" : cats[i - 1].tag;
}

const char *
lang_name(size_t i)
{
	return i == 0 ? "English" : cats[i - 1].name;
}

/* The length of the part of an answer never translated: "+OK " or
 * "-ERR ", and a response code "[...] "; 0 if s is no such answer. */
static size_t
prefix_len(const char *s)
{
	const char *p;
	size_t n;

	if (strncmp(s, "+OK ", 4) == 0)
		n = 4;
	else if (strncmp(s, "-ERR ", 5) == 0)
		n = 5;
	else
		return 0;
	if (s[n] == '[' && (p = strstr(s + n, "] ")) != NULL)
		n = (size_t)(p - s) + 2;
	return n;
}

static const char *
lookup(const char *text)
{
	const struct lang_cat *c;
	size_t i;

	if (cur == -1)
		return NULL;
	c = &cats[cur];
	for (i = 0; i < c->n; i++)
		if (strcmp(c->e[i].en, text) == 0)
			return c->e[i].tr;
	return NULL;
}

/* prefix of s (n bytes) and tr, in a static buffer; s if too long. */
static const char *
join(const char *s, size_t n, const char *tr)
{
	static char out[LANG_LINE_MAX * 2 + 1];

	if (n + strlen(tr) >= sizeof(out))
		return s;
	memcpy(out, s, n);
	memcpy(out + n, tr, strlen(tr) + 1);
	return out;
}

const char *
lang_format(const char *fmt)
{
	const char *tr;
	size_t n;

	if (cur == -1 || (n = prefix_len(fmt)) == 0 ||
	    (tr = lookup(fmt + n)) == NULL)
		return fmt;
	return join(fmt, n, tr);
}

const char *
lang_line(const char *line)
{
	const char *tr;
	size_t n;

	if (cur == -1 || (n = prefix_len(line)) == 0 ||
	    (tr = lookup(line + n)) == NULL || strchr(tr, '%') != NULL)
		return line;
	return join(line, n, tr);
}
