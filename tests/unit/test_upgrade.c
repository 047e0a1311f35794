/*
 * Unit tests for auth/upgrade.c: which hashes are weak, and the
 * rewrite of one passwd-file entry (only that hash changes, owner and
 * mode kept, an entry changed meanwhile left alone, nothing planted at a
 * temporary name written, nothing done in a directory others can write).
 */
#include "config.h"

#include <sys/stat.h>

#include <crypt.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "upgrade.h"

/* ---- upgrade_is_weak ---- */

static void
test_is_weak(void **state)
{
	static const struct {
		const char	*hash;
		int		 min_rounds;
		int		 want;
	} cases[] = {
		/* traditional DES and BSDi DES */
		{ "abJnggxhB/yWI", 100000, 1 },
		{ "ab01FAX.bQRSU", 5000, 1 },
		{ "_J9..rasmBYk8r9AiWNc", 100000, 1 },
		/* MD5-crypt, NT, Sun MD5, SHA-1 crypt */
		{ "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/", 100000, 1 },
		{ "$1$x$y", 1000, 1 },
		{ "$3$$8846f7eaee8fb117ad06bdd830b7586c", 100000, 1 },
		{ "$md5$rounds=904$saltstring$hash", 100000, 1 },
		{ "$md5,rounds=5000$GUBv0xjJ$$mSwgIswdjlTY0YxV7HBVm0", 1000,
		    1 },
		{ "$sha1$40000$jtNX3nZ2$hBNaIXkt4wBI2o5rsi8KejSjNqIq", 1000,
		    1 },
		/* SHA-256/512-crypt: 5000 rounds when not given */
		{ "$5$saltsalt$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZF5b7", 100000,
		    1 },
		{ "$6$saltsalt$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl", 100000,
		    1 },
		{ "$6$saltsalt$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl", 5000, 0 },
		{ "$6$saltsalt$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl", 5001, 1 },
		{ "$5$saltsalt$x", 4999, 0 },
		/* rounds= below, at and above the limit */
		{ "$6$rounds=99999$salt$hash", 100000, 1 },
		{ "$6$rounds=100000$salt$hash", 100000, 0 },
		{ "$6$rounds=656000$salt$hash", 100000, 0 },
		{ "$5$rounds=1000$salt$hash", 100000, 1 },
		{ "$5$rounds=200000$salt$hash", 100000, 0 },
		{ "$5$rounds=200000$salt$hash", 300000, 1 },
		{ "$6$rounds=5000$salt$hash", 5000, 0 },
		/* a rounds= that does not parse is weak */
		{ "$6$rounds=abc$salt$hash", 1000, 1 },
		{ "$6$rounds=$salt$hash", 1000, 1 },
		{ "$6$rounds=-5$salt$hash", 1000, 1 },
		{ "$6$rounds=99999999999999999999$salt$hash", 1000, 1 },
		/* the strong schemes */
		{ "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9"
		    "SqC.5i5rd.RhAtQ7", 100000, 0 },
		{ "$gy$j9T$salt$hash", 100000, 0 },
		{ "$7$CU..../....salt$hash", 100000, 0 },
		{ "$2b$12$GhvMmNVjRW29ulnudl.LbuAnUtN/LRfe1JsBm1Xu6LE3059z5Tr8m",
		    100000, 0 },
		{ "$2y$10$abcdefghijklmnopqrstuu5Qx2K0r5l4Qb8ZsE1xQl8JYtS1D3Zm",
		    100000, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = upgrade_is_weak(cases[i].hash, cases[i].min_rounds);

		if (r != cases[i].want)
			fail_msg("is_weak(\"%s\", %d) = %d, want %d",
			    cases[i].hash, cases[i].min_rounds, r,
			    cases[i].want);
	}
}

static void
test_prefix(void **state)
{
	(void)state;
	assert_string_equal(upgrade_prefix("yescrypt"), "$y$");
	assert_string_equal(upgrade_prefix("bcrypt"), "$2b$");
	assert_string_equal(upgrade_prefix("sha512"), "$6$");
	assert_null(upgrade_prefix("md5"));
	assert_null(upgrade_prefix(""));
	assert_null(upgrade_prefix("YESCRYPT"));
}

/* ---- upgrade_entry ---- */

static char dir[256], path[300];

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/privpop-upgrade-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/passwd", dir);
	return 0;
}

static int
teardown_dir(void **state)
{
	DIR *d;
	struct dirent *de;
	char p[600];

	(void)state;
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(dir);
	return 0;
}

static char *
make_hash(const char *prefix, unsigned long rounds, const char *pass)
{
	static char out[CRYPT_OUTPUT_SIZE];
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;
	const char *h;

	memset(&cd, 0, sizeof(cd));
	assert_non_null(crypt_gensalt_rn(prefix, rounds, NULL, 0, setting,
	    sizeof(setting)));
	h = crypt_rn(pass, setting, &cd, sizeof(cd));
	assert_non_null(h);
	assert_true(h[0] != '*');
	snprintf(out, sizeof(out), "%s", h);
	return out;
}

static int
crypt_ok(const char *hash, const char *pass)
{
	struct crypt_data cd;
	const char *h;

	memset(&cd, 0, sizeof(cd));
	h = crypt_rn(pass, hash, &cd, sizeof(cd));
	return h != NULL && h[0] != '*' && strcmp(h, hash) == 0;
}

static void
write_file(const char *p, const char *text, mode_t mode)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static char *
read_all(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int
dir_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/*
 * A file around the entry of "bob": a user whose name starts with bob,
 * another with the same old hash, comments, a blank line, and a last
 * line without a newline.  Only bob's hash field may change.
 */
static void
check_upgrade(const char *scheme, const char *want_prefix, int last_line)
{
	char old[CRYPT_OUTPUT_SIZE], text[4096], head[2048], tail[2048];
	char *got, *field_end;
	const char *pw = "bobs password";
	size_t len, hl, tl, nhl;
	struct stat st;
	int owner_set = geteuid() == 0;

	snprintf(old, sizeof(old), "%s", make_hash("$1$", 0, pw));
	snprintf(head, sizeof(head),
	    "# virtual users\n"
	    "alice:$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9"
	    "SqC.5i5rd.RhAtQ7:1000:1000:Alice:/home/alice:\n"
	    "bobby:%s:1002:1002::/home/bobby:\n"
	    "\n"
	    "bob2:{PLAIN}bob:1003:1003::/home/bob2:mbox:~/mbox\n"
	    "%sbob:", old, last_line ? "carol:$1$abc$def:1004:1004::/h/c:\n" :
	    "");
	snprintf(tail, sizeof(tail), ":1001:1001:Bob B:/home/bob:"
	    "maildir:~/Maildir%s",
	    last_line ? "" :
	    "\n# trailing comment with bob:x\ncarol:$1$abc$def:1004:1004::"
	    "/h/c:\nzed:{PLAIN}z:1005:1005::/h/z:");
	assert_true(snprintf(text, sizeof(text), "%s%s%s", head, old, tail) <
	    (int)sizeof(text));
	write_file(path, text, 0640);
	if (owner_set)
		assert_int_equal(chown(path, 4321, 8765), 0);

	assert_int_equal(upgrade_entry(path, "bob", old, pw, scheme), 0);

	got = read_all(path, &len);
	hl = strlen(head);
	tl = strlen(tail);
	assert_true(len > hl + tl);
	/* every byte before and after the hash field is the same */
	assert_memory_equal(got, head, hl);
	assert_memory_equal(got + len - tl, tail, tl);
	nhl = len - hl - tl;
	field_end = got + hl + nhl;
	assert_int_equal(*field_end, ':');
	*field_end = '\0';
	assert_true(memchr(got + hl, '\n', nhl) == NULL);
	assert_int_equal(strncmp(got + hl, want_prefix, strlen(want_prefix)),
	    0);
	assert_true(crypt_ok(got + hl, pw));
	assert_false(crypt_ok(got + hl, "wrong"));
	assert_string_not_equal(got + hl, old);
	free(got);
	/* owner and mode kept; no temporary file left */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	if (owner_set) {
		assert_int_equal(st.st_uid, 4321);
		assert_int_equal(st.st_gid, 8765);
	}
	assert_int_equal(dir_entries(), 1);
}

static void
test_entry_yescrypt(void **state)
{
	(void)state;
	check_upgrade("yescrypt", "$y$", 0);
}

static void
test_entry_bcrypt(void **state)
{
	(void)state;
	check_upgrade("bcrypt", "$2b$", 0);
}

static void
test_entry_sha512(void **state)
{
	(void)state;
	check_upgrade("sha512", "$6$", 0);
}

static void
test_entry_last_line_no_newline(void **state)
{
	(void)state;
	check_upgrade("yescrypt", "$y$", 1);
}

/* Mode 0600 root:root, as the shipped file, stays so. */
static void
test_entry_mode_0600(void **state)
{
	char old[CRYPT_OUTPUT_SIZE], text[512];
	struct stat st, st2;
	size_t len;
	char *got;

	(void)state;
	snprintf(old, sizeof(old), "%s", make_hash("$6$", 5000, "pw"));
	snprintf(text, sizeof(text), "u:%s:1000:1000::/h:\n", old);
	write_file(path, text, 0600);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(upgrade_entry(path, "u", old, "pw", "yescrypt"), 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st2.st_mode & 07777, 0600);
	assert_int_equal(st2.st_uid, st.st_uid);
	assert_int_equal(st2.st_gid, st.st_gid);
	got = read_all(path, &len);
	assert_int_equal(strncmp(got, "u:$y$", 5), 0);
	assert_int_equal(strcmp(got + len - 16, ":1000:1000::/h:\n"), 0);
	free(got);
}

/* The entry no longer holds the hash that was verified (changed by an
 * admin meanwhile), or the user is gone: the file is left alone. */
static void
test_entry_changed_meanwhile(void **state)
{
	char old[CRYPT_OUTPUT_SIZE], now[CRYPT_OUTPUT_SIZE], text[1024];
	char *got;
	size_t len;
	struct stat st, st2;

	(void)state;
	snprintf(old, sizeof(old), "%s", make_hash("$1$", 0, "pw"));
	snprintf(now, sizeof(now), "%s", make_hash("$1$", 0, "newpw"));
	assert_true(snprintf(text, sizeof(text),
	    "alice:%s:1000:1000::/h/a:\n"
	    "bob:%s:1001:1001::/h/b:\n"
	    "bobx:%s:1002:1002::/h/x:\n", old, now, old) < (int)sizeof(text));
	write_file(path, text, 0640);
	assert_int_equal(stat(path, &st), 0);
	/* bob's hash is now "now", not "old" */
	assert_int_equal(upgrade_entry(path, "bob", old, "pw", "yescrypt"),
	    -1);
	/* a user not in the file at all */
	assert_int_equal(upgrade_entry(path, "nobody", old, "pw", "yescrypt"),
	    -1);
	/* a prefix of the hash only */
	assert_int_equal(upgrade_entry(path, "alice", "$1$", "pw",
	    "yescrypt"), -1);
	/* an unknown scheme */
	assert_int_equal(upgrade_entry(path, "alice", old, "pw", "md5"), -1);
	got = read_all(path, &len);
	assert_int_equal(len, strlen(text));
	assert_memory_equal(got, text, len);
	free(got);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st2.st_ino, st.st_ino);	/* not even replaced */
	assert_int_equal(dir_entries(), 1);
	/* a missing file */
	assert_int_equal(upgrade_entry("/nonexistent/privpop/passwd", "bob",
	    old, "pw", "yescrypt"), -1);
}

/* Two users with the same old hash: only the one named changes. */
static void
test_entry_same_hash_other_user(void **state)
{
	char old[CRYPT_OUTPUT_SIZE], text[1024], want_head[64];
	char *got;
	size_t len;

	(void)state;
	snprintf(old, sizeof(old), "%s", make_hash("$1$", 0, "shared"));
	assert_true(snprintf(text, sizeof(text),
	    "ann:%s:1000:1000::/h/a:\n"
	    "ben:%s:1001:1001::/h/b:\n", old, old) < (int)sizeof(text));
	write_file(path, text, 0600);
	assert_int_equal(upgrade_entry(path, "ben", old, "shared", "sha512"),
	    0);
	got = read_all(path, &len);
	snprintf(want_head, sizeof(want_head), "ann:");
	assert_int_equal(strncmp(got, want_head, 4), 0);
	assert_int_equal(strncmp(got + 4, old, strlen(old)), 0);
	assert_non_null(strstr(got, "\nben:$6$"));
	assert_null(strstr(strstr(got, "\nben:"), old));
	free(got);
}

/*
 * passwd_file.h allows a crypt(3) hash "optionally prefixed {CRYPT}";
 * privpop-auth passes the hash without the prefix (pwf_entry.secret).
 * Such an entry is upgraded too (keeping the prefix or not), with the
 * rest of the file unchanged.
 */
static void
test_entry_crypt_prefix(void **state)
{
	char old[CRYPT_OUTPUT_SIZE], text[1024], head[64];
	const char *tail = ":1001:1001::/h/b:\nzed:{PLAIN}z:1:1::/h/z:\n";
	char *got, *h, *end;
	size_t len;

	(void)state;
	snprintf(old, sizeof(old), "%s", make_hash("$1$", 0, "pw"));
	snprintf(head, sizeof(head), "a:{PLAIN}x:1:1::/h/a:\nbob:");
	assert_true(snprintf(text, sizeof(text), "%s{CRYPT}%s%s", head, old,
	    tail) < (int)sizeof(text));
	write_file(path, text, 0600);
	assert_int_equal(upgrade_entry(path, "bob", old, "pw", "yescrypt"),
	    0);
	got = read_all(path, &len);
	assert_memory_equal(got, head, strlen(head));
	assert_string_equal(got + len - strlen(tail), tail);
	h = got + strlen(head);
	if (strncmp(h, "{CRYPT}", 7) == 0)
		h += 7;
	end = got + len - strlen(tail);
	*end = '\0';
	assert_int_equal(strncmp(h, "$y$", 3), 0);
	assert_true(crypt_ok(h, "pw"));
	free(got);
}

/*
 * What someone who can create files beside the passwd-file leaves at the
 * temporary name the rewrite once used (a hard link to another file, a
 * symlink) is neither written nor renamed into place; the upgrade still
 * happens.
 */
static void
test_entry_planted_temp(void **state)
{
	char old[CRYPT_OUTPUT_SIZE], text[512], victim[400], planted[400];
	struct stat st, vst;
	size_t len;
	char *got;
	int i;

	(void)state;
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(planted, sizeof(planted), "%s.privpop-upgrade", path);
	for (i = 0; i < 2; i++) {
		snprintf(old, sizeof(old), "%s", make_hash("$1$", 0, "pw"));
		snprintf(text, sizeof(text), "u:%s:1000:1000::/h:\n", old);
		write_file(path, text, 0600);
		write_file(victim, "not the passwd-file\n", 0644);
		unlink(planted);
		if (i == 0)
			assert_int_equal(link(victim, planted), 0);
		else
			assert_int_equal(symlink(victim, planted), 0);
		assert_int_equal(stat(victim, &vst), 0);
		assert_int_equal(upgrade_entry(path, "u", old, "pw",
		    "yescrypt"), 0);
		got = read_all(victim, &len);
		assert_string_equal(got, "not the passwd-file\n");
		free(got);
		assert_int_equal(stat(path, &st), 0);
		assert_true(st.st_ino != vst.st_ino);
		got = read_all(path, &len);
		assert_int_equal(strncmp(got, "u:$y$", 5), 0);
		free(got);
		assert_int_equal(lstat(planted, &st), 0);
		assert_true(i == 0 ? S_ISREG(st.st_mode) : S_ISLNK(st.st_mode));
		/* passwd, victim, what was planted: no temporary file left */
		assert_int_equal(dir_entries(), 3);
	}
}

/* In a directory others can write to (not sticky), nothing is
 * rewritten; in a sticky one it is. */
static void
test_entry_unsafe_dir(void **state)
{
	char old[CRYPT_OUTPUT_SIZE], text[512];
	size_t len;
	char *got;

	(void)state;
	snprintf(old, sizeof(old), "%s", make_hash("$1$", 0, "pw"));
	snprintf(text, sizeof(text), "u:%s:1000:1000::/h:\n", old);
	write_file(path, text, 0600);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(upgrade_entry(path, "u", old, "pw", "yescrypt"), -1);
	got = read_all(path, &len);
	assert_string_equal(got, text);
	free(got);
	assert_int_equal(chmod(dir, 0770), 0);
	assert_int_equal(upgrade_entry(path, "u", old, "pw", "yescrypt"), -1);
	assert_int_equal(chmod(dir, 01777), 0);
	assert_int_equal(upgrade_entry(path, "u", old, "pw", "yescrypt"), 0);
	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(dir_entries(), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_weak),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test_setup_teardown(test_entry_yescrypt,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_entry_bcrypt,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_entry_sha512,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_entry_last_line_no_newline,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_entry_mode_0600,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_entry_changed_meanwhile,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_entry_same_hash_other_user,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_entry_crypt_prefix,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_entry_planted_temp,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_entry_unsafe_dir,
		    setup_dir, teardown_dir),
	};

	/* upgrade_entry logs; keep it on stderr, out of syslog */
	log_open("test_upgrade", 1, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
