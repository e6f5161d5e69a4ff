/*
 * The parent's files about the fleet (the network process may write no
 * file): from the hosts' summaries the network process sends
 * (health.c), the status file, one line per host in the sender's
 * status-file style, and the metrics file, the Prometheus text format for
 * node_exporter's textfile collector.  Each is written whole to a
 * temporary name in its directory and renamed over the old one, so that
 * a reader sees the old file or the new one, never a mix; not synced: a
 * crash loses a snapshot the next one replaces.
 *
 * The auditor (auditor.c) adds each host's serial gaps.
 *
 * And auditdistd -l, which prints the status file as a table, the worst
 * host first.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auditdistd.h"
#include "hosttab.h"
#include "log.h"
#include "tcur.h"

/* Written at each round's end if a host's state changed, else this often. */
#define RSTATUS_EVERY	5
/* A host not in any round for this long was removed. */
#define RSTATUS_STALE	120

struct rstat {
	char		 name[WIRE_MAX_HOST + 1];
	enum rh_state	 state;
	uint16_t	 version;
	uint32_t	 silence_alarm;
	int64_t		 connected_since, last_seen, last_record_time;
	uint64_t	 bytes, records;
	int64_t		 health_at;
	char		 text[WIRE_MAX_HEALTH + 1];
	size_t		 tlen;
	time_t		 updated;
	int		 counted;	/* the auditor reported it */
	uint64_t	 gaps, missing;	/* kernel serials never stored */
	int		 published;	/* the publisher reported it */
	uint64_t	 pub_lag, pub_bytes;
	int64_t		 pub_time;	/* of its last publication, 0: none */
};

static struct hosttab tab = HOSTTAB_INIT(struct rstat, name);
static char *status_path, *metrics_path;
static time_t written;
static int changed;
static const char *const state_names[] = {
	[RHS_NEVER] = "never", [RHS_CONNECTED] = "connected",
	[RHS_IDLE] = "idle", [RHS_SILENT] = "silent",
};

void
rstatus_init(const struct conf *conf)
{
	free(status_path);
	free(metrics_path);
	status_path = metrics_path = NULL;
	if (conf->receiver.status_file != NULL &&
	    (status_path = strdup(conf->receiver.status_file)) == NULL)
		fatal("status file");
	if (conf->receiver.metrics_file != NULL &&
	    (metrics_path = strdup(conf->receiver.metrics_file)) == NULL)
		fatal("metrics file");
	changed = 1;
}

static struct rstat *
find(const char *name, int add)
{
	struct rstat *r;
	size_t at;

	if ((r = hosttab_find(&tab, name, &at)) != NULL || !add)
		return r;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("host table");
	snprintf(r->name, sizeof(r->name), "%s", name);
	if (hosttab_insert(&tab, at, r) == -1)
		fatal("host table");
	changed = 1;
	return r;
}

static void
forget_stale(time_t now)
{
	struct rstat *r;
	size_t i, j;

	for (i = j = 0; i < tab.n; i++) {
		r = tab.v[i];
		if (now - r->updated < RSTATUS_STALE)
			tab.v[j++] = r;
		else
			free(r);
	}
	if (j != tab.n)
		changed = 1;
	tab.n = j;
}

/* From our own network process: anything malformed is a bug. */
static void
take_summary(const struct ctl_msg *m)
{
	struct rstat *r = find(m->host, 1);
	struct msg mm;
	uint64_t v[6];
	uint8_t st;
	size_t i;

	msg_init(&mm, CTL_HEALTH, m->body, (uint32_t)m->bodylen);
	if (msg_get_u8(&mm, &st) == -1 || st > RHS_SILENT ||
	    msg_get_u16(&mm, &r->version) == -1 ||
	    msg_get_u32(&mm, &r->silence_alarm) == -1)
		fatalx("from the network process: malformed health of %s", m->host);
	for (i = 0; i < 6; i++)
		if (msg_get_u64(&mm, &v[i]) == -1)
			fatalx("from the network process: malformed health");
	if (msg_get_str(&mm, r->text, sizeof(r->text)) == -1 ||
	    msg_end(&mm) == -1)
		fatalx("from the network process: malformed health text");
	if ((enum rh_state)st != r->state)
		changed = 1;
	r->state = (enum rh_state)st;
	r->connected_since = (int64_t)v[0];
	r->last_seen = (int64_t)v[1];
	r->last_record_time = (int64_t)v[2];
	r->bytes = v[3];
	r->records = v[4];
	r->health_at = (int64_t)v[5];
	r->tlen = strlen(r->text);
	r->updated = time(NULL);
}

/* The file at path, written whole by fn, then renamed over: 0 or -1. */
static int
replace_file(const char *path, void (*fn)(FILE *, time_t), time_t now)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) == -1)
		return -1;
	if (fchmod(fd, 0644) == -1 || (f = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	fn(f, now);
	if (ferror(f) | fclose(f) || rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Each failing file said once, until it works again. */
static void
write_one(const char *what, const char *path, void (*fn)(FILE *, time_t),
    time_t now, int *said)
{
	if (path == NULL)
		return;
	if (replace_file(path, fn, now) == 0) {
		*said = 0;
		return;
	}
	if (!*said)
		log_warn("%s %s", what, path);
	*said = 1;
}

static void	status_lines(FILE *, time_t);
static void	metrics_text(FILE *, time_t);

void
rstatus_update(const struct ctl_msg *m)
{
	static int said_status, said_metrics;
	time_t now = time(NULL);

	if (m->host[0] != '\0') {
		take_summary(m);
		return;
	}
	if (m->bodylen != 1)
		fatalx("from the network process: malformed end of health round");
	if (m->body[0])		/* every host was in it */
		forget_stale(now);
	if (!changed && now - written < RSTATUS_EVERY)
		return;
	write_one("status file", status_path, status_lines, now, &said_status);
	write_one("metrics file", metrics_path, metrics_text, now,
	    &said_metrics);
	changed = 0;
	written = now;
}

/*
 * From our own auditor; a host not in the health rounds is not shown.  It
 * parses what senders sent: a malformed message (-1, logged) gets it
 * restarted, not the receiver stopped.
 */
int
rstatus_serial(const struct ctl_msg *m)
{
	struct rstat *r = find(m->host, 0);
	struct msg mm;
	uint64_t gaps, missing;

	msg_init(&mm, CTL_SERIAL, m->body, (uint32_t)m->bodylen);
	if (msg_get_u64(&mm, &gaps) == -1 ||
	    msg_get_u64(&mm, &missing) == -1) {
		log_warnx("from the auditor: malformed serial counts");
		return -1;
	}
	if (r == NULL)
		return 0;
	if (!r->counted || r->gaps != gaps || r->missing != missing)
		changed = 1;
	r->counted = 1;
	r->gaps = gaps;
	r->missing = missing;
	return 0;
}

/* From our own publisher, as rstatus_serial. */
int
rstatus_publish(const struct ctl_msg *m)
{
	struct rstat *r = find(m->host, 0);
	struct msg mm;
	uint64_t lag, bytes, t;

	msg_init(&mm, CTL_PUBLISH, m->body, (uint32_t)m->bodylen);
	if (msg_get_u64(&mm, &lag) == -1 || msg_get_u64(&mm, &bytes) == -1 ||
	    msg_get_u64(&mm, &t) == -1 || t > INT64_MAX) {
		log_warnx("from the publisher: malformed figures");
		return -1;
	}
	if (r == NULL)
		return 0;
	if (!r->published || r->pub_lag != lag || r->pub_bytes != bytes)
		changed = 1;
	r->published = 1;
	r->pub_lag = lag;
	r->pub_bytes = bytes;
	r->pub_time = (int64_t)t;
	return 0;
}

/* --- the status file ------------------------------------------------------ */

static void
iso(char *buf, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
put_time(FILE *f, const char *key, int64_t t, const char *none)
{
	char ts[32];

	if (t <= 0) {
		fprintf(f, " %s=%s", key, none);
		return;
	}
	iso(ts, sizeof(ts), t);
	fprintf(f, " %s=%s", key, ts);
}

static void
put_num(FILE *f, const char *key, int64_t v, const char *none)
{
	if (v < 0)
		fprintf(f, " %s=%s", key, none);
	else
		fprintf(f, " %s=%" PRId64, key, v);
}

static int
health_of(const struct rstat *r, struct msg_health *h)
{
	return r->tlen > 0 && wire_dec_health((const uint8_t *)r->text,
	    r->tlen, h) == 0;
}

static void
status_lines(FILE *f, time_t now)
{
	struct msg_health h;
	const struct rstat *r;
	char ts[32];
	int has;
	size_t i;

	for (i = 0; i < tab.n; i++) {
		r = tab.v[i];
		has = health_of(r, &h);
		iso(ts, sizeof(ts), now);
		fputs(ts, f);
		fprintf(f, " host=%s state=%s", r->name,
		    state_names[r->state]);
		put_time(f, "connected_since", r->connected_since, "none");
		put_time(f, "last_seen", r->last_seen, "never");
		put_time(f, "last_record_time", r->last_record_time, "none");
		fprintf(f, " bytes_stored=%" PRIu64 " records_stored=%" PRIu64
		    " silence_alarm=%" PRIu32 " protocol=%u health=%s",
		    r->bytes, r->records, r->silence_alarm, r->version,
		    has ? "yes" : "none");
		put_time(f, "health_time", r->health_at, "none");
		if (!has)
			memset(&h, 0xff, sizeof(h));	/* all -1 */
		put_num(f, "unacked_bytes", h.unacked_bytes, "unknown");
		put_num(f, "dropped_records", h.dropped_records, "unknown");
		put_num(f, "dropped_bytes", h.dropped_bytes, "unknown");
		put_num(f, "rejected_records", h.rejected_records, "unknown");
		put_num(f, "rejected_bytes", h.rejected_bytes, "unknown");
		put_num(f, "kernel_lost", h.kernel_lost, "unknown");
		put_num(f, "kernel_backlog", h.kernel_backlog, "unknown");
		put_num(f, "spool_bytes", h.spool_bytes, "unknown");
		put_num(f, "oldest_unshipped_age", h.oldest_unshipped_age,
		    has ? "none" : "unknown");
		put_time(f, "sender_start_time", has ? h.start_time : -1,
		    "unknown");
		fprintf(f, " boot_id=%s format=%s",
		    has && h.boot_id[0] ? h.boot_id : "unknown",
		    has ? wire_health_format_name(h.format) : "unknown");
		put_num(f, "serial_gaps", r->counted ? (int64_t)r->gaps : -1,
		    "unknown");
		put_num(f, "missing_serials", r->counted ?
		    (int64_t)r->missing : -1, "unknown");
		put_num(f, "publish_lag_bytes", r->published ?
		    (int64_t)r->pub_lag : -1, "unknown");
		put_num(f, "published_bytes", r->published ?
		    (int64_t)r->pub_bytes : -1, "unknown");
		put_time(f, "last_published", r->published ? r->pub_time : 0,
		    "none");
		fputc('\n', f);
	}
}

/* --- the metrics file ----------------------------------------------------- */

enum mval {
	MV_CONNECTED, MV_SILENT, MV_LAST_SEEN, MV_LAST_RECORD, MV_SINCE,
	MV_RECORDS, MV_BYTES, MV_ALARM, MV_HEALTH_AT, MV_IN, MV_DROPPED,
	MV_DROPPED_BYTES, MV_LOST, MV_BACKLOG, MV_SPOOL, MV_UNACKED,
	MV_OLDEST, MV_START, MV_GAPS, MV_MISSING, MV_PUB_LAG, MV_PUBLISHED,
};

static const struct family {
	enum mval	 v;
	const char	*name, *type, *help;
} families[] = {
	{ MV_CONNECTED, "receiver_host_connected", "gauge",
	    "1 if the host has a live connection, else 0." },
	{ MV_SILENT, "receiver_host_silent", "gauge",
	    "1 if neither records nor a heartbeat came for silence_alarm "
	    "seconds." },
	{ MV_LAST_SEEN, "receiver_last_seen_timestamp_seconds", "gauge",
	    "When the host was last heard from, 0 if not since the "
	    "receiver started." },
	{ MV_LAST_RECORD, "receiver_last_record_timestamp_seconds", "gauge",
	    "The audit time of the last record taken for its trail." },
	{ MV_SINCE, "receiver_connected_since_timestamp_seconds", "gauge",
	    "When its live connection was welcomed." },
	{ MV_RECORDS, "receiver_records_stored_total", "counter",
	    "Records taken for its trail since the receiver started." },
	{ MV_BYTES, "receiver_stored_bytes_total", "counter",
	    "Bytes taken for its trail since the receiver started." },
	{ MV_ALARM, "receiver_silence_alarm_seconds", "gauge",
	    "Its silence_alarm, 0 for none." },
	{ MV_HEALTH_AT, "receiver_health_report_timestamp_seconds", "gauge",
	    "When its sender last reported its health (protocol 3)." },
	{ MV_IN, "sender_records_in_total", "counter",
	    "Records the sender read from auditd, as it reports." },
	{ MV_DROPPED, "sender_dropped_total", "counter",
	    "Records the sender lost: reason spool (spool limits, write "
	    "errors) or malformed (refused input)." },
	{ MV_DROPPED_BYTES, "sender_dropped_bytes_total", "counter",
	    "Bytes of the records the sender lost, by reason." },
	{ MV_LOST, "sender_kernel_lost_total", "counter",
	    "Events the sender's kernel lost (its audit lost counter)." },
	{ MV_BACKLOG, "sender_kernel_backlog", "gauge",
	    "Events in the sender's kernel audit backlog." },
	{ MV_SPOOL, "sender_spool_bytes", "gauge",
	    "Bytes in the sender's spool." },
	{ MV_UNACKED, "sender_unacked_bytes", "gauge",
	    "Spooled bytes this receiver has not acknowledged, as the "
	    "sender reports." },
	{ MV_OLDEST, "sender_oldest_unshipped_age_seconds", "gauge",
	    "Age of the sender's oldest record some receiver lacks." },
	{ MV_START, "sender_start_time_seconds", "gauge",
	    "When the sender's audisp-dist started." },
	{ MV_GAPS, "receiver_serial_gaps_total", "counter",
	    "Runs of kernel event serials that never reached its trail." },
	{ MV_MISSING, "receiver_missing_serials_total", "counter",
	    "Kernel event serials that never reached its trail." },
	{ MV_PUB_LAG, "receiver_publish_lag_bytes", "gauge",
	    "Bytes of its trail not yet published to NATS JetStream." },
	{ MV_PUBLISHED, "receiver_published_bytes_total", "counter",
	    "Bytes of its trail published to NATS JetStream." },
};

/* A family's value for r, or -1: no sample. */
static int64_t
value(enum mval v, const struct rstat *r, const struct msg_health *h,
    int has)
{
	switch (v) {
	case MV_CONNECTED:	return r->state == RHS_CONNECTED;
	case MV_SILENT:		return r->state == RHS_SILENT;
	case MV_LAST_SEEN:	return r->last_seen;
	case MV_LAST_RECORD:	return r->last_record_time > 0 ?
				    r->last_record_time : -1;
	case MV_SINCE:		return r->connected_since > 0 ?
				    r->connected_since : -1;
	case MV_RECORDS:	return (int64_t)r->records;
	case MV_BYTES:		return (int64_t)r->bytes;
	case MV_ALARM:		return r->silence_alarm;
	case MV_HEALTH_AT:	return has ? r->health_at : -1;
	case MV_GAPS:		return r->counted ? (int64_t)r->gaps : -1;
	case MV_MISSING:	return r->counted ? (int64_t)r->missing : -1;
	case MV_PUB_LAG:	return r->published ? (int64_t)r->pub_lag : -1;
	case MV_PUBLISHED:	return r->published ?
				    (int64_t)r->pub_bytes : -1;
	default:
		break;
	}
	if (!has)
		return -1;
	switch (v) {
	case MV_IN:		return h->records_in;
	case MV_LOST:		return h->kernel_lost;
	case MV_BACKLOG:	return h->kernel_backlog;
	case MV_SPOOL:		return h->spool_bytes;
	case MV_UNACKED:	return h->unacked_bytes;
	case MV_OLDEST:		return h->oldest_unshipped_age;
	case MV_START:		return h->start_time;
	default:		return -1;
	}
}

static void
metrics_text(FILE *f, time_t now)
{
	struct msg_health h;
	const struct family *fm;
	const struct rstat *r;
	int64_t v, a, b;
	size_t i, k;
	int has;

	(void)now;
	for (k = 0; k < sizeof(families) / sizeof(families[0]); k++) {
		fm = &families[k];
		fprintf(f, "# HELP auditdist_%s %s\n# TYPE auditdist_%s %s\n",
		    fm->name, fm->help, fm->name, fm->type);
		for (i = 0; i < tab.n; i++) {
			r = tab.v[i];
			has = health_of(r, &h);
			if (fm->v == MV_DROPPED || fm->v == MV_DROPPED_BYTES) {
				if (!has)
					continue;
				a = fm->v == MV_DROPPED ? h.dropped_records :
				    h.dropped_bytes;
				b = fm->v == MV_DROPPED ? h.rejected_records :
				    h.rejected_bytes;
				if (a >= 0)
					fprintf(f, "auditdist_%s{host=\"%s\","
					    "reason=\"spool\"} %" PRId64 "\n",
					    fm->name, r->name, a);
				if (b >= 0)
					fprintf(f, "auditdist_%s{host=\"%s\","
					    "reason=\"malformed\"} %" PRId64
					    "\n", fm->name, r->name, b);
				continue;
			}
			if ((v = value(fm->v, r, &h, has)) >= 0)
				fprintf(f, "auditdist_%s{host=\"%s\"} %" PRId64
				    "\n", fm->name, r->name, v);
		}
	}
}

/* --- auditdistd -l ------------------------------------------------------ */

struct row {
	char	 host[WIRE_MAX_HOST + 1];
	char	 state[16], last_seen[32];
	int64_t	 lost, missing, dropped, rejected, unacked;
	uint64_t records;
};

/* The value of " key=" in line, into buf; "" if absent. */
static void
field(const char *line, const char *key, char *buf, size_t len)
{
	char pat[64];
	const char *p;
	size_t n;

	snprintf(pat, sizeof(pat), " %s=", key);
	buf[0] = '\0';
	if ((p = strstr(line, pat)) == NULL)
		return;
	p += strlen(pat);
	n = strcspn(p, " \n");
	snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), p);
}

static int64_t
field_num(const char *line, const char *key)
{
	char buf[32];
	struct tcur c;
	uint64_t v;

	/* As put_num writes it: a number, or a word for none. */
	field(line, key, buf, sizeof(buf));
	tc_init(&c, buf, strlen(buf));
	return tc_dec(&c, INT64_MAX, &v) == 0 && tc_end(&c) == 0 ?
	    (int64_t)v : -1;
}

static int
state_rank(const char *s)
{
	return strcmp(s, "silent") == 0 ? 0 : 1;
}

static int64_t
loss(const struct row *r)
{
	return (r->lost > 0 ? r->lost : 0) + (r->missing > 0 ? r->missing :
	    0) + (r->dropped > 0 ? r->dropped : 0) + (r->rejected > 0 ?
	    r->rejected : 0);
}

/* Silent first, then the most lost or dropped, then the most unacked. */
static int
worst_first(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int rx = state_rank(x->state), ry = state_rank(y->state);

	if (rx != ry)
		return rx - ry;
	if (loss(x) != loss(y))
		return loss(x) > loss(y) ? -1 : 1;
	if (x->unacked != y->unacked)
		return x->unacked > y->unacked ? -1 : 1;
	return strcmp(x->host, y->host);
}

static void
put_cell(FILE *out, int64_t v)
{
	if (v < 0)
		fprintf(out, " %12s", "-");
	else
		fprintf(out, " %12" PRId64, v);
}

int
rstatus_print(const struct conf *conf, FILE *out)
{
	const char *path = conf->receiver.status_file;
	struct row *rows = NULL, *r;
	size_t n = 0, cap = 0, i, w = 4;
	char *line = NULL;
	size_t llen = 0;
	FILE *f;

	if (path == NULL) {
		fprintf(stderr, "auditdistd: %s: status_file is \"none\"\n",
		    conf->path);
		return 1;
	}
	if ((f = fopen(path, "re")) == NULL) {
		fprintf(stderr, "auditdistd: %s: %s (is auditdistd running "
		    "with this configuration?)\n", path, strerror(errno));
		return 1;
	}
	while (getline(&line, &llen, f) != -1) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((rows = reallocarray(rows, cap,
			    sizeof(*rows))) == NULL)
				fatal("status file");
		}
		r = &rows[n];
		field(line, "host", r->host, sizeof(r->host));
		if (r->host[0] == '\0')
			continue;
		field(line, "state", r->state, sizeof(r->state));
		field(line, "last_seen", r->last_seen, sizeof(r->last_seen));
		r->lost = field_num(line, "kernel_lost");
		r->missing = field_num(line, "missing_serials");
		r->dropped = field_num(line, "dropped_records");
		r->rejected = field_num(line, "rejected_records");
		r->unacked = field_num(line, "unacked_bytes");
		r->records = (uint64_t)field_num(line, "records_stored");
		if (strlen(r->host) > w)
			w = strlen(r->host);
		n++;
	}
	free(line);
	fclose(f);
	qsort(rows, n, sizeof(*rows), worst_first);
	fprintf(out, "%-*s %-9s %-20s %12s %12s %12s %12s %12s %12s\n",
	    (int)w, "HOST", "STATE", "LAST_SEEN", "KERNEL_LOST", "MISSING",
	    "DROPPED", "REJECTED", "UNACKED", "RECORDS");
	for (i = 0; i < n; i++) {
		r = &rows[i];
		fprintf(out, "%-*s %-9s %-20s", (int)w, r->host, r->state,
		    r->last_seen);
		put_cell(out, r->lost);
		put_cell(out, r->missing);
		put_cell(out, r->dropped);
		put_cell(out, r->rejected);
		put_cell(out, r->unacked);
		put_cell(out, (int64_t)r->records);
		fputc('\n', out);
	}
	free(rows);
	return fflush(out) == EOF ? 1 : 0;
}
