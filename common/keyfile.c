/*
 * Runs as root in privpopd's key-checking child and in privpop-auth:
 * reads a key file only to say why it did not load.
 *
 * Runs as: root (privpopd's key-checking child, privpop-auth).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "keyfile.h"

/* Enough for any PEM key's header and more. */
#define KEYFILE_PEEK	8192

int
keyfile_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

#define KEY_FORMS	"privpop reads PEM keys: PKCS#8 (BEGIN PRIVATE " \
			"KEY), RSA (BEGIN RSA PRIVATE KEY) or EC (BEGIN EC " \
			"PRIVATE KEY)"

void
keyfile_explain(const char *path, char *why, size_t whylen)
{
	char b[KEYFILE_PEEK + 1];
	const char *begin;
	ssize_t n;
	int fd;

	why[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		snprintf(why, whylen, "key %s: %s", path, strerror(errno));
		return;
	}
	n = read(fd, b, KEYFILE_PEEK);
	close(fd);
	if (n < 0) {
		snprintf(why, whylen, "key %s: %s", path, strerror(errno));
		return;
	}
	b[n] = '\0';
	/* text functions stop at a NUL: DER has them early */
	if ((begin = strstr(b, "-----BEGIN ")) == NULL)
		snprintf(why, whylen, "key %s is not PEM (DER, or not a key "
		    "at all?): %s; convert a DER key with openssl pkey "
		    "-inform DER -in %s -out %s.pem", path, KEY_FORMS, path,
		    path);
	else if (strstr(b, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL ||
	    strstr(b, "Proc-Type: 4,ENCRYPTED") != NULL)
		snprintf(why, whylen, "key %s is encrypted; privpop cannot "
		    "prompt for a pass phrase: decrypt it with openssl pkey "
		    "-in %s -out %s.new (keep it mode 600) and point tls_key "
		    "at that", path, path, path);
	else if (strstr(b, "PRIVATE KEY-----") == NULL)
		snprintf(why, whylen, "key %s holds no private key (it has "
		    "\"%.*s\"): point tls_key at the key file; %s", path,
		    (int)(strcspn(begin, "\r\n") > 40 ? 40 :
		    strcspn(begin, "\r\n")), begin, KEY_FORMS);
	explicit_bzero(b, sizeof(b));
}
