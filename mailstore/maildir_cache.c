/*
 * Runs as the mailbox owner inside privpop-store; see maildir_cache.h.
 *
 * Runs as: mailbox owner (privpop-store).
 */
#include "uidl.h"
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fsutil.h"
#include "log.h"
#include "maildir_cache.h"
#include "numparse.h"
#include "strhash.h"

void
mdcache_free(struct mdcache *c)
{
	free(c->buf);
	free(c->ents);
	free(c->tab);
	memset(c, 0, sizeof(*c));
}

/* The hash index over ents; with check, a repeated uidl fails it. */
static int
build_index(struct mdcache *c, int check)
{
	size_t slots, k;

	for (slots = 16; slots < c->n * 2; slots *= 2)
		;
	if ((c->tab = calloc(slots, sizeof(*c->tab))) == NULL)
		return -1;
	c->mask = slots - 1;
	for (k = 0; k < c->n; k++) {
		const char *u = c->ents[k].uidl;
		uint64_t h = str_hash64(u, 0);
		size_t i;

		for (i = h & c->mask; c->tab[i].ent != 0;
		    i = (i + 1) & c->mask)
			if (check && c->tab[i].hash == (uint32_t)h &&
			    strcmp(c->ents[c->tab[i].ent - 1].uidl, u) == 0)
				return -1;	/* written once per message */
		c->tab[i].hash = (uint32_t)h;
		c->tab[i].ent = (uint32_t)k + 1;
	}
	return 0;
}

int
mdcache_parse(struct mdcache *c, char *buf, size_t len)
{
	const size_t mlen = sizeof(MDCACHE_MAGIC) - 1;
	size_t lines = 0;
	char *p, *end = buf + len;
	int ascending = 1;

	memset(c, 0, sizeof(*c));
	c->buf = buf;
	if (len < mlen || len > MDCACHE_MAX_BYTES ||
	    memcmp(buf, MDCACHE_MAGIC, mlen) != 0 ||
	    (len > mlen && buf[len - 1] != '\n'))
		goto bad;
	for (p = buf + mlen; p < end && (p = memchr(p, '\n',
	    (size_t)(end - p))) != NULL; p++)
		lines++;
	if (lines > MAIL_MAX_MESSAGES ||
	    (lines > 0 && (c->ents = reallocarray(NULL, lines,
	    sizeof(*c->ents))) == NULL))
		goto bad;
	for (p = buf + mlen; p < end; ) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *sp = memchr(p, ' ', (size_t)(nl - p));
		uint64_t size;

		if (sp == NULL || !uidl_valid(p, (size_t)(sp - p)) ||
		    parse_uint(sp + 1, (size_t)(nl - sp - 1), 0,
		    UINT64_MAX / 2, &size) == -1)
			goto bad;
		*sp = '\0';
		if (c->n > 0 && ascending &&
		    strcmp(c->ents[c->n - 1].uidl, p) >= 0)
			ascending = 0;
		c->ents[c->n].uidl = p;
		c->ents[c->n].size = size;
		c->n++;
		p = nl + 1;
	}
	/* Strictly ascending (as privpop writes it, in message order,
	 * almost always) cannot repeat a uidl, and lookups in that order
	 * need no index until one misses; otherwise check it now. */
	if (!ascending && build_index(c, 1) == -1)
		goto bad;
	return 0;
bad:
	mdcache_free(c);
	return -1;
}

void
mdcache_load(struct mdcache *c, int dirfd)
{
	char *buf;
	size_t len;

	memset(c, 0, sizeof(*c));
	if ((buf = fs_read_file(dirfd, MDCACHE_FILE, MDCACHE_MAX_BYTES,
	    &len)) != NULL && mdcache_parse(c, buf, len) == -1)
		log_info("maildir: %s is not a valid size cache; rebuilding",
		    MDCACHE_FILE);
}

int
mdcache_lookup(struct mdcache *c, const char *uidl, uint64_t *size_r)
{
	uint64_t h;
	size_t i, e;

	if (c->n == 0)
		return -1;
	if (c->next < c->n && strcmp(c->ents[c->next].uidl, uidl) == 0) {
		e = c->next;
		goto hit;
	}
	if (c->tab == NULL && build_index(c, 0) == -1)
		return -1;	/* then it is scanned, as if not cached */
	h = str_hash64(uidl, 0);
	for (i = h & c->mask; c->tab[i].ent != 0; i = (i + 1) & c->mask) {
		e = c->tab[i].ent - 1;
		if (c->tab[i].hash == (uint32_t)h &&
		    strcmp(c->ents[e].uidl, uidl) == 0)
			goto hit;
	}
	return -1;
hit:
	*size_r = c->ents[e].size;
	c->next = e + 1;
	c->hits++;
	return 0;
}

int
mdcache_save(int dirfd, const struct mail_msg *msgs, uint32_t count)
{
	const char *prev = NULL;
	struct buf b;
	uint32_t i;
	int ok;

	if (buf_init(&b, (size_t)count * 32 + sizeof(MDCACHE_MAGIC),
	    MDCACHE_MAX_BYTES) == -1)
		return -1;
	ok = buf_puts(&b, MDCACHE_MAGIC) == 0;
	for (i = 0; ok && i < count; i++) {
		/* a ",W=" name carries its size; an expunged message is
		 * gone; and a unique name in both new/ and cur/ (an agent
		 * died between link and unlink) sorts next to itself and
		 * is written once, or the file would not parse */
		if (msgs[i].size_in_name || msgs[i].deleted == MAIL_EXPUNGED ||
		    (prev != NULL && strcmp(prev, msgs[i].uidl) == 0))
			continue;
		ok = buf_printf(&b, "%s %llu\n", msgs[i].uidl,
		    (unsigned long long)msgs[i].size) == 0;
		prev = msgs[i].uidl;
	}
	if (!ok || fs_replace_file(dirfd, MDCACHE_FILE, buf_ptr(&b),
	    buf_used(&b)) == -1) {
		log_warn("maildir: %s", MDCACHE_FILE);
		buf_free(&b);
		return -1;
	}
	buf_free(&b);
	return 0;
}
