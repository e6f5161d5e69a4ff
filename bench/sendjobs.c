/*
 * sendjobs: the fan-in load (senders.c) as jobs, threads each driving a
 * slice of the senders in an epoll loop of its own, and this file's
 * coordinator between them.  One loop on one core saturated at 10,000
 * senders of 10 records/s each (100,000 frames/s, each a TLS record, a
 * write and, on loopback, the receiving side's TCP work too, and an ACK
 * read back): the load then measured itself.  Threads rather than
 * processes because the figures (every frame's latency, every sender's
 * bytes) and the phases (all through the handshake before any ships, the
 * restart storm) are shared; the jobs touch shared memory only through
 * struct senders_shared's atomics, and each its own slice of the rest.
 *
 * The coordinator starts the shipping of all when the last job is
 * through its handshakes, samples the receiver over the window (a child
 * forked before the threads), asks the bench for the restart of the
 * storm and says when every sender is back, watches that the receiver
 * is alive, and merges the jobs' figures.
 */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "bench.h"
#include "tlsio.h"

#define STORM_TIMEOUT	300.0	/* s for every sender to be back */

static double
cpu_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int
recv_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* What the sampler saw of the receiver over the window. */
struct sample {
	double		 t0, t1;	/* CPU sampled at */
	uint64_t	 ticks0, ticks1;
	uint64_t	 aticks0, aticks1;	/* the auditor's */
	long		 pss, rss;	/* largest */
	unsigned	 procs;
};

static void
sample_mem(pid_t pid, struct sample *sm)
{
	long pss, rss;
	unsigned np;

	if (proctree_mem(pid, &pss, &rss, &np) == -1)
		return;
	if (pss > sm->pss)
		sm->pss = pss;
	if (rss > sm->rss)
		sm->rss = rss;
	if (np > sm->procs)
		sm->procs = np;
}

/*
 * The receiver's CPU over the window and its memory at a third, two
 * thirds and the end, taken by a child of the load tool: with 10,000
 * processes in the receiver's tree, reading /proc takes long enough to
 * hold up the senders' loops.  It is forked before the jobs' threads
 * exist and starts at a byte on *go.  Returns the read end of a pipe
 * that gets one struct sample at the end.
 */
static int
sampler_start(pid_t recv, double window, int *go)
{
	struct sample sm;
	double t0;
	unsigned np;
	int p[2], g[2];
	pid_t pid;
	char b;

	if (pipe2(p, O_CLOEXEC) == -1 || pipe2(g, O_CLOEXEC) == -1)
		err(EX_OSERR, "pipe");
	if ((pid = fork()) == -1)
		err(EX_OSERR, "fork");
	if (pid > 0) {
		close(p[1]);
		close(g[0]);
		*go = g[1];
		return p[0];
	}
	close(g[1]);
	if (read(g[0], &b, 1) != 1)
		_exit(1);
	memset(&sm, 0, sizeof(sm));
	t0 = now();
	proctree_cpu(recv, &sm.ticks0, &np);
	proctree_cpu_named(recv, AUDITOR_COMM, &sm.aticks0);
	sm.t0 = now();
	sleep_s(t0 + window / 3 - now());
	sample_mem(recv, &sm);
	sleep_s(t0 + window * 2 / 3 - now());
	sample_mem(recv, &sm);
	sleep_s(t0 + window - now());
	proctree_cpu(recv, &sm.ticks1, &np);
	proctree_cpu_named(recv, AUDITOR_COMM, &sm.aticks1);
	sm.t1 = now();
	sample_mem(recv, &sm);
	_exit(write(p[1], &sm, sizeof(sm)) == (ssize_t)sizeof(sm) ? 0 : 1);
}

static void
sampler_end(int fd, struct senders_result *res)
{
	struct sample sm;

	if (read(fd, &sm, sizeof(sm)) != (ssize_t)sizeof(sm))
		errx(EX_SOFTWARE, "the receiver's sampler failed");
	close(fd);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	res->recv_cpu_s = (double)(sm.ticks1 - sm.ticks0) /
	    (double)sysconf(_SC_CLK_TCK);
	res->recv_window_s = sm.t1 - sm.t0;
	res->aud_cpu_s = sm.aticks1 >= sm.aticks0 ? (double)(sm.aticks1 -
	    sm.aticks0) / (double)sysconf(_SC_CLK_TCK) : 0;
	res->recv_pss_kib = sm.pss;
	res->recv_rss_kib = sm.rss;
	res->recv_procs = sm.procs;
}

static void
map_stream(struct senders_shared *l)
{
	struct stat st;
	void *m;
	int fd;

	if ((fd = open(l->cf->stream, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1)
		err(EX_NOINPUT, "%s", l->cf->stream);
	l->stream_len = (uint64_t)st.st_size;
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		err(EX_OSERR, "mmap %s", l->cf->stream);
	close(fd);
	l->stream = m;
}

/* The jobs for n senders: -j, or one per core; at most one per sender. */
unsigned
senders_jobs(const struct bench *b, unsigned n)
{
	unsigned j = b->load_jobs;
	long ncpu;

	if (j == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		j = ncpu > 0 ? (unsigned)ncpu : 1;
	}
	if (j > n)
		j = n;
	return j > 0 ? j : 1;
}

/* The coordinator waits in steps, and the receiver must stay alive. */
struct watch {
	const struct senders_shared *sh;
	pid_t		 pid;		/* 0 while the receiver restarts */
	double		 t_alive;
	const char	*what;
};

static void
watch_step(struct watch *w)
{
	sleep_s(0.01);
	if (interrupted)
		errx(EX_TEMPFAIL, "interrupted");
	if (w->pid == 0 || now() - w->t_alive < 1)
		return;
	w->t_alive = now();
	if (!recv_alive(w->pid))
		errx(EX_SOFTWARE, "the receiver died %s of %u senders (%u "
		    "through the handshake)", w->what, w->sh->cf->n,
		    atomic_load(&w->sh->nready));
}

/*
 * The restart storm: once every job expects it, ask the bench for the
 * restart, learn the new receiver, and say when every sender that was
 * shipping is acked again (or when it took too long).
 */
static void
storm(struct senders_shared *sh, struct senders_result *res,
    struct watch *w, unsigned jobs)
{
	const struct senders_conf *cf = sh->cf;
	struct storm_msg m;
	unsigned want;
	ssize_t r;
	double t;

	while (atomic_load(&sh->storm_armed) < jobs)
		watch_step(w);
	res->storm_senders = want = atomic_load(&sh->storm_senders);
	w->pid = 0;
	if (write(cf->storm_out, "R", 1) != 1)
		err(EX_OSERR, "asking for the restart");
	while ((r = read(cf->storm_in, &m, sizeof(m))) == -1 &&
	    errno == EAGAIN)
		watch_step(w);
	if (r != (ssize_t)sizeof(m))
		errx(EX_SOFTWARE, "no new receiver from the bench");
	w->pid = m.pid;
	res->storm_t_restart = m.t_restart;
	res->storm_stop_s = m.stop_s;
	for (;;) {
		t = now();
		if (res->storm_welcome_s == 0 &&
		    atomic_load(&sh->storm_welcomed) >= want)
			res->storm_welcome_s = t - m.t_restart;
		if (atomic_load(&sh->storm_back) >= want) {
			res->storm_ship_s = t - m.t_restart;
			break;
		}
		if (t - m.t_restart > STORM_TIMEOUT) {
			res->storm_ship_s = NAN;
			break;
		}
		watch_step(w);
	}
	res->storm_back = atomic_load(&sh->storm_back);
	atomic_store(&sh->storm_over, 1);
}

/* The window: the sampler and the load tool's own CPU over it. */
static void
window(struct senders_shared *sh, struct senders_result *res,
    struct watch *w, int go)
{
	double t_ws = sh->t_hs_end + sh->cf->warmup, cpu0, t;

	while (now() < t_ws)
		watch_step(w);
	if (write(go, "g", 1) != 1)
		err(EX_OSERR, "starting the sampler");
	close(go);
	cpu0 = cpu_self();
	t = now();
	while (now() < t + sh->cf->window)
		watch_step(w);
	res->self_cpu_s = cpu_self() - cpu0;
	res->window_s = now() - t;
}

/* The jobs' figures into res; every frame's latency into one array. */
static void
merge(struct senders_result *res, struct senders_job *job, unsigned jobs,
    double **lat, double **lag, size_t *nlat)
{
	const struct senders_result *r;
	size_t n = 0;
	unsigned k;
	int drained = 1;

	for (k = 0; k < jobs; k++)
		n += job[k].nlat;
	if ((*lat = calloc(n + 1, sizeof(**lat))) == NULL ||
	    (*lag = calloc(n + 1, sizeof(**lag))) == NULL)
		err(EX_OSERR, "calloc");
	*nlat = 0;
	res->drain_s = 0;
	for (k = 0; k < jobs; k++) {
		r = &job[k].res;
		if (res->first_error[0] == '\0')
			memcpy(res->first_error, r->first_error,
			    sizeof(res->first_error));
		res->failed += r->failed;
		res->lost_shipping += r->lost_shipping;
		res->stalls += r->stalls;
		res->storm_attempts += r->storm_attempts;
		res->win_sent_bytes += r->win_sent_bytes;
		res->win_sent_recs += r->win_sent_recs;
		res->win_acked_bytes += r->win_acked_bytes;
		res->win_acked_recs += r->win_acked_recs;
		res->sent_bytes += r->sent_bytes;
		res->acked_bytes += r->acked_bytes;
		if (r->hs_max_s > res->hs_max_s)
			res->hs_max_s = r->hs_max_s;
		if (isnan(r->drain_s))
			drained = 0;
		else if (r->drain_s > res->drain_s)
			res->drain_s = r->drain_s;
		memcpy(*lat + *nlat, job[k].lat, job[k].nlat * sizeof(**lat));
		memcpy(*lag + *nlat, job[k].lag, job[k].nlat * sizeof(**lag));
		*nlat += job[k].nlat;
		free(job[k].lat);
		free(job[k].lag);
	}
	if (!drained)
		res->drain_s = NAN;
}

/*
 * The p99 of each record's latency after its frame was handed to TLS:
 * the receiver's part, and the load tool's reading of the ACK.  Before
 * lat and lag are sorted.
 */
static double
wire_p99(const double *lat, const double *lag, size_t n)
{
	double *d, p;
	size_t i;

	if ((d = malloc(n * sizeof(*d))) == NULL)
		return NAN;
	for (i = 0; i < n; i++)
		d[i] = lat[i] - lag[i];
	p = percentile(d, n, 99);
	free(d);
	return p;
}

/* The jobs, each with its slice of the senders, on their way. */
static struct senders_job *
jobs_start(struct senders_shared *sh, unsigned jobs, uint64_t *sent,
    uint64_t *acked)
{
	struct senders_job *job;
	unsigned k, n = sh->cf->n;
	int e;

	if ((job = calloc(jobs, sizeof(*job))) == NULL)
		err(EX_OSERR, "calloc");
	atomic_store(&sh->hs_left, jobs);
	for (k = 0; k < jobs; k++) {
		job[k].sh = sh;
		job[k].lo = (unsigned)((uint64_t)n * k / jobs);
		job[k].n = (unsigned)((uint64_t)n * (k + 1) / jobs) -
		    job[k].lo;
		job[k].sent = sent + job[k].lo;
		job[k].acked = acked + job[k].lo;
		if ((e = pthread_create(&job[k].tid, NULL, senders_job_run,
		    &job[k])) != 0)
			errx(EX_OSERR, "pthread_create: %s", strerror(e));
	}
	return job;
}

/*
 * Run the load against the receiver; fills res and, per sender, the
 * bytes it sent (sent[i]) and that were acknowledged (acked[i]).
 */
void
senders_run(const struct senders_conf *cf, struct senders_result *res,
    uint64_t *sent, uint64_t *acked)
{
	struct senders_shared sh;
	struct senders_job *job;
	struct watch w;
	struct rlimit rl;
	struct sched_param sp = { .sched_priority = 1 };
	unsigned k, jobs = senders_jobs(cf->b, cf->n);
	char errbuf[256];
	long ncpu;
	int sampler = -1, go = -1;
	double *lat, *lag;
	size_t nlat;

	memset(res, 0, sizeof(*res));
	memset(&sh, 0, sizeof(sh));
	srandom((unsigned)getpid() ^ (unsigned)(now() * 1e6));
	/*
	 * Real senders are other machines.  Here a receiver with a process
	 * per host can have a thousand of them runnable at once, and a
	 * load tool among them at the same priority would get a thousandth
	 * of a core: its sends and the ACKs it reads would be late, and
	 * the latency would be its own.  Real-time priority (the jobs'
	 * threads inherit it) keeps it on time; what it costs the receiver
	 * is its own CPU, shown beside.  But not with a job per core: busy
	 * real-time jobs on every core would leave the receiver nothing.
	 */
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if ((long)jobs < ncpu)
		res->realtime = sched_setscheduler(0, SCHED_FIFO, &sp) == 0;
	sh.cf = cf;
	sh.t0 = res->t0 = now();
	/* One descriptor per sender, and some. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < cf->n + 64 &&
	    rl.rlim_max >= cf->n + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (cf->storm_out == -1)
		sampler = sampler_start(cf->recv_pid, cf->window, &go);
	map_stream(&sh);
	if ((sh.ctx = tlsio_client_ctx(NULL, NULL, NULL, errbuf,
	    sizeof(errbuf))) == NULL)
		errx(EX_SOFTWARE, "TLS: %s", errbuf);
	/*
	 * Whole socket reads, not a record header and then its body: a
	 * job reads until the TLS layer wants more, so nothing buffered
	 * waits for an epoll event that will not come.
	 */
	SSL_CTX_set_read_ahead(sh.ctx, 1);
	job = jobs_start(&sh, jobs, sent, acked);

	w = (struct watch){ .sh = &sh, .pid = cf->recv_pid,
	    .what = "during the handshakes" };
	while (!atomic_load(&sh.started))
		watch_step(&w);
	res->hs_s = sh.t_hs_end - res->t0;
	res->connected = atomic_load(&sh.nready);
	w.what = "with the senders connected";
	if (cf->storm_out != -1)
		storm(&sh, res, &w, jobs);
	else
		window(&sh, res, &w, go);
	while (atomic_load(&sh.finished) < jobs)
		watch_step(&w);
	for (k = 0; k < jobs; k++)
		pthread_join(job[k].tid, NULL);
	merge(res, job, jobs, &lat, &lag, &nlat);
	if (sampler != -1)
		sampler_end(sampler, res);
	if (nlat > 0) {
		res->wire_p99 = wire_p99(lat, lag, nlat);
		res->lat_p50 = percentile(lat, nlat, 50);
		res->lat_p99 = percentile(lat, nlat, 99);
		res->lat_max = lat[nlat - 1];
		res->lag_p50 = percentile(lag, nlat, 50);
		res->lag_p99 = percentile(lag, nlat, 99);
	} else
		res->lat_p50 = res->lat_p99 = res->lat_max = res->lag_p50 =
		    res->lag_p99 = res->wire_p99 = NAN;
	free(lat);
	free(lag);
	free(job);
	SSL_CTX_free(sh.ctx);
	munmap((void *)(uintptr_t)sh.stream, (size_t)sh.stream_len);
}
