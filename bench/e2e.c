/*
 * End to end: records into audisp-dist's stdin until auditdistd on
 * 127.0.0.1 has acknowledged them as durable, against audisp-remote to an
 * auditd collector and against a raw TLS pipe (baseline.c).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "bench.h"

enum prog { P_OURS, P_TLS, P_AR, NPROGS };

static const char *const prog_names[NPROGS] = { "audisp-dist", "raw TLS",
    "audisp-remote" };

static void
keep_peak(long *peak, long v)
{
	if (v > *peak)
		*peak = v;
}

/*
 * One run of ours: seconds from the first byte fed until the forwarder
 * reported the last byte durable at the receiver; *lag: how long after
 * the whole stream was visible in the trail that report came.
 */
double
e2e_run_ours(struct bench *b, const struct prefix *px, unsigned run,
    double *lag)
{
	char hostdir[PATH_MAX], tag[32];
	struct seqmap map = { NULL, NULL, 0 };
	struct sender s;
	struct recv r, via;
	struct relay rl;
	struct pollfd pfd;
	double t0, tvis = NAN, tend = NAN, deadline, tsample = 0;
	long plug = -1, fwd = -1, rcv = -1;
	size_t checked;
	int64_t off;
	pid_t feeder;
	int status, feeder_done = 0;

	snprintf(tag, sizeof(tag), "e2e%u", run + 1);
	sync();		/* no writeback left over from the previous run */
	recv_start(b, &r, tag, 1, 20);
	/* The sender connects to the receiver, or to a relay in between. */
	via = r;
	via.port = via_port(b, &rl, r.port);
	sender_start(b, &s, &via, tag);
	sender_wait_connected(&s, &via);
	recv_host_dir(&r, SENDER_HOST, hostdir, sizeof(hostdir));
	sender_read(&s);
	checked = s.nacks;

	t0 = now();
	feeder = spawn_feeder(b->stream, px->bytes, s.sock, -1);
	deadline = t0 + RUN_TIMEOUT;
	pfd.fd = s.err;
	pfd.events = POLLIN;
	while (isnan(tend)) {
		pfd.revents = 0;
		poll(&pfd, 1, 1);
		sender_read(&s);
		if (!feeder_done && waitpid(feeder, &status, WNOHANG) ==
		    feeder) {
			untrack_pid(feeder);
			feeder_done = 1;
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				sender_fail(&s, &r, "feeder failed");
		}
		if (now() - tsample > 0.01) {
			sender_sample(&s);
			tsample = now();
		}
		if (isnan(tvis) && trail_bytes(hostdir) >= px->bytes)
			tvis = now();
		if (!isnan(tvis) && checked < s.nacks) {
			trail_seqmap(hostdir, &map);
			for (; checked < s.nacks; checked++) {
				off = seqmap_offset(&map, s.acks[checked].seq,
				    s.acks[checked].size);
				if (off > (int64_t)px->bytes)
					sender_fail(&s, &r, "an ack for %"
					    PRId64 " bytes; only %" PRIu64
					    " were sent", off, px->bytes);
				if (off == (int64_t)px->bytes) {
					tend = s.acks[checked].t;
					break;
				}
			}
		}
		if (!proc_alive(s.pid))
			sender_fail(&s, &r, "audisp-dist exited during the run");
		if (!proc_alive(r.pid))
			sender_fail(&s, &r, "auditdistd exited during the run");
		if (now() > deadline || interrupted)
			sender_fail(&s, &r, "end-to-end run %u: %s; the trail "
			    "holds %" PRIu64 " of %" PRIu64 " bytes, %zu acks "
			    "seen", run + 1, interrupted ? "interrupted" :
			    "timed out", trail_bytes(hostdir), px->bytes,
			    s.nacks);
	}
	if (!feeder_done && (stop_proc(feeder, 0, 10, &status) == -1 ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0))
		sender_fail(&s, &r, "feeder failed");
	trail_verify(b, hostdir, px->bytes);
	sender_stop(&s, &plug, &fwd);
	relay_stop(&rl);
	recv_stop(&r, &rcv);
	keep_peak(&b->plugin_hwm_kib, plug);
	keep_peak(&b->fwd_hwm_kib, fwd);
	keep_peak(&b->fwd_anon_kib, s.fwd_anon_kib);
	keep_peak(&b->recv_hwm_kib, rcv);
	sender_free(&s);
	seqmap_free(&map);
	rm_path(s.spool);
	rm_path(r.dir);
	*lag = tend > tvis ? tend - tvis : 0;
	return tend - t0;
}

void
group_e2e(struct bench *b, struct table *t)
{
	struct prefix px, apx;
	double secs[NPROGS][b->e2e_runs], lag[b->e2e_runs], vis[b->e2e_runs];
	double med[NPROGS];
	double mb, arrec, lagmed, vismed;
	char arprog[PATH_MAX];
	unsigned i, j, p;
	int have_ar, wrong = 0;

	stream_prefix(b, b->e2e_size, 0, &px);
	stream_prefix(b, 0, b->ar_records, &apx);
	have_ar = audisp_remote_path(arprog, sizeof(arprog)) == 0;
	if (!have_ar) {
		warnx("no audisp-remote (Debian package audispd-plugins) or no "
		    "auditd: its baseline is not measured");
		bench_incomplete = 1;
	}
	tls_setup(b);

	for (i = 0; i < b->e2e_runs; i++) {
		/* Rotate who goes first so no one always follows another. */
		for (j = 0; j < NPROGS; j++) {
			p = (i + j) % NPROGS;
			secs[p][i] = NAN;
			switch (p) {
			case P_OURS:
				secs[p][i] = e2e_run_ours(b, &px, i, &lag[i]);
				break;
			case P_TLS:
				secs[p][i] = run_raw_tls(b, px.bytes, (int)i,
				    &vis[i]);
				break;
			case P_AR:
				if (have_ar)
					secs[p][i] = run_audisp_remote(b, &apx,
					    &wrong);
				break;
			}
			if (isnan(secs[p][i]))
				continue;
			fprintf(stderr, "e2e run %u/%u %-13s %8.3f s  %9.0f "
			    "records/s\n", i + 1, b->e2e_runs, prog_names[p],
			    secs[p][i], (double)(p == P_AR ? apx.records :
			    px.records) / secs[p][i]);
		}
	}
	for (p = 0; p < NPROGS; p++)
		med[p] = median(secs[p], b->e2e_runs);
	lagmed = median(lag, b->e2e_runs);
	vismed = median(vis, b->e2e_runs);
	mb = (double)px.bytes / 1e6;
	arrec = have_ar ? (double)apx.records / med[P_AR] : NAN;

	row_add(t, &(struct row){ .figure = "e2e records/s to durable ack",
	    .ours = (double)px.records / med[P_OURS], .base = arrec,
	    .base_name = "audisp-remote", .prec = 0,
	    .kind = TGT_RATIO_MIN, .target = 20,
	    .target_text = ">= 20x audisp-remote" });
	row_add(t, &(struct row){ .figure = "e2e MB/s to durable ack",
	    .ours = mb / med[P_OURS], .base = mb / med[P_TLS],
	    .base_name = "raw TLS", .prec = 1,
	    .kind = TGT_RATIO_MIN, .target = 0.4,
	    .target_text = ">= 0.40x raw TLS" });
	row_add(t, &(struct row){ .figure = "  raw TLS before its fdatasync "
	    "(MB/s)", .ours = mb / med[P_OURS], .base = mb / vismed,
	    .base_name = "raw TLS", .prec = 1 });
	row_add(t, &(struct row){ .figure = "  ack after whole trail "
	    "visible (ms)", .ours = lagmed * 1e3, .base = NAN, .prec = 1,
	    .no_ratio = 1 });

	note_add(t, "e2e: the first %" PRIu64 " bytes (%" PRIu64 " records) "
	    "of the stream, fed in %d KiB writes through a socketpair into "
	    "audisp-dist -d (flush none, default segments), its forwarder "
	    "(user %s) -> TLS -> auditdistd on 127.0.0.1 (fingerprint pin, "
	    "password); timed from the first byte fed (the forwarder already "
	    "connected) to audisp-dist's debug line saying the receiver holds "
	    "the last byte (it acks after fdatasync); every trail compared "
	    "with the input byte for byte", px.bytes, px.records,
	    FEED_CHUNK / 1024, b->fwd_user);
	note_add(t, "audisp-remote: %s (mode = immediate, format = managed, "
	    "plain TCP, stop and wait) on %" PRIu64 " records (%" PRIu64
	    " EOE) fed the same way, to auditd -n with tcp_listen_port, "
	    "local_events = no, flush = INCREMENTAL_ASYNC, freq = 50 (acks "
	    "before any sync); timed until the collector's log holds every "
	    "record but the EOE ones, which auditd never logs%s",
	    have_ar ? arprog : "(not installed)", apx.records, apx.eoe,
	    wrong ? "; WARNING: the collector logged more lines than sent" :
	    "");
	note_add(t, "raw TLS: openssl s_client (stdin from a socketpair) -> "
	    "s_server -> file on the bench dir, then one fdatasync of the "
	    "file; timed from the first byte fed after the handshake (%.0f "
	    "ms after the TCP connect) to the end of that sync", TLS_SETTLE_MS);
}
