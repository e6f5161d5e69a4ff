/*
 * A host's trail: where the bytes a sender ships are appended, and where
 * the resume point comes from.  Only whole frames (whole lines) are ever
 * left on disk, and trail_sync is the only way a position becomes
 * something an ACK may carry.
 *
 * The index of a trail file has one line per sender segment start,
 *   S <spool id, 32 hex> <seq, 16 hex> <offset in the trail file>
 * and one per segment the sender declared complete,
 *   E <seq, 16 hex> <size>
 * An S line is made durable before any byte of its segment is written, so
 * after a crash every byte of the file belongs to the last S line at or
 * before it: the resume point is computed from the files alone.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auditdistd.h"
#include "log.h"
#include "tcur.h"

#define IDX_LINE_MAX	96

static const uint8_t zero_id[WIRE_ID_LEN];

static void
hex(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void
trail_pos_str(const struct trail_pos *p, char *buf, size_t len)
{
	char id[2 * WIRE_ID_LEN + 1];

	if (memcmp(p->id, zero_id, sizeof(zero_id)) == 0) {
		snprintf(buf, len, "nothing");
		return;
	}
	hex(id, p->id, WIRE_ID_LEN);
	snprintf(buf, len, "spool %s seq %" PRIu64 " size %" PRIu64 "%s", id,
	    p->seq, p->size, p->complete ? " complete" : "");
}

/* One index line (without its newline): S or E, as the top says. */
struct idx_line {
	char		 kind;
	uint8_t		 id[WIRE_ID_LEN];	/* S */
	uint64_t	 seq;
	uint64_t	 num;			/* S: offset; E: size */
};

static int
parse_idx_line(const char *p, size_t len, struct idx_line *l)
{
	struct tcur c;

	tc_init(&c, p, len);
	l->kind = len > 0 ? p[0] : '\0';
	if (l->kind == 'S') {
		tc_lit(&c, "S ");
		tc_hexbytes(&c, l->id, WIRE_ID_LEN);
	} else
		tc_lit(&c, "E");
	tc_lit(&c, " ");
	tc_hex(&c, TRAIL_NAME_LEN, &l->seq);
	tc_lit(&c, " ");
	tc_dec(&c, UINT64_MAX, &l->num);
	return tc_end(&c);
}

/* Whether off is 0 or just after a newline of the file. */
static int
at_line_start(int fd, uint64_t off)
{
	char c;

	if (off == 0)
		return 1;
	return pread(fd, &c, 1, (off_t)off - 1) == 1 && c == '\n';
}

/* What the index says of the last segment it starts. */
struct idx_state {
	int		 have_s;	/* an S line: t->pos and segstart */
	int		 have_e;	/* its E line */
	uint64_t	 esize;		/* the size the E line gives */
};

/*
 * Follow the index's lines in buf while each can be right, setting
 * t->pos.id, t->pos.seq, t->segstart and *s; return the end of the last
 * good line.
 */
static const char *
scan_index(struct trail *t, const char *buf, size_t len, uint64_t fsize,
    struct idx_state *s)
{
	const char *p = buf, *end = buf + len, *nl, *good = buf;
	struct idx_line l;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (parse_idx_line(p, (size_t)(nl - p), &l) == -1)
			break;
		if (l.kind == 'S') {
			if (l.num > fsize || (s->have_s && l.num < t->segstart) ||
			    !at_line_start(t->fd, l.num))
				break;
			/* After a complete segment: right at its end, and a
			 * later one of the same series. */
			if (s->have_e && (l.num != t->segstart + s->esize ||
			    (memcmp(l.id, t->pos.id, sizeof(l.id)) == 0 &&
			    l.seq <= t->pos.seq)))
				break;
			memcpy(t->pos.id, l.id, sizeof(l.id));
			t->pos.seq = l.seq;
			t->segstart = l.num;
			s->have_s = 1;
			s->have_e = 0;
		} else {
			if (!s->have_s || s->have_e || l.seq != t->pos.seq ||
			    l.num > fsize - t->segstart ||
			    !at_line_start(t->fd, t->segstart + l.num))
				break;
			s->esize = l.num;
			s->have_e = 1;
		}
		p = good = nl + 1;
	}
	return good;
}

/*
 * Bytes after a complete segment and before the next S line cannot be
 * anybody's: the next segment's S line is durable before its data.
 */
static int
cut_after_end(struct trail *t, uint64_t *fsize, uint64_t esize)
{
	hlog_warnx(t->host, "cut %" PRIu64 " bytes after the end of "
	    "segment %" PRIu64, *fsize - t->segstart - esize,
	    t->pos.seq);
	t->cut_bytes += *fsize - t->segstart - esize;
	*fsize = t->segstart + esize;
	if (ftruncate(t->fd, (off_t)*fsize) == -1 ||
	    fdatasync(t->fd) == -1)
		return -1;
	return 0;
}

/*
 * Read the current file's index against the file's size.  Lines after
 * the first one that cannot be right (torn, malformed, pointing past the
 * end of the file or inside a line, out of order, a segment that does not
 * start where the one before it ended) describe writes that never became
 * durable, so were never acked: they are cut.  The resume point is the
 * last S line; complete if its E line matches.
 */
static int
recover_index(struct trail *t, uint64_t *fsize, char *err, size_t errlen)
{
	struct idx_state s = { 0, 0, 0 };
	struct stat st;
	char *buf = NULL;
	const char *good;
	ssize_t r;
	size_t len;

	memset(&t->pos, 0, sizeof(t->pos));
	t->segstart = 0;
	if (fstat(t->idxfd, &st) == -1)
		goto fail;
	if (st.st_size > TRAIL_IDX_MAX) {
		snprintf(err, errlen, "host %s: index of %016" PRIx64 " is "
		    "larger than %d bytes", t->host, trail_current(t)->num,
		    TRAIL_IDX_MAX);
		errno = EFBIG;
		return -1;
	}
	len = (size_t)st.st_size;
	if ((buf = malloc(len + 1)) == NULL)
		goto fail;
	if ((r = pread(t->idxfd, buf, len, 0)) != (ssize_t)len) {
		if (r >= 0)
			errno = EIO;
		goto fail;
	}
	good = scan_index(t, buf, len, *fsize, &s);
	if (good != buf + len) {
		t->cut_idx_bytes = (uint64_t)(buf + len - good);
		hlog_warnx(t->host, "cut %" PRIu64 " bytes of index %s/%016"
		    PRIx64 "%s that were never acknowledged",
		    t->cut_idx_bytes, TRAIL_STORE, trail_current(t)->num,
		    TRAIL_IDX_SUFFIX);
		if (ftruncate(t->idxfd, good - buf) == -1 ||
		    fdatasync(t->idxfd) == -1)
			goto fail;
	}
	t->idxsize = (uint64_t)(good - buf);
	free(buf);
	buf = NULL;
	if (!s.have_s)
		return 0;
	if (s.have_e && *fsize - t->segstart > s.esize &&
	    cut_after_end(t, fsize, s.esize) == -1)
		goto fail;
	t->pos.size = *fsize - t->segstart;
	t->pos.complete = s.have_e;
	return 0;
fail:
	snprintf(err, errlen, "host %s: index of %s/%016" PRIx64 ": %s",
	    t->host, TRAIL_STORE, trail_current(t)->num, strerror(errno));
	free(buf);
	return -1;
}

/*
 * A file that becomes current again may be read-only: rotated, then the
 * newer file was forgotten (a crash or a full disk during rotation) or
 * removed.  It is ours: writable again before it is opened.
 */
static int
make_writable(struct trail *t, const char *name)
{
	struct stat st;

	if (fstatat(t->storefd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISREG(st.st_mode) || (st.st_mode & 07777) == TRAIL_MODE)
		return 0;
	return fchmodat(t->storefd, name, TRAIL_MODE, 0);
}

static int
open_current(struct trail *t, char *err, size_t errlen)
{
	const int flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC;
	struct tfile *f = trail_current(t);
	char name[32];

	store_name(name, sizeof(name), f->num, 0);
	if (make_writable(t, name) == -1 ||
	    (t->fd = openat(t->storefd, name, flags)) == -1)
		goto fail;
	store_name(name, sizeof(name), f->num, 1);
	if (make_writable(t, name) == -1 ||
	    (t->idxfd = openat(t->storefd, name, flags | O_CREAT,
	    TRAIL_MODE)) == -1)
		goto fail;
	/* An index recovery made again: the trails' group, if one is set. */
	store_give(t->idxfd, t->host, name);
	return 0;
fail:
	snprintf(err, errlen, "host %s: %s/%s: %s", t->host, TRAIL_STORE, name,
	    strerror(errno));
	return -1;
}

static void
close_current(struct trail *t)
{
	if (t->fd != -1)
		close(t->fd);
	if (t->idxfd != -1)
		close(t->idxfd);
	t->fd = t->idxfd = -1;
}

/* The newest file holds the resume point; empty unindexed ones go. */
static int
recover(struct trail *t, char *err, size_t errlen)
{
	struct tfile *f;
	uint64_t keep, fsize;
	int64_t cut;
	char pos[128];

	while ((f = trail_current(t)) != NULL) {
		if (open_current(t, err, errlen) == -1)
			return -1;
		if ((cut = tc_cut_torn(t->fd, &keep)) == -1) {
			snprintf(err, errlen, "host %s: %s/%016" PRIx64 ": %s",
			    t->host, TRAIL_STORE, f->num, strerror(errno));
			return -1;
		}
		if (cut > 0) {
			hlog_warnx(t->host, "cut a torn last line (%" PRIu64
			    " bytes, never acknowledged) from %s/%016" PRIx64,
			    (uint64_t)cut, TRAIL_STORE, f->num);
			t->cut_bytes += (uint64_t)cut;
		}
		fsize = f->size - (uint64_t)cut;
		if (recover_index(t, &fsize, err, errlen) == -1)
			return -1;
		f->size = fsize;
		if (memcmp(t->pos.id, zero_id, sizeof(zero_id)) != 0 ||
		    fsize > 0)
			break;
		/* Created just before a crash: nothing was written to it. */
		close_current(t);
		if (store_forget_newest(t) == -1) {
			snprintf(err, errlen, "host %s: %s", t->host,
			    strerror(errno));
			return -1;
		}
	}
	if (f == NULL)
		return 0;
	if (memcmp(t->pos.id, zero_id, sizeof(zero_id)) == 0)
		hlog_warnx(t->host, "%s/%016" PRIx64 " has no index entry; the "
		    "sender will start a new series", TRAIL_STORE,
		    f->num);
	trail_pos_str(&t->pos, pos, sizeof(pos));
	hlog_debug(t->host, "%zu trail files, resume at %s",
	    t->nfiles, pos);
	return 0;
}

/*
 * What recovery found may be only in the page cache: a writer killed
 * before its sync leaves its bytes, index lines and names there.  Nothing
 * of it may be reported, acked or resumed from until it is durable.
 */
static int
sync_recovered(struct trail *t, char *err, size_t errlen)
{
	const char *what = TRAIL_STORE;

	if (t->fd != -1 && (fdatasync(t->fd) == -1 ||
	    fdatasync(t->idxfd) == -1))
		what = "the current trail file";
	else if (fsync(t->storefd) == 0) {
		what = "its directory";
		if (fsync(t->dirfd) == 0)
			return 0;
	}
	snprintf(err, errlen, "host %s: syncing %s: %s", t->host, what,
	    strerror(errno));
	return -1;
}

struct trail *
trail_open(int dirfd, const char *host, const struct trail_limits *lim,
    char *err, size_t errlen)
{
	struct trail *t;

	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->host = strdup(host)) == NULL) {
		snprintf(err, errlen, "host %s: %s", host, strerror(errno));
		free(t);
		close(dirfd);
		return NULL;
	}
	t->dirfd = dirfd;
	t->storefd = t->fd = t->idxfd = -1;
	trail_set_limits(t, lim);
	/* Two writers would interleave their files. */
	if (flock(dirfd, LOCK_EX | LOCK_NB) == -1) {
		snprintf(err, errlen, "host %s: %s", host,
		    errno == EWOULDBLOCK ? "its directory is in use by "
		    "another auditdistd" : strerror(errno));
		goto fail;
	}
	if ((t->storefd = store_subdir(dirfd, TRAIL_STORE, TRAIL_STORE, err,
	    errlen)) == -1 ||
	    store_scan(t, err, errlen) == -1 ||
	    recover(t, err, errlen) == -1 ||
	    store_names(t, err, errlen) == -1 ||
	    store_purge(t, err, errlen) == -1 ||
	    store_protect_rotated(t, err, errlen) == -1 ||
	    store_retain(t, err, errlen) == -1 ||
	    sync_recovered(t, err, errlen) == -1)
		goto fail;
	t->dpos = t->pos;
	t->dfsize = t->nfiles ? trail_current(t)->size : 0;
	t->didxsize = t->idxsize;
	return t;
fail:
	trail_free(t);
	return NULL;
}

void
trail_free(struct trail *t)
{
	if (t == NULL)
		return;
	close_current(t);
	if (t->storefd != -1)
		close(t->storefd);
	if (t->dirfd != -1)
		close(t->dirfd);
	free(t->files);
	free(t->gone);
	free(t->host);
	free(t);
}

void
trail_set_limits(struct trail *t, const struct trail_limits *lim)
{
	t->lim = *lim;
	if (t->lim.size == 0)
		t->lim.size = TRAIL_DEFAULT_SIZE;
	if (t->lim.idx_size == 0 || t->lim.idx_size > TRAIL_IDX_ROTATE)
		t->lim.idx_size = TRAIL_IDX_ROTATE;
}

int
trail_pending(const struct trail *t)
{
	return t->dirty_data || t->dirty_idx;
}

enum trail_verdict
trail_pos_check(const struct trail_pos *p, const uint8_t id[WIRE_ID_LEN],
    uint64_t seq, uint64_t offset)
{
	if (memcmp(p->id, zero_id, sizeof(zero_id)) == 0 ||
	    memcmp(p->id, id, WIRE_ID_LEN) != 0)
		return offset == 0 ? TRAIL_NEWSERIES : TRAIL_REJECT;
	if (seq == p->seq && offset == p->size && !p->complete)
		return TRAIL_CONTINUE;
	if (seq > p->seq && offset == 0)
		return TRAIL_NEWSEG;
	return TRAIL_REJECT;
}

enum trail_verdict
trail_check(const struct trail *t, const uint8_t id[WIRE_ID_LEN],
    uint64_t seq, uint64_t offset)
{
	return trail_pos_check(&t->pos, id, seq, offset);
}

/* Move p to where a frame at (id, seq, offset) lands, if it may. */
static int
advance(struct trail_pos *p, const uint8_t id[WIRE_ID_LEN], uint64_t seq,
    uint64_t offset)
{
	switch (trail_pos_check(p, id, seq, offset)) {
	case TRAIL_REJECT:
		return -1;
	case TRAIL_CONTINUE:
		break;
	case TRAIL_NEWSEG:
	case TRAIL_NEWSERIES:
		memcpy(p->id, id, WIRE_ID_LEN);
		p->seq = seq;
		p->size = 0;
		p->complete = 0;
		break;
	}
	return 0;
}

int
trail_pos_data(struct trail_pos *p, const uint8_t id[WIRE_ID_LEN],
    uint64_t seq, uint64_t offset, size_t len)
{
	if (advance(p, id, seq, offset) == -1)
		return -1;
	p->size += len;
	return 0;
}

int
trail_pos_segend(struct trail_pos *p, const uint8_t id[WIRE_ID_LEN],
    uint64_t seq, uint64_t size)
{
	if (memcmp(p->id, id, WIRE_ID_LEN) == 0 && seq == p->seq &&
	    size == p->size && p->complete)
		return 0;
	if (advance(p, id, seq, size) == -1)
		return -1;
	p->complete = 1;
	return 0;
}

void
trail_pos_expected(const struct trail_pos *p, const uint8_t id[WIRE_ID_LEN],
    uint64_t seq, uint64_t off, const char *what, char *buf, size_t len)
{
	if (memcmp(p->id, zero_id, sizeof(zero_id)) == 0 ||
	    memcmp(p->id, id, WIRE_ID_LEN) != 0)
		snprintf(buf, len, "expected %s 0 to start a new series, "
		    "got seq %" PRIu64 " %s %" PRIu64, what, seq, what, off);
	else if (p->complete)
		snprintf(buf, len, "expected a seq after %" PRIu64 " at "
		    "%s 0 (%" PRIu64 " is complete), got seq %" PRIu64
		    " %s %" PRIu64, p->seq, what, p->seq, seq, what, off);
	else
		snprintf(buf, len, "expected seq %" PRIu64 " %s %" PRIu64
		    ", got seq %" PRIu64 " %s %" PRIu64, p->seq, what, p->size,
		    seq, what, off);
}

void
trail_expected(const struct trail *t, const uint8_t id[WIRE_ID_LEN],
    uint64_t seq, uint64_t off, const char *what, char *buf, size_t len)
{
	trail_pos_expected(&t->pos, id, seq, off, what, buf, len);
}

static int
write_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = pwrite(fd, p, len, (off_t)off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* Append an index line; on failure nothing of it stays. */
static int
idx_append(struct trail *t, const char *line, size_t len)
{
	int saved;

	if (write_all(t->idxfd, line, len, t->idxsize) == -1) {
		saved = errno;
		if (ftruncate(t->idxfd, (off_t)t->idxsize) == -1)
			hlog_warn(t->host, "cutting the index back");
		errno = saved;
		return -1;
	}
	t->idxsize += len;
	t->total += len;
	t->dirty_idx = 1;
	return 0;
}

/* The current file is full or belongs to another series: start a new one. */
static int
rotate(struct trail *t)
{
	char err[512];

	if (t->nfiles > 0) {
		if (trail_sync(t) == -1)
			return -1;
		/*
		 * Read-only as auditd leaves rotated logs, but only once the
		 * new file has its first S line: until then a crash or a full
		 * disk makes this one current again (begin_segment).
		 */
		t->protect_num = trail_current(t)->num;
		trail_current(t)->isize = t->idxsize;
		close_current(t);
	}
	t->idxsize = t->dfsize = t->didxsize = 0;
	t->segstart = 0;
	if (store_new_file(t, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	hlog_info(t->host, "new trail file %s/%016" PRIx64,
	    TRAIL_STORE, trail_current(t)->num);
	/* Retention is housekeeping: the new data is safe either way. */
	if (store_retain(t, err, sizeof(err)) == -1)
		log_warnx("%s", err);
	return 0;
}

/* Record where segment seq starts; durable before any of its bytes. */
static int
begin_segment(struct trail *t, enum trail_verdict v,
    const uint8_t id[WIRE_ID_LEN], uint64_t seq)
{
	const struct tfile *f = trail_current(t);
	char line[IDX_LINE_MAX], idh[2 * WIRE_ID_LEN + 1], old[128];
	int n;

	/*
	 * Index bytes count: empty segments grow only the index, which
	 * must never reach the size trail_open refuses.
	 */
	if (f == NULL || (v == TRAIL_NEWSERIES && f->size > 0) ||
	    f->size + t->idxsize >= t->lim.size ||
	    t->idxsize >= t->lim.idx_size) {
		if (rotate(t) == -1)
			return -1;
		f = trail_current(t);
	}
	if (v == TRAIL_NEWSERIES) {
		trail_pos_str(&t->pos, old, sizeof(old));
		hex(idh, id, WIRE_ID_LEN);
		hlog_info(t->host, "new series: spool %s from seq %" PRIu64
		    " (held %s)", idh, seq, old);
	} else if (seq > t->pos.seq + 1)
		hlog_warnx(t->host, "the sender skipped segments %" PRIu64
		    " to %" PRIu64 " (it no longer has them)",
		    t->pos.seq + 1, seq - 1);
	hex(idh, id, WIRE_ID_LEN);
	n = snprintf(line, sizeof(line), "S %s %016" PRIx64 " %" PRIu64 "\n",
	    idh, seq, f->size);
	VERIFY(n > 0 && (size_t)n < sizeof(line));
	if (idx_append(t, line, (size_t)n) == -1)
		return -1;
	if (fdatasync(t->idxfd) == -1)
		return -1;
	if (t->protect_num != 0) {
		if (store_protect(t, t->protect_num) == -1)
			hlog_warn(t->host, "chmod of the rotated file %s/%016"
			    PRIx64, TRAIL_STORE, t->protect_num);
		t->protect_num = 0;
	}
	memcpy(t->pos.id, id, WIRE_ID_LEN);
	t->pos.seq = seq;
	t->pos.size = 0;
	t->pos.complete = 0;
	t->segstart = f->size;
	return 0;
}

/*
 * Undo the frame being stored; what was before it stays.  After a
 * rotation (the current file is no longer fnum), the whole new file
 * belongs to the frame, its index too.  -1, errno as it was.
 */
static int
undo(struct trail *t, const struct trail_pos *pos, uint64_t segstart,
    uint64_t idxsize, uint64_t fnum)
{
	struct tfile *f = trail_current(t);
	int saved = errno;

	if (f == NULL || f->num != fnum)
		idxsize = 0;
	if (f != NULL && t->fd != -1 &&
	    ftruncate(t->fd, (off_t)f->size) == -1)
		hlog_warn(t->host, "cutting back a failed write");
	if (t->idxfd != -1 && t->idxsize != idxsize &&
	    ftruncate(t->idxfd, (off_t)idxsize) == -1)
		hlog_warn(t->host, "cutting back the index");
	if (t->idxsize != idxsize) {
		t->total -= t->idxsize - idxsize;
		t->idxsize = idxsize;
		t->dirty_idx = 1;
	}
	t->pos = *pos;
	t->segstart = segstart;
	t->failed = 1;
	errno = saved;
	return -1;
}

int
trail_append(struct trail *t, const uint8_t id[WIRE_ID_LEN], uint64_t seq,
    uint64_t offset, const void *data, size_t len)
{
	struct trail_pos pos = t->pos;
	uint64_t segstart = t->segstart, idxsize = t->idxsize;
	uint64_t fnum = t->nfiles ? trail_current(t)->num : 0;
	enum trail_verdict v;
	struct tfile *f;

	if (t->failed) {
		errno = EIO;
		return -1;
	}
	if (len == 0 || ((const uint8_t *)data)[len - 1] != '\n' ||
	    (v = trail_check(t, id, seq, offset)) == TRAIL_REJECT) {
		errno = EINVAL;
		return -1;
	}
	if (v != TRAIL_CONTINUE && begin_segment(t, v, id, seq) == -1)
		goto fail;
	f = trail_current(t);
	if (write_all(t->fd, data, len, f->size) == -1)
		goto fail;
	f->size += len;
	t->total += len;
	t->pos.size += len;
	t->dirty_data = 1;
	return 0;
fail:
	return undo(t, &pos, segstart, idxsize, fnum);
}

int
trail_segend(struct trail *t, const uint8_t id[WIRE_ID_LEN], uint64_t seq,
    uint64_t size)
{
	struct trail_pos pos = t->pos;
	uint64_t segstart = t->segstart, idxsize = t->idxsize;
	uint64_t fnum = t->nfiles ? trail_current(t)->num : 0;
	enum trail_verdict v;
	char line[IDX_LINE_MAX];
	int n;

	if (t->failed) {
		errno = EIO;
		return -1;
	}
	v = trail_check(t, id, seq, size);
	if (memcmp(t->pos.id, id, WIRE_ID_LEN) == 0 && seq == t->pos.seq &&
	    size == t->pos.size && t->pos.complete)
		return 0;		/* said twice: nothing new */
	/* An empty segment ends where it starts. */
	if (v == TRAIL_NEWSEG || v == TRAIL_NEWSERIES) {
		if (begin_segment(t, v, id, seq) == -1)
			goto fail;
	} else if (v != TRAIL_CONTINUE) {
		errno = EINVAL;
		return -1;
	}
	n = snprintf(line, sizeof(line), "E %016" PRIx64 " %" PRIu64 "\n",
	    seq, size);
	VERIFY(n > 0 && (size_t)n < sizeof(line));
	if (idx_append(t, line, (size_t)n) == -1)
		goto fail;
	t->pos.complete = 1;
	return 0;
fail:
	return undo(t, &pos, segstart, idxsize, fnum);
}

int
trail_sync(struct trail *t)
{
	int saved;

	if (!trail_pending(t))
		return 0;
	if ((t->dirty_data && fdatasync(t->fd) == -1) ||
	    (t->dirty_idx && fdatasync(t->idxfd) == -1)) {
		saved = errno;
		/*
		 * After a failed fdatasync the kernel may have dropped the
		 * pages: only what was durable before can be trusted.
		 */
		if (ftruncate(t->fd, (off_t)t->dfsize) == -1 ||
		    ftruncate(t->idxfd, (off_t)t->didxsize) == -1)
			hlog_warn(t->host, "cutting back to the last sync");
		t->total -= trail_current(t)->size - t->dfsize +
		    t->idxsize - t->didxsize;
		trail_current(t)->size = t->dfsize;
		t->idxsize = t->didxsize;
		t->pos = t->dpos;
		t->failed = 1;
		t->dirty_data = t->dirty_idx = 0;
		errno = saved;
		return -1;
	}
	trail_synced(t);
	return 0;
}

void
trail_synced(struct trail *t)
{
	char err[512];

	if (!trail_pending(t))
		return;
	t->dirty_data = t->dirty_idx = 0;
	t->dpos = t->pos;
	t->dfsize = trail_current(t)->size;
	t->didxsize = t->idxsize;
	/* trail_max_size holds at every sync, not only at rotation. */
	if (t->lim.max_size != 0 && t->total > t->lim.max_size &&
	    t->nfiles > 1 && store_retain(t, err, sizeof(err)) == -1)
		log_warnx("%s", err);
}

int
trail_tail(const struct trail *t, void *buf, size_t cap, size_t *len)
{
	const struct trail_pos *p = &t->dpos;
	uint8_t *b = buf, *nl;
	size_t n, got = 0;
	ssize_t r;
	off_t off;

	/* Nothing pending: dpos is pos, whose segment starts at segstart. */
	VERIFY(!trail_pending(t));
	*len = 0;
	if (memcmp(p->id, zero_id, sizeof(zero_id)) == 0 || p->size == 0)
		return 0;
	n = p->size < cap ? (size_t)p->size : cap;
	off = (off_t)(t->segstart + p->size - n);
	while (got < n) {
		if ((r = pread(t->fd, b + got, n - got, off + (off_t)got)) ==
		    -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		got += (size_t)r;
	}
	/* Back to the start of a line: a line's start names its event. */
	if (n > WIRE_TAIL_MIN &&
	    (nl = memrchr(b, '\n', n - WIRE_TAIL_MIN)) != NULL) {
		n -= (size_t)(nl + 1 - b);
		memmove(b, nl + 1, n);
	}
	*len = n;
	return 0;
}
