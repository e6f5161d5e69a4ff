/*
 * audisp-dist: started by auditd from plugins.d.  Reads auditd's record
 * stream (format = string) on stdin, or from the af_unix plugin's socket
 * with -s, and appends it to the spool.  This process does one thing fast:
 * it never waits on disk sync (the syncer thread does that) nor on the
 * network.  Here: start-up, confinement and the event loop; which
 * configuration runs (the file, its last good copy, the defaults) is
 * runconf.c's.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <linux/capability.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "audisp-dist.h"
#include "forwarder.h"
#include "cli.h"
#include "evloop.h"
#include "log.h"
#include "sandbox.h"

#define READ_BUF_SIZE	(512 * 1024)
#define RECONNECT_MAX	30		/* seconds between af_unix retries */
/*
 * After a read of less than COALESCE_BYTES that emptied the socket, wait
 * COALESCE_NS before the next one, so that records arriving one by one
 * are read, framed and written many at a time instead of one system
 * call, one wakeup of this process (paid by auditd's sending thread) and
 * one wakeup of the forwarder each.  The socket holds what arrives
 * meanwhile; a read that finds more than COALESCE_BYTES means records
 * come faster than that, and the next read follows at once.
 */
#define COALESCE_BYTES	(16 * 1024)
#define COALESCE_NS	500000L

static struct plugin pl;
static struct fwdsup fwd;		/* the forwarder, supervised */
static const char *conf_path = CONF_DEFAULT_PATH;
static const char *state_dir = CONF_DEFAULT_SPOOL;	/* -D */
static const char *sock_path;		/* -s */
static int infd = -1;			/* stdin or the af_unix socket */
static int in_polled;			/* infd is in the epoll set */
static int in_regular;			/* stdin is a file: always readable */
static int in_eof;
static struct evloop loop = { -1, -1, -1 };
static time_t reconnect_at;		/* CLOCK_MONOTONIC seconds */
static unsigned reconnect_delay;
static struct intake_out pending;	/* framed, not yet spooled */
static int have_pending;
static time_t last_status;

#define PROG	"audisp-dist"

/* Only these have long names, as administrators expect of a daemon. */
static const struct option longopts[] = { CLI_LONGOPTS_END };

/* -h: the usage and the options on stdout; a usage error: stderr, 64. */
static void __attribute__((noreturn))
usage(int status)
{
	cli_usage(status, PROG, "[-dfhnV] [-D statedir] [-s socket] [config]",
	    "  -D statedir    keep the last good configuration there, and"
	    " spool there\n"
	    "                 when none ever loaded"
	    " (" CONF_DEFAULT_SPOOL ")\n"
	    "  -d             debug: -f, and log debug messages too\n"
	    "  -f             stay in the foreground, log to stderr\n"
	    "  -h, --help     print this help and exit\n"
	    "  -n             check the configuration and exit\n"
	    "  -s socket      read auditd's af_unix plugin socket, not stdin\n"
	    "  -V, --version  print the version and exit\n"
	    "  config         the configuration file"
	    " (" CONF_DEFAULT_PATH ")\n");
}

const char *
plugin_state_name(enum plugin_state s)
{
	switch (s) {
	case ST_RUNNING:	return "running";
	case ST_BLOCKED:	return "blocked";
	case ST_DROPPING:	return "dropping";
	case ST_STOPPING:	return "stopping";
	case ST_STOPPED:	return "stopped";
	}
	return "unknown";
}

static time_t
mono_now(void)
{
	return (time_t)(ev_now_ms() / 1000);
}

static void
set_state(enum plugin_state s)
{
	if (pl.state == s)
		return;
	pl.state = s;
	status_write(&pl.status, &pl);
}

static void
set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pl.last_error, sizeof(pl.last_error), fmt, ap);
	va_end(ap);
}

/*
 * What auditd hands a plugin is not a clean process: almost every signal
 * ignored, no environment, stray descriptors.  Start from a known state.
 */
static void
sanitize_process(void)
{
	sigset_t none;
	int fd, sig;

	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	umask(077);
	/* Descriptors 1 and 2 must be taken, or a segment could land there. */
	for (fd = 1; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) == -1) {
			int n = open("/dev/null", O_RDWR);

			if (n != -1 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
	close_range(3, ~0U, 0);
	clearenv();
	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
	setenv("LC_ALL", "C", 1);
}

static void
input_watch(int on)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = infd };

	if (infd == -1 || in_regular || on == in_polled)
		return;
	if (epoll_ctl(loop.epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, infd,
	    &ev) == -1)
		fatal("epoll_ctl input");
	in_polled = on;
}

static void
input_setup_stdin(void)
{
	struct stat st;

	infd = STDIN_FILENO;
	if (fstat(infd, &st) == -1)
		fatal("stdin");
	if (S_ISREG(st.st_mode)) {
		in_regular = 1;		/* epoll refuses files */
		return;
	}
	if (S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode))
		fcntl(infd, F_SETFL, fcntl(infd, F_GETFL) | O_NONBLOCK);
	else if (S_ISCHR(st.st_mode)) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = infd };

		/* Some devices (/dev/null) are refused too: always readable. */
		if (epoll_ctl(loop.epfd, EPOLL_CTL_ADD, infd, &ev) == -1) {
			if (errno != EPERM)
				fatal("epoll_ctl input");
			in_regular = 1;
			return;
		}
		in_polled = 1;
		return;
	}
	input_watch(1);
}

static void
input_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		fatal("socket");
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (reconnect_delay == 0)
			log_warn("connecting to %s (retrying with backoff)",
			    sock_path);
		set_error("connect %s: %s", sock_path, strerror(errno));
		close(fd);
		reconnect_delay = reconnect_delay ? reconnect_delay * 2 : 1;
		if (reconnect_delay > RECONNECT_MAX)
			reconnect_delay = RECONNECT_MAX;
		reconnect_at = mono_now() + reconnect_delay;
		return;
	}
	log_info("connected to %s", sock_path);
	reconnect_delay = 0;
	infd = fd;
	input_watch(1);
}

static void
input_lost(void)
{
	intake_eof(&pl.intake, &pl.c);
	if (sock_path == NULL) {
		in_eof = 1;
		return;
	}
	log_warnx("lost the connection to %s; reconnecting", sock_path);
	input_watch(0);
	close(infd);
	infd = -1;
	reconnect_delay = 1;
	reconnect_at = mono_now() + 1;
}

static void
flush_policy(uint64_t records, uint64_t bytes)
{
	const struct conf_sender *cs = &pl.conf->sender;
	struct spool *sp = &pl.spool;

	pl.since_sync_records += records;
	pl.since_sync_bytes += bytes;
	switch (cs->flush) {
	case FLUSH_NONE:
		return;
	case FLUSH_INCREMENTAL:
		if ((cs->flush_records == 0 ||
		    pl.since_sync_records < cs->flush_records) &&
		    (cs->flush_bytes == 0 ||
		    pl.since_sync_bytes < cs->flush_bytes))
			return;
		break;
	case FLUSH_DATA:
	case FLUSH_SYNC:
		break;
	}
	syncer_sync(sp->syncer, sp->fd, sp->seq, sp->size,
	    cs->flush == FLUSH_SYNC);
	pl.since_sync_records = pl.since_sync_bytes = 0;
}

static void
drop(uint64_t records, uint64_t bytes)
{
	pl.c.dropped_records += records;
	pl.c.dropped_bytes += bytes;
	pl.limits.episode_records += records;
	pl.limits.episode_bytes += bytes;
}

/* drop_old: delete closed segments until the pending records fit. */
static int
drop_oldest_until_fits(void)
{
	const struct conf_sender *cs = &pl.conf->sender;
	struct spool *sp = &pl.spool;
	struct limits *l = &pl.limits;
	uint64_t r, b;

	while (limits_over(l, cs, sp, pending.len)) {
		/*
		 * The open segment is never deleted.  Rotated segments the
		 * syncer has not renamed yet are not deletable either: let
		 * it finish closing them (a full spool is the slow path
		 * anyway; each close is two syncs of the directory and one
		 * of the segment, which a busy disk can make slow).
		 */
		if (spool_drop_oldest(sp, &r, &b) == -1 &&
		    (syncer_wait_closed(sp->syncer, 5) == -1 ||
		    spool_drop_oldest(sp, &r, &b) == -1))
			return 0;
		drop(r, b);
		log_warnx("spool full: deleted the oldest segment, %" PRIu64
		    " records (%" PRIu64 " bytes)", r, b);
	}
	return 1;
}

/*
 * The spool is full for all of pending: drop the records that do not fit
 * and keep those that do (a burst read at once is many records).
 * Returns the bytes kept.
 */
static size_t
keep_what_fits(void)
{
	uint64_t room = limits_room(&pl.limits, &pl.conf->sender, &pl.spool);
	size_t fit, cut;
	uint64_t recs;

	fit = fwd_cut_lines((const char *)pending.data,
	    room < pending.len ? (size_t)room : pending.len);
	if (fit == 0)
		return 0;
	cut = pending.len - fit;
	recs = spool_count_lines(pending.data + fit, cut);
	drop(recs, cut);
	pending.records -= recs;
	pending.len = fit;
	return fit;
}

/*
 * The spool has no room for what is pending: do what full_action says.
 * 1: write what is (still) pending, *cut if part of it was dropped; 0: it
 * was all dropped; -1: block.
 */
static int
when_full(int *cut)
{
	const struct conf_sender *cs = &pl.conf->sender;
	struct limits *l = &pl.limits;

	l->last_refusal = mono_now();
	if (l->state != LIMIT_FULL)
		limits_episode_begin(l, cs, &pl.spool);
	switch (cs->full_action) {
	case FULL_BLOCK:
		set_state(ST_BLOCKED);
		return -1;
	case FULL_DROP_OLD:
		if (drop_oldest_until_fits())
			break;
		/* Nothing left that may be deleted: drop new. */
		__attribute__((fallthrough));
	case FULL_DROP_NEW:
		set_state(ST_DROPPING);
		/* What fits, unless a record was dropped before it. */
		if (!l->dropping && (*cut = keep_what_fits() > 0)) {
			l->dropping = 1;
			break;
		}
		l->dropping = 1;
		drop(pending.records, pending.len);
		pending.len = 0;
		return 0;
	case FULL_SYSLOG:
	case FULL_EXEC:
		break;
	}
	return 1;
}

/*
 * Spool what intake framed.  Returns 0 when it is done with (written or
 * dropped), -1 when it must wait (block): the caller stops reading.
 */
static int
spool_pending(void)
{
	const struct conf_sender *cs = &pl.conf->sender;
	struct spool *sp = &pl.spool;
	struct limits *l = &pl.limits;
	size_t written;
	int cut = 0, rc;

	if (pending.len == 0)
		return 0;
	if ((limits_over(l, cs, sp, pending.len) ||
	    limits_dropping(l, cs, sp)) && (rc = when_full(&cut)) != 1)
		return rc;

	written = spool_write(sp, pending.data, pending.len, cs->segment_size);
	l->written_since += written;
	if (written > 0) {
		uint64_t recs = written == pending.len ? pending.records :
		    spool_count_lines(pending.data, written);

		pl.c.records_spooled += recs;
		pl.c.bytes_spooled += written;
		pending.records -= recs;
		pending.data += written;
		pending.len -= written;
		flush_policy(recs, written);
	}
	if (pending.len == 0) {
		set_state(cut ? ST_DROPPING : ST_RUNNING);
		return 0;
	}
	/* The disk refused: the filesystem is full or failing. */
	set_error("writing segment %016" PRIx64 ": %s", sp->seq,
	    strerror(errno));
	if (l->state != LIMIT_FULL) {
		log_warn("spool %s: writing segment %016" PRIx64, sp->path,
		    sp->seq);
		l->reason = "write error";
		limits_episode_begin(l, cs, sp);
	}
	if (cs->full_action == FULL_BLOCK) {
		set_state(ST_BLOCKED);
		return -1;
	}
	drop(pending.records, pending.len);
	set_state(ST_DROPPING);
	pending.len = 0;
	return 0;
}

/*
 * Returns the bytes read, 0 if none; *drained says whether the read
 * took less than there was room for (nothing more was waiting).
 */
static ssize_t
read_input(int *drained)
{
	struct intake *in = &pl.intake;
	size_t space = intake_space(in);
	ssize_t n;

	*drained = 0;
	if (have_pending || infd == -1 || in_eof)
		return 0;
	n = read(infd, intake_tail(in), space);
	*drained = n >= 0 && (size_t)n < space;
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		log_warn("reading records");
		set_error("reading records: %s", strerror(errno));
		input_lost();
		return 0;
	}
	if (n == 0) {
		input_lost();
		return 0;
	}
	intake_frame(in, (size_t)n, &pending, &pl.c);
	status_sample_format(&pl, pending.data, pending.len);
	have_pending = 1;
	if (spool_pending() == -1) {
		input_watch(0);
		return n;
	}
	intake_consume(in);
	have_pending = 0;
	return n;
}

static void
retry_pending(void)
{
	if (!have_pending)
		return;
	if (spool_pending() == -1)
		return;
	intake_consume(&pl.intake);
	have_pending = 0;
	input_watch(1);
}

static void
reload(void)
{
	char err[1024];
	struct conf *c;

	log_info("reloading %s", conf_path);
	if ((c = runconf_load(conf_path, err, sizeof(err))) == NULL) {
		runconf_broken(err);
		fwd.conf_path = runconf_fwd_path();
		status_write(&pl.status, &pl);
		return;
	}
	runconf_good();
	fwd.conf_path = runconf_fwd_path();
	if (strcmp(c->sender.directory, pl.conf->sender.directory) != 0)
		log_warnx("%s: a new spool directory takes effect at the next "
		    "start; still using %s", conf_path,
		    pl.conf->sender.directory);
	free(c->sender.directory);
	c->sender.directory = strdup(pl.conf->sender.directory);
	if (c->sender.directory == NULL)
		fatal("reload");
	if (strcmp(c->sender.status_file, pl.conf->sender.status_file) != 0) {
		status_close(&pl.status);
		status_open(&pl.status, c->sender.status_file);
	}
	conf_free(pl.conf);
	pl.conf = c;
	pl.spool.durable = c->sender.flush != FLUSH_NONE;
	limits_refresh(&pl.limits, &pl.spool);
	if (fwdsup_configure(&fwd, c) == -1)
		log_warn("reload: forwarder hosts");
}

static void
tick(void)
{
	const struct conf_sender *cs = &pl.conf->sender;
	struct spool *sp = &pl.spool;
	struct timespec now;
	char err[200];

	clock_gettime(CLOCK_MONOTONIC, &now);
	/*
	 * By age; or by size when it grew past segment_size while the
	 * syncer was behind: nothing else closes it while input is blocked,
	 * and only closed segments can be shipped off and deleted.
	 */
	if (sp->size > 0 && (sp->size >= cs->segment_size ||
	    now.tv_sec - sp->first_write.tv_sec >= (time_t)cs->segment_age)) {
		if (spool_rotate(sp) == -1 && errno != EAGAIN)
			set_error("creating segment %016" PRIx64 ": %s",
			    sp->seq + 1, strerror(errno));
		pl.since_sync_records = pl.since_sync_bytes = 0;
	}
	if (syncer_take_error(sp->syncer, err, sizeof(err)))
		set_error("%s", err);
	if (limits_refresh(&pl.limits, sp) == -1)
		log_warn("spool %s", sp->path);
	retry_pending();
	/* Quiet for a while and under the limits: the episode is over. */
	if (!have_pending && pl.limits.state == LIMIT_FULL &&
	    now.tv_sec - pl.limits.last_refusal >= LIMITS_QUIET &&
	    !limits_over(&pl.limits, cs, sp, 0)) {
		limits_episode_end(&pl.limits, cs);
		set_state(ST_RUNNING);
	}
	if (sock_path != NULL && infd == -1 && now.tv_sec >= reconnect_at)
		input_connect();
	fwdsup_tick(&fwd);
	runconf_nag(now.tv_sec);
	if (now.tv_sec - last_status >= (time_t)cs->status_interval) {
		status_write(&pl.status, &pl);
		fwdsup_health(&fwd);
		pl.format_sample = 1;
		last_status = now.tv_sec;
	}
}

static int
handle_signal(void)
{
	int sig;

	while ((sig = ev_signal(&loop)) != 0) {
		switch (sig) {
		case SIGTERM:
		case SIGINT:
			log_info("signal %d: stopping", sig);
			return 1;
		case SIGHUP:
			reload();
			break;
		case SIGCHLD: {
			pid_t pid;
			int st;

			/* The forwarder, or a spool_full_action program. */
			while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
				fwdsup_reaped(&fwd, pid, st);
			break;
		}
		}
	}
	return 0;
}

/*
 * Keep of root only what the plugin and the programs it starts need: to
 * start the forwarder, which becomes its own user (setuid, setgid), to
 * signal it (kill), to read the kernel's audit counters (audit_control),
 * and to give the spool to the forwarder's group (chown).  No new
 * privileges through any executable, and a system call filter that
 * refuses what none of them makes (ptrace, mount, modules, raw sockets,
 * keyrings, bpf, ...).  No Landlock ruleset here: the forwarder and the
 * spool_full_action program would inherit it; the forwarder confines
 * itself further.
 */
static void
confine(void)
{
	struct sandbox *sb;

	if (geteuid() == 0)
		sandbox_caps(1ULL << CAP_SETUID | 1ULL << CAP_SETGID |
		    1ULL << CAP_KILL | 1ULL << CAP_AUDIT_CONTROL |
		    1ULL << CAP_CHOWN);
	sandbox_limits(0, 1);
	sb = sandbox_new("audisp-dist", SB_FILES | SB_SPAWN | SB_THREADS |
	    SB_INET | SB_NETLINK | SB_INOTIFY);
	/* Nothing beneath any path is restricted: see above. */
	sandbox_test_hook("/nonexistent", SB_TEST_PTRACE);
	sandbox_apply_syscalls(sb);
}

/*
 * The command line: sets the globals it names and the three flags.  The
 * state directory from the environment was read before this runs.
 */
static void
parse_args(int argc, char *argv[], int *debug, int *fg, int *check)
{
	int ch;

	while ((ch = getopt_long(argc, argv, "D:dfhns:V", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'D':
			state_dir = optarg;
			break;
		case 'd':
			*debug = 1;
			*fg = 1;
			break;
		case 'f':
			*fg = 1;
			break;
		case 'n':
			*check = 1;
			*fg = 1;
			break;
		case 's':
			sock_path = optarg;
			break;
		case 'h':
			usage(0);
		case 'V':
			cli_version(PROG);
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage(EX_USAGE);
	if (argc == 1)
		conf_path = argv[0];
	if (sock_path != NULL && strlen(sock_path) >=
	    sizeof(((struct sockaddr_un *)0)->sun_path))
		fatalx_code(EX_USAGE, "socket path too long: %s", sock_path);
	if (runconf_init(&pl, conf_path, state_dir) == -1)
		fatalx_code(EX_USAGE, "-D %s: not an absolute path or too long",
		    state_dir);
}

/*
 * Confined, with the signals blocked: open the spool, the status file,
 * the event loop, the input and the forwarder, in that order.
 */
static void
start(int debug, int fg)
{
	char err[1024];
	sigset_t mask;

	pl.conf = runconf_start();
	pl.kernel_lost = pl.kernel_backlog = -1;
	pl.format_sample = 1;
	status_read_boot_id();
	confine();

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	/* Blocked before the syncer thread starts, so it inherits the mask. */
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (spool_open(&pl.spool, pl.conf->sender.directory, err,
	    sizeof(err)) == -1)
		fatalx_code(EX_CANTCREAT, "%s", err);
	pl.spool.durable = pl.conf->sender.flush != FLUSH_NONE;
	pl.c.dropped_records = pl.spool.torn_records;
	pl.c.dropped_bytes = pl.spool.torn_bytes;
	if (intake_init(&pl.intake, READ_BUF_SIZE) == -1)
		fatal("input buffer");
	status_open(&pl.status, pl.conf->sender.status_file);
	limits_refresh(&pl.limits, &pl.spool);

	/* tick() every second. */
	if (ev_init(&loop, &mask) == -1 || ev_timer_every(&loop, 1000) == -1)
		fatal("event loop setup");
	if (sock_path != NULL)
		input_connect();
	else
		input_setup_stdin();
	if (fwdsup_init(&fwd, &pl, runconf_fwd_path(), debug ? 'd' : fg ? 'f' : 0,
	    loop.epfd) == -1)
		fatal("forwarder setup");
	pl.fwd = &fwd;
	if (fwdsup_configure(&fwd, pl.conf) == -1)
		fatal("forwarder setup");
	fwdsup_tick(&fwd);
}

/*
 * Until a stop signal or the end of the input.  A regular file as stdin is
 * always readable: it is read at each turn without waiting.  See
 * COALESCE_BYTES for the pause after a small read.
 */
static void
run(void)
{
	int stop = 0;

	while (!stop && !in_eof) {
		struct epoll_event evs[4];
		int i, n, busy = in_regular && !have_pending;
		ssize_t got = 0;
		int drained = 0;

		if ((n = ev_wait(&loop, evs, 4, busy ? 0 : -1)) == -1)
			fatal("epoll_wait");
		for (i = 0; i < n; i++) {
			if (ev_is_signal(&loop, &evs[i]))
				stop |= handle_signal();
			else if (ev_is_timer(&loop, &evs[i])) {
				if (ev_timer_fired(&loop))
					tick();
			} else if (evs[i].data.fd == infd)
				got = read_input(&drained);
			else if (evs[i].data.fd == fwd.fd)
				fwdsup_read(&fwd);
		}
		if (busy && !stop)
			(void)read_input(&drained);
		else if (got > 0 && got < COALESCE_BYTES && drained && !stop &&
		    !in_eof) {
			struct timespec ts = { 0, COALESCE_NS };

			nanosleep(&ts, NULL);
		}
	}
}

/* Stop the forwarder, account for what was not spooled, make it durable. */
static void
shut_down(void)
{
	/* Bounded (2 s): auditd may be waiting for us in waitpid. */
	fwdsup_stop(&fwd);
	set_state(ST_STOPPING);
	if (have_pending) {
		log_warnx("stopping while blocked: %" PRIu64 " framed records "
		    "(%zu bytes) not spooled", pending.records, pending.len);
		drop(pending.records, pending.len);
	}
	intake_eof(&pl.intake, &pl.c);
	if (pl.limits.state == LIMIT_FULL)	/* report its drops all the same */
		limits_episode_end(&pl.limits, &pl.conf->sender);
	if (pl.spool.durable)
		syncer_sync(pl.spool.syncer, pl.spool.fd, pl.spool.seq,
		    pl.spool.size, 0);
	if (syncer_drain(pl.spool.syncer, 20) == -1) {
		log_warnx("spool %s: sync did not finish in 20 s; exiting "
		    "anyway", pl.spool.path);
		status_write(&pl.status, &pl);
		_exit(1);
	}
	set_state(ST_STOPPED);
	log_info("stopped: %" PRIu64 " records in, %" PRIu64 " spooled, %"
	    PRIu64 " dropped, %" PRIu64 " rejected", pl.c.records_in,
	    pl.c.records_spooled, pl.c.dropped_records, pl.c.rejected_records);
	spool_close(&pl.spool);
	intake_free(&pl.intake);
	status_close(&pl.status);
	fwdsup_free(&fwd);
	pl.fwd = NULL;
	conf_free(pl.conf);
}

int
main(int argc, char *argv[])
{
	int debug = 0, fg = 0, check = 0;
	char err[1024];
	const char *env;

	/* The one variable read, before the environment is cleared. */
	if ((env = getenv("AUDISP_DIST_STATEDIR")) != NULL && env[0] != '\0' &&
	    (state_dir = strdup(env)) == NULL)
		state_dir = CONF_DEFAULT_SPOOL;
	sanitize_process();
	parse_args(argc, argv, &debug, &fg, &check);
	log_init("audisp-dist", fg, debug);

	if (check) {
		if ((pl.conf = runconf_load(conf_path, err, sizeof(err))) == NULL)
			fatalx_code(EX_CONFIG, "%s", err);
		runconf_check(pl.conf);
		printf("configuration OK\n");
		return 0;
	}
	start(debug, fg);
	log_info("started: spool %s (id %s), segment %016" PRIx64 ", reading %s",
	    pl.spool.path, pl.spool.id, pl.spool.seq,
	    sock_path ? sock_path : "stdin");
	status_write(&pl.status, &pl);
	last_status = mono_now();
	run();
	shut_down();
	return 0;
}
