/*
 * The protocol transcript (privpopd.conf(5) transcript*): one syslog
 * line per client command and per server line, from the greeting to
 * the close, with credentials masked and message bodies left out.
 * Written by the session child only, to its own syslog socket; nothing
 * here opens a file.
 */
#ifndef PRIVPOP_TRANSCRIPT_H
#define PRIVPOP_TRANSCRIPT_H

#include <stddef.h>

struct conf;

/* What every call checks first: 0 (the default) costs one branch. */
extern int transcript_active;

/* Before transcript_start, in a slot: a file (transcript_dir) to write
 * the lines to instead of syslog. */
void	transcript_file(int fd);
/* At the session's end: its summary, the file's last line. */
void	transcript_summary(const char *line);
/* Before transcript_start, in a slot: what privpopctl switched on for
 * this connection's address (on) and for users (separated by spaces;
 * copied). */
void	transcript_runtime(int on, const char *users);
/* At the session's start: on for everyone (transcript = yes), for the
 * client's network, or by privpopctl; held until the login when only
 * transcript_users (or privpopctl's users) can turn it on. */
void	transcript_start(const struct conf *, const char *sess_id,
	    const char *addr);
/* The login is final as user: the held lines are written if user is
 * listed in transcript_users, else dropped (and so is the rest). */
void	transcript_login(const char *user);

/* A command line from the client: PASS's argument, APOP's digest and
 * AUTH's initial response become "*****". */
void	transcript_command(const char *line, size_t len);
/* A SASL response line: "*" (a cancel) as it is, anything else masked. */
void	transcript_sasl_response(const char *line, size_t len);
/* A line the server sent (no CRLF). */
void	transcript_reply(const char *line, size_t len);

/* The lines after a multi-line answer's first (CAPA, LIST, UIDL): each
 * of them when transcript_lists = yes, else their count; ended by the
 * "." reply or transcript_listing_end() when they were relayed. */
void	transcript_listing(void);
/* Listing bytes relayed from privpop-store (whole wire lines). */
void	transcript_relayed(const void *p, size_t len);
void	transcript_listing_end(void);

#endif
