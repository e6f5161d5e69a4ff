/*
 * The auditor: a process of its own that reads each host's trail behind
 * the writers and counts the kernel's event serials that never reached it
 * (serial.c, docs/serial-gaps.md).  It is off the path that acknowledges
 * data: it reads what the writers made durable, at a lower priority, and
 * a slow parse only makes it lag.
 *
 * It may read the receiver directory (and configured host directories
 * outside it) and write its state directory alone: SERIAL_DIR under the
 * status file's directory, with per host
 *	HOST.state	the counter (serial_save), replaced by rename
 *	HOST.gaps	one line per gap found, appended:
 *			TIME host=HOST boot=N from=S to=S missing=K
 * A host's state is saved when a read found gaps (so that a restart never
 * reports them twice), else every AUDITOR_SAVE rounds: creating a file
 * per host every round cost more than counting its records, and a
 * restart only reads again what came since.
 *
 * It parses what senders sent, so it runs as the writers do: the
 * receiver's user, no capabilities, seccomp for files alone.  It tells
 * the parent each host's totals (CTL_SERIAL) after a round that changed
 * its gaps, and all of them every AUDITOR_FULL rounds.  The parent shows
 * a host only once the network process has reported it, so the first
 * AUDITOR_EARLY reads that found bytes are told whatever they found.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auditdistd.h"
#include "hosttab.h"
#include "log.h"
#include "sandbox.h"
#include "serial.h"

#define AUDITOR_ROUND_MS	2000
#define AUDITOR_FULL		15		/* rounds */
#define AUDITOR_SAVE		30		/* rounds between saves (a minute) */
#define AUDITOR_EARLY		3		/* reads told whatever they found */
#define AUDITOR_BUDGET		(16u << 20)	/* bytes per host per round */
#define AUDITOR_NICE		5		/* steps below the writers */
#define AUDITOR_COMM		"auditdistd-gaps"	/* ps, pgrep */

struct ahost {
	char		 name[WIRE_MAX_HOST + 1];
	const char	*path;		/* configured outside: its directory */
	struct serial	*s;
	uint64_t	 saved;		/* stats.bytes when last saved */
	unsigned	 unsaved;	/* rounds since (staggered) */
	uint64_t	 read;		/* stats.bytes after the last read */
	uint64_t	 told[2];	/* gaps, missing: as the parent has them */
	unsigned	 ntold;		/* reads told */
	int		 seen;		/* in this round's listing */
	int		 dirty;		/* totals the parent has not had */
};

static struct {
	const struct parent_args *a;
	int		 chan, statefd;
	struct hosttab	 hosts;		/* of ahost; each counter points at
					   its own */
	/* The gap lines the host being read found (one host at a time). */
	char		 gaps[4096];
	size_t		 ngaps;
} au = { .hosts = HOSTTAB_INIT(struct ahost, name) };

static void
on_gap(const struct serial_gap *g, void *arg)
{
	struct ahost *h = arg;
	char ts[32];
	time_t t = (time_t)(g->time_ms / 1000);
	struct tm tm;
	int n;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(au.gaps + au.ngaps, sizeof(au.gaps) - au.ngaps,
	    "%s host=%s boot=%" PRIu64 " from=%" PRIu64 " to=%" PRIu64
	    " missing=%" PRIu64 "\n", ts, h->name, g->boot, g->from, g->to,
	    g->to - g->from + 1);
	if (n > 0 && (size_t)n < sizeof(au.gaps) - au.ngaps)
		au.ngaps += (size_t)n;
	hlog_warnx(h->name, "kernel serials %" PRIu64 " to %" PRIu64 " (%"
	    PRIu64 ") never reached the trail (events of %s)",
	    g->from, g->to, g->to - g->from + 1, ts);
}

/* The state file, or a new counter (NULL: no memory). */
static struct serial *
load(struct ahost *h)
{
	char name[WIRE_MAX_HOST + 8];
	static char buf[SERIAL_STATE_MAX];
	struct serial *s = NULL;
	size_t len;

	snprintf(name, sizeof(name), "%s.state", h->name);
	if (hosttab_read_file(au.statefd, name, buf, sizeof(buf), &len) == 1 &&
	    (s = serial_load(buf, len, on_gap, h)) == NULL)
		hlog_warnx(h->name, "%s: not a serial counter's state; "
		    "counting again from the trail's start", name);
	return s != NULL ? s : serial_new(on_gap, h);
}

static void
save(struct ahost *h)
{
	static char buf[SERIAL_STATE_MAX];
	char name[WIRE_MAX_HOST + 8], tmp[WIRE_MAX_HOST + 16];
	size_t len;
	int fd, ok;

	if (serial_save(h->s, buf, sizeof(buf), &len) == -1) {
		hlog_warn(h->name, "saving the serial counter");
		return;
	}
	snprintf(name, sizeof(name), "%s.state", h->name);
	snprintf(tmp, sizeof(tmp), "%s.state.tmp", h->name);
	if ((fd = openat(au.statefd, tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0640)) == -1) {
		hlog_warn(h->name, "%s", tmp);
		return;
	}
	ok = write(fd, buf, len) == (ssize_t)len;
	if (close(fd) == -1 || !ok ||
	    renameat(au.statefd, tmp, au.statefd, name) == -1)
		hlog_warn(h->name, "writing %s", name);
}

static void
append_gaps(struct ahost *h)
{
	char name[WIRE_MAX_HOST + 8];
	int fd, ok;

	if (au.ngaps == 0)
		return;
	snprintf(name, sizeof(name), "%s.gaps", h->name);
	if ((fd = openat(au.statefd, name, O_WRONLY | O_CREAT | O_APPEND |
	    O_CLOEXEC | O_NOFOLLOW, 0640)) == -1) {
		hlog_warn(h->name, "%s", name);
		au.ngaps = 0;
		return;
	}
	ok = write(fd, au.gaps, au.ngaps) == (ssize_t)au.ngaps;
	if (close(fd) == -1 || !ok)
		hlog_warn(h->name, "writing %s", name);
	au.ngaps = 0;
}

/* The host named so, its counter loaded or made; NULL: no memory. */
static struct ahost *
find(const char *name, const char *path)
{
	struct ahost *nh;
	size_t at;

	if ((nh = hosttab_find(&au.hosts, name, &at)) != NULL)
		return nh;
	if ((nh = calloc(1, sizeof(*nh))) == NULL)
		return NULL;
	snprintf(nh->name, sizeof(nh->name), "%s", name);
	nh->path = path;
	if ((nh->s = load(nh)) == NULL) {
		free(nh);
		return NULL;
	}
	/* Saves of many hosts found at once: not all in one round. */
	nh->unsaved = (unsigned)(au.hosts.n % AUDITOR_SAVE);
	if (hosttab_insert(&au.hosts, at, nh) == -1) {
		serial_free(nh->s);
		free(nh);
		return NULL;
	}
	nh->dirty = 1;
	return nh;
}

/* Read what h's trail gained; 0, or -1 when its directory is not there. */
static int
read_host(struct ahost *h)
{
	struct serial_stats st;
	char err[512];
	uint64_t nread = 0;
	int fd;

	fd = h->path != NULL ? open(h->path, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC) : openat(au.a->recvfd, h->name, O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (serial_read(h->s, fd, AUDITOR_BUDGET, &nread, err,
	    sizeof(err)) == -1)
		hlog_warnx(h->name, "counting serials: %s", err);
	close(fd);
	serial_get_stats(h->s, &st);
	if (st.bytes != h->read) {
		/* The events libauparse holds (a quiet host's last) count. */
		if (serial_flush(h->s) == -1)
			hlog_warn(h->name, "counting serials");
		h->read = st.bytes;
		serial_get_stats(h->s, &st);
		if (st.gaps != h->told[0] || st.missing != h->told[1] ||
		    h->ntold < AUDITOR_EARLY) {
			h->dirty = 1;
			h->ntold++;
		}
	}
	if (au.ngaps > 0 || (st.bytes != h->saved &&
	    ++h->unsaved >= AUDITOR_SAVE)) {
		append_gaps(h);
		save(h);
		h->saved = st.bytes;
		h->unsaved = 0;
	}
	return 0;
}

static void
tell(struct ahost *h)
{
	uint8_t bbuf[CTL_SERIAL_LEN], mbuf[CTL_MAX];
	struct wbuf body = { bbuf, 0, sizeof(bbuf), 0 };
	struct wbuf w = { mbuf, 0, sizeof(mbuf), 0 };
	struct serial_stats st;

	serial_get_stats(h->s, &st);
	wbuf_put_u64(&body, st.gaps);
	wbuf_put_u64(&body, st.missing);
	wbuf_put_u64(&body, st.boots);
	wbuf_put_u64(&body, st.restarts);
	wbuf_put_u64(&body, st.events);
	wbuf_put_u64(&body, st.bad);
	ctl_put_body(&w, CTL_SERIAL, h->name, body.buf, body.len,
	    ctl_from_auditor);
	if (write(au.chan, w.buf, w.len) != (ssize_t)w.len)
		_exit(0);	/* the parent is gone */
	h->told[0] = st.gaps;
	h->told[1] = st.missing;
	h->dirty = 0;
}

static void
visit(const char *name, const char *path, void *arg)
{
	struct ahost *h;

	(void)arg;
	/* A host configured elsewhere is read there, not here too. */
	if ((h = find(name, path)) != NULL && h->path == path)
		(void)read_host(h);
}

/* One pass over every host the receiver directory and the config hold. */
static void
round_all(int full)
{
	struct ahost *h;
	size_t i;

	serial_each_host(au.a, visit, NULL);
	for (i = 0; i < au.hosts.n; i++) {
		h = au.hosts.v[i];
		if (h->dirty || full)
			tell(h);
	}
}

#ifdef AUDITDIST_TEST_HOOKS
/*
 * AUDITDIST_TEST_AUDITOR_BADMSG (tests/integration/89-serial-gaps.sh): the
 * first auditor of a state directory sends its parent what a taken-over
 * one might, the ones started after it do their work.
 */
static void
test_bad_message(void)
{
	static const uint8_t junk[] = { 'S', 0xff, 0xff, 0xff, 0xff, 'x' };
	int fd;

	if (getenv("AUDITDIST_TEST_AUDITOR_BADMSG") == NULL ||
	    (fd = openat(au.statefd, "test-badmsg", O_WRONLY | O_CREAT |
	    O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1)
		return;
	close(fd);
	(void)write(au.chan, junk, sizeof(junk));
}
#else
#define test_bad_message()	do { } while (0)
#endif

static void __attribute__((noreturn))
auditor_run(void)
{
	struct pollfd p = { .fd = au.chan, .events = POLLIN };
	unsigned rounds = 0;

	for (;;) {
		round_all(rounds++ % AUDITOR_FULL == 0);
		if (poll(&p, 1, AUDITOR_ROUND_MS) == 1)
			_exit(0);	/* the parent closed its end */
	}
}

/* The child: channel as given, the state directory opened before. */
static void __attribute__((noreturn))
auditor_child(const struct parent_args *a, int chan, const char *statedir)
{
	struct sandbox *sb;

	log_procinit("auditor");
	au.a = a;
	au.chan = chan;
	if ((au.statefd = open(statedir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		fatal("%s", statedir);
	sandbox_child_signals();	/* it stops when its channel closes */
	/* Behind the writers and the network process: it only lags. */
	(void)sandbox_nicer(AUDITOR_NICE);
	(void)prctl(PR_SET_NAME, AUDITOR_COMM, 0, 0, 0);
	sb = sandbox_new("auditor", SB_FILES);
	sandbox_path(sb, statedir, SB_READ | SB_WRITE);
	serial_sandbox_hosts(sb, a);
	sandbox_test_hook("/etc/passwd", SB_TEST_EXECVE);
	sandbox_apply(sb);
	log_debug("counting serial gaps, state in %s", statedir);
	test_bad_message();
	auditor_run();
}

int
auditor_statedir(const struct conf *c, const char *sub, char *buf,
    size_t len)
{
	const char *sf = c->receiver.status_file, *slash;

	if (sf == NULL || (slash = strrchr(sf, '/')) == NULL)
		return -1;
	if ((size_t)snprintf(buf, len, "%.*s/%s", (int)(slash - sf), sf,
	    sub) >= len)
		return -1;
	return 0;
}

pid_t
auditor_fork(const struct parent_args *a, const char *what,
    const char *statedir, auditor_child_fn *child, int *chan)
{
	int sv[2];
	pid_t pid;

	*chan = -1;
	if (mkdir(statedir, 0750) == -1 && errno != EEXIST) {
		log_warn("%s: %s; not started", what, statedir);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s channel", what);
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_warn("starting the %s", what);
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		child(a, sv[1], statedir);
		_exit(1);	/* not reached */
	}
	close(sv[1]);
	*chan = sv[0];
	return pid;
}

pid_t
auditor_start(const struct parent_args *a, int *chan)
{
	char dir[PATH_MAX];

	*chan = -1;
	if (!a->conf->receiver.serial_gaps ||
	    auditor_statedir(a->conf, AUDITOR_DIR, dir, sizeof(dir)) == -1)
		return -1;
	return auditor_fork(a, "auditor", dir, auditor_child, chan);
}
