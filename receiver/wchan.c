/*
 * The network process's end of a writer's channel: a stream socket to the
 * one process that may write the trails of a set of hosts (a pool, fixed
 * when the parent started it), each host in its slot.  Requests are
 * queued without blocking (the queue is bounded: past WCHAN_MAX_OUT the
 * connections stop reading their peers); answers come back in order for
 * each slot.  A host keeps its slot while the pool lives, connected or
 * not; a pool none of whose hosts has had a connection for WPOOL_IDLE_MS
 * is closed (the writer syncs and exits), and the next connection of each
 * of its hosts gets a slot in a new one.
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

struct wpool *
wpool_new(struct server *srv, uint32_t id, int fd)
{
	struct wpool *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->evtype = EV_WRITER;
	p->fd = fd;
	p->id = id;
	p->srv = srv;
	wbuf_init(&p->out);
	p->events = EPOLLIN;
	if (ev_mod(srv, fd, p, EPOLLIN) == -1) {
		free(p);
		return NULL;
	}
	p->next = srv->pools;
	srv->pools = p;
	return p;
}

struct wpool *
wpool_find(struct server *srv, uint32_t id)
{
	struct wpool *p;

	for (p = srv->pools; p != NULL; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

struct wchan *
wpool_attach(struct wpool *p, unsigned slot, struct rhost *rh)
{
	struct wchan *w, **ns;
	size_t n;

	if (p->fd == -1 || slot >= WRITER_MAX_HOSTS)
		return NULL;
	if (slot >= p->nslots) {
		n = slot + 1 > p->nslots * 2 ? slot + 1 : p->nslots * 2;
		if ((ns = reallocarray(p->slots, n, sizeof(*ns))) == NULL)
			return NULL;
		memset(ns + p->nslots, 0, (n - p->nslots) * sizeof(*ns));
		p->slots = ns;
		p->nslots = n;
	}
	if (p->slots[slot] != NULL || (w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->p = p;
	w->slot = slot;
	w->rh = rh;
	rh->w = w;
	p->slots[slot] = w;
	p->nlive++;
	p->idle_since = 0;
	return w;
}

/* Freed after this round of events: callers up the stack may hold it. */
static void
slot_free(struct wchan *w)
{
	struct server *srv = w->p->srv;

	if (w->rh != NULL && w->rh->w == w)
		w->rh->w = NULL;
	w->rh = NULL;
	if (w->p->tail == w)
		w->p->tail = NULL;
	w->p->slots[w->slot] = NULL;
	w->p->nlive--;
	w->p = NULL;
	w->dead_next = srv->sdead;
	srv->sdead = w;
}

/*
 * Close at once; freed after this round of events (callers up the stack
 * may still hold the pointer).  The writer syncs what it has and exits
 * when its end reads EOF.
 */
void
wpool_close(struct wpool *p)
{
	struct wpool **pp;
	size_t i;

	if (p == NULL || p->fd == -1)
		return;
	epoll_ctl(p->srv->epfd, EPOLL_CTL_DEL, p->fd, NULL);
	close(p->fd);
	p->fd = -1;
	for (i = 0; i < p->nslots; i++)
		if (p->slots[i] != NULL)
			slot_free(p->slots[i]);
	wbuf_free(&p->out);
	for (pp = &p->srv->pools; *pp != NULL; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	p->dead_next = p->srv->wdead;
	p->srv->wdead = p;
}

void
wpool_close_all(struct server *srv)
{
	while (srv->pools != NULL)
		wpool_close(srv->pools);
}

static int	flush(struct wpool *);

static void
interest(struct wpool *p)
{
	uint32_t ev = EPOLLIN | (wbuf_pending(&p->out) > 0 ? EPOLLOUT : 0);

	if (ev != p->events && ev_mod(p->srv, p->fd, p, ev) == 0)
		p->events = ev;
}

/* Gone: none of its hosts' connections can be stored any more. */
static void
lost(struct wpool *p, const char *why)
{
	struct conn **cs;
	size_t i, n = 0;

	log_warnx("trail writer (pid %u) %s; %zu host(s) it served get a "
	    "new one", p->id, why, p->nlive);
	if ((cs = calloc(p->nslots + 1, sizeof(*cs))) == NULL)
		fatal("writer channel");
	for (i = 0; i < p->nslots; i++)
		if (p->slots[i] != NULL && p->slots[i]->rh != NULL &&
		    p->slots[i]->rh->conn != NULL) {
			hlog_debug(p->slots[i]->rh->name, "trail writer %s",
			    why);
			cs[n++] = p->slots[i]->rh->conn;
		}
	wpool_close(p);
	for (i = 0; i < n; i++)
		conn_store_failed(cs[i], EIO, "the trail writer is gone");
	free(cs);
}

/* The slot of a host that needs none: the writer lets its lock go. */
void
wpool_release(struct wpool *p, unsigned slot)
{
	if (p->fd == -1)
		return;
	wmsg_put_slot(&p->out, WMSG_CLOSE, slot);
	(void)flush(p);
}

/* Connections of the pool's hosts, told that input may go on. */
static void
unblocked(struct wpool *p)
{
	size_t i;

	for (i = 0; i < p->nslots; i++)
		if (p->slots[i] != NULL && p->slots[i]->rh != NULL &&
		    p->slots[i]->rh->conn != NULL)
			conn_unblocked(p->slots[i]->rh->conn);
}

/* Send what is queued; 0, or -1 when the channel was lost. */
static int
flush(struct wpool *p)
{
	size_t before = wbuf_pending(&p->out);
	ssize_t n;

	if (p->fd == -1)
		return -1;
	p->tail = NULL;		/* its mark counts from what is sent */
	while (wbuf_pending(&p->out) > 0) {
		n = write(p->fd, p->out.buf + p->out.off,
		    wbuf_pending(&p->out));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			lost(p, "closed its channel");
			return -1;
		}
		p->out.off += (size_t)n;
	}
	wbuf_compact(&p->out);
	/* Sent: a queue's buffer is not kept for the next burst. */
	if (wbuf_pending(&p->out) == 0 && p->out.cap > WCHAN_DIRECT)
		wbuf_free(&p->out);
	if (before > WCHAN_MAX_OUT / 2 &&
	    wbuf_pending(&p->out) <= WCHAN_MAX_OUT / 2)
		unblocked(p);
	interest(p);
	return 0;
}

void
wchan_free(struct wchan *w)
{
	struct wpool *p;

	if (w == NULL)
		return;
	if ((p = w->p) == NULL)
		return;
	wmsg_put_slot(&p->out, WMSG_CLOSE, w->slot);
	slot_free(w);
	if (p->nlive == 0)
		wpool_close(p);
	else
		(void)flush(p);
}

uint64_t
wpool_sweep(struct server *srv, uint64_t now)
{
	struct wpool *p, *next;
	uint64_t at = UINT64_MAX;
	size_t i;
	int busy;

	for (p = srv->pools; p != NULL; p = next) {
		next = p->next;
		for (i = 0, busy = 0; i < p->nslots && !busy; i++)
			busy = p->slots[i] != NULL && p->slots[i]->rh != NULL &&
			    p->slots[i]->rh->conn != NULL;
		if (busy || wbuf_pending(&p->out) > 0) {
			p->idle_since = 0;
			at = now + WPOOL_IDLE_MS / 4;
			continue;
		}
		if (p->idle_since == 0)
			p->idle_since = now;
		if (now - p->idle_since >= WPOOL_IDLE_MS) {
			log_debug("trail writer (pid %u): none of its %zu "
			    "host(s) connected for %d s: closing it", p->id,
			    p->nlive, WPOOL_IDLE_MS / 1000);
			wpool_close(p);
		} else if (p->idle_since + WPOOL_IDLE_MS < at)
			at = p->idle_since + WPOOL_IDLE_MS;
	}
	return at;
}

void
wchan_hello(struct wchan *w)
{
	if (w->p == NULL)
		return;
	wmsg_put_slot(&w->p->out, WMSG_HELLO, w->slot);
	w->hello_out++;
	w->failed = 0;
	w->dirty = 0;
	(void)flush(w->p);
}

/* DATA straight from the frame buffer to the socket; the rest queued. */
static void
data_direct(struct wchan *w, const uint8_t id[WIRE_ID_LEN], uint64_t seq,
    uint64_t offset, const void *data, size_t len)
{
	struct wpool *p = w->p;
	uint8_t hb[WMSG_HDR_LEN + WMSG_DATA_FIXED];
	struct wbuf h;
	struct iovec iov[2];
	ssize_t n;
	size_t skip;

	h.buf = hb;
	h.cap = sizeof(hb);
	h.len = h.off = 0;
	wmsg_put_data_hdr(&h, w->slot, id, seq, offset, len);
	VERIFY(h.buf == hb && h.len == sizeof(hb));
	iov[0].iov_base = hb;
	iov[0].iov_len = h.len;
	iov[1].iov_base = (void *)(uintptr_t)data;
	iov[1].iov_len = len;
	do
		n = writev(p->fd, iov, 2);
	while (n == -1 && errno == EINTR);
	skip = n > 0 ? (size_t)n : 0;
	if (skip == h.len + len)
		return;
	if (wbuf_reserve(&p->out, h.len + len - skip) == -1)
		fatal("writer channel");
	if (skip < h.len) {
		wbuf_put_bytes(&p->out, hb + skip, h.len - skip);
		wbuf_put_bytes(&p->out, data, len);
	} else
		wbuf_put_bytes(&p->out, (const uint8_t *)data +
		    (skip - h.len), len - (skip - h.len));
	(void)flush(p);		/* an error, or EPOLLOUT */
}

void
wchan_data(struct wchan *w, const uint8_t id[WIRE_ID_LEN], uint64_t seq,
    uint64_t offset, const void *data, size_t len)
{
	struct wpool *p = w->p;
	int joins;

	if (p == NULL)
		return;
	/*
	 * Right after this slot's DATA and in the same segment: the frame
	 * joins that message, and the writer makes one write of both (a
	 * connection's frames read in one turn come one after another).
	 */
	joins = p->tail == w && p->tail_end == wbuf_pending(&p->out) &&
	    memcmp(w->pos.id, id, WIRE_ID_LEN) == 0 && w->pos.seq == seq &&
	    w->pos.size == offset && !w->pos.complete &&
	    p->tail_end - p->tail_mark - WMSG_HDR_LEN + len <= WMSG_MAX;
	VERIFY(trail_pos_data(&w->pos, id, seq, offset, len) == 0);
	w->dirty = 1;
	if (joins) {
		msg_put_bytes(&p->out, data, len);
		msg_finish(&p->out, p->tail_mark, wmsg_requests);
		p->tail_end = wbuf_pending(&p->out);
	} else if (wbuf_pending(&p->out) == 0 && len >= WCHAN_DIRECT) {
		/*
		 * Nothing queued: without a copy into the queue; only what
		 * the socket did not take is queued.
		 */
		data_direct(w, id, seq, offset, data, len);
		return;
	} else {
		/* One reservation for the whole message: at most one copy. */
		if (wbuf_reserve(&p->out, WMSG_HDR_LEN + WMSG_DATA_FIXED +
		    len) == -1)
			fatal("writer channel");
		p->tail = w;
		p->tail_mark = wbuf_pending(&p->out);
		wmsg_put_data_hdr(&p->out, w->slot, id, seq, offset, len);
		msg_put_bytes(&p->out, data, len);
		p->tail_end = wbuf_pending(&p->out);
	}
	/* Large: out now, while the next frame is being read. */
	if (wbuf_pending(&p->out) >= 64 * 1024)
		(void)flush(p);
}

void
wchan_segend(struct wchan *w, const uint8_t id[WIRE_ID_LEN], uint64_t seq,
    uint64_t size)
{
	if (w->p == NULL)
		return;
	VERIFY(trail_pos_segend(&w->pos, id, seq, size) == 0);
	wmsg_put_segend(&w->p->out, w->slot, id, seq, size);
	w->dirty = 1;
}

/*
 * After this round of events: the SYNCs (and DATA) of all of the pool's
 * hosts that the round read go out in one write, and wake the writer
 * once.  A large queue goes at once.
 */
static void
flush_later(struct wpool *p)
{
	if (wbuf_pending(&p->out) >= 64 * 1024) {
		(void)flush(p);
		return;
	}
	if (p->flush_due)
		return;
	p->flush_due = 1;
	p->flush_next = p->srv->wflush;
	p->srv->wflush = p;
}

void
wchan_sync(struct wchan *w)
{
	struct conn *c = w->rh != NULL ? w->rh->conn : NULL;

	if (w->p == NULL)
		return;
	if (w->dirty && !w->sync_out && !w->failed) {
		wmsg_put_sync(&w->p->out, w->slot, ++w->token);
		w->sync_out = 1;
		w->dirty = 0;
		if (c != NULL)
			c->sync_token = w->token;
	}
	flush_later(w->p);
}

/* One answer from the writer: our own sibling, so anything odd is a bug. */
static int
answer(struct wpool *p, struct msg *m)
{
	struct wchan *w;
	struct conn *c;
	struct wmsg a;

	if (wmsg_dec_answer(m, &a) == -1 || a.slot >= p->nslots)
		return -1;
	/* A host that left its slot: what was asked before, not ours. */
	if ((w = p->slots[a.slot]) == NULL)
		return 0;
	c = w->rh != NULL ? w->rh->conn : NULL;
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
		/*
		 * The answer to an earlier HELLO, of a connection since
		 * replaced: the last one says where the writer stands.
		 * Taken, this one would open the new connection, and the
		 * last one would then move the position back behind the
		 * DATA that connection sent meanwhile (in a restart storm:
		 * "DATA refused: expected offset N").
		 */
		if (w->hello_out > 0)
			return 0;
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
 * that a pool costs no more than the small one between HELLOs.
 */
static uint8_t *
inbuf(struct wpool *p, size_t *cap)
{
	*cap = p->big != NULL ? WCHAN_MAX_IN : sizeof(p->in);
	return p->big != NULL ? p->big : p->in;
}

/* Before reading on: what is left of the buffer goes to its front. */
static void
input_keep(struct wpool *p, size_t off)
{
	uint8_t *buf = p->big != NULL ? p->big : p->in;

	p->inlen -= off;
	if (p->big != NULL && p->inlen <= sizeof(p->in)) {
		memcpy(p->in, p->big + off, p->inlen);
		free(p->big);
		p->big = NULL;
	} else
		memmove(buf, buf + off, p->inlen);
}

static void
input(struct wpool *p)
{
	struct msg m;
	uint8_t *buf;
	ssize_t n;
	size_t off, cap;
	int r;

	for (;;) {
		buf = inbuf(p, &cap);
		n = read(p->fd, buf + p->inlen, cap - p->inlen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			lost(p, n == 0 ? "exited" : "channel failed");
			return;
		}
		p->inlen += (size_t)n;
		off = 0;
		while ((r = msg_frame(buf + off, p->inlen - off, wmsg_answers,
		    &m)) == 1) {
			if (answer(p, &m) == -1)
				fatalx("from a writer: malformed answer (type %u)",
				    m.type);
			off += m.size;
			/* The answer may have closed the pool. */
			if (p->fd == -1)
				return;
		}
		if (r == -1)
			fatalx("from a writer: answer of type %u, %u bytes", m.type,
			    m.len);
		if (m.size > cap && (p->big = malloc(WCHAN_MAX_IN)) == NULL)
			fatal("writer channel");
		if (p->big != NULL && buf == p->in) {
			/* The long answer's start moves to its buffer. */
			p->inlen -= off;
			memcpy(p->big, p->in + off, p->inlen);
		} else
			input_keep(p, off);
	}
}

void
wchan_event(struct wpool *p, uint32_t events)
{
	if (p->fd == -1)
		return;
	if ((events & EPOLLOUT) && flush(p) == -1)
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		input(p);
}

void
wchan_reap(struct server *srv)
{
	struct wpool *p;
	struct wchan *w;

	while ((p = srv->wflush) != NULL) {
		srv->wflush = p->flush_next;
		p->flush_due = 0;
		(void)flush(p);		/* closed: nothing */
	}
	while ((w = srv->sdead) != NULL) {
		srv->sdead = w->dead_next;
		free(w);
	}
	while ((p = srv->wdead) != NULL) {
		srv->wdead = p->dead_next;
		free(p->big);
		free(p->slots);
		free(p);
	}
}
