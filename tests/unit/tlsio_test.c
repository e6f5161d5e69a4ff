/*
 * TLS I/O and authentication over a real TLS session on a socketpair:
 * fingerprints as openssl x509 prints them, pins, the exporter binding,
 * proofs that fail with the wrong password or on another session.
 */
#include <sys/socket.h>

#include <fcntl.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "auth.h"
#include "harness.h"
#include "tlsio.h"
#include "tlspeer.h"

static char certfile[64], keyfile[64], cert2file[64], key2file[64];
static int server_read_ahead;	/* as the receiver's (net.c) */

struct pair {
	SSL_CTX		*sctx, *cctx;
	struct tlsio	*s, *c;
	int		 fds[2];
};

/* Drive both handshakes to the end on a non-blocking socketpair. */
static int
handshake(struct pair *p, const char *cafile, const char *ccert,
    const char *ckey)
{
	char err[256];
	int sd = 0, cd = 0, i;

	p->sctx = tlsio_server_ctx(certfile, keyfile, err, sizeof(err));
	p->cctx = tlsio_client_ctx(cafile, ccert, ckey, err, sizeof(err));
	if (p->sctx == NULL || p->cctx == NULL)
		return -1;
	if (server_read_ahead)
		SSL_CTX_set_read_ahead(p->sctx, 1);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p->fds) == -1)
		return -1;
	p->s = tlsio_new(p->sctx, p->fds[0], 1, NULL);
	p->c = tlsio_new(p->cctx, p->fds[1], 0, "localhost");
	for (i = 0; i < 100 && !(sd == 1 && cd == 1); i++) {
		if (cd != 1 && (cd = tlsio_handshake(p->c)) == TLSIO_ERROR)
			return -1;
		if (sd != 1 && (sd = tlsio_handshake(p->s)) == TLSIO_ERROR)
			return -1;
	}
	return (sd == 1 && cd == 1) ? 0 : -1;
}

static void
pair_free(struct pair *p)
{
	tlsio_free(p->s);
	tlsio_free(p->c);
	SSL_CTX_free(p->sctx);
	SSL_CTX_free(p->cctx);
	close(p->fds[0]);
	close(p->fds[1]);
}

static void
test_fingerprint_matches_openssl(void)
{
	char fp[TLSIO_FP_LEN], cmd[256], line[256];
	FILE *f;

	REQUIRE(tlsio_file_fingerprint(certfile, fp) == 0);
	CHECK(strncmp(fp, "SHA256=", 7) == 0 && strlen(fp) == 7 + 95);
	snprintf(cmd, sizeof(cmd), "openssl x509 -noout -fingerprint -sha256 "
	    "-in %s 2>/dev/null", certfile);
	if ((f = popen(cmd, "r")) == NULL || fgets(line, sizeof(line), f) ==
	    NULL) {
		printf("skip: openssl(1) not available to compare with\n");
		if (f != NULL)
			pclose(f);
		return;
	}
	pclose(f);
	line[strcspn(line, "\n")] = '\0';
	/* openssl prints "sha256 Fingerprint=AA:..." (3.x) */
	CHECK(strstr(line, fp + 7) != NULL);
}

static void
test_session(void)
{
	uint8_t ekm_s[TLSIO_EKM_LEN], ekm_c[TLSIO_EKM_LEN], ns[32] = { 1 },
	    nr[32] = { 2 }, proof[WIRE_MAC_LEN];
	char fp[TLSIO_FP_LEN], fpfile[TLSIO_FP_LEN], pin[TLSIO_PIN_LEN], buf[16];
	struct pair p;
	ssize_t n;

	REQUIRE(handshake(&p, NULL, NULL, NULL) == 0);
	CHECK_STR(tlsio_version(p.c), "TLSv1.3");
	REQUIRE(tlsio_peer_fingerprint(p.c, fp) == 0);
	REQUIRE(tlsio_file_fingerprint(certfile, fpfile) == 0);
	CHECK(auth_pin_equal(fp, fpfile));
	CHECK(tlsio_peer_pubkey_pin(p.c, pin) == 0);
	CHECK(strncmp(pin, "sha256//", 8) == 0 && strlen(pin) == 8 + 44);
	/* the server asked for a client certificate; none was sent */
	CHECK(tlsio_peer_fingerprint(p.s, fp) == -1);
	/* both ends derive the same exporter value */
	REQUIRE(tlsio_exporter(p.s, ekm_s) == 0);
	REQUIRE(tlsio_exporter(p.c, ekm_c) == 0);
	CHECK(memcmp(ekm_s, ekm_c, sizeof(ekm_s)) == 0);
	REQUIRE(auth_proof("secret", AUTH_SENDER, ekm_c, ns, nr, "h", proof) == 0);
	CHECK(auth_check("secret", AUTH_SENDER, ekm_s, ns, nr, "h", proof));
	CHECK(!auth_check("Secret", AUTH_SENDER, ekm_s, ns, nr, "h", proof));
	CHECK(!auth_check("secret", AUTH_RECEIVER, ekm_s, ns, nr, "h", proof));
	CHECK(!auth_check("secret", AUTH_SENDER, ekm_s, ns, nr, "g", proof));
	CHECK(!auth_check("secret", AUTH_SENDER, ekm_s, nr, ns, "h", proof));
	/* data both ways; then an orderly end */
	CHECK(tlsio_write(p.c, "hello", 5) == 5);
	n = tlsio_read(p.s, buf, sizeof(buf));
	CHECK(n == 5 && memcmp(buf, "hello", 5) == 0);
	CHECK(tlsio_read(p.s, buf, sizeof(buf)) == TLSIO_WANT_READ);
	tlsio_shutdown(p.c);
	CHECK(tlsio_read(p.s, buf, sizeof(buf)) == 0);

	/* A proof from this session is worth nothing on another one. */
	{
		struct pair q;
		uint8_t ekm2[TLSIO_EKM_LEN];

		REQUIRE(handshake(&q, NULL, NULL, NULL) == 0);
		REQUIRE(tlsio_exporter(q.s, ekm2) == 0);
		CHECK(memcmp(ekm2, ekm_s, sizeof(ekm2)) != 0);
		CHECK(!auth_check("secret", AUTH_SENDER, ekm2, ns, nr, "h", proof));
		pair_free(&q);
	}
	pair_free(&p);
}

/*
 * With read-ahead (the receiver's), records read from the socket and not
 * yet decrypted count as pending: a reader that stops before TLS wants
 * more must not wait for a socket event that will not come.
 */
static void
test_pending_read_ahead(void)
{
	struct pair p;
	char buf[8];

	server_read_ahead = 1;
	REQUIRE(handshake(&p, NULL, NULL, NULL) == 0);
	server_read_ahead = 0;
	CHECK(tlsio_pending(p.s) == 0);
	CHECK(tlsio_write(p.c, "one", 3) == 3);
	CHECK(tlsio_write(p.c, "two", 3) == 3);
	CHECK(tlsio_read(p.s, buf, sizeof(buf)) == 3);
	/* the second record is in the server's buffer, not the socket */
	CHECK(tlsio_pending(p.s) > 0);
	CHECK(tlsio_read(p.s, buf, sizeof(buf)) == 3 &&
	    memcmp(buf, "two", 3) == 0);
	CHECK(tlsio_pending(p.s) == 0);
	pair_free(&p);
}

static void
test_client_cert(void)
{
	char fp[TLSIO_FP_LEN], fpfile[TLSIO_FP_LEN];
	struct pair p;

	REQUIRE(handshake(&p, NULL, cert2file, key2file) == 0);
	REQUIRE(tlsio_peer_fingerprint(p.s, fp) == 0);
	REQUIRE(tlsio_file_fingerprint(cert2file, fpfile) == 0);
	CHECK(auth_pin_equal(fp, fpfile));
	pair_free(&p);
}

static void
test_cafile(void)
{
	char date[CERTCHECK_DATE_LEN];
	struct pair p;
	int depth;

	/* The server's own certificate as the CA: verifies, name matches. */
	CHECK(handshake(&p, certfile, NULL, NULL) == 0);
	CHECK(tlsio_refusal(p.c, &depth, date) == X509_V_OK);
	CHECK(tlsio_peer_cert(p.c) != NULL);
	pair_free(&p);
	/* Another CA: the client refuses the handshake, and says what. */
	CHECK(handshake(&p, cert2file, NULL, NULL) == -1);
	CHECK(strstr(tlsio_error(p.c), "certificate") != NULL);
	CHECK(tlsio_refusal(p.c, &depth, date) != X509_V_OK);
	CHECK(depth == 0);
	pair_free(&p);
}

static void
test_bad_files(void)
{
	char err[256];

	CHECK(tlsio_server_ctx("/nonexistent.pem", keyfile, err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, "/nonexistent.pem") != NULL);
	CHECK(tlsio_server_ctx(certfile, key2file, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "does not match") != NULL);
	CHECK(tlsio_client_ctx("/nonexistent-ca.pem", NULL, NULL, err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, "/nonexistent-ca.pem") != NULL);
}

static const struct h_test tests[] = {
	TEST(test_fingerprint_matches_openssl),
	TEST(test_session),
	TEST(test_pending_read_ahead),
	TEST(test_client_cert),
	TEST(test_cafile),
	TEST(test_bad_files),
};

int
main(void)
{
	int rc;

	if (make_cert("localhost", certfile, keyfile) == -1 ||
	    make_cert("client", cert2file, key2file) == -1) {
		printf("cannot make test certificates\n0 passed, 1 failed\n");
		return 1;
	}
	rc = h_run("tlsio", tests, sizeof(tests) / sizeof(tests[0]));
	unlink(certfile);
	unlink(keyfile);
	unlink(cert2file);
	unlink(key2file);
	return rc;
}
