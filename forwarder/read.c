/*
 * Where the forwarder reads the spool: one reader per host, a cursor
 * (segment, offset) that says what comes next for that receiver.  Only
 * whole lines leave here, and a segment ends (SEGEND) only once it is
 * closed and all of it was read.  Read-only: the forwarder never writes
 * or deletes in the spool; audisp-dist does.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"
#include "forwarder.h"
#include "log.h"

void
fwd_reader_init(struct fwd_reader *r, int dirfd, const char *host)
{
	memset(r, 0, sizeof(*r));
	r->dirfd = dirfd;
	r->fd = -1;
	r->host = host;
}

void
fwd_reader_close(struct fwd_reader *r)
{
	if (r->fd != -1)
		close(r->fd);		/* and with it the shared lock */
	r->fd = -1;
	r->closed = 0;
	r->named = 0;
}

void
fwd_reader_seek(struct fwd_reader *r, const struct wire_pos *at)
{
	fwd_reader_close(r);
	r->cur.seq = at->seq;
	r->cur.size = at->size;
	r->cur.complete = 0;
}

static enum fwd_chunk
bad(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum fwd_chunk
bad(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return CHUNK_BAD;
}

/* Segment seq under either name; closed: it was the .seg. */
static int
open_seq(int dirfd, uint64_t seq, int *closed, char *name, size_t namelen)
{
	int fd;

	/* Renamed only from .open to .seg: this order cannot miss it. */
	spool_seg_name(name, namelen, seq, 1);
	*closed = 0;
	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) !=
	    -1 || errno != ENOENT)
		return fd;
	spool_seg_name(name, namelen, seq, 0);
	*closed = 1;
	return openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

/*
 * audisp-dist creates a segment 0600 and gives it to our group just
 * after (IN_ATTRIB then wakes us): a refusal in between is not worth a
 * word, one that lasts is.
 */
static void
unreadable(struct fwd_reader *r, const char *name)
{
	int saved = errno;
	int64_t now = (int64_t)ev_now_ms();

	if (r->noread_seq != r->cur.seq) {
		r->noread_seq = r->cur.seq;
		r->noread_since = now;
		r->noread_said = 0;
	} else if (!r->noread_said && now - r->noread_since >= 2000) {
		errno = saved;
		hlog_warn(r->host, "reading spool segment %s", name);
		r->noread_said = 1;
	}
}

/*
 * Open the segment at the cursor or, if it is gone, the first one after
 * it, under a shared lock so that drop_old leaves it alone.  1: open;
 * 0: nothing to read now (inotify will say when); else CHUNK_BAD.
 */
static int
open_segment(struct fwd_reader *r, char *why, size_t whylen)
{
	char name[SEG_NAME_LEN + 8], last;
	struct spool_seg *segs;
	struct stat st;
	size_t n, i;
	int tries, fd, closed;

	for (tries = 0; tries < 8; tries++) {
		if ((fd = open_seq(r->dirfd, r->cur.seq, &closed, name,
		    sizeof(name))) == -1) {
			if (errno != ENOENT) {
				unreadable(r, name);
				return 0;
			}
			/* Gone, or never there: the next one that is. */
			if (spool_list(r->dirfd, &segs, &n) == -1) {
				hlog_warn(r->host, "listing the spool");
				return 0;
			}
			for (i = 0; i < n && segs[i].seq <= r->cur.seq; i++)
				;
			if (i == n) {
				free(segs);
				return 0;
			}
			if (r->cur.size > 0)
				hlog_warnx(r->host, "segment %016" PRIx64 " was "
				    "deleted (spool_full_action drop_old?) "
				    "after %" PRIu64 " of its bytes were sent",
				    r->cur.seq, r->cur.size);
			r->cur.seq = segs[i].seq;
			r->cur.size = 0;
			free(segs);
			continue;
		}
		if (flock(fd, LOCK_SH | LOCK_NB) == -1) {
			/* drop_old is deleting it right now. */
			close(fd);
			return 0;
		}
		if (fstat(fd, &st) == -1 || st.st_nlink == 0) {
			close(fd);
			continue;	/* deleted before we locked it */
		}
		/* Where the receiver's copy ends must be a line end. */
		if (r->cur.size > 0 && (pread(fd, &last, 1,
		    (off_t)r->cur.size - 1) != 1 || last != '\n')) {
			close(fd);
			return bad(why, whylen, "segment %016" PRIx64 " has no "
			    "line end at offset %" PRIu64 ", where the "
			    "receiver's copy ends", r->cur.seq, r->cur.size);
		}
		r->fd = fd;
		r->closed = closed;
		return 1;
	}
	return 0;
}

static int
exists(int dirfd, uint64_t seq, int open)
{
	char name[SEG_NAME_LEN + 8];
	struct stat st;

	spool_seg_name(name, sizeof(name), seq, open);
	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

enum fwd_chunk
fwd_reader_next(struct fwd_reader *r, char *buf, size_t max,
    struct wire_pos *at, size_t *len, char *why, size_t whylen)
{
	struct stat st;
	size_t want;
	ssize_t n;
	int rc;

	if (r->fd == -1 && (rc = open_segment(r, why, whylen)) != 1)
		return rc == 0 ? CHUNK_WAIT : CHUNK_BAD;
	/* The syncer's rename of the one before wakes us (IN_MOVED_TO). */
	if (!r->named) {
		if (r->cur.seq > 1 && exists(r->dirfd, r->cur.seq - 1, 1))
			return CHUNK_WAIT;
		r->named = 1;
	}
	/*
	 * Closed first, so that the size read after it is the final one.
	 * It is closed when renamed, and already when the next one exists
	 * (spool.c writes no more to it then): no wait for the syncer.
	 */
	if (!r->closed && (exists(r->dirfd, r->cur.seq, 0) ||
	    exists(r->dirfd, r->cur.seq + 1, 1) ||
	    exists(r->dirfd, r->cur.seq + 1, 0)))
		r->closed = 1;
	if (fstat(r->fd, &st) == -1) {
		snprintf(why, whylen, "segment %016" PRIx64 ": %s", r->cur.seq,
		    strerror(errno));
		return CHUNK_FAIL;
	}
	if (st.st_nlink == 0)
		r->closed = 1;		/* only closed ones are deleted */
	if (r->cur.size < (uint64_t)st.st_size) {
		want = (uint64_t)st.st_size - r->cur.size > max ? max :
		    (size_t)((uint64_t)st.st_size - r->cur.size);
		if ((n = pread(r->fd, buf, want, (off_t)r->cur.size)) <= 0) {
			snprintf(why, whylen, "reading segment %016" PRIx64
			    ": %s", r->cur.seq, n == 0 ? "end of file" :
			    strerror(errno));
			return CHUNK_FAIL;
		}
		/* A read may race a write: whole lines only. */
		if ((*len = fwd_cut_lines(buf, (size_t)n)) == 0) {
			if ((size_t)n == max || (r->closed &&
			    (size_t)n == want))
				return bad(why, whylen, "segment %016" PRIx64
				    " has no line end within %zd bytes of "
				    "offset %" PRIu64, r->cur.seq, n,
				    r->cur.size);
			return CHUNK_WAIT;	/* the rest comes later */
		}
		*at = r->cur;
		r->cur.size += *len;
		return CHUNK_DATA;
	}
	if (!r->closed)
		return CHUNK_WAIT;		/* tailing the open segment */
	if (r->cur.size > (uint64_t)st.st_size)
		return bad(why, whylen, "segment %016" PRIx64 " shrank to %"
		    PRIu64 " bytes, below %" PRIu64 " sent", r->cur.seq,
		    (uint64_t)st.st_size, r->cur.size);
	at->seq = r->cur.seq;
	at->size = r->cur.size;
	at->complete = 1;
	fwd_reader_close(r);
	r->cur.seq++;
	r->cur.size = 0;
	return CHUNK_SEGEND;
}
