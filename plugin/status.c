/*
 * The status file: one complete key=value snapshot per line, appended
 * every status_interval and on each state change, so that `tail -f` shows
 * live progress and any single line can be read alone.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libaudit.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audisp-dist.h"
#include "forwarder.h"
#include "log.h"

#define STATUS_MAX_SIZE	(1024 * 1024)

int
status_open(struct status *st, const char *path)
{
	struct stat sb;

	st->fd = -1;
	st->auditfd = -2;		/* not tried yet */
	if ((st->path = strdup(path)) == NULL)
		return -1;
	if ((st->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0640)) == -1 || fstat(st->fd, &sb) == -1) {
		log_warn("status file %s", path);
		free(st->path);
		st->path = NULL;
		if (st->fd != -1)
			close(st->fd);
		st->fd = -1;
		return -1;
	}
	st->size = (uint64_t)sb.st_size;
	return 0;
}

void
status_close(struct status *st)
{
	if (st->fd != -1)
		close(st->fd);
	if (st->auditfd >= 0)
		audit_close(st->auditfd);
	st->auditfd = -1;
	st->fd = -1;
	free(st->path);
	st->path = NULL;
}

/* The kernel's lost and backlog counters; needs CAP_AUDIT_CONTROL. */
static void
kernel_counters(struct status *st, int64_t *lost, int64_t *backlog)
{
	struct audit_reply rep;
	int i;

	*lost = *backlog = -1;
	if (st->auditfd == -2)
		st->auditfd = audit_open();	/* first use; -1 if refused */
	if (st->auditfd < 0 || audit_request_status(st->auditfd) <= 0)
		return;
	for (i = 0; i < 4; i++) {
		struct pollfd pfd = { st->auditfd, POLLIN, 0 };

		if (poll(&pfd, 1, 50) != 1)
			return;
		if (audit_get_reply(st->auditfd, &rep, GET_REPLY_NONBLOCKING,
		    0) <= 0)
			return;
		if (rep.type == AUDIT_GET && rep.status != NULL) {
			*lost = rep.status->lost;
			*backlog = rep.status->backlog;
			return;
		}
	}
}

static void
put(char **p, char *end, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
put(char **p, char *end, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*p >= end)
		return;
	va_start(ap, fmt);
	n = vsnprintf(*p, (size_t)(end - *p), fmt, ap);
	va_end(ap);
	if (n > 0)
		*p += (size_t)n < (size_t)(end - *p) ? (size_t)n : (size_t)(end - *p);
}

static const char *
conf_from_name(enum conf_from f)
{
	switch (f) {
	case CONF_FROM_FILE:		return "file";
	case CONF_FROM_LAST_GOOD:	return "last_good";
	case CONF_FROM_DEFAULTS:	return "defaults";
	}
	return "unknown";
}

/* s in double quotes, with any '"' or control character made a '\''. */
static void
put_quoted(char **p, char *end, const char *key, const char *s)
{
	put(p, end, " %s=\"", key);
	for (; *s != '\0' && *p < end - 2; s++)
		*(*p)++ = (*s == '"' || *s < ' ') ? '\'' : *s;
	put(p, end, "\"");
}

/* What the forwarder last said of a host: nothing acked, state unknown. */
static const struct fwd_hoststat *
host_stat(struct plugin *pl, const char *name)
{
	static const struct fwd_hoststat unknown;
	const struct fwd_hoststat *hs = NULL;

	if (pl->fwd != NULL)
		hs = fwdsup_host(pl->fwd, name);
	return hs != NULL ? hs : &unknown;
}

/*
 * Time of the oldest record that some host has not acknowledged; with no
 * host, of the oldest record in the spool.  -1: none.
 */
static int64_t
oldest_unshipped(struct plugin *pl, const struct spool_seg *segs, size_t n)
{
	struct fwd_pos at, first = { 0, 0, 0 };
	const struct conf_host *h;
	int any = 0;

	if (pl->conf->sender.hosts == NULL)
		return spool_total(&pl->spool) > 0 ?
		    spool_oldest_record_time(&pl->spool) : -1;
	for (h = pl->conf->sender.hosts; h != NULL; h = h->next) {
		if (!fwd_first_unacked(&host_stat(pl, h->name)->ack, segs, n,
		    &at))
			continue;
		if (!any || fwd_pos_cmp(&at, &first) < 0)
			first = at;
		any = 1;
	}
	return any ? spool_record_time(&pl->spool, first.seq, first.size) : -1;
}

size_t
status_format(char *buf, size_t len, struct plugin *pl,
    const struct timespec *now)
{
	const struct conf_sender *cs = &pl->conf->sender;
	const struct spool *sp = &pl->spool;
	const struct conf_host *h;
	char *p = buf, *end = buf + len - 1, ts[32];
	struct spool_seg *segs;
	uint64_t dseq, dsize;
	size_t nsegs;
	int64_t oldest;
	struct tm tm;

	gmtime_r(&now->tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	syncer_durable(sp->syncer, &dseq, &dsize);
	if (spool_list(sp->dirfd, &segs, &nsegs) == -1) {
		segs = NULL;
		nsegs = 0;
	}
	oldest = oldest_unshipped(pl, segs, nsegs);
	put(&p, end, "%s state=%s records_in=%" PRIu64 " bytes_in=%" PRIu64
	    " records_spooled=%" PRIu64 " bytes_spooled=%" PRIu64
	    " dropped_records=%" PRIu64 " dropped_bytes=%" PRIu64
	    " rejected_records=%" PRIu64 " rejected_bytes=%" PRIu64,
	    ts, plugin_state_name(pl->state), pl->c.records_in, pl->c.bytes_in,
	    pl->c.records_spooled, pl->c.bytes_spooled,
	    pl->c.dropped_records, pl->c.dropped_bytes,
	    pl->c.rejected_records, pl->c.rejected_bytes);
	put(&p, end, " segments=%u spool_bytes=%" PRIu64 " spool_max_size=%"
	    PRIu64 " fs_free=%" PRIu64 " open_segment=%016" PRIx64
	    " open_bytes=%" PRIu64 " durable_bytes=%" PRIu64,
	    sp->closed_count + 1, spool_total(sp), cs->spool_max_size,
	    pl->limits.fs_free, sp->seq, sp->size,
	    dseq == sp->seq ? dsize : 0);
	if (oldest >= 0)
		put(&p, end, " oldest_unshipped_age=%lld",
		    (long long)(time(NULL) > oldest ? time(NULL) - oldest : 0));
	else
		put(&p, end, " oldest_unshipped_age=none");
	put(&p, end, " forwarder=%s", pl->fwd != NULL ?
	    fwdsup_run_name(pl->fwd) : "none");
	put(&p, end, " spool_id=%s new_series=%u", sp->id, pl->fwd != NULL ?
	    pl->fwd->series_count : 0);
	for (h = cs->hosts; h != NULL; h = h->next) {
		const struct fwd_hoststat *hs = host_stat(pl, h->name);

		/* Until the forwarder says otherwise, it is on its way. */
		put(&p, end, " receiver.%s=%s", h->name,
		    fwd_rstate_name(hs->state == RS_UNKNOWN ? RS_CONNECTING :
		    hs->state));
		if (hs->acked)
			put(&p, end, " unacked.%s=%" PRIu64, h->name,
			    fwd_unacked_bytes(&hs->ack, segs, nsegs));
		else	/* it has not said what it holds yet */
			put(&p, end, " unacked.%s=unknown", h->name);
	}
	if (pl->kernel_lost >= 0)
		put(&p, end, " kernel_lost=%lld kernel_backlog=%lld",
		    (long long)pl->kernel_lost, (long long)pl->kernel_backlog);
	else
		put(&p, end, " kernel_lost=unknown kernel_backlog=unknown");
	put(&p, end, " config=%s", conf_from_name(pl->conf_from));
	put_quoted(&p, end, "config_error", pl->conf_error);
	if (pl->last_error[0] != '\0' && pl->status.error_at != 0) {
		gmtime_r(&pl->status.error_at, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		put(&p, end, " last_error_time=%s", ts);
	} else
		put(&p, end, " last_error_time=none");
	put_quoted(&p, end, "last_error", pl->last_error);
	put(&p, end, "\n");
	if (p >= end) {		/* cut: still one whole line */
		p = end;
		p[-1] = '\n';
	}
	*p = '\0';
	free(segs);
	return (size_t)(p - buf);
}

/* Room for every field whole: host names and the error are the long ones. */
size_t
status_line_max(const struct plugin *pl)
{
	const struct conf_host *h;
	size_t n = 1024 + sizeof(pl->last_error) + sizeof(pl->conf_error);

	for (h = pl->conf->sender.hosts; h != NULL; h = h->next)
		n += 2 * strlen(h->name) + 64;
	return n;
}

/* When the status first showed the current last_error. */
static void
error_seen(struct status *st, const struct plugin *pl, time_t now)
{
	if (strcmp(st->error_seen, pl->last_error) == 0)
		return;
	snprintf(st->error_seen, sizeof(st->error_seen), "%s",
	    pl->last_error);
	st->error_at = pl->last_error[0] != '\0' ? now : 0;
}

void
status_write(struct status *st, struct plugin *pl)
{
	char *line;
	struct timespec now;
	size_t n, max;

	if (st->fd == -1)
		return;
	max = status_line_max(pl);
	if ((line = malloc(max)) == NULL) {
		log_warn("status file %s", st->path);
		return;
	}
	kernel_counters(st, &pl->kernel_lost, &pl->kernel_backlog);
	clock_gettime(CLOCK_REALTIME, &now);
	error_seen(st, pl, now.tv_sec);
	n = status_format(line, max, pl, &now);
	if (st->size + n > STATUS_MAX_SIZE) {
		char old[4096];

		snprintf(old, sizeof(old), "%s.1", st->path);
		if (rename(st->path, old) == -1)
			log_warn("rotating status file %s", st->path);
		close(st->fd);
		st->fd = open(st->path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC |
		    O_CLOEXEC | O_NOFOLLOW, 0640);
		st->size = 0;
		if (st->fd == -1) {
			log_warn("status file %s", st->path);
			free(line);
			return;
		}
	}
	if (write(st->fd, line, n) == (ssize_t)n)
		st->size += n;
	free(line);
}
