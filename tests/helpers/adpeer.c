/*
 * adpeer: a scripted auditdist protocol client, for hostile-peer tests and
 * for load.  It connects to a receiver over TLS (or plain TCP with -T),
 * plays one named scenario and prints, one per line, what the receiver
 * answered:
 *
 *	TLS TLSv1.3 SHA256=..		the TLS handshake completed
 *	CHALLENGE version=3
 *	WELCOME id=HEX seq=N size=N complete=C proof=ok|none tail=N
 *					(tail: bytes of seq the receiver sent)
 *	RESUME seq=N offset=N		where "good" starts sending
 *	ACK SEQ SIZE COMPLETE		(the last one; every one with -v)
 *	PONG TOKEN
 *	ERROR CODE REASON		e.g. "ERROR 3 authentication failed"
 *	FROM ADDR:PORT			the local end, as the receiver logs it
 *	EOF | RESET why | TIMEOUT	how the connection ended (or did not)
 *	CLOSED k/N after MS ms		stall scenarios
 *	TRICKLED k of N bytes ...	slow-frame: what was sent, when it ended
 *	SAME | MOVED resume point	truncated-frame: the next WELCOME's
 *	ELAPSED MS			milliseconds the scenario took
 *
 *   adpeer [-Tv] [-a cafile] [-b chunk] [-c certfile -k keyfile]
 *	[-f fingerprint] [-i spoolid] [-n host] [-P version] [-r rate] [-s seq]
 *	[-t seconds] [-w password | -W file] [-E stage] ADDR:PORT SCENARIO [ARG...]
 *
 *   -T		plain TCP instead of TLS (the receiver must refuse it)
 *   -a cafile	verify the receiver's chain and name (default: accept any)
 *   -b chunk	bytes of records per DATA frame in "good" (default 256K)
 *   -c, -k	client certificate and key
 *   -E stage	where the bad frame of frame scenarios goes: "hello"
 *		(instead of HELLO), "auth" (instead of AUTH) or "data" (after
 *		WELCOME, the default)
 *   -f fp	the receiver's certificate fingerprint must be this
 *   -i id	spool id, 32 hex digits (default: random)
 *   -n host	host name sent in HELLO (default "adpeer")
 *   -P version	protocol version of HELLO in the scenarios that do the
 *		whole handshake (default WIRE_VERSION; 2: an older sender)
 *   -r rate	"good": send at most RATE bytes per second
 *   -s seq	"good": sequence number of the first file (default 1)
 *   -t sec	give up waiting for any one answer after SEC s (default 10)
 *   -v		print every ACK, and what is sent
 *   -w pw	password; -W file reads it from the file's first line
 *
 * Scenarios:
 *   hello			handshake only, then BYE
 *   good FILE...		send FILEs as segments seq, seq+1, ... from
 *				the receiver's resume point, SEGEND each, wait
 *				for the final ACK
 *   ping			handshake, PING, wait for PONG
 *   wrong-password		prove with the password plus "x"
 *   unknown-host		HELLO as "adpeer-nobody-<random>"
 *   empty-auth			AUTH without a proof (certificate only)
 *   cross-proof HOST2 PW2	HELLO as -n host, proof made as HOST2 with PW2
 *   bad-version [V]		HELLO with version V (default WIRE_VERSION + 1)
 *   bad-magic			HELLO with magic "XXXX"
 *   host-slash | host-dotdot | host-dot | host-nul | host-empty |
 *   host-long | host-space	HELLO with an invalid host name
 *   wrong-offset		DATA at offset (resume size + 7)
 *   new-seq-offset		DATA for a newer seq at offset 1
 *   old-seq			DATA at offset 0 of the segment before the
 *				stored one (-i of a series with 2 segments)
 *   segend-mismatch		SEGEND with a size that is not the position
 *   oversized-frame [LEN]	header with length LEN (default 2^32-1);
 *				the payload follows only if the receiver
 *				waits for it
 *   bad-padding		a PING whose header padding is not zero
 *   unknown-type [T]		a frame of type T (default 99)
 *   trailing-bytes		a PING with one byte too many
 *   data-without-newline	DATA whose bytes do not end with '\n'
 *   empty-data			DATA with no bytes
 *   data-before-hello		DATA right after the TLS handshake
 *   data-before-auth		DATA instead of AUTH
 *   rehello HOST2		authenticated as -n host, HELLO again as
 *				HOST2, then DATA (write for another host)
 *   replayed-proof		authenticate once; on two more connections
 *				replay that proof, and a proof made with the
 *				first connection's exporter (a relay)
 *   replayed-challenge	authenticate once; on a second connection
 *				prove with the password over the first
 *				connection's challenge (nonce_r)
 *   echo-challenge		send the receiver's CHALLENGE back as AUTH
 *   wrong-password-pipelined	a wrong proof and, in the same TLS record,
 *				DATA for seq -s at offset 0
 *   double-hello [HOST2]	two HELLOs in one TLS record (the second as
 *				HOST2)
 *   auth-length N		AUTH with N bytes of proof (the right one, cut
 *				or repeated)
 *   hello-hostlen N		HELLO whose host length field says N
 *   raw-frame TYPE LEN	a frame of TYPE with LEN zero bytes, at -E
 *   data-at SEQ OFFSET	DATA at any position (seq 0 and offsets that
 *				wrap included)
 *   segend-at SEQ SIZE	SEGEND with any values
 *   truncated-frame tls|tcp [BYTES]
 *				the frame -E expects, cut after BYTES
 *				(default: in the middle of its payload), then
 *				close_notify and FIN (tls) or FIN alone (tcp);
 *				after DATA, a second connection must find the
 *				same resume point
 *   slow-frame [MS [PAUSE]]	slow loris: the frame -E expects, one byte
 *				every MS ms (default 1000) but never the last,
 *				after waiting PAUSE ms after TLS; ends when the
 *				receiver gives up
 *   stall-tcp [N]		open N TCP connections, send nothing, wait
 *				for the receiver to close them
 *   stall-tls			a partial ClientHello, then nothing
 *   stall-hello		TLS, then nothing
 *   stall-auth			HELLO, then nothing
 *   stall-data			authenticated, then half a frame header
 *   garbage [BYTES]		random bytes (after TLS, or raw with -T)
 *   http			an HTTP request (raw with -T)
 *   load N SECONDS FILE	N connections at once, as hosts HOST-1 ..
 *				HOST-N (HOST when N is 1), each shipping FILE
 *				over and over as new segments for SECONDS (at
 *				-r bytes/s each); prints each one's last ACK
 *				("cI ACK SEQ SIZE 1": its trail is FILE SEQ-1
 *				times, then SIZE bytes of it), then "LOAD n=..
 *				acked=.. MiB/s=.. ack_avg_ms=.. ack_max_ms=.."
 *
 * Every frame scenario that gets past the handshake sends, right after its
 * bad frame, a valid DATA frame holding one line with ADPEER-POISON: a
 * receiver that keeps applying frames after an error writes it somewhere.
 *
 * Exit status: 0 the receiver accepted what was asked (WELCOME, the final
 * ACK, a PONG); 20 + CODE when it sent ERROR CODE (21 protocol ... 30
 * timeout); 3 it closed without an ERROR; 4 it did not answer within -t;
 * 5 connection or TLS failure; 6 the receiver broke the protocol (bad
 * frame, bad proof, unexpected message); 1 local failure; 64 usage.
 * Only loopback addresses are accepted.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "auth.h"
#include "tlsio.h"
#include "wire.h"

#define EX_ACCEPTED	0
#define EX_LOCAL	1
#define EX_CLOSED	3
#define EX_TIMEOUT	4
#define EX_CONN		5
#define EX_BROKEN	6
#define EX_ERROR_BASE	20
#define EX_USAGE	64

#define POISON_LINE	"type=USER msg=audit(1000000000.000:1): ADPEER-POISON\n"

static struct {
	const char	*addr;
	int		 plain;
	const char	*host;
	const char	*password;
	uint8_t		 id[WIRE_ID_LEN];
	const char	*cafile, *certfile, *keyfile, *fingerprint;
	size_t		 chunk;
	uint64_t	 rate;
	uint64_t	 seq;
	unsigned	 timeout;
	int		 verbose;
	uint16_t	 version;	/* HELLO's, in handshake() */
	enum { AT_HELLO, AT_AUTH, AT_DATA } stage;
} o = {
	.host = "adpeer", .chunk = 256 * 1024, .seq = 1, .timeout = 10,
	.stage = AT_DATA, .version = WIRE_VERSION,
};

static const char *label = "";	/* "conn2 " for multi-connection scenarios */
static int quiet;		/* "load": no TLS/CHALLENGE/WELCOME lines */
static int64_t t_start;

struct conn {
	int		 fd;
	struct tlsio	*t;
	uint8_t		*rbuf;		/* header + payload of the frame read */
	size_t		 rlen;
	uint8_t		 ekm[TLSIO_EKM_LEN];
	uint8_t		 nonce_s[WIRE_NONCE_LEN], nonce_r[WIRE_NONCE_LEN];
	struct msg_welcome welcome;
	int64_t		 opened;	/* ms, when connect() began */
};

/* What conn_recv found. */
enum rres { R_FRAME, R_EOF, R_TIMEOUT, R_RESET, R_BADFRAME };

static SSL_CTX *ctx;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void __attribute__((format(printf, 1, 2)))
say(const char *fmt, ...)
{
	va_list ap;

	if (quiet && (strncmp(fmt, "TLS ", 4) == 0 ||
	    strncmp(fmt, "CHALLENGE", 9) == 0 || strncmp(fmt, "WELCOME", 7) == 0 ||
	    strncmp(fmt, "FROM", 4) == 0))
		return;
	fputs(label, stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void __attribute__((noreturn, format(printf, 2, 3)))
die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "adpeer: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void __attribute__((noreturn))
finish(int code)
{
	say("ELAPSED %" PRId64, now_ms() - t_start);
	exit(code);
}

static void
hex(const uint8_t *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
}

static int
unhex(const char *s, uint8_t *out, size_t n)
{
	size_t i;
	unsigned v;

	if (strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static void
random_bytes(void *p, size_t n)
{
	if (auth_random(p, n) == -1)
		die(EX_LOCAL, "auth_random failed");
}

/* A decimal (or 0x hex) argument up to max, or a usage error. */
static uint64_t
number(const char *s, uint64_t max, const char *what)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (s[0] == '-' || end == s || *end != '\0' || errno != 0 || v > max)
		die(EX_USAGE, "%s: %s is not a number from 0 to %" PRIu64, what,
		    s, max);
	return v;
}

/* --- connection ------------------------------------------------------- */

static int
loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return 0;
}

/* Connect (blocking, bounded) and make the socket non-blocking. */
static int
tcp_connect(void)
{
	char host[256], *port;
	struct addrinfo hints, *res, *ai;
	int fd = -1, e, one = 1;

	if (strlen(o.addr) >= sizeof(host))
		die(EX_USAGE, "address too long");
	strcpy(host, o.addr);
	if ((port = strrchr(host, ':')) == NULL)
		die(EX_USAGE, "address must be ADDR:PORT");
	*port++ = '\0';
	if (host[0] == '[' && port[-2] == ']') {
		port[-2] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0)
		die(EX_USAGE, "%s: %s", o.addr, gai_strerror(e));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (!loopback(ai->ai_addr))
			die(EX_USAGE, "%s: only loopback addresses are allowed",
			    o.addr);
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	freeaddrinfo(res);
	if (fd == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		die(EX_LOCAL, "fcntl: %s", strerror(errno));
	return fd;
}

/* 1 when fd is ready for ev, 0 at the deadline. */
static int
wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd p = { fd, ev, 0 };
	int64_t left;
	int n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 1;
		if (n == -1 && errno != EINTR)
			die(EX_LOCAL, "poll: %s", strerror(errno));
	}
}

/* "FROM 127.0.0.1:PORT": what the receiver's log calls this connection. */
static void
say_from(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char a[INET6_ADDRSTRLEN];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		say("FROM %s:%u", a, ntohs(in->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)&ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		say("FROM [%s]:%u", a, ntohs(in6->sin6_port));
	}
}

static void
conn_open(struct conn *c, int tls)
{
	char fp[TLSIO_FP_LEN];
	int64_t deadline;
	int r;

	memset(c, 0, sizeof(*c));
	if ((c->rbuf = malloc(WIRE_HDR_LEN + WIRE_MAX_PAYLOAD)) == NULL)
		die(EX_LOCAL, "out of memory");
	c->opened = now_ms();
	if ((c->fd = tcp_connect()) == -1) {
		say("RESET connect: %s", strerror(errno));
		finish(EX_CONN);
	}
	say_from(c->fd);
	if (!tls)
		return;
	if ((c->t = tlsio_new(ctx, c->fd, 0, "localhost")) == NULL)
		die(EX_LOCAL, "tlsio_new failed");
	deadline = now_ms() + o.timeout * 1000;
	while ((r = tlsio_handshake(c->t)) != 1) {
		if (r == TLSIO_WANT_READ || r == TLSIO_WANT_WRITE) {
			if (!wait_fd(c->fd, r == TLSIO_WANT_READ ? POLLIN :
			    POLLOUT, deadline)) {
				say("TIMEOUT in the TLS handshake");
				finish(EX_TIMEOUT);
			}
			continue;
		}
		say("RESET TLS handshake: %s", tlsio_error(c->t));
		finish(EX_CONN);
	}
	if (tlsio_peer_fingerprint(c->t, fp) == -1)
		strcpy(fp, "none");
	say("TLS %s %s", tlsio_version(c->t), fp);
	if (o.fingerprint != NULL && !auth_pin_equal(fp, o.fingerprint)) {
		say("BADCERT fingerprint %s is not %s", fp, o.fingerprint);
		finish(EX_BROKEN);
	}
	if (tlsio_exporter(c->t, c->ekm) == -1)
		die(EX_LOCAL, "tlsio_exporter failed");
}

static void
conn_close(struct conn *c)
{
	if (c->t != NULL) {
		tlsio_shutdown(c->t);
		tlsio_free(c->t);
	}
	if (c->fd != -1)
		close(c->fd);
	free(c->rbuf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* > 0 bytes, 0 EOF, -1 error (errno or TLS), -2 would block on ev. */
static ssize_t
conn_io(struct conn *c, int wr, void *buf, size_t len, short *ev)
{
	ssize_t n;

	if (c->t != NULL) {
		n = wr ? tlsio_write(c->t, buf, len) :
		    tlsio_read(c->t, buf, len);
		if (n == TLSIO_WANT_READ || n == TLSIO_WANT_WRITE) {
			*ev = n == TLSIO_WANT_READ ? POLLIN : POLLOUT;
			return -2;
		}
		return n < 0 ? -1 : n;
	}
	n = wr ? send(c->fd, buf, len, MSG_NOSIGNAL) : recv(c->fd, buf, len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		*ev = wr ? POLLOUT : POLLIN;
		return -2;
	}
	return n;
}

static const char *
conn_why(struct conn *c)
{
	return c->t != NULL ? tlsio_error(c->t) : strerror(errno);
}

static void send_failed(struct conn *) __attribute__((noreturn));

/* Send everything, or print how the connection broke and exit. */
static int
conn_send(struct conn *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int64_t deadline = now_ms() + o.timeout * 1000;
	short ev = 0;
	ssize_t n;

	while (len > 0) {
		n = conn_io(c, 1, (void *)(uintptr_t)p, len, &ev);
		if (n == -2) {
			if (!wait_fd(c->fd, ev, deadline)) {
				say("TIMEOUT sending (the receiver reads nothing)");
				finish(EX_TIMEOUT);
			}
			continue;
		}
		if (n <= 0)
			send_failed(c);
		p += n;
		len -= (size_t)n;
		deadline = now_ms() + o.timeout * 1000;
	}
	return 0;
}

static int
conn_send_wbuf(struct conn *c, struct wbuf *w)
{
	int r = conn_send(c, w->buf + w->off, wbuf_pending(w));

	w->len = w->off = 0;
	return r;
}

static int
conn_readable(struct conn *c)
{
	return c->t != NULL && tlsio_pending(c->t) > 0;
}

/*
 * Read one whole frame into c->rbuf (header first) until the deadline.
 * With nowait, return R_TIMEOUT at once when no byte is waiting and none
 * of a frame has been read.
 */
static enum rres
conn_recv_until(struct conn *c, int64_t deadline, int nowait, uint8_t *type,
    uint32_t *len)
{
	size_t want = WIRE_HDR_LEN;
	short ev = POLLIN;
	ssize_t n;

	c->rlen = 0;
	for (;;) {
		if (c->rlen == WIRE_HDR_LEN && want == WIRE_HDR_LEN) {
			if (c->t == NULL && (c->rbuf[0] == 0x15 ||
			    c->rbuf[0] == 0x16) && c->rbuf[1] == 0x03) {
				say("TLS-RECORD type %u: a TLS server answers "
				    "plain TCP", c->rbuf[0]);
				return R_RESET;
			}
			if (wire_parse_header(c->rbuf, type, len) == -1) {
				say("BADFRAME header %02x%02x%02x%02x %02x %02x%02x%02x",
				    c->rbuf[0], c->rbuf[1], c->rbuf[2],
				    c->rbuf[3], c->rbuf[4], c->rbuf[5],
				    c->rbuf[6], c->rbuf[7]);
				return R_BADFRAME;
			}
			want += *len;
		}
		if (c->rlen == want)
			return R_FRAME;
		n = conn_io(c, 0, c->rbuf + c->rlen, want - c->rlen, &ev);
		if (n == -2) {
			if (nowait && c->rlen == 0)
				return R_TIMEOUT;
			if (!wait_fd(c->fd, ev, deadline))
				return R_TIMEOUT;
			continue;
		}
		if (n == 0) {
			if (c->rlen > 0)
				say("BADFRAME closed after %zu bytes of a frame",
				    c->rlen);
			return c->rlen > 0 ? R_BADFRAME : R_EOF;
		}
		if (n < 0)
			return R_RESET;
		c->rlen += (size_t)n;
	}
}

static enum rres
conn_recv(struct conn *c, uint8_t *type, uint32_t *len)
{
	return conn_recv_until(c, now_ms() + o.timeout * 1000, 0, type, len);
}

/* After ERROR: the receiver must close.  Print how it ended. */
static void
after_error(struct conn *c)
{
	uint8_t type;
	uint32_t len;

	switch (conn_recv_until(c, now_ms() + 3000, 0, &type, &len)) {
	case R_EOF:
		say("EOF");
		break;
	case R_RESET:
		say("RESET %s", conn_why(c));
		break;
	case R_TIMEOUT:
		say("OPEN the receiver did not close 3 s after its ERROR");
		break;
	case R_FRAME:
		say("AFTER-ERROR %s frame", wire_type_name(type));
		break;
	case R_BADFRAME:
		break;
	}
}

/* Print an ending that is not a frame and exit accordingly. */
static void __attribute__((noreturn))
ended(struct conn *c, enum rres r, const char *waiting_for)
{
	switch (r) {
	case R_EOF:
		say("EOF waiting for %s", waiting_for);
		finish(EX_CLOSED);
	case R_TIMEOUT:
		say("TIMEOUT waiting for %s", waiting_for);
		finish(EX_TIMEOUT);
	case R_RESET:
		say("RESET waiting for %s: %s", waiting_for, conn_why(c));
		finish(EX_CONN);
	case R_BADFRAME:
	case R_FRAME:
		break;
	}
	finish(EX_BROKEN);
}

/* The frame in c->rbuf is ERROR: print it, see the close, exit. */
static void __attribute__((noreturn))
got_error(struct conn *c, uint32_t len)
{
	struct msg_error e;

	if (wire_dec_error(c->rbuf + WIRE_HDR_LEN, len, &e) == -1) {
		say("BADFRAME malformed ERROR");
		finish(EX_BROKEN);
	}
	say("ERROR %u %s", e.code, e.reason);
	after_error(c);
	finish(EX_ERROR_BASE + (e.code > 99 ? 99 : e.code));
}

/*
 * Wait for a frame of type want (answering PINGs); an ERROR or any other
 * ending is printed and exits, unless soft (then return -1 after printing).
 */
static int
expect(struct conn *c, uint8_t want, uint32_t *len, int soft)
{
	struct wbuf w;
	uint64_t token;
	uint8_t type;
	enum rres r;

	for (;;) {
		if ((r = conn_recv(c, &type, len)) != R_FRAME) {
			if (!soft)
				ended(c, r, wire_type_name(want));
			return -1;
		}
		if (type == WIRE_MSG_ERROR) {
			struct msg_error e;

			if (soft && want == WIRE_MSG_ERROR)
				return 0;
			if (!soft)
				got_error(c, *len);
			if (wire_dec_error(c->rbuf + WIRE_HDR_LEN, *len, &e) == 0)
				say("ERROR %u %s", e.code, e.reason);
			return -1;
		}
		if (type == WIRE_MSG_PING && want != WIRE_MSG_PING &&
		    wire_dec_token(c->rbuf + WIRE_HDR_LEN, *len, &token) == 0) {
			wbuf_init(&w);
			if (wire_enc_token(&w, WIRE_MSG_PONG, token) == -1 ||
			    conn_send_wbuf(c, &w) == -1)
				finish(EX_CONN);
			wbuf_free(&w);
			continue;
		}
		if (type == want)
			return 0;
		say("UNEXPECTED %s (%u) while waiting for %s",
		    wire_type_name(type), type, wire_type_name(want));
		if (!soft)
			finish(EX_BROKEN);
		return -1;
	}
}

/* A write failed: show the ERROR the receiver sent first, if any. */
static void __attribute__((noreturn))
send_failed(struct conn *c)
{
	const char *why = conn_why(c);
	uint8_t type;
	uint32_t len;

	if (conn_recv_until(c, now_ms() + 1000, 0, &type, &len) == R_FRAME &&
	    type == WIRE_MSG_ERROR)
		got_error(c, len);
	say("RESET sending: %s", why);
	finish(EX_CONN);
}

/* --- frames built by hand ---------------------------------------------- */

static void
raw_frame(struct wbuf *w, uint32_t claimed, uint8_t type, const uint8_t pad[3],
    const void *payload, size_t len)
{
	static const uint8_t zero[3];

	if (wbuf_reserve(w, WIRE_HDR_LEN + len) == -1)
		die(EX_LOCAL, "out of memory");
	wbuf_put_u32(w, claimed);
	wbuf_put_u8(w, type);
	wbuf_put_bytes(w, pad != NULL ? pad : zero, 3);
	if (len > 0)
		wbuf_put_bytes(w, payload, len);
}

/* HELLO with any magic, version and host bytes. */
static void
raw_hello(struct wbuf *w, uint32_t magic, uint16_t version, const char *host,
    size_t hostlen, const uint8_t *id, const uint8_t *nonce)
{
	struct wbuf p;

	wbuf_init(&p);
	if (wbuf_reserve(&p, 8 + hostlen + WIRE_ID_LEN + WIRE_NONCE_LEN) == -1)
		die(EX_LOCAL, "out of memory");
	wbuf_put_u32(&p, magic);
	wbuf_put_u16(&p, version);
	wbuf_put_u16(&p, (uint16_t)hostlen);
	wbuf_put_bytes(&p, host, hostlen);
	wbuf_put_bytes(&p, id, WIRE_ID_LEN);
	wbuf_put_bytes(&p, nonce, WIRE_NONCE_LEN);
	raw_frame(w, (uint32_t)p.len, WIRE_MSG_HELLO, NULL, p.buf, p.len);
	wbuf_free(&p);
}

static void
add_poison(struct wbuf *w, uint64_t seq, uint64_t offset)
{
	if (wire_enc_data(w, seq, offset, POISON_LINE,
	    sizeof(POISON_LINE) - 1) == -1)
		die(EX_LOCAL, "out of memory");
}

/* --- handshake ------------------------------------------------------------ */

/* Send HELLO (host, hostlen, version as given) and read CHALLENGE. */
static void
send_hello(struct conn *c, const char *host, size_t hostlen, uint32_t magic,
    uint16_t version)
{
	struct wbuf w;

	random_bytes(c->nonce_s, sizeof(c->nonce_s));
	wbuf_init(&w);
	raw_hello(&w, magic, version, host, hostlen, o.id, c->nonce_s);
	if (conn_send_wbuf(c, &w) == -1)
		finish(EX_CONN);
	wbuf_free(&w);
}

static void
read_challenge(struct conn *c)
{
	struct msg_challenge ch;
	uint32_t len;

	expect(c, WIRE_MSG_CHALLENGE, &len, 0);
	if (wire_dec_challenge(c->rbuf + WIRE_HDR_LEN, len, &ch) == -1) {
		say("BADFRAME malformed CHALLENGE");
		finish(EX_BROKEN);
	}
	memcpy(c->nonce_r, ch.nonce, sizeof(c->nonce_r));
	say("CHALLENGE version=%u", ch.version);
}

static void
send_auth(struct conn *c, const uint8_t *proof)
{
	struct wbuf w;

	wbuf_init(&w);
	if (wire_enc_auth(&w, proof) == -1)
		die(EX_LOCAL, "out of memory");
	if (conn_send_wbuf(c, &w) == -1)
		finish(EX_CONN);
	wbuf_free(&w);
}

static void
make_proof(struct conn *c, const char *password, const char *host,
    const uint8_t *ekm, uint8_t proof[WIRE_MAC_LEN])
{
	if (auth_proof(password, AUTH_SENDER, ekm != NULL ? ekm : c->ekm,
	    c->nonce_s, c->nonce_r, host, proof) == -1)
		die(EX_LOCAL, "auth_proof failed");
}

static void
read_welcome(struct conn *c)
{
	struct msg_welcome *wl = &c->welcome;
	char idhex[2 * WIRE_ID_LEN + 1];
	const char *proof = "none";
	uint32_t len;

	expect(c, WIRE_MSG_WELCOME, &len, 0);
	if (wire_dec_welcome(c->rbuf + WIRE_HDR_LEN, len, wl) == -1) {
		say("BADFRAME malformed WELCOME");
		finish(EX_BROKEN);
	}
	if (wl->has_proof) {
		if (o.password == NULL)
			proof = "unchecked";
		else if (auth_check(o.password, AUTH_RECEIVER, c->ekm,
		    c->nonce_s, c->nonce_r, o.host, wl->proof) == 1)
			proof = "ok";
		else
			proof = "BAD";
	} else if (o.password != NULL)
		proof = "MISSING";
	hex(wl->spool_id, WIRE_ID_LEN, idhex);
	say("WELCOME id=%s seq=%" PRIu64 " size=%" PRIu64 " complete=%u proof=%s"
	    " tail=%zu", idhex, wl->seq, wl->size, wl->complete, proof,
	    wl->tail_len);
	if (strcmp(proof, "BAD") == 0 || strcmp(proof, "MISSING") == 0)
		finish(EX_BROKEN);
}

/* The whole handshake as o.host with o.password. */
static void
handshake(struct conn *c)
{
	uint8_t proof[WIRE_MAC_LEN];

	send_hello(c, o.host, strlen(o.host), WIRE_MAGIC, o.version);
	read_challenge(c);
	if (o.password != NULL) {
		make_proof(c, o.password, o.host, NULL, proof);
		send_auth(c, proof);
	} else
		send_auth(c, NULL);
	read_welcome(c);
}

static void
bye(struct conn *c)
{
	struct wbuf w;

	wbuf_init(&w);
	if (wire_enc_bye(&w) == 0)
		(void)conn_send_wbuf(c, &w);
	wbuf_free(&w);
}

/* Where a fresh DATA of ours would be accepted, per the resume point. */
static void
next_position(const struct conn *c, uint64_t *seq, uint64_t *off)
{
	const struct msg_welcome *wl = &c->welcome;

	if (memcmp(wl->spool_id, o.id, WIRE_ID_LEN) != 0) {
		*seq = o.seq;
		*off = 0;
	} else if (wl->complete) {
		*seq = wl->seq + 1;
		*off = 0;
	} else {
		*seq = wl->seq;
		*off = wl->size;
	}
}

/* --- scenarios ----------------------------------------------------------- */

struct seg {
	const char	*path;
	uint8_t		*data;
	size_t		 len;
	uint64_t	 seq;
	uint64_t	 base;		/* bytes of all segments before */
};

static void
load_file(struct seg *s)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd;

	if ((fd = open(s->path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1)
		die(EX_LOCAL, "%s: %s", s->path, strerror(errno));
	s->len = (size_t)st.st_size;
	if ((s->data = malloc(s->len + 1)) == NULL)
		die(EX_LOCAL, "out of memory");
	while (got < s->len) {
		if ((n = read(fd, s->data + got, s->len - got)) <= 0)
			die(EX_LOCAL, "%s: short read", s->path);
		got += (size_t)n;
	}
	close(fd);
	if (s->len > 0 && s->data[s->len - 1] != '\n')
		die(EX_LOCAL, "%s: does not end with a newline", s->path);
}

/*
 * "good": ship the files as consecutive segments from the resume point,
 * pipelined within a 4 MiB window, SEGEND each, until the final ACK.
 */
static void __attribute__((noreturn))
sc_good(struct conn *c, int nfiles, char **files)
{
	const uint64_t window = 4 * 1024 * 1024;
	struct seg *segs;
	struct wbuf w;
	uint64_t total = 0, sent_g, acked_g = 0, rseq, roff, t0;
	uint64_t last_seq = 0, last_size = 0, sent_bytes = 0;
	int64_t last_progress;
	int i, cur, last_complete = 0, done = 0;
	size_t off;

	if (nfiles < 1)
		die(EX_USAGE, "good: FILE...");
	if ((segs = calloc((size_t)nfiles, sizeof(*segs))) == NULL)
		die(EX_LOCAL, "out of memory");
	for (i = 0; i < nfiles; i++) {
		segs[i].path = files[i];
		load_file(&segs[i]);
		segs[i].seq = o.seq + (uint64_t)i;
		segs[i].base = total;
		total += segs[i].len;
	}
	handshake(c);

	/* Resume. */
	next_position(c, &rseq, &roff);
	if (memcmp(c->welcome.spool_id, o.id, WIRE_ID_LEN) == 0 &&
	    c->welcome.seq > segs[nfiles - 1].seq) {
		say("AHEAD the receiver holds seq %" PRIu64 ", newer than ours",
		    c->welcome.seq);
		bye(c);
		finish(EX_BROKEN);
	}
	for (cur = 0; cur < nfiles && segs[cur].seq < rseq; cur++)
		;
	if (cur < nfiles && segs[cur].seq > rseq)
		roff = 0;
	if (cur < nfiles && roff > segs[cur].len) {
		say("AHEAD the receiver holds %" PRIu64 " bytes of seq %" PRIu64
		    ", ours has %zu", roff, segs[cur].seq, segs[cur].len);
		bye(c);
		finish(EX_BROKEN);
	}
	if (cur == nfiles) {
		say("RESUME nothing to send");
		bye(c);
		finish(EX_ACCEPTED);
	}
	off = (size_t)roff;
	say("RESUME seq=%" PRIu64 " offset=%zu", segs[cur].seq, off);
	acked_g = segs[cur].base + off;
	sent_g = acked_g;

	wbuf_init(&w);
	t0 = (uint64_t)now_ms();
	last_progress = now_ms();
	while (!done) {
		struct pollfd p;
		int64_t deadline;
		uint8_t type;
		uint32_t len;
		enum rres r;
		int paced = 0, n;

		/* Queue more while the window allows (and the rate). */
		while (cur < nfiles && wbuf_pending(&w) < 1024 * 1024 &&
		    sent_g - acked_g < window) {
			struct seg *s = &segs[cur];
			size_t len1, end;

			if (o.rate > 0 && sent_bytes * 1000 >
			    o.rate * ((uint64_t)now_ms() - t0)) {
				paced = 1;
				break;
			}
			if (off == s->len) {
				if (wire_enc_segend(&w, s->seq, s->len) == -1)
					die(EX_LOCAL, "out of memory");
				if (o.verbose)
					say("SENT SEGEND %" PRIu64 " %zu",
					    s->seq, s->len);
				cur++;
				off = 0;
				continue;
			}
			len1 = s->len - off < o.chunk ? s->len - off : o.chunk;
			end = off + len1;
			while (end > off && s->data[end - 1] != '\n')
				end--;
			if (end == off) {	/* one line longer than chunk */
				end = off + len1;
				while (end < s->len && s->data[end - 1] != '\n')
					end++;
				if (end - off > WIRE_MAX_DATA)
					die(EX_LOCAL, "%s: a line longer than "
					    "1 MiB", s->path);
			}
			if (wire_enc_data(&w, s->seq, off, s->data + off,
			    end - off) == -1)
				die(EX_LOCAL, "out of memory");
			sent_g += end - off;
			sent_bytes += end - off;
			off = end;
		}

		p.fd = c->fd;
		p.events = POLLIN | (wbuf_pending(&w) > 0 ? POLLOUT : 0);
		p.revents = 0;
		n = 1;
		if (!conn_readable(c))
			n = poll(&p, 1, paced ? 20 : 1000);
		if (n == 0 && now_ms() - last_progress > o.timeout * 1000) {
			say("TIMEOUT waiting for ACK (acked %" PRIu64 " of %"
			    PRIu64 " bytes)", acked_g, total);
			finish(EX_TIMEOUT);
		}
		if (wbuf_pending(&w) > 0 &&
		    (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
			short ev;
			ssize_t wr = conn_io(c, 1, w.buf + w.off,
			    wbuf_pending(&w), &ev);

			if (wr == -1 || wr == 0)
				send_failed(c);
			if (wr > 0) {
				last_progress = now_ms();
				w.off += (size_t)wr;
				if (w.off == w.len)
					w.off = w.len = 0;
				else if (w.off > 4 * 1024 * 1024)
					wbuf_compact(&w);
			}
		}
		/* Drain what is readable. */
		deadline = now_ms() + o.timeout * 1000;
		while ((r = conn_recv_until(c, deadline, 1, &type, &len)) ==
		    R_FRAME) {
			struct wire_pos a;
			uint64_t token;

			if (type == WIRE_MSG_ERROR)
				got_error(c, len);
			if (type == WIRE_MSG_PING && wire_dec_token(c->rbuf +
			    WIRE_HDR_LEN, len, &token) == 0) {
				/* Behind what is queued: never inside a frame. */
				if (wire_enc_token(&w, WIRE_MSG_PONG, token) == -1)
					die(EX_LOCAL, "out of memory");
				continue;
			}
			if (type != WIRE_MSG_ACK ||
			    wire_dec_pos(c->rbuf + WIRE_HDR_LEN, len, 1,
			    &a) == -1) {
				say("UNEXPECTED %s (%u) while sending",
				    wire_type_name(type), type);
				finish(EX_BROKEN);
			}
			for (i = 0; i < nfiles && segs[i].seq != a.seq; i++)
				;
			if (i == nfiles || a.size > segs[i].len ||
			    segs[i].base + a.size < acked_g ||
			    segs[i].base + a.size > sent_g) {
				say("BADACK %" PRIu64 " %" PRIu64 " %u "
				    "(acked %" PRIu64 ", sent %" PRIu64 ")",
				    a.seq, a.size, a.complete, acked_g, sent_g);
				finish(EX_BROKEN);
			}
			acked_g = segs[i].base + a.size;
			last_progress = now_ms();
			last_seq = a.seq;
			last_size = a.size;
			last_complete = a.complete;
			if (o.verbose)
				say("ACK %" PRIu64 " %" PRIu64 " %u", a.seq,
				    a.size, a.complete);
			if (i == nfiles - 1 && a.size == segs[i].len &&
			    a.complete)
				done = 1;
		}
		if (r == R_EOF || r == R_RESET || r == R_BADFRAME)
			ended(c, r, "ACK");
	}
	if (!o.verbose)
		say("ACK %" PRIu64 " %" PRIu64 " %u", last_seq, last_size,
		    last_complete);
	bye(c);
	wbuf_free(&w);
	finish(EX_ACCEPTED);
}

/* Read what is waiting (without blocking) and answer PINGs. */
static void
answer_pings(struct conn *c)
{
	struct wbuf pw;
	uint64_t token;
	uint8_t type;
	uint32_t len;
	enum rres r;

	while ((r = conn_recv_until(c, now_ms() + o.timeout * 1000, 1, &type,
	    &len)) == R_FRAME) {
		if (type == WIRE_MSG_ERROR)
			got_error(c, len);
		if (type != WIRE_MSG_PING || wire_dec_token(c->rbuf + WIRE_HDR_LEN,
		    len, &token) == -1) {
			say("UNEXPECTED %s (%u) before any DATA",
			    wire_type_name(type), type);
			finish(EX_BROKEN);
		}
		wbuf_init(&pw);
		if (wire_enc_token(&pw, WIRE_MSG_PONG, token) == -1 ||
		    conn_send_wbuf(c, &pw) == -1)
			finish(EX_CONN);
		wbuf_free(&pw);
	}
	if (r != R_TIMEOUT)
		ended(c, r, "PING");
}

/*
 * "load N SECONDS FILE": N connections from this one process, as hosts
 * NAME-1 .. NAME-N (NAME alone when N is 1), each shipping FILE again and
 * again as consecutive segments of a new series for SECONDS (at -r bytes
 * per second each, if given), then waiting for its last ACK.  The
 * handshakes are done one after the other; the shipping is one poll loop.
 */
struct lconn {
	struct conn	 c;
	struct wbuf	 out;
	uint64_t	 seq, off;		/* next to queue */
	uint64_t	 sent, acked;		/* bytes */
	uint64_t	 aseq, asize;		/* last ACK */
	int		 acomplete;
	int		 stopping, done;
	int64_t		 segend_at;		/* ms, of the oldest unacked */
	uint64_t	 segends, acks;
};

static void __attribute__((noreturn))
sc_load(int n, unsigned seconds, const char *path)
{
	const uint64_t window = 4 * 1024 * 1024;
	struct seg file = { .path = path };
	struct lconn *lc;
	struct pollfd *p;
	char name[WIRE_MAX_HOST + 1], lab[32];
	const char *base = o.host;
	int64_t t0, tend, lat_max = 0, lat_sum = 0, lat_n = 0;
	uint64_t total = 0, segs = 0;
	int i, k, left;

	if (n < 1 || n > 4096 || seconds < 1)
		die(EX_USAGE, "load N SECONDS FILE: 1 <= N <= 4096");
	load_file(&file);
	if (file.len == 0)
		die(EX_USAGE, "%s is empty", path);
	if ((lc = calloc((size_t)n, sizeof(*lc))) == NULL ||
	    (p = calloc((size_t)n, sizeof(*p))) == NULL)
		die(EX_LOCAL, "out of memory");
	for (i = 0; i < n; i++) {
		if (n > 1) {
			snprintf(name, sizeof(name), "%s-%d", base, i + 1);
			o.host = strdup(name);
			snprintf(lab, sizeof(lab), "c%d ", i + 1);
			label = lab;
		}
		random_bytes(o.id, sizeof(o.id));
		quiet = !o.verbose;
		conn_open(&lc[i].c, !o.plain);
		handshake(&lc[i].c);
		quiet = 0;
		wbuf_init(&lc[i].out);
		lc[i].seq = 1;
		/* Setting up many takes a while: answer PINGs meanwhile. */
		for (k = 0; k < i; k++)
			answer_pings(&lc[k].c);
	}
	label = "";
	say("LOAD %d connections up, shipping for %u s", n, seconds);
	t0 = now_ms();
	tend = t0 + (int64_t)seconds * 1000;
	for (left = n; left > 0;) {
		int64_t now = now_ms();

		for (i = 0; i < n; i++) {
			struct lconn *l = &lc[i];

			p[i].fd = -1;
			if (l->done)
				continue;
			if (now >= tend && !l->stopping) {
				l->stopping = 1;
				/* Close the segment in progress. */
				if (l->off > 0) {
					if (wire_enc_segend(&l->out, l->seq,
					    l->off) == -1)
						die(EX_LOCAL, "out of memory");
					if (l->segend_at == 0)
						l->segend_at = now;
					l->segends++;
				} else if (--l->seq == 0) {
					l->done = 1;	/* nothing sent */
					left--;
					continue;
				}
			}
			while (!l->stopping && wbuf_pending(&l->out) < 1024 * 1024 &&
			    l->sent - l->acked < window) {
				size_t len1, end;

				if (o.rate > 0 && l->sent * 1000 >
				    o.rate * (uint64_t)(now - t0))
					break;
				len1 = file.len - l->off < o.chunk ?
				    file.len - l->off : o.chunk;
				end = l->off + len1;
				while (end > l->off && file.data[end - 1] != '\n')
					end--;
				if (end == l->off)
					end = l->off + len1;
				if (wire_enc_data(&l->out, l->seq, l->off,
				    file.data + l->off, end - l->off) == -1)
					die(EX_LOCAL, "out of memory");
				l->sent += end - l->off;
				l->off = end;
				if (l->off == file.len) {
					if (wire_enc_segend(&l->out, l->seq,
					    file.len) == -1)
						die(EX_LOCAL, "out of memory");
					if (l->segend_at == 0)
						l->segend_at = now;
					l->segends++;
					l->seq++;
					l->off = 0;
				}
			}
			p[i].fd = l->c.fd;
			p[i].events = POLLIN |
			    (wbuf_pending(&l->out) > 0 ? POLLOUT : 0);
			p[i].revents = 0;
		}
		if (poll(p, (nfds_t)n, 20) == -1 && errno != EINTR)
			die(EX_LOCAL, "poll: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			struct lconn *l = &lc[i];
			uint8_t type;
			uint32_t len;
			enum rres r;

			if (l->done || p[i].fd == -1)
				continue;
			if (n > 1) {
				snprintf(lab, sizeof(lab), "c%d ", i + 1);
				label = lab;
			}
			if (wbuf_pending(&l->out) > 0 &&
			    (p[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
				short ev;
				ssize_t wr = conn_io(&l->c, 1, l->out.buf +
				    l->out.off, wbuf_pending(&l->out), &ev);

				if (wr == -1 || wr == 0)
					send_failed(&l->c);
				if (wr > 0) {
					l->out.off += (size_t)wr;
					if (l->out.off == l->out.len)
						l->out.off = l->out.len = 0;
					else if (l->out.off > 4 * 1024 * 1024)
						wbuf_compact(&l->out);
				}
			}
			if (!(p[i].revents & (POLLIN | POLLERR | POLLHUP)) &&
			    !conn_readable(&l->c)) {
				label = "";
				continue;
			}
			while ((r = conn_recv_until(&l->c, now_ms() +
			    o.timeout * 1000, 1, &type, &len)) == R_FRAME) {
				struct wire_pos a;
				uint64_t token;

				if (type == WIRE_MSG_ERROR)
					got_error(&l->c, len);
				if (type == WIRE_MSG_PING && wire_dec_token(l->c.rbuf +
				    WIRE_HDR_LEN, len, &token) == 0) {
					/* Queued: never inside a frame. */
					if (wire_enc_token(&l->out, WIRE_MSG_PONG,
					    token) == -1)
						die(EX_LOCAL, "out of memory");
					continue;
				}
				if (type != WIRE_MSG_ACK || wire_dec_pos(l->c.rbuf +
				    WIRE_HDR_LEN, len, 1, &a) == -1) {
					say("UNEXPECTED %s (%u)",
					    wire_type_name(type), type);
					finish(EX_BROKEN);
				}
				l->acks++;
				l->acked = (a.seq - 1) * file.len + a.size;
				l->aseq = a.seq;
				l->asize = a.size;
				l->acomplete = a.complete;
				if (a.complete && l->segend_at > 0) {
					int64_t lat = now_ms() - l->segend_at;

					lat_sum += lat;
					lat_n++;
					if (lat > lat_max)
						lat_max = lat;
					l->segend_at = 0;
				}
				if (l->stopping && a.complete &&
				    a.seq == l->seq) {
					l->done = 1;
					left--;
					say("ACK %" PRIu64 " %" PRIu64 " %u",
					    a.seq, a.size, a.complete);
					bye(&l->c);
					break;
				}
			}
			if (r == R_EOF || r == R_RESET || r == R_BADFRAME)
				ended(&l->c, r, "ACK");
			label = "";
		}
		if (now_ms() > tend + (int64_t)o.timeout * 1000) {
			say("TIMEOUT %d of %d connections still waiting for "
			    "their last ACK", left, n);
			for (i = 0; i < n; i++)
				if (!lc[i].done)
					say("c%d: last seq %" PRIu64 ", sent %"
					    PRIu64 " bytes, %zu queued, acked %"
					    PRIu64 " (ACK %" PRIu64 " %" PRIu64
					    " %d, %" PRIu64 " ACKs)", i + 1,
					    lc[i].seq, lc[i].sent,
					    wbuf_pending(&lc[i].out), lc[i].acked,
					    lc[i].aseq, lc[i].asize,
					    lc[i].acomplete, lc[i].acks);
			finish(EX_TIMEOUT);
		}
	}
	for (i = 0; i < n; i++) {
		total += lc[i].acked;
		segs += lc[i].aseq;
	}
	{
		int64_t ms = now_ms() - t0;

		say("LOAD n=%d acked=%" PRIu64 " segments=%" PRIu64
		    " ms=%" PRId64 " MiB/s=%.1f ack_avg_ms=%" PRId64
		    " ack_max_ms=%" PRId64, n, total, segs, ms,
		    (double)total / 1048576.0 / ((double)ms / 1000.0),
		    lat_n ? lat_sum / lat_n : 0, lat_max);
	}
	finish(EX_ACCEPTED);
}

/* A frame-level attack at the stage chosen with -E, then poison. */
static void __attribute__((noreturn))
bad_frame(struct conn *c, struct wbuf *bad, int poison_ok)
{
	uint64_t seq, off;

	if (o.stage == AT_AUTH) {
		send_hello(c, o.host, strlen(o.host), WIRE_MAGIC, WIRE_VERSION);
		read_challenge(c);
	} else if (o.stage == AT_DATA) {
		handshake(c);
		next_position(c, &seq, &off);
		if (poison_ok)
			add_poison(bad, seq, off);
	}
	if (conn_send_wbuf(c, bad) == -1)
		finish(EX_CONN);
	expect(c, WIRE_MSG_ERROR, &(uint32_t){ 0 }, 0);
	finish(EX_BROKEN);	/* not reached: expect exits on ERROR */
}

static void __attribute__((noreturn))
sc_oversized(struct conn *c, uint32_t claimed)
{
	struct wbuf w;
	uint8_t *junk;
	uint32_t len;
	size_t n;

	if (o.stage == AT_AUTH) {
		send_hello(c, o.host, strlen(o.host), WIRE_MAGIC, WIRE_VERSION);
		read_challenge(c);
	} else if (o.stage == AT_DATA)
		handshake(c);
	wbuf_init(&w);
	raw_frame(&w, claimed, o.stage == AT_DATA ? WIRE_MSG_DATA :
	    o.stage == AT_AUTH ? WIRE_MSG_AUTH : WIRE_MSG_HELLO, NULL, NULL, 0);
	if (conn_send_wbuf(c, &w) == -1)
		finish(EX_CONN);
	/* A receiver that checks the header answers now. */
	o.timeout = o.timeout > 3 ? 3 : o.timeout;
	if (expect(c, WIRE_MSG_ERROR, &len, 1) == 0)
		got_error(c, len);
	if (c->rlen > 0)	/* it ended in some other way: printed */
		finish(EX_BROKEN);
	say("WAITING the receiver is reading the payload: sending it");
	n = claimed > 2 * WIRE_MAX_PAYLOAD ? 2 * WIRE_MAX_PAYLOAD : claimed;
	if ((junk = calloc(1, n)) == NULL)
		die(EX_LOCAL, "out of memory");
	memset(junk, '\n', n);
	if (conn_send(c, junk, n) == -1)
		finish(EX_CONN);
	expect(c, WIRE_MSG_ERROR, &len, 0);
	finish(EX_BROKEN);
}

static void __attribute__((noreturn))
sc_bad_host(struct conn *c, const char *name)
{
	char buf[WIRE_MAX_HOST + 2];
	const char *host = buf;
	size_t len;

	if (strcmp(name, "slash") == 0)
		host = "../adpeer-escape";
	else if (strcmp(name, "dotdot") == 0)
		host = "..";
	else if (strcmp(name, "dot") == 0)
		host = ".";
	else if (strcmp(name, "empty") == 0)
		host = "";
	else if (strcmp(name, "space") == 0)
		host = "adpeer escape";
	else if (strcmp(name, "nul") == 0) {
		/* The configured name, then NUL and more: a C string would stop. */
		len = strlen(o.host);
		if (len + 8 > sizeof(buf))
			die(EX_USAGE, "host name too long");
		memcpy(buf, o.host, len);
		memcpy(buf + len, "\0/../x", 7);
		send_hello(c, buf, len + 6, WIRE_MAGIC, WIRE_VERSION);
		goto answer;
	} else if (strcmp(name, "long") == 0) {
		memset(buf, 'a', WIRE_MAX_HOST + 1);
		buf[WIRE_MAX_HOST + 1] = '\0';
	} else
		die(EX_USAGE, "unknown host-%s", name);
	send_hello(c, host, strlen(host), WIRE_MAGIC, WIRE_VERSION);
answer:
	/* Refused at HELLO, or (like an unknown host) after AUTH. */
	read_challenge(c);
	if (o.password != NULL) {
		uint8_t proof[WIRE_MAC_LEN];

		make_proof(c, o.password, host, NULL, proof);
		send_auth(c, proof);
	} else
		send_auth(c, NULL);
	read_welcome(c);
	bye(c);
	finish(EX_ACCEPTED);
}

static void __attribute__((noreturn))
sc_rehello(struct conn *c, const char *host2)
{
	struct wbuf w;
	uint8_t nonce[WIRE_NONCE_LEN];
	uint32_t len;

	handshake(c);
	random_bytes(nonce, sizeof(nonce));
	wbuf_init(&w);
	raw_hello(&w, WIRE_MAGIC, WIRE_VERSION, host2, strlen(host2), o.id,
	    nonce);
	/* Poison as a new series' first DATA: what host2 would accept. */
	add_poison(&w, 1, 0);
	if (conn_send_wbuf(c, &w) == -1)
		finish(EX_CONN);
	expect(c, WIRE_MSG_ERROR, &len, 0);
	finish(EX_BROKEN);
}

/*
 * A proof is worth nothing on another connection: connection 1
 * authenticates; connection 2 replays its proof; connection 3 sends a
 * proof made with the password but with connection 1's exporter (what a
 * relay in the middle would get out of a real sender).
 */
static void __attribute__((noreturn))
sc_replayed_proof(void)
{
	struct conn c1, c2;
	uint8_t proof1[WIRE_MAC_LEN], proof[WIRE_MAC_LEN], ekm1[TLSIO_EKM_LEN];
	uint8_t nonce_s[WIRE_NONCE_LEN];
	int round, accepted = 0, last = EX_ACCEPTED;
	uint32_t len;

	if (o.password == NULL)
		die(EX_USAGE, "replayed-proof needs -w");
	label = "conn1 ";
	conn_open(&c1, !o.plain);
	send_hello(&c1, o.host, strlen(o.host), WIRE_MAGIC, WIRE_VERSION);
	read_challenge(&c1);
	make_proof(&c1, o.password, o.host, NULL, proof1);
	send_auth(&c1, proof1);
	read_welcome(&c1);
	memcpy(ekm1, c1.ekm, sizeof(ekm1));
	memcpy(nonce_s, c1.nonce_s, sizeof(nonce_s));
	bye(&c1);
	conn_close(&c1);

	for (round = 2; round <= 3; round++) {
		struct wbuf w;
		struct msg_error e;

		label = round == 2 ? "conn2 " : "conn3 ";
		conn_open(&c2, !o.plain);
		memcpy(c2.nonce_s, nonce_s, sizeof(nonce_s));
		wbuf_init(&w);
		raw_hello(&w, WIRE_MAGIC, WIRE_VERSION, o.host, strlen(o.host),
		    o.id, nonce_s);
		if (conn_send_wbuf(&c2, &w) == -1)
			finish(EX_CONN);
		wbuf_free(&w);
		read_challenge(&c2);
		if (round == 2)
			memcpy(proof, proof1, sizeof(proof));
		else
			make_proof(&c2, o.password, o.host, ekm1, proof);
		send_auth(&c2, proof);
		if (expect(&c2, WIRE_MSG_WELCOME, &len, 1) == 0) {
			say("WELCOME accepted a %s proof",
			    round == 2 ? "replayed" : "relayed");
			accepted = 1;
		} else if (c2.rlen > WIRE_HDR_LEN && c2.rbuf[4] == WIRE_MSG_ERROR &&
		    wire_dec_error(c2.rbuf + WIRE_HDR_LEN, len, &e) == 0) {
			after_error(&c2);
			last = EX_ERROR_BASE + e.code;
		} else
			last = EX_CLOSED;
		conn_close(&c2);
	}
	label = "";
	finish(accepted ? EX_ACCEPTED : last);
}

static void __attribute__((noreturn))
sc_stall_tcp(int n)
{
	int *fds, i, open_n, closed = 0;
	int64_t deadline, last = 0, t0 = now_ms();
	char b[256];

	if ((fds = calloc((size_t)n, sizeof(*fds))) == NULL)
		die(EX_LOCAL, "out of memory");
	for (i = 0; i < n; i++)
		if ((fds[i] = tcp_connect()) == -1) {
			say("RESET connect %d: %s", i + 1, strerror(errno));
			finish(EX_CONN);
		}
	say("OPENED %d", n);
	deadline = t0 + o.timeout * 1000;
	open_n = n;
	while (open_n > 0 && now_ms() < deadline) {
		struct pollfd *p = calloc((size_t)n, sizeof(*p));

		for (i = 0; i < n; i++) {
			p[i].fd = fds[i];
			p[i].events = POLLIN;
		}
		if (poll(p, (nfds_t)n, 100) > 0) {
			for (i = 0; i < n; i++) {
				ssize_t r;

				if (fds[i] == -1 || !(p[i].revents &
				    (POLLIN | POLLHUP | POLLERR)))
					continue;
				r = recv(fds[i], b, sizeof(b), 0);
				if (r > 0)
					continue;	/* TLS alert or ERROR */
				if (r == -1 && errno == EAGAIN)
					continue;
				close(fds[i]);
				fds[i] = -1;
				open_n--;
				closed++;
				last = now_ms() - t0;
			}
		}
		free(p);
	}
	say("CLOSED %d/%d after %" PRId64 " ms", closed, n, last);
	for (i = 0; i < n; i++)
		if (fds[i] != -1)
			close(fds[i]);
	finish(open_n == 0 ? EX_CLOSED : EX_TIMEOUT);
}

/*
 * Without TLS: read whatever comes (a TLS alert, say) until the receiver
 * closes; print how and exit.
 */
static void __attribute__((noreturn))
raw_wait_close(struct conn *c, int64_t t0)
{
	char b[4096];
	ssize_t got, tot = 0;
	int64_t deadline = now_ms() + o.timeout * 1000;
	int alert = 0;

	for (;;) {
		if (!wait_fd(c->fd, POLLIN, deadline)) {
			say("TIMEOUT the receiver kept the connection");
			finish(EX_TIMEOUT);
		}
		got = recv(c->fd, b, sizeof(b), 0);
		if (got > 0) {
			if (tot == 0 && (uint8_t)b[0] == 0x15)
				alert = 1;
			tot += got;
			continue;
		}
		if (got == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		say("%s after %zd bytes of answer%s", got == 0 ? "EOF" : "RESET",
		    tot, alert ? " (a TLS alert)" : "");
		say("CLOSED 1/1 after %" PRId64 " ms", now_ms() - t0);
		finish(got == 0 ? EX_CLOSED : EX_CONN);
	}
}

/* Send bytes (maybe none), then wait for the receiver to give up on us. */
static void __attribute__((noreturn))
stall(struct conn *c, const void *bytes, size_t len)
{
	int64_t t0 = now_ms();
	uint32_t flen;
	uint8_t type;
	enum rres r;

	if (len > 0 && conn_send(c, bytes, len) == -1)
		finish(EX_CONN);
	if (c->t == NULL)
		raw_wait_close(c, t0);
	for (;;) {
		r = conn_recv(c, &type, &flen);
		if (r == R_FRAME && type == WIRE_MSG_PING)
			continue;	/* not answered: we are stalled */
		if (r == R_FRAME && type == WIRE_MSG_ERROR)
			got_error(c, flen);
		break;
	}
	if (r == R_EOF)
		say("CLOSED 1/1 after %" PRId64 " ms", now_ms() - t0);
	ended(c, r, "the receiver to give up");
}

static void __attribute__((noreturn))
sc_garbage(struct conn *c, size_t n, int http)
{
	static const char req[] = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n";
	int64_t t0 = now_ms();
	uint8_t *junk;
	uint32_t len;
	uint8_t type;
	enum rres r;

	if (http) {
		junk = (uint8_t *)strdup(req);
		n = sizeof(req) - 1;
	} else {
		if ((junk = malloc(n)) == NULL)
			die(EX_LOCAL, "out of memory");
		random_bytes(junk, n);
		junk[4] = 0x63;		/* no valid type: never a frame */
	}
	if (conn_send(c, junk, n) == -1)
		finish(EX_CONN);
	if (c->t == NULL)	/* a TLS server answers with an alert, or closes */
		raw_wait_close(c, t0);
	r = conn_recv(c, &type, &len);
	if (r == R_FRAME && type == WIRE_MSG_ERROR)
		got_error(c, len);
	if (r == R_FRAME) {
		say("UNEXPECTED %s", wire_type_name(type));
		finish(EX_BROKEN);
	}
	ended(c, r, "ERROR");
}

/* The frame the -E stage expects, whole; the handshake before it done. */
static const char *
stage_frame(struct conn *c, struct wbuf *w)
{
	uint8_t proof[WIRE_MAC_LEN];
	uint64_t seq, off;
	int i;

	switch (o.stage) {
	case AT_HELLO:
		random_bytes(c->nonce_s, sizeof(c->nonce_s));
		raw_hello(w, WIRE_MAGIC, WIRE_VERSION, o.host, strlen(o.host),
		    o.id, c->nonce_s);
		return "HELLO";
	case AT_AUTH:
		send_hello(c, o.host, strlen(o.host), WIRE_MAGIC, WIRE_VERSION);
		read_challenge(c);
		if (o.password == NULL)
			die(EX_USAGE, "-E auth needs -w");
		make_proof(c, o.password, o.host, NULL, proof);
		if (wire_enc_auth(w, proof) == -1)
			die(EX_LOCAL, "out of memory");
		return "AUTH";
	case AT_DATA:
		break;
	}
	handshake(c);
	next_position(c, &seq, &off);
	/* Lines a receiver would store if it took the frame. */
	if (wire_enc_data_hdr(w, seq, off, 4 * (sizeof(POISON_LINE) - 1)) == -1 ||
	    wbuf_reserve(w, 4 * (sizeof(POISON_LINE) - 1)) == -1)
		die(EX_LOCAL, "out of memory");
	for (i = 0; i < 4; i++)
		wbuf_put_bytes(w, POISON_LINE, sizeof(POISON_LINE) - 1);
	return "DATA";
}

/*
 * A frame cut short (after cut bytes; default: in the middle of its
 * payload), then the end of our side: a TLS close_notify and a FIN
 * ("tls"), or a FIN alone ("tcp").  The receiver must store nothing of it:
 * after a DATA frame, a second connection must find the same resume point.
 */
static void __attribute__((noreturn))
sc_truncated(struct conn *c, const char *how, const char *cutarg)
{
	struct msg_welcome before;
	struct conn c2;
	struct wbuf w;
	const char *what;
	uint8_t type;
	uint32_t len;
	size_t cut;
	enum rres r;
	int tls = strcmp(how, "tls") == 0, rc = EX_BROKEN;

	if (!tls && strcmp(how, "tcp") != 0)
		die(EX_USAGE, "truncated-frame tls|tcp [BYTES]");
	wbuf_init(&w);
	what = stage_frame(c, &w);
	cut = cutarg != NULL ? (size_t)number(cutarg, w.len - 1,
	    "truncated-frame BYTES") : WIRE_HDR_LEN + (w.len - WIRE_HDR_LEN) / 2;
	if (cut == 0)
		die(EX_USAGE, "truncated-frame: send at least one byte");
	if (conn_send(c, w.buf, cut) == -1)
		finish(EX_CONN);
	if (tls && c->t != NULL)
		tlsio_shutdown(c->t);
	if (shutdown(c->fd, SHUT_WR) == -1)
		die(EX_LOCAL, "shutdown: %s", strerror(errno));
	say("SENT %zu of the %zu bytes of the %s frame, then %s", cut, w.len,
	    what, tls ? "a TLS close_notify and a FIN" : "a FIN (no TLS close)");
	wbuf_free(&w);
	r = conn_recv(c, &type, &len);
	if (r == R_FRAME && type == WIRE_MSG_ERROR) {
		struct msg_error e;

		if (wire_dec_error(c->rbuf + WIRE_HDR_LEN, len, &e) == -1) {
			say("BADFRAME malformed ERROR");
			finish(EX_BROKEN);
		}
		say("ERROR %u %s", e.code, e.reason);
		rc = EX_ERROR_BASE + (e.code > 99 ? 99 : e.code);
	} else if (r == R_FRAME) {
		say("UNEXPECTED %s: the receiver answered a partial frame",
		    wire_type_name(type));
		finish(EX_BROKEN);
	} else if (r == R_EOF) {
		say("EOF");
		rc = EX_CLOSED;
	} else
		ended(c, r, "the receiver to close");
	if (o.stage != AT_DATA)
		finish(rc);

	/* Whatever was stored of the cut frame shows in the resume point. */
	before = c->welcome;
	conn_close(c);
	label = "conn2 ";
	conn_open(&c2, !o.plain);
	handshake(&c2);
	bye(&c2);
	label = "";
	if (memcmp(before.spool_id, c2.welcome.spool_id, WIRE_ID_LEN) != 0 ||
	    before.seq != c2.welcome.seq || before.size != c2.welcome.size ||
	    before.complete != c2.welcome.complete) {
		say("MOVED the resume point went from seq %" PRIu64 " size %"
		    PRIu64 " complete %u to seq %" PRIu64 " size %" PRIu64
		    " complete %u", before.seq, before.size, before.complete,
		    c2.welcome.seq, c2.welcome.size, c2.welcome.complete);
		finish(EX_BROKEN);
	}
	say("SAME resume point on the next connection: seq %" PRIu64 " size %"
	    PRIu64 " complete %u", before.seq, before.size, before.complete);
	finish(rc);
}

/*
 * Slow loris: the frame the -E stage expects, one byte every ms, never
 * its last byte, reading what comes meanwhile (PINGs stay unanswered: we
 * are inside a frame).  The receiver must give up at its deadline, which
 * whole frames alone move.  With pause_ms, wait that long after the TLS
 * handshake, before anything else.
 */
static void __attribute__((noreturn))
sc_trickle(struct conn *c, unsigned every_ms, unsigned pause_ms)
{
	struct wbuf w;
	size_t sent = 0;
	int64_t next, end;
	unsigned pings = 0;
	uint8_t type;
	uint32_t len;
	enum rres r;

	if (pause_ms > 0)
		poll(NULL, 0, (int)pause_ms);
	wbuf_init(&w);
	(void)stage_frame(c, &w);
	next = now_ms();
	end = next + o.timeout * 1000;
	for (;;) {
		int64_t now = now_ms(), wake;

		if (now >= end) {
			say("TRICKLED %zu of %zu bytes; TIMEOUT the receiver "
			    "kept the connection %" PRId64 " ms", sent, w.len,
			    now - c->opened);
			finish(EX_TIMEOUT);
		}
		if (sent + 1 < w.len && now >= next) {
			if (conn_send(c, w.buf + sent, 1) == -1)
				finish(EX_CONN);
			sent++;
			next = now + every_ms;
			continue;
		}
		wake = sent + 1 < w.len && next < end ? next : end;
		if (!conn_readable(c) && !wait_fd(c->fd, POLLIN, wake))
			continue;
		r = conn_recv_until(c, now_ms() + 1000, 1, &type, &len);
		if (r == R_TIMEOUT)
			continue;	/* TLS records without data */
		if (r == R_FRAME && type == WIRE_MSG_PING) {
			pings++;
			continue;
		}
		break;
	}
	say("TRICKLED %zu of %zu bytes (%u PINGs unanswered); closed %" PRId64
	    " ms after connecting", sent, w.len, pings, now_ms() - c->opened);
	if (r == R_FRAME && type == WIRE_MSG_ERROR)
		got_error(c, len);
	if (r == R_FRAME) {
		say("UNEXPECTED %s", wire_type_name(type));
		finish(EX_BROKEN);
	}
	ended(c, r, "the receiver to give up");
}

/*
 * A proof for an old challenge: connection 1 authenticates; connection 2
 * proves with the password and its own TLS exporter, but over connection
 * 1's nonce_r instead of the one it was just given.
 */
static void __attribute__((noreturn))
sc_replayed_challenge(void)
{
	struct conn c1, c2;
	uint8_t proof[WIRE_MAC_LEN], nonce_r1[WIRE_NONCE_LEN];
	uint32_t len;

	if (o.password == NULL)
		die(EX_USAGE, "replayed-challenge needs -w");
	label = "conn1 ";
	conn_open(&c1, !o.plain);
	handshake(&c1);
	memcpy(nonce_r1, c1.nonce_r, sizeof(nonce_r1));
	bye(&c1);
	conn_close(&c1);

	label = "conn2 ";
	conn_open(&c2, !o.plain);
	send_hello(&c2, o.host, strlen(o.host), WIRE_MAGIC, WIRE_VERSION);
	read_challenge(&c2);
	if (memcmp(c2.nonce_r, nonce_r1, sizeof(nonce_r1)) == 0) {
		say("REPEATED the receiver sent the same challenge twice");
		finish(EX_BROKEN);
	}
	memcpy(c2.nonce_r, nonce_r1, sizeof(nonce_r1));
	make_proof(&c2, o.password, o.host, NULL, proof);
	send_auth(&c2, proof);
	if (expect(&c2, WIRE_MSG_WELCOME, &len, 0) == 0)
		say("WELCOME accepted a proof for an old challenge");
	finish(EX_ACCEPTED);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: adpeer [-Tv] [-a cafile] [-b chunk] "
	    "[-c certfile -k keyfile] [-E hello|auth|data]\n"
	    "\t[-f fingerprint] [-i spoolid] [-n host] [-P version] [-r rate] "
	    "[-s seq] "
	    "[-t sec]\n\t[-w password | -W file] addr:port scenario [arg ...]\n");
	exit(EX_USAGE);
}

static char *
read_password(const char *path)
{
	char buf[4096];
	FILE *f;

	if ((f = fopen(path, "r")) == NULL || fgets(buf, sizeof(buf), f) == NULL)
		die(EX_USAGE, "%s: cannot read a password", path);
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	return strdup(buf);
}

int
main(int argc, char *argv[])
{
	char err[512], *sc;
	struct conn c;
	struct wbuf w;
	int ch, tls, have_id = 0;
	uint64_t seq, off;

	while ((ch = getopt(argc, argv, "+Ta:b:c:E:f:i:k:n:P:r:s:t:vw:W:")) != -1) {
		switch (ch) {
		case 'T':
			o.plain = 1;
			break;
		case 'a':
			o.cafile = optarg;
			break;
		case 'b':
			o.chunk = strtoul(optarg, NULL, 10);
			if (o.chunk < 1 || o.chunk > WIRE_MAX_DATA)
				usage();
			break;
		case 'c':
			o.certfile = optarg;
			break;
		case 'E':
			if (strcmp(optarg, "hello") == 0)
				o.stage = AT_HELLO;
			else if (strcmp(optarg, "auth") == 0)
				o.stage = AT_AUTH;
			else if (strcmp(optarg, "data") == 0)
				o.stage = AT_DATA;
			else
				usage();
			break;
		case 'f':
			o.fingerprint = optarg;
			break;
		case 'i':
			if (unhex(optarg, o.id, WIRE_ID_LEN) == -1)
				die(EX_USAGE, "-i: 32 hex digits");
			have_id = 1;
			break;
		case 'k':
			o.keyfile = optarg;
			break;
		case 'n':
			o.host = optarg;
			break;
		case 'P':
			o.version = (uint16_t)number(optarg, UINT16_MAX, "-P");
			break;
		case 'r':
			o.rate = strtoull(optarg, NULL, 10);
			break;
		case 's':
			o.seq = strtoull(optarg, NULL, 10);
			break;
		case 't':
			o.timeout = (unsigned)strtoul(optarg, NULL, 10);
			if (o.timeout < 1)
				usage();
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'w':
			o.password = optarg;
			break;
		case 'W':
			o.password = read_password(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		usage();
	o.addr = argv[0];
	sc = argv[1];
	argc -= 2;
	argv += 2;
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	t_start = now_ms();
	if (!have_id)
		random_bytes(o.id, sizeof(o.id));
	tls = !o.plain;
	if (tls && (ctx = tlsio_client_ctx(o.cafile, o.certfile, o.keyfile,
	    err, sizeof(err))) == NULL)
		die(EX_LOCAL, "TLS: %s", err);

	/* Scenarios that manage their own connections. */
	if (strcmp(sc, "load") == 0) {
		if (argc < 3)
			die(EX_USAGE, "load N SECONDS FILE");
		sc_load(atoi(argv[0]), (unsigned)strtoul(argv[1], NULL, 10),
		    argv[2]);
	}
	if (strcmp(sc, "replayed-proof") == 0)
		sc_replayed_proof();
	if (strcmp(sc, "replayed-challenge") == 0)
		sc_replayed_challenge();
	if (strcmp(sc, "stall-tcp") == 0)
		sc_stall_tcp(argc > 0 ? atoi(argv[0]) : 1);
	if (strcmp(sc, "stall-tls") == 0) {
		/* A TLS record header promising 512 bytes, and 6 of them. */
		static const uint8_t part[] = { 0x16, 0x03, 0x01, 0x02, 0x00,
		    0x01, 0x00, 0x01, 0xfc, 0x03, 0x03 };

		conn_open(&c, 0);
		stall(&c, part, sizeof(part));
	}

	conn_open(&c, tls);
	wbuf_init(&w);

	if (strcmp(sc, "hello") == 0) {
		handshake(&c);
		bye(&c);
		finish(EX_ACCEPTED);
	}
	if (strcmp(sc, "good") == 0)
		sc_good(&c, argc, argv);
	if (strcmp(sc, "ping") == 0) {
		uint32_t len;
		uint64_t token = 0x0123456789abcdefULL;

		handshake(&c);
		if (wire_enc_token(&w, WIRE_MSG_PING, token) == -1 ||
		    conn_send_wbuf(&c, &w) == -1)
			finish(EX_CONN);
		expect(&c, WIRE_MSG_PONG, &len, 0);
		if (wire_dec_token(c.rbuf + WIRE_HDR_LEN, len, &token) == -1 ||
		    token != 0x0123456789abcdefULL) {
			say("BADFRAME PONG with the wrong token");
			finish(EX_BROKEN);
		}
		say("PONG %016" PRIx64, token);
		bye(&c);
		finish(EX_ACCEPTED);
	}
	if (strcmp(sc, "wrong-password") == 0) {
		char *bad;

		if (o.password == NULL)
			die(EX_USAGE, "wrong-password needs -w");
		if (asprintf(&bad, "%sx", o.password) == -1)
			die(EX_LOCAL, "out of memory");
		o.password = bad;
		handshake(&c);
		bye(&c);
		finish(EX_ACCEPTED);
	}
	if (strcmp(sc, "unknown-host") == 0) {
		uint8_t r[4];
		char *name;

		random_bytes(r, sizeof(r));
		if (asprintf(&name, "adpeer-nobody-%02x%02x%02x%02x",
		    r[0], r[1], r[2], r[3]) == -1)
			die(EX_LOCAL, "out of memory");
		o.host = name;
		if (o.password == NULL)
			o.password = "adpeer-guess";
		handshake(&c);
		bye(&c);
		finish(EX_ACCEPTED);
	}
	if (strcmp(sc, "empty-auth") == 0) {
		send_hello(&c, o.host, strlen(o.host), WIRE_MAGIC, WIRE_VERSION);
		read_challenge(&c);
		send_auth(&c, NULL);
		o.password = NULL;
		read_welcome(&c);
		bye(&c);
		finish(EX_ACCEPTED);
	}
	if (strcmp(sc, "cross-proof") == 0) {
		uint8_t proof[WIRE_MAC_LEN];

		if (argc < 2)
			die(EX_USAGE, "cross-proof HOST2 PASSWORD2");
		send_hello(&c, o.host, strlen(o.host), WIRE_MAGIC, WIRE_VERSION);
		read_challenge(&c);
		make_proof(&c, argv[1], argv[0], NULL, proof);
		send_auth(&c, proof);
		o.password = NULL;
		read_welcome(&c);
		bye(&c);
		finish(EX_ACCEPTED);
	}
	if (strcmp(sc, "bad-version") == 0 || strcmp(sc, "bad-magic") == 0) {
		int v = strcmp(sc, "bad-version") == 0;
		uint16_t version = v ? WIRE_VERSION + 1 : WIRE_VERSION;

		if (v && argc > 0)
			version = (uint16_t)number(argv[0], UINT16_MAX,
			    "bad-version");
		send_hello(&c, o.host, strlen(o.host),
		    v ? WIRE_MAGIC : 0x58585858u, version);
		read_challenge(&c);
		send_auth(&c, NULL);
		o.password = NULL;
		read_welcome(&c);
		bye(&c);
		finish(EX_ACCEPTED);
	}
	if (strncmp(sc, "host-", 5) == 0)
		sc_bad_host(&c, sc + 5);
	if (strcmp(sc, "rehello") == 0) {
		if (argc < 1)
			die(EX_USAGE, "rehello HOST2");
		sc_rehello(&c, argv[0]);
	}
	if (strcmp(sc, "oversized-frame") == 0)
		sc_oversized(&c, argc > 0 ? (uint32_t)number(argv[0],
		    UINT32_MAX, "oversized-frame") : UINT32_MAX);
	if (strcmp(sc, "wrong-offset") == 0 ||
	    strcmp(sc, "new-seq-offset") == 0 || strcmp(sc, "old-seq") == 0 ||
	    strcmp(sc, "segend-mismatch") == 0) {
		uint32_t len;

		handshake(&c);
		next_position(&c, &seq, &off);
		if (strcmp(sc, "wrong-offset") == 0) {
			if (wire_enc_data(&w, seq, off + 7, POISON_LINE,
			    sizeof(POISON_LINE) - 1) == -1)
				die(EX_LOCAL, "out of memory");
		} else if (strcmp(sc, "new-seq-offset") == 0) {
			if (wire_enc_data(&w, seq + 1, 1, POISON_LINE,
			    sizeof(POISON_LINE) - 1) == -1)
				die(EX_LOCAL, "out of memory");
		} else if (strcmp(sc, "old-seq") == 0) {
			/* A segment older than the one stored. */
			if (memcmp(c.welcome.spool_id, o.id, WIRE_ID_LEN) != 0 ||
			    c.welcome.seq < 2)
				die(EX_USAGE, "old-seq: give -i of a series the "
				    "receiver holds 2 segments of");
			if (wire_enc_data(&w, c.welcome.seq - 1, 0,
			    POISON_LINE, sizeof(POISON_LINE) - 1) == -1)
				die(EX_LOCAL, "out of memory");
		} else if (wire_enc_segend(&w, seq, off + 4096) == -1)
			die(EX_LOCAL, "out of memory");
		add_poison(&w, seq, off);
		if (conn_send_wbuf(&c, &w) == -1)
			finish(EX_CONN);
		expect(&c, WIRE_MSG_ERROR, &len, 0);
		finish(EX_BROKEN);
	}
	if (strcmp(sc, "bad-padding") == 0) {
		static const uint8_t pad[3] = { 0, 1, 0 };
		uint8_t tok[8] = { 0 };

		raw_frame(&w, 8, WIRE_MSG_PING, pad, tok, 8);
		bad_frame(&c, &w, 1);
	}
	if (strcmp(sc, "unknown-type") == 0) {
		uint8_t pl[8] = { 0 };
		long t = argc > 0 ? strtol(argv[0], NULL, 0) : 99;

		raw_frame(&w, 8, (uint8_t)t, NULL, pl, 8);
		bad_frame(&c, &w, 1);
	}
	if (strcmp(sc, "trailing-bytes") == 0) {
		uint8_t pl[9] = { 0 };

		raw_frame(&w, 9, WIRE_MSG_PING, NULL, pl, 9);
		bad_frame(&c, &w, 1);
	}
	if (strcmp(sc, "data-without-newline") == 0 ||
	    strcmp(sc, "empty-data") == 0 ||
	    strcmp(sc, "data-before-hello") == 0 ||
	    strcmp(sc, "data-before-auth") == 0) {
		static const char torn[] =
		    "type=USER msg=audit(1000000000.000:2): ADPEER-POISON torn";
		struct wbuf p;
		int empty = strcmp(sc, "empty-data") == 0;

		if (strcmp(sc, "data-before-hello") == 0)
			o.stage = AT_HELLO;
		else if (strcmp(sc, "data-before-auth") == 0)
			o.stage = AT_AUTH;
		if (o.stage != AT_DATA) {
			add_poison(&w, 1, 0);
			bad_frame(&c, &w, 0);
		}
		/* The DATA payload built by hand: the encoder may refuse it. */
		wbuf_init(&p);
		if (wbuf_reserve(&p, 16 + sizeof(torn)) == -1)
			die(EX_LOCAL, "out of memory");
		handshake(&c);
		next_position(&c, &seq, &off);
		wbuf_put_u64(&p, seq);
		wbuf_put_u64(&p, off);
		if (!empty)
			wbuf_put_bytes(&p, torn, sizeof(torn) - 1);
		raw_frame(&w, (uint32_t)p.len, WIRE_MSG_DATA, NULL, p.buf, p.len);
		add_poison(&w, seq, off);
		o.stage = AT_HELLO;	/* handshake done: just send */
		bad_frame(&c, &w, 0);
	}
	if (strcmp(sc, "raw-frame") == 0) {
		uint8_t *pl;
		uint32_t len;

		if (argc < 2)
			die(EX_USAGE, "raw-frame TYPE LENGTH");
		len = (uint32_t)number(argv[1], WIRE_MAX_PAYLOAD, "raw-frame");
		if ((pl = calloc(1, len + 1)) == NULL)
			die(EX_LOCAL, "out of memory");
		raw_frame(&w, len, (uint8_t)number(argv[0], 255, "raw-frame"),
		    NULL, pl, len);
		bad_frame(&c, &w, 1);
	}
	if (strcmp(sc, "data-at") == 0 || strcmp(sc, "segend-at") == 0) {
		uint64_t a, b;

		if (argc < 2)
			die(EX_USAGE, "%s SEQ %s", sc, sc[0] == 'd' ? "OFFSET" :
			    "SIZE");
		a = number(argv[0], UINT64_MAX, sc);
		b = number(argv[1], UINT64_MAX, sc);
		/* By hand: the encoder may refuse what the receiver must. */
		if (sc[0] == 'd') {
			struct wbuf p;

			wbuf_init(&p);
			if (wbuf_reserve(&p, 16 + sizeof(POISON_LINE)) == -1)
				die(EX_LOCAL, "out of memory");
			wbuf_put_u64(&p, a);
			wbuf_put_u64(&p, b);
			wbuf_put_bytes(&p, POISON_LINE, sizeof(POISON_LINE) - 1);
			raw_frame(&w, (uint32_t)p.len, WIRE_MSG_DATA, NULL, p.buf,
			    p.len);
			wbuf_free(&p);
		} else if (wire_enc_segend(&w, a, b) == -1)
			die(EX_LOCAL, "out of memory");
		bad_frame(&c, &w, 1);
	}
	if (strcmp(sc, "auth-length") == 0) {
		uint8_t proof[2 * WIRE_MAC_LEN];
		size_t n;

		if (argc < 1)
			die(EX_USAGE, "auth-length BYTES");
		n = (size_t)number(argv[0], sizeof(proof), "auth-length");
		if (o.password == NULL)
			die(EX_USAGE, "auth-length needs -w");
		send_hello(&c, o.host, strlen(o.host), WIRE_MAGIC, WIRE_VERSION);
		read_challenge(&c);
		/* The right proof, cut or followed by more of the same. */
		make_proof(&c, o.password, o.host, NULL, proof);
		memcpy(proof + WIRE_MAC_LEN, proof, WIRE_MAC_LEN);
		raw_frame(&w, (uint32_t)n, WIRE_MSG_AUTH, NULL, proof, n);
		o.stage = AT_HELLO;	/* the handshake so far is done */
		bad_frame(&c, &w, 0);
	}
	if (strcmp(sc, "hello-hostlen") == 0) {
		struct wbuf p;
		uint8_t nonce[WIRE_NONCE_LEN];

		if (argc < 1)
			die(EX_USAGE, "hello-hostlen LENGTH");
		random_bytes(nonce, sizeof(nonce));
		wbuf_init(&p);
		if (wbuf_reserve(&p, 8 + strlen(o.host) + WIRE_ID_LEN +
		    WIRE_NONCE_LEN) == -1)
			die(EX_LOCAL, "out of memory");
		wbuf_put_u32(&p, WIRE_MAGIC);
		wbuf_put_u16(&p, WIRE_VERSION);
		wbuf_put_u16(&p, (uint16_t)number(argv[0], UINT16_MAX,
		    "hello-hostlen"));
		wbuf_put_bytes(&p, o.host, strlen(o.host));
		wbuf_put_bytes(&p, o.id, WIRE_ID_LEN);
		wbuf_put_bytes(&p, nonce, WIRE_NONCE_LEN);
		raw_frame(&w, (uint32_t)p.len, WIRE_MSG_HELLO, NULL, p.buf, p.len);
		wbuf_free(&p);
		o.stage = AT_HELLO;
		bad_frame(&c, &w, 0);
	}
	if (strcmp(sc, "double-hello") == 0) {
		const char *host2 = argc > 0 ? argv[0] : o.host;
		uint8_t nonce[WIRE_NONCE_LEN];
		uint32_t len;

		/* Both in one TLS record: the second is read in the same pass. */
		random_bytes(c.nonce_s, sizeof(c.nonce_s));
		random_bytes(nonce, sizeof(nonce));
		raw_hello(&w, WIRE_MAGIC, WIRE_VERSION, o.host, strlen(o.host),
		    o.id, c.nonce_s);
		raw_hello(&w, WIRE_MAGIC, WIRE_VERSION, host2, strlen(host2),
		    o.id, nonce);
		if (conn_send_wbuf(&c, &w) == -1)
			finish(EX_CONN);
		read_challenge(&c);
		expect(&c, WIRE_MSG_ERROR, &len, 0);
		finish(EX_BROKEN);
	}
	if (strcmp(sc, "echo-challenge") == 0) {
		send_hello(&c, o.host, strlen(o.host), WIRE_MAGIC, WIRE_VERSION);
		read_challenge(&c);
		/* The receiver's own CHALLENGE, byte for byte, as our answer. */
		raw_frame(&w, (uint32_t)(c.rlen - WIRE_HDR_LEN), WIRE_MSG_CHALLENGE,
		    NULL, c.rbuf + WIRE_HDR_LEN, c.rlen - WIRE_HDR_LEN);
		o.stage = AT_HELLO;
		bad_frame(&c, &w, 0);
	}
	if (strcmp(sc, "wrong-password-pipelined") == 0) {
		uint8_t proof[WIRE_MAC_LEN];
		uint32_t len;

		if (o.password == NULL)
			die(EX_USAGE, "wrong-password-pipelined needs -w");
		send_hello(&c, o.host, strlen(o.host), WIRE_MAGIC, WIRE_VERSION);
		read_challenge(&c);
		make_proof(&c, "adpeer-guess", o.host, NULL, proof);
		if (wire_enc_auth(&w, proof) == -1)
			die(EX_LOCAL, "out of memory");
		/* DATA that would continue the series (-s), in the same record. */
		add_poison(&w, o.seq, 0);
		if (conn_send_wbuf(&c, &w) == -1)
			finish(EX_CONN);
		expect(&c, WIRE_MSG_WELCOME, &len, 0);
		say("WELCOME after a wrong password");
		finish(EX_ACCEPTED);
	}
	if (strcmp(sc, "truncated-frame") == 0)
		sc_truncated(&c, argc > 0 ? argv[0] : "tls",
		    argc > 1 ? argv[1] : NULL);
	if (strcmp(sc, "slow-frame") == 0)
		sc_trickle(&c, argc > 0 ? (unsigned)number(argv[0], 60000,
		    "slow-frame MS") : 1000, argc > 1 ? (unsigned)number(argv[1],
		    60000, "slow-frame PAUSE") : 0);
	if (strcmp(sc, "garbage") == 0 || strcmp(sc, "http") == 0)
		sc_garbage(&c, argc > 0 ? strtoul(argv[0], NULL, 10) : 4096,
		    strcmp(sc, "http") == 0);
	if (strcmp(sc, "stall-hello") == 0)
		stall(&c, NULL, 0);
	if (strcmp(sc, "stall-auth") == 0) {
		send_hello(&c, o.host, strlen(o.host), WIRE_MAGIC, WIRE_VERSION);
		read_challenge(&c);
		stall(&c, NULL, 0);
	}
	if (strcmp(sc, "stall-data") == 0) {
		static const uint8_t half[4] = { 0, 0, 0, 24 };

		handshake(&c);
		stall(&c, half, sizeof(half));
	}
	die(EX_USAGE, "unknown scenario %s", sc);
}
