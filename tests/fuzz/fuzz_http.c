/* HTTP request heads: http_head_len and http_request_target over client
 * bytes (the metrics process's parser), and the Prometheus formatting
 * of a stats text (metrics_text_prometheus) over the same bytes. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http_request.h"
#include "limits.h"
#include "metrics_text.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], *copy;
	size_t head, plen;
	struct buf out;
	int r;

	if (size > METRICS_REQUEST_MAX)
		size = METRICS_REQUEST_MAX;
	/* exact-size heap copy so ASan sees any overread */
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	head = http_head_len(copy, size);
	if (head > size)
		abort();
	/* the server parses a whole head, or a buffer that is full */
	memset(path, 'x', sizeof(path));
	r = http_request_target(copy, head ? head : size, path, sizeof(path));
	if (r != HTTP_REQ_GET && r != HTTP_REQ_BAD && r != HTTP_REQ_METHOD)
		abort();
	if (r == HTTP_REQ_GET) {
		plen = strnlen(path, sizeof(path));
		if (plen == sizeof(path) || path[0] != '/' ||
		    strchr(path, '?') != NULL || strchr(path, ' ') != NULL ||
		    memmem(copy, head ? head : size, path, plen) == NULL)
			abort();
	}
	if (buf_init(&out, 0, METRICS_BODY_MAX) == 0) {
		(void)metrics_text_prometheus(copy, size, &out);
		if (buf_used(&out) > METRICS_BODY_MAX)
			abort();
		buf_free(&out);
	}
	free(copy);
	return 0;
}
