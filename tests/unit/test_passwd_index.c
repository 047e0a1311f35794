/*
 * Unit tests for auth/passwd_index.c: the index of the passwd-file must
 * answer exactly as the full read of the file does (return value, every
 * field of the entry, the dummy hash), and only while the file is still
 * the one it was built from.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "limits.h"
#include "log.h"
#include "passwd_file.h"
#include "passwd_index.h"

/* What one lookup gave. */
struct answer {
	int			rc;
	struct pwf_entry	e;
	char			dummy[CONFIG_MAX_LINE];
};

static char tmpdir[64];
static char path[128];		/* tmpdir/passwd, the file under test */

static char *
in_tmp(const char *name)
{
	static char p[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", tmpdir, name);
	return p[i];
}

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/privpop-pwi-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/passwd", tmpdir);
	return 0;
}

static int
teardown_dir(void **state)
{
	static const char *const files[] = { "passwd", "passwd.new", "fifo",
	    "big" };
	size_t i;

	(void)state;
	pwf_index_drop();
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(in_tmp(files[i]));
	rmdir(in_tmp("d"));
	rmdir(in_tmp("dd"));
	return rmdir(tmpdir);
}

/* Every test starts without an index. */
static int
drop_index(void **state)
{
	(void)state;
	pwf_index_drop();
	return 0;
}

/* Write len bytes to p, truncating it (same inode when it exists). */
static void
write_file(const char *p, const void *text, size_t len)
{
	int fd;

	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void
write_str(const char *text)
{
	write_file(path, text, strlen(text));
}

/* ---- comparing the index with the full read ---- */

static void
ask_index(const char *p, const char *user, struct answer *a)
{
	memset(a, 0x5a, sizeof(*a));
	a->rc = pwf_index_lookup(p, user, &a->e, a->dummy);
}

/* Without an index pwf_lookup reads the whole file. */
static void
ask_file(const char *p, const char *user, struct answer *a)
{
	pwf_index_drop();
	memset(a, 0x5a, sizeof(*a));
	a->rc = pwf_lookup(p, user, &a->e, a->dummy);
}

static int
same_str(const char *a, const char *b, size_t size)
{
	return memchr(a, '\0', size) != NULL &&
	    memchr(b, '\0', size) != NULL && strcmp(a, b) == 0;
}

/* Index answer ix against full-read answer fr; NULL if they agree. */
static const char *
differ(const struct answer *ix, const struct answer *fr)
{
	if (ix->rc != fr->rc)
		return "return value";
	if (ix->rc == -1)
		return NULL;
	if (!same_str(ix->dummy, fr->dummy, sizeof(ix->dummy)))
		return "dummy";
	if (ix->rc == 0) {
		/* neither may have written the entry */
		if (memcmp(ix->e.user, fr->e.user, sizeof(ix->e.user)) != 0 ||
		    memcmp(ix->e.secret, fr->e.secret,
		    sizeof(ix->e.secret)) != 0 ||
		    memcmp(ix->e.home, fr->e.home, sizeof(ix->e.home)) != 0 ||
		    memcmp(ix->e.mail, fr->e.mail, sizeof(ix->e.mail)) != 0)
			return "entry written on not found";
		return NULL;
	}
	if (!same_str(ix->e.user, fr->e.user, sizeof(ix->e.user)))
		return "user";
	if (ix->e.scheme != fr->e.scheme)
		return "scheme";
	if (!same_str(ix->e.secret, fr->e.secret, sizeof(ix->e.secret)))
		return "secret";
	if (ix->e.uid != fr->e.uid)
		return "uid";
	if (ix->e.gid != fr->e.gid)
		return "gid";
	if (!same_str(ix->e.home, fr->e.home, sizeof(ix->e.home)))
		return "home";
	if (!same_str(ix->e.mail, fr->e.mail, sizeof(ix->e.mail)))
		return "mail";
	return NULL;
}

/* Look user up through a fresh index of path and by the full read;
 * fail unless they agree.  The index answer is left in *ix. */
static int
both(const char *user, struct answer *ix)
{
	static struct answer fr;
	const char *what;

	ask_file(path, user, &fr);
	pwf_index_drop();
	pwf_index_refresh(path);
	ask_index(path, user, ix);
	if (ix->rc == -1)
		fail_msg("\"%s\": no index", user);
	if ((what = differ(ix, &fr)) != NULL)
		fail_msg("\"%s\": index and full read differ in %s "
		    "(rc %d / %d)", user, what, ix->rc, fr.rc);
	return ix->rc;
}

static struct answer a;

/* ---- single cases ---- */

static void
test_found_not_found(void **state)
{
	static const char *const absent[] = { "nobody", "alic", "alice2",
	    "Alice", "bob@example.or", "bob@example.org.", "bob", "#",
	    "alice@", "h" };
	size_t i;

	(void)state;
	write_str("alice:{PLAIN}secret:1000:1001:Alice A:/home/alice:"
	    "maildir:~/Maildir\n"
	    "bob@example.org:$6$salt$hash:1002:1003::/home/bob:"
	    "mbox:/var/mail/%u:x\n"
	    "carol:{SCRAM-SHA-256}AAAA:1004:1005::/home/carol\n"
	    "dave:!$6$x$y:1006:1007::/d:\n");

	assert_int_equal(both("alice", &a), 1);
	assert_string_equal(a.e.user, "alice");
	assert_int_equal(a.e.scheme, PWF_PLAIN);
	assert_string_equal(a.e.secret, "secret");
	assert_int_equal(a.e.uid, 1000);
	assert_int_equal(a.e.gid, 1001);
	assert_string_equal(a.e.home, "/home/alice");
	assert_string_equal(a.e.mail, "maildir:~/Maildir");
	assert_string_equal(a.dummy, "$6$salt$hash");

	assert_int_equal(both("bob@example.org", &a), 1);
	assert_int_equal(a.e.scheme, PWF_CRYPT);
	assert_string_equal(a.e.secret, "$6$salt$hash");
	assert_string_equal(a.e.mail, "mbox:/var/mail/%u:x");
	assert_int_equal(both("carol", &a), 1);
	assert_int_equal(a.e.scheme, PWF_SCRAM);
	assert_string_equal(a.e.mail, "");
	assert_int_equal(both("dave", &a), 1);
	assert_int_equal(a.e.scheme, PWF_LOCKED);

	for (i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		if (both(absent[i], &a) != 0)
			fail_msg("\"%s\" found", absent[i]);
		assert_string_equal(a.dummy, "$6$salt$hash");
	}

	/* pwf_lookup itself goes through the index and says the same */
	pwf_index_refresh(path);
	memset(&a, 0, sizeof(a));
	assert_int_equal(pwf_lookup(path, "carol", &a.e, a.dummy), 1);
	assert_int_equal(a.e.uid, 1004);
	assert_int_equal(pwf_lookup(path, "nobody", &a.e, a.dummy), 0);
}

static void
test_first_duplicate_wins(void **state)
{
	(void)state;
	write_str("a:{PLAIN}first:1:1::/h1\n"
	    "ab:{PLAIN}ab1:2:2::/h2\n"
	    "a:{PLAIN}second:3:3::/h3\n"
	    "a:$6$third$x:4:4::/h4\n"
	    "ab:{PLAIN}ab2:5:5::/h5\n"
	    "a:{PLAIN}fourth:6:6::/h6\n");
	assert_int_equal(both("a", &a), 1);
	assert_string_equal(a.e.secret, "first");
	assert_int_equal(a.e.uid, 1);
	assert_string_equal(a.e.home, "/h1");
	/* the dummy is the first crypt entry, a later duplicate's */
	assert_string_equal(a.dummy, "$6$third$x");
	assert_int_equal(both("ab", &a), 1);
	assert_string_equal(a.e.secret, "ab1");
}

/* Comment, blank and malformed lines are no entries, and do not hide
 * a later entry of the same name. */
static void
test_comment_blank_malformed(void **state)
{
	(void)state;
	write_str("# alice:{PLAIN}c:1:1::/h\n"
	    "#alice:{PLAIN}c:1:1::/h\n"
	    "\n"
	    "   \n"
	    "\r\n"
	    "mal:{PLAIN}x:1:1::relative\n"
	    "mal:{PLAIN}x:1:1:\n"
	    "mal::1:1::/h\n"
	    "mal:{X}y:1:1::/h\n"
	    "mal:{PLAIN}x:4294967295:1::/h\n"
	    "mal:{PLAIN}x:1:x::/h\n"
	    " mal:{PLAIN}x:1:1::/h\n"
	    "mal :{PLAIN}x:1:1::/h\n"
	    "only:{PLAIN}x:1:1::h\n"
	    "mal:{PLAIN}good:9:9::/h\n"
	    "alice:{PLAIN}real:2:2::/home/alice\n"
	    "this line is malformed\n");
	assert_int_equal(both("alice", &a), 1);
	assert_string_equal(a.e.secret, "real");
	assert_int_equal(both("#alice", &a), 0);
	assert_int_equal(both("#", &a), 0);
	assert_int_equal(both("mal", &a), 1);
	assert_string_equal(a.e.secret, "good");
	assert_int_equal(a.e.uid, 9);
	assert_int_equal(both("only", &a), 0);
	assert_int_equal(both("this", &a), 0);
	assert_string_equal(a.dummy, "");
}

/* A line of len bytes (without newline) for user, padded in gecos,
 * ending in end ("" or "\r"). */
static size_t
line_of(char *buf, size_t len, const char *user, const char *secret,
    const char *end)
{
	size_t n, pad, tail;

	n = (size_t)snprintf(buf, len + 1, "%s:%s:7:7:", user, secret);
	tail = strlen(":/home/") + strlen(user) + strlen(end);
	assert_true(n + tail <= len);
	pad = len - n - tail;
	memset(buf + n, 'g', pad);
	n += pad;
	n += (size_t)sprintf(buf + n, ":/home/%s%s", user, end);
	assert_int_equal(n, len);
	buf[n++] = '\n';
	return n;
}

static void
test_line_lengths(void **state)
{
	char *text;
	size_t n = 0;

	(void)state;
	text = malloc(16 * CONFIG_MAX_LINE);
	assert_non_null(text);
	n += line_of(text + n, CONFIG_MAX_LINE, "fits", "{PLAIN}f", "");
	n += line_of(text + n, CONFIG_MAX_LINE + 1, "over", "{PLAIN}o", "");
	n += line_of(text + n, CONFIG_MAX_LINE, "fitscr", "{PLAIN}f", "\r");
	n += line_of(text + n, CONFIG_MAX_LINE + 1, "overcr", "{PLAIN}o",
	    "\r");
	/* a skipped line is not the first of its user, nor the dummy */
	n += line_of(text + n, CONFIG_MAX_LINE + 1, "twice", "$6$t1$t", "");
	n += (size_t)sprintf(text + n, "twice:{PLAIN}second:8:8::/h\n");
	n += line_of(text + n, CONFIG_MAX_LINE - 1, "under", "$6$u$u", "");
	/* an overlong line whose tail looks like an entry */
	memset(text + n, 'x', 2 * CONFIG_MAX_LINE);
	n += 2 * CONFIG_MAX_LINE;
	n += (size_t)sprintf(text + n, "mallory:{PLAIN}m:1:1::/h\n");
	write_file(path, text, n);

	assert_int_equal(both("fits", &a), 1);
	assert_string_equal(a.e.secret, "f");
	assert_string_equal(a.e.home, "/home/fits");
	assert_int_equal(both("fitscr", &a), 1);
	assert_string_equal(a.e.home, "/home/fitscr");
	assert_int_equal(both("over", &a), 0);
	assert_int_equal(both("overcr", &a), 0);
	assert_int_equal(both("under", &a), 1);
	assert_int_equal(both("twice", &a), 1);
	assert_string_equal(a.e.secret, "second");
	assert_int_equal(both("mallory", &a), 0);
	assert_string_equal(a.dummy, "$6$u$u");
	free(text);
}

static void
test_last_line_no_newline(void **state)
{
	(void)state;
	write_str("first:{PLAIN}1:1:1::/h\nlast:{PLAIN}2:2:2::/home/last");
	assert_int_equal(both("last", &a), 1);
	assert_string_equal(a.e.home, "/home/last");
	assert_int_equal(both("first", &a), 1);
	write_str("last:{PLAIN}2:2:2::/home/last:mbox:~/mbox \r");
	assert_int_equal(both("last", &a), 1);
	assert_string_equal(a.e.mail, "mbox:~/mbox");
	write_str("only:{PLAIN}2:2:2::/home/last:");
	assert_int_equal(both("only", &a), 1);
	write_str("bad:{PLAIN}2:2:2::");
	assert_int_equal(both("bad", &a), 0);
}

static void
test_crlf(void **state)
{
	(void)state;
	write_str("a:{PLAIN}x:1:1::/home/a\r\n"
	    "b:$6$b$b:2:2::/home/b:maildir:~/M\r\n"
	    "c:{PLAIN}y:3:3::/home/c:\r\n"
	    "d:{PLAIN}z:3:3::/home/d \r\r\n"
	    "\r\n"
	    "#\r\n"
	    "e:{PLAIN}z:3:3::/home/e\r");
	assert_int_equal(both("a", &a), 1);
	assert_string_equal(a.e.home, "/home/a");
	assert_int_equal(both("b", &a), 1);
	assert_string_equal(a.e.mail, "maildir:~/M");
	assert_string_equal(a.dummy, "$6$b$b");
	assert_int_equal(both("c", &a), 1);
	assert_string_equal(a.e.mail, "");
	assert_int_equal(both("d", &a), 1);
	assert_string_equal(a.e.home, "/home/d");
	assert_int_equal(both("e", &a), 1);
	assert_string_equal(a.e.home, "/home/e");
}

static void
test_nul_byte(void **state)
{
	static const char text[] =
	    "nul:{PLAIN}a\0b:1:1::/h\n"
	    "nul2\0:{PLAIN}x:1:1::/h\n"
	    "dup:$6$n\0:1:1::/h\n"
	    "dup:{PLAIN}good:2:2::/h\n"
	    "\0\n"
	    "after:{PLAIN}x:3:3::/h\n"
	    "tail:{PLAIN}x:4:4::/h\0";

	(void)state;
	write_file(path, text, sizeof(text) - 1);
	assert_int_equal(both("nul", &a), 0);
	assert_int_equal(both("nul2", &a), 0);
	assert_int_equal(both("dup", &a), 1);
	assert_string_equal(a.e.secret, "good");
	assert_string_equal(a.dummy, "");
	assert_int_equal(both("after", &a), 1);
	assert_int_equal(a.e.uid, 3);
	assert_int_equal(both("tail", &a), 0);
}

static void
test_empty_file(void **state)
{
	static const char *const texts[] = { "", "\n", "\n\n\n", "#\n",
	    "\r\n \n" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		write_str(texts[i]);
		assert_int_equal(both("a", &a), 0);
		assert_string_equal(a.dummy, "");
	}
}

static void
test_dummy(void **state)
{
	char *text;
	size_t n = 0;

	(void)state;
	text = malloc(4 * CONFIG_MAX_LINE);
	assert_non_null(text);
	n += (size_t)sprintf(text + n,
	    "l:!$6$l$l:1:1::/h\n"
	    "k:*:1:1::/h\n"
	    "p:{PLAIN}p:1:1::/h\n"
	    "s:{SCRAM-SHA-256}s:1:1::/h\n"
	    "#c:$6$comment$c:1:1::/h\n"
	    "bad:$6$bad$bad:x:1::/h\n");
	n += line_of(text + n, CONFIG_MAX_LINE + 1, "long", "$6$long$l", "");
	n += (size_t)sprintf(text + n,
	    "c1:{CRYPT}$6$c1$h:1:1::/h\n"
	    "c2:$6$c2$h:1:1::/h\n");
	write_file(path, text, n);
	assert_int_equal(both("nobody", &a), 0);
	assert_string_equal(a.dummy, "$6$c1$h");
	assert_int_equal(both("c2", &a), 1);
	assert_string_equal(a.dummy, "$6$c1$h");
	assert_int_equal(both("l", &a), 1);
	assert_string_equal(a.dummy, "$6$c1$h");

	/* no crypt entry: '' */
	write_str("l:!$6$l$l:1:1::/h\np:{PLAIN}p:1:1::/h\nk:*:1:1::/h\n");
	assert_int_equal(both("nobody", &a), 0);
	assert_string_equal(a.dummy, "");
	assert_int_equal(both("p", &a), 1);
	assert_string_equal(a.dummy, "");
	free(text);
}

/* ---- generated files: the index says what the full read says ---- */

static uint64_t rng;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 32) % n;
}

struct sbuf {
	char	*p;
	size_t	 len, cap;
};

static void
sb_add(struct sbuf *sb, const void *p, size_t n)
{
	if (sb->len + n > sb->cap) {
		while (sb->len + n > sb->cap)
			sb->cap = sb->cap ? 2 * sb->cap : 4096;
		sb->p = realloc(sb->p, sb->cap);
		assert_non_null(sb->p);
	}
	memcpy(sb->p + sb->len, p, n);
	sb->len += n;
}

static void
sb_str(struct sbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

static char name128[POP3_MAX_USER + 1], name129[POP3_MAX_USER + 2];

static const char *
some_name(void)
{
	static const char *const names[] = { "a", "ab", "abc", "a@x",
	    "a@x.y", "ab@x", "b", "ba", "bab", "alice", "alice@example.org",
	    "alic", "Alice", "a.b", "a-b", "x", "xx", "xxx", "{a}", "a!",
	    "~", "#a", "a#", "a\\b", name128 };

	return names[rnd(sizeof(names) / sizeof(names[0]))];
}

static const char *
some_secret(char *buf, size_t len)
{
	static const char *const fmt[] = { "$6$s%u$h", "{CRYPT}$5$s%u$h",
	    "$y$j9T$s%u$h", "{PLAIN}p%u", "{PLAIN}p w#%u!",
	    "{SCRAM-SHA-256}x%u", "!$6$l%u$h", "*", "!!", "{CRYPT}$2b$%u" };

	snprintf(buf, len, fmt[rnd(sizeof(fmt) / sizeof(fmt[0]))], rnd(20));
	return buf;
}

static const char *
some_tail(void)
{
	static const char *const tails[] = { "", "", "", "\r", " ", " \r",
	    "  " };

	return tails[rnd(sizeof(tails) / sizeof(tails[0]))];
}

/* An entry line, without its newline; pad > 0 makes it about that long
 * (padded in gecos, so that it stays an entry). */
static void
entry_line(struct sbuf *sb, const char *user, size_t pad)
{
	static const char *const mails[] = { "", "", ":", ":maildir:~/Maildir",
	    ":mbox:/var/mail/%u", ":maildir:/m:%u:x" };
	static const unsigned long ids[] = { 0, 1, 1000, 4294967294UL };
	char sec[64], buf[256];
	size_t start = sb->len, n;

	n = (size_t)snprintf(buf, sizeof(buf), "%s:%s:%lu:%lu:", user,
	    some_secret(sec, sizeof(sec)),
	    rnd(3) ? (unsigned long)rnd(5000) : ids[rnd(4)],
	    rnd(3) ? (unsigned long)rnd(5000) : ids[rnd(4)]);
	sb_add(sb, buf, n);
	if (rnd(4) == 0)
		sb_str(sb, "Gecos Field");
	while (pad > 0 && sb->len - start < pad)
		sb_add(sb, "g", 1);
	snprintf(buf, sizeof(buf), ":/home/%u%s%s", rnd(100),
	    mails[rnd(sizeof(mails) / sizeof(mails[0]))], some_tail());
	sb_str(sb, buf);
}

static void
malformed_line(struct sbuf *sb, const char *user)
{
	static const char *const fmt[] = { "%s", "%s:$6$a$b:1:1::relative",
	    "%s::1:1::/h", "%s:{X}y:1:1::/h", "%s:$6$a$b:x:1::/h",
	    "%s:$6$a$b:1:1:", "%s:$6$a$b:4294967295:1::/h", " %s:$6$a$b:1:1::/h",
	    "%s :$6$a$b:1:1::/h", "%s:{CRYPT}:1:1::/h", "%s:$6$a$b:1:1::",
	    "%s/x:$6$a$b:1:1::/h" };
	char buf[512];

	if (rnd(8) == 0)
		user = name129;
	snprintf(buf, sizeof(buf), fmt[rnd(sizeof(fmt) / sizeof(fmt[0]))],
	    user);
	sb_str(sb, buf);
}

static void
gen_file(struct sbuf *sb)
{
	static const size_t longs[] = { CONFIG_MAX_LINE - 1, CONFIG_MAX_LINE,
	    CONFIG_MAX_LINE + 1, CONFIG_MAX_LINE + 2, 2 * CONFIG_MAX_LINE + 7,
	    3000 };
	uint32_t lines = rnd(40), i, k;
	size_t at;

	sb->len = 0;
	for (i = 0; i < lines; i++) {
		k = rnd(100);
		if (k < 50)
			entry_line(sb, some_name(), 0);
		else if (k < 58) {
			sb_str(sb, rnd(2) ? "#" : "# ");
			entry_line(sb, some_name(), 0);
		} else if (k < 64)
			sb_str(sb, rnd(2) ? "" : rnd(2) ? " " : "\r");
		else if (k < 80)
			malformed_line(sb, some_name());
		else if (k < 90)
			entry_line(sb, some_name(),
			    longs[rnd(sizeof(longs) / sizeof(longs[0]))]);
		else {
			/* a NUL byte somewhere in an entry */
			at = sb->len;
			entry_line(sb, some_name(), 0);
			sb->p[at + rnd((uint32_t)(sb->len - at))] = '\0';
		}
		if (i + 1 < lines || rnd(3) != 0)
			sb_add(sb, "\n", 1);
	}
}

/* Every name before a ':' in the file, and a few that are not there. */
static size_t
names_of(const struct sbuf *sb, char (*names)[POP3_MAX_USER + 1],
    size_t max)
{
	static const char *const absent[] = { "zz", "a@", "abcd", "b@x",
	    "xxxx", "alice@example.or", "nobody" };
	size_t i, n = 0, off = 0, len;
	const char *nl, *colon;

	for (i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		snprintf(names[n++], sizeof(names[0]), "%s", absent[i]);
	while (off < sb->len && n < max) {
		nl = memchr(sb->p + off, '\n', sb->len - off);
		len = nl ? (size_t)(nl - (sb->p + off)) : sb->len - off;
		colon = memchr(sb->p + off, ':', len);
		if (colon != NULL)
			len = (size_t)(colon - (sb->p + off));
		if (pwf_valid_user(sb->p + off, len)) {
			memcpy(names[n], sb->p + off, len);
			names[n++][len] = '\0';
		}
		off += (nl ? (size_t)(nl - (sb->p + off)) : sb->len - off) + 1;
	}
	return n;
}

#define EQ_FILES	400
#define EQ_NAMES	64

static void
test_equivalence(void **state)
{
	static char names[EQ_NAMES][POP3_MAX_USER + 1];
	struct answer *fr, ix;
	struct sbuf sb = { NULL, 0, 0 };
	const char *what;
	size_t n, i;
	int f, found = 0, notfound = 0;

	(void)state;
	memset(name128, 'n', POP3_MAX_USER);
	memset(name129, 'n', POP3_MAX_USER + 1);
	fr = calloc(EQ_NAMES, sizeof(*fr));
	assert_non_null(fr);
	rng = 0x9e3779b97f4a7c15ULL;
	for (f = 0; f < EQ_FILES; f++) {
		gen_file(&sb);
		write_file(path, sb.p, sb.len);
		n = names_of(&sb, names, EQ_NAMES);
		/* the full read first (no index), then a fresh index */
		for (i = 0; i < n; i++)
			ask_file(path, names[i], &fr[i]);
		pwf_index_refresh(path);
		for (i = 0; i < n; i++) {
			ask_index(path, names[i], &ix);
			if (ix.rc == -1)
				fail_msg("file %d: no index", f);
			if ((what = differ(&ix, &fr[i])) != NULL)
				fail_msg("file %d, \"%s\": index and full read "
				    "differ in %s (rc %d / %d)", f, names[i],
				    what, ix.rc, fr[i].rc);
			if (ix.rc == 1)
				found++;
			else
				notfound++;
		}
		pwf_index_drop();
	}
	/* the generator makes both answers often */
	assert_true(found > 1000);
	assert_true(notfound > 1000);
	free(fr);
	free(sb.p);
}

/* ---- the index is used only for the file it was built from ---- */

static void
expect_secret(int via_index, const char *user, const char *secret)
{
	memset(&a, 0, sizeof(a));
	if (via_index)
		assert_int_equal(pwf_index_lookup(path, user, &a.e, a.dummy),
		    1);
	else
		assert_int_equal(pwf_lookup(path, user, &a.e, a.dummy), 1);
	assert_string_equal(a.e.secret, secret);
}

static void
expect_stale(void)
{
	memset(&a, 0, sizeof(a));
	assert_int_equal(pwf_index_lookup(path, "alice", &a.e, a.dummy), -1);
	assert_int_equal(pwf_index_lookup(path, "nobody", &a.e, a.dummy), -1);
}

static void
test_stale_rewrite(void **state)
{
	(void)state;
	write_str("alice:{PLAIN}one:1:1::/h\n");
	pwf_index_refresh(path);
	expect_secret(1, "alice", "one");
	/* rewritten in place: same inode, another size */
	write_str("bob:{PLAIN}b:2:2::/h\nalice:{PLAIN}three:3:3::/h\n");
	expect_stale();
	expect_secret(0, "alice", "three");
	expect_secret(0, "bob", "b");
	expect_stale();		/* pwf_lookup does not refresh */
	pwf_index_refresh(path);
	expect_secret(1, "alice", "three");
	expect_secret(1, "bob", "b");
	/* refreshing an unchanged file keeps the index */
	pwf_index_refresh(path);
	expect_secret(1, "bob", "b");
}

static void
test_stale_same_size(void **state)
{
	struct timespec ts[2], nap = { 0, 50 * 1000 * 1000 };
	struct stat st0, st1;
	int fd;

	(void)state;
	write_str("alice:{PLAIN}one:1:1::/h\n");
	pwf_index_refresh(path);
	expect_secret(1, "alice", "one");
	assert_int_equal(stat(path, &st0), 0);

	/* same size, another mtime */
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "two", 3, 13), 3);
	assert_int_equal(close(fd), 0);
	ts[0].tv_sec = ts[1].tv_sec = st0.st_mtim.tv_sec - 100;
	ts[0].tv_nsec = ts[1].tv_nsec = st0.st_mtim.tv_nsec;
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(st1.st_size, st0.st_size);
	assert_int_equal(st1.st_ino, st0.st_ino);
	expect_stale();
	expect_secret(0, "alice", "two");
	pwf_index_refresh(path);
	expect_secret(1, "alice", "two");

	/* same size, the mtime put back: only the ctime tells */
	assert_int_equal(stat(path, &st0), 0);
	nanosleep(&nap, NULL);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "six", 3, 13), 3);
	assert_int_equal(close(fd), 0);
	ts[0] = ts[1] = st0.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(st1.st_size, st0.st_size);
	assert_true(st1.st_mtim.tv_sec == st0.st_mtim.tv_sec &&
	    st1.st_mtim.tv_nsec == st0.st_mtim.tv_nsec);
	assert_false(st1.st_ctim.tv_sec == st0.st_ctim.tv_sec &&
	    st1.st_ctim.tv_nsec == st0.st_ctim.tv_nsec);
	expect_stale();
	expect_secret(0, "alice", "six");
	pwf_index_refresh(path);
	expect_secret(1, "alice", "six");
}

/* A new file renamed over the old one: same size, same mtime. */
static void
test_stale_rename(void **state)
{
	struct timespec ts[2];
	struct stat st0;
	char *tmp = in_tmp("passwd.new");

	(void)state;
	write_str("alice:{PLAIN}one:1:1::/h\n");
	pwf_index_refresh(path);
	expect_secret(1, "alice", "one");
	assert_int_equal(stat(path, &st0), 0);
	write_file(tmp, "alice:{PLAIN}two:1:1::/h\n",
	    strlen("alice:{PLAIN}two:1:1::/h\n"));
	ts[0] = ts[1] = st0.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, tmp, ts, 0), 0);
	assert_int_equal(rename(tmp, path), 0);
	expect_stale();
	expect_secret(0, "alice", "two");
	pwf_index_refresh(path);
	expect_secret(1, "alice", "two");
}

static void
test_missing_file(void **state)
{
	(void)state;
	write_str("alice:{PLAIN}one:1:1::/h\n");
	pwf_index_refresh(path);
	expect_secret(1, "alice", "one");
	/* a refresh for a file that is not there drops the index */
	pwf_index_refresh(in_tmp("nonexistent"));
	expect_stale();
	memset(&a, 0, sizeof(a));
	assert_int_equal(pwf_index_lookup(in_tmp("nonexistent"), "alice",
	    &a.e, a.dummy), -1);
	expect_secret(0, "alice", "one");
	pwf_index_refresh(path);
	expect_secret(1, "alice", "one");
	assert_int_equal(unlink(path), 0);
	pwf_index_refresh(path);
	expect_stale();
	assert_int_equal(pwf_lookup(path, "alice", &a.e, a.dummy), -1);
}

/* No index of a directory, a FIFO (and no waiting for a writer) or a
 * file over PWF_INDEX_MAX_BYTES. */
static void
test_not_indexed(void **state)
{
	char *dir = in_tmp("d"), *fifo = in_tmp("fifo"), *big = in_tmp("big");
	int fd;

	(void)state;
	assert_int_equal(mkdir(dir, 0700), 0);
	pwf_index_refresh(dir);
	assert_int_equal(pwf_index_lookup(dir, "a", &a.e, a.dummy), -1);

	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(10);	/* a blocking open would end the test here */
	pwf_index_refresh(fifo);
	alarm(0);
	assert_int_equal(pwf_index_lookup(fifo, "a", &a.e, a.dummy), -1);

	/* sparse: no disk space used */
	fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "a:{PLAIN}x:1:1::/h\n", 19), 19);
	assert_int_equal(ftruncate(fd, (off_t)PWF_INDEX_MAX_BYTES + 1), 0);
	assert_int_equal(close(fd), 0);
	pwf_index_refresh(big);
	assert_int_equal(pwf_index_lookup(big, "a", &a.e, a.dummy), -1);
	unlink(big);

	/* and a regular file after them is indexed again */
	write_str("a:{PLAIN}x:1:1::/h\n");
	pwf_index_refresh(path);
	expect_secret(1, "a", "x");
}

#define MANY	20000

static void
test_many_users(void **state)
{
	struct sbuf sb = { NULL, 0, 0 };
	char buf[128];
	int i;

	(void)state;
	/* u0 .. u19999: u1, u12, u123 are prefixes of each other */
	for (i = 0; i < MANY; i++) {
		snprintf(buf, sizeof(buf), "u%d:{PLAIN}p%d:%d:%d::/home/u%d:\n",
		    i, i, i + 1, i + 2, i);
		sb_str(&sb, buf);
	}
	write_file(path, sb.p, sb.len);
	pwf_index_refresh(path);
	for (i = 0; i < MANY; i++) {
		snprintf(buf, sizeof(buf), "u%d", i);
		if (pwf_index_lookup(path, buf, &a.e, a.dummy) != 1)
			fail_msg("%s not found", buf);
		assert_string_equal(a.e.user, buf);
		assert_int_equal(a.e.uid, i + 1);
		assert_int_equal(a.e.gid, i + 2);
		snprintf(buf, sizeof(buf), "p%d", i);
		assert_string_equal(a.e.secret, buf);
	}
	assert_int_equal(pwf_index_lookup(path, "u20000", &a.e, a.dummy), 0);
	assert_int_equal(pwf_index_lookup(path, "u", &a.e, a.dummy), 0);
	assert_int_equal(pwf_index_lookup(path, "u01", &a.e, a.dummy), 0);
	assert_int_equal(pwf_index_lookup(path, "v1", &a.e, a.dummy), 0);
	assert_string_equal(a.dummy, "");
	/* and the same as the full read for a few */
	assert_int_equal(both("u0", &a), 1);
	assert_int_equal(both("u19999", &a), 1);
	assert_int_equal(both("u20000", &a), 0);
	free(sb.p);
}

/* A file written less than pwf_index_settle_secs ago is not indexed
 * (a same-size rewrite in the same timestamp tick would keep its stamp);
 * the fork server builds the index at a later refresh. */
static void
test_unsettled_not_indexed(void **state)
{
	static struct answer a;
	struct timespec nap = { 1, 200 * 1000 * 1000 };
	struct timespec old[2];

	(void)state;
	pwf_index_settle_secs = 1;
	write_str("alice:{PLAIN}pw:10:10::/h:\n");
	pwf_index_refresh(path);
	ask_index(path, "alice", &a);
	assert_int_equal(a.rc, -1);
	/* an old mtime is not enough: the ctime is new */
	clock_gettime(CLOCK_REALTIME, &old[0]);
	old[0].tv_sec -= 60;
	old[1] = old[0];
	assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
	pwf_index_refresh(path);
	ask_index(path, "alice", &a);
	assert_int_equal(a.rc, -1);
	/* the full read answers meanwhile */
	ask_file(path, "alice", &a);
	assert_int_equal(a.rc, 1);
	/* settled: the next refresh builds it */
	nanosleep(&nap, NULL);
	pwf_index_refresh(path);
	ask_index(path, "alice", &a);
	assert_int_equal(a.rc, 1);
	assert_string_equal(a.e.secret, "pw");
	pwf_index_settle_secs = 0;
}

/* The capabilities come from the index while it holds, and equal what
 * the full read finds; a changed file is read again. */
static void
test_caps(void **state)
{
	static const struct {
		const char	*text;
		int		 caps;
	} cases[] = {
		{ "a:$6$s$h:1:1::/h:\n", PWF_LACKS_APOP | PWF_LACKS_SCRAM },
		{ "a:$6$s$h:1:1::/h:\nb:{PLAIN}x:1:1::/h:\n",
		    PWF_CAN_APOP | PWF_CAN_SCRAM | PWF_LACKS_APOP |
		    PWF_LACKS_SCRAM },
		{ "a:{SCRAM-SHA-256}4096,s,k,k:1:1::/h:\n",
		    PWF_CAN_SCRAM | PWF_LACKS_APOP },
		{ "a:{SCRAM-SHA-256}4096,s,k,k:1:1::/h:\nb:{PLAIN}x:1:1::/h:\n",
		    PWF_CAN_APOP | PWF_CAN_SCRAM | PWF_LACKS_APOP },
		{ "b:{PLAIN}x:1:1::/h:\nc:{PLAIN}y:2:2::/h:\n",
		    PWF_CAN_APOP | PWF_CAN_SCRAM },
		/* a later duplicate still counts, as in the full read */
		{ "a:$6$s$h:1:1::/h:\na:{PLAIN}x:1:1::/h:\n",
		    PWF_CAN_APOP | PWF_CAN_SCRAM | PWF_LACKS_APOP |
		    PWF_LACKS_SCRAM },
		/* a locked entry counts for neither */
		{ "a:!{PLAIN}x:1:1::/h:\nbad line\n", 0 },
		{ "a:!x:1:1::/h:\nb:{PLAIN}x:1:1::/h:\n",
		    PWF_CAN_APOP | PWF_CAN_SCRAM },
	};
	struct pwf_stamp now;
	struct stat st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_str(cases[i].text);
		pwf_index_drop();
		assert_int_equal(pwf_capabilities(path), cases[i].caps);
		pwf_index_refresh(path);
		assert_int_equal(stat(path, &st), 0);
		pwf_stamp_of(&st, &now);
		assert_int_equal(pwf_index_caps(&now), cases[i].caps);
		assert_int_equal(pwf_capabilities(path), cases[i].caps);
	}
	/* changed: not the index's any more, and read again */
	write_str("z:{PLAIN}x:1:1::/h:\n\n\n\n\n\n\n\n");
	assert_int_equal(stat(path, &st), 0);
	pwf_stamp_of(&st, &now);
	assert_int_equal(pwf_index_caps(&now), -1);
	assert_int_equal(pwf_capabilities(path),
	    PWF_CAN_APOP | PWF_CAN_SCRAM);
}

/* What pwf_lookup (and the index lookup) log while fn runs: stderr,
 * into buf. */
static void
capture_log(void (*fn)(void), char *buf, size_t len)
{
	char *tmp = in_tmp("log");
	int fd, saved;
	ssize_t n;

	log_open("test", 1, 0);
	fflush(stderr);
	saved = dup(2);
	assert_true((fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0600)) >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	fn();
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	n = pread(fd, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(tmp);
}

static void
lookup_alice_by_file(void)
{
	ask_file(path, "alice", &a);
}

static void
lookup_alice_by_index(void)
{
	ask_index(path, "alice", &a);
}

/* A user whose line is malformed is not found, and the log says which
 * line and why, by the full read and through the index alike; a valid
 * line of the same user after it still wins. */
static void
test_malformed_says_why(void **state)
{
	char log[2048], want[256];

	(void)state;
	write_str("# users\n"
	    "bob:{PLAIN}x:1000:1000::/home/bob\n"
	    "alice:{PLAIN}x:50OO:1000::/home/alice\n");
	snprintf(want, sizeof(want), "passwd_file %s:3: bad uid \"50OO\" (a "
	    "number from 0 to 4294967294); the line is skipped (its user "
	    "cannot log in): correct it", path);
	capture_log(lookup_alice_by_file, log, sizeof(log));
	assert_int_equal(a.rc, 0);
	if (strstr(log, want) == NULL)
		fail_msg("full read logged \"%s\"", log);
	pwf_index_settle_secs = 0;
	pwf_index_refresh(path);
	capture_log(lookup_alice_by_index, log, sizeof(log));
	assert_int_equal(a.rc, 0);
	if (strstr(log, want) == NULL)
		fail_msg("index logged \"%s\"", log);
	/* the valid line after it is the one served */
	write_str("alice:x:1:1\nalice:{PLAIN}x:7:7::/h\n"
	    "alice:{PLAIN}y:8:8::/h\nalice:1:1\n");
	assert_int_equal(both("alice", &a), 1);
	assert_int_equal(a.e.uid, 7);
	/* a broken line after a valid one is not in the way */
	write_str("alice:{PLAIN}x:7:7::/h\nalice:1:1\n");
	assert_int_equal(both("alice", &a), 1);
	assert_int_equal(a.e.uid, 7);
}

/* A passwd_file that is a directory is an error that says so. */
static void
test_directory(void **state)
{
	char log[2048], want[256];

	(void)state;
	assert_int_equal(mkdir(in_tmp("dd"), 0700), 0);
	snprintf(path, sizeof(path), "%s", in_tmp("dd"));
	snprintf(want, sizeof(want), "passwd_file %s is a directory: set "
	    "passwd_file to the file of users in it", path);
	capture_log(lookup_alice_by_file, log, sizeof(log));
	snprintf(path, sizeof(path), "%s/passwd", tmpdir);
	rmdir(in_tmp("dd"));
	assert_int_equal(a.rc, -1);
	if (strstr(log, want) == NULL)
		fail_msg("logged \"%s\"", log);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, drop_index, drop_index)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_found_not_found),
		T(test_first_duplicate_wins),
		T(test_comment_blank_malformed),
		T(test_line_lengths),
		T(test_last_line_no_newline),
		T(test_crlf),
		T(test_nul_byte),
		T(test_empty_file),
		T(test_dummy),
		T(test_equivalence),
		T(test_stale_rewrite),
		T(test_stale_same_size),
		T(test_stale_rename),
		T(test_missing_file),
		T(test_not_indexed),
		T(test_many_users),
		T(test_unsettled_not_indexed),
		T(test_caps),
		T(test_malformed_says_why),
		T(test_directory),
	};

	/* the other tests index files they have just written */
	pwf_index_settle_secs = 0;

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
