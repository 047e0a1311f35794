/*
 * Inside pop3_uidl_format (uidlfmt.h): one directive after a '%', as
 * uidlfmt.c parses it for the check and uidlfmt_render.c for the
 * rendering.
 */
#ifndef PRIVPOP_UIDLFMT_SPEC_H
#define PRIVPOP_UIDLFMT_SPEC_H

#include <stddef.h>

/* A width above the longest UIDL is a mistake, not a format. */
#define UIDLFMT_MAX_WIDTH	70

enum { V_UID, V_UIDV, V_FILE, V_GUID, V_PCT };

struct spec {
	int	 var;
	int	 zero;		/* width starts with 0 */
	size_t	 width;		/* 0: none */
	char	 mods[8];	/* X U L, in order */
	size_t	 nmods;
};

/* Parse the directive after a '%' at *pp; advance past it.  0 or -1. */
int	uidlfmt_spec(const char **pp, struct spec *s);

#endif
