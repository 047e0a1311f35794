/*
 * Streaming mbox parser (RFC 4155 "From " separated, as Debian's
 * delivery agents write it: Postfix local, procmail, maildrop, mailutils).
 *
 * - A message starts at a line beginning "From " that is the first line
 *   of the file or follows an empty line; any other "From " line is body.
 * - The empty line before a separator, and one at the end of the file,
 *   belong to the mbox format, not to the message.
 * - ">From " lines are passed on as they are: Postfix and procmail write
 *   mboxo (they quote "From " but not ">From "), so unquoting would alter
 *   messages that really contain ">From "; the escaped form is what those
 *   agents store and what POP3 servers reading them (Dovecot, popa3d)
 *   serve.
 * - Content-Length: headers are ignored: they lie often enough (edited
 *   spools, concatenated files) that only the separator lines decide.
 * - A message's POP3 size is what wire_encode() makes of its bytes, so the
 *   parser's size and RETR always agree.
 *
 * Digests and headers of a message, for its UIDL (mbox.c picks one):
 * - digest: MD5 of the From_ line and the whole header block (the UIDL
 *   of privpop up to 0.x, kept to recognise the entries of old caches);
 * - key: MD5 of the From_ line and the header lines that mail readers
 *   and IMAP/POP3 servers do not rewrite: every header but Status:,
 *   X-Status:, X-Keywords:, X-UID:, X-IMAP:, X-IMAPbase:,
 *   Content-Length: and X-UIDL: (with their continuation lines);
 * - p3: popa3d's UIDL digest (popa3d 0.5.1 and later, mailbox.c): MD5
 *   of the lines of the delivery headers only, as stored with their LF
 *   and continuation lines: the first Received:, every Delivered-To:,
 *   Date: and Message-ID: when they come before the first Received:,
 *   and X-Delivery-ID: (with a capital X, as popa3d matches it);
 *   names are matched without regard to case; the From_ line is not
 *   hashed.  P3 is set in flags when at least one such line was seen;
 * - the values of X-UIDL: (qpopper, Dovecot's pop3_save_uidl), X-UID:
 *   and X-IMAPbase: (Dovecot, UW-IMAP), checked here: a malformed,
 *   repeated or overlong one is as good as absent.
 */
#ifndef PRIVPOP_MBOX_PARSE_H
#define PRIVPOP_MBOX_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include <md5.h>

#include "limits.h"

/* Header bytes hashed for a message's UIDL; enough for any real header
 * block, and bounded so a pathological header costs nothing. */
#define MBOX_HASH_HEADER_MAX	(64 * 1024)
#define MBOX_DIGEST_LEN		16

#define MBOX_F_P3	0x01	/* p3 hashed at least one line */
#define MBOX_F_XUIDL	0x02	/* xuidl is a valid X-UIDL: value */
#define MBOX_F_XUID	0x04	/* xuid is a valid X-UID: value */
#define MBOX_F_IMAPBASE	0x08	/* uidvalidity, uidnext are valid */

struct mbox_found {
	uint64_t	from_off;	/* the "From " line */
	uint64_t	start;		/* first byte after the "From " line */
	uint64_t	end;		/* end of the message's bytes */
	uint64_t	size;		/* POP3 octets of [start, end) */
	unsigned char	digest[MBOX_DIGEST_LEN];	/* From_ + headers */
	unsigned char	key[MBOX_DIGEST_LEN];	/* minus rewritten ones */
	unsigned char	p3[MBOX_DIGEST_LEN];	/* popa3d's */
	unsigned int	flags;		/* MBOX_F_* */
	uint32_t	xuid;
	uint32_t	uidvalidity, uidnext;	/* X-IMAPbase: its second
					   number is the last UID given */
	char		xuidl[POP3_MAX_UIDL + 1];
};

typedef int (*mbox_found_cb)(void *arg, const struct mbox_found *);

struct mbox_scan {
	mbox_found_cb	 cb;
	void		*arg;
	uint64_t	 off;		/* file offset of the next byte */
	/* the line being read */
	uint64_t	 line_off;
	uint64_t	 line_len;	/* bytes so far, LF excluded */
	unsigned char	 head[5];	/* its first bytes */
	int		 last_cr;	/* its last byte so far is CR */
	/* the line before it */
	int		 prev_blank;	/* empty (or the start of the file) */
	uint64_t	 prev_off;
	/* the message being read */
	int		 in_msg;
	int		 in_headers;
	int		 cand;		/* this line may be a separator */
	uint64_t	 hashed;	/* header bytes hashed */
	uint64_t	 cand_hashed;
	MD5_CTX		 md;		/* the message's headers */
	MD5_CTX		 cand_md;	/* the candidate line */
	MD5_CTX		 kmd;		/* key: headers readers keep */
	MD5_CTX		 cand_kmd;
	uint64_t	 khashed, cand_khashed;
	MD5_CTX		 pmd;		/* popa3d's digest */
	/* the header line being read (in_headers) */
	unsigned char	 hl[MBOX_HDR_LINE_MAX];	/* its first bytes */
	uint64_t	 hl_len;	/* its length so far */
	int		 hl_named;	/* its name is known: */
	int		 hl_key;	/*   hashed into kmd */
	int		 hl_p3;		/*   hashed into pmd */
	int		 hl_kind;	/*   HK_*, for its value */
	int		 p3_received;	/* popa3d: a Received: was seen */
	unsigned int	 bad;		/* MBOX_F_* seen malformed or twice */
	struct mbox_found cur;
	uint64_t	 junk;		/* bytes before the first message */
	int		 failed;	/* a callback or digest failed */
};

/* Start scanning at file offset base, which must be the start of a
 * "From " line or of the file. */
int	mbox_scan_init(struct mbox_scan *, uint64_t base, mbox_found_cb,
	    void *arg);
/* Feed the next bytes; returns 0, or -1 when a callback failed. */
int	mbox_scan_feed(struct mbox_scan *, const unsigned char *, size_t);
/* End of file: report the last message; returns 0 or -1. */
int	mbox_scan_finish(struct mbox_scan *);
void	mbox_scan_free(struct mbox_scan *);

#endif
