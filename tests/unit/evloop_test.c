/*
 * common/evloop.c: the loop's own signal and timer events told apart
 * from the caller's (pointer and descriptor cookies alike), a deadline
 * and a periodic tick, the clock they are read from, and a set nested in
 * another.
 */
#include <sys/socket.h>

#include <signal.h>
#include <unistd.h>

#include "evloop.h"
#include "harness.h"

static int cookie;

/* One event within ms, or 0. */
static int
wait_one(struct evloop *l, struct epoll_event *ev, int ms)
{
	return ev_wait(l, ev, 1, ms);
}

static void
test_signal(void)
{
	struct epoll_event ev;
	struct evloop l;
	sigset_t mask, old;

	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigprocmask(SIG_BLOCK, &mask, &old);
	REQUIRE(ev_init(&l, &mask) == 0);
	CHECK(wait_one(&l, &ev, 0) == 0);
	CHECK(ev_signal(&l) == 0);
	kill(getpid(), SIGUSR1);
	kill(getpid(), SIGUSR2);
	REQUIRE(wait_one(&l, &ev, 1000) == 1);
	CHECK(ev_is_signal(&l, &ev));
	CHECK(!ev_is_timer(&l, &ev));
	CHECK(ev_signal(&l) == SIGUSR1);
	CHECK(ev_signal(&l) == SIGUSR2);
	CHECK(ev_signal(&l) == 0);
	ev_close(&l);
	CHECK(l.epfd == -1 && l.sigfd == -1 && l.timerfd == -1);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* A deadline, moved, and one in the past; the clock has passed it. */
static void
test_timer_at(void)
{
	struct epoll_event ev;
	struct evloop l;
	uint64_t t0 = ev_now_ms();

	REQUIRE(ev_init(&l, NULL) == 0);
	CHECK(l.sigfd == -1);
	CHECK(!ev_timer_fired(&l));
	REQUIRE(ev_timer_at(&l, t0 + 10000) == 0);
	REQUIRE(ev_timer_at(&l, t0 + 30) == 0);		/* the later one goes */
	REQUIRE(wait_one(&l, &ev, 2000) == 1);
	CHECK(ev_is_timer(&l, &ev));
	CHECK(!ev_is_signal(&l, &ev));
	CHECK(ev_now_ms() >= t0 + 30);
	CHECK(ev_timer_fired(&l));
	CHECK(!ev_timer_fired(&l));
	CHECK(wait_one(&l, &ev, 50) == 0);		/* once only */
	REQUIRE(ev_timer_at(&l, 0) == 0);		/* past: at once */
	CHECK(wait_one(&l, &ev, 1000) == 1 && ev_is_timer(&l, &ev));
	ev_close(&l);
}

static void
test_timer_every(void)
{
	struct epoll_event ev;
	struct evloop l;
	int fired = 0, i;

	REQUIRE(ev_init(&l, NULL) == 0);
	REQUIRE(ev_timer_every(&l, 10) == 0);
	for (i = 0; i < 3; i++)
		if (wait_one(&l, &ev, 1000) == 1 && ev_is_timer(&l, &ev))
			fired += ev_timer_fired(&l);
	CHECK(fired == 3);
	ev_close(&l);
}

/* The caller's cookies: a pointer, and a descriptor in data.fd. */
static void
test_cookies(void)
{
	struct epoll_event ev[4], add;
	struct evloop l;
	sigset_t mask;
	int sv[2], tv[2], n, i, ptrs = 0, fds = 0;

	sigemptyset(&mask);
	REQUIRE(ev_init(&l, &mask) == 0);
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, tv) == 0);
	CHECK(ev_add(&l, sv[0], 0, &cookie) == 0);	/* added, idle */
	CHECK(ev_add(&l, sv[0], EPOLLIN, &cookie) == 0);	/* changed */
	memset(&add, 0xff, sizeof(add));	/* garbage beside data.fd */
	add.events = EPOLLIN;
	add.data.fd = tv[0];
	REQUIRE(epoll_ctl(l.epfd, EPOLL_CTL_ADD, tv[0], &add) == 0);
	REQUIRE(ev_timer_at(&l, 1) == 0);
	CHECK(write(sv[1], "x", 1) == 1);
	CHECK(write(tv[1], "x", 1) == 1);
	n = ev_wait(&l, ev, 4, 1000);
	CHECK(n == 3);
	for (i = 0; i < n; i++) {
		if (ev_is_timer(&l, &ev[i]) || ev_is_signal(&l, &ev[i]))
			continue;
		ptrs += ev[i].data.ptr == &cookie;
		fds += ev[i].data.fd == tv[0];
	}
	CHECK(ptrs == 1 && fds == 1);
	CHECK(ev_del(&l, sv[0]) == 0);
	CHECK(ev_del(&l, sv[0]) == -1);
	close(sv[0]);
	close(sv[1]);
	close(tv[0]);
	close(tv[1]);
	ev_close(&l);
}

/*
 * A nested set: the outer loop names it once, however many of its own
 * are ready, and what the outer set holds comes out of the outer wait
 * on its own; the inner set's events keep their cookies.
 */
static void
test_nested(void)
{
	struct epoll_event ev[8];
	struct evloop out, in;
	static int outer, inner_set, conn[3];
	int sv[3][2], wv[2], n, i, sets = 0, ours = 0;

	REQUIRE(ev_init(&out, NULL) == 0);
	REQUIRE(ev_init_nested(&in, &out, &inner_set) == 0);
	CHECK(in.sigfd == -1 && in.timerfd == -1);
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, wv) == 0);
	CHECK(ev_add(&out, wv[0], EPOLLIN, &outer) == 0);
	for (i = 0; i < 3; i++) {
		REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]) == 0);
		CHECK(ev_add(&in, sv[i][0], EPOLLIN, &conn[i]) == 0);
	}
	CHECK(ev_wait(&out, ev, 8, 0) == 0);
	for (i = 0; i < 3; i++)
		CHECK(write(sv[i][1], "x", 1) == 1);
	CHECK(write(wv[1], "x", 1) == 1);
	n = ev_wait(&out, ev, 8, 1000);
	CHECK(n == 2);
	for (i = 0; i < n; i++) {
		CHECK(!ev_is_timer(&out, &ev[i]) && !ev_is_signal(&out, &ev[i]));
		sets += ev[i].data.ptr == &inner_set;
		ours += ev[i].data.ptr == &outer;
	}
	CHECK(sets == 1 && ours == 1);
	/* Taken from the inner set, a round's worth at a time. */
	n = ev_wait(&in, ev, 2, 0);
	CHECK(n == 2);
	for (i = 0; i < n; i++)
		CHECK(!ev_is_timer(&in, &ev[i]) && (ev[i].data.ptr == &conn[0] ||
		    ev[i].data.ptr == &conn[1] || ev[i].data.ptr == &conn[2]));
	/* Nothing read: all three still ready, and so is the set. */
	CHECK(ev_wait(&in, ev, 8, 0) == 3);
	for (i = 0; i < 3; i++) {
		CHECK(ev_del(&in, sv[i][0]) == 0);
		close(sv[i][0]);
		close(sv[i][1]);
	}
	n = ev_wait(&out, ev, 8, 0);
	CHECK(n == 1 && ev[0].data.ptr == &outer);
	close(wv[0]);
	close(wv[1]);
	ev_close(&in);
	CHECK(in.epfd == -1);
	ev_close(&out);
}

static const struct h_test tests[] = {
	TEST(test_signal),
	TEST(test_timer_at),
	TEST(test_timer_every),
	TEST(test_cookies),
	TEST(test_nested),
};

RUN_TESTS("evloop", tests)
