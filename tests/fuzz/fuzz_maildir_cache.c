/* The Maildir size cache parser (mdcache_parse, mdcache_lookup).
 *
 * The input is the whole ".privpop-sizes" file, copied into a malloc'd
 * buffer of exactly its length (the cache takes it over).  An
 * independent reference parser here decides whether the text is valid:
 * the magic line "privpop-sizes 1\n", then lines "<uidl> <octets>\n"
 * (uidl 1..70 bytes of 0x21..0x7e, octets 1..20 digits and at most
 * UINT64_MAX / 2, every uidl once, a newline at the end).  Checks:
 * mdcache_parse agrees with it; on failure the cache is empty; on
 * success it holds as many entries as lines, every uidl is found with
 * its size, and keys near them (one byte changed, cut, extended) and keys
 * that can never be valid are found exactly when the reference has them;
 * hits counts the lookups that found one. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maildir_cache.h"

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

struct ref_ent {
	char		 uidl[POP3_MAX_UIDL + 1];
	uint64_t	 size;
};

static int
ref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ref_ent *)a)->uidl,
	    ((const struct ref_ent *)b)->uidl);
}

/* 0 with the entries sorted by uidl in *tab_r (n in *n_r), or -1. */
static int
ref_parse(const uint8_t *d, size_t len, struct ref_ent **tab_r, size_t *n_r)
{
	static const char magic[] = "privpop-sizes 1\n";
	const size_t mlen = sizeof(magic) - 1;
	struct ref_ent *tab;
	size_t off, n = 0, lines = 0, i;

	*tab_r = NULL;
	*n_r = 0;
	if (len < mlen || memcmp(d, magic, mlen) != 0)
		return -1;
	for (off = mlen; off < len; off++)
		if (d[off] == '\n')
			lines++;
	if ((tab = calloc(lines + 1, sizeof(*tab))) == NULL)
		return -1;
	for (off = mlen; off < len; ) {
		size_t ul = 0, dl = 0;
		uint64_t v = 0;

		while (off + ul < len && d[off + ul] >= 0x21 &&
		    d[off + ul] <= 0x7e)
			ul++;
		if (ul == 0 || ul > POP3_MAX_UIDL || off + ul >= len ||
		    d[off + ul] != ' ')
			goto bad;
		memcpy(tab[n].uidl, d + off, ul);
		tab[n].uidl[ul] = '\0';
		off += ul + 1;
		while (off + dl < len && d[off + dl] >= '0' &&
		    d[off + dl] <= '9') {
			if (v > (UINT64_MAX / 2 - (uint64_t)(d[off + dl] - '0'))
			    / 10)
				goto bad;
			v = v * 10 + (uint64_t)(d[off + dl] - '0');
			dl++;
		}
		if (dl == 0 || dl > 20 || off + dl >= len ||
		    d[off + dl] != '\n')
			goto bad;
		tab[n++].size = v;
		off += dl + 1;
	}
	qsort(tab, n, sizeof(*tab), ref_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(tab[i - 1].uidl, tab[i].uidl) == 0)
			goto bad;
	*tab_r = tab;
	*n_r = n;
	return 0;
bad:
	free(tab);
	return -1;
}

/* Look key up in both; they must agree.  Returns 1 when found. */
static int
agree(struct mdcache *c, const struct ref_ent *tab, size_t n,
    const char *key)
{
	struct ref_ent k, *r = NULL;
	uint64_t v = 0xdeadbeef;
	size_t hits = c->hits;
	int got;

	if (strlen(key) <= POP3_MAX_UIDL) {
		strcpy(k.uidl, key);
		if (n > 0)
			r = bsearch(&k, tab, n, sizeof(*tab), ref_cmp);
	}
	got = mdcache_lookup(c, key, &v);
	CHECK(got == 0 || got == -1);
	if (r != NULL) {
		CHECK(got == 0);
		CHECK(v == r->size);
		CHECK(c->hits == hits + 1);
		return 1;
	}
	CHECK(got == -1);
	CHECK(v == 0xdeadbeef);
	CHECK(c->hits == hits);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const never[] = {
		"", " ", "a b", "\x01", "\x7f", "privpop-sizes 1",
		"12345678901234567890123456789012345678901234567890"
		    "123456789012345678901",	/* 71 */
	};
	struct ref_ent *tab;
	struct mdcache c;
	size_t n, i, found = 0;
	char *buf;
	int want, got;

	if (size > MDCACHE_MAX_BYTES)
		return 0;
	want = ref_parse(data, size, &tab, &n);
	buf = malloc(size > 0 ? size : 1);	/* exactly the file */
	if (buf == NULL) {
		free(tab);
		return 0;
	}
	memcpy(buf, data, size);
	got = mdcache_parse(&c, buf, size);	/* buf is the cache's now */
	CHECK(got == want);
	if (got == -1) {
		CHECK(c.buf == NULL && c.tab == NULL && c.n == 0 &&
		    c.hits == 0);
		CHECK(agree(&c, NULL, 0, "a") == 0);
		return 0;
	}
	CHECK(c.buf == buf);
	CHECK(c.n == n);
	/* the index is built now (unsorted input) or at the first miss */
	CHECK(c.tab == NULL || (c.mask + 1 >= 2 * n &&
	    (c.mask & (c.mask + 1)) == 0));
	for (i = 0; i < n; i++) {
		char k[POP3_MAX_UIDL + 2];
		size_t ul = strlen(tab[i].uidl);

		CHECK(agree(&c, tab, n, tab[i].uidl) == 1);
		found++;
		/* near keys: present or not, both must say the same */
		memcpy(k, tab[i].uidl, ul + 1);
		k[ul - 1] = (char)(k[ul - 1] == '~' ? '!' : k[ul - 1] + 1);
		found += (size_t)agree(&c, tab, n, k);
		memcpy(k, tab[i].uidl, ul + 1);
		k[ul - 1] = '\0';
		found += (size_t)agree(&c, tab, n, k);
		memcpy(k, tab[i].uidl, ul);
		k[ul] = '!';
		k[ul + 1] = '\0';
		found += (size_t)agree(&c, tab, n, k);
	}
	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		CHECK(agree(&c, tab, n, never[i]) == 0);
	CHECK(c.hits == found);
	free(tab);
	mdcache_free(&c);
	CHECK(c.buf == NULL && c.tab == NULL && c.n == 0);
	return 0;
}
