/*
 * The serial-gap counter: lines in, events out of libauparse, serials
 * tracked per boot.  What counts as a gap is in docs/serial-gaps.md.
 *
 * The serials above the settled floor that arrived (or were excused by an
 * auditd restart) are kept as a sorted list of intervals; each hole below
 * the newest interval is a candidate gap, settled once the stream has
 * moved past it by SERIAL_WINDOW serials and SERIAL_WINDOW_MS of audit
 * time, so that records that interleave, and events libauparse holds back
 * until its end-of-event timeout, are not mistaken for losses.
 *
 * Events come out of libauparse wherever the stream is not plainly in
 * order.  In order (each event's records together, each event's serial
 * above the one before, one node, kernel records with a plain stamp), an
 * event is a run of records with the same node and stamp, and this file
 * counts it by hand: that is what libauparse would make of it, at a
 * small part of the cost.  A record that breaks the order, and those after
 * it until SERIAL_AU_RUNS events in order have gone by, go to libauparse,
 * which then gives up what it holds before the next event counted by
 * hand.  Either way an event cut in two is the same serial twice, which
 * counts once.
 *
 * Only lines that look like records reach libauparse (the rest are
 * counted as bad); it copies what it is fed, so this file keeps nothing
 * but the one line that a chunk may have cut, and the last record's key.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <auparse.h>

#include "serial.h"
#include "tcur.h"

#define SERIAL_MAX	UINT32_MAX	/* the kernel's serial is 32 bits */
#define TIME_MAX_MS	(UINT64_C(1) << 52)
#define TYPE_DAEMON_FIRST 1200		/* AUDIT_FIRST_DAEMON */
#define TYPE_DAEMON_LAST 1299		/* AUDIT_LAST_DAEMON */
#define TYPE_DAEMON_START 1200
#define TYPE_DAEMON_END	1201
#define TYPE_DAEMON_ABORT 1202
#define NODE_MAX	256		/* longer node names: to libauparse */
#define SERIAL_AU_RUNS	16		/* events in order before by hand */

/* What one_line found in a record. */
struct rec {
	const char	*node;		/* NULL: none */
	size_t		 nnode;
	uint64_t	 sec, ms, serial;
	int		 eoe;
	int		 plain;		/* a kernel record, stamp in range */
};

struct iv {
	uint64_t	lo, hi;		/* serials present (or excused) */
	uint64_t	t;		/* audit time of lo's event, ms */
};

struct serial {
	auparse_state_t	*au;
	serial_gap_fn	*gapfn;
	void		*arg;
	struct serial_pos pos;
	struct serial_stats st;
	int		 started;	/* a kernel serial of this boot seen */
	uint64_t	 resync;	/* 0, or high + 1 when auditd started,
					   stopped or bytes went unread */
	uint64_t	 floor;		/* every serial <= floor is settled */
	uint64_t	 maxtime;	/* latest audit time seen, ms */
	uint64_t	 last;		/* the previous event's serial */
	uint64_t	 cand;		/* far below the floor: a reboot? */
	struct iv	*iv;
	size_t		 niv, capiv;
	char		*line;		/* a line cut by the chunk's end */
	size_t		 nline;
	int		 overlong;	/* dropping a line past SERIAL_LINE_MAX */
	/* The last record's key, and where records go (not saved). */
	int		 kvalid;
	char		 knode[NODE_MAX];
	size_t		 knnode;
	uint64_t	 ksec, kms, kserial;
	int		 by_au;		/* to libauparse, until ... */
	unsigned	 inorder;	/* ... SERIAL_AU_RUNS events in order */
};

static void	event_cb(auparse_state_t *, auparse_cb_event_t, void *);

static int
au_start(struct serial *s)
{
	if ((s->au = auparse_init(AUSOURCE_FEED, NULL)) == NULL)
		return -1;
	auparse_add_callback(s->au, event_cb, s, NULL);
	return 0;
}

struct serial *
serial_new(serial_gap_fn *fn, void *arg)
{
	struct serial *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->gapfn = fn;
	s->arg = arg;
	/* libauparse and the line buffer are made when bytes come. */
	return s;
}

void
serial_free(struct serial *s)
{
	if (s == NULL)
		return;
	if (s->au != NULL)
		auparse_destroy(s->au);
	free(s->iv);
	free(s->line);
	free(s);
}

static uint64_t
high(const struct serial *s)
{
	return s->niv > 0 ? s->iv[s->niv - 1].hi : s->floor;
}

static void
report(struct serial *s, uint64_t from, uint64_t to, uint64_t t)
{
	struct serial_gap g;

	g.boot = s->st.boots;
	g.from = from;
	g.to = to;
	g.time_ms = t;
	s->st.gaps++;
	s->st.missing += to - from + 1;
	if (s->gapfn != NULL)
		s->gapfn(&g, s->arg);
}

/* The lowest interval becomes the floor; the hole under it, a gap. */
static void
pop_lowest(struct serial *s)
{
	if (s->iv[0].lo > s->floor + 1)
		report(s, s->floor + 1, s->iv[0].lo - 1, s->iv[0].t);
	s->floor = s->iv[0].hi;
	s->niv--;
	memmove(s->iv, s->iv + 1, s->niv * sizeof(*s->iv));
}

static void
settle(struct serial *s)
{
	while (s->niv > 0) {
		const struct iv *lo = &s->iv[0];

		if (lo->lo != s->floor + 1 &&
		    (high(s) - (lo->lo - 1) < SERIAL_WINDOW ||
		    s->maxtime < lo->t + SERIAL_WINDOW_MS)) {
			if (s->niv <= SERIAL_MAX_HOLES)
				break;
			s->st.forced++;
		}
		pop_lowest(s);
	}
}

/* Nothing more of this boot can come: every hole is a gap. */
static void
settle_all(struct serial *s)
{
	while (s->niv > 0)
		pop_lowest(s);
}

static int
grow(struct serial *s)
{
	struct iv *n;
	size_t cap;

	if (s->niv < s->capiv)
		return 0;
	cap = s->capiv ? s->capiv * 2 : 16;
	if ((n = reallocarray(s->iv, cap, sizeof(*n))) == NULL)
		return -1;
	s->iv = n;
	s->capiv = cap;
	return 0;
}

/* Serial n (> floor) arrived at audit time t. */
static int
insert(struct serial *s, uint64_t n, uint64_t t)
{
	size_t a = 0, b = s->niv, i;

	if (s->niv > 0 && n == s->iv[s->niv - 1].hi + 1) {
		s->iv[s->niv - 1].hi = n;	/* the usual case */
		return 0;
	}
	/* i: the first interval that n touches or precedes. */
	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (s->iv[m].hi + 1 < n)
			a = m + 1;
		else
			b = m;
	}
	i = a;
	if (i < s->niv && n >= s->iv[i].lo && n <= s->iv[i].hi)
		return 0;			/* split by a flush: seen */
	if (i < s->niv && n == s->iv[i].hi + 1) {
		s->iv[i].hi = n;
		if (i + 1 < s->niv && s->iv[i + 1].lo == n + 1) {
			s->iv[i].hi = s->iv[i + 1].hi;
			s->niv--;
			memmove(s->iv + i + 1, s->iv + i + 2,
			    (s->niv - i - 1) * sizeof(*s->iv));
		}
		return 0;
	}
	if (i < s->niv && n + 1 == s->iv[i].lo) {
		s->iv[i].lo = n;
		s->iv[i].t = t;
		return 0;
	}
	if (grow(s) == -1)
		return -1;
	memmove(s->iv + i + 1, s->iv + i, (s->niv - i) * sizeof(*s->iv));
	s->iv[i].lo = s->iv[i].hi = n;
	s->iv[i].t = t;
	s->niv++;
	return 0;
}

static void
start_boot(struct serial *s, uint64_t n, uint64_t t)
{
	s->started = 1;
	s->last = n;
	s->cand = 0;
	s->resync = 0;
	s->floor = n;
	s->maxtime = t;
	s->niv = 0;
}

/* A kernel event's serial n, stamped t (ms). */
static void
kernel_serial(struct serial *s, uint64_t n, uint64_t t)
{
	if (!s->started) {
		start_boot(s, n, t);
		return;
	}
	if (n < s->floor && s->floor - n > SERIAL_WINDOW) {
		/*
		 * Far below: a new boot if auditd started since, or if the
		 * event before was far below too, just under this one;
		 * else one event very late.
		 */
		if (n == s->last)
			return;			/* its second part */
		if (s->resync == 0 && (s->cand == 0 || n <= s->cand ||
		    n - s->cand > SERIAL_WINDOW)) {
			s->cand = n;
			s->st.stale++;
			return;
		}
		settle_all(s);
		s->st.boots++;
		if (s->resync == 0)
			s->st.stale--;		/* cand was the boot's first */
		start_boot(s, s->resync == 0 ? s->cand : n, t);
		if (n == s->floor)
			return;
	}
	s->cand = 0;
	if (t > s->maxtime)
		s->maxtime = t;
	if (n <= s->floor) {
		/* The rest of an event libauparse gave in two parts. */
		if (n != s->last)
			s->st.stale++;
		return;
	}
	if (s->resync != 0 && n > high(s) + 1) {
		/* Serials jumped across an auditd restart: excused. */
		if (s->niv > 0)
			s->iv[s->niv - 1].hi = n;
		else
			s->floor = n;
		s->resync = 0;
	} else if (insert(s, n, t) == -1) {
		/* No memory for a hole: settle the oldest ones instead. */
		s->st.forced++;
		settle_all(s);
		s->floor = n;
	}
	/* Events held back from before come first; then it expires. */
	if (s->resync != 0 && n > s->resync + SERIAL_WINDOW)
		s->resync = 0;
	settle(s);
}

static void
event_cb(auparse_state_t *au, auparse_cb_event_t what, void *arg)
{
	struct serial *s = arg;
	const au_event_t *e;
	uint64_t t;
	int type;

	if (what != AUPARSE_CB_EVENT_READY)
		return;
	s->st.events++;
	s->st.in_events += auparse_get_num_records(au);
	if (auparse_first_record(au) <= 0 ||
	    (e = auparse_get_timestamp(au)) == NULL)
		return;
	type = auparse_get_type(au);
	if (type >= TYPE_DAEMON_FIRST && type <= TYPE_DAEMON_LAST) {
		/* auditd numbers its own records separately. */
		s->st.daemon++;
		if (type == TYPE_DAEMON_START || type == TYPE_DAEMON_END ||
		    type == TYPE_DAEMON_ABORT) {
			s->st.restarts++;
			if (s->started)
				s->resync = high(s) + 1;
		}
		return;
	}
	if (e->serial > SERIAL_MAX) {
		s->st.stale++;
		return;
	}
	if (e->sec < 0)
		t = 0;
	else if ((uint64_t)e->sec >= TIME_MAX_MS / 1000)
		t = TIME_MAX_MS;
	else
		t = (uint64_t)e->sec * 1000 + (e->milli % 1000);
	kernel_serial(s, e->serial, t);
	s->last = e->serial;
}

/* libauparse gives up the events it holds, and goes until needed again. */
static int
au_stop(struct serial *s)
{
	if (s->au == NULL)
		return 0;
	if (auparse_flush_feed(s->au) == -1)
		return -1;
	auparse_destroy(s->au);
	s->au = NULL;
	return 0;
}

/* A record of an event in order, counted here: see the top of the file. */
static int
by_hand(struct serial *s, const struct rec *r, int first)
{
	if (au_stop(s) == -1)
		return -1;
	s->st.in_events += (uint64_t)!r->eoe;
	if (!first)
		return 0;
	s->st.events++;
	kernel_serial(s, r->serial, r->sec * 1000 + r->ms);
	s->last = r->serial;
	return 0;
}

/* 1 to 20 digits; *v their value, or UINT64_MAX past 19 digits. */
static int
get_digits(const char **pp, const char *end, uint64_t *v)
{
	const char *p = *pp;
	uint64_t x = 0;

	for (; p < end && *p >= '0' && *p <= '9'; p++)
		x = x * 10 + (uint64_t)(*p - '0');
	if (p == *pp || p - *pp > 20)
		return -1;
	*v = p - *pp > 19 ? UINT64_MAX : x;
	*pp = p;
	return 0;
}

static int
get_lit(const char **pp, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *pp) < n || memcmp(*pp, lit, n) != 0)
		return -1;
	*pp += n;
	return 0;
}

/*
 * [node=NAME ]type=TYPE msg=audit(SEC.MS:SERIAL): and no NUL: what
 * libauparse is given (NAME printable without blanks, TYPE of A-Z 0-9 _
 * [ ], at most one 0x1D).  p..end excludes the newline.  Plain: auditd's
 * own records (DAEMON_*, and UNKNOWN[N] that may be one), EOE and odd
 * stamps are not, and are left to libauparse when they begin an event.
 * Read by hand, not through tcur: it runs for every record, and the same
 * checks through tcur cost a third more instructions (docs/serial-gaps.md).
 */
static int
is_record(const char *p, const char *end, struct rec *r)
{
	const char *q, *ms;
	int cwd;

	if (memchr(p, '\0', (size_t)(end - p)) != NULL)
		return 0;
	r->node = NULL;
	r->nnode = 0;
	if (get_lit(&p, end, "node=") == 0) {
		for (q = p; q < end && *q > ' ' && *q < 0x7f; q++)
			;
		if (q == p || q == end || *q != ' ')
			return 0;
		r->node = p;
		r->nnode = (size_t)(q - p);
		p = q + 1;
	}
	if (get_lit(&p, end, "type=") == -1)
		return 0;
	/* A name or UNKNOWN[1234]: libauparse leaks on some others. */
	for (q = p; q < end && ((*q >= 'A' && *q <= 'Z') ||
	    (*q >= '0' && *q <= '9') || *q == '_' || *q == '[' || *q == ']');
	    q++)
		;
	if (q == p)
		return 0;
	r->eoe = q - p == 3 && memcmp(p, "EOE", 3) == 0;
	cwd = q - p == 3 && memcmp(p, "CWD", 3) == 0;
	r->plain = !r->eoe && r->nnode <= NODE_MAX && (q - p < 7 ||
	    (memcmp(p, "DAEMON_", 7) != 0 && memcmp(p, "UNKNOWN", 7) != 0));
	p = q;
	if (get_lit(&p, end, " msg=audit(") == -1 ||
	    get_digits(&p, end, &r->sec) == -1 || get_lit(&p, end, ".") == -1)
		return 0;
	ms = p;
	if (get_digits(&p, end, &r->ms) == -1)
		return 0;
	/* Milliseconds as the kernel writes them: three digits. */
	if (p - ms != 3 || r->sec >= TIME_MAX_MS / 1000)
		r->plain = 0;
	if (get_lit(&p, end, ":") == -1 ||
	    get_digits(&p, end, &r->serial) == -1 ||
	    get_lit(&p, end, "):") == -1)
		return 0;
	if (r->serial > SERIAL_MAX)
		r->plain = 0;
	/*
	 * A second header (two records run together) or a second 0x1D
	 * (ENRICHED has one, before the interpretations): not a record, and
	 * libauparse leaks on such lines.
	 */
	if (memmem(p, (size_t)(end - p), "msg=audit(", 10) != NULL ||
	    ((q = memchr(p, 0x1d, (size_t)(end - p))) != NULL &&
	    memchr(q + 1, 0x1d, (size_t)(end - q - 1)) != NULL))
		return 0;
	/*
	 * libauparse 3.0.9 leaks the first of two cwd fields.  The kernel
	 * writes one, quoted only when it holds no blank, else in hex.
	 */
	if (cwd && (q = memmem(p, (size_t)(end - p), " cwd=", 5)) != NULL &&
	    memmem(q + 5, (size_t)(end - q - 5), " cwd=", 5) != NULL)
		return 0;
	return 1;
}

/* Whole lines p..end (each with its newline), given in one call. */
static int
feed_run(struct serial *s, const char *p, size_t len)
{
	if (len == 0)
		return 0;
	if (s->au == NULL && au_start(s) == -1) {
		errno = ENOMEM;
		return -1;
	}
	return auparse_feed(s->au, p, len);
}

/* Where a line goes. */
enum { LINE_BAD, LINE_AU, LINE_HAND, LINE_HAND_FIRST };

/*
 * A record's way, from its key and the last record's (which it becomes):
 * the same key, the same way; a new event in order, by hand once
 * SERIAL_AU_RUNS came in order since libauparse last had to step in.
 */
static int
route(struct serial *s, const struct rec *r)
{
	int node, same, in_order;

	node = !s->kvalid || (r->nnode == s->knnode && (r->nnode == 0 ||
	    memcmp(r->node, s->knode, r->nnode) == 0));
	same = s->kvalid && node && r->serial == s->kserial &&
	    r->sec == s->ksec && r->ms == s->kms;
	if (same)
		return s->by_au ? LINE_AU : LINE_HAND;
	in_order = r->plain && node && (!s->kvalid || r->serial > s->kserial);
	if ((s->kvalid = r->nnode <= NODE_MAX)) {
		if (r->nnode > 0)
			memcpy(s->knode, r->node, r->nnode);
		s->knnode = r->nnode;
		s->ksec = r->sec;
		s->kms = r->ms;
		s->kserial = r->serial;
	}
	if (!in_order) {
		s->by_au = 1;
		s->inorder = 0;
		return LINE_AU;
	}
	if (s->by_au && ++s->inorder < SERIAL_AU_RUNS)
		return LINE_AU;
	s->by_au = 0;
	return LINE_HAND_FIRST;
}

/* Count one whole line, newline included, and say where it goes. */
static int
one_line(struct serial *s, const char *p, size_t len, struct rec *r)
{
	int way;

	s->st.lines++;
	s->st.bytes += len;
	s->pos.off += len;
	if (len > SERIAL_LINE_MAX || !is_record(p, p + len - 1, r)) {
		s->st.bad++;
		return LINE_BAD;
	}
	s->st.records++;
	s->st.eoe += (uint64_t)r->eoe;
	if ((way = route(s, r)) == LINE_AU)
		s->st.auparsed++;
	return way;
}

/* Give the line p..len where one_line sent it. */
static int
take(struct serial *s, int way, const struct rec *r, const char *p,
    size_t len)
{
	switch (way) {
	case LINE_AU:
		return feed_run(s, p, len);
	case LINE_HAND:
		return by_hand(s, r, 0);
	case LINE_HAND_FIRST:
		return by_hand(s, r, 1);
	}
	return 0;
}

/* The end of a line begun in an earlier chunk. */
static size_t
finish_line(struct serial *s, const char *p, size_t len, int *done)
{
	const char *nl = memchr(p, '\n', len);
	size_t n = nl != NULL ? (size_t)(nl - p) + 1 : len;
	struct rec r;

	*done = 0;
	if (s->overlong || s->nline + n > SERIAL_LINE_MAX) {
		if (!s->overlong) {
			s->overlong = 1;
			s->st.bad++;
			s->st.lines++;
		}
		s->pos.off += s->nline + n;
		s->st.bytes += s->nline + n;
		s->nline = 0;
		if (nl != NULL) {
			s->overlong = 0;
			*done = 1;
		}
		return n;
	}
	if (s->line == NULL && (s->line = malloc(SERIAL_LINE_MAX)) == NULL)
		return (size_t)-1;
	memcpy(s->line + s->nline, p, n);
	s->nline += n;
	if (nl == NULL)
		return n;
	*done = 1;
	n = s->nline;
	s->nline = 0;
	if (take(s, one_line(s, s->line, n, &r), &r, s->line, n) == -1)
		return (size_t)-1;
	return (size_t)(nl - p) + 1;
}

int
serial_feed(struct serial *s, const void *buf, size_t len)
{
	const char *p = buf, *end = p + len, *run = p, *nl;
	struct rec r;
	size_t n;
	int done, way;

	if (s->nline > 0 || s->overlong) {
		if ((n = finish_line(s, p, len, &done)) == (size_t)-1)
			return -1;
		p = run = p + n;
		if (!done)
			return 0;
	}
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n = (size_t)(nl - p) + 1;
		/* libauparse takes runs of lines in one call. */
		if ((way = one_line(s, p, n, &r)) != LINE_AU) {
			if (feed_run(s, run, (size_t)(p - run)) == -1 ||
			    take(s, way, &r, p, n) == -1)
				return -1;
			run = nl + 1;
		}
		p = nl + 1;
	}
	if (feed_run(s, run, (size_t)(p - run)) == -1)
		return -1;
	if (p < end && (n = finish_line(s, p, (size_t)(end - p), &done)) ==
	    (size_t)-1)
		return -1;
	return 0;
}

/* The file ended: a line it cut is not a record. */
void
serial_end_file(struct serial *s)
{
	if (s->nline > 0 || s->overlong) {
		if (!s->overlong) {
			s->st.bad++;
			s->st.lines++;
		}
		s->st.bytes += s->nline;
		s->pos.off += s->nline;
		s->nline = 0;
		s->overlong = 0;
	}
}

/*
 * Go on reading at file/off, dropping any line begun.  After bytes were
 * skipped, the next jump up in serials is not a gap; after a cut, the
 * records sent again are serials already seen.
 */
void
serial_seek(struct serial *s, uint64_t file, uint64_t off,
    enum serial_seek why)
{
	s->pos.file = file;
	s->pos.off = off;
	s->nline = 0;
	s->overlong = 0;
	if (why == SERIAL_SKIP) {
		s->st.skipped++;
		if (s->started)
			s->resync = high(s) + 1;
	} else if (why == SERIAL_CUT)
		s->st.cutback++;
}

void
serial_get_stats(const struct serial *s, struct serial_stats *st)
{
	*st = s->st;
	st->open = s->niv;
}

void
serial_get_pos(const struct serial *s, struct serial_pos *pos)
{
	*pos = s->pos;
	pos->buffered = s->overlong ? 0 : s->nline;
}


/*
 * The state, as text:
 *   serial 1
 *   pos FILE OFF
 *   boot STARTED RESYNC FLOOR MAXTIME_MS LAST CAND
 *   stats bytes=N lines=N ... (every field of serial_stats, in order)
 *   holes N
 *   LO HI TIME_MS		(N lines: the intervals above the floor)
 *   end
 * Decimal, single spaces, no leading zeros.  Saving first makes libauparse
 * give up the events it holds, so that nothing but whole lines before
 * pos.off was consumed; an event cut in two is the same serial twice.
 */
#define STATE_MAGIC	"serial 1\n"

static const char *const stat_names[] = {
	"bytes", "lines", "bad", "records", "eoe", "events", "in_events",
	"daemon", "stale", "boots", "restarts", "gaps", "missing", "forced",
	"skipped", "cutback",
};
#define NSTATS	(sizeof(stat_names) / sizeof(stat_names[0]))

static uint64_t *
stat_field(struct serial_stats *st, size_t i)
{
	uint64_t *f[] = { &st->bytes, &st->lines, &st->bad, &st->records,
	    &st->eoe, &st->events, &st->in_events, &st->daemon, &st->stale,
	    &st->boots,
	    &st->restarts, &st->gaps, &st->missing, &st->forced, &st->skipped,
	    &st->cutback };

	_Static_assert(sizeof(f) / sizeof(f[0]) == NSTATS, "stat names");
	return f[i];
}

struct out {
	char	*buf;
	size_t	 len, cap;
	int	 full;
};

static void
put(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->full = 1;
	else
		o->len += (size_t)n;
}

/*
 * Make libauparse give up the events it holds (those of a quiet host wait
 * for more records), and free it and the line buffer: a counter between
 * two reads holds only its state (a receiver keeps one per host), and the
 * next bytes start libauparse afresh, as after a restore.
 */
int
serial_flush(struct serial *s)
{
	if (au_stop(s) == -1)
		return -1;
	if (s->nline == 0 && !s->overlong) {
		free(s->line);
		s->line = NULL;
	}
	return 0;
}

int
serial_save(struct serial *s, char *buf, size_t cap, size_t *len)
{
	struct out o = { buf, 0, cap, 0 };
	size_t i;

	if (serial_flush(s) == -1)
		return -1;
	put(&o, STATE_MAGIC "pos %" PRIu64 " %" PRIu64 "\n", s->pos.file,
	    s->pos.off);
	put(&o, "boot %d %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %"
	    PRIu64 "\n", s->started, s->resync, s->floor, s->maxtime, s->last,
	    s->cand);
	put(&o, "stats");
	for (i = 0; i < NSTATS; i++)
		put(&o, " %s=%" PRIu64, stat_names[i],
		    *stat_field(&s->st, i));
	put(&o, "\nholes %zu\n", s->niv);
	for (i = 0; i < s->niv; i++)
		put(&o, "%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", s->iv[i].lo,
		    s->iv[i].hi, s->iv[i].t);
	put(&o, "end\n");
	if (o.full) {
		errno = ENOSPC;
		return -1;
	}
	*len = o.len;
	return 0;
}

/* 0 or 1. */
static int
get_flag(struct tcur *c, int *v)
{
	uint64_t x;

	if (tc_dec(c, 1, &x) == -1)
		return -1;
	*v = (int)x;
	return 0;
}

static int
load_holes(struct serial *s, struct tcur *c)
{
	uint64_t n, i, prev;

	tc_lit(c, "holes ");
	tc_dec(c, SERIAL_MAX_HOLES, &n);
	if (tc_lit(c, "\n") == -1 || (!s->started && n > 0))
		return -1;
	prev = s->floor;		/* the first hole starts above it */
	for (i = 0; i < n; i++) {
		struct iv v;

		tc_dec(c, SERIAL_MAX, &v.lo);
		tc_lit(c, " ");
		tc_dec(c, SERIAL_MAX, &v.hi);
		tc_lit(c, " ");
		tc_dec(c, TIME_MAX_MS, &v.t);
		if (tc_lit(c, "\n") == -1 || v.lo < prev + 2 || v.hi < v.lo ||
		    grow(s) == -1)
			return -1;
		s->iv[s->niv++] = v;
		prev = v.hi;
	}
	return 0;
}

struct serial *
serial_load(const char *text, size_t len, serial_gap_fn *fn, void *arg)
{
	struct serial *s;
	struct tcur c;
	size_t i;

	if ((s = serial_new(fn, arg)) == NULL)
		return NULL;
	tc_init(&c, text, len);
	tc_lit(&c, STATE_MAGIC "pos ");
	tc_dec(&c, UINT64_MAX, &s->pos.file);
	tc_lit(&c, " ");
	tc_dec(&c, UINT64_MAX, &s->pos.off);
	tc_lit(&c, "\nboot ");
	get_flag(&c, &s->started);
	tc_lit(&c, " ");
	tc_dec(&c, (uint64_t)SERIAL_MAX + 1, &s->resync);
	tc_lit(&c, " ");
	tc_dec(&c, SERIAL_MAX, &s->floor);
	tc_lit(&c, " ");
	tc_dec(&c, TIME_MAX_MS, &s->maxtime);
	tc_lit(&c, " ");
	tc_dec(&c, SERIAL_MAX, &s->last);
	tc_lit(&c, " ");
	tc_dec(&c, SERIAL_MAX, &s->cand);
	tc_lit(&c, "\nstats");
	for (i = 0; i < NSTATS; i++) {
		tc_lit(&c, " ");
		tc_lit(&c, stat_names[i]);
		tc_lit(&c, "=");
		tc_dec(&c, UINT64_MAX, stat_field(&s->st, i));
	}
	if (tc_lit(&c, "\n") == -1 ||
	    (!s->started && (s->floor != 0 || s->resync)) ||
	    load_holes(s, &c) == -1 || tc_lit(&c, "end\n") == -1 ||
	    tc_end(&c) == -1)
		goto bad;
	return s;
bad:
	serial_free(s);
	errno = EINVAL;
	return NULL;
}
