/*
 * WAN (group "wan", or -w): the end-to-end runs of e2e.c with 50 ms added
 * to every round trip, ours against audisp-remote and the raw TLS pipe.
 *
 * The runs happen in a private network namespace (so that nothing on the
 * machine's own loopback changes), with its loopback delayed by
 * "tc qdisc add dev lo root netem delay 25ms" (each direction crosses lo
 * once).  Where the kernel has no netem, or no private namespace can be
 * made, every connection goes through the delaying relay of relay.c
 * instead (25 ms each way), and the rows say so.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <net/if.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "bench.h"

enum prog { P_OURS, P_TLS, P_AR, NPROGS };

static const char *const prog_names[NPROGS] = { "audisp-dist", "raw TLS",
    "audisp-remote" };

static int
lo_up(char *why, size_t whylen)
{
	struct ifreq ifr;
	int fd, rc = -1;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == -1)
		snprintf(why, whylen, "SIOCGIFFLAGS lo: %s", strerror(errno));
	else {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) == -1)
			snprintf(why, whylen, "SIOCSIFFLAGS lo: %s",
			    strerror(errno));
		else
			rc = 0;
	}
	close(fd);
	return rc;
}

/*
 * netem on this namespace's loopback: 0, or -1 with tc's first line of
 * complaint in why.
 */
static int
add_netem(struct bench *b, char *why, size_t whylen)
{
	static const char *const tcs[] = { "/usr/sbin/tc", "/sbin/tc" };
	char delay[32], log[PATH_MAX], buf[256], *nl;
	const char *argv[12], *tc = NULL;
	ssize_t n;
	size_t i;
	pid_t pid;
	int status, fd;

	for (i = 0; i < sizeof(tcs) / sizeof(tcs[0]); i++)
		if (access(tcs[i], X_OK) == 0) {
			tc = tcs[i];
			break;
		}
	if (tc == NULL) {
		snprintf(why, whylen, "no tc (package iproute2)");
		return -1;
	}
	pathf(delay, sizeof(delay), "%ums", b->rtt_ms / 2);
	pathf(log, sizeof(log), "%s/tc.log", b->tmpdir);
	i = 0;
	argv[i++] = tc;
	argv[i++] = "qdisc";
	argv[i++] = "add";
	argv[i++] = "dev";
	argv[i++] = "lo";
	argv[i++] = "root";
	argv[i++] = "netem";
	argv[i++] = "delay";
	argv[i++] = delay;
	argv[i] = NULL;
	pid = spawn(argv, -1, NULL, log);
	if (stop_proc(pid, 0, 10, &status) == 0 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0) {
		rm_path(log);
		return 0;
	}
	snprintf(why, whylen, "tc qdisc add dev lo root netem delay %s "
	    "failed", delay);
	if ((fd = open(log, O_RDONLY | O_CLOEXEC)) != -1) {
		if ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
			buf[n] = '\0';
			if ((nl = strchr(buf, '\n')) != NULL)
				*nl = '\0';
			snprintf(why, whylen, "tc qdisc add dev lo root netem "
			    "delay %s: \"%s\"", delay, buf);
		}
		close(fd);
	}
	rm_path(log);
	return -1;
}

void
group_wan(struct bench *b, struct table *t)
{
	struct prefix px, apx;
	double secs[NPROGS][b->e2e_runs], lag[b->e2e_runs], vis[b->e2e_runs];
	double med[NPROGS], mb;
	char why[512], label[96], fig[160], arprog[PATH_MAX];
	long saved[4], fwd_wan;
	unsigned i, j, p;
	int orig = -1, netem = 0, have_ar, wrong = 0;

	b->rtt_ms = WAN_RTT_MS;
	why[0] = '\0';
	/* A network namespace of our own, with loopback up. */
	if ((orig = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) == -1)
		snprintf(why, sizeof(why), "/proc/self/ns/net: %s",
		    strerror(errno));
	else if (unshare(CLONE_NEWNET) == -1) {
		snprintf(why, sizeof(why), "no private network namespace "
		    "(unshare: %s)", strerror(errno));
		close(orig);
		orig = -1;
	} else if (lo_up(why, sizeof(why)) == -1)
		errx(EX_OSERR, "wan: private network namespace: %s", why);
	else if (add_netem(b, why, sizeof(why)) == 0)
		netem = 1;

	if (netem)
		snprintf(label, sizeof(label), "WAN %u ms RTT (netem)",
		    b->rtt_ms);
	else {
		fprintf(stderr, "wan: netem skipped: %s; the WAN runs go "
		    "through a delaying relay instead\n", why);
		b->relay_ms = b->rtt_ms / 2;
		snprintf(label, sizeof(label), "WAN %u ms RTT via a delaying "
		    "relay (no netem)", b->rtt_ms);
	}

	tls_setup(b);
	stream_prefix(b, b->e2e_size, 0, &px);
	stream_prefix(b, 0, b->wan_ar_records, &apx);
	have_ar = audisp_remote_path(arprog, sizeof(arprog)) == 0;
	if (!have_ar) {
		warnx("wan: no audisp-remote or no auditd: its baseline is not "
		    "measured");
		bench_incomplete = 1;
	}
	/* The WAN peaks are its own; the memory rows stay the loopback's. */
	saved[0] = b->fwd_hwm_kib;
	saved[1] = b->fwd_anon_kib;
	saved[2] = b->plugin_hwm_kib;
	saved[3] = b->recv_hwm_kib;
	b->fwd_hwm_kib = 0;
	for (i = 0; i < b->e2e_runs; i++) {
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
			fprintf(stderr, "wan run %u/%u %-13s %8.3f s  %9.1f "
			    "records/s  %7.2f MB/s\n", i + 1, b->e2e_runs,
			    prog_names[p], secs[p][i],
			    (double)(p == P_AR ? apx.records : px.records) /
			    secs[p][i], (double)(p == P_AR ? apx.bytes :
			    px.bytes) / 1e6 / secs[p][i]);
		}
	}
	fwd_wan = b->fwd_hwm_kib;
	b->fwd_hwm_kib = saved[0];
	b->fwd_anon_kib = saved[1];
	b->plugin_hwm_kib = saved[2];
	b->recv_hwm_kib = saved[3];
	b->relay_ms = 0;
	b->rtt_ms = 0;
	if (orig != -1) {
		/* Back to the machine's network; the private one goes away. */
		if (setns(orig, CLONE_NEWNET) == -1)
			err(EX_OSERR, "setns back to the original network");
		close(orig);
	}

	for (p = 0; p < NPROGS; p++)
		med[p] = median(secs[p], b->e2e_runs);
	mb = (double)px.bytes / 1e6;
	snprintf(fig, sizeof(fig), "%s: records/s to durable ack", label);
	row_add(t, &(struct row){ .figure = fig,
	    .ours = (double)px.records / med[P_OURS],
	    .base = have_ar ? (double)apx.records / med[P_AR] : NAN,
	    .base_name = "audisp-remote", .prec = 0 });
	snprintf(fig, sizeof(fig), "%s: MB/s to durable ack", label);
	row_add(t, &(struct row){ .figure = fig, .ours = mb / med[P_OURS],
	    .base = mb / med[P_TLS], .base_name = "raw TLS", .prec = 1 });
	snprintf(fig, sizeof(fig), "  %s: forwarder peak RSS (MiB)", label);
	row_add(t, &(struct row){ .figure = fig,
	    .ours = fwd_wan > 0 ? (double)fwd_wan / 1024 : NAN, .base = NAN,
	    .prec = 2, .no_ratio = 1 });
	note_add(t, "WAN: %s%s%s; the e2e runs (ours on %" PRIu64 " bytes, "
	    "raw TLS on the same bytes, audisp-remote on %" PRIu64 " records) "
	    "%s; audisp-remote waits for each record's reply, so it is bound "
	    "by the round trip%s; median of %u runs",
	    netem ? "tc netem delay on the loopback of a private network "
	    "namespace, " : "netem skipped: ", netem ? label : why,
	    netem ? "" : "; instead every connection goes through a relay in "
	    "the bench that releases each direction's bytes 25 ms after they "
	    "arrive (unlimited bandwidth; TCP between an endpoint and the "
	    "relay runs at loopback speed, so TCP windows and slow start play "
	    "no part: the round trip is what the protocols above see)",
	    px.bytes, apx.records, orig != -1 ? "in a private network "
	    "namespace" : "on the machine's loopback", wrong ? "; WARNING: "
	    "the collector logged more lines than sent" : "", b->e2e_runs);
}
