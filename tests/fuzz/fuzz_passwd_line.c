/* One passwd-file line: pwf_parse_line and, for an entry,
 * pwf_mail_location with a fixed default. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "passwd_file.h"

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

static struct pwf_entry e;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const deflt[2] = { "maildir:~/Maildir",
	    "maildir:/var/mail/%d/%n" };
	char out[MAIL_MAX_PATH];
	char *line;
	int r, i;

	/* exact-size heap copy, not NUL-terminated: the parser gets a
	 * length and must not read past it */
	line = malloc(size ? size : 1);
	if (line == NULL)
		return 0;
	memcpy(line, data, size);
	r = pwf_parse_line(line, size, &e);
	CHECK(r >= -1 && r <= 1);
	if (r == 1) {
		CHECK(pwf_valid_user(e.user, strlen(e.user)));
		CHECK(e.home[0] == '/');
		CHECK(strlen(e.secret) < sizeof(e.secret));
		CHECK(strlen(e.mail) < sizeof(e.mail));
		for (i = 0; i < 2; i++) {
			memset(out, 'X', sizeof(out));
			if (pwf_mail_location(&e, deflt[i], out,
			    sizeof(out)) == 0) {
				CHECK(memchr(out, '\0', sizeof(out)) != NULL);
				/* a scheme and an absolute path with no
				 * ".." component, also not at the end;
				 * auto: where ~/Maildir would be (the
				 * worker decides, mail_auto.h) */
				CHECK(strncmp(out, "maildir:/", 9) == 0 ||
				    strncmp(out, "mbox:/", 6) == 0 ||
				    (strncmp(out, MAIL_AUTO_PREFIX "/",
				    sizeof(MAIL_AUTO_PREFIX)) == 0 &&
				    strlen(out) > 8 && strcmp(out +
				    strlen(out) - 8, "/Maildir") == 0));
				CHECK(strstr(out, "/../") == NULL);
				CHECK(strlen(out) < 3 ||
				    strcmp(out + strlen(out) - 3, "/..") != 0);
			}
			/* a small output buffer must fail cleanly */
			memset(out, 'X', sizeof(out));
			if (pwf_mail_location(&e, deflt[i], out, 16) == 0)
				CHECK(strlen(out) < 16);
			CHECK(out[16] == 'X');
		}
	}
	free(line);
	return 0;
}
