/*
 * A writer: the one process that may write one host's trail.  The parent
 * forks it when the network process first needs the host; it opens the
 * host's directory, confines itself to it (Landlock: that directory only;
 * seccomp: file and socket I/O, nothing else), and then serves requests
 * from the network process in order, blocking: append, end a segment,
 * sync and say what is durable.  The messages: auditdistd.h (imsg.c).
 *
 * With trail_group set, the trail (old files too) belongs to that group.
 *
 * The network process parses what senders send, so its requests are
 * checked again here: a frame that does not continue the stored copy is
 * refused by trail_append as it would be from the network.
 */
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auditdistd.h"
#include "log.h"
#include "sandbox.h"

#define LOCK_WAIT_MS	10000	/* a writer that is still exiting */

struct writer {
	const struct writer_args *a;
	int		 chan;
	int		 dirfd;
	struct trail	*t;
	int		 failed;	/* until the next HELLO */
	int		 store_errno;	/* storage episode, 0: none */
	uint8_t		*buf;		/* requests; the tail for a STATE */
	int		 touched;	/* more than a page of buf used */
	struct wbuf	 out;
};

static int
read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = read(fd, p, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
send_out(struct writer *w)
{
	ssize_t n;

	while (wbuf_pending(&w->out) > 0) {
		n = write(w->chan, w->out.buf + w->out.off,
		    wbuf_pending(&w->out));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);	/* the network process is gone */
		w->out.off += (size_t)n;
	}
	wbuf_compact(&w->out);
	/* A STATE with its tail grew it: a host between HELLOs keeps none. */
	if (w->out.cap > 1024)
		wbuf_free(&w->out);
}

static void
put_failure(struct writer *w, enum wmsg_type type, int err, const char *why)
{
	wmsg_put_failure(&w->out, type, err, why);
}

/* Once per episode: a sender retrying must not flood the log. */
static void
store_error(struct writer *w, int err, const char *what)
{
	size_t n = strlen(w->a->host);
	const char *who = w->a->host;

	/* trail_open's messages name the host already. */
	if (strncmp(what, "host ", 5) == 0 &&
	    strncmp(what + 5, who, n) == 0 && what[5 + n] == ':')
		for (what += 5 + n + 1; *what == ' '; what++)
			;
	if (w->store_errno != err)
		log_warnx("host %s: %s; its data is refused until this is "
		    "fixed", who, what);
	else
		log_debug("host %s: %s (still)", who, what);
	w->store_errno = err;
	/* The next HELLO recovers the trail from disk. */
	trail_free(w->t);
	w->t = NULL;
	w->failed = 1;
}

static void
fail(struct writer *w, int err, const char *what)
{
	char why[400];

	snprintf(why, sizeof(why), "%s the trail: %s", what, strerror(err));
	store_error(w, err, why);
	put_failure(w, WMSG_FAIL, err, why);
}

/* The host's directory, locked, or -1 (err says why). */
static int
open_dir(struct writer *w, char *err, size_t errlen)
{
	struct timespec ts = { 0, 50 * 1000000 };
	int fd, waited;

	if ((fd = store_open_dir(w->a->recvfd, w->a->recvdir,
	    w->a->directory, err, errlen)) == -1)
		return -1;
	/* A writer of this host that is still exiting: wait for it. */
	for (waited = 0; flock(fd, LOCK_EX | LOCK_NB) == -1; waited += 50) {
		if (errno != EWOULDBLOCK || waited >= LOCK_WAIT_MS) {
			snprintf(err, errlen, "host %s: %s", w->a->host,
			    errno == EWOULDBLOCK ? "its directory is in use "
			    "by another auditdistd" : strerror(errno));
			close(fd);
			errno = EWOULDBLOCK;
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	return fd;
}

/* Sync, then say what is durable; (re)open the trail if it is not open. */
static void
hello(struct writer *w)
{
	const char *what = NULL;
	char err[1024];
	size_t tlen;
	int saved, fd = -1;

	w->failed = 0;
	if (w->dirfd == -1) {
		put_failure(w, WMSG_STATE, EIO, "the host's directory could "
		    "not be opened");
		return;
	}
	/* The trail takes a descriptor of its own; the lock is shared. */
	if (w->t == NULL) {
		if ((fd = fcntl(w->dirfd, F_DUPFD_CLOEXEC, 0)) == -1 ||
		    (w->t = trail_open(fd, w->a->host, &w->a->lim, err,
		    sizeof(err))) == NULL) {
			saved = errno ? errno : EIO;
			if (fd == -1)
				snprintf(err, sizeof(err), "host %s: %s",
				    w->a->host, strerror(saved));
			store_error(w, saved, err);
			put_failure(w, WMSG_STATE, saved, err);
			return;
		}
	}
	/* The sender checks its copy against the tail before it resumes. */
	if (trail_sync(w->t) == -1)
		what = "syncing";
	else if (trail_tail(w->t, w->buf, WIRE_TAIL_MAX, &tlen) == -1)
		what = "reading";
	w->touched = 1;		/* the request buffer held the tail */
	if (what != NULL) {
		saved = errno;
		snprintf(err, sizeof(err), "%s the trail: %s", what,
		    strerror(saved));
		store_error(w, saved, err);
		put_failure(w, WMSG_STATE, saved, err);
		return;
	}
	wmsg_put_state(&w->out, &w->t->dpos, w->buf, tlen);
}

static void
request(struct writer *w, struct msg *m)
{
	struct wmsg r;
	char why[WIRE_MAX_REASON];
	int pending;

	if (wmsg_dec_request(m, &r) == -1)
		fatalx("writer: malformed request (type %u)", m->type);
	if (r.type == WMSG_HELLO) {
		hello(w);
		/* Reading the directory and the index left free pages. */
		malloc_trim(0);
		return;
	}
	/* After a failure nothing is taken until the next HELLO. */
	if (w->failed || w->t == NULL) {
		if (r.type == WMSG_SYNC)
			put_failure(w, WMSG_FAIL, EIO, "the trail failed");
		return;
	}
	switch (r.type) {
	case WMSG_DATA:
		if (trail_append(w->t, r.id, r.seq, r.offset, r.data,
		    r.len) == 0)
			return;
		if (errno == EINVAL) {
			trail_expected(w->t, r.id, r.seq, r.offset, "offset",
			    why, sizeof(why));
			fatalx("host %s: DATA the network process should have "
			    "refused: %s", w->a->host, why);
		}
		fail(w, errno, "writing");
		return;
	case WMSG_SEGEND:
		if (trail_segend(w->t, r.id, r.seq, r.offset) == 0)
			return;
		if (errno == EINVAL)
			fatalx("host %s: SEGEND the network process should "
			    "have refused", w->a->host);
		fail(w, errno, "writing the index of");
		return;
	case WMSG_SYNC:
		pending = trail_pending(w->t);
		if (trail_sync(w->t) == -1) {
			fail(w, errno, "syncing");
			return;
		}
		/* Data written and durable: the episode is over. */
		if (pending && w->store_errno != 0) {
			log_info("host %s: the trail can be written again",
			    w->a->host);
			w->store_errno = 0;
		}
		wmsg_put_durable(&w->out, r.token, &w->t->dpos);
		return;
	}
	fatalx("writer: unknown request %u", r.type);
}

static void
confine(struct writer *w)
{
	struct sandbox *sb;
	char who[WIRE_MAX_HOST + 32];

	snprintf(who, sizeof(who), "writer for host %s", w->a->host);
	sb = sandbox_new(who, SB_FILES);
	if (w->dirfd != -1)
		sandbox_fd(sb, w->dirfd, SB_READ | SB_WRITE);
	sandbox_limits(64, 0);
	sandbox_test_hook("/etc/passwd", SB_TEST_EXECVE);
	sandbox_apply_bpf(sb, w->a->bpf);
}

void
writer_main(int chan, const struct writer_args *a)
{
	struct writer w;
	uint8_t hdr[WMSG_HDR_LEN], type;
	struct msg m;
	uint32_t len;
	char err[1024];
	int avail;

	memset(&w, 0, sizeof(w));
	w.a = a;
	w.chan = chan;
	wbuf_init(&w.out);
	/* Its own mapping: pages are touched only as large requests come. */
	if ((w.buf = mmap(NULL, WMSG_MAX, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
		fatal("writer");
	/*
	 * The directory first (created if needed, as the user we run as),
	 * then nothing else is reachable.  If it cannot be opened, the
	 * writer still serves: every HELLO says why.
	 */
	store_set_group(a->group);
	if ((w.dirfd = open_dir(&w, err, sizeof(err))) == -1) {
		log_warnx("%s", err);
		w.dirfd = -1;
	} else if (store_regroup(w.dirfd, a->host, err, sizeof(err)) == -1)
		/* Readers wait; the data is not at risk. */
		log_warnx("host %s: giving its trail to group %u: %s", a->host,
		    (unsigned)a->group, err);
	close(a->recvfd);
	/* Without its directory it can reach no file at all. */
	confine(&w);
	log_debug("host %s: writer started", a->host);
	for (;;) {
		if (read_full(chan, hdr, sizeof(hdr)) == -1)
			break;
		if (msg_header(hdr, wmsg_requests, &type, &len) == -1)
			fatalx("writer: malformed request header");
		/* Straight into the buffer the trail is written from. */
		if (read_full(chan, w.buf, len) == -1)
			break;
		msg_init(&m, type, w.buf, len);
		request(&w, &m);
		send_out(&w);
		/*
		 * Idle after requests of more than a page: give their pages
		 * back, so that a host between two frames costs no buffer.
		 */
		w.touched |= len > 4096;
		if (w.touched && ioctl(chan, FIONREAD, &avail) == 0 &&
		    avail == 0) {
			(void)madvise(w.buf, WMSG_MAX, MADV_DONTNEED);
			w.touched = 0;
		}
	}
	/* The network process closed the channel: keep what came whole. */
	if (w.t != NULL && trail_sync(w.t) == -1)
		log_warn("host %s: syncing the trail", a->host);
	trail_free(w.t);
	if (w.dirfd != -1)
		close(w.dirfd);
	log_debug("host %s: writer done", a->host);
	_exit(0);
}
