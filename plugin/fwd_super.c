/*
 * audisp-dist's side of the forwarder: start it, restart it with backoff
 * when it dies, stop it at exit, read what it reports, and delete the
 * closed segments that every host holds durably.
 *
 * Nothing here may make audisp-dist exit or wait: auditd restarts a
 * plugin only a few times in its life, and intake must keep draining
 * auditd's socket.  So the forwarder's socket is read without blocking,
 * its death is noticed through SIGCHLD, and a forwarder that sends
 * nonsense (it talks to the network) is killed and restarted, not
 * believed.  This file must not use OpenSSL: audisp-dist links it.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"
#include "forwarder.h"
#include "log.h"

#define STOP_WAIT_MS		2000	/* SIGTERM to SIGKILL at exit */
#define RELOAD_WAIT		2	/* seconds, the same on reload */
#define HEALTHY_RUN		60	/* seconds up: the backoff starts over */
#define COLLECT_INTERVAL	10	/* seconds, even without new acks */

extern char **environ;

static time_t
mono_now(void)
{
	return (time_t)(ev_now_ms() / 1000);
}

const char *
fwdsup_run_name(const struct fwdsup *fs)
{
	switch (fs->run) {
	case FWD_NONE:		return "none";
	case FWD_RUNNING:	return "running";
	case FWD_RESTARTING:	return "restarting";
	case FWD_STOPPED:	return "stopped";
	}
	return "unknown";
}

/*
 * The status file's last_error, of host (a receiver's, cleared when it
 * is connected again) or, host "", of the forwarder (cleared when any
 * receiver is).  A new one is written at once: returns 1 if it was.
 */
static int
host_error(struct fwdsup *fs, const char *host, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
host_error(struct fwdsup *fs, const char *host, const char *fmt, ...)
{
	char *e = fs->pl->last_error, old[sizeof(fs->pl->last_error)];
	va_list ap;

	memcpy(old, e, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(e, sizeof(fs->pl->last_error), fmt, ap);
	va_end(ap);
	snprintf(fs->err_text, sizeof(fs->err_text), "%s", e);
	snprintf(fs->err_host, sizeof(fs->err_host), "%s", host);
	if (strcmp(old, e) == 0)
		return 0;	/* the same again: a retry */
	status_write(&fs->pl->status, fs->pl);
	return 1;
}

/* host is connected again: an error it or the forwarder had is over. */
static void
error_over(struct fwdsup *fs, const char *host)
{
	if (fs->err_text[0] == '\0' ||
	    strcmp(fs->pl->last_error, fs->err_text) != 0 ||
	    (fs->err_host[0] != '\0' && strcmp(fs->err_host, host) != 0))
		return;		/* none, or not ours: audisp-dist's */
	log_info("%s: connected; the error \"%s\" is over", host,
	    fs->err_text);
	fs->pl->last_error[0] = '\0';
	fs->err_text[0] = '\0';
}

static void
set_run(struct fwdsup *fs, enum fwd_run r)
{
	if (fs->run == r)
		return;
	fs->run = r;
	status_write(&fs->pl->status, fs->pl);
}

/*
 * The forwarder beside our own executable (its path read before a package
 * upgrade can replace it), else in /usr/sbin: -1 then, errno set.
 */
int
fwdsup_prog_path(char out[FWD_PATH_MAX])
{
	char exe[PATH_MAX], *slash;
	ssize_t n;
	int rc = 0;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) == -1 ||
	    (exe[n] = '\0', slash = strrchr(exe, '/')) == NULL) {
		if (n != -1)
			errno = ENOENT;
		snprintf(exe, sizeof(exe), "/usr/sbin/");
		rc = -1;
	} else
		slash[1] = '\0';
	snprintf(out, FWD_PATH_MAX, "%s%s", exe, FWD_PROG);
	return rc;
}

int
fwdsup_init(struct fwdsup *fs, struct plugin *pl, const char *conf_path,
    int log_flag, int epfd)
{
	char prog[FWD_PATH_MAX];

	memset(fs, 0, sizeof(*fs));
	fs->pl = pl;
	fs->conf_path = conf_path;
	fs->log_flag = log_flag;
	fs->epfd = epfd;
	fs->pid = -1;
	fs->fd = -1;
	fs->delay = FWD_BACKOFF_MIN;
	if (fwdsup_prog_path(prog) == -1)
		log_warn("finding our own executable; looking for the "
		    "forwarder in /usr/sbin");
	if ((fs->prog = strdup(prog)) == NULL)
		return -1;
	return 0;
}

static void
close_channel(struct fwdsup *fs)
{
	if (fs->fd == -1)
		return;
	epoll_ctl(fs->epfd, EPOLL_CTL_DEL, fs->fd, NULL);
	close(fs->fd);
	fs->fd = -1;
	fs->len = 0;
	wbuf_free(&fs->hout);
}

void
fwdsup_health(struct fwdsup *fs)
{
	const struct conf_host *h;
	char text[WIRE_MAX_HEALTH + 1];
	size_t n, hl;
	ssize_t w;

	if (fs->fd == -1 || fs->run != FWD_RUNNING)
		return;
	/* A stream: whole lines only, the rest of a cut one first. */
	if (wbuf_pending(&fs->hout) == 0) {
		fs->hout.off = fs->hout.len = 0;
		for (h = fs->pl->conf->sender.hosts; h != NULL; h = h->next) {
			n = status_health(text, sizeof(text), fs->pl, h->name);
			hl = strlen(h->name);
			if (n == 0 || n > WIRE_MAX_HEALTH ||
			    wbuf_reserve(&fs->hout, 9 + hl + n) == -1)
				continue;
			wbuf_put_bytes(&fs->hout, "health ", 7);
			wbuf_put_bytes(&fs->hout, h->name, hl);
			wbuf_put_u8(&fs->hout, ' ');
			wbuf_put_bytes(&fs->hout, text, n);
			wbuf_put_u8(&fs->hout, '\n');
		}
	}
	while (wbuf_pending(&fs->hout) > 0) {
		w = write(fs->fd, fs->hout.buf + fs->hout.off,
		    wbuf_pending(&fs->hout));
		if (w <= 0)
			break;		/* EAGAIN: the rest next time */
		fs->hout.off += (size_t)w;
	}
}

/* Ask it to go; the SIGCHLD handler reaps it, fwdsup_tick escalates. */
static void
terminate(struct fwdsup *fs, int sig, time_t grace)
{
	close_channel(fs);
	if (fs->pid <= 0)
		return;
	kill(fs->pid, sig);
	if (sig != SIGKILL && fs->kill_at == 0)
		fs->kill_at = mono_now() + grace;
}

int
fwdsup_configure(struct fwdsup *fs, const struct conf *c)
{
	struct fwd_hoststat *v = NULL, *old;
	const struct conf_host *h;
	size_t n = 0, i;
	char *user;

	for (h = c->sender.hosts; h != NULL; h = h->next)
		n++;
	if (n > 0 && (v = calloc(n, sizeof(*v))) == NULL)
		return -1;
	if ((user = strdup(c->sender.user)) == NULL) {
		free(v);
		return -1;
	}
	for (i = 0, h = c->sender.hosts; h != NULL; h = h->next, i++) {
		if ((v[i].name = strdup(h->name)) == NULL) {
			while (i-- > 0)
				free(v[i].name);
			free(v);
			free(user);
			return -1;
		}
		/* What a host acknowledged stays true across a reload. */
		if ((old = fwdsup_host(fs, h->name)) != NULL) {
			v[i].ack = old->ack;
			v[i].acked = old->acked;
			v[i].shipped = old->shipped;
			v[i].last_ack = old->last_ack;
			v[i].errors = old->errors;
		}
	}
	for (i = 0; i < fs->nhosts; i++)
		free(fs->hosts[i].name);
	free(fs->hosts);
	free(fs->user);
	fs->hosts = v;
	fs->nhosts = n;
	fs->user = user;
	fs->warned = 0;
	fs->acks_changed = 1;

	/* It cannot read the configuration again itself: start over. */
	if (fs->pid > 0) {
		log_info("restarting the forwarder for the new configuration");
		fs->restart_now = 1;
		terminate(fs, SIGTERM, RELOAD_WAIT);
	}
	/* The status says so at the next start or change. */
	if (n == 0)
		fs->run = FWD_NONE;
	else if (fs->pid <= 0) {
		fs->restart_at = 0;
		fs->delay = FWD_BACKOFF_MIN;
		fs->run = FWD_RESTARTING;
	}
	return 0;
}

struct fwd_hoststat *
fwdsup_host(struct fwdsup *fs, const char *name)
{
	size_t i;

	for (i = 0; i < fs->nhosts; i++)
		if (strcmp(fs->hosts[i].name, name) == 0)
			return &fs->hosts[i];
	return NULL;
}

static void
schedule_restart(struct fwdsup *fs, time_t now)
{
	fs->restart_at = now + fs->delay;
	fs->delay = fs->delay * 2 > FWD_RESTART_MAX ? FWD_RESTART_MAX :
	    fs->delay * 2;
	set_run(fs, FWD_RESTARTING);
}

/* A descriptor numbered above the two the forwarder is given. */
static int
fd_above_4(int fd)
{
	int n;

	if (fd > FWD_SPOOL_FD)
		return fd;
	n = fcntl(fd, F_DUPFD_CLOEXEC, FWD_SPOOL_FD + 1);
	close(fd);
	return n;
}

/*
 * The forwarder reads the spool as this user's group; without the user it
 * would only exit, so say why here, once, and retry.
 */
static int
share_spool(struct fwdsup *fs)
{
	struct spool *sp = &fs->pl->spool;
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(fs->user)) == NULL) {
		if (!fs->warned++)
			log_warnx("forwarder: user %s does not exist; create it "
			    "(make install does) or set user in the sender "
			    "block; nothing is shipped until then", fs->user);
		host_error(fs, "", "forwarder: user %s does not exist",
		    fs->user);
		return -1;
	}
	if (pw->pw_gid != sp->gid && spool_share(sp, pw->pw_gid) == -1)
		host_error(fs, "", "spool: giving it to group %u: %s",
		    (unsigned)pw->pw_gid, strerror(errno));
	return 0;
}

/* Start the program with ipcfd and dirfd as its descriptors 3 and 4. */
static int
start_program(struct fwdsup *fs, int ipcfd, int dirfd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char *argv[6], flag[3];
	int rc, argc = 0;
	sigset_t set;

	argv[argc++] = fs->prog;
	argv[argc++] = "-c";
	argv[argc++] = (char *)(uintptr_t)fs->conf_path;
	if (fs->log_flag) {
		flag[0] = '-';
		flag[1] = (char)fs->log_flag;
		flag[2] = '\0';
		argv[argc++] = flag;
	}
	argv[argc] = NULL;

	/* auditd's socket stays here; our blocked signals do not go along. */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, ipcfd, FWD_IPC_FD);
	posix_spawn_file_actions_adddup2(&fa, dirfd, FWD_SPOOL_FD);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
	    O_RDONLY, 0);
	posix_spawnattr_init(&attr);
	sigemptyset(&set);
	posix_spawnattr_setsigmask(&attr, &set);
	sigfillset(&set);
	posix_spawnattr_setsigdefault(&attr, &set);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(pid, fs->prog, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		errno = rc;
		if (!fs->warned++)
			log_warn("forwarder: starting %s", fs->prog);
		host_error(fs, "", "forwarder: starting %s: %s", fs->prog,
		    strerror(rc));
		return -1;
	}
	return 0;
}

/* The forwarder runs: listen to it on fd, our end of the socketpair. */
static void
started(struct fwdsup *fs, int fd, pid_t pid, time_t now)
{
	struct epoll_event ev;

	fs->fd = fd;
	fs->pid = pid;
	fs->started = now;
	fs->kill_at = 0;
	fs->len = 0;
	fs->warned = 0;
	fcntl(fs->fd, F_SETFL, fcntl(fs->fd, F_GETFL) | O_NONBLOCK);
	log_info("forwarder started (pid %d)", (int)pid);
	set_run(fs, FWD_RUNNING);
	/* It has something to say at its first WELCOME. */
	fwdsup_health(fs);
	ev.events = EPOLLIN;
	ev.data.fd = fs->fd;
	if (epoll_ctl(fs->epfd, EPOLL_CTL_ADD, fs->fd, &ev) == -1) {
		/* Unheard, it is no use: again later, like any death. */
		log_warn("forwarder: watching its socket");
		fs->fd = -1;
		close(fd);
		terminate(fs, SIGKILL, 0);
	}
}

static int
spawn(struct fwdsup *fs, time_t now)
{
	struct spool *sp = &fs->pl->spool;
	int sv[2] = { -1, -1 }, dirfd = -1;
	pid_t pid;

	if (share_spool(fs) == -1)
		return -1;

	/*
	 * The spool directory under a description of its own: a shared one
	 * would share the readdir offset with ours.
	 */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    (sv[1] = fd_above_4(sv[1])) == -1 ||
	    (dirfd = openat(sp->dirfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (dirfd = fd_above_4(dirfd)) == -1) {
		log_warn("forwarder: setting up its descriptors");
		goto fail;
	}
	if (start_program(fs, sv[1], dirfd, &pid) == -1)
		goto fail;
	close(sv[1]);
	close(dirfd);
	started(fs, sv[0], pid, now);
	return 0;
fail:
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	if (dirfd != -1)
		close(dirfd);
	return -1;
}

/*
 * Durably, before the next forwarder reads it: a new spool id.  Every
 * receiver then takes what the spool holds, from its oldest segment, as
 * a new series, which it keeps in a trail file of its own.
 */
static int
new_series(struct fwdsup *fs)
{
	struct spool *sp = &fs->pl->spool;
	char old[sizeof(sp->id)];
	uint64_t from;

	memcpy(old, sp->id, sizeof(old));
	if (spool_new_id(sp) == -1) {
		log_warn("spool %s: writing a new %s; retrying", sp->path,
		    SPOOL_ID_FILE);
		host_error(fs, "", "spool: writing a new %s: %s",
		    SPOOL_ID_FILE, strerror(errno));
		return -1;
	}
	if (spool_scan(sp) == -1)
		log_warn("spool %s", sp->path);
	from = sp->oldest_seq ? sp->oldest_seq : sp->seq;
	log_warnx("spool %s: receiver %s holds what this spool does not (%s); "
	    "records from segment %016" PRIx64 " on are sent again as a new "
	    "series %s (was %s)", sp->path, fs->series_host,
	    fs->series_reason, from, sp->id, old);
	fs->series_pending = 0;
	fs->series_count++;
	fs->acks_changed = 1;
	if (!host_error(fs, "", "%s: holds what this spool does not (%s); "
	    "new series %s from segment %016" PRIx64, fs->series_host,
	    fs->series_reason, sp->id, from))
		status_write(&fs->pl->status, fs->pl);
	return 0;
}

void
fwdsup_tick(struct fwdsup *fs)
{
	time_t now = mono_now();

	if (fs->series_pending && new_series(fs) == -1)
		return;		/* no forwarder with the old id */

	if (fs->kill_at != 0 && now >= fs->kill_at && fs->pid > 0) {
		log_warnx("forwarder (pid %d) did not stop; killing it",
		    (int)fs->pid);
		kill(fs->pid, SIGKILL);
		fs->kill_at = 0;
	}
	if (fs->nhosts > 0 && fs->pid <= 0 && fs->run != FWD_STOPPED &&
	    now >= fs->restart_at && spawn(fs, now) == -1)
		schedule_restart(fs, now);
	if (fs->acks_changed || now >= fs->collect_at) {
		fs->acks_changed = 0;
		fs->collect_at = now + COLLECT_INTERVAL;
		fwdsup_collect(fs);
	}
}

int
fwdsup_reaped(struct fwdsup *fs, pid_t pid, int status)
{
	time_t now = mono_now();
	size_t i;

	if (pid != fs->pid)
		return 0;
	fs->pid = -1;
	fs->kill_at = 0;
	close_channel(fs);
	for (i = 0; i < fs->nhosts; i++)
		fs->hosts[i].state = RS_UNKNOWN;
	if (fs->run == FWD_STOPPED)
		return 1;
	if (fs->restart_now) {
		/* Stopped on purpose, for a reload: no backoff. */
		fs->restart_now = 0;
		fs->restart_at = now;
		if (fs->nhosts > 0)
			set_run(fs, FWD_RESTARTING);
		return 1;
	}
	if (now - fs->started >= HEALTHY_RUN)
		fs->delay = FWD_BACKOFF_MIN;
	if (WIFSIGNALED(status))
		log_warnx("forwarder (pid %d) killed by signal %d; restarting "
		    "it in %u s", (int)pid, WTERMSIG(status), fs->delay);
	else
		log_warnx("forwarder (pid %d) exited with status %d; "
		    "restarting it in %u s", (int)pid, WEXITSTATUS(status),
		    fs->delay);
	host_error(fs, "", "forwarder %s %d", WIFSIGNALED(status) ?
	    "killed by signal" : "exited with status",
	    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	if (fs->nhosts > 0)
		schedule_restart(fs, now);
	else
		set_run(fs, FWD_NONE);
	return 1;
}

/*
 * A receiver holds, under this spool's id, what the spool does not: the
 * spool was rolled back.  Its acks, and every other host's, are of
 * another history: forget them all, so that nothing is deleted on their
 * word, and hear nothing more from this forwarder (what it sent after
 * may be acks of the old series).  fwdsup_tick writes the new id and
 * starts a new forwarder at once.
 */
static void
series_asked(struct fwdsup *fs, const struct fwd_msg *m)
{
	size_t i;

	for (i = 0; i < fs->nhosts; i++)
		memset(&fs->hosts[i].ack, 0, sizeof(fs->hosts[i].ack));
	fs->series_pending = 1;
	snprintf(fs->series_host, sizeof(fs->series_host), "%s", m->host);
	snprintf(fs->series_reason, sizeof(fs->series_reason), "%s",
	    m->reason);
	fs->restart_now = 1;
	terminate(fs, SIGTERM, RELOAD_WAIT);
}

/* -1 if the line is not a message it may send; 1: stop reading. */
static int
handle_line(struct fwdsup *fs, const char *line, size_t len)
{
	struct fwd_hoststat *h;
	struct fwd_msg m;
	int changed;

	if (fwd_msg_parse(line, len, &m) == -1 ||
	    (h = fwdsup_host(fs, m.host)) == NULL)
		return -1;
	switch (m.type) {
	case FWD_MSG_SERIES:
		series_asked(fs, &m);
		return 1;
	case FWD_MSG_ACK:
		log_debug("forwarder: %s holds segment %016" PRIx64 " up to %"
		    PRIu64 "%s", m.host, m.ack.seq, m.ack.size,
		    m.ack.complete ? " (complete)" : "");
		status_acked(fs->pl, h, &m.ack);
		h->ack = m.ack;
		h->acked = 1;
		fs->acks_changed = 1;
		break;
	case FWD_MSG_STATE:
		changed = h->state != m.state;
		h->state = m.state;
		if (changed && (m.state == RS_BACKOFF || m.state == RS_ERROR))
			h->errors++;
		if ((m.state == RS_BACKOFF || m.state == RS_ERROR) &&
		    m.reason[0] != '\0' &&
		    host_error(fs, m.host, "%s: %s", m.host, m.reason))
			break;		/* written */
		if (m.state == RS_CONNECTED)
			/* welcomed: its ack came just before */
			error_over(fs, m.host);
		if (changed)
			status_write(&fs->pl->status, fs->pl);
		break;
	}
	return 0;
}

void
fwdsup_read(struct fwdsup *fs)
{
	size_t i, start;
	ssize_t n;
	int rounds, rc;

	/* Bounded: intake comes first. */
	for (rounds = 0; rounds < 16 && fs->fd != -1; rounds++) {
		n = read(fs->fd, fs->buf + fs->len, sizeof(fs->buf) - fs->len);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			if (n == -1)
				log_warn("forwarder: reading its socket");
			/* SIGCHLD follows; make sure it does. */
			terminate(fs, SIGTERM, RELOAD_WAIT);
			return;
		}
		fs->len += (size_t)n;
		for (start = 0, i = 0; i < fs->len; i++) {
			if (fs->buf[i] != '\n')
				continue;
			if ((rc = handle_line(fs, fs->buf + start,
			    i - start)) == -1)
				goto bad;
			if (rc == 1)
				return;		/* the channel is closed */
			start = i + 1;
		}
		memmove(fs->buf, fs->buf + start, fs->len - start);
		fs->len -= start;
		if (fs->len >= FWD_LINE_MAX)
			goto bad;
	}
	return;
bad:
	log_warnx("forwarder (pid %d) sent a malformed message; restarting it",
	    (int)fs->pid);
	host_error(fs, "", "forwarder sent a malformed message");
	terminate(fs, SIGKILL, 0);
}

unsigned
fwdsup_collect(struct fwdsup *fs)
{
	struct spool *sp = &fs->pl->spool;
	const struct wire_pos **acks;
	struct spool_seg *segs;
	char name[SEG_NAME_LEN + 8];
	unsigned deleted = 0;
	size_t n, i;

	if (fs->nhosts == 0)
		return 0;
	if ((acks = calloc(fs->nhosts, sizeof(*acks))) == NULL)
		return 0;
	for (i = 0; i < fs->nhosts; i++)
		acks[i] = &fs->hosts[i].ack;
	if (spool_list(sp->dirfd, &segs, &n) == -1) {
		log_warn("spool %s", sp->path);
		free(acks);
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (!fwd_may_delete(acks, fs->nhosts, &segs[i], sp->seq))
			continue;
		spool_seg_name(name, sizeof(name), segs[i].seq, 0);
		if (unlinkat(sp->dirfd, name, 0) == -1) {
			if (errno != ENOENT)
				log_warn("spool %s: deleting shipped segment %s",
				    sp->path, name);
			continue;
		}
		log_debug("deleted segment %s (%" PRIu64 " bytes): every "
		    "receiver holds it", name, segs[i].size);
		deleted++;
	}
	free(segs);
	free(acks);
	if (deleted > 0 && spool_scan(sp) == -1)
		log_warn("spool %s", sp->path);
	return deleted;
}

void
fwdsup_stop(struct fwdsup *fs)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	int status, waited;
	size_t i;

	fs->run = FWD_STOPPED;
	close_channel(fs);
	for (i = 0; i < fs->nhosts; i++)
		fs->hosts[i].state = RS_UNKNOWN;
	if (fs->pid <= 0)
		return;
	kill(fs->pid, SIGTERM);
	for (waited = 0; waited < STOP_WAIT_MS; waited += 20) {
		pid_t r = waitpid(fs->pid, &status, WNOHANG);

		if (r == fs->pid || (r == -1 && errno == ECHILD))
			break;
		nanosleep(&pause, NULL);
	}
	if (waited >= STOP_WAIT_MS) {
		log_warnx("forwarder (pid %d) did not stop in %d ms; killing "
		    "it", (int)fs->pid, STOP_WAIT_MS);
		kill(fs->pid, SIGKILL);
		waitpid(fs->pid, &status, 0);
	}
	fs->pid = -1;
}

void
fwdsup_free(struct fwdsup *fs)
{
	size_t i;

	close_channel(fs);
	for (i = 0; i < fs->nhosts; i++)
		free(fs->hosts[i].name);
	free(fs->hosts);
	free(fs->user);
	free(fs->prog);
	fs->hosts = NULL;
	fs->user = fs->prog = NULL;
	fs->nhosts = 0;
}
