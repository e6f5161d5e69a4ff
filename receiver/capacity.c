/*
 * What a fleet costs in descriptors and processes, checked at the start
 * (and by -n) against the limits the receiver runs under, so that a
 * receiver that cannot serve its configured hosts says so then, with the
 * numbers, instead of refusing connections under load.
 *
 * Descriptors, per process (read from the code; see auditdistd(8),
 * "Limits"):
 *   - the network process: one per listener, one per connection, one per
 *     writer (its channel: a writer serves up to writer_hosts hosts), and
 *     NET_SPARE_FDS for the rest: stdio, syslog, epoll, signalfd,
 *     timerfd, the parent's channel, a writer's channel in hand-over,
 *     files read again at SIGHUP, and the sockets of the resolver's
 *     threads (glibc runs up to 20 lookups at once);
 *   - the parent: a fixed dozen, whatever the number of hosts (it hands
 *     each writer's channel over and closes its copy);
 *   - a writer: its channel, the receiver directory, and for each of its
 *     hosts its directory, .store, a trail file and its index:
 *     sandbox_limits in writer.c, whatever the fleet.
 * So only the network process's need grows with the fleet.
 *
 * Writers: hosts are put in a writer as they ask in one short window
 * (pool.c), so a start or a reconnect storm fills writers of writer_hosts
 * hosts, and a trickle of hosts makes smaller ones; a writer none of
 * whose hosts is connected goes after a minute (wchan.c).  The check
 * counts twice the full writers and WRITER_SPARE more, at most one per
 * host (writer_hosts 1: one per host, exactly).
 *
 * Processes: the writers, the parent, the network process and its
 * resolver threads, all of the receiver's user; they count against
 * RLIMIT_NPROC and against the cgroup's pids.max (systemd's TasksMax=).
 */
#include <sys/resource.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auditdistd.h"
#include "log.h"
#include "tcur.h"

#define NET_SPARE_FDS	96	/* see above */
#define SPARE_PROCS	32	/* parent, network, resolver threads */
#define WRITER_SPARE	16	/* writers of small batches, see above */
#define CGROUP_ROOT		"/sys/fs/cgroup"

static unsigned
count_hosts(const struct conf *c)
{
	const struct conf_host *h;
	unsigned n = 0;

	for (h = c->receiver.hosts; h != NULL; h = h->next)
		n++;
	return n;
}

/* Soft limits up to the hard ones, as daemons do. */
void
capacity_raise(void)
{
	static const int res[] = { RLIMIT_NOFILE, RLIMIT_NPROC };
	struct rlimit rl;
	size_t i;

	for (i = 0; i < sizeof(res) / sizeof(res[0]); i++)
		if (getrlimit(res[i], &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			(void)setrlimit(res[i], &rl);
		}
}

static uint64_t
limit_of(int resource)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		return UINT64_MAX;
	return (uint64_t)rl.rlim_cur;
}

/* A number from a cgroup file; UINT64_MAX for "max" or unreadable. */
static uint64_t
cgroup_value(const char *dir, const char *file)
{
	char path[PATH_MAX], buf[64];
	struct tcur c;
	uint64_t v;
	FILE *f;
	int ok;

	if (snprintf(path, sizeof(path), "%s%s/%s", CGROUP_ROOT, dir, file) >=
	    (int)sizeof(path) || (f = fopen(path, "re")) == NULL)
		return UINT64_MAX;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	if (!ok)
		return UINT64_MAX;
	tc_init(&c, buf, strcspn(buf, "\n"));
	return tc_dec(&c, UINT64_MAX, &v) == 0 && tc_end(&c) == 0 ? v :
	    UINT64_MAX;
}

/*
 * The smallest pids.max of our cgroup (v2) and its parents, and how many
 * tasks that one holds now; UINT64_MAX when there is none.
 */
static uint64_t
cgroup_pids(uint64_t *current)
{
	char line[PATH_MAX], *dir = NULL, *slash;
	uint64_t best = UINT64_MAX, v;
	FILE *f;

	*current = 0;
	if ((f = fopen("/proc/self/cgroup", "re")) == NULL)
		return UINT64_MAX;
	while (dir == NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "0::/", 4) == 0) {
			dir = line + 3;
			dir[strcspn(dir, "\n")] = '\0';
		}
	fclose(f);
	while (dir != NULL && strcmp(dir, "/") != 0) {
		if ((v = cgroup_value(dir, "pids.max")) < best) {
			best = v;
			if ((*current = cgroup_value(dir, "pids.current")) ==
			    UINT64_MAX)
				*current = 0;
		}
		slash = strrchr(dir, '/');
		slash[slash == dir] = '\0';	/* "/a" -> "/", "/a/b" -> "/a" */
	}
	return best;
}

/* The writers counted for hosts (see above). */
static uint64_t
writers_for(uint64_t hosts, unsigned per_writer)
{
	uint64_t n;

	if (per_writer == 0)
		per_writer = 1;
	n = 2 * ((hosts + per_writer - 1) / per_writer) + WRITER_SPARE;
	return n < hosts ? n : hosts;
}

static int
check_procs(unsigned nhosts, uint64_t writers, char *err, size_t errlen)
{
	uint64_t need = writers + SPARE_PROCS, lim, cur = 0;
	const char *who, *fix;

	if ((lim = limit_of(RLIMIT_NPROC)) < need) {
		who = "the limit is";
		fix = "LimitNPROC= (systemctl edit auditdistd) or ulimit -u";
	} else if ((lim = cgroup_pids(&cur)) < need) {
		who = "the cgroup allows";
		fix = "TasksMax= (systemctl edit auditdistd)";
	} else {
		if (lim != UINT64_MAX && lim - cur < need)
			log_warnx("%u hosts need %llu processes (%llu "
			    "writers); the cgroup allows %llu and holds %llu "
			    "already", nhosts, (unsigned long long)need,
			    (unsigned long long)writers,
			    (unsigned long long)lim, (unsigned long long)cur);
		return 0;
	}
	snprintf(err, errlen, "%u hosts need %llu processes (%llu writers), "
	    "%s %llu: raise %s", nhosts, (unsigned long long)need,
	    (unsigned long long)writers, who, (unsigned long long)lim, fix);
	return -1;
}

/*
 * The connections the network process may hold, from max_connections
 * (or, unset, DEF_MAX_CONNS as far as the descriptors allow), checked
 * against RLIMIT_NOFILE; 0 with err set when the limit is too low for
 * the configured hosts (each connected at once, with MAX_PENDING
 * handshakes besides) or for an explicit max_connections.
 */
unsigned
capacity_plan(const struct conf *c, unsigned nlisten, char *err, size_t errlen)
{
	uint64_t lim = limit_of(RLIMIT_NOFILE), base, need, conns, hosts;
	unsigned nhosts = count_hosts(c);
	unsigned want = c->receiver.max_connections;
	uint64_t writers;

	/* With enrolment, each connection may be a host of its own. */
	hosts = nhosts;
	if (c->receiver.enrol)
		hosts += want != 0 ? want : DEF_MAX_CONNS;
	writers = writers_for(hosts, c->receiver.writer_hosts);
	base = NET_SPARE_FDS + (uint64_t)nlisten + writers;
	if (want != 0)
		need = base + want;
	else
		need = base + (uint64_t)nhosts + MAX_PENDING;
	if (need > lim) {
		snprintf(err, errlen, "%u hosts%s need %llu descriptors (%llu "
		    "writers' channels), the limit is %llu: raise "
		    "LimitNOFILE= (systemctl edit auditdistd) or ulimit -n%s",
		    nhosts, want != 0 ? " and max_connections" : "",
		    (unsigned long long)need, (unsigned long long)writers,
		    (unsigned long long)lim, want != 0 ?
		    ", or lower max_connections" : "");
		return 0;
	}
	if (check_procs(nhosts, writers, err, errlen) == -1)
		return 0;
	if (want != 0)
		return want;
	conns = lim - base;
	if (conns >= DEF_MAX_CONNS)
		return DEF_MAX_CONNS;
	log_info("%llu connections at most: %llu descriptors (raise "
	    "LimitNOFILE= or ulimit -n for more)", (unsigned long long)conns,
	    (unsigned long long)lim);
	return (unsigned)conns;
}
