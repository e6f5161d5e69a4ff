/*
 * The network process's end of a writer's channel: a stream socket to the
 * one process that may write this host's trail.  Requests are queued
 * without blocking (the queue is bounded: past WCHAN_MAX_OUT the
 * connection stops reading its peer); answers come back in order.
 *
 * The messages are in auditdistd.h (imsg.c).
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auditdistd.h"
#include "log.h"

/* DATA at least this long goes out at once when nothing is queued. */
#define WCHAN_DIRECT	(4 * 1024)

struct wchan *
wchan_new(struct server *srv, struct rhost *rh, int fd)
{
	struct wchan *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->evtype = EV_WRITER;
	w->fd = fd;
	w->srv = srv;
	w->rh = rh;
	wbuf_init(&w->out);
	w->events = EPOLLIN;
	if (ev_mod(srv, fd, w, EPOLLIN) == -1) {
		free(w);
		return NULL;
	}
	return w;
}

/*
 * Close at once; freed after this round of events (callers up the stack
 * may still hold the pointer).  The writer syncs what it has and exits
 * when its end reads EOF.
 */
void
wchan_free(struct wchan *w)
{
	if (w == NULL || w->fd == -1)
		return;
	epoll_ctl(w->srv->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	close(w->fd);
	w->fd = -1;
	if (w->rh != NULL && w->rh->w == w)
		w->rh->w = NULL;
	w->rh = NULL;
	wbuf_free(&w->out);
	w->dead_next = w->srv->wdead;
	w->srv->wdead = w;
}

static void
interest(struct wchan *w)
{
	uint32_t ev = EPOLLIN | (wbuf_pending(&w->out) > 0 ? EPOLLOUT : 0);

	if (ev != w->events && ev_mod(w->srv, w->fd, w, ev) == 0)
		w->events = ev;
}

/* Gone: the host's connection cannot be stored any more. */
static void
lost(struct wchan *w, const char *why)
{
	struct rhost *rh = w->rh;
	struct conn *c = rh != NULL ? rh->conn : NULL;

	if (rh != NULL)
		log_warnx("host %s: trail writer %s", rh->name, why);
	wchan_free(w);
	if (c != NULL)
		conn_store_failed(c, EIO, "the trail writer is gone");
}

/* Send what is queued; 0, or -1 when the channel was lost. */
static int
flush(struct wchan *w)
{
	size_t before = wbuf_pending(&w->out);
	ssize_t n;

	if (w->fd == -1)
		return -1;
	while (wbuf_pending(&w->out) > 0) {
		n = write(w->fd, w->out.buf + w->out.off,
		    wbuf_pending(&w->out));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			lost(w, "closed its channel");
			return -1;
		}
		w->out.off += (size_t)n;
	}
	wbuf_compact(&w->out);
	/* Sent: a queue's buffer is not kept for the next burst. */
	if (wbuf_pending(&w->out) == 0 && w->out.cap > WCHAN_DIRECT)
		wbuf_free(&w->out);
	if (before > WCHAN_MAX_OUT / 2 &&
	    wbuf_pending(&w->out) <= WCHAN_MAX_OUT / 2 && w->rh != NULL &&
	    w->rh->conn != NULL)
		conn_unblocked(w->rh->conn);
	interest(w);
	return 0;
}

void
wchan_hello(struct wchan *w)
{
	if (w->fd == -1)
		return;
	wmsg_put_hello(&w->out);
	w->hello_out++;
	w->failed = 0;
	w->dirty = 0;
	(void)flush(w);
}

void
wchan_data(struct wchan *w, const uint8_t id[WIRE_ID_LEN], uint64_t seq,
    uint64_t offset, const void *data, size_t len)
{
	struct wbuf h;
	struct iovec iov[2];
	ssize_t n;
	size_t skip;

	if (w->fd == -1)
		return;
	VERIFY(trail_pos_data(&w->pos, id, seq, offset, len) == 0);
	w->dirty = 1;
	/*
	 * Nothing queued: straight from the frame buffer to the socket,
	 * without a copy into the queue; only what the socket did not
	 * take is queued.
	 */
	if (wbuf_pending(&w->out) == 0 && len >= WCHAN_DIRECT) {
		uint8_t hb[WMSG_HDR_LEN + WMSG_DATA_FIXED];

		h.buf = hb;
		h.cap = sizeof(hb);
		h.len = h.off = 0;
		wmsg_put_data_hdr(&h, id, seq, offset, len);
		VERIFY(h.buf == hb && h.len == sizeof(hb));
		iov[0].iov_base = hb;
		iov[0].iov_len = h.len;
		iov[1].iov_base = (void *)(uintptr_t)data;
		iov[1].iov_len = len;
		do
			n = writev(w->fd, iov, 2);
		while (n == -1 && errno == EINTR);
		skip = n > 0 ? (size_t)n : 0;
		if (skip == h.len + len)
			return;
		if (wbuf_reserve(&w->out, h.len + len - skip) == -1)
			fatal("writer channel");
		if (skip < h.len) {
			wbuf_put_bytes(&w->out, hb + skip, h.len - skip);
			wbuf_put_bytes(&w->out, data, len);
		} else
			wbuf_put_bytes(&w->out, (const uint8_t *)data +
			    (skip - h.len), len - (skip - h.len));
		(void)flush(w);		/* an error, or EPOLLOUT */
		return;
	}
	/* One reservation for the whole message: at most one copy. */
	if (wbuf_reserve(&w->out, WMSG_HDR_LEN + WMSG_DATA_FIXED + len) == -1)
		fatal("writer channel");
	wmsg_put_data_hdr(&w->out, id, seq, offset, len);
	msg_put_bytes(&w->out, data, len);
	/* Large: out now, while the next frame is being read. */
	if (wbuf_pending(&w->out) >= 64 * 1024)
		(void)flush(w);
}

void
wchan_segend(struct wchan *w, const uint8_t id[WIRE_ID_LEN], uint64_t seq,
    uint64_t size)
{
	if (w->fd == -1)
		return;
	VERIFY(trail_pos_segend(&w->pos, id, seq, size) == 0);
	wmsg_put_segend(&w->out, id, seq, size);
	w->dirty = 1;
}

void
wchan_sync(struct wchan *w)
{
	struct conn *c = w->rh != NULL ? w->rh->conn : NULL;

	if (w->fd == -1)
		return;
	if (w->dirty && !w->sync_out && !w->failed) {
		wmsg_put_sync(&w->out, ++w->token);
		w->sync_out = 1;
		w->dirty = 0;
		if (c != NULL)
			c->sync_token = w->token;
	}
	(void)flush(w);
}

/* One answer from the writer: our own sibling, so anything odd is a bug. */
static int
answer(struct wchan *w, struct msg *m)
{
	struct conn *c = w->rh != NULL ? w->rh->conn : NULL;
	struct wmsg a;

	if (wmsg_dec_answer(m, &a) == -1)
		return -1;
	switch (a.type) {
	case WMSG_STATE:
		if (w->hello_out == 0)
			return -1;
		w->hello_out--;
		if (!a.ok) {
			/* A new writer for the next try: a fresh start. */
			wchan_free(w);
			if (c != NULL)
				conn_store_failed(c, a.err, a.why);
			return 0;
		}
		w->pos = a.pos;
		w->sync_out = 0;
		if (c != NULL && c->state == C_OPENING)
			conn_opened(c, &a.pos, a.data, a.len);
		return 0;
	case WMSG_DURABLE:
		if (a.token == w->token)
			w->sync_out = 0;
		if (c != NULL)
			conn_durable(c, a.token, &a.pos);
		/* What came in meanwhile: the next group commit. */
		if (w->dirty)
			wchan_sync(w);
		return 0;
	case WMSG_FAIL:
		w->failed = 1;
		w->sync_out = 0;
		if (c != NULL)
			conn_store_failed(c, a.err, a.why);
		return 0;
	}
	return -1;
}

/*
 * Answers are small but for a STATE with its tail (one per HELLO): that
 * one is read into a buffer of its own, given back once it is handled, so
 * that a host costs no more than the small one between HELLOs.
 */
static uint8_t *
inbuf(struct wchan *w, size_t *cap)
{
	*cap = w->big != NULL ? WCHAN_MAX_IN : sizeof(w->in);
	return w->big != NULL ? w->big : w->in;
}

/* Before reading on: what is left of the buffer goes to its front. */
static void
input_keep(struct wchan *w, size_t off)
{
	uint8_t *buf = w->big != NULL ? w->big : w->in;

	w->inlen -= off;
	if (w->big != NULL && w->inlen <= sizeof(w->in)) {
		memcpy(w->in, w->big + off, w->inlen);
		free(w->big);
		w->big = NULL;
	} else
		memmove(buf, buf + off, w->inlen);
}

static void
input(struct wchan *w)
{
	struct msg m;
	uint8_t *buf;
	ssize_t n;
	size_t off, cap;
	int r;

	for (;;) {
		buf = inbuf(w, &cap);
		n = read(w->fd, buf + w->inlen, cap - w->inlen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			lost(w, n == 0 ? "exited" : "channel failed");
			return;
		}
		w->inlen += (size_t)n;
		off = 0;
		while ((r = msg_frame(buf + off, w->inlen - off, wmsg_answers,
		    &m)) == 1) {
			if (answer(w, &m) == -1)
				fatalx("writer: malformed answer (type %u)",
				    m.type);
			off += m.size;
			/* The answer may have freed us (a lost writer). */
			if (w->fd == -1)
				return;
		}
		if (r == -1)
			fatalx("writer: answer of type %u, %u bytes", m.type,
			    m.len);
		if (m.size > cap && (w->big = malloc(WCHAN_MAX_IN)) == NULL)
			fatal("writer channel");
		if (w->big != NULL && buf == w->in) {
			/* The long answer's start moves to its buffer. */
			w->inlen -= off;
			memcpy(w->big, w->in + off, w->inlen);
		} else
			input_keep(w, off);
	}
}

void
wchan_event(struct wchan *w, uint32_t events)
{
	if (w->fd == -1)
		return;
	if ((events & EPOLLOUT) && flush(w) == -1)
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		input(w);
}

void
wchan_reap(struct server *srv)
{
	struct wchan *w;

	while ((w = srv->wdead) != NULL) {
		srv->wdead = w->dead_next;
		free(w->big);
		free(w);
	}
}
