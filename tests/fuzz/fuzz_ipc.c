/* IPC datagrams: ipc_decode and the payload getters.  The privileged
 * helper privpop-auth decodes these from the (untrusted) session child.
 *
 * Input: one selector byte, then the datagram (8-byte header, payload).
 * ipc_decode checks the payload against its type's layout (the table in
 * ipc.c, ipc_layout), so a decoded message must walk with that layout.
 * Selector bit 7 set: walk it field by field with the table's bounds
 * (as the real receivers do) and msg_end; any failure aborts.
 * Clear: a free getter sequence, 2 bits a step from bits 0..5, with the
 * string limit chosen by bit 6 and the step.
 * Then, whatever the selector, the typed decoder of the message's type
 * (common/ipc_auth.c, ipc_master.c, ipc_store.c), as its receiver calls
 * it: a string it returns lies in the payload. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "ipc_auth.h"
#include "ipc_master.h"
#include "peeraddr.h"
#include "ipc_store.h"

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

/* A string a decoder returned: inside the payload, NUL-terminated. */
static void
in_payload(const void *p)
{
	const char *s = p;

	if (s == NULL)
		return;
	if (s < (const char *)m.data || s >= (const char *)m.data + m.len ||
	    memchr(s, '\0', (size_t)((const char *)m.data + m.len - s)) ==
	    NULL)
		abort();
}

static void
typed(void)
{
	struct ipc_store_init in;
	const unsigned char *bp = NULL;
	const char *a = NULL, *b = NULL;
	uint32_t u1, u2, u3;
	uint64_t sst[SST_COUNT];
	uint64_t q;
	uid_t uid;
	gid_t g1, g2;
	size_t n;
	int i1, i2, fd;

	m.rpos = 0;
	switch (m.type) {
	case MSG_SESSION_HELLO:
		if (ipc_get_session_hello(&m, &u1, &u2, &a, &b) == 0) {
			in_payload(a);
			in_payload(b);
		}
		break;
	case MSG_AUTH_PEER:
		(void)ipc_get_auth_peer(&m, &fd);
		break;
	case MSG_AUTH_PROXY: {
		struct ipc_proxy px;

		if (ipc_get_auth_proxy(&m, &px) == 0) {
			in_payload(px.src);
			in_payload(px.dst);
			if (px.local > 1 || px.ssl > 1 || px.src_port > 65535 ||
			    px.dst_port > 65535 || (px.local ? *px.src != '\0' :
			    !peer_addr_valid(px.src) ||
			    strcmp(px.src, PEER_LOCAL) == 0))
				abort();
		}
		break;
	}
	case MSG_AUTH_LOGIN:
	case MSG_AUTH_APOP:
	case MSG_AUTH_CRAM:
		if ((m.type == MSG_AUTH_LOGIN ?
		    ipc_get_auth_login(&m, &a, &b) : m.type == MSG_AUTH_APOP ?
		    ipc_get_auth_apop(&m, &a, &b) :
		    ipc_get_auth_cram(&m, &a, &b)) == 0) {
			in_payload(a);
			in_payload(b);
		}
		break;
	case MSG_AUTH_SCRAM_FIRST:
		if (ipc_get_auth_scram_first(&m, &i1, &a, &b) == 0) {
			in_payload(a);
			in_payload(b);
			/* privpop-auth trusts these: a nonce of printable
			 * characters without ',', nothing without a user */
			if ((i1 != 0 && i1 != 1) || strchr(b, ',') != NULL ||
			    (*a == '\0' && *b != '\0') ||
			    (*a != '\0' && *b == '\0'))
				abort();
		}
		break;
	case MSG_AUTH_SCRAM_FINAL:
		if (ipc_get_auth_scram_final(&m, &i1, &bp) == 0 &&
		    (i1 == SCRAM_FINAL_PROOF ? bp == NULL || bp < m.data ||
		    bp + SCRAM_PROOF_LEN > m.data + m.len : bp != NULL))
			abort();
		break;
	case MSG_SESSION_SASL_CHALLENGE:
		if (ipc_get_session_sasl_challenge(&m, &a, 1024) == 0)
			in_payload(a);
		break;
	case MSG_AUTH_TLS_START:
		(void)ipc_get_auth_tls_start(&m);
		break;
	case MSG_AUTH_TLS_SIGN:
		if (ipc_get_auth_tls_sign(&m, &u1, &u2, &bp, &n) == 0 &&
		    (bp < m.data || bp + n > m.data + m.len))
			abort();
		break;
	case MSG_SESSION_TLS_SIGNED:
		if (ipc_get_session_tls_signed(&m, &bp, &n, 512) == 0 &&
		    (n > 512 || bp < m.data || bp + n > m.data + m.len))
			abort();
		break;
	case MSG_SESSION_AUTH_OK:
		/* no descriptor came: the decoder must refuse */
		if (ipc_get_session_auth_ok(&m, &a, &fd) == 0)
			abort();
		break;
	case MSG_SESSION_AUTH_FAIL:
		(void)ipc_get_session_auth_fail(&m, &u1);
		break;
	case MSG_SLOT_CONN:
		if (ipc_get_slot_conn(&m, &i1, &i2, &a, &fd) == 0)
			abort();
		break;
	case MSG_MASTER_SLOT_PID:
		(void)ipc_get_master_slot_pid(&m, &u1);
		break;
	case MSG_MASTER_PENALTY:
		if (ipc_get_master_penalty(&m, &i1, &a, &i2) == 0) {
			in_payload(a);
			if ((i1 != 0 && i1 != 1) ||
			    strlen(a) >= PENALTY_ADDR_MAX ||
			    i2 < 0 || i2 >= AUTH_METHOD_COUNT)
				abort();
		}
		break;
	case MSG_MASTER_LOGIN:
		if (ipc_get_master_login(&m, &a, &b, &i1) == 0) {
			in_payload(a);
			in_payload(b);
			/* the master shows them as fields of a table */
			if (*a == '\0' || strlen(a) > POP3_MAX_USER ||
			    strlen(b) != SESSION_ID_LEN ||
			    strcspn(a, " \t\n\r") != strlen(a) ||
			    (i1 != 0 && i1 != 1))
				abort();
		}
		break;
	case MSG_MASTER_PEER:
		if (ipc_get_master_peer(&m, &a) == 0) {
			in_payload(a);
			if (!peer_addr_valid(a) || strcmp(a, PEER_LOCAL) == 0 ||
			    strchr(a, '%') != NULL)
				abort();
		}
		break;
	case MSG_MASTER_CTL_REQUEST:
		if (ipc_get_master_ctl_request(&m, &u1, &a) == 0) {
			in_payload(a);
			if (u1 == 0 || u1 >= CTL_CMD_MAX ||
			    strlen(a) > CTL_ARG_MAX ||
			    strcspn(a, " \t\n\r") != strlen(a))
				abort();
		}
		break;
	case MSG_CTL_ANSWER:
		/* no descriptor comes with a fuzzed datagram: optional */
		if (ipc_get_ctl_answer(&m, &u1, &u2, &fd) == 0 &&
		    (u1 >= CTL_ERR_MAX || fd != -1))
			abort();
		break;
	case MSG_MASTER_SESSION_STATS:
		/* the master adds them: clamped, whatever came */
		if (ipc_get_master_session_stats(&m, sst) == 0)
			for (u1 = 0; u1 < SST_COUNT; u1++)
				if (sst[u1] > SST_DELTA_MAX)
					abort();
		break;
	case MSG_METRICS_SNAPSHOT:
		/* no descriptor comes with a fuzzed datagram: required */
		if (ipc_get_metrics_snapshot(&m, &fd) == 0)
			abort();
		break;
	case MSG_STORE_SPAWN:
		if (ipc_get_store_spawn(&m, &uid, &g1, &g2, &fd) == 0)
			abort();
		break;
	case MSG_LOCKD_REQUEST:
		if (ipc_get_lockd_request(&m, &u1, &a, 1024, &u2, &fd) == 0)
			in_payload(a);
		break;
	case MSG_LOCKD_RESULT:
		(void)ipc_get_lockd_result(&m, &i1, &i2);
		break;
	case MSG_STORE_INIT:
		if (ipc_get_store_init(&m, &in) == 0) {
			in_payload(in.user);
			in_payload(in.lock_node);
		}
		break;
	case MSG_STORE_LIST:
		(void)ipc_get_store_list(&m, &u1);
		break;
	case MSG_STORE_UIDL:
		(void)ipc_get_store_uidl(&m, &u1);
		break;
	case MSG_STORE_RETR:
		(void)ipc_get_store_retr(&m, &u1);
		break;
	case MSG_STORE_TOP:
		(void)ipc_get_store_top(&m, &u1, &u2);
		break;
	case MSG_STORE_DELE:
		(void)ipc_get_store_dele(&m, &u1);
		break;
	case MSG_STORE_RSET:
		(void)ipc_get_store_rset(&m);
		break;
	case MSG_STORE_QUIT:
		(void)ipc_get_store_quit(&m);
		break;
	case MSG_STORE_RETR_AHEAD:
		(void)ipc_get_store_retr_ahead(&m, &u1);
		break;
	case MSG_STORE_SHM_DONE:
		(void)ipc_get_store_shm_done(&m);
		break;
	case MSG_SESSION_STORE_READY:
		(void)ipc_get_session_store_ready(&m, &u1, &q);
		break;
	case MSG_SESSION_OK:
		if (ipc_get_session_ok(&m, &u1, &q, &a) == 0)
			in_payload(a);
		break;
	case MSG_SESSION_ERR:
		(void)ipc_get_session_err(&m, &u1);
		break;
	case MSG_SESSION_LOGIN_DELAY:
		(void)ipc_get_session_login_delay(&m, &u1);
		break;
	case MSG_SESSION_DATA_SHM:
		(void)ipc_get_session_data_shm(&m, &u1, &u2, &u3);
		break;
	case MSG_SESSION_DATA:
		if (ipc_get_session_data(&m, &bp, &n) == 0 && n > 0 &&
		    (bp < m.data || bp + n > m.data + m.len))
			abort();
		break;
	case MSG_SESSION_END:
		(void)ipc_get_session_end(&m);
		break;
	default:
		/* the rest carry only a descriptor, which a fuzzed
		 * datagram never brings */
		break;
	}
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
		typed();
	} else if (m.type != MSG_NONE)
		abort();
	free(dg);
	return 0;
}
