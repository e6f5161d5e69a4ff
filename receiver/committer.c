/*
 * The committer: one process that makes the writers' bytes durable for
 * all of them at once.  A writer with more than a few dirty trails on
 * the receiver directory's file system (writer.c) asks here instead of
 * calling syncfs itself; the committer gathers the asks that arrive
 * within CMT_GATHER_MS of the first (or until every writer has asked),
 * calls syncfs once on its descriptor of the receiver directory, and
 * answers each of those asks.  An ask read before a syncfs began is
 * covered by it: the writer wrote its bytes before it asked.  Asks that
 * arrive during a syncfs wait for the next one, gathered the same way.
 * Hundreds of writers each flushing the whole file system for a few
 * hosts made the flushes queue behind one another; here there is one at
 * a time, and each serves every writer waiting.
 *
 * A failed syncfs says that some file of the file system lost a write,
 * not which.  The committer tells every writer: those waiting now, and
 * each other writer at its next ask, as each would have learnt it from
 * its own syncfs.  A writer told so syncs each of its trails on its own
 * (fdatasync reports the error of its own file), as it always did.
 *
 * What it trusts: nothing a writer says but the number to answer.  It
 * holds no file but the receiver directory (for syncfs), opens nothing
 * (Landlock with no path, seccomp without open for writing), runs as the
 * receiver's user and stops with the parent.  A writer whose channel
 * breaks (the committer died, or it sent nonsense) syncs the file system
 * itself from then on; the parent starts a new committer for the writers
 * it starts later.
 *
 * Descriptors in the child: 3 its channel from the parent, 4 the receiver
 * directory, then one channel per writer (handed over by the parent:
 * CTL_POOL, the writer's pid, with the descriptor).
 */
#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "auditdistd.h"
#include "evloop.h"
#include "log.h"
#include "sandbox.h"

#define CMT_COMM	"auditdistd-sync"	/* ps, pgrep */
#define CMT_EVENTS	1024
/*
 * Asks gathered for this long after the first before the syncfs: when
 * each call is quick (a few hosts' bytes), the calls would otherwise
 * come one per ask, each with its journal commit and cache flush.
 */
#define CMT_GATHER_MS	2
#define CMT_MSG_LEN	(MSG_HDR_LEN + 12)	/* the largest message */

static const struct msg_type cmt_asks[] = {
	{ CMT_ASK, 8, 8 },
	{ 0, 0, 0 }
};
static const struct msg_type cmt_answers[] = {
	{ CMT_DONE, 12, 12 },
	{ 0, 0, 0 }
};

struct wchan_c {
	int		 fd;		/* -1: closed, freed after the round */
	pid_t		 writer;
	uint64_t	 ask;		/* the last one read */
	int		 waiting;	/* an ask to answer this round */
	int		 owed;		/* an errno not yet told, 0: none */
	struct wchan_c	*next;
};

static struct evloop ev;
static struct wchan_c *chans;
static struct wchan_c **waiting;
static size_t nchans, nwaiting;
static int ctl = 3, dirfd = 4;

/* One whole message of types in a datagram of n bytes, or -1. */
static int
decode(const uint8_t *buf, ssize_t n, const struct msg_type *types,
    struct msg *m)
{
	return n > 0 && msg_frame(buf, (size_t)n, types, m) == 1 &&
	    m->size == (size_t)n ? 0 : -1;
}

static int
send_msg(int fd, const uint8_t *buf, size_t len, int flags)
{
	ssize_t n;

	do
		n = send(fd, buf, len, flags | MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	return n == (ssize_t)len ? 0 : -1;
}

/* --- the writer's side ------------------------------------------------- */

int
committer_sync(int fd, uint64_t ask)
{
	uint8_t buf[CMT_MSG_LEN];
	struct wbuf w = { buf, 0, sizeof(buf), 0 };
	struct msg m;
	uint64_t got;
	uint32_t err;
	size_t mark;
	ssize_t n;

	mark = msg_begin(&w, CMT_ASK);
	msg_put_u64(&w, ask);
	msg_finish(&w, mark, cmt_asks);
	VERIFY(w.buf == buf);		/* it fit: no allocation */
	if (send_msg(fd, buf, w.len, 0) == -1)
		return -1;
	for (;;) {
		do
			n = recv(fd, buf, sizeof(buf), 0);
		while (n == -1 && errno == EINTR);
		if (decode(buf, n, cmt_answers, &m) == -1 ||
		    msg_get_u64(&m, &got) == -1 ||
		    msg_get_u32(&m, &err) == -1 || msg_end(&m) == -1 ||
		    got > ask)
			return -1;
		if (got == ask)
			return err == 0 ? 0 : err < 4096 ? (int)err : EIO;
		/* An answer to an ask this writer gave up on: skip it. */
	}
}

/* --- the committer ------------------------------------------------------ */

static void
drop(struct wchan_c *c, const char *why)
{
	if (why != NULL)
		log_warnx("trail writer (pid %d): %s; its channel is closed, "
		    "it syncs by itself", (int)c->writer, why);
	(void)ev_del(&ev, c->fd);
	close(c->fd);
	c->fd = -1;
}

static void
add_chan(pid_t writer, int fd)
{
	struct wchan_c *c, **nw;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (nw = reallocarray(waiting, nchans + 1, sizeof(*nw))) == NULL)
		fatal("committer");
	waiting = nw;
	c->fd = fd;
	c->writer = writer;
	if (ev_add(&ev, fd, EPOLLIN, c) == -1)
		fatal("epoll");
	c->next = chans;
	chans = c;
	nchans++;
	log_debug("trail writer (pid %d) joined", (int)writer);
}

/* The parent hands over a writer's channel; its end: we stop. */
static void
take_ctl(void)
{
	struct ctl_msg m;
	int fd, r;

	while ((r = ctl_recv(ctl, ctl_to_committer, &m, &fd, "parent")) == 1) {
		if (fd == -1)
			fatalx("from the parent: a channel without its "
			    "descriptor");
		add_chan((pid_t)m.pool, fd);
	}
	if (r == -1)
		_exit(0);
}

/* Every ask the writer has sent: the last one is answered. */
static void
take_asks(struct wchan_c *c)
{
	uint8_t buf[CMT_MSG_LEN];
	struct msg m;
	ssize_t n;

	for (;;) {
		do
			n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		while (n == -1 && errno == EINTR);
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* The writer exited. */
			drop(c, NULL);
			return;
		}
		if (decode(buf, n, cmt_asks, &m) == -1 ||
		    msg_get_u64(&m, &c->ask) == -1 || msg_end(&m) == -1) {
			drop(c, "malformed ask");
			return;
		}
		if (!c->waiting) {
			c->waiting = 1;
			waiting[nwaiting++] = c;
		}
	}
}

static void
answer(struct wchan_c *c, int err)
{
	uint8_t buf[CMT_MSG_LEN];
	struct wbuf w = { buf, 0, sizeof(buf), 0 };
	size_t mark;

	c->waiting = 0;
	if (c->fd == -1)
		return;
	mark = msg_begin(&w, CMT_DONE);
	msg_put_u64(&w, c->ask);
	msg_put_u32(&w, (uint32_t)(c->owed ? c->owed : err));
	msg_finish(&w, mark, cmt_answers);
	VERIFY(w.buf == buf);
	c->owed = 0;
	/* One answer per ask: a full channel is a writer not listening. */
	if (send_msg(c->fd, buf, w.len, MSG_DONTWAIT) == -1)
		drop(c, "not reading its answers");
}

/* The channels closed this round, freed. */
static void
sweep(void)
{
	struct wchan_c **pp, *c;

	for (pp = &chans; (c = *pp) != NULL; )
		if (c->fd == -1) {
			*pp = c->next;
			free(c);
			nchans--;
		} else
			pp = &c->next;
}

/* One syncfs for every ask read; then the answers. */
static void
commit(void)
{
	static int failing;
	struct wchan_c *c;
	size_t i;
	int err = 0;

	if (syncfs(dirfd) == -1) {
		err = errno;
		if (!failing)
			log_warnx("syncfs of the receiver directory's file "
			    "system: %s; every writer syncs its trails one "
			    "by one", strerror(err));
		failing = 1;
		/* Each writer learns it once, as from its own syncfs. */
		for (c = chans; c != NULL; c = c->next)
			c->owed = err;
	} else
		failing = 0;
	for (i = 0; i < nwaiting; i++)
		answer(waiting[i], err);
	nwaiting = 0;
}

static void __attribute__((noreturn))
committer_run(void)
{
	struct epoll_event evs[CMT_EVENTS];
	uint64_t first = 0, now;	/* when the first ask waiting came */
	int n, i, wait;

	for (;;) {
		wait = -1;
		if (nwaiting > 0) {
			now = ev_now_ms();
			wait = now < first + CMT_GATHER_MS ?
			    (int)(first + CMT_GATHER_MS - now) : 0;
		}
		if ((n = ev_wait(&ev, evs, CMT_EVENTS, wait)) == -1)
			fatal("epoll_wait");
		for (i = 0; i < n; i++)
			if (evs[i].data.ptr == &ctl)
				take_ctl();
			else if (((struct wchan_c *)evs[i].data.ptr)->fd != -1)
				take_asks(evs[i].data.ptr);
		if (nwaiting > 0 && first == 0)
			first = ev_now_ms();
		/* Every writer waiting, or the time is up. */
		if (nwaiting > 0 && (nwaiting >= nchans ||
		    ev_now_ms() >= first + CMT_GATHER_MS)) {
			commit();
			first = 0;
		}
		sweep();
	}
}

static void __attribute__((noreturn))
committer_child(int chan, int recvfd)
{
	struct sandbox *sb;
	int c, r;

	log_close();	/* its socket may be 3 or 4, taken below */
	if ((c = fcntl(chan, F_DUPFD, 10)) == -1 ||
	    (r = fcntl(recvfd, F_DUPFD, 10)) == -1 ||
	    dup2(c, ctl) == -1 || dup2(r, dirfd) == -1)
		_exit(EX_OSERR);
	if (close_range(dirfd + 1, ~0U, 0) == -1)
		_exit(EX_OSERR);
	log_reopen();
	log_procinit("committer");
	sandbox_child_signals();	/* it stops when its channel closes */
	(void)prctl(PR_SET_NAME, CMT_COMM, 0, 0, 0);
	if (ev_init(&ev, NULL) == -1 || ev_add(&ev, ctl, EPOLLIN, &ctl) == -1)
		fatal("event setup");
	sb = sandbox_new("committer", SB_SYNCFS);
	sandbox_limits(0, 0);
	sandbox_test_hook("/etc/passwd", SB_TEST_EXECVE);
	sandbox_apply(sb);
	log_debug("committing for the writers");
	committer_run();
}

pid_t
committer_start(const struct parent_args *a, int *chan)
{
	int sv[2];
	pid_t pid;

	*chan = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("committer channel");
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_warn("starting the committer");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		committer_child(sv[1], a->recvfd);
	}
	close(sv[1]);
	*chan = sv[0];
	return pid;
}
