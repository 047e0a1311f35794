/*
 * Unit tests for mailstore/maildir_lock.c, the cross-host lock file of
 * a Maildir (".privpop-lock"): the parser of its content on valid and
 * malformed lines (the file is the mailbox owner's: untrusted), the
 * stale rule with a fake clock and fake pid states, and acquire,
 * refresh, takeover and release in a temporary directory (planted
 * garbage, symlinks, FIFOs, directories; a lock taken over under a
 * holder's feet; an expunge refused then).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "limits.h"
#include "maildir.h"
#include "maildir_lock.h"

#define BOOT	"0123abcd-4567-89ef-0123-456789abcdef"
#define BOOT2	"ffffffff-4567-89ef-0123-456789abcdef"

/* ---- the parser ---- */

/* mdlock_parse on a malloc'd copy of exactly len bytes (an overread is
 * a real one under ASan). */
static int
parse_n(const char *s, size_t len, struct mdlock_info *out)
{
	char *p = malloc(len > 0 ? len : 1);
	int r;

	assert_non_null(p);
	memcpy(p, s, len);
	r = mdlock_parse(p, len, out);
	free(p);
	return r;
}

static int
parse(const char *s, struct mdlock_info *out)
{
	return parse_n(s, strlen(s), out);
}

static void
test_parse_valid(void **state)
{
	struct mdlock_info i;
	char big[MDLOCK_NODE_MAX + 1];

	(void)state;
	assert_int_equal(parse(MDLOCK_MAGIC "pop1.example.org " BOOT
	    " 1234 1700000000\n", &i), 0);
	assert_string_equal(i.node, "pop1.example.org");
	assert_string_equal(i.boot, BOOT);
	assert_int_equal(i.pid, 1234);
	assert_int_equal(i.since, 1700000000);
	assert_int_equal(parse(MDLOCK_MAGIC "n_1-A - 1 0\n", &i), 0);
	assert_string_equal(i.boot, "-");
	assert_int_equal(i.pid, 1);
	assert_int_equal(i.since, 0);
	/* the longest node, the largest pid */
	memset(big, 'x', MDLOCK_NODE_MAX);
	big[MDLOCK_NODE_MAX] = '\0';
	{
		char line[MDLOCK_MAX_BYTES];

		snprintf(line, sizeof(line), MDLOCK_MAGIC "%s " BOOT
		    " 4194304 9223372036854775807\n", big);
		assert_int_equal(parse(line, &i), 0);
		assert_string_equal(i.node, big);
		assert_int_equal(i.pid, 4194304);
		assert_true(i.since == INT64_MAX);
	}
}

static void
test_parse_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		MDLOCK_MAGIC,
		MDLOCK_MAGIC "\n",
		"privpop-lock 2 n " BOOT " 1 1\n",	/* other version */
		MDLOCK_MAGIC "n " BOOT " 1 1",		/* no newline */
		MDLOCK_MAGIC "n " BOOT " 1 1\n\n",	/* two lines */
		MDLOCK_MAGIC "n " BOOT " 1 1\nx",	/* trailing */
		MDLOCK_MAGIC "n " BOOT " 1 1 \n",	/* trailing space */
		MDLOCK_MAGIC " n " BOOT " 1 1\n",	/* empty field */
		MDLOCK_MAGIC "n  " BOOT " 1 1\n",
		MDLOCK_MAGIC "n " BOOT "  1 1\n",
		MDLOCK_MAGIC "n/x " BOOT " 1 1\n",	/* node chars */
		MDLOCK_MAGIC "n\tx " BOOT " 1 1\n",
		MDLOCK_MAGIC "n " "0123ABCD-4567-89ef-0123-456789abcdef"
		    " 1 1\n",				/* upper hex */
		MDLOCK_MAGIC "n " BOOT "0 1 1\n",	/* 37 long */
		MDLOCK_MAGIC "n 0123 1 1\n",		/* short */
		MDLOCK_MAGIC "n -- 1 1\n",
		MDLOCK_MAGIC "n " BOOT " 0 1\n",	/* pid 0 */
		MDLOCK_MAGIC "n " BOOT " 4194305 1\n",	/* pid too big */
		MDLOCK_MAGIC "n " BOOT " -1 1\n",
		MDLOCK_MAGIC "n " BOOT " +1 1\n",
		MDLOCK_MAGIC "n " BOOT " 1x 1\n",
		MDLOCK_MAGIC "n " BOOT " 1 -1\n",
		MDLOCK_MAGIC "n " BOOT " 1 9223372036854775808\n",
		MDLOCK_MAGIC "n " BOOT " 01 1\n",	/* leading zeros */
		MDLOCK_MAGIC "n " BOOT " 1 00\n",
		MDLOCK_MAGIC "n " BOOT " 1 1 2\n",	/* extra field */
		MDLOCK_MAGIC "n " BOOT " 1\n",		/* missing */
		MDLOCK_MAGIC "n " BOOT "\n",
		MDLOCK_MAGIC "n\n",
	};
	struct mdlock_info i;
	char line[2 * MDLOCK_MAX_BYTES];
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		if (parse(bad[k], &i) != -1)
			fail_msg("accepted: \"%s\"", bad[k]);
	}
	/* a NUL inside */
	assert_int_equal(parse_n(MDLOCK_MAGIC "n\0x " BOOT " 1 1\n",
	    sizeof(MDLOCK_MAGIC "n\0x " BOOT " 1 1\n") - 1, &i), -1);
	/* a node one too long */
	memset(line, 0, sizeof(line));
	memcpy(line, MDLOCK_MAGIC, sizeof(MDLOCK_MAGIC) - 1);
	memset(line + sizeof(MDLOCK_MAGIC) - 1, 'n', MDLOCK_NODE_MAX + 1);
	strcat(line, " " BOOT " 1 1\n");
	assert_int_equal(parse(line, &i), -1);
	/* over MDLOCK_MAX_BYTES, even if well formed otherwise */
	memset(line, 'a', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	assert_int_equal(parse_n(line, sizeof(line), &i), -1);
}

static void
test_format_roundtrip(void **state)
{
	struct mdlock_self s;
	struct mdlock_info i;
	char line[MDLOCK_MAX_BYTES];
	int n;

	(void)state;
	memset(&s, 0, sizeof(s));
	snprintf(s.node, sizeof(s.node), "node-b");
	snprintf(s.boot, sizeof(s.boot), BOOT);
	s.pid = 4242;
	n = mdlock_format(&s, 1700000123, line, sizeof(line));
	assert_true(n > 0);
	assert_int_equal(mdlock_parse(line, (size_t)n, &i), 0);
	assert_string_equal(i.node, "node-b");
	assert_string_equal(i.boot, BOOT);
	assert_int_equal(i.pid, 4242);
	assert_int_equal(i.since, 1700000123);
	/* no room */
	assert_int_equal(mdlock_format(&s, 1, line, 10), -1);
	/* node names */
	assert_true(mdlock_node_ok("a"));
	assert_true(mdlock_node_ok("pop-1.example_org"));
	assert_false(mdlock_node_ok(""));
	assert_false(mdlock_node_ok("a b"));
	assert_false(mdlock_node_ok("a/b"));
	memset(line, 'x', MDLOCK_NODE_MAX + 1);
	line[MDLOCK_NODE_MAX + 1] = '\0';
	assert_false(mdlock_node_ok(line));
	line[MDLOCK_NODE_MAX] = '\0';
	assert_true(mdlock_node_ok(line));
}

/* ---- the stale rule, with a fake clock ---- */

static enum mdlock_pid fake_pid = MDLOCK_PID_ALIVE;
static int pid_asked;

static enum mdlock_pid
fake_pid_state(uint32_t pid)
{
	(void)pid;
	pid_asked++;
	return fake_pid;
}

static void
self_of(struct mdlock_self *s, const char *node, const char *boot)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->node, sizeof(s->node), "%s", node);
	snprintf(s->boot, sizeof(s->boot), "%s", boot);
	s->pid = 100;
	s->stale = 120;
}

static void
seen_of(struct mdlock_seen *v, const char *node, const char *boot,
    time_t mtime)
{
	memset(v, 0, sizeof(*v));
	v->parsed = 1;
	snprintf(v->info.node, sizeof(v->info.node), "%s", node);
	snprintf(v->info.boot, sizeof(v->info.boot), "%s", boot);
	v->info.pid = 77;
	v->mtime = mtime;
}

static void
test_decide(void **state)
{
	const time_t now = 1000000;
	struct mdlock_self me;
	struct mdlock_seen v;

	(void)state;
	self_of(&me, "a", BOOT);

	/* another node's, fresh: held; the pid is not asked (another
	 * kernel's) */
	seen_of(&v, "b", BOOT, now - 10);
	fake_pid = MDLOCK_PID_GONE;
	pid_asked = 0;
	assert_int_equal(mdlock_decide(&v, &me, now, fake_pid_state),
	    MDLOCK_HELD);
	assert_int_equal(pid_asked, 0);
	/* exactly stale seconds old: still held; one more: stale */
	v.mtime = now - 120;
	assert_int_equal(mdlock_decide(&v, &me, now, fake_pid_state),
	    MDLOCK_HELD);
	v.mtime = now - 121;
	assert_int_equal(mdlock_decide(&v, &me, now, fake_pid_state),
	    MDLOCK_TAKE_STALE);
	/* from the future by more than stale: no refresh either */
	v.mtime = now + 121;
	assert_int_equal(mdlock_decide(&v, &me, now, fake_pid_state),
	    MDLOCK_TAKE_STALE);
	v.mtime = now + 60;
	assert_int_equal(mdlock_decide(&v, &me, now, fake_pid_state),
	    MDLOCK_HELD);

	/* ours, this boot: the pid decides at once */
	seen_of(&v, "a", BOOT, now);
	fake_pid = MDLOCK_PID_GONE;
	assert_int_equal(mdlock_decide(&v, &me, now, fake_pid_state),
	    MDLOCK_TAKE_DEAD);
	fake_pid = MDLOCK_PID_ALIVE;	/* also EPERM: another user's */
	assert_int_equal(mdlock_decide(&v, &me, now, fake_pid_state),
	    MDLOCK_HELD);
	fake_pid = MDLOCK_PID_UNKNOWN;
	assert_int_equal(mdlock_decide(&v, &me, now, fake_pid_state),
	    MDLOCK_HELD);
	v.mtime = now - 500;		/* a live pid that stopped refreshing */
	fake_pid = MDLOCK_PID_ALIVE;
	assert_int_equal(mdlock_decide(&v, &me, now, fake_pid_state),
	    MDLOCK_TAKE_STALE);

	/* ours, an earlier boot: the pid means nothing */
	seen_of(&v, "a", BOOT2, now);
	fake_pid = MDLOCK_PID_GONE;
	pid_asked = 0;
	assert_int_equal(mdlock_decide(&v, &me, now, fake_pid_state),
	    MDLOCK_HELD);
	assert_int_equal(pid_asked, 0);
	/* no boot id known here, or there: never "ours" */
	seen_of(&v, "a", "-", now);
	self_of(&me, "a", "-");
	assert_int_equal(mdlock_decide(&v, &me, now, fake_pid_state),
	    MDLOCK_HELD);
	self_of(&me, "a", BOOT);
	assert_int_equal(mdlock_decide(&v, &me, now, fake_pid_state),
	    MDLOCK_HELD);

	/* garbage: held by someone unknown until stale */
	memset(&v, 0, sizeof(v));
	v.mtime = now - 5;
	assert_int_equal(mdlock_decide(&v, &me, now, fake_pid_state),
	    MDLOCK_HELD);
	v.mtime = now - 121;
	assert_int_equal(mdlock_decide(&v, &me, now, fake_pid_state),
	    MDLOCK_TAKE_STALE);
	/* a shorter stale time */
	me.stale = MDLOCK_STALE_MIN;
	v.mtime = now - MDLOCK_STALE_MIN - 1;
	assert_int_equal(mdlock_decide(&v, &me, now, fake_pid_state),
	    MDLOCK_TAKE_STALE);
}

/* ---- on a directory ---- */

static char dir[64];
static int dfd = -1;

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_mdlock.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	mdlock_configure(120, "node-a");
	return dfd == -1 ? -1 : 0;
}

static int
teardown_dir(void **state)
{
	(void)state;
	close(dfd);
	dfd = -1;
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Entries of the directory other than . and ..: how many. */
static int
entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
plant(const char *content, time_t age)
{
	struct timespec ts[2];
	int fd;

	(void)unlinkat(dfd, MDLOCK_FILE, 0);
	fd = openat(dfd, MDLOCK_FILE, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, content, strlen(content)),
	    (ssize_t)strlen(content));
	close(fd);
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - age;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(dfd, MDLOCK_FILE, ts, AT_SYMLINK_NOFOLLOW),
	    0);
}

static void
age_lock(time_t age)
{
	struct timespec ts[2];

	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - age;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(dfd, MDLOCK_FILE, ts, AT_SYMLINK_NOFOLLOW),
	    0);
}

static void
read_lock(struct mdlock_info *i)
{
	char buf[MDLOCK_MAX_BYTES + 1];
	ssize_t n;
	int fd = openat(dfd, MDLOCK_FILE, O_RDONLY | O_NOFOLLOW);

	assert_true(fd != -1);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_true(n > 0);
	assert_int_equal(mdlock_parse(buf, (size_t)n, i), 0);
}

static void
test_acquire_release(void **state)
{
	struct mdlock a, b;
	struct mdlock_info i;
	struct stat st;

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_int_equal(mdlock_next_refresh(&a), -1);	/* none held */
	assert_int_equal(mdlock_acquire(&a, dfd, dir), MAIL_OK);
	assert_true(a.held);
	/* one file: the lock, no temporary left; ours, mode 0600 */
	assert_int_equal(entries(), 1);
	assert_int_equal(fstatat(dfd, MDLOCK_FILE, &st, AT_SYMLINK_NOFOLLOW),
	    0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_nlink, 1);
	read_lock(&i);
	assert_string_equal(i.node, "node-a");
	assert_int_equal(i.pid, (uint32_t)getpid());
	assert_true(i.since <= time(NULL) && i.since > time(NULL) - 60);
	/* the refresh is due in stale / 4 */
	assert_true(mdlock_next_refresh(&a) > 0);
	assert_true(mdlock_next_refresh(&a) <= 120 / MDLOCK_REFRESH_DIVISOR);
	/* a second session of this node: its pid (ours) is alive */
	assert_int_equal(mdlock_acquire(&b, dfd, dir), MAIL_INUSE);
	assert_false(b.held);
	assert_int_equal(entries(), 1);
	/* the refresh moves the mtime forward */
	age_lock(100);
	assert_int_equal(mdlock_check(&a, 1), 0);
	assert_int_equal(fstatat(dfd, MDLOCK_FILE, &st, AT_SYMLINK_NOFOLLOW),
	    0);
	assert_true(st.st_mtime >= time(NULL) - 5);
	mdlock_release(&a);
	assert_false(a.held);
	assert_int_equal(entries(), 0);
	mdlock_release(&a);	/* twice: nothing */
}

static void
test_other_node(void **state)
{
	struct mdlock a;
	struct mdlock_info i;
	char line[MDLOCK_MAX_BYTES];

	(void)state;
	/* node-b's, fresh: in use, whatever its pid */
	snprintf(line, sizeof(line), MDLOCK_MAGIC "node-b " BOOT " %u 1\n",
	    4000000u);
	plant(line, 30);
	assert_int_equal(mdlock_acquire(&a, dfd, dir), MAIL_INUSE);
	/* not refreshed for more than mail_lock_stale: taken over */
	age_lock(121);
	assert_int_equal(mdlock_acquire(&a, dfd, dir), MAIL_OK);
	read_lock(&i);
	assert_string_equal(i.node, "node-a");
	assert_int_equal(entries(), 1);	/* the stale one is gone */
	mdlock_release(&a);
	assert_int_equal(entries(), 0);
}

static void
test_dead_pid(void **state)
{
	struct mdlock a;
	struct mdlock_info i;
	char line[MDLOCK_MAX_BYTES], boot[64];
	pid_t pid;
	int fd, status;
	ssize_t n;

	(void)state;
	/* this boot's id, as the lock module reads it */
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY);
	if (fd == -1)
		skip();
	n = read(fd, boot, sizeof(boot) - 1);
	close(fd);
	assert_int_equal(n, MDLOCK_BOOT_LEN + 1);
	boot[MDLOCK_BOOT_LEN] = '\0';
	/* a pid that was ours and is gone */
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	snprintf(line, sizeof(line), MDLOCK_MAGIC "node-a %s %ld 1\n", boot,
	    (long)pid);
	plant(line, 0);
	assert_int_equal(mdlock_acquire(&a, dfd, dir), MAIL_OK);
	read_lock(&i);
	assert_int_equal(i.pid, (uint32_t)getpid());
	mdlock_release(&a);
	/* the same on another node's name: fresh, so held */
	snprintf(line, sizeof(line), MDLOCK_MAGIC "node-b %s %ld 1\n", boot,
	    (long)pid);
	plant(line, 0);
	assert_int_equal(mdlock_acquire(&a, dfd, dir), MAIL_INUSE);
	(void)unlinkat(dfd, MDLOCK_FILE, 0);
}

static void
test_planted(void **state)
{
	struct mdlock a;
	struct timespec ts[2];
	char big[MDLOCK_MAX_BYTES * 4];

	(void)state;
	/* garbage, fresh: held by someone unknown; stale: taken over */
	plant("not a lock\n", 0);
	assert_int_equal(mdlock_acquire(&a, dfd, dir), MAIL_INUSE);
	age_lock(200);
	assert_int_equal(mdlock_acquire(&a, dfd, dir), MAIL_OK);
	mdlock_release(&a);
	/* a huge file: not read, held until stale */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	plant(big, 0);
	assert_int_equal(mdlock_acquire(&a, dfd, dir), MAIL_INUSE);
	age_lock(200);
	assert_int_equal(mdlock_acquire(&a, dfd, dir), MAIL_OK);
	mdlock_release(&a);
	/* a symlink (to a valid-looking lock elsewhere): never followed;
	 * held until its own mtime is stale */
	assert_int_equal(symlinkat("/etc/passwd", dfd, MDLOCK_FILE), 0);
	assert_int_equal(mdlock_acquire(&a, dfd, dir), MAIL_INUSE);
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - 200;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(dfd, MDLOCK_FILE, ts, AT_SYMLINK_NOFOLLOW),
	    0);
	assert_int_equal(mdlock_acquire(&a, dfd, dir), MAIL_OK);
	mdlock_release(&a);
	/* a FIFO: the open does not block */
	assert_int_equal(mkfifoat(dfd, MDLOCK_FILE, 0600), 0);
	assert_int_equal(mdlock_acquire(&a, dfd, dir), MAIL_INUSE);
	age_lock(200);
	assert_int_equal(mdlock_acquire(&a, dfd, dir), MAIL_OK);
	mdlock_release(&a);
	/* an empty directory */
	assert_int_equal(mkdirat(dfd, MDLOCK_FILE, 0700), 0);
	assert_int_equal(mdlock_acquire(&a, dfd, dir), MAIL_INUSE);
	age_lock(200);
	assert_int_equal(mdlock_acquire(&a, dfd, dir), MAIL_OK);
	mdlock_release(&a);
	assert_int_equal(entries(), 0);
}

/* The takeover's own race: between our look and our rename another
 * node took the stale lock over and made its own; the fresh lock we
 * moved is put back, and we do not proceed. */
static void
test_take_over_race(void **state)
{
	struct stat stale, fresh, now;
	struct mdlock a;

	(void)state;
	plant(MDLOCK_MAGIC "node-c - 9 1\n", 500);
	assert_int_equal(fstatat(dfd, MDLOCK_FILE, &stale,
	    AT_SYMLINK_NOFOLLOW), 0);
	/* node B: takes it over and makes its own (a new inode) */
	assert_int_equal(unlinkat(dfd, MDLOCK_FILE, 0), 0);
	{
		int keep = openat(dfd, "keep-ino", O_WRONLY | O_CREAT, 0600);

		assert_true(keep != -1);	/* the old inode stays in use */
		close(keep);
	}
	plant(MDLOCK_MAGIC "node-b - 9 1\n", 0);
	assert_int_equal(fstatat(dfd, MDLOCK_FILE, &fresh,
	    AT_SYMLINK_NOFOLLOW), 0);
	if (fresh.st_ino == stale.st_ino)
		skip();	/* the file system reused the inode at once */
	/* we, judging the old one: refused, the fresh one back in place */
	assert_int_equal(mdlock_take_over(dfd, stale.st_dev, stale.st_ino,
	    dir), -1);
	assert_int_equal(fstatat(dfd, MDLOCK_FILE, &now, AT_SYMLINK_NOFOLLOW),
	    0);
	assert_true(now.st_ino == fresh.st_ino);
	assert_int_equal(now.st_nlink, 1);	/* no second name left */
	assert_int_equal(mdlock_acquire(&a, dfd, dir), MAIL_INUSE);
	/* and the plain case: the file judged is the one moved */
	assert_int_equal(mdlock_take_over(dfd, fresh.st_dev, fresh.st_ino,
	    dir), 0);
	assert_int_equal(faccessat(dfd, MDLOCK_FILE, F_OK,
	    AT_SYMLINK_NOFOLLOW), -1);
	/* nothing to move: another node's rename came first */
	assert_int_equal(mdlock_take_over(dfd, fresh.st_dev, fresh.st_ino,
	    dir), -1);
	assert_int_equal(unlinkat(dfd, "keep-ino", 0), 0);
	assert_int_equal(entries(), 0);
}

/* Another node took the lock over under our feet: the check says so,
 * the release leaves the new holder's file alone. */
static void
test_lost(void **state)
{
	struct mdlock a;
	struct mdlock_info i;

	(void)state;
	assert_int_equal(mdlock_acquire(&a, dfd, dir), MAIL_OK);
	assert_int_equal(renameat(dfd, MDLOCK_FILE, dfd, "moved"), 0);
	plant(MDLOCK_MAGIC "node-b - 9 1\n", 0);
	assert_int_equal(mdlock_check(&a, 1), -1);
	mdlock_release(&a);
	read_lock(&i);
	assert_string_equal(i.node, "node-b");
	/* gone entirely: lost too */
	assert_int_equal(unlinkat(dfd, MDLOCK_FILE, 0), 0);
	assert_int_equal(unlinkat(dfd, "moved", 0), 0);
	assert_int_equal(mdlock_acquire(&a, dfd, dir), MAIL_OK);
	assert_int_equal(unlinkat(dfd, MDLOCK_FILE, 0), 0);
	assert_int_equal(mdlock_check(&a, 0), -1);
	mdlock_release(&a);
	assert_int_equal(entries(), 0);
}

/* The Maildir: open takes the lock file, close removes it, and an
 * expunge after a takeover removes nothing. */
static void
test_maildir(void **state)
{
	struct maildir md, md2;
	char path[128], msg[160];
	uint32_t failed, done;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/Maildir", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(msg, sizeof(msg), "%s/new", path);
	assert_int_equal(mkdir(msg, 0700), 0);
	snprintf(msg, sizeof(msg), "%s/cur", path);
	assert_int_equal(mkdir(msg, 0700), 0);
	snprintf(msg, sizeof(msg), "%s/tmp", path);
	assert_int_equal(mkdir(msg, 0700), 0);
	snprintf(msg, sizeof(msg), "%s/new/1.M1.host", path);
	fd = open(msg, O_WRONLY | O_CREAT, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "a: b\n\nx\n", 8), 8);
	close(fd);

	assert_int_equal(maildir_open(&md, path), MAIL_OK);
	assert_int_equal(md.count, 1);
	assert_true(md.xlock.held);
	assert_true(maildir_lock_due(&md) >= 0);
	assert_int_equal(maildir_lock_refresh(&md), 0);
	/* another node's lock under our feet (as a stale takeover does) */
	{
		int mfd = open(path, O_RDONLY | O_DIRECTORY);

		assert_true(mfd != -1);
		assert_int_equal(unlinkat(mfd, MDLOCK_FILE, 0), 0);
		fd = openat(mfd, MDLOCK_FILE, O_WRONLY | O_CREAT, 0600);
		assert_true(fd != -1);
		close(fd);
		close(mfd);
	}
	assert_int_equal(maildir_lock_refresh(&md), -1);
	md.msgs[0].deleted = 1;
	done = maildir_expunge(&md, &failed);
	assert_int_equal(done, 0);
	assert_int_equal(failed, 1);
	maildir_close(&md);
	/* the message is still there; the planted lock too (fresh) */
	assert_int_equal(access(msg, F_OK), 0);
	assert_int_equal(maildir_open(&md2, path), MAIL_INUSE);
	maildir_close(&md2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_decide),
		cmocka_unit_test_setup_teardown(test_acquire_release,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_other_node, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_dead_pid, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_planted, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_take_over_race, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_lost, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_maildir, setup_dir,
		    teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
