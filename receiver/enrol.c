/*
 * Enrolment by certificate ("enrol yes"): a sender with no host block is
 * taken when its client certificate chains to the fleet CA (cafile), is
 * not revoked by crlfile, is within its dates, and names the host it says
 * it is.  The name: the certificate's DNS subjectAltNames when it has any
 * (the HELLO's host must be one of them), else its last commonName; exact
 * byte comparison, since the name becomes a directory.  The certificate
 * is the credential: no password.  A configured host block always wins.
 *
 * The CA and CRL are loaded at start (as root) and at SIGHUP.  An expired
 * CRL refuses every enrolment (fail closed) and says so at each refusal;
 * configured hosts are not affected.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "auditdistd.h"
#include "certcheck.h"
#include "log.h"
#include "tlsio.h"

#define NAME_SHOWN	64	/* bytes of a certificate's name in messages */

struct enrol {
	X509_STORE	*store;
	char		*cafile, *crlfile;
	char		 crl_expired[CERTCHECK_DATE_LEN]; /* "": none */
};

/* A name from a certificate, quoted for a log line: \xNN for the rest. */
static void
quote(const unsigned char *s, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < len && i < NAME_SHOWN && o + 5 < outlen; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
			out[o++] = (char)s[i];
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x",
			    s[i]);
	}
	if (i < len && o + 4 < outlen)
		o += (size_t)snprintf(out + o, outlen - o, "...");
	out[o] = '\0';
}

void
enrol_subject(X509 *x, char *out, size_t outlen)
{
	char buf[512];

	if (x == NULL) {
		snprintf(out, outlen, "(none)");
		return;
	}
	X509_NAME_oneline(X509_get_subject_name(x), buf, sizeof(buf));
	quote((const unsigned char *)buf, strlen(buf), out, outlen);
}

static int
load_crls(struct enrol *e, const char *path, char *err, size_t errlen)
{
	char date[CERTCHECK_DATE_LEN];
	const ASN1_TIME *next;
	X509_CRL *crl;
	FILE *f;
	int n = 0, bad = 0;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "crlfile %s: %s", path, strerror(errno));
		return -1;
	}
	while ((crl = PEM_read_X509_CRL(f, NULL, NULL, NULL)) != NULL) {
		next = X509_CRL_get0_nextUpdate(crl);
		if (next != NULL && X509_cmp_time(next, NULL) < 0) {
			certcheck_date(next, date);
			memcpy(e->crl_expired, date, sizeof(date));
			log_warnx("crlfile %s expired on %s: no sender can enrol "
			    "until it is renewed (openssl ca -gencrl) and "
			    "auditdistd reloaded", path, date);
		}
		bad |= X509_STORE_add_crl(e->store, crl) != 1;
		X509_CRL_free(crl);
		n++;
	}
	ERR_clear_error();
	fclose(f);
	if (n == 0 || bad)
		snprintf(err, errlen, "crlfile %s: %s", path, n == 0 ? "no PEM "
		    "CRL in it (make one with openssl ca -gencrl)" :
		    "cannot use its CRL");
	return n == 0 || bad ? -1 : 0;
}

struct enrol *
enrol_new(const struct conf_receiver *r, char *err, size_t errlen)
{
	struct enrol *e;

	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->store = X509_STORE_new()) == NULL ||
	    (e->cafile = strdup(r->cafile)) == NULL ||
	    (e->crlfile = strdup(r->crlfile)) == NULL) {
		snprintf(err, errlen, "enrolment: out of memory");
		goto fail;
	}
	if (X509_STORE_load_file(e->store, r->cafile) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "cafile %s: no CA certificate could be "
		    "read from it (PEM)", r->cafile);
		goto fail;
	}
	if (load_crls(e, r->crlfile, err, errlen) == -1)
		goto fail;
	/* The sender's own certificate is checked against the CRL. */
	X509_STORE_set_flags(e->store, X509_V_FLAG_CRL_CHECK);
	X509_STORE_set_purpose(e->store, X509_PURPOSE_SSL_CLIENT);
	return e;
fail:
	enrol_free(e);
	return NULL;
}

void
enrol_free(struct enrol *e)
{
	if (e == NULL)
		return;
	X509_STORE_free(e->store);
	free(e->cafile);
	free(e->crlfile);
	free(e);
}

/* Why the CA refused the chain, for both ends. */
static void
verify_reason(const struct enrol *e, X509_STORE_CTX *x, char *why,
    size_t len)
{
	int err = X509_STORE_CTX_get_error(x);
	int depth = X509_STORE_CTX_get_error_depth(x);
	X509 *cur = X509_STORE_CTX_get_current_cert(x);
	X509_CRL *crl = X509_STORE_CTX_get0_current_crl(x);
	const char *whose = depth == 0 ? "certificate" : "the fleet CA's "
	    "certificate";
	char date[CERTCHECK_DATE_LEN] = "?";

	switch (err) {
	case X509_V_ERR_CERT_REVOKED:
		snprintf(why, len, "certificate revoked (by the fleet CA's "
		    "CRL)");
		return;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		if (cur != NULL)
			certcheck_date(X509_get0_notAfter(cur), date);
		snprintf(why, len, "%s expired on %s", whose, date);
		return;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		if (cur != NULL)
			certcheck_date(X509_get0_notBefore(cur), date);
		snprintf(why, len, "%s not valid before %s (check the clocks)",
		    whose, date);
		return;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		snprintf(why, len, "certificate not signed by the fleet CA");
		return;
	case X509_V_ERR_CRL_HAS_EXPIRED:
		/* The context no longer holds the CRL here. */
		if (crl != NULL && X509_CRL_get0_nextUpdate(crl) != NULL)
			certcheck_date(X509_CRL_get0_nextUpdate(crl), date);
		else if (e->crl_expired[0] != '\0')
			memcpy(date, e->crl_expired, sizeof(date));
		snprintf(why, len, "the receiver's CRL expired on %s; no "
		    "sender can enrol until its crlfile is renewed", date);
		return;
	case X509_V_ERR_UNABLE_TO_GET_CRL:
		snprintf(why, len, "the receiver's crlfile %s holds no CRL of "
		    "the CA that signed this certificate", e->crlfile);
		return;
	default:
		snprintf(why, len, "certificate not accepted by the fleet CA: "
		    "%s", X509_verify_cert_error_string(err));
	}
}

static int
chain_ok(const struct enrol *e, X509 *leaf, STACK_OF(X509) *chain,
    char *why, size_t len)
{
	X509_STORE_CTX *x;
	int ok;

	if ((x = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(x, e->store, leaf, chain) != 1) {
		X509_STORE_CTX_free(x);
		ERR_clear_error();
		snprintf(why, len, "certificate could not be checked (out of "
		    "memory)");
		return 0;
	}
	if (!(ok = X509_verify_cert(x) == 1))
		verify_reason(e, x, why, len);
	X509_STORE_CTX_free(x);
	ERR_clear_error();
	return ok;
}

/* Compare one name of the certificate; remember the first bad one. */
static int
name_match(const ASN1_STRING *s, const char *host, char *bad, size_t badlen)
{
	const unsigned char *d = ASN1_STRING_get0_data(s);
	size_t n = (size_t)ASN1_STRING_length(s);

	if (memchr(d, '\0', n) != NULL || !wire_valid_host((const char *)d,
	    n)) {
		if (bad[0] == '\0')
			quote(d, n, bad, badlen);
		return 0;
	}
	return strlen(host) == n && memcmp(d, host, n) == 0;
}

/* Its DNS names: -1 when it has none, else whether one is host. */
static int
san_match(X509 *leaf, const char *host, char *bad, size_t badlen,
    char *first, size_t firstlen)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	int i, ndns = 0, hit = 0;

	if ((gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL,
	    NULL)) == NULL)
		return -1;
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		if (ndns++ == 0)
			quote(ASN1_STRING_get0_data(g->d.dNSName),
			    (size_t)ASN1_STRING_length(g->d.dNSName), first,
			    firstlen);
		hit |= name_match(g->d.dNSName, host, bad, badlen);
	}
	GENERAL_NAMES_free(gens);
	return ndns == 0 ? -1 : hit;
}

static int
cn_match(X509 *leaf, const char *host, char *bad, size_t badlen,
    char *first, size_t firstlen)
{
	X509_NAME *subj = X509_get_subject_name(leaf);
	int i = -1, last = -1;
	const ASN1_STRING *s;

	while ((i = X509_NAME_get_index_by_NID(subj, NID_commonName, i)) >= 0)
		last = i;
	if (last < 0)
		return -1;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, last));
	quote(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s), first,
	    firstlen);
	return name_match(s, host, bad, badlen);
}

int
enrol_cert_name(X509 *leaf, const char *host, char *why, size_t len)
{
	char bad[NAME_SHOWN * 4 + 8] = "", first[NAME_SHOWN * 4 + 8] = "";
	const char *kind = "DNS name";
	int r;

	if ((r = san_match(leaf, host, bad, sizeof(bad), first,
	    sizeof(first))) == -1) {
		kind = "common name";
		r = cn_match(leaf, host, bad, sizeof(bad), first,
		    sizeof(first));
	}
	if (r == 1)
		return 0;
	if (r == -1)
		snprintf(why, len, "certificate names no host (no DNS "
		    "subjectAltName, no commonName)");
	else if (bad[0] != '\0')
		snprintf(why, len, "name \"%s\" breaks the host-name rules "
		    "(1 to %d letters, digits, '.', '_' or '-')", bad,
		    WIRE_MAX_HOST);
	else
		snprintf(why, len, "certificate is for %s \"%s\", not for "
		    "host \"%s\"", kind, first, host);
	return -1;
}

int
enrol_check(const struct enrol *e, X509 *leaf, STACK_OF(X509) *chain,
    const char *host, char *why, size_t len)
{
	if (leaf == NULL) {
		snprintf(why, len, "no client certificate (this receiver "
		    "enrols senders by certificate)");
		return -1;
	}
	if (!chain_ok(e, leaf, chain, why, len))
		return -1;
	return enrol_cert_name(leaf, host, why, len);
}

int
enrol_directory(const struct conf *c, const char *name, char *buf,
    size_t len)
{
	int n = snprintf(buf, len, "%s/%s", c->receiver.directory, name);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

const char *
enrol_taken(const struct conf *c, const char *name)
{
	const struct conf_host *ch;
	char dir[PATH_MAX];

	if (enrol_directory(c, name, dir, sizeof(dir)) == -1)
		return "";
	for (ch = c->receiver.hosts; ch != NULL; ch = ch->next)
		if (strcmp(ch->name, name) == 0 ||
		    strcmp(ch->directory, dir) == 0)
			return ch->name;
	return NULL;
}
