/* IPC datagrams: ipc_decode and the payload getters.  The privileged
 * helper privpop-auth decodes these from the (untrusted) session child.
 *
 * Input: one selector byte, then the datagram (8-byte header, payload).
 * Selector bit 7 set: walk the payload with the layout declared for the
 * message type in ipc.h (as the real receivers do) and msg_end.
 * Clear: a free getter sequence, 2 bits a step from bits 0..5, with the
 * string limit chosen by bit 6 and the step. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"

static struct msg m;	/* 16 KiB: keep off the stack */

enum { G_U32, G_U64, G_STR, G_STR2 };

/* Declared payload layouts: 'u' u32, 'q' u64, 's' str, 'b' bytes. */
static const char *const layout[MSG_TYPE_COUNT] = {
	[MSG_SESSION_HELLO] = "uuss",
	[MSG_AUTH_PEER] = "",
	[MSG_AUTH_LOGIN] = "ss",
	[MSG_AUTH_APOP] = "ss",
	[MSG_AUTH_CRAM] = "ss",
	[MSG_AUTH_SCRAM_FIRST] = "s",
	[MSG_AUTH_SCRAM_FINAL] = "s",
	[MSG_SESSION_SASL_CHALLENGE] = "s",
	[MSG_AUTH_TLS_START] = "",
	[MSG_AUTH_TLS_SIGN] = "uub",
	[MSG_SESSION_TLS_SIGNED] = "b",
	[MSG_SESSION_AUTH_OK] = "s",
	[MSG_SESSION_AUTH_FAIL] = "u",
	[MSG_AUTH_SPAWN] = "",
	[MSG_STORE_SPAWN] = "uuu",
	[MSG_STORE_SOCKET] = "",
	[MSG_AUTH_WORKER_PIDFD] = "",
	[MSG_LOCKD_REQUEST] = "usu",
	[MSG_LOCKD_RESULT] = "uu",
	[MSG_SLOT_CONN] = "u",
	[MSG_MASTER_LOGIN] = "",
	[MSG_STORE_INIT] = "ssuuus",
	[MSG_SESSION_STORE_READY] = "uq",
	[MSG_STORE_LIST] = "u",
	[MSG_STORE_UIDL] = "u",
	[MSG_STORE_RETR] = "u",
	[MSG_STORE_TOP] = "uu",
	[MSG_STORE_DELE] = "u",
	[MSG_STORE_RSET] = "",
	[MSG_STORE_QUIT] = "",
	[MSG_STORE_RETR_AHEAD] = "u",
	[MSG_SESSION_OK] = "uqs",
	[MSG_SESSION_ERR] = "u",
	[MSG_SESSION_DATA] = "",
	[MSG_SESSION_DATA_SHM] = "uuu",
	[MSG_STORE_SHM_DONE] = "",
	[MSG_SESSION_END] = "",
};

/* the string limits the real receivers pass, by position */
static const size_t str_max[3] = { POP3_MAX_USER, POP3_MAX_PASS, 63 };

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
		if (sel & 0x80) {
			const char *l = layout[m.type];
			int si = 0, ok = 1;

			/* a type added without a layout here: walk nothing */
			for (; ok && l != NULL && *l != '\0'; l++) {
				if (*l == 'u')
					ok = get(G_U32, 0) == 0;
				else if (*l == 'q')
					ok = get(G_U64, 0) == 0;
				else if (*l == 'b') {
					const unsigned char *bp;
					size_t bl, at = m.rpos;

					ok = msg_get_bytes(&m, &bp, &bl,
					    IPC_MAX_PAYLOAD) == 0;
					if (ok && (bp != m.data + at + 4 ||
					    m.rpos != at + 4 + bl ||
					    m.rpos > m.len))
						abort();
				} else
					ok = get(G_STR, str_max[si++ % 3]) == 0;
			}
			(void)ok;
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
