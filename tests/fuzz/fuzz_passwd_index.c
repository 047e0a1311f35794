/* A whole passwd-file: after pwf_index_refresh, pwf_index_lookup must
 * answer as the full read (pwf_lookup with no index) does -- return
 * value, every field of the entry, the dummy hash -- for the user name
 * of each line (the bytes before its first ':') and a few absent ones.
 * The input is written to one file in a directory made once. */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "passwd_file.h"
#include "passwd_index.h"

#define CHECK(x)	do { if (!(x)) fail(); } while (0)

#define MAX_NAMES	50

/* What one lookup gave. */
struct answer {
	int			rc;
	struct pwf_entry	e;
	char			dummy[CONFIG_MAX_LINE];
};

static const char *const absent[] = { "absent", "x@absent.example" };

#define NASK	(MAX_NAMES + sizeof(absent) / sizeof(absent[0]))

static char dir[256], path[300];
static char names[NASK][POP3_MAX_USER + 1];
static struct answer fr[NASK], ix;

static void
cleanup(void)
{
	pwf_index_drop();
	unlink(path);
	rmdir(dir);
}

/* abort() skips atexit: remove the file and directory first (the
 * input is kept by libFuzzer) */
static void
fail(void)
{
	cleanup();
	abort();
}

static void
init(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/privpop-fuzz-pwi-XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/passwd", dir);
	atexit(cleanup);
}

static int
same_str(const char *a, const char *b, size_t size)
{
	return memchr(a, '\0', size) != NULL &&
	    memchr(b, '\0', size) != NULL && strcmp(a, b) == 0;
}

/* NULL when the index answer i and the full-read answer f agree. */
static const char *
differ(const struct answer *i, const struct answer *f)
{
	if (i->rc != f->rc)
		return "return value";
	if (!same_str(i->dummy, f->dummy, sizeof(i->dummy)))
		return "dummy";
	if (i->rc == 0)	/* neither may have touched the entry */
		return memcmp(&i->e, &f->e, sizeof(i->e)) != 0 ?
		    "entry written on not found" : NULL;
	if (!same_str(i->e.user, f->e.user, sizeof(i->e.user)))
		return "user";
	if (i->e.scheme != f->e.scheme)
		return "scheme";
	if (!same_str(i->e.secret, f->e.secret, sizeof(i->e.secret)))
		return "secret";
	if (i->e.uid != f->e.uid || i->e.gid != f->e.gid)
		return "uid/gid";
	if (!same_str(i->e.home, f->e.home, sizeof(i->e.home)))
		return "home";
	if (!same_str(i->e.mail, f->e.mail, sizeof(i->e.mail)))
		return "mail";
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *nl, *colon, *what;
	size_t off = 0, len, n = 0, k;
	int fd;

	/* index what was just written (see PWF_INDEX_SETTLE_SECS) */
	pwf_index_settle_secs = 0;
	if (dir[0] == '\0')
		init();

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd != -1);
	CHECK(write(fd, data, size) == (ssize_t)size);
	CHECK(close(fd) == 0);

	while (off < size && n < MAX_NAMES) {
		nl = memchr(p + off, '\n', size - off);
		len = nl != NULL ? (size_t)(nl - (p + off)) : size - off;
		colon = memchr(p + off, ':', len);
		k = colon != NULL ? (size_t)(colon - (p + off)) : len;
		if (pwf_valid_user(p + off, k)) {
			memcpy(names[n], p + off, k);
			names[n++][k] = '\0';
		}
		off += len + 1;
	}
	for (k = 0; k < sizeof(absent) / sizeof(absent[0]); k++)
		snprintf(names[n++], sizeof(names[0]), "%s", absent[k]);

	/* the full read: no index.  Same pattern in both answers, so an
	 * entry neither wrote compares equal. */
	pwf_index_drop();
	for (k = 0; k < n; k++) {
		memset(&fr[k], 0x5a, sizeof(fr[k]));
		fr[k].rc = pwf_lookup(path, names[k], &fr[k].e, fr[k].dummy);
		CHECK(fr[k].rc == 0 || fr[k].rc == 1);
	}
	/* a fresh index (never a stale one of the previous input that has
	 * the same size and times) */
	pwf_index_drop();
	pwf_index_refresh(path);
	for (k = 0; k < n; k++) {
		memset(&ix, 0x5a, sizeof(ix));
		ix.rc = pwf_index_lookup(path, names[k], &ix.e, ix.dummy);
		if (ix.rc == -1 || (what = differ(&ix, &fr[k])) != NULL) {
			fprintf(stderr, "user \"%s\": index rc %d, full read "
			    "rc %d: %s\n", names[k], ix.rc, fr[k].rc,
			    ix.rc == -1 ? "no index" : what);
			fail();
		}
	}
	pwf_index_drop();
	return 0;
}
