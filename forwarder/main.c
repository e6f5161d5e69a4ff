/*
 * audisp-dist-forwarder: ships the spool to every receiver of the sender
 * block.  audisp-dist starts it as root with two descriptors: 3, a
 * socketpair on which it reports each receiver's state and durable
 * position (and hears, each status_interval, the health to pass on to
 * each receiver), and 4, the spool directory opened read-only.  It reads what
 * only root may (the configuration with its passwords, keys and CA files,
 * the spool identity), then becomes the sender block's user for good.
 * It never writes to the spool: audisp-dist deletes what every receiver
 * holds.
 *
 * One thread, one event loop (evloop.c): its signalfd, its timerfd armed
 * for the nearest deadline of any host, an inotify watch on the spool (new
 * data is sent at once, without polling), the socketpair, and one socket
 * per receiver.
 * getaddrinfo_a runs name lookups on glibc's threads and signals the end.
 *
 * With -n it only checks the dates of the hosts' certificates, for
 * audisp-dist -n (check_dates).
 */
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "forwarder.h"
#include "certcheck.h"
#include "compress.h"
#include "cli.h"
#include "evloop.h"
#include "log.h"
#include "sandbox.h"

#define SAFETY_TICK_MS	5000	/* wake at least this often */
#define IPC_BUF		8192

struct fwd_env fwd_env;

static const enum fwd_ev ev_inotify = EV_INOTIFY, ev_plugin = EV_PLUGIN;

static struct conf *conf;
static struct fwd_conn **conns;
static unsigned nconns;
static struct evloop loop = { -1, -1, -1 };
static int inofd = -1;

/* What audisp-dist has not been told yet: the latest of each, per host. */
static struct report {
	const char	*host;
	int		 state_dirty, ack_dirty, series_dirty;
	enum fwd_rstate	 state;
	char		 reason[FWD_REASON_MAX + 1];
	char		 series[FWD_REASON_MAX + 1];
	struct wire_pos	 ack;
} *reports;
static int series_told;		/* audisp-dist believes nothing after it */
static char obuf[IPC_BUF];
static size_t olen;
static int ipc_out;		/* EPOLLOUT is asked for */

/* Only these have long names, as administrators expect of a daemon. */
static const struct option longopts[] = { CLI_LONGOPTS_END };

/* -h: the usage and the options on stdout; a usage error: stderr, 64. */
static void __attribute__((noreturn))
usage(int status)
{
	cli_usage(status, FWD_PROG, "[-dfhnV] -c config",
	    "  -c config      the configuration file\n"
	    "  -d             debug: -f, and log debug messages too\n"
	    "  -f             stay in the foreground, log to stderr\n"
	    "  -h, --help     print this help and exit\n"
	    "  -n             warn of certificates out of their dates, "
	    "for audisp-dist -n\n"
	    "  -V, --version  print the version and exit\n"
	    "audisp-dist starts it and passes it descriptors 3 and 4.\n");
}

int64_t
fwd_now_ms(void)
{
	return (int64_t)ev_now_ms();
}

void
fwd_report_state(unsigned host, enum fwd_rstate st, const char *reason)
{
	struct report *r = &reports[host];

	r->state = st;
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
	r->state_dirty = 1;
}

void
fwd_report_ack(unsigned host, const struct wire_pos *ack)
{
	reports[host].ack = *ack;
	reports[host].ack_dirty = 1;
}

void
fwd_report_series(unsigned host, const char *reason)
{
	struct report *r = &reports[host];

	snprintf(r->series, sizeof(r->series), "%s", reason[0] ? reason :
	    "rolled back");
	r->series_dirty = 1;
	/* An ack not told yet may be of what the receiver does not hold. */
	r->ack_dirty = 0;
}

static void
queue_report(struct report *r, enum fwd_msg_type type)
{
	struct fwd_msg m;
	char line[FWD_LINE_MAX + 1];
	int n;

	memset(&m, 0, sizeof(m));
	m.type = type;
	snprintf(m.host, sizeof(m.host), "%s", r->host);
	m.state = r->state;
	snprintf(m.reason, sizeof(m.reason), "%s", type == FWD_MSG_SERIES ?
	    r->series : r->reason);
	m.ack = r->ack;
	n = fwd_msg_format(line, sizeof(line), &m);
	VERIFY(n > 0);
	if (olen + (size_t)n > sizeof(obuf))
		return;		/* stays dirty: next time */
	memcpy(obuf + olen, line, (size_t)n);
	olen += (size_t)n;
	if (type == FWD_MSG_ACK)
		r->ack_dirty = 0;
	else if (type == FWD_MSG_SERIES) {
		r->series_dirty = 0;
		series_told = 1;
	} else
		r->state_dirty = 0;
}

/* Returns -1 when audisp-dist is gone. */
static int
flush_reports(void)
{
	struct epoll_event ev;
	unsigned i;
	ssize_t n;

	/* One series is enough: audisp-dist restarts us after it. */
	for (i = 0; i < nconns && !series_told; i++)
		if (reports[i].series_dirty)
			queue_report(&reports[i], FWD_MSG_SERIES);
	for (i = 0; i < nconns && !series_told; i++) {
		if (reports[i].ack_dirty)
			queue_report(&reports[i], FWD_MSG_ACK);
		if (reports[i].state_dirty)
			queue_report(&reports[i], FWD_MSG_STATE);
	}
	while (olen > 0) {
		n = write(FWD_IPC_FD, obuf, olen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0)
			return -1;
		memmove(obuf, obuf + n, olen - (size_t)n);
		olen -= (size_t)n;
	}
	if ((olen > 0) != ipc_out) {
		ipc_out = olen > 0;
		ev.events = EPOLLIN | (ipc_out ? EPOLLOUT : 0);
		ev.data.ptr = (void *)(uintptr_t)&ev_plugin;
		if (epoll_ctl(fwd_env.epfd, EPOLL_CTL_MOD, FWD_IPC_FD,
		    &ev) == -1)
			fatal("epoll_ctl");
	}
	return 0;
}

/* The descriptors audisp-dist passes; anything else is a usage error. */
static void
check_descriptors(void)
{
	struct stat st;

	if (fstat(FWD_IPC_FD, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    fstat(FWD_SPOOL_FD, &st) == -1 || !S_ISDIR(st.st_mode))
		fatalx_code(EX_USAGE, "%s is started by audisp-dist, which "
		    "passes it a socket as descriptor %d and the spool "
		    "directory as %d", FWD_PROG, FWD_IPC_FD, FWD_SPOOL_FD);
	close_range(FWD_SPOOL_FD + 1, ~0U, 0);
	fcntl(FWD_IPC_FD, F_SETFD, FD_CLOEXEC);
	fcntl(FWD_SPOOL_FD, F_SETFD, FD_CLOEXEC);
	fcntl(FWD_IPC_FD, F_SETFL, fcntl(FWD_IPC_FD, F_GETFL) | O_NONBLOCK);
	fwd_env.dirfd = FWD_SPOOL_FD;
}

static void
read_spool_id(void)
{
	if (spool_read_id(fwd_env.dirfd, NULL, fwd_env.spool_id) == -1) {
		if (errno == EINVAL)
			fatalx("spool: %s is malformed", SPOOL_ID_FILE);
		fatal("spool: %s", SPOOL_ID_FILE);
	}
}

static void
resolve_source(const char *source)
{
	struct addrinfo hints;
	char host[256], port[8];
	int numeric, rc;

	if (source == NULL)
		return;
	if (fwd_split_hostport(source, host, sizeof(host), port,
	    sizeof(port), NULL, &numeric) == -1)
		fatalx_code(EX_CONFIG, "%s: source \"%s\" is not an address",
		    conf->path, source);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV |
	    (numeric ? AI_NUMERICHOST : 0);
	/* Once, at start: a name here may block for a moment. */
	if ((rc = getaddrinfo(host, port[0] ? port : NULL, &hints,
	    &fwd_env.source)) != 0)
		fatalx_code(EX_CONFIG, "%s: source \"%s\": %s", conf->path,
		    source, gai_strerror(rc));
}

/*
 * For good: the user's own group only, no capabilities, no way back, no
 * way up through an executable; then the sandbox: the spool read-only, the
 * resolver's files, TCP connections to the receivers' ports only, and the
 * system calls of an event loop with TLS sockets.  What needed root is
 * done.
 */
static void
drop_privileges(const char *user, struct fwd_conn **cs, unsigned n)
{
	static const char *const resolver[] = { "/etc/hosts",
	    "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/gai.conf",
	    "/etc/host.conf", "/etc/services" };
	struct sandbox *sb;
	struct passwd *pw;
	uid_t uid;
	gid_t gid;
	unsigned i;
	uint16_t port;
	int anyport = 0;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		fatalx_code(EX_CONFIG, "user %s does not exist; create it "
		    "(make install does) or set user in the sender block",
		    user);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0)
		fatalx_code(EX_CONFIG, "user %s is root; the forwarder needs "
		    "an unprivileged user", user);
	if (geteuid() != 0 && geteuid() != uid)
		log_info("not started as root: staying uid %u",
		    (unsigned)geteuid());
	sb = sandbox_new("forwarder", SB_INET | SB_NETLINK | SB_THREADS |
	    SB_INOTIFY);
	sandbox_fd(sb, FWD_SPOOL_FD, SB_READ);
	for (i = 0; i < sizeof(resolver) / sizeof(resolver[0]); i++)
		sandbox_path(sb, resolver[i], SB_READ);
	for (i = 0; i < n; i++) {
		if ((port = fwd_conn_port(cs[i])) == 0)
			anyport = 1;
		else
			sandbox_connect_port(sb, port);
	}
	if (anyport)
		sandbox_connect_port(sb, 0);
	sandbox_become(uid, gid, user);
	VERIFY(geteuid() != 0 && setuid(0) == -1);
	sandbox_limits(0, 1);
	sandbox_test_hook("/etc/passwd", SB_TEST_EXECVE);
	sandbox_apply(sb);
	log_debug("sandboxed (%s)", sandbox_landlock_status());
}

static void
add_fd(int fd, uint32_t events, const enum fwd_ev *tag)
{
	struct epoll_event ev = { .events = events,
	    .data.ptr = (void *)(uintptr_t)tag };

	if (epoll_ctl(fwd_env.epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		fatal("epoll_ctl");
}

static void
arm_timer(void)
{
	int64_t next = fwd_now_ms() + SAFETY_TICK_MS, d;
	unsigned i;

	for (i = 0; i < nconns; i++)
		if ((d = fwd_conn_deadline(conns[i])) < next)
			next = d;
	if (next <= 0)
		next = 1;
	/* Absolute: a deadline already past fires at once. */
	if (ev_timer_at(&loop, (uint64_t)next) == -1)
		fatal("timerfd_settime");
}

/* Returns 1 when it is time to stop. */
static int
on_signal(void)
{
	unsigned i;
	int sig;

	while ((sig = ev_signal(&loop)) != 0) {
		switch (sig) {
		case SIGTERM:
		case SIGINT:
			log_info("signal %d: stopping", sig);
			return 1;
		case FWD_SIG_RESOLVED:
			for (i = 0; i < nconns; i++)
				fwd_conn_resolved(conns[i]);
			break;
		case SIGHUP:
			/* It cannot read the configuration again as itself. */
			log_info("SIGHUP ignored: audisp-dist restarts the "
			    "forwarder when it reloads");
			break;
		}
	}
	return 0;
}

/* Did anything happen to a segment? */
static int
on_inotify(void)
{
	char buf[4096] __attribute__((aligned(__alignof__(
	    struct inotify_event))));
	const struct inotify_event *e;
	uint64_t seq;
	int open, any = 0;
	ssize_t n;
	char *p;

	while ((n = read(inofd, buf, sizeof(buf))) > 0) {
		for (p = buf; p < buf + n; p += sizeof(*e) + e->len) {
			e = (const struct inotify_event *)(void *)p;
			if ((e->mask & IN_Q_OVERFLOW) || (e->len > 0 &&
			    spool_seg_parse_name(e->name, &seq, &open) == 0))
				any = 1;
		}
	}
	return any;
}

/*
 * One line from audisp-dist: "health HOST TEXT".  It is our parent, and
 * root: a line we cannot read is a bug on its side.
 */
static void
plugin_line(const char *line, size_t len)
{
	struct msg_health m;
	const char *host, *text;
	size_t hl;
	unsigned k;

	if (len < 7 || memcmp(line, "health ", 7) != 0)
		fatalx("audisp-dist sent a malformed line (%zu bytes)", len);
	host = line + 7;
	if ((text = memchr(host, ' ', len - 7)) == NULL)
		fatalx("audisp-dist sent a health line without text");
	hl = (size_t)(text - host);
	text++;
	if (wire_dec_health((const uint8_t *)text, len - 7 - hl - 1,
	    &m) == -1)
		fatalx("audisp-dist sent malformed health text");
	for (k = 0; k < nconns; k++)
		if (strlen(reports[k].host) == hl &&
		    memcmp(reports[k].host, host, hl) == 0)
			fwd_conn_health(conns[k], text, m.len);
}

/* Returns 1 when audisp-dist is gone. */
static int
on_plugin(uint32_t events)
{
	static char buf[2 * FWD_HEALTH_LINE_MAX];
	static size_t blen;
	char *nl;
	size_t used;
	ssize_t n;

	if (events & EPOLLIN) {
		while ((n = read(FWD_IPC_FD, buf + blen,
		    sizeof(buf) - blen)) > 0) {
			blen += (size_t)n;
			used = 0;
			while ((nl = memchr(buf + used, '\n', blen - used)) !=
			    NULL) {
				plugin_line(buf + used,
				    (size_t)(nl - (buf + used)));
				used = (size_t)(nl - buf) + 1;
			}
			memmove(buf, buf + used, blen - used);
			blen -= used;
			if (blen >= FWD_HEALTH_LINE_MAX)
				fatalx("audisp-dist sent a line too long");
		}
		if (n == 0 || (n == -1 && errno != EAGAIN &&
		    errno != EINTR)) {
			log_info("audisp-dist closed our channel: stopping");
			return 1;
		}
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		log_info("audisp-dist closed our channel: stopping");
		return 1;
	}
	return 0;
}

/* The command line: the configuration file's path, and the flags. */
static const char *
parse_args(int argc, char *argv[], int *debug, int *fg, int *check)
{
	const char *path = NULL;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:dfhnV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			*debug = *fg = 1;
			break;
		case 'f':
			*fg = 1;
			break;
		case 'h':
			usage(0);
		case 'n':
			*check = 1;
			break;
		case 'V':
			cli_version(FWD_PROG);
		default:
			usage(EX_USAGE);
		}
	}
	if (path == NULL || optind != argc)
		usage(EX_USAGE);
	return path;
}

/* -n: one certificate file of a host, if it is out of its dates. */
static void
cert_dates(const struct conf_host *h, const char *what, const char *path)
{
	char msg[PATH_MAX + 512];

	if (path != NULL && certcheck_file(path, time(NULL), msg,
	    sizeof(msg)) != 0)
		fprintf(stderr, "audisp-dist: warning: host %s (line %u): "
		    "%s: %s\n", h->name, h->lineno, what, msg);
}

/*
 * -n, run by audisp-dist -n, which does not link libcrypto: each host's
 * certfile and cafile that is expired, not yet valid, expiring soon or
 * unreadable.  A warning in audisp-dist's name, not a refusal: the other
 * hosts still ship, and a receiver pinned by fingerprint takes an
 * expired client certificate.  Nothing else: no spool, no network.
 */
static int
check_dates(const char *path)
{
	const struct conf_host *h;
	char err[1024];

	log_init(FWD_PROG, 1, 0);
	if ((conf = conf_load(path, err, sizeof(err))) == NULL)
		fatalx_code(EX_CONFIG, "%s", err);
	for (h = conf->sender.hosts; h != NULL; h = h->next) {
		cert_dates(h, "certfile", h->certfile);
		cert_dates(h, "cafile", h->cafile);
	}
	conf_free(conf);
	return 0;
}

/*
 * Of what needs root, what comes before the event loop: the configuration
 * with its secrets, the spool identity, the source address.
 */
static void
load_as_root(const char *path)
{
	const struct conf_host *h;
	char err[1024];

	if ((conf = conf_load(path, err, sizeof(err))) == NULL)
		fatalx_code(EX_CONFIG, "%s", err);
	if (!wire_valid_host(conf->name, strlen(conf->name)))
		fatalx_code(EX_CONFIG, "%s: name \"%s\" cannot be sent to "
		    "receivers: 1 to %d letters, digits, '.', '_' or '-'",
		    path, conf->name, WIRE_MAX_HOST);
	fwd_env.name = conf->name;
	fwd_env.timeout = conf->timeout >= 3 ? conf->timeout : 3;
	read_spool_id();
	resolve_source(conf->sender.source);
	for (h = conf->sender.hosts; h != NULL; h = h->next)
		if (h->compression == CONF_COMPRESS_ZSTD &&
		    fwd_env.zscratch == NULL) {
			fwd_env.zcap = compress_bound(FWD_FRAME);
			if ((fwd_env.zscratch = malloc(fwd_env.zcap)) == NULL)
				fatal("buffer");
		}
}

/* The event loop with the signals of *mask, the channel, the spool watch. */
static void
open_events(sigset_t *mask)
{
	/* The signals are blocked once we are the user (see main). */
	sigemptyset(mask);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGHUP);
	sigaddset(mask, FWD_SIG_RESOLVED);
	if (ev_init(&loop, mask) == -1)
		fatal("event loop setup");
	fwd_env.epfd = loop.epfd;
	add_fd(FWD_IPC_FD, EPOLLIN, &ev_plugin);
	/* /proc/self/fd is closed to us once we are no longer root. */
	if ((inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1 ||
	    inotify_add_watch(inofd, "/proc/self/fd/4", IN_MODIFY |
	    IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE |
	    IN_ATTRIB | IN_ONLYDIR) == -1)
		fatal("inotify on the spool");
	add_fd(inofd, EPOLLIN, &ev_inotify);
}

/* One connection and one report slot per host; nconns is counted. */
static void
new_conns(void)
{
	const struct conf_host *h;
	unsigned k;

	if ((conns = calloc(nconns, sizeof(*conns))) == NULL ||
	    (reports = calloc(nconns, sizeof(*reports))) == NULL)
		fatal("hosts");
	for (k = 0, h = conf->sender.hosts; h != NULL; h = h->next, k++) {
		reports[k].host = h->name;
		conns[k] = fwd_conn_new(k, h);	/* loads keys: as root */
	}
}

/* One event that is neither the signal nor the timer: 1 to stop. */
static int
dispatch(const struct epoll_event *ev)
{
	const enum fwd_ev *tag = ev->data.ptr;
	unsigned k;

	switch (*tag) {
	case EV_INOTIFY:
		if (on_inotify())
			for (k = 0; k < nconns; k++)
				fwd_conn_spool_changed(conns[k]);
		break;
	case EV_PLUGIN:
		if (ev->events & EPOLLOUT)
			flush_reports();
		return on_plugin(ev->events);
	case EV_CONN:
		fwd_conn_io(ev->data.ptr, ev->events);
		break;
	}
	return 0;
}

/* Until a stop signal, or audisp-dist closes the channel. */
static void
run(void)
{
	struct epoll_event evs[16];
	int stop = 0, n, i;
	unsigned k;

	for (k = 0; k < nconns; k++)
		fwd_conn_timer(conns[k], fwd_now_ms());
	while (!stop) {
		if (flush_reports() == -1) {
			log_info("audisp-dist closed our channel: stopping");
			break;
		}
		arm_timer();
		if ((n = ev_wait(&loop, evs, 16, -1)) == -1)
			fatal("epoll_wait");
		for (i = 0; i < n; i++) {
			if (ev_is_signal(&loop, &evs[i]))
				stop |= on_signal();
			else if (ev_is_timer(&loop, &evs[i])) {
				if (ev_timer_fired(&loop))
					for (k = 0; k < nconns; k++)
						fwd_conn_timer(conns[k],
						    fwd_now_ms());
			} else
				stop |= dispatch(&evs[i]);
		}
	}
}

int
main(int argc, char *argv[])
{
	const struct conf_host *h;
	int debug = 0, fg = 0, check = 0, i;
	const char *path;
	sigset_t mask;
	unsigned k;

	for (i = 1; i < NSIG; i++)
		if (i != SIGKILL && i != SIGSTOP)
			signal(i, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	umask(077);
	path = parse_args(argc, argv, &debug, &fg, &check);
	if (check)
		return check_dates(path);
	/* First: it closes every descriptor above the two it is given. */
	check_descriptors();
	log_init(FWD_PROG, fg, debug);

	/* Everything that needs root, first. */
	load_as_root(path);
	open_events(&mask);
	for (h = conf->sender.hosts; h != NULL; h = h->next)
		nconns++;
	if (nconns == 0) {
		log_info("no host in the sender block of %s: nothing to ship",
		    path);
		return 0;
	}
	new_conns();
	drop_privileges(conf->sender.user, conns, nconns);

	sigprocmask(SIG_BLOCK, &mask, NULL);
	log_info("started: %u host%s, spool as uid %u, timeout %u s", nconns,
	    nconns == 1 ? "" : "s", (unsigned)geteuid(), fwd_env.timeout);
	run();

	for (k = 0; k < nconns; k++)
		fwd_conn_free(conns[k], 1);
	free(conns);
	free(reports);
	free(fwd_env.zscratch);
	if (fwd_env.source != NULL)
		freeaddrinfo(fwd_env.source);
	conf_free(conf);
	return 0;
}
