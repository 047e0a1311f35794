#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>

#include "fsutil.h"
#include "limits.h"

int
fs_mkdirs(const char *path, mode_t mode)
{
	char p[MAIL_MAX_PATH];
	char *s;

	if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p) ||
	    p[0] != '/') {
		errno = EINVAL;
		return -1;
	}
	for (s = p + 1; ; s++) {
		char c;

		if (*s != '/' && *s != '\0')
			continue;
		c = *s;
		*s = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST)
			return -1;
		*s = c;
		if (c == '\0')
			return 0;
	}
}
