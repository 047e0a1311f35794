/*
 * Logging to syslog (facility mail) and, in the foreground, to stderr.
 * log_open() must run before chroot so /dev/log stays reachable.
 */
#ifndef PRIVPOP_LOG_H
#define PRIVPOP_LOG_H

#include <stdarg.h>
#include <stddef.h>

void	log_open(const char *ident, int to_stderr, int debug);
/* Whether a syslog daemon listens at path: with none (a container that
 * logs to stderr), syslog(3) would make, try and close a socket for
 * every line, so log_open() checks once, and the master again at each
 * SIGHUP (log_check_syslog); its children inherit the answer. */
int	log_syslog_probe(const char *path);
void	log_check_syslog(void);
/* A syslog socket of this process's own (a forked slot must not share
 * the master's), opened now, before a chroot hides /dev/log. */
void	log_reopen(void);
/* The slot zygote's children: a syslog socket made by the master
 * (log_syslog_socket) replaces the one they inherited. */
#define LOG_FD_SCAN_MAX	64	/* where syslog(3)'s socket is looked for */
int	log_syslog_socket(void);
void	log_adopt_socket(int fd);
/* Whether stderr is the systemd journal's stream ($JOURNAL_STREAM names
 * its device and inode).  Then, with syslog available, log_open and
 * log_check_syslog stop writing to stderr: the journal gets each line
 * once, from syslog. */
int	log_stderr_is_journal(void);
void	log_set_ident(const char *ident);
/* Copy src to dst (always NUL-terminated, cut at dstsz), control
 * characters (below 0x20, and 0x7f) written as \xNN, so that no string
 * from a client or a file name can forge a log line.  Every line is
 * passed through it; returns the length written. */
size_t	log_escape(char *dst, size_t dstsz, const char *src);
int	log_to_stderr(void);
int	log_debug_enabled(void);
/* Debug lines on (1) or off, from now (privpopctl log-level). */
void	log_set_debug(int);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
/* fatal appends strerror(errno); fatalx does not.  Both exit(EXIT_FAILURE). */
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
