/*
 * Certificate validity dates, said the way an administrator acts on them:
 * expired, not yet valid, or expiring within CERTCHECK_SOON_DAYS.
 */
#ifndef AUDITDIST_CERTCHECK_H
#define AUDITDIST_CERTCHECK_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#define CERTCHECK_DATE_LEN	21	/* "2026-12-04T21:00:57Z" + NUL */
#define CERTCHECK_SOON_DAYS	30

enum certcheck {
	CERTCHECK_OK,
	CERTCHECK_SOON,		/* expires within the given margin */
	CERTCHECK_EXPIRED,
	CERTCHECK_NOT_YET,	/* notBefore is still ahead */
};

/* Where now stands in x's validity period; soon: seconds of margin. */
enum certcheck	certcheck_x509(X509 *x, time_t now, time_t soon);

/* An ASN1 time as ISO 8601 UTC; "(unreadable date)" if it is not one. */
void		certcheck_date(const ASN1_TIME *, char out[CERTCHECK_DATE_LEN]);

/*
 * Every certificate in the PEM file path (a certfile, or a cafile of
 * several).  0: all valid for CERTCHECK_SOON_DAYS more; 1: msg says which
 * one is expired, not yet valid or expiring soon (the most urgent, and how
 * many more there are); -1: the file cannot be read, msg says why.
 */
int		certcheck_file(const char *path, time_t now, char *msg,
		    size_t len);

#endif
