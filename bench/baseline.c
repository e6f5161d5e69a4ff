/*
 * The two baselines of the end-to-end table.
 *
 * audisp-remote: auditd's own network plugin (audit 3.x), reading the
 * stream on stdin through a socketpair as auditd feeds it, shipping to an
 * auditd collector (auditd -n -c DIR, tcp_listen_port, local_events = no,
 * Debian's default flush = INCREMENTAL_ASYNC, freq = 50).  audisp-remote
 * reads its config from the fixed path /etc/audit/audisp-remote.conf, and
 * auditd writes /run/auditd.pid: both run in a private mount namespace, so
 * the bench binds its own config over that path and gives auditd a
 * private /run, and nothing under /etc or /run changes for anyone else.
 *
 * Raw TLS: openssl s_client reading the stream from a socketpair, to
 * openssl s_server writing it to a file, then fdatasync of that file: the
 * bytes moving over the same kind of TLS with no protocol at all.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "bench.h"

#define AR_CONF_PATH	"/etc/audit/audisp-remote.conf"

int
audisp_remote_path(char *out, size_t len)
{
	static const char *const paths[] = { "/sbin/audisp-remote",
	    "/usr/sbin/audisp-remote" };
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0) {
			snprintf(out, len, "%s", paths[i]);
			return access(AR_CONF_PATH, F_OK) == 0 &&
			    access(AUDITD_PATH, X_OK) == 0 ? 0 : -1;
		}
	return -1;
}

static void
reap_feeder(pid_t feeder)
{
	int status;

	if (stop_proc(feeder, 0, 10, &status) == -1 ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		errx(EX_SOFTWARE, "feeder failed (status 0x%x)", status);
}

/*
 * Move the first len bytes of the stream through openssl s_client and
 * s_server into a file and fdatasync it; seconds from the first byte fed
 * (after the TLS handshake) until the sync returned, and in *visible
 * until the file had every byte.
 */
double
run_raw_tls(struct bench *b, uint64_t len, int run, double *visible)
{
	char out[PATH_MAX], slog[PATH_MAX], clog[PATH_MAX], addr[64];
	char port[16], why[512];
	const char *srv_argv[12], *cli_argv[8], *outp[1];
	struct relay rl;
	struct spawn sp;
	double t0, tend, deadline;
	pid_t srv, cli, feeder;
	int pin[2], sv[2], fd, p, cp;
	long v;

	tls_setup(b);
	pathf(out, sizeof(out), "%s/tls.out", b->tmpdir);
	pathf(slog, sizeof(slog), "%s/tls-server.log", b->tmpdir);
	pathf(clog, sizeof(clog), "%s/tls-client.log", b->tmpdir);
	rm_path(out);
	sync();
	p = free_port();
	pathf(port, sizeof(port), "127.0.0.1:%d", p);

	/* s_server hangs up at the end of its stdin: give it one that never ends. */
	if (pipe2(pin, O_CLOEXEC) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		err(EX_OSERR, "pipe");
	srv_argv[0] = OPENSSL_PATH;
	srv_argv[1] = "s_server";
	srv_argv[2] = "-quiet";
	srv_argv[3] = "-accept";
	srv_argv[4] = port;
	srv_argv[5] = "-cert";
	srv_argv[6] = b->cert;
	srv_argv[7] = "-key";
	srv_argv[8] = b->key;
	srv_argv[9] = NULL;
	memset(&sp, 0, sizeof(sp));
	sp.argv = srv_argv;
	sp.in_fd = pin[0];
	sp.out_fd = -1;
	sp.out_path = out;
	sp.err_fd = -1;
	sp.err_path = slog;
	srv = spawn_ex(&sp);
	close(pin[0]);
	deadline = now() + 20;
	while (tcp_count(p, 0, 0x0A) == 0) {
		if (!proc_alive(srv) || now() > deadline || interrupted) {
			show_errlog(slog);
			errx(EX_SOFTWARE, "openssl s_server did not listen on %s",
			    addr);
		}
		sleep_s(0.002);
	}

	cp = via_port(b, &rl, p);
	pathf(addr, sizeof(addr), "127.0.0.1:%d", cp);
	cli_argv[0] = OPENSSL_PATH;
	cli_argv[1] = "s_client";
	cli_argv[2] = "-quiet";
	cli_argv[3] = "-connect";
	cli_argv[4] = addr;
	cli_argv[5] = NULL;
	cli = spawn(cli_argv, sv[0], NULL, clog);
	close(sv[0]);
	deadline = now() + 20;
	while (tcp_count(cp, 1, 0x01) == 0) {
		if (!proc_alive(cli) || now() > deadline || interrupted) {
			show_errlog(clog);
			errx(EX_SOFTWARE, "openssl s_client did not connect to "
			    "%s", addr);
		}
		sleep_s(0.001);
	}
	/* The TLS handshake takes one more round trip. */
	sleep_s((TLS_SETTLE_MS + 2.0 * b->rtt_ms) / 1e3);

	t0 = now();
	feeder = spawn_feeder(b->stream, len, sv[1], -1);
	deadline = t0 + RUN_TIMEOUT;
	while (file_size(out) < (int64_t)len) {
		if (!proc_alive(srv) || !proc_alive(cli) || now() > deadline ||
		    interrupted) {
			show_errlog(slog);
			show_errlog(clog);
			errx(EX_SOFTWARE, "raw TLS run %d: %s after %" PRId64
			    " of %" PRIu64 " bytes", run + 1, interrupted ?
			    "interrupted" : "openssl stopped or hung",
			    file_size(out), len);
		}
		sleep_s(0.0005);
	}
	*visible = now() - t0;
	if ((fd = open(out, O_RDONLY | O_CLOEXEC)) == -1 || fdatasync(fd) == -1)
		err(EX_IOERR, "fdatasync %s", out);
	tend = now();
	close(fd);

	outp[0] = out;
	if (compare_files(outp, 1, b->stream, len, why, sizeof(why)) == -1)
		errx(EX_SOFTWARE, "raw TLS: %s", why);
	reap_feeder(feeder);
	/* Every process linking OpenSSL pays this much; see group_memory. */
	if ((v = proc_kib(cli, "VmHWM")) > b->tls_hwm_kib)
		b->tls_hwm_kib = v;
	if ((v = proc_kib(cli, "RssAnon")) > b->tls_anon_kib)
		b->tls_anon_kib = v;
	stop_proc(cli, SIGTERM, 5, NULL);
	stop_proc(srv, SIGTERM, 5, NULL);
	relay_stop(&rl);
	close(sv[1]);
	close(pin[1]);
	rm_path(out);
	return tend - t0;
}

/* Lines in the collector's log so far, read incrementally. */
static uint64_t
spool_count_lines(struct linecount *lc, const char *path)
{
	char buf[1 << 16];
	ssize_t n, i;

	if (lc->fd == -1 &&
	    (lc->fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	while ((n = pread(lc->fd, buf, sizeof(buf), lc->off)) > 0) {
		for (i = 0; i < n; i++)
			if (buf[i] == '\n')
				lc->lines++;
		lc->off += n;
	}
	return lc->lines;
}

static void
ar_fail(const char *col, const char *arlog, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

static void
ar_fail(const char *col, const char *arlog, const char *fmt, ...)
{
	va_list ap;

	show_errlog(col);
	show_errlog(arlog);
	va_start(ap, fmt);
	verrx(EX_SOFTWARE, fmt, ap);
	va_end(ap);
}

/*
 * An auditd collector: auditd -n -c DIR with Debian's auditd.conf, less
 * what would touch the system (local_events = no: it leaves the kernel's
 * audit alone), listening on a free port of 127.0.0.1, in a private mount
 * namespace with its own /run.  Returns once it listens and has logged
 * its own DAEMON_START.
 */
void
collector_start(struct bench *b, struct collector *c, const char *tag)
{
	char plugdir[PATH_MAX], conf[PATH_MAX];
	const char *argv[5];
	struct spawn sp;
	double deadline;

	memset(c, 0, sizeof(*c));
	c->lc.fd = -1;
	pathf(c->dir, sizeof(c->dir), "%s/collector-%s", b->tmpdir, tag);
	pathf(plugdir, sizeof(plugdir), "%s/plugins", c->dir);
	pathf(conf, sizeof(conf), "%s/auditd.conf", c->dir);
	pathf(c->log, sizeof(c->log), "%s/audit.log", c->dir);
	pathf(c->out, sizeof(c->out), "%s/collector-%s.out", b->tmpdir, tag);
	rm_path(c->dir);
	if (mkdir(c->dir, 0700) == -1 || mkdir(plugdir, 0750) == -1)
		err(EX_CANTCREAT, "%s", c->dir);
	c->port = free_port();

	if (write_file(conf, 0600,
	    "local_events = no\nwrite_logs = yes\nlog_file = %s\n"
	    "log_group = root\nlog_format = ENRICHED\n"
	    "flush = INCREMENTAL_ASYNC\nfreq = 50\nmax_log_file = 4096\n"
	    "num_logs = 2\nmax_log_file_action = IGNORE\npriority_boost = 4\n"
	    "name_format = NONE\nspace_left = 2\nspace_left_action = IGNORE\n"
	    "verify_email = no\naction_mail_acct = root\n"
	    "admin_space_left = 1\nadmin_space_left_action = IGNORE\n"
	    "disk_full_action = IGNORE\ndisk_error_action = IGNORE\n"
	    "use_libwrap = no\ntcp_listen_port = %d\ntcp_listen_queue = 5\n"
	    "tcp_max_per_addr = 1\ntcp_client_max_idle = 0\n"
	    "transport = TCP\ndistribute_network = no\nq_depth = 2000\n"
	    "overflow_action = SYSLOG\nmax_restarts = 10\nplugin_dir = %s\n"
	    "end_of_event_timeout = 2\n", c->log, c->port, plugdir) == -1)
		err(EX_CANTCREAT, "%s", conf);

	argv[0] = AUDITD_PATH;
	argv[1] = "-n";
	argv[2] = "-c";
	argv[3] = c->dir;
	argv[4] = NULL;
	memset(&sp, 0, sizeof(sp));
	sp.argv = argv;
	sp.in_fd = sp.out_fd = -1;
	sp.err_fd = -1;
	sp.err_path = c->out;
	sp.private_run = 1;
	c->pid = spawn_ex(&sp);
	deadline = now() + 20;
	while (tcp_count(c->port, 0, 0x0A) == 0 ||
	    spool_count_lines(&c->lc, c->log) < 1) {
		if (!proc_alive(c->pid) || now() > deadline || interrupted)
			ar_fail(c->out, NULL, "auditd -n -c %s did not listen "
			    "on port %d", c->dir, c->port);
		sleep_s(0.005);
	}
}

/* Lines in the collector's log so far. */
uint64_t
collector_lines(struct collector *c)
{
	return spool_count_lines(&c->lc, c->log);
}

void
collector_stop(struct collector *c)
{
	if (c->pid > 0 && stop_proc(c->pid, SIGTERM, 20, NULL) == -1)
		warnx("the auditd collector had to be killed");
	c->pid = -1;
	if (c->lc.fd != -1)
		close(c->lc.fd);
	c->lc.fd = -1;
	rm_path(c->dir);
}

/*
 * audisp-remote's config: immediate mode, plain TCP to 127.0.0.1:port,
 * a queue of queue_depth records; the rest as Debian ships it.
 */
void
ar_conf_write(const char *path, int port, uint64_t queue_depth)
{
	if (write_file(path, 0600,
	    "remote_server = 127.0.0.1\nport = %d\ntransport = tcp\n"
	    "mode = immediate\nqueue_depth = %" PRIu64 "\nformat = managed\n"
	    "network_retry_time = 1\nmax_tries_per_record = 3\n"
	    "max_time_per_record = 5\nheartbeat_timeout = 0\n"
	    "network_failure_action = stop\ndisk_low_action = ignore\n"
	    "disk_full_action = warn_once\ndisk_error_action = warn_once\n"
	    "remote_ending_action = stop\ngeneric_error_action = syslog\n"
	    "generic_warning_action = syslog\nqueue_error_action = stop\n"
	    "overflow_action = syslog\n"
	    "startup_failure_action = warn_once_continue\n", port,
	    queue_depth) == -1)
		err(EX_CANTCREAT, "%s", path);
}

/*
 * audisp-remote shipping the prefix px to an auditd collector; seconds
 * from the first byte fed until the collector's log holds every record
 * (auditd never logs type=EOE records, so those are not waited for).
 */
double
run_audisp_remote(struct bench *b, const struct prefix *px, int *wrong)
{
	char arconf[PATH_MAX], arlog[PATH_MAX], prog[PATH_MAX];
	const char *ar_argv[2];
	struct collector col;
	struct relay rl;
	struct spawn sp;
	uint64_t want;
	double t0, tend, deadline;
	pid_t ar, feeder;
	int sv[2];

	if (audisp_remote_path(prog, sizeof(prog)) == -1)
		errx(EX_SOFTWARE, "audisp-remote is not installed");
	pathf(arconf, sizeof(arconf), "%s/audisp-remote.conf", b->tmpdir);
	pathf(arlog, sizeof(arlog), "%s/audisp-remote.log", b->tmpdir);
	sync();
	collector_start(b, &col, "e2e");
	/* Immediate mode, a queue that holds the whole stream, no losses. */
	ar_conf_write(arconf, via_port(b, &rl, col.port), px->records + 1024);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		err(EX_OSERR, "socketpair");
	ar_argv[0] = prog;
	ar_argv[1] = NULL;
	memset(&sp, 0, sizeof(sp));
	sp.argv = ar_argv;
	sp.in_fd = sv[0];
	sp.out_fd = -1;
	sp.err_fd = -1;
	sp.err_path = arlog;
	sp.bind_src = arconf;
	sp.bind_dst = AR_CONF_PATH;
	ar = spawn_ex(&sp);
	close(sv[0]);

	/*
	 * audisp-remote connects when the first record arrives (about a
	 * millisecond here): its DAEMON_ACCEPT line comes first.
	 */
	want = 2 + px->records - px->eoe;
	t0 = now();
	feeder = spawn_feeder(b->stream, px->bytes, sv[1], -1);
	deadline = t0 + RUN_TIMEOUT;
	while (collector_lines(&col) < want) {
		if (!proc_alive(ar) || !proc_alive(col.pid) ||
		    now() > deadline || interrupted)
			ar_fail(col.out, arlog, "audisp-remote: the collector "
			    "has %" PRIu64 " of %" PRIu64 " lines and %s",
			    col.lc.lines, want, interrupted ? "we were "
			    "interrupted" : "a program stopped or hung");
		sleep_s(0.001);
	}
	tend = now();
	reap_feeder(feeder);
	/* End of input: audisp-remote exits; then the collector. */
	close(sv[1]);
	stop_proc(ar, 0, 10, NULL);
	relay_stop(&rl);
	/* Its DAEMON_CLOSE (and DAEMON_END) may follow; nothing else. */
	if (col.pid > 0 && stop_proc(col.pid, SIGTERM, 20, NULL) == -1)
		warnx("the auditd collector had to be killed");
	col.pid = -1;
	*wrong = collector_lines(&col) > want + 2;
	collector_stop(&col);
	return tend - t0;
}
