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

static void
put(struct buf *out, const char *p, size_t n)
{
	if (out != NULL) {
		memcpy(buf_tail(out), p, n);
		buf_commit(out, n);
	}
}

/* A line ends: CRLF for a bare LF, just LF after a CR already sent. */
static void
end_line(struct wire_enc *w, struct buf *out)
{
	if (w->prev_cr) {
		put(out, "\n", 1);
		w->octets += 1;
	} else {
		put(out, "\r\n", 2);
		w->octets += 2;
	}
	w->prev_cr = 0;
	w->at_bol = 1;
}

int
wire_encode(struct wire_enc *w, const unsigned char *in, size_t len,
    struct buf *out)
{
	size_t i = 0;

	if (out != NULL && buf_reserve(out, 2 * len) == -1)
		return -1;
	/* A line at a time: the bytes up to a LF are copied in one piece
	 * (RETR streams whole mailboxes through here). */
	while (i < len && !w->done) {
		const unsigned char *nl = memchr(in + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - in) : len;

		if (end > i) {
			size_t k;

			if (w->at_bol && in[i] == '.')
				put(out, ".", 1);	/* stuffing, not counted */
			put(out, (const char *)in + i, end - i);
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
		end_line(w, out);
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
	return 0;
}

int
wire_finish(struct wire_enc *w, struct buf *out)
{
	if (w->at_bol || w->done)
		return 0;
	if (out != NULL && buf_reserve(out, 2) == -1)
		return -1;
	end_line(w, out);
	return 0;
}
