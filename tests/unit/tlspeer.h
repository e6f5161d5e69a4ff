/*
 * For the unit tests that talk TLS: a self-signed certificate, and one end
 * of a protocol connection driven by hand (non-blocking, in the test's own
 * process): frames queued and flushed, frames read back one at a time.
 * The other end is the code under test, run by the test between steps.
 */
#ifndef AUDITDIST_TLSPEER_H
#define AUDITDIST_TLSPEER_H

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tlsio.h"
#include "wire.h"

/* A self-signed P-256 certificate and key, written to files. */
static inline int
make_cert(const char *cn, char *cpath, char *kpath)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n;
	FILE *f;
	int fd;

	if (pk == NULL || x == NULL)
		return -1;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pk);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, n);
	if (X509_sign(x, pk, EVP_sha256()) == 0)
		return -1;
	strcpy(cpath, "/tmp/unit_test.cXXXXXX");
	strcpy(kpath, "/tmp/unit_test.kXXXXXX");
	if ((fd = mkstemp(cpath)) == -1 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	PEM_write_X509(f, x);
	fclose(f);
	if ((fd = mkstemp(kpath)) == -1 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pk);
	return 0;
}

#define PEER_IN_MAX	(WIRE_HDR_LEN + 2 * WIRE_TAIL_MAX)

struct tpeer {
	struct tlsio	*tls;
	int		 fd;
	struct wbuf	 out;
	uint8_t		 in[PEER_IN_MAX];
	size_t		 inlen;
	int		 eof;		/* the other end closed (or failed) */
	/* the frame tpeer_frame() took */
	uint8_t		 type;
	uint8_t		*p;
	size_t		 len;
};

/* One step of the handshake, then of writing and reading: never blocks. */
static inline int
tpeer_step(struct tpeer *t)
{
	ssize_t n;
	int r;

	if ((r = tlsio_handshake(t->tls)) != 1)
		return r == TLSIO_ERROR ? -1 : 0;
	while (wbuf_pending(&t->out) > 0) {
		n = tlsio_write(t->tls, t->out.buf + t->out.off,
		    wbuf_pending(&t->out));
		if (n <= 0)
			break;
		t->out.off += (size_t)n;
	}
	wbuf_compact(&t->out);
	while (!t->eof && t->inlen < sizeof(t->in)) {
		n = tlsio_read(t->tls, t->in + t->inlen,
		    sizeof(t->in) - t->inlen);
		if (n == TLSIO_WANT_READ || n == TLSIO_WANT_WRITE)
			break;
		if (n <= 0)
			t->eof = 1;
		else
			t->inlen += (size_t)n;
	}
	return 1;
}

/* 1 when a whole frame is buffered: t->type, t->p, t->len; then drop it. */
static inline int
tpeer_frame(struct tpeer *t)
{
	uint32_t len;
	uint8_t type;

	if (t->inlen < WIRE_HDR_LEN || wire_parse_header(t->in, &type,
	    &len) == -1 || t->inlen < WIRE_HDR_LEN + len)
		return 0;
	t->type = type;
	t->p = t->in + WIRE_HDR_LEN;
	t->len = len;
	return 1;
}

static inline void
tpeer_drop(struct tpeer *t)
{
	size_t n = WIRE_HDR_LEN + t->len;

	memmove(t->in, t->in + n, t->inlen - n);
	t->inlen -= n;
	t->len = 0;
}

static inline void
tpeer_free(struct tpeer *t)
{
	tlsio_free(t->tls);
	t->tls = NULL;
	wbuf_free(&t->out);
	if (t->fd != -1)
		close(t->fd);
	t->fd = -1;
}

#endif
