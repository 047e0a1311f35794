/* IPC datagrams: ipc_decode and the payload getters.  The privileged
 * helper privpop-auth decodes these from the (untrusted) session child.
 *
 * Input: one selector byte, then the datagram (8-byte header, payload).
 * ipc_decode checks the payload against its type's layout (the table in
 * ipc.c, ipc_layout), so a decoded message must walk with that layout.
 * Selector bit 7 set: walk it field by field with the table's bounds
 * (as the real receivers do) and msg_end; any failure aborts.
 * Clear: a free getter sequence, 2 bits a step from bits 0..5, with the
 * string limit chosen by bit 6 and the step. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"

static struct msg m;	/* 16 KiB: keep off the stack */

enum { G_U32, G_U64, G_STR, G_STR2 };

static int
get(int op, size_t max)
{
	size_t before = m.rpos;
	uint32_t u32;
	uint64_t u64;
	const char *s;
	int r;

	switch (op) {
	case G_U32:
		r = msg_get_u32(&m, &u32);
		break;
	case G_U64:
		r = msg_get_u64(&m, &u64);
		break;
	default:
		s = NULL;
		r = msg_get_str(&m, &s, max);
		if (r == 0) {
			size_t n;

			/* inside the payload, NUL-terminated, within max */
			if (s < (const char *)m.data ||
			    s >= (const char *)m.data + m.len)
				abort();
			n = strnlen(s, (size_t)((const char *)m.data + m.len -
			    s));
			if (s + n >= (const char *)m.data + m.len || n > max)
				abort();
			if ((size_t)(s - (const char *)m.data) + n + 1 !=
			    m.rpos)
				abort();
		}
		break;
	}
	if (m.rpos > m.len)
		abort();
	if (r == 0 && m.rpos <= before)
		abort();
	if (r == -1 && op != G_STR && op != G_STR2 && m.rpos != before)
		abort();
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t maxes[4] = { 0, 64, POP3_MAX_USER,
	    IPC_MAX_PAYLOAD };
	unsigned char *dg;
	unsigned sel;
	int step;

	if (size < 1)
		return 0;
	sel = data[0];
	/* exact-size heap copy of the datagram so ASan sees overreads */
	dg = malloc(size > 1 ? size - 1 : 1);
	if (dg == NULL)
		return 0;
	memcpy(dg, data + 1, size - 1);
	if (ipc_decode(&m, dg, size - 1) == 0) {
		if (m.type == MSG_NONE || m.type >= MSG_TYPE_COUNT ||
		    m.len > IPC_MAX_PAYLOAD || size - 1 < 8 ||
		    m.len != size - 1 - 8 || m.rpos != 0 || m.fd != -1 ||
		    (m.len > 0 && memcmp(m.data, dg + 8, m.len) != 0))
			abort();
		if (msg_name(m.type) == NULL)
			abort();
		if (ipc_check(&m) != 0 || m.rpos != 0)
			abort();
		if (sel & 0x80) {
			const char *l = ipc_layout(m.type);
			size_t f;
			int rest = 0;

			if (l == NULL)
				abort();
			for (f = 0; l[f] != '\0'; f++) {
				size_t max = ipc_layout_max(m.type, f);

				if (l[f] == 'u') {
					if (get(G_U32, 0) != 0)
						abort();
				} else if (l[f] == 'q') {
					if (get(G_U64, 0) != 0)
						abort();
				} else if (l[f] == 's') {
					if (get(G_STR, max) != 0)
						abort();
				} else if (l[f] == 'b') {
					const unsigned char *bp;
					size_t bl, at = m.rpos;

					if (msg_get_bytes(&m, &bp, &bl,
					    max) != 0 || bl > max ||
					    bp != m.data + at + 4 ||
					    m.rpos != at + 4 + bl ||
					    m.rpos > m.len)
						abort();
				} else
					rest = 1;	/* '*': unchecked */
			}
			/* what ipc_decode let through ends exactly */
			if (!rest && msg_end(&m) != 0)
				abort();
		} else {
			for (step = 0; step < 12; step++) {
				int op = (int)((sel >> ((step % 3) * 2)) & 3);

				if (get(op, maxes[(step + (sel >> 6)) & 3]) ==
				    -1)
					break;
			}
		}
		if ((msg_end(&m) == 0) != (m.rpos == m.len))
			abort();
	} else if (m.type != MSG_NONE)
		abort();
	free(dg);
	return 0;
}
