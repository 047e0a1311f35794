/*
 * Runs as root inside privpop-auth: the PAM conversation and session.
 *
 * Runs as: root (privpop-auth).
 */
#include "config.h"

#include <security/pam_appl.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pam_auth.h"

static pam_handle_t *pamh;
static int session_open, cred_set;

struct conv_data {
	const char	*pass;
	int		 asked;
};

/* Answer one password prompt; any other question fails the login (a
 * POP3 client cannot answer it).  Messages are only logged. */
static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *arg)
{
	struct conv_data *d = arg;
	struct pam_response *r;
	int i;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			if (d->asked++ > 0 ||
			    (r[i].resp = strdup(d->pass)) == NULL)
				goto fail;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			log_debug("pam: %s", msg[i]->msg ? msg[i]->msg : "");
			break;
		default:
			log_info("pam asked a question a POP3 client cannot "
			    "answer: %s", msg[i]->msg ? msg[i]->msg : "");
			goto fail;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (i = 0; i < n; i++)
		if (r[i].resp != NULL) {
			explicit_bzero(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	free(r);
	return PAM_CONV_ERR;
}

/* privpop-auth applies one uniform delay to every failure, so PAM's own
 * (pam_unix asks for 2 s) must not make wrong passwords slower than
 * unknown users. */
static void
no_fail_delay(int status, unsigned int usec, void *arg)
{
	(void)status;
	(void)usec;
	(void)arg;
}

enum pamb_result
pamb_authenticate(const char *service, const char *user, const char *pass,
    const char *addr, int timeout, char *canon, size_t canonlen)
{
	static struct conv_data d;
	static struct pam_conv pc;
	const void *item = NULL;
	int r;

	d.pass = pass;
	d.asked = 0;
	pc.conv = conv;
	pc.appdata_ptr = &d;
	if ((r = pam_start(service, user, &pc, &pamh)) != PAM_SUCCESS) {
		log_warnx("pam_start %s: %s", service, pam_strerror(NULL, r));
		pamh = NULL;
		return PAMB_ERROR;
	}
	pam_set_item(pamh, PAM_RHOST, addr);
	pam_set_item(pamh, PAM_RUSER, user);
	pam_set_item(pamh, PAM_TTY, "pop3");
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_fail_delay);

	/* a hanging module: SIGALRM's default action ends this helper */
	signal(SIGALRM, SIG_DFL);
	alarm((unsigned)timeout);
	r = pam_authenticate(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (r == PAM_SUCCESS) {
		r = pam_acct_mgmt(pamh, PAM_SILENT |
		    PAM_DISALLOW_NULL_AUTHTOK);
		/* Debian's common-account turns pam_unix's PAM_ACCT_EXPIRED
		 * into pam_deny's PAM_AUTH_ERR: say which stage refused */
		if (r != PAM_SUCCESS && r != PAM_NEW_AUTHTOK_REQD &&
		    r != PAM_ACCT_EXPIRED)
			log_info("pam: user %s: account refused by "
			    "pam_acct_mgmt (expired or locked?): %s; answered "
			    "as a failed login", user, pam_strerror(pamh, r));
	}
	alarm(0);
	d.pass = NULL;
	if (r != PAM_SUCCESS) {
		enum pamb_result res;

		switch (r) {
		/* A right password on an expired account or password: only
		 * the log says so; the client's answer is a wrong
		 * password's, which confirms nothing. */
		case PAM_NEW_AUTHTOK_REQD:
			log_info("pam: user %s: password expired (must be "
			    "changed); answered as a failed login", user);
			res = PAMB_CHANGE;
			break;
		case PAM_ACCT_EXPIRED:
			log_info("pam: user %s: account expired; answered as a "
			    "failed login", user);
			res = PAMB_FAIL;
			break;
		case PAM_AUTH_ERR:
		case PAM_USER_UNKNOWN:
		case PAM_PERM_DENIED:
		case PAM_MAXTRIES:
		case PAM_CRED_INSUFFICIENT:
		case PAM_AUTHINFO_UNAVAIL:
		case PAM_CONV_ERR:
			log_debug("pam: %s: %s", user, pam_strerror(pamh, r));
			res = PAMB_FAIL;
			break;
		default:
			log_warnx("pam: %s: %s", user, pam_strerror(pamh, r));
			res = PAMB_ERROR;
		}
		/* the session may try again with a new transaction */
		pam_end(pamh, r);
		pamh = NULL;
		return res;
	}
	if (pam_get_item(pamh, PAM_USER, &item) != PAM_SUCCESS ||
	    item == NULL || snprintf(canon, canonlen, "%s",
	    (const char *)item) >= (int)canonlen)
		return PAMB_ERROR;
	return PAMB_OK;
}

int
pamb_open_session(void)
{
	int r;

	if ((r = pam_setcred(pamh, PAM_ESTABLISH_CRED | PAM_SILENT)) !=
	    PAM_SUCCESS) {
		log_warnx("pam_setcred: %s", pam_strerror(pamh, r));
		return -1;
	}
	cred_set = 1;
	if ((r = pam_open_session(pamh, PAM_SILENT)) != PAM_SUCCESS) {
		log_warnx("pam_open_session: %s", pam_strerror(pamh, r));
		return -1;
	}
	session_open = 1;
	return 0;
}

int
pamb_active(void)
{
	return pamh != NULL;
}

void
pamb_close(void)
{
	if (pamh == NULL)
		return;
	if (session_open)
		pam_close_session(pamh, PAM_SILENT);
	if (cred_set)
		pam_setcred(pamh, PAM_DELETE_CRED | PAM_SILENT);
	pam_end(pamh, PAM_SUCCESS);
	pamh = NULL;
	session_open = cred_set = 0;
}
