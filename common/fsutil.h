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

/* The directory holding path, opened for root to create a file in: a
 * directory owned by root, by this process's user or by owner, that no
 * one else can write to (or sticky, so no one can replace what another
 * made there).  The last component of path goes to base.  The
 * directory's descriptor, or -1 with errno (EPERM: not safe). */
int	fs_open_parent(const char *path, uid_t owner, char *base,
	    size_t baselen);

/* A new file "<name>.XXXXXX" (random) in dirfd, made with O_EXCL, so
 * never a file or symlink someone left there, with mode (less the
 * umask): its descriptor (close-on-exec), with its name in tmp, or -1. */
int	fs_mktemp_at(int dirfd, const char *name, mode_t mode, char *tmp,
	    size_t tmplen);

/* A memfd named name holding len bytes of data, sealed against any
 * change (write, grow, shrink, new seals): its descriptor (close-on-
 * exec), or -1. */
int	fs_sealed_memfd(const char *name, const void *data, size_t len);

#endif
