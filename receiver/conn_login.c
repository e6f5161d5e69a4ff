/*
 * The protocol handshake of a sender's connection: HELLO answered with a
 * CHALLENGE, AUTH checked against the host's password or certificate pin
 * (or its certificate enrols it), then the host's writer is asked what
 * its trail holds and WELCOME says where to resume.  A failed login is
 * answered after a delay that slows down guessing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auditdistd.h"
#include "auth.h"
#include "conn.h"
#include "log.h"
#include "tlsio.h"

#define AUTH_DELAY_MS	1000

void
conn_on_hello(struct conn *c, const uint8_t *p, size_t len)
{
	static const uint8_t zero[WIRE_ID_LEN];
	struct msg_hello m;
	char why[128];

	if (wire_dec_hello(p, len, &m) == -1) {
		conn_protocol_error(c, "malformed HELLO (%s)", m.why);
		return;
	}
	memcpy(c->host, m.host, sizeof(c->host));
	/* A v2 sender ships as before; it sends no HEALTH. */
	if (m.version < WIRE_MIN_VERSION || m.version > WIRE_VERSION) {
		snprintf(why, sizeof(why), "protocol version %u is not "
		    "supported; this receiver speaks %d to %d", m.version,
		    WIRE_MIN_VERSION, WIRE_VERSION);
		if (conn_peer_log(c))
			log_warnx("%s: %s", conn_who(c), why);
		conn_close(c, WIRE_ERR_VERSION, why);
		return;
	}
	if (memcmp(m.spool_id, zero, sizeof(zero)) == 0) {
		conn_protocol_error(c, "the spool id is all zero");
		return;
	}
	memcpy(c->spool_id, m.spool_id, sizeof(c->spool_id));
	memcpy(c->nonce_s, m.nonce, sizeof(c->nonce_s));
	/*
	 * Unknown hosts get a challenge too, and fail at AUTH like a wrong
	 * password: the answer must not tell which host names exist.
	 */
	if (auth_random(c->nonce_r, sizeof(c->nonce_r)) == -1)
		fatalx("no random bytes for a challenge");
	c->version = m.version;
	if (wire_enc_challenge(&c->out, c->version, c->nonce_r) == -1)
		fatal("CHALLENGE");
	c->state = C_AUTH;
}

/*
 * NULL when the peer proved to be the host it named, else why not; *quiet
 * when that was said already.
 */
static const char *
auth_problem(struct conn *c, struct rhost *rh, const struct msg_auth *m,
    int *quiet)
{
	static char why[TLSIO_FP_LEN + 64];
	uint8_t ekm[TLSIO_EKM_LEN];
	char fp[TLSIO_FP_LEN];
	const struct conf_host *ch;
	const char *p;
	int ok;

	*quiet = 0;
	if (rh == NULL)
		return "unknown host";
	ch = rh->ch;
	if ((p = rhost_addr_problem(rh, &c->peer, quiet)) != NULL)
		return p;
	if (ch->password == NULL && ch->fingerprint == NULL)
		return "the host has neither a password nor a fingerprint";
	if (ch->password != NULL) {
		if (!m->has_proof)
			return "no password proof (the host has a password)";
		if (tlsio_exporter(c->tls, ekm) == -1)
			return "no TLS keying material";
		ok = auth_check(ch->password, AUTH_SENDER, ekm, c->nonce_s,
		    c->nonce_r, c->host, m->proof);
		OPENSSL_cleanse(ekm, sizeof(ekm));
		if (!ok)
			return "wrong password proof";
	} else if (m->has_proof)
		return "a password proof, but the host has no password";
	if (ch->fingerprint != NULL) {
		if (tlsio_peer_fingerprint(c->tls, fp) == -1)
			return "no client certificate (the host has a "
			    "fingerprint)";
		if (!auth_pin_equal(fp, ch->fingerprint)) {
			snprintf(why, sizeof(why), "client certificate %s "
			    "does not match the fingerprint", fp);
			return why;
		}
	}
	return NULL;
}

/* The host ships another spool's series (see rhost_series_problem). */
static void
refuse_series(struct conn *c, const char *why)
{
	log_warnx("%s: login refused: %s", c->addr, why);
	conn_close(c, WIRE_ERR_SERIES, why);
}

/*
 * Once the writer said what the trail holds, the series check again (no
 * connection of the host may have been live at AUTH), then the pin.
 * 1 when the connection was refused.
 */
static int
series_refused(struct conn *c, const struct trail_pos *dpos)
{
	const char *why;

	if (c->state != C_OPENING)
		return 0;
	if ((why = rhost_series_problem(c->rh, c, dpos->id)) != NULL) {
		refuse_series(c, why);
		return 1;
	}
	rhost_series_take(c->rh, c, dpos->id);
	return 0;
}

/*
 * Refuse a login after a delay that slows down guessing; tell: what the
 * peer is told, "" for "authentication failed".
 */
static void
auth_refuse(struct conn *c, const char *tell)
{
	free(c->refusal);
	c->refusal = *tell != '\0' ? strdup(tell) : NULL;
	c->state = C_AUTHFAIL;
	c->authfail_at = now_ms() + AUTH_DELAY_MS;
	timer_want(c->srv, c->authfail_at);
}

/*
 * A login under "enrol yes" of a host with no host block: NULL when its
 * certificate enrols it, else why (for the log and the peer).
 */
static const char *
enrol_problem(struct conn *c, const struct msg_auth *m)
{
	static char why[2 * WIRE_MAX_HOST + 256];
	const char *owner;

	if (c->srv->enrol == NULL)
		return "enrolment by certificate is unavailable: the receiver "
		    "could not load its cafile or crlfile";
	if (m->has_proof)
		snprintf(why, sizeof(why), "a password proof, but host %s is "
		    "not configured and enrols by certificate alone", c->host);
	else if ((owner = enrol_taken(c->srv->conf, c->host)) != NULL)
		snprintf(why, sizeof(why), "name \"%s\" is the trail directory "
		    "of configured host \"%s\"", c->host, owner);
	else if (enrol_check(c->srv->enrol, tlsio_peer_cert(c->tls),
	    tlsio_peer_chain(c->tls), c->host, why, sizeof(why)) == 0)
		return NULL;
	return why;
}

static void
enrol_refused(struct conn *c, const char *why)
{
	char subj[300];

	enrol_subject(tlsio_peer_cert(c->tls), subj, sizeof(subj));
	if (conn_peer_log(c))
		log_warnx("%s: enrolment refused: certificate \"%s\": %s",
		    conn_who(c), subj, why);
	auth_refuse(c, why);
}

/* The host of an enrolment that passed; NULL: refused (no memory). */
static struct rhost *
enrolled(struct conn *c, struct rhost *rh)
{
	char subj[300];

	if (rh != NULL)
		return rh;
	if ((rh = hosts_enrol(c->srv, c->host)) == NULL) {
		log_warn("%s: enrolment", conn_who(c));
		auth_refuse(c, "receiver out of memory; retry later");
		return NULL;
	}
	enrol_subject(tlsio_peer_cert(c->tls), subj, sizeof(subj));
	hlog_info(rh->name, "enrolled by certificate \"%s\" from %s; its trail "
	    "directory is %s", subj, c->addr, rh->ch->directory);
	return rh;
}

/*
 * A configured host refused: a peer whose certificate would enrol it is a
 * member of the fleet and may be told why.
 */
static const char *
other_credentials(struct conn *c)
{
	static char why[64 + WIRE_MAX_HOST];
	char tmp[2 * WIRE_MAX_HOST + 256];

	if (c->srv->enrol == NULL || enrol_check(c->srv->enrol,
	    tlsio_peer_cert(c->tls), tlsio_peer_chain(c->tls), c->host, tmp,
	    sizeof(tmp)) == -1)
		return "";
	snprintf(why, sizeof(why), "host %s is configured with other "
	    "credentials", c->host);
	return why;
}

void
conn_on_auth(struct conn *c, const uint8_t *p, size_t len)
{
	struct server *srv = c->srv;
	struct msg_auth m;
	struct rhost *rh;
	uint8_t ekm[TLSIO_EKM_LEN];
	const char *why, *tell;
	int quiet;

	if (wire_dec_auth(p, len, &m) == -1) {
		conn_protocol_error(c, "malformed AUTH");
		return;
	}
	rh = hosts_find(srv, c->host);
	if (srv->conf->receiver.enrol && (rh == NULL || rh->own != NULL)) {
		why = enrol_problem(c, &m);
		OPENSSL_cleanse(&m, sizeof(m));
		if (why != NULL)
			enrol_refused(c, why);
		else
			rh = enrolled(c, rh);
		if (why != NULL || rh == NULL)
			return;
	} else if ((why = auth_problem(c, rh, &m, &quiet)) != NULL) {
		tell = other_credentials(c);
		if (quiet)
			log_debug("%s: authentication failed: %s", conn_who(c),
			    why);
		else if (conn_peer_log(c))
			log_warnx("%s: authentication failed: %s%s%s",
			    conn_who(c), why, *tell ? "; " : "", tell);
		OPENSSL_cleanse(&m, sizeof(m));
		auth_refuse(c, tell);
		return;
	}
	OPENSSL_cleanse(&m, sizeof(m));
	if (rh->ch->password != NULL) {
		if (tlsio_exporter(c->tls, ekm) == -1 ||
		    auth_proof(rh->ch->password, AUTH_RECEIVER, ekm,
		    c->nonce_s, c->nonce_r, c->host, c->proof) == -1) {
			OPENSSL_cleanse(ekm, sizeof(ekm));
			log_warnx("%s: cannot compute the receiver's proof",
			    conn_who(c));
			conn_close(c, WIRE_ERR_AUTH, "authentication failed");
			return;
		}
		OPENSSL_cleanse(ekm, sizeof(ekm));
	}
	/* Before replacing anyone: a live one of another spool stays. */
	if ((why = rhost_series_problem(rh, c, NULL)) != NULL) {
		refuse_series(c, why);
		return;
	}
	if (rh->conn != NULL) {
		hlog_info(rh->name, "the connection from %s replaces the one "
		    "from %s (the same spool)", c->addr,
		    rh->conn->addr);
		conn_close(rh->conn, WIRE_ERR_BUSY, "replaced by a newer "
		    "connection from the same host");
	}
	c->rh = rh;
	rh->conn = c;
	c->state = C_OPENING;
	srv->npending--;
	/* Its writer syncs what the replaced connection sent, then answers
	 * with what is durable: conn_opened. */
	rhost_open(srv, rh);
}

/*
 * tail: the last tail_len bytes held of segment dpos->seq, from a line's
 * start (trail_tail), for the sender to check its copy against.  A
 * version 2 sender gets exactly min(size, WIRE_TAIL_MIN) of them.
 */
void
conn_opened(struct conn *c, const struct trail_pos *dpos, const uint8_t *tail,
    size_t tail_len)
{
	struct rhost *rh = c->rh;
	char pos[160];

	if (series_refused(c, dpos))
		return;
	if (c->state != C_OPENING)
		return;
	if (c->version < 3 && tail_len > WIRE_TAIL_MIN) {
		tail += tail_len - WIRE_TAIL_MIN;
		tail_len = WIRE_TAIL_MIN;
	}
	if (wire_enc_welcome(&c->out, rh->ch->password ? c->proof : NULL,
	    dpos->id, dpos->seq, dpos->size, dpos->complete, tail,
	    tail_len) == -1)
		fatal("WELCOME");
	OPENSSL_cleanse(c->proof, sizeof(c->proof));
	c->state = C_READY;
	health_connected(rh, c->version);
	c->srv->churn++;
	c->deadline = now_ms() + conn_timeout_ms(c);
	c->ping_at = now_ms() + conn_timeout_ms(c) / 3;
	trail_pos_str(dpos, pos, sizeof(pos));
	hlog_info(rh->name, "connected from %s (%s, %s), resuming after %s",
	    c->addr, tlsio_version(c->tls),
	    rh->own != NULL ? "enrolled by certificate" :
	    rh->ch->password && rh->ch->fingerprint ? "password and "
	    "certificate" : rh->ch->password ? "password" : "certificate",
	    pos);
	conn_run(c);
}

