/*
 * auditd impact (group "impact"): what each way of shipping costs the
 * audited host.  A private auditd (auditd -n -c DIR: Debian's
 * auditd.conf with a log of its own) owns the kernel's audit connection;
 * one rule audits openat by the workload process only, and the workload
 * opens and closes one file as fast as it can for -t seconds.  Audited
 * operations per second and the kernel's lost counter (auditctl -s,
 * before and after) with no plugin; audisp-dist spooling (no receiver);
 * audisp-dist shipping to auditdistd on 127.0.0.1; audisp-remote shipping
 * to an auditd collector on 127.0.0.1.
 *
 * The kernel's audit state is shared with the integration tests: the
 * group holds their lock (tests/lib.sh: /run/lock/auditdist-tests.lock)
 * from before it first reads that state until it has put everything
 * back (the rule deleted, backlog_limit and enabled as they were), and
 * an abort does the same through cleanup_add().
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "bench.h"

#define RULE_KEY	"adbench"
#define KEY_FIELD	"key=\"" RULE_KEY "\""	/* in the SYSCALL record */
#define BACKLOG_LIMIT	8192	/* Debian's audit.rules, and tests/lib.sh */
#define LOCK_NAME	"auditdist-tests.lock"
#define LOCK_WAIT	300.0	/* s, as tests/lib.sh waits */
#define DRAIN_WAIT	120.0	/* s for the log and the plugin to catch up */
#define STALL_WAIT	15.0	/* s without progress: they will not */
#define AR_QUEUE	10240	/* Debian's audisp-remote.conf queue_depth */
#define AR_CONF_PATH	"/etc/audit/audisp-remote.conf"

/* V_READER: the bench itself as a plugin that only reads its stdin. */
enum variant { V_NONE, V_READER, V_SPOOL, V_SHIP, V_REMOTE, NVAR };

static const char *const vnames[NVAR] = { "no plugin", "reading plugin",
    "audisp-dist spooling", "audisp-dist shipping",
    "audisp-remote shipping" };

struct vres {
	double		 ops_s;
	uint64_t	 ops;
	int64_t		 lost;		/* -1: unknown */
	uint64_t	 logged;	/* events in auditd's log */
	double		 delivered;	/* events at the plugin's end; NAN */
};

/* What was changed outside the bench, to put back. */
static struct {
	int		 lockfd;
	int		 saved;
	long		 enabled, backlog, wait_time;
	int		 rule;		/* loaded: rule_pid */
	char		 rule_pid[24];
	char		 auditctl[PATH_MAX];
	char		 errlog[PATH_MAX];
} ks = { .lockfd = -1 };

/*
 * Run auditctl with the NULL-terminated arguments; its exit status (-1
 * when it had to be killed), its output in out.
 */
static int
auditctl(char *out, size_t outlen, ...)
{
	const char *argv[16];
	struct spawn sp;
	va_list ap;
	size_t n = 0, got = 0;
	ssize_t r;
	pid_t pid;
	int pfd[2], status;
	char sink[512];

	argv[n++] = ks.auditctl;
	va_start(ap, outlen);
	while (n < 15 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	if (pipe2(pfd, O_CLOEXEC) == -1)
		err(EX_OSERR, "pipe");
	memset(&sp, 0, sizeof(sp));
	sp.argv = argv;
	sp.in_fd = -1;
	sp.out_fd = pfd[1];
	sp.err_fd = -1;
	sp.err_path = ks.errlog;
	pid = spawn_ex(&sp);
	close(pfd[1]);
	for (;;) {
		if (out != NULL && got + 1 < outlen)
			r = read(pfd[0], out + got, outlen - 1 - got);
		else
			r = read(pfd[0], sink, sizeof(sink));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (out != NULL && got + 1 < outlen)
			got += (size_t)r;
	}
	close(pfd[0]);
	if (out != NULL)
		out[got] = '\0';
	if (stop_proc(pid, 0, 10, &status) == -1)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* One field of auditctl -s; -1 when it cannot be read. */
static long
kstat(const char *field)
{
	char out[2048], *line, *save, key[64];
	long v;

	if (auditctl(out, sizeof(out), "-s", NULL) != 0)
		return -1;
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%63s %ld", key, &v) == 2 &&
		    strcmp(key, field) == 0)
			return v;
	return -1;
}

static int
rule_args(const char *op, const char **argv)
{
	size_t n = 0;

	argv[n++] = op;
	argv[n++] = "always,exit";
	argv[n++] = "-F";
	argv[n++] = "arch=b64";
	argv[n++] = "-S";
	argv[n++] = "openat";
	argv[n++] = "-F";
	argv[n++] = ks.rule_pid;
	argv[n++] = "-F";
	argv[n++] = "key=" RULE_KEY;
	argv[n] = NULL;
	return (int)n;
}

static int
rule_op(const char *op)
{
	const char *a[12];

	rule_args(op, a);
	return auditctl(NULL, 0, a[0], a[1], a[2], a[3], a[4], a[5], a[6],
	    a[7], a[8], a[9], NULL);
}

static void
rule_del(void)
{
	if (!ks.rule)
		return;
	if (rule_op("-d") != 0) {
		show_errlog(ks.errlog);
		warnx("impact: could not delete the audit rule for %s; delete "
		    "it with auditctl -d always,exit -F arch=b64 -S openat -F "
		    "%s -F key=%s", ks.rule_pid, ks.rule_pid, RULE_KEY);
	}
	ks.rule = 0;
}

/* Put the kernel's audit state back and let the tests have it again. */
static void
impact_restore(void)
{
	char v[32];

	rule_del();
	if (ks.saved) {
		if (ks.backlog >= 0 && kstat("backlog_limit") != ks.backlog) {
			snprintf(v, sizeof(v), "%ld", ks.backlog);
			if (auditctl(NULL, 0, "-b", v, NULL) != 0)
				warnx("impact: could not restore the kernel's "
				    "backlog_limit %s", v);
		}
		if (ks.enabled >= 0 && kstat("enabled") != ks.enabled) {
			snprintf(v, sizeof(v), "%ld", ks.enabled);
			if (auditctl(NULL, 0, "-e", v, NULL) != 0)
				warnx("impact: could not restore the kernel's "
				    "audit enabled %s", v);
		}
		ks.saved = 0;
	}
	if (ks.lockfd != -1) {
		close(ks.lockfd);
		ks.lockfd = -1;
	}
}

/* The tests' lock: 0, or -1 with the reason in why. */
static int
lock_take(char *why, size_t whylen)
{
	char path[64];
	double deadline = now() + LOCK_WAIT;
	int said = 0;

	snprintf(path, sizeof(path), "%s/" LOCK_NAME,
	    access("/run/lock", F_OK) == 0 ? "/run/lock" : "/tmp");
	if ((ks.lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) ==
	    -1) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (flock(ks.lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			err(EX_OSERR, "flock %s", path);
		if (!said) {
			fprintf(stderr, "impact: waiting for %s (a test is "
			    "using the kernel's audit)\n", path);
			said = 1;
		}
		if (now() > deadline || interrupted) {
			snprintf(why, whylen, "another test has held %s for "
			    "%.0f s", path, LOCK_WAIT);
			close(ks.lockfd);
			ks.lockfd = -1;
			return -1;
		}
		sleep_s(0.2);
	}
	return 0;
}

/* Everything the group needs, the lock and the saved state; or a reason. */
static int
prepare(struct bench *b, char *why, size_t whylen)
{
	static const char *const ctls[] = { "/usr/sbin/auditctl",
	    "/sbin/auditctl" };
	struct utsname u;
	char comm[64], path[64];
	long pid;
	size_t i;
	ssize_t n;
	int fd;

	if (geteuid() != 0) {
		snprintf(why, whylen, "needs root");
		return -1;
	}
	if (uname(&u) == -1 || strcmp(u.machine, "x86_64") != 0) {
		snprintf(why, whylen, "the rule is written for arch=b64 "
		    "(x86_64)");
		return -1;
	}
	for (i = 0; i < sizeof(ctls) / sizeof(ctls[0]); i++)
		if (access(ctls[i], X_OK) == 0) {
			snprintf(ks.auditctl, sizeof(ks.auditctl), "%s",
			    ctls[i]);
			break;
		}
	if (ks.auditctl[0] == '\0' || access(AUDITD_PATH, X_OK) == -1) {
		snprintf(why, whylen, "needs auditd and auditctl (Debian "
		    "package auditd)");
		return -1;
	}
	pathf(ks.errlog, sizeof(ks.errlog), "%s/auditctl.err", b->tmpdir);
	if (lock_take(why, whylen) == -1)
		return -1;
	cleanup_add(impact_restore);
	if (auditctl(NULL, 0, "-s", NULL) != 0) {
		snprintf(why, whylen, "kernel audit not usable (auditctl -s "
		    "failed)");
		return -1;
	}
	if ((pid = kstat("pid")) != 0) {
		snprintf(comm, sizeof(comm), "?");
		snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
			if ((n = read(fd, comm, sizeof(comm) - 1)) > 0)
				comm[n - (comm[n - 1] == '\n')] = '\0';
			close(fd);
		}
		snprintf(why, whylen, "another auditd (pid %ld, %s) owns the "
		    "kernel audit connection", pid, comm);
		return -1;
	}
	ks.enabled = kstat("enabled");
	if (ks.enabled == 2) {
		snprintf(why, whylen, "kernel audit configuration is locked "
		    "(enabled 2)");
		return -1;
	}
	ks.backlog = kstat("backlog_limit");
	ks.wait_time = kstat("backlog_wait_time");
	ks.saved = 1;
	if (ks.backlog >= 0 && ks.backlog < BACKLOG_LIMIT &&
	    auditctl(NULL, 0, "-b", utoa(BACKLOG_LIMIT, path), NULL) != 0) {
		show_errlog(ks.errlog);
		errx(EX_SOFTWARE, "impact: auditctl -b %d failed",
		    BACKLOG_LIMIT);
	}
	return 0;
}

/* A copy of a program, root-owned and 0750, as auditd 3.0.9 wants. */
static void
install_prog(const char *src, const char *dst)
{
	char buf[1 << 16];
	ssize_t r;
	int in, out;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1)
		err(EX_UNAVAILABLE, "%s", src);
	if ((out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0750)) == -1)
		err(EX_CANTCREAT, "%s", dst);
	while ((r = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)r) != r)
			err(EX_IOERR, "%s", dst);
	if (r == -1 || fchown(out, 0, 0) == -1 || fchmod(out, 0750) == -1 ||
	    close(out) == -1)
		err(EX_IOERR, "%s", dst);
	close(in);
}

/*
 * Events of the rule in files that only grow, read incrementally: the
 * SYSCALL records with its key (auditctl's CONFIG_CHANGE records carry
 * the key too, and are not events of the workload).
 */
struct kfile {
	char		 name[32];
	off_t		 off;		/* after the last whole line read */
};

struct keycount {
	struct kfile	*f;
	size_t		 n, cap;
	uint64_t	 count;
};

static void
kc_file(struct keycount *kc, const char *dir, const char *name)
{
	static char buf[1 << 20];
	char path[PATH_MAX + 64], key[32];
	struct kfile *f = NULL;
	const char *p, *end, *nl;
	ssize_t n;
	size_t i;
	int fd;

	/* A spool's NNN.open becomes NNN.seg: the same bytes. */
	snprintf(key, sizeof(key), "%.*s", (int)strcspn(name, "."), name);
	for (i = 0; i < kc->n; i++)
		if (strcmp(kc->f[i].name, key) == 0)
			f = &kc->f[i];
	if (f == NULL) {
		if (kc->n == kc->cap) {
			kc->cap = kc->cap ? kc->cap * 2 : 16;
			if ((kc->f = reallocarray(kc->f, kc->cap,
			    sizeof(*kc->f))) == NULL)
				err(EX_OSERR, "malloc");
		}
		f = &kc->f[kc->n++];
		snprintf(f->name, sizeof(f->name), "%s", key);
		f->off = 0;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	while ((n = pread(fd, buf, sizeof(buf), f->off)) > 0) {
		end = buf + n;
		for (p = buf; p < end && (nl = memchr(p, '\n',
		    (size_t)(end - p))) != NULL; p = nl + 1)
			if (memmem(p, (size_t)(nl - p), KEY_FIELD,
			    sizeof(KEY_FIELD) - 1) != NULL &&
			    memmem(p, (size_t)(nl - p), "type=SYSCALL ", 13) !=
			    NULL)
				kc->count++;
		if (p == buf)
			break;		/* no whole line yet */
		f->off += p - buf;
	}
	close(fd);
}

/* Every file of dir whose name passes want; the count so far. */
static uint64_t
kc_dir(struct keycount *kc, const char *dir, int (*want)(const char *))
{
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return kc->count;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && want(de->d_name))
			kc_file(kc, dir, de->d_name);
	closedir(d);
	return kc->count;
}

static int
is_segment(const char *name)
{
	size_t len = strlen(name);

	if (len == 20)
		return strcmp(name + 16, ".seg") == 0;
	return len == 21 && strcmp(name + 16, ".open") == 0;
}

static int
is_trail(const char *name)
{
	return strlen(name) == 16 && strspn(name, "0123456789abcdefABCDEF") ==
	    16;
}

static void
kc_free(struct keycount *kc)
{
	free(kc->f);
	memset(kc, 0, sizeof(*kc));
}

/*
 * Wait until count() reaches want, or stops moving for STALL_WAIT s, or
 * DRAIN_WAIT s pass; the last count.
 */
static uint64_t
wait_count(uint64_t (*count)(void *), void *arg, uint64_t want)
{
	double t0 = now(), moved = t0;
	uint64_t n, last = 0;

	for (;;) {
		n = count(arg);
		if (n >= want || interrupted)
			return n;
		if (n != last) {
			last = n;
			moved = now();
		}
		if (now() - moved > STALL_WAIT || now() - t0 > DRAIN_WAIT)
			return n;
		sleep_s(0.2);
	}
}

struct counted {
	struct keycount	 kc;
	const char	*dir;
	int		(*want)(const char *);
};

static int
is_log(const char *name)
{
	return strcmp(name, "audit.log") == 0;
}

static uint64_t
count_dir(void *arg)
{
	struct counted *c = arg;

	return kc_dir(&c->kc, c->dir, c->want);
}

/* The workload: a child that opens and closes one file until told. */
static pid_t
workload_start(const char *dir, unsigned secs, int *go, int *result)
{
	int gp[2], rp[2], dfd, fd;
	uint64_t ops = 0;
	double t0, el, out[2];
	pid_t pid;
	char c;
	int k;

	if (pipe2(gp, O_CLOEXEC) == -1 || pipe2(rp, O_CLOEXEC) == -1)
		err(EX_OSERR, "pipe");
	/* Before the rule exists: its only openat calls are the work. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		err(EX_CANTCREAT, "%s", dir);
	if ((pid = fork()) == -1)
		err(EX_OSERR, "fork");
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		setpgid(0, 0);
		close(gp[1]);
		close(rp[0]);
		if (read(gp[0], &c, 1) != 1)
			_exit(1);
		t0 = now();
		do {
			for (k = 0; k < 256; k++) {
				fd = openat(dfd, "target", O_RDONLY |
				    O_CLOEXEC);
				if (fd == -1)
					child_fail("workload: openat");
				close(fd);
			}
			ops += 256;
		} while ((el = now() - t0) < secs);
		out[0] = (double)ops;
		out[1] = el;
		if (write(rp[1], out, sizeof(out)) != (ssize_t)sizeof(out))
			_exit(1);
		_exit(0);
	}
	setpgid(pid, pid);
	track_pid(pid);
	close(dfd);
	close(gp[0]);
	close(rp[1]);
	*go = gp[1];
	*result = rp[0];
	return pid;
}

/* Until auditd has registered with the kernel (auditctl -s pid). */
static void
wait_registered(pid_t pid, const char *out)
{
	double deadline = now() + 10;

	while (kstat("pid") != (long)pid) {
		if (!proc_alive(pid) || now() > deadline || interrupted) {
			show_errlog(out);
			errx(EX_SOFTWARE, "impact: the private auditd (pid %d) "
			    "did not register with the kernel", (int)pid);
		}
		sleep_s(0.05);
	}
}

/* SIGTERM auditd, wait for it and everything it started. */
static void
auditd_stop(pid_t pid)
{
	double deadline;

	if (stop_proc(pid, SIGTERM, 30, NULL) == -1)
		warnx("impact: auditd ignored SIGTERM for 30 s; killed");
	/* Its plugins share its process group. */
	deadline = now() + 20;
	while (kill(-pid, 0) == 0) {
		if (now() > deadline) {
			warnx("impact: auditd's plugins outlived it by 20 s; "
			    "killing them");
			kill(-pid, SIGKILL);
			break;
		}
		sleep_s(0.05);
	}
	deadline = now() + 5;
	while (kstat("pid") != 0 && now() < deadline)
		sleep_s(0.05);
}

static void
run_variant(struct bench *b, enum variant v, unsigned run, struct vres *res)
{
	char dir[PATH_MAX], adir[PATH_MAX], plugdir[PATH_MAX], conf[PATH_MAX];
	char spool[PATH_MAX], arconf[PATH_MAX], aout[PATH_MAX], prog[PATH_MAX];
	char plugconf[PATH_MAX], target[PATH_MAX], hostdir[PATH_MAX];
	char store[PATH_MAX + 16];
	const char *argv[5];
	struct counted logc = { { NULL, 0, 0, 0 }, NULL, is_log };
	struct counted plc = { { NULL, 0, 0, 0 }, NULL, is_trail };
	struct collector col;
	struct spawn sp;
	struct recv r;
	double out[2], deadline;
	int64_t lost0, lost1;
	pid_t auditd, wl;
	int go, result, fd;

	memset(res, 0, sizeof(*res));
	res->delivered = NAN;
	pathf(dir, sizeof(dir), "%s/imp", b->tmpdir);
	pathf(adir, sizeof(adir), "%s/auditd", dir);
	pathf(plugdir, sizeof(plugdir), "%s/plugins", dir);
	pathf(conf, sizeof(conf), "%s/sender.conf", dir);
	pathf(spool, sizeof(spool), "%s/spool", dir);
	pathf(arconf, sizeof(arconf), "%s/audisp-remote.conf", dir);
	pathf(aout, sizeof(aout), "%s/auditd.out", dir);
	pathf(target, sizeof(target), "%s/target", dir);
	rm_path(dir);
	if (mkdir(dir, 0711) == -1 || mkdir(adir, 0700) == -1 ||
	    mkdir(plugdir, 0750) == -1 || mkdir(spool, 0700) == -1)
		err(EX_CANTCREAT, "%s", dir);
	if ((fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) == -1)
		err(EX_CANTCREAT, "%s", target);
	close(fd);
	sync();

	/* Debian's auditd.conf; one log that never rotates, its own paths. */
	pathf(prog, sizeof(prog), "%s/auditd.conf", adir);
	if (write_file(prog, 0600,
	    "local_events = yes\nwrite_logs = yes\nlog_file = %s/audit.log\n"
	    "log_group = root\nlog_format = ENRICHED\n"
	    "flush = INCREMENTAL_ASYNC\nfreq = 50\nmax_log_file = 4096\n"
	    "num_logs = 2\nmax_log_file_action = IGNORE\npriority_boost = 4\n"
	    "name_format = NONE\nspace_left = 2\nspace_left_action = SYSLOG\n"
	    "verify_email = no\naction_mail_acct = root\n"
	    "admin_space_left = 1\nadmin_space_left_action = SYSLOG\n"
	    "disk_full_action = SYSLOG\ndisk_error_action = SYSLOG\n"
	    "use_libwrap = no\ntcp_listen_queue = 5\ntcp_max_per_addr = 1\n"
	    "tcp_client_max_idle = 0\ntransport = TCP\n"
	    "distribute_network = no\nq_depth = 2000\n"
	    "overflow_action = SYSLOG\nmax_restarts = 10\nplugin_dir = %s\n"
	    "end_of_event_timeout = 2\n", adir, plugdir) == -1)
		err(EX_CANTCREAT, "%s", prog);

	r.pid = -1;
	col.pid = -1;
	pathf(plugconf, sizeof(plugconf), "%s/bench.conf", plugdir);
	if (v == V_SPOOL || v == V_SHIP) {
		if (v == V_SHIP)
			recv_start(b, &r, "impact", 1, 20);
		if (write_file(conf, 0600, "name \"%s\"\npidfile none\n"
		    "sender {\n\tdirectory \"%s\"\n\tspool_max_size 0\n"
		    "\tspool_min_free 0\n", SENDER_HOST, spool) == -1)
			err(EX_CANTCREAT, "%s", conf);
		if (v == V_SHIP && (fd = open(conf, O_WRONLY | O_APPEND |
		    O_CLOEXEC)) != -1) {
			dprintf(fd, "\tuser %s\n\thost recv {\n\t\tremote "
			    "\"tls://127.0.0.1:%d\"\n\t\tfingerprint \"%s\"\n"
			    "\t\tpassword \"%s\"\n\t}\n", b->fwd_user, r.port,
			    b->fingerprint, b->password);
			close(fd);
		}
		if ((fd = open(conf, O_WRONLY | O_APPEND | O_CLOEXEC)) == -1 ||
		    write(fd, "}\n", 2) != 2 || close(fd) == -1)
			err(EX_CANTCREAT, "%s", conf);
		pathf(prog, sizeof(prog), "%s/bin/audisp-dist", b->tmpdir);
		if (write_file(plugconf, 0640, "active = yes\ndirection = out\n"
		    "path = %s\ntype = always\nargs = %s\nformat = string\n",
		    prog, conf) == -1)
			err(EX_CANTCREAT, "%s", plugconf);
	} else if (v == V_READER) {
		pathf(prog, sizeof(prog), "%s/bin/bench", b->tmpdir);
		if (write_file(plugconf, 0640, "active = yes\ndirection = out\n"
		    "path = %s\ntype = always\nargs = %s\nformat = string\n",
		    prog, BENCH_READER_ARG) == -1)
			err(EX_CANTCREAT, "%s", plugconf);
	} else if (v == V_REMOTE) {
		collector_start(b, &col, "impact");
		ar_conf_write(arconf, col.port, AR_QUEUE);
		audisp_remote_path(prog, sizeof(prog));
		if (write_file(plugconf, 0640, "active = yes\ndirection = out\n"
		    "path = %s\ntype = always\nformat = string\n", prog) == -1)
			err(EX_CANTCREAT, "%s", plugconf);
	}

	argv[0] = AUDITD_PATH;
	argv[1] = "-n";
	argv[2] = "-c";
	argv[3] = adir;
	argv[4] = NULL;
	memset(&sp, 0, sizeof(sp));
	sp.argv = argv;
	sp.in_fd = sp.out_fd = -1;
	sp.err_fd = -1;
	sp.err_path = aout;
	sp.private_run = 1;
	if (v == V_REMOTE) {
		sp.bind_src = arconf;
		sp.bind_dst = AR_CONF_PATH;
	}
	auditd = spawn_ex(&sp);
	wait_registered(auditd, aout);

	/* The plugin is up (and, shipping, auditd's first records shipped). */
	if (v == V_SHIP)
		recv_host_dir(&r, SENDER_HOST, hostdir, sizeof(hostdir));
	deadline = now() + 20;
	for (;;) {
		if (v == V_NONE || v == V_READER ||
		    (v == V_SPOOL && spool_status_has(spool, "state=")) ||
		    (v == V_SHIP && trail_bytes(hostdir) > 0) ||
		    (v == V_REMOTE && collector_lines(&col) >= 3))
			break;
		if (now() > deadline || interrupted || !proc_alive(auditd)) {
			show_errlog(aout);
			if (v == V_SHIP)
				show_errlog(r.log);
			if (v == V_REMOTE)
				show_errlog(col.out);
			errx(EX_SOFTWARE, "impact: %s did not start under "
			    "auditd within 20 s", vnames[v]);
		}
		sleep_s(0.05);
	}
	sleep_s(0.5);

	lost0 = kstat("lost");
	wl = workload_start(dir, b->secs, &go, &result);
	snprintf(ks.rule_pid, sizeof(ks.rule_pid), "pid=%d", (int)wl);
	ks.rule = 1;
	if (rule_op("-a") != 0) {
		ks.rule = 0;
		show_errlog(ks.errlog);
		errx(EX_SOFTWARE, "impact: auditctl -a always,exit -F arch=b64 "
		    "-S openat -F %s -F key=%s failed", ks.rule_pid, RULE_KEY);
	}
	if (write(go, "g", 1) != 1)
		err(EX_OSERR, "workload");
	close(go);
	for (;;) {
		ssize_t n = read(result, out, sizeof(out));

		if (n == (ssize_t)sizeof(out))
			break;
		if (n == -1 && errno == EINTR && !interrupted)
			continue;
		errx(EX_SOFTWARE, "impact: the workload stopped without a "
		    "result%s", interrupted ? " (interrupted)" : "");
	}
	close(result);
	stop_proc(wl, 0, 10, NULL);
	rule_del();
	lost1 = kstat("lost");
	res->ops = (uint64_t)out[0];
	res->ops_s = out[0] / out[1];
	res->lost = lost0 >= 0 && lost1 >= 0 ? lost1 - lost0 : -1;

	/* What reached auditd's log, then the plugin's end. */
	logc.dir = adir;
	res->logged = wait_count(count_dir, &logc, res->ops);
	if (v == V_SHIP) {
		pathf(store, sizeof(store), "%s/.store", hostdir);
		plc.dir = store;
		res->delivered = (double)wait_count(count_dir, &plc,
		    res->logged);
	} else if (v == V_REMOTE) {
		plc.dir = col.dir;
		plc.want = is_log;
		res->delivered = (double)wait_count(count_dir, &plc,
		    res->logged);
	}
	auditd_stop(auditd);
	if (v == V_SPOOL) {
		/* Stopped: the plugin wrote all it was given. */
		plc.dir = spool;
		plc.want = is_segment;
		res->delivered = (double)count_dir(&plc);
	}
	if (r.pid > 0)
		recv_stop(&r, NULL);
	if (col.pid > 0)
		collector_stop(&col);
	fprintf(stderr, "impact run %u/%u %-22s %9.0f openat/s (%" PRIu64
	    " in %.2f s), kernel lost %" PRId64 ", auditd logged %" PRIu64
	    " events%s", run + 1, b->e2e_runs, vnames[v], res->ops_s,
	    res->ops, out[1], res->lost, res->logged,
	    isnan(res->delivered) ? "\n" : ", ");
	if (!isnan(res->delivered))
		fprintf(stderr, "%s %.0f\n", v == V_SPOOL ? "spooled" :
		    v == V_SHIP ? "at the receiver" : "at the collector",
		    res->delivered);
	kc_free(&logc.kc);
	kc_free(&plc.kc);
	if (v == V_SHIP)
		rm_path(r.dir);
	rm_path(dir);
}

/*
 * Run by auditd as a plugin: read stdin until EOF and throw it away, as
 * fast as a plugin can, to show what auditd itself spends on one.
 */
int
impact_reader(void)
{
	static char buf[64 * 1024];
	ssize_t n;

	signal(SIGTERM, SIG_DFL);
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) != 0)
		if (n == -1 && errno != EINTR)
			return 1;
	return 0;
}

static void
lost_row(struct table *t, const char *fig, double ours, double none)
{
	row_add(t, &(struct row){ .figure = fig, .ours = ours, .base = none,
	    .base_name = "no plugin", .prec = 0, .no_ratio = 1,
	    .kind = none == 0 ? TGT_OURS_BELOW : TGT_NONE, .target = 1,
	    .target_text = none == 0 ? "0 (as no plugin)" : NULL });
}

void
group_impact(struct bench *b, struct table *t)
{
	struct vres res[NVAR][b->e2e_runs];
	double ops[NVAR], lost[NVAR], pct[NVAR], v_[b->e2e_runs];
	char why[256], prog[PATH_MAX], bindir[PATH_MAX], dst[PATH_MAX];
	unsigned i, j, v;
	int have_ar;

	why[0] = '\0';
	for (v = 0; v < NVAR; v++)
		ops[v] = lost[v] = pct[v] = NAN;
	have_ar = audisp_remote_path(prog, sizeof(prog)) == 0;
	if (prepare(b, why, sizeof(why)) == -1) {
		impact_restore();
		warnx("impact: not measured: %s", why);
		bench_incomplete = 1;
		goto rows;
	}
	tls_setup(b);
	pathf(bindir, sizeof(bindir), "%s/bin", b->tmpdir);
	if (mkdir(bindir, 0755) == -1 && errno != EEXIST)
		err(EX_CANTCREAT, "%s", bindir);
	/* The plugin runs its forwarder from its own directory. */
	pathf(prog, sizeof(prog), "%s/audisp-dist", b->bindir);
	pathf(dst, sizeof(dst), "%s/audisp-dist", bindir);
	install_prog(prog, dst);
	pathf(prog, sizeof(prog), "%s/audisp-dist-forwarder", b->bindir);
	pathf(dst, sizeof(dst), "%s/audisp-dist-forwarder", bindir);
	install_prog(prog, dst);
	pathf(prog, sizeof(prog), "%s/bench", b->bindir);
	pathf(dst, sizeof(dst), "%s/bench", bindir);
	install_prog(prog, dst);
	if (!have_ar) {
		warnx("impact: no audisp-remote (Debian package "
		    "audispd-plugins): its figures are not measured");
		bench_incomplete = 1;
	}

	for (i = 0; i < b->e2e_runs; i++)
		for (j = 0; j < NVAR; j++) {
			v = (i + j) % NVAR;
			memset(&res[v][i], 0, sizeof(res[v][i]));
			res[v][i].ops_s = res[v][i].delivered = NAN;
			res[v][i].lost = -1;
			if (v == V_REMOTE && !have_ar)
				continue;
			run_variant(b, (enum variant)v, i, &res[v][i]);
		}
	impact_restore();

	for (v = 0; v < NVAR; v++) {
		for (i = 0; i < b->e2e_runs; i++)
			v_[i] = res[v][i].ops_s;
		ops[v] = median(v_, b->e2e_runs);
		lost[v] = 0;
		for (i = 0; i < b->e2e_runs; i++) {
			if (res[v][i].lost < 0)
				lost[v] = NAN;
			else
				lost[v] += (double)res[v][i].lost;
			v_[i] = res[v][i].logged > 0 ?
			    res[v][i].delivered * 100 / (double)res[v][i].logged :
			    NAN;
		}
		pct[v] = median(v_, b->e2e_runs);
	}

rows:
	row_add(t, &(struct row){ .figure = "auditd impact: audited openat/s, "
	    "audisp-dist spooling", .ours = ops[V_SPOOL], .base = ops[V_NONE],
	    .base_name = "no plugin", .prec = 0, .kind = TGT_RATIO_MIN,
	    .target = 0.95, .target_text = ">= 0.95x no plugin" });
	row_add(t, &(struct row){ .figure = "auditd impact: audited openat/s, "
	    "audisp-dist shipping", .ours = ops[V_SHIP], .base = ops[V_NONE],
	    .base_name = "no plugin", .prec = 0, .kind = TGT_RATIO_MIN,
	    .target = 0.95, .target_text = ">= 0.95x no plugin" });
	row_add(t, &(struct row){ .figure = "  audited openat/s, a plugin "
	    "that only reads", .ours = ops[V_READER], .base = ops[V_NONE],
	    .base_name = "no plugin", .prec = 0 });
	row_add(t, &(struct row){ .figure = "  audited openat/s, spooling, "
	    "vs a plugin that only reads", .ours = ops[V_SPOOL],
	    .base = ops[V_READER], .base_name = "reading plugin", .prec = 0 });
	row_add(t, &(struct row){ .figure = "  audited openat/s, shipping, "
	    "vs audisp-remote", .ours = ops[V_SHIP], .base = ops[V_REMOTE],
	    .base_name = "audisp-remote", .prec = 0 });
	lost_row(t, "kernel lost, audisp-dist spooling (sum of runs)",
	    lost[V_SPOOL], lost[V_NONE]);
	lost_row(t, "kernel lost, audisp-dist shipping (sum of runs)",
	    lost[V_SHIP], lost[V_NONE]);
	row_add(t, &(struct row){ .figure = "  kernel lost, shipping, vs "
	    "audisp-remote (sum of runs)", .ours = lost[V_SHIP],
	    .base = lost[V_REMOTE], .base_name = "audisp-remote", .prec = 0,
	    .no_ratio = 1 });
	row_add(t, &(struct row){ .figure = "  events in the spool (% of "
	    "auditd's log)", .ours = pct[V_SPOOL], .base = NAN, .prec = 1,
	    .no_ratio = 1 });
	row_add(t, &(struct row){ .figure = "  events shipped (% of auditd's "
	    "log)", .ours = pct[V_SHIP], .base = pct[V_REMOTE],
	    .base_name = "audisp-remote", .prec = 1, .no_ratio = 1 });
	if (why[0] != '\0') {
		note_add(t, "auditd impact: not measured: %s", why);
		return;
	}
	note_add(t, "auditd impact: a private auditd 3 (auditd -n -c DIR, "
	    "Debian's auditd.conf: q_depth 2000, flush INCREMENTAL_ASYNC, "
	    "freq 50, ENRICHED, one log that never rotates) owning the "
	    "kernel's audit; rule -a always,exit -F arch=b64 -S openat -F "
	    "pid=WORKLOAD -F key=%s; the workload, one process, opens and "
	    "closes one file on the bench dir as fast as it can for %u s "
	    "(openat/s = its count over its time); kernel backlog_limit was "
	    "%ld, %s, backlog_wait_time %ld left as it was; lost = "
	    "auditctl -s lost after the workload minus before; the reading "
	    "plugin: this program run by auditd as a plugin (format string) "
	    "that reads its stdin 64 KiB at a time and does nothing else, "
	    "the most any plugin can get; audisp-dist "
	    "with the default flush and segments, spool_max_size 0, "
	    "spool_min_free 0, spooling alone or shipping to auditdistd on "
	    "127.0.0.1 (fingerprint pin, password); audisp-remote: Debian's "
	    "audisp-remote.conf (mode immediate, queue_depth %d, format "
	    "managed) to an auditd collector on 127.0.0.1 (local_events = "
	    "no); events = SYSCALL records with the rule's key in auditd's "
	    "log, the spool, the receiver's trail or the collector's log, "
	    "waited for up to %.0f s; the tests' lock %s held throughout; "
	    "median of %u runs (kernel lost: summed), variants rotated",
	    RULE_KEY, b->secs, ks.backlog, ks.backlog < BACKLOG_LIMIT ?
	    "raised to 8192 for the runs (Debian's audit.rules -b 8192, as "
	    "tests/lib.sh does) and put back after" : "kept",
	    ks.wait_time, AR_QUEUE, DRAIN_WAIT, "/run/lock/" LOCK_NAME,
	    b->e2e_runs);
}
