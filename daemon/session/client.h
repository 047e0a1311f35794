/*
 * The client connection of a session child: bounded input and output
 * buffers, poll() timeouts, and the line reader that enforces the
 * RFC 2449 line limit.  (TLS slots in below client_read/client_write.)
 */
#ifndef PRIVPOP_CLIENT_H
#define PRIVPOP_CLIENT_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/uio.h>

#include "buf.h"
#include "limits.h"

struct client;

/* How bytes move: plain read/write, or TLS (tls_conn.c).  Both return what
 * read(2)/write(2) would; "would block" is -1 with errno EAGAIN and
 * *want_r set to POLLIN or POLLOUT. */
struct client_io {
	long	(*rd)(struct client *, void *, size_t, short *want_r);
	long	(*wr)(struct client *, const void *, size_t, short *want_r);
	/* gather write, or NULL where the transport has none (TLS) */
	long	(*wrv)(struct client *, const struct iovec *, int,
		    short *want_r);
};

struct client {
	const struct client_io *io;
	void		*ssl;		/* SSL * while TLS is on */
	int		 rfd, wfd;
	int		 timeout_ms;	/* a whole line, or one write wait */
	long long	 deadline_ms;	/* no wait ends after this
					   (CLOCK_MONOTONIC ms; 0: none) */
	long long	 line_end_ms;	/* the line being read, or 0 */
	int		 discarding;	/* inside an overlong line */
	size_t		 maxline;	/* longest line, CRLF included */
	struct buf	 in, out;
	unsigned char	 inmem[SESSION_INBUF];
	unsigned char	 outmem[SESSION_OUTBUF];
	unsigned long long octets_out;
	unsigned long long octets_in;
	/* Called when the client is about to be waited for (NULL: never),
	 * and when report_ms (CLOCK_MONOTONIC ms, 0: none) passes during a
	 * wait: the session's reports to the master (session.c). */
	void		(*report)(struct client *);
	long long	 report_ms;
};

enum client_line {
	CL_LINE,	/* a line is in *line_r / *len_r */
	CL_TOOLONG,	/* an overlong line was dropped whole */
	CL_EOF,		/* client closed */
	CL_TIMEOUT,	/* no whole line in timeout_ms, or the deadline */
	CL_ERROR
};

void	client_init(struct client *, int rfd, int wfd, int timeout_ms);
/* CLOCK_MONOTONIC in milliseconds. */
long long client_now_ms(void);
/* How long the next wait may last (ms, 0 when a deadline has passed):
 * timeout_ms, cut to the current line's end and to deadline_ms. */
int	client_wait_ms(const struct client *);
/* Whether deadline_ms is set and has passed. */
int	client_expired(const struct client *);
/* Next command line.  Flushes pending output before it blocks, so
 * pipelined commands are answered in one write.  The whole line must
 * come within timeout_ms (a client that sends a byte at a time gains
 * nothing), and before deadline_ms.  The line stays valid until the
 * next call. */
enum client_line client_getline(struct client *, const char **line_r,
	    size_t *len_r);
/* Overwrite the line client_getline() last returned (it may have held
 * a password): the input buffer would otherwise keep it for the rest
 * of the session.  What was pipelined after it is kept. */
void	client_wipe_line(struct client *, const char *line, size_t len);
/* Write what is buffered, then n bytes from p without copying them,
 * then tail (tail_n bytes, may be 0): for message bodies, so the answer
 * line, a body and its terminator leave in one writev(2) and reach the
 * client as one wakeup.  p must stay unchanged until this returns 0; -1
 * on error or timeout.  Without a gather write (TLS) the tail is
 * buffered and goes with the next answer. */
int	client_write_direct(struct client *, const void *, size_t,
	    const void *tail, size_t tail_n);
int	client_write(struct client *, const void *, size_t);
int	client_puts(struct client *, const char *);
int	client_printf(struct client *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	client_vprintf(struct client *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
int	client_flush(struct client *);
/* Drop buffered input (STLS: nothing sent before the handshake may be
 * executed after it). */
void	client_discard_input(struct client *);
/* Drop buffered output (a client that reads no more is sent nothing
 * more, lest the end wait for it a second time). */
void	client_discard_output(struct client *);

#endif
