/*
 * Certificate dates as -n and the forwarder say them: expired, not yet
 * valid, expiring within 30 days, the most urgent of a CA bundle, and
 * files that cannot be read.  "Now" is fixed, so the dates are exact.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certcheck.h"
#include "harness.h"

#define NOW	((time_t)1767225600)	/* 2026-01-01T00:00:00Z */
#define DAY	86400L

static EVP_PKEY *key;

/* A self-signed certificate valid from NOW + from to NOW + to seconds. */
static X509 *
make(const char *cn, long from, long to)
{
	X509 *x = X509_new();
	time_t now = NOW;
	X509_NAME *n;

	if (x == NULL)
		abort();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_time_adj(X509_getm_notBefore(x), from, &now);
	X509_time_adj(X509_getm_notAfter(x), to, &now);
	X509_set_pubkey(x, key);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, n);
	if (X509_sign(x, key, EVP_sha256()) == 0)
		abort();
	return x;
}

/* A PEM file of one or two such certificates; the path goes to path. */
static void
write_pem(char path[64], X509 *a, X509 *b)
{
	FILE *f;
	int fd;

	strcpy(path, "/tmp/certcheck_test.XXXXXX");
	if ((fd = mkstemp(path)) == -1 || (f = fdopen(fd, "w")) == NULL)
		abort();
	PEM_write_X509(f, a);
	if (b != NULL)
		PEM_write_X509(f, b);
	fclose(f);
	X509_free(a);
	X509_free(b);
}

/* certcheck_file on a file of a and b; its message goes to msg. */
static int
check(X509 *a, X509 *b, char *msg, size_t len)
{
	char path[64];
	int rc;

	write_pem(path, a, b);
	rc = certcheck_file(path, NOW, msg, len);
	unlink(path);
	return rc;
}

static void
test_states(void)
{
	X509 *x;

	x = make("ok", -DAY, 90 * DAY);
	CHECK(certcheck_x509(x, NOW, 30 * DAY) == CERTCHECK_OK);
	X509_free(x);
	x = make("soon", -DAY, 10 * DAY);
	CHECK(certcheck_x509(x, NOW, 30 * DAY) == CERTCHECK_SOON);
	CHECK(certcheck_x509(x, NOW, 0) == CERTCHECK_OK);
	X509_free(x);
	x = make("old", -90 * DAY, -DAY);
	CHECK(certcheck_x509(x, NOW, 0) == CERTCHECK_EXPIRED);
	X509_free(x);
	x = make("new", 3600, 90 * DAY);
	CHECK(certcheck_x509(x, NOW, 0) == CERTCHECK_NOT_YET);
	X509_free(x);
}

static void
test_date(void)
{
	char d[CERTCHECK_DATE_LEN];
	X509 *x = make("old", -90 * DAY, -DAY);

	certcheck_date(X509_get0_notAfter(x), d);
	CHECK_STR(d, "2025-12-31T00:00:00Z");
	X509_free(x);
}

static void
test_file_messages(void)
{
	char msg[512];

	CHECK(check(make("ok", -DAY, 90 * DAY), NULL, msg, sizeof(msg)) == 0);
	CHECK(check(make("old", -90 * DAY, -DAY), NULL, msg,
	    sizeof(msg)) == 1);
	CHECK(strstr(msg, "/CN=old") != NULL);
	CHECK(strstr(msg, "expired on 2025-12-31T00:00:00Z") != NULL);
	CHECK(check(make("soon", -DAY, 10 * DAY), NULL, msg,
	    sizeof(msg)) == 1);
	CHECK(strstr(msg, "expires on 2026-01-11T00:00:00Z, in 10 days") !=
	    NULL);
	CHECK(check(make("new", 3600, 90 * DAY), NULL, msg, sizeof(msg)) == 1);
	CHECK(strstr(msg, "not valid before 2026-01-01T01:00:00Z") != NULL);
}

/* A CA bundle: the expired one is named before the one expiring soon. */
static void
test_bundle(void)
{
	char msg[512];

	CHECK(check(make("soon", -DAY, 10 * DAY), make("old", -90 * DAY, -DAY),
	    msg, sizeof(msg)) == 1);
	CHECK(strstr(msg, "/CN=old") != NULL);
	CHECK(strstr(msg, "and 1 more of its 2 certificates") != NULL);
	CHECK(check(make("ok", -DAY, 90 * DAY), make("soon", -DAY, 5 * DAY),
	    msg, sizeof(msg)) == 1);
	CHECK(strstr(msg, "/CN=soon") != NULL);
	CHECK(strstr(msg, "more of") == NULL);
}

static void
test_unreadable(void)
{
	char msg[512], path[64];
	FILE *f;
	int fd;

	CHECK(certcheck_file("/nonexistent.pem", NOW, msg, sizeof(msg)) == -1);
	CHECK(strstr(msg, "/nonexistent.pem") != NULL);
	strcpy(path, "/tmp/certcheck_test.XXXXXX");
	REQUIRE((fd = mkstemp(path)) != -1 && (f = fdopen(fd, "w")) != NULL);
	fputs("not a certificate\n", f);
	fclose(f);
	CHECK(certcheck_file(path, NOW, msg, sizeof(msg)) == -1);
	CHECK(strstr(msg, "no PEM certificate") != NULL);
	unlink(path);
}

static const struct h_test tests[] = {
	TEST(test_states),
	TEST(test_date),
	TEST(test_file_messages),
	TEST(test_bundle),
	TEST(test_unreadable),
};

int
main(void)
{
	int rc;

	if ((key = EVP_EC_gen("P-256")) == NULL) {
		printf("cannot make a test key\n0 passed, 1 failed\n");
		return 1;
	}
	rc = h_run("certcheck", tests, sizeof(tests) / sizeof(tests[0]));
	EVP_PKEY_free(key);
	return rc;
}
