/*
 * PAM for system users, inside privpop-auth (root).  One PAM transaction
 * per privpop-auth process: authenticate and check the account; with
 * pam_session = yes also establish credentials and open the session,
 * which is closed when the mailstore worker has exited.
 */
#ifndef PRIVPOP_PAM_AUTH_H
#define PRIVPOP_PAM_AUTH_H

#include <stddef.h>

enum pamb_result {
	PAMB_OK = 0,
	PAMB_FAIL,		/* bad password, unknown, locked, expired */
	PAMB_CHANGE,		/* a password change is required */
	PAMB_ERROR		/* PAM itself failed: [SYS/TEMP] */
};

/* Authenticate user with pass from addr through service, answering only
 * the password prompt; a module that hangs is cut off after timeout
 * seconds (the helper exits, the session answers [SYS/TEMP]).  On
 * PAMB_OK the PAM user name (which a module may have mapped) is in
 * canon. */
enum pamb_result pamb_authenticate(const char *service, const char *user,
	    const char *pass, const char *addr, int timeout, char *canon,
	    size_t canonlen);
/* pam_setcred + pam_open_session after a successful authentication. */
int	pamb_open_session(void);
/* Whether a PAM transaction is open (it must be closed when the
 * mailstore worker ends). */
int	pamb_active(void);
/* pam_close_session + pam_setcred(DELETE) + pam_end; safe to call when
 * nothing is open. */
void	pamb_close(void);

#endif
