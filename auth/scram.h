/*
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) on the server side, inside
 * privpop-auth.  Stored keys come from the passwd-file:
 *     {SCRAM-SHA-256}<iterations>,<salt>,<StoredKey>,<ServerKey>
 * (base64), as privpop-passwd -s scram-sha-256 prints them; a {PLAIN}
 * secret is turned into keys on the fly.  No channel binding.  The
 * client's messages are parsed by the session child, not here: this
 * side takes their fields and rebuilds the AuthMessage from them.
 */
#ifndef PRIVPOP_SCRAM_H
#define PRIVPOP_SCRAM_H

#include <stddef.h>

#include "passwd_file.h"

#define SCRAM_HASH_LEN		32
#define SCRAM_SALT_LEN		16
#define SCRAM_ITERATIONS	4096	/* RFC 7677's minimum */
#define SCRAM_MSG_MAX		512

struct scram_keys {
	unsigned		iter;
	unsigned char		salt[SCRAM_SALT_LEN];
	size_t			saltlen;
	unsigned char		stored[SCRAM_HASH_LEN];
	unsigned char		server[SCRAM_HASH_LEN];
};

struct scram_state {
	int			step;		/* 0 new, 1 sent first, 2 done */
	char			gs2;		/* 'n' or 'y' */
	struct scram_keys	keys;
	int			valid;		/* a real user with keys */
	char			user[128 + 1];
	char			first_bare[SCRAM_MSG_MAX];
	char			server_first[SCRAM_MSG_MAX];
	char			nonce[SCRAM_MSG_MAX];
};

/* Keys from a password (privpop-passwd, PASS checks, {PLAIN} users). */
int	scram_derive(const char *pass, const unsigned char *salt, size_t slen,
	    unsigned iter, struct scram_keys *);
/* Parse the stored form after "{SCRAM-SHA-256}"; 0 or -1. */
int	scram_parse_stored(const char *, struct scram_keys *);
/* Format the stored form (without the scheme prefix). */
int	scram_format_stored(const struct scram_keys *, char *out, size_t);
/* PASS against stored keys: 1 or 0. */
int	scram_check_password(const struct scram_keys *, const char *pass);

/*
 * The salt of a user without stored SCRAM keys (an unknown user, a
 * {PLAIN} one, whose keys are derived with it): HMAC-SHA256 of the name
 * under the install's secret (authsecret.h), so it is stable across
 * requests and restarts and cannot be computed by a client, as a stored
 * random salt cannot.  The key is set once, at start; without one
 * scram_fake_salt fails.
 */
void	scram_set_salt_key(const unsigned char *key, size_t len);
int	scram_fake_salt(const char *user, unsigned char salt[SCRAM_SALT_LEN]);

/* Step 1: the client-first's fields (parsed by the session child:
 * daemon/session/scram_msg.h) -> server-first.  keys NULL for a user
 * without SCRAM keys (the fake salt is answered, with the iteration
 * count privpop-passwd writes, and step 2 fails). */
int	scram_server_first(struct scram_state *, int gs2_y, const char *user,
	    const char *cnonce, const struct scram_keys *keys, char *out,
	    size_t outlen);
/* Step 2: the client-final's proof (NULL: none, a failure) -> 1 (proof
 * right, server-final in out) or 0.  One call per state. */
int	scram_server_final(struct scram_state *,
	    const unsigned char proof[SCRAM_HASH_LEN], char *out,
	    size_t outlen);

#endif
