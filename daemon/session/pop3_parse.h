/*
 * Splitting a POP3 command line (RFC 1939, RFC 2449 section 4).
 * The session child owns all parsing of client bytes.
 */
#ifndef PRIVPOP_POP3_PARSE_H
#define PRIVPOP_POP3_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define POP3_MAX_ARGS	2
#define POP3_VERB_MAX	4

enum pop3_parse {
	P_OK = 0,
	P_EMPTY,	/* nothing on the line */
	P_NUL,		/* the line holds a NUL byte */
	P_BADVERB,	/* keyword not 3-4 letters (or digits after the first) */
	P_TOOMANY,	/* more arguments than the command takes */
	P_MISSING,	/* fewer arguments than the command needs */
	P_BADARG	/* an argument is empty (two spaces) */
};

struct pop3_cmd {
	char		 verb[POP3_VERB_MAX + 1];	/* upper case */
	const char	*rest;		/* everything after "VERB " */
	size_t		 restlen;
	int		 nargs;
	const char	*arg[POP3_MAX_ARGS];
	size_t		 arglen[POP3_MAX_ARGS];
};

/* Split line (without CRLF) into the keyword and the rest. */
enum pop3_parse pop3_parse_line(const char *line, size_t len,
	    struct pop3_cmd *);

/* Split cmd->rest into between min and max space-separated args. */
enum pop3_parse pop3_split_args(struct pop3_cmd *, int min, int max);

/* A message number: digits only, 1..UINT32_MAX.  0 or -1. */
int	pop3_msgno(const char *, size_t, uint32_t *);

/* Find the end of the first line in p[0..len): returns the length of the
 * line content (without CR LF) and sets *used_r to the bytes to consume,
 * or returns -1 when no LF is present yet. */
long	pop3_find_line(const char *p, size_t len, size_t *used_r);

#endif
