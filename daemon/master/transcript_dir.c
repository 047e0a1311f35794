/*
 * The transcript files of transcript_dir; see transcript_dir.h.  The
 * master opens the directory once (at start, at a reload that changes
 * it) and makes each file with O_EXCL and O_NOFOLLOW through that
 * descriptor, so nothing planted is followed or reused.
 *
 * Runs as: root (the master).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "transcript_dir.h"

static int dirfd_ = -1;
static char dirpath[CONF_PATH_MAX];

void
trdir_open(const struct conf *c)
{
	struct stat st;
	int fd;

	/* opened and checked anew each time: a reload sees a chmod */
	trdir_close_inherited();
	dirpath[0] = '\0';
	if (c->transcript_dir[0] == '\0')
		return;
	if ((fd = fs_open_dir(c->transcript_dir, 0, 0)) == -1) {
		log_warn("transcript_dir %s (transcripts go to syslog)",
		    c->transcript_dir);
		return;
	}
	/* the session's words land here: root's, no one else writing */
	if (fstat(fd, &st) == -1 || st.st_uid != geteuid() ||
	    (st.st_mode & 022) != 0) {
		log_warnx("transcript_dir %s: not %s's, or others can write to "
		    "it (chown root and chmod 0700 it); transcripts go to "
		    "syslog", c->transcript_dir, geteuid() == 0 ? "root" :
		    "this user");
		close(fd);
		return;
	}
	dirfd_ = fd;
	snprintf(dirpath, sizeof(dirpath), "%s", c->transcript_dir);
}

void
trdir_close_inherited(void)
{
	if (dirfd_ != -1)
		close(dirfd_);
	dirfd_ = -1;
}

int
trdir_create(pid_t pid, char *name, size_t len)
{
	struct tm tm;
	time_t now = time(NULL);
	int fd;

	name[0] = '\0';
	if (dirfd_ == -1)
		return -1;
	gmtime_r(&now, &tm);
	/* a slot's pid is one session's: unique with the second */
	if (snprintf(name, len, "%04d%02d%02d-%02d%02d%02d-%ld.log",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long)pid) >= (int)len)
		return -1;
	if ((fd = openat(dirfd_, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC | O_APPEND, 0600)) == -1) {
		log_warn("transcript_dir %s: %s", dirpath, name);
		name[0] = '\0';
	}
	return fd;
}

void
trdir_reaped(const char *name)
{
	struct stat st;

	if (dirfd_ == -1 || name[0] == '\0')
		return;
	if (fstatat(dirfd_, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && st.st_size == 0)
		(void)unlinkat(dirfd_, name, 0);
}
