/*
 * auditdistd's network process.  main.c binds the listening sockets (with
 * net_listen(), as started) and forks this process, which serves every
 * sender from one event loop (evloop.c): signals come through its
 * signalfd and every timer (handshake, idle, keepalive, the delay after a
 * failed authentication) through its timerfd; each host's trail is
 * written by a writer process (writer.c) that serves a set of hosts,
 * reached through wchan.c; a host that has none asks the parent for one
 * over the control channel (below), which starts a writer per batch.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <malloc.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "auditdistd.h"
#include "log.h"
#include "sandbox.h"
#include "tlsio.h"

#define MAX_EVENTS	256		/* a fleet: many ready at once */
#define MAX_LISTEN	64		/* sockets, after name resolution */
#define STOP_LINGER_MS	3000		/* to say WIRE_ERR_SHUTDOWN and flush */
#define ACCEPT_PAUSE_MS	1000		/* out of descriptors: wait */
#define TRIM_MS		1000		/* heap given back at most this often */

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
static uint64_t accept_full_until;	/* every handshake slot is young */
static const char *conf_path;
/* The receiver user's primary group, named in the advice of unreadable(). */
static char user_group[64] = "auditdist";

/* conn.c's and hosts.c's name for it. */
uint64_t
now_ms(void)
{
	return ev_now_ms();
}

/* The timer fires at the earliest deadline anyone asked for. */
void
timer_want(struct server *s, uint64_t at)
{
	if (at == UINT64_MAX || (s->timer_armed != 0 && s->timer_armed <= at))
		return;
	if (at == 0)
		at = 1;
	if (ev_timer_at(&s->ev, at) == -1)
		fatal("timerfd_settime");
	s->timer_armed = at;
}

/* wchan.c's and the listeners': ptr starts with its enum ev_type. */
int
ev_mod(struct server *s, int fd, void *ptr, uint32_t events)
{
	return ev_add(&s->ev, fd, events, ptr);
}

int
ev_conn(struct server *s, int fd, struct conn *c, uint32_t events)
{
	return ev_add(&s->cset, fd, events, c);
}

void
ev_conn_del(struct server *s, int fd)
{
	(void)ev_del(&s->cset, fd);
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

/*
 * Every slot for a handshake holds one in progress: new connections wait
 * in the listen queue (SOMAXCONN) until one ends, or until the oldest may
 * be closed to make room (conn_full_until), at the latest.
 */
static void
accept_wait(uint64_t until)
{
	static uint64_t last_log;
	uint64_t now = now_ms();

	if (now - last_log > 10000) {
		log_info("%u handshakes in progress: new connections wait in "
		    "the listen queue", srv.npending);
		last_log = now;
	}
	listeners_enable(0);
	accept_full_until = until;
	timer_want(&srv, until);
}

static void
accept_resume(void)
{
	accept_full_until = 0;
	if (accept_paused_until == 0 && !srv.stopping)
		listeners_enable(1);
}

static void
listeners_close(void)
{
	size_t i;

	for (i = 0; i < nlisteners; i++)
		close(listeners[i].fd);
	nlisteners = 0;
}

/* Before anything else: the configuration, with its secrets, and its path. */
void
net_init(struct conf *c, const char *path)
{
	srv.conf = c;
	srv.epfd = srv.ev.epfd = srv.ev.sigfd = srv.ev.timerfd = -1;
	srv.cset.epfd = srv.cset.sigfd = srv.cset.timerfd = -1;
	conf_path = path;
}

/* As started (root, perhaps), before the fork: the listening sockets. */
void
net_listen(void)
{
	char err[PATH_MAX + 600];

	listen_all();
	if ((srv.max_conns = capacity_plan(srv.conf, (unsigned)nlisteners, err,
	    sizeof(err))) == 0)
		fatalx_code(EX_CONFIG, "%s", err);
}

static void
on_accept(struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint64_t until;
	int fd, one = 1;

	for (;;) {
		if ((until = conn_full_until(&srv, now_ms())) != 0) {
			accept_wait(until);
			return;
		}
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

/*
 * The network process, which runs as the receiver's user with only its
 * primary group, reads the configuration, certificate and key again on
 * SIGHUP: say what it cannot read, and the fix.
 */
void
net_unreadable(const char *path)
{
	log_warnx("%s is not readable by user %s: SIGHUP cannot reload it; "
	    "chgrp %s %s && chmod 640 %s", path, srv.conf->receiver.user,
	    user_group, path, path);
}

/* Before the sandbox, which keeps /etc/group from the network process. */
void
net_name_group(gid_t gid)
{
	struct group *gr;

	if ((gr = getgrgid(gid)) != NULL)
		snprintf(user_group, sizeof(user_group), "%s", gr->gr_name);
	else
		snprintf(user_group, sizeof(user_group), "%u", (unsigned)gid);
}

/* After a failed reload: if path is one we may not read, say the fix. */
static void
reload_hint(const char *path)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) != -1)
		close(fd);
	else if (errno == EACCES)
		net_unreadable(path);
}

/* Close every writer channel (each writer syncs and exits); the next
 * connection of each host gets a new writer. */
static void
writers_restart(void)
{
	struct rhost *rh;

	for (rh = srv.hosts; rh != NULL; rh = rh->next) {
		if (rh->conn != NULL)
			conn_close(rh->conn, WIRE_ERR_SHUTDOWN, "receiver "
			    "reloaded; retry");
		rh->w_asked = 0;
	}
	wpool_close_all(&srv);
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

/*
 * With read-ahead, one read takes what the socket holds, not a record's
 * header and then its body: a sender's frame costs two reads (the
 * second finds the socket dry), not three.  Reading goes on until TLS
 * wants more, and where it stops early (conn.c) tlsio_pending() counts
 * what was read ahead.
 */
static SSL_CTX *
server_ctx(const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if ((ctx = tlsio_server_ctx(cert, key, err, errlen)) != NULL)
		SSL_CTX_set_read_ahead(ctx, 1);
	return ctx;
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
	    (ctx = server_ctx(nc->receiver.certfile,
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

	(void)ev_timer_fired(&srv.ev);
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
	if (accept_full_until != 0) {
		if (now >= accept_full_until)
			accept_resume();
		else if (accept_full_until < next_at)
			next_at = accept_full_until;
	}
	for (c = srv.conns; c != NULL; c = next) {
		next = c->next;
		conn_timers(c, now);
	}
	for (c = srv.conns; c != NULL; c = c->next)
		if ((t = conn_next_deadline(c)) < next_at)
			next_at = t;
	if ((t = health_tick(&srv, now)) < next_at)
		next_at = t;
	if ((t = wpool_sweep(&srv, now)) < next_at)
		next_at = t;
	timer_want(&srv, next_at);
}

/* Returns 1 when a signal asks to stop. */
static int
on_signal(void)
{
	int sig, stop = 0;

	while ((sig = ev_signal(&srv.ev)) != 0) {
		switch (sig) {
		case SIGHUP:
			reload();
			break;
		case NET_SIG_RESOLVED:
			hosts_resolved(&srv);
			break;
		case SIGTERM:
		case SIGINT:
			log_info("stopping on signal %d", sig);
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
		conn_close(c, WIRE_ERR_SHUTDOWN, "receiver stopping; retry later");
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

/* Up to a round's worth of the connections, after everything else. */
static void
conns_round(void)
{
	struct epoll_event ev[MAX_EVENTS];
	int i, n;

	if ((n = ev_wait(&srv.cset, ev, MAX_EVENTS, 0)) == -1)
		fatal("epoll_wait");
	for (i = 0; i < n; i++)
		conn_event(ev[i].data.ptr, ev[i].events);
}

static void
loop(void)
{
	struct epoll_event ev[MAX_EVENTS];
	uint64_t stop_deadline = 0;
	int i, n, *type, conns;

	for (;;) {
		if (srv.stopping && (srv.conns == NULL ||
		    now_ms() >= stop_deadline))
			break;
		n = ev_wait(&srv.ev, ev, MAX_EVENTS, srv.ready ? 0 :
		    srv.stopping ? 100 : srv.churn ? TRIM_MS : -1);
		if (n == -1)
			fatal("epoll_wait");
		for (i = 0, conns = 0; i < n; i++) {
			if (ev_is_signal(&srv.ev, &ev[i])) {
				if (on_signal() && !srv.stopping) {
					begin_stop();
					stop_deadline = now_ms() +
					    STOP_LINGER_MS;
				}
				continue;
			}
			if (ev_is_timer(&srv.ev, &ev[i])) {
				on_timer();
				continue;
			}
			type = ev[i].data.ptr;
			switch (*type) {
			case EV_LISTEN:
				if (!srv.stopping)
					on_accept((struct listener *)type);
				break;
			case EV_CONNS:
				conns = 1;
				break;
			case EV_WRITER:
				wchan_event((struct wpool *)type,
				    ev[i].events);
				break;
			case EV_CTL:
				on_ctl(ev[i].events);
				break;
			}
		}
		if (conns)
			conns_round();
		run_ready();
		free_dead();
		wchan_reap(&srv);
		trim();
		/* A handshake ended: a slot is free. */
		if (accept_full_until != 0 &&
		    srv.npending < srv_max_pending(&srv))
			accept_resume();
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
	if (ctl_send_host(srv.ctlfd, type, host, ctl_to_parent) == -1)
		log_warn("telling the parent");
}

void
ctl_ask_writer(struct server *s, const char *host)
{
	(void)s;
	ctl_tell(CTL_WRITER, host);
}

/* A writer's channel: its hosts' slots follow (CTL_SLOT). */
static void
on_pool(uint32_t id, int fd)
{
	if (fd == -1)
		fatalx("from the parent: a writer without its channel");
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
	    wpool_new(&srv, id, fd) == NULL) {
		/* Its hosts find no pool: each is told there is no writer. */
		log_warn("trail writer (pid %u): its channel", id);
		close(fd);
	}
}

/* host is slot of writer id, or (id 0) has no writer. */
static void
on_slot(const char *host, uint32_t id, unsigned slot)
{
	struct rhost *rh = hosts_find(&srv, host);
	struct wpool *p = id != 0 ? wpool_find(&srv, id) : NULL;

	if (rh == NULL || rh->w != NULL) {
		/* Removed, or has one already: the lock goes back. */
		if (p != NULL)
			wpool_release(p, slot);
		return;
	}
	rh->w_asked = 0;
	if (p == NULL || wpool_attach(p, slot, rh) == NULL) {
		if (p != NULL)
			wpool_release(p, slot);
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
		if (fd != -1 && m.type != CTL_POOL)
			fatalx("from the parent: a descriptor with message %u", m.type);
		switch (m.type) {
		case CTL_POOL:
			on_pool(m.pool, fd);
			break;
		case CTL_SLOT:
			on_slot(m.host, m.pool, m.slot);
			break;
		case CTL_NOWRITER:
			on_slot(m.host, 0, 0);
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
void
net_forget(void)
{
	listeners_close();
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

void
net_main(int ctlfd, const struct parent_args *a)
{
	static int ctltype = EV_CTL, connstype = EV_CONNS;
	struct rhost *rh;
	unsigned nhosts;
	size_t i;
	char err[1024];
	sigset_t mask;

	log_procinit("net");
	/*
	 * The certificate and key are loaded here, not in the parent: the
	 * parent never holds the key, and its heap, which every writer
	 * starts from, stays small and unfragmented.  As root (the key may
	 * be readable by root only), before becoming the user.
	 */
	if ((srv.ctx = server_ctx(srv.conf->receiver.certfile,
	    srv.conf->receiver.keyfile, err, sizeof(err))) == NULL)
		fatalx_code(EX_CONFIG, "%s", err);
	if (srv.conf->receiver.enrol && (srv.enrol =
	    enrol_new(&srv.conf->receiver, err, sizeof(err))) == NULL)
		fatalx_code(EX_CONFIG, "%s", err);
	sandbox_become(a->uid, a->gid, a->user);
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

	if (ev_init(&srv.ev, &mask) == -1)
		fatal("event setup");
	srv.epfd = srv.ev.epfd;
	if (ev_init_nested(&srv.cset, &srv.ev, &connstype) == -1)
		fatal("event setup");
	if (ev_mod(&srv, ctlfd, &ctltype, EPOLLIN) == -1)
		fatal("epoll");
	for (i = 0; i < nlisteners; i++)
		if (ev_mod(&srv, listeners[i].fd, &listeners[i], EPOLLIN) == -1)
			fatal("epoll");
	/* Confined first: lookups start threads, which must be too. */
	net_confine();
	if (hosts_load(&srv, srv.conf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	for (rh = srv.hosts, nhosts = 0; rh != NULL; rh = rh->next)
		nhosts++;
	log_info("listening on %u socket%s for %u host%s; trails in %s",
	    (unsigned)nlisteners, nlisteners == 1 ? "" : "s", nhosts,
	    nhosts == 1 ? "" : "s", a->recvdir);
	ctl_tell(CTL_READY, "");
	timer_want(&srv, health_tick(&srv, now_ms()));

	loop();

	hosts_free(&srv);
	wpool_close_all(&srv);
	wchan_reap(&srv);
	SSL_CTX_free(srv.ctx);
	enrol_free(srv.enrol);
	conf_free(srv.conf);
	log_debug("network process stopped");
	exit(0);
}
