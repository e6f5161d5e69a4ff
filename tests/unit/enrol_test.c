/*
 * Enrolment: which name a certificate gives its host (DNS subjectAltNames
 * when it has any, else the commonName), names that break the host-name
 * rules, the directory of an enrolled host and the names that configured
 * hosts hold, and what enrol_new says of files it cannot use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "auditdistd.h"
#include "harness.h"

static EVP_PKEY *key;

/* A certificate with this CN (NULL: none, cnlen: its bytes) and SAN. */
static X509 *
make(const char *cn, int cnlen, const char *san)
{
	X509 *x = X509_new();
	X509_EXTENSION *ext;
	X509V3_CTX ctx;

	if (x == NULL)
		abort();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	if (cn != NULL)
		X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
		    MBSTRING_ASC, (const unsigned char *)cn, cnlen, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	if (san != NULL) {
		X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
		if ((ext = X509V3_EXT_conf_nid(NULL, &ctx,
		    NID_subject_alt_name, san)) == NULL)
			abort();
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (X509_sign(x, key, EVP_sha256()) == 0)
		abort();
	return x;
}

/* enrol_cert_name of such a certificate for host; its reason in why. */
static int
name(const char *cn, const char *san, const char *host, char *why,
    size_t len)
{
	X509 *x = make(cn, -1, san);
	int rc;

	why[0] = '\0';
	rc = enrol_cert_name(x, host, why, len);
	X509_free(x);
	return rc;
}

static void
test_cn(void)
{
	char why[512];

	CHECK(name("fleet-1", NULL, "fleet-1", why, sizeof(why)) == 0);
	CHECK(name("fleet-1", NULL, "fleet-2", why, sizeof(why)) == -1);
	CHECK(strstr(why, "certificate is for common name \"fleet-1\", not "
	    "for host \"fleet-2\"") != NULL);
	/* Exact bytes: the name becomes a directory. */
	CHECK(name("Fleet-1", NULL, "fleet-1", why, sizeof(why)) == -1);
	CHECK(name(NULL, NULL, "fleet-1", why, sizeof(why)) == -1);
	CHECK(strstr(why, "names no host") != NULL);
}

/* DNS names win over the CN; any one of them may be the host. */
static void
test_san(void)
{
	char why[512];

	CHECK(name("fleet-1", "DNS:fleet-1", "fleet-1", why, sizeof(why)) ==
	    0);
	CHECK(name("web", "DNS:a.example,DNS:b.example", "b.example", why,
	    sizeof(why)) == 0);
	CHECK(name("web", "DNS:a.example", "web", why, sizeof(why)) == -1);
	CHECK(strstr(why, "certificate is for DNS name \"a.example\", not "
	    "for host \"web\"") != NULL);
	/* No DNS name among them: the CN. */
	CHECK(name("web", "IP:10.0.0.1", "web", why, sizeof(why)) == 0);
}

static void
test_bad_names(void)
{
	char why[512];
	X509 *x;

	CHECK(name("bad_name!", NULL, "bad-name", why, sizeof(why)) == -1);
	CHECK(strstr(why, "name \"bad_name!\" breaks the host-name rules") !=
	    NULL);
	CHECK(name("x", "DNS:..", "x", why, sizeof(why)) == -1);
	CHECK(strstr(why, "name \"..\" breaks") != NULL);
	CHECK(name("x", "DNS:a/b", "x", why, sizeof(why)) == -1);
	CHECK(strstr(why, "name \"a/b\" breaks") != NULL);
	/* A NUL inside: "fleet-1\0.evil" is not fleet-1, and is quoted. */
	x = make("fleet-1\0.evil", 13, NULL);
	CHECK(enrol_cert_name(x, "fleet-1", why, sizeof(why)) == -1);
	CHECK(strstr(why, "\"fleet-1\\x00.evil\" breaks") != NULL);
	X509_free(x);
	/* A valid name that matches is enough, whatever else it holds. */
	CHECK(name("x", "DNS:bad name,DNS:fleet-1", "fleet-1", why,
	    sizeof(why)) == 0);
}

static struct conf *
recv_conf(void)
{
	char err[512];
	struct conf *c = conf_parse("t.conf", "receiver {\n"
	    " certfile /r.pem\n keyfile /r.key\n directory /trails\n"
	    " enrol yes\n cafile /ca.pem\n crlfile /ca.crl\n"
	    " host web { password \"secret\"\n directory shared }\n"
	    " host db { password \"secret\" }\n}\n", err, sizeof(err));

	if (c == NULL)
		printf("  %s\n", err);
	return c;
}

/* An enrolled name may not be a configured host's name or directory. */
static void
test_taken(void)
{
	struct conf *c;
	char dir[64];
	const char *t;

	REQUIRE((c = recv_conf()) != NULL);
	CHECK(enrol_directory(c, "fleet-1", dir, sizeof(dir)) == 0);
	CHECK_STR(dir, "/trails/fleet-1");
	CHECK(enrol_taken(c, "fleet-1") == NULL);
	CHECK((t = enrol_taken(c, "db")) != NULL && strcmp(t, "db") == 0);
	CHECK((t = enrol_taken(c, "shared")) != NULL && strcmp(t, "web") == 0);
	CHECK(enrol_taken(c, "web") != NULL);
	conf_free(c);
}

/* A CRL file that is missing or holds no CRL is a clear error. */
static void
test_files(void)
{
	struct conf_receiver r;
	char ca[] = "/tmp/enrol_test.XXXXXX", err[512];
	X509 *x = make("fleet CA", -1, NULL);
	FILE *f;
	int fd;

	REQUIRE((fd = mkstemp(ca)) != -1 && (f = fdopen(fd, "w")) != NULL);
	PEM_write_X509(f, x);
	fclose(f);
	X509_free(x);
	memset(&r, 0, sizeof(r));
	r.cafile = ca;
	r.crlfile = (char *)"/nonexistent/fleet.crl";
	CHECK(enrol_new(&r, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "crlfile /nonexistent/fleet.crl: No such file") !=
	    NULL);
	r.crlfile = ca;		/* a certificate, not a CRL */
	CHECK(enrol_new(&r, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "no PEM CRL in it") != NULL);
	r.cafile = (char *)"/dev/null";
	CHECK(enrol_new(&r, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "cafile /dev/null: no CA certificate") != NULL);
	unlink(ca);
}

static const struct h_test tests[] = {
	TEST(test_cn),
	TEST(test_san),
	TEST(test_bad_names),
	TEST(test_taken),
	TEST(test_files),
};

int
main(void)
{
	int rc;

	if ((key = EVP_EC_gen("P-256")) == NULL) {
		printf("cannot make a test key\n0 passed, 1 failed\n");
		return 1;
	}
	rc = h_run("enrol", tests, sizeof(tests) / sizeof(tests[0]));
	EVP_PKEY_free(key);
	return rc;
}
