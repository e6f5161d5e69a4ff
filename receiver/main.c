/*
 * auditdistd: the receiver.  main() does what needs the privileges it was
 * started with (the configuration, the listening sockets, the receiver
 * directory), then becomes the parent: it starts the network process
 * (net.c), becomes the configured user, confines itself, and then only:
 *   - forks a writer for each batch of hosts the network process asks
 *     for (pool.c; the writer confines itself to those hosts'
 *     directories) and passes the network process its end of the
 *     writer's channel;
 *   - passes SIGTERM and SIGHUP on (re-reading the configuration first, so
 *     that new hosts get writers for the right directories);
 *   - tells systemd it is ready, and pings the watchdog only while the
 *     network process answers its own pings;
 *   - reaps, and exits once the network process and every writer are gone.
 * With trail_group set, it and the writers keep that group (see become).
 * It never reads a byte from the network.
 */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "auditdistd.h"
#include "certcheck.h"
#include "cli.h"
#include "dircheck.h"
#include "log.h"
#include "reader.h"
#include "sandbox.h"
#include "tlsio.h"

#define DEFAULT_PIDFILE	"/run/auditdistd.pid"
#define STOP_WAIT_MS	30000	/* writers syncing after the network stops */

static const char *conf_path = CONF_RECV_DEFAULT_PATH;
static char *pidfile;

#define PROG	"auditdistd"

/* Only these have long names, as administrators expect of a daemon. */
static const struct option longopts[] = {
	{ "list",	no_argument,	NULL,	'l' },
	CLI_LONGOPTS_END
};

/* -h: the usage and the options on stdout; a usage error: stderr, 64. */
static void __attribute__((noreturn))
usage(int status)
{
	cli_usage(status, PROG, "[-dfhlnRV] [-c config | config]",
	    "  -c config      the configuration file"
	    " (" CONF_RECV_DEFAULT_PATH ")\n"
	    "  -d             debug: -f, and log debug messages too\n"
	    "  -f             log to stderr, not syslog\n"
	    "  -h, --help     print this help and exit\n"
	    "  -l, --list     print the hosts' status, worst first\n"
	    "  -n             check the configuration and exit\n"
	    "  -R             read the publish block's stream into"
	    " its read_into\n"
	    "  -V, --version  print the version and exit\n");
}

static struct conf *
load_conf(const char *path, int check, int reading)
{
	struct conf *c;
	char err[1024];
	int code = EX_CONFIG;

	if ((c = conf_load(path, err, sizeof(err))) == NULL)
		goto bad;
	if (!c->receiver.present) {
		snprintf(err, sizeof(err), "%s: no \"receiver\" block", path);
		goto bad;
	}
	if (reading && (!c->receiver.publish.present ||
	    c->receiver.publish.read_into == NULL)) {
		snprintf(err, sizeof(err), "%s: -R reads the stream of the "
		    "publish block into its \"read_into\" directory; there "
		    "is none", path);
		goto bad;
	}
	if (!reading && (c->receiver.certfile == NULL ||
	    c->receiver.keyfile == NULL)) {
		snprintf(err, sizeof(err), "%s: the receiver block needs "
		    "\"certfile\" and \"keyfile\"", path);
		goto bad;
	}
	return c;
bad:
	conf_free(c);
	if (check) {
		fprintf(stderr, "auditdistd: %s\n", err);
		exit(code);
	}
	fatalx_code(code, "%s", err);
}

static void
write_pidfile(void)
{
	char buf[32];
	int fd, n;

	if (pidfile == NULL)
		return;
	if ((fd = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1)
		fatalx_code(EX_CANTCREAT, "%s: %s", pidfile, strerror(errno));
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n)
		fatalx_code(EX_CANTCREAT, "%s: %s", pidfile, strerror(errno));
	close(fd);
}

/* Only our own: another instance may have written the file since. */
static void
remove_pidfile(void)
{
	char buf[32], want[32];
	ssize_t n;
	int fd;

	if (pidfile == NULL ||
	    (fd = open(pidfile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	if (n > 0 && (buf[n] = '\0', strcmp(buf, want) == 0))
		unlink(pidfile);
}

/*
 * The receiver directory, made ours: when started as root, a directory
 * root owns (or one just created) is given to the user the writers run
 * as, since they create the host directories in it.
 */
static void
open_receiver_dir(struct parent_args *a)
{
	struct stat st;
	char err[1024];
	int fd;

	if (geteuid() == 0 && a->uid != 0 && mkdir(a->recvdir, 0750) == 0 &&
	    chown(a->recvdir, a->uid, a->gid) == -1)
		fatalx_code(EX_CANTCREAT, "receiver directory %s: %s",
		    a->recvdir, strerror(errno));
	if (geteuid() == 0 && a->uid != 0 && lstat(a->recvdir, &st) == 0 &&
	    S_ISDIR(st.st_mode) && st.st_uid == 0) {
		if (chown(a->recvdir, a->uid, a->gid) == -1)
			fatalx_code(EX_CANTCREAT, "receiver directory %s: %s",
			    a->recvdir, strerror(errno));
		log_info("receiver directory %s now belongs to user %s",
		    a->recvdir, a->user);
	}
	/* Checked as the user the writers run as. */
	if (geteuid() == 0 && a->uid != 0 &&
	    (setegid(a->gid) == -1 || seteuid(a->uid) == -1))
		fatal("checking the receiver directory as %s", a->user);
	fd = store_open_dir(-1, NULL, a->recvdir, err, sizeof(err));
	if (geteuid() != getuid() && (seteuid(0) == -1 || setegid(0) == -1))
		fatal("seteuid");
	if (fd == -1)
		fatalx_code(EX_CANTCREAT, "receiver directory %s", err);
	/* trail_group: the group may pass through to the host directories. */
	store_set_group(a->tgid);
	if (store_group(fd) == -1)
		fatalx_code(EX_CANTCREAT, "receiver directory %s: giving it to "
		    "group %s: %s", a->recvdir, a->tgroup, strerror(errno));
	/* One receiver per directory: two would interleave trails. */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1)
		fatalx_code(EX_TEMPFAIL, "%s: %s", a->recvdir,
		    errno == EWOULDBLOCK ? "in use by another auditdistd" :
		    strerror(errno));
	a->recvfd = fd;
}

/* Can uid with the one group gid read path?  Asked of the kernel by a
 * child that becomes them as the network process does. */
static int
readable_by(const char *path, uid_t uid, gid_t gid)
{
	pid_t pid;
	int status;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) ==
		    -1 || setresuid(uid, uid, uid) == -1)
			_exit(2);
		_exit(access(path, R_OK) == 0 ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Started as root (or -n as root): warn of what a reload cannot read. */
static void
check_reloadable(const struct conf *c, uid_t uid, gid_t gid)
{
	const char *paths[3];
	size_t i;

	net_name_group(gid);
	paths[0] = conf_path;
	paths[1] = c->receiver.certfile;
	paths[2] = c->receiver.keyfile;
	for (i = 0; i < 3; i++)
		if (readable_by(paths[i], uid, gid) == 0)
			net_unreadable(paths[i]);
}

/*
 * -n: what open_receiver_dir() would refuse, found without creating or
 * changing anything.  The directory may be missing if it can be made:
 * the start creates it (and, not as root, any missing parents the user
 * may create).
 */
static int
recvdir_check(const char *dir, uid_t uid, char *err, size_t errlen)
{
	struct stat st;
	int rc;

	if ((rc = dircheck(dir, &st, err, errlen)) != 1)
		return rc;
	if (st.st_uid != 0 && st.st_uid != uid)
		snprintf(err, errlen, "%s: owned by uid %u, not by the "
		    "receiver's user (uid %u)", dir, (unsigned)st.st_uid,
		    (unsigned)uid);
	else if ((st.st_mode & 022) != 0)
		snprintf(err, errlen, "%s: writable by group or others (mode "
		    "%04o); chmod go-w it", dir, (unsigned)(st.st_mode & 07777));
	else
		return 0;
	return -1;
}

/*
 * Its own certificate expired, not yet valid or expiring soon: senders
 * that pin it still connect, senders with a cafile will not; either way
 * it wants renewing.  A warning: -n prints it, a start logs it.
 */
static void
cert_dates(const struct conf *c, int check)
{
	char msg[PATH_MAX + 512];

	/* Unreadable: tlsio_server_ctx() says so, and that is fatal. */
	if (certcheck_file(c->receiver.certfile, time(NULL), msg,
	    sizeof(msg)) != 1)
		return;
	if (check)
		fprintf(stderr, "auditdistd: warning: %s; renew it (senders "
		    "that pin its fingerprint then need the new one)\n", msg);
	else
		log_warnx("warning: %s; renew it (senders that pin its "
		    "fingerprint then need the new one)", msg);
}

/*
 * trail_group: its gid, or (gid_t)-1 when not set.  As root, the group
 * must exist (the parent keeps it when it becomes the user); as the user,
 * this process must be a member already, since only a member may give
 * files to a group.  -1 and err (how to fix it) otherwise.
 */
static int
trail_group_check(const struct conf *c, gid_t *gid, char *err, size_t errlen)
{
	const char *name = c->receiver.trail_group;
	struct group *gr;
	gid_t *list = NULL;
	int n, i, member = 0;

	*gid = (gid_t)-1;
	if (name == NULL)
		return 0;
	if ((gr = getgrnam(name)) == NULL) {
		snprintf(err, errlen, "%s:%u: trail_group \"%s\": no such "
		    "group; create it (groupadd %s) or name another", c->path,
		    c->receiver.trail_group_line, name, name);
		return -1;
	}
	*gid = gr->gr_gid;
	if (geteuid() == 0 || getegid() == *gid)
		return 0;
	if ((n = getgroups(0, NULL)) > 0 &&
	    (list = calloc((size_t)n, sizeof(*list))) != NULL &&
	    (n = getgroups(n, list)) > 0)
		for (i = 0; i < n; i++)
			member |= list[i] == *gid;
	free(list);
	if (member)
		return 0;
	snprintf(err, errlen, "%s:%u: trail_group \"%s\": this process (uid "
	    "%u) is not in group %s, so it cannot give the trails to it; start "
	    "auditdistd as root, or give it the group: under systemd, "
	    "\"systemctl edit auditdistd\" and add the lines \"[Service]\", "
	    "\"SupplementaryGroups=%s\" and \"PrivateUsers=no\"", c->path,
	    c->receiver.trail_group_line, name, (unsigned)geteuid(), name,
	    name);
	return -1;
}

/* -n beyond the file itself: the user, the receiver directory, the
 * trail group, certificate dates. */
static void
check_startup(const struct conf *c)
{
	const char *user = c->receiver.user;
	struct passwd *pw;
	char err[PATH_MAX + 600];
	uid_t uid = geteuid();
	gid_t gid;

	if (uid == 0) {
		if ((pw = getpwnam(user)) == NULL) {
			fprintf(stderr, "auditdistd: user %s does not exist; "
			    "create it or set user in the receiver block\n",
			    user);
			exit(EX_CONFIG);
		}
		uid = pw->pw_uid;
		check_reloadable(c, uid, pw->pw_gid);
	}
	if (recvdir_check(c->receiver.directory, uid, err, sizeof(err)) ==
	    -1) {
		fprintf(stderr, "auditdistd: receiver directory %s\n", err);
		exit(EX_CANTCREAT);
	}
	if (trail_group_check(c, &gid, err, sizeof(err)) == -1) {
		fprintf(stderr, "auditdistd: %s\n", err);
		exit(EX_CONFIG);
	}
	cert_dates(c, 1);
	if (capacity_plan(c, c->receiver.nlisten, err, sizeof(err)) == 0) {
		fprintf(stderr, "auditdistd: %s\n", err);
		exit(EX_CONFIG);
	}
}

/* --- the parent ---------------------------------------------------------- */

static struct parent_args *sa;
static pid_t net_pid = -1;
static int net_status;
static int ctl = -1;
static uint64_t watchdog_usec;
static int pong_seen = 1;
/* The auditor (auditor.c): restarted after AUDITOR_RETRY_MS if it dies. */
#define AUDITOR_RETRY_MS	10000
static pid_t aud_pid = -1;
static int aud_chan = -1;
static uint64_t aud_retry;	/* ms; 0: none due */
/* The publisher (publish.c), when configured: the same way. */
static pid_t pub_pid = -1;
static int pub_chan = -1;
static uint64_t pub_retry;
/* The committer (committer.c): the same way; it never speaks. */
static pid_t cmt_pid = -1;
static int cmt_chan = -1;
static uint64_t cmt_retry;

static int
send_ctl(enum ctl_type type)
{
	return ctl_send_host(ctl, type, "", ctl_to_net);
}

static void
on_ctl(void)
{
	struct ctl_msg m;
	int fd;

	while (ctl_recv(ctl, ctl_to_parent, &m, &fd, "network process") ==
	    1) {
		if (fd != -1)
			fatalx("from the network process: a descriptor with message %u",
			    m.type);
		switch (m.type) {
		case CTL_WRITER:
			pool_ask(m.host, ev_now_ms());
			break;
		case CTL_READY:
			sd_notify(0, "READY=1");
			break;
		case CTL_PING:
			pong_seen = 1;
			break;
		case CTL_HEALTH:
			rstatus_update(&m);
			break;
		}
	}
}

/*
 * A child's messages, each to take(); then, if its channel closed (reap()
 * says how it ended) or it sent what it must not, it is started again
 * after AUDITOR_RETRY_MS.  The auditor and the publisher parse what
 * senders sent and may have been taken over: such a child is killed, not
 * the receiver stopped.
 */
static void
on_child(struct evloop *ev, const char *what, const struct msg_type *types,
    int (*take)(const struct ctl_msg *), pid_t pid, int *chan,
    uint64_t *retry)
{
	struct ctl_msg m;
	int fd, rc;

	while ((rc = ctl_recv_child(*chan, types, &m, &fd, what)) == 1) {
		if (fd != -1) {
			log_warnx("%s: a descriptor with message %u", what,
			    m.type);
			close(fd);
			rc = -2;
			break;
		}
		if (take(&m) == -1) {
			rc = -2;
			break;
		}
	}
	if (rc >= 0)
		return;
	if (rc == -2 && pid != -1) {
		log_warnx("%s: sent a malformed message; killed", what);
		(void)kill(pid, SIGKILL);
	}
	(void)ev_del(ev, *chan);
	close(*chan);
	*chan = -1;
	*retry = ev_now_ms() + AUDITOR_RETRY_MS;
}

static void
start_auditor(struct evloop *ev)
{
	aud_retry = 0;
	if ((aud_pid = auditor_start(sa, &aud_chan)) == -1)
		return;
	if (ev_add(ev, aud_chan, EPOLLIN, &aud_chan) == -1)
		fatal("epoll");
}

static void
start_publisher(struct evloop *ev)
{
	pub_retry = 0;
	if ((pub_pid = publish_start(sa, &pub_chan)) == -1)
		return;
	if (ev_add(ev, pub_chan, EPOLLIN, &pub_chan) == -1)
		fatal("epoll");
}

static void
start_committer(struct evloop *ev)
{
	cmt_retry = 0;
	if ((cmt_pid = committer_start(sa, &cmt_chan)) == -1) {
		cmt_retry = ev_now_ms() + AUDITOR_RETRY_MS;
		return;
	}
	if (ev_add(ev, cmt_chan, EPOLLIN, &cmt_chan) == -1)
		fatal("epoll");
	pool_committer(cmt_chan);
}

/*
 * Its channel closed: it died (reap() says how).  Writers started until
 * the next one sync by themselves, as do those whose channel it held.
 */
static void
lost_committer(struct evloop *ev)
{
	pool_committer(-1);
	(void)ev_del(ev, cmt_chan);
	close(cmt_chan);
	cmt_chan = -1;
	if (cmt_pid != -1)
		(void)kill(cmt_pid, SIGKILL);	/* it spoke: it must not */
	cmt_retry = ev_now_ms() + AUDITOR_RETRY_MS;
}

static void
describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "stopped");
}

static void
reap(int stopping)
{
	char how[96];
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		describe(st, how, sizeof(how));
		if (pid == net_pid) {
			net_pid = -1;
			net_status = st;
			if (!stopping || !WIFEXITED(st) ||
			    WEXITSTATUS(st) != 0)
				log_warnx("network process %s", how);
			continue;
		}
		if (pid == aud_pid) {
			aud_pid = -1;
			if (!stopping)
				log_warnx("auditor (serial gaps) %s; started "
				    "again in %d s", how,
				    AUDITOR_RETRY_MS / 1000);
			continue;
		}
		if (pid == cmt_pid) {
			cmt_pid = -1;
			if (!stopping)
				log_warnx("committer %s; started again in %d "
				    "s, each writer syncing by itself until "
				    "then", how, AUDITOR_RETRY_MS / 1000);
			continue;
		}
		if (pid == pub_pid) {
			pub_pid = -1;
			if (!stopping)
				log_warnx("publisher (NATS) %s; started again "
				    "in %d s", how, AUDITOR_RETRY_MS / 1000);
			continue;
		}
		(void)pool_reaped(pid, how, !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0);
	}
}

/*
 * trail_group is read at the start only: the group is resolved and joined
 * before the parent confines itself, and it can join no other group.
 */
static void
reload_group(const struct conf *nc)
{
	const char *now = nc->receiver.trail_group;

	if ((now == NULL && sa->tgroup == NULL) ||
	    (now != NULL && sa->tgroup != NULL && strcmp(now, sa->tgroup) == 0))
		return;
	log_warnx("reload: trail_group %s%s%s takes effect at the next start; "
	    "until then trails %s%s", now != NULL ? "\"" : "",
	    now != NULL ? now : "removed", now != NULL ? "\"" : "",
	    sa->tgroup != NULL ? "go to group " : "keep the user's group",
	    sa->tgroup != NULL ? sa->tgroup : "");
}

static void
reload(void)
{
	struct conf *nc;
	char err[1024];

	if ((nc = conf_load(sa->conf_path, err, sizeof(err))) == NULL ||
	    !nc->receiver.present) {
		/* The network process says so too, and keeps its own. */
		log_debug("reload: %s", nc == NULL ? err :
		    "no receiver block");
		conf_free(nc);
		return;
	}
	conf_forget_secrets(nc);
	reload_group(nc);
	conf_free(sa->conf);
	sa->conf = nc;
}

static void
confine(void)
{
	const struct conf_host *ch;
	struct sandbox *sb;
	size_t n;

	/* The network process was started before: signals must reach it. */
	sb = sandbox_new("auditdistd", SB_FILES | SB_SPAWN | SB_NOTIFY |
	    SB_SIGNAL | (sa->conf->receiver.publish.present ? SB_INET : 0));
	/* What the publisher it starts needs (a child cannot widen it). */
	if (sa->conf->receiver.publish.present)
		publish_sandbox(sb, sa->conf);
	sandbox_fd(sb, sa->recvfd, SB_READ | SB_WRITE);
	sandbox_path_dir(sb, sa->conf_path, SB_READ);
	/* Replaced by rename: their directories (rstatus.c). */
	if (sa->conf->receiver.status_file != NULL)
		sandbox_path_dir(sb, sa->conf->receiver.status_file,
		    SB_READ | SB_WRITE);
	if (sa->conf->receiver.metrics_file != NULL)
		sandbox_path_dir(sb, sa->conf->receiver.metrics_file,
		    SB_READ | SB_WRITE);
	/* Host directories outside the receiver directory. */
	n = strlen(sa->recvdir);
	for (ch = sa->conf->receiver.hosts; ch != NULL; ch = ch->next)
		if (ch->directory[0] == '/' &&
		    (strncmp(ch->directory, sa->recvdir, n) != 0 ||
		    ch->directory[n] != '/'))
			sandbox_path(sb, ch->directory, SB_READ | SB_WRITE);
	sandbox_test_hook("/etc/passwd", SB_TEST_PTRACE);
	sandbox_apply(sb);
}

/*
 * The user, keeping trail_group as a supplementary group: only a member
 * may give its files to a group.  Started as the user, it is a member
 * already (main.c checked).
 */
static void
become(const struct parent_args *a)
{
	gid_t groups[2] = { a->gid, a->tgid };

	if (geteuid() == 0 && a->tgid != (gid_t)-1 &&
	    (setgroups(2, groups) == -1 ||
	    setresgid(a->gid, a->gid, a->gid) == -1 ||
	    setresuid(a->uid, a->uid, a->uid) == -1))
		fatal("becoming user %s with group %s", a->user, a->tgroup);
	sandbox_become(a->uid, a->gid, a->user);
}

static int
parent_run(struct parent_args *a)
{
	struct epoll_event evs[8];
	struct evloop ev;
	sigset_t mask;
	uint64_t deadline = 0, ms;
	int sv[2], n, i, sig, stopping = 0, wait;
	char how[96];

	sa = a;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		fatal("socketpair");
	if ((net_pid = fork()) == -1)
		fatal("fork");
	if (net_pid == 0) {
		close(sv[0]);
		close(a->recvfd);
		conf_forget_publish(a->conf);
		net_main(sv[1], a);
	}
	close(sv[1]);
	ctl = sv[0];
	log_procinit("parent");
	/* The sockets and the passwords are the network process's alone. */
	net_forget();
	conf_forget_secrets(a->conf);
	become(a);
	sandbox_limits(0, 1);

	if (ev_init(&ev, &mask) == -1)
		fatal("event setup");
	if (ev_add(&ev, ctl, EPOLLIN, &ctl) == -1)
		fatal("epoll");
	/* The watchdog twice per period, while the network process answers. */
	if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0) {
		ms = watchdog_usec / 2000 > 0 ? watchdog_usec / 2000 : 1;
		if (ev_timer_every(&ev, ms) == -1)
			fatal("timerfd");
	}
	pool_init(a, ctl, sandbox_bpf_new("writer", SB_FILES));
	/* As started: the sandbox allows these files' directories alone. */
	rstatus_init(a->conf);
	confine();
	start_committer(&ev);
	start_auditor(&ev);
	start_publisher(&ev);

	for (;;) {
		if (net_pid == -1 && (pool_writers() == 0 || (deadline != 0 &&
		    ev_now_ms() >= deadline)))
			break;
		if (aud_retry != 0 && aud_pid == -1 && !stopping &&
		    ev_now_ms() >= aud_retry)
			start_auditor(&ev);
		if (pub_retry != 0 && pub_pid == -1 && !stopping &&
		    ev_now_ms() >= pub_retry)
			start_publisher(&ev);
		if (cmt_retry != 0 && cmt_pid == -1 && !stopping &&
		    ev_now_ms() >= cmt_retry)
			start_committer(&ev);
		/* A batch of asks waits at most until it is due. */
		if ((wait = pool_timeout(ev_now_ms())) == -1)
			wait = net_pid == -1 || aud_retry || pub_retry ||
			    cmt_retry ?
			    200 : -1;
		if ((n = ev_wait(&ev, evs, 8, wait)) == -1)
			fatal("epoll_wait");
		for (i = 0; i < n; i++) {
			if (ev_is_timer(&ev, &evs[i])) {
				if (!ev_timer_fired(&ev))
					continue;
				if (pong_seen)
					sd_notify(0, "WATCHDOG=1");
				pong_seen = 0;
				(void)send_ctl(CTL_PING);
			} else if (ev_is_signal(&ev, &evs[i])) {
				while ((sig = ev_signal(&ev)) != 0) {
					if (sig == SIGCHLD)
						continue;
					if (sig == SIGHUP) {
						sd_notify(0, "RELOADING=1");
						reload();
						sd_notify(0, "READY=1");
					} else {
						stopping = 1;
						sd_notify(0, "STOPPING=1");
					}
					if (net_pid != -1)
						kill(net_pid, sig);
				}
			} else if (evs[i].data.ptr == &aud_chan)
				on_child(&ev, "auditor", ctl_from_auditor,
				    rstatus_serial, aud_pid, &aud_chan,
				    &aud_retry);
			else if (evs[i].data.ptr == &cmt_chan)
				lost_committer(&ev);
			else if (evs[i].data.ptr == &pub_chan)
				on_child(&ev, "publisher",
				    ctl_from_publisher, rstatus_publish,
				    pub_pid, &pub_chan, &pub_retry);
			else if (evs[i].events & EPOLLHUP)
				(void)ev_del(&ev, ctl);
			else
				on_ctl();
		}
		pool_run(ev_now_ms());
		reap(stopping);
		if (net_pid == -1 && deadline == 0)
			deadline = ev_now_ms() + STOP_WAIT_MS;
	}
	if (pool_writers() > 0)
		log_warnx("%zu trail writer%s still running after %d s",
		    pool_writers(), pool_writers() == 1 ? "" : "s",
		    STOP_WAIT_MS / 1000);
	if (WIFEXITED(net_status))
		return WEXITSTATUS(net_status) != 0 ? WEXITSTATUS(net_status) :
		    stopping ? 0 : EX_SOFTWARE;
	describe(net_status, how, sizeof(how));
	return EX_SOFTWARE;
}

static struct parent_args sargs;

/* The receiver's user, to become (when root) or to stay. */
static void
run_as(struct parent_args *a, const char *user)
{
	struct passwd *pw;

	a->user = user;
	if (geteuid() != 0) {
		a->uid = geteuid();
		a->gid = getegid();
		return;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		fatalx_code(EX_CONFIG, "user %s does not exist; create it (make "
		    "install does) or set user in the receiver block", user);
	if (pw->pw_uid == 0)
		fatalx_code(EX_CONFIG, "user %s is root; auditdistd needs an "
		    "unprivileged user", user);
	a->uid = pw->pw_uid;
	a->gid = pw->pw_gid;
}

/*
 * -R: the reading mode (reader.c), in the read_into directory, which is
 * made and given to the user as the receiver directory is.  No listening
 * socket, no pidfile, no other process.
 */
static int
start_reader(struct conf *conf, int check)
{
	const char *dir = conf->receiver.publish.read_into;
	char err[PATH_MAX + 600];
	struct passwd *pw = NULL;

	if (publish_prepare(conf, err, sizeof(err)) == -1) {
		if (check) {
			fprintf(stderr, "auditdistd: %s\n", err);
			return EX_CONFIG;
		}
		fatalx_code(EX_CONFIG, "%s", err);
	}
	if (check) {
		if (geteuid() == 0 &&
		    (pw = getpwnam(conf->receiver.user)) == NULL) {
			fprintf(stderr, "auditdistd: user %s does not exist\n",
			    conf->receiver.user);
			return EX_CONFIG;
		}
		if (recvdir_check(dir, geteuid() == 0 ? pw->pw_uid :
		    geteuid(), err, sizeof(err)) == -1) {
			fprintf(stderr, "auditdistd: read_into %s\n", err);
			return EX_CANTCREAT;
		}
		printf("configuration OK\n");
		return 0;
	}
	sargs.conf_path = conf_path;
	sargs.conf = conf;
	sargs.recvdir = dir;
	sargs.tgid = (gid_t)-1;
	run_as(&sargs, conf->receiver.user);
	open_receiver_dir(&sargs);
	reader_main(&sargs);
}

int
main(int argc, char *argv[])
{
	int ch, debug = 0, fg = 0, check = 0, list = 0, reading = 0, rc;
	char err[PATH_MAX + 600];
	struct conf *conf;
	struct enrol *e = NULL;
	SSL_CTX *ctx;

	while ((ch = getopt_long(argc, argv, "c:dfhlnRV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'd':
			debug = 1;
			fg = 1;
			break;
		case 'f':
			fg = 1;
			break;
		case 'l':
			list = 1;
			fg = 1;
			break;
		case 'n':
			check = 1;
			fg = 1;
			break;
		case 'R':
			reading = 1;
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
	log_init("auditdistd", fg, debug);
	umask(027);
	capacity_raise();

	conf = load_conf(conf_path, check || list, reading);
	if (list)
		return rstatus_print(conf, stdout);
	if (reading)
		return start_reader(conf, check);
	net_init(conf, conf_path);
	if (check) {
		if ((ctx = tlsio_server_ctx(conf->receiver.certfile,
		    conf->receiver.keyfile, err, sizeof(err))) == NULL) {
			fprintf(stderr, "auditdistd: %s\n", err);
			return EX_CONFIG;
		}
		SSL_CTX_free(ctx);
		if (conf->receiver.enrol && (e = enrol_new(&conf->receiver,
		    err, sizeof(err))) == NULL) {
			fprintf(stderr, "auditdistd: %s\n", err);
			return EX_CONFIG;
		}
		enrol_free(e);
		if (publish_prepare(conf, err, sizeof(err)) == -1) {
			fprintf(stderr, "auditdistd: %s\n", err);
			return EX_CONFIG;
		}
		check_startup(conf);
		printf("configuration OK\n");
		return 0;
	}
	cert_dates(conf, 0);
	/* As root: the user may not read it. */
	if (publish_prepare(conf, err, sizeof(err)) == -1)
		fatalx_code(EX_CONFIG, "%s", err);
	/* Under systemd (Type=notify) the manager knows our pid. */
	if (conf->pidfile == NULL)
		pidfile = getenv("NOTIFY_SOCKET") ? NULL : DEFAULT_PIDFILE;
	else if (strcmp(conf->pidfile, "none") != 0)
		pidfile = conf->pidfile;

	sargs.conf_path = conf_path;
	sargs.recvdir = conf->receiver.directory;
	run_as(&sargs, conf->receiver.user);
	if (geteuid() == 0)
		check_reloadable(conf, sargs.uid, sargs.gid);
	else
		net_name_group(sargs.gid);
	if (trail_group_check(conf, &sargs.tgid, err, sizeof(err)) == -1)
		fatalx_code(EX_CONFIG, "%s", err);
	sargs.tgroup = conf->receiver.trail_group;
	open_receiver_dir(&sargs);
	net_listen();
	write_pidfile();

	{
		/* The parent keeps a copy without the passwords. */
		struct conf *pc = load_conf(conf_path, 0, 0);

		conf_forget_secrets(pc);
		sargs.conf = pc;
	}
	rc = parent_run(&sargs);

	remove_pidfile();
	conf_free(sargs.conf);
	conf_free(conf);
	close(sargs.recvfd);
	log_info("stopped");
	return rc;
}