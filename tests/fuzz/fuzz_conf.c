/* The configuration file: conf_parse_buf over the input. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

static struct conf c;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	char *text;
	int i, r;

	text = malloc(size ? size : 1);	/* exact size, no NUL */
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	conf_defaults(&c);
	memset(err, 'X', sizeof(err));
	r = conf_parse_buf(&c, text, size, "fuzz.conf", err, sizeof(err));
	CHECK(r == 0 || r == -1);
	if (r == -1)
		CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	else {
		CHECK(c.nlisten >= 1 && c.nlisten <= MAX_LISTENERS);
		for (i = 0; i < c.nlisten; i++) {
			CHECK(c.listen[i].host[0] != '\0');
			CHECK(memchr(c.listen[i].host, '\0',
			    sizeof(c.listen[i].host)) != NULL);
			CHECK(c.listen[i].port[0] >= '1' &&
			    c.listen[i].port[0] <= '9');
		}
		CHECK(c.prefork >= 1 && c.prefork <= c.max_sessions);
		CHECK(c.timeout >= POP3_MIN_TIMEOUT);
		CHECK(c.chroot_dir[0] == '/' && c.passwd_file[0] == '/');
		CHECK(strncmp(c.mail_location, "maildir:", 8) == 0 ||
		    strncmp(c.mail_location, "mbox:", 5) == 0 ||
		    strcmp(c.mail_location, "auto") == 0);
		CHECK(memchr(c.hostname, '\0', sizeof(c.hostname)) != NULL);
	}
	free(text);
	return 0;
}
