/*
 * The publisher: a process of its own that reads each host's trail behind
 * the writers, as the auditor does (serial_read.c's helpers), and
 * publishes it to the subject PREFIX.HOST of a JetStream stream
 * (pubnats.c), in order, in chunks of whole lines.  It is off the path
 * that acknowledges data: a slow or absent NATS only makes it lag.
 *
 * Exactly once: each chunk lies within one sender segment, and its
 * message ID names where its bytes lie in the sender's terms,
 * HOST:SPOOL:SEGMENT:OFFSET (the spool id, 32 hex digits; the segment's
 * number, 16; the offset in it, decimal; pubidx.c finds them in the
 * trail's index), the same on every receiver of that sender.  Each
 * publication expects the subject's last sequence to be the one the
 * cursor holds.  The cursor (trail file, offset, that sequence) is saved
 * durably only after the stream acknowledged the chunk.  After a crash
 * between the two, the chunk is published again: the duplicate window
 * drops it when it is the same, and when it is not (more bytes had
 * arrived), the expected sequence refuses it; either way the publisher
 * then asks the stream for the subject's last message and goes on from
 * the end of it.  So do two receivers of one sender publishing one
 * subject: each goes on after the other's messages; one that lacks the
 * segment the stream ended with waits until its trail has it.
 *
 * It reads only what is durable: the bytes a file held when it was
 * fdatasync'ed here, whole lines only.  State in PUBLISH_DIR beside the
 * status file: HOST.cursor, replaced by rename.  It runs as the receiver's
 * user, may read the trails and write its state directory alone, and
 * connects to the configured servers' ports.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auditdistd.h"
#include "hosttab.h"
#include "log.h"
#include "publish.h"
#include "sandbox.h"
#include "serial.h"
#include "tcur.h"

#define PUBLISH_COMM		"auditdistd-pub"	/* ps, pgrep */
#define PUBLISH_ROUND_MS	500
#define PUBLISH_FULL		30		/* rounds between full reports */
#define PUBLISH_BUDGET		(64u << 20)	/* bytes per host per round */
#define PUBLISH_BACKOFF_MAX	30000		/* ms */
#define HELD_RETRY		10		/* rounds */
#define CURSOR_MAX		160

struct pcursor {
	uint64_t	file;		/* .store number; 0: nothing yet */
	uint64_t	off;		/* next byte to publish */
	uint64_t	seq;		/* the subject's last stream sequence */
	uint64_t	bytes;		/* published in all */
	uint64_t	time;		/* of the last publication, s */
};

struct phost {
	char		 name[WIRE_MAX_HOST + 1];
	const char	*path;		/* configured outside: its directory */
	char		 subj[CONF_PUBLISH_NAME_MAX + WIRE_MAX_HOST + 2];
	struct pcursor	 cur;
	uint64_t	 lag;		/* bytes durable and not published */
	struct pubidx	*idx;		/* its trail's index, parsed */
	int		 dirty;		/* figures the parent has not had */
	int		 held;		/* waits for its trail to reach the
					   stream's last message: logged */
	unsigned	 tries;		/* rounds held */
	int		 noidx;		/* a file without index: logged */
};

/* A host's trail files, as publish_host found them. */
struct ptrail {
	int		 storefd;
	uint64_t	*v;
	size_t		 n;
};

static struct {
	const struct parent_args *a;
	const struct conf_publish *c;
	int		 chan, statefd;
	struct hosttab	 hosts;		/* of phost */
	int		 up;		/* NATS answers and the stream fits */
	int		 progress;	/* this round published something */
	int		 failing;	/* a publication failed: logged */
	unsigned	 acks;		/* for the test hook */
	char		 buf[PUBLISH_CHUNK];
} pub = { .hosts = HOSTTAB_INIT(struct phost, name) };

/* The publish block's cafile, read at the start: the user may not read it. */
static char *ca_pem;
#define CA_PEM_MAX	(1024 * 1024)

static int
load_cursor(struct phost *h)
{
	char name[WIRE_MAX_HOST + 8], buf[CURSOR_MAX];
	struct pcursor c;
	struct tcur tc;
	size_t len;
	int r;

	snprintf(name, sizeof(name), "%s.cursor", h->name);
	if ((r = hosttab_read_file(pub.statefd, name, buf, sizeof(buf),
	    &len)) != 1)
		return r;
	/* As save_cursor writes it. */
	tc_init(&tc, buf, len);
	tc_lit(&tc, "file ");
	tc_hex(&tc, TRAIL_NAME_LEN, &c.file);
	tc_lit(&tc, " off ");
	tc_dec(&tc, UINT64_MAX, &c.off);
	tc_lit(&tc, " seq ");
	tc_dec(&tc, UINT64_MAX, &c.seq);
	tc_lit(&tc, " bytes ");
	tc_dec(&tc, UINT64_MAX, &c.bytes);
	tc_lit(&tc, " time ");
	tc_dec(&tc, UINT64_MAX, &c.time);
	tc_lit(&tc, "\n");
	if (tc_end(&tc) == -1) {
		errno = EINVAL;
		return -1;
	}
	h->cur = c;
	return 0;
}

/* Durably: write a new file, sync it, rename it over, sync the directory. */
static int
save_cursor(struct phost *h)
{
	char name[WIRE_MAX_HOST + 8], tmp[WIRE_MAX_HOST + 16], buf[CURSOR_MAX];
	int fd, len, ok;

	len = snprintf(buf, sizeof(buf), "file %016" PRIx64 " off %" PRIu64
	    " seq %" PRIu64 " bytes %" PRIu64 " time %" PRIu64 "\n",
	    h->cur.file, h->cur.off, h->cur.seq, h->cur.bytes, h->cur.time);
	snprintf(name, sizeof(name), "%s.cursor", h->name);
	snprintf(tmp, sizeof(tmp), "%s.cursor.tmp", h->name);
	if ((fd = openat(pub.statefd, tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0640)) == -1)
		goto fail;
	ok = write(fd, buf, (size_t)len) == len && fdatasync(fd) == 0;
	if (close(fd) == -1 || !ok ||
	    renameat(pub.statefd, tmp, pub.statefd, name) == -1 ||
	    fsync(pub.statefd) == -1)
		goto fail;
	h->dirty = 1;
	return 0;
fail:
	hlog_warn(h->name, "saving %s", name);
	return -1;
}

/* The subject's tokens must not be empty: a host named "a..b" has none. */
static void
make_subject(struct phost *h)
{
	snprintf(h->subj, sizeof(h->subj), "%s.%s", pub.c->subject_prefix,
	    h->name);
	if (h->name[0] == '.' || h->name[strlen(h->name) - 1] == '.' ||
	    strstr(h->name, "..") != NULL) {
		hlog_warnx(h->name, "its name makes no NATS "
		    "subject; it is not published");
		h->subj[0] = '\0';
	}
}

static struct phost *
find(const char *name, const char *path)
{
	struct phost *nh;
	size_t at;

	if ((nh = hosttab_find(&pub.hosts, name, &at)) != NULL)
		return nh;
	if ((nh = calloc(1, sizeof(*nh))) == NULL)
		return NULL;
	snprintf(nh->name, sizeof(nh->name), "%s", name);
	if ((nh->idx = pubidx_new()) == NULL ||
	    hosttab_insert(&pub.hosts, at, nh) == -1) {
		pubidx_free(nh->idx);
		free(nh);
		return NULL;
	}
	nh->path = path;
	make_subject(nh);
	if (load_cursor(nh) == -1) {
		hlog_warn(name, "its cursor; publishing from "
		    "the stream's last message on");
		memset(&nh->cur, 0, sizeof(nh->cur));
		nh->cur.seq = UINT64_MAX;	/* unknown: ask the stream */
	}
	nh->dirty = 1;
	return nh;
}

/* Bytes of the trail from (f1, o1) to (f2, o2), f1 <= f2. */
static uint64_t
span(const struct ptrail *tr, uint64_t f1, uint64_t o1, uint64_t f2,
    uint64_t o2)
{
	struct stat st;
	char name[32];
	uint64_t sum = o2;
	size_t i;

	if (f1 == f2)
		return o2 > o1 ? o2 - o1 : 0;
	for (i = 0; i < tr->n; i++)
		if (tr->v[i] >= f1 && tr->v[i] < f2 &&
		    store_name(name, sizeof(name), tr->v[i], 0) == 0 &&
		    fstatat(tr->storefd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			sum += (uint64_t)st.st_size - (tr->v[i] == f1 ? o1 : 0);
	return sum;
}

/*
 * Go on from the end of the subject's last message, wherever it came from
 * (this receiver, or another one of the same sender): its ID names the
 * sender's segment and offset, which the trail's index finds.  When the
 * trail does not hold that segment (yet), the host waits (h->held) and
 * this is tried again later.  -1: NATS failed.
 */
static int
resync(struct phost *h, const struct ptrail *tr)
{
	char id[256], err[512];
	uint64_t seq = 0, len = 0, file, start, to;
	struct pubid pid;
	int r, ours;

	if ((r = pubnats_last(h->subj, id, sizeof(id), &seq, &len, err,
	    sizeof(err))) == -1) {
		hlog_warnx(h->name, "the last message of %s: %s",
		    h->subj, err);
		return -1;
	}
	if (r == 0) {
		if (h->cur.seq != 0 && h->cur.seq != UINT64_MAX)
			hlog_warnx(h->name, "%s holds nothing; "
			    "going on from the cursor", h->subj);
		h->cur.seq = 0;
		return save_cursor(h);
	}
	ours = pubidx_parse_id(id, &pid) == 0;
	if (!ours || pid.hostlen != strlen(h->name) ||
	    memcmp(pid.host, h->name, pid.hostlen) != 0 ||
	    pubidx_locate(h->idx, tr->storefd, tr->v, tr->n, pid.spool,
	    pid.seg, &file, &start) == -1) {
		if (!h->held)
			hlog_warnx(h->name, "the last message of %s "
			    "(sequence %" PRIu64 ", %s) is not in this trail "
			    "(yet); waiting for it", h->subj, seq,
			    ours ? "another receiver's" : "not ours");
		h->held = 1;
		h->tries = 0;
		return 0;
	}
	to = start + pid.off + len;
	/* Routine when two receivers publish one host: debug, then. */
	if (h->held || h->cur.seq == UINT64_MAX)
		hlog_info(h->name, "going on after message %" PRIu64
		    " of %s (file %016" PRIx64 ", offset %" PRIu64 ")",
		    seq, h->subj, file, to);
	else if (file != h->cur.file || to != h->cur.off)
		hlog_debug(h->name, "going on after message %"
		    PRIu64 " of %s (file %016" PRIx64 ", offset %" PRIu64 ")",
		    seq, h->subj, file, to);
	h->held = 0;
	/* Bytes now in the stream that this run did not count. */
	if (h->cur.file != 0 && (file > h->cur.file ||
	    (file == h->cur.file && to > h->cur.off)))
		h->cur.bytes += span(tr, h->cur.file, h->cur.off, file, to);
	h->cur.file = file;
	h->cur.off = to;
	h->cur.seq = seq;
	return save_cursor(h);
}

#ifdef AUDITDIST_TEST_HOOKS
/*
 * AUDITDIST_TEST_PUBLISH_EXIT=HOST:N: die once, after the N-th
 * acknowledgement of HOST's chunks, before the cursor's save.
 */
static void
test_crash(const struct phost *h)
{
	const char *e = getenv("AUDITDIST_TEST_PUBLISH_EXIT"), *host;
	struct tcur c;
	uint64_t n;
	size_t len;
	int fd;

	if (e == NULL)
		return;
	tc_init(&c, e, strlen(e));
	tc_word(&c, ':', &host, &len);
	tc_lit(&c, ":");
	tc_dec(&c, UINT_MAX, &n);
	if (tc_end(&c) == -1 || len != strlen(h->name) ||
	    memcmp(host, h->name, len) != 0 || ++pub.acks != n)
		return;
	if ((fd = openat(pub.statefd, "test-exited", O_WRONLY | O_CREAT |
	    O_EXCL | O_CLOEXEC, 0640)) == -1)
		return;
	close(fd);
	log_warnx("test hook: exiting after an acknowledgement");
	_exit(0);
}
#else
#define test_crash(h)	do { } while (0)
#endif

/*
 * Publish len bytes at the cursor, in segment sg of file; 0, or -1: try
 * again later.  The cursor may have moved elsewhere (resync): the caller
 * reads anew.
 */
static int
send_chunk(struct phost *h, const struct ptrail *tr, const struct pubseg *sg,
    size_t len)
{
	char id[WIRE_MAX_HOST + PUBLISH_SPOOL_LEN + 48], err[512];
	uint64_t seq;
	int dup;

	if (h->cur.seq == UINT64_MAX)
		return resync(h, tr);
	snprintf(id, sizeof(id), "%s:%s:%016" PRIx64 ":%" PRIu64, h->name,
	    sg->spool, sg->seq, h->cur.off - sg->start);
	switch (pubnats_publish(h->subj, id, pub.buf, len, h->cur.seq, &seq,
	    &dup, err, sizeof(err))) {
	case PN_OK:
		break;
	case PN_MOVED:
		pub.progress = 1;
		return resync(h, tr);
	default:
		/* Once per episode: it is tried again every few seconds. */
		if (!pub.failing)
			hlog_warnx(h->name, "publishing %s: %s; "
			    "trying again", id, err);
		pub.failing = 1;
		return -1;
	}
	pub.failing = 0;
	test_crash(h);
	/* A duplicate may hold fewer bytes than this chunk: ask the stream. */
	if (dup) {
		pub.progress = 1;
		return resync(h, tr);
	}
	h->cur.off += len;
	h->cur.seq = seq;
	h->cur.bytes += len;
	h->cur.time = (uint64_t)time(NULL);
	pub.progress = 1;
	return save_cursor(h);
}

/*
 * Publish what file num holds durably from the cursor on, at most *left
 * bytes; *at_end: the cursor reached the file's end.  -1: try later.
 */
static int
publish_file(struct phost *h, const struct ptrail *tr, uint64_t num,
    uint64_t *left, int *at_end)
{
	struct pcursor was;
	struct pubseg sg;
	struct stat st;
	char name[32];
	uint64_t size;
	ssize_t r;
	size_t want, len;
	char *nl;
	int fd, ret = -1;

	*at_end = 0;
	if (store_name(name, sizeof(name), num, 0) == -1 ||
	    (fd = openat(tr->storefd, name, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	/* What it holds now is durable once this returns. */
	if (fstat(fd, &st) == -1)
		goto out;
	size = (uint64_t)st.st_size;
	if (size > h->cur.off && pub.up && fdatasync(fd) == -1)
		goto out;
	/* Shorter: the stream is ahead (another receiver); wait. */
	while (h->cur.off < size && *left > 0 && pub.up) {
		/* A chunk holds bytes of one sender segment. */
		if (pubidx_segment(h->idx, tr->storefd, num, h->cur.off,
		    &sg) == -1) {
			if (!h->noidx)
				hlog_warn(h->name, "the index of "
				    "trail file %s at %" PRIu64, name,
				    h->cur.off);
			h->noidx = 1;
			goto out;
		}
		h->noidx = 0;
		want = sizeof(pub.buf);
		if (size - h->cur.off < want)
			want = (size_t)(size - h->cur.off);
		if (sg.end != UINT64_MAX && sg.end - h->cur.off < want)
			want = (size_t)(sg.end - h->cur.off);
		if ((r = pread(fd, pub.buf, want, (off_t)h->cur.off)) <= 0)
			goto out;
		/* Whole lines only; a line is far shorter than a chunk. */
		if ((nl = memrchr(pub.buf, '\n', (size_t)r)) == NULL) {
			if ((size_t)r < sizeof(pub.buf))
				break;		/* a line not yet whole */
			len = (size_t)r;
		} else
			len = (size_t)(nl - pub.buf) + 1;
		was = h->cur;
		if (send_chunk(h, tr, &sg, len) == -1) {
			pub.up = 0;
			goto out;
		}
		if (h->cur.file != num || h->cur.off != was.off + len ||
		    h->held) {
			ret = 0;	/* it moved: read from the new place */
			goto out;
		}
		*left = *left > len ? *left - len : 0;
	}
	*at_end = h->cur.off >= size;
	ret = 0;
out:
	close(fd);
	return ret;
}

/* Bytes of the n files v from index i on, less the cursor's offset. */
static uint64_t
lag_of(const struct phost *h, int storefd, const uint64_t *v, size_t n,
    size_t i)
{
	struct stat st;
	char name[32];
	uint64_t sum = 0;

	for (; i < n; i++)
		if (store_name(name, sizeof(name), v[i], 0) == 0 &&
		    fstatat(storefd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			sum += (uint64_t)st.st_size;
	return sum > h->cur.off ? sum - h->cur.off : 0;
}

/* Move the cursor to file v[i], logging bytes retention took unread. */
static void
move_to(struct phost *h, uint64_t num)
{
	if (h->cur.file != 0 && num != h->cur.file + 1)
		hlog_warnx(h->name, "trail files after %016" PRIx64
		    " and before %016" PRIx64 " were removed before they were "
		    "published", h->cur.file, num);
	h->cur.file = num;
	h->cur.off = 0;
}

static void
publish_host(struct phost *h, int hostfd)
{
	struct ptrail tr = { -1, NULL, 0 };
	uint64_t *v, left = PUBLISH_BUDGET, was = h->lag;
	size_t n, i = 0;
	int storefd, at_end;

	if ((storefd = openat(hostfd, TRAIL_STORE, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		return;
	if (serial_list_files(storefd, &tr.v, &tr.n) == -1 || tr.n == 0)
		goto out;
	tr.storefd = storefd;
	v = tr.v;
	n = tr.n;
	/* Held: see now and then whether the trail reached the stream. */
	if (h->held && pub.up && ++h->tries % HELD_RETRY == 0 &&
	    resync(h, &tr) == -1)
		pub.up = 0;
	for (;;) {
		if ((i = serial_find_file(v, n, h->cur.file)) == n) {
			if (h->cur.file != 0)
				hlog_warnx(h->name, "its trail "
				    "was made anew; publishing it from its "
				    "start");
			h->cur.file = 0;
			i = 0;
		}
		if (v[i] != h->cur.file)
			move_to(h, v[i]);
		if (!pub.up || h->held || h->subj[0] == '\0' ||
		    publish_file(h, &tr, v[i], &left, &at_end) == -1 ||
		    !at_end || left == 0 || i + 1 == n ||
		    !serial_has_bytes(storefd, v[i + 1]))
			break;
		move_to(h, v[i + 1]);
		if (pub.up)
			(void)save_cursor(h);
	}
	h->lag = lag_of(h, storefd, v, n, i);
	if (h->lag != was)
		h->dirty = 1;
out:
	free(tr.v);
	close(storefd);
}

static void
tell(struct phost *h)
{
	uint8_t bbuf[CTL_PUBLISH_LEN], mbuf[CTL_MAX];
	struct wbuf body = { bbuf, 0, sizeof(bbuf), 0 };
	struct wbuf w = { mbuf, 0, sizeof(mbuf), 0 };

	wbuf_put_u64(&body, h->lag);
	wbuf_put_u64(&body, h->cur.bytes);
	wbuf_put_u64(&body, h->cur.time);
	ctl_put_body(&w, CTL_PUBLISH, h->name, body.buf, body.len,
	    ctl_from_publisher);
	if (write(pub.chan, w.buf, w.len) != (ssize_t)w.len)
		_exit(0);	/* the parent is gone */
	h->dirty = 0;
}

static void
visit(const char *name, const char *path, void *arg)
{
	struct phost *h;
	int fd;

	(void)arg;
	if ((h = find(name, path)) == NULL || h->path != path)
		return;
	fd = path != NULL ? open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) :
	    openat(pub.a->recvfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return;
	publish_host(h, fd);
	close(fd);
}

/* Whether NATS is usable, logging once when it stops and when it returns. */
static void
check_up(uint64_t now, uint64_t *down_since)
{
	char err[1024];

	if (pubnats_ready(err, sizeof(err))) {
		if (!pub.up && *down_since != 0)
			log_info("publishing again after %" PRIu64
			    " s", (now - *down_since) / 1000);
		pub.up = 1;
		*down_since = 0;
		return;
	}
	if (pub.up || *down_since == 0)
		log_warnx("%s; the trails are kept and published "
		    "once it is fixed", err);
	pub.up = 0;
	if (*down_since == 0)
		*down_since = now;
}

static void __attribute__((noreturn))
publish_run(void)
{
	struct pollfd p = { .fd = pub.chan, .events = POLLIN };
	uint64_t down_since = 0, backoff = 1000, next_try = 0, t;
	unsigned rounds = 0;
	struct phost *h;
	size_t i;

	for (;;) {
		t = now_ms();
		if (!pub.up && t >= next_try) {
			check_up(t, &down_since);
			backoff = pub.up ? 1000 : backoff * 2 >
			    PUBLISH_BACKOFF_MAX ? PUBLISH_BACKOFF_MAX :
			    backoff * 2;
			next_try = t + backoff;
		}
		pub.progress = 0;
		serial_each_host(pub.a, visit, NULL);
		for (i = 0; i < pub.hosts.n; i++) {
			h = pub.hosts.v[i];
			if (h->dirty || rounds % PUBLISH_FULL == 0)
				tell(h);
		}
		rounds++;
		if (poll(&p, 1, pub.progress ? 0 : PUBLISH_ROUND_MS) == 1)
			_exit(0);	/* the parent closed its end */
	}
}

void
publish_sandbox(struct sandbox *sb, const struct conf *c)
{
	static const char *const resolver[] = { "/etc/hosts",
	    "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/gai.conf",
	    "/etc/host.conf" };
	const char *p, *colon, *end;
	struct tcur tc;
	uint64_t port;
	size_t i;

	for (i = 0; i < sizeof(resolver) / sizeof(resolver[0]); i++)
		sandbox_path(sb, resolver[i], SB_READ);
	for (p = c->receiver.publish.urls; p != NULL && *p != '\0'; p = end) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		/* The scheme's colon is followed by "//": no port. */
		colon = memrchr(p, ':', (size_t)(end - p));
		port = 4222;
		if (colon != NULL && colon[1] != '/') {
			tc_init(&tc, colon + 1, (size_t)(end - colon - 1));
			if (tc_dec(&tc, UINT16_MAX, &port) == -1 ||
			    tc_end(&tc) == -1)
				port = 0;	/* not a port: any */
		}
		sandbox_connect_port(sb, (uint16_t)port);
		if (*end == ',')
			end++;
	}
}

static void __attribute__((noreturn))
publish_child(const struct parent_args *a, int chan, const char *statedir)
{
	struct sandbox *sb;
	char err[1024];

	log_procinit("publisher");
	pub.a = a;
	pub.c = &a->conf->receiver.publish;
	pub.chan = chan;
	if ((pub.statefd = open(statedir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		fatal("%s", statedir);
	sandbox_child_signals();	/* it stops when its channel closes */
	if (pubnats_init(pub.c, ca_pem, err, sizeof(err)) == -1)
		fatalx("%s", err);
	(void)prctl(PR_SET_NAME, PUBLISH_COMM, 0, 0, 0);
	sb = sandbox_new("publisher", SB_FILES | SB_INET | SB_THREADS);
	sandbox_path(sb, statedir, SB_READ | SB_WRITE);
	serial_sandbox_hosts(sb, a);
	publish_sandbox(sb, a->conf);
	sandbox_test_hook("/etc/passwd", SB_TEST_EXECVE);
	sandbox_apply(sb);
	log_debug("to %s, stream %s, state in %s", pub.c->urls,
	    pub.c->stream, statedir);
	publish_run();
}

int
publish_prepare(const struct conf *c, char *err, size_t len)
{
	const char *path = c->receiver.publish.cafile;
	ssize_t r;
	size_t n = 0;
	int fd;

	if (!c->receiver.publish.present || path == NULL)
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (ca_pem = malloc(CA_PEM_MAX + 1)) == NULL)
		goto fail;
	while (n < CA_PEM_MAX && (r = read(fd, ca_pem + n, CA_PEM_MAX - n)) != 0) {
		if (r == -1)
			goto fail;
		n += (size_t)r;
	}
	ca_pem[n] = '\0';
	close(fd);
	if (n == 0 || n == CA_PEM_MAX || strstr(ca_pem, "-----BEGIN") == NULL) {
		snprintf(err, len, "publish cafile %s: not a PEM file of "
		    "certificates (or over %d bytes)", path, CA_PEM_MAX);
		return -1;
	}
	return 0;
fail:
	snprintf(err, len, "publish cafile %s: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

const char *
publish_ca(void)
{
	return ca_pem;
}

pid_t
publish_start(const struct parent_args *a, int *chan)
{
	char dir[PATH_MAX];

	*chan = -1;
	if (!a->conf->receiver.publish.present)
		return -1;
	if (auditor_statedir(a->conf, PUBLISH_DIR, dir, sizeof(dir)) == -1) {
		log_warnx("needs a status_file, beside which it "
		    "keeps its cursors; not publishing");
		return -1;
	}
	return auditor_fork(a, "publisher", dir, publish_child, chan);
}
