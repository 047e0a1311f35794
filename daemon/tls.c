/*
 * tls_ctx_new() runs as root in the master (it reads the private key);
 * tls_accept() runs unprivileged in the session child.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "client.h"
#include "tls.h"
#include "tls_keyproxy.h"

static void
ssl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char b[256];

	ERR_error_string_n(e, b, sizeof(b));
	snprintf(err, errlen, "%s: %s", what, e ? b : "unknown error");
	ERR_clear_error();
}

/* Does tls_key belong to tls_cert?  Checked in a child that exits
 * right after, so no copy of the key ever lives in the master's memory
 * (and so in the session children it forks). */
int
tls_check_key(const struct conf *c, char *err, size_t errlen)
{
	int p[2], status;
	pid_t pid;
	ssize_t n;

	if (pipe(p) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
		char e[256] = "";

		close(p[0]);
		if (ctx == NULL)
			ssl_err(e, sizeof(e), "SSL_CTX_new");
		else if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert)
		    != 1)
			ssl_err(e, sizeof(e), c->tls_cert);
		else if (SSL_CTX_use_PrivateKey_file(ctx, c->tls_key,
		    SSL_FILETYPE_PEM) != 1)
			ssl_err(e, sizeof(e), c->tls_key);
		else if (SSL_CTX_check_private_key(ctx) != 1)
			ssl_err(e, sizeof(e), "tls_key does not match tls_cert");
		if (e[0] != '\0')
			(void)!write(p[1], e, strlen(e));
		_exit(e[0] != '\0');
	}
	close(p[1]);
	n = read(p[0], err, errlen - 1);
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (n <= 0)
		snprintf(err, errlen, "checking tls_key failed");
	else
		err[n] = '\0';
	return -1;
}

SSL_CTX *
tls_ctx_new(const struct conf *c, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	EVP_PKEY *proxy;

	if (tls_check_key(c, err, errlen) == -1)
		return NULL;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		ssl_err(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	/* RFC 8996: no TLS 1.0/1.1 */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* no RSA key exchange: the key holder only ever signs */
	if (SSL_CTX_set_cipher_list(ctx, c->tls_ciphers[0] != '\0' ?
	    c->tls_ciphers : TLS_DEFAULT_CIPHERS) != 1) {
		ssl_err(err, errlen, "tls_ciphers");
		goto fail;
	}
	if (c->tls_ciphersuites[0] != '\0' &&
	    SSL_CTX_set_ciphersuites(ctx, c->tls_ciphersuites) != 1) {
		ssl_err(err, errlen, "tls_ciphersuites");
		goto fail;
	}
	if (c->tls_groups[0] != '\0' &&
	    SSL_CTX_set1_groups_list(ctx, c->tls_groups) != 1) {
		ssl_err(err, errlen, "tls_groups");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1) {
		ssl_err(err, errlen, c->tls_cert);
		goto fail;
	}
	/* the stand-in key: the real one stays in privpop-auth */
	if ((proxy = keyproxy_new(SSL_CTX_get0_certificate(ctx), 0, err,
	    errlen)) == NULL)
		goto fail;
	if (SSL_CTX_use_PrivateKey(ctx, proxy) != 1) {
		EVP_PKEY_free(proxy);
		ssl_err(err, errlen, "stand-in key");
		goto fail;
	}
	EVP_PKEY_free(proxy);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

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

static long
tls_wr(struct client *c, const void *p, size_t n, short *want_r)
{
	int r;

	errno = 0;
	r = SSL_write(c->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
	return r > 0 ? r : tls_result(c, r, want_r);
}

static const struct client_io tls_io = { tls_rd, tls_wr };

int
tls_accept(struct client *c, SSL_CTX *ctx, char *err, size_t errlen)
{
	SSL *ssl;
	int r;

	if ((ssl = SSL_new(ctx)) == NULL) {
		ssl_err(err, errlen, "SSL_new");
		return -1;
	}
	if (SSL_set_rfd(ssl, c->rfd) != 1 || SSL_set_wfd(ssl, c->wfd) != 1) {
		ssl_err(err, errlen, "SSL_set_fd");
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
			ssl_err(err, errlen, "handshake");
			return -1;
		}
		r = poll(&p, 1, c->timeout_ms);
		if (r == 0) {
			snprintf(err, errlen, "handshake: timeout");
			return -1;
		}
		if (r == -1 && errno != EINTR) {
			snprintf(err, errlen, "handshake: %s", strerror(errno));
			return -1;
		}
	}
	c->io = &tls_io;
	return 0;
}

void
tls_describe(const struct client *c, char *out, size_t outlen)
{
	if (c->ssl == NULL)
		snprintf(out, outlen, "no");
	else
		snprintf(out, outlen, "%s/%s", SSL_get_version(c->ssl),
		    SSL_get_cipher_name(c->ssl));
}
