/* pop3_uidl_format templates (uidlfmt_check, uidlfmt_render).
 *
 * The input, up to its first NUL, is the template; the bytes after it
 * are the file name and GUID values.  Checks: render succeeds only for
 * a template check accepts; a rendered result fits its buffer, is
 * NUL-terminated and, rendered again into a smaller buffer, either fits
 * as the same text or fails. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uidlfmt.h"

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char fmt[128], val[128], out[71], small[16], mbox_out[71];
	struct uidlfmt_vars v;
	const uint8_t *nul;
	size_t n, m;
	int ok, r;

	nul = memchr(data, '\0', size);
	n = nul != NULL ? (size_t)(nul - data) : size;
	if (n >= sizeof(fmt))
		return 0;
	memcpy(fmt, data, n);
	fmt[n] = '\0';
	m = nul != NULL ? size - n - 1 : 0;
	if (m >= sizeof(val))
		m = sizeof(val) - 1;
	if (m > 0)
		memcpy(val, nul + 1, m);
	val[m] = '\0';
	v.uid = (uint32_t)(size * 2654435761u);
	v.uidvalidity = (uint32_t)n;
	v.filename = val;
	v.guid = m % 2 ? val : NULL;
	ok = uidlfmt_check(fmt) == 0;
	if ((r = uidlfmt_render(fmt, &v, out, sizeof(out))) == 0) {
		CHECK(ok);
		CHECK(strlen(out) < sizeof(out));
		if (uidlfmt_render(fmt, &v, small, sizeof(small)) == 0)
			CHECK(strcmp(small, out) == 0);
		else
			CHECK(strlen(out) >= sizeof(small));
	}
	/* an mbox message's variables, no file name and no GUID: rendered
	 * only by a format that names neither, so as with them */
	v.filename = NULL;
	v.guid = NULL;
	if (uidlfmt_render(fmt, &v, mbox_out, sizeof(mbox_out)) == 0)
		CHECK(r == 0 && strcmp(mbox_out, out) == 0);
	return 0;
}
