/*
 * Password proofs for the handshake (see auth.h).  The TLS exporter value
 * in every proof ties it to one TLS session, so a proof captured anywhere
 * cannot be replayed on another connection.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "auth.h"

#define LABEL_S	"auditdist sender v1"
#define LABEL_R	"auditdist receiver v1"

int
auth_proof(const char *password, enum auth_side side,
    const uint8_t ekm[TLSIO_EKM_LEN], const uint8_t nonce_s[WIRE_NONCE_LEN],
    const uint8_t nonce_r[WIRE_NONCE_LEN], const char *host,
    uint8_t out[WIRE_MAC_LEN])
{
	uint8_t msg[sizeof(LABEL_R) + TLSIO_EKM_LEN + 2 * WIRE_NONCE_LEN +
	    WIRE_MAX_HOST];
	const char *label = side == AUTH_SENDER ? LABEL_S : LABEL_R;
	size_t n = 0, ll = strlen(label), hl = strlen(host);
	unsigned outlen = WIRE_MAC_LEN;
	int rc = 0;

	if (hl > WIRE_MAX_HOST)
		return -1;
	memcpy(msg + n, label, ll);
	n += ll;
	memcpy(msg + n, ekm, TLSIO_EKM_LEN);
	n += TLSIO_EKM_LEN;
	memcpy(msg + n, nonce_s, WIRE_NONCE_LEN);
	n += WIRE_NONCE_LEN;
	memcpy(msg + n, nonce_r, WIRE_NONCE_LEN);
	n += WIRE_NONCE_LEN;
	memcpy(msg + n, host, hl);
	n += hl;
	if (HMAC(EVP_sha256(), password, (int)strlen(password), msg, n, out,
	    &outlen) == NULL || outlen != WIRE_MAC_LEN)
		rc = -1;
	OPENSSL_cleanse(msg, sizeof(msg));
	return rc;
}

int
auth_check(const char *password, enum auth_side side,
    const uint8_t ekm[TLSIO_EKM_LEN], const uint8_t nonce_s[WIRE_NONCE_LEN],
    const uint8_t nonce_r[WIRE_NONCE_LEN], const char *host,
    const uint8_t proof[WIRE_MAC_LEN])
{
	uint8_t want[WIRE_MAC_LEN];
	int ok;

	if (auth_proof(password, side, ekm, nonce_s, nonce_r, host, want) == -1)
		return 0;
	ok = CRYPTO_memcmp(want, proof, WIRE_MAC_LEN) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}

int
auth_random(void *buf, size_t len)
{
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

int
auth_pin_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return 0;
	return CRYPTO_memcmp(a, b, la) == 0;
}
