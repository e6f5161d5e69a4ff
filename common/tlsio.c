/*
 * TLS over non-blocking sockets: every OpenSSL call is turned into bytes,
 * TLSIO_WANT_READ, TLSIO_WANT_WRITE or TLSIO_ERROR with a message kept
 * for the log.  TLS 1.3 by default, 1.2 at least, no renegotiation, no
 * session resumption (every connection authenticates afresh).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "certcheck.h"
#include "tlsio.h"

#define EKM_LABEL	"EXPORTER-auditdist-v1"

struct tlsio {
	SSL	*ssl;
	int	 fd;
	char	 err[256];
	/* the first certificate a cafile's verification refused */
	int	 verr;		/* X509_V_ERR_*, X509_V_OK: none */
	int	 vdepth;
	char	 vdate[CERTCHECK_DATE_LEN];
};

/* The first queued OpenSSL error as text, or what errno says. */
static void
openssl_error(char *buf, size_t len, const char *what)
{
	unsigned long e = ERR_get_error();
	char estr[200];

	if (e != 0) {
		ERR_error_string_n(e, estr, sizeof(estr));
		snprintf(buf, len, "%s: %s", what, estr);
	} else if (errno != 0)
		snprintf(buf, len, "%s: %s", what, strerror(errno));
	else
		snprintf(buf, len, "%s", what);
	ERR_clear_error();
}

static SSL_CTX *
ctx_common(const SSL_METHOD *method, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(method)) == NULL) {
		openssl_error(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* Idle connections give their buffers back: a receiver holds many. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

static int
load_pair(SSL_CTX *ctx, const char *certfile, const char *keyfile,
    char *err, size_t errlen)
{
	char what[512];

	if (SSL_CTX_use_certificate_chain_file(ctx, certfile) != 1) {
		snprintf(what, sizeof(what), "certificate %s", certfile);
		openssl_error(err, errlen, what);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, keyfile, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) ==
		    X509_R_KEY_VALUES_MISMATCH)
			snprintf(what, sizeof(what), "private key %s does not "
			    "match certificate %s", keyfile, certfile);
		else
			snprintf(what, sizeof(what), "private key %s", keyfile);
		openssl_error(err, errlen, what);
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(what, sizeof(what), "private key %s does not match "
		    "certificate %s", keyfile, certfile);
		openssl_error(err, errlen, what);
		return -1;
	}
	return 0;
}

/* Any client certificate is taken here; pinning decides what it is worth. */
static int
accept_any(int ok, X509_STORE_CTX *x)
{
	(void)ok;
	(void)x;
	return 1;
}

/*
 * Chain verification as OpenSSL does it; only note what it refused, so
 * that the caller can say which certificate and, for dates, which date.
 */
static int
note_refusal(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tlsio *t = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
	X509 *cert = X509_STORE_CTX_get_current_cert(x);

	if (ok || t == NULL || t->verr != X509_V_OK)
		return ok;
	t->verr = X509_STORE_CTX_get_error(x);
	t->vdepth = X509_STORE_CTX_get_error_depth(x);
	if (cert != NULL && t->verr == X509_V_ERR_CERT_HAS_EXPIRED)
		certcheck_date(X509_get0_notAfter(cert), t->vdate);
	else if (cert != NULL && t->verr == X509_V_ERR_CERT_NOT_YET_VALID)
		certcheck_date(X509_get0_notBefore(cert), t->vdate);
	return ok;
}

SSL_CTX *
tlsio_server_ctx(const char *certfile, const char *keyfile, char *err,
    size_t errlen)
{
	static const unsigned char sid[] = "auditdistd";
	SSL_CTX *ctx;

	if ((ctx = ctx_common(TLS_server_method(), err, errlen)) == NULL)
		return NULL;
	if (load_pair(ctx, certfile, keyfile, err, errlen) == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any);
	SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	/* Sessions are never resumed: no TLS 1.3 tickets to make and keep. */
	SSL_CTX_set_num_tickets(ctx, 0);
	return ctx;
}

SSL_CTX *
tlsio_client_ctx(const char *cafile, const char *certfile,
    const char *keyfile, char *err, size_t errlen)
{
	char what[512];
	SSL_CTX *ctx;

	if ((ctx = ctx_common(TLS_client_method(), err, errlen)) == NULL)
		return NULL;
	if (cafile != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
			snprintf(what, sizeof(what), "CA file %s", cafile);
			openssl_error(err, errlen, what);
			SSL_CTX_free(ctx);
			return NULL;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, note_refusal);
	} else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (certfile != NULL && keyfile != NULL &&
	    load_pair(ctx, certfile, keyfile, err, errlen) == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

struct tlsio *
tlsio_new(SSL_CTX *ctx, int fd, int server, const char *name)
{
	struct tlsio *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->fd = fd;
	if ((t->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(t->ssl, fd) != 1)
		goto fail;
	SSL_set_app_data(t->ssl, t);
	if (server)
		SSL_set_accept_state(t->ssl);
	else {
		SSL_set_connect_state(t->ssl);
		if (name != NULL) {
			/* SNI always; the name is checked when a CA is used. */
			SSL_set_tlsext_host_name(t->ssl, name);
			if (SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER)
				SSL_set1_host(t->ssl, name);
		}
	}
	return t;
fail:
	ERR_clear_error();
	if (t->ssl != NULL)
		SSL_free(t->ssl);
	free(t);
	return NULL;
}

void
tlsio_free(struct tlsio *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	free(t);
}

int
tlsio_fd(const struct tlsio *t)
{
	return t->fd;
}

static int
map(struct tlsio *t, int rc, const char *what)
{
	int e = SSL_get_error(t->ssl, rc);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return TLSIO_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLSIO_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0 && errno == 0) {
			snprintf(t->err, sizeof(t->err), "%s: connection closed",
			    what);
			return 0;
		}
		/* FALLTHROUGH */
	default:
		openssl_error(t->err, sizeof(t->err), what);
		if (e == SSL_ERROR_SSL && SSL_get_verify_result(t->ssl) !=
		    X509_V_OK) {
			size_t l = strlen(t->err);

			snprintf(t->err + l, sizeof(t->err) - l, " (%s)",
			    X509_verify_cert_error_string(
			    SSL_get_verify_result(t->ssl)));
		}
		return TLSIO_ERROR;
	}
}

int
tlsio_handshake(struct tlsio *t)
{
	int rc;

	ERR_clear_error();
	errno = 0;
	if ((rc = SSL_do_handshake(t->ssl)) == 1)
		return 1;
	if ((rc = map(t, rc, "TLS handshake")) == 0) {
		/* EOF in a handshake is an error, and the log says which. */
		snprintf(t->err, sizeof(t->err), "TLS handshake: the peer "
		    "closed the connection");
		return TLSIO_ERROR;
	}
	return rc;
}

ssize_t
tlsio_read(struct tlsio *t, void *buf, size_t len)
{
	size_t n;
	int rc;

	ERR_clear_error();
	errno = 0;
	if ((rc = SSL_read_ex(t->ssl, buf, len, &n)) == 1)
		return (ssize_t)n;
	return map(t, rc, "TLS read");
}

ssize_t
tlsio_write(struct tlsio *t, const void *buf, size_t len)
{
	size_t n;
	int rc;

	ERR_clear_error();
	errno = 0;
	if ((rc = SSL_write_ex(t->ssl, buf, len, &n)) == 1)
		return (ssize_t)n;
	rc = map(t, rc, "TLS write");
	return rc == 0 ? TLSIO_ERROR : rc;
}

int
tlsio_pending(const struct tlsio *t)
{
	return SSL_pending(t->ssl) > 0 || SSL_has_pending(t->ssl);
}

void
tlsio_shutdown(struct tlsio *t)
{
	ERR_clear_error();
	(void)SSL_shutdown(t->ssl);
	ERR_clear_error();
}

const char *
tlsio_error(const struct tlsio *t)
{
	return t->err[0] ? t->err : "no error";
}

const char *
tlsio_version(const struct tlsio *t)
{
	return SSL_get_version(t->ssl);
}

static void
format_fp(const unsigned char *md, unsigned n, char out[TLSIO_FP_LEN])
{
	static const char hex[] = "0123456789ABCDEF";
	char *p = out;
	unsigned i;

	memcpy(p, "SHA256=", 7);
	p += 7;
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ':';
		*p++ = hex[md[i] >> 4];
		*p++ = hex[md[i] & 15];
	}
	*p = '\0';
}

static int
cert_fingerprint(X509 *x, char out[TLSIO_FP_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n;

	if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32) {
		ERR_clear_error();
		return -1;
	}
	format_fp(md, n, out);
	return 0;
}

X509 *
tlsio_peer_cert(const struct tlsio *t)
{
	return SSL_get0_peer_certificate(t->ssl);
}

STACK_OF(X509) *
tlsio_peer_chain(const struct tlsio *t)
{
	return SSL_get_peer_cert_chain(t->ssl);
}

int
tlsio_refusal(const struct tlsio *t, int *depth, char date[CERTCHECK_DATE_LEN])
{
	*depth = t->vdepth;
	snprintf(date, CERTCHECK_DATE_LEN, "%s", t->vdate);
	return t->verr;
}

int
tlsio_peer_fingerprint(const struct tlsio *t, char out[TLSIO_FP_LEN])
{
	X509 *x = SSL_get0_peer_certificate(t->ssl);

	return x == NULL ? -1 : cert_fingerprint(x, out);
}

int
tlsio_peer_pubkey_pin(const struct tlsio *t, char out[TLSIO_PIN_LEN])
{
	X509 *x = SSL_get0_peer_certificate(t->ssl);
	unsigned char md[32], *der = NULL;
	unsigned n;
	int len;

	if (x == NULL)
		return -1;
	if ((len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der)) <= 0) {
		ERR_clear_error();
		return -1;
	}
	n = sizeof(md);
	if (EVP_Digest(der, (size_t)len, md, &n, EVP_sha256(), NULL) != 1) {
		OPENSSL_free(der);
		ERR_clear_error();
		return -1;
	}
	OPENSSL_free(der);
	memcpy(out, "sha256//", 8);
	EVP_EncodeBlock((unsigned char *)out + 8, md, 32);
	return 0;
}

int
tlsio_exporter(const struct tlsio *t, uint8_t out[TLSIO_EKM_LEN])
{
	if (SSL_export_keying_material(t->ssl, out, TLSIO_EKM_LEN, EKM_LABEL,
	    sizeof(EKM_LABEL) - 1, NULL, 0, 0) != 1) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}

int
tlsio_file_fingerprint(const char *certfile, char out[TLSIO_FP_LEN])
{
	X509 *x;
	FILE *f;
	int rc;

	if ((f = fopen(certfile, "re")) == NULL)
		return -1;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		ERR_clear_error();
		errno = EINVAL;
		return -1;
	}
	rc = cert_fingerprint(x, out);
	X509_free(x);
	return rc;
}
