/*
 * Runs as the mailbox owner (never root): privpop-store.
 *
 * Runs as: mailbox owner (privpop-store).
 */
#include "config.h"

#include <string.h>

#include "mbox_parse.h"

static int
line_start(struct mbox_scan *s)
{
	s->line_off = s->off;
	s->line_len = 0;
	s->last_cr = 0;
	/* only a line after an empty one can separate; hash it on the
	 * side until it is known */
	s->cand = s->prev_blank;
	s->cand_hashed = 0;
	if (s->cand)
		MD5Init(&s->cand_md);
	return 0;
}

int
mbox_scan_init(struct mbox_scan *s, uint64_t base, mbox_found_cb cb,
    void *arg)
{
	memset(s, 0, sizeof(*s));
	s->cb = cb;
	s->arg = arg;
	s->off = base;
	s->prev_blank = 1;	/* the start counts as after an empty line */
	s->prev_off = base;
	return line_start(s);
}

void
mbox_scan_free(struct mbox_scan *s)
{
	(void)s;	/* nothing allocated (kept for callers' symmetry) */
}

/* Feed p to ctx while *count stays within MBOX_HASH_HEADER_MAX. */
static int
hash(MD5_CTX *ctx, uint64_t *count, const unsigned char *p, size_t n)
{
	if (*count >= MBOX_HASH_HEADER_MAX)
		return 0;
	if (n > MBOX_HASH_HEADER_MAX - *count)
		n = (size_t)(MBOX_HASH_HEADER_MAX - *count);
	*count += n;
	MD5Update(ctx, p, n);
	return 0;
}

static int
emit(struct mbox_scan *s, uint64_t end)
{
	if (!s->in_msg)
		return 0;
	s->in_msg = 0;
	MD5Final(s->cur.digest, &s->md);
	s->cur.end = end;
	return s->cb(s->arg, &s->cur);
}

/* A whole line has been read (ended by LF, or by the end of the file). */
static int
line_done(struct mbox_scan *s, int at_eof)
{
	int blank = s->line_len == 0 || (s->line_len == 1 && s->last_cr);
	int from = s->line_len >= 5 && memcmp(s->head, "From ", 5) == 0;
	uint64_t next = s->line_off + s->line_len + (at_eof ? 0 : 1);

	if (from && s->cand) {
		MD5_CTX t;

		/* a separator: the empty line before it is not content */
		if (emit(s, s->prev_off) == -1)
			return -1;
		memset(&s->cur, 0, sizeof(s->cur));
		s->cur.from_off = s->line_off;
		s->cur.start = next;
		s->in_msg = 1;
		s->in_headers = 1;
		/* the header digest starts with this From_ line */
		t = s->md;
		s->md = s->cand_md;
		s->cand_md = t;
		s->hashed = s->cand_hashed;
		s->prev_blank = 0;
		return 0;
	}
	if (!s->in_msg) {
		s->junk += next - s->line_off;
	} else {
		if (s->prev_blank)	/* the held-back empty line was content */
			s->cur.size += 2;
		/* POP3 octets: the line without LF and without a CR right
		 * before it, plus CRLF (as wire_encode counts) */
		if (!blank)
			s->cur.size += s->line_len - (s->last_cr ? 1 : 0) + 2;
		else
			s->in_headers = 0;	/* held back, see above */
	}
	s->prev_blank = blank;
	s->prev_off = s->line_off;
	return 0;
}

int
mbox_scan_feed(struct mbox_scan *s, const unsigned char *p, size_t n)
{
	while (n > 0) {
		const unsigned char *nl = memchr(p, '\n', n);
		size_t seg = nl ? (size_t)(nl - p) : n;
		size_t with_lf = seg + (nl ? 1 : 0);
		size_t i;

		for (i = 0; i < seg && s->line_len + i < sizeof(s->head); i++)
			s->head[s->line_len + i] = p[i];
		if (seg > 0) {
			s->last_cr = p[seg - 1] == '\r';
			s->line_len += seg;
		}
		if ((s->in_headers && hash(&s->md, &s->hashed, p, with_lf)) ||
		    (s->cand && hash(&s->cand_md, &s->cand_hashed, p, with_lf)))
			return -1;
		s->off += with_lf;
		p += with_lf;
		n -= with_lf;
		if (nl == NULL)
			break;
		if (line_done(s, 0) == -1 || line_start(s) == -1)
			return -1;
	}
	return 0;
}

int
mbox_scan_finish(struct mbox_scan *s)
{
	if (s->line_len > 0) {
		if (line_done(s, 1) == -1)
			return -1;
		if (s->in_msg && !s->prev_blank)
			return emit(s, s->off);
	}
	/* an empty line at the very end closes the mbox, not the message */
	return emit(s, s->prev_blank ? s->prev_off : s->off);
}
