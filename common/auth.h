/*
 * Password authentication, both ways, bound to the TLS session:
 *   proof = HMAC-SHA256(password, label || ekm || nonce_s || nonce_r || host)
 * with label "auditdist sender v1" or "auditdist receiver v1" and ekm the
 * TLS exporter value.  A proof seen on one connection is worth nothing on
 * another.  Proofs are compared in constant time.
 */
#ifndef AUDITDIST_AUTH_H
#define AUDITDIST_AUTH_H

#include <stdint.h>

#include "tlsio.h"
#include "wire.h"

enum auth_side { AUTH_SENDER, AUTH_RECEIVER };

int	auth_proof(const char *password, enum auth_side,
	    const uint8_t ekm[TLSIO_EKM_LEN],
	    const uint8_t nonce_s[WIRE_NONCE_LEN],
	    const uint8_t nonce_r[WIRE_NONCE_LEN], const char *host,
	    uint8_t out[WIRE_MAC_LEN]);
/* 1 if proof is right, 0 if not (constant time). */
int	auth_check(const char *password, enum auth_side,
	    const uint8_t ekm[TLSIO_EKM_LEN],
	    const uint8_t nonce_s[WIRE_NONCE_LEN],
	    const uint8_t nonce_r[WIRE_NONCE_LEN], const char *host,
	    const uint8_t proof[WIRE_MAC_LEN]);
int	auth_random(void *, size_t);
/* Constant-time comparison of two NUL-terminated pins or fingerprints. */
int	auth_pin_equal(const char *a, const char *b);

#endif
