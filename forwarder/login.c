/*
 * Logging in to one receiver, seen from the forwarder: after the TLS
 * handshake, the receiver must be the one the host block pins (or its
 * cafile's verification says why not, for a person to fix); then
 * CHALLENGE is answered with AUTH, and WELCOME, once the receiver proved
 * it knows the password too, says where to resume: its copy's tail is
 * compared with the spool's, and a spool that was rolled back starts a
 * new series.  conn.c drives the connection and streams afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509_vfy.h>

#include "auth.h"
#include "certcheck.h"
#include "conn.h"
#include "log.h"

#define DATES_AGAIN_MS	(24 * 3600 * 1000)	/* a pinned, expired cert */

/* The receiver is who the configuration says, before it hears anything. */
int
fc_verify(struct fwd_conn *c)
{
	const struct conf_host *ch = c->ch;
	char fp[TLSIO_FP_LEN], pin[TLSIO_PIN_LEN];

	if (ch->fingerprint != NULL) {
		if (tlsio_peer_fingerprint(c->tls, fp) == -1) {
			fc_fail(c, F_SERIOUS, "receiver %s presented no "
			    "certificate", c->peer);
			return -1;
		}
		if (!auth_pin_equal(fp, ch->fingerprint)) {
			fc_fail(c, F_SERIOUS, "receiver %s presented %s but "
			    "fingerprint says %s", c->peer, fp,
			    ch->fingerprint);
			return -1;
		}
	}
	if (ch->pubkey != NULL) {
		if (tlsio_peer_pubkey_pin(c->tls, pin) == -1) {
			fc_fail(c, F_SERIOUS, "receiver %s presented no "
			    "public key", c->peer);
			return -1;
		}
		if (!auth_pin_equal(pin, ch->pubkey)) {
			fc_fail(c, F_SERIOUS, "receiver %s presented key %s "
			    "but pubkey says %s", c->peer, pin, ch->pubkey);
			return -1;
		}
	}
	return 0;
}

/*
 * A pin says who the receiver is, whatever the certificate's dates: an
 * expired one that matches is taken.  But it is said, once per receiver
 * when the forwarder starts and then at most once a day, however often
 * it reconnects.
 */
void
fc_dates(struct fwd_conn *c)
{
	const struct conf_host *ch = c->ch;
	X509 *x = tlsio_peer_cert(c->tls);
	char date[CERTCHECK_DATE_LEN];
	enum certcheck st;
	int64_t now = fwd_now_ms();

	if (ch->cafile != NULL || x == NULL)
		return;		/* a cafile's verification refuses it */
	st = certcheck_x509(x, time(NULL), 0);
	if (st != CERTCHECK_EXPIRED && st != CERTCHECK_NOT_YET)
		return;
	if (c->said_dates && now - c->said_dates_at < DATES_AGAIN_MS)
		return;
	c->said_dates = 1;
	c->said_dates_at = now;
	certcheck_date(st == CERTCHECK_EXPIRED ? X509_get0_notAfter(x) :
	    X509_get0_notBefore(x), date);
	hlog_warnx(ch->name, "warning: receiver %s presented a certificate that "
	    "%s %s; taken because it matches the %s pin; %s (said again "
	    "daily)", c->peer, st == CERTCHECK_EXPIRED ?
	    "expired on" : "is not valid before", date,
	    ch->fingerprint != NULL ? "fingerprint" : "pubkey",
	    st == CERTCHECK_NOT_YET ? "check the clocks of both hosts" :
	    ch->fingerprint != NULL ? "renew it on the receiver, then put its "
	    "new fingerprint in this host block" : "renew it on the receiver "
	    "(with the same key, pubkey stays valid)");
}

/*
 * A cafile's verification refusing the receiver's certificate needs a
 * person (renew it, fix the CA or the name): retrying soon would not
 * help.  Any other handshake failure may be the network's.
 */
void
fc_tls_failed(struct fwd_conn *c)
{
	char date[CERTCHECK_DATE_LEN], whose[64];
	int depth, e = tlsio_refusal(c->tls, &depth, date);

	if (e == X509_V_OK) {
		fc_fail(c, F_TRANSIENT, "TLS handshake with %s: %s", c->peer,
		    tlsio_error(c->tls));
		return;
	}
	if (depth == 0)
		snprintf(whose, sizeof(whose), "its certificate");
	else
		snprintf(whose, sizeof(whose), "the CA certificate at depth "
		    "%d of its chain", depth);
	if (e == X509_V_ERR_CERT_HAS_EXPIRED)
		fc_fail(c, F_SERIOUS, "receiver %s: %s expired on %s; renew "
		    "it%s", c->peer, whose, date, depth == 0 ?
		    " on the receiver" : " and the cafile");
	else if (e == X509_V_ERR_CERT_NOT_YET_VALID)
		fc_fail(c, F_SERIOUS, "receiver %s: %s is not valid before "
		    "%s; check the clocks of both hosts", c->peer, whose, date);
	else
		fc_fail(c, F_SERIOUS, "receiver %s: cafile %s does not "
		    "verify %s: %s", c->peer, c->ch->cafile, whose,
		    X509_verify_cert_error_string(e));
}

int
fc_challenge(struct fwd_conn *c, const uint8_t *p, size_t len)
{
	struct msg_challenge m;
	uint8_t proof[WIRE_MAC_LEN];
	int rc;

	if (wire_dec_challenge(p, len, &m) == -1) {
		fc_error(c, "malformed CHALLENGE");
		return -1;
	}
	if (m.version < WIRE_MIN_VERSION || m.version > c->version) {
		fc_fail(c, F_SERIOUS, "receiver %s speaks protocol version "
		    "%u, not %d to %u", c->peer, m.version, WIRE_MIN_VERSION,
		    c->version);
		return -1;
	}
	c->proto = m.version;
	memcpy(c->nonce_r, m.nonce, sizeof(c->nonce_r));
	if (c->ch->password != NULL) {
		if (auth_proof(c->ch->password, AUTH_SENDER, c->ekm,
		    c->nonce_s, c->nonce_r, fwd_env.name, proof) == -1)
			hfatalx(c->ch->name, "computing the password proof");
		rc = wire_enc_auth(&c->out, proof);
		OPENSSL_cleanse(proof, sizeof(proof));
	} else
		rc = wire_enc_auth(&c->out, NULL);	/* certificate only */
	if (rc == -1)
		hfatal(c->ch->name, "AUTH");
	c->st = FC_AUTH;
	return 0;
}

/*
 * Read the bytes of ours that the receiver's tail must equal (see
 * fwd_resume) into buf + 1, and the byte before them into buf[0] ('\n'
 * at the segment's start): *len counts those after buf[0].  -1: the
 * segment cannot be read now (try again later).
 */
static int
read_check(const struct fwd_resume *r, uint8_t *buf, size_t *len)
{
	char name[SEG_NAME_LEN + 8];
	ssize_t n;
	int fd, open, before = r->check_off > 0;

	*len = 0;
	buf[0] = '\n';
	if (r->check_len == 0)
		return 0;
	for (open = 1; open >= 0; open--) {
		spool_seg_name(name, sizeof(name), r->acked.seq, open);
		if ((fd = openat(fwd_env.dirfd, name, O_RDONLY | O_CLOEXEC |
		    O_NOFOLLOW)) != -1 || errno != ENOENT)
			break;
	}
	if (fd == -1)
		return -1;
	n = pread(fd, buf + 1 - before, r->check_len + before,
	    (off_t)(r->check_off - before));
	close(fd);
	if (n == -1)
		return -1;
	/* Not even the byte before: compared as "nothing of ours". */
	*len = n > before ? (size_t)(n - before) : 0;
	return 0;
}

/*
 * Our spool reuses segment numbers the receiver holds with other bytes:
 * it was rolled back (a snapshot, a restored backup).  Nothing of this
 * WELCOME may count as acknowledged; audisp-dist starts a new series and
 * restarts us, and everything is sent again under the new spool id.
 */
static void
rolled_back(struct fwd_conn *c, const struct msg_welcome *m,
    const struct fwd_resume *r)
{
	hlog_warnx(c->ch->name, "error: receiver %s holds segment %016" PRIx64 " up "
	    "to %" PRIu64 "%s of this spool, which does not match it: %s; "
	    "asking for a new series", c->peer, m->seq, m->size,
	    m->complete ? " (complete)" : "", r->note);
	fwd_report_series(c->idx, r->note);
	fc_fail(c, F_SERIOUS, "receiver %s: %s; a new series is started",
	    c->peer, r->note);
}

int
fc_welcome(struct fwd_conn *c, const uint8_t *p, size_t len)
{
	uint8_t ours[1 + WIRE_TAIL_MAX];
	struct msg_welcome m;
	struct spool_seg *segs;
	struct fwd_resume r;
	struct wire_pos theirs;
	size_t n, ourlen;

	if (wire_dec_welcome(p, len, &m) == -1) {
		fc_error(c, "malformed WELCOME");
		return -1;
	}
	/* A receiver that does not know the password gets nothing. */
	if (c->ch->password != NULL && (!m.has_proof ||
	    auth_check(c->ch->password, AUTH_RECEIVER, c->ekm, c->nonce_s,
	    c->nonce_r, fwd_env.name, m.proof) != 1)) {
		fc_fail(c, F_SERIOUS, "receiver %s %s", c->peer, m.has_proof ?
		    "does not prove it knows the password (different "
		    "passwords?)" : "sent no password proof");
		return -1;
	}
	if (spool_list(fwd_env.dirfd, &segs, &n) == -1) {
		fc_fail(c, F_TRANSIENT, "listing the spool: %s",
		    strerror(errno));
		return -1;
	}
	theirs.seq = m.seq;
	theirs.size = m.size;
	theirs.complete = m.complete != 0;
	fwd_resume(fwd_env.spool_id, segs, n, m.spool_id, &theirs, m.tail_len,
	    &r);
	free(segs);
	if (r.act == FWD_RESUME_SEND) {
		if (read_check(&r, ours, &ourlen) == -1) {
			fc_fail(c, F_TRANSIENT, "reading segment %016" PRIx64
			    " to compare it with receiver %s: %s", r.acked.seq,
			    c->peer, strerror(errno));
			return -1;
		}
		fwd_resume_check(&r, m.tail, ours + 1, ourlen,
		    ours[0] == '\n');
	}
	if (r.act == FWD_RESUME_BROKEN) {
		fc_error(c, "%s", r.note);
		return -1;
	}
	if (r.act == FWD_RESUME_ROLLBACK) {
		rolled_back(c, &m, &r);
		return -1;
	}
	if (r.note[0] != '\0')
		hlog_info(c->ch->name, "%s", r.note);
	fwd_reader_seek(&c->rd, &r.from);
	c->acked = r.acked;
	c->sent = r.acked;
	c->up_since = fwd_now_ms();
	c->st = FC_STREAM;
	fc_send_health(c);
	fwd_report_ack(c->idx, &r.acked);
	fwd_report_state(c->idx, RS_CONNECTED, "");
	if (!c->said_connected) {
		if (r.new_series)
			hlog_info(c->ch->name, "connected to %s (%s)%s; it holds "
			    "nothing of this spool: sending all of it",
			    c->peer, tlsio_version(c->tls),
			    c->failures ? " after failed attempts" : "");
		else
			hlog_info(c->ch->name, "connected to %s (%s)%s; it holds "
			    "segment %016" PRIx64 " up to %" PRIu64 "%s",
			    c->peer, tlsio_version(c->tls),
			    c->failures ? " after failed attempts" : "",
			    r.acked.seq, r.acked.size, r.acked.complete ?
			    " (complete)" : "");
		c->said_connected = 1;
	}
	return 0;
}
