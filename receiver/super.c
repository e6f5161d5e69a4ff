/*
 * The receiver's parent.  It has bound the listening sockets and opened
 * the receiver directory (as root, if started as root); here it starts the
 * network process, becomes the configured user, confines itself, and then
 * only:
 *   - forks a writer for a host when the network process asks (the writer
 *     confines itself to that host's directory) and passes the network
 *     process its end of the writer's channel;
 *   - passes SIGTERM and SIGHUP on (re-reading the configuration first, so
 *     that new hosts get writers for the right directories);
 *   - tells systemd it is ready, and pings the watchdog only while the
 *     network process answers its own pings;
 *   - reaps, and exits once the network process and every writer are gone.
 * With trail_group set, it and the writers keep that group (see become).
 * It never reads a byte from the network.
 */
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "auditdistd.h"
#include "log.h"
#include "sandbox.h"

#define STOP_WAIT_MS	30000	/* writers syncing after the network stops */

struct wproc {
	pid_t		 pid;
	char		 host[WIRE_MAX_HOST + 1];
};

static struct super_args *sa;
static pid_t net_pid = -1;
static int net_status;
static int ctl = -1;
static struct wproc *wprocs;
static size_t nwprocs, capwprocs;
static uint64_t watchdog_usec;
static struct sandbox_bpf *writer_bpf;
static int pong_seen = 1;

static const struct conf_host *
find_host(const char *name)
{
	const struct conf_host *ch;

	for (ch = sa->conf->receiver.hosts; ch != NULL; ch = ch->next)
		if (strcmp(ch->name, name) == 0)
			return ch;
	return NULL;
}

static int
send_ctl(enum ctl_type type, const char *host, int fd)
{
	return ctl_send(ctl, type, host, fd, ctl_to_net);
}

/* The child's descriptors: its channel as 3, the receiver directory 4. */
static void __attribute__((noreturn))
writer_child(int chan, const char *host, const char *directory)
{
	struct writer_args wa;
	sigset_t none;
	int c, r;

	log_close();	/* its socket may be 3 or 4, taken below */
	if ((c = fcntl(chan, F_DUPFD, 10)) == -1 ||
	    (r = fcntl(sa->recvfd, F_DUPFD, 10)) == -1 ||
	    dup2(c, 3) == -1 || dup2(r, 4) == -1)
		_exit(EX_OSERR);
	if (close_range(5, ~0U, 0) == -1)
		_exit(EX_OSERR);
	log_reopen();
	sandbox_parent_death();
	signal(SIGTERM, SIG_IGN);	/* it stops when its channel closes */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	memset(&wa, 0, sizeof(wa));
	wa.host = host;
	wa.directory = directory;
	wa.recvfd = 4;
	wa.recvdir = sa->recvdir;
	trail_limits_from(sa->conf, &wa.lim);
	wa.group = sa->tgid;
	wa.bpf = writer_bpf;
	writer_main(3, &wa);
}

/*
 * A configured host's directory, or an enrolled one's under the receiver
 * directory: a name the network process checked, checked again here, so
 * that it cannot reach another host's trail.
 */
static int
host_directory(const char *host, char *dir, size_t len)
{
	const struct conf_host *ch;

	if ((ch = find_host(host)) != NULL) {
		snprintf(dir, len, "%s", ch->directory);
		return 0;
	}
	if (!sa->conf->receiver.enrol || enrol_taken(sa->conf, host) != NULL)
		return -1;
	return enrol_directory(sa->conf, host, dir, len);
}

static void
spawn_writer(const char *host)
{
	char dir[PATH_MAX];
	int sv[2];
	pid_t pid;

	if (host_directory(host, dir, sizeof(dir)) == -1) {
		(void)send_ctl(CTL_NOWRITER, host, -1);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("host %s: writer channel", host);
		(void)send_ctl(CTL_NOWRITER, host, -1);
		return;
	}
	/*
	 * _Fork: without the C library's fork handlers, which reset its
	 * locks and the loader's in the child and so give every writer
	 * private copies of those pages.  This process has one thread and
	 * holds none of them here.
	 */
	if ((pid = _Fork()) == -1) {
		log_warn("host %s: starting its writer", host);
		close(sv[0]);
		close(sv[1]);
		(void)send_ctl(CTL_NOWRITER, host, -1);
		return;
	}
	if (pid == 0) {
		close(sv[0]);
		close(ctl);
		writer_child(sv[1], host, dir);
	}
	close(sv[1]);
	if (nwprocs == capwprocs) {
		size_t ncap = capwprocs ? capwprocs * 2 : 16;
		struct wproc *nw = reallocarray(wprocs, ncap, sizeof(*nw));

		if (nw == NULL)
			fatal("writers");
		wprocs = nw;
		capwprocs = ncap;
	}
	wprocs[nwprocs].pid = pid;
	memcpy(wprocs[nwprocs].host, host, strnlen(host, WIRE_MAX_HOST));
	wprocs[nwprocs].host[strnlen(host, WIRE_MAX_HOST)] = '\0';
	nwprocs++;
	log_debug("host %s: writer started (pid %d)", host, (int)pid);
	if (send_ctl(CTL_WRITER, host, sv[0]) == -1)
		log_warn("host %s: handing its writer over", host);
	close(sv[0]);
}

static void
on_ctl(void)
{
	struct ctl_msg m;
	int fd;

	while (ctl_recv(ctl, ctl_to_parent, &m, &fd, "network process") ==
	    1) {
		if (fd != -1)
			fatalx("network process: a descriptor with message %u",
			    m.type);
		switch (m.type) {
		case CTL_WRITER:
			spawn_writer(m.host);
			break;
		case CTL_READY:
			sd_notify(0, "READY=1");
			break;
		case CTL_PING:
			pong_seen = 1;
			break;
		}
	}
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
	size_t i;
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
		for (i = 0; i < nwprocs; i++)
			if (wprocs[i].pid == pid)
				break;
		if (i == nwprocs)
			continue;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			log_warnx("host %s: trail writer (pid %d) %s",
			    wprocs[i].host, (int)pid, how);
		wprocs[i] = wprocs[--nwprocs];
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
	    SB_SIGNAL);
	sandbox_fd(sb, sa->recvfd, SB_READ | SB_WRITE);
	sandbox_path_dir(sb, sa->conf_path, SB_READ);
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
become(const struct super_args *a)
{
	gid_t groups[2] = { a->gid, a->tgid };

	if (geteuid() == 0 && a->tgid != (gid_t)-1 &&
	    (setgroups(2, groups) == -1 ||
	    setresgid(a->gid, a->gid, a->gid) == -1 ||
	    setresuid(a->uid, a->uid, a->uid) == -1))
		fatal("becoming user %s with group %s", a->user, a->tgroup);
	sandbox_become(a->uid, a->gid, a->user);
}

int
super_run(struct super_args *a)
{
	struct epoll_event ev, evs[8];
	struct itimerspec its;
	sigset_t mask;
	uint64_t deadline = 0, x;
	int sv[2], sigfd, tfd, ep, n, i, stopping = 0;
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
		a->net(sv[1]);
		_exit(0);
	}
	close(sv[1]);
	ctl = sv[0];
	/* The sockets and the passwords are the network process's alone. */
	a->forget();
	conf_forget_secrets(a->conf);
	become(a);
	sandbox_limits(0, 1);

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1 ||
	    (tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1)
		fatal("event setup");
	ev.events = EPOLLIN;
	ev.data.fd = sigfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sigfd, &ev) == -1)
		fatal("epoll");
	ev.data.fd = ctl;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, ctl, &ev) == -1)
		fatal("epoll");
	ev.data.fd = tfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) == -1)
		fatal("epoll");
	if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0) {
		memset(&its, 0, sizeof(its));
		its.it_interval.tv_sec = (time_t)(watchdog_usec / 2000000);
		its.it_interval.tv_nsec = (long)(watchdog_usec / 2 % 1000000) *
		    1000;
		its.it_value = its.it_interval;
		if (timerfd_settime(tfd, 0, &its, NULL) == -1)
			fatal("timerfd");
	}
	writer_bpf = sandbox_bpf_new("writer", SB_FILES);
	confine();

	for (;;) {
		if (net_pid == -1 && (nwprocs == 0 || (deadline != 0 &&
		    now_ms() >= deadline)))
			break;
		n = epoll_wait(ep, evs, 8, net_pid == -1 ? 200 : -1);
		if (n == -1 && errno != EINTR)
			fatal("epoll_wait");
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == ctl) {
				if (evs[i].events & EPOLLHUP) {
					epoll_ctl(ep, EPOLL_CTL_DEL, ctl, NULL);
					continue;
				}
				on_ctl();
			} else if (evs[i].data.fd == tfd) {
				if (read(tfd, &x, sizeof(x)) <= 0)
					continue;
				if (pong_seen)
					sd_notify(0, "WATCHDOG=1");
				pong_seen = 0;
				(void)send_ctl(CTL_PING, "", -1);
			} else if (evs[i].data.fd == sigfd) {
				struct signalfd_siginfo si;

				while (read(sigfd, &si, sizeof(si)) ==
				    sizeof(si)) {
					if (si.ssi_signo == SIGCHLD)
						continue;
					if (si.ssi_signo == SIGHUP) {
						sd_notify(0, "RELOADING=1");
						reload();
						sd_notify(0, "READY=1");
					} else {
						stopping = 1;
						sd_notify(0, "STOPPING=1");
					}
					if (net_pid != -1)
						kill(net_pid, (int)si.ssi_signo);
				}
			}
		}
		reap(stopping);
		if (net_pid == -1 && deadline == 0)
			deadline = now_ms() + STOP_WAIT_MS;
	}
	if (nwprocs > 0)
		log_warnx("%zu trail writer%s still running after %d s",
		    nwprocs, nwprocs == 1 ? "" : "s", STOP_WAIT_MS / 1000);
	if (WIFEXITED(net_status))
		return WEXITSTATUS(net_status) != 0 ? WEXITSTATUS(net_status) :
		    stopping ? 0 : EX_SOFTWARE;
	describe(net_status, how, sizeof(how));
	return EX_SOFTWARE;
}
