#ifndef PRIVPOP_FSUTIL_H
#define PRIVPOP_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p: create the absolute path and its missing parents with mode
 * (existing ones are left as they are).  0, or -1 with errno. */
int	fs_mkdirs(const char *path, mode_t mode);

/* Up to size bytes of fd from offset 0 (fewer if it ends or fails
 * first), into a malloc'd buffer with room for one more byte: the
 * buffer, with the bytes read in *len_r, or NULL. */
char	*fs_read_fd(int fd, size_t size, size_t *len_r);

/* Read the regular file name in dirfd (not through a symlink, not
 * blocking on a FIFO), of 1 to max bytes, into a malloc'd buffer: the
 * buffer, with the bytes read in *len_r, or NULL. */
char	*fs_read_file(int dirfd, const char *name, size_t max, size_t *len_r);

/* Replace name in dirfd with len bytes of data, atomically: written to
 * "<name>.<pid>" (a file left there by a crash is removed, not reused:
 * its mode or owner would carry over), mode 0600, then renamed over
 * name.  Symlinks are not followed.  0, or -1 with the temporary file
 * removed. */
int	fs_replace_file(int dirfd, const char *name, const void *data,
	    size_t len);

/* A memfd named name holding len bytes of data, sealed against any
 * change (write, grow, shrink, new seals): its descriptor (close-on-
 * exec), or -1. */
int	fs_sealed_memfd(const char *name, const void *data, size_t len);

#endif
