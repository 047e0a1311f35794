/*
 * Runs as root: priv_drop() and priv_open_empty_dir() are called by
 * root processes right before they give up privilege.
 *
 * Runs as: root, up to the drop.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "privdrop.h"
#include "limits.h"

int
priv_is_root(void)
{
	return geteuid() == 0;
}

void
priv_drop(uid_t uid, gid_t gid, gid_t extra, const char *chroot_dir)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	gid_t groups[2] = { gid, extra };

	if (uid == 0)
		fatalx("refusing to drop privilege to uid 0");
	/* Never attachable by the uid we become: from here on this process
	 * holds what that uid lacks (a group, open files), and only an
	 * exec could make it dumpable again, which nothing does after a
	 * drop (ptrace(2), "dumpable"). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("prctl dumpable");
	if (chroot_dir != NULL) {
		char err[128];
		int fd;

		/* checked and entered through one descriptor: no path
		 * lookup between the check and the chroot */
		if ((fd = priv_open_empty_dir(chroot_dir, err,
		    sizeof(err))) == -1)
			fatalx("chroot %s: %s", chroot_dir, err);
		if (fchdir(fd) == -1 || chroot(".") == -1)
			fatal("chroot %s", chroot_dir);
		close(fd);
		if (chdir("/") == -1)
			fatal("chdir /");
	}
	if (extra == 0)
		fatalx("refusing gid 0 as a supplementary group");
	if (setgroups(extra == PRIV_NO_GROUP || extra == gid ? 1 : 2,
	    groups) == -1)
		fatal("setgroups");
	if (setresgid(gid, gid, gid) == -1)
		fatal("setresgid %u", (unsigned)gid);
	if (setresuid(uid, uid, uid) == -1)
		fatal("setresuid %u", (unsigned)uid);

	/* Check the drop stuck (OpenSSH permanently_set_uid). */
	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1)
		fatal("getres[ug]id");
	if (ru != uid || eu != uid || su != uid ||
	    rg != gid || eg != gid || sg != gid)
		fatalx("privilege drop did not stick");
	if (gid != 0 && (setgid(0) != -1 || setegid(0) != -1))
		fatalx("gid 0 could be regained");
	if (setuid(0) != -1 || seteuid(0) != -1)
		fatalx("uid 0 could be regained");
}

void
priv_limit(int nofile, int nofork)
{
	struct rlimit rl;

	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("setrlimit core");
	if (nofile > 0) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)nofile;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			fatal("setrlimit nofile");
	}
	if (nofork) {
		rl.rlim_cur = rl.rlim_max = 0;
		if (setrlimit(RLIMIT_NPROC, &rl) == -1)
			fatal("setrlimit nproc");
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl no_new_privs");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("prctl dumpable");
}

void
priv_child_env(char **envp, const char *path)
{
	static const char *const keep[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS",
	    "LSAN_OPTIONS",
#ifdef PRIVPOP_TEST_HOOKS
	    "PRIVPOP_TEST_FORBIDDEN_SYSCALL",	/* common/sandbox.c */
#endif
	};
	static char kv[PRIV_ENV_MAX][PRIV_ENV_LEN], pathkv[PRIV_PATH_LEN];
	size_t i, n = 0, k = 0;

	snprintf(pathkv, sizeof(pathkv), "PATH=%s", path);
	envp[n++] = pathkv;
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		const char *v = getenv(keep[i]);

		if (v != NULL && snprintf(kv[k], sizeof(kv[k]), "%s=%s",
		    keep[i], v) < (int)sizeof(kv[k]))
			envp[n++] = kv[k++];
	}
	envp[n] = NULL;
}

int
priv_open_empty_dir(const char *dir, char *err, size_t errlen)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	char buf[4096];
	struct dirent64 *de;
	struct stat st;
	ssize_t n, off;
	int fd;

	if ((fd = open(dir, flags)) == -1 && errno == ENOENT &&
	    fs_mkdirs(dir, 0755) == 0)
		fd = open(dir, flags);
	if (fd == -1) {
		int e = errno;

		/* O_NOFOLLOW | O_DIRECTORY fails a symlink with ENOTDIR */
		if ((e == ELOOP || e == ENOTDIR) && lstat(dir, &st) == 0 &&
		    S_ISLNK(st.st_mode))
			snprintf(err, errlen, "is a symbolic link");
		else
			snprintf(err, errlen, "cannot be opened: %s",
			    strerror(e));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "cannot be read: %s", strerror(errno));
		goto fail;
	}
	if (st.st_uid != 0) {
		snprintf(err, errlen, "is owned by uid %u, not root",
		    (unsigned)st.st_uid);
		goto fail;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(err, errlen, "is writable by group or others");
		goto fail;
	}
	/* empty: a session child that escapes its protocol finds nothing
	 * to open, link or execute there */
	while ((n = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n; off += de->d_reclen) {
			de = (struct dirent64 *)(void *)(buf + off);
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0) {
				snprintf(err, errlen, "is not empty (it holds "
				    "\"%.64s\")", de->d_name);
				goto fail;
			}
		}
	}
	if (n == -1) {
		snprintf(err, errlen, "cannot be read: %s", strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int
priv_check_empty_dir(const char *dir, char *err, size_t errlen)
{
	int fd;

	if ((fd = priv_open_empty_dir(dir, err, errlen)) == -1)
		return -1;
	close(fd);
	return 0;
}
