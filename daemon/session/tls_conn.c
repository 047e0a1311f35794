/*
 * The session child's half of TLS: the handshake on the client's
 * descriptors (with the context the master built, tls_ctx.c), record
 * reads and writes behind struct client_io, close_notify, and the tls=
 * word of the summary line.  Holds no key: signatures go through the
 * stand-in to privpop-auth (tls_keyproxy.c).
 *
 * Runs as: privpop (the session child, chrooted, after the drop).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "client.h"
#include "limits.h"
#include "tls_conn.h"
#include "tls_ctx.h"
#include "tls_keyproxy.h"

static long
tls_result(struct client *c, int r, short *want_r)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		*want_r = POLLIN;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*want_r = POLLOUT;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == 0)
			return 0;	/* EOF without close_notify */
		return -1;
	default:
		ERR_clear_error();
		errno = EIO;
		return -1;
	}
}

static long
tls_rd(struct client *c, void *p, size_t n, short *want_r)
{
	int r;

	errno = 0;
	r = SSL_read(c->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
	return r > 0 ? r : tls_result(c, r, want_r);
}

/* A body leaves here straight from the region mapped from
 * privpop-store's memfd (client_write_direct: no copy of ours; OpenSSL
 * copies each record's plaintext once into its record buffer and
 * encrypts it there): one call for the whole region, cut by OpenSSL into
 * full records (16 kB, max_send_fragment), the answer line and anything
 * interactive in a record of its own size.  With partial writes on
 * (tls_ctx.c), a return short of n is what went out in whole records. */
static long
tls_wr(struct client *c, const void *p, size_t n, short *want_r)
{
	size_t done = 0;
	int r;

	errno = 0;
	r = SSL_write_ex(c->ssl, p, n, &done);
	if (r == 1 && done <= LONG_MAX)
		return (long)done;
	return tls_result(c, r, want_r);
}

static const struct client_io tls_io = { tls_rd, tls_wr, NULL };

int
tls_accept(struct client *c, SSL_CTX *ctx, char *err, size_t errlen)
{
	SSL *ssl;
	int r, ms;

	/* before the handshake reads a byte: privpop-auth signs once after
	 * this, and never before */
	if (keyproxy_tls_start() == -1) {
		snprintf(err, errlen, "key holder: %s", strerror(errno));
		return -1;
	}
	if ((ssl = SSL_new(ctx)) == NULL) {
		tls_error(err, errlen, "SSL_new");
		return -1;
	}
	if (SSL_set_rfd(ssl, c->rfd) != 1 || SSL_set_wfd(ssl, c->wfd) != 1) {
		tls_error(err, errlen, "SSL_set_fd");
		SSL_free(ssl);
		return -1;
	}
	c->ssl = ssl;
	while ((r = SSL_accept(ssl)) != 1) {
		int e = SSL_get_error(ssl, r);
		struct pollfd p;

		if (e == SSL_ERROR_WANT_READ) {
			p.fd = c->rfd;
			p.events = POLLIN;
		} else if (e == SSL_ERROR_WANT_WRITE) {
			p.fd = c->wfd;
			p.events = POLLOUT;
		} else {
			tls_error(err, errlen, "handshake");
			return -1;
		}
		/* the handshake's own deadline (session.c) */
		r = (ms = client_wait_ms(c)) == 0 ? 0 : poll(&p, 1, ms);
		if (r == 0) {
			snprintf(err, errlen, "handshake: timeout");
			return -1;
		}
		if (r == -1 && errno != EINTR) {
			snprintf(err, errlen, "handshake: %s", strerror(errno));
			return -1;
		}
	}
	/* A resumed TLS 1.3 handshake used up the client's ticket (clients
	 * use each once, RFC 8446 C.4) and OpenSSL issues none after a
	 * resumption: without a new one the client's next connection is a
	 * full handshake, with its signature by privpop-auth (measured in
	 * make bench: every other poll resumed).  One ticket, sent with the
	 * greeting, under the keys this process already holds. */
	if (SSL_session_reused(ssl) && SSL_version(ssl) == TLS1_3_VERSION)
		(void)SSL_new_session_ticket(ssl);
	c->io = &tls_io;
	return 0;
}

void
tls_close(struct client *c)
{
	int i;

	if (c->ssl == NULL || !SSL_is_init_finished(c->ssl))
		return;
	/* send close_notify (RFC 8446 6.1) so the client can tell a
	 * complete session from a cut one; the peer's reply is not waited
	 * for */
	for (i = 0; i < TLS_CLOSE_TRIES; i++) {
		int r = SSL_shutdown(c->ssl);
		struct pollfd p;

		if (r >= 0 || SSL_get_error(c->ssl, r) != SSL_ERROR_WANT_WRITE)
			break;
		p.fd = c->wfd;
		p.events = POLLOUT;
		if (poll(&p, 1, TLS_CLOSE_WAIT_MS) <= 0)
			break;
	}
}

void
tls_describe(const struct client *c, char *out, size_t outlen)
{
	if (c->ssl == NULL)
		snprintf(out, outlen, "no");
	else if (!SSL_is_init_finished(c->ssl))
		snprintf(out, outlen, "failed");
	else
		snprintf(out, outlen, "%s/%s", SSL_get_version(c->ssl),
		    SSL_get_cipher_name(c->ssl));
}
