/*
 * The POP3 wire form of a stored message (RFC 1939 section 3): every
 * line ends in CRLF (a bare LF becomes CRLF, an existing CRLF is kept),
 * a line starting with '.' is dot-stuffed, and the last line always ends
 * in CRLF even when the file does not end in a newline.  The size a
 * message has in STAT/LIST is wire_count() of its bytes: the encoded
 * octets without the dot-stuffing and the ".CRLF" terminator.
 */
#ifndef PRIVPOP_WIRE_H
#define PRIVPOP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define WIRE_ALL_LINES	UINT64_MAX

struct wire_enc {
	int		at_bol;		/* next byte starts a line */
	int		prev_cr;	/* last byte seen was CR */
	int		line_has_text;	/* current line has a non-CR byte */
	int		in_body;	/* the header/body blank line passed */
	int		done;		/* TOP limit reached: ignore the rest */
	uint64_t	body_lines;	/* complete body lines emitted */
	uint64_t	max_body_lines;	/* TOP's limit, or WIRE_ALL_LINES */
	uint64_t	octets;		/* counted octets, no dot-stuffing */
};

void	wire_init(struct wire_enc *, uint64_t max_body_lines);
/* Encode all of in into out; out must have room for 2 * len bytes.
 * Returns 0, or -1 if out lacks room (nothing is lost: call with a
 * larger buffer).  With out == NULL only the octets are counted. */
int	wire_encode(struct wire_enc *, const unsigned char *in, size_t len,
	    struct buf *out);
/* Terminate the last line with CRLF if it has none; out may be NULL. */
int	wire_finish(struct wire_enc *, struct buf *out);

#endif
