/*
 * A TCP relay on 127.0.0.1 that holds every byte for a fixed delay in
 * each direction: the WAN case where the kernel has no netem.  Bytes are
 * read as soon as they arrive (so the bandwidth is not limited and the
 * endpoints' TCP sees a fast peer) and written to the other side delay ms
 * after they were read; end of stream is passed on after the last byte.
 * The application protocols above see the round trip; TCP's own windows
 * and slow start do not (see the WAN note).
 *
 * It runs in a child process of the bench: one epoll loop, any number of
 * connections, until it is killed.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define RELAY_READ	(64 * 1024)
#define RELAY_MAX_QUEUED (64 * 1024 * 1024)	/* per direction */
#define RELAY_EV	64

struct chunk {
	struct chunk	*next;
	double		 due;
	size_t		 len, off;
	char		 data[];
};

/* One direction: bytes read from one socket, written to the other. */
struct flow {
	struct chunk	*head, *tail;
	size_t		 queued;
	int		 eof;		/* the source said end of stream */
	int		 shut;		/* and that was passed on */
	int		 blocked;	/* the destination was full */
};

struct pair;

struct end {
	struct pair	*p;
	int		 side;		/* 0: the client, 1: the target */
	int		 fd;
	uint32_t	 events;
};

struct pair {
	struct end	 e[2];
	struct flow	 f[2];		/* f[s]: from e[s] to e[1 - s] */
	int		 dead;
	struct pair	*next;
};

static int epfd;
static unsigned delay_ms;

static void
pair_kill(struct pair *p)
{
	struct chunk *c;
	int s;

	for (s = 0; s < 2; s++) {
		if (p->e[s].fd != -1) {
			epoll_ctl(epfd, EPOLL_CTL_DEL, p->e[s].fd, NULL);
			close(p->e[s].fd);
			p->e[s].fd = -1;
		}
		while ((c = p->f[s].head) != NULL) {
			p->f[s].head = c->next;
			free(c);
		}
		p->f[s].tail = NULL;
	}
	p->dead = 1;
}

/* Read what the source has; -1 when the pair broke. */
static int
flow_read(struct pair *p, int s)
{
	static char buf[RELAY_READ];
	struct flow *f = &p->f[s];
	struct chunk *c;
	ssize_t n;

	while (!f->eof && f->queued < RELAY_MAX_QUEUED) {
		n = read(p->e[s].fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n == -1)
			return -1;
		if (n == 0) {
			f->eof = 1;
			return 0;
		}
		if ((c = malloc(sizeof(*c) + (size_t)n)) == NULL)
			err(EX_OSERR, "relay: malloc");
		memcpy(c->data, buf, (size_t)n);
		c->len = (size_t)n;
		c->off = 0;
		c->due = now() + delay_ms / 1e3;
		c->next = NULL;
		if (f->tail != NULL)
			f->tail->next = c;
		else
			f->head = c;
		f->tail = c;
		f->queued += (size_t)n;
	}
	return 0;
}

/* Write what is due; -1 when the pair broke. */
static int
flow_write(struct pair *p, int s, double t)
{
	struct flow *f = &p->f[s];
	int to = p->e[1 - s].fd;
	struct chunk *c;
	ssize_t n;

	f->blocked = 0;
	while ((c = f->head) != NULL && c->due <= t) {
		n = write(to, c->data + c->off, c->len - c->off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			f->blocked = 1;
			return 0;
		}
		if (n == -1)
			return -1;
		c->off += (size_t)n;
		f->queued -= (size_t)n;
		if (c->off == c->len) {
			f->head = c->next;
			if (f->head == NULL)
				f->tail = NULL;
			free(c);
		}
	}
	if (f->head == NULL && f->eof && !f->shut) {
		shutdown(to, SHUT_WR);
		f->shut = 1;
	}
	return 0;
}

static void
end_interest(struct end *e)
{
	struct pair *p = e->p;
	struct epoll_event ev;
	uint32_t want = 0;

	if (!p->f[e->side].eof && p->f[e->side].queued < RELAY_MAX_QUEUED)
		want |= EPOLLIN;
	if (p->f[1 - e->side].blocked)
		want |= EPOLLOUT;
	if (want == e->events)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = e;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, e->fd, &ev) == -1)
		err(EX_OSERR, "relay: epoll_ctl");
	e->events = want;
}

static void
relay_accept(int lfd, int target, struct pair **pairs)
{
	struct sockaddr_in sin;
	struct epoll_event ev;
	struct pair *p;
	int cfd, tfd, one = 1, s;

	if ((cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1)
		return;
	if ((tfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(EX_OSERR, "relay: socket");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)target);
	/* Loopback: the connect itself is immediate. */
	if (connect(tfd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		warn("relay: connect 127.0.0.1:%d", target);
		close(tfd);
		close(cfd);
		return;
	}
	if (fcntl(tfd, F_SETFL, O_NONBLOCK) == -1)
		err(EX_OSERR, "relay: fcntl");
	if ((p = calloc(1, sizeof(*p))) == NULL)
		err(EX_OSERR, "relay: calloc");
	p->e[0].fd = cfd;
	p->e[1].fd = tfd;
	for (s = 0; s < 2; s++) {
		p->e[s].p = p;
		p->e[s].side = s;
		p->e[s].events = EPOLLIN;
		setsockopt(p->e[s].fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = &p->e[s];
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, p->e[s].fd, &ev) == -1)
			err(EX_OSERR, "relay: epoll_ctl");
	}
	p->next = *pairs;
	*pairs = p;
}

static void __attribute__((noreturn))
relay_loop(int lfd, int target)
{
	struct epoll_event ev[RELAY_EV], lev;
	struct pair *pairs = NULL, *p, **pp;
	struct timespec ts;
	double t, next;
	int n, k, s;

	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(EX_OSERR, "relay: epoll_create1");
	memset(&lev, 0, sizeof(lev));
	lev.events = EPOLLIN;
	lev.data.ptr = NULL;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) == -1)
		err(EX_OSERR, "relay: epoll_ctl");
	for (;;) {
		/* Sleep until the next chunk is due, or something arrives. */
		t = now();
		next = t + 1;
		for (p = pairs; p != NULL; p = p->next)
			for (s = 0; s < 2; s++)
				if (p->f[s].head != NULL && !p->f[s].blocked &&
				    p->f[s].head->due < next)
					next = p->f[s].head->due;
		if (next < t)
			next = t;
		ts.tv_sec = (time_t)(next - t);
		ts.tv_nsec = (long)((next - t - (double)ts.tv_sec) * 1e9);
		n = epoll_pwait2(epfd, ev, RELAY_EV, &ts, NULL);
		if (n == -1 && errno != EINTR)
			err(EX_OSERR, "relay: epoll_pwait2");
		for (k = 0; k < n; k++) {
			struct end *e = ev[k].data.ptr;

			if (e == NULL) {
				relay_accept(lfd, target, &pairs);
				continue;
			}
			p = e->p;
			if (p->dead)
				continue;
			if ((ev[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
			    flow_read(p, e->side) == -1) {
				pair_kill(p);
				continue;
			}
			if (ev[k].events & EPOLLOUT)
				p->f[1 - e->side].blocked = 0;
		}
		t = now();
		for (pp = &pairs; (p = *pp) != NULL; ) {
			for (s = 0; s < 2 && !p->dead; s++)
				if (!p->f[s].blocked &&
				    flow_write(p, s, t) == -1)
					pair_kill(p);
			if (!p->dead && p->f[0].shut && p->f[1].shut)
				pair_kill(p);
			if (p->dead) {
				*pp = p->next;
				free(p);
				continue;
			}
			end_interest(&p->e[0]);
			end_interest(&p->e[1]);
			pp = &p->next;
		}
	}
}

/* A relay to 127.0.0.1:target on a new port (rl->port). */
void
relay_start(struct relay *rl, int target, unsigned ms)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int lfd;

	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		err(EX_OSERR, "socket");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 64) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) == -1)
		err(EX_OSERR, "relay: listen on 127.0.0.1");
	rl->port = ntohs(sin.sin_port);
	if ((rl->pid = fork()) == -1)
		err(EX_OSERR, "fork");
	if (rl->pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		delay_ms = ms;
		relay_loop(lfd, target);
	}
	track_pid(rl->pid);
	close(lfd);
}

void
relay_stop(struct relay *rl)
{
	if (rl->pid > 0)
		stop_proc(rl->pid, SIGTERM, 5, NULL);
	rl->pid = -1;
}

/*
 * The port a client should connect to for a server on target: target
 * itself, or, when the bench runs the WAN case through a relay, a new
 * relay's (stopped with relay_stop; rl->pid is -1 when there is none).
 */
int
via_port(struct bench *b, struct relay *rl, int target)
{
	rl->pid = -1;
	rl->port = target;
	if (b->relay_ms > 0)
		relay_start(rl, target, b->relay_ms);
	return rl->port;
}
