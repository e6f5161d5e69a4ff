/*
 * The forwarder's protocol state machine (forwarder/conn.c), driven
 * through its real code: it connects over TCP on the loopback to a
 * receiver played by the test with real TLS, and ships a real spool
 * directory.  What docs/protocol.md asks of it: HELLO, AUTH with the proof,
 * WELCOME checked (the receiver's proof, its tail against our copy), DATA
 * and SEGEND from where the receiver's copy ends, ACKs believed only when
 * they are of what was sent, BYE; anything out of order is
 * ERROR(PROTOCOL) and the end of the connection.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <unistd.h>

#include "auth.h"
#include "forwarder.h"
#include "harness.h"
#include "log.h"
#include "tlspeer.h"

/* forwarder/main.c's part. */
struct fwd_env fwd_env;
static int64_t now = 5000000;

int64_t
fwd_now_ms(void)
{
	return now;
}

static enum fwd_rstate last_state;
static char last_reason[FWD_REASON_MAX + 1];
static struct wire_pos acks[16];
static size_t nacks, nseries;

void
fwd_report_state(unsigned host, enum fwd_rstate st, const char *reason)
{
	(void)host;
	last_state = st;
	snprintf(last_reason, sizeof(last_reason), "%s", reason);
}

void
fwd_report_ack(unsigned host, const struct wire_pos *ack)
{
	(void)host;
	if (nacks < sizeof(acks) / sizeof(acks[0]))
		acks[nacks++] = *ack;
}

void
fwd_report_series(unsigned host, const char *reason)
{
	(void)host;
	(void)reason;
	nseries++;
}

static char certfile[64], keyfile[64], spooldir[64];
static const uint8_t our_id[WIRE_ID_LEN] = { 0x0f, 1, 2, 3, 4, 5, 6, 7, 8,
    9, 10, 11, 12, 13, 14, 15 };
/* Segment 1, closed: three lines of 20 bytes. */
static const char seg1[] =
    "line one of three.\n\n" "line two of three..\n" "line three of it...\n";
#define SEG1_LEN	(sizeof(seg1) - 1)
/* Segment 2, still being written. */
static const char seg2[] = "the open segment 2.\n";
#define SEG2_LEN	(sizeof(seg2) - 1)

struct env {
	struct conf_host ch;
	char		 remote[64], fp[TLSIO_FP_LEN];
	struct fwd_conn	*c;
	int		 lfd;
	SSL_CTX		*sctx;
	struct tpeer	 peer;
	uint8_t		 nonce_s[WIRE_NONCE_LEN], nonce_r[WIRE_NONCE_LEN];
	uint8_t		 ekm[TLSIO_EKM_LEN];
};

static int
spool_make(void)
{
	char name[64];
	int dfd, fd;

	strcpy(spooldir, "/tmp/fwdconn_test.XXXXXX");
	if (mkdtemp(spooldir) == NULL ||
	    (dfd = open(spooldir, O_RDONLY | O_DIRECTORY)) == -1)
		return -1;
	spool_seg_name(name, sizeof(name), 1, 0);
	if ((fd = openat(dfd, name, O_WRONLY | O_CREAT, 0600)) == -1 ||
	    write(fd, seg1, SEG1_LEN) != (ssize_t)SEG1_LEN)
		return -1;
	close(fd);
	spool_seg_name(name, sizeof(name), 2, 1);
	if ((fd = openat(dfd, name, O_WRONLY | O_CREAT, 0600)) == -1 ||
	    write(fd, seg2, SEG2_LEN) != (ssize_t)SEG2_LEN)
		return -1;
	close(fd);
	fwd_env.dirfd = dfd;
	return 0;
}

static void
spool_remove(void)
{
	char name[64];

	spool_seg_name(name, sizeof(name), 1, 0);
	unlinkat(fwd_env.dirfd, name, 0);
	spool_seg_name(name, sizeof(name), 2, 1);
	unlinkat(fwd_env.dirfd, name, 0);
	rmdir(spooldir);
}

/*
 * Listening for it, and the forwarder's host block: the receiver's pin
 * (NULL: the right one) and the password.
 */
static int
env_setup(struct env *e, const char *pin)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char err[256];

	memset(e, 0, sizeof(*e));
	e->peer.fd = -1;
	fwd_env.epfd = epoll_create1(EPOLL_CLOEXEC);
	fwd_env.name = "web1";
	fwd_env.timeout = 20;
	memcpy(fwd_env.spool_id, our_id, sizeof(our_id));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((e->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1 ||
	    bind(e->lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(e->lfd, 4) == -1 ||
	    getsockname(e->lfd, (struct sockaddr *)&sin, &sl) == -1)
		return -1;
	snprintf(e->remote, sizeof(e->remote), "tls://127.0.0.1:%u",
	    ntohs(sin.sin_port));
	if (tlsio_file_fingerprint(certfile, e->fp) == -1 ||
	    (e->sctx = tlsio_server_ctx(certfile, keyfile, err,
	    sizeof(err))) == NULL)
		return -1;
	e->ch.name = (char *)(uintptr_t)"recv";
	e->ch.remote = e->remote;
	e->ch.fingerprint = pin != NULL ? (char *)(uintptr_t)pin : e->fp;
	e->ch.password = (char *)(uintptr_t)"right";
	e->c = fwd_conn_new(0, &e->ch);
	return 0;
}

/* Its next attempt is due: connected, the receiver's side taken. */
static int
env_connect(struct env *e)
{
	int fd = -1, i;

	tpeer_free(&e->peer);
	memset(&e->peer, 0, sizeof(e->peer));
	fwd_conn_timer(e->c, now);
	for (i = 0; i < 1000 && fd == -1; i++)
		if ((fd = accept4(e->lfd, NULL, NULL, SOCK_NONBLOCK)) == -1)
			usleep(1000);
	e->peer.fd = fd;
	wbuf_init(&e->peer.out);
	if (fd == -1)
		return -1;
	return (e->peer.tls = tlsio_new(e->sctx, fd, 1, NULL)) == NULL ? -1 : 0;
}

static int
env_init(struct env *e)
{
	return env_setup(e, NULL) == -1 ? -1 : env_connect(e);
}

static void
env_free(struct env *e)
{
	fwd_conn_free(e->c, 0);
	tpeer_free(&e->peer);
	SSL_CTX_free(e->sctx);
	close(e->lfd);
	close(fwd_env.epfd);
}

static void
round_once(struct env *e)
{
	if (tpeer_step(&e->peer) == -1)
		e->peer.eof = 1;
	if (e->c != NULL)
		fwd_conn_io(e->c, EPOLLIN | EPOLLOUT);
}

static int
next_frame(struct env *e)
{
	int i;

	for (i = 0; i < 200; i++) {
		if (tpeer_frame(&e->peer))
			return 1;
		if (e->peer.eof)
			return 0;
		round_once(e);
	}
	return tpeer_frame(&e->peer);
}

static int
expect(struct env *e, uint8_t type)
{
	if (!next_frame(e)) {
		fprintf(stderr, "expected %s, got nothing\n",
		    wire_type_name(type));
		return 0;
	}
	if (e->peer.type != type) {
		fprintf(stderr, "expected %s, got %s\n", wire_type_name(type),
		    wire_type_name(e->peer.type));
		return 0;
	}
	return 1;
}

/* The connection ends with nothing more (after an ERROR, if code). */
static void
expect_end(struct env *e, enum wire_error code)
{
	struct msg_error m;
	int i;

	if (code != 0) {
		REQUIRE(expect(e, WIRE_MSG_ERROR));
		REQUIRE(wire_dec_error(e->peer.p, e->peer.len, &m) == 0);
		CHECK_EQ_U64(m.code, code);
		tpeer_drop(&e->peer);
	}
	for (i = 0; i < 50 && !e->peer.eof; i++)
		round_once(e);
	if (tpeer_frame(&e->peer))
		fprintf(stderr, "then %s\n", wire_type_name(e->peer.type));
	CHECK(!tpeer_frame(&e->peer));
	CHECK(e->peer.eof);
	CHECK(last_state == RS_ERROR);
}

/* HELLO taken, CHALLENGE sent, AUTH checked. */
static int
challenge(struct env *e)
{
	struct msg_hello h;
	struct msg_auth a;

	if (!expect(e, WIRE_MSG_HELLO) || wire_dec_hello(e->peer.p, e->peer.len,
	    &h) == -1)
		return -1;
	CHECK_STR(h.host, "web1");
	CHECK_EQ_U64(h.version, WIRE_VERSION);
	CHECK_EQ_MEM(h.spool_id, our_id, WIRE_ID_LEN);
	memcpy(e->nonce_s, h.nonce, sizeof(e->nonce_s));
	tpeer_drop(&e->peer);
	memset(e->nonce_r, 0x33, sizeof(e->nonce_r));
	if (wire_enc_challenge(&e->peer.out, WIRE_VERSION, e->nonce_r) == -1 ||
	    !expect(e, WIRE_MSG_AUTH) || wire_dec_auth(e->peer.p, e->peer.len,
	    &a) == -1 || tlsio_exporter(e->peer.tls, e->ekm) == -1)
		return -1;
	tpeer_drop(&e->peer);
	if (!a.has_proof || auth_check("right", AUTH_SENDER, e->ekm,
	    e->nonce_s, e->nonce_r, "web1", a.proof) != 1)
		return -1;
	return 0;
}

/* WELCOME: what the receiver holds, with its proof of the password. */
static void
welcome(struct env *e, const char *password, const uint8_t *id,
    uint64_t seq, uint64_t size, const void *tail, size_t tail_len)
{
	uint8_t proof[WIRE_MAC_LEN];

	if (auth_proof(password, AUTH_RECEIVER, e->ekm, e->nonce_s, e->nonce_r,
	    "web1", proof) == -1 || wire_enc_welcome(&e->peer.out, proof, id,
	    seq, size, 0, tail, tail_len) == -1)
		abort();
}

/* DATA of segment seq from offset to its end (as in the spool). */
static void
check_data(struct env *e, uint64_t seq, uint64_t offset)
{
	const char *seg = seq == 1 ? seg1 : seg2;
	size_t len = (seq == 1 ? SEG1_LEN : SEG2_LEN) - offset;
	struct msg_data d;

	REQUIRE(expect(e, WIRE_MSG_DATA));
	REQUIRE(wire_dec_data(e->peer.p, e->peer.len, &d) == 0);
	CHECK_EQ_U64(d.seq, seq);
	CHECK_EQ_U64(d.offset, offset);
	CHECK_EQ_U64(d.len, len);
	if (d.len == len)
		CHECK_EQ_MEM(d.data, seg + offset, d.len);
	tpeer_drop(&e->peer);
}

static void
check_segend(struct env *e)
{
	struct wire_pos p;

	REQUIRE(expect(e, WIRE_MSG_SEGEND));
	REQUIRE(wire_dec_pos(e->peer.p, e->peer.len, 0, &p) == 0);
	CHECK_EQ_U64(p.seq, 1);
	CHECK_EQ_U64(p.size, SEG1_LEN);
	tpeer_drop(&e->peer);
}

static void
test_happy_path(void)
{
	static const uint8_t none[WIRE_ID_LEN];
	struct env e;

	REQUIRE(env_init(&e) == 0);
	REQUIRE(challenge(&e) == 0);
	welcome(&e, "right", none, 0, 0, NULL, 0);
	/* It holds nothing of ours: all of segment 1, then its end. */
	check_data(&e, 1, 0);
	check_segend(&e);
	check_data(&e, 2, 0);
	CHECK(last_state == RS_CONNECTED);
	REQUIRE(nacks == 1);		/* WELCOME's: nothing */
	REQUIRE(wire_enc_ack(&e.peer.out, 1, 20, 0) == 0);
	REQUIRE(wire_enc_ack(&e.peer.out, 1, SEG1_LEN, 1) == 0);
	REQUIRE(wire_enc_token(&e.peer.out, WIRE_MSG_PING, 99) == 0);
	REQUIRE(expect(&e, WIRE_MSG_PONG));
	tpeer_drop(&e.peer);
	REQUIRE(nacks == 3);
	CHECK(acks[1].seq == 1 && acks[1].size == 20 && !acks[1].complete);
	CHECK(acks[2].seq == 1 && acks[2].size == SEG1_LEN &&
	    acks[2].complete);
	/* Stopping: BYE. */
	fwd_conn_free(e.c, 1);
	e.c = NULL;
	REQUIRE(expect(&e, WIRE_MSG_BYE));
	CHECK_EQ_U64(e.peer.len, 0);
	env_free(&e);
}

/* Resuming inside segment 1: its tail agrees with our copy. */
static void
test_resume(void)
{
	struct env e;

	REQUIRE(env_init(&e) == 0);
	REQUIRE(challenge(&e) == 0);
	welcome(&e, "right", our_id, 1, 40, seg1, 40);
	check_data(&e, 1, 40);
	check_segend(&e);
	check_data(&e, 2, 0);
	REQUIRE(nacks == 1);
	CHECK(acks[0].seq == 1 && acks[0].size == 40);
	CHECK_EQ_U64(nseries, 0);
	env_free(&e);
}

/* Its tail differs from ours: our spool was rolled back; nothing sent. */
static void
test_tail_mismatch(void)
{
	char tail[40];
	struct env e;

	memcpy(tail, seg1, sizeof(tail));
	tail[25] = 'X';
	REQUIRE(env_init(&e) == 0);
	REQUIRE(challenge(&e) == 0);
	welcome(&e, "right", our_id, 1, 40, tail, sizeof(tail));
	expect_end(&e, 0);
	CHECK_EQ_U64(nseries, 1);
	CHECK_EQ_U64(nacks, 0);
	env_free(&e);
}

/* A receiver that does not know the password gets nothing. */
static void
test_bad_proof(void)
{
	static const uint8_t none[WIRE_ID_LEN];
	struct env e;

	REQUIRE(env_init(&e) == 0);
	REQUIRE(challenge(&e) == 0);
	welcome(&e, "wrong", none, 0, 0, NULL, 0);
	expect_end(&e, 0);
	CHECK(strstr(last_reason, "does not prove") != NULL);
	CHECK_EQ_U64(nacks, 0);
	env_free(&e);
}

/* An ACK of one byte more than was sent is not believed. */
static void
test_ack_beyond(void)
{
	static const uint8_t none[WIRE_ID_LEN];
	struct env e;

	REQUIRE(env_init(&e) == 0);
	REQUIRE(challenge(&e) == 0);
	welcome(&e, "right", none, 0, 0, NULL, 0);
	check_data(&e, 1, 0);
	check_segend(&e);
	check_data(&e, 2, 0);
	REQUIRE(wire_enc_ack(&e.peer.out, 2, SEG2_LEN + 1, 0) == 0);
	expect_end(&e, WIRE_ERR_PROTOCOL);
	CHECK_EQ_U64(nacks, 1);
	env_free(&e);
}

/* An ACK of a later segment than any sent. */
static void
test_ack_other_segment(void)
{
	static const uint8_t none[WIRE_ID_LEN];
	struct env e;

	REQUIRE(env_init(&e) == 0);
	REQUIRE(challenge(&e) == 0);
	welcome(&e, "right", none, 0, 0, NULL, 0);
	check_data(&e, 1, 0);
	check_segend(&e);
	check_data(&e, 2, 0);
	REQUIRE(wire_enc_ack(&e.peer.out, 3, 0, 0) == 0);
	expect_end(&e, WIRE_ERR_PROTOCOL);
	CHECK_EQ_U64(nacks, 1);
	env_free(&e);
}

/* Waiting for CHALLENGE: a WELCOME. */
static void
test_order_hello(void)
{
	static const uint8_t none[WIRE_ID_LEN];
	struct env e;

	REQUIRE(env_init(&e) == 0);
	REQUIRE(expect(&e, WIRE_MSG_HELLO));
	tpeer_drop(&e.peer);
	REQUIRE(wire_enc_welcome(&e.peer.out, NULL, none, 0, 0, 0, NULL,
	    0) == 0);
	expect_end(&e, WIRE_ERR_PROTOCOL);
	env_free(&e);
}

/* Waiting for WELCOME: an ACK. */
static void
test_order_auth(void)
{
	struct env e;

	REQUIRE(env_init(&e) == 0);
	REQUIRE(challenge(&e) == 0);
	REQUIRE(wire_enc_ack(&e.peer.out, 0, 0, 0) == 0);
	expect_end(&e, WIRE_ERR_PROTOCOL);
	CHECK_EQ_U64(nacks, 0);
	env_free(&e);
}

/* Streaming: a second CHALLENGE. */
static void
test_order_stream(void)
{
	static const uint8_t none[WIRE_ID_LEN];
	struct env e;

	REQUIRE(env_init(&e) == 0);
	REQUIRE(challenge(&e) == 0);
	welcome(&e, "right", none, 0, 0, NULL, 0);
	check_data(&e, 1, 0);
	check_segend(&e);
	check_data(&e, 2, 0);
	REQUIRE(wire_enc_challenge(&e.peer.out, WIRE_VERSION,
	    e.nonce_r) == 0);
	expect_end(&e, WIRE_ERR_PROTOCOL);
	env_free(&e);
}

/* A receiver that is not the one pinned hears nothing. */
static void
test_wrong_pin(void)
{
	char pin[TLSIO_FP_LEN];
	struct env e;

	snprintf(pin, sizeof(pin), "SHA256=%s", "00:11:22:33:44:55:66:77:88:"
	    "99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:"
	    "EE:FF");
	REQUIRE(env_setup(&e, pin) == 0);
	REQUIRE(env_connect(&e) == 0);
	expect_end(&e, 0);
	CHECK(strstr(last_reason, "fingerprint says") != NULL);
	env_free(&e);
}

/* ERROR(BUSY): the end of this attempt, and a retry within seconds. */
static void
test_error_transient(void)
{
	static const uint8_t none[WIRE_ID_LEN];
	struct env e;
	int i;

	REQUIRE(env_init(&e) == 0);
	REQUIRE(challenge(&e) == 0);
	welcome(&e, "right", none, 0, 0, NULL, 0);
	check_data(&e, 1, 0);
	REQUIRE(wire_enc_error(&e.peer.out, WIRE_ERR_BUSY, "full house") == 0);
	for (i = 0; i < 50 && !e.peer.eof; i++)
		round_once(&e);
	CHECK(e.peer.eof);
	CHECK(last_state == RS_BACKOFF);
	CHECK(strstr(last_reason, "full house") != NULL);
	CHECK(fwd_conn_deadline(e.c) > now);
	CHECK(fwd_conn_deadline(e.c) <= now + FWD_BACKOFF_MAX * 1000);
	env_free(&e);
}

/* ERROR(VERSION) to HELLO: the next attempt, at once, speaks 2. */
static void
test_version_downgrade(void)
{
	struct msg_hello h;
	struct env e;
	int i;

	REQUIRE(env_init(&e) == 0);
	REQUIRE(expect(&e, WIRE_MSG_HELLO));
	tpeer_drop(&e.peer);
	REQUIRE(wire_enc_error(&e.peer.out, WIRE_ERR_VERSION, "speaks 2") == 0);
	for (i = 0; i < 50 && !e.peer.eof; i++)
		round_once(&e);
	CHECK(e.peer.eof);
	CHECK_EQ_I64(fwd_conn_deadline(e.c), now);
	REQUIRE(env_connect(&e) == 0);
	REQUIRE(expect(&e, WIRE_MSG_HELLO));
	REQUIRE(wire_dec_hello(e.peer.p, e.peer.len, &h) == 0);
	CHECK_EQ_U64(h.version, 2);
	env_free(&e);
}

/* The port the sandbox lets it connect to: leading zeros as written. */
static void
test_port(void)
{
	static const struct {
		const char	*remote;
		uint16_t	 port;
	} t[] = {
		{ "tls://10.0.0.4:07878", 7878 },
		{ "tls://10.0.0.4", 7878 },
		{ "tls://[::1]:65535", 65535 },
		{ "tls://h:1", 1 },
	};
	struct conf_host ch;
	struct fwd_conn *c;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&ch, 0, sizeof(ch));
		ch.name = (char *)(uintptr_t)"recv";
		ch.remote = (char *)(uintptr_t)t[i].remote;
		ch.fingerprint = (char *)(uintptr_t)"SHA256=00";
		ch.password = (char *)(uintptr_t)"right";
		REQUIRE((c = fwd_conn_new(0, &ch)) != NULL);
		CHECK_EQ_U64(fwd_conn_port(c), t[i].port);
		fwd_conn_free(c, 0);
	}
}

static const struct h_test tests[] = {
	TEST(test_happy_path),
	TEST(test_resume),
	TEST(test_tail_mismatch),
	TEST(test_bad_proof),
	TEST(test_ack_beyond),
	TEST(test_ack_other_segment),
	TEST(test_order_hello),
	TEST(test_order_auth),
	TEST(test_order_stream),
	TEST(test_wrong_pin),
	TEST(test_error_transient),
	TEST(test_version_downgrade),
	TEST(test_port),
};

int
main(void)
{
	int rc;

	log_init("fwdconn_test", 1, 0);
	if (make_cert("localhost", certfile, keyfile) == -1 ||
	    spool_make() == -1) {
		printf("cannot make the certificate or spool\n"
		    "0 passed, 1 failed\n");
		return 1;
	}
	rc = h_run("fwdconn", tests, sizeof(tests) / sizeof(tests[0]));
	unlink(certfile);
	unlink(keyfile);
	spool_remove();
	return rc;
}
