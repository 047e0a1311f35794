/*
 * A bounded byte buffer: every append and read goes through these
 * functions so the size checks are written once (vsftpd mystr, sshbuf).
 */
#ifndef PRIVPOP_BUF_H
#define PRIVPOP_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	unsigned char	*data;
	size_t		 off;	/* start of unread data */
	size_t		 len;	/* end of data */
	size_t		 cap;	/* allocated */
	size_t		 max;	/* never grow beyond this */
};

/* Fixed-size buffer over caller storage (never grows). */
void	 buf_init_fixed(struct buf *, void *, size_t);
/* Growable buffer up to max bytes. */
int	 buf_init(struct buf *, size_t initial, size_t max);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);

size_t	 buf_used(const struct buf *);
size_t	 buf_room(const struct buf *);
const unsigned char *buf_ptr(const struct buf *);
unsigned char *buf_tail(struct buf *);	/* write position; see buf_commit */

/* Each returns 0, or -1 when the data would exceed max. */
int	 buf_reserve(struct buf *, size_t);
int	 buf_append(struct buf *, const void *, size_t);
int	 buf_puts(struct buf *, const char *);
int	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Nothing is appended when the text does not fit whole (512 bytes a
 * call, and max): a line is never cut. */
int	 buf_vprintf(struct buf *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
void	 buf_commit(struct buf *, size_t);	/* after writing at tail */
void	 buf_consume(struct buf *, size_t);
void	 buf_compact(struct buf *);

#endif
