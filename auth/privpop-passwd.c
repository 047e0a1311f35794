/*
 * privpop-passwd: print a passwd-file entry for a user, with the
 * password read from standard input (never from the command line).
 *
 *   privpop-passwd [-s scheme] user uid gid home [mail]
 *
 * scheme: yescrypt (default), bcrypt, sha512, sha256, scram-sha-256 (the
 * salted keys SCRAM-SHA-256 needs; PASS and PLAIN work with them too), or
 * plain (stores the secret itself, which enables APOP and CRAM-MD5; only
 * where that is wanted).
 *
 * A user name or password that is not ASCII is stored in its SASLprep
 * form (RFC 4013, as a stored string): the form the session child makes
 * of what a client sends after UTF8 or in SASL (RFC 6856, 4616), and
 * the one RFC 5802 derives SCRAM's keys from.  privpop-auth compares
 * bytes and normalises nothing, so both sides must hold that form.
 *
 * Runs as: the administrator who calls it; not part of the daemon.
 */
#include "config.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "limits.h"
#include "numparse.h"
#include "passwd_file.h"
#include "saslprep.h"
#include "scram.h"
#include "utf8.h"

#include <openssl/rand.h>

static void
usage(void)
{
	fprintf(stderr, "usage: privpop-passwd [-s yescrypt|bcrypt|sha512|"
	    "sha256|scram-sha-256|plain] user uid gid home [mail]\n"
	    "The password is read from standard input.\n");
	exit(2);
}

static int
read_password(char *pw, size_t len)
{
	struct termios t, saved;
	int tty = isatty(0), noecho = 0;
	size_t n;

	if (tty) {
		fprintf(stderr, "Password: ");
		if (tcgetattr(0, &saved) == 0) {
			t = saved;
			t.c_lflag &= ~(tcflag_t)ECHO;
			noecho = tcsetattr(0, TCSAFLUSH, &t) == 0;
		}
	}
	if (fgets(pw, (int)len, stdin) == NULL)
		pw[0] = '\0';
	if (noecho) {
		tcsetattr(0, TCSAFLUSH, &saved);
		fprintf(stderr, "\n");
	}
	n = strlen(pw);
	if (n > 0 && pw[n - 1] == '\n')
		pw[--n] = '\0';
	if (n > 0 && pw[n - 1] == '\r')
		pw[--n] = '\0';
	return n > 0 ? 0 : -1;
}

/*
 * A name or password (in place, cap bytes) to the form the session makes
 * of it: ASCII as it is; UTF-8 SASLprep'd.  0 (unchanged), 2 (SASLprep
 * changed it), 1 for bytes that are not UTF-8 (left as they are), or -1
 * (SASLprep refuses it; said on stderr).
 */
static int
prepare(char *s, size_t cap, const char *what)
{
	char before[POP3_MAX_PASS + 2];
	size_t n = strlen(s);

	if (utf8_is_ascii(s, n))
		return 0;
	if (!utf8_valid(s, n, 0))
		return 1;
	if (n >= sizeof(before))
		return -1;
	memcpy(before, s, n + 1);
	if (saslprep_stored(s, cap) == -1) {
		fprintf(stderr, "privpop-passwd: the %s has a character that "
		    "SASLprep (RFC 4013) prohibits or Unicode does not "
		    "assign, or becomes empty or too long: choose another\n",
		    what);
		explicit_bzero(before, sizeof(before));
		return -1;
	}
	n = strcmp(before, s) != 0 ? 2 : 0;
	explicit_bzero(before, sizeof(before));
	return (int)n;
}

int
main(int argc, char *argv[])
{
	const char *scheme = "yescrypt", *prefix;
	char pw[POP3_MAX_PASS + 2], user[POP3_MAX_USER + 1];
	int user_prep, pw_prep;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	static struct crypt_data cd;
	const char *hash;
	uint64_t v;
	int ch;

	while ((ch = getopt(argc, argv, "s:")) != -1) {
		if (ch != 's')
			usage();
		scheme = optarg;
	}
	argc -= optind;
	argv += optind;
	if (argc < 4 || argc > 5)
		usage();
	if (strlen(argv[0]) >= sizeof(user)) {
		fprintf(stderr, "privpop-passwd: user name longer than %d "
		    "bytes\n", POP3_MAX_USER);
		return 1;
	}
	memcpy(user, argv[0], strlen(argv[0]) + 1);
	if ((user_prep = prepare(user, sizeof(user), "user name")) == -1 ||
	    user_prep == 1 || !pwf_valid_user(user, strlen(user))) {
		fprintf(stderr, "privpop-passwd: invalid user name (printable "
		    "ASCII, or UTF-8 without spaces or controls)\n");
		return 1;
	}
	if (parse_uint(argv[1], strlen(argv[1]), 1, UINT32_MAX - 1, &v) ||
	    parse_uint(argv[2], strlen(argv[2]), 1, UINT32_MAX - 1, &v)) {
		fprintf(stderr, "privpop-passwd: uid and gid must be numbers "
		    "above 0\n");
		return 1;
	}
	if (argv[3][0] != '/' || strchr(argv[3], ':') != NULL) {
		fprintf(stderr, "privpop-passwd: home must be an absolute "
		    "path without ':'\n");
		return 1;
	}
	if (strcmp(scheme, "yescrypt") == 0)
		prefix = "$y$";
	else if (strcmp(scheme, "bcrypt") == 0)
		prefix = "$2b$";
	else if (strcmp(scheme, "sha512") == 0)
		prefix = "$6$";
	else if (strcmp(scheme, "sha256") == 0)
		prefix = "$5$";
	else if (strcmp(scheme, "plain") == 0 ||
	    strcmp(scheme, "scram-sha-256") == 0)
		prefix = NULL;
	else
		usage();

	if (read_password(pw, sizeof(pw)) == -1 ||
	    strlen(pw) > POP3_MAX_PASS) {
		fprintf(stderr, "privpop-passwd: no password, or longer than "
		    "%d characters\n", POP3_MAX_PASS);
		return 1;
	}
	switch ((pw_prep = prepare(pw, sizeof(pw), "password"))) {
	case -1:
		explicit_bzero(pw, sizeof(pw));
		return 1;
	case 1:
		/* 8-bit bytes of an older system: only PASS before UTF8
		 * sends them as they are; SCRAM's keys need UTF-8 */
		if (strcmp(scheme, "scram-sha-256") == 0) {
			fprintf(stderr, "privpop-passwd: SCRAM-SHA-256 needs "
			    "a UTF-8 password (RFC 5802)\n");
			explicit_bzero(pw, sizeof(pw));
			return 1;
		}
		fprintf(stderr, "privpop-passwd: the password is not UTF-8: "
		    "stored as its bytes, which only PASS before UTF8 can "
		    "send\n");
		break;
	}
	/* SASLprep may lengthen it (NFKC): a longer one no session takes */
	if (strlen(pw) > POP3_MAX_PASS) {
		fprintf(stderr, "privpop-passwd: the password's SASLprep form "
		    "is longer than %d bytes\n", POP3_MAX_PASS);
		explicit_bzero(pw, sizeof(pw));
		return 1;
	}
	if (user_prep == 2)
		fprintf(stderr, "privpop-passwd: the user name is stored in "
		    "its SASLprep form (RFC 4013), %s, which is what clients "
		    "send after UTF8 and in SASL\n", user);
	if (pw_prep == 2)
		fprintf(stderr, "privpop-passwd: the password is stored in "
		    "its SASLprep form (RFC 4013), which is what clients send "
		    "after UTF8 and in SASL; a client that sends it with PASS "
		    "before UTF8, or uses APOP or CRAM-MD5 (which prepare "
		    "nothing), must be given that form\n");
	if (strcmp(scheme, "scram-sha-256") == 0) {
		unsigned char salt[SCRAM_SALT_LEN];
		struct scram_keys k;
		char stored[256];

		if (RAND_bytes(salt, sizeof(salt)) != 1 ||
		    scram_derive(pw, salt, sizeof(salt), SCRAM_ITERATIONS,
		    &k) == -1 ||
		    scram_format_stored(&k, stored, sizeof(stored)) == -1) {
			fprintf(stderr, "privpop-passwd: SCRAM failed\n");
			explicit_bzero(pw, sizeof(pw));
			return 1;
		}
		explicit_bzero(pw, sizeof(pw));
		printf("%s:{SCRAM-SHA-256}%s:%s:%s::%s:%s\n", user, stored,
		    argv[1], argv[2], argv[3], argc == 5 ? argv[4] : "");
		return 0;
	}
	if (prefix == NULL) {
		if (strchr(pw, ':') != NULL) {
			fprintf(stderr, "privpop-passwd: a plain secret cannot "
			    "hold ':'\n");
			explicit_bzero(pw, sizeof(pw));
			return 1;
		}
		printf("%s:{PLAIN}%s:%s:%s::%s:%s\n", user, pw, argv[1],
		    argv[2], argv[3], argc == 5 ? argv[4] : "");
		explicit_bzero(pw, sizeof(pw));
		return 0;
	}
	if (crypt_gensalt_rn(prefix, 0, NULL, 0, setting,
	    sizeof(setting)) == NULL) {
		perror("privpop-passwd: crypt_gensalt");
		explicit_bzero(pw, sizeof(pw));
		return 1;
	}
	hash = crypt_rn(pw, setting, &cd, sizeof(cd));
	explicit_bzero(pw, sizeof(pw));
	if (hash == NULL || hash[0] == '*') {
		fprintf(stderr, "privpop-passwd: crypt failed\n");
		return 1;
	}
	printf("%s:%s:%s:%s::%s:%s\n", user, hash, argv[1], argv[2],
	    argv[3], argc == 5 ? argv[4] : "");
	explicit_bzero(&cd, sizeof(cd));
	return 0;
}
