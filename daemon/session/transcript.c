/*
 * The protocol transcript; see transcript.h.  Every line goes through
 * esc(), so a client's control bytes cannot forge log lines, and is cut
 * at TRANSCRIPT_LINE_MAX.
 *
 * Runs as: privpop (session child).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addrlist.h"
#include "conf.h"
#include "limits.h"
#include "log.h"
#include "transcript.h"

int transcript_active;

#define MASK	"*****"		/* one length, whatever it hides */

/* transcript_dir: the file the master made for this session, or -1,
 * and what has been written to it */
static int tfd = -1;
static uint64_t tfile_bytes;

void
transcript_file(int fd)
{
	tfd = fd;
}

/* One line to the file: the time (UTC: a chroot has no zone files),
 * the direction mark, the text; written whole by one write(2). */
static void
file_line(const char *mark, const char *text)
{
	char line[TRANSCRIPT_LINE_MAX + 96];
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ "
	    "%s %s\n", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, mark,
	    text);
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	if (tfile_bytes + (uint64_t)n > TRANSCRIPT_FILE_MAX) {
		/* said once, then nothing more */
		if (tfile_bytes <= TRANSCRIPT_FILE_MAX) {
			static const char cut[] = "*** (the transcript stops "
			    "here: TRANSCRIPT_FILE_MAX)\n";

			(void)!write(tfd, cut, sizeof(cut) - 1);
			tfile_bytes = TRANSCRIPT_FILE_MAX + 1;
		}
		return;
	}
	tfile_bytes += (uint64_t)n;
	(void)!write(tfd, line, (size_t)n);
}

void
transcript_summary(const char *line)
{
	if (transcript_active && tfd != -1)
		file_line("***", line);
}

/* privpopctl's, from the master with the connection */
static int runtime_on;
static char runtime_users[CTL_TRANSCRIPT_USERS_LEN];

void
transcript_runtime(int on, const char *users)
{
	runtime_on = on;
	snprintf(runtime_users, sizeof(runtime_users), "%s", users);
}

static struct {
	int		 holding;	/* until the login says */
	const char	*users;		/* transcript_users */
	int		 lists;		/* transcript_lists */
	const char	*id, *addr;
	char		 hold[TRANSCRIPT_HOLD_MAX];
	size_t		 held;
	unsigned	 dropped;	/* lines the hold had no room for */
	int		 in_listing;
	unsigned	 listed;	/* lines of the listing so far */
	char		 part[TRANSCRIPT_LINE_MAX];	/* a relayed line */
	size_t		 partlen;
} t;

/* n bytes of p, printable, into out: other bytes as \xNN, "..." when
 * cut. */
static void
esc(const char *p, size_t n, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (o + 8 >= outlen) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

/* dir: '<' from the client, '>' from the server */
static void
emit(char dir, const char *text)
{
	const char *mark = dir == '<' ? "\xc2\xab" : "\xc2\xbb";	/* « » */
	size_t n = strlen(text) + 2;

	if (!t.holding) {
		if (tfd != -1)
			file_line(mark, text);
		else
			log_info("transcript: sess=%s addr=%s %s %s", t.id,
			    t.addr, mark, text);
		return;
	}
	if (n > sizeof(t.hold) - t.held) {
		t.dropped++;
		return;
	}
	t.hold[t.held] = dir;
	memcpy(t.hold + t.held + 1, text, n - 1);
	t.held += n;
}

static int
listed(const char *list, const char *word)
{
	const char *w;
	size_t n;

	while (list_next(&list, &w, &n))
		if (n == strlen(word) && strncmp(w, word, n) == 0)
			return 1;
	return 0;
}

void
transcript_start(const struct conf *c, const char *sess_id,
    const char *addr)
{
	memset(&t, 0, sizeof(t));
	t.id = sess_id;
	t.addr = addr;
	t.lists = c->transcript_lists;
	t.users = c->transcript_users;
	if (c->transcript || runtime_on || (c->transcript_networks[0] != '\0' &&
	    addrlist_match(addr, c->transcript_networks)))
		transcript_active = 1;
	else if (c->transcript_users[0] != '\0' || runtime_users[0] != '\0')
		transcript_active = t.holding = 1;
}

void
transcript_login(const char *user)
{
	size_t o, n;
	char line[TRANSCRIPT_LINE_MAX + 32];

	if (!t.holding)
		return;
	t.holding = 0;
	if (!listed(t.users, user) && !listed(runtime_users, user)) {
		transcript_active = 0;
		if (tfd != -1)
			close(tfd);	/* left empty: the master removes it */
		tfd = -1;
		explicit_bzero(t.hold, t.held);
		return;
	}
	for (o = 0; o < t.held; o += n + 2) {
		n = strlen(t.hold + o + 1);
		emit(t.hold[o], t.hold + o + 1);
	}
	explicit_bzero(t.hold, t.held);
	t.held = 0;
	if (t.dropped > 0) {
		snprintf(line, sizeof(line), "(%u more lines before the "
		    "login, not kept)", t.dropped);
		emit('>', line);
	}
}

/* The verb of a command line and where its arguments start. */
static size_t
verb_len(const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < len && line[i] != ' '; i++)
		;
	return i;
}

void
transcript_command(const char *line, size_t len)
{
	char text[TRANSCRIPT_LINE_MAX + sizeof(" " MASK)];
	char shown[TRANSCRIPT_LINE_MAX];
	size_t v = verb_len(line, len), keep = len;

	if (!transcript_active)
		return;
	/* what is shown: up to the secret, then MASK */
	if (v == 4 && strncasecmp(line, "PASS", 4) == 0 && len > v)
		keep = v;
	else if (v == 4 && len > v && (strncasecmp(line, "APOP", 4) == 0 ||
	    strncasecmp(line, "AUTH", 4) == 0)) {
		/* APOP name digest, AUTH mechanism [initial-response] */
		keep = v + 1 + verb_len(line + v + 1, len - v - 1);
		if (keep >= len)
			keep = len;
	}
	esc(line, keep, shown, sizeof(shown));
	snprintf(text, sizeof(text), "%s%s", shown, keep < len ? " " MASK :
	    "");
	emit('<', text);
}

void
transcript_sasl_response(const char *line, size_t len)
{
	if (!transcript_active)
		return;
	emit('<', len == 1 && line[0] == '*' ? "*" : MASK);
}

static void
listing_line(const char *p, size_t n)
{
	char text[TRANSCRIPT_LINE_MAX];

	t.listed++;
	if (t.lists) {
		esc(p, n, text, sizeof(text));
		emit('>', text);
	}
}

void
transcript_listing_end(void)
{
	char text[64];

	if (!transcript_active || !t.in_listing)
		return;
	t.in_listing = 0;
	t.partlen = 0;
	if (!t.lists) {
		snprintf(text, sizeof(text), "(%u line%s)", t.listed,
		    t.listed == 1 ? "" : "s");
		emit('>', text);
	}
	emit('>', ".");
}

void
transcript_reply(const char *line, size_t len)
{
	char text[TRANSCRIPT_LINE_MAX];

	if (!transcript_active)
		return;
	if (t.in_listing) {
		if (len == 1 && line[0] == '.')
			transcript_listing_end();
		else
			listing_line(line, len);
		return;
	}
	esc(line, len, text, sizeof(text));
	emit('>', text);
}

void
transcript_listing(void)
{
	if (!transcript_active)
		return;
	t.in_listing = 1;
	t.listed = 0;
	t.partlen = 0;
}

void
transcript_relayed(const void *p, size_t len)
{
	const char *s = p, *e;
	size_t n;

	if (!transcript_active || !t.in_listing)
		return;
	while (len > 0) {
		if ((e = memchr(s, '\n', len)) == NULL) {
			/* a line cut between two messages: keep its start */
			n = len < sizeof(t.part) - t.partlen ? len :
			    sizeof(t.part) - t.partlen;
			memcpy(t.part + t.partlen, s, n);
			t.partlen += n;
			return;
		}
		n = (size_t)(e - s);
		if (t.partlen > 0) {
			size_t m = n < sizeof(t.part) - t.partlen ? n :
			    sizeof(t.part) - t.partlen;

			memcpy(t.part + t.partlen, s, m);
			t.partlen += m;
			listing_line(t.part, t.partlen > 0 &&
			    t.part[t.partlen - 1] == '\r' ? t.partlen - 1 :
			    t.partlen);
			t.partlen = 0;
		} else
			listing_line(s, n > 0 && s[n - 1] == '\r' ? n - 1 : n);
		len -= (size_t)(e - s) + 1;
		s = e + 1;
	}
}
