#ifndef PRIVPOP_VERIFY_H
#define PRIVPOP_VERIFY_H

#include "passwd_file.h"

/* Check pass against the entry (crypt(3) or stored secret).  With
 * e == NULL, spends the same work on dummy_hash and fails.  1 or 0. */
int	verify_password(const struct pwf_entry *e, const char *dummy_hash,
	    const char *pass);

/* RFC 1939 APOP: digest is hex MD5(stamp secret).  1 or 0. */
int	verify_apop(const struct pwf_entry *e, const char *stamp,
	    const char *digest);

/* RFC 2195 CRAM-MD5: digest is hex HMAC-MD5(secret, challenge).  1/0. */
int	verify_cram(const struct pwf_entry *e, const char *challenge,
	    const char *digest);

/* Whether a login may become this uid and gid: never uid 0 or a uid
 * below first_valid_uid, nor (when root) gid 0.  1 or 0. */
int	verify_uid_allowed(uid_t uid, gid_t gid, int first_valid_uid,
	    int root);

/* Constant-time comparison of two NUL-terminated strings. */
int	secret_equal(const char *a, const char *b);

#endif
