/*
 * Memory: the peaks the shipping groups saw (forwarder, plugin, receiver
 * with one sender), and the receiver's resident memory per connected
 * sender, with N senders played by tests/helpers/adpeer (built by
 * "make bench"): first idle (authenticated, waiting for data), then
 * shipping a trickle of records.
 */
#include <sys/stat.h>
#include <sys/types.h>

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

#define PEER_TIMEOUT	"120"		/* adpeer -t: its own give-up */
#define SHIP_CHUNK	"16384"		/* bytes per DATA frame */
#define SHIP_RATE	"262144"	/* bytes/s per sender, ~1,100 rec/s */
#define SHIP_FILE_MIB	16		/* more than a sender ships meanwhile */
#define READY_TIMEOUT	60.0
#define SETTLE		1.0		/* s after the last one is ready */

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

/* The receiver's largest VmRSS over a second, KiB. */
static long
rss_sample(pid_t pid)
{
	long v, best = -1;
	int i;

	for (i = 0; i < 10; i++) {
		if ((v = proc_kib(pid, "VmRSS")) > best)
			best = v;
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
		k = 0;
		argv[k++] = adpeer;
		argv[k++] = "-f";
		argv[k++] = b->fingerprint;
		argv[k++] = "-n";
		argv[k++] = name;
		argv[k++] = "-w";
		argv[k++] = b->password;
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
	    "(MiB)", .ours = kib_to_mib(b->recv_hwm_kib), .base = NAN,
	    .prec = 2, .no_ratio = 1 });

	pathf(adpeer, sizeof(adpeer), "%s/tests/adpeer", b->bindir);
	if (access(adpeer, X_OK) == -1) {
		warn("%s (make bench builds it): the receiver's memory per "
		    "sender is not measured", adpeer);
		bench_incomplete = 1;
	} else {
		pathf(ship, sizeof(ship), "%s/fanin.log", b->tmpdir);
		write_ship_file(b, ship, SHIP_FILE_MIB);
		/* A fresh receiver for each: freed memory is not given back. */
		recv_start(b, &r, "fanin", b->fanin, 300);
		sleep_s(0.5);
		rss0 = rss_sample(r.pid);
		idle = with_peers(b, &r, adpeer, b->fanin, "stall-data", NULL);
		recv_stop(&r, &hwm);
		rm_path(r.dir);
		recv_start(b, &r, "fanin", b->fanin, 300);
		sleep_s(0.5);
		rss1 = rss_sample(r.pid);
		busy = with_peers(b, &r, adpeer, b->fanin, "good", ship);
		recv_stop(&r, &hwm);
		rm_path(r.dir);
		rm_path(ship);
		if (rss0 > 0 && idle > 0)
			per_idle = (double)(idle - rss0) / b->fanin;
		if (rss1 > 0 && busy > 0)
			per_busy = (double)(busy - rss1) / b->fanin;
		if (isnan(per_idle) || isnan(per_busy))
			bench_incomplete = 1;
		fprintf(stderr, "memory: receiver RSS %ld KiB alone, %ld KiB "
		    "with %u idle senders; %ld KiB alone, %ld KiB with %u "
		    "shipping (peak %ld KiB)\n", rss0, idle, b->fanin, rss1,
		    busy, b->fanin, hwm);
	}
	row_add(t, &(struct row){ .figure = "receiver RSS per idle sender "
	    "(KiB)", .ours = per_idle, .base = NAN, .prec = 1, .no_ratio = 1,
	    .kind = TGT_OURS_BELOW, .target = 64,
	    .target_text = "< 64 KiB" });
	row_add(t, &(struct row){ .figure = "receiver RSS per shipping sender "
	    "(KiB)", .ours = per_busy, .base = NAN, .prec = 1, .no_ratio = 1,
	    .kind = TGT_OURS_BELOW, .target = 64,
	    .target_text = "< 64 KiB" });
	note_add(t, "memory: VmHWM from /proc just before each program was "
	    "told to stop, largest over the shipping runs (it counts the "
	    "pages of shared libraries the process mapped, shared with every "
	    "other process using them: mostly libcrypto's; the s_client of "
	    "the raw TLS runs is shown for scale); the forwarder's private "
	    "memory, RssAnon, is sampled every "
	    "10 ms during the e2e runs and at the end of every run; per sender: "
	    "(receiver VmRSS with %u tests/helpers/adpeer senders - VmRSS "
	    "of the same receiver before they connected) / %u, idle = authenticated and waiting for data "
	    "(adpeer stall-data), shipping = %s-byte DATA frames at %s "
	    "bytes/s each (adpeer good -b -r)", b->fanin, b->fanin,
	    SHIP_CHUNK, SHIP_RATE);
}
