/*
 * Latency: records written one per write() at a steady rate into
 * audisp-dist's stdin (a socketpair, as auditd writes them); each
 * record's latency runs from the return of its write() to the moment
 * audisp-dist logs (with -d) that its forwarder heard the receiver hold
 * that record durably (auditdistd acks only after fdatasync).  So it
 * includes the plugin, the spool, the forwarder, TLS, the receiver's
 * write and sync, the ack back, and the forwarder's report to the plugin.
 */
#include <sys/prctl.h>
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define READER_BUF	(1 << 20)
#define ACK_WAIT	60.0	/* s for the last record's ack after sending */

static const unsigned rates[] = { 1000, 10000, 100000 };
#define NRATES	(sizeof(rates) / sizeof(rates[0]))
#define MAIN_RATE 10000		/* the one with a target */

struct reader {
	int		 fd;
	char		*buf;
	size_t		 start, len;	/* unread bytes: buf[start..len) */
};

struct latres {
	double		 p50, p99, max;	/* ms */
	double		 achieved;	/* records/s actually written */
	size_t		 n;
};

static void
reader_open(struct reader *rd, const char *path)
{
	if ((rd->fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		err(EX_NOINPUT, "%s", path);
	if ((rd->buf = malloc(READER_BUF)) == NULL)
		err(EX_OSERR, "malloc");
	rd->start = rd->len = 0;
}

/* The next record with its newline; NULL at the end of the stream. */
static const char *
reader_next(struct reader *rd, size_t *lenp)
{
	char *nl;
	ssize_t r;

	for (;;) {
		nl = memchr(rd->buf + rd->start, '\n', rd->len - rd->start);
		if (nl != NULL) {
			const char *p = rd->buf + rd->start;

			*lenp = (size_t)(nl + 1 - p);
			rd->start += *lenp;
			return p;
		}
		memmove(rd->buf, rd->buf + rd->start, rd->len - rd->start);
		rd->len -= rd->start;
		rd->start = 0;
		if (rd->len == READER_BUF)
			errx(EX_DATAERR, "a record longer than %d bytes",
			    READER_BUF);
		r = read(rd->fd, rd->buf + rd->len, READER_BUF - rd->len);
		if (r == -1)
			err(EX_IOERR, "read stream");
		if (r == 0)
			return NULL;
		rd->len += (size_t)r;
	}
}

static void
reader_close(struct reader *rd)
{
	close(rd->fd);
	free(rd->buf);
}

/*
 * Send n records at rate per second; wt[i] is when record i was wholly
 * written, end[i] the stream offset just after it.
 */
static void
send_paced(struct sender *s, const struct recv *r, struct reader *rd,
    unsigned rate, size_t n, double *wt, uint64_t *end)
{
	struct pollfd pfd[2];
	struct timespec ts;
	const char *rec = NULL;
	size_t i = 0, len = 0, done = 0;
	uint64_t off = 0;
	double t0, due, tnow, wait;
	ssize_t w;

	pfd[0].fd = s->err;
	pfd[0].events = POLLIN;
	pfd[1].fd = s->sock;
	pfd[1].events = POLLOUT;
	t0 = now();
	while (i < n) {
		if (interrupted)
			sender_fail(s, r, "interrupted");
		tnow = now();
		due = t0 + (double)i / rate;
		if (rec == NULL && tnow >= due) {
			if ((rec = reader_next(rd, &len)) == NULL)
				errx(EX_SOFTWARE, "the stream ran out");
			done = 0;
		}
		if (rec != NULL) {
			w = write(s->sock, rec + done, len - done);
			if (w == -1 && errno != EAGAIN && errno != EINTR)
				sender_fail(s, r, "writing to audisp-dist: %s",
				    strerror(errno));
			if (w > 0)
				done += (size_t)w;
			if (done == len) {
				wt[i] = now();
				off += len;
				end[i++] = off;
				rec = NULL;
				/* Behind schedule: the next one at once. */
				continue;
			}
			wait = 0.001;	/* its stdin is full */
		} else
			wait = due - tnow;
		ts.tv_sec = (time_t)wait;
		ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
		pfd[0].revents = pfd[1].revents = 0;
		if (ppoll(pfd, rec != NULL ? 2 : 1, &ts, NULL) == -1 &&
		    errno != EINTR)
			err(EX_OSERR, "ppoll");
		if (pfd[0].revents != 0)
			sender_read(s);
		if (!proc_alive(s->pid))
			sender_fail(s, r, "audisp-dist exited during the run");
	}
}

static int
cmp_ack_time(const void *a, const void *b)
{
	const struct ack *x = a, *y = b;

	return (x->t > y->t) - (x->t < y->t);
}

static void
run_rate(struct bench *b, unsigned rate, struct latres *res)
{
	char hostdir[PATH_MAX], tag[32];
	struct seqmap map = { NULL, NULL, 0 };
	struct reader rd;
	struct sender s;
	struct recv r;
	struct pollfd pfd;
	double *wt, *lat, deadline, covered_t = NAN;
	uint64_t *end, last;
	long plug = -1, fwd = -1, rcv = -1;
	size_t n, i, j, k;
	int64_t off;

	n = (size_t)rate * b->lat_secs;
	if (n > b->stream_records)
		n = (size_t)b->stream_records;
	if ((wt = calloc(n, sizeof(*wt))) == NULL ||
	    (end = calloc(n, sizeof(*end))) == NULL ||
	    (lat = calloc(n, sizeof(*lat))) == NULL)
		err(EX_OSERR, "calloc");

	snprintf(tag, sizeof(tag), "lat%u", rate);
	sync();
	recv_start(b, &r, tag, 1, 20);
	sender_start(b, &s, &r, tag);
	sender_wait_connected(&s, &r);
	recv_host_dir(&r, SENDER_HOST, hostdir, sizeof(hostdir));
	if (fcntl(s.sock, F_SETFL, O_NONBLOCK) == -1)
		err(EX_OSERR, "fcntl");
	reader_open(&rd, b->stream);
	send_paced(&s, &r, &rd, rate, n, wt, end);
	reader_close(&rd);
	last = end[n - 1];

	/* Until an ack covers the last record. */
	pfd.fd = s.err;
	pfd.events = POLLIN;
	deadline = now() + ACK_WAIT;
	for (k = 0; isnan(covered_t); ) {
		if (k < s.nacks) {
			trail_seqmap(hostdir, &map);
			for (; k < s.nacks; k++) {
				off = seqmap_offset(&map, s.acks[k].seq,
				    s.acks[k].size);
				if (off >= (int64_t)last) {
					covered_t = s.acks[k].t;
					break;
				}
			}
		}
		if (!isnan(covered_t))
			break;
		if (now() > deadline || interrupted)
			sender_fail(&s, &r, "latency at %u records/s: no ack "
			    "for the last record %.0f s after it was sent",
			    rate, ACK_WAIT);
		pfd.revents = 0;
		poll(&pfd, 1, 5);
		sender_read(&s);
	}

	/* Each record: the first ack at or past its end. */
	trail_seqmap(hostdir, &map);
	qsort(s.acks, s.nacks, sizeof(*s.acks), cmp_ack_time);
	for (i = 0, j = 0; i < s.nacks && j < n; i++) {
		off = seqmap_offset(&map, s.acks[i].seq, s.acks[i].size);
		while (off >= 0 && j < n && end[j] <= (uint64_t)off) {
			lat[j] = (s.acks[i].t - wt[j]) * 1e3;
			if (lat[j] < 0)
				sender_fail(&s, &r, "record %zu acked %.3f ms "
				    "before it was written", j, -lat[j]);
			j++;
		}
	}
	if (j < n)
		sender_fail(&s, &r, "%zu of %zu records were never acked", n - j,
		    n);
	trail_verify(b, hostdir, last);
	sender_stop(&s, &plug, &fwd);
	recv_stop(&r, &rcv);
	if (fwd > b->fwd_hwm_kib)
		b->fwd_hwm_kib = fwd;
	if (s.fwd_anon_kib > b->fwd_anon_kib)
		b->fwd_anon_kib = s.fwd_anon_kib;

	if (getenv("BENCH_LATENCY_DUMP") != NULL) {
		char dump[PATH_MAX];
		FILE *f;

		pathf(dump, sizeof(dump), "%s.lat%u", getenv(
		    "BENCH_LATENCY_DUMP"), rate);
		if ((f = fopen(dump, "we")) != NULL) {
			for (i = 0; i < n; i++)
				fprintf(f, "%zu %.6f %.3f\n", i, wt[i] - wt[0],
				    lat[i]);
			fclose(f);
		}
	}
	res->n = n;
	res->achieved = n > 1 ? (double)(n - 1) / (wt[n - 1] - wt[0]) : NAN;
	res->p50 = percentile(lat, n, 50);
	res->p99 = percentile(lat, n, 99);
	res->max = lat[n - 1];
	sender_free(&s);
	seqmap_free(&map);
	rm_path(s.spool);
	rm_path(r.dir);
	free(wt);
	free(end);
	free(lat);
}

void
group_latency(struct bench *b, struct table *t)
{
	struct latres res[NRATES][b->e2e_runs], med[NRATES];
	double v[b->e2e_runs];
	char fig[96];
	size_t i;
	unsigned k;

	/* Wake up for each record on time, not 50 us late. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	for (k = 0; k < b->e2e_runs; k++)
		for (i = 0; i < NRATES; i++) {
			run_rate(b, rates[i], &res[i][k]);
			fprintf(stderr, "latency run %u/%u %6u records/s "
			    "(achieved %.0f, %zu records): p50 %.2f ms  p99 "
			    "%.2f ms  max %.2f ms\n", k + 1, b->e2e_runs,
			    rates[i], res[i][k].achieved, res[i][k].n,
			    res[i][k].p50, res[i][k].p99, res[i][k].max);
		}
	prctl(PR_SET_TIMERSLACK, 0UL, 0, 0, 0);

#define LAT_MED(field) do {						\
	for (k = 0; k < b->e2e_runs; k++)				\
		v[k] = res[i][k].field;					\
	med[i].field = median(v, b->e2e_runs);				\
} while (0)
	for (i = 0; i < NRATES; i++) {
		LAT_MED(p50);
		LAT_MED(p99);
		LAT_MED(max);
		LAT_MED(achieved);
	}
#undef LAT_MED

	for (i = 0; i < NRATES; i++) {
		snprintf(fig, sizeof(fig), "latency p50 at %u rec/s (ms)",
		    rates[i]);
		row_add(t, &(struct row){ .figure = fig, .ours = med[i].p50,
		    .base = NAN, .prec = 2, .no_ratio = 1 });
		snprintf(fig, sizeof(fig), "latency p99 at %u rec/s (ms)",
		    rates[i]);
		row_add(t, &(struct row){ .figure = fig, .ours = med[i].p99,
		    .base = NAN, .prec = 2, .no_ratio = 1,
		    .kind = rates[i] == MAIN_RATE ? TGT_OURS_BELOW : TGT_NONE,
		    .target = 20, .target_text = rates[i] == MAIN_RATE ?
		    "< 20 ms" : NULL });
		snprintf(fig, sizeof(fig), "  max at %u rec/s (ms)", rates[i]);
		row_add(t, &(struct row){ .figure = fig, .ours = med[i].max,
		    .base = NAN, .prec = 2, .no_ratio = 1 });
	}
	note_add(t, "latency: %u s at each rate (achieved: %.0f, %.0f, %.0f "
	    "records/s), one record per write() into audisp-dist's stdin; "
	    "from the return of that write() to audisp-dist's debug line "
	    "saying its forwarder heard the receiver hold the record durably "
	    "(auditdistd acks after fdatasync); p50, p99 and max of each run, "
	    "median of %u runs", b->lat_secs, med[0].achieved,
	    med[1].achieved, med[2].achieved, b->e2e_runs);
}
