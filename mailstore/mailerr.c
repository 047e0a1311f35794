/*
 * Runs in privpop-store as the mailbox owner (never root): looks at the
 * path only to say what is wrong with it.
 *
 * Runs as: mailbox owner (privpop-store).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mailerr.h"

enum mail_err
mail_err_class(int err)
{
	switch (err) {
	case EINTR:
	case EAGAIN:
	case ENOMEM:
	case ENOBUFS:
	case EMFILE:
	case ENFILE:
	case EIO:
	case ENOSPC:
	case EDQUOT:
	case ENOLCK:
	case ESTALE:
		return MAIL_TEMP;
	default:
		return MAIL_PERM;
	}
}

/* The deepest existing directory above or at path: into dir, and its
 * stat into st.  The component below it, if any, into missing. */
static int
deepest(const char *path, char *dir, size_t len, char *missing,
    size_t mlen, struct stat *st)
{
	char *slash;

	missing[0] = '\0';
	if (snprintf(dir, len, "%s", path) >= (int)len)
		return -1;
	while (stat(dir, st) == -1) {
		if (errno != ENOENT && errno != ENOTDIR)
			return -1;
		snprintf(missing, mlen, "%s", dir);
		if ((slash = strrchr(dir, '/')) == NULL)
			return -1;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	return 0;
}

enum mail_err
mail_os_error(const char *kind, const char *path, int err)
{
	char dir[MAIL_MAX_PATH], missing[MAIL_MAX_PATH];
	struct stat st;
	unsigned uid = (unsigned)getuid(), gid = (unsigned)getgid();
	enum mail_err e = mail_err_class(err);

	if (e == MAIL_TEMP) {
		log_warnx("%s %s: %s (temporary: the client is told to try "
		    "again)", kind, path, strerror(err));
		return e;
	}
	if (deepest(path, dir, sizeof(dir), missing, sizeof(missing),
	    &st) == -1) {
		log_warnx("%s %s: %s", kind, path, strerror(err));
		return e;
	}
	if (missing[0] != '\0' && S_ISDIR(st.st_mode))
		log_warnx("%s %s: %s does not exist, and uid %u cannot create "
		    "it in %s (owner uid %u, mode %03o): create it with "
		    "install -d -o %u -g %u -m 700 %s", kind, path, missing,
		    uid, dir, (unsigned)st.st_uid,
		    (unsigned)(st.st_mode & 07777), uid, gid, missing);
	else if (missing[0] != '\0')
		log_warnx("%s %s: %s is not a directory: fix the home or "
		    "mail location of this user", kind, path, dir);
	else if (st.st_uid != uid)
		log_warnx("%s %s is owned by uid %u, not by the mailbox owner "
		    "(uid %u): chown -R %u:%u %s", kind, path,
		    (unsigned)st.st_uid, uid, uid, gid, path);
	else
		log_warnx("%s %s: %s: everything in it must belong to the "
		    "mailbox owner (uid %u): chown -R %u:%u %s", kind, path,
		    strerror(err), uid, uid, gid, path);
	return e;
}
