/*
 * The hosts the receiver accepts: who may connect from where, with which
 * secret, and the trail each one writes.  A host's state outlives its
 * connections and configuration reloads; its trail is opened (and
 * recovered) at start-up and again after any storage error.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auditdistd.h"
#include "log.h"

/* v4-mapped v6 addresses (from a dual-stack socket) compare as v4. */
static void
normalize(const struct sockaddr_storage *in, struct sockaddr_storage *out)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)in;
	struct sockaddr_in *s4 = (struct sockaddr_in *)out;

	memset(out, 0, sizeof(*out));
	if (in->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	} else
		memcpy(out, in, in->ss_family == AF_INET6 ?
		    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
}

/* "tls://ADDR[:PORT]" -> ADDR (without brackets). */
static int
remote_addr(const char *remote, char *out, size_t len)
{
	const char *p = remote, *end;

	if (strncmp(p, "tls://", 6) == 0)
		p += 6;
	if (*p == '[') {
		if ((end = strchr(++p, ']')) == NULL)
			return -1;
	} else if ((end = strchr(p, ':')) == NULL)
		end = p + strlen(p);
	if (end == p || (size_t)(end - p) >= len)
		return -1;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return 0;
}

/*
 * Lookups run on glibc's threads (getaddrinfo_a), which signal the end
 * with NET_SIG_RESOLVED: a blocking getaddrinfo in the loop would stall
 * every sender for as long as DNS does not answer, at start-up and at
 * every reload.  A lookup outlives a reload that drops or changes its
 * host (it cannot always be cancelled), so it lives in its own list.
 */
struct lookup {
	struct gaicb		 cb;
	struct addrinfo		 hints;
	char			 name[256];
	struct rhost		*rh;		/* NULL: abandoned */
	uint64_t		 started;	/* ms */
	unsigned		 refused;	/* logins refused meanwhile */
	struct lookup		*next;
};

static struct lookup *lookups;

static void
lookup_free(struct lookup *l)
{
	struct lookup **pp;

	for (pp = &lookups; *pp != NULL; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	if (l->cb.ar_result != NULL)
		freeaddrinfo(l->cb.ar_result);
	free(l);
}

/* The host no longer waits for its lookup; it is freed once done. */
static void
abandon(struct rhost *rh)
{
	struct lookup *l = rh->lookup;

	if (l == NULL)
		return;
	rh->lookup = NULL;
	l->rh = NULL;
	if (gai_cancel(&l->cb) != EAI_NOTCANCELED)
		lookup_free(l);		/* glibc has let go of it */
}

static void
set_addrs(struct rhost *rh, struct sockaddr_storage *addrs, size_t n,
    int any, const char *why)
{
	free(rh->addrs);
	free(rh->resolve_err);
	rh->addrs = addrs;
	rh->naddrs = n;
	rh->any = any;
	rh->resolve_err = NULL;
	if (why == NULL)
		return;
	hlog_warnx(rh->name, "%s; it cannot connect until this is fixed and "
	    "the configuration reloaded", why);
	rh->resolve_err = strdup(why);
}

/* The IPv4 and IPv6 addresses of res. */
static int
take_addrs(struct rhost *rh, const struct addrinfo *res)
{
	const struct addrinfo *ai;
	struct sockaddr_storage *addrs, ss;
	size_t n = 0;

	for (ai = res; ai != NULL; ai = ai->ai_next)
		n++;
	if ((addrs = calloc(n ? n : 1, sizeof(*addrs))) == NULL)
		return -1;
	n = 0;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(ss))
			continue;
		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		normalize(&ss, &addrs[n++]);
	}
	set_addrs(rh, addrs, n, 0, NULL);
	return 0;
}

/* A name: looked up off the loop; the old addresses serve meanwhile. */
static void
lookup_start(struct rhost *rh, const char *host)
{
	struct gaicb *list[1];
	struct sigevent sev;
	struct lookup *l;
	char why[512];
	int rc;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		hlog_warn(rh->name, "looking up \"%s\"", host);
		return;
	}
	snprintf(l->name, sizeof(l->name), "%s", host);
	l->hints.ai_socktype = SOCK_STREAM;
	l->cb.ar_name = l->name;
	l->cb.ar_request = &l->hints;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = NET_SIG_RESOLVED;
	list[0] = &l->cb;
	if ((rc = getaddrinfo_a(GAI_NOWAIT, list, 1, &sev)) != 0) {
		free(l);
		snprintf(why, sizeof(why), "remote \"%s\": cannot start a "
		    "lookup: %s", rh->ch->remote, gai_strerror(rc));
		if (rh->naddrs == 0)
			set_addrs(rh, NULL, 0, 0, why);
		else
			hlog_warnx(rh->name, "%s; keeping its previous "
			    "addresses", why);
		return;
	}
	l->rh = rh;
	l->started = now_ms();
	l->next = lookups;
	lookups = l;
	rh->lookup = l;
	hlog_debug(rh->name, "looking up \"%s\"", host);
}

/*
 * The sender's addresses, from its "remote" (the port is the sender's own
 * business: its source port is whatever the kernel picks).  An address
 * or none is set at once; a name is looked up off the loop.
 */
static void
resolve(struct rhost *rh)
{
	struct addrinfo hints, *res = NULL;
	char host[256], why[512];

	abandon(rh);
	/* No remote: any address (the password or certificate decides). */
	if (rh->ch->remote == NULL) {
		set_addrs(rh, NULL, 0, 1, NULL);
		return;
	}
	if (remote_addr(rh->ch->remote, host, sizeof(host)) == -1) {
		snprintf(why, sizeof(why), "bad remote \"%s\"",
		    rh->ch->remote);
		set_addrs(rh, NULL, 0, 0, why);
		return;
	}
	/* A wildcard address means the same. */
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ||
	    strcmp(host, "*") == 0) {
		set_addrs(rh, NULL, 0, 1, NULL);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(host, NULL, &hints, &res) != 0) {
		lookup_start(rh, host);
		return;
	}
	if (take_addrs(rh, res) == -1) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		set_addrs(rh, NULL, 0, 0, why);
	}
	freeaddrinfo(res);
}

static void
lookup_done(struct lookup *l, int rc)
{
	struct rhost *rh = l->rh;
	char why[512];

	rh->lookup = NULL;
	if (rc == 0 && take_addrs(rh, l->cb.ar_result) == 0) {
		hlog_debug(rh->name, "\"%s\" looked up in %llu ms",
		    l->name, (unsigned long long)(now_ms() - l->started));
		if (l->refused > 0)
			hlog_info(rh->name, "\"%s\" looked up; %u logins were "
			    "refused meanwhile", l->name, l->refused);
		return;
	}
	snprintf(why, sizeof(why), "remote \"%s\": %s", rh->ch->remote,
	    rc == 0 ? "out of memory" : gai_strerror(rc));
	/* DNS down is no reason to lock out a sender it knew. */
	if (rh->naddrs > 0 && (rc == 0 || rc == EAI_AGAIN ||
	    rc == EAI_SYSTEM || rc == EAI_MEMORY))
		hlog_warnx(rh->name, "%s; keeping its previous addresses",
		    why);
	else
		set_addrs(rh, NULL, 0, 0, why);
}

/* NET_SIG_RESOLVED arrived: take the results of the lookups that ended. */
void
hosts_resolved(struct server *srv)
{
	struct lookup *l, *next;
	int rc;

	(void)srv;
	for (l = lookups; l != NULL; l = next) {
		next = l->next;
		if ((rc = gai_error(&l->cb)) == EAI_INPROGRESS)
			continue;
		if (l->rh != NULL)
			lookup_done(l, rc);
		lookup_free(l);
	}
}

/*
 * NULL when the peer may be the host, else why not.  *quiet: a repeat of
 * "not yet looked up", not worth another log line.
 */
const char *
rhost_addr_problem(struct rhost *rh, const struct sockaddr_storage *peer,
    int *quiet)
{
	static char why[1024];

	*quiet = 0;
	if (rhost_addr_ok(rh, peer))
		return NULL;
	if (rh->lookup != NULL && rh->naddrs == 0) {
		*quiet = rh->lookup->refused++ > 0;
		snprintf(why, sizeof(why), "address not allowed by remote "
		    "\"%s\": its name is still being looked up",
		    rh->ch->remote);
		return why;
	}
	snprintf(why, sizeof(why), "address not allowed by remote \"%s\"%s%s",
	    rh->ch->remote, rh->resolve_err ? ": " : "",
	    rh->resolve_err ? rh->resolve_err : "");
	return why;
}

int
rhost_addr_ok(const struct rhost *rh, const struct sockaddr_storage *peer)
{
	struct sockaddr_storage p;
	size_t i;

	if (rh->any)
		return 1;
	normalize(peer, &p);
	for (i = 0; i < rh->naddrs; i++) {
		const struct sockaddr_storage *a = &rh->addrs[i];

		if (a->ss_family != p.ss_family)
			continue;
		if (a->ss_family == AF_INET &&
		    memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((struct sockaddr_in *)&p)->sin_addr, 4) == 0)
			return 1;
		if (a->ss_family == AF_INET6 &&
		    memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((struct sockaddr_in6 *)&p)->sin6_addr, 16) == 0)
			return 1;
	}
	return 0;
}

void
hosts_trail_limits(const struct conf *c, struct trail_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->size = c->receiver.trail_size;
	lim->keep = c->receiver.trail_keep;
	lim->max_size = c->receiver.trail_max_size;
}

struct rhost *
hosts_find(struct server *srv, const char *name)
{
	struct rhost *rh;

	for (rh = srv->hosts; rh != NULL; rh = rh->next)
		if (strcmp(rh->name, name) == 0)
			return rh;
	return NULL;
}

static void
own_free(struct conf_host *ch)
{
	if (ch == NULL)
		return;
	free(ch->name);
	free(ch->directory);
	free(ch);
}

static void
rhost_free(struct rhost *rh)
{
	if (rh == NULL)
		return;
	if (rh->conn != NULL)
		conn_close(rh->conn, WIRE_ERR_AUTH, rh->own != NULL ? "enrolment "
		    "by certificate switched off on the receiver" : "host "
		    "removed from the receiver's configuration");
	wchan_free(rh->w);
	abandon(rh);
	health_free(rh);
	free(rh->addrs);
	free(rh->resolve_err);
	free(rh->name);
	own_free(rh->own);
	free(rh);
}

/*
 * Its "host block": no password, no pin (the certificate is checked at
 * every login), any address, the receiver's defaults.
 */
struct rhost *
hosts_enrol(struct server *srv, const char *name)
{
	struct rhost *rh;
	struct conf_host *ch;
	char dir[PATH_MAX];

	if (enrol_directory(srv->conf, name, dir, sizeof(dir)) == -1)
		return NULL;
	if ((rh = calloc(1, sizeof(*rh))) == NULL ||
	    (ch = rh->own = calloc(1, sizeof(*ch))) == NULL ||
	    (ch->name = strdup(name)) == NULL ||
	    (ch->directory = strdup(dir)) == NULL ||
	    (rh->name = strdup(name)) == NULL) {
		if (rh != NULL)
			own_free(rh->own);
		free(rh);
		return NULL;
	}
	ch->series_hold = srv->conf->receiver.series_hold;
	rh->ch = ch;
	rh->any = 1;
	rh->series_seen = now_ms();
	rh->next = srv->hosts;
	srv->hosts = rh;
	return rh;
}

/* After a reload: an enrolled host stays while enrolment is on. */
static int
keep_enrolled(struct rhost *rh, const struct conf *conf)
{
	if (rh->own == NULL || !conf->receiver.enrol)
		return 0;
	rh->own->series_hold = conf->receiver.series_hold;
	return 1;
}

/* An enrolled host that now has a host block logs in with its
 * credentials from now on. */
static void
now_configured(struct rhost *rh)
{
	if (rh->own == NULL)
		return;
	hlog_info(rh->name, "now configured; its enrolment by certificate "
	    "ends");
	if (rh->conn != NULL)
		conn_close(rh->conn, WIRE_ERR_SHUTDOWN, "host now configured on the "
		    "receiver; log in again");
	own_free(rh->own);
	rh->own = NULL;
}

/*
 * Take the host list of conf.  Hosts that stay keep their trail and their
 * connection, with the new password from now on; a host whose directory
 * changed starts over there; a host that is gone loses its connection.
 */
int
hosts_load(struct server *srv, struct conf *conf, char *err, size_t errlen)
{
	struct rhost *list = NULL, **tail = &list, *rh, **pp;
	const struct conf_host *ch;

	for (ch = conf->receiver.hosts; ch != NULL; ch = ch->next) {
		for (pp = &srv->hosts; *pp != NULL; pp = &(*pp)->next)
			if (strcmp((*pp)->name, ch->name) == 0)
				break;
		if ((rh = *pp) != NULL) {
			*pp = rh->next;		/* taken over */
			if (strcmp(rh->ch->directory, ch->directory) != 0) {
				hlog_info(rh->name, "directory is now %s",
				    ch->directory);
				if (rh->conn != NULL)
					conn_close(rh->conn, WIRE_ERR_SHUTDOWN,
					    "trail directory changed");
				/* The next writer opens the new one. */
				wchan_free(rh->w);
				rh->w_asked = 0;
			}
			now_configured(rh);
		} else {
			if ((rh = calloc(1, sizeof(*rh))) == NULL ||
			    (rh->name = strdup(ch->name)) == NULL) {
				snprintf(err, errlen, "%s", strerror(errno));
				free(rh);
				goto fail;
			}
			/* After a start, a new series waits series_hold. */
			rh->series_seen = now_ms();
		}
		rh->ch = ch;
		rh->next = NULL;
		resolve(rh);
		*tail = rh;
		tail = &rh->next;
	}
	/* What is left was removed from the configuration. */
	while ((rh = srv->hosts) != NULL) {
		srv->hosts = rh->next;
		if (keep_enrolled(rh, conf)) {
			rh->next = NULL;
			*tail = rh;
			tail = &rh->next;
			continue;
		}
		hlog_info(rh->name, "no longer %s", rh->own != NULL ?
		    "enrolled (enrol is off)" : "configured");
		rhost_free(rh);
	}
	srv->hosts = list;
	return 0;
fail:
	/* Put back what was taken over, and drop what was new. */
	while ((rh = list) != NULL) {
		list = rh->next;
		rh->next = srv->hosts;
		srv->hosts = rh;
	}
	return -1;
}

void
hosts_free(struct server *srv)
{
	struct rhost *rh;

	while ((rh = srv->hosts) != NULL) {
		srv->hosts = rh->next;
		rhost_free(rh);
	}
}

void
rhost_open(struct server *srv, struct rhost *rh)
{
	if (rh->w != NULL) {
		wchan_hello(rh->w);
		return;
	}
	/* The parent starts one per batch of hosts; on_slot says HELLO. */
	if (!rh->w_asked) {
		rh->w_asked = 1;
		ctl_ask_writer(srv, rh->name);
	}
}

/* --- series: one spool per host at a time ------------------------------ */

static const uint8_t no_series[WIRE_ID_LEN];

static void
id_hex(const uint8_t id[WIRE_ID_LEN], char out[2 * WIRE_ID_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < WIRE_ID_LEN; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 0xf];
	}
	out[2 * WIRE_ID_LEN] = '\0';
}

/* The series the host is pinned to, or NULL when none is known. */
static const uint8_t *
pinned(const struct rhost *rh, const uint8_t *stored)
{
	if (memcmp(rh->series, no_series, WIRE_ID_LEN) != 0)
		return rh->series;
	if (stored != NULL && memcmp(stored, no_series, WIRE_ID_LEN) != 0)
		return stored;
	return NULL;
}

/*
 * A host name belongs to one spool at a time: two senders that share it
 * (a cloned machine, a copied configuration) would otherwise replace each
 * other's connection and each store its whole spool as a new series, again
 * and again.  So a login from another spool waits until the host's series
 * has been silent for series_hold seconds (a re-installed host); a login
 * from the same spool replaces a live connection (one that died half
 * open).  The connection being checked is not a live one of its own.
 */
const char *
rhost_series_problem(const struct rhost *rh, const struct conn *c,
    const uint8_t *stored)
{
	static char why[WIRE_MAX_REASON];
	const struct conn *live = rh->conn != c ? rh->conn : NULL;
	const uint8_t *pin;
	char old[2 * WIRE_ID_LEN + 1], new[2 * WIRE_ID_LEN + 1];
	uint64_t age, hold = (uint64_t)rh->ch->series_hold * 1000;

	if (live != NULL) {
		if (memcmp(live->spool_id, c->spool_id, WIRE_ID_LEN) == 0)
			return NULL;
		id_hex(live->spool_id, old);
		id_hex(c->spool_id, new);
		snprintf(why, sizeof(why), "host %s is shipping spool %s from "
		    "%s (live); spool %s from %s refused (see series_hold in "
		    "auditdistd.conf(5))", rh->name, old, live->addr, new,
		    c->addr);
		return why;
	}
	if ((pin = pinned(rh, stored)) == NULL ||
	    memcmp(pin, c->spool_id, WIRE_ID_LEN) == 0)
		return NULL;
	age = now_ms() - rh->series_seen;
	if (age >= hold)
		return NULL;
	id_hex(pin, old);
	id_hex(c->spool_id, new);
	if (rh->series_addr[0] != '\0')
		snprintf(why, sizeof(why), "host %s is shipping spool %s, last "
		    "seen from %s %" PRIu64 " s ago; spool %s from %s refused "
		    "for %" PRIu64 " s more (see series_hold in "
		    "auditdistd.conf(5))", rh->name, old, rh->series_addr,
		    age / 1000, new, c->addr, (hold - age + 999) / 1000);
	else
		snprintf(why, sizeof(why), "host %s is shipping spool %s (not "
		    "seen since the receiver started %" PRIu64 " s ago); spool "
		    "%s from %s refused for %" PRIu64 " s more (see "
		    "series_hold in auditdistd.conf(5))", rh->name, old,
		    age / 1000, new, c->addr, (hold - age + 999) / 1000);
	return why;
}

void
rhost_series_take(struct rhost *rh, const struct conn *c,
    const uint8_t *stored)
{
	const uint8_t *pin = pinned(rh, stored);
	char old[2 * WIRE_ID_LEN + 1], new[2 * WIRE_ID_LEN + 1];
	uint64_t now = now_ms();

	if (pin != NULL && memcmp(pin, c->spool_id, WIRE_ID_LEN) != 0) {
		id_hex(pin, old);
		id_hex(c->spool_id, new);
		hlog_warnx(rh->name, "accepting a new series %s from %s; the "
		    "previous one (%s) was last seen %" PRIu64 " s ago%s%s",
		    new, c->addr, old, (now - rh->series_seen) / 1000,
		    rh->series_addr[0] != '\0' ? " from " : "",
		    rh->series_addr);
	}
	memcpy(rh->series, c->spool_id, WIRE_ID_LEN);
	snprintf(rh->series_addr, sizeof(rh->series_addr), "%s", c->addr);
	rh->series_seen = now;
}

void
rhost_series_left(struct rhost *rh, const struct conn *c)
{
	if (memcmp(rh->series, c->spool_id, WIRE_ID_LEN) == 0)
		rh->series_seen = now_ms();
}
