/* Another server's UIDL records in a Maildir (uidmap_parse,
 * uidmap_lookup): dovecot-uidlist or courierpop3dsizelist.
 *
 * The first byte picks the file kind (even: Dovecot, odd: Courier) and
 * one of a few pop3_uidl_format templates; the rest is the file, in a
 * malloc'd buffer of exactly its length (the map takes it over).
 * Checks: a failed parse leaves the map empty and finds nothing; a
 * parsed one has no more entries than lines, and every entry's key (and
 * keys near it) looks up without a fault, answering only a UIDL of 1 to
 * 70 bytes of 0x21..0x7e. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maildir_uidmap.h"

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

static const char *const fmts[] = {
	"%08Xu%08Xv", "%f", "%g", "%v.%u", "%3Lf%XUu", "%%%{uid}",
	"UID%u-%v", "%u",
};

static void
check_uidl(const char *u)
{
	size_t n = strlen(u), i;

	CHECK(n >= 1 && n <= POP3_MAX_UIDL);
	for (i = 0; i < n; i++)
		CHECK((unsigned char)u[i] >= 0x21 &&
		    (unsigned char)u[i] <= 0x7e);
}

static void
probe(const struct uidmap *u, const char *key, const char *fmt)
{
	char out[POP3_MAX_UIDL + 1];

	if (uidmap_lookup(u, key, fmt, out, sizeof(out)) == 0)
		check_uidl(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uidmap u;
	enum uidmap_kind kind;
	const char *fmt;
	char *buf, key[MAIL_MAX_PATH + 2];
	size_t i, lines = 0, k;

	if (size < 1)
		return 0;
	kind = (data[0] & 1) ? UIDMAP_COURIER : UIDMAP_DOVECOT;
	fmt = fmts[(data[0] >> 1) % (sizeof(fmts) / sizeof(fmts[0]))];
	data++;
	size--;
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	if ((buf = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	if (uidmap_parse(&u, kind, buf, size) == -1) {
		CHECK(u.n == 0 && u.kind == 0 && u.buf == NULL);
		probe(&u, "a", fmt);
		return 0;
	}
	CHECK(u.n <= lines);
	for (i = 0; i < u.n; i++) {
		const char *e = u.ents[i].key;

		CHECK(e != NULL && e[0] != '\0' && strchr(e, ':') == NULL &&
		    strchr(e, '/') == NULL && strlen(e) < MAIL_MAX_PATH);
		probe(&u, e, fmt);
		k = strlen(e);
		memcpy(key, e, k + 1);
		key[k] = 'x';
		key[k + 1] = '\0';
		probe(&u, key, fmt);
		key[k > 1 ? k - 1 : 0] = '\0';
		probe(&u, key, fmt);
	}
	probe(&u, "", fmt);
	uidmap_free(&u);
	return 0;
}
