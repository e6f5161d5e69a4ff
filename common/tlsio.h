/*
 * TLS over non-blocking sockets.  Every call comes back as bytes done, or
 * TLSIO_WANT_READ / TLSIO_WANT_WRITE (wait for the socket and call again),
 * or TLSIO_ERROR (tlsio_error() says why): nothing else leaks out of
 * OpenSSL.  TLS 1.3 by default, 1.2 at least, no renegotiation.
 */
#ifndef AUDITDIST_TLSIO_H
#define AUDITDIST_TLSIO_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "certcheck.h"

#define TLSIO_ERROR		(-1)
#define TLSIO_WANT_READ		(-2)
#define TLSIO_WANT_WRITE	(-3)
#define TLSIO_FP_LEN		(7 + 32 * 3)	/* "SHA256=" + "AA:" x 32 - 1 + NUL */
#define TLSIO_PIN_LEN		(8 + 44 + 1)	/* "sha256//" + base64 + NUL */
#define TLSIO_EKM_LEN		32

struct tlsio;

/*
 * Contexts.  Errors are written to err, naming the file.  The server asks
 * for (but does not require) a client certificate; what it is worth is
 * decided by pinning, not by a CA.  A client with a cafile verifies the
 * chain and the name; without one it accepts any certificate and the
 * caller must pin it (tlsio_peer_fingerprint / tlsio_peer_pubkey_pin)
 * before sending anything.
 */
SSL_CTX		*tlsio_server_ctx(const char *certfile, const char *keyfile,
		    char *err, size_t errlen);
SSL_CTX		*tlsio_client_ctx(const char *cafile, const char *certfile,
		    const char *keyfile, char *err, size_t errlen);

/* server: accept side; name: SNI and, with a cafile, the name to verify. */
struct tlsio	*tlsio_new(SSL_CTX *, int fd, int server, const char *name);
void		 tlsio_free(struct tlsio *);	/* does not close fd */
int		 tlsio_fd(const struct tlsio *);

/* 1 when done, else TLSIO_WANT_* or TLSIO_ERROR. */
int		 tlsio_handshake(struct tlsio *);
/* > 0 bytes, 0 at end of stream, else TLSIO_WANT_* or TLSIO_ERROR. */
ssize_t		 tlsio_read(struct tlsio *, void *, size_t);
/* > 0 bytes written (maybe fewer than asked), else TLSIO_WANT_* or ERROR. */
ssize_t		 tlsio_write(struct tlsio *, const void *, size_t);
/* Bytes already read and waiting (or read ahead): read before polling. */
int		 tlsio_pending(const struct tlsio *);
/* Send close_notify; best effort, never blocks. */
void		 tlsio_shutdown(struct tlsio *);
const char	*tlsio_error(const struct tlsio *);

/* After the handshake. */
const char	*tlsio_version(const struct tlsio *);	/* "TLSv1.3" */
/* The peer's certificate, still owned by the session; NULL if none. */
X509		*tlsio_peer_cert(const struct tlsio *);
/* The certificates the peer sent after its own (server side). */
STACK_OF(X509)	*tlsio_peer_chain(const struct tlsio *);
/* "SHA256=AA:BB:..." of the peer certificate's DER; -1 if it sent none. */
int		 tlsio_peer_fingerprint(const struct tlsio *,
		    char out[TLSIO_FP_LEN]);
/* "sha256//BASE64" of the peer's SubjectPublicKeyInfo; -1 if none. */
int		 tlsio_peer_pubkey_pin(const struct tlsio *,
		    char out[TLSIO_PIN_LEN]);
/*
 * After a failed handshake of a client with a cafile: X509_V_ERR_* of the
 * first certificate its verification refused (X509_V_OK: none, the
 * handshake failed otherwise), its depth (0: the peer's own), and for
 * X509_V_ERR_CERT_HAS_EXPIRED or _NOT_YET_VALID its notAfter or notBefore.
 */
int		 tlsio_refusal(const struct tlsio *, int *depth,
		    char date[CERTCHECK_DATE_LEN]);
/* Keying material bound to this session (RFC 5705/8446), for auth. */
int		 tlsio_exporter(const struct tlsio *, uint8_t out[TLSIO_EKM_LEN]);

/* The same fingerprint for a certificate file, for tests and messages. */
int		 tlsio_file_fingerprint(const char *certfile,
		    char out[TLSIO_FP_LEN]);

#endif
