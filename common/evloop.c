/*
 * The event loop's set-up, shared by audisp-dist, its forwarder and
 * auditdistd's parent and network process (see evloop.h).  Each keeps
 * its own dispatch; this only saves them four copies of epoll, signalfd
 * and timerfd.
 */
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"

/*
 * The loop's own descriptors are registered with data.u64 = the
 * descriptor: no pointer is that small, and a caller's data.fd cookie
 * names another descriptor.
 */
static int
add_own(struct evloop *l, int fd)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = (uint64_t)fd;
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int
ev_init(struct evloop *l, const sigset_t *mask)
{
	l->sigfd = l->timerfd = -1;
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	if ((mask != NULL && ((l->sigfd = signalfd(-1, mask, SFD_NONBLOCK |
	    SFD_CLOEXEC)) == -1 || add_own(l, l->sigfd) == -1)) ||
	    (l->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1 || add_own(l, l->timerfd) == -1) {
		ev_close(l);
		return -1;
	}
	return 0;
}

int
ev_init_nested(struct evloop *in, struct evloop *out, void *cookie)
{
	in->sigfd = in->timerfd = -1;
	if ((in->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	if (ev_add(out, in->epfd, EPOLLIN, cookie) == -1) {
		ev_close(in);
		return -1;
	}
	return 0;
}

void
ev_close(struct evloop *l)
{
	int save = errno;

	if (l->timerfd != -1)
		close(l->timerfd);
	if (l->sigfd != -1)
		close(l->sigfd);
	if (l->epfd != -1)
		close(l->epfd);
	l->epfd = l->sigfd = l->timerfd = -1;
	errno = save;
}

int
ev_add(struct evloop *l, int fd, uint32_t events, void *cookie)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = cookie;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) == -1) {
		if (errno != ENOENT)
			return -1;
		return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
	}
	return 0;
}

int
ev_del(struct evloop *l, int fd)
{
	return epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
}

int
ev_wait(struct evloop *l, struct epoll_event *evs, int max, int timeout)
{
	int n;

	if ((n = epoll_wait(l->epfd, evs, max, timeout)) == -1 &&
	    errno == EINTR)
		return 0;
	return n;
}

int
ev_is_signal(const struct evloop *l, const struct epoll_event *ev)
{
	return l->sigfd != -1 && ev->data.u64 == (uint64_t)l->sigfd;
}

int
ev_is_timer(const struct evloop *l, const struct epoll_event *ev)
{
	return l->timerfd != -1 && ev->data.u64 == (uint64_t)l->timerfd;
}

int
ev_signal(struct evloop *l)
{
	struct signalfd_siginfo si;

	if (read(l->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}

int
ev_timer_fired(struct evloop *l)
{
	uint64_t n;

	return read(l->timerfd, &n, sizeof(n)) == (ssize_t)sizeof(n) && n > 0;
}

int
ev_timer_at(struct evloop *l, uint64_t at)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	if (at == 0)
		at = 1;		/* all zero would disarm it */
	its.it_value.tv_sec = (time_t)(at / 1000);
	its.it_value.tv_nsec = (long)(at % 1000) * 1000000;
	/* Absolute: a deadline already past fires at once. */
	return timerfd_settime(l->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

int
ev_timer_every(struct evloop *l, uint64_t ms)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_interval.tv_sec = (time_t)(ms / 1000);
	its.it_interval.tv_nsec = (long)(ms % 1000) * 1000000;
	its.it_value = its.it_interval;
	return timerfd_settime(l->timerfd, 0, &its, NULL);
}

uint64_t
ev_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
