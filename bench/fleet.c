/*
 * A fleet on one receiver (group "fleet"): the fan-in of 1,000 senders at
 * 100 records/s each beside 10,000 senders at 10 records/s each (both
 * about 100,000 records/s), the receiver's memory per idle and per
 * shipping host at 10,000 hosts, and the restart storm: how long after a
 * receiver restart until all 10,000 senders ship again.
 *
 * Where this machine cannot hold 10,000 hosts (the receiver checks its
 * descriptor and process limits at the start and says what it needs),
 * the row says so with the receiver's own numbers, and the same rows are
 * run at the largest thousand that fits, labelled with that size.  The
 * load (bench/senders.c, one epoll loop in a child process) is measured
 * too: it shares the machine's cores with the receiver.
 */
#include <err.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sysexits.h>

#include "bench.h"

/* The sizes can be made smaller at build time, to try the group out. */
#ifndef FLEET_SMALL
#define FLEET_SMALL	1000		/* senders at FLEET_SMALL_RATE */
#define FLEET_BIG	10000		/* senders at FLEET_BIG_RATE */
#define FLEET_STEP	1000		/* down to the largest that fits */
#endif
#define FLEET_SMALL_RATE 100
#define FLEET_BIG_RATE	10
#define STORM_WAIT	300.0		/* STORM_TIMEOUT of senders.c */
#define PSS_LIMIT_MIB	512
#define LAT_LIMIT_MS	1000
#define IDLE_KIB_BEFORE	36.1		/* at 50 hosts, 2026-12-02 */
#define SHIP_KIB_BEFORE	51.3

/* The median of one field over the runs. */
static double
fmed(const struct fanrun *fr, unsigned nruns, size_t off)
{
	double v[nruns];
	unsigned i;

	for (i = 0; i < nruns; i++)
		v[i] = *(const double *)(const void *)((const char *)&fr[i] +
		    off);
	return median(v, nruns);
}

#define MED(field)	fmed(fr, nruns, offsetof(struct fanrun, field))

/* The largest size up to want that the receiver starts with here. */
static unsigned
fleet_fit(struct bench *b, unsigned want, char *why, size_t len)
{
	char dummy[256];
	unsigned n;

	if (recv_fits(b, want, why, len) == 0)
		return want;
	for (n = want - FLEET_STEP; n >= FLEET_STEP; n -= FLEET_STEP)
		if (recv_fits(b, n, dummy, sizeof(dummy)) == 0)
			return n;
	return 0;
}

static void
row_cannot(struct table *t, const char *what, const char *why)
{
	char fig[512];

	snprintf(fig, sizeof(fig), "%s: cannot run here: %s", what, why);
	row_add(t, &(struct row){ .figure = fig, .ours = NAN, .base = NAN,
	    .prec = 0, .no_ratio = 1 });
}

/* The rows of one fan-in size: cores is its CPU target. */
static void
fleet_rows(struct table *t, const struct fanrun *fr, unsigned nruns,
    const struct fanspec *sp, double cores, const char *label)
{
	char fig[256], tgt[64], pre[96];

	snprintf(pre, sizeof(pre), "fleet %u x %u rec/s%s", sp->n, sp->rate,
	    label);
	snprintf(fig, sizeof(fig), "%s: receiver CPU (cores)", pre);
	snprintf(tgt, sizeof(tgt), "< %.1f core", cores);
	row_add(t, &(struct row){ .figure = fig, .ours = MED(recv_cpu_pct) /
	    100, .base = NAN, .prec = 2, .no_ratio = 1,
	    .kind = TGT_OURS_BELOW, .target = cores, .target_text = tgt });
	snprintf(fig, sizeof(fig), "  %s: of which serial-gap auditor (cores)",
	    pre);
	row_add(t, &(struct row){ .figure = fig, .ours = MED(aud_cpu_pct) /
	    100, .base = NAN, .prec = 3, .no_ratio = 1 });
	snprintf(fig, sizeof(fig), "%s: receiver Pss (MiB)", pre);
	row_add(t, &(struct row){ .figure = fig, .ours = MED(pss_mib),
	    .base = NAN, .prec = 1, .no_ratio = 1, .kind = TGT_OURS_BELOW,
	    .target = PSS_LIMIT_MIB, .target_text = "< 512 MiB" });
	snprintf(fig, sizeof(fig), "%s: records/s acked", pre);
	row_add(t, &(struct row){ .figure = fig, .ours = MED(acked_rps),
	    .base = MED(sent_rps), .base_name = "sent", .prec = 0,
	    .kind = TGT_RATIO_MIN, .target = 0.99,
	    .target_text = ">= 0.99x sent" });
	snprintf(fig, sizeof(fig), "%s: ack latency p99 (ms)", pre);
	row_add(t, &(struct row){ .figure = fig, .ours = MED(lat_p99),
	    .base = NAN, .prec = 1, .no_ratio = 1, .kind = TGT_OURS_BELOW,
	    .target = LAT_LIMIT_MS, .target_text = "< 1000 ms" });
	snprintf(fig, sizeof(fig), "%s: trails exact (hosts)", pre);
	snprintf(tgt, sizeof(tgt), "%u", sp->n);
	row_add(t, &(struct row){ .figure = fig, .ours = MED(exact),
	    .base = NAN, .prec = 0, .no_ratio = 1, .kind = TGT_OURS_MIN,
	    .target = sp->n, .target_text = tgt });
	snprintf(fig, sizeof(fig), "  %s: ack latency p50 (ms)", pre);
	row_add(t, &(struct row){ .figure = fig, .ours = MED(lat_p50),
	    .base = NAN, .prec = 1, .no_ratio = 1 });
	snprintf(fig, sizeof(fig), "  %s: from due to sent, p99 (ms)", pre);
	row_add(t, &(struct row){ .figure = fig, .ours = MED(lag_p99),
	    .base = NAN, .prec = 1, .no_ratio = 1 });
	snprintf(fig, sizeof(fig), "  %s: from sent to acked, p99 (ms)", pre);
	row_add(t, &(struct row){ .figure = fig, .ours = MED(wire_p99),
	    .base = NAN, .prec = 1, .no_ratio = 1 });
	snprintf(fig, sizeof(fig), "  %s: senders shipping at once", pre);
	row_add(t, &(struct row){ .figure = fig, .ours = MED(connected),
	    .base = NAN, .prec = 0, .no_ratio = 1 });
	snprintf(fig, sizeof(fig), "  %s: all acked after sending stopped "
	    "(ms)", pre);
	row_add(t, &(struct row){ .figure = fig, .ours = MED(drain_ms),
	    .base = NAN, .prec = 0, .no_ratio = 1 });
	snprintf(fig, sizeof(fig), "  %s: receiver processes", pre);
	row_add(t, &(struct row){ .figure = fig, .ours = MED(procs),
	    .base = NAN, .prec = 0, .no_ratio = 1 });
	snprintf(fig, sizeof(fig), "  %s: load tool CPU (cores)", pre);
	row_add(t, &(struct row){ .figure = fig, .ours = MED(self_cpu_pct) /
	    100, .base = NAN, .prec = 2, .no_ratio = 1 });
	snprintf(fig, sizeof(fig), "  %s: handshakes of all senders (s)", pre);
	row_add(t, &(struct row){ .figure = fig, .ours = MED(hs_s),
	    .base = NAN, .prec = 1, .no_ratio = 1 });
}

static void
fleet_runs(struct bench *b, const struct fanspec *sp, struct fanrun *fr,
    unsigned nruns)
{
	unsigned i;

	for (i = 0; i < nruns; i++)
		fanin_run(b, sp, i, &fr[i]);
	for (i = 0; i < nruns; i++)
		if (fr[i].connected < sp->n || fr[i].exact < sp->n)
			bench_incomplete = 1;
}

/* Receiver Pss per host: (with the senders - before them) / hosts. */
static double
per_host(const struct fanrun *fr, unsigned nruns, unsigned n)
{
	double v[nruns];
	unsigned i;

	for (i = 0; i < nruns; i++)
		v[i] = (fr[i].pss_kib - fr[i].pss0_kib) / n;
	return median(v, nruns);
}

static void
fleet_storm(struct bench *b, struct table *t, unsigned n, const char *label)
{
	const unsigned nruns = b->e2e_runs;
	struct fanspec sp = { .n = n, .rate = FLEET_BIG_RATE, .storm = 1 };
	struct fanrun fr[nruns];
	char fig[256];
	unsigned i;

	for (i = 0; i < nruns; i++) {
		fanin_run(b, &sp, i, &fr[i]);
		if (!isfinite(fr[i].storm_s))
			bench_incomplete = 1;
	}
	snprintf(fig, sizeof(fig), "restart storm, %u senders%s: s from the "
	    "restart until all ship again", n, label);
	row_add(t, &(struct row){ .figure = fig, .ours = MED(storm_s),
	    .base = NAN, .prec = 1, .no_ratio = 1 });
	snprintf(fig, sizeof(fig), "  restart storm, %u senders: shipping "
	    "again when the bench stopped waiting (%.0f s)", n, STORM_WAIT);
	row_add(t, &(struct row){ .figure = fig, .ours = MED(storm_back),
	    .base = NAN, .prec = 0, .no_ratio = 1 });
	snprintf(fig, sizeof(fig), "  restart storm, %u senders: s until all "
	    "are through the handshake", n);
	row_add(t, &(struct row){ .figure = fig, .ours = MED(storm_hs_s),
	    .base = NAN, .prec = 1, .no_ratio = 1 });
	snprintf(fig, sizeof(fig), "  restart storm, %u senders: s the old "
	    "receiver took to stop", n);
	row_add(t, &(struct row){ .figure = fig, .ours = MED(storm_stop_s),
	    .base = NAN, .prec = 1, .no_ratio = 1 });
	snprintf(fig, sizeof(fig), "  restart storm, %u senders: connection "
	    "attempts that failed", n);
	row_add(t, &(struct row){ .figure = fig, .ours = MED(storm_retries),
	    .base = NAN, .prec = 0, .no_ratio = 1 });
	snprintf(fig, sizeof(fig), "  restart storm, %u senders: trails exact "
	    "(hosts)", n);
	row_add(t, &(struct row){ .figure = fig, .ours = MED(exact),
	    .base = NAN, .prec = 0, .no_ratio = 1 });
}

/*
 * BENCH_STORM_N=N: the restart storm alone, at N senders (to measure a
 * change to how the receiver admits them without the other rows).
 */
static int
storm_only(struct bench *b, struct table *t)
{
	const char *s = getenv("BENCH_STORM_N");
	char why[256], *end;
	unsigned long n;

	if (s == NULL || *s == '\0')
		return 0;
	n = strtoul(s, &end, 10);
	if (*end != '\0' || n == 0 || n > FLEET_BIG)
		errx(EX_USAGE, "BENCH_STORM_N=%s: a number of senders from 1 "
		    "to %u", s, FLEET_BIG);
	if (recv_fits(b, (unsigned)n, why, sizeof(why)) != 0)
		errx(EX_UNAVAILABLE, "fleet: the receiver does not start "
		    "here with %lu hosts: %s", n, why);
	fleet_storm(b, t, (unsigned)n, " (BENCH_STORM_N)");
	note_add(t, "restart storm alone (BENCH_STORM_N): %lu senders "
	    "shipping %u records/s each, the receiver stopped (SIGTERM) and "
	    "started again on the same config, port and trails after 3 s; "
	    "each sender reconnects as the forwarder does and counts as "
	    "shipping again at its first ACK after the restart; timed from "
	    "the new receiver's start; median of %u runs", n, FLEET_BIG_RATE,
	    b->e2e_runs);
	return 1;
}

/*
 * BENCH_FLEET_SMALL=1: the 1,000 x 100 rows alone (to measure a change to
 * the receiver's cost without the 10,000-host rows).
 */
static int
small_only(struct bench *b, struct table *t, struct fanspec *small)
{
	const char *s = getenv("BENCH_FLEET_SMALL");
	struct fanrun fr[b->e2e_runs];

	if (s == NULL || *s == '\0' || strcmp(s, "0") == 0)
		return 0;
	fleet_runs(b, small, fr, b->e2e_runs);
	fleet_rows(t, fr, b->e2e_runs, small, 0.5, "");
	note_add(t, "fleet (BENCH_FLEET_SMALL): %u senders, each its own "
	    "host, one DATA frame every 100 ms at %u records/s, %u s window "
	    "after %.0f s of shipping; CPU in cores of the receiver's whole "
	    "process tree over the window, Pss summed over it; median of %u "
	    "runs", small->n, small->rate, fanin_window(b, small),
	    fanin_warmup(small), b->e2e_runs);
	return 1;
}

/*
 * BENCH_FLEET_BIG=1: the 10,000 x 10 rows alone (to measure a change to
 * the writers' commit without the other rows).
 */
static int
big_only(struct bench *b, struct table *t, struct fanspec *big)
{
	const char *s = getenv("BENCH_FLEET_BIG");
	struct fanrun fr[b->e2e_runs];
	char why[256];

	if (s == NULL || *s == '\0' || strcmp(s, "0") == 0)
		return 0;
	if ((big->n = fleet_fit(b, FLEET_BIG, why, sizeof(why))) == 0)
		errx(EX_UNAVAILABLE, "fleet: the receiver does not start "
		    "here: %s", why);
	fleet_runs(b, big, fr, b->e2e_runs);
	fleet_rows(t, fr, b->e2e_runs, big, 1.0, "");
	note_add(t, "fleet (BENCH_FLEET_BIG): %u senders at %u records/s, "
	    "%u s window after %.0f s of shipping; median of %u runs", big->n,
	    big->rate, fanin_window(b, big), fanin_warmup(big), b->e2e_runs);
	return 1;
}

void
group_fleet(struct bench *b, struct table *t)
{
	const unsigned nruns = b->e2e_runs;
	struct fanspec small = { .n = FLEET_SMALL, .rate = FLEET_SMALL_RATE };
	struct fanspec big = { .n = FLEET_BIG, .rate = FLEET_BIG_RATE };
	struct fanspec idle = { .n = FLEET_BIG, .rate = 0 };
	struct fanrun fr[nruns], frb[nruns], fri[nruns];
	char why[256], label[64] = "", fig[256];
	unsigned fit;

	tls_setup(b);
	if (storm_only(b, t) || small_only(b, t, &small) ||
	    big_only(b, t, &big))
		return;
	fleet_runs(b, &small, fr, nruns);
	fleet_rows(t, fr, nruns, &small, 0.5, "");

	if ((fit = fleet_fit(b, FLEET_BIG, why, sizeof(why))) == 0)
		errx(EX_UNAVAILABLE, "fleet: the receiver does not start "
		    "here even with %u hosts: %s", FLEET_STEP, why);
	if (fit < FLEET_BIG) {
		row_cannot(t, "fleet 10000 x 10 rec/s", why);
		snprintf(label, sizeof(label), " (largest that fits)");
		big.n = idle.n = fit;
	}
	fleet_runs(b, &big, frb, nruns);
	fleet_rows(t, frb, nruns, &big, 1.0, label);

	fleet_runs(b, &idle, fri, nruns);
	if (fit < FLEET_BIG)
		row_cannot(t, "receiver Pss per host, 10000 hosts", why);
	snprintf(fig, sizeof(fig), "receiver Pss per idle host, %u hosts (KiB)",
	    idle.n);
	row_add(t, &(struct row){ .figure = fig,
	    .ours = per_host(fri, nruns, idle.n), .base = IDLE_KIB_BEFORE,
	    .base_name = "50 hosts, 2026-12-02", .prec = 1 });
	snprintf(fig, sizeof(fig), "receiver Pss per shipping host, %u hosts "
	    "(KiB)", big.n);
	row_add(t, &(struct row){ .figure = fig,
	    .ours = per_host(frb, nruns, big.n), .base = SHIP_KIB_BEFORE,
	    .base_name = "50 hosts, 2026-12-02", .prec = 1 });

	if (fit < FLEET_BIG)
		row_cannot(t, "restart storm, 10000 senders", why);
	fleet_storm(b, t, fit, label);

	note_add(t, "fleet: the fan-in of the fanin group (bench/senders.c, "
	    "each sender its own host and password, one DATA frame per "
	    "sender every 100 ms with the records that fell due, ticks spread "
	    "evenly, windows of %u and %u s after %.0f and %.0f s of "
	    "shipping: 3 and 2 s per 1,000 senders, at least -t and 3) at "
	    "%u x %u and %u x %u records/s; "
	    "ack latency per record, from when it fell due (not when it was "
	    "sent) to the ACK that covers it, for the records due in the "
	    "window; CPU in cores "
	    "(utime+stime+cutime+cstime of the receiver's whole process "
	    "tree over the window), Pss summed over the tree (largest of 3 "
	    "samples), trails exact = hosts whose trail is byte for byte what "
	    "their sender sent; per host = (Pss with the senders connected - "
	    "Pss of the same receiver before they connected) / hosts, idle = "
	    "through the handshake and sending nothing for the window, "
	    "shipping = the %u x %u run; restart storm: %u senders shipping "
	    "%u records/s each, the receiver stopped (SIGTERM) and started "
	    "again on the same config, port and trails after 3 s; each "
	    "sender reconnects as the forwarder does (1 s, then a base "
	    "doubling to 5 s, 3/4 of it plus up to 1/4 at random), resumes "
	    "where the WELCOME says, and counts as shipping again at its "
	    "first ACK after the restart; timed from the new receiver's "
	    "start; the load tool runs %u jobs (-j; threads, each with a "
	    "slice of the senders in an epoll loop of its own; on loopback "
	    "a sender's write also pays the receiving side's TCP work), %s, "
	    "and the receiver's /proc is read by a child of it (10,000 "
	    "processes take a while to read); median of %u runs",
	    fanin_window(b, &small), fanin_window(b, &big),
	    fanin_warmup(&small), fanin_warmup(&big), small.n, small.rate,
	    big.n, big.rate, big.n, big.rate, fit,
	    FLEET_BIG_RATE, senders_jobs(b, big.n), frb[0].realtime ?
	    "SCHED_FIFO (real senders are other machines; at the "
	    "receiver's priority it would get a small share of a core when "
	    "many writers are runnable, and the latency would be its own)" :
	    "at normal priority (SCHED_FIFO only with fewer jobs than "
	    "cores: real-time jobs on every core would leave the receiver "
	    "nothing), so on a busy machine part of the latency may be its "
	    "own", nruns);
}
