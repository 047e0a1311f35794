#ifndef PRIVPOP_SASLPREP_H
#define PRIVPOP_SASLPREP_H

#include <stddef.h>

/*
 * RFC 4013 SASLprep of a user name or password, as RFC 6856 section
 * 2.2 asks of USER, PASS and the APOP name after UTF8 (and RFC 4616
 * of PLAIN): a "query" string (unassigned code points allowed).  s
 * (cap bytes, NUL-terminated) is prepared in place.  Text of printable
 * ASCII is its own SASLprep and is left as it is; other text must be
 * strict UTF-8 (utf8.h).  Returns 0, or -1 (invalid UTF-8, a character
 * SASLprep prohibits, an empty result or one longer than cap - 1).
 */
int	saslprep_query(char *s, size_t cap);

/*
 * The same for a "stored" string (RFC 4013 section 2, RFC 3454 section
 * 7): unassigned code points are refused too.  What privpop-passwd
 * stores (and hashes), and what RFC 5802 has SCRAM's SaltedPassword
 * computed from.
 */
int	saslprep_stored(char *s, size_t cap);

#endif
