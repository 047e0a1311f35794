#ifndef PRIVPOP_FSUTIL_H
#define PRIVPOP_FSUTIL_H

#include <sys/types.h>

/* mkdir -p: create the absolute path and its missing parents with mode
 * (existing ones are left as they are).  0, or -1 with errno. */
int	fs_mkdirs(const char *path, mode_t mode);

#endif
