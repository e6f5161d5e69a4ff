/*
 * The receiver with many senders.
 *
 * Fan-in (group "fanin"): -f senders (1,000), each a configured host with
 * its own password, played by the load tool of senders.c in a child
 * process, ship at -p records/s each into one auditdistd; the receiver's
 * whole process tree is measured over the window: CPU and memory.
 *
 * Memory (group "memory"): the peaks the shipping groups saw (forwarder,
 * plugin, receiver with one sender), and the receiver's resident memory
 * per connected sender, with N senders played by tests/helpers/adpeer
 * (built by "make bench"): first idle (authenticated, waiting for data),
 * then shipping a trickle of records.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "bench.h"

#define PEER_TIMEOUT	"120"		/* adpeer -t: its own give-up */
#define SHIP_CHUNK	"16384"		/* bytes per DATA frame */
#define SHIP_RATE	"262144"	/* bytes/s per sender, ~1,100 rec/s */
#define SHIP_FILE_MIB	16		/* more than a sender ships meanwhile */
#define READY_TIMEOUT	60.0
#define SETTLE		1.0		/* s after the last one is ready */
#define FANIN_TICK_MS	100		/* each sender sends this often */
/*
 * Handshakes in progress at once: as many as the receiver admits
 * (MAX_PENDING), as a fleet coming back at once.  With fewer, every host
 * of a wave waits for its writer, no ask comes for the 50 ms that close
 * the parent's batch, and the writers serve a wave each, not writer_hosts
 * (32 made 31 writers of 32 hosts for 1,000 senders; 256 makes 16 of 64).
 */
#define FANIN_HS	256
/*
 * Shipping before the window: 3 s, or 2 s per 1,000 senders.  Senders
 * that all start at once leave the receiver a backlog at first: at
 * 10,000 senders it takes about 6 s to work off (ack latency from 5 s
 * down), and about 12 s in there is often one stall of 1 to 2 s
 * (docs/benchmarks.md); a window from 3 s measured those, not the
 * steady state (acked was 1.1 to 1.2x sent in it).
 */
#define FANIN_WARMUP	3.0
#define FANIN_WARMUP_PER_1000	2.0
/*
 * The window: -t, or 3 s per 1,000 senders if longer.  Acked against
 * sent in a window is off by the change in what is in flight between
 * its ends, about the ack latency's swing over the window's length: at
 * 10,000 x 10 (latency 0.3 to 0.7 s from one second to the next) 10 s
 * windows gave 0.96 to 1.01x, 30 s ones 0.997 to 1.007x.
 */
#define FANIN_WINDOW_PER_1000	3
#define FANIN_DRAIN	30.0		/* s for the last ACKs */
#define FANIN_RECV_TIMEOUT 60		/* the receiver's idle timeout, s */

/*
 * The storm is timed from the restart, and idle senders leave no
 * backlog and send nothing to count: 3 s and -t do for them.
 */
static int
fanin_steady(const struct fanspec *sp)
{
	return !sp->storm && sp->rate > 0;
}

unsigned
fanin_window(const struct bench *b, const struct fanspec *sp)
{
	unsigned w = FANIN_WINDOW_PER_1000 * sp->n / 1000;

	return fanin_steady(sp) && w > b->secs ? w : b->secs;
}

double
fanin_warmup(const struct fanspec *sp)
{
	double w = FANIN_WARMUP_PER_1000 * sp->n / 1000;

	return env_number("BENCH_WARMUP", fanin_steady(sp) &&
	    w > FANIN_WARMUP ? w : FANIN_WARMUP, 0, 600);
}

static unsigned
fanin_hs(void)
{
	return (unsigned)env_number("BENCH_FANIN_HS", FANIN_HS, 1, 100000);
}

/* Does the file hold the word? */
static int
file_has(const char *path, const char *word)
{
	char buf[4096];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strstr(buf, word) != NULL;
}

/*
 * The receiver's largest memory over a second, KiB: Pss summed over its
 * processes (for one process, its private pages plus its share of the
 * libraries; a worker forked per host then costs what it does not share).
 */
static long
rss_sample(pid_t pid)
{
	long pss, rss, best = -1;
	unsigned np;
	int i;

	for (i = 0; i < 10; i++) {
		if (proctree_mem(pid, &pss, &rss, &np) == 0 && pss > best)
			best = pss;
		sleep_s(0.1);
	}
	return best;
}

/*
 * Start n adpeers playing scenario (with ship_file for "good"), wait until
 * every one is past the handshake, and return the receiver's RSS (KiB)
 * then; the peers are stopped again.  -1 when a peer failed.
 */
static long
with_peers(struct bench *b, const struct recv *r, const char *adpeer,
    unsigned n, const char *scenario, const char *ship_file)
{
	char addr[64], name[32], out[PATH_MAX], elog[PATH_MAX], dir[PATH_MAX];
	char pw[65];
	const char *argv[24], *ready;
	pid_t *pids;
	double deadline;
	unsigned i, nready;
	long rss = -1;
	size_t k;

	pathf(addr, sizeof(addr), "127.0.0.1:%d", r->port);
	pathf(dir, sizeof(dir), "%s/peers-%s", b->tmpdir, scenario);
	rm_path(dir);
	if (mkdir(dir, 0700) == -1)
		err(EX_CANTCREAT, "%s", dir);
	if ((pids = calloc(n, sizeof(*pids))) == NULL)
		err(EX_OSERR, "calloc");
	ready = ship_file != NULL ? "RESUME" : "WELCOME";
	for (i = 0; i < n; i++) {
		pathf(name, sizeof(name), "fan%u", i + 1);
		pathf(out, sizeof(out), "%s/%s.out", dir, name);
		pathf(elog, sizeof(elog), "%s/%s.err", dir, name);
		host_password(b, i + 1, pw);
		k = 0;
		argv[k++] = adpeer;
		argv[k++] = "-f";
		argv[k++] = b->fingerprint;
		argv[k++] = "-n";
		argv[k++] = name;
		argv[k++] = "-w";
		argv[k++] = pw;
		argv[k++] = "-t";
		argv[k++] = PEER_TIMEOUT;
		if (ship_file != NULL) {
			argv[k++] = "-b";
			argv[k++] = SHIP_CHUNK;
			argv[k++] = "-r";
			argv[k++] = SHIP_RATE;
		}
		argv[k++] = addr;
		argv[k++] = ship_file != NULL ? "good" : scenario;
		if (ship_file != NULL)
			argv[k++] = ship_file;
		argv[k] = NULL;
		pids[i] = spawn(argv, -1, out, elog);
	}
	deadline = now() + READY_TIMEOUT;
	for (;;) {
		for (i = 0, nready = 0; i < n; i++) {
			pathf(out, sizeof(out), "%s/fan%u.out", dir, i + 1);
			if (file_has(out, ready))
				nready++;
			else if (!proc_alive(pids[i])) {
				show_errlog(out);
				pathf(elog, sizeof(elog), "%s/fan%u.err", dir,
				    i + 1);
				show_errlog(elog);
				show_errlog(r->log);
				warnx("adpeer fan%u (%s) stopped before it was "
				    "through the handshake", i + 1, scenario);
				goto out;
			}
		}
		if (nready == n)
			break;
		if (now() > deadline || interrupted) {
			warnx("%u of %u adpeers (%s) through the handshake "
			    "after %.0f s", nready, n, scenario,
			    READY_TIMEOUT);
			goto out;
		}
		sleep_s(0.05);
	}
	sleep_s(SETTLE);
	if (!proc_alive(r->pid))
		errx(EX_SOFTWARE, "auditdistd died with %u senders", n);
	rss = rss_sample(r->pid);
	for (i = 0; i < n; i++)
		if (!proc_alive(pids[i])) {
			warnx("adpeer fan%u (%s) stopped while the receiver's "
			    "memory was measured", i + 1, scenario);
			rss = -1;
		}
out:
	for (i = 0; i < n; i++)
		stop_proc(pids[i], SIGTERM, 5, NULL);
	free(pids);
	rm_path(dir);
	return rss;
}

/* The first whole records of the stream, about mib MiB, into path. */
static void
write_ship_file(const struct bench *b, const char *path, unsigned mib)
{
	static char buf[1 << 16];
	struct prefix px;
	uint64_t left;
	ssize_t r;
	int in, out;

	stream_prefix(b, (uint64_t)mib << 20, 0, &px);
	if ((in = open(b->stream, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		err(EX_CANTCREAT, "%s", path);
	for (left = px.bytes; left > 0; left -= (uint64_t)r) {
		r = read(in, buf, left < sizeof(buf) ? (size_t)left :
		    sizeof(buf));
		if (r <= 0 || write(out, buf, (size_t)r) != r)
			err(EX_IOERR, "%s", path);
	}
	close(in);
	if (close(out) == -1)
		err(EX_IOERR, "%s", path);
}

static double
kib_to_mib(long kib)
{
	return kib > 0 ? (double)kib / 1024 : NAN;
}

void
group_memory(struct bench *b, struct table *t)
{
	char adpeer[PATH_MAX], ship[PATH_MAX];
	struct recv r;
	long rss0 = -1, rss1 = -1, idle = -1, busy = -1, hwm = -1;
	double per_idle = NAN, per_busy = NAN;
	double pidle[b->e2e_runs], pbusy[b->e2e_runs];
	unsigned k;

	if (b->fwd_hwm_kib <= 0) {
		warnx("memory: no shipping run measured the forwarder (run "
		    "with -g e2e or -g latency as well)");
		bench_incomplete = 1;
	}
	row_add(t, &(struct row){ .figure = "forwarder peak RSS (MiB)",
	    .ours = kib_to_mib(b->fwd_hwm_kib),
	    .base = kib_to_mib(b->tls_hwm_kib), .base_name = "s_client",
	    .prec = 2, .no_ratio = 1, .kind = TGT_OURS_BELOW, .target = 8,
	    .target_text = "< 8 MiB" });
	row_add(t, &(struct row){ .figure = "  forwarder anonymous RSS, peak "
	    "sampled (MiB)", .ours = kib_to_mib(b->fwd_anon_kib),
	    .base = kib_to_mib(b->tls_anon_kib), .base_name = "s_client",
	    .prec = 2, .no_ratio = 1 });
	row_add(t, &(struct row){ .figure = "  audisp-dist peak RSS, shipping "
	    "(MiB)", .ours = kib_to_mib(b->plugin_hwm_kib), .base = NAN,
	    .prec = 2, .no_ratio = 1 });
	row_add(t, &(struct row){ .figure = "receiver peak RSS, 1 sender "
	    "(MiB, summed over its processes)", .ours = kib_to_mib(b->recv_hwm_kib), .base = NAN,
	    .prec = 2, .no_ratio = 1 });

	pathf(adpeer, sizeof(adpeer), "%s/tests/adpeer", b->bindir);
	if (access(adpeer, X_OK) == -1) {
		warn("%s (make bench builds it): the receiver's memory per "
		    "sender is not measured", adpeer);
		bench_incomplete = 1;
	} else {
		pathf(ship, sizeof(ship), "%s/fanin.log", b->tmpdir);
		write_ship_file(b, ship, SHIP_FILE_MIB);
		for (k = 0; k < b->e2e_runs; k++) {
			/* A fresh receiver each time: freed memory is not
			 * given back. */
			recv_start(b, &r, "fanin", b->fanin, 300);
			sleep_s(0.5);
			rss0 = rss_sample(r.pid);
			idle = with_peers(b, &r, adpeer, b->fanin, "stall-data",
			    NULL);
			recv_stop(&r, &hwm);
			rm_path(r.dir);
			recv_start(b, &r, "fanin", b->fanin, 300);
			sleep_s(0.5);
			rss1 = rss_sample(r.pid);
			busy = with_peers(b, &r, adpeer, b->fanin, "good",
			    ship);
			recv_stop(&r, &hwm);
			rm_path(r.dir);
			pidle[k] = rss0 > 0 && idle > 0 ?
			    (double)(idle - rss0) / b->fanin : NAN;
			pbusy[k] = rss1 > 0 && busy > 0 ?
			    (double)(busy - rss1) / b->fanin : NAN;
			fprintf(stderr, "memory run %u/%u: receiver Pss %ld KiB "
			    "alone, %ld KiB with %u idle senders; %ld KiB "
			    "alone, %ld KiB with %u shipping (peak %ld KiB)\n",
			    k + 1, b->e2e_runs, rss0, idle, b->fanin, rss1,
			    busy, b->fanin, hwm);
		}
		rm_path(ship);
		per_idle = median(pidle, b->e2e_runs);
		per_busy = median(pbusy, b->e2e_runs);
		if (isnan(per_idle) || isnan(per_busy))
			bench_incomplete = 1;
	}
	row_add(t, &(struct row){ .figure = "receiver Pss per idle sender "
	    "(KiB)", .ours = per_idle, .base = NAN, .prec = 1, .no_ratio = 1,
	    .kind = TGT_OURS_BELOW, .target = 64,
	    .target_text = "< 64 KiB" });
	row_add(t, &(struct row){ .figure = "receiver Pss per shipping sender "
	    "(KiB)", .ours = per_busy, .base = NAN, .prec = 1, .no_ratio = 1,
	    .kind = TGT_OURS_BELOW, .target = 64,
	    .target_text = "< 64 KiB" });
	note_add(t, "memory: VmHWM from /proc just before each program was "
	    "told to stop, largest over the shipping runs (it counts the "
	    "pages of shared libraries the process mapped, shared with every "
	    "other process using them: mostly libcrypto's; the s_client of "
	    "the raw TLS runs is shown for scale); the forwarder's private "
	    "memory, RssAnon, is sampled every "
	    "10 ms during the e2e runs and at the end of every run; the "
	    "receiver's VmHWM is summed over its processes; per sender: "
	    "(receiver Pss, summed over its processes from smaps_rollup, with "
	    "%u tests/helpers/adpeer senders - the same before they "
	    "connected) / %u, largest of 10 samples over 1 s each, idle = "
	    "authenticated and waiting for data (adpeer stall-data), shipping "
	    "= %s-byte DATA frames at %s bytes/s each (adpeer good -b -r), "
	    "each host its own password; median of %u runs", b->fanin,
	    b->fanin, SHIP_CHUNK, SHIP_RATE, b->e2e_runs);
}

static void
read_full(int fd, void *buf, size_t len, pid_t child)
{
	char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = read(fd, p, len);
		if (n == -1 && errno == EINTR && !interrupted)
			continue;
		if (n <= 0) {
			stop_proc(child, SIGKILL, 5, NULL);
			errx(EX_SOFTWARE, "fan-in: the load tool stopped "
			    "before it reported (see above)");
		}
		p += n;
		len -= (size_t)n;
	}
}

/*
 * The restart storm, on the bench's side: when the load tool asks (a
 * byte on note), stop the receiver, start it again on the same config,
 * port and trails, and tell the load tool its pid and when it started.
 */
static void
storm_restart(struct bench *b, struct recv *r, int note, int ctl,
    pid_t child)
{
	struct storm_msg m;
	char c;
	double t;

	read_full(note, &c, 1, child);
	fprintf(stderr, "fan-in: restart storm: restarting the receiver\n");
	t = now();
	recv_stop(r, NULL);
	memset(&m, 0, sizeof(m));
	m.stop_s = now() - t;
	m.t_restart = now();
	recv_restart(b, r);
	m.pid = r->pid;
	if (write(ctl, &m, sizeof(m)) != (ssize_t)sizeof(m))
		err(EX_OSERR, "fan-in: telling the load tool");
}

/* Every host's trail against what its sender sent; the exact ones. */
static unsigned
fanin_trails(const struct bench *b, const struct recv *r, unsigned n,
    const uint64_t *sent, const uint64_t *acked, unsigned *notdrained)
{
	char hostdir[PATH_MAX], host[32], why[512];
	unsigned i, exact = 0, bad = 0;

	*notdrained = 0;
	for (i = 0; i < n; i++) {
		snprintf(host, sizeof(host), "fan%u", i + 1);
		recv_host_dir(r, host, hostdir, sizeof(hostdir));
		if (acked[i] != sent[i]) {
			(*notdrained)++;
			if (trail_bytes(hostdir) < acked[i] && bad++ < 5)
				warnx("fan-in: %s holds %" PRIu64 " bytes, %"
				    PRIu64 " were acknowledged", hostdir,
				    trail_bytes(hostdir), acked[i]);
			continue;
		}
		if (sent[i] == 0 || trail_check(b, hostdir, sent[i], why,
		    sizeof(why)) == 0)
			exact++;
		else if (bad++ < 5)
			warnx("fan-in: the trail in %s is not what its sender "
			    "sent: %s", hostdir, why);
	}
	return exact;
}

/*
 * One run: a fresh receiver with n hosts, the load tool in a child
 * (shipping at rate records/s each, 0: idle; storm: restart the receiver
 * after the warm-up), then every host's trail checked against what it
 * sent.
 */
void
fanin_run(struct bench *b, const struct fanspec *sp, unsigned run,
    struct fanrun *fr)
{
	struct senders_conf cf;
	struct senders_result res;
	struct recv r;
	uint64_t *sent, *acked;
	unsigned notdrained = 0;
	int pfd[2], note[2], ctl[2], status;
	long pss0, rss0;
	unsigned np0;
	pid_t child;

	if ((sent = calloc(sp->n, sizeof(*sent))) == NULL ||
	    (acked = calloc(sp->n, sizeof(*acked))) == NULL)
		err(EX_OSERR, "calloc");
	sync();
	/* The load tool connects each sender from its own address. */
	b->fan_own_addrs = 1;
	recv_start(b, &r, "fleet", sp->n, FANIN_RECV_TIMEOUT);
	b->fan_own_addrs = 0;
	sleep_s(0.5);
	if (proctree_mem(r.pid, &pss0, &rss0, &np0) == -1)
		pss0 = -1;
	memset(&cf, 0, sizeof(cf));
	cf.storm_out = cf.storm_in = -1;
	cf.b = b;
	cf.stream = b->stream;
	cf.fingerprint = b->fingerprint;
	cf.port = r.port;
	cf.n = sp->n;
	cf.rate = sp->rate;
	cf.tick_ms = FANIN_TICK_MS;
	cf.max_handshakes = fanin_hs();
	cf.warmup = fanin_warmup(sp);
	cf.window = fanin_window(b, sp);
	cf.drain = FANIN_DRAIN;
	cf.recv_pid = r.pid;

	if (pipe2(pfd, O_CLOEXEC) == -1 || pipe2(note, O_CLOEXEC) == -1 ||
	    pipe2(ctl, O_CLOEXEC) == -1)
		err(EX_OSERR, "pipe");
	if ((child = fork()) == -1)
		err(EX_OSERR, "fork");
	if (child == 0) {
		/* The load tool: its memory goes away with it. */
		close(pfd[0]);
		close(note[0]);
		close(ctl[1]);
		if (sp->storm) {
			cf.storm_out = note[1];
			cf.storm_in = ctl[0];
			if (fcntl(ctl[0], F_SETFL, O_NONBLOCK) == -1)
				err(EX_OSERR, "fcntl");
		}
		senders_run(&cf, &res, sent, acked);
		if (write(pfd[1], &res, sizeof(res)) != (ssize_t)sizeof(res) ||
		    write(pfd[1], sent, sp->n * sizeof(*sent)) !=
		    (ssize_t)(sp->n * sizeof(*sent)) ||
		    write(pfd[1], acked, sp->n * sizeof(*acked)) !=
		    (ssize_t)(sp->n * sizeof(*acked)))
			_exit(1);
		_exit(0);
	}
	track_pid(child);
	close(pfd[1]);
	close(note[1]);
	close(ctl[0]);
	if (sp->storm)
		storm_restart(b, &r, note[0], ctl[1], child);
	while (sp->sample != NULL && poll(&(struct pollfd){ .fd = pfd[0],
	    .events = POLLIN }, 1, 200) == 0)
		sp->sample(sp->arg);
	read_full(pfd[0], &res, sizeof(res), child);
	fr->t_done = now();
	read_full(pfd[0], sent, sp->n * sizeof(*sent), child);
	read_full(pfd[0], acked, sp->n * sizeof(*acked), child);
	close(pfd[0]);
	close(note[0]);
	close(ctl[1]);
	if (stop_proc(child, 0, 30, &status) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		errx(EX_SOFTWARE, "fan-in: the load tool failed (status 0x%x)",
		    status);
	if (!proc_alive(r.pid)) {
		show_errlog(r.log);
		errx(EX_SOFTWARE, "fan-in: auditdistd died with %u senders",
		    sp->n);
	}

	/* What every host acknowledged is its trail, byte for byte. */
	fr->exact = fanin_trails(b, &r, sp->n, sent, acked, &notdrained);
	if (sp->keep != NULL)
		*sp->keep = r;
	else {
		recv_stop(&r, NULL);
		rm_path(r.dir);
	}

	fprintf(stderr, "fan-in %u x %u rec/s%s run %u/%u: %u of %u senders through the "
	    "handshake in %.1f s (slowest %.2f s), %u failed%s%s; window "
	    "%.1f s: sent %" PRIu64 " records (%" PRIu64 " bytes), acked %"
	    PRIu64 " records (%" PRIu64 " bytes), %" PRIu64 " sends put off; "
	    "receiver CPU %.2f s over %u processes, Pss %ld KiB, Rss sum %ld "
	    "KiB; load tool CPU %.2f s; all acked %.0f ms after sending "
	    "stopped; ack latency p50 %.1f p99 %.1f max %.1f ms (of it, "
	    "from due to sent: p50 %.1f p99 %.1f ms; from sent to acked: p99 "
	    "%.1f ms)\n",
	    sp->n, sp->rate, sp->storm ? " (restart storm)" : "",
	    run + 1, b->e2e_runs, res.connected, sp->n, res.hs_s,
	    res.hs_max_s, res.failed, res.first_error[0] ? ": first: " : "",
	    res.first_error, res.window_s, res.win_sent_recs,
	    res.win_sent_bytes, res.win_acked_recs, res.win_acked_bytes,
	    res.stalls, res.recv_cpu_s, res.recv_procs, res.recv_pss_kib,
	    res.recv_rss_kib, res.self_cpu_s, res.drain_s * 1e3, res.lat_p50,
	    res.lat_p99, res.lat_max, res.lag_p50, res.lag_p99, res.wire_p99);
	if (sp->storm)
		fprintf(stderr, "restart storm: the receiver stopped in %.2f s; "
		    "%u of %u senders through the handshake again after %.2f "
		    "s, shipping (acked) again after %.2f s; %" PRIu64
		    " connections failed and were retried\n", res.storm_stop_s,
		    res.storm_back, res.storm_senders, res.storm_welcome_s,
		    res.storm_ship_s, res.storm_attempts);
	fprintf(stderr, "fan-in: %.0f of %u trails exact; receiver Pss %ld KiB "
	    "before the senders\n", fr->exact, sp->n, pss0);
	if (notdrained > 0)
		warnx("fan-in run %u: %u senders still had bytes "
		    "unacknowledged %.0f s after sending stopped", run + 1,
		    notdrained, FANIN_DRAIN);

	fr->connected = (double)(res.connected - res.lost_shipping);
	fr->recv_cpu_pct = res.recv_cpu_s / res.recv_window_s * 100;
	fr->aud_cpu_pct = res.aud_cpu_s / res.recv_window_s * 100;
	fr->realtime = res.realtime;
	fr->pss_mib = res.recv_pss_kib > 0 ?
	    (double)res.recv_pss_kib / 1024 : NAN;
	fr->rss_mib = res.recv_rss_kib > 0 ?
	    (double)res.recv_rss_kib / 1024 : NAN;
	fr->procs = res.recv_procs;
	fr->sent_rps = (double)res.win_sent_recs / res.window_s;
	fr->acked_rps = (double)res.win_acked_recs / res.window_s;
	fr->sent_mbs = (double)res.win_sent_bytes / 1e6 / res.window_s;
	fr->acked_mbs = (double)res.win_acked_bytes / 1e6 / res.window_s;
	fr->drain_ms = res.drain_s * 1e3;
	fr->lat_p50 = res.lat_p50;
	fr->lat_p99 = res.lat_p99;
	fr->lag_p99 = res.lag_p99;
	fr->wire_p99 = res.wire_p99;
	fr->self_cpu_pct = res.self_cpu_s / res.window_s * 100;
	fr->hs_s = res.hs_s;
	fr->pss0_kib = pss0 > 0 ? (double)pss0 : NAN;
	fr->pss_kib = res.recv_pss_kib > 0 ? (double)res.recv_pss_kib : NAN;
	fr->storm_s = sp->storm ? res.storm_ship_s : NAN;
	fr->storm_hs_s = sp->storm && res.storm_welcome_s > 0 ?
	    res.storm_welcome_s : NAN;
	fr->storm_stop_s = sp->storm ? res.storm_stop_s : NAN;
	fr->storm_back = res.storm_back;
	fr->storm_retries = (double)res.storm_attempts;
	free(sent);
	free(acked);
}

#define FR_MED(field) ({						\
	double v_[b->e2e_runs];						\
	for (i = 0; i < b->e2e_runs; i++)				\
		v_[i] = fr[i].field;					\
	median(v_, b->e2e_runs);					\
})

void
group_fanin(struct bench *b, struct table *t)
{
	struct fanrun fr[b->e2e_runs];
	char fig[128], tgt[64];
	double minconn = INFINITY;
	unsigned i;

	struct fanspec sp = { .n = b->fanin_n, .rate = b->fanin_rate };

	tls_setup(b);
	for (i = 0; i < b->e2e_runs; i++) {
		fanin_run(b, &sp, i, &fr[i]);
		if (fr[i].connected < minconn)
			minconn = fr[i].connected;
	}
	if (minconn < b->fanin_n)
		bench_incomplete = 1;

	snprintf(fig, sizeof(fig), "fan-in senders shipping at once");
	snprintf(tgt, sizeof(tgt), ">= %u", b->fanin_n);
	row_add(t, &(struct row){ .figure = fig, .ours = minconn,
	    .base = NAN, .prec = 0, .no_ratio = 1, .kind = TGT_OURS_MIN,
	    .target = b->fanin_n, .target_text = tgt });
	row_add(t, &(struct row){ .figure = "fan-in records/s durable and "
	    "acked", .ours = FR_MED(acked_rps), .base = FR_MED(sent_rps),
	    .base_name = "sent", .prec = 0, .kind = TGT_RATIO_MIN,
	    .target = 0.99, .target_text = ">= 0.99x sent" });
	row_add(t, &(struct row){ .figure = "  fan-in MB/s durable and acked",
	    .ours = FR_MED(acked_mbs), .base = FR_MED(sent_mbs),
	    .base_name = "sent", .prec = 2 });
	row_add(t, &(struct row){ .figure = "  all acked after sending "
	    "stopped (ms)", .ours = FR_MED(drain_ms), .base = NAN, .prec = 0,
	    .no_ratio = 1 });
	row_add(t, &(struct row){ .figure = "  fan-in ack latency p50 (ms)",
	    .ours = FR_MED(lat_p50), .base = NAN, .prec = 1, .no_ratio = 1 });
	row_add(t, &(struct row){ .figure = "  fan-in ack latency p99 (ms)",
	    .ours = FR_MED(lat_p99), .base = NAN, .prec = 1, .no_ratio = 1 });
	snprintf(fig, sizeof(fig), "receiver CPU, %u senders (%% of one core)",
	    b->fanin_n);
	row_add(t, &(struct row){ .figure = fig, .ours = FR_MED(recv_cpu_pct),
	    .base = NAN, .prec = 1, .no_ratio = 1, .kind = TGT_OURS_BELOW,
	    .target = 100, .target_text = "< 100% (1 core)" });
	row_add(t, &(struct row){ .figure = "  of which the serial-gap auditor "
	    "(% of one core)", .ours = FR_MED(aud_cpu_pct), .base = NAN,
	    .prec = 1, .no_ratio = 1 });
	snprintf(fig, sizeof(fig), "receiver memory, %u senders (Pss, MiB)",
	    b->fanin_n);
	row_add(t, &(struct row){ .figure = fig, .ours = FR_MED(pss_mib),
	    .base = NAN, .prec = 1, .no_ratio = 1, .kind = TGT_OURS_BELOW,
	    .target = 256, .target_text = "< 256 MiB" });
	row_add(t, &(struct row){ .figure = "  receiver RSS summed over its "
	    "processes (MiB)", .ours = FR_MED(rss_mib), .base = NAN,
	    .prec = 1, .no_ratio = 1 });
	row_add(t, &(struct row){ .figure = "  receiver processes",
	    .ours = FR_MED(procs), .base = NAN, .prec = 0, .no_ratio = 1 });
	row_add(t, &(struct row){ .figure = "  load tool CPU (% of one core)",
	    .ours = FR_MED(self_cpu_pct), .base = NAN, .prec = 1,
	    .no_ratio = 1 });
	snprintf(fig, sizeof(fig), "  handshakes of %u senders (s)",
	    b->fanin_n);
	row_add(t, &(struct row){ .figure = fig, .ours = FR_MED(hs_s),
	    .base = NAN, .prec = 2, .no_ratio = 1 });
	note_add(t, "fan-in: %u senders (hosts fan1..fan%u, each its own "
	    "password) in one process (bench/senders.c: an epoll loop "
	    "per job, -j, non-blocking TLS, %u handshakes at a time), %u records/s each "
	    "(%u in all; the stream's records, one DATA frame per sender "
	    "every %u ms, the senders' ticks spread evenly, at most 4 MiB "
	    "unacknowledged each) into one auditdistd on 127.0.0.1; "
	    "measured over %u s after %.0f s of shipping; receiver CPU = "
	    "utime+stime+cutime+cstime summed over its process and every "
	    "descendant (/proc/PID/stat; %s), over the window; memory = Pss "
	    "(and Rss) of /proc/PID/smaps_rollup summed over the same "
	    "processes, largest of 3 samples; sent = records handed to TLS "
	    "in the window, acked = records the receiver acknowledged "
	    "(after fdatasync) in the window; latency per record due in "
	    "the window, from when it fell due to the ACK covering it; every trail checked against what its "
	    "sender sent; median of %u runs",
	    b->fanin_n, b->fanin_n, fanin_hs(), b->fanin_rate,
	    b->fanin_n * b->fanin_rate, FANIN_TICK_MS, fanin_window(b, &sp),
	    fanin_warmup(&sp),
	    proctree_children_files() ? "descendants from /proc/PID/task/*/children" :
	    "descendants from the parent field of every /proc/PID/stat, the "
	    "kernel has no /proc/PID/task/*/children", b->e2e_runs);
}
