/*
 * The spool: where bytes from auditd are written to disk.
 *
 *   spool.id			identity, 32 hex digits; a new one for a new spool
 *   spool.lock			flock'ed by the one audisp-dist using the spool
 *   0000000000000001.seg	closed segments, whole lines, never rewritten
 *   0000000000000002.open	the segment being appended to
 *
 * Sequence numbers, not times, order segments, so a clock set back changes
 * nothing.  The highest sequence number always exists as the .open file
 * (the next one is created before the previous one is renamed), so the
 * forwarder deleting shipped .seg files can never make a number be reused.
 * Nothing is written to a segment once the next number exists: the
 * forwarder takes that as closed, before the syncer renames it.
 */
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audisp-dist.h"
#include "log.h"
#include "tcur.h"

#define RECOVER_CHUNK		65536
#define SYNCER_MAX_BACKLOG	64
#define RECORD_TIME		"msg=audit("	/* then seconds, "." */

int
spool_seg_name(char *buf, size_t len, uint64_t seq, int open)
{
	return tc_name16(buf, len, seq, open ? SEG_OPEN_SUFFIX :
	    SEG_DONE_SUFFIX);
}

int
spool_seg_parse_name(const char *name, uint64_t *seq, int *open)
{
	return tc_name16_parse(name, SEG_DONE_SUFFIX, SEG_OPEN_SUFFIX, seq,
	    open);
}

uint64_t
spool_count_lines(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	uint64_t n = 0;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

/* One pass over the directory, unsorted. */
static int
list_once(int dirfd, struct spool_seg **out, size_t *nout)
{
	struct spool_seg *v = NULL, *nv;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = dup(dirfd)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		struct spool_seg s;
		struct stat st;

		if (spool_seg_parse_name(de->d_name, &s.seq, &s.open) == -1)
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		s.size = (uint64_t)st.st_size;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				free(v);
				closedir(d);
				return -1;
			}
			v = nv;
		}
		v[n++] = s;
	}
	closedir(d);
	*out = v;
	*nout = n;
	return 0;
}

/* By number; for one number .open before .seg, then by size. */
static int
cmp_entry(const void *a, const void *b)
{
	const struct spool_seg *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->open != y->open)
		return x->open ? -1 : 1;
	return x->size < y->size ? -1 : x->size > y->size;
}

/*
 * A readdir that races a rename (the syncer's .open to .seg) may return
 * neither name, or both; a fstatat may miss the old one.  The forwarder
 * would skip a segment it does not see, so: two passes, merged, one entry
 * per number, the newest state of it (a segment is renamed only once, so
 * one of the passes sees it).
 */
int
spool_list(int dirfd, struct spool_seg **out, size_t *nout)
{
	struct spool_seg *a, *b, *v;
	size_t na, nb, n, i;

	if (list_once(dirfd, &a, &na) == -1)
		return -1;
	if (list_once(dirfd, &b, &nb) == -1 ||
	    (v = reallocarray(a, na + nb + 1, sizeof(*a))) == NULL) {
		free(a);
		return -1;
	}
	if (nb > 0)
		memcpy(v + na, b, nb * sizeof(*b));
	free(b);
	qsort(v, na + nb, sizeof(*v), cmp_entry);
	for (n = 0, i = 0; i < na + nb; i++) {
		if (n > 0 && v[n - 1].seq == v[i].seq)
			n--;		/* the later entry is the newer */
		v[n++] = v[i];
	}
	*out = v;
	*nout = n;
	return 0;
}

int
spool_read_id(int dirfd, char hex[SPOOL_ID_LEN + 1],
    uint8_t id[SPOOL_ID_LEN / 2])
{
	char buf[SPOOL_ID_LEN + 2];
	uint8_t bin[SPOOL_ID_LEN / 2];
	struct tcur c;
	ssize_t r;
	int fd;

	if ((fd = openat(dirfd, SPOOL_ID_FILE,
	    O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	r = read(fd, buf, sizeof(buf));
	close(fd);
	if (r == -1)
		return -1;
	tc_init(&c, buf, (size_t)r);
	if (tc_hexbytes(&c, bin, sizeof(bin)) == -1 || tc_lit(&c, "\n") == -1 ||
	    tc_end(&c) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (hex != NULL) {
		memcpy(hex, buf, SPOOL_ID_LEN);
		hex[SPOOL_ID_LEN] = '\0';
	}
	if (id != NULL)
		memcpy(id, bin, sizeof(bin));
	return 0;
}

static int	share_fd(int, gid_t, mode_t);

int
spool_new_id(struct spool *sp)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[SPOOL_ID_LEN / 2];
	char buf[SPOOL_ID_LEN + 1];
	size_t i;
	int fd;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	for (i = 0; i < sizeof(rnd); i++) {
		buf[2 * i] = hex[rnd[i] >> 4];
		buf[2 * i + 1] = hex[rnd[i] & 15];
	}
	buf[SPOOL_ID_LEN] = '\n';
	if ((fd = openat(sp->dirfd, SPOOL_ID_FILE ".tmp", O_WRONLY | O_CREAT |
	    O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1)
		return -1;
	/* The forwarder reads it (spool_share): before it has the name. */
	if ((sp->gid != (gid_t)-1 && share_fd(fd, sp->gid, 0640) == -1) ||
	    write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
	    fsync(fd) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	if (renameat(sp->dirfd, SPOOL_ID_FILE ".tmp", sp->dirfd,
	    SPOOL_ID_FILE) == -1 || fsync(sp->dirfd) == -1)
		return -1;
	memcpy(sp->id, buf, SPOOL_ID_LEN);
	sp->id[SPOOL_ID_LEN] = '\0';
	return 0;
}

/* Recover an .open segment left by a previous run and close it. */
static int
close_leftover(struct spool *sp, uint64_t seq, uint64_t *size)
{
	char from[SEG_NAME_LEN + 8], to[SEG_NAME_LEN + 8];
	int64_t cut;
	int fd;

	spool_seg_name(from, sizeof(from), seq, 1);
	spool_seg_name(to, sizeof(to), seq, 0);
	if ((fd = openat(sp->dirfd, from, O_RDWR | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		return -1;
	if ((cut = tc_cut_torn(fd, size)) == -1 || fdatasync(fd) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	if (cut > 0) {
		log_warnx("spool %s: cut a torn record of %" PRId64 " bytes "
		    "from the end of segment %s", sp->path, cut, from);
		sp->torn_bytes += (uint64_t)cut;
		sp->torn_records++;
	}
	if (*size == 0) {
		/* Nothing in it: the name is not needed to keep the order. */
		return unlinkat(sp->dirfd, from, 0);
	}
	return renameat(sp->dirfd, from, sp->dirfd, to);
}

/* Cut a torn tail off a closed segment (left by a power loss). */
static int
check_closed(struct spool *sp, struct spool_seg *seg)
{
	char name[SEG_NAME_LEN + 8];
	uint64_t size;
	int64_t cut;
	int fd;

	spool_seg_name(name, sizeof(name), seg->seq, 0);
	if ((fd = openat(sp->dirfd, name, O_RDWR | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		return -1;
	cut = tc_cut_torn(fd, &size);
	close(fd);
	if (cut == -1)
		return -1;
	if (cut > 0) {
		log_warnx("spool %s: cut a torn record of %" PRId64 " bytes "
		    "from the end of closed segment %s", sp->path, cut, name);
		sp->torn_bytes += (uint64_t)cut;
		sp->torn_records++;
		seg->size = size;
	}
	return 0;
}

static int
create_segment(struct spool *sp, uint64_t seq)
{
	char name[SEG_NAME_LEN + 8];
	int fd;

	spool_seg_name(name, sizeof(name), seq, 1);
	fd = openat(sp->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND |
	    O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd != -1 && sp->gid != (gid_t)-1 && share_fd(fd, sp->gid,
	    0640) == -1) {
		log_warn("spool %s: segment %s: giving it to group %u",
		    sp->path, name, (unsigned)sp->gid);
		/* Still written: the forwarder will say it cannot read it. */
	}
	return fd;
}

/* Root owns everything; the forwarder's group may read. */
static int
share_fd(int fd, gid_t gid, mode_t mode)
{
	if (fchown(fd, 0, gid) == -1 || fchmod(fd, mode) == -1)
		return -1;
	return 0;
}

static int
share_name(struct spool *sp, const char *name, gid_t gid)
{
	int fd, rc;

	if ((fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK)) == -1)
		return errno == ENOENT ? 0 : -1;
	rc = share_fd(fd, gid, 0640);
	close(fd);
	return rc;
}

int
spool_share(struct spool *sp, gid_t gid)
{
	struct spool_seg *segs;
	char name[SEG_NAME_LEN + 8];
	size_t n, i;
	int rc = 0;

	if (share_fd(sp->dirfd, gid, 0750) == -1) {
		/* Not root (a test?): then it is not done per segment either. */
		log_warn("spool %s: giving it to group %u", sp->path,
		    (unsigned)gid);
		sp->gid = (gid_t)-1;
		return -1;
	}
	/* New segments first, so that none is missed by the walk below. */
	sp->gid = gid;
	if (share_name(sp, SPOOL_ID_FILE, gid) == -1) {
		log_warn("spool %s: %s: giving it to group %u", sp->path,
		    SPOOL_ID_FILE, (unsigned)gid);
		return -1;
	}
	if (spool_list(sp->dirfd, &segs, &n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		spool_seg_name(name, sizeof(name), segs[i].seq, segs[i].open);
		if (share_name(sp, name, gid) == -1) {
			log_warn("spool %s: segment %s: giving it to group %u",
			    sp->path, name, (unsigned)gid);
			rc = -1;
		}
	}
	free(segs);
	return rc;
}

/* Create or open the directory, check its mode, and take its lock. */
static int
open_locked_dir(struct spool *sp, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "spool directory %s: mkdir: %s", path,
		    strerror(errno));
		return -1;
	}
	if ((sp->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		snprintf(err, errlen, "spool directory %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(sp->dirfd, &st) == -1 || (st.st_mode & S_IWOTH)) {
		snprintf(err, errlen, "spool directory %s is writable by others "
		    "(mode %04o); chmod 700 it", path, st.st_mode & 07777);
		return -1;
	}
	if ((sp->lockfd = openat(sp->dirfd, SPOOL_LOCK_FILE, O_RDWR | O_CREAT |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
		snprintf(err, errlen, "%s/%s: %s", path, SPOOL_LOCK_FILE,
		    strerror(errno));
		return -1;
	}
	if (flock(sp->lockfd, LOCK_EX | LOCK_NB) == -1) {
		snprintf(err, errlen, "spool %s is in use by another audisp-dist "
		    "(%s/%s is locked)", path, path, SPOOL_LOCK_FILE);
		return -1;
	}
	return 0;
}

/* Read the spool's identity, or start a new one (said aloud if data). */
static int
load_id(struct spool *sp, const char *path, size_t nsegs, char *err,
    size_t errlen)
{
	if (spool_read_id(sp->dirfd, sp->id, NULL) == 0)
		return 0;
	if (errno != ENOENT)
		log_warnx("spool %s: %s is unreadable or malformed; "
		    "starting a new spool identity", path, SPOOL_ID_FILE);
	else if (nsegs > 0)
		log_warnx("spool %s: %s is missing; starting a new "
		    "spool identity", path, SPOOL_ID_FILE);
	if (spool_new_id(sp) == -1) {
		snprintf(err, errlen, "%s/%s: %s", path, SPOOL_ID_FILE,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Close what a previous run left open, and open the segment to write.
 * Its number is never reused, even when it is empty: a crash may have
 * emptied it after the forwarder shipped part of it, and a receiver
 * holding those bytes must not be sent different ones under the same
 * number.
 */
static int
recover_segments(struct spool *sp, const char *path, struct spool_seg *segs,
    size_t nsegs, char *err, size_t errlen)
{
	uint64_t maxseq = 0, size;
	size_t i;

	for (i = 0; i < nsegs; i++) {
		if (segs[i].seq > maxseq)
			maxseq = segs[i].seq;
		if (!segs[i].open) {
			/* Only a power loss with flush none tears these. */
			if (check_closed(sp, &segs[i]) == -1) {
				snprintf(err, errlen, "spool %s: checking segment "
				    "%016" PRIx64 ": %s", path, segs[i].seq,
				    strerror(errno));
				return -1;
			}
			continue;
		}
		if (i == nsegs - 1) {
			/* Keep the highest number in use: create the next first. */
			if ((sp->fd = create_segment(sp, maxseq + 1)) == -1 ||
			    fsync(sp->dirfd) == -1) {
				snprintf(err, errlen, "spool %s: creating segment: %s",
				    path, strerror(errno));
				return -1;
			}
			sp->seq = maxseq + 1;
		}
		if (close_leftover(sp, segs[i].seq, &size) == -1) {
			snprintf(err, errlen, "spool %s: recovering segment "
			    "%016" PRIx64 ": %s", path, segs[i].seq,
			    strerror(errno));
			return -1;
		}
		segs[i].size = size;
		segs[i].open = size == 0 ? -1 : 0;	/* -1: removed */
	}
	if (sp->fd == -1) {
		sp->seq = maxseq + 1;
		sp->fd = create_segment(sp, sp->seq);
	}
	if (sp->fd == -1 || fsync(sp->dirfd) == -1) {
		snprintf(err, errlen, "spool %s: opening segment %016" PRIx64
		    ": %s", path, sp->seq, strerror(errno));
		return -1;
	}
	return 0;
}

int
spool_open(struct spool *sp, const char *path, char *err, size_t errlen)
{
	struct spool_seg *segs = NULL;
	size_t nsegs = 0;

	memset(sp, 0, sizeof(*sp));
	sp->dirfd = sp->lockfd = sp->fd = -1;
	sp->gid = (gid_t)-1;
	sp->durable = 1;
	if ((sp->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (open_locked_dir(sp, path, err, errlen) == -1)
		goto fail;
	if (spool_list(sp->dirfd, &segs, &nsegs) == -1) {
		snprintf(err, errlen, "spool directory %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (load_id(sp, path, nsegs, err, errlen) == -1 ||
	    recover_segments(sp, path, segs, nsegs, err, errlen) == -1)
		goto fail;
	free(segs);
	segs = NULL;
	if ((sp->syncer = syncer_new(sp->dirfd)) == NULL) {
		snprintf(err, errlen, "starting the syncer thread: %s",
		    strerror(errno));
		goto fail;
	}
	if (spool_scan(sp) == -1) {
		snprintf(err, errlen, "spool directory %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	return 0;
fail:
	free(segs);
	spool_close(sp);
	return -1;
}

void
spool_close(struct spool *sp)
{
	if (sp->syncer != NULL) {
		if (sp->fd != -1 && sp->durable) {
			syncer_sync(sp->syncer, sp->fd, sp->seq, sp->size, 0);
			syncer_drain(sp->syncer, 20);
		}
		syncer_free(sp->syncer);
		sp->syncer = NULL;
	}
	if (sp->fd != -1)
		close(sp->fd);
	if (sp->lockfd != -1)
		close(sp->lockfd);
	if (sp->dirfd != -1)
		close(sp->dirfd);
	free(sp->path);
	sp->path = NULL;
	sp->fd = sp->lockfd = sp->dirfd = -1;
}

int
spool_scan(struct spool *sp)
{
	struct spool_seg *segs;
	size_t n, i;

	if (spool_list(sp->dirfd, &segs, &n) == -1)
		return -1;
	sp->closed_bytes = 0;
	sp->closed_count = 0;
	sp->oldest_seq = 0;
	for (i = 0; i < n; i++) {
		/*
		 * Everything before the open segment counts, including
		 * segments rotated but not yet renamed by the syncer.
		 */
		if (segs[i].seq >= sp->seq)
			continue;
		if (sp->oldest_seq == 0)
			sp->oldest_seq = segs[i].seq;
		sp->closed_bytes += segs[i].size;
		sp->closed_count++;
	}
	free(segs);
	return 0;
}

uint64_t
spool_total(const struct spool *sp)
{
	return sp->closed_bytes + sp->size;
}

int
spool_rotate(struct spool *sp)
{
	int fd;

	if (sp->size == 0)
		return 0;
	/*
	 * Each closed segment keeps its descriptor until the syncer is done
	 * with it; tiny segments in a burst must not run us out of them.
	 * The open segment just grows past segment_size meanwhile.
	 */
	if (syncer_backlog(sp->syncer) >= SYNCER_MAX_BACKLOG) {
		errno = EAGAIN;
		return -1;
	}
	if ((fd = create_segment(sp, sp->seq + 1)) == -1) {
		log_warn("spool %s: creating segment %016" PRIx64, sp->path,
		    sp->seq + 1);
		return -1;
	}
	syncer_close_segment(sp->syncer, sp->fd, sp->seq);
	if (sp->oldest_seq == 0)
		sp->oldest_seq = sp->seq;
	sp->closed_bytes += sp->size;
	sp->closed_count++;
	sp->fd = fd;
	sp->seq++;
	sp->size = 0;
	return 0;
}

/*
 * Write n bytes of whole lines to the open segment.  On failure keep only
 * the whole lines that made it and cut the rest, so no torn line stays.
 */
static ssize_t
spool_seg_write_lines(struct spool *sp, const char *p, size_t n)
{
	size_t done = 0;
	ssize_t w;

	while (done < n) {
		if ((w = write(sp->fd, p + done, n - done)) == -1) {
			int saved = errno;
			const char *nl;

			if (errno == EINTR)
				continue;
			nl = done ? memrchr(p, '\n', done) : NULL;
			done = nl ? (size_t)(nl - p) + 1 : 0;
			if (ftruncate(sp->fd, (off_t)(sp->size + done)) == -1)
				log_warn("spool %s: cutting a partial write",
				    sp->path);
			errno = saved;
			return (ssize_t)done;
		}
		done += (size_t)w;
	}
	return (ssize_t)done;
}

size_t
spool_write(struct spool *sp, const char *buf, size_t len,
    uint64_t segment_size)
{
	size_t written = 0;

	while (written < len) {
		const char *p = buf + written, *nl;
		size_t rem = len - written, room, chunk;
		ssize_t w;

		room = sp->size < segment_size ? segment_size - sp->size : 0;
		if (rem <= room)
			chunk = rem;
		else if (room > 0 && (nl = memrchr(p, '\n', room)) != NULL)
			chunk = (size_t)(nl - p) + 1;
		else if (sp->size == 0) {
			/* One line longer than a segment: it goes in whole. */
			nl = memchr(p, '\n', rem);
			VERIFY(nl != NULL);
			chunk = (size_t)(nl - p) + 1;
		} else if (spool_rotate(sp) == 0)
			continue;
		else if (errno == EAGAIN)
			chunk = rem;		/* the syncer is behind: grow */
		else
			break;
		if (sp->size == 0)
			clock_gettime(CLOCK_MONOTONIC, &sp->first_write);
		w = spool_seg_write_lines(sp, p, chunk);
		sp->size += (uint64_t)w;
		written += (size_t)w;
		if ((size_t)w < chunk)
			break;
		if (sp->size >= segment_size && spool_rotate(sp) == -1 &&
		    errno != EAGAIN)
			break;
	}
	return written;
}

int
spool_drop_oldest(struct spool *sp, uint64_t *records, uint64_t *bytes)
{
	struct spool_seg *segs;
	size_t n, i;
	int rc = -1;

	if (spool_list(sp->dirfd, &segs, &n) == -1)
		return -1;
	for (i = 0; i < n && rc == -1; i++) {
		char name[SEG_NAME_LEN + 8], *buf;
		uint64_t nrec = 0;
		ssize_t r;
		int fd;

		if (segs[i].open || segs[i].seq >= sp->seq)
			continue;
		spool_seg_name(name, sizeof(name), segs[i].seq, 0);
		if ((fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC |
		    O_NOFOLLOW)) == -1)
			continue;
		/* The forwarder holds a shared lock on what it is reading. */
		if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
			close(fd);
			continue;
		}
		if ((buf = malloc(RECOVER_CHUNK)) == NULL) {
			close(fd);
			break;
		}
		while ((r = read(fd, buf, RECOVER_CHUNK)) > 0)
			nrec += spool_count_lines(buf, (size_t)r);
		free(buf);
		if (unlinkat(sp->dirfd, name, 0) == 0) {
			*records = nrec;
			*bytes = segs[i].size;
			rc = 0;
		}
		close(fd);
	}
	free(segs);
	if (rc == 0)
		spool_scan(sp);
	return rc;
}

int64_t
spool_oldest_record_time(struct spool *sp)
{
	return spool_record_time(sp, sp->oldest_seq ? sp->oldest_seq :
	    sp->seq, 0);
}

int64_t
spool_record_time(struct spool *sp, uint64_t seq, uint64_t off)
{
	char name[SEG_NAME_LEN + 8], buf[512], *p, *end;
	struct tcur c;
	uint64_t t;
	ssize_t r;
	int fd;

	/*
	 * The open one may be closed meanwhile, and a closed one may not be
	 * renamed by the syncer yet: try both names.
	 */
	spool_seg_name(name, sizeof(name), seq, seq == sp->seq);
	if ((fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		spool_seg_name(name, sizeof(name), seq, seq != sp->seq);
		if ((fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC |
		    O_NOFOLLOW)) == -1)
			return -1;
	}
	r = pread(fd, buf, sizeof(buf) - 1, (off_t)off);
	close(fd);
	if (r <= 0)
		return -1;
	buf[r] = '\0';
	if ((end = memchr(buf, '\n', (size_t)r)) != NULL)
		*end = '\0';
	if ((p = strstr(buf, RECORD_TIME)) == NULL)
		return -1;
	p += strlen(RECORD_TIME);
	tc_init(&c, p, strlen(p));
	if (tc_dec(&c, INT64_MAX, &t) == -1 || tc_lit(&c, ".") == -1)
		return -1;
	return (int64_t)t;
}
