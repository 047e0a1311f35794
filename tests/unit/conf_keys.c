/*
 * Prints common/conf.c's table of configuration keys, one per line:
 * name, default ("-" when unset), range or type, reload behaviour,
 * separated by tabs.  conf_docs.py compares it with the sample
 * configuration and privpopd.conf(5).  Runs as: the test's user.
 */
#include "config.h"

#include <stdio.h>

#include "conf.h"

static const char *const type_names[] = {
	[CONF_INT] = "int",
	[CONF_BOOL] = "bool",
	[CONF_CHOICE] = "choice",
	[CONF_WORD] = "choice",
	[CONF_TEXT] = "text",
	[CONF_PATH] = "path",
	[CONF_DIR] = "dir",
	[CONF_LOCATION] = "location",
	[CONF_NETS] = "nets",
	[CONF_LISTEN] = "listen",
	[CONF_HOSTPORT] = "hostport",
	[CONF_SNI] = "sni",
	[CONF_BACKENDS] = "backends",
	[CONF_MECHS] = "mechanisms",
	[CONF_LOCKS] = "locks",
	[CONF_UIDLFMT] = "uidlfmt",
	[CONF_EXPIRE] = "expire",
	[CONF_DOMAIN_DELAY] = "domain-seconds",
	[CONF_DOMAIN_EXPIRE] = "domain-expire",
};

int
main(void)
{
	const struct conf_key *k;
	struct conf c;
	size_t n, i;
	int bad = 0;

	k = conf_keys(&n);
	for (i = 0; i < n; i++) {
		/* a default the parser refuses is a bug of the table */
		conf_defaults(&c);
		if (k[i].def != NULL && conf_key_set(&c, &k[i], k[i].def) == -1) {
			fprintf(stderr, "%s: default \"%s\" does not parse\n",
			    k[i].name, k[i].def);
			bad = 1;
		}
		printf("%s\t%s\t", k[i].name, k[i].def != NULL ? k[i].def : "-");
		if (k[i].type == CONF_INT)
			printf("%d..%d", k[i].min, k[i].max);
		else if (k[i].values != NULL)
			printf("%s", k[i].values);
		else
			printf("%s", type_names[k[i].type]);
		printf("\t%s\n", (k[i].flags & CONF_RESTART) ? "restart" :
		    "reload");
	}
	return bad;
}
