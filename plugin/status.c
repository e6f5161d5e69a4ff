/*
 * The status file: one complete key=value snapshot per line, appended
 * every status_interval and on each state change, so that `tail -f` shows
 * live progress and any single line can be read alone.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
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

static time_t started;		/* this process, for the start time */
static char boot_id[40];	/* the kernel's, "" if unreadable */
static void	metrics_write(struct plugin *, const char *path);

/* Read once, before the sandbox: it names this boot of the host. */
void
status_read_boot_id(void)
{
	FILE *f;
	size_t n;

	if (boot_id[0] != '\0' ||
	    (f = fopen("/proc/sys/kernel/random/boot_id", "re")) == NULL)
		return;
	if (fgets(boot_id, sizeof(boot_id), f) == NULL)
		boot_id[0] = '\0';
	fclose(f);
	n = strcspn(boot_id, "\n");
	boot_id[n] = '\0';
	if (n != 36)
		boot_id[0] = '\0';
}

int
status_open(struct status *st, const char *path)
{
	struct stat sb;

	st->fd = -1;
	st->auditfd = -2;		/* not tried yet */
	if (started == 0)
		started = time(NULL);
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
	struct wire_pos at, first = { 0, 0, 0 };
	const struct conf_host *h;
	int any = 0;

	if (pl->conf->sender.hosts == NULL)
		return spool_total(&pl->spool) > 0 ?
		    spool_oldest_record_time(&pl->spool) : -1;
	for (h = pl->conf->sender.hosts; h != NULL; h = h->next) {
		if (!fwd_first_unacked(&host_stat(pl, h->name)->ack, segs, n,
		    &at))
			continue;
		if (!any || wire_pos_cmp(&at, &first) < 0)
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

/*
 * What a receiver is told of us (HEALTH, docs/protocol.md): the status
 * line's loss counters and this receiver's unacked bytes, as key=value
 * text that wire_dec_health accepts.  Returns its length, 0 if it does
 * not fit.
 */
size_t
status_health(char *buf, size_t len, struct plugin *pl, const char *host)
{
	const struct fwd_hoststat *hs = host_stat(pl, host);
	const struct counters *c = &pl->c;
	struct spool_seg *segs;
	size_t nsegs;
	int64_t oldest, unacked = -1;
	char *p = buf, *end = buf + len;
	time_t now = time(NULL);

	if (spool_list(pl->spool.dirfd, &segs, &nsegs) == -1) {
		segs = NULL;
		nsegs = 0;
	}
	oldest = oldest_unshipped(pl, segs, nsegs);
	if (hs->acked)
		unacked = (int64_t)fwd_unacked_bytes(&hs->ack, segs, nsegs);
	free(segs);
	put(&p, end, "time=%lld records_in=%" PRIu64 " dropped_records=%"
	    PRIu64 " dropped_bytes=%" PRIu64 " rejected_records=%" PRIu64
	    " rejected_bytes=%" PRIu64, (long long)now, c->records_in,
	    c->dropped_records, c->dropped_bytes, c->rejected_records,
	    c->rejected_bytes);
	if (pl->kernel_lost >= 0)
		put(&p, end, " kernel_lost=%lld kernel_backlog=%lld",
		    (long long)pl->kernel_lost, (long long)pl->kernel_backlog);
	put(&p, end, " spool_bytes=%" PRIu64, spool_total(&pl->spool));
	if (unacked >= 0)
		put(&p, end, " unacked_bytes=%lld", (long long)unacked);
	if (oldest >= 0)
		put(&p, end, " oldest_unshipped_age=%lld",
		    (long long)(now > oldest ? now - oldest : 0));
	put(&p, end, " start_time=%lld format=%s", (long long)started,
	    wire_health_format_name(pl->format));
	if (boot_id[0] != '\0')
		put(&p, end, " boot_id=%s", boot_id);
	if (p >= end)
		return 0;
	return (size_t)(p - buf);
}

/*
 * ENRICHED records carry their interpretations after a 0x1d byte; RAW
 * ones have none.  One chunk per status_interval is enough to tell.
 */
void
status_sample_format(struct plugin *pl, const char *p, size_t len)
{
	if (!pl->format_sample || len == 0)
		return;
	pl->format_sample = 0;
	pl->format = memchr(p, 0x1d, len) != NULL ? WH_FMT_ENRICHED :
	    WH_FMT_RAW;
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

	if (started == 0)	/* before status_open */
		return;
	/* The metrics, the status line and HEALTH (status_health) show them. */
	kernel_counters(st, &pl->kernel_lost, &pl->kernel_backlog);
	if (pl->conf->sender.metrics_file != NULL)
		metrics_write(pl, pl->conf->sender.metrics_file);
	if (st->fd == -1)
		return;
	max = status_line_max(pl);
	if ((line = malloc(max)) == NULL) {
		log_warn("status file %s", st->path);
		return;
	}
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

/*
 * The metrics file: the same numbers in the Prometheus text format, for
 * node_exporter's textfile collector.  Rewritten whole each time (a
 * temporary file in the same directory, then rename) so that a reader
 * sees the old file or the new one, never a mix.  Not synced: a crash
 * loses a snapshot that the next write replaces.  Mode 0644: it holds
 * counts and host block names, no secret.
 */

/* Size of segment seq in segs, or dflt if it is gone. */
static uint64_t
spool_seg_size(const struct spool_seg *segs, size_t n, uint64_t seq, uint64_t dflt)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (segs[i].seq == seq)
			return segs[i].size;
	return dflt;
}

void
status_acked(struct plugin *pl, struct fwd_hoststat *h,
    const struct wire_pos *ack)
{
	const struct wire_pos *old = &h->ack;
	struct spool_seg *segs;
	uint64_t n = 0;
	size_t i, nsegs;

	h->last_ack = time(NULL);
	/*
	 * The first word of a receiver is what it held before we started;
	 * from then on, what it holds more came from us.  seq 0: nothing.
	 */
	if (!h->acked || wire_pos_cmp(ack, old) <= 0)
		return;
	if (ack->seq == old->seq) {
		h->shipped += ack->size - old->size;
		return;
	}
	/* Segments are deleted only after every ack of them: all here. */
	if (spool_list(pl->spool.dirfd, &segs, &nsegs) == -1)
		return;
	n = spool_seg_size(segs, nsegs, old->seq, old->size) - old->size + ack->size;
	for (i = 0; i < nsegs; i++)
		if (segs[i].seq > old->seq && segs[i].seq < ack->seq)
			n += segs[i].size;
	h->shipped += n;
	free(segs);
}

/* One family's HELP and TYPE lines. */
static void
m_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP auditdist_%s %s\n# TYPE auditdist_%s %s\n",
	    name, help, name, type);
}

static void
m_value(FILE *f, const char *name, const char *type, const char *help,
    uint64_t v)
{
	m_family(f, name, type, help);
	fprintf(f, "auditdist_%s %" PRIu64 "\n", name, v);
}

/* A sample labelled with the receiver's (host block's) name, escaped. */
static void
m_host(FILE *f, const char *name, const char *host, uint64_t v)
{
	fprintf(f, "auditdist_%s{receiver=\"", name);
	for (; *host != '\0'; host++) {
		if (*host == '\\' || *host == '"')
			fprintf(f, "\\%c", *host);
		else if (*host == '\n')
			fputs("\\n", f);
		else
			fputc(*host, f);
	}
	fprintf(f, "\"} %" PRIu64 "\n", v);
}

static void
m_sender(FILE *f, struct plugin *pl, const struct spool_seg *segs,
    size_t nsegs)
{
	const struct counters *c = &pl->c;
	const struct spool *sp = &pl->spool;
	int64_t oldest = oldest_unshipped(pl, segs, nsegs);
	time_t now = time(NULL);

	m_value(f, "records_in_total", "counter",
	    "Whole records read from auditd.", c->records_in);
	m_value(f, "in_bytes_total", "counter",
	    "Bytes of whole records read from auditd.", c->bytes_in);
	m_value(f, "records_spooled_total", "counter",
	    "Records written to the spool.", c->records_spooled);
	m_value(f, "spooled_bytes_total", "counter",
	    "Bytes written to the spool.", c->bytes_spooled);
	m_value(f, "dropped_records_total", "counter",
	    "Records lost to spool limits or write errors.",
	    c->dropped_records);
	m_value(f, "dropped_bytes_total", "counter",
	    "Bytes lost to spool limits or write errors.", c->dropped_bytes);
	m_value(f, "rejected_records_total", "counter",
	    "Malformed input lines refused.", c->rejected_records);
	m_value(f, "rejected_bytes_total", "counter",
	    "Bytes of malformed input refused.", c->rejected_bytes);
	m_value(f, "spool_bytes", "gauge",
	    "Bytes in the spool's segments.", spool_total(sp));
	m_value(f, "spool_segments", "gauge",
	    "Segments in the spool, the open one included.",
	    (uint64_t)sp->closed_count + 1);
	m_value(f, "spool_max_bytes", "gauge",
	    "The spool_max_size limit, 0 for none.",
	    pl->conf->sender.spool_max_size);
	m_value(f, "spool_fs_free_bytes", "gauge",
	    "Bytes free on the spool's file system.", pl->limits.fs_free);
	m_value(f, "oldest_unshipped_age_seconds", "gauge",
	    "Age of the oldest record some receiver has not acknowledged, "
	    "0 if none.", oldest >= 0 && now > oldest ?
	    (uint64_t)(now - oldest) : 0);
	if (pl->kernel_lost >= 0) {
		m_value(f, "kernel_lost_total", "counter",
		    "Events the kernel lost (its audit lost counter).",
		    (uint64_t)pl->kernel_lost);
		m_value(f, "kernel_backlog", "gauge",
		    "Events in the kernel's audit backlog.",
		    (uint64_t)pl->kernel_backlog);
	}
	m_value(f, "start_time_seconds", "gauge",
	    "When audisp-dist started, in seconds since the epoch.",
	    (uint64_t)started);
}

static void
m_receivers(FILE *f, struct plugin *pl, const struct spool_seg *segs,
    size_t nsegs)
{
	const struct conf_host *h, *hosts = pl->conf->sender.hosts;

	if (hosts == NULL)
		return;
	m_family(f, "receiver_connected", "gauge",
	    "1 if the receiver is connected and welcomed us, else 0.");
	for (h = hosts; h != NULL; h = h->next)
		m_host(f, "receiver_connected", h->name,
		    host_stat(pl, h->name)->state == RS_CONNECTED);
	m_family(f, "receiver_unacked_bytes", "gauge",
	    "Spooled bytes the receiver has not acknowledged as durable.");
	for (h = hosts; h != NULL; h = h->next)
		if (host_stat(pl, h->name)->acked)
			m_host(f, "receiver_unacked_bytes", h->name,
			    fwd_unacked_bytes(&host_stat(pl, h->name)->ack,
			    segs, nsegs));
	m_family(f, "receiver_shipped_bytes_total", "counter",
	    "Bytes the receiver acknowledged since audisp-dist started.");
	for (h = hosts; h != NULL; h = h->next)
		m_host(f, "receiver_shipped_bytes_total", h->name,
		    host_stat(pl, h->name)->shipped);
	m_family(f, "receiver_last_ack_timestamp_seconds", "gauge",
	    "When the receiver last acknowledged, 0 if never since start.");
	for (h = hosts; h != NULL; h = h->next)
		m_host(f, "receiver_last_ack_timestamp_seconds", h->name,
		    (uint64_t)host_stat(pl, h->name)->last_ack);
	m_family(f, "receiver_errors_total", "counter",
	    "Connection failures: each time the forwarder backed off.");
	for (h = hosts; h != NULL; h = h->next)
		m_host(f, "receiver_errors_total", h->name,
		    host_stat(pl, h->name)->errors);
}

static void
metrics_write(struct plugin *pl, const char *path)
{
	char tmp[PATH_MAX];
	struct spool_seg *segs;
	size_t nsegs;
	FILE *f;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		log_warnx("metrics file %s: path too long", path);
		return;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) == -1 || fchmod(fd, 0644) == -1 ||
	    (f = fdopen(fd, "w")) == NULL) {
		log_warn("metrics file %s", tmp);
		if (fd != -1)
			close(fd);
		return;
	}
	if (spool_list(pl->spool.dirfd, &segs, &nsegs) == -1) {
		segs = NULL;
		nsegs = 0;
	}
	m_sender(f, pl, segs, nsegs);
	m_receivers(f, pl, segs, nsegs);
	free(segs);
	if (ferror(f) | fclose(f)) {
		log_warn("metrics file %s", tmp);
		unlink(tmp);
	} else if (rename(tmp, path) == -1) {
		log_warn("metrics file: renaming %s to %s", tmp, path);
		unlink(tmp);
	}
}
