/* The Maildir lock file's content (mailstore/maildir_lock.c): the file
 * is the mailbox owner's.  mdlock_parse on exactly size bytes; what it
 * accepts must be a node of the allowed characters, a boot id of 36
 * or "-", a pid in range, and format back to the same bytes; the stale
 * rule must answer for anything parsed or not. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maildir_lock.h"

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

static enum mdlock_pid
pid_gone(uint32_t pid)
{
	(void)pid;
	return MDLOCK_PID_GONE;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mdlock_info i;
	struct mdlock_self s;
	struct mdlock_seen v;
	char line[MDLOCK_MAX_BYTES + 1];
	char *p;
	int n;

	p = malloc(size > 0 ? size : 1);	/* exact size: no NUL after */
	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	memset(&v, 0, sizeof(v));
	if (mdlock_parse(p, size, &i) == 0) {
		CHECK(mdlock_node_ok(i.node));
		CHECK(strcmp(i.boot, "-") == 0 ||
		    strlen(i.boot) == MDLOCK_BOOT_LEN);
		CHECK(i.pid >= 1 && i.pid <= 4194304);
		CHECK(i.since >= 0);
		memset(&s, 0, sizeof(s));
		memcpy(s.node, i.node, sizeof(s.node));
		memcpy(s.boot, i.boot, sizeof(s.boot));
		s.pid = i.pid;
		n = mdlock_format(&s, (time_t)i.since, line, sizeof(line));
		CHECK(n > 0 && (size_t)n == size &&
		    memcmp(line, data, size) == 0);
		v.parsed = 1;
		v.info = i;
		s.stale = MDLOCK_STALE_MIN;
		/* this node, a boot id known: the gone pid decides */
		CHECK(mdlock_decide(&v, &s, (time_t)0, pid_gone) ==
		    (strcmp(i.boot, "-") != 0 ? MDLOCK_TAKE_DEAD :
		    MDLOCK_HELD));
	} else {
		memset(&s, 0, sizeof(s));
		memcpy(s.node, "n", 2);
		memcpy(s.boot, "-", 2);
		s.stale = MDLOCK_STALE_MIN;
		CHECK(mdlock_decide(&v, &s, (time_t)0, pid_gone) ==
		    MDLOCK_HELD);
	}
	free(p);
	return 0;
}
