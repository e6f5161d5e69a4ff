/*
 * auditdistd: the receiver.  main() does what needs the privileges it was
 * started with (the configuration, the TLS key, the listening sockets,
 * the receiver directory), then super.c forks the network process, whose
 * loop is here: it serves every sender from one epoll loop, signals come
 * through a signalfd and every timer (handshake, idle, keepalive, the
 * delay after a failed authentication) through one timerfd; each host's
 * trail is written by its own writer process (writer.c), reached through
 * wchan.c.
 */
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <malloc.h>
#include <netdb.h>
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
#include "dircheck.h"
#include "log.h"
#include "sandbox.h"
#include "tlsio.h"
#include "version.h"

#define MAX_EVENTS	256		/* a fleet: many ready at once */
#define MAX_LISTEN	64		/* sockets, after name resolution */
#define STOP_LINGER_MS	3000		/* to say ERR_SHUTDOWN and flush */
#define ACCEPT_PAUSE_MS	1000		/* out of descriptors: wait */
#define TRIM_MS		1000		/* heap given back at most this often */
#define DEFAULT_PIDFILE	"/run/auditdistd.pid"

struct listener {
	int		 evtype;	/* EV_LISTEN, first member */
	int		 fd;
	char		 name[80];
};

static struct server srv;
static void	 on_ctl(uint32_t);
static struct listener listeners[MAX_LISTEN];
static size_t nlisteners;
static uint64_t accept_paused_until;
static const char *conf_path = CONF_RECV_DEFAULT_PATH;
static char *pidfile;
/* The receiver user's primary group, named in the advice of unreadable(). */
static char user_group[64] = "auditdist";

#define PROG	"auditdistd"

/* Only these have long names, as administrators expect of a daemon. */
static const struct option longopts[] = {
	{ "help",	no_argument,	NULL,	'h' },
	{ "version",	no_argument,	NULL,	'V' },
	{ NULL,		0,		NULL,	0 }
};

/* -h: the usage and the options on stdout; a usage error: stderr, 64. */
static void __attribute__((noreturn))
usage(int status)
{
	FILE *f = status == 0 ? stdout : stderr;

	fprintf(f, "usage: %s [-dfhnV] [-c config | config]\n", PROG);
	if (status == 0)
		fputs(
		    "  -c config      the configuration file"
		    " (" CONF_RECV_DEFAULT_PATH ")\n"
		    "  -d             debug: -f, and log debug messages too\n"
		    "  -f             log to stderr, not syslog\n"
		    "  -h, --help     print this help and exit\n"
		    "  -n             check the configuration and exit\n"
		    "  -V, --version  print the version and exit\n", f);
	if (fflush(f) == EOF && status == 0)
		exit(EX_IOERR);
	exit(status);
}

static void __attribute__((noreturn))
version(void)
{
	printf("%s %s\n", PROG, AUDITDIST_VERSION);
	exit(fflush(stdout) == EOF ? EX_IOERR : 0);
}

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The timer fires at the earliest deadline anyone asked for. */
void
timer_want(struct server *s, uint64_t at)
{
	struct itimerspec its;

	if (at == UINT64_MAX || (s->timer_armed != 0 && s->timer_armed <= at))
		return;
	memset(&its, 0, sizeof(its));
	if (at == 0)
		at = 1;
	its.it_value.tv_sec = (time_t)(at / 1000);
	its.it_value.tv_nsec = (long)(at % 1000) * 1000000;
	if (timerfd_settime(s->timerfd, TFD_TIMER_ABSTIME, &its, NULL) == -1)
		fatal("timerfd_settime");
	s->timer_armed = at;
}

int
ev_mod(struct server *s, int fd, void *ptr, uint32_t events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = ptr;
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev) == -1) {
		if (errno != ENOENT)
			return -1;
		return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
	}
	return 0;
}

void
ready_add(struct server *s, struct conn *c)
{
	if (c->on_ready || c->state == C_DEAD)
		return;
	c->on_ready = 1;
	c->ready_next = s->ready;
	s->ready = c;
}

static struct conf *
load_conf(const char *path, int check)
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
	if (c->receiver.certfile == NULL || c->receiver.keyfile == NULL) {
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

/* "tls://ADDR:PORT" -> host and port, brackets removed. */
static int
split_listen(const char *spec, char *host, size_t hlen, char *port,
    size_t plen)
{
	const char *p = spec, *end, *colon;

	if (strncmp(p, "tls://", 6) == 0)
		p += 6;
	if (*p == '[') {
		if ((end = strchr(++p, ']')) == NULL)
			return -1;
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strrchr(p, ':');
		end = colon != NULL ? colon : p + strlen(p);
	}
	if ((size_t)(end - p) >= hlen)
		return -1;
	memcpy(host, p, (size_t)(end - p));
	host[end - p] = '\0';
	snprintf(port, plen, "%s", colon != NULL ? colon + 1 :
	    CONF_DEFAULT_PORT);
	return 0;
}

static int
listen_one(const struct addrinfo *ai, int dual, const char *spec)
{
	struct listener *l;
	char host[NI_MAXHOST], port[NI_MAXSERV];
	int fd, on = 1, off = 0;

	if (nlisteners == MAX_LISTEN)
		fatalx_code(EX_CONFIG, "%s: too many addresses", spec);
	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* [::] takes IPv4 too; any other v6 address only itself. */
	if (ai->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, dual ? &off : &on, sizeof(on)) == -1)
		goto fail;
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, SOMAXCONN) == -1)	/* a fleet reconnecting */
		goto fail;
	l = &listeners[nlisteners++];
	l->evtype = EV_LISTEN;
	l->fd = fd;
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), port,
	    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(host, sizeof(host), "?");
	snprintf(l->name, sizeof(l->name), ai->ai_family == AF_INET6 ?
	    "[%s]:%s" : "%s:%s", host, port);
	if (ev_mod(&srv, fd, l, EPOLLIN) == -1)
		fatal("epoll");
	log_debug("listening on %s%s", l->name, dual ? " (and IPv4)" : "");
	return 0;
fail:
	close(fd);
	return -1;
}

static void
listen_all(void)
{
	struct addrinfo hints, *res, *ai;
	char host[256], port[32];
	unsigned i;
	int rc, dual;

	for (i = 0; i < srv.conf->receiver.nlisten; i++) {
		const char *spec = srv.conf->receiver.listen[i];

		if (split_listen(spec, host, sizeof(host), port,
		    sizeof(port)) == -1)
			fatalx_code(EX_CONFIG, "listen \"%s\": bad address",
			    spec);
		dual = strcmp(host, "::") == 0;
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
		if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
			fatalx_code(EX_CONFIG, "listen \"%s\": %s", spec,
			    gai_strerror(rc));
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			if (listen_one(ai, dual, spec) == 0)
				continue;
			/* No IPv6 in this kernel: [::] falls back to IPv4. */
			if (dual && (errno == EAFNOSUPPORT ||
			    errno == EADDRNOTAVAIL)) {
				struct addrinfo *r4;

				hints.ai_family = AF_INET;
				if (getaddrinfo("0.0.0.0", port, &hints,
				    &r4) == 0) {
					rc = listen_one(r4, 0, spec);
					freeaddrinfo(r4);
					if (rc == 0) {
						log_info("no IPv6: listening "
						    "on 0.0.0.0:%s", port);
						continue;
					}
				}
			}
			fatalx_code(EX_OSERR, "listen \"%s\": %s", spec,
			    strerror(errno));
		}
		freeaddrinfo(res);
	}
}

static void
listeners_enable(int on)
{
	size_t i;

	for (i = 0; i < nlisteners; i++)
		if (ev_mod(&srv, listeners[i].fd, &listeners[i],
		    on ? EPOLLIN : 0) == -1)
			log_warn("epoll");
}

static void
listeners_close(void)
{
	size_t i;

	for (i = 0; i < nlisteners; i++)
		close(listeners[i].fd);
	nlisteners = 0;
}

static void
on_accept(struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	for (;;) {
		len = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EINTR ||
			    errno == ECONNABORTED)
				return;
			/* Out of descriptors or memory: do not spin. */
			log_warn("accept on %s; pausing for a second", l->name);
			listeners_enable(0);
			accept_paused_until = now_ms() + ACCEPT_PAUSE_MS;
			timer_want(&srv, accept_paused_until);
			return;
		}
		/* ACKs are small and waited for: Nagle would hold them ~40 ms. */
		if (ss.ss_family != AF_UNIX)
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
		conn_accept(&srv, fd, &ss, len);
	}
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
open_receiver_dir(struct super_args *a)
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

/*
 * The network process, which runs as the receiver's user with only its
 * primary group, reads the configuration, certificate and key again on
 * SIGHUP: say what it cannot read, and the fix.
 */
static void
unreadable(const char *path)
{
	log_warnx("%s is not readable by user %s: SIGHUP cannot reload it; "
	    "chgrp %s %s && chmod 640 %s", path, srv.conf->receiver.user,
	    user_group, path, path);
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

/* Before the sandbox, which keeps /etc/group from the network process. */
static void
name_user_group(gid_t gid)
{
	struct group *gr;

	if ((gr = getgrgid(gid)) != NULL)
		snprintf(user_group, sizeof(user_group), "%s", gr->gr_name);
	else
		snprintf(user_group, sizeof(user_group), "%u", (unsigned)gid);
}

/* Started as root (or -n as root): warn of what a reload cannot read. */
static void
check_reloadable(const struct conf *c, uid_t uid, gid_t gid)
{
	const char *paths[3];
	size_t i;

	name_user_group(gid);
	paths[0] = conf_path;
	paths[1] = c->receiver.certfile;
	paths[2] = c->receiver.keyfile;
	for (i = 0; i < 3; i++)
		if (readable_by(paths[i], uid, gid) == 0)
			unreadable(paths[i]);
}

/* After a failed reload: if path is one we may not read, say the fix. */
static void
reload_hint(const char *path)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) != -1)
		close(fd);
	else if (errno == EACCES)
		unreadable(path);
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

/* Close every writer channel (each writer syncs and exits); the next
 * connection of each host gets a new writer. */
static void
writers_restart(void)
{
	struct rhost *rh;

	for (rh = srv.hosts; rh != NULL; rh = rh->next) {
		if (rh->conn != NULL)
			conn_close(rh->conn, ERR_SHUTDOWN, "receiver "
			    "reloaded; retry");
		wchan_free(rh->w);
		rh->w_asked = 0;
	}
}

/* The fleet CA and CRL again (a renewed CRL); on error the old ones stay. */
static void
reload_enrol(const struct conf *nc, const struct conf *old)
{
	const struct conf_receiver *r = &nc->receiver;
	struct enrol *e = NULL;
	char err[1024];

	if (r->enrol && (e = enrol_new(r, err, sizeof(err))) == NULL) {
		log_warnx("reload: %s; %s", err, srv.enrol != NULL ? "keeping "
		    "the old cafile and crlfile" : "no sender can enrol");
		if (old->receiver.enrol && strcmp(r->cafile,
		    old->receiver.cafile) == 0)
			reload_hint(r->cafile);
		if (old->receiver.enrol && strcmp(r->crlfile,
		    old->receiver.crlfile) == 0)
			reload_hint(r->crlfile);
		return;
	}
	enrol_free(srv.enrol);
	srv.enrol = e;
}

static void
reload(void)
{
	struct conf *nc, *old = srv.conf;
	char err[1024];
	SSL_CTX *ctx;
	unsigned i;
	int same;

	log_info("reloading %s", conf_path);
	if ((nc = conf_load(conf_path, err, sizeof(err))) == NULL ||
	    !nc->receiver.present) {
		log_warnx("reload: %s; keeping the old configuration",
		    nc == NULL ? err : "no receiver block");
		if (nc == NULL)
			reload_hint(conf_path);
		conf_free(nc);
		goto out;
	}
	if (strcmp(nc->receiver.directory, old->receiver.directory) != 0) {
		log_warnx("reload: the receiver directory changed; restart "
		    "auditdistd for that.  Keeping the old configuration");
		conf_free(nc);
		goto out;
	}
	same = nc->receiver.nlisten == old->receiver.nlisten;
	for (i = 0; same && i < nc->receiver.nlisten; i++)
		same = strcmp(nc->receiver.listen[i],
		    old->receiver.listen[i]) == 0;
	if (!same)
		log_warnx("reload: \"listen\" changes take effect at the "
		    "next start");
	/* A renewed certificate is used for the next connections. */
	if (nc->receiver.certfile != NULL && nc->receiver.keyfile != NULL &&
	    (ctx = tlsio_server_ctx(nc->receiver.certfile,
	    nc->receiver.keyfile, err, sizeof(err))) != NULL) {
		SSL_CTX_free(srv.ctx);
		srv.ctx = ctx;
	} else {
		log_warnx("reload: %s; keeping the old certificate",
		    nc->receiver.certfile == NULL ? "no certfile" : err);
		/* Landlock lets us open the old paths only. */
		if (nc->receiver.certfile != NULL &&
		    strcmp(nc->receiver.certfile, old->receiver.certfile) == 0)
			reload_hint(nc->receiver.certfile);
		if (nc->receiver.keyfile != NULL &&
		    strcmp(nc->receiver.keyfile, old->receiver.keyfile) == 0)
			reload_hint(nc->receiver.keyfile);
	}
	reload_enrol(nc, old);
	/* New trail limits: the writers start again with them. */
	if (nc->receiver.trail_size != old->receiver.trail_size ||
	    nc->receiver.trail_keep != old->receiver.trail_keep ||
	    nc->receiver.trail_max_size != old->receiver.trail_max_size)
		writers_restart();
	if ((i = capacity_plan(nc, (unsigned)nlisteners, err, sizeof(err))) ==
	    0)
		log_warnx("reload: %s; connections past the limit are "
		    "refused", err);
	else
		srv.max_conns = i;
	srv.conf = nc;
	if (hosts_load(&srv, nc, err, sizeof(err)) == -1) {
		log_warnx("reload: %s; keeping the old configuration", err);
		srv.conf = old;
		conf_free(nc);
		goto out;
	}
	conf_free(old);
	log_info("configuration reloaded");
out:
	return;
}

static void
on_timer(void)
{
	struct conn *c, *next;
	uint64_t now, next_at = UINT64_MAX, t;
	uint64_t expirations;

	if (read(srv.timerfd, &expirations, sizeof(expirations)) == -1 &&
	    errno != EAGAIN)
		log_warn("timerfd");
	srv.timer_armed = 0;
	now = now_ms();
	if (accept_paused_until != 0) {
		if (now >= accept_paused_until) {
			accept_paused_until = 0;
			if (!srv.stopping)
				listeners_enable(1);
		} else
			next_at = accept_paused_until;
	}
	for (c = srv.conns; c != NULL; c = next) {
		next = c->next;
		conn_timers(c, now);
	}
	for (c = srv.conns; c != NULL; c = c->next)
		if ((t = conn_next_deadline(c)) < next_at)
			next_at = t;
	timer_want(&srv, next_at);
}

/* Returns 1 when a signal asks to stop. */
static int
on_signal(int sigfd)
{
	struct signalfd_siginfo si;
	int stop = 0;

	while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			reload();
			break;
		case NET_SIG_RESOLVED:
			hosts_resolved(&srv);
			break;
		case SIGTERM:
		case SIGINT:
			log_info("stopping on signal %u", si.ssi_signo);
			stop = 1;
			break;
		}
	}
	return stop;
}

static void
begin_stop(void)
{
	struct conn *c, *next;

	srv.stopping = 1;
	listeners_close();
	for (c = srv.conns; c != NULL; c = next) {
		next = c->next;
		conn_close(c, ERR_SHUTDOWN, "receiver stopping; retry later");
	}
}

/*
 * A handshake leaves freed memory scattered over the heap, and a closed
 * connection frees its own: after either, at most once every TRIM_MS,
 * whole free pages go back to the system.  A receiver holding many idle senders then
 * costs what they hold, not what their handshakes once needed.
 */
static void
trim(void)
{
	static uint64_t last;
	uint64_t now;

	if (srv.churn == 0 || (now = now_ms()) - last < TRIM_MS)
		return;
	srv.churn = 0;
	last = now;
	malloc_trim(0);
}

static void
free_dead(void)
{
	struct conn *c;

	while ((c = srv.dead) != NULL) {
		srv.dead = c->next;
		conn_free(c);
	}
}

static void
run_ready(void)
{
	struct conn *list = srv.ready, *c;

	srv.ready = NULL;
	while ((c = list) != NULL) {
		list = c->ready_next;
		c->on_ready = 0;
		c->ready_next = NULL;
		if (c->state != C_DEAD)
			conn_run(c);
	}
}

static void
loop(int sigfd)
{
	struct epoll_event ev[MAX_EVENTS];
	uint64_t stop_deadline = 0;
	int i, n, *type;

	for (;;) {
		if (srv.stopping && (srv.conns == NULL ||
		    now_ms() >= stop_deadline))
			break;
		n = epoll_wait(srv.epfd, ev, MAX_EVENTS, srv.ready ? 0 :
		    srv.stopping ? 100 : srv.churn ? TRIM_MS : -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			type = ev[i].data.ptr;
			switch (*type) {
			case EV_LISTEN:
				if (!srv.stopping)
					on_accept((struct listener *)type);
				break;
			case EV_SIGNAL:
				if (on_signal(sigfd) && !srv.stopping) {
					begin_stop();
					stop_deadline = now_ms() +
					    STOP_LINGER_MS;
				}
				break;
			case EV_TIMER:
				on_timer();
				break;
			case EV_CONN:
				conn_event((struct conn *)type, ev[i].events);
				break;
			case EV_WRITER:
				wchan_event((struct wchan *)type,
				    ev[i].events);
				break;
			case EV_CTL:
				on_ctl(ev[i].events);
				break;
			}
		}
		run_ready();
		free_dead();
		wchan_reap(&srv);
		trim();
	}
	/* Whoever did not take the last message in time. */
	while (srv.conns != NULL)
		conn_drop(srv.conns);
	free_dead();
}

/* --- the control channel to the parent ---------------------------------- */

static void
ctl_tell(enum ctl_type type, const char *host)
{
	if (ctl_send(srv.ctlfd, type, host, -1, ctl_to_parent) == -1)
		log_warn("telling the parent");
}

void
ctl_ask_writer(struct server *s, const char *host)
{
	(void)s;
	ctl_tell(CTL_WRITER, host);
}

static void
on_writer(const char *host, int fd)
{
	struct rhost *rh = hosts_find(&srv, host);

	if (rh == NULL || rh->w != NULL) {
		close(fd);		/* removed, or already has one */
		return;
	}
	rh->w_asked = 0;
	if (fd == -1) {
		if (rh->conn != NULL && rh->conn->state == C_OPENING)
			conn_store_failed(rh->conn, EIO, "no trail writer");
		return;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
	    (rh->w = wchan_new(&srv, rh, fd)) == NULL) {
		log_warn("host %s: its writer", host);
		close(fd);
		if (rh->conn != NULL && rh->conn->state == C_OPENING)
			conn_store_failed(rh->conn, EIO, "no trail writer");
		return;
	}
	if (rh->conn != NULL && rh->conn->state == C_OPENING)
		wchan_hello(rh->w);
}

static void
on_ctl(uint32_t events)
{
	struct ctl_msg m;
	int fd, r;

	while ((r = ctl_recv(srv.ctlfd, ctl_to_net, &m, &fd, "parent")) ==
	    1) {
		if (fd != -1 && m.type != CTL_WRITER)
			fatalx("parent: a descriptor with message %u", m.type);
		switch (m.type) {
		case CTL_WRITER:
			on_writer(m.host, fd);
			break;
		case CTL_NOWRITER:
			on_writer(m.host, -1);
			break;
		case CTL_PING:
			ctl_tell(CTL_PING, "");
			break;
		}
	}
	if (r == -1 && !srv.stopping)
		fatalx("the parent is gone");
	(void)events;
}

/* The parent's copy of what is the network process's alone. */
static void
parent_forget(void)
{
	listeners_close();
	close(srv.epfd);
	srv.epfd = -1;
}

static void
net_confine(void)
{
	static const char *const resolver[] = { "/etc/hosts",
	    "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/gai.conf",
	    "/etc/host.conf", "/etc/services" };
	const struct conf_receiver *r = &srv.conf->receiver;
	struct sandbox *sb;
	size_t i;

	/* Reading its configuration and certificate again (SIGHUP), the
	 * names of "remote" resolved, on glibc's threads (hosts.c): nothing
	 * else. */
	sb = sandbox_new("network process", SB_ACCEPT | SB_INET | SB_NETLINK |
	    SB_THREADS);
	/* Their directories: a file replaced by rename is a new inode. */
	sandbox_path_dir(sb, conf_path, SB_READ);
	sandbox_path_dir(sb, r->certfile, SB_READ);
	sandbox_path_dir(sb, r->keyfile, SB_READ);
	if (r->enrol) {
		sandbox_path_dir(sb, r->cafile, SB_READ);
		sandbox_path_dir(sb, r->crlfile, SB_READ);
	}
	for (i = 0; i < sizeof(resolver) / sizeof(resolver[0]); i++)
		sandbox_path(sb, resolver[i], SB_READ);
	sandbox_connect_port(sb, 53);		/* DNS over TCP */
	/*
	 * Threads count as processes; seccomp allows no other kind.  The
	 * descriptor limit stays as it is (capacity.c checked it): hosts
	 * added by SIGHUP need room for their writers' channels.
	 */
	sandbox_limits(0, 1);
	sandbox_test_hook("/etc/passwd", SB_TEST_EXECVE);
	sandbox_apply(sb);
}

static struct super_args sargs;

static void
net_main(int ctlfd)
{
	static int sigtype = EV_SIGNAL, timertype = EV_TIMER, ctltype = EV_CTL;
	struct rhost *rh;
	unsigned nhosts;
	int sigfd;
	char err[1024];
	sigset_t mask;

	/*
	 * The certificate and key are loaded here, not in the parent: the
	 * parent never holds the key, and its heap, which every writer
	 * starts from, stays small and unfragmented.  As root (the key may
	 * be readable by root only), before becoming the user.
	 */
	if ((srv.ctx = tlsio_server_ctx(srv.conf->receiver.certfile,
	    srv.conf->receiver.keyfile, err, sizeof(err))) == NULL)
		fatalx_code(EX_CONFIG, "%s", err);
	if (srv.conf->receiver.enrol && (srv.enrol =
	    enrol_new(&srv.conf->receiver, err, sizeof(err))) == NULL)
		fatalx_code(EX_CONFIG, "%s", err);
	sandbox_become(sargs.uid, sargs.gid, sargs.user);
	sandbox_parent_death();
	srv.ctlfd = ctlfd;
	/* Whatever our parent ignored or blocked, these come to the loop. */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, NET_SIG_RESOLVED);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	if ((sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1 ||
	    (srv.timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1)
		fatal("event setup");
	if (ev_mod(&srv, sigfd, &sigtype, EPOLLIN) == -1 ||
	    ev_mod(&srv, srv.timerfd, &timertype, EPOLLIN) == -1 ||
	    ev_mod(&srv, ctlfd, &ctltype, EPOLLIN) == -1)
		fatal("epoll");
	/* Confined first: lookups start threads, which must be too. */
	net_confine();
	if (hosts_load(&srv, srv.conf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	for (rh = srv.hosts, nhosts = 0; rh != NULL; rh = rh->next)
		nhosts++;
	log_info("listening on %u socket%s for %u host%s; trails in %s",
	    (unsigned)nlisteners, nlisteners == 1 ? "" : "s", nhosts,
	    nhosts == 1 ? "" : "s", sargs.recvdir);
	ctl_tell(CTL_READY, "");

	loop(sigfd);

	hosts_free(&srv);
	wchan_reap(&srv);
	SSL_CTX_free(srv.ctx);
	enrol_free(srv.enrol);
	conf_free(srv.conf);
	log_debug("network process stopped");
	exit(0);
}

int
main(int argc, char *argv[])
{
	int ch, debug = 0, fg = 0, check = 0, rc;
	char err[PATH_MAX + 600];
	struct passwd *pw;

	while ((ch = getopt_long(argc, argv, "c:dfhnV", longopts,
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
		case 'n':
			check = 1;
			fg = 1;
			break;
		case 'h':
			usage(0);
		case 'V':
			version();
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

	srv.conf = load_conf(conf_path, check);
	if (check) {
		if ((srv.ctx = tlsio_server_ctx(srv.conf->receiver.certfile,
		    srv.conf->receiver.keyfile, err, sizeof(err))) == NULL) {
			fprintf(stderr, "auditdistd: %s\n", err);
			return EX_CONFIG;
		}
		if (srv.conf->receiver.enrol && (srv.enrol =
		    enrol_new(&srv.conf->receiver, err, sizeof(err))) == NULL) {
			fprintf(stderr, "auditdistd: %s\n", err);
			return EX_CONFIG;
		}
		check_startup(srv.conf);
		printf("configuration OK\n");
		return 0;
	}
	cert_dates(srv.conf, 0);
	/* Under systemd (Type=notify) the manager knows our pid. */
	if (srv.conf->pidfile == NULL)
		pidfile = getenv("NOTIFY_SOCKET") ? NULL : DEFAULT_PIDFILE;
	else if (strcmp(srv.conf->pidfile, "none") != 0)
		pidfile = srv.conf->pidfile;

	sargs.conf_path = conf_path;
	sargs.recvdir = srv.conf->receiver.directory;
	sargs.user = srv.conf->receiver.user;
	if (geteuid() == 0) {
		errno = 0;
		if ((pw = getpwnam(sargs.user)) == NULL)
			fatalx_code(EX_CONFIG, "user %s does not exist; create "
			    "it (make install does) or set user in the "
			    "receiver block", sargs.user);
		if (pw->pw_uid == 0)
			fatalx_code(EX_CONFIG, "user %s is root; auditdistd "
			    "needs an unprivileged user", sargs.user);
		sargs.uid = pw->pw_uid;
		sargs.gid = pw->pw_gid;
		check_reloadable(srv.conf, sargs.uid, sargs.gid);
	} else {
		sargs.uid = geteuid();
		sargs.gid = getegid();
		name_user_group(sargs.gid);
	}
	if (trail_group_check(srv.conf, &sargs.tgid, err, sizeof(err)) == -1)
		fatalx_code(EX_CONFIG, "%s", err);
	sargs.tgroup = srv.conf->receiver.trail_group;
	open_receiver_dir(&sargs);
	if ((srv.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	listen_all();
	if ((srv.max_conns = capacity_plan(srv.conf, (unsigned)nlisteners, err,
	    sizeof(err))) == 0)
		fatalx_code(EX_CONFIG, "%s", err);
	write_pidfile();

	sargs.net = net_main;
	sargs.forget = parent_forget;
	{
		/* The parent keeps a copy without the passwords. */
		struct conf *pc = load_conf(conf_path, 0);

		conf_forget_secrets(pc);
		sargs.conf = pc;
	}
	rc = super_run(&sargs);

	remove_pidfile();
	conf_free(sargs.conf);
	conf_free(srv.conf);
	close(sargs.recvfd);
	log_info("stopped");
	return rc;
}
