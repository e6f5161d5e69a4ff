/*
 * The parent's side of the writers: it starts one writer per batch of
 * hosts the network process asks for.  Asks are collected until none
 * came for BATCH_MS (but no longer than BATCH_MAX_MS after the first),
 * or until writer_hosts of them came, and the batch's writer is then
 * forked for exactly those hosts: its Landlock ruleset lists their
 * directories and no other.  The network process
 * gets the writer's channel (CTL_POOL) and each host's slot in it
 * (CTL_SLOT).  A restart storm thus makes writers of writer_hosts hosts
 * each; a trickle of new hosts makes small ones (one host each at
 * worst, as when every host had its own).  A host asks only when it has
 * no slot in a running writer (the network process keeps its slot while
 * the writer runs); a writer exits when the network process closes its
 * channel (see wchan.c) or when it is killed, and the parent only reaps.
 *
 * Writers run at a lower priority (WRITER_NICE steps below where the
 * receiver was started: the parent's, which they inherit) than the
 * network process, so that many runnable writers
 * cannot starve the one process that reads every sender.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "auditdistd.h"
#include "log.h"
#include "sandbox.h"

/*
 * Asks collected before a writer starts: while they keep coming, up to a
 * bound.  A fleet whose handshakes come at 150 a second (a busy or small
 * machine) gave writers of 20 hosts with a fixed 30 ms: 490 writers for
 * 10,000 hosts, each with its own memory and its own syncs.
 */
#define BATCH_MS	50	/* after the last ask */
#define BATCH_MAX_MS	300	/* after the first */
#define WRITER_NICE	5	/* steps below the network process */

struct wproc {
	pid_t		 pid;
	size_t		 nhosts;
	char		 first[WIRE_MAX_HOST + 1];	/* for the log */
};

static struct parent_args *sa;
static int ctl = -1;
static const struct sandbox_bpf *bpf;
static struct wproc *wprocs;
static size_t nwprocs, capwprocs;
/* The batch being collected. */
static char **bhosts, **bdirs;
static size_t nbatch;
static uint64_t batch_due;	/* ms, 0: none */
static uint64_t batch_first;	/* ms, when its first ask came */
static int cmt = -1;		/* the committer's channel, -1: none */

void
pool_init(struct parent_args *a, int ctlfd, const struct sandbox_bpf *b)
{
	sa = a;
	ctl = ctlfd;
	bpf = b;
	/*
	 * Before the parent confines itself (its children inherit its
	 * filter, which has no setpriority): the writers inherit its nice
	 * value; the network process, forked before, keeps the one the
	 * receiver was started with.
	 */
	if (sandbox_nicer(WRITER_NICE) == -1)
		log_warn("setpriority");
}

void
pool_committer(int chan)
{
	cmt = chan;
}

size_t
pool_writers(void)
{
	return nwprocs;
}

static const struct conf_host *
find_host(const char *name)
{
	const struct conf_host *ch;

	for (ch = sa->conf->receiver.hosts; ch != NULL; ch = ch->next)
		if (strcmp(ch->name, name) == 0)
			return ch;
	return NULL;
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

/*
 * The child's descriptors: its channel as 3, the receiver directory 4,
 * its channel to the committer 5 (when there is one).
 */
static void __attribute__((noreturn))
writer_child(int chan, int commit)
{
	struct writer_args wa;
	int c, r, k = -1;

	log_close();	/* its socket may be 3 to 5, taken below */
	if ((c = fcntl(chan, F_DUPFD, 10)) == -1 ||
	    (r = fcntl(sa->recvfd, F_DUPFD, 10)) == -1 ||
	    (commit != -1 && (k = fcntl(commit, F_DUPFD, 10)) == -1) ||
	    dup2(c, 3) == -1 || dup2(r, 4) == -1 ||
	    (k != -1 && dup2(k, 5) == -1))
		_exit(EX_OSERR);
	if (close_range(k != -1 ? 6 : 5, ~0U, 0) == -1)
		_exit(EX_OSERR);
	log_reopen();
	log_procinit("writer");
	sandbox_child_signals();	/* it stops when its channel closes */
	memset(&wa, 0, sizeof(wa));
	wa.nhosts = nbatch;
	wa.hosts = (const char *const *)bhosts;
	wa.directories = (const char *const *)bdirs;
	wa.recvfd = 4;
	wa.recvdir = sa->recvdir;
	hosts_trail_limits(sa->conf, &wa.lim);
	wa.group = sa->tgid;
	wa.bpf = bpf;
	wa.commitfd = k != -1 ? 5 : -1;
	writer_main(3, &wa);
}

static void
no_writer(const char *host)
{
	if (ctl_send_host(ctl, CTL_NOWRITER, host, ctl_to_net) == -1)
		hlog_warn(host, "telling the network process");
}

static void
batch_clear(void)
{
	size_t i;

	for (i = 0; i < nbatch; i++) {
		free(bhosts[i]);
		free(bdirs[i]);
	}
	nbatch = 0;
	batch_due = 0;
}

static void
remember(pid_t pid)
{
	struct wproc *nw;
	size_t ncap;

	if (nwprocs == capwprocs) {
		ncap = capwprocs ? capwprocs * 2 : 16;
		if ((nw = reallocarray(wprocs, ncap, sizeof(*nw))) == NULL)
			fatal("writers");
		wprocs = nw;
		capwprocs = ncap;
	}
	wprocs[nwprocs].pid = pid;
	wprocs[nwprocs].nhosts = nbatch;
	snprintf(wprocs[nwprocs].first, sizeof(wprocs[nwprocs].first), "%s",
	    bhosts[0]);
	nwprocs++;
}

/*
 * The writer's channel to the committer: its end to the committer, or
 * closed (the writer then syncs by itself).
 */
static void
hand_to_committer(pid_t pid, int fd)
{
	struct ctl_msg m;

	if (fd == -1)
		return;
	memset(&m, 0, sizeof(m));
	m.type = CTL_POOL;
	m.pool = (uint32_t)pid;
	if (cmt == -1 || ctl_send(cmt, &m, fd, ctl_to_committer) == -1)
		log_debug("trail writer (pid %d) syncs by itself: no "
		    "committer", (int)pid);
	close(fd);
}

/* The writer for the batch, its channel and slots to the network process. */
static void
start_batch(void)
{
	struct ctl_msg m;
	int sv[2] = { -1, -1 }, cv[2] = { -1, -1 };
	size_t i;
	pid_t pid = -1;

	if (cmt != -1 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
	    0, cv) == -1) {
		log_warn("a channel to the committer");
		cv[0] = cv[1] = -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    /*
	     * _Fork: without the C library's fork handlers, which reset its
	     * locks and the loader's in the child and so give every writer
	     * private copies of those pages.  This process has one thread
	     * and holds none of them here.
	     */
	    (pid = _Fork()) == -1) {
		hlog_warn(bhosts[0], "starting its writer");
		if (sv[0] != -1) {
			close(sv[0]);
			close(sv[1]);
		}
		if (cv[0] != -1) {
			close(cv[0]);
			close(cv[1]);
		}
		for (i = 0; i < nbatch; i++)
			no_writer(bhosts[i]);
		batch_clear();
		return;
	}
	if (pid == 0) {
		close(sv[0]);
		close(ctl);
		if (cv[0] != -1)
			close(cv[0]);
		writer_child(sv[1], cv[1]);
	}
	close(sv[1]);
	if (cv[1] != -1)
		close(cv[1]);
	hand_to_committer(pid, cv[0]);
	remember(pid);
	log_debug("trail writer (pid %d) started for %zu host(s), first %s",
	    (int)pid, nbatch, bhosts[0]);
	memset(&m, 0, sizeof(m));
	m.type = CTL_POOL;
	m.pool = (uint32_t)pid;
	if (ctl_send(ctl, &m, sv[0], ctl_to_net) == -1)
		log_warn("trail writer (pid %d): handing it over", (int)pid);
	close(sv[0]);
	m.type = CTL_SLOT;
	for (i = 0; i < nbatch; i++) {
		snprintf(m.host, sizeof(m.host), "%s", bhosts[i]);
		m.slot = (uint16_t)i;
		if (ctl_send(ctl, &m, -1, ctl_to_net) == -1)
			hlog_warn(bhosts[i], "handing its writer over");
	}
	batch_clear();
}

void
pool_ask(const char *host, uint64_t now)
{
	char dir[PATH_MAX];
	size_t i, max = sa->conf->receiver.writer_hosts;

	if (host_directory(host, dir, sizeof(dir)) == -1) {
		no_writer(host);
		return;
	}
	for (i = 0; i < nbatch; i++)
		if (strcmp(bhosts[i], host) == 0)
			return;		/* asked twice: one slot */
	if (bhosts == NULL && ((bhosts = calloc(WRITER_MAX_HOSTS,
	    sizeof(*bhosts))) == NULL || (bdirs = calloc(WRITER_MAX_HOSTS,
	    sizeof(*bdirs))) == NULL))
		fatal("writers");
	if ((bhosts[nbatch] = strdup(host)) == NULL ||
	    (bdirs[nbatch] = strdup(dir)) == NULL)
		fatal("writers");
	if (nbatch++ == 0)
		batch_first = now;
	batch_due = now + BATCH_MS < batch_first + BATCH_MAX_MS ?
	    now + BATCH_MS : batch_first + BATCH_MAX_MS;
	if (nbatch >= max || nbatch >= WRITER_MAX_HOSTS)
		start_batch();
}

int
pool_timeout(uint64_t now)
{
	if (batch_due == 0)
		return -1;
	return batch_due <= now ? 0 : (int)(batch_due - now);
}

void
pool_run(uint64_t now)
{
	if (batch_due != 0 && now >= batch_due)
		start_batch();
}

int
pool_reaped(pid_t pid, const char *how, int failed)
{
	size_t i;

	for (i = 0; i < nwprocs; i++)
		if (wprocs[i].pid == pid)
			break;
	if (i == nwprocs)
		return 0;
	if (failed)
		log_warnx("trail writer (pid %d) %s (host %s%s)", (int)pid,
		    how, wprocs[i].first, wprocs[i].nhosts > 1 ?
		    " and others" : "");
	wprocs[i] = wprocs[--nwprocs];
	return 1;
}
