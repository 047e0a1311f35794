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
 */
#ifndef PRIVPOP_MBOX_PARSE_H
#define PRIVPOP_MBOX_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include <md5.h>

/* Header bytes hashed for a message's UIDL; enough for any real header
 * block, and bounded so a pathological header costs nothing. */
#define MBOX_HASH_HEADER_MAX	(64 * 1024)
#define MBOX_DIGEST_LEN		16

struct mbox_found {
	uint64_t	from_off;	/* the "From " line */
	uint64_t	start;		/* first byte after the "From " line */
	uint64_t	end;		/* end of the message's bytes */
	uint64_t	size;		/* POP3 octets of [start, end) */
	unsigned char	digest[MBOX_DIGEST_LEN];	/* From_ + headers */
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
