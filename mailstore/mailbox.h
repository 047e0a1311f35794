/*
 * What privpop-store knows of a message, whatever the mailbox format.
 */
#ifndef PRIVPOP_MAILBOX_H
#define PRIVPOP_MAILBOX_H

#include <stdint.h>

#include "limits.h"

struct mail_msg {
	char		*name;		/* Maildir: "new/x" or "cur/x:2,S" */
	uint64_t	 start, end;	/* mbox: the message's bytes */
	uint64_t	 size;		/* POP3 octets (see wire.h) */
	char		 uidl[POP3_MAX_UIDL + 1];
	int		 deleted;	/* DELE; MAIL_EXPUNGED once removed */
	unsigned char	 size_in_name;	/* Maildir ",W=": not cached */
	unsigned char	 uidl_migrated;	/* Maildir: uidl is another
					   server's (maildir_uidmap.h) */
};

#define MAIL_EXPUNGED	2

/* Why a mailbox could not be opened or changed. */
enum mail_err {
	MAIL_OK = 0,
	MAIL_INUSE,	/* another POP3 session holds it: [IN-USE] */
	MAIL_TEMP,	/* [SYS/TEMP] */
	MAIL_PERM	/* [SYS/PERM] */
};

#endif
