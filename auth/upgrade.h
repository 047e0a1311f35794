/*
 * Transparent hash upgrade: after a successful login against a weak or
 * outdated crypt(3) hash (DES, MD5-crypt, SHA-256/512-crypt with fewer
 * than passwd_upgrade_rounds rounds), privpop-auth rewrites that user's
 * passwd-file entry with a hash of the configured scheme.  Atomic: a new
 * file beside the old one, fsync, rename; every other byte is kept.
 */
#ifndef PRIVPOP_UPGRADE_H
#define PRIVPOP_UPGRADE_H

/* Whether hash is weak by the rules above. */
int	upgrade_is_weak(const char *hash, int min_rounds);
/* Replace user's hash (still old_hash) in path with one of pass in
 * scheme ("yescrypt", "bcrypt", "sha512").  0, or -1 (logged). */
int	upgrade_entry(const char *path, const char *user, const char *old_hash,
	    const char *pass, const char *scheme);
/* The crypt_gensalt prefix of a scheme name, or NULL. */
const char *upgrade_prefix(const char *scheme);

#endif
