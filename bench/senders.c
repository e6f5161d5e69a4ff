/*
 * senders: many auditdist senders in one process, the load of the fan-in
 * group.  A job (a thread of sendjobs.c) drives its slice of the senders
 * in an epoll loop of its own, through non-blocking TLS (common/tlsio.h)
 * and the handshake of docs/protocol.md, each sender as its own
 * configured host with its own password, and then ships at a steady
 * rate: every tick a sender sends, in one DATA frame, the records that
 * fell due since its last one; the ticks of all the senders are spread
 * evenly over the period, as independent hosts would be.  A record's
 * latency runs from when it fell due, so neither the tick nor a job
 * that falls behind hides a delay.
 *
 * Each sender ships the start of the bench stream as segment 1 of a new
 * series, so that its trail can be checked against the stream afterwards.
 * Handshakes are staggered (a bounded number in progress at once), the
 * shipping starts when every sender is through, and the measured window
 * begins after a warm-up.
 */
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "auth.h"
#include "bench.h"
#include "tlsio.h"
#include "wire.h"

#include "frames.h"
#define WINDOW		(4 * 1024 * 1024)	/* unacked bytes, as the forwarder */
#define OUT_MAX		(256 * 1024)	/* queued and not written: stalled */
#define RING		128		/* frames in flight, for latency */
#define HS_TIMEOUT	30.0		/* s for one handshake */
#define MAX_EV		256
#define SENDS_PER_TURN	256	/* then the ACKs that came meanwhile */

enum sstate { S_IDLE, S_CONNECTING, S_TLS, S_CHALLENGE, S_WELCOME, S_SHIP,
    S_CLOSED, S_FAILED };

struct inflight {
	uint64_t	 end;		/* stream offset after the frame */
	uint64_t	 first;		/* records the sender queued before */
	uint64_t	 nrec;		/* records in the frame */
	double		 sent;		/* handed to TLS */
};

struct sconn {
	int		 fd;
	struct tlsio	*t;
	enum sstate	 st;
	unsigned	 idx;		/* host fanIDX */
	char		 host[16];
	char		 password[65];
	uint8_t		 id[WIRE_ID_LEN];
	uint8_t		 nonce_s[WIRE_NONCE_LEN], nonce_r[WIRE_NONCE_LEN];
	uint8_t		 ekm[TLSIO_EKM_LEN];
	struct frames	 in;
	struct wbuf	 out;
	uint32_t	 events;	/* registered with epoll */
	int		 wants_out;	/* TLS waits for writability */
	double		 hs_start;
	double		 start, next_at;	/* its schedule */
	uint64_t	 off, recs;	/* queued so far */
	uint64_t	 acked, acked_recs;
	struct inflight	 ring[RING];
	unsigned	 rhead, rn;
	/* The restart storm: reconnecting as the forwarder does. */
	double		 next_try;	/* S_IDLE: connect then; 0: not due */
	unsigned	 backoff;	/* s, the current base */
	unsigned	 epoch;		/* connections through the handshake */
	int		 back;		/* acked again after the restart */
};

/* One job: a slice of the senders in an epoll loop of its own. */
struct loop {
	const struct senders_conf *cf;
	struct senders_shared *sh;
	struct senders_job *job;
	struct senders_result *res;	/* the job's part */
	SSL_CTX		*ctx;
	int		 epfd;
	struct sconn	*c;
	unsigned	 n;		/* senders in c */
	const char	*stream;	/* mapped */
	uint64_t	 stream_len;
	unsigned	 next_connect, hs_inflight, nready, nfailed;
	unsigned	 max_hs;	/* handshakes in progress at once */
	int		 sending, in_window;
	int		 storm;		/* restart asked for: failures retry */
	unsigned	 nback;		/* shipping again since the restart */
	double		 t_ws, t_we;
	double		*lat, *lag;	/* lag: due to handed to TLS */
	size_t		 nlat, latcap;
};

static void
sc_fail(struct loop *l, struct sconn *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * After the restart, a sender whose connection failed tries again as the
 * forwarder does (plugin/fwd_conn.c, conn_fail): a base of 1 s doubling
 * up to 5 s, the delay 3/4 of the base plus up to 1/4 at random, at
 * least 1 s.
 */
static void
sc_backoff(struct loop *l, struct sconn *c)
{
	unsigned ms;

	c->backoff = c->backoff == 0 ? 1 : c->backoff * 2 > 5 ? 5 :
	    c->backoff * 2;
	/* As the forwarder does (fwd_retry_ms): the first retry jittered too. */
	ms = c->backoff * 750 + (unsigned)(random() % (c->backoff * 250 + 1));
	c->next_try = now() + ms / 1e3;
	c->st = S_IDLE;
	l->res->storm_attempts++;
}

static void
sc_fail(struct loop *l, struct sconn *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l->res->first_error[0] == '\0' && !l->storm)
		snprintf(l->res->first_error, sizeof(l->res->first_error),
		    "%s (%s, %.1f s into the run)", msg, c->host,
		    now() - l->res->t0);
	if (c->st < S_SHIP && c->st != S_IDLE)
		l->hs_inflight--;
	if (c->st == S_SHIP && !l->storm)
		l->res->lost_shipping++;
	if (c->t != NULL)
		tlsio_free(c->t);
	c->t = NULL;
	if (c->fd != -1) {
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->rn = 0;
	fr_reset(&c->in);
	c->out.off = c->out.len = 0;
	if (l->storm) {
		sc_backoff(l, c);
		return;
	}
	c->st = S_FAILED;
	l->nfailed++;
}

static void
sc_interest(struct loop *l, struct sconn *c)
{
	struct epoll_event ev;
	uint32_t want;

	if (c->fd == -1)
		return;
	want = c->st == S_CONNECTING ? EPOLLOUT : EPOLLIN;
	if (c->wants_out)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, c->fd, &ev) == -1)
		err(EX_OSERR, "epoll_ctl");
	c->events = want;
}

static void
sc_connect(struct loop *l, struct sconn *c)
{
	struct sockaddr_in sin;
	struct epoll_event ev;
	char addr[32];
	int one = 1;

	c->hs_start = now();
	l->hs_inflight++;
	c->st = S_CONNECTING;
	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		sc_fail(l, c, "socket: %s", strerror(errno));
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	fan_addr(c->idx, addr, sizeof(addr));
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1 ||
	    bind(c->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		sc_fail(l, c, "bind %s: %s", addr, strerror(errno));
		return;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)l->cf->port);
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
	    errno != EINPROGRESS) {
		sc_fail(l, c, "connect: %s", strerror(errno));
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = c->events = EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		err(EX_OSERR, "epoll_ctl");
}

/* Write what is queued; 0, or -1 when the connection failed. */
static int
sc_flush(struct loop *l, struct sconn *c)
{
	if (fr_write(&c->out, c->t, &c->wants_out) == -1) {
		sc_fail(l, c, "TLS write: %s", tlsio_error(c->t));
		return -1;
	}
	if (c->out.off > OUT_MAX)
		wbuf_compact(&c->out);
	return 0;
}

static uint64_t
spool_count_lines(const char *p, uint64_t len)
{
	const char *end = p + len, *nl;
	uint64_t n = 0;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p = nl + 1;
	}
	return n;
}

static void
lat_add(struct loop *l, double ms, double lag_ms)
{
	if (l->nlat == l->latcap) {
		/* Sized at the start for the window: growing costs faults. */
		l->latcap = l->latcap ? l->latcap * 2 : 65536;
		if ((l->lat = reallocarray(l->lat, l->latcap,
		    sizeof(*l->lat))) == NULL ||
		    (l->lag = reallocarray(l->lag, l->latcap,
		    sizeof(*l->lag))) == NULL)
			err(EX_OSERR, "malloc");
	}
	l->lag[l->nlat] = lag_ms;
	l->lat[l->nlat++] = ms;
}

/*
 * The latency of each record of an acknowledged frame that fell due in
 * the window, from when it fell due, not from when it was sent: a
 * sender that is late, or the tick that batches records, shows in it.
 * The sender's k-th record falls due at start + k / rate.
 */
static void
lat_frame(struct loop *l, const struct sconn *c, const struct inflight *f,
    double t_ack)
{
	uint64_t k;
	double due;

	for (k = f->first + 1; k <= f->first + f->nrec; k++) {
		due = c->start + (double)k / l->cf->rate;
		if (due >= l->t_ws && due < l->t_we)
			lat_add(l, (t_ack - due) * 1e3, (f->sent - due) * 1e3);
	}
}

/*
 * Where the receiver stands, from its WELCOME: nothing on the first
 * connection; after the restart, at least what it acknowledged (and at
 * most what was sent) of segment 1 of this sender's series, from where
 * the sender goes on.
 */
static int
sc_resume(struct loop *l, struct sconn *c, const struct msg_welcome *wl)
{
	static const uint8_t zero[WIRE_ID_LEN];
	uint64_t size = 0;

	if (memcmp(wl->spool_id, zero, sizeof(zero)) != 0) {
		if (memcmp(wl->spool_id, c->id, sizeof(c->id)) != 0 ||
		    wl->seq != 1) {
			sc_fail(l, c, "WELCOME names another series or "
			    "segment %" PRIu64, wl->seq);
			return -1;
		}
		size = wl->size;
	}
	if (size < c->acked || size > c->off) {
		sc_fail(l, c, "WELCOME holds %" PRIu64 " bytes, %" PRIu64
		    " were acknowledged and %" PRIu64 " sent", size, c->acked,
		    c->off);
		return -1;
	}
	if (size > c->acked) {
		c->acked_recs += spool_count_lines(l->stream + c->acked,
		    size - c->acked);
		c->acked = size;
	}
	if (c->off > size) {
		c->recs -= spool_count_lines(l->stream + size, c->off - size);
		c->off = size;
	}
	return 0;
}

/* One frame from the receiver; -1 when the connection failed. */
static int
sc_frame(struct loop *l, struct sconn *c, uint8_t type, const uint8_t *p,
    uint32_t len)
{
	uint8_t proof[WIRE_MAC_LEN];
	struct msg_challenge ch;
	struct msg_welcome wl;
	struct msg_error me;
	struct wire_pos a;
	uint64_t token;
	double t;

	if (type == WIRE_MSG_ERROR) {
		if (wire_dec_error(p, len, &me) == -1) {
			me.code = 0;
			strcpy(me.reason, "(malformed)");
		}
		sc_fail(l, c, "receiver sent ERROR %u %s", me.code, me.reason);
		return -1;
	}
	if (type == WIRE_MSG_PING && c->st == S_SHIP) {
		if (wire_dec_token(p, len, &token) == -1 ||
		    wire_enc_token(&c->out, WIRE_MSG_PONG, token) == -1) {
			sc_fail(l, c, "bad PING");
			return -1;
		}
		return 0;
	}
	switch (c->st) {
	case S_CHALLENGE:
		if (type != WIRE_MSG_CHALLENGE ||
		    wire_dec_challenge(p, len, &ch) == -1)
			break;
		memcpy(c->nonce_r, ch.nonce, sizeof(c->nonce_r));
		if (auth_proof(c->password, AUTH_SENDER, c->ekm, c->nonce_s,
		    c->nonce_r, c->host, proof) == -1 ||
		    wire_enc_auth(&c->out, proof) == -1)
			errx(EX_SOFTWARE, "cannot make a proof");
		c->st = S_WELCOME;
		return 0;
	case S_WELCOME:
		if (type != WIRE_MSG_WELCOME || wire_dec_welcome(p, len, &wl) == -1)
			break;
		if (!wl.has_proof || auth_check(c->password, AUTH_RECEIVER,
		    c->ekm, c->nonce_s, c->nonce_r, c->host, wl.proof) != 1) {
			sc_fail(l, c, "the receiver's proof is wrong");
			return -1;
		}
		if (sc_resume(l, c, &wl) == -1)
			return -1;
		c->st = S_SHIP;
		c->epoch++;
		c->backoff = 0;
		l->hs_inflight--;
		if (c->epoch == 1) {
			l->nready++;
			atomic_fetch_add(&l->sh->nready, 1);
		} else if (c->epoch == 2) {
			l->res->storm_welcomed++;
			atomic_fetch_add(&l->sh->storm_welcomed, 1);
		}
		t = now() - c->hs_start;
		if (t > l->res->hs_max_s)
			l->res->hs_max_s = t;
		return 0;
	case S_SHIP:
		if (type != WIRE_MSG_ACK || wire_dec_pos(p, len, 1, &a) == -1)
			break;
		if (a.seq != 1 || a.size < c->acked || a.size > c->off) {
			sc_fail(l, c, "ACK %" PRIu64 " %" PRIu64 " for "
			    "segment 1 with %" PRIu64 " sent, %" PRIu64
			    " acked", a.seq, a.size, c->off, c->acked);
			return -1;
		}
		c->acked_recs += spool_count_lines(l->stream + c->acked,
		    a.size - c->acked);
		c->acked = a.size;
		if (c->epoch > 1 && !c->back) {
			c->back = 1;
			l->nback++;
			atomic_fetch_add(&l->sh->storm_back, 1);
		}
		t = now();
		while (c->rn > 0 && c->ring[c->rhead].end <= a.size) {
			lat_frame(l, c, &c->ring[c->rhead], t);
			c->rhead = (c->rhead + 1) % RING;
			c->rn--;
		}
		return 0;
	default:
		break;
	}
	sc_fail(l, c, "unexpected %s (%u)", wire_type_name(type), type);
	return -1;
}

/* sc_frame for fr_read. */
struct sc_arg {
	struct loop	*l;
	struct sconn	*c;
};

static int
sc_frame_cb(void *arg, uint8_t type, const uint8_t *p, uint32_t len)
{
	struct sc_arg *a = arg;

	return sc_frame(a->l, a->c, type, p, len);
}

/* Read and act on everything readable; -1 when the connection failed. */
static int
sc_read(struct loop *l, struct sconn *c)
{
	struct sc_arg a = { l, c };
	int r;

	r = fr_read(&c->in, c->t, sc_frame_cb, &a, &c->wants_out);
	if (r == FR_CUT || r == FR_BAD)
		sc_fail(l, c, "%s", c->in.why);
	return r == FR_BLOCKED ? 0 : -1;
}

/* Move a connection on as far as it goes without waiting. */
static void
sc_run(struct loop *l, struct sconn *c)
{
	char fp[TLSIO_FP_LEN];
	socklen_t slen = sizeof(int);
	int r, soerr = 0;

	switch (c->st) {
	case S_CONNECTING:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) ==
		    -1 || soerr != 0) {
			sc_fail(l, c, "connect: %s", strerror(soerr ? soerr :
			    errno));
			return;
		}
		if ((c->t = tlsio_new(l->ctx, c->fd, 0, "localhost")) == NULL)
			errx(EX_SOFTWARE, "tlsio_new failed");
		c->st = S_TLS;
		/* FALLTHROUGH */
	case S_TLS:
		r = tlsio_handshake(c->t);
		c->wants_out = r == TLSIO_WANT_WRITE;
		if (r == TLSIO_WANT_READ || r == TLSIO_WANT_WRITE)
			break;
		if (r != 1) {
			sc_fail(l, c, "TLS handshake: %s", tlsio_error(c->t));
			return;
		}
		if (tlsio_peer_fingerprint(c->t, fp) == -1 ||
		    !auth_pin_equal(fp, l->cf->fingerprint)) {
			sc_fail(l, c, "the receiver's certificate is not the "
			    "pinned one");
			return;
		}
		if (tlsio_exporter(c->t, c->ekm) == -1)
			errx(EX_SOFTWARE, "tlsio_exporter failed");
		/* One series per sender: the id stays across reconnects. */
		if (auth_random(c->nonce_s, sizeof(c->nonce_s)) == -1 ||
		    (c->epoch == 0 && auth_random(c->id, sizeof(c->id)) == -1))
			errx(EX_SOFTWARE, "no random bytes");
		if (wire_enc_hello(&c->out, c->host, c->id, c->nonce_s) == -1)
			err(EX_OSERR, "wire_enc_hello");
		c->st = S_CHALLENGE;
		/* FALLTHROUGH */
	default:
		if (sc_flush(l, c) == -1 || sc_read(l, c) == -1)
			return;
		if (wbuf_pending(&c->out) > 0 && !c->wants_out &&
		    sc_flush(l, c) == -1)
			return;
		break;
	}
	sc_interest(l, c);
}

/* Queue the records that fell due, if the window allows. */
static void
sc_send_due(struct loop *l, struct sconn *c, double t)
{
	const char *p, *nl, *end = l->stream + l->stream_len;
	uint64_t due, k, i, len;
	struct inflight *f;

	due = (uint64_t)floor(l->cf->rate * (t - c->start));
	if (due <= c->recs)
		return;
	if (c->off - c->acked >= WINDOW || wbuf_pending(&c->out) > OUT_MAX) {
		if (l->in_window)
			l->res->stalls++;
		return;
	}
	k = due - c->recs;
	p = l->stream + c->off;
	for (i = 0, nl = p; i < k; i++) {
		if ((nl = memchr(nl, '\n', (size_t)(end - nl))) == NULL ||
		    nl + 1 - p > WIRE_MAX_DATA)
			break;
		nl++;
	}
	if (nl == NULL || i == 0) {
		sc_fail(l, c, "the stream is too short for this run (raise "
		    "-s)");
		return;
	}
	len = (uint64_t)(nl - p);
	if (wire_enc_data(&c->out, 1, c->off, p, (size_t)len) == -1)
		err(EX_OSERR, "wire_enc_data");
	if (c->rn < RING) {
		f = &c->ring[(c->rhead + c->rn++) % RING];
		f->end = c->off + len;
		f->first = c->recs;
		f->nrec = i;
		f->sent = t;
	}
	c->off += len;
	c->recs += i;
	if (l->in_window) {
		l->res->win_sent_bytes += len;
		l->res->win_sent_recs += i;
	}
	if (sc_flush(l, c) == 0)
		sc_interest(l, c);
}

static void
totals(const struct loop *l, uint64_t *acked, uint64_t *recs)
{
	unsigned i;

	*acked = *recs = 0;
	for (i = 0; i < l->n; i++) {
		*acked += l->c[i].acked;
		*recs += l->c[i].acked_recs;
	}
}

/*
 * The restart storm, once shipping has warmed up: the job tells the
 * coordinator (sendjobs.c) it expects the restart, then brings its
 * senders back as the forwarder would, until the coordinator says that
 * every sender is back or that it waited long enough (1).
 */
static int
storm_step(struct loop *l, double t)
{
	struct sconn *c;
	unsigned i;

	if (!l->storm) {
		l->storm = 1;
		l->res->storm_senders = l->nready - l->nfailed;
		atomic_fetch_add(&l->sh->storm_senders,
		    l->res->storm_senders);
		atomic_fetch_add(&l->sh->storm_armed, 1);
	}
	for (i = 0; i < l->n; i++) {
		c = &l->c[i];
		if (c->st == S_IDLE && c->next_try > 0 && t >= c->next_try) {
			c->next_try = 0;
			sc_connect(l, c);
		} else if (c->st > S_IDLE && c->st < S_SHIP &&
		    t - c->hs_start > HS_TIMEOUT)
			sc_fail(l, c, "no WELCOME within %.0f s", HS_TIMEOUT);
	}
	return atomic_load(&l->sh->storm_over);
}

/* One round of events, waiting at most timeout ms. */
static void
events(struct loop *l, int timeout)
{
	struct epoll_event ev[MAX_EV];
	int n, k;

	n = epoll_wait(l->epfd, ev, MAX_EV, timeout);
	if (n == -1 && errno != EINTR)
		err(EX_OSERR, "epoll_wait");
	for (k = 0; k < n; k++)
		sc_run(l, ev[k].data.ptr);
	if (interrupted)
		errx(EX_TEMPFAIL, "interrupted");
}

/* Handshakes, a bounded number at a time. */
static void
handshakes(struct loop *l)
{
	double t, hs_deadline = now() + 120;
	unsigned i;

	while (l->nready + l->nfailed < l->n) {
		while (l->next_connect < l->n && l->hs_inflight < l->max_hs)
			sc_connect(l, &l->c[l->next_connect++]);
		events(l, 10);
		t = now();
		for (i = 0; i < l->next_connect; i++)
			if (l->c[i].st < S_SHIP && l->c[i].st != S_IDLE &&
			    t - l->c[i].hs_start > HS_TIMEOUT)
				sc_fail(l, &l->c[i], "no WELCOME within %.0f "
				    "s of connecting", HS_TIMEOUT);
		if (t > hs_deadline) {
			for (i = 0; i < l->n; i++)
				if (l->c[i].st < S_SHIP)
					sc_fail(l, &l->c[i], "handshakes took "
					    "more than 120 s");
		}
	}
}

/* Sends of the senders that fell due; the ms until the next one. */
static int
send_round(struct loop *l, double t, unsigned *cur)
{
	unsigned k;
	double tick = (double)l->cf->tick_ms / 1e3;

	/*
	 * A bounded number of sends per turn: a tool that falls behind
	 * must still read the ACKs, or their latency and the acked count
	 * would be its own.
	 */
	for (k = 0; k < SENDS_PER_TURN && t >= l->c[*cur].next_at; k++) {
		if (l->c[*cur].st == S_SHIP)
			sc_send_due(l, &l->c[*cur], t);
		l->c[*cur].next_at += tick;
		*cur = (*cur + 1) % l->n;
	}
	return (int)ceil((l->c[*cur].next_at - t) * 1e3);
}

/*
 * Shipping from t_hs_end: global sender g ticks at phase g/N of the
 * period, so that the jobs' senders interleave as one fleet's would.
 */
static void
ship(struct loop *l, double t_hs_end)
{
	const struct senders_conf *cf = l->cf;
	struct senders_result *res = l->res;
	double t, tick = (double)cf->tick_ms / 1e3, t_end_drain = 0;
	uint64_t a0 = 0, r0 = 0, a1, r1;
	unsigned i, cur = 0, left;
	int timeout;

	for (i = 0; i < l->n; i++) {
		l->c[i].start = t_hs_end + tick * (l->job->lo + i) / cf->n;
		l->c[i].next_at = l->c[i].start + tick;
	}
	l->sending = 1;
	l->t_ws = t_hs_end + cf->warmup;
	l->t_we = l->t_ws + cf->window;
	for (;;) {
		t = now();
		if (cf->storm_out != -1 && l->sending && t >= l->t_ws &&
		    storm_step(l, t) == 1) {
			l->sending = 0;
			l->t_we = t;
			t_end_drain = t + cf->drain;
		}
		if (!l->in_window && l->sending && t >= l->t_ws &&
		    cf->storm_out == -1) {
			l->in_window = 1;
			totals(l, &a0, &r0);
			l->t_ws = now();
		}
		if (l->in_window && t >= l->t_we) {
			l->in_window = 0;
			l->sending = 0;
			t = l->t_we = now();
			totals(l, &a1, &r1);
			res->window_s = l->t_we - l->t_ws;
			res->win_acked_bytes = a1 - a0;
			res->win_acked_recs = r1 - r0;
			t_end_drain = t + cf->drain;
		}
		if (l->sending)
			timeout = send_round(l, t, &cur);
		else {
			for (i = 0, left = 0; i < l->n; i++)
				if (l->c[i].st == S_SHIP &&
				    l->c[i].acked < l->c[i].off)
					left++;
			if (left == 0) {
				res->drain_s = now() - l->t_we;
				break;
			}
			if (t > t_end_drain)
				break;
			timeout = 20;
		}
		if (timeout < 0)
			timeout = 0;
		if (timeout > (l->storm ? 10 : 100))
			timeout = l->storm ? 10 : 100;
		events(l, timeout);
	}
}

/* BYE, and the job's figures. */
static void
finish(struct loop *l)
{
	struct senders_job *job = l->job;
	struct senders_result *res = l->res;
	struct sconn *c;
	unsigned i;

	for (i = 0; i < l->n; i++) {
		c = &l->c[i];
		job->sent[i] = c->off;
		job->acked[i] = c->acked;
		res->sent_bytes += c->off;
		res->acked_bytes += c->acked;
		if (c->st == S_SHIP) {
			if (wire_enc_bye(&c->out) == 0)
				(void)sc_flush(l, c);
			if (c->t != NULL) {
				tlsio_shutdown(c->t);
				tlsio_free(c->t);
			}
			close(c->fd);
			c->st = S_CLOSED;
		}
		fr_free(&c->in);
		wbuf_free(&c->out);
	}
	res->failed = l->nfailed;
	job->lat = l->lat;
	job->lag = l->lag;
	job->nlat = l->nlat;
	free(l->c);
	close(l->epfd);
}

/*
 * A job (a thread of sendjobs.c): its senders through the handshake,
 * then, once every job's are, shipping until the window and the drain
 * are over.
 */
void *
senders_job_run(void *arg)
{
	struct senders_job *job = arg;
	struct senders_shared *sh = job->sh;
	const struct senders_conf *cf = sh->cf;
	struct loop l;
	unsigned i;

	memset(&l, 0, sizeof(l));
	l.cf = cf;
	l.sh = sh;
	l.job = job;
	l.res = &job->res;
	l.res->t0 = sh->t0;
	l.res->drain_s = NAN;
	l.ctx = sh->ctx;
	l.stream = sh->stream;
	l.stream_len = sh->stream_len;
	l.n = job->n;
	l.max_hs = cf->max_handshakes * job->n / cf->n;
	if (l.max_hs == 0)
		l.max_hs = 1;
	l.latcap = (size_t)(job->n * (cf->window * cf->rate + 2));
	if ((l.lat = calloc(l.latcap, sizeof(*l.lat))) == NULL ||
	    (l.lag = calloc(l.latcap, sizeof(*l.lag))) == NULL ||
	    (l.c = calloc(job->n, sizeof(*l.c))) == NULL)
		err(EX_OSERR, "calloc");
	if ((l.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(EX_OSERR, "epoll_create1");
	for (i = 0; i < job->n; i++) {
		l.c[i].fd = -1;
		l.c[i].idx = job->lo + i + 1;
		snprintf(l.c[i].host, sizeof(l.c[i].host), "fan%u",
		    l.c[i].idx);
		host_password(cf->b, l.c[i].idx, l.c[i].password);
		wbuf_init(&l.c[i].out);
	}
	handshakes(&l);
	/* The last job through starts the shipping of all. */
	if (atomic_fetch_sub(&sh->hs_left, 1) == 1) {
		sh->t_hs_end = now();
		atomic_store(&sh->started, 1);
	}
	while (!atomic_load(&sh->started))
		events(&l, 10);		/* PINGs meanwhile */
	ship(&l, sh->t_hs_end);
	finish(&l);
	atomic_fetch_add(&sh->finished, 1);
	return NULL;
}
