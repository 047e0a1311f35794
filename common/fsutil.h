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

/* Read the regular file name in dirfd (as fs_openat with FS_ONE_LINK),
 * of 1 to max bytes, into a malloc'd buffer: the buffer, with the bytes
 * read in *len_r, or NULL. */
char	*fs_read_file(int dirfd, const char *name, size_t max, size_t *len_r);

/* For files in a mailbox, whose owner may plant anything there.
 * fs_check_fd: fd is a regular file of this process's euid and, with
 * FS_ONE_LINK, has one link (a hard link to another user's file fails
 * it); else logs why (naming name) and fails with EPERM.
 * fs_openat: openat name in dirfd with O_NOFOLLOW (a symlink is logged
 * and fails with ELOOP), O_NONBLOCK (a FIFO does not block; the flag
 * stays, regular files ignore it), O_CLOEXEC, then fs_check_fd.  An
 * O_CREAT here opens an existing file unchanged (no O_TRUNC) for the
 * check to see.  fd, or -1 with errno. */
#define FS_ONE_LINK	0x1
int	fs_check_fd(int fd, const char *name, int how);
int	fs_openat(int dirfd, const char *name, int flags, mode_t mode,
	    int how);

/* A new file "<prefix>.tmp.<16 random hex>" in dirfd (O_EXCL, mode
 * 0600, read-write), its name in name_r, to be written and renamed
 * where a fixed name is needed: no planted file is ever opened.  fd, or
 * -1. */
int	fs_create_tmp(int dirfd, const char *prefix, char *name_r,
	    size_t namesz);

/* A directory descriptor of the absolute path (with create, missing
 * components are made with mode), reached one component at a time: a
 * symlink is followed only when root owns it and the directory it is
 * in (an administrator's), else it is logged and refused (ELOOP).
 * "..": EINVAL.  fd, or -1 with errno. */
int	fs_open_dir(const char *path, int create, mode_t mode);

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
