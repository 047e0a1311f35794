/*
 * The client's SCRAM-SHA-256 messages (RFC 5802, RFC 7677), parsed in
 * the session child, so privpop-auth (root) takes fields, never SCRAM
 * syntax.  Only what privpop offers: no channel binding ("n,," or
 * "y,,"), no authzid, no extensions.
 */
#ifndef PRIVPOP_SCRAM_MSG_H
#define PRIVPOP_SCRAM_MSG_H

#include <stddef.h>

#include "limits.h"

struct scram_client_first {
	int	gs2_y;				/* "y,," (1) or "n,," (0) */
	char	user[POP3_MAX_USER + 1];	/* unescaped */
	char	cnonce[SCRAM_NONCE_MAX + 1];
};

/* "gs2-header,n=<saslname>,r=<nonce>" and nothing more: 0, or -1 for
 * anything else (f is then zeroed). */
int	scram_parse_client_first(const char *msg, struct scram_client_first *f);
/* "c=<gs2 header in base64>,r=<nonce>,p=<proof>" and nothing more,
 * where the nonce is the r= of server_first (privpop-auth's answer):
 * 0 with the decoded proof, or -1. */
int	scram_parse_client_final(const char *msg, int gs2_y,
	    const char *server_first, unsigned char proof[SCRAM_PROOF_LEN]);

#endif
