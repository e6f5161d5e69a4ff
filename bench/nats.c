/*
 * Publishing to NATS JetStream and reading it back (group "nats").
 *
 * The fan-in load of fanin.c (-f senders at -p records/s each, senders.c)
 * into one auditdistd whose receiver block has a publish block, to a
 * one-node JetStream (nats-server -js) on 127.0.0.1.  While they ship,
 * every 0.2 s: the bytes in the hosts' trails (their files' sizes) and the
 * bytes the stream acknowledged to the publisher (the "bytes" of each
 * host's cursor, publish/HOST.cursor, saved after each PubAck).  Figures:
 * the records/s stored in the trails and published over the window; the
 * publication's largest lag in the window, in seconds (how long before
 * the trails held what was published by then); how long after sending
 * stopped everything was published.  Then the receiver stops and
 * auditdistd -R reads the whole stream into a new directory: its rate,
 * from its start to the last byte of every host's trail, each host's
 * bytes checked against the receiver's trail.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <err.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "bench.h"

#define NATS_SERVER	"/usr/sbin/nats-server"
#define NATS_STREAM	"BENCH"
#define NATS_MAX_SAMPLES 8192
#define NATS_CATCHUP_S	120.0
#define NATS_READ_S	300.0

struct natsample {
	double		 t;
	uint64_t	 stored, pub;	/* bytes, summed over the hosts */
};

static struct {
	char		 trails[PATH_MAX];	/* the receiver's */
	char		 cursors[PATH_MAX];	/* the publisher's state */
	unsigned	 hosts;			/* fan1..fanN */
	struct natsample s[NATS_MAX_SAMPLES];
	size_t		 n;
} ns;

/* Sum of the hosts' trail bytes under dir. */
static uint64_t
trails_sum(const char *dir, unsigned n)
{
	char host[PATH_MAX];
	uint64_t sum = 0;
	unsigned i;

	for (i = 1; i <= n; i++) {
		pathf(host, sizeof(host), "%s/fan%u", dir, i);
		sum += trail_bytes(host);
	}
	return sum;
}

/* The hosts' stored and published bytes, now. */
static void
nats_measure(struct natsample *x)
{
	char path[PATH_MAX], buf[256], *p;
	unsigned i;
	ssize_t len;
	int fd;

	x->t = now();
	x->stored = trails_sum(ns.trails, ns.hosts);
	x->pub = 0;
	for (i = 1; i <= ns.hosts; i++) {
		pathf(path, sizeof(path), "%s/fan%u.cursor", ns.cursors, i);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len > 0 && (buf[len] = '\0',
		    (p = strstr(buf, " bytes ")) != NULL))
			x->pub += strtoull(p + 7, NULL, 10);
	}
}

static void
nats_sample(void *arg)
{
	(void)arg;
	if (ns.n < NATS_MAX_SAMPLES)
		nats_measure(&ns.s[ns.n++]);
}

/* Bytes stored (pub 0) or published (pub 1) at time t, interpolated. */
static double
bytes_at(double t, int pub)
{
	const struct natsample *a, *z;
	double va, vz;
	size_t i;

	for (i = 1; i < ns.n; i++)
		if (ns.s[i].t >= t) {
			a = &ns.s[i - 1];
			z = &ns.s[i];
			va = (double)(pub ? a->pub : a->stored);
			vz = (double)(pub ? z->pub : z->stored);
			return va + (vz - va) * (t - a->t) / (z->t - a->t);
		}
	return NAN;
}

/*
 * The largest lag in [from, to]: at each sample, how long before it the
 * trails held what was published by then.
 */
static double
largest_lag(double from, double to)
{
	double lag = 0;
	size_t i, j;

	for (i = 0; i < ns.n; i++) {
		if (ns.s[i].t < from || ns.s[i].t > to)
			continue;
		for (j = 0; j <= i && ns.s[j].stored < ns.s[i].pub; j++)
			;
		if (j <= i && ns.s[i].t - ns.s[j].t > lag)
			lag = ns.s[i].t - ns.s[j].t;
	}
	return lag;
}

static pid_t
nats_server_start(struct bench *b, int *port, char *dir, size_t len)
{
	char log[PATH_MAX], ps[16];
	pid_t pid;

	*port = free_port();
	snprintf(ps, sizeof(ps), "%d", *port);
	pathf(dir, len, "%s/nats-js", b->tmpdir);
	pathf(log, sizeof(log), "%s/nats-server.log", b->tmpdir);
	rm_path(dir);
	pid = spawn((const char *[]){ NATS_SERVER, "-a", "127.0.0.1", "-p",
	    ps, "-js", "-sd", dir, NULL }, -1, NULL, log);
	track_pid(pid);
	while (tcp_count(*port, 0, 0x0A) == 0) {
		if (!proc_alive(pid) || interrupted) {
			show_errlog(log);
			errx(EX_SOFTWARE, "nats-server did not listen");
		}
		sleep_s(0.01);
	}
	return pid;
}

/* auditdistd -R into a new directory: seconds until it holds total. */
static double
read_back(struct bench *b, const struct recv *r, int port, unsigned n,
    uint64_t total)
{
	char conf[PATH_MAX], dir[PATH_MAX], log[PATH_MAX], prog[PATH_MAX];
	char a[PATH_MAX], c[PATH_MAX];
	double t0, t;
	unsigned i, bad = 0;
	pid_t pid;
	int status;

	pathf(conf, sizeof(conf), "%s/read.conf", b->tmpdir);
	pathf(dir, sizeof(dir), "%s/read-nats", b->tmpdir);
	pathf(log, sizeof(log), "%s/read-nats.log", b->tmpdir);
	pathf(prog, sizeof(prog), "%s/auditdistd", b->bindir);
	rm_path(dir);
	if (write_file(conf, 0600, "pidfile none\nreceiver {\n%s%s%s"
	    "\tpublish \"nats://127.0.0.1:%d\" {\n\t\tstream %s\n"
	    "\t\tread_into \"%s\"\n\t}\n}\n",
	    b->recv_user == RECV_USER_YES ? "\tuser \"" : "",
	    b->recv_user == RECV_USER_YES ? b->fwd_user : "",
	    b->recv_user == RECV_USER_YES ? "\"\n" : "", port, NATS_STREAM,
	    dir) == -1)
		err(EX_CANTCREAT, "%s", conf);
	t0 = now();
	pid = spawn((const char *[]){ prog, "-f", "-R", conf, NULL }, -1,
	    NULL, log);
	track_pid(pid);
	while ((t = now()) - t0 < NATS_READ_S && proc_alive(pid) &&
	    !interrupted && trails_sum(dir, n) < total)
		sleep_s(0.1);
	if (trails_sum(dir, n) != total) {
		show_errlog(log);
		warnx("nats: the reader holds %" PRIu64 " of %" PRIu64
		    " bytes after %.0f s", trails_sum(dir, n), total, t - t0);
		t = NAN;
	}
	if (stop_proc(pid, SIGTERM, 30, &status) == -1 ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		warnx("nats: auditdistd -R did not stop cleanly (0x%x)",
		    status);
	untrack_pid(pid);
	for (i = 1; i <= n && !isnan(t); i++) {
		pathf(a, sizeof(a), "%s/fan%u", r->dir, i);
		pathf(c, sizeof(c), "%s/fan%u", dir, i);
		if (trail_bytes(a) != trail_bytes(c) && bad++ < 5)
			warnx("nats: host fan%u: %" PRIu64 " bytes read back, "
			    "%" PRIu64 " in the receiver's trail", i,
			    trail_bytes(c), trail_bytes(a));
	}
	rm_path(dir);
	return bad > 0 ? NAN : t - t0;
}

void
group_nats(struct bench *b, struct table *t)
{
	struct fanspec sp = { .n = b->fanin_n, .rate = b->fanin_rate,
	    .sample = nats_sample };
	struct fanrun fr;
	struct recv r;
	char extra[256], jsdir[PATH_MAX];
	double rec_per_byte, t_stop, t_end, pub_rate, stored_rate, lag_s;
	double catch_s, read_s;
	uint64_t total;
	pid_t js;
	int port;

	if (access(NATS_SERVER, X_OK) == -1) {
		note_add(t, "nats: not run, no %s (apt-get install "
		    "nats-server)", NATS_SERVER);
		return;
	}
	tls_setup(b);
	js = nats_server_start(b, &port, jsdir, sizeof(jsdir));
	snprintf(extra, sizeof(extra), "\tpublish \"nats://127.0.0.1:%d\" {\n"
	    "\t\tstream %s\n\t\tcreate_stream yes\n\t}\n", port, NATS_STREAM);
	b->recv_extra = extra;
	sp.keep = &r;
	/* Where fanin_run puts the receiver's trails and state. */
	pathf(ns.trails, sizeof(ns.trails), "%s/trails-fleet", b->tmpdir);
	pathf(ns.cursors, sizeof(ns.cursors), "%s/rstate-fleet/publish",
	    b->tmpdir);
	ns.hosts = b->fanin_n;
	ns.n = 0;
	fanin_run(b, &sp, 0, &fr);
	b->recv_extra = NULL;

	/* Sending stopped drain_ms before the last ACK. */
	t_stop = fr.t_done - fr.drain_ms / 1e3;
	/* Until every byte of the trails is published. */
	total = trails_sum(r.dir, b->fanin_n);
	do {
		nats_sample(NULL);
		t_end = ns.s[ns.n - 1].t;
		if (ns.s[ns.n - 1].pub >= total)
			break;
		sleep_s(0.2);
	} while (t_end - t_stop < NATS_CATCHUP_S && !interrupted &&
	    ns.n < NATS_MAX_SAMPLES);
	catch_s = ns.s[ns.n - 1].pub >= total ? t_end - t_stop : NAN;
	rec_per_byte = fr.acked_mbs > 0 ? fr.acked_rps / (fr.acked_mbs * 1e6) :
	    NAN;
	pub_rate = (bytes_at(t_stop, 1) - bytes_at(t_stop - b->secs, 1)) /
	    b->secs * rec_per_byte;
	stored_rate = (bytes_at(t_stop, 0) - bytes_at(t_stop - b->secs, 0)) /
	    b->secs * rec_per_byte;
	lag_s = largest_lag(t_stop - b->secs, t_stop);
	recv_stop(&r, NULL);
	read_s = isnan(catch_s) ? NAN :
	    read_back(b, &r, port, b->fanin_n, total);
	rm_path(r.dir);
	if (stop_proc(js, SIGTERM, 30, NULL) == -1)
		warnx("nats: nats-server did not stop");
	untrack_pid(js);
	rm_path(jsdir);
	if (isnan(catch_s) || isnan(read_s))
		bench_incomplete = 1;
	fprintf(stderr, "nats: %u x %u rec/s: acked %.0f rec/s, stored %.0f "
	    "rec/s, published %.0f rec/s over %u s (%zu samples), largest "
	    "lag %.2f s, all published %.2f s after sending stopped; %"
	    PRIu64 " bytes read back in %.2f s\n", b->fanin_n, b->fanin_rate,
	    fr.acked_rps, stored_rate, pub_rate, b->secs, ns.n, lag_s,
	    catch_s, total, read_s);

	row_add(t, &(struct row){ .figure = "nats: records/s published to "
	    "JetStream", .ours = pub_rate, .base = stored_rate,
	    .base_name = "trail", .prec = 0, .kind = TGT_RATIO_MIN,
	    .target = 0.99, .target_text = ">= 0.99x trail" });
	row_add(t, &(struct row){ .figure = "  nats: publication lag, largest "
	    "(s)", .ours = lag_s, .base = NAN, .prec = 2, .no_ratio = 1,
	    .kind = TGT_OURS_BELOW, .target = 1, .target_text = "< 1 s" });
	row_add(t, &(struct row){ .figure = "  nats: all published after "
	    "sending stopped (s)", .ours = catch_s, .base = NAN, .prec = 2,
	    .no_ratio = 1 });
	row_add(t, &(struct row){ .figure = "nats: reading mode (-R) "
	    "records/s", .ours = isnan(read_s) ? NAN :
	    (double)total * rec_per_byte / read_s, .base = fr.acked_rps,
	    .base_name = "trail", .prec = 0 });
	row_add(t, &(struct row){ .figure = "  nats: reading mode MB/s",
	    .ours = isnan(read_s) ? NAN : (double)total / 1e6 / read_s,
	    .base = NAN, .prec = 2, .no_ratio = 1 });
	note_add(t, "nats: the fan-in load (%u senders x %u records/s, "
	    "%u in all) into one auditdistd publishing to a one-node "
	    "JetStream (nats-server -js, file storage) on 127.0.0.1; every "
	    "0.2 s the bytes in the hosts' trail files and those the stream "
	    "acknowledged to the publisher (its cursors), summed; trail and "
	    "published = their growth over the %u s window, in records; "
	    "lag = at each sample in the window, how long before the trails "
	    "held the bytes published by then, the largest; the reading "
	    "mode from "
	    "its start until every host's trail holds the receiver's bytes "
	    "(the receiver stopped), the stream read from its start; one run",
	    b->fanin_n, b->fanin_rate, b->fanin_n * b->fanin_rate, b->secs);
}
