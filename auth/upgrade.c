/*
 * Runs as root inside privpop-auth: rewrites the root-owned passwd-file.
 *
 * Runs as: root (privpop-auth).
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "limits.h"
#include "log.h"
#include "numparse.h"
#include "upgrade.h"

/* The largest passwd-file rewritten in memory. */
#define UPGRADE_MAX_FILE	(64 * 1024 * 1024)

const char *
upgrade_prefix(const char *scheme)
{
	if (strcmp(scheme, "yescrypt") == 0)
		return "$y$";
	if (strcmp(scheme, "bcrypt") == 0)
		return "$2b$";
	if (strcmp(scheme, "sha512") == 0)
		return "$6$";
	return NULL;
}

int
upgrade_is_weak(const char *h, int min_rounds)
{
	uint64_t rounds = 5000;	/* crypt(3)'s default for $5$ and $6$ */

	if (h[0] != '$')
		return 1;	/* traditional DES */
	if (strncmp(h, "$1$", 3) == 0 || strncmp(h, "$3$", 3) == 0 ||
	    strncmp(h, "$md5", 4) == 0 || strncmp(h, "$sha1$", 6) == 0)
		return 1;
	if (strncmp(h, "$5$", 3) == 0 || strncmp(h, "$6$", 3) == 0) {
		if (strncmp(h + 3, "rounds=", 7) == 0) {
			size_t n = strcspn(h + 10, "$");

			if (parse_uint(h + 10, n, 0, UINT32_MAX, &rounds) == -1)
				return 1;
		}
		return rounds < (uint64_t)min_rounds;
	}
	return 0;
}

static char *
slurp(int fd, size_t *len_r)
{
	struct stat st;
	char *p;
	size_t got = 0;
	ssize_t n;

	if (fstat(fd, &st) == -1 || st.st_size > UPGRADE_MAX_FILE ||
	    (p = malloc((size_t)st.st_size + 1)) == NULL)
		return NULL;
	while (got < (size_t)st.st_size &&
	    (n = read(fd, p + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	p[got] = '\0';
	*len_r = got;
	return p;
}

int
upgrade_entry(const char *path, const char *user, const char *old_hash,
    const char *pass, const char *scheme)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE], tmp[CONFIG_MAX_LINE];
	char base[CONFIG_MAX_LINE];
	static struct crypt_data cd;
	const char *prefix = upgrade_prefix(scheme), *hash;
	char *text = NULL, *line, *end;
	size_t len, ulen = strlen(user), hlen = strlen(old_hash);
	struct stat st;
	int fd = -1, out = -1, r = -1, dirfd = -1, changed = 0, quiet = 0;
	size_t pfx = 0;

	if (prefix == NULL ||
	    crypt_gensalt_rn(prefix, 0, NULL, 0, setting, sizeof(setting)) ==
	    NULL || (hash = crypt_rn(pass, setting, &cd, sizeof(cd))) == NULL ||
	    hash[0] == '*')
		goto done;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    flock(fd, LOCK_EX) == -1 || fstat(fd, &st) == -1 ||
	    (text = slurp(fd, &len)) == NULL)
		goto done;
	/* the entry, still with the hash just verified */
	for (line = text; line < text + len; line = end + 1) {
		if ((end = memchr(line, '\n', (size_t)(text + len - line))) ==
		    NULL)
			end = text + len;
		if ((size_t)(end - line) <= ulen + hlen + 1 ||
		    strncmp(line, user, ulen) != 0 || line[ulen] != ':')
			continue;
		/* the hash may be written {CRYPT}$1$... (kept on rewrite) */
		pfx = strncmp(line + ulen + 1, "{CRYPT}", 7) == 0 ? 7 : 0;
		if ((size_t)(end - line) > ulen + 1 + pfx + hlen &&
		    strncmp(line + ulen + 1 + pfx, old_hash, hlen) == 0 &&
		    line[ulen + 1 + pfx + hlen] == ':')
			break;
	}
	if (line >= text + len) {
		log_info("hash upgrade of %s skipped: entry changed", user);
		quiet = 1;	/* said why; errno has nothing to add */
		goto done;
	}
	/* a new file of a random name beside it, in a directory only
	 * root or the file's owner can write to: nothing someone planted
	 * (a link to another file, a file kept open) is written or
	 * renamed into place */
	if ((dirfd = fs_open_parent(path, st.st_uid, base, sizeof(base))) ==
	    -1) {
		if (errno == EPERM) {
			log_warnx("hash upgrade of %s skipped: others can "
			    "write to the directory of %s", user, path);
			quiet = 1;
		}
		goto done;
	}
	if ((out = fs_mktemp_at(dirfd, base, 0600, tmp, sizeof(tmp))) == -1)
		goto done;
	/* same owner and mode as the file it replaces */
	if (fchown(out, st.st_uid, st.st_gid) == -1 ||
	    fchmod(out, st.st_mode & 07777) == -1)
		goto done;
	{
		size_t before = (size_t)(line - text) + ulen + 1 + pfx;
		size_t after = before + hlen;

		if (write(out, text, before) != (ssize_t)before ||
		    write(out, hash, strlen(hash)) != (ssize_t)strlen(hash) ||
		    write(out, text + after, len - after) !=
		    (ssize_t)(len - after) || fsync(out) == -1)
			goto done;
	}
	if (renameat(dirfd, tmp, dirfd, base) == -1)
		goto done;
	fsync(dirfd);	/* the rename itself on disk */
	log_info("upgraded the password hash of %s to %s", user, scheme);
	r = 0;
	changed = 1;
done:
	if (r == -1 && !quiet)
		log_warn("hash upgrade of %s in %s", user, path);
	if (out != -1) {
		close(out);
		if (!changed)
			unlinkat(dirfd, tmp, 0);
	}
	if (dirfd != -1)
		close(dirfd);
	if (fd != -1)
		close(fd);
	free(text);
	explicit_bzero(&cd, sizeof(cd));
	return r;
}
