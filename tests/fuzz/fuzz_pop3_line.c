/* POP3 command lines: pop3_find_line, pop3_parse_line, pop3_split_args,
 * pop3_msgno over client bytes (the session child's parser). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pop3_parse.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	size_t left = size, used;
	long n;
	int lines = 0;

	/* Every line of the input, as the session reads pipelined input;
	 * bounded: each round consumes at least one byte. */
	while (left > 0 && lines++ < 4096) {
		struct pop3_cmd c;
		char *copy;
		int min, i;

		n = pop3_find_line(p, left, &used);
		if (n == -1) {
			n = (long)left;		/* the unterminated tail */
			used = left;
		}
		if (used == 0 || used > left || (size_t)n > used)
			abort();
		/* exact-size heap copy so ASan sees any overread */
		copy = malloc((size_t)n + 1);
		if (copy == NULL)
			return 0;
		memcpy(copy, p, (size_t)n);
		if (pop3_parse_line(copy, (size_t)n, &c) == P_OK) {
			if (strlen(c.verb) < 3 || strlen(c.verb) > POP3_VERB_MAX)
				abort();
			if (c.rest < copy || c.rest + c.restlen > copy + n)
				abort();
			for (min = 0; min <= 2; min++) {
				struct pop3_cmd cc = c;

				if (pop3_split_args(&cc, min, 2) != P_OK)
					continue;
				if (cc.nargs < min || cc.nargs > 2)
					abort();
				for (i = 0; i < cc.nargs; i++) {
					uint32_t no;

					if (cc.arglen[i] == 0 ||
					    cc.arg[i] < copy ||
					    cc.arg[i] + cc.arglen[i] >
					    copy + n ||
					    memchr(cc.arg[i], ' ',
					    cc.arglen[i]) != NULL)
						abort();
					if (pop3_msgno(cc.arg[i], cc.arglen[i],
					    &no) == 0 && no == 0)
						abort();
				}
			}
		}
		free(copy);
		p += used;
		left -= used;
	}
	return 0;
}
