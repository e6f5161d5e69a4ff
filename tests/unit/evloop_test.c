/*
 * common/evloop.c: the loop's own signal and timer events told apart
 * from the caller's (pointer and descriptor cookies alike), a deadline
 * and a periodic tick, and the clock they are read from.
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

static const struct h_test tests[] = {
	TEST(test_signal),
	TEST(test_timer_at),
	TEST(test_timer_every),
	TEST(test_cookies),
};

RUN_TESTS("evloop", tests)
