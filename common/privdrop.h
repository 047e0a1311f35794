/*
 * Dropping privilege for good (style guide section 6).
 */
#ifndef PRIVPOP_PRIVDROP_H
#define PRIVPOP_PRIVDROP_H

#include <sys/types.h>

#include <stddef.h>

/* Whether this process runs as root (full privilege separation). */
int	priv_is_root(void);

/* Not dumpable first; chroot(dir) (if dir is not NULL, after
 * priv_open_empty_dir(), through its descriptor) and chdir("/"); then
 * setgroups to just gid (and extra, unless it is PRIV_NO_GROUP),
 * setresgid, setresuid; then verify that neither uid 0 nor gid 0 can
 * be regained.  Dies on any failure.  Call only as root, and never
 * exec afterwards: an exec with uid == euid and gid == egid makes a
 * process dumpable, so ptrace-able by that uid, again. */
#define PRIV_NO_GROUP	((gid_t)-1)
void	priv_drop(uid_t uid, gid_t gid, gid_t extra, const char *chroot_dir);

/* Resource limits and process flags for a child that handles untrusted
 * data: no core files, at most nofile descriptors, no new processes when
 * nofork is set, PR_SET_NO_NEW_PRIVS and not dumpable. */
void	priv_limit(int nofile, int nofork);

/* Open dir, which must be an empty directory (not a symlink to one)
 * owned by root and writable by no one else, creating it (mode 0755)
 * when it does not exist: its descriptor, or -1 with what is wrong in
 * err.  priv_check_empty_dir() only checks. */
int	priv_open_empty_dir(const char *dir, char *err, size_t errlen);
int	priv_check_empty_dir(const char *dir, char *err, size_t errlen);

/* The environment of an exec'd helper: PATH and the sanitizer settings,
 * nothing else of ours (no LD_PRELOAD: the e2e tests that need cwrap's
 * wrappers point auth_helper and store_helper at scripts that set them,
 * tests/e2e/auth_util.py wrap_helpers).  envp must hold PRIV_ENV_MAX
 * entries; the strings live in static storage. */
#define PRIV_ENV_MAX	16
void	priv_child_env(char **envp, const char *path);

#endif
