/*
 * The bounded buffer.  Runs as: every process: root (master, privpop-
 * auth), privpop (session), mailbox owner (privpop-store).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "limits.h"

void
buf_init_fixed(struct buf *b, void *mem, size_t size)
{
	b->data = mem;
	b->off = b->len = 0;
	b->cap = b->max = size;
}

int
buf_init(struct buf *b, size_t initial, size_t max)
{
	if (initial > max)
		initial = max;
	b->off = b->len = 0;
	b->max = max;
	b->cap = initial;
	b->data = NULL;
	if (initial > 0 && (b->data = malloc(initial)) == NULL)
		return -1;
	return 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

void
buf_reset(struct buf *b)
{
	b->off = b->len = 0;
}

size_t
buf_used(const struct buf *b)
{
	return b->len - b->off;
}

size_t
buf_room(const struct buf *b)
{
	return b->cap - b->len;
}

/* A buffer made with initial size 0 has no storage until the first
 * append: no pointer arithmetic on NULL. */
const unsigned char *
buf_ptr(const struct buf *b)
{
	return b->data == NULL ? NULL : b->data + b->off;
}

unsigned char *
buf_tail(struct buf *b)
{
	return b->data == NULL ? NULL : b->data + b->len;
}

void
buf_compact(struct buf *b)
{
	if (b->off == 0)
		return;
	if (b->len > b->off)
		memmove(b->data, b->data + b->off, b->len - b->off);
	b->len -= b->off;
	b->off = 0;
}

/* Make room for n more bytes at the tail, compacting or growing. */
int
buf_reserve(struct buf *b, size_t n)
{
	size_t need, ncap;
	unsigned char *p;

	if (buf_room(b) >= n)
		return 0;
	buf_compact(b);
	if (buf_room(b) >= n)
		return 0;
	if (n > b->max - b->len)
		return -1;
	need = b->len + n;
	if (b->cap == b->max)
		return -1;	/* fixed storage */
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap > b->max / 2 ? b->max : ncap * 2;
	if (ncap > b->max)
		ncap = b->max;
	if ((p = realloc(b->data, ncap)) == NULL)
		return -1;
	b->data = p;
	b->cap = ncap;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	char tmp[BUF_PRINTF_MAX];
	int n;

	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -1;
	return buf_append(b, tmp, (size_t)n);
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

void
buf_commit(struct buf *b, size_t n)
{
	if (n > buf_room(b))
		abort();
	b->len += n;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n > buf_used(b))
		abort();
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}
