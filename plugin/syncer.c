/*
 * The syncer thread.  fdatasync can take milliseconds to seconds, and the
 * main thread must keep draining auditd's socket meanwhile (auditd blocks
 * on a plugin that stops reading), so every sync, and the close of a full
 * segment, runs here.  A thread rather than a process because it shares
 * the segment descriptors; it touches nothing else of the main thread's.
 * Requests coalesce: many writes share one fdatasync (group commit).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audisp-dist.h"
#include "log.h"

struct close_job {
	int			 fd;
	uint64_t		 seq;
	struct close_job	*next;
};

struct syncer {
	pthread_t		 thread;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 wake;		/* work for the thread */
	pthread_cond_t		 idle;		/* thread caught up */
	int			 dirfd;
	int			 stop;
	int			 busy;
	int			 closing;	/* a close job is running */
	/* the open segment */
	int			 fd;
	uint64_t		 seq;
	uint64_t		 want;		/* size asked to be durable */
	int			 want_full;	/* fsync rather than fdatasync */
	uint64_t		 durable_seq, durable;
	struct close_job	*jobs, **jobs_tail;
	char			 error[200];
};

static void
syncer_seterr(struct syncer *s, const char *what, uint64_t seq)
{
	char buf[sizeof(s->error)];

	snprintf(buf, sizeof(buf), "%s %016llx: %s", what,
	    (unsigned long long)seq, strerror(errno));
	log_warnx("spool: %s", buf);
	pthread_mutex_lock(&s->mtx);
	memcpy(s->error, buf, sizeof(buf));
	pthread_mutex_unlock(&s->mtx);
}

/*
 * Whatever the flush mode: the segment's data, then the directory (which
 * makes the next segment's name durable: spool_rotate created it without
 * waiting), then the rename, then the directory again.  A power loss can
 * then never bring back a name that the forwarder may have shipped from,
 * nor lose one and have its number used again with other records.
 */
static void
do_close(struct syncer *s, struct close_job *j)
{
	char from[SEG_NAME_LEN + 8], to[SEG_NAME_LEN + 8];

	spool_seg_name(from, sizeof(from), j->seq, 1);
	spool_seg_name(to, sizeof(to), j->seq, 0);
	if (fdatasync(j->fd) == -1)
		syncer_seterr(s, "fdatasync segment", j->seq);
	if (close(j->fd) == -1)
		syncer_seterr(s, "close segment", j->seq);
	if (fsync(s->dirfd) == -1)
		syncer_seterr(s, "fsync spool directory before closing", j->seq);
	if (renameat(s->dirfd, from, s->dirfd, to) == -1)
		syncer_seterr(s, "rename segment", j->seq);
	if (fsync(s->dirfd) == -1)
		syncer_seterr(s, "fsync spool directory after closing", j->seq);
}

/* Caller holds the mutex. */
static int
pending(const struct syncer *s)
{
	return s->jobs != NULL || (s->fd != -1 && s->want > 0 &&
	    (s->durable_seq != s->seq || s->want > s->durable));
}

static void *
syncer_main(void *arg)
{
	struct syncer *s = arg;

	pthread_mutex_lock(&s->mtx);
	for (;;) {
		struct close_job *j;
		int fd, full, rc;
		uint64_t seq, want;

		while (!s->stop && !pending(s)) {
			s->busy = 0;
			pthread_cond_broadcast(&s->idle);
			pthread_cond_wait(&s->wake, &s->mtx);
		}
		if (!pending(s))
			break;		/* stopping, and nothing left to do */
		s->busy = 1;
		if ((j = s->jobs) != NULL) {
			s->jobs = j->next;
			if (s->jobs == NULL)
				s->jobs_tail = &s->jobs;
			s->closing = 1;
			pthread_mutex_unlock(&s->mtx);
			do_close(s, j);
			free(j);
			pthread_mutex_lock(&s->mtx);
			s->closing = 0;
			/* syncer_wait_closed waits for this, not for idle. */
			pthread_cond_broadcast(&s->idle);
			continue;
		}
		fd = s->fd;
		full = s->want_full;
		seq = s->seq;
		want = s->want;
		s->want_full = 0;
		pthread_mutex_unlock(&s->mtx);
		rc = full ? fsync(fd) : fdatasync(fd);
		if (rc == -1) {
			syncer_seterr(s, "fdatasync segment", seq);
			sleep(1);	/* a failing disk must not spin us */
		}
		pthread_mutex_lock(&s->mtx);
		if (rc == 0 && seq == s->seq && fd == s->fd) {
			s->durable_seq = seq;
			s->durable = want;
		} else if (rc == -1 && s->stop)
			break;		/* give up on exit rather than hang */
	}
	s->busy = 0;
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->mtx);
	return NULL;
}

struct syncer *
syncer_new(int dirfd)
{
	struct syncer *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->dirfd = dirfd;
	s->fd = -1;
	s->jobs_tail = &s->jobs;
	pthread_mutex_init(&s->mtx, NULL);
	pthread_cond_init(&s->wake, NULL);
	pthread_cond_init(&s->idle, NULL);
	if ((errno = pthread_create(&s->thread, NULL, syncer_main, s)) != 0) {
		pthread_mutex_destroy(&s->mtx);
		pthread_cond_destroy(&s->wake);
		pthread_cond_destroy(&s->idle);
		free(s);
		return NULL;
	}
	return s;
}

void
syncer_free(struct syncer *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mtx);
	s->stop = 1;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->mtx);
	pthread_join(s->thread, NULL);
	VERIFY(s->jobs == NULL);
	pthread_mutex_destroy(&s->mtx);
	pthread_cond_destroy(&s->wake);
	pthread_cond_destroy(&s->idle);
	free(s);
}

void
syncer_sync(struct syncer *s, int fd, uint64_t seq, uint64_t size, int full)
{
	pthread_mutex_lock(&s->mtx);
	if (s->seq != seq || s->fd != fd) {
		s->fd = fd;
		s->seq = seq;
		s->want = 0;
	}
	if (size > s->want)
		s->want = size;
	s->want_full |= full;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->mtx);
}

void
syncer_close_segment(struct syncer *s, int fd, uint64_t seq)
{
	struct close_job *j;

	if ((j = malloc(sizeof(*j))) == NULL) {
		/* No memory for a job: do it here rather than lose it. */
		struct close_job tmp = { fd, seq, NULL };

		do_close(s, &tmp);
		return;
	}
	j->fd = fd;
	j->seq = seq;
	j->next = NULL;
	pthread_mutex_lock(&s->mtx);
	if (s->fd == fd) {
		s->fd = -1;
		s->want = 0;
	}
	*s->jobs_tail = j;
	s->jobs_tail = &j->next;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->mtx);
}

/*
 * Wake the thread until every closed segment is synced and renamed
 * (closed_only: the open one's syncs may go on), or until everything
 * asked for is done.  Bounded, so that a dead disk cannot keep the plugin
 * from exiting: -1 when timeout_sec ran out.
 */
static int
wait_done(struct syncer *s, int closed_only, unsigned timeout_sec)
{
	struct timespec deadline;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_sec;
	pthread_mutex_lock(&s->mtx);
	while (closed_only ? s->jobs != NULL || s->closing :
	    s->busy || pending(s)) {
		pthread_cond_signal(&s->wake);
		if (pthread_cond_timedwait(&s->idle, &s->mtx, &deadline) ==
		    ETIMEDOUT) {
			rc = -1;
			break;
		}
	}
	pthread_mutex_unlock(&s->mtx);
	return rc;
}

int
syncer_drain(struct syncer *s, unsigned timeout_sec)
{
	return wait_done(s, 0, timeout_sec);
}

int
syncer_wait_closed(struct syncer *s, unsigned timeout_sec)
{
	return wait_done(s, 1, timeout_sec);
}

unsigned
syncer_backlog(struct syncer *s)
{
	struct close_job *j;
	unsigned n = 0;

	pthread_mutex_lock(&s->mtx);
	for (j = s->jobs; j != NULL; j = j->next)
		n++;
	pthread_mutex_unlock(&s->mtx);
	return n;
}

void
syncer_durable(struct syncer *s, uint64_t *seq, uint64_t *size)
{
	pthread_mutex_lock(&s->mtx);
	*seq = s->durable_seq;
	*size = s->durable;
	pthread_mutex_unlock(&s->mtx);
}

int
syncer_take_error(struct syncer *s, char *buf, size_t len)
{
	int have;

	pthread_mutex_lock(&s->mtx);
	have = s->error[0] != '\0';
	if (have) {
		snprintf(buf, len, "%s", s->error);
		s->error[0] = '\0';
	}
	pthread_mutex_unlock(&s->mtx);
	return have;
}
