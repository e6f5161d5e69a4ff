/*
 * The reading mode's hosts: each one's trail (trail.c, the writers' own
 * code, so the layout and the recovery are the receiver's) and the last
 * stream sequence written to it, in READER_STATE/HOST.
 *
 * Exactly once.  A message is acknowledged only after its bytes and that
 * sequence are durable (rdhost_commit), so a crash before the ack makes
 * the stream deliver it again, and then:
 *   - its stream sequence is at or below the state's: held already;
 *   - the state was not saved yet, but the trail holds its bytes (its
 *     segment is behind the trail's, or its end is within it, or it is
 *     of an earlier series whose segment an index names): held.
 * A message is written only where it continues the trail: the subject's
 * previous sequence (the header the publisher set, which the stream
 * checked) is the state's, and trail_check accepts its spool, segment and
 * offset.  Anything else is a gap: the host waits for the messages before
 * it, which the stream delivers again; the other hosts go on.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hosttab.h"
#include "log.h"
#include "publish.h"
#include "reader.h"
#include "tcur.h"

/* Trails open at once (four descriptors each); the idlest is closed. */
#define READER_OPEN_MAX		256
#define STATE_MAX		64

struct rdhost {
	char		 name[WIRE_MAX_HOST + 1];
	struct trail	*t;		/* NULL: closed */
	uint64_t	 last;		/* stream sequence last written */
	uint64_t	 dlast;		/* the same, durable */
	uint64_t	 used;		/* round of its last message */
	int		 touched, failed;
	int		 waiting;	/* at a gap: logged */
	uint64_t	 wait_since;	/* ms, monotonic */
	int		 refused;	/* could not be opened: logged */
	struct rdhost	*tnext;
};

static struct {
	int		 rootfd, statefd;
	struct trail_limits lim;
	struct hosttab	 hosts;		/* of rdhost */
	size_t		 nopen;
	struct rdhost	*touched;
	struct rdhost	*hint;		/* the last one found */
	uint64_t	 round, bytes, msgs;
} rd = { .rootfd = -1, .statefd = -1,
    .hosts = HOSTTAB_INIT(struct rdhost, name) };

static const uint8_t zero_id[WIRE_ID_LEN];

int
rdhost_init(int rootfd, const struct trail_limits *lim, char *err,
    size_t errlen)
{
	rd.rootfd = rootfd;
	rd.lim = *lim;
	rd.statefd = store_subdir(rootfd, READER_STATE, "state directory",
	    err, errlen);
	return rd.statefd == -1 ? -1 : 0;
}

/* 1: read, 0: none, -1: unreadable. */
static int
load_state(struct rdhost *h)
{
	char buf[STATE_MAX];
	struct tcur c;
	size_t len;
	int r;

	if ((r = hosttab_read_file(rd.statefd, h->name, buf, sizeof(buf),
	    &len)) != 1)
		return r;
	/* As save_state writes it. */
	tc_init(&c, buf, len);
	tc_lit(&c, "seq ");
	tc_dec(&c, UINT64_MAX, &h->last);
	tc_lit(&c, "\n");
	if (tc_end(&c) == -1) {
		errno = EINVAL;
		return -1;
	}
	h->dlast = h->last;
	return 1;
}

/* Written and renamed over; the directory's sync is the caller's. */
static int
save_state(const struct rdhost *h)
{
	char tmp[WIRE_MAX_HOST + 8], buf[STATE_MAX];
	int fd, len, ok;

	len = snprintf(buf, sizeof(buf), "seq %" PRIu64 "\n", h->last);
	snprintf(tmp, sizeof(tmp), "%s.tmp", h->name);
	if ((fd = openat(rd.statefd, tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0640)) == -1)
		return -1;
	ok = write(fd, buf, (size_t)len) == len && fdatasync(fd) == 0;
	if (close(fd) == -1 || !ok)
		return -1;
	return renameat(rd.statefd, tmp, rd.statefd, h->name);
}

static void
close_host(struct rdhost *h)
{
	if (h->t == NULL)
		return;
	trail_free(h->t);
	h->t = NULL;
	rd.nopen--;
}

/* Room for one more open trail: the one idle longest is closed. */
static void
make_room(void)
{
	struct rdhost *old = NULL, *h;
	size_t i;

	if (rd.nopen < READER_OPEN_MAX)
		return;
	for (i = 0; i < rd.hosts.n; i++) {
		h = rd.hosts.v[i];
		if (h->t != NULL && !h->touched &&
		    (old == NULL || h->used < old->used))
			old = h;
	}
	if (old != NULL)
		close_host(old);
}

/*
 * Its trail and state.  A trail without a state file was not made by
 * this mode (or its state was removed): which messages it holds is not
 * known, so it is left alone.  A new host's state (sequence 0) is durable
 * before its trail holds a byte.
 */
static int
open_host(struct rdhost *h, char *err, size_t errlen)
{
	int fd, r;

	make_room();
	if ((fd = store_subdir(rd.rootfd, h->name, "host directory", err,
	    errlen)) == -1 ||
	    (h->t = trail_open(fd, h->name, &rd.lim, err, errlen)) == NULL)
		return -1;
	rd.nopen++;
	h->last = h->dlast = 0;
	if ((r = load_state(h)) == 1)
		return 0;
	if (r == -1)
		snprintf(err, errlen, "host %s: %s/%s: %s", h->name,
		    READER_STATE, h->name, strerror(errno));
	else if (memcmp(h->t->pos.id, zero_id, sizeof(zero_id)) != 0)
		snprintf(err, errlen, "host %s: its trail holds records but "
		    "%s/%s, which says which messages, is missing; move the "
		    "directory away to read the host anew", h->name,
		    READER_STATE, h->name);
	else if (save_state(h) == 0 && fsync(rd.statefd) == 0)
		return 0;
	else
		snprintf(err, errlen, "host %s: saving %s/%s: %s", h->name,
		    READER_STATE, h->name, strerror(errno));
	close_host(h);
	return -1;
}

static struct rdhost *
find(const char *name)
{
	struct rdhost *h;
	size_t at;

	if (rd.hint != NULL && strcmp(rd.hint->name, name) == 0)
		return rd.hint;
	if ((h = hosttab_find(&rd.hosts, name, &at)) != NULL)
		return rd.hint = h;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	snprintf(h->name, sizeof(h->name), "%s", name);
	if (hosttab_insert(&rd.hosts, at, h) == -1) {
		free(h);
		return NULL;
	}
	return rd.hint = h;
}

struct rdhost *
rdhost_get(const char *name)
{
	struct rdhost *h;
	char err[1024];

	if ((h = find(name)) == NULL) {
		log_warn("host %s", name);
		return NULL;
	}
	h->used = rd.round;
	/* Failed this round: closed and reopened once it is over. */
	if (h->failed)
		return NULL;
	if (h->t != NULL)
		return h;
	if (open_host(h, err, sizeof(err)) == -1) {
		/* Once per episode: its messages come back every few s. */
		if (!h->refused)
			log_warnx("%s; its messages wait", err);
		h->refused = 1;
		return NULL;
	}
	if (h->refused)
		hlog_info(h->name, "its trail is open again");
	h->refused = 0;
	return h;
}

static void
touch(struct rdhost *h)
{
	if (h->touched)
		return;
	h->touched = 1;
	h->tnext = rd.touched;
	rd.touched = h;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
gap(struct rdhost *h, const struct reader_msg *m, const char *why)
{
	char idh[2 * WIRE_ID_LEN + 1];
	size_t i;

	if (h->waiting)
		return;
	for (i = 0; i < WIRE_ID_LEN; i++)
		snprintf(idh + 2 * i, 3, "%02x", m->spool[i]);
	hlog_warnx(h->name, "message %" PRIu64 " (spool %s segment %"
	    PRIu64 " offset %" PRIu64 ") does not follow its trail: %s; the "
	    "host waits for the messages before it", m->sseq, idh,
	    m->seg, m->off, why);
	h->waiting = 1;
	h->wait_since = mono_ms();
}

/*
 * A reader's crash leaves a gap for the ack wait (5 s); one that lasts
 * longer (a message terminated, a trail that cannot be opened) costs
 * less when its messages come back less often.
 */
long
rdhost_nak_ms(const struct rdhost *h)
{
	uint64_t waited = h != NULL && h->waiting ? mono_ms() - h->wait_since :
	    0;

	return h == NULL || waited > READER_LONG_WAIT_MS ? READER_NAK_LONG_MS :
	    READER_NAK_MS;
}

/* Whether segment seg of spool, not the current series, is in the trail. */
static int
in_older_series(const struct trail *t, const uint8_t spool[WIRE_ID_LEN],
    uint64_t seg)
{
	char idh[PUBLISH_SPOOL_LEN + 1];
	struct pubidx *x;
	uint64_t *v, file, start;
	size_t i;
	int found = 0;

	for (i = 0; i < WIRE_ID_LEN; i++)
		snprintf(idh + 2 * i, 3, "%02x", spool[i]);
	/* Its own: an index cache is per host, and this is rare. */
	if ((x = pubidx_new()) == NULL ||
	    (v = calloc(t->nfiles + 1, sizeof(*v))) == NULL) {
		pubidx_free(x);
		return -1;
	}
	for (i = 0; i < t->nfiles; i++)
		v[i] = t->files[i].num;
	found = pubidx_locate(x, t->storefd, v, t->nfiles, idh, seg, &file,
	    &start) == 0;
	free(v);
	pubidx_free(x);
	return found;
}

enum reader_verdict
rdhost_apply(struct rdhost *h, const struct reader_msg *m)
{
	const struct trail_pos *p = &h->t->pos;
	enum trail_verdict v;
	char why[256];
	int fresh;

	if (m->sseq <= h->last)
		return RV_HELD;
	fresh = memcmp(p->id, zero_id, sizeof(zero_id)) == 0;
	if (!fresh && memcmp(p->id, m->spool, WIRE_ID_LEN) == 0 &&
	    (m->seg < p->seq || (m->seg == p->seq &&
	    m->off + m->len <= p->size))) {
		/* Written before a crash that lost its state's save. */
		h->last = m->sseq;
		touch(h);
		return RV_HELD;
	}
	/* An earlier series is closed: what its segments hold is all. */
	if (!fresh && memcmp(p->id, m->spool, WIRE_ID_LEN) != 0) {
		switch (in_older_series(h->t, m->spool, m->seg)) {
		case 1:
			h->last = m->sseq;
			touch(h);
			return RV_HELD;
		case -1:
			hlog_warn(h->name, "reading its indexes");
			return RV_WAIT;
		}
	}
	/*
	 * Not even a new trail starts elsewhere than at the subject's first
	 * message: later ones come first when earlier ones are redelivered.
	 */
	if (m->expect != h->last) {
		snprintf(why, sizeof(why), "the subject's message before it is "
		    "%" PRIu64 ", the trail's last is %" PRIu64, m->expect,
		    h->last);
		gap(h, m, why);
		return RV_WAIT;
	}
	if ((v = trail_check(h->t, m->spool, m->seg, m->off)) == TRAIL_REJECT) {
		trail_expected(h->t, m->spool, m->seg, m->off, "offset", why,
		    sizeof(why));
		gap(h, m, why);
		return RV_WAIT;
	}

	/* Its segment ended where the next began: the receiver's E line. */
	if ((v == TRAIL_NEWSEG && !p->complete &&
	    trail_segend(h->t, p->id, p->seq, p->size) == -1) ||
	    trail_append(h->t, m->spool, m->seg, m->off, m->data,
	    m->len) == -1) {
		hlog_warn(h->name, "writing its trail");
		h->failed = 1;
		touch(h);
		return RV_WAIT;
	}
	if (h->waiting)
		hlog_info(h->name, "going on at message %" PRIu64,
		    m->sseq);
	h->waiting = 0;
	h->last = m->sseq;
	rd.bytes += m->len;
	rd.msgs++;
	touch(h);
	return RV_WRITTEN;
}

void
rdhost_commit(void)
{
	struct rdhost *h;
	int saved = 0;

	for (h = rd.touched; h != NULL; h = h->tnext) {
		if (h->failed)
			continue;
		if (trail_sync(h->t) == -1) {
			hlog_warn(h->name, "syncing its trail");
			h->failed = 1;
		} else if (h->last != h->dlast) {
			if (save_state(h) == -1) {
				hlog_warn(h->name, "saving %s/%s",
				    READER_STATE, h->name);
				h->failed = 1;
			} else
				saved = 1;
		}
	}
	if (saved && fsync(rd.statefd) == -1) {
		log_warn("syncing %s", READER_STATE);
		for (h = rd.touched; h != NULL; h = h->tnext)
			h->failed = 1;
	}
	for (h = rd.touched; h != NULL; h = h->tnext)
		if (!h->failed)
			h->dlast = h->last;
}

int
rdhost_failed(const struct rdhost *h)
{
	return h->failed;
}

void
rdhost_round_end(void)
{
	struct rdhost *h, *next;

	for (h = rd.touched; h != NULL; h = next) {
		next = h->tnext;
		/* Reopened from what is on disk: the trail's recovery. */
		if (h->failed)
			close_host(h);
		h->failed = h->touched = 0;
		h->tnext = NULL;
	}
	rd.touched = NULL;
	rd.round++;
}

void
rdhost_close_all(void)
{
	struct rdhost *h;
	size_t i;

	for (i = 0; i < rd.hosts.n; i++) {
		h = rd.hosts.v[i];
		close_host(h);
		free(h);
	}
	hosttab_clear(&rd.hosts);
	rd.hint = NULL;
}

void
rdhost_totals(uint64_t *bytes, uint64_t *msgs)
{
	*bytes = rd.bytes;
	*msgs = rd.msgs;
}
