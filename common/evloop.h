/*
 * One event loop set-up for every process: an epoll set holding a
 * signalfd (the signals the caller blocks) and a timerfd (one deadline,
 * or a periodic tick), and the monotonic clock every timer is read from.
 * The caller registers its own descriptors with a cookie and dispatches
 * what ev_wait() returns: ev_is_signal() and ev_is_timer() pick out the
 * loop's own two, whatever the caller's cookies are (pointers, or
 * descriptors in data.fd).
 */
#ifndef EVLOOP_H
#define EVLOOP_H

#include <sys/epoll.h>

#include <signal.h>
#include <stdint.h>

struct evloop {
	int		 epfd;
	int		 sigfd;		/* -1: no signals */
	int		 timerfd;
};

/*
 * mask (may be NULL): the signals read through the loop.  Blocking them
 * is the caller's business (threads and children inherit the mask).
 */
int	 ev_init(struct evloop *, const sigset_t *mask);
/*
 * A set of its own (no signals, no timer) nested in out: out's ev_wait
 * returns cookie once when any of in's descriptors is ready, and the
 * caller takes their events with ev_wait on in when it chooses; so what
 * is in out comes first, however many of in's are ready.
 */
int	 ev_init_nested(struct evloop *in, struct evloop *out, void *cookie);
void	 ev_close(struct evloop *);
/* Watch fd for events (0: none for now), added or changed. */
int	 ev_add(struct evloop *, int fd, uint32_t events, void *cookie);
int	 ev_del(struct evloop *, int fd);
/* epoll_wait: 0 when interrupted, -1 on error. */
int	 ev_wait(struct evloop *, struct epoll_event *, int max, int timeout);
int	 ev_is_signal(const struct evloop *, const struct epoll_event *);
int	 ev_is_timer(const struct evloop *, const struct epoll_event *);
/* The next signal received, 0 when there is none left. */
int	 ev_signal(struct evloop *);
/* Take the timer's expirations: 1 when it has fired since. */
int	 ev_timer_fired(struct evloop *);
/* Fire once at (ev_now_ms() time; past: at once), or every ms. */
int	 ev_timer_at(struct evloop *, uint64_t at);
int	 ev_timer_every(struct evloop *, uint64_t ms);
/* CLOCK_MONOTONIC in milliseconds: the one clock of every timer. */
uint64_t ev_now_ms(void);

#endif
