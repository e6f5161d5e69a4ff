/*
 * fleet: many auditdist senders in one process, for the many-hosts test.
 * One epoll loop drives every connection through non-blocking TLS and the
 * handshake of docs/protocol.md (each host with its own password), then
 * all of them ship at once: each sends its own slice of STREAM as segment
 * 1 of a new series, one DATA frame per tick, spread over -s seconds,
 * then SEGEND, and waits for the ACK that says the whole segment is
 * durable.  What a host shipped and got acknowledged goes to OUTDIR/HOST,
 * so that its trail can be compared with it.
 *
 *   fleet [-B] [-c handshakes] [-f fingerprint] [-i ms] [-s seconds]
 *	[-t timeout] ADDR:PORT LIST STREAM OUTDIR
 *
 *   LIST	lines "HOST PASSWORD"
 *   STREAM	whole lines of records; host k ships a slice of 16 to 48 KiB
 *		starting at a line chosen by k
 *   -B	every host sends its frames at the same moments (bursts, as
 *		after a stall), not at ticks spread evenly
 *   -c n	handshakes in progress at once (default 32)
 *   -f fp	the receiver's certificate fingerprint (default: any)
 *   -i ms	start a handshake every ms milliseconds (and at most -c at
 *		once): hosts that arrive one after another, not in waves
 *   -s sec	how long the shipping is spread over (default 10)
 *   -t sec	give up after this long in all (default 110)
 *
 *   -R	reconnect as the forwarder does when a connection fails or is
 *		closed (after 0.75-1 s, then a base doubling to 5 s, 3/4 of
 *		it plus up to 1/4 at random; not bounded by -c), resuming
 *		where the WELCOME says; a host fails only at the timeout
 *
 * A third field on a LIST line is the address that host connects from
 * (its own, as in a fleet: 127.0.0.0/8 is all loopback).
 *
 * It prints "handshakes N in S s", "shipping" (when every one is through;
 * a test may signal the receiver then), with -R "all back after S s, F
 * attempts failed" each time every host is connected again after some
 * were cut, "acked N of N hosts, B bytes in S s" and a line per host that
 * failed; exit 0 only when every host's whole slice was acknowledged.
 */
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "tlsio.h"
#include "wire.h"

#include "frames.h"

#define SLICE_MIN	(16 * 1024)
#define SLICE_VAR	(32 * 1024)
#define FRAMES		8		/* per host, about */
#define MAX_EV		256

enum state { S_IDLE, S_CONNECTING, S_TLS, S_CHALLENGE, S_WELCOME, S_READY,
    S_SHIP, S_DONE, S_FAILED };

struct snd {
	int		 fd;
	struct tlsio	*t;
	enum state	 st;
	char		 host[WIRE_MAX_HOST + 1];
	char		*password;
	uint8_t		 id[WIRE_ID_LEN];
	uint8_t		 nonce_s[WIRE_NONCE_LEN], nonce_r[WIRE_NONCE_LEN];
	uint8_t		 ekm[TLSIO_EKM_LEN];
	struct frames	 in;
	struct wbuf	 out;
	struct in_addr	 from;		/* 0: any */
	unsigned	 backoff;	/* s, -R */
	double		 retry_at;	/* -R, in S_IDLE */
	int		 welcomed;	/* once: WELCOME says where to resume */
	uint32_t	 events;
	int		 wants_out;
	const char	*slice;
	uint64_t	 len, off, acked;
	double		 next_at;
	char		 why[200];
};

static struct {
	SSL_CTX		*ctx;
	int		 epfd, port;
	const char	*fp;
	struct snd	*s;
	unsigned	 n, inflight, ready, failed, done;
	double		 tick;
	int		 retry, shipping;	/* -R; past the handshakes */
	unsigned	 away, attempts_failed;	/* -R: cut, not yet back */
	double		 first_cut;
} F;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* -R: the next attempt, as the forwarder spaces them. */
static void
s_retry(struct snd *c)
{
	double t = now();

	if (c->st >= S_READY) {
		F.ready--;
		if (F.away++ == 0)
			F.first_cut = t;
	} else
		F.attempts_failed++;
	c->backoff = c->backoff == 0 ? 1 : c->backoff * 2 > 5 ? 5 :
	    c->backoff * 2;
	c->retry_at = t + c->backoff * 0.75 + c->backoff * 0.25 *
	    (double)random() / RAND_MAX;
	c->st = S_IDLE;
	fr_reset(&c->in);
	c->out.off = c->out.len = 0;
}

static void
s_fail(struct snd *c, const char *why)
{
	if (c->st >= S_DONE)
		return;
	if (c->st > S_IDLE && c->st < S_READY)
		F.inflight--;
	snprintf(c->why, sizeof(c->why), "%s", why);
	if (c->t != NULL)
		tlsio_free(c->t);
	c->t = NULL;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->events = 0;
	if (F.retry && c->st != S_IDLE) {
		s_retry(c);
		return;
	}
	c->st = S_FAILED;
	F.failed++;
}

static void
s_interest(struct snd *c)
{
	struct epoll_event ev;
	uint32_t want;

	if (c->fd == -1)
		return;
	want = c->st == S_CONNECTING || c->wants_out ? EPOLLOUT : 0;
	if (c->st != S_CONNECTING)
		want |= EPOLLIN;
	if (want == c->events)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(F.epfd, c->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD,
	    c->fd, &ev) == -1)
		err(EX_OSERR, "epoll_ctl");
	c->events = want;
}

static void
s_connect(struct snd *c)
{
	struct sockaddr_in sin;
	int one = 1;

	F.inflight++;
	c->st = S_CONNECTING;
	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		err(EX_OSERR, "socket (raise ulimit -n)");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr = c->from;
	if (c->from.s_addr != 0 && bind(c->fd, (struct sockaddr *)&sin,
	    sizeof(sin)) == -1)
		err(EX_OSERR, "bind %s", inet_ntoa(c->from));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)F.port);
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
	    errno != EINPROGRESS) {
		s_fail(c, strerror(errno));
		return;
	}
	s_interest(c);
}

static int
s_flush(struct snd *c)
{
	if (fr_write(&c->out, c->t, &c->wants_out) == -1) {
		s_fail(c, "TLS write failed");
		return -1;
	}
	return 0;
}

/* -R: a host comes back where the receiver says it stands. */
static int
s_welcomed(struct snd *c, const struct msg_welcome *wl)
{
	uint64_t at = 0;

	c->backoff = 0;
	if (c->welcomed++ == 0)
		return 0;
	if (memcmp(wl->spool_id, c->id, sizeof(c->id)) == 0 && wl->seq == 1)
		at = wl->size;
	if (at < c->acked || at > c->off) {
		s_fail(c, "the WELCOME is not where this host stands");
		return -1;
	}
	c->off = c->acked = at;
	if (F.shipping)
		c->st = S_SHIP;
	if (--F.away == 0)
		printf("all back after %.1f s, %u attempts failed\n",
		    now() - F.first_cut, F.attempts_failed);
	fflush(stdout);
	if (wl->complete && at == c->len) {
		(void)wire_enc_bye(&c->out);
		c->st = S_DONE;
		F.done++;
	} else if (at == c->len && wire_enc_segend(&c->out, 1, c->len) == -1)
		err(EX_OSERR, "wire_enc_segend");
	return 0;
}

static int
s_frame(void *arg, uint8_t type, const uint8_t *p, uint32_t len)
{
	struct snd *c = arg;
	uint8_t proof[WIRE_MAC_LEN];
	struct msg_challenge ch;
	struct msg_welcome wl;
	struct msg_error me;
	struct wire_pos a;
	uint64_t token;
	char why[200];

	if (type == WIRE_MSG_ERROR) {
		if (wire_dec_error(p, len, &me) == -1)
			snprintf(me.reason, sizeof(me.reason), "(malformed)");
		snprintf(why, sizeof(why), "ERROR %u %.120s", me.code,
		    me.reason);
		s_fail(c, why);
		return -1;
	}
	if (type == WIRE_MSG_PING && c->st >= S_READY) {
		if (wire_dec_token(p, len, &token) == -1 ||
		    wire_enc_token(&c->out, WIRE_MSG_PONG, token) == -1)
			goto bad;
		return 0;
	}
	if (c->st == S_CHALLENGE && type == WIRE_MSG_CHALLENGE &&
	    wire_dec_challenge(p, len, &ch) == 0) {
		memcpy(c->nonce_r, ch.nonce, sizeof(c->nonce_r));
		if (auth_proof(c->password, AUTH_SENDER, c->ekm, c->nonce_s,
		    c->nonce_r, c->host, proof) == -1 ||
		    wire_enc_auth(&c->out, proof) == -1)
			errx(EX_SOFTWARE, "cannot make a proof");
		c->st = S_WELCOME;
		return 0;
	}
	if (c->st == S_WELCOME && type == WIRE_MSG_WELCOME &&
	    wire_dec_welcome(p, len, &wl) == 0) {
		if (!wl.has_proof || auth_check(c->password, AUTH_RECEIVER,
		    c->ekm, c->nonce_s, c->nonce_r, c->host, wl.proof) != 1) {
			s_fail(c, "the receiver's proof is wrong");
			return -1;
		}
		c->st = S_READY;
		F.inflight--;
		F.ready++;
		return s_welcomed(c, &wl);
	}
	if (c->st == S_SHIP && type == WIRE_MSG_ACK &&
	    wire_dec_pos(p, len, 1, &a) == 0) {
		if (a.seq != 1 || a.size < c->acked || a.size > c->off) {
			snprintf(why, sizeof(why), "ACK %llu %llu with %llu "
			    "sent", (unsigned long long)a.seq,
			    (unsigned long long)a.size,
			    (unsigned long long)c->off);
			s_fail(c, why);
			return -1;
		}
		c->acked = a.size;
		if (a.complete && a.size == c->len) {
			(void)wire_enc_bye(&c->out);
			c->st = S_DONE;
			F.done++;
		}
		return 0;
	}
bad:
	snprintf(why, sizeof(why), "unexpected %s", wire_type_name(type));
	s_fail(c, why);
	return -1;
}

static int
s_read(struct snd *c)
{
	int r;

	switch ((r = fr_read(&c->in, c->t, s_frame, c, &c->wants_out))) {
	case FR_CUT:
		if (c->st == S_DONE)
			return -1;
		/* FALLTHROUGH */
	case FR_BAD:
		s_fail(c, c->in.why);
		return -1;
	}
	return r;
}

static void
s_handshake(struct snd *c)
{
	char fp[TLSIO_FP_LEN];
	socklen_t slen = sizeof(int);
	int r, soerr = 0;

	if (c->st == S_CONNECTING) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) ==
		    -1 || soerr != 0) {
			s_fail(c, strerror(soerr ? soerr : errno));
			return;
		}
		if ((c->t = tlsio_new(F.ctx, c->fd, 0, "localhost")) == NULL)
			errx(EX_SOFTWARE, "tlsio_new failed");
		c->st = S_TLS;
	}
	r = tlsio_handshake(c->t);
	c->wants_out = r == TLSIO_WANT_WRITE;
	if (r == TLSIO_WANT_READ || r == TLSIO_WANT_WRITE)
		return;
	if (r != 1) {
		s_fail(c, "TLS handshake failed");
		return;
	}
	if (F.fp != NULL && (tlsio_peer_fingerprint(c->t, fp) == -1 ||
	    !auth_pin_equal(fp, F.fp))) {
		s_fail(c, "not the pinned certificate");
		return;
	}
	if (tlsio_exporter(c->t, c->ekm) == -1 ||
	    auth_random(c->nonce_s, sizeof(c->nonce_s)) == -1 ||
	    (c->welcomed == 0 && auth_random(c->id, sizeof(c->id)) == -1) ||
	    wire_enc_hello(&c->out, c->host, c->id, c->nonce_s) == -1)
		errx(EX_SOFTWARE, "cannot say HELLO");
	c->st = S_CHALLENGE;
}

static void
s_run(struct snd *c)
{
	if (c->st == S_CONNECTING || c->st == S_TLS)
		s_handshake(c);
	if (c->st >= S_CHALLENGE && c->st <= S_DONE) {
		if (s_flush(c) == -1 || s_read(c) == -1)
			return;
		if (wbuf_pending(&c->out) > 0 && !c->wants_out &&
		    s_flush(c) == -1)
			return;
	}
	s_interest(c);
}

/* The next frame of the slice, whole lines, or SEGEND after the last. */
static void
s_send(struct snd *c, double t)
{
	uint64_t want = c->len / FRAMES + 1, n;
	const char *nl;

	c->next_at = t + F.tick;
	if (c->off == c->len)
		return;
	if (c->off + want >= c->len)
		n = c->len - c->off;
	else {
		nl = memchr(c->slice + c->off + want, '\n', c->len - c->off -
		    want);
		n = (uint64_t)(nl + 1 - (c->slice + c->off));
	}
	if (n > WIRE_MAX_DATA)
		errx(EX_SOFTWARE, "%s: a frame of %llu bytes", c->host,
		    (unsigned long long)n);
	if (wire_enc_data(&c->out, 1, c->off, c->slice + c->off, n) == -1)
		err(EX_OSERR, "wire_enc_data");
	c->off += n;
	if (c->off == c->len && wire_enc_segend(&c->out, 1, c->len) == -1)
		err(EX_OSERR, "wire_enc_segend");
	if (s_flush(c) == 0)
		s_interest(c);
}

static void
load_list(const char *path)
{
	char line[1024], *h, *pw, *from, *save;
	FILE *f;
	unsigned cap = 0;

	if ((f = fopen(path, "re")) == NULL)
		err(EX_NOINPUT, "%s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((h = strtok_r(line, " \t\n", &save)) == NULL ||
		    (pw = strtok_r(NULL, " \t\n", &save)) == NULL)
			continue;
		if (F.n == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((F.s = reallocarray(F.s, cap, sizeof(*F.s))) ==
			    NULL)
				err(EX_OSERR, "hosts");
		}
		memset(&F.s[F.n], 0, sizeof(F.s[F.n]));
		F.s[F.n].fd = -1;
		snprintf(F.s[F.n].host, sizeof(F.s[F.n].host), "%s", h);
		if ((F.s[F.n].password = strdup(pw)) == NULL)
			err(EX_OSERR, "hosts");
		wbuf_init(&F.s[F.n].out);
		if ((from = strtok_r(NULL, " \t\n", &save)) != NULL &&
		    inet_pton(AF_INET, from, &F.s[F.n].from) != 1)
			errx(EX_DATAERR, "%s: %s: not an IPv4 address", path,
			    from);
		F.n++;
	}
	fclose(f);
	if (F.n == 0)
		errx(EX_DATAERR, "%s: no \"HOST PASSWORD\" lines", path);
}

/* Host k's slice: whole lines, its start and length chosen by k. */
static void
slices(const char *path)
{
	const char *m, *p, *e;
	struct stat st;
	uint64_t k, at, len;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1)
		err(EX_NOINPUT, "%s", path);
	if (st.st_size < 4 * (SLICE_MIN + SLICE_VAR))
		errx(EX_DATAERR, "%s: too short", path);
	if ((m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd,
	    0)) == MAP_FAILED)
		err(EX_OSERR, "mmap %s", path);
	close(fd);
	e = m + st.st_size;
	for (k = 0; k < F.n; k++) {
		at = k * 2654435761ULL % (uint64_t)(st.st_size - 2 *
		    (SLICE_MIN + SLICE_VAR));
		len = SLICE_MIN + k * 7919 % SLICE_VAR;
		p = (const char *)memchr(m + at, '\n', (size_t)(e - m - at)) + 1;
		F.s[k].slice = p;
		p = (const char *)memchr(p + len, '\n', (size_t)(e - p - len)) +
		    1;
		F.s[k].len = (uint64_t)(p - F.s[k].slice);
	}
}

static void
wait_events(int ms)
{
	struct epoll_event ev[MAX_EV];
	int n, i;

	if ((n = epoll_wait(F.epfd, ev, MAX_EV, ms)) == -1 && errno != EINTR)
		err(EX_OSERR, "epoll_wait");
	for (i = 0; i < n; i++)
		s_run(ev[i].data.ptr);
}

/* -R: the hosts whose next attempt is due. */
static void
reconnect(double t)
{
	unsigned i;

	for (i = 0; F.retry && i < F.n; i++)
		if (F.s[i].st == S_IDLE && F.s[i].retry_at != 0 &&
		    t >= F.s[i].retry_at)
			s_connect(&F.s[i]);
}

static void
write_sent(const char *dir, const struct snd *c)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, c->host);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1 || write(fd, c->slice, c->acked) != (ssize_t)c->acked)
		err(EX_CANTCREAT, "%s", path);
	close(fd);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: fleet [-B] [-c handshakes] [-f fingerprint] "
	    "[-i ms] [-R] [-s seconds] [-t timeout]\n"
	    "\tADDR:PORT LIST STREAM OUTDIR\n");
	exit(EX_USAGE);
}

int
main(int argc, char *argv[])
{
	unsigned i, next = 0, maxhs = 32, cur = 0;
	double t0, t_hs, t_end, spread = 10, timeout = 110;
	double gap = 0, next_at = 0;
	int burst = 0;
	uint64_t bytes = 0;
	struct rlimit rl;
	char errbuf[256];
	const char *colon;
	int ch;

	while ((ch = getopt(argc, argv, "Bc:f:i:Rs:t:")) != -1) {
		switch (ch) {
		case 'B':
			burst = 1;
			break;
		case 'c':
			maxhs = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'f':
			F.fp = optarg;
			break;
		case 'i':
			gap = strtod(optarg, NULL) / 1e3;
			break;
		case 'R':
			F.retry = 1;
			break;
		case 's':
			spread = strtod(optarg, NULL);
			break;
		case 't':
			timeout = strtod(optarg, NULL);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 4 || (colon = strrchr(argv[0], ':')) == NULL ||
	    maxhs == 0 || spread <= 0)
		usage();
	F.port = atoi(colon + 1);
	load_list(argv[1]);
	slices(argv[2]);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((F.ctx = tlsio_client_ctx(NULL, NULL, NULL, errbuf,
	    sizeof(errbuf))) == NULL)
		errx(EX_SOFTWARE, "TLS: %s", errbuf);
	if ((F.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(EX_OSERR, "epoll_create1");
	t0 = now();
	t_end = t0 + timeout;

	/* Handshakes, a bounded number at a time (the receiver lets one
	 * address hold only so many unauthenticated connections). */
	while (F.ready + F.failed < F.n && now() < t_end) {
		while (next < F.n && F.inflight < maxhs &&
		    (gap == 0 || now() >= next_at)) {
			s_connect(&F.s[next++]);
			next_at = now() + gap;
		}
		reconnect(now());
		wait_events(gap > 0 ? 1 : 10);
	}
	t_hs = now();
	printf("handshakes %u in %.1f s (%u failed)\n", F.ready, t_hs - t0,
	    F.failed);
	printf("shipping\n");
	fflush(stdout);

	/* Every host ships at once: host i ticks at phase i/n. */
	F.tick = spread / FRAMES;
	F.shipping = 1;
	for (i = 0; i < F.n; i++) {
		F.s[i].next_at = t_hs + (burst ? 0 : F.tick * i / F.n);
		if (F.s[i].st == S_READY)
			F.s[i].st = S_SHIP;
	}
	while (F.done + F.failed < F.n && now() < t_end) {
		double t = now();

		for (i = 0; i < F.n; i++, cur = (cur + 1) % F.n)
			if (F.s[cur].st == S_SHIP && t >= F.s[cur].next_at)
				s_send(&F.s[cur], t);
		reconnect(t);
		wait_events(5);
	}
	for (i = 0; i < F.n; i++) {
		struct snd *c = &F.s[i];

		if (c->st == S_DONE) {
			(void)s_flush(c);
			write_sent(argv[3], c);
			bytes += c->acked;
		} else {
			if (c->st != S_FAILED)
				s_fail(c, "timed out");
			printf("FAILED %s: %s (%llu of %llu bytes acked)\n",
			    c->host, c->why, (unsigned long long)c->acked,
			    (unsigned long long)c->len);
		}
		if (c->t != NULL)
			tlsio_free(c->t);
		if (c->fd != -1)
			close(c->fd);
	}
	printf("acked %u of %u hosts, %llu bytes in %.1f s of shipping\n",
	    F.done, F.n, (unsigned long long)bytes, now() - t_hs);
	return F.done == F.n ? 0 : 1;
}
