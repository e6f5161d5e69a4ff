/*
 * One sender's connection: accepting it within the limits on handshakes,
 * the TLS handshake, reading whole frames, writing, timers and closing.
 * What the frames say is checked elsewhere: the protocol handshake (HELLO,
 * CHALLENGE, AUTH, WELCOME) in conn_login.c, DATA and SEGEND, passed to
 * the host's writer process (wchan.c), in conn_data.c.  Everything is
 * non-blocking; memory per connection is one frame of input, a little
 * output, and at most WCHAN_MAX_OUT queued for the writer.
 *
 * Acknowledgements are batched: the connection reads and passes on what
 * is readable (up to READ_BUDGET), asks the writer for one sync, and sends
 * one ACK for all of it when the writer says it is durable.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auditdistd.h"
#include "conn.h"
#include "log.h"
#include "tlsio.h"

#define HS_BUF		512		/* handshake frames are small */
#define HS_MAX_PAYLOAD	(4 + 2 + 2 + WIRE_MAX_HOST + WIRE_ID_LEN + \
			    WIRE_NONCE_LEN)	/* HELLO, the largest */
#define FRAME_MAX	(WIRE_HDR_LEN + WIRE_MAX_PAYLOAD)
#define READ_BUDGET	(16 * 1024 * 1024)	/* then sync, ack, others */
#define OUT_MAX		(64 * 1024)	/* stop reading while this is unsent */
#define MAX_PENDING_PER_ADDR 64		/* of MAX_PENDING, from one address */
#define PENDING_IDLE_MS	2000		/* a handshake this idle may be evicted */
#define PENDING_MAX_AGE_MS 10000	/* ... and any this old */
#define PEER_LOG_BURST	200		/* lines about unauthenticated peers */
#define PEER_LOG_RATE	1		/* ... then this many per second */
#define CLOSE_LINGER_MS	2000		/* to flush a last message */

static int	 flush(struct conn *);
static void	 update_interest(struct conn *);

/* What every connection reads into (see the top of this file). */
static uint8_t	*shared_in;

/* A connection's own input buffer, freed once its frame is whole. */
static void
own_free(struct conn *c)
{
	if (c->rbuf != shared_in)
		free(c->rbuf);
	c->rbuf = NULL;
	c->rcap = 0;
}

static int
is_pending(enum conn_state s)
{
	return s == C_TLS || s == C_HELLO || s == C_AUTH || s == C_AUTHFAIL;
}

static const char *
state_name(enum conn_state s)
{
	switch (s) {
	case C_TLS:		return "TLS handshake";
	case C_HELLO:		return "waiting for HELLO";
	case C_AUTH:		return "waiting for AUTH";
	case C_AUTHFAIL:	return "refusing";
	case C_OPENING:		return "opening the trail";
	case C_READY:		return "receiving";
	case C_CLOSING:		return "closing";
	case C_DEAD:		return "closed";
	}
	return "?";
}

static void
format_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], a,
			    sizeof(a));
			snprintf(buf, len, "%s:%u", a, ntohs(s6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
			snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
		}
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	} else
		snprintf(buf, len, "?");
}

/* "1.2.3.4:5 (host web1)" once the peer said who it is. */
const char *
conn_who(const struct conn *c)
{
	static char buf[sizeof(c->addr) + WIRE_MAX_HOST + 16];

	if (c->host[0] == '\0')
		return c->addr;
	snprintf(buf, sizeof(buf), "%s (host %s)", c->addr, c->host);
	return buf;
}

unsigned
conn_timeout_ms(const struct conn *c)
{
	unsigned t = c->srv->conf->timeout;

	return (t ? t : 20) * 1000;
}

/*
 * Whether a line about a connection may be logged.  Lines about peers not
 * yet authenticated come from a token bucket, so that a flood of them
 * cannot fill the disk; how many were left out is said with the next one.
 */
int
conn_peer_log(const struct conn *c)
{
	static double tokens = PEER_LOG_BURST;
	static uint64_t last;
	static unsigned long suppressed;
	uint64_t now;

	if (c->rh != NULL)
		return 1;
	now = now_ms();
	tokens += (double)(now - last) * PEER_LOG_RATE / 1000.0;
	if (tokens > PEER_LOG_BURST)
		tokens = PEER_LOG_BURST;
	last = now;
	if (tokens < 1) {
		suppressed++;
		return 0;
	}
	tokens -= 1;
	if (suppressed > 0) {
		log_warnx("%lu lines about unauthenticated connections left "
		    "out (at most %d per second after %d)", suppressed,
		    PEER_LOG_RATE, PEER_LOG_BURST);
		suppressed = 0;
	}
	return 1;
}

static int
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET6)
		return memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr)) == 0;
	if (a->ss_family == AF_INET)
		return a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return 0;
}

/*
 * When a connection not yet authenticated may be closed to make room
 * for another: once its peer sent nothing for PENDING_IDLE_MS (TLS,
 * HELLO and AUTH take a few round trips; a handshake that moves is left
 * alone, even on a receiver too busy to finish it quickly), or once it
 * is PENDING_MAX_AGE_MS old, so that trickling bytes holds a slot no
 * longer than that.
 */
static uint64_t
evictable_at(const struct conn *c)
{
	uint64_t idle = (c->heard_at > c->accepted_at ? c->heard_at :
	    c->accepted_at) + PENDING_IDLE_MS;
	uint64_t old = c->accepted_at + PENDING_MAX_AGE_MS;

	return idle < old ? idle : old;
}

/*
 * The oldest connection not yet authenticated (from ss, if not NULL)
 * that may be closed now, or NULL; how many there are, and when the
 * first of the others may be.  New connections go to the front.
 */
static struct conn *
stale_pending(struct server *srv, const struct sockaddr_storage *ss,
    uint64_t now, unsigned *np, uint64_t *soonest)
{
	struct conn *c, *stale = NULL;
	uint64_t at, first = UINT64_MAX;
	unsigned n = 0;

	for (c = srv->conns; c != NULL; c = c->next) {
		if (!is_pending(c->state) || (ss != NULL &&
		    !same_addr(&c->peer, ss)))
			continue;
		n++;
		if ((at = evictable_at(c)) <= now)
			stale = c;
		else if (at < first)
			first = at;
	}
	if (np != NULL)
		*np = n;
	if (soonest != NULL)
		*soonest = first;
	return stale;
}

/*
 * One address may hold at most MAX_PENDING_PER_ADDR of the slots for
 * connections not yet authenticated: past that, its own oldest goes if
 * it had its time, else the new one is refused.  Others keep theirs,
 * and a sender behind the same address still gets in, as with the
 * global limit.  -1: refuse the new connection.
 */
static int
limit_per_addr(struct server *srv, const struct sockaddr_storage *ss,
    uint64_t now)
{
	static uint64_t last_log;
	struct conn *stale;
	unsigned n;
	char addr[sizeof(stale->addr)];

	stale = stale_pending(srv, ss, now, &n, NULL);
	if (n < MAX_PENDING_PER_ADDR)
		return 0;
	if (now - last_log > 10000) {
		format_addr(ss, addr, sizeof(addr));
		log_warnx("%s: %u connections not yet authenticated from this "
		    "address: %s", addr, n, stale != NULL ? "closing an idle "
		    "one" : "refusing new ones");
		last_log = now;
	}
	if (stale == NULL)
		return -1;
	conn_drop(stale);
	return 0;
}

/* Every slot for a handshake is taken: close a stale one, if any. */
static int
evict_stale_pending(struct server *srv, uint64_t now)
{
	static uint64_t last_log;
	static unsigned evicted;
	struct conn *stale;

	if ((stale = stale_pending(srv, NULL, now, NULL, NULL)) == NULL)
		return -1;
	evicted++;
	if (now - last_log > 10000) {
		log_warnx("%u unauthenticated connections: closing an idle one "
		    "to make room (%u closed so far; %s is one)", srv->npending,
		    evicted, stale->addr);
		last_log = now;
	}
	conn_drop(stale);
	return 0;
}

/*
 * 0 when a new connection can be taken now; else every slot for a
 * handshake holds one in progress, and the time (ms) when the first
 * of them may make room, unless one finishes before.  Meanwhile new
 * connections wait in the listen queue rather than being accepted and
 * closed: in a reconnect storm, closing young handshakes to make room
 * for newer ones lets none of them finish.
 */
uint64_t
conn_full_until(struct server *srv, uint64_t now)
{
	uint64_t soonest;

	if (srv->stopping || srv->npending < srv_max_pending(srv) ||
	    srv->nconns >= srv->max_conns)
		return 0;
	if (stale_pending(srv, NULL, now, NULL, &soonest) != NULL ||
	    soonest == UINT64_MAX)
		return 0;
	return soonest;
}

void
conn_accept(struct server *srv, int fd, const struct sockaddr_storage *ss,
    socklen_t sslen)
{
	static uint64_t last_busy_log;
	struct conn *c;
	uint64_t now = now_ms();

	(void)sslen;
	/*
	 * Unauthenticated connections cost an attacker nothing: when they
	 * fill the table, an idle one makes room (see evictable_at), so
	 * that a flood of idle sockets cannot lock out a sender that
	 * completes its handshake.  (net.c stops accepting while every
	 * slot is young: see conn_full_until.)
	 */
	if (!srv->stopping && (ss->ss_family == AF_INET ||
	    ss->ss_family == AF_INET6) && limit_per_addr(srv, ss, now) == -1) {
		close(fd);
		return;
	}
	if (!srv->stopping && srv->npending >= srv_max_pending(srv) &&
	    srv->nconns < srv->max_conns)
		(void)evict_stale_pending(srv, now);
	if (srv->nconns >= srv->max_conns ||
	    srv->npending >= srv_max_pending(srv) || srv->stopping) {
		/* A flood must not become a flood of log lines. */
		if (!srv->stopping && now - last_busy_log > 10000) {
			log_warnx("too many connections (%u, %u not "
			    "authenticated); refusing new ones", srv->nconns,
			    srv->npending);
			last_busy_log = now;
		}
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("connection");
		close(fd);
		return;
	}
	c->srv = srv;
	c->fd = fd;
	c->peer = *ss;
	c->state = C_TLS;
	wbuf_init(&c->out);
	format_addr(ss, c->addr, sizeof(c->addr));
	if ((c->tls = tlsio_new(srv->ctx, fd, 1, NULL)) == NULL) {
		log_warnx("%s: cannot set up TLS", c->addr);
		free(c);
		close(fd);
		return;
	}
	c->events = EPOLLIN;
	if (ev_conn(srv, fd, c, EPOLLIN) == -1) {
		log_warn("epoll");
		tlsio_free(c->tls);
		free(c);
		close(fd);
		return;
	}
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	srv->npending++;
	c->accepted_at = now;
	c->deadline = now + conn_timeout_ms(c);
	timer_want(srv, c->deadline);
	log_debug("%s: connected", c->addr);
}

/* No longer the host's connection; a series that shipped was seen now. */
static void
detach(struct conn *c)
{
	if (c->rh != NULL && c->rh->conn == c) {
		if (c->state == C_READY) {
			rhost_series_left(c->rh, c);
			health_left(c->rh);
		}
		c->rh->conn = NULL;
	}
	c->rh = NULL;
}

/* Immediately, without a word: the peer is gone or hopeless. */
void
conn_drop(struct conn *c)
{
	struct server *srv = c->srv;

	if (c->state == C_DEAD)
		return;
	if (is_pending(c->state))
		srv->npending--;
	/* What arrived whole is kept (durable for the next WELCOME). */
	if (c->rh != NULL && c->rh->w != NULL && c->rh->conn == c)
		wchan_sync(c->rh->w);
	detach(c);
	ev_conn_del(srv, c->fd);
	tlsio_free(c->tls);
	c->tls = NULL;
	close(c->fd);
	c->fd = -1;
	c->state = C_DEAD;
	/* Freed after this round of events, which may still name it. */
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = NULL;
	c->next = srv->dead;
	srv->dead = c;
	srv->nconns--;
}

void
conn_free(struct conn *c)
{
	struct conn **pp;

	if (c == NULL)
		return;
	if (c->on_ready)
		for (pp = &c->srv->ready; *pp != NULL; pp = &(*pp)->ready_next)
			if (*pp == c) {
				*pp = c->ready_next;
				break;
			}
	c->srv->churn++;
	wbuf_free(&c->out);
	own_free(c);
	free(c->refusal);
	free(c);
}

/* Ask the writer to make what this connection passed on durable. */
static void
request_sync(struct conn *c)
{
	if (c->state == C_READY && c->rh != NULL && c->rh->w != NULL)
		wchan_sync(c->rh->w);
}

void
conn_durable(struct conn *c, uint64_t token, const struct trail_pos *p)
{
	(void)token;
	if (c->state != C_READY)
		return;
	if (wire_enc_ack(&c->out, p->seq, p->size, p->complete) == -1)
		fatal("ACK");
	c->acked_bytes = p->size;
	c->ping_at = now_ms() + conn_timeout_ms(c) / 3;
	if (flush(c) == 0)
		update_interest(c);
	timer_want(c->srv, conn_next_deadline(c));
}

void
conn_unblocked(struct conn *c)
{
	ready_add(c->srv, c);
}

/*
 * Say why (when the protocol allows it) and close once that is sent.
 * What the connection passed on is synced by its writer (the next WELCOME
 * says how far).
 */
void
conn_close(struct conn *c, enum wire_error code, const char *reason)
{
	if (c->state == C_DEAD || c->state == C_CLOSING)
		return;
	if (c->state == C_TLS) {
		conn_drop(c);
		return;
	}
	if (c->state == C_READY)
		request_sync(c);
	if (code != 0 && wire_enc_error(&c->out, code, reason) == -1)
		fatal("ERROR");
	if (is_pending(c->state))
		c->srv->npending--;
	detach(c);
	c->state = C_CLOSING;
	c->close_at = now_ms() + CLOSE_LINGER_MS;
	timer_want(c->srv, c->close_at);
	if (flush(c) == 0)
		update_interest(c);
}

void
conn_protocol_error(struct conn *c, const char *fmt, ...)
{
	char why[WIRE_MAX_REASON];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (conn_peer_log(c))
		log_warnx("%s: protocol error: %s", conn_who(c), why);
	conn_close(c, WIRE_ERR_PROTOCOL, why);
}

/* The writer could not store what this connection sent (or open). */
void
conn_store_failed(struct conn *c, int err, const char *reason)
{
	int full = err == ENOSPC || err == EDQUOT;

	if (c->state == C_DEAD || c->state == C_CLOSING)
		return;
	/* The writer logged it, once per episode. */
	log_debug("%s: %s", conn_who(c), reason);
	conn_close(c, full ? WIRE_ERR_DISK_FULL : WIRE_ERR_IO, full ?
	    "receiver disk full; retry later" :
	    "receiver storage error; retry later");
}


/* The whole length of the frame the buffer starts with, 0 if not known. */
static size_t
frame_need(const struct conn *c)
{
	uint32_t len;
	uint8_t type;

	if (c->state != C_READY || c->rlen < WIRE_HDR_LEN ||
	    wire_parse_header(c->rbuf, &type, &len) == -1)
		return 0;
	return WIRE_HDR_LEN + len;
}

/* Handle every whole frame in the buffer; keep a partial one. */
static void
frames(struct conn *c)
{
	struct wire_hdr h;
	size_t off = 0, need;
	uint32_t len;
	uint8_t type, *nb;

	while (c->rlen - off >= WIRE_HDR_LEN &&
	    (c->state == C_HELLO || c->state == C_AUTH ||
	    c->state == C_READY)) {
		if (wire_dec_header(c->rbuf + off, &h) == -1) {
			conn_protocol_error(c, "%s", h.why);
			return;
		}
		type = h.type;
		len = h.len;
		/* No large buffer for anyone not yet authenticated. */
		if (c->state != C_READY && len > HS_MAX_PAYLOAD) {
			conn_protocol_error(c, "%s of %u bytes before "
			    "authentication", wire_type_name(type), len);
			return;
		}
		if (c->rlen - off < WIRE_HDR_LEN + len)
			break;
		c->frames_in++;
		/*
		 * Only whole frames keep a connection alive: a peer that
		 * trickles bytes (slow loris) times out like a silent one.
		 * The handshake's deadline, set at accept, never moves.
		 */
		if (c->state == C_READY)
			c->deadline = now_ms() + conn_timeout_ms(c);
		conn_on_frame(c, type, c->rbuf + off + WIRE_HDR_LEN, len);
		off += WIRE_HDR_LEN + len;
	}
	if (c->state == C_DEAD)
		return;
	if (off > 0) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	/* A buffer of its own: room for exactly the rest of this frame. */
	if (c->rbuf != shared_in && (need = frame_need(c)) > c->rcap) {
		if ((nb = realloc(c->rbuf, need)) == NULL) {
			log_warn("%s", conn_who(c));
			conn_close(c, WIRE_ERR_BUSY, "receiver out of memory");
			return;
		}
		c->rbuf = nb;
		c->rcap = need;
	}
}

/* The writer has a backlog: stop reading until it drains. */
static int
writer_full(const struct conn *c)
{
	return c->state == C_READY && c->rh != NULL && c->rh->w != NULL &&
	    wchan_backlog(c->rh->w) > WCHAN_MAX_OUT;
}

static int
reading(const struct conn *c)
{
	return c->state == C_HELLO || c->state == C_AUTH ||
	    c->state == C_READY;
}

/*
 * Where the next read goes: the connection's own buffer while it holds
 * the start of a frame, else the shared one (at most a small frame's worth
 * before authentication).
 */
static void
in_buffer(struct conn *c)
{
	if (c->rlen > 0 && c->rbuf != shared_in)
		return;
	own_free(c);
	c->rbuf = shared_in;
	c->rcap = c->state == C_READY ? FRAME_MAX : HS_BUF;
}

/*
 * Done reading for now: what is left of the shared buffer (the start of a
 * frame, or frames that came before WELCOME) moves to one of the
 * connection's own; an empty buffer of its own is freed.
 */
static void
keep_input(struct conn *c)
{
	size_t need;

	if (c->rbuf != shared_in) {
		if (c->rlen == 0)
			own_free(c);
		return;
	}
	if (c->rlen > 0 && (reading(c) || c->state == C_OPENING)) {
		if ((need = frame_need(c)) < HS_BUF)
			need = HS_BUF;
		if (need < c->rlen)
			need = c->rlen;
		if ((c->rbuf = malloc(need)) == NULL) {
			log_warn("%s", conn_who(c));
			c->rlen = c->rcap = 0;
			conn_close(c, WIRE_ERR_BUSY, "receiver out of memory");
			return;
		}
		memcpy(c->rbuf, shared_in, c->rlen);
		c->rcap = need;
		return;
	}
	c->rbuf = NULL;
	c->rlen = c->rcap = 0;		/* nothing more will be read */
}

/* Read and handle frames until the socket is dry or the budget is spent. */
static void
input(struct conn *c)
{
	size_t budget = READ_BUDGET;
	ssize_t n;

	c->read_wants_write = 0;
	if (shared_in == NULL && (shared_in = malloc(FRAME_MAX)) == NULL) {
		log_warn("%s", conn_who(c));
		conn_close(c, WIRE_ERR_BUSY, "receiver out of memory");
		return;
	}
	/*
	 * What is already buffered first: frames that came before WELCOME
	 * (otherwise only the start of a frame, which this leaves as it is).
	 */
	if (c->rlen > 0)
		frames(c);
	while (reading(c)) {
		if (wbuf_pending(&c->out) > OUT_MAX)
			break;			/* flush() resumes us */
		if (writer_full(c))
			break;			/* conn_unblocked() does */
		if (budget == 0) {
			ready_add(c->srv, c);	/* after the others */
			break;
		}
		in_buffer(c);
		VERIFY(c->rlen < c->rcap);
		n = tlsio_read(c->tls, c->rbuf + c->rlen, c->rcap - c->rlen);
		if (n == TLSIO_WANT_READ)
			break;
		if (n == TLSIO_WANT_WRITE) {
			c->read_wants_write = 1;
			break;
		}
		if (n == TLSIO_ERROR || n == 0) {
			if (n == 0 && c->state == C_READY)
				hlog_info(c->rh->name, "%s closed the connection "
				    "(%" PRIu64 " bytes in)",
				    c->addr, c->bytes_in);
			else if (n == 0 && conn_peer_log(c))
				log_info("%s: closed the connection while %s",
				    conn_who(c), state_name(c->state));
			else if (n != 0 && conn_peer_log(c))
				log_warnx("%s: %s", conn_who(c),
				    tlsio_error(c->tls));
			conn_drop(c);
			break;
		}
		c->rlen += (size_t)n;
		c->bytes_in += (uint64_t)n;
		budget = (size_t)n > budget ? 0 : budget - (size_t)n;
		frames(c);
	}
	keep_input(c);
}

/* Send what is queued; -1 when the connection went away. */
static int
flush(struct conn *c)
{
	ssize_t n;

	c->write_wants_read = 0;
	while (wbuf_pending(&c->out) > 0) {
		n = tlsio_write(c->tls, c->out.buf + c->out.off,
		    wbuf_pending(&c->out));
		if (n == TLSIO_WANT_WRITE)
			break;
		if (n == TLSIO_WANT_READ) {
			c->write_wants_read = 1;
			break;
		}
		if (n <= 0) {
			log_info("%s: %s", conn_who(c), tlsio_error(c->tls));
			conn_drop(c);
			return -1;
		}
		c->out.off += (size_t)n;
	}
	wbuf_compact(&c->out);
	if (wbuf_pending(&c->out) == 0 && c->state == C_CLOSING &&
	    !c->draining) {
		/*
		 * Closing with unread input makes the kernel send a reset,
		 * which can destroy our last message before the peer reads
		 * it (a sender pipelines DATA).  So: end our side, then
		 * discard what still comes until the peer closes too.
		 */
		tlsio_shutdown(c->tls);
		if (shutdown(c->fd, SHUT_WR) == -1) {
			conn_drop(c);
			return -1;
		}
		c->draining = 1;
	}
	return 0;
}

/* After our last message: read and discard until the peer closes. */
static void
drain(struct conn *c)
{
	char buf[16384];
	ssize_t n;
	int i;

	for (i = 0; i < 64; i++) {
		if ((n = read(c->fd, buf, sizeof(buf))) > 0)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		conn_drop(c);
		return;
	}
}

static void
update_interest(struct conn *c)
{
	uint32_t ev = 0;

	if (c->state == C_DEAD)
		return;
	if ((reading(c) && wbuf_pending(&c->out) <= OUT_MAX &&
	    !writer_full(c)) ||
	    c->write_wants_read || c->hs_want == TLSIO_WANT_READ ||
	    c->draining)
		ev |= EPOLLIN;
	if (!c->draining && (wbuf_pending(&c->out) > 0 ||
	    c->read_wants_write || c->hs_want == TLSIO_WANT_WRITE))
		ev |= EPOLLOUT;
	if (ev != c->events) {
		if (ev_conn(c->srv, c->fd, c, ev) == -1)
			log_warn("%s: epoll", c->addr);
		c->events = ev;
	}
}

static void
tls_handshake(struct conn *c)
{
	int rc = tlsio_handshake(c->tls);

	if (rc == TLSIO_WANT_READ || rc == TLSIO_WANT_WRITE) {
		c->hs_want = rc;
		return;
	}
	c->hs_want = 0;
	if (rc != 1) {
		/* Plain TCP, a scanner, a client that distrusts our cert. */
		if (conn_peer_log(c))
			log_info("%s: TLS handshake failed: %s", c->addr,
		    tlsio_error(c->tls));
		conn_drop(c);
		return;
	}
	log_debug("%s: %s", c->addr, tlsio_version(c->tls));
	c->state = C_HELLO;
}

void
conn_run(struct conn *c)
{
	if (c->state == C_TLS) {
		tls_handshake(c);
		if (c->state == C_TLS) {
			update_interest(c);
			return;
		}
		if (c->state == C_DEAD)
			return;
	}
	if (c->state == C_CLOSING) {
		if (c->draining)
			drain(c);
		else if (flush(c) == 0 && c->draining)
			drain(c);
		if (c->state != C_DEAD)
			update_interest(c);
		return;
	}
	/* A TLS write that waited for input may go on now. */
	if (c->write_wants_read && flush(c) == -1)
		return;
	input(c);
	if (c->state == C_DEAD)
		return;
	request_sync(c);
	if (c->state == C_DEAD || flush(c) == -1)
		return;
	/* Output drained below the limit: input may be waiting in TLS. */
	if (reading(c) && wbuf_pending(&c->out) <= OUT_MAX &&
	    !writer_full(c) && tlsio_pending(c->tls) > 0)
		ready_add(c->srv, c);
	update_interest(c);
	timer_want(c->srv, conn_next_deadline(c));
}

void
conn_event(struct conn *c, uint32_t events)
{
	if (c->state == C_DEAD)
		return;
	if ((events & EPOLLIN) && is_pending(c->state))
		c->heard_at = now_ms();
	/* Not reading: an error or hang-up would be reported forever. */
	if ((events & (EPOLLERR | EPOLLHUP)) && !(c->events & EPOLLIN) &&
	    c->state != C_TLS) {
		log_debug("%s: hung up while %s", conn_who(c),
		    state_name(c->state));
		conn_drop(c);
		return;
	}
	conn_run(c);
}

uint64_t
conn_next_deadline(const struct conn *c)
{
	switch (c->state) {
	case C_TLS:
	case C_HELLO:
	case C_AUTH:
	case C_OPENING:
		return c->deadline;
	case C_AUTHFAIL:
		return c->authfail_at;
	case C_READY:
		return c->deadline < c->ping_at ? c->deadline : c->ping_at;
	case C_CLOSING:
		return c->close_at;
	case C_DEAD:
		break;
	}
	return UINT64_MAX;
}

void
conn_timers(struct conn *c, uint64_t now)
{
	char why[64];

	switch (c->state) {
	case C_TLS:
	case C_HELLO:
	case C_AUTH:
		if (now < c->deadline)
			return;
		if (conn_peer_log(c))
			log_warnx("%s: handshake timed out (%s)", conn_who(c),
			    state_name(c->state));
		conn_close(c, WIRE_ERR_TIMEOUT, "handshake timed out");
		return;
	case C_OPENING:
		if (now < c->deadline)
			return;
		log_warnx("%s: the trail writer did not answer in time",
		    conn_who(c));
		conn_close(c, WIRE_ERR_IO, "receiver storage unavailable; retry "
		    "later");
		return;
	case C_AUTHFAIL:
		if (now < c->authfail_at)
			return;
		if (wire_enc_error(&c->out, WIRE_ERR_AUTH, c->refusal != NULL ?
		    c->refusal : "authentication failed") == -1)
			fatal("ERROR");
		c->srv->npending--;
		c->state = C_CLOSING;
		c->close_at = now + CLOSE_LINGER_MS;
		if (flush(c) == 0)
			update_interest(c);
		return;
	case C_READY:
		/*
		 * Not read because its writer is behind (our backpressure):
		 * the silence is ours.  In a restart storm a new writer with
		 * many hosts' backlogs held connections off for longer than
		 * the timeout, and they were closed as silent, again and
		 * again.
		 */
		if (writer_full(c))
			c->deadline = now + conn_timeout_ms(c);
		if (now >= c->deadline) {
			snprintf(why, sizeof(why), "nothing received for %u s",
			    conn_timeout_ms(c) / 1000);
			log_warnx("%s: %s", conn_who(c), why);
			conn_close(c, WIRE_ERR_TIMEOUT, why);
			return;
		}
		if (now >= c->ping_at) {
			if (wire_enc_token(&c->out, WIRE_MSG_PING,
			    ++c->ping_token) == -1)
				fatal("PING");
			c->ping_at = now + conn_timeout_ms(c) / 3;
			if (flush(c) == 0)
				update_interest(c);
		}
		return;
	case C_CLOSING:
		if (now >= c->close_at) {
			log_debug("%s: %s", conn_who(c), c->draining ?
			    "the peer did not close in time" :
			    "gave up sending the last message");
			conn_drop(c);
		}
		return;
	case C_DEAD:
		return;
	}
}
