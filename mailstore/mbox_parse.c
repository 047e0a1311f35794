/*
 * Runs as the mailbox owner (never root): privpop-store.
 *
 * Runs as: mailbox owner (privpop-store).
 */
#include "uidl.h"
#include "config.h"

#include <string.h>
#include <strings.h>

#include "mbox_parse.h"
#include "numparse.h"

/* Bytes of a header line that name it: the longest name looked for
 * ("Content-Length:") with its colon, plus one. */
#define HL_NAME_PEEK	16

/* What a header line's value is read for. */
enum { HK_NONE, HK_XUIDL, HK_XUID, HK_IMAPBASE };

/* The headers readers and servers rewrite: not in the key. */
static const char *const rewritten[] = {
	"Status:", "X-Status:", "X-Keywords:", "X-UID:", "X-IMAP:",
	"X-IMAPbase:", "Content-Length:", "X-UIDL:",
};

/* The line b (n bytes) starts with the header name (and colon) nm,
 * in any case. */
static int
named(const unsigned char *b, size_t n, const char *nm)
{
	size_t l = strlen(nm);

	return n >= l && strncasecmp((const char *)b, nm, l) == 0;
}

/* Name the header line from its first bytes (HL_NAME_PEEK of them, or
 * the whole line with its LF): what it is hashed into, and why its
 * value is kept. */
static void
hl_name(struct mbox_scan *s, int eol)
{
	const unsigned char *b = s->hl;
	size_t n = s->hl_len < sizeof(s->hl) ? (size_t)s->hl_len :
	    sizeof(s->hl);
	size_t i;
	int cont = b[0] == ' ' || b[0] == '\t';

	s->hl_named = 1;
	if (eol && ((n == 1 && b[0] == '\n') ||
	    (n == 2 && b[0] == '\r' && b[1] == '\n'))) {
		/* the empty line that ends the headers */
		s->hl_key = s->hl_p3 = 0;
		s->hl_kind = HK_NONE;
		return;
	}
	if (cont) {
		/* a continuation line goes with its header (popa3d:
		 * "inherit fixed"); a folded X-UIDL: is not one */
		if (s->hl_kind == HK_XUIDL)
			s->bad |= MBOX_F_XUIDL;
		s->hl_kind = HK_NONE;
		return;
	}
	s->hl_key = 1;
	for (i = 0; i < sizeof(rewritten) / sizeof(rewritten[0]); i++)
		if (named(b, n, rewritten[i]))
			s->hl_key = 0;
	/* popa3d's choice, by the first character as popa3d does it (a
	 * lower-case "x-delivery-id:" is not one of them there) */
	switch (b[0]) {
	case 'R': case 'r':
		s->hl_p3 = !s->p3_received && named(b, n, "Received:");
		if (s->hl_p3)
			s->p3_received = 1;
		break;
	case 'D': case 'd':
		s->hl_p3 = named(b, n, "Delivered-To:") ||
		    (!s->p3_received && named(b, n, "Date:"));
		break;
	case 'M': case 'm':
		s->hl_p3 = !s->p3_received && named(b, n, "Message-ID:");
		break;
	case 'X':
		s->hl_p3 = named(b, n, "X-Delivery-ID:");
		break;
	default:
		s->hl_p3 = 0;
		break;
	}
	if (named(b, n, "X-UIDL:"))
		s->hl_kind = HK_XUIDL;
	else if (named(b, n, "X-UID:"))
		s->hl_kind = HK_XUID;
	else if (named(b, n, "X-IMAPbase:"))
		s->hl_kind = HK_IMAPBASE;
	else
		s->hl_kind = HK_NONE;
}

static void
hl_hash(struct mbox_scan *s, const unsigned char *p, size_t n)
{
	if (n == 0)
		return;
	if (s->hl_key && s->khashed < MBOX_HASH_HEADER_MAX) {
		size_t k = n;

		if (k > MBOX_HASH_HEADER_MAX - s->khashed)
			k = (size_t)(MBOX_HASH_HEADER_MAX - s->khashed);
		s->khashed += k;
		MD5Update(&s->kmd, p, k);
	}
	if (s->hl_p3) {
		MD5Update(&s->pmd, p, n);
		s->cur.flags |= MBOX_F_P3;
	}
}

/* A value's [*a, *b) without the header name, the line end and the
 * blanks around it; -1 when the line was longer than hl. */
static int
hl_value(struct mbox_scan *s, size_t namelen, size_t *a, size_t *b)
{
	size_t i = namelen, j = (size_t)s->hl_len;

	if (s->hl_len > sizeof(s->hl))
		return -1;
	while (j > i && (s->hl[j - 1] == '\n' || s->hl[j - 1] == '\r' ||
	    s->hl[j - 1] == ' ' || s->hl[j - 1] == '\t'))
		j--;
	while (i < j && (s->hl[i] == ' ' || s->hl[i] == '\t'))
		i++;
	*a = i;
	*b = j;
	return 0;
}

/* One decimal token of [*i, end) into *v (1 to UINT32_MAX); -1 if none. */
static int
token_u32(const unsigned char *p, size_t *i, size_t end, uint32_t *v)
{
	size_t a, b;
	uint64_t x;

	for (a = *i; a < end && (p[a] == ' ' || p[a] == '\t'); a++)
		;
	for (b = a; b < end && p[b] != ' ' && p[b] != '\t'; b++)
		;
	if (parse_uint((const char *)p + a, b - a, 1, UINT32_MAX, &x) == -1)
		return -1;
	*v = (uint32_t)x;
	*i = b;
	return 0;
}

/* The header line ended: keep the value it was read for. */
static void
hl_done(struct mbox_scan *s)
{
	struct mbox_found *c = &s->cur;
	size_t a, b, i;
	uint32_t v, w;

	switch (s->hl_kind) {
	case HK_XUIDL:
		if (c->flags & MBOX_F_XUIDL || hl_value(s, 7, &a, &b) == -1 ||
		    b == a || b - a > POP3_MAX_UIDL) {
			s->bad |= MBOX_F_XUIDL;
			break;
		}
		if (!uidl_valid(s->hl + a, b - a))
			s->bad |= MBOX_F_XUIDL;
		memcpy(c->xuidl, s->hl + a, b - a);
		c->xuidl[b - a] = '\0';
		c->flags |= MBOX_F_XUIDL;
		break;
	case HK_XUID:
		i = 0;
		if (c->flags & MBOX_F_XUID || hl_value(s, 6, &a, &b) == -1 ||
		    (i = a, token_u32(s->hl, &i, b, &v)) == -1 || i != b) {
			s->bad |= MBOX_F_XUID;
			break;
		}
		c->xuid = v;
		c->flags |= MBOX_F_XUID;
		break;
	case HK_IMAPBASE:
		/* "UIDVALIDITY LAST-UID [keywords]": keywords may make the
		 * line longer than hl; the two numbers must be whole in it */
		a = 11;
		b = s->hl_len < sizeof(s->hl) ? (size_t)s->hl_len :
		    sizeof(s->hl);
		while (b > a && (s->hl[b - 1] == '\n' || s->hl[b - 1] == '\r'))
			b--;
		i = a;
		if (c->flags & MBOX_F_IMAPBASE ||
		    token_u32(s->hl, &i, b, &v) == -1 ||
		    token_u32(s->hl, &i, b, &w) == -1 ||
		    (i == b && s->hl_len > sizeof(s->hl))) {
			s->bad |= MBOX_F_IMAPBASE;
			break;
		}
		c->uidvalidity = v;
		c->uidnext = w;
		c->flags |= MBOX_F_IMAPBASE;
		break;
	default:
		break;
	}
}

/* Bytes p[0, n) of a header line (eol: they end it, with its LF). */
static void
hl_feed(struct mbox_scan *s, const unsigned char *p, size_t n, int eol)
{
	uint64_t before = s->hl_len;

	if (n > 0 && s->hl_len < sizeof(s->hl)) {
		size_t k = n < sizeof(s->hl) - s->hl_len ? n :
		    sizeof(s->hl) - (size_t)s->hl_len;

		memcpy(s->hl + s->hl_len, p, k);
	}
	s->hl_len += n;
	if (!s->hl_named) {
		if (s->hl_len < HL_NAME_PEEK && !eol)
			return;
		if (s->hl_len == 0)
			return;
		hl_name(s, eol);
		/* what came before is in hl (less than HL_NAME_PEEK) */
		hl_hash(s, s->hl, (size_t)before);
	}
	if (n > 0)
		hl_hash(s, p, n);
	if (eol) {
		hl_done(s);
		s->hl_len = 0;
		s->hl_named = 0;
	}
}

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
	s->cand_khashed = 0;
	if (s->cand) {
		MD5Init(&s->cand_md);
		MD5Init(&s->cand_kmd);
	}
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
	MD5Final(s->cur.key, &s->kmd);
	MD5Final(s->cur.p3, &s->pmd);
	s->cur.flags &= ~s->bad;
	if (!(s->cur.flags & MBOX_F_XUIDL))
		s->cur.xuidl[0] = '\0';
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
		t = s->kmd;
		s->kmd = s->cand_kmd;
		s->cand_kmd = t;
		s->khashed = s->cand_khashed;
		MD5Init(&s->pmd);
		s->p3_received = 0;
		s->bad = 0;
		s->hl_len = 0;
		s->hl_named = 0;
		s->hl_key = s->hl_p3 = 0;
		s->hl_kind = HK_NONE;
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
		    (s->cand && hash(&s->cand_md, &s->cand_hashed, p, with_lf)) ||
		    (s->cand && hash(&s->cand_kmd, &s->cand_khashed, p,
		    with_lf)))
			return -1;
		if (s->in_msg && s->in_headers)
			hl_feed(s, p, with_lf, nl != NULL);
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
		/* a last header line without its LF */
		if (s->in_msg && s->in_headers && s->hl_len > 0)
			hl_feed(s, NULL, 0, 1);
		if (line_done(s, 1) == -1)
			return -1;
		if (s->in_msg && !s->prev_blank)
			return emit(s, s->off);
	}
	/* an empty line at the very end closes the mbox, not the message */
	return emit(s, s->prev_blank ? s->prev_off : s->off);
}
