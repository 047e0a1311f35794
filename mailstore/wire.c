/*
 * The POP3 wire form of a message (CRLF, dot-stuffing).  Runs as:
 * mailbox owner, in privpop-store.
 */
#include "config.h"

#include <string.h>

#include "wire.h"

void
wire_init(struct wire_enc *w, uint64_t max_body_lines)
{
	memset(w, 0, sizeof(*w));
	w->at_bol = 1;
	w->max_body_lines = max_body_lines;
}

/* A line ends: CRLF for a bare LF, just LF after a CR already sent.
 * o is NULL when only counting; returns where the next byte goes. */
static unsigned char *
end_line(struct wire_enc *w, unsigned char *o)
{
	if (w->prev_cr) {
		if (o != NULL)
			*o++ = '\n';
		w->octets += 1;
	} else {
		if (o != NULL) {
			*o++ = '\r';
			*o++ = '\n';
		}
		w->octets += 2;
	}
	w->prev_cr = 0;
	w->at_bol = 1;
	return o;
}

int
wire_encode(struct wire_enc *w, const unsigned char *in, size_t len,
    struct buf *out)
{
	unsigned char *o = NULL, *o0;
	size_t i = 0;

	if (len == 0)
		return 0;
	/* Room for the worst case (every byte a bare LF) is reserved once,
	 * so the loop writes through a plain pointer and commits at the
	 * end: RETR streams whole mailboxes through here, a line at a
	 * time, and per-line buffer calls cost as much as the copying. */
	if (out != NULL) {
		if (buf_reserve(out, 2 * len) == -1)
			return -1;
		o = buf_tail(out);
	}
	o0 = o;
	while (i < len && !w->done) {
		const unsigned char *nl = memchr(in + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - in) : len;

		if (end > i) {
			size_t k;

			if (o != NULL) {
				if (w->at_bol && in[i] == '.')
					*o++ = '.';	/* stuffing, not counted */
				memcpy(o, in + i, end - i);
				o += end - i;
			}
			w->octets += end - i;
			w->at_bol = 0;
			w->prev_cr = in[end - 1] == '\r';
			/* only the header part asks whether a line is empty */
			for (k = i; !w->in_body && !w->line_has_text && k < end;
			    k++)
				if (in[k] != '\r')
					w->line_has_text = 1;
			i = end;
		}
		if (nl == NULL)
			break;
		i++;
		o = end_line(w, o);
		if (!w->in_body) {
			if (!w->line_has_text) {
				w->in_body = 1;
				if (w->max_body_lines == 0)
					w->done = 1;
			}
		} else if (++w->body_lines >= w->max_body_lines)
			w->done = 1;
		w->line_has_text = 0;
	}
	if (out != NULL)
		buf_commit(out, (size_t)(o - o0));
	return 0;
}

int
wire_finish(struct wire_enc *w, struct buf *out)
{
	unsigned char *o;

	if (w->at_bol || w->done)
		return 0;
	if (out == NULL) {
		(void)end_line(w, NULL);
		return 0;
	}
	if (buf_reserve(out, 2) == -1)
		return -1;
	o = buf_tail(out);
	buf_commit(out, (size_t)(end_line(w, o) - o));
	return 0;
}
