/*
 * Lists in the configuration: words separated by spaces, tabs or commas
 * ("dotlock fcntl", "passwd-file pam"), and lists of networks in CIDR
 * form ("127.0.0.0/8 ::1") for trusted_networks and auth_penalty_exempt.
 */
#ifndef PRIVPOP_ADDRLIST_H
#define PRIVPOP_ADDRLIST_H

#include <stddef.h>

/* The next word of *s: 1 with *word_r and *len_r set and *s moved past it,
 * or 0 at the end. */
int	list_next(const char **s, const char **word_r, size_t *len_r);
/* Whether every word of list is an address or address/bits. */
int	addrlist_valid(const char *list);
/* Whether addr (numeric, v4 or v6) lies in one of the list's ranges. */
int	addrlist_match(const char *addr, const char *list);

#endif
