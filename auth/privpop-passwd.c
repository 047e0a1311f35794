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
#include "scram.h"

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

int
main(int argc, char *argv[])
{
	const char *scheme = "yescrypt", *prefix;
	char pw[POP3_MAX_PASS + 2];
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
	if (!pwf_valid_user(argv[0], strlen(argv[0]))) {
		fprintf(stderr, "privpop-passwd: invalid user name\n");
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
	if (strcmp(scheme, "scram-sha-256") == 0) {
		unsigned char salt[SCRAM_SALT_LEN];
		struct scram_keys k;
		char stored[256];

		if (RAND_bytes(salt, sizeof(salt)) != 1 ||
		    scram_derive(pw, salt, sizeof(salt), SCRAM_ITERATIONS,
		    &k) == -1 ||
		    scram_format_stored(&k, stored, sizeof(stored)) == -1) {
			fprintf(stderr, "privpop-passwd: SCRAM failed\n");
			return 1;
		}
		explicit_bzero(pw, sizeof(pw));
		printf("%s:{SCRAM-SHA-256}%s:%s:%s::%s:%s\n", argv[0], stored,
		    argv[1], argv[2], argv[3], argc == 5 ? argv[4] : "");
		return 0;
	}
	if (prefix == NULL) {
		if (strchr(pw, ':') != NULL) {
			fprintf(stderr, "privpop-passwd: a plain secret cannot "
			    "hold ':'\n");
			return 1;
		}
		printf("%s:{PLAIN}%s:%s:%s::%s:%s\n", argv[0], pw, argv[1],
		    argv[2], argv[3], argc == 5 ? argv[4] : "");
		explicit_bzero(pw, sizeof(pw));
		return 0;
	}
	if (crypt_gensalt_rn(prefix, 0, NULL, 0, setting,
	    sizeof(setting)) == NULL) {
		perror("privpop-passwd: crypt_gensalt");
		return 1;
	}
	hash = crypt_rn(pw, setting, &cd, sizeof(cd));
	explicit_bzero(pw, sizeof(pw));
	if (hash == NULL || hash[0] == '*') {
		fprintf(stderr, "privpop-passwd: crypt failed\n");
		return 1;
	}
	printf("%s:%s:%s:%s::%s:%s\n", argv[0], hash, argv[1], argv[2],
	    argv[3], argc == 5 ? argv[4] : "");
	explicit_bzero(&cd, sizeof(cd));
	return 0;
}
