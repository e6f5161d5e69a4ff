/*
 * A writer: the one process that may write the trails of a set of hosts
 * (writer_hosts at most), fixed when the parent forks it for a batch of
 * hosts the network process asked for.  It opens each host's directory,
 * confines itself to them (Landlock: those directories only; seccomp:
 * file and socket I/O, nothing else), and then serves requests from the
 * network process, each naming the host by its slot (its index here):
 * append, end a segment, sync and say what is durable.  The messages:
 * auditdistd.h (imsg.c).
 *
 * Group commit: it takes every request that is readable on its channel
 * (up to BATCH_MAX of them), applies them, then makes every trail that
 * has pending bytes durable in one pass (one syncfs of their file system
 * when more than a few are dirty, else fdatasync of each file), and only
 * then answers, in the order of the requests.  The syncfs of the receiver
 * directory's file system is asked of the committer (committer.c), which
 * makes one for all the writers waiting.  A HELLO or CLOSE ends a
 * batch first: it syncs and reads one trail and answers at once.
 *
 * With trail_group set, the trails (old files too) belong to that group.
 *
 * The network process parses what senders send, so its requests are
 * checked again here: a frame that does not continue the stored copy is
 * refused by trail_append as it would be from the network.
 */
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

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
#define BATCH_MAX	1024	/* requests applied before a commit */
#define BATCH_BYTES	(16 * 1024 * 1024)	/* or this much data */
/* Pages of the buffer kept between batches; above, given back when idle. */
#define TOUCHED_MAX	(128 * 1024)
/* Requests are read in bulk: room for a whole largest one after a part. */
#define INBUF_LEN	(2 * (WMSG_HDR_LEN + WMSG_MAX))
/* More dirty trails than this on one file system: one syncfs for all. */
#define SYNCFS_MIN	3

struct slot {
	const char	*host;
	const char	*directory;
	int		 dirfd;		/* -1: closed, or could not be opened */
	int		 closed;	/* CLOSE seen: no request may come */
	struct trail	*t;
	int		 failed;	/* until the next HELLO */
	int		 store_errno;	/* storage episode, 0: none */
	/* this batch */
	int		 fail_err;	/* a failure to tell, 0: none */
	char		 fail_why[400];
	int		 told;		/* FAIL sent in this batch */
	int		 wrote;		/* had bytes to sync */
};

/* An answer owed, in the order of the requests. */
struct owed {
	uint16_t	 slot;
	uint8_t		 type;		/* WMSG_DURABLE or WMSG_FAIL */
	uint64_t	 token;
};

struct writer {
	const struct writer_args *a;
	int		 chan;
	struct slot	*slots;
	size_t		 nslots;
	uint8_t		*buf;		/* requests, read in bulk */
	size_t		 len;		/* bytes in buf */
	uint8_t		 tail[WIRE_TAIL_MAX];	/* for a STATE */
	int		 touched;	/* more than TOUCHED_MAX of buf used */
	struct owed	 owed[BATCH_MAX];
	size_t		 nowed;
	struct wbuf	 out;
	int		 commitfd;	/* the committer's channel, -1 */
	dev_t		 commitdev;	/* the file system it syncs */
	uint64_t	 asks;		/* asked of it so far */
};

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
	if (w->out.cap > 64 * 1024)
		wbuf_free(&w->out);
}

/* Once per episode: a sender retrying must not flood the log. */
static void
store_error(struct slot *s, int err, const char *what)
{
	size_t n = strlen(s->host);

	/* trail_open's messages name the host already. */
	if (strncmp(what, "host ", 5) == 0 &&
	    strncmp(what + 5, s->host, n) == 0 && what[5 + n] == ':')
		for (what += 5 + n + 1; *what == ' '; what++)
			;
	if (s->store_errno != err)
		hlog_warnx(s->host, "%s; its data is refused until this is "
		    "fixed", what);
	else
		hlog_debug(s->host, "%s (still)", what);
	s->store_errno = err;
	/* The next HELLO recovers the trail from disk. */
	trail_free(s->t);
	s->t = NULL;
	s->failed = 1;
}

/* A storage error: told (FAIL) at the end of the batch. */
static void
fail(struct writer *w, struct slot *s, int err, const char *what)
{
	snprintf(s->fail_why, sizeof(s->fail_why), "%s the trail: %s", what,
	    strerror(err));
	store_error(s, err, s->fail_why);
	s->fail_err = err;
	(void)w;
}

static void
owe(struct writer *w, unsigned slot, uint8_t type, uint64_t token)
{
	VERIFY(w->nowed < BATCH_MAX);
	w->owed[w->nowed].slot = (uint16_t)slot;
	w->owed[w->nowed].type = type;
	w->owed[w->nowed].token = token;
	w->nowed++;
}

/* The host's directory, locked, or -1 (err says why). */
static int
open_dir(const struct writer *w, const struct slot *s, char *err,
    size_t errlen)
{
	struct timespec ts = { 0, 50 * 1000000 };
	int fd, waited;

	if ((fd = store_open_dir(w->a->recvfd, w->a->recvdir, s->directory,
	    err, errlen)) == -1)
		return -1;
	/* A writer of this host that is still exiting: wait for it. */
	for (waited = 0; flock(fd, LOCK_EX | LOCK_NB) == -1; waited += 50) {
		if (errno != EWOULDBLOCK || waited >= LOCK_WAIT_MS) {
			snprintf(err, errlen, "host %s: %s", s->host,
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

/* A STATE that says why not. */
static void
refuse(struct writer *w, unsigned slot, int err, const char *why)
{
	wmsg_put_failure(&w->out, slot, WMSG_STATE, err, why);
}

/* Sync, then say what is durable; (re)open the trail if it is not open. */
static void
hello(struct writer *w, unsigned slot)
{
	struct slot *s = &w->slots[slot];
	const char *what = NULL;
	char err[1024];
	size_t tlen;
	int saved, fd = -1;

	s->failed = 0;
	if (s->dirfd == -1) {
		refuse(w, slot, EIO, "the host's directory could not be "
		    "opened");
		return;
	}
	/* The trail takes a descriptor of its own; the lock is shared. */
	if (s->t == NULL) {
		if ((fd = fcntl(s->dirfd, F_DUPFD_CLOEXEC, 0)) == -1 ||
		    (s->t = trail_open(fd, s->host, &w->a->lim, err,
		    sizeof(err))) == NULL) {
			saved = errno ? errno : EIO;
			if (fd == -1)
				snprintf(err, sizeof(err), "host %s: %s",
				    s->host, strerror(saved));
			store_error(s, saved, err);
			refuse(w, slot, saved, err);
			return;
		}
	}
	/* The sender checks its copy against the tail before it resumes. */
	if (trail_sync(s->t) == -1)
		what = "syncing";
	else if (trail_tail(s->t, w->tail, sizeof(w->tail), &tlen) == -1)
		what = "reading";
	if (what != NULL) {
		saved = errno;
		snprintf(err, sizeof(err), "%s the trail: %s", what,
		    strerror(saved));
		store_error(s, saved, err);
		refuse(w, slot, saved, err);
		return;
	}
	wmsg_put_state(&w->out, slot, &s->t->dpos, w->tail, tlen);
}

/*
 * One syncfs of t's file system: the committer's (one for every writer
 * that asked) when it is the receiver directory's, else our own.
 */
static int
sync_fs(struct writer *w, const struct trail *t)
{
	int r;

	if (w->commitfd != -1 && trail_dev(t) == w->commitdev) {
		if ((r = committer_sync(w->commitfd, ++w->asks)) >= 0) {
			errno = r;
			return r == 0 ? 0 : -1;
		}
		log_warnx("the committer's channel is gone; this writer "
		    "syncs by itself from now on");
		close(w->commitfd);
		w->commitfd = -1;
	}
	return syncfs(t->fd);
}

/*
 * Every trail with pending bytes made durable: one syncfs per file
 * system when more than SYNCFS_MIN of them are dirty there, fdatasync of
 * each file otherwise.  syncfs reports a writeback error of any file of
 * that file system (since Linux 5.8), not which: when it fails, each
 * trail is synced on its own, and only one whose own fdatasync fails is
 * cut back and failed, as always.
 */
static void
sync_all(struct writer *w)
{
	struct slot *s, *o;
	size_t i, j, n;

	for (i = 0; i < w->nslots; i++) {
		s = &w->slots[i];
		s->wrote = s->t != NULL && trail_pending(s->t);
	}
	for (i = 0; i < w->nslots; i++) {
		s = &w->slots[i];
		if (s->t == NULL || !trail_pending(s->t))
			continue;
		for (n = 0, j = i; j < w->nslots; j++) {
			o = &w->slots[j];
			n += o->t != NULL && trail_pending(o->t) &&
			    trail_dev(o->t) == trail_dev(s->t);
		}
		if (n <= SYNCFS_MIN)
			continue;
		if (sync_fs(w, s->t) == -1) {
			log_debug("syncfs: %s; syncing each trail",
			    strerror(errno));
			break;
		}
		for (j = i; j < w->nslots; j++) {
			o = &w->slots[j];
			if (o->t != NULL && trail_pending(o->t) &&
			    trail_dev(o->t) == trail_dev(s->t))
				trail_synced(o->t);
		}
	}
	for (i = 0; i < w->nslots; i++) {
		s = &w->slots[i];
		if (s->t != NULL && trail_pending(s->t) &&
		    trail_sync(s->t) == -1)
			fail(w, s, errno, "syncing");
	}
}

/* The batch's answers, now that what they report is durable. */
static void
commit(struct writer *w)
{
	struct owed *o;
	struct slot *s;
	size_t i;

	sync_all(w);
	for (i = 0; i < w->nowed; i++) {
		o = &w->owed[i];
		s = &w->slots[o->slot];
		if (o->type == WMSG_DURABLE && s->t != NULL && !s->failed) {
			/* Data written and durable: the episode is over. */
			if (s->wrote && s->store_errno != 0) {
				hlog_info(s->host, "the trail can be written "
				    "again");
				s->store_errno = 0;
			}
			wmsg_put_durable(&w->out, o->slot, o->token,
			    &s->t->dpos);
			continue;
		}
		if (s->told)
			continue;
		s->told = 1;
		wmsg_put_failure(&w->out, o->slot, WMSG_FAIL,
		    s->fail_err ? s->fail_err : EIO, s->fail_err ?
		    s->fail_why : "the trail failed");
	}
	for (i = 0; i < w->nowed; i++) {
		s = &w->slots[w->owed[i].slot];
		s->told = s->fail_err = 0;
	}
	w->nowed = 0;
}

/* CLOSE: the host is served elsewhere from now on; its lock goes. */
static void
close_slot(struct writer *w, struct slot *s)
{
	if (s->t != NULL && trail_sync(s->t) == -1)
		hlog_warn(s->host, "syncing the trail");
	trail_free(s->t);
	s->t = NULL;
	if (s->dirfd != -1)
		close(s->dirfd);
	s->dirfd = -1;
	s->closed = 1;
	hlog_debug(s->host, "no longer served by this writer");
	(void)w;
}

static void
request(struct writer *w, struct msg *m)
{
	struct wmsg r;
	struct slot *s;
	char why[WIRE_MAX_REASON];

	if (wmsg_dec_request(m, &r) == -1 || r.slot >= w->nslots ||
	    w->slots[r.slot].closed)
		fatalx("malformed request (type %u)", m->type);
	s = &w->slots[r.slot];
	if (r.type == WMSG_HELLO || r.type == WMSG_CLOSE) {
		commit(w);
		if (r.type == WMSG_CLOSE)
			close_slot(w, s);
		else
			hello(w, r.slot);
		/* Reading the directory and the index left free pages. */
		malloc_trim(0);
		return;
	}
	/* After a failure nothing is taken until the next HELLO. */
	if (s->failed || s->t == NULL) {
		if (r.type == WMSG_SYNC)
			owe(w, r.slot, WMSG_FAIL, 0);
		return;
	}
	switch (r.type) {
	case WMSG_DATA:
		if (trail_append(s->t, r.id, r.seq, r.offset, r.data,
		    r.len) == 0)
			return;
		if (errno == EINVAL) {
			trail_expected(s->t, r.id, r.seq, r.offset, "offset",
			    why, sizeof(why));
			hfatalx(s->host, "DATA the network process should have "
			    "refused: %s", why);
		}
		fail(w, s, errno, "writing");
		owe(w, r.slot, WMSG_FAIL, 0);
		return;
	case WMSG_SEGEND:
		if (trail_segend(s->t, r.id, r.seq, r.offset) == 0)
			return;
		if (errno == EINVAL)
			hfatalx(s->host, "SEGEND the network process should "
			    "have refused");
		fail(w, s, errno, "writing the index of");
		owe(w, r.slot, WMSG_FAIL, 0);
		return;
	case WMSG_SYNC:
		owe(w, r.slot, WMSG_DURABLE, r.token);
		return;
	}
	fatalx("writer: unknown request %u", r.type);
}

static void
confine(struct writer *w)
{
	struct sandbox *sb;
	char who[WIRE_MAX_HOST + 64];
	size_t i;

	snprintf(who, sizeof(who), "writer for host %s%s", w->slots[0].host,
	    w->nslots > 1 ? " and others" : "");
	sb = sandbox_new(who, SB_FILES);
	for (i = 0; i < w->nslots; i++)
		if (w->slots[i].dirfd != -1)
			sandbox_fd(sb, w->slots[i].dirfd, SB_READ | SB_WRITE);
	/* Each host: its directory twice, .store, a file and its index. */
	sandbox_limits((unsigned)(6 * w->nslots + 64), 0);
	sandbox_test_hook("/etc/passwd", SB_TEST_EXECVE);
	sandbox_apply_bpf(sb, w->a->bpf);
}

/*
 * Each host's directory (created if needed, as the user we run as); if
 * one cannot be opened, the writer still serves it: every HELLO says why.
 */
static void
open_dirs(struct writer *w)
{
	const struct writer_args *a = w->a;
	struct slot *s;
	char err[1024];
	size_t i;

	store_set_group(a->group);
	for (i = 0; i < w->nslots; i++) {
		s = &w->slots[i];
		s->host = a->hosts[i];
		s->directory = a->directories[i];
		if ((s->dirfd = open_dir(w, s, err, sizeof(err))) == -1)
			log_warnx("%s", err);
		else if (store_regroup(s->dirfd, s->host, err, sizeof(err)) ==
		    -1)
			/* Readers wait; the data is not at risk. */
			hlog_warnx(s->host, "giving its trail to group %u: %s",
			    (unsigned)a->group, err);
	}
}

/*
 * Read what the channel holds (waiting for it when wait): 1, 0 for
 * nothing now, -1 at the channel's end.
 */
static int
fill(struct writer *w, int wait)
{
	ssize_t n;

	do
		n = recv(w->chan, w->buf + w->len, INBUF_LEN - w->len,
		    wait ? 0 : MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n == -1 && !wait && errno == EAGAIN)
		return 0;
	if (n <= 0)
		return -1;
	w->len += (size_t)n;
	w->touched |= w->len > TOUCHED_MAX;
	return 1;
}

/*
 * Apply the whole requests read, up to a batch's worth (*applied and
 * *bytes count them), where they are: the trail is written from the
 * buffer.  What is left goes to its front (a part of the next request
 * fits after it, see INBUF_LEN).
 */
static void
apply(struct writer *w, size_t *applied, size_t *bytes)
{
	struct msg m;
	size_t off = 0;
	int r = 0;

	while (*applied < BATCH_MAX && *bytes < BATCH_BYTES &&
	    (r = msg_frame(w->buf + off, w->len - off, wmsg_requests,
	    &m)) == 1) {
		request(w, &m);
		off += m.size;
		*bytes += m.len;
		(*applied)++;
	}
	if (r == -1)
		fatalx("malformed request header");
	memmove(w->buf, w->buf + off, w->len - off);
	w->len -= off;
}

static int
batch_full(size_t applied, size_t bytes)
{
	return applied >= BATCH_MAX || bytes >= BATCH_BYTES;
}

static void
finish(struct writer *w)
{
	size_t i;

	/* The network process closed the channel: keep what came whole. */
	w->nowed = 0;
	sync_all(w);
	for (i = 0; i < w->nslots; i++) {
		trail_free(w->slots[i].t);
		if (w->slots[i].dirfd != -1)
			close(w->slots[i].dirfd);
	}
	log_debug("writer of %zu host(s) done", w->nslots);
	_exit(0);
}

void
writer_main(int chan, const struct writer_args *a)
{
	struct writer *w;
	struct stat st;
	size_t applied, bytes;
	int avail, r;

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->slots = calloc(a->nhosts, sizeof(*w->slots))) == NULL)
		fatal("writer");
	w->a = a;
	w->chan = chan;
	w->commitfd = a->commitfd;
	if (fstat(a->recvfd, &st) == -1)
		fatal("the receiver directory");
	w->commitdev = st.st_dev;
	w->nslots = a->nhosts;
	wbuf_init(&w->out);
	/* Its own mapping: pages are touched only as large requests come. */
	if ((w->buf = mmap(NULL, INBUF_LEN, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
		fatal("writer");
	/* The directories first, then nothing else is reachable. */
	open_dirs(w);
	close(a->recvfd);
	confine(w);
	log_debug("writer of %zu host(s), first %s, started", w->nslots,
	    a->hosts[0]);
	for (;;) {
		/*
		 * A batch: the requests that have arrived (waiting only when
		 * there are none), and more while more come; then one commit.
		 */
		applied = bytes = 0;
		apply(w, &applied, &bytes);
		while (!batch_full(applied, bytes)) {
			if ((r = fill(w, applied == 0)) == -1)
				finish(w);
			if (r == 0)
				break;
			apply(w, &applied, &bytes);
		}
		commit(w);
		send_out(w);
		/*
		 * Idle after a burst of large requests: give their pages
		 * back, so that quiet hosts cost no buffer.
		 */
		if (w->touched && w->len == 0 &&
		    ioctl(chan, FIONREAD, &avail) == 0 && avail == 0) {
			(void)madvise(w->buf, INBUF_LEN, MADV_DONTNEED);
			w->touched = 0;
		}
	}
}
