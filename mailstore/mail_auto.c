/*
 * mail_location = auto, decided by the mailbox owner (mail_auto.h).
 * The answer changes only which of the owner's own mailboxes is
 * served; it is not told to anyone else.
 *
 * Runs as: the mailbox owner (privpop-store's worker; privpop-uidl
 * after its drop).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "mail_auto.h"

int
mail_auto_resolve(const char *loc, const char *user, char *out,
    size_t outlen)
{
	const size_t pfx = sizeof(MAIL_AUTO_PREFIX) - 1;
	const char *path;
	int fd, n;

	if (strncmp(loc, MAIL_AUTO_PREFIX, pfx) != 0 || loc[pfx] != '/')
		return -1;
	path = loc + pfx;
	if ((fd = fs_open_dir(path, 0, 0)) != -1) {
		close(fd);
		n = snprintf(out, outlen, "maildir:%s", path);
	} else {
		/* the spool file is named after the user: a name that is
		 * not one file name there has none */
		if (user[0] == '\0' || strchr(user, '/') != NULL ||
		    strcmp(user, ".") == 0 || strcmp(user, "..") == 0)
			return -1;
		n = snprintf(out, outlen, "mbox:" MAIL_SPOOL_DIR "/%s", user);
	}
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
