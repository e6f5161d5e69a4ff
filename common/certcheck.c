/*
 * Certificate dates for "-n", for start-up warnings and for the
 * forwarder's messages about a receiver's certificate.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certcheck.h"

enum certcheck
certcheck_x509(X509 *x, time_t now, time_t soon)
{
	time_t later = now + soon;

	if (X509_cmp_time(X509_get0_notBefore(x), &now) > 0)
		return CERTCHECK_NOT_YET;
	if (X509_cmp_time(X509_get0_notAfter(x), &now) < 0)
		return CERTCHECK_EXPIRED;
	if (X509_cmp_time(X509_get0_notAfter(x), &later) < 0)
		return CERTCHECK_SOON;
	return CERTCHECK_OK;
}

void
certcheck_date(const ASN1_TIME *t, char out[CERTCHECK_DATE_LEN])
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(out, CERTCHECK_DATE_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, CERTCHECK_DATE_LEN, "(unreadable date)");
}

/* Which of two problem certificates comes first: the most urgent. */
static int
more_urgent(X509 *a, enum certcheck sa, X509 *b, enum certcheck sb)
{
	static const int rank[] = { [CERTCHECK_OK] = 0, [CERTCHECK_SOON] = 1,
	    [CERTCHECK_NOT_YET] = 2, [CERTCHECK_EXPIRED] = 3 };

	if (b == NULL || rank[sa] != rank[sb])
		return b == NULL || rank[sa] > rank[sb];
	return ASN1_TIME_compare(X509_get0_notAfter(a),
	    X509_get0_notAfter(b)) < 0;
}

static void
say(X509 *x, enum certcheck st, const char *path, time_t now, char *msg,
    size_t len)
{
	char subj[256], date[CERTCHECK_DATE_LEN];
	struct tm tm;
	long days = 0;

	X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
	if (st == CERTCHECK_NOT_YET) {
		certcheck_date(X509_get0_notBefore(x), date);
		snprintf(msg, len, "certificate %s in %s is not valid before "
		    "%s (is this host's clock right?)", subj, path, date);
		return;
	}
	certcheck_date(X509_get0_notAfter(x), date);
	if (st == CERTCHECK_EXPIRED) {
		snprintf(msg, len, "certificate %s in %s expired on %s", subj,
		    path, date);
		return;
	}
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		days = (long)((timegm(&tm) - now) / 86400);
	snprintf(msg, len, "certificate %s in %s expires on %s, in %ld day%s",
	    subj, path, date, days, days == 1 ? "" : "s");
}

int
certcheck_file(const char *path, time_t now, char *msg, size_t len)
{
	X509 *x, *worst = NULL;
	enum certcheck st, wst = CERTCHECK_OK;
	unsigned n = 0, bad = 0;
	size_t l;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(msg, len, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		n++;
		st = certcheck_x509(x, now, (time_t)CERTCHECK_SOON_DAYS *
		    86400);
		if (st != CERTCHECK_OK) {
			bad++;
			if (more_urgent(x, st, worst, wst)) {
				X509_free(worst);
				worst = x;
				wst = st;
				continue;
			}
		}
		X509_free(x);
	}
	ERR_clear_error();	/* the end of the file, or junk after it */
	fclose(f);
	if (n == 0) {
		snprintf(msg, len, "%s: no PEM certificate in it", path);
		return -1;
	}
	if (worst == NULL)
		return 0;
	say(worst, wst, path, now, msg, len);
	X509_free(worst);
	if (bad > 1 && (l = strlen(msg)) < len)
		snprintf(msg + l, len - l, " (and %u more of its %u "
		    "certificates are expired or expiring)", bad - 1, n);
	return 1;
}
