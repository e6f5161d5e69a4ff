/*
 * The receiver's protocol state machine (receiver/conn.c), driven through
 * its real code: a sender played by the test over real TLS on a
 * socketpair, the host's writer channel (wchan.c) with a writer played by
 * the test on another.  What docs/protocol.md asks: HELLO, CHALLENGE,
 * AUTH, WELCOME with the receiver's proof, DATA passed to the writer, ACK
 * only once the writer says it is durable, SEGEND, BYE; a frame out of
 * order in each state is ERROR(PROTOCOL) and the end of the connection; a
 * wrong proof is ERROR(AUTH) after the delay, and nothing reaches the
 * writer.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <signal.h>
#include <unistd.h>

#include "auditdistd.h"
#include "auth.h"
#include "fakewriter.h"
#include "harness.h"
#include "netstubs.h"
#include "log.h"
#include "tlspeer.h"

static char certfile[64], keyfile[64];


void
ctl_ask_writer(struct server *s, const char *host)
{
	(void)s;
	(void)host;
	abort();		/* the test gives the host its writer */
}

static const uint8_t spool_id[WIRE_ID_LEN] = { 0x5a, 1, 2, 3, 4, 5, 6, 7,
    8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t nonce_s[WIRE_NONCE_LEN] = { 7, 7, 7 };

/* A receiver with host web1, its writer, one connection and its peer. */
struct env {
	struct server	 srv;
	struct rhost	*rh;
	struct wpool	*pool;
	struct fwriter	 fw;
	struct conn	*c;
	SSL_CTX		*cctx;
	struct tpeer	 peer;
	uint8_t		 nonce_r[WIRE_NONCE_LEN];
};

static int
env_init(struct env *e)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	char text[512], err[512];
	int wfd[2], cfd[2];

	memset(e, 0, sizeof(*e));
	snprintf(text, sizeof(text), "receiver {\n directory \"/tmp/conn_test.d\"\n"
	    " certfile \"%s\"\n keyfile \"%s\"\n host web1 {\n"
	    "  password \"right\"\n }\n}\n", certfile, keyfile);
	if ((e->srv.conf = conf_parse("test.conf", text, err,
	    sizeof(err))) == NULL ||
	    hosts_load(&e->srv, e->srv.conf, err, sizeof(err)) == -1 ||
	    (e->srv.ctx = tlsio_server_ctx(certfile, keyfile, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	e->srv.epfd = -1;
	e->srv.max_conns = 10;
	e->rh = hosts_find(&e->srv, "web1");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, wfd) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, cfd) == -1)
		return -1;
	if ((e->pool = wpool_new(&e->srv, 4242, wfd[0])) == NULL ||
	    wpool_attach(e->pool, 0, e->rh) == NULL)
		return -1;
	fw_init(&e->fw, wfd[1]);
	memset(&ss, 0, sizeof(ss));
	s4->sin_family = AF_INET;
	s4->sin_port = htons(40000);
	s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	conn_accept(&e->srv, cfd[0], &ss, sizeof(*s4));
	if ((e->c = e->srv.conns) == NULL)
		return -1;
	e->cctx = tlsio_client_ctx(NULL, NULL, NULL, err, sizeof(err));
	e->peer.fd = cfd[1];
	wbuf_init(&e->peer.out);
	if (e->cctx == NULL || (e->peer.tls = tlsio_new(e->cctx, cfd[1], 0,
	    "localhost")) == NULL)
		return -1;
	return 0;
}

static void
env_free(struct env *e)
{
	struct conn *c;

	while (e->srv.conns != NULL)
		conn_drop(e->srv.conns);
	while ((c = e->srv.dead) != NULL) {
		e->srv.dead = c->next;
		conn_free(c);
	}
	wpool_close_all(&e->srv);
	wchan_reap(&e->srv);
	hosts_free(&e->srv);
	conf_free(e->srv.conf);
	SSL_CTX_free(e->srv.ctx);
	tpeer_free(&e->peer);
	SSL_CTX_free(e->cctx);
	close(e->fw.fd);
	wbuf_free(&e->fw.out);
}

/* One round of everyone's events. */
static void
round_once(struct env *e)
{
	if (tpeer_step(&e->peer) == -1)
		e->peer.eof = 1;
	if (e->c->state != C_DEAD)
		conn_run(e->c);
	/* A pool found dead is freed after the round. */
	if ((e->pool = wpool_find(&e->srv, 4242)) != NULL &&
	    e->pool->fd != -1) {
		(void)fw_poll(&e->fw);
		wchan_event(e->pool, EPOLLIN | EPOLLOUT);
	}
	wchan_reap(&e->srv);
}

/* Run until the peer has a whole frame (1) or nothing more comes (0). */
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

static void
settle(struct env *e)
{
	int i;

	for (i = 0; i < 50; i++)
		round_once(e);
}

/* The next frame is of this type; it stays in e->peer until dropped. */
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

/* ERROR with this code, then the end of the connection. */
static void
expect_error(struct env *e, enum wire_error code)
{
	struct msg_error m;

	REQUIRE(expect(e, WIRE_MSG_ERROR));
	REQUIRE(wire_dec_error(e->peer.p, e->peer.len, &m) == 0);
	CHECK_EQ_U64(m.code, code);
	tpeer_drop(&e->peer);
	settle(e);
	CHECK(!tpeer_frame(&e->peer));
	CHECK(e->peer.eof);
	CHECK(e->c->state == C_CLOSING || e->c->state == C_DEAD);
	CHECK(e->rh->conn != e->c);
}

static int
send_hello(struct env *e)
{
	struct msg_challenge m;

	if (wire_enc_hello(&e->peer.out, "web1", spool_id, nonce_s) == -1 ||
	    !expect(e, WIRE_MSG_CHALLENGE) || wire_dec_challenge(e->peer.p,
	    e->peer.len, &m) == -1)
		return -1;
	memcpy(e->nonce_r, m.nonce, sizeof(e->nonce_r));
	tpeer_drop(&e->peer);
	return m.version == WIRE_VERSION ? 0 : -1;
}

static void
send_auth(struct env *e, const char *password)
{
	uint8_t ekm[TLSIO_EKM_LEN], proof[WIRE_MAC_LEN];

	if (tlsio_exporter(e->peer.tls, ekm) == -1 || auth_proof(password,
	    AUTH_SENDER, ekm, nonce_s, e->nonce_r, "web1", proof) == -1 ||
	    wire_enc_auth(&e->peer.out, proof) == -1)
		abort();
}

/* HELLO, CHALLENGE, AUTH, WELCOME: 0 when the receiver proved itself. */
static int
login(struct env *e)
{
	uint8_t ekm[TLSIO_EKM_LEN];
	struct msg_welcome m;

	if (send_hello(e) == -1)
		return -1;
	send_auth(e, "right");
	if (!expect(e, WIRE_MSG_WELCOME) || wire_dec_welcome(e->peer.p,
	    e->peer.len, &m) == -1 || tlsio_exporter(e->peer.tls, ekm) == -1)
		return -1;
	if (!m.has_proof || auth_check("right", AUTH_RECEIVER, ekm, nonce_s,
	    e->nonce_r, "web1", m.proof) != 1)
		return -1;
	tpeer_drop(&e->peer);
	return 0;
}

static void
check_ack(struct env *e, uint64_t seq, uint64_t size, int complete)
{
	struct wire_pos a;

	REQUIRE(expect(e, WIRE_MSG_ACK));
	REQUIRE(wire_dec_pos(e->peer.p, e->peer.len, 1, &a) == 0);
	CHECK_EQ_U64(a.seq, seq);
	CHECK_EQ_U64(a.size, size);
	CHECK_EQ_U64(a.complete, complete);
	tpeer_drop(&e->peer);
}

static void
test_happy_path(void)
{
	static const char line[] = "type=USER msg=audit(1.000:1): x\n";
	struct env e;

	REQUIRE(env_init(&e) == 0);
	REQUIRE(login(&e) == 0);
	CHECK(e.c->state == C_READY && e.rh->conn == e.c);
	/* Authenticated: the writer was asked what is durable, once. */
	CHECK_EQ_U64(fw_count(&e.fw, WMSG_HELLO, 0), 1);

	/* DATA reaches the writer; no ACK before the writer says durable. */
	e.fw.hold = 1;
	REQUIRE(wire_enc_data(&e.peer.out, 1, 0, line, sizeof(line) - 1) == 0);
	settle(&e);
	CHECK_EQ_U64(fw_count(&e.fw, WMSG_DATA, 0), 1);
	CHECK_EQ_U64(fw_count(&e.fw, WMSG_SYNC, 0), 1);
	CHECK(!tpeer_frame(&e.peer));
	CHECK_EQ_MEM(e.fw.reqs[e.fw.nreq - 2].data, line, sizeof(line) - 1);
	e.fw.hold = 0;
	check_ack(&e, 1, sizeof(line) - 1, 0);

	/* SEGEND: the writer closes the segment; ACK says complete. */
	REQUIRE(wire_enc_segend(&e.peer.out, 1, sizeof(line) - 1) == 0);
	check_ack(&e, 1, sizeof(line) - 1, 1);
	CHECK_EQ_U64(fw_count(&e.fw, WMSG_SEGEND, 0), 1);

	/* PING is answered with its token. */
	REQUIRE(wire_enc_token(&e.peer.out, WIRE_MSG_PING, 77) == 0);
	REQUIRE(expect(&e, WIRE_MSG_PONG));
	tpeer_drop(&e.peer);

	/* BYE: an orderly close, no ERROR. */
	REQUIRE(wire_enc_bye(&e.peer.out) == 0);
	settle(&e);
	CHECK(!tpeer_frame(&e.peer));
	CHECK(e.peer.eof);
	CHECK(e.c->state == C_CLOSING || e.c->state == C_DEAD);
	CHECK(e.rh->conn == NULL);
	env_free(&e);
}

/* C_HELLO: anything but HELLO. */
static void
test_order_hello(void)
{
	uint8_t proof[WIRE_MAC_LEN] = { 1 };
	struct env e;

	REQUIRE(env_init(&e) == 0);
	REQUIRE(wire_enc_auth(&e.peer.out, proof) == 0);
	expect_error(&e, WIRE_ERR_PROTOCOL);
	CHECK_EQ_U64(e.fw.nreq, 0);
	env_free(&e);
}

/* C_AUTH: DATA before AUTH. */
static void
test_order_auth(void)
{
	struct env e;

	REQUIRE(env_init(&e) == 0);
	REQUIRE(send_hello(&e) == 0);
	CHECK(e.c->state == C_AUTH);
	REQUIRE(wire_enc_data(&e.peer.out, 1, 0, "x\n", 2) == 0);
	expect_error(&e, WIRE_ERR_PROTOCOL);
	CHECK_EQ_U64(e.fw.nreq, 0);
	env_free(&e);
}

/* C_READY: a second HELLO; the DATA before it is still made durable. */
static void
test_order_ready(void)
{
	struct env e;

	REQUIRE(env_init(&e) == 0);
	REQUIRE(login(&e) == 0);
	e.fw.hold = 1;
	REQUIRE(wire_enc_data(&e.peer.out, 1, 0, "x\n", 2) == 0);
	REQUIRE(wire_enc_hello(&e.peer.out, "web1", spool_id, nonce_s) == 0);
	expect_error(&e, WIRE_ERR_PROTOCOL);
	CHECK_EQ_U64(fw_count(&e.fw, WMSG_DATA, 0), 1);
	CHECK_EQ_U64(fw_count(&e.fw, WMSG_SYNC, 0), 1);
	env_free(&e);
}

/* C_READY: DATA that does not continue the copy is ERROR(OFFSET). */
static void
test_offset(void)
{
	struct env e;

	REQUIRE(env_init(&e) == 0);
	REQUIRE(login(&e) == 0);
	REQUIRE(wire_enc_data(&e.peer.out, 1, 10, "x\n", 2) == 0);
	expect_error(&e, WIRE_ERR_OFFSET);
	CHECK_EQ_U64(fw_count(&e.fw, WMSG_DATA, -1), 0);
	env_free(&e);
}

/* C_TLS: bytes that are not TLS; dropped without a word. */
static void
test_order_tls(void)
{
	struct env e;
	uint8_t hdr[WIRE_HDR_LEN] = { 0, 0, 0, 0, WIRE_MSG_HELLO };
	int i;

	REQUIRE(env_init(&e) == 0);
	REQUIRE(write(e.peer.fd, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr));
	for (i = 0; i < 10 && e.c->state != C_DEAD; i++)
		conn_run(e.c);
	CHECK(e.c->state == C_DEAD);
	CHECK_EQ_U64(e.srv.npending, 0);
	CHECK_EQ_U64(e.fw.nreq, 0);
	env_free(&e);
}

/* A version this receiver does not speak: ERROR(VERSION). */
static void
test_version(void)
{
	struct env e;

	REQUIRE(env_init(&e) == 0);
	REQUIRE(wire_enc_hello_version(&e.peer.out, WIRE_VERSION + 1, "web1",
	    spool_id, nonce_s) == 0);
	expect_error(&e, WIRE_ERR_VERSION);
	env_free(&e);
}

/*
 * WELCOME says what the writer holds, with its tail; a version 2 sender
 * gets WIRE_TAIL_MIN bytes of it, the end.
 */
static void
resume(uint16_t version, size_t want)
{
	static uint8_t tail[2 * WIRE_TAIL_MIN];
	uint8_t ekm[TLSIO_EKM_LEN];
	struct msg_challenge ch;
	struct msg_welcome m;
	struct env e;
	size_t i;

	for (i = 0; i < sizeof(tail); i++)
		tail[i] = (uint8_t)(i % 50 == 49 ? '\n' : 'A' + i % 23);
	REQUIRE(env_init(&e) == 0);
	memcpy(e.fw.pos[0].id, spool_id, sizeof(spool_id));
	e.fw.pos[0].seq = 3;
	e.fw.pos[0].size = 100000;
	e.fw.tail[0] = tail;
	e.fw.tail_len[0] = sizeof(tail);
	REQUIRE(wire_enc_hello_version(&e.peer.out, version, "web1", spool_id,
	    nonce_s) == 0);
	REQUIRE(expect(&e, WIRE_MSG_CHALLENGE));
	REQUIRE(wire_dec_challenge(e.peer.p, e.peer.len, &ch) == 0);
	CHECK_EQ_U64(ch.version, version);
	memcpy(e.nonce_r, ch.nonce, sizeof(e.nonce_r));
	tpeer_drop(&e.peer);
	send_auth(&e, "right");
	REQUIRE(expect(&e, WIRE_MSG_WELCOME));
	REQUIRE(wire_dec_welcome(e.peer.p, e.peer.len, &m) == 0);
	REQUIRE(tlsio_exporter(e.peer.tls, ekm) == 0);
	CHECK(auth_check("right", AUTH_RECEIVER, ekm, nonce_s, e.nonce_r,
	    "web1", m.proof) == 1);
	CHECK_EQ_MEM(m.spool_id, spool_id, WIRE_ID_LEN);
	CHECK_EQ_U64(m.seq, 3);
	CHECK_EQ_U64(m.size, 100000);
	CHECK_EQ_U64(m.tail_len, want);
	if (m.tail_len == want)
		CHECK_EQ_MEM(m.tail, tail + sizeof(tail) - want, want);
	env_free(&e);
}

static void
test_resume_v3(void)
{
	resume(3, 2 * WIRE_TAIL_MIN);
}

static void
test_resume_v2(void)
{
	resume(2, WIRE_TAIL_MIN);
}

/* Opening: what comes before WELCOME waits for it, then is taken. */
static void
test_opening(void)
{
	struct env e;

	REQUIRE(env_init(&e) == 0);
	REQUIRE(send_hello(&e) == 0);
	e.fw.hold = 1;
	send_auth(&e, "right");
	REQUIRE(wire_enc_data(&e.peer.out, 1, 0, "early\n", 6) == 0);
	settle(&e);
	CHECK(e.c->state == C_OPENING);
	CHECK(!tpeer_frame(&e.peer));
	CHECK_EQ_U64(fw_count(&e.fw, WMSG_DATA, -1), 0);
	e.fw.hold = 0;
	REQUIRE(expect(&e, WIRE_MSG_WELCOME));
	tpeer_drop(&e.peer);
	check_ack(&e, 1, 6, 0);
	CHECK_EQ_U64(fw_count(&e.fw, WMSG_DATA, 0), 1);
	env_free(&e);
}

/* A wrong proof: nothing for a second, then ERROR(AUTH); no writer. */
static void
test_bad_proof(void)
{
	struct env e;

	REQUIRE(env_init(&e) == 0);
	REQUIRE(send_hello(&e) == 0);
	send_auth(&e, "wrong");
	settle(&e);
	CHECK(e.c->state == C_AUTHFAIL);
	CHECK(!tpeer_frame(&e.peer));
	CHECK(e.rh->conn == NULL);
	now += 999;
	conn_timers(e.c, now);
	settle(&e);
	CHECK(!tpeer_frame(&e.peer));
	now += 1;
	conn_timers(e.c, now);
	expect_error(&e, WIRE_ERR_AUTH);
	CHECK_EQ_U64(e.fw.nreq, 0);
	env_free(&e);
}

/* The writer fails the host: ERROR(IO), and the connection ends. */
static void
test_store_failed(void)
{
	struct env e;

	REQUIRE(env_init(&e) == 0);
	REQUIRE(login(&e) == 0);
	wmsg_put_failure(&e.fw.out, 0, WMSG_FAIL, EIO, "disk gone");
	settle(&e);
	expect_error(&e, WIRE_ERR_IO);
	env_free(&e);
}

/*
 * The writer dies while a large DATA is passed on to it (found dead by
 * that very write, before its channel's end is read): ERROR(IO), and
 * the connection ends cleanly.
 */
static void
test_writer_gone(void)
{
	static char data[2 * WCHAN_MAX_OUT / 64];
	struct env e;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = i % 64 == 63 ? '\n' : 'a' + (char)(i % 26);
	signal(SIGPIPE, SIG_IGN);
	REQUIRE(env_init(&e) == 0);
	REQUIRE(login(&e) == 0);
	close(e.fw.fd);
	e.fw.fd = -1;
	REQUIRE(wire_enc_data(&e.peer.out, 1, 0, data, sizeof(data)) == 0);
	expect_error(&e, WIRE_ERR_IO);
	CHECK_EQ_U64(e.rh->health.bytes, sizeof(data));
	env_free(&e);
}

static const struct h_test tests[] = {
	TEST(test_happy_path),
	TEST(test_order_tls),
	TEST(test_order_hello),
	TEST(test_order_auth),
	TEST(test_order_ready),
	TEST(test_offset),
	TEST(test_version),
	TEST(test_resume_v3),
	TEST(test_resume_v2),
	TEST(test_opening),
	TEST(test_bad_proof),
	TEST(test_store_failed),
	TEST(test_writer_gone),
};

int
main(void)
{
	int rc;

	log_init("conn_test", 1, 0);
	if (make_cert("localhost", certfile, keyfile) == -1) {
		printf("cannot make test certificates\n0 passed, 1 failed\n");
		return 1;
	}
	rc = h_run("conn", tests, sizeof(tests) / sizeof(tests[0]));
	unlink(certfile);
	unlink(keyfile);
	return rc;
}
