/*
 * The cross-host [IN-USE] lock file of a Maildir (maildir_lock.h: the
 * recipe, the stale rule and what it relies on over NFS).  The file is
 * the mailbox owner's and is read as untrusted input here, with bounds:
 * at most MDLOCK_MAX_BYTES of a regular file, never through a symlink,
 * never blocking on a FIFO; anything else is held by someone unknown
 * until it is stale.
 *
 * Runs as: mailbox owner (privpop-store).
 */
#include "config.h"

#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "fsutil.h"
#include "log.h"
#include "maildir_lock.h"
#include "numparse.h"
#include "limits.h"

static struct mdlock_self self;
static int self_ready;
static int conf_stale = MDLOCK_STALE_DEFAULT;
static char conf_node[MDLOCK_NODE_MAX + 1];

static int
node_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static int
boot_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-';
}

int
mdlock_node_ok(const char *s)
{
	return conf_lock_node_ok(s);	/* the config's own check */
}

/* The length of the token at p (up to a space, a newline or end). */
static size_t
token(const char *p, const char *end)
{
	const char *q = p;

	while (q < end && *q != ' ' && *q != '\n')
		q++;
	return (size_t)(q - p);
}

int
mdlock_parse(const char *p, size_t len, struct mdlock_info *out)
{
	const char *end = p + len;
	size_t n, i;
	uint64_t v;

	memset(out, 0, sizeof(*out));
	if (len > MDLOCK_MAX_BYTES || len < sizeof(MDLOCK_MAGIC) ||
	    memcmp(p, MDLOCK_MAGIC, sizeof(MDLOCK_MAGIC) - 1) != 0 ||
	    end[-1] != '\n' || memchr(p, '\n', len - 1) != NULL)
		return -1;
	p += sizeof(MDLOCK_MAGIC) - 1;
	/* node */
	n = token(p, end);
	if (n == 0 || n > MDLOCK_NODE_MAX || p + n >= end || p[n] != ' ')
		return -1;
	for (i = 0; i < n; i++)
		if (!node_char((unsigned char)p[i]))
			return -1;
	memcpy(out->node, p, n);
	p += n + 1;
	/* boot id, or "-" */
	n = token(p, end);
	if (p + n >= end || p[n] != ' ' || !((n == 1 && p[0] == '-') ||
	    n == MDLOCK_BOOT_LEN))
		return -1;
	for (i = 0; n == MDLOCK_BOOT_LEN && i < n; i++)
		if (!boot_char((unsigned char)p[i]))
			return -1;
	memcpy(out->boot, p, n);
	p += n + 1;
	/* pid (numbers as written: no leading zero, one form per value) */
	n = token(p, end);
	if (p + n >= end || p[n] != ' ' || (n > 1 && p[0] == '0') ||
	    parse_uint(p, n, 1, MDLOCK_PID_MAX, &v) == -1)
		return -1;
	out->pid = (uint32_t)v;
	p += n + 1;
	/* since, then the newline that ends the file */
	n = token(p, end);
	if (p + n != end - 1 || (n > 1 && p[0] == '0') || parse_uint(p, n, 0, INT64_MAX, &v) == -1)
		return -1;
	out->since = (int64_t)v;
	return 0;
}

int
mdlock_format(const struct mdlock_self *s, time_t since, char *buf,
    size_t bufsz)
{
	int n;

	n = snprintf(buf, bufsz, MDLOCK_MAGIC "%s %s %lu %lld\n", s->node,
	    s->boot, (unsigned long)s->pid, (long long)(since < 0 ? 0 : since));
	if (n < 0 || (size_t)n >= bufsz || (size_t)n > MDLOCK_MAX_BYTES)
		return -1;
	return n;
}

enum mdlock_verdict
mdlock_decide(const struct mdlock_seen *seen, const struct mdlock_self *s,
    time_t now, enum mdlock_pid (*pid_state)(uint32_t))
{
	int64_t age = (int64_t)now - (int64_t)seen->mtime;

	/* ours (this node, this boot: the pid means this kernel's) */
	if (seen->parsed && strcmp(seen->info.node, s->node) == 0 &&
	    strcmp(s->boot, "-") != 0 &&
	    strcmp(seen->info.boot, s->boot) == 0 &&
	    pid_state(seen->info.pid) == MDLOCK_PID_GONE)
		return MDLOCK_TAKE_DEAD;
	/* anyone's, garbage included: refreshed within stale, either way
	 * (a time ahead of ours by more than that was no refresh) */
	if (age > s->stale || age < -(int64_t)s->stale)
		return MDLOCK_TAKE_STALE;
	return MDLOCK_HELD;
}

static enum mdlock_pid
pid_state_kill(uint32_t pid)
{
	/* kill(pid, 0) of another user's live process: EPERM; of no
	 * process: ESRCH (the worker's filter allows signal 0 only) */
	if (kill((pid_t)pid, 0) == 0 || errno == EPERM)
		return MDLOCK_PID_ALIVE;
	return errno == ESRCH ? MDLOCK_PID_GONE : MDLOCK_PID_UNKNOWN;
}

void
mdlock_configure(int stale, const char *node)
{
	if (stale >= MDLOCK_STALE_MIN && stale <= MDLOCK_STALE_MAX)
		conf_stale = stale;
	conf_node[0] = '\0';
	if (node != NULL && mdlock_node_ok(node))
		(void)snprintf(conf_node, sizeof(conf_node), "%s", node);
	self_ready = 0;
}

/* This node's name (mail_lock_node, else the host name with anything
 * but [A-Za-z0-9.-_] made '_'), boot id and pid. */
static void
self_init(void)
{
	struct utsname u;
	char buf[MDLOCK_BOOT_LEN + 2];
	ssize_t n;
	size_t i = 0;
	int fd;

	if (self_ready)
		return;
	memset(&self, 0, sizeof(self));
	if (conf_node[0] != '\0')
		(void)snprintf(self.node, sizeof(self.node), "%s", conf_node);
	else if (uname(&u) == 0) {
		(void)snprintf(self.node, sizeof(self.node), "%s", u.nodename);
		for (i = 0; self.node[i] != '\0'; i++)
			if (!node_char((unsigned char)self.node[i]))
				self.node[i] = '_';
	}
	if (self.node[0] == '\0')
		(void)snprintf(self.node, sizeof(self.node), "%s", "localhost");
	(void)snprintf(self.boot, sizeof(self.boot), "%s", "-");
	/* the kernel's own file (root's: not fs_read_file, which wants
	 * the owner's; openat is in the worker's filter) */
	if ((fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY |
	    O_NOFOLLOW | O_CLOEXEC)) != -1) {
		do {
			n = read(fd, buf, sizeof(buf));
		} while (n == -1 && errno == EINTR);
		close(fd);
		for (i = 0; n == MDLOCK_BOOT_LEN + 1 && i < MDLOCK_BOOT_LEN &&
		    boot_char((unsigned char)buf[i]); i++)
			;
		if (i == MDLOCK_BOOT_LEN && buf[MDLOCK_BOOT_LEN] == '\n') {
			memcpy(self.boot, buf, MDLOCK_BOOT_LEN);
			self.boot[MDLOCK_BOOT_LEN] = '\0';
		}
	}
	self.pid = (uint32_t)getpid();
	self.stale = conf_stale;
	self_ready = 1;
}

static time_t
mono_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return ts.tv_sec;
}

/*
 * What is at the lock name now.  A regular file is opened and fstat()ed
 * (over NFS, open() revalidates the attributes: close-to-open), at most
 * MDLOCK_MAX_BYTES of it read and parsed; anything else (a symlink, a
 * FIFO, a directory) is looked at with lstat only, for its mtime.
 * 0, or -1 with errno (ENOENT: nothing there).
 */
static int
look(int dirfd, struct mdlock_seen *seen, dev_t *dev_r, ino_t *ino_r)
{
	char buf[MDLOCK_MAX_BYTES + 1];
	struct stat st;
	ssize_t n;
	int fd;

	memset(seen, 0, sizeof(*seen));
	fd = openat(dirfd, MDLOCK_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return -1;
		/* ELOOP (a symlink), EACCES, ...: only its mtime */
		if (fstatat(dirfd, MDLOCK_FILE, &st, AT_SYMLINK_NOFOLLOW) == -1)
			return -1;
	} else if (fstat(fd, &st) == -1) {
		close(fd);
		return -1;
	}
	seen->mtime = st.st_mtim.tv_sec;
	*dev_r = st.st_dev;
	*ino_r = st.st_ino;
	if (fd != -1 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    st.st_size <= MDLOCK_MAX_BYTES) {
		do {
			n = pread(fd, buf, sizeof(buf), 0);
		} while (n == -1 && errno == EINTR);
		if (n > 0 && mdlock_parse(buf, (size_t)n, &seen->info) == 0)
			seen->parsed = 1;
	}
	if (fd != -1)
		close(fd);
	return 0;
}

/*
 * Move a stale lock out of the way: rename it to a unique name (only
 * one node's rename of it can succeed), then check that what moved is
 * the file judged stale (dev, ino).  If a fresh lock was moved instead
 * (another node took over between our look and our rename), it is
 * linked back.  0: moved and removed; -1: not ours to take.
 */
int
mdlock_take_over(int dirfd, dev_t dev, ino_t ino, const char *path)
{
	char tmp[MAIL_MAX_PATH];
	unsigned char r[8];
	struct stat st;
	int same, isdir;

	self_init();
	/* a name no other node or process can pick (node, pid, 64
	 * random bits; NFS has no RENAME_NOREPLACE) */
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r) ||
	    snprintf(tmp, sizeof(tmp), "%s.stale.%s.%lu.%02x%02x%02x%02x%02x"
	    "%02x%02x%02x", MDLOCK_FILE, self.node, (unsigned long)self.pid,
	    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) >=
	    (int)sizeof(tmp))
		return -1;
	if (renameat(dirfd, MDLOCK_FILE, dirfd, tmp) == -1)
		return -1;	/* ENOENT: another node moved it first */
	same = fstatat(dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == dev && st.st_ino == ino;
	isdir = same && S_ISDIR(st.st_mode);
	if (!same && linkat(dirfd, tmp, dirfd, MDLOCK_FILE, 0) == -1)
		log_warnx("maildir %s: a fresh lock was moved aside and a "
		    "third one is there now", path);
	(void)unlinkat(dirfd, tmp, isdir ? AT_REMOVEDIR : 0);
	return same ? 0 : -1;
}

/* Make our lock: the temporary file, link(), two links.  1: ours; 0:
 * someone's is there; -1: error. */
static int
make(struct mdlock *l, int dirfd)
{
	char tmp[MAIL_MAX_PATH], prefix[MAIL_MAX_PATH], line[MDLOCK_MAX_BYTES];
	struct stat st;
	ssize_t w;
	int fd, n, linked, saved;

	if (snprintf(prefix, sizeof(prefix), "%s.%s.%lu", MDLOCK_FILE,
	    self.node, (unsigned long)self.pid) >= (int)sizeof(prefix) ||
	    (n = mdlock_format(&self, time(NULL), line, sizeof(line))) == -1)
		return -1;
	if ((fd = fs_create_tmp(dirfd, prefix, tmp, sizeof(tmp))) == -1)
		return -1;
	do {
		w = write(fd, line, (size_t)n);
	} while (w == -1 && errno == EINTR);
	/* over NFS, close() sends the data before anyone can see the
	 * name (close-to-open) */
	if (w != n || close(fd) == -1) {
		if (w == n)
			fd = -1;
		if (fd != -1)
			close(fd);
		(void)unlinkat(dirfd, tmp, 0);
		return -1;
	}
	saved = linkat(dirfd, tmp, dirfd, MDLOCK_FILE, 0) == 0 ? 0 : errno;
	/* the link count decides, not link()'s answer (a lost reply) */
	linked = fstatat(dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && st.st_nlink == 2;
	(void)unlinkat(dirfd, tmp, 0);
	if (!linked)
		return saved == EEXIST ? 0 : -1;
	/* kept open for the refresh, checked to be that inode */
	if ((fd = openat(dirfd, MDLOCK_FILE, O_RDWR | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC)) == -1)
		return -1;
	{
		struct stat now;

		if (fstat(fd, &now) == -1 || now.st_ino != st.st_ino ||
		    now.st_dev != st.st_dev) {
			close(fd);
			return 0;
		}
	}
	l->held = 1;
	l->fd = fd;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->refreshed = mono_now();
	return 1;
}

enum mail_err
mdlock_acquire(struct mdlock *l, int dirfd, const char *path)
{
	struct mdlock_seen seen;
	enum mdlock_verdict v;
	dev_t dev;
	ino_t ino;
	int attempt, r;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->dirfd = dirfd;
	self_init();
	for (attempt = 0; attempt < MDLOCK_ATTEMPTS; attempt++) {
		if ((r = make(l, dirfd)) == 1)
			return MAIL_OK;
		if (r == -1) {
			log_warn("maildir %s: %s", path, MDLOCK_FILE);
			return MAIL_TEMP;
		}
		if (look(dirfd, &seen, &dev, &ino) == -1) {
			if (errno == ENOENT)
				continue;	/* gone meanwhile: again */
			log_warn("maildir %s: %s", path, MDLOCK_FILE);
			return MAIL_TEMP;
		}
		v = mdlock_decide(&seen, &self, time(NULL), pid_state_kill);
		if (v == MDLOCK_HELD) {
			if (seen.parsed)
				log_info("maildir %s: in use by node %s pid %lu",
				    path, seen.info.node,
				    (unsigned long)seen.info.pid);
			else
				log_info("maildir %s: in use (%s not "
				    "readable as a lock: held until stale)",
				    path, MDLOCK_FILE);
			return MAIL_INUSE;
		}
		if (mdlock_take_over(dirfd, dev, ino, path) == -1)
			return MAIL_INUSE;
		log_info("maildir %s: took over the lock of %s%s pid %lu (%s)",
		    path, seen.parsed ? "node " : "", seen.parsed ?
		    seen.info.node : "someone unknown",
		    (unsigned long)seen.info.pid, v == MDLOCK_TAKE_DEAD ?
		    "its process is gone" : "stale");
	}
	return MAIL_INUSE;
}

int
mdlock_next_refresh(const struct mdlock *l)
{
	time_t due;
	int every;

	if (!l->held)
		return -1;
	every = self.stale / MDLOCK_REFRESH_DIVISOR;
	if (every < 1)
		every = 1;
	due = l->refreshed + every - mono_now();
	return due < 0 ? 0 : (int)due;
}

int
mdlock_check(struct mdlock *l, int touch)
{
	struct stat st;
	int fd;

	if (!l->held)
		return -1;
	/* open(), not stat(): over NFS the name is looked up again and
	 * the attributes are the server's */
	fd = openat(l->dirfd, MDLOCK_FILE, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1 && errno != ENOENT && errno != ESTALE &&
	    errno != ELOOP) {
		log_warn("%s: check", MDLOCK_FILE);	/* not lost: kept */
		return 0;
	}
	if (fd == -1 || fstat(fd, &st) == -1 || st.st_dev != l->dev ||
	    st.st_ino != l->ino) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	if (touch) {
		if (futimens(l->fd, NULL) == -1)
			log_warn("%s: refresh", MDLOCK_FILE);
		l->refreshed = mono_now();
	}
	return 0;
}

void
mdlock_release(struct mdlock *l)
{
	if (!l->held)
		return;
	if (mdlock_check(l, 0) == 0)
		(void)unlinkat(l->dirfd, MDLOCK_FILE, 0);
	close(l->fd);
	l->fd = -1;
	l->held = 0;
}
