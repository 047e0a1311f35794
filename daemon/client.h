/*
 * The client connection of a session child: bounded input and output
 * buffers, poll() timeouts, and the line reader that enforces the
 * RFC 2449 line limit.  (TLS slots in below client_read/client_write.)
 */
#ifndef PRIVPOP_CLIENT_H
#define PRIVPOP_CLIENT_H

#include <stddef.h>

#include "buf.h"
#include "limits.h"

struct client {
	int		 rfd, wfd;
	int		 timeout_ms;
	int		 discarding;	/* inside an overlong line */
	struct buf	 in, out;
	unsigned char	 inmem[SESSION_INBUF];
	unsigned char	 outmem[SESSION_OUTBUF];
	unsigned long long octets_out;
};

enum client_line {
	CL_LINE,	/* a line is in *line_r / *len_r */
	CL_TOOLONG,	/* an overlong line was dropped whole */
	CL_EOF,		/* client closed */
	CL_TIMEOUT,	/* idle for timeout_ms */
	CL_ERROR
};

void	client_init(struct client *, int rfd, int wfd, int timeout_ms);
/* Next command line.  Flushes pending output before it blocks, so
 * pipelined commands are answered in one write.  The line stays valid
 * until the next call. */
enum client_line client_getline(struct client *, const char **line_r,
	    size_t *len_r);
int	client_write(struct client *, const void *, size_t);
int	client_puts(struct client *, const char *);
int	client_printf(struct client *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	client_flush(struct client *);

#endif
