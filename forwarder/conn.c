/*
 * One receiver, seen from the forwarder: connect, verify it, authenticate
 * both ways, resume where its durable copy ends, then stream the spool to
 * it (docs/protocol.md).  Every host has its own connection, cursor and
 * backoff; none waits for another, and nothing here ever blocks: name
 * lookups run through getaddrinfo_a, sockets and TLS are non-blocking.
 *
 * Failures are of two kinds.  Transient ones (refused, reset, timed out,
 * receiver busy or full) retry with exponential backoff and jitter from
 * 1 s to 5 s, so that a receiver that comes back gets its records within
 * seconds.  The others need a person (wrong pin or password, version, a
 * receiver that disagrees about offsets or pins another series, a
 * certificate that the cafile does not verify, expired ones included) and
 * retry every 30 s.
 * Either way the forwarder never gives up on a host: the network is not a
 * reason to stop.
 *
 * Checking who the receiver is after the TLS handshake, and the protocol
 * handshake up to WELCOME, are login.c's.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "auth.h"
#include "compress.h"
#include "conn.h"
#include "forwarder.h"
#include "log.h"
#include "tcur.h"
#include "tlsio.h"
#include "wire.h"

#define OUT_LOW		(16 * 1024)	/* refill the output below this */
#define WINDOW		(4 * 1024 * 1024) /* unacknowledged DATA bytes */
#define PUMP_ROUNDS	16		/* produce/flush per event */

static const char *const cstate_doing[] = {
	[FC_IDLE] = "waiting",
	[FC_DISABLED] = "disabled",
	[FC_RESOLVING] = "resolving its name",
	[FC_CONNECTING] = "connecting",
	[FC_TLS] = "in the TLS handshake",
	[FC_HELLO] = "waiting for CHALLENGE",
	[FC_AUTH] = "waiting for WELCOME",
	[FC_STREAM] = "streaming",
};

static int	pump(struct fwd_conn *);

static void
watch(struct fwd_conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (c->fd == -1 || events == c->events)
		return;
	if (epoll_ctl(fwd_env.epfd, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
	    c->fd, &ev) == -1)
		fatal("epoll_ctl %s", c->ch->name);
	c->events = events;
}

struct fwd_conn *
fwd_conn_new(unsigned idx, const struct conf_host *ch)
{
	struct fwd_conn *c;
	char err[512];

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("host %s", ch->name);
	c->ev = EV_CONN;
	c->idx = idx;
	c->ch = ch;
	c->fd = -1;
	c->version = WIRE_VERSION;
	fwd_reader_init(&c->rd, fwd_env.dirfd, ch->name);
	wbuf_init(&c->out);
	fwd_window_init(&c->win);
	c->st = FC_DISABLED;
	if (ch->remote == NULL || fwd_split_hostport(ch->remote, c->host,
	    sizeof(c->host), c->port, sizeof(c->port), CONF_DEFAULT_PORT,
	    &c->numeric) == -1) {
		snprintf(err, sizeof(err), "its remote \"%s\" is not "
		    "tls://ADDRESS[:PORT]", ch->remote ? ch->remote : "");
		goto disable;
	}
	if (ch->fingerprint == NULL && ch->pubkey == NULL &&
	    ch->cafile == NULL) {
		snprintf(err, sizeof(err), "it has no fingerprint, pubkey or "
		    "cafile, so the receiver cannot be verified");
		goto disable;
	}
	if (ch->password == NULL && ch->certfile == NULL) {
		snprintf(err, sizeof(err), "it has neither a password nor a "
		    "certfile to authenticate with");
		goto disable;
	}
	/* Now, as root: the key and CA files may be readable by root only. */
	if ((c->ctx = tlsio_client_ctx(ch->cafile, ch->certfile, ch->keyfile,
	    err, sizeof(err))) == NULL)
		goto disable;
	c->st = FC_IDLE;
	c->next_try = 0;
	return c;
disable:
	log_warnx("host %s (line %u): %s; not shipping to it", ch->name,
	    ch->lineno, err);
	fwd_report_state(c->idx, RS_ERROR, err);
	return c;
}

/* Drop the connection, whatever its state; bye: say so to the receiver. */
static void
fc_close(struct fwd_conn *c, int bye)
{
	if (c->tls != NULL) {
		if (bye && c->st == FC_STREAM) {
			c->out.len = c->out.off = 0;
			if (wire_enc_bye(&c->out) == 0)
				(void)tlsio_write(c->tls, c->out.buf,
				    c->out.len);
		}
		tlsio_shutdown(c->tls);
		tlsio_free(c->tls);
		c->tls = NULL;
	}
	if (c->fd != -1) {
		if (c->events)
			epoll_ctl(fwd_env.epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->events = 0;
	if (c->ai != NULL) {
		freeaddrinfo(c->ai);
		c->ai = c->ai_cur = NULL;
	}
	/* An older receiver may be upgraded by the next connection. */
	if (c->st == FC_STREAM)
		c->version = WIRE_VERSION;
	fwd_reader_close(&c->rd);	/* drop_old may take it now */
	wbuf_free(&c->out);
	wbuf_init(&c->out);
	fwd_window_free(&c->win);
	c->inlen = 0;
	c->write_blocked = c->read_wants_write = 0;
	OPENSSL_cleanse(c->ekm, sizeof(c->ekm));
}

void
fc_fail(struct fwd_conn *c, enum fail_kind kind, const char *fmt, ...)
{
	char reason[FWD_REASON_MAX + 1];
	unsigned delay_ms;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	fc_close(c, 0);
	if (kind == F_SERIOUS)
		c->backoff = FWD_BACKOFF_SERIOUS;
	else if (c->backoff == 0)
		c->backoff = FWD_BACKOFF_MIN;
	else
		c->backoff = c->backoff * 2 > FWD_BACKOFF_MAX ?
		    FWD_BACKOFF_MAX : c->backoff * 2;
	delay_ms = fwd_retry_ms(c->backoff);
	c->next_try = fwd_now_ms() + delay_ms;
	c->st = FC_IDLE;
	c->failures++;
	c->healthy = 0;
	/* Once per episode, and again only when the reason changes. */
	if (strcmp(reason, c->logged) != 0) {
		hlog_warnx(c->ch->name, "%s; retrying%s with backoff",
		    reason, kind == F_SERIOUS ? " slowly" : "");
		snprintf(c->logged, sizeof(c->logged), "%s", reason);
	} else
		hlog_debug(c->ch->name, "%s; retry in %u ms", reason,
		    delay_ms);
	fwd_report_state(c->idx, kind == F_SERIOUS ? RS_ERROR : RS_BACKOFF,
	    reason);
}

/* An error of the receiver's: tell it, then fail. */
void
fc_error(struct fwd_conn *c, const char *fmt, ...)
{
	char reason[FWD_REASON_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (c->tls != NULL) {
		c->out.len = c->out.off = 0;
		if (wire_enc_error(&c->out, WIRE_ERR_PROTOCOL, reason) == 0)
			(void)tlsio_write(c->tls, c->out.buf, c->out.len);
	}
	fc_fail(c, F_SERIOUS, "receiver %s: protocol error: %s", c->peer,
	    reason);
}

static void
set_peer(struct fwd_conn *c, const struct addrinfo *ai)
{
	char a[INET6_ADDRSTRLEN], p[8];

	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, a, sizeof(a), p,
	    sizeof(p), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(c->peer, sizeof(c->peer), "%s:%s", c->host, c->port);
	else
		snprintf(c->peer, sizeof(c->peer), ai->ai_family == AF_INET6 ?
		    "[%s]:%s" : "%s:%s", a, p);
}

static void	tls_step(struct fwd_conn *);

/* Try the addresses from ai_cur on; fail when none is left. */
static void
try_connect(struct fwd_conn *c)
{
	const struct addrinfo *src = fwd_env.source;
	int one = 1;

	for (; c->ai_cur != NULL; c->ai_cur = c->ai_cur->ai_next) {
		struct addrinfo *ai = c->ai_cur;

		if (c->fd != -1) {
			close(c->fd);
			c->fd = -1;
			c->events = 0;
		}
		if (src != NULL && src->ai_family != ai->ai_family) {
			c->last_errno = EAFNOSUPPORT;
			continue;
		}
		set_peer(c, ai);
		if ((c->fd = socket(ai->ai_family, ai->ai_socktype |
		    SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol)) == -1) {
			c->last_errno = errno;
			continue;
		}
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (src != NULL && bind(c->fd, src->ai_addr,
		    src->ai_addrlen) == -1) {
			c->last_errno = errno;
			continue;
		}
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    errno == EINPROGRESS) {
			c->st = FC_CONNECTING;
			watch(c, EPOLLOUT);
			return;
		}
		c->last_errno = errno;
	}
	fc_fail(c, F_TRANSIENT, "connecting to %s: %s", c->peer,
	    strerror(c->last_errno));
}

static void
take_addresses(struct fwd_conn *c, struct addrinfo *ai)
{
	c->ai = c->ai_cur = ai;
	c->last_errno = EADDRNOTAVAIL;
	try_connect(c);
}

static void
start_attempt(struct fwd_conn *c)
{
	struct gaicb *list[1];
	struct sigevent sev;
	struct addrinfo *ai;
	int rc;

	c->deadline = fwd_now_ms() + (int64_t)fwd_env.timeout * 1000;
	snprintf(c->peer, sizeof(c->peer), strchr(c->host, ':') ? "[%s]:%s" :
	    "%s:%s", c->host, c->port);
	fwd_report_state(c->idx, RS_CONNECTING, "");
	memset(&c->hints, 0, sizeof(c->hints));
	c->hints.ai_family = AF_UNSPEC;
	c->hints.ai_socktype = SOCK_STREAM;
	c->hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	if (c->numeric) {
		/* An address: no lookup, nothing to wait for. */
		c->hints.ai_flags |= AI_NUMERICHOST;
		if ((rc = getaddrinfo(c->host, c->port, &c->hints, &ai)) != 0) {
			fc_fail(c, F_SERIOUS, "address %s: %s", c->host,
			    gai_strerror(rc));
			return;
		}
		take_addresses(c, ai);
		return;
	}
	c->st = FC_RESOLVING;
	if (c->gai_busy)
		return;		/* the last lookup is still running */
	memset(&c->gai, 0, sizeof(c->gai));
	c->gai.ar_name = c->host;
	c->gai.ar_service = c->port;
	c->gai.ar_request = &c->hints;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = FWD_SIG_RESOLVED;
	list[0] = &c->gai;
	if ((rc = getaddrinfo_a(GAI_NOWAIT, list, 1, &sev)) != 0) {
		fc_fail(c, F_TRANSIENT, "looking up %s: %s", c->host,
		    gai_strerror(rc));
		return;
	}
	c->gai_busy = 1;
}

void
fwd_conn_resolved(struct fwd_conn *c)
{
	int rc;

	if (!c->gai_busy || (rc = gai_error(&c->gai)) == EAI_INPROGRESS)
		return;
	c->gai_busy = 0;
	if (c->st != FC_RESOLVING) {
		/* The attempt gave up waiting for it. */
		if (rc == 0)
			freeaddrinfo(c->gai.ar_result);
		return;
	}
	if (rc != 0) {
		fc_fail(c, F_TRANSIENT, "looking up %s: %s", c->host,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return;
	}
	take_addresses(c, c->gai.ar_result);
}

static void
connected(struct fwd_conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		c->last_errno = err;
		c->ai_cur = c->ai_cur->ai_next;
		try_connect(c);
		return;
	}
	if ((c->tls = tlsio_new(c->ctx, c->fd, 0, c->host)) == NULL) {
		fc_fail(c, F_TRANSIENT, "TLS with %s: out of memory",
		    c->peer);
		return;
	}
	c->st = FC_TLS;
	tls_step(c);
}

static int
send_frames(struct fwd_conn *c)
{
	ssize_t n;

	while (wbuf_pending(&c->out) > 0) {
		n = tlsio_write(c->tls, c->out.buf + c->out.off,
		    wbuf_pending(&c->out));
		if (n > 0) {
			c->out.off += (size_t)n;
			c->last_tx = fwd_now_ms();
			continue;
		}
		if (n == TLSIO_WANT_WRITE || n == TLSIO_WANT_READ) {
			/* A TLS 1.3 write never waits for a read for long. */
			c->write_blocked = 1;
			return 0;
		}
		fc_fail(c, F_TRANSIENT, "writing to %s: %s", c->peer,
		    tlsio_error(c->tls));
		return -1;
	}
	c->write_blocked = 0;
	c->out.len = c->out.off = 0;
	return 0;
}

static void
rearm(struct fwd_conn *c)
{
	uint32_t ev = EPOLLIN;

	if (c->fd == -1 || c->st < FC_TLS)
		return;
	if ((c->write_blocked && wbuf_pending(&c->out) > 0) ||
	    c->read_wants_write)
		ev |= EPOLLOUT;
	watch(c, ev);
}

static void
tls_step(struct fwd_conn *c)
{
	int r = tlsio_handshake(c->tls);

	if (r == TLSIO_WANT_READ) {
		watch(c, EPOLLIN);
		return;
	}
	if (r == TLSIO_WANT_WRITE) {
		watch(c, EPOLLOUT);
		return;
	}
	if (r != 1) {
		fc_tls_failed(c);
		return;
	}
	if (fc_verify(c) == -1)
		return;
	fc_dates(c);
	if (tlsio_exporter(c->tls, c->ekm) == -1 ||
	    auth_random(c->nonce_s, sizeof(c->nonce_s)) == -1) {
		fc_fail(c, F_TRANSIENT, "TLS with %s: no keying material",
		    c->peer);
		return;
	}
	if (wire_enc_hello_version(&c->out, c->version, fwd_env.name,
	    fwd_env.spool_id, c->nonce_s) == -1)
		hfatal(c->ch->name, "HELLO");
	c->st = FC_HELLO;
	c->last_rx = fwd_now_ms();
	if (send_frames(c) == 0)
		rearm(c);
}

/* HEALTH, to a receiver that speaks it; also the heartbeat. */
void
fc_send_health(struct fwd_conn *c)
{
	if (c->st != FC_STREAM || c->proto < 3 || c->hlen == 0)
		return;
	if (wire_enc_health(&c->out, c->health, c->hlen) == -1)
		hfatal(c->ch->name, "HEALTH");
}

void
fwd_conn_health(struct fwd_conn *c, const char *text, size_t len)
{
	if (len == 0 || len > sizeof(c->health))
		return;
	memcpy(c->health, text, len);
	c->hlen = len;
	if (c->st != FC_STREAM || c->proto < 3)
		return;
	fc_send_health(c);
	if (!c->write_blocked && send_frames(c) == 0)
		rearm(c);
}

/* The connection has proved itself: the next failure is a new episode. */
static void
healthy(struct fwd_conn *c)
{
	if (c->healthy)
		return;
	c->healthy = 1;
	c->failures = 0;
	c->backoff = 0;
	c->logged[0] = '\0';
	c->said_connected = 0;
}

static int
on_ack(struct fwd_conn *c, const uint8_t *p, size_t len)
{
	struct wire_pos m;
	struct wire_pos a;

	if (wire_dec_pos(p, len, 1, &m) == -1) {
		fc_error(c, "malformed ACK");
		return -1;
	}
	a.seq = m.seq;
	a.size = m.size;
	a.complete = m.complete != 0;
	if (!fwd_ack_ok(&c->sent, &c->acked, &a)) {
		fc_error(c, "ACK of segment %016" PRIx64 " offset %" PRIu64
		    "%s, but sent up to %016" PRIx64 " offset %" PRIu64
		    " and acknowledged up to %016" PRIx64 " offset %" PRIu64,
		    a.seq, a.size, a.complete ? " complete" : "", c->sent.seq,
		    c->sent.size, c->acked.seq, c->acked.size);
		return -1;
	}
	/*
	 * Progress proves the connection works; an ACK that only repeats
	 * where it was (a full receiver acking what it had) does not.
	 */
	if (wire_pos_cmp(&a, &c->acked) > 0 || a.complete > c->acked.complete)
		healthy(c);
	c->acked = a;
	fwd_window_ack(&c->win, a.seq, a.size);
	fwd_report_ack(c->idx, &a);
	return 0;
}

static int
on_error(struct fwd_conn *c, const uint8_t *p, size_t len)
{
	struct msg_error m;

	if (wire_dec_error(p, len, &m) == -1) {
		fc_fail(c, F_SERIOUS, "receiver %s sent a malformed ERROR",
		    c->peer);
		return -1;
	}
	/*
	 * A version 2 receiver refuses our HELLO: speak 2 to it, without
	 * HEALTH, rather than stop shipping until it is upgraded.
	 */
	if (m.code == WIRE_ERR_VERSION && c->st == FC_HELLO &&
	    c->version > WIRE_MIN_VERSION) {
		hlog_info(c->ch->name, "receiver %s refuses protocol version %u "
		    "(%s); speaking version %d to it, without health reports",
		    c->peer, c->version, m.reason,
		    WIRE_MIN_VERSION);
		c->version = WIRE_MIN_VERSION;
		/* Said above: the failure is only for the debug log. */
		snprintf(c->logged, sizeof(c->logged), "receiver %s speaks an "
		    "older protocol", c->peer);
		fc_fail(c, F_TRANSIENT, "%s", c->logged);
		c->next_try = fwd_now_ms();
		return -1;
	}
	switch (m.code) {
	case WIRE_ERR_DISK_FULL:
	case WIRE_ERR_IO:
	case WIRE_ERR_BUSY:
	case WIRE_ERR_SHUTDOWN:
	case WIRE_ERR_TIMEOUT:
		fc_fail(c, F_TRANSIENT, "receiver %s: %s: %s", c->peer,
		    wire_error_name(m.code), m.reason);
		break;
	default:
		fc_fail(c, F_SERIOUS, "receiver %s: %s: %s", c->peer,
		    wire_error_name(m.code), m.reason);
		break;
	}
	return -1;
}

static int
on_frame(struct fwd_conn *c, uint8_t type, const uint8_t *p, size_t len)
{
	uint64_t token;

	if (type == WIRE_MSG_ERROR)
		return on_error(c, p, len);
	if (c->st == FC_HELLO && type == WIRE_MSG_CHALLENGE)
		return fc_challenge(c, p, len);
	if (c->st == FC_AUTH && type == WIRE_MSG_WELCOME)
		return fc_welcome(c, p, len);
	if (c->st == FC_STREAM) {
		switch (type) {
		case WIRE_MSG_ACK:
			return on_ack(c, p, len);
		case WIRE_MSG_PING:
		case WIRE_MSG_PONG:
			if (wire_dec_token(p, len, &token) == -1) {
				fc_error(c, "malformed %s",
				    wire_type_name(type));
				return -1;
			}
			if (type == WIRE_MSG_PING &&
			    wire_enc_token(&c->out, WIRE_MSG_PONG, token) == -1)
				hfatal(c->ch->name, "PONG");
			return 0;
		case WIRE_MSG_BYE:
			if (len != 0) {
				fc_error(c, "malformed BYE");
				return -1;
			}
			fc_fail(c, F_TRANSIENT, "receiver %s closed the "
			    "connection (BYE)", c->peer);
			return -1;
		}
	}
	fc_error(c, "unexpected %s while %s", wire_type_name(type),
	    cstate_doing[c->st]);
	return -1;
}

/* Read and handle what the receiver sent; -1 if the connection is gone. */
static int
receive(struct fwd_conn *c)
{
	size_t done;
	ssize_t n;

	c->read_wants_write = 0;
	for (;;) {
		n = tlsio_read(c->tls, c->in + c->inlen,
		    sizeof(c->in) - c->inlen);
		if (n == TLSIO_WANT_READ)
			return 0;
		if (n == TLSIO_WANT_WRITE) {
			c->read_wants_write = 1;
			return 0;
		}
		if (n == 0) {
			fc_fail(c, F_TRANSIENT, "receiver %s closed the "
			    "connection", c->peer);
			return -1;
		}
		if (n < 0) {
			fc_fail(c, F_TRANSIENT, "reading from %s: %s",
			    c->peer, tlsio_error(c->tls));
			return -1;
		}
		c->inlen += (size_t)n;
		c->last_rx = fwd_now_ms();
		for (done = 0; c->inlen - done >= WIRE_HDR_LEN;) {
			uint8_t type;
			uint32_t plen;

			if (wire_parse_header(c->in + done, &type, &plen) ==
			    -1) {
				fc_error(c, "malformed frame header");
				return -1;
			}
			if (plen > RX_MAX) {
				fc_error(c, "%s of %u bytes is too long",
				    wire_type_name(type), plen);
				return -1;
			}
			if (c->inlen - done < WIRE_HDR_LEN + plen)
				break;
			if (on_frame(c, type, c->in + done + WIRE_HDR_LEN,
			    plen) == -1)
				return -1;
			done += WIRE_HDR_LEN + plen;
		}
		memmove(c->in, c->in + done, c->inlen - done);
		c->inlen -= done;
	}
}

/*
 * Queue DATA (whole lines, at most FWD_FRAME bytes each) and SEGEND while
 * the window and the output buffer have room.  Records are read straight
 * into the output buffer, behind room for the DATA header: one copy, and
 * the buffer holds at most OUT_LOW plus one frame.  Returns the bytes
 * queued, or -1 if the connection failed.
 */
static ssize_t
produce(struct fwd_conn *c)
{
	char why[FWD_REASON_MAX];
	struct wire_pos at;
	size_t queued = 0, len, zlen;
	char *raw;

	while (c->st == FC_STREAM && wbuf_pending(&c->out) < OUT_LOW &&
	    fwd_window_inflight(&c->win) < WINDOW) {
		if (wbuf_reserve(&c->out, WIRE_DATA_HDR_LEN + FWD_FRAME) == -1)
			hfatal(c->ch->name, "DATA");
		raw = (char *)c->out.buf + c->out.len + WIRE_DATA_HDR_LEN;
		switch (fwd_reader_next(&c->rd, raw, FWD_FRAME, &at, &len,
		    why, sizeof(why))) {
		case CHUNK_DATA:
			/* Compressed only where that makes it smaller. */
			zlen = c->ch->compression == CONF_COMPRESS_ZSTD ?
			    compress_chunk(fwd_env.zscratch, fwd_env.zcap,
			    raw, len) : 0;
			/* The header lands just before the bytes read. */
			if ((zlen > 0 ? wire_enc_dataz(&c->out, at.seq,
			    at.size, len, fwd_env.zscratch, zlen) :
			    wire_enc_data_hdr(&c->out, at.seq, at.size,
			    len)) == -1)
				hfatal(c->ch->name, "DATA");
			if (zlen == 0)
				c->out.len += len;
			if (fwd_window_sent(&c->win, at.seq, at.size,
			    len) == -1)
				hfatal(c->ch->name, "DATA");
			c->sent.seq = at.seq;
			c->sent.size = at.size + len;
			c->sent.complete = 0;
			queued += len;
			break;
		case CHUNK_SEGEND:
			if (wire_enc_segend(&c->out, at.seq, at.size) == -1)
				hfatal(c->ch->name, "SEGEND");
			c->sent = at;
			queued++;
			break;
		case CHUNK_WAIT:
			return (ssize_t)queued;
		case CHUNK_FAIL:
			fc_fail(c, F_TRANSIENT, "%s", why);
			return -1;
		case CHUNK_BAD:
			fc_fail(c, F_SERIOUS, "%s", why);
			return -1;
		}
	}
	return (ssize_t)queued;
}

/* Move bytes: produce and send until blocked or nothing is left. */
static int
pump(struct fwd_conn *c)
{
	ssize_t q;
	int i;

	for (i = 0; i < PUMP_ROUNDS; i++) {
		if ((q = produce(c)) == -1)
			return -1;
		if (send_frames(c) == -1)
			return -1;
		if (q == 0 || c->write_blocked)
			break;
	}
	rearm(c);
	return 0;
}

void
fwd_conn_io(struct fwd_conn *c, uint32_t events)
{
	switch (c->st) {
	case FC_CONNECTING:
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			connected(c);
		return;
	case FC_TLS:
		tls_step(c);
		return;
	case FC_HELLO:
	case FC_AUTH:
	case FC_STREAM:
		break;
	default:
		return;
	}
	if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ||
	    (c->read_wants_write && (events & EPOLLOUT))) {
		if (receive(c) == -1)
			return;
	}
	if (events & EPOLLOUT)
		c->write_blocked = 0;
	if (c->st == FC_STREAM)
		pump(c);
	else if (send_frames(c) == 0)
		rearm(c);
}

void
fwd_conn_spool_changed(struct fwd_conn *c)
{
	if (c->st == FC_STREAM && !c->write_blocked)
		pump(c);
}

void
fwd_conn_timer(struct fwd_conn *c, int64_t now)
{
	int64_t t = (int64_t)fwd_env.timeout * 1000;

	switch (c->st) {
	case FC_DISABLED:
		return;
	case FC_IDLE:
		if (now >= c->next_try)
			start_attempt(c);
		return;
	case FC_STREAM:
		break;
	default:
		if (now >= c->deadline)
			fc_fail(c, F_TRANSIENT, "%s: no progress in %u s "
			    "while %s", c->peer,
			    fwd_env.timeout, cstate_doing[c->st]);
		return;
	}
	if (now - c->last_rx >= t) {
		fc_fail(c, F_TRANSIENT, "receiver %s silent for %u s",
		    c->peer, fwd_env.timeout);
		return;
	}
	if (!c->healthy && now - c->up_since >= t)
		healthy(c);
	if (now - c->last_tx >= t / 3) {
		if (wire_enc_token(&c->out, WIRE_MSG_PING, ++c->token) == -1)
			hfatal(c->ch->name, "PING");
		c->last_tx = now;	/* once, even if it waits for room */
	}
	/* Also catches anything inotify could not say (queue overflow). */
	if (c->write_blocked) {
		if (send_frames(c) == 0)
			rearm(c);
	} else
		pump(c);
}

int64_t
fwd_conn_deadline(const struct fwd_conn *c)
{
	int64_t t = (int64_t)fwd_env.timeout * 1000, d, p;

	switch (c->st) {
	case FC_DISABLED:
		return INT64_MAX;
	case FC_IDLE:
		return c->next_try;
	case FC_STREAM:
		d = c->last_rx + t;
		p = c->last_tx + t / 3;
		if (!c->healthy && c->up_since + t < d)
			d = c->up_since + t;
		return p < d ? p : d;
	default:
		return c->deadline;
	}
}

/* The receiver's TCP port, 0 when it is a service name (or unusable). */
uint16_t
fwd_conn_port(const struct fwd_conn *c)
{
	struct tcur t;
	uint64_t v;

	tc_init(&t, c->port, strlen(c->port));
	if (tc_digits(&t, 65535, &v) == -1 || tc_end(&t) == -1)
		return 0;
	return (uint16_t)v;
}

void
fwd_conn_free(struct fwd_conn *c, int bye)
{
	if (c == NULL)
		return;
	fc_close(c, bye);
	if (c->gai_busy && gai_cancel(&c->gai) == EAI_CANCELED)
		c->gai_busy = 0;
	if (c->ctx != NULL)
		SSL_CTX_free(c->ctx);
	/* A lookup that cannot be cancelled still writes into c: keep it. */
	if (!c->gai_busy)
		free(c);
}
