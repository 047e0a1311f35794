/*
 * An index of the passwd-file, so that a login looks its user up in
 * constant time instead of reading and parsing every line of the file.
 *
 * The auth fork server (privpop-auth -Z) builds it: the file's bytes and
 * a hash table of line offsets, each in a memfd sealed against writes
 * and mapped read-only and shared.  Every helper it forks inherits both
 * mappings; being shared, they are not copied at fork, and a lookup
 * touches a few of their pages.  The fork server refreshes it before each fork, which
 * costs one stat() while the file is unchanged.
 *
 * A helper uses it only while stat() of the file still gives the stamp
 * (device, inode, size, mtime, ctime) taken before it was read; any
 * other answer, or no index at all (inetd mode, a file over
 * PWF_INDEX_MAX_BYTES), means the caller reads the whole file as before.
 * Lines are accepted exactly as the full read accepts them (one rule,
 * pwf_parse_line); where a user name appears twice, the first wins.
 */
#ifndef PRIVPOP_PASSWD_INDEX_H
#define PRIVPOP_PASSWD_INDEX_H

#include "passwd_file.h"

/* Larger files are not indexed (each login reads them whole). */
#define PWF_INDEX_MAX_BYTES	(256UL * 1024 * 1024)
/* A file changed less than this long ago is not indexed yet: a second
 * write in the same timestamp tick would not change its stamp. */
#define PWF_INDEX_SETTLE_SECS	2
/* PWF_INDEX_SETTLE_SECS, which the unit tests set to 0. */
extern int pwf_index_settle_secs;

/* Build the index of path if there is none or the file changed since. */
void	pwf_index_refresh(const char *path);

/* 1 found (*out filled), 0 not found, -1 no index for the file as it is
 * now: the caller reads the file.  dummy_r (size CONFIG_MAX_LINE) gets
 * the hash of the first crypt entry, as pwf_lookup gives it. */
int	pwf_index_lookup(const char *path, const char *user,
	    struct pwf_entry *out, char *dummy_r);

/* The PWF_CAN_* flags of the indexed file, or -1 when the index is not
 * of the file with this stamp. */
int	pwf_index_caps(const struct pwf_stamp *);

/* Forget the index and unmap it. */
void	pwf_index_drop(void);

#endif
