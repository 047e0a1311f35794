/*
 * A user name to its mailbox: backend lookup, location, index
 * directory and the dotlock group (auth_mailbox.h).  Shared by
 * privpop-auth's login and privpop-uidl's USER, so both open the same
 * mailbox as the same owner.  It reads the passwd-file and the passwd
 * database (root's files) and stats the spool directory (root's); it
 * never looks into an owner's directories (mail_location = auto is
 * decided by the owner's process, mail_auto.h).
 *
 * Runs as: root (privpop-auth; privpop-uidl up to its drop).
 */
#include "config.h"

#include <sys/stat.h>

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "auth_mailbox.h"
#include "log.h"
#include "privdrop.h"

int
auth_system_entry(const char *name, struct pwf_entry *e)
{
	struct passwd *pw = getpwnam(name);

	memset(e, 0, sizeof(*e));
	if (pw == NULL || snprintf(e->user, sizeof(e->user), "%s", name) >=
	    (int)sizeof(e->user) || snprintf(e->home, sizeof(e->home), "%s",
	    pw->pw_dir) >= (int)sizeof(e->home))
		return -1;
	e->uid = pw->pw_uid;
	e->gid = pw->pw_gid;
	e->scheme = PWF_LOCKED;	/* no stored secret here */
	return 0;
}

enum auth_found
auth_lookup(const struct conf *conf, const char *user, struct pwf_entry *e,
    char *dummy)
{
	int i;

	dummy[0] = '\0';
	if (!pwf_valid_user(user, strlen(user)))
		return F_NONE;
	for (i = 0; i < conf->nbackends; i++) {
		if (conf->backends[i] == AUTH_BACKEND_PASSWD_FILE) {
			int r = pwf_lookup(conf->passwd_file, user, e, dummy);

			if (r == 1)
				return F_PASSWD_FILE;
		} else if (conf->backends[i] == AUTH_BACKEND_PAM &&
		    auth_system_entry(user, e) == 0)
			return F_PAM;
	}
	return F_NONE;
}

int
auth_mail_location(const struct conf *conf, const struct pwf_entry *e,
    enum auth_found via, char *out, size_t outlen)
{
	const char *deflt = via == F_PAM ? conf->system_mail_location :
	    conf->mail_location;

	return pwf_mail_location(e, deflt, out, outlen);
}

void
auth_index_dir(const struct conf *conf, const struct pwf_entry *e,
    char *out, size_t outlen)
{
	if (conf->mbox_index_dir[0] == '\0' || pwf_expand_path(e,
	    conf->mbox_index_dir, out, outlen) == -1)
		out[0] = '\0';	/* beside the mbox */
}

/* (Dovecot: mail_privileged_group.)  Never for a Maildir or an mbox in
 * the owner's own directory (~/mbox); for auto, as for the spool. */
gid_t
auth_privileged_group(const struct conf *conf, const char *location,
    uid_t uid)
{
	char dir[MAIL_MAX_PATH];
	struct group *gr;
	struct stat st;
	char *slash;

	/* auto: the group goes with the spool the worker may fall back
	 * to; it is its dotlock child's, not the worker's (issue 15) */
	if (strncmp(location, MAIL_AUTO_PREFIX,
	    sizeof(MAIL_AUTO_PREFIX) - 1) == 0)
		location = "mbox:" MAIL_SPOOL_DIR "/-";
	if (strncmp(location, "mbox:", 5) != 0 ||
	    conf->mail_privileged_group[0] == '\0')
		return PRIV_NO_GROUP;
	if ((gr = getgrnam(conf->mail_privileged_group)) == NULL) {
		log_warnx("mail_privileged_group %s does not exist",
		    conf->mail_privileged_group);
		return PRIV_NO_GROUP;
	}
	if (gr->gr_gid == 0) {
		log_warnx("mail_privileged_group %s is gid 0; not used",
		    conf->mail_privileged_group);
		return PRIV_NO_GROUP;
	}
	if (snprintf(dir, sizeof(dir), "%s", location + 5) >=
	    (int)sizeof(dir) || (slash = strrchr(dir, '/')) == NULL)
		return PRIV_NO_GROUP;
	*(slash == dir ? slash + 1 : slash) = '\0';
	if (stat(dir, &st) == -1 || st.st_gid != gr->gr_gid ||
	    !(st.st_mode & S_IWGRP) ||
	    (st.st_uid == uid && (st.st_mode & S_IWUSR)))
		return PRIV_NO_GROUP;
	return gr->gr_gid;
}
