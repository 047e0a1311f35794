/* PROXY protocol headers (daemon/session/proxy_proto.c): the bytes a
 * balancer in haproxy_trusted_networks sends before the client's. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_proto.h"

static void
text_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n > max)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_info pi;
	char why[128];
	unsigned char *copy;
	ssize_t r;
	size_t k;

	/* exact-size heap copy so ASan sees any overread */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	r = proxy_parse(copy, size, &pi, why, sizeof(why));
	if (r > 0) {
		if ((size_t)r > size || (size_t)r > 16 + PROXY_V2_MAX)
			abort();
		text_ok(pi.src, PEER_ADDR_MAX - 1);
		text_ok(pi.dst, PEER_ADDR_MAX - 1);
		text_ok(pi.authority, PROXY_AUTHORITY_MAX);
		text_ok(pi.ssl_version, PROXY_SSL_TEXT_MAX);
		text_ok(pi.ssl_cipher, PROXY_SSL_TEXT_MAX);
		if (pi.version != 1 && pi.version != 2)
			abort();
		/* the same header cut short is never taken: it asks for
		 * more (a v1 line, v2's length) or is refused */
		for (k = 0; k < (size_t)r; k += 1 + (size_t)r / 64)
			if (proxy_parse(copy, k, &pi, why, sizeof(why)) > 0)
				abort();
	} else if (r == -1 && why[0] == '\0')
		abort();
	free(copy);
	return 0;
}
