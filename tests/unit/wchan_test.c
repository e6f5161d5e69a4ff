/*
 * The network process's side of the writers (receiver/wchan.c), with
 * writers played by the test on the other ends of socketpairs and the
 * connections' callbacks recorded: requests batched (one SYNC at a time
 * per host, sent after the round), answers delivered in order to the
 * right connection, a STATE with a long tail, DATA larger than the socket
 * takes, a FAIL, a writer that dies (its hosts' connections are
 * failed, the other pool's are not), and frames of one segment joined.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <unistd.h>

#include "auditdistd.h"
#include "fakewriter.h"
#include "harness.h"
#include "log.h"
#include "netstubs.h"	/* net.c's, which wchan.c needs */

/* conn.c's callbacks, recorded in the order they come. */
enum call { OPENED, DURABLE, FAILED, UNBLOCKED };
static struct {
	enum call		 call;
	struct conn		*c;
	uint64_t		 token;
	struct trail_pos	 pos;
	size_t			 tail_len;
	int			 err;
} calls[64];
static size_t ncalls;
static uint8_t tail_seen[WIRE_TAIL_MAX];

static void
record(enum call call, struct conn *c, uint64_t token,
    const struct trail_pos *pos, int err)
{
	if (ncalls == sizeof(calls) / sizeof(calls[0]))
		abort();
	calls[ncalls].call = call;
	calls[ncalls].c = c;
	calls[ncalls].token = token;
	if (pos != NULL)
		calls[ncalls].pos = *pos;
	calls[ncalls].err = err;
	ncalls++;
}

void
conn_opened(struct conn *c, const struct trail_pos *pos, const uint8_t *tail,
    size_t tail_len)
{
	memcpy(tail_seen, tail, tail_len);
	record(OPENED, c, 0, pos, 0);
	calls[ncalls - 1].tail_len = tail_len;
	c->state = C_READY;
}

void
conn_durable(struct conn *c, uint64_t token, const struct trail_pos *pos)
{
	record(DURABLE, c, token, pos, 0);
}

void
conn_store_failed(struct conn *c, int err, const char *reason)
{
	(void)reason;
	record(FAILED, c, 0, NULL, err);
}

void
conn_unblocked(struct conn *c)
{
	record(UNBLOCKED, c, 0, NULL, 0);
}

static const uint8_t id[WIRE_ID_LEN] = { 0x1d, 1, 2, 3 };

/* A pool of n hosts played by fw; host i is connected when conns[i]. */
struct fpool {
	struct wpool	*p;
	struct fwriter	 fw;
	struct rhost	 rh[FW_SLOTS];
	struct conn	 c[FW_SLOTS];
};

static struct server srv;

static int
fpool_init(struct fpool *pl, uint32_t pid, size_t n, const char *const *names)
{
	int fds[2];
	size_t i;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == -1 ||
	    (pl->p = wpool_new(&srv, pid, fds[0])) == NULL)
		return -1;
	fw_init(&pl->fw, fds[1]);
	for (i = 0; i < n; i++) {
		pl->rh[i].name = (char *)(uintptr_t)names[i];
		pl->c[i].state = C_OPENING;
		pl->c[i].rh = &pl->rh[i];
		pl->rh[i].conn = &pl->c[i];
		if (wpool_attach(pl->p, (unsigned)i, &pl->rh[i]) == NULL)
			return -1;
	}
	return 0;
}

/* Every pool closed and freed, and the writers' ends. */
static void
done(struct fpool *a, struct fpool *b)
{
	wpool_close_all(&srv);
	wchan_reap(&srv);
	close(a->fw.fd);
	wbuf_free(&a->fw.out);
	if (b != NULL) {
		close(b->fw.fd);
		wbuf_free(&b->fw.out);
	}
}

/* The end of a round of events, then the writer's turn, then ours. */
static void
turn(struct fpool *pl)
{
	wchan_reap(&srv);
	(void)fw_poll(&pl->fw);
	if (pl->p->fd != -1)
		wchan_event(pl->p, EPOLLIN | EPOLLOUT);
}

static void
test_answers_in_order(void)
{
	static const char *const names[] = { "a", "b" };
	struct fpool pl;
	struct wchan *a, *b;

	memset(&srv, 0, sizeof(srv));
	srv.epfd = -1;
	REQUIRE(fpool_init(&pl, 100, 2, names) == 0);
	a = pl.rh[0].w;
	b = pl.rh[1].w;
	memcpy(pl.fw.pos[1].id, id, sizeof(id));
	pl.fw.pos[1].seq = 9;
	pl.fw.pos[1].size = 4;
	pl.fw.tail[1] = (const uint8_t *)"abc\n";
	pl.fw.tail_len[1] = 4;
	wchan_hello(b);
	wchan_hello(a);
	turn(&pl);
	REQUIRE(ncalls == 2);
	CHECK(calls[0].call == OPENED && calls[0].c == &pl.c[1]);
	CHECK_EQ_U64(calls[0].pos.seq, 9);
	CHECK_EQ_U64(calls[0].tail_len, 4);
	CHECK(calls[1].call == OPENED && calls[1].c == &pl.c[0]);
	CHECK_EQ_U64(calls[1].pos.seq, 0);
	CHECK_EQ_U64(b->pos.size, 4);

	/* Both hosts' DATA and one SYNC each, whatever the calls. */
	wchan_data(a, id, 1, 0, "1\n", 2);
	wchan_data(b, id, 9, 4, "22\n", 3);
	wchan_sync(a);
	wchan_sync(b);
	wchan_sync(a);
	pl.fw.hold = 1;
	turn(&pl);
	CHECK_EQ_U64(fw_count(&pl.fw, WMSG_DATA, -1), 2);
	CHECK_EQ_U64(fw_count(&pl.fw, WMSG_SYNC, 0), 1);
	CHECK_EQ_U64(fw_count(&pl.fw, WMSG_SYNC, 1), 1);
	CHECK_EQ_U64(pl.c[0].sync_token, 1);
	/* More for a while its SYNC is out: no second one yet. */
	wchan_data(a, id, 1, 2, "33\n", 3);
	wchan_sync(a);
	turn(&pl);
	CHECK_EQ_U64(fw_count(&pl.fw, WMSG_SYNC, 0), 1);
	CHECK_EQ_U64(ncalls, 2);

	/* The answers, in order, each to its connection; then a's next. */
	pl.fw.hold = 0;
	turn(&pl);
	turn(&pl);
	turn(&pl);
	REQUIRE(ncalls == 5);
	CHECK(calls[2].call == DURABLE && calls[2].c == &pl.c[0]);
	CHECK_EQ_U64(calls[2].token, 1);
	CHECK(calls[3].call == DURABLE && calls[3].c == &pl.c[1]);
	CHECK_EQ_U64(calls[3].pos.size, 7);
	CHECK(calls[4].call == DURABLE && calls[4].c == &pl.c[0]);
	CHECK_EQ_U64(calls[4].token, 2);
	CHECK_EQ_U64(calls[4].pos.size, 5);
	CHECK_EQ_U64(fw_count(&pl.fw, WMSG_SYNC, 0), 2);
	done(&pl, NULL);
}

/* A writer that dies fails its hosts' connections, and no others. */
static void
test_writer_dies(void)
{
	static const char *const n1[] = { "a", "b" }, *const n2[] = { "c" };
	struct fpool p1, p2;
	struct wchan *c;

	memset(&srv, 0, sizeof(srv));
	srv.epfd = -1;
	REQUIRE(fpool_init(&p1, 101, 2, n1) == 0);
	REQUIRE(fpool_init(&p2, 102, 1, n2) == 0);
	p1.rh[1].conn = NULL;		/* b is not connected */
	c = p2.rh[0].w;
	close(p1.fw.fd);
	wchan_event(p1.p, EPOLLIN);
	REQUIRE(ncalls == 1);
	CHECK(calls[0].call == FAILED && calls[0].c == &p1.c[0]);
	CHECK_EQ_I64(calls[0].err, EIO);
	CHECK(p1.rh[0].w == NULL && p1.rh[1].w == NULL);
	CHECK(wpool_find(&srv, 101) == NULL);
	/* The other pool serves on. */
	CHECK(p2.rh[0].w == c && wpool_find(&srv, 102) == p2.p);
	wchan_hello(c);
	turn(&p2);
	REQUIRE(ncalls == 2);
	CHECK(calls[1].call == OPENED && calls[1].c == &p2.c[0]);
	done(&p1, &p2);
}

/* A FAIL stops SYNCs until the next HELLO; a STATE that refuses frees. */
static void
test_failures(void)
{
	static const char *const names[] = { "a", "b" };
	struct fpool pl;
	struct wchan *a;

	memset(&srv, 0, sizeof(srv));
	srv.epfd = -1;
	REQUIRE(fpool_init(&pl, 103, 2, names) == 0);
	a = pl.rh[0].w;
	wchan_hello(a);
	turn(&pl);
	wmsg_put_failure(&pl.fw.out, 0, WMSG_FAIL, ENOSPC, "full");
	turn(&pl);
	REQUIRE(ncalls == 2);
	CHECK(calls[1].call == FAILED && calls[1].c == &pl.c[0]);
	CHECK_EQ_I64(calls[1].err, ENOSPC);
	CHECK(a->failed);
	wchan_data(a, id, 1, 0, "1\n", 2);
	wchan_sync(a);
	turn(&pl);
	CHECK_EQ_U64(fw_count(&pl.fw, WMSG_SYNC, -1), 0);

	/* b: its writer cannot open its trail. */
	pl.fw.hold = 1;
	wchan_hello(pl.rh[1].w);
	turn(&pl);
	wmsg_put_failure(&pl.fw.out, 1, WMSG_STATE, EACCES, "no access");
	pl.fw.nanswered = pl.fw.nreq;
	turn(&pl);
	REQUIRE(ncalls == 3);
	CHECK(calls[2].call == FAILED && calls[2].c == &pl.c[1]);
	CHECK_EQ_I64(calls[2].err, EACCES);
	CHECK(pl.rh[1].w == NULL);
	CHECK_EQ_U64(fw_count(&pl.fw, WMSG_CLOSE, 1), 0);
	turn(&pl);
	CHECK_EQ_U64(fw_count(&pl.fw, WMSG_CLOSE, 1), 1);
	done(&pl, NULL);
}

/* A STATE with the longest tail; DATA more than the socket holds. */
static void
test_large(void)
{
	static const char *const names[] = { "a" };
	static uint8_t tail[WIRE_TAIL_MAX], data[60000];
	struct fpool pl;
	struct wchan *a;
	uint64_t off, hash = 0;
	size_t i;

	memset(&srv, 0, sizeof(srv));
	srv.epfd = -1;
	for (i = 0; i < sizeof(tail); i++)
		tail[i] = (uint8_t)(i % 61 == 60 ? '\n' : 'a' + i % 26);
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i % 80 == 79 ? '\n' : 'a' + i % 26);
	REQUIRE(fpool_init(&pl, 104, 1, names) == 0);
	a = pl.rh[0].w;
	memcpy(pl.fw.pos[0].id, id, sizeof(id));
	pl.fw.pos[0].seq = 1;
	pl.fw.pos[0].size = off = sizeof(tail);
	pl.fw.tail[0] = tail;
	pl.fw.tail_len[0] = sizeof(tail);
	wchan_hello(a);
	turn(&pl);
	turn(&pl);
	REQUIRE(ncalls == 1 && calls[0].call == OPENED);
	CHECK_EQ_U64(calls[0].tail_len, sizeof(tail));
	CHECK_EQ_MEM(tail_seen, tail, sizeof(tail));
	CHECK(pl.p->big == NULL);	/* given back */
	/* 6 MB while the writer reads nothing: queued, then all in order. */
	for (i = 0; i < 100; i++) {
		wchan_data(a, id, 1, off, data, sizeof(data));
		hash = fw_hash(hash, data, sizeof(data));
		off += sizeof(data);
	}
	CHECK(wchan_backlog(a) > WCHAN_MAX_OUT);
	for (i = 0; i < 2000 && wchan_backlog(a) > 0; i++) {
		(void)fw_poll(&pl.fw);
		wchan_event(pl.p, EPOLLOUT);
	}
	(void)fw_poll(&pl.fw);
	CHECK_EQ_U64(wchan_backlog(a), 0);
	CHECK_EQ_U64(fw_count(&pl.fw, WMSG_DATA, 0), 100);
	CHECK_EQ_U64(pl.fw.pos[0].size, off);
	CHECK_EQ_U64(pl.fw.hash[0], hash);
	/* Drained below half: the host's connection may read again. */
	CHECK(ncalls >= 2 && calls[ncalls - 1].call == UNBLOCKED);
	done(&pl, NULL);
}

/* The DATA requests of slot, in order: their lengths and first bytes. */
static size_t
data_reqs(const struct fwriter *fw, unsigned slot, const struct fw_req **r,
    size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < fw->nreq && n < max; i++)
		if (fw->reqs[i].type == WMSG_DATA && fw->reqs[i].slot == slot)
			r[n++] = &fw->reqs[i];
	return n;
}

/*
 * Frames of one segment queued one after another join one DATA (one
 * write of the trail); another slot's request, a SEGEND, a new segment
 * or the queue going out starts the next.
 */
static void
test_joined(void)
{
	static const char *const names[] = { "a", "b" };
	const struct fw_req *r[8];
	struct fpool pl;
	struct wchan *a, *b;

	memset(&srv, 0, sizeof(srv));
	srv.epfd = -1;
	REQUIRE(fpool_init(&pl, 105, 2, names) == 0);
	a = pl.rh[0].w;
	b = pl.rh[1].w;
	wchan_hello(a);
	wchan_hello(b);
	turn(&pl);
	REQUIRE(ncalls == 2);
	pl.fw.hold = 1;
	wchan_data(a, id, 1, 0, "1\n", 2);
	wchan_data(a, id, 1, 2, "22\n", 3);
	wchan_data(a, id, 1, 5, "333\n", 4);
	wchan_data(b, id, 1, 0, "x\n", 2);
	wchan_data(a, id, 1, 9, "4\n", 2);	/* after b's */
	wchan_segend(a, id, 1, 11);
	wchan_data(a, id, 2, 0, "5\n", 2);	/* a new segment */
	wchan_data(a, id, 2, 2, "6\n", 2);
	wchan_sync(a);
	wchan_sync(b);
	turn(&pl);
	REQUIRE(data_reqs(&pl.fw, 0, r, 8) == 3);
	CHECK_EQ_U64(r[0]->len, 9);
	CHECK_EQ_MEM(r[0]->data, "1\n22\n333\n", 9);
	CHECK_EQ_U64(r[1]->offset, 9);
	CHECK_EQ_U64(r[1]->len, 2);
	CHECK_EQ_U64(r[2]->seq, 2);
	CHECK_EQ_U64(r[2]->len, 4);
	CHECK_EQ_MEM(r[2]->data, "5\n6\n", 4);
	CHECK_EQ_U64(fw_count(&pl.fw, WMSG_DATA, 1), 1);
	CHECK_EQ_U64(pl.fw.pos[0].seq, 2);
	CHECK_EQ_U64(pl.fw.pos[0].size, 4);
	CHECK_EQ_U64(pl.fw.hash[0], fw_hash(fw_hash(fw_hash(0,
	    "1\n22\n333\n", 9), "4\n", 2), "5\n6\n", 4));
	/* Sent since: the next frame is a message of its own. */
	wchan_data(a, id, 2, 4, "7\n", 2);
	wchan_sync(a);
	turn(&pl);
	REQUIRE(data_reqs(&pl.fw, 0, r, 8) == 4);
	CHECK_EQ_U64(r[3]->offset, 4);
	CHECK_EQ_U64(pl.fw.pos[0].size, 6);
	done(&pl, NULL);
}

static const struct h_test tests[] = {
	TEST(test_answers_in_order),
	TEST(test_writer_dies),
	TEST(test_failures),
	TEST(test_large),
	TEST(test_joined),
};

int
main(void)
{
	log_init("wchan_test", 1, 0);
	return h_run("wchan", tests, sizeof(tests) / sizeof(tests[0]));
}
