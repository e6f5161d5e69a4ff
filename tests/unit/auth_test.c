/*
 * Password proofs (auth.c): the HMAC the protocol defines, bound to every
 * input; checks that take exactly the right proof; the comparisons of pins.
 * The expected proofs are worked out here with OpenSSL's HMAC() and, for
 * one vector, with "openssl dgst -sha256 -hmac", not with auth.c.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"
#include "harness.h"

#define PASSWORD	"s3cret pass"
#define HOST		"web1.example.org"

static uint8_t ekm[TLSIO_EKM_LEN], ns[WIRE_NONCE_LEN], nr[WIRE_NONCE_LEN];

/* ekm 00..1f, nonce_s 20..3f, nonce_r 40..5f: the vector below. */
static void
inputs(void)
{
	size_t i;

	for (i = 0; i < sizeof(ekm); i++)
		ekm[i] = (uint8_t)i;
	for (i = 0; i < sizeof(ns); i++)
		ns[i] = (uint8_t)(0x20 + i);
	for (i = 0; i < sizeof(nr); i++)
		nr[i] = (uint8_t)(0x40 + i);
}

/* The proof as docs/protocol.md defines it, computed here. */
static void
expected(const char *password, const char *label, const uint8_t *e,
    const uint8_t *s, const uint8_t *r, const char *host,
    uint8_t out[WIRE_MAC_LEN])
{
	uint8_t msg[64 + TLSIO_EKM_LEN + 2 * WIRE_NONCE_LEN + WIRE_MAX_HOST];
	unsigned outlen = WIRE_MAC_LEN;
	size_t n = 0;

	memcpy(msg + n, label, strlen(label));
	n += strlen(label);
	memcpy(msg + n, e, TLSIO_EKM_LEN);
	n += TLSIO_EKM_LEN;
	memcpy(msg + n, s, WIRE_NONCE_LEN);
	n += WIRE_NONCE_LEN;
	memcpy(msg + n, r, WIRE_NONCE_LEN);
	n += WIRE_NONCE_LEN;
	memcpy(msg + n, host, strlen(host));
	n += strlen(host);
	if (HMAC(EVP_sha256(), password, (int)strlen(password), msg, n, out,
	    &outlen) == NULL || outlen != WIRE_MAC_LEN)
		abort();
}

static void
unhex(const char *hex, uint8_t *out, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (sscanf(hex + 2 * i, "%2hhx", &out[i]) != 1)
			abort();
}

/* A fixed vector, from the openssl command line. */
static void
test_known_vector(void)
{
	uint8_t got[WIRE_MAC_LEN], want[WIRE_MAC_LEN];

	inputs();
	REQUIRE(auth_proof(PASSWORD, AUTH_SENDER, ekm, ns, nr, HOST, got) == 0);
	unhex("dc41b4f35328e74a1be808acafcb6e5b2dd527bdb453e1c0cc52066239d668ca",
	    want, sizeof(want));
	CHECK_EQ_MEM(got, want, WIRE_MAC_LEN);
	REQUIRE(auth_proof(PASSWORD, AUTH_RECEIVER, ekm, ns, nr, HOST,
	    got) == 0);
	unhex("124c2c10281e7df04c50ff5b1ad98f3d5f02eae465d5a3473f2ab288f345cb3d",
	    want, sizeof(want));
	CHECK_EQ_MEM(got, want, WIRE_MAC_LEN);
}

/* Both sides, empty and longest host names, an empty password. */
static void
test_matches_hmac(void)
{
	static const char *pw[] = { PASSWORD, "", "x" };
	char longest[WIRE_MAX_HOST + 1];
	const char *hosts[] = { HOST, "", "h", longest };
	uint8_t got[WIRE_MAC_LEN], want[WIRE_MAC_LEN];
	size_t i, j;

	inputs();
	memset(longest, 'a', WIRE_MAX_HOST);
	longest[WIRE_MAX_HOST] = '\0';
	for (i = 0; i < sizeof(pw) / sizeof(pw[0]); i++)
		for (j = 0; j < sizeof(hosts) / sizeof(hosts[0]); j++) {
			CHECK(auth_proof(pw[i], AUTH_SENDER, ekm, ns, nr,
			    hosts[j], got) == 0);
			expected(pw[i], "auditdist sender v1", ekm, ns, nr,
			    hosts[j], want);
			CHECK_EQ_MEM(got, want, WIRE_MAC_LEN);
			CHECK(auth_proof(pw[i], AUTH_RECEIVER, ekm, ns, nr,
			    hosts[j], got) == 0);
			expected(pw[i], "auditdist receiver v1", ekm, ns, nr,
			    hosts[j], want);
			CHECK_EQ_MEM(got, want, WIRE_MAC_LEN);
		}
}

/* A host name longer than the protocol allows gets no proof. */
static void
test_host_too_long(void)
{
	char host[WIRE_MAX_HOST + 2];
	uint8_t proof[WIRE_MAC_LEN];

	inputs();
	memset(host, 'a', WIRE_MAX_HOST + 1);
	host[WIRE_MAX_HOST + 1] = '\0';
	CHECK_EQ_I64(auth_proof(PASSWORD, AUTH_SENDER, ekm, ns, nr, host,
	    proof), -1);
	memset(proof, 0, sizeof(proof));
	CHECK_EQ_I64(auth_check(PASSWORD, AUTH_SENDER, ekm, ns, nr, host,
	    proof), 0);
}

/* Each input changes the proof: none may be left out of the HMAC. */
static void
test_every_input_counts(void)
{
	uint8_t base[WIRE_MAC_LEN], p[WIRE_MAC_LEN];
	uint8_t ekm2[TLSIO_EKM_LEN], ns2[WIRE_NONCE_LEN], nr2[WIRE_NONCE_LEN];
	size_t i;

	inputs();
	REQUIRE(auth_proof(PASSWORD, AUTH_SENDER, ekm, ns, nr, HOST, base) == 0);
#define DIFFERS(pw, side, e, s, r, h) do {				\
	REQUIRE(auth_proof(pw, side, e, s, r, h, p) == 0);		\
	CHECK(memcmp(p, base, WIRE_MAC_LEN) != 0);			\
	CHECK(!auth_check(PASSWORD, AUTH_SENDER, ekm, ns, nr, HOST, p)); \
} while (0)
	DIFFERS("s3cret pasS", AUTH_SENDER, ekm, ns, nr, HOST);
	DIFFERS("s3cret pass ", AUTH_SENDER, ekm, ns, nr, HOST);
	DIFFERS(PASSWORD, AUTH_RECEIVER, ekm, ns, nr, HOST);
	DIFFERS(PASSWORD, AUTH_SENDER, ekm, nr, ns, HOST);	/* swapped */
	DIFFERS(PASSWORD, AUTH_SENDER, ekm, ns, nr, "web2.example.org");
	DIFFERS(PASSWORD, AUTH_SENDER, ekm, ns, nr, "web1.example.or");
	/* The last byte of each binary input as well as the first. */
	for (i = 0; i < TLSIO_EKM_LEN; i += TLSIO_EKM_LEN - 1) {
		memcpy(ekm2, ekm, sizeof(ekm2));
		ekm2[i] ^= 1;
		DIFFERS(PASSWORD, AUTH_SENDER, ekm2, ns, nr, HOST);
	}
	for (i = 0; i < WIRE_NONCE_LEN; i += WIRE_NONCE_LEN - 1) {
		memcpy(ns2, ns, sizeof(ns2));
		ns2[i] ^= 0x80;
		DIFFERS(PASSWORD, AUTH_SENDER, ekm, ns2, nr, HOST);
		memcpy(nr2, nr, sizeof(nr2));
		nr2[i] ^= 0x80;
		DIFFERS(PASSWORD, AUTH_SENDER, ekm, ns, nr2, HOST);
	}
#undef DIFFERS
}

/* The right proof passes; a change to any one bit of it does not. */
static void
test_check(void)
{
	uint8_t proof[WIRE_MAC_LEN];
	size_t bit;

	inputs();
	REQUIRE(auth_proof(PASSWORD, AUTH_RECEIVER, ekm, ns, nr, HOST,
	    proof) == 0);
	CHECK_EQ_I64(auth_check(PASSWORD, AUTH_RECEIVER, ekm, ns, nr, HOST,
	    proof), 1);
	CHECK_EQ_I64(auth_check(PASSWORD, AUTH_SENDER, ekm, ns, nr, HOST,
	    proof), 0);
	for (bit = 0; bit < 8 * WIRE_MAC_LEN; bit++) {
		proof[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		CHECK_EQ_I64(auth_check(PASSWORD, AUTH_RECEIVER, ekm, ns, nr,
		    HOST, proof), 0);
		proof[bit / 8] ^= (uint8_t)(1 << (bit % 8));
	}
	memset(proof, 0, sizeof(proof));
	CHECK_EQ_I64(auth_check(PASSWORD, AUTH_RECEIVER, ekm, ns, nr, HOST,
	    proof), 0);
}

static void
test_pin_equal(void)
{
	CHECK_EQ_I64(auth_pin_equal("", ""), 1);
	CHECK_EQ_I64(auth_pin_equal("ab:cd:ef", "ab:cd:ef"), 1);
	CHECK_EQ_I64(auth_pin_equal("ab:cd:ef", "ab:cd:eF"), 0);
	CHECK_EQ_I64(auth_pin_equal("xb:cd:ef", "ab:cd:ef"), 0);
	CHECK_EQ_I64(auth_pin_equal("ab:cd:ef", "ab:cd:e"), 0);	/* a prefix */
	CHECK_EQ_I64(auth_pin_equal("ab:cd", "ab:cd:ef"), 0);
	CHECK_EQ_I64(auth_pin_equal("", "a"), 0);
	CHECK_EQ_I64(auth_pin_equal("a", ""), 0);
}

/* Every length is filled, only that much, and not twice the same way. */
static void
test_random(void)
{
	static const size_t lens[] = { 0, 1, 16, 31, 32, 33, 1000 };
	uint8_t buf[1001], seen[1000], a[WIRE_NONCE_LEN], b[WIRE_NONCE_LEN];
	size_t i, k, zero;
	int round;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memset(seen, 0, sizeof(seen));
		for (round = 0; round < 4; round++) {
			memset(buf, 0, sizeof(buf));
			buf[lens[i]] = 0x5a;
			CHECK_EQ_I64(auth_random(buf, lens[i]), 0);
			CHECK_EQ_U64(buf[lens[i]], 0x5a);	/* no more */
			for (k = 0; k < lens[i]; k++)
				seen[k] |= buf[k];
		}
		/* a byte left 0 four times: 1 in 2^32 */
		for (zero = 0, k = 0; k < lens[i]; k++)
			zero += seen[k] == 0;
		CHECK_EQ_U64(zero, 0);
	}
	CHECK(auth_random(a, sizeof(a)) == 0 && auth_random(b, sizeof(b)) == 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
}

static const struct h_test tests[] = {
	TEST(test_known_vector),
	TEST(test_matches_hmac),
	TEST(test_host_too_long),
	TEST(test_every_input_counts),
	TEST(test_check),
	TEST(test_pin_equal),
	TEST(test_random),
};

RUN_TESTS("auth", tests)
