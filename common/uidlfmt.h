/*
 * pop3_uidl_format: the UIDL a Maildir message has under Dovecot, from
 * its dovecot-uidlist record, or an mbox message from its X-UID: and
 * the first message's X-IMAPbase:, rendered from the same template
 * Dovecot uses (Dovecot 2.3's var_expand, the subset that means
 * something for a Maildir; an mbox message has only %u and %v):
 *	%u %{uid}		the message's IMAP UID
 *	%v %{uidvalidity}	the mailbox's UIDVALIDITY
 *	%f %{filename}		the file name up to ':' (Dovecot: maildir only)
 *	%g %{guid}		the message's GUID (its G record, else %f)
 *	%%			a '%'
 * each with an optional width ("0" first: pad with zeros, never cut;
 * else cut to the width) and modifiers X (the decimal value in hex,
 * lower case, as Dovecot's "%llx"), U (upper case), L (lower case).
 * Dovecot's %m (an MD5 of the headers, mbox only in Dovecot) and the
 * other modifiers are refused when the configuration is read.
 */
#ifndef PRIVPOP_UIDLFMT_H
#define PRIVPOP_UIDLFMT_H

#include <stddef.h>
#include <stdint.h>

#define UIDLFMT_DEFAULT	"%08Xu%08Xv"

struct uidlfmt_vars {
	uint32_t	 uid;
	uint32_t	 uidvalidity;
	const char	*filename;
	const char	*guid;
};

/* 0 when fmt is a template this file renders, else -1. */
int	uidlfmt_check(const char *fmt);

/* Render fmt into out (outsz bytes with the NUL): 0, or -1 when fmt is
 * not valid, names %f or %g while filename is NULL (an mbox message),
 * or the result does not fit. */
int	uidlfmt_render(const char *fmt, const struct uidlfmt_vars *v,
	    char *out, size_t outsz);

#endif
