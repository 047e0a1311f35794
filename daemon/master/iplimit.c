/*
 * Runs in the master (root), on addresses it took from accept(2)
 * itself: nothing here comes from a client's bytes or a slot's word.
 *
 * Runs as: root (the privpopd master).
 */
#include "config.h"

#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "iplimit.h"
#include "limits.h"

/* Entries are kept at most this full: probes stay short. */
#define IPLIMIT_LOAD_NUM	3
#define IPLIMIT_LOAD_DEN	4
#define IPLIMIT_MIN_CAP		64

/*
 * The table lives outside the heap, in a mapping no forked slot
 * inherits: the master writes it at every connection, and each slot
 * would otherwise keep its own copy of every page written since its
 * fork (issue 16: PSS per idle connection).
 */
static struct iplimit_entry *
table_alloc(size_t cap)
{
	void *p = mmap(NULL, cap * sizeof(struct iplimit_entry),
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (madvise(p, cap * sizeof(struct iplimit_entry), MADV_DONTFORK) ==
	    -1) {
		munmap(p, cap * sizeof(struct iplimit_entry));
		return NULL;
	}
	return p;
}

static void
table_free(struct iplimit_entry *e, size_t cap)
{
	if (e != NULL)
		munmap(e, cap * sizeof(*e));
}

static size_t
slot_of(const struct iplimit *t, const char *key)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h & (t->cap - 1);
}

/* The index of key, or of the free entry where it would go. */
static size_t
probe(const struct iplimit *t, const char *key)
{
	size_t i = slot_of(t, key);

	while (t->e[i].key[0] != '\0' &&
	    strncmp(t->e[i].key, key, PENALTY_ADDR_MAX) != 0)
		i = (i + 1) & (t->cap - 1);
	return i;
}

static struct iplimit_entry *
find(const struct iplimit *t, const char *key)
{
	size_t i;

	if (t->cap == 0)
		return NULL;
	i = probe(t, key);
	return t->e[i].key[0] != '\0' ? &t->e[i] : NULL;
}

/* Remove entry i, moving later entries of its run back (no
 * tombstones). */
static void
remove_at(struct iplimit *t, size_t i)
{
	size_t j = i, k, mask = t->cap - 1;

	memset(&t->e[i], 0, sizeof(t->e[i]));
	t->used--;
	for (;;) {
		j = (j + 1) & mask;
		if (t->e[j].key[0] == '\0')
			return;
		k = slot_of(t, t->e[j].key);
		/* may e[j] move to i: is i on its way from k to j? */
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && (k <= i && k > j))) {
			t->e[i] = t->e[j];
			memset(&t->e[j], 0, sizeof(t->e[j]));
			i = j;
		}
	}
}

/* Copy every entry that still means something into a table of cap
 * entries: counted connections, or a recent log line (whose interval
 * must hold) when keep_logged. */
static int
rebuild(struct iplimit *t, size_t cap, int keep_logged)
{
	struct iplimit n;
	size_t i;

	if ((n.e = table_alloc(cap)) == NULL)
		return -1;
	n.cap = cap;
	n.used = 0;
	for (i = 0; i < t->cap; i++) {
		const struct iplimit_entry *o = &t->e[i];

		if (o->key[0] == '\0' || (o->total == 0 &&
		    (!keep_logged || o->logged == 0)))
			continue;
		n.e[probe(&n, o->key)] = *o;
		n.used++;
	}
	table_free(t->e, t->cap);
	*t = n;
	return 0;
}

int
iplimit_reserve(struct iplimit *t, size_t want)
{
	size_t cap = IPLIMIT_MIN_CAP;

	while (cap / 2 < want && cap < SIZE_MAX / 4)
		cap *= 2;
	if (cap <= t->cap)
		return 0;
	return rebuild(t, cap, 1);
}

void
iplimit_free(struct iplimit *t)
{
	table_free(t->e, t->cap);
	memset(t, 0, sizeof(*t));
}

int
iplimit_admit(struct iplimit *t, const char *key, unsigned max_preauth,
    unsigned max_total)
{
	struct iplimit_entry *e;
	size_t i;

	if (t->cap == 0 && iplimit_reserve(t, IPLIMIT_MIN_CAP / 2) == -1)
		return -1;
	if ((e = find(t, key)) == NULL) {
		/* full of remembered log times: forget them first (the
		 * next refusal is logged a little early), then grow */
		if ((t->used + 1) * IPLIMIT_LOAD_DEN > t->cap *
		    IPLIMIT_LOAD_NUM && rebuild(t, t->cap, 0) == -1)
			return -1;
		if ((t->used + 1) * IPLIMIT_LOAD_DEN > t->cap *
		    IPLIMIT_LOAD_NUM && rebuild(t, t->cap * 2, 0) == -1)
			return -1;
		i = probe(t, key);
		e = &t->e[i];
		memset(e, 0, sizeof(*e));
		snprintf(e->key, sizeof(e->key), "%s", key);
		t->used++;
	}
	if (e->preauth >= max_preauth || e->total >= max_total) {
		if (e->refused < UINT32_MAX)
			e->refused++;
		return -1;
	}
	e->preauth++;
	e->total++;
	return 0;
}

void
iplimit_login(struct iplimit *t, const char *key)
{
	struct iplimit_entry *e = find(t, key);

	if (e != NULL && e->preauth > 0)
		e->preauth--;
}

void
iplimit_release(struct iplimit *t, const char *key, int preauth)
{
	struct iplimit_entry *e = find(t, key);

	if (e == NULL)
		return;
	if (preauth && e->preauth > 0)
		e->preauth--;
	if (e->total > 0)
		e->total--;
	/* kept while its log interval runs (a rebuild may drop it) */
	if (e->total == 0 && e->logged == 0)
		remove_at(t, (size_t)(e - t->e));
}

unsigned
iplimit_preauth(const struct iplimit *t, const char *key)
{
	const struct iplimit_entry *e = find(t, key);

	return e != NULL ? e->preauth : 0;
}

int
iplimit_log_due(struct iplimit *t, const char *key, time_t now,
    time_t interval, unsigned *refused_r)
{
	struct iplimit_entry *e = find(t, key);

	if (e == NULL || (e->logged != 0 && now - e->logged < interval))
		return 0;
	*refused_r = e->refused;
	e->refused = 0;
	e->logged = now;
	return 1;
}
