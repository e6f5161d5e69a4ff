/*
 * bench: measure audisp-dist against the simplest program that could do its
 * job, and print one table (Markdown) on stdout.  Progress goes to stderr.
 *
 * The table is built from row groups (see groups[] below); each group runs
 * its measurements and appends rows of {figure, ours, baseline, target}.
 * The ratio and the verdict are derived when the table is printed, so a new
 * group only has to measure and call row_add().
 *
 * Exit status: 0 when the table was printed, whatever it says; non-zero
 * only when the benchmark could not run or a run produced wrong output.
 */
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SAMPLE	"tests/data/sample-enriched.log"
#define DEFAULT_DIR	"/var/tmp"
#define DEFAULT_MIB	256
#define DEFAULT_RUNS	5
#define CAT_PATH	"/bin/cat"
#define FEED_CHUNK	(64 * 1024)	/* what the brief says auditd writes */
#define RUN_TIMEOUT	300.0		/* seconds; a hung run aborts the bench */
#define POLL_NSEC	500000L		/* how often "stdin drained" is sampled */
#define MAX_ROWS	64

/* What every group may use: options, paths and the recorded stream. */
struct bench {
	const char	*bindir;	/* $B, where audisp-dist lives */
	const char	*sample;	/* recorded real audit records */
	unsigned	 runs;		/* per variant and program */
	uint64_t	 size;		/* wanted stream size, bytes */
	char		*tmpdir;	/* private dir on the bench filesystem */
	char		 stream[PATH_MAX];
	char		 conf[PATH_MAX];  /* audisp-dist config: spool below */
	char		 spool[PATH_MAX];
	char		 catout[PATH_MAX];
	char		 errlog[PATH_MAX];	/* stderr of the last run */
	uint64_t	 stream_bytes;
	uint64_t	 stream_records;
	uint64_t	 sample_records;
	uint64_t	 repeats;
};

enum target_kind {
	TGT_NONE,		/* informative row */
	TGT_RATIO_MIN,		/* ours / baseline >= target */
	TGT_OURS_BELOW,		/* ours < target */
};

/*
 * One line of the table, filled by a group with designated initializers.
 * ours and base are always given: NAN when there is nothing to show.
 */
struct row {
	const char	*figure;
	double		 ours;		/* NAN: not measured */
	double		 base;		/* NAN: no baseline */
	const char	*base_name;	/* e.g. "cat"; NULL when none */
	int		 prec;		/* decimals for ours and base */
	int		 no_ratio;	/* ours/base means nothing here */
	enum target_kind kind;
	double		 target;
	const char	*target_text;	/* NULL: "-" */
};

struct table {
	struct row	 rows[MAX_ROWS];
	size_t		 n;
};

struct group {
	const char	*name;
	void		(*run)(struct bench *, struct table *);
};

/* One timed run of a program reading the stream on stdin. */
enum feed { FEED_FILE, FEED_SOCKET };

struct result {
	double		 drained;	/* s until all input was read; NAN: unknown */
	double		 exited;	/* s until the program was reaped */
	long		 maxrss_kib;
};

static void	 usage(void) __attribute__((noreturn));
static double	 now(void);
static void	 cleanup(void);
static void	 on_signal(int);
static int	 rm_tree_at(int, const char *);
static void	 rm_path(const char *);
static int	 sum_spool_at(int, uint64_t *);
static uint64_t	 spool_bytes(const char *);
static char	*utoa(uint64_t, char *);
static void	 build_stream(struct bench *);
static void	 write_conf(const struct bench *);
static void	 child_fail(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
static pid_t	 spawn(const char *const *, int, const char *, const char *);
static void	 show_errlog(const char *);
static pid_t	 spawn_feeder(const char *, int, int);
static int	 pidfd_of(pid_t);
static void	 reap_checked(pid_t, const char *, struct rusage *,
		    const char *);
static void	 run_one(const struct bench *, int, enum feed, struct result *);
static double	 median(const double *, size_t);
static void	 row_add(struct table *, const struct row *);
static void	 table_free(struct table *);
static void	 group_intake(struct bench *, struct table *);
static void	 print_machine(const struct bench *);
static void	 print_table(const struct table *);

static const struct group groups[] = {
	{ "intake", group_intake },
	/* end-to-end, latency, auditd impact and fan-in go here */
};

static pid_t	 owner_pid;
static char	*cleanup_dir;
static int	 keep_tmp;
static volatile sig_atomic_t interrupted;
static char *const empty_env[] = { NULL };

static void
usage(void)
{
	fprintf(stderr, "usage: bench [-k] [-d dir] [-i sample] [-n runs] "
	    "[-s MiB]\n");
	exit(EX_USAGE);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
cleanup(void)
{
	/* Forked children share the atexit list but must not remove anything. */
	if (getpid() != owner_pid || cleanup_dir == NULL)
		return;
	if (keep_tmp)
		fprintf(stderr, "bench: kept %s\n", cleanup_dir);
	else
		rm_path(cleanup_dir);
}

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Remove name (a file or a directory tree) below dirfd. */
static int
rm_tree_at(int dirfd, const char *name)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	fd = openat(dirfd, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (rm_tree_at(fd, de->d_name) == -1)
			rc = -1;
	}
	closedir(d);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) == -1 && errno != ENOENT)
		rc = -1;
	return rc;
}

static void
rm_path(const char *path)
{
	if (rm_tree_at(AT_FDCWD, path) == -1)
		warn("remove %s", path);
}

/* Add the sizes of every *.seg and *.open file below dirfd. */
static int
sum_spool_at(int dirfd, uint64_t *total)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	size_t len;
	int fd;

	if ((d = fdopendir(dirfd)) == NULL) {
		close(dirfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			goto fail;
		if (S_ISDIR(st.st_mode)) {
			fd = openat(dirfd, de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd == -1 || sum_spool_at(fd, total) == -1)
				goto fail;
			continue;
		}
		len = strlen(de->d_name);
		if (!S_ISREG(st.st_mode))
			continue;
		if ((len > 4 && strcmp(de->d_name + len - 4, ".seg") == 0) ||
		    (len > 5 && strcmp(de->d_name + len - 5, ".open") == 0))
			*total += (uint64_t)st.st_size;
	}
	closedir(d);
	return 0;
fail:
	closedir(d);
	return -1;
}

static uint64_t
spool_bytes(const char *dir)
{
	uint64_t total = 0;
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || sum_spool_at(fd, &total) == -1)
		err(EX_SOFTWARE, "read spool %s", dir);
	return total;
}

/* Decimal digits of v, NUL-terminated, ending at the end of buf[21]. */
static char *
utoa(uint64_t v, char *buf)
{
	char *p = buf + 20;

	*p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return p;
}

struct sample_line {
	const char	*start;
	size_t		 len;		/* without the newline */
	size_t		 sec_off;	/* 0 with no header: copied verbatim */
	size_t		 msec_off;	/* the '.' before the milliseconds */
	size_t		 serial_off;
	size_t		 rest_off;	/* the ')' after the serial */
	uint64_t	 sec;
	uint64_t	 serial;
};

static int
parse_u64(const char *p, const char *end, uint64_t *v, const char **next)
{
	uint64_t n = 0;
	const char *s = p;

	while (p < end && isdigit((unsigned char)*p)) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
		p++;
	}
	if (p == s)
		return -1;
	*v = n;
	*next = p;
	return 0;
}

/* Find "msg=audit(SEC.MSEC:SERIAL)" in the line; 0 when found. */
static int
parse_header(struct sample_line *l)
{
	static const char tag[] = "msg=audit(";
	const char *end = l->start + l->len, *p, *q;
	uint64_t msec;

	p = memmem(l->start, l->len, tag, sizeof(tag) - 1);
	if (p == NULL)
		return -1;
	p += sizeof(tag) - 1;
	l->sec_off = (size_t)(p - l->start);
	if (parse_u64(p, end, &l->sec, &q) == -1 || q == end || *q != '.')
		return -1;
	l->msec_off = (size_t)(q - l->start);
	if (parse_u64(q + 1, end, &msec, &q) == -1 || q == end || *q != ':')
		return -1;
	l->serial_off = (size_t)(q + 1 - l->start);
	if (parse_u64(q + 1, end, &l->serial, &q) == -1 || q == end ||
	    *q != ')')
		return -1;
	l->rest_off = (size_t)(q - l->start);
	return 0;
}

/*
 * Repeat the sample until the stream is at least b->size bytes.  Repetition
 * k shifts every timestamp by k times the sample's time span and every
 * serial by k times its serial span, so the result reads as one continuous
 * recording with increasing serials (event grouping stays intact).
 */
static void
build_stream(struct bench *b)
{
	struct sample_line *lines = NULL;
	struct stat st;
	uint64_t min_sec = UINT64_MAX, max_sec = 0;
	uint64_t min_ser = UINT64_MAX, max_ser = 0, sec_span, ser_span;
	uint64_t bytes = 0, records = 0, k = 0;
	size_t n = 0, cap = 0, i, nhdr = 0;
	char *text, *p, *end, *iobuf, numbuf[21];
	ssize_t r;
	size_t got;
	FILE *out;
	int fd;

	if ((fd = open(b->sample, O_RDONLY | O_CLOEXEC)) == -1)
		err(EX_NOINPUT, "%s: the recorded sample of real audit "
		    "records is needed to build the input stream", b->sample);
	if (fstat(fd, &st) == -1)
		err(EX_NOINPUT, "%s", b->sample);
	if (!S_ISREG(st.st_mode) || st.st_size == 0)
		errx(EX_NOINPUT, "%s: not a regular file with records",
		    b->sample);
	if ((text = malloc((size_t)st.st_size + 1)) == NULL)
		err(EX_OSERR, "malloc");
	for (got = 0; got < (size_t)st.st_size; got += (size_t)r) {
		r = read(fd, text + got, (size_t)st.st_size - got);
		if (r == -1)
			err(EX_IOERR, "%s", b->sample);
		if (r == 0)
			errx(EX_IOERR, "%s: shrank while being read",
			    b->sample);
	}
	close(fd);
	end = text + got;

	for (p = text; p < end; ) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		if (len > 0) {	/* auditd never sends empty lines */
			if (n == cap) {
				cap = cap ? cap * 2 : 4096;
				lines = reallocarray(lines, cap, sizeof(*lines));
				if (lines == NULL)
					err(EX_OSERR, "malloc");
			}
			memset(&lines[n], 0, sizeof(lines[n]));
			lines[n].start = p;
			lines[n].len = len;
			if (parse_header(&lines[n]) == 0) {
				nhdr++;
				if (lines[n].sec < min_sec)
					min_sec = lines[n].sec;
				if (lines[n].sec > max_sec)
					max_sec = lines[n].sec;
				if (lines[n].serial < min_ser)
					min_ser = lines[n].serial;
				if (lines[n].serial > max_ser)
					max_ser = lines[n].serial;
			} else
				lines[n].sec_off = 0;
			n++;
		}
		p += len + 1;
	}
	if (nhdr == 0)
		errx(EX_DATAERR, "%s: no line has a msg=audit(SEC.MSEC:SERIAL) "
		    "header; is this an audit log?", b->sample);
	if (nhdr < n)
		warnx("%s: %zu of %zu lines have no msg=audit() header; "
		    "copied unchanged", b->sample, n - nhdr, n);
	sec_span = max_sec - min_sec + 1;
	ser_span = max_ser - min_ser + 1;

	fd = open(b->stream, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 || (out = fdopen(fd, "w")) == NULL)
		err(EX_CANTCREAT, "%s", b->stream);
	if ((iobuf = malloc(1 << 20)) == NULL)
		err(EX_OSERR, "malloc");
	setvbuf(out, iobuf, _IOFBF, 1 << 20);

	for (i = 0; bytes < b->size; i++) {
		const struct sample_line *l;
		const char *num;
		size_t before;

		if (i == n) {
			i = 0;
			k++;
			if (interrupted)
				errx(EX_TEMPFAIL, "interrupted");
		}
		l = &lines[i];
		before = l->sec_off != 0 ? l->sec_off : l->len;
		fwrite(l->start, 1, before, out);
		bytes += before;
		if (l->sec_off != 0) {
			num = utoa(l->sec + k * sec_span, numbuf);
			fputs(num, out);
			bytes += strlen(num);
			fwrite(l->start + l->msec_off, 1,
			    l->serial_off - l->msec_off, out);
			bytes += l->serial_off - l->msec_off;
			num = utoa(l->serial + k * ser_span, numbuf);
			fputs(num, out);
			bytes += strlen(num);
			fwrite(l->start + l->rest_off, 1,
			    l->len - l->rest_off, out);
			bytes += l->len - l->rest_off;
		}
		putc('\n', out);
		bytes++;
		records++;
	}
	/* Keep the build's writeback out of the first timed run. */
	if (fflush(out) == EOF || fsync(fileno(out)) == -1 ||
	    fclose(out) == EOF)
		err(EX_IOERR, "%s", b->stream);
	free(iobuf);

	b->stream_bytes = bytes;
	b->stream_records = records;
	b->sample_records = n;
	b->repeats = k + 1;
	free(lines);
	free(text);
}

static void
write_conf(const struct bench *b)
{
	FILE *f;
	int fd;

	if (strpbrk(b->spool, "\"\\\n") != NULL)
		errx(EX_USAGE, "%s: a character the config cannot quote",
		    b->spool);
	fd = open(b->conf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 || fchmod(fd, 0600) == -1 ||
	    (f = fdopen(fd, "w")) == NULL)
		err(EX_CANTCREAT, "%s", b->conf);
	fprintf(f, "sender {\n\tdirectory \"%s\"\n\tspool_max_size 0\n"
	    "\tflush none\n}\n", b->spool);
	if (fclose(f) == EOF)
		err(EX_IOERR, "%s", b->conf);
}

/* In a forked child: report and leave without running atexit handlers. */
static void
child_fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dprintf(STDERR_FILENO, "bench: %s: %s\n", msg, strerror(e));
	_exit(127);
}

/*
 * Start argv[0] with stdin = in_fd, stdout = a new file at out_path (or
 * /dev/null), stderr = err_path, and an empty environment, as auditd starts
 * its plugins.
 */
static pid_t
spawn(const char *const *argv, int in_fd, const char *out_path,
    const char *err_path)
{
	pid_t pid;
	int fd, efd;

	if ((pid = fork()) == -1)
		err(EX_OSERR, "fork");
	if (pid != 0)
		return pid;

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	/* Its own group, so an abort also kills whatever it started. */
	setpgid(0, 0);
	if (out_path != NULL)
		fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600);
	else
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd == -1)
		child_fail("%s", out_path != NULL ? out_path : "/dev/null");
	efd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (efd == -1)
		child_fail("%s", err_path);
	if (dup2(fd, STDOUT_FILENO) == -1 || dup2(in_fd, STDIN_FILENO) == -1)
		child_fail("dup2");
	/* From here on our own messages go to the log too. */
	if (dup2(efd, STDERR_FILENO) == -1)
		child_fail("dup2");
	/* execve's argv is not const-qualified for historical reasons. */
	execve(argv[0], (char *const *)(uintptr_t)argv, empty_env);
	child_fail("exec %s", argv[0]);
}

/* A child that writes the stream file to sock in FEED_CHUNK writes. */
static pid_t
spawn_feeder(const char *path, int sock, int other)
{
	static char buf[FEED_CHUNK];
	ssize_t r, w;
	size_t off;
	pid_t pid;
	int fd;

	if ((pid = fork()) == -1)
		err(EX_OSERR, "fork");
	if (pid != 0)
		return pid;

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	close(other);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		child_fail("feeder: %s", path);
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < (size_t)r; off += (size_t)w) {
			w = write(sock, buf + off, (size_t)r - off);
			if (w == -1 && errno == EINTR)
				w = 0;
			else if (w == -1)
				child_fail("feeder: write");
		}
	}
	if (r == -1)
		child_fail("feeder: read %s", path);
	_exit(0);
}

/* What a failed program said, so an abort explains itself. */
static void
show_errlog(const char *path)
{
	char buf[4096];
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		if (write(STDERR_FILENO, buf, (size_t)r) != r)
			break;
	close(fd);
}

static int
pidfd_of(pid_t pid)
{
	int fd;

	/* A zombie still has a pidfd, so a child that already died is fine. */
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd == -1)
		err(EX_OSERR, "pidfd_open");
	return fd;
}

static void
reap_checked(pid_t pid, const char *what, struct rusage *ru,
    const char *errlog)
{
	int status;

	while (wait4(pid, &status, 0, ru) == -1)
		if (errno != EINTR)
			err(EX_OSERR, "wait4 %s", what);
	if (errlog != NULL && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		show_errlog(errlog);
	if (WIFSIGNALED(status))
		errx(EX_SOFTWARE, "%s killed by signal %d", what,
		    WTERMSIG(status));
	if (WEXITSTATUS(status) != 0)
		errx(EX_SOFTWARE, "%s exited with status %d", what,
		    WEXITSTATUS(status));
}

/*
 * Run audisp-dist (ours != 0) or cat once on the stream and check its
 * output.  "Drained" is when the program had read all input: for a file,
 * the stdin offset (shared with our descriptor) reached the end; for the
 * socketpair, the feeder finished and the receive queue was empty.
 */
static void
run_one(const struct bench *b, int ours, enum feed feed, struct result *res)
{
	char prog[PATH_MAX];
	const char *argv[4];
	const char *what = ours ? "audisp-dist" : "cat";
	struct timespec tick = { 0, POLL_NSEC }, slow = { 0, 50000000L };
	struct rusage ru;
	struct pollfd pfd;
	uint64_t got;
	double t0, deadline;
	pid_t pid, feeder = -1;
	int in_fd, sv[2] = { -1, -1 }, feeder_done = 0, feeder_status = 0;
	int queued;
	off_t pos;

	rm_path(b->spool);
	rm_path(b->catout);
	if (ours && mkdir(b->spool, 0700) == -1)
		err(EX_CANTCREAT, "%s", b->spool);
	/* Writeback left over from the previous run must not land in this one. */
	sync();

	if (ours) {
		snprintf(prog, sizeof(prog), "%s/audisp-dist", b->bindir);
		argv[0] = prog;
		argv[1] = "-f";
		argv[2] = b->conf;
		argv[3] = NULL;
	} else {
		argv[0] = CAT_PATH;
		argv[1] = NULL;
	}

	if (feed == FEED_FILE) {
		in_fd = open(b->stream, O_RDONLY | O_CLOEXEC);
		if (in_fd == -1)
			err(EX_NOINPUT, "%s", b->stream);
	} else {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
			err(EX_OSERR, "socketpair");
		in_fd = sv[0];
	}

	t0 = now();
	deadline = t0 + RUN_TIMEOUT;
	pid = spawn(argv, in_fd, ours ? NULL : b->catout, b->errlog);
	if (feed == FEED_SOCKET) {
		feeder = spawn_feeder(b->stream, sv[1], sv[0]);
		/* Keep sv[0] to look at its receive queue; sv[1] must go. */
		close(sv[1]);
	}
	pfd.fd = pidfd_of(pid);
	pfd.events = POLLIN;
	res->drained = NAN;

	for (;;) {
		pfd.revents = 0;
		if (ppoll(&pfd, 1, isnan(res->drained) ? &tick : &slow,
		    NULL) == -1 && errno != EINTR)
			err(EX_OSERR, "ppoll");
		if (pfd.revents != 0)
			break;
		if (interrupted || now() > deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			if (feeder != -1 && !feeder_done) {
				kill(feeder, SIGKILL);
				waitpid(feeder, NULL, 0);
			}
			show_errlog(b->errlog);
			errx(EX_SOFTWARE, "%s: %s", what, interrupted ?
			    "interrupted" : "run timed out");
		}
		if (!isnan(res->drained))
			continue;
		if (feed == FEED_FILE) {
			pos = lseek(in_fd, 0, SEEK_CUR);
			if (pos != -1 && (uint64_t)pos >= b->stream_bytes)
				res->drained = now() - t0;
		} else {
			/* A failed feeder is reported after the program's fate. */
			if (!feeder_done &&
			    waitpid(feeder, &feeder_status, WNOHANG) == feeder)
				feeder_done = 1;
			if (feeder_done && ioctl(in_fd, FIONREAD, &queued) == 0 &&
			    queued == 0)
				res->drained = now() - t0;
		}
	}
	res->exited = now() - t0;
	close(pfd.fd);
	reap_checked(pid, what, &ru, b->errlog);
	res->maxrss_kib = ru.ru_maxrss;
	if (feeder != -1 && !feeder_done)
		reap_checked(feeder, "feeder", NULL, NULL);
	else if (feeder != -1 && (!WIFEXITED(feeder_status) ||
	    WEXITSTATUS(feeder_status) != 0))
		errx(EX_SOFTWARE, "feeder failed");

	/* It read everything between two samples and exited at once. */
	if (isnan(res->drained)) {
		if (feed == FEED_FILE) {
			pos = lseek(in_fd, 0, SEEK_CUR);
			if (pos != -1 && (uint64_t)pos >= b->stream_bytes)
				res->drained = res->exited;
		} else if (ioctl(in_fd, FIONREAD, &queued) == 0 && queued == 0)
			res->drained = res->exited;
	}
	close(in_fd);

	if (ours)
		got = spool_bytes(b->spool);
	else {
		struct stat st;

		if (stat(b->catout, &st) == -1)
			err(EX_SOFTWARE, "%s", b->catout);
		got = (uint64_t)st.st_size;
	}
	if (got != b->stream_bytes) {
		show_errlog(b->errlog);
		errx(EX_SOFTWARE, "%s (%s): wrote %" PRIu64 " bytes for a stream "
		    "of %" PRIu64 "; the run is broken, not measuring it", what,
		    feed == FEED_FILE ? "file" : "socketpair", got,
		    b->stream_bytes);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of the finite values; NAN when there are none. */
static double
median(const double *v, size_t n)
{
	double s[n > 0 ? n : 1];
	size_t i, m = 0;

	for (i = 0; i < n; i++)
		if (isfinite(v[i]))
			s[m++] = v[i];
	if (m == 0)
		return NAN;
	qsort(s, m, sizeof(s[0]), cmp_double);
	return m % 2 ? s[m / 2] : (s[m / 2 - 1] + s[m / 2]) / 2;
}

static void
row_add(struct table *t, const struct row *spec)
{
	struct row *r;

	if (t->n == MAX_ROWS)
		errx(EX_SOFTWARE, "too many rows; raise MAX_ROWS");
	r = &t->rows[t->n++];
	*r = *spec;
	/* Groups build figure names in buffers they reuse. */
	if ((r->figure = strdup(spec->figure)) == NULL ||
	    (spec->target_text != NULL &&
	    (r->target_text = strdup(spec->target_text)) == NULL))
		err(EX_OSERR, "strdup");
}

static void
table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free((void *)(uintptr_t)t->rows[i].figure);
		free((void *)(uintptr_t)t->rows[i].target_text);
	}
	free(t);
}

/* Intake: stdin to spool, against cat copying stdin to a file. */
static void
group_intake(struct bench *b, struct table *t)
{
	static const struct {
		enum feed	 feed;
		const char	*name;
	} feeds[] = {
		{ FEED_FILE, "file->spool" },
		{ FEED_SOCKET, "socketpair" },
	};
	size_t nf = sizeof(feeds) / sizeof(feeds[0]), f;
	double ex[2][b->runs], dr[2][b->runs], tl[2][b->runs];
	double tex[2], tdr[2], ttl[2], mib;
	long rss[2] = { 0, 0 };
	struct result res;
	unsigned i, j;
	char fig[64];
	int ours;

	write_conf(b);
	for (f = 0; f < nf; f++) {
		for (i = 0; i < b->runs; i++) {
			/* Alternate who goes first so neither always follows. */
			for (j = 0; j < 2; j++) {
				ours = (i + j) % 2 == 0;
				run_one(b, ours, feeds[f].feed, &res);
				ex[ours][i] = res.exited;
				dr[ours][i] = res.drained;
				tl[ours][i] = res.exited - res.drained;
				if (res.maxrss_kib > rss[ours])
					rss[ours] = res.maxrss_kib;
				fprintf(stderr, "intake %-11s run %u/%u %-11s "
				    "exit %7.3f s  drained %7.3f s  "
				    "rss %5.2f MiB\n", feeds[f].name, i + 1,
				    b->runs, ours ? "audisp-dist" : "cat",
				    res.exited, res.drained,
				    (double)res.maxrss_kib / 1024);
			}
		}
		for (ours = 0; ours < 2; ours++) {
			tex[ours] = median(ex[ours], b->runs);
			tdr[ours] = median(dr[ours], b->runs);
			ttl[ours] = median(tl[ours], b->runs);
		}
		mib = (double)b->stream_bytes / 1e6;

		snprintf(fig, sizeof(fig), "intake %s records/s", feeds[f].name);
		row_add(t, &(struct row){ .figure = fig,
		    .ours = (double)b->stream_records / tex[1],
		    .base = (double)b->stream_records / tex[0],
		    .base_name = "cat", .prec = 0,
		    .kind = TGT_RATIO_MIN, .target = 0.8,
		    .target_text = ">= 0.80x cat" });
		snprintf(fig, sizeof(fig), "intake %s MB/s", feeds[f].name);
		row_add(t, &(struct row){ .figure = fig,
		    .ours = mib / tex[1], .base = mib / tex[0],
		    .base_name = "cat", .prec = 1,
		    .kind = TGT_RATIO_MIN, .target = 0.8,
		    .target_text = ">= 0.80x cat" });
		/* Without the final sync at exit: what auditd would feel. */
		row_add(t, &(struct row){ .figure = "  stdin drained MB/s",
		    .ours = mib / tdr[1], .base = mib / tdr[0],
		    .base_name = "cat", .prec = 1 });
		row_add(t, &(struct row){ .figure = "  exit after EOF (ms)",
		    .ours = ttl[1] * 1e3, .base = ttl[0] * 1e3,
		    .base_name = "cat", .prec = 1, .no_ratio = 1 });
	}
	row_add(t, &(struct row){ .figure = "plugin peak RSS (MiB)",
	    .ours = (double)rss[1] / 1024, .base = (double)rss[0] / 1024,
	    .base_name = "cat", .prec = 2, .no_ratio = 1,
	    .kind = TGT_OURS_BELOW, .target = 4.0, .target_text = "< 4 MiB" });
}

/* The file system type of path, from the mount table. */
static void
fs_type(const char *path, char *out, size_t outlen)
{
	struct stat st;
	char line[4096], *sep, *tok, *save;
	unsigned maj, min;
	FILE *f;
	int field;

	snprintf(out, outlen, "unknown");
	if (stat(path, &st) == -1 ||
	    (f = fopen("/proc/self/mountinfo", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SRC OPTS */
		tok = strtok_r(line, " ", &save);
		for (field = 1; tok != NULL && field < 3; field++)
			tok = strtok_r(NULL, " ", &save);
		if (tok == NULL || sscanf(tok, "%u:%u", &maj, &min) != 2 ||
		    makedev(maj, min) != st.st_dev)
			continue;
		if ((sep = strstr(save, " - ")) == NULL)
			continue;
		tok = strtok_r(sep + 3, " ", &save);
		if (tok != NULL) {
			snprintf(out, outlen, "%s", tok);
			break;
		}
	}
	fclose(f);
}

static void
print_machine(const struct bench *b)
{
	char line[512], cpu[256] = "unknown CPU", fs[64], *p;
	struct utsname u;
	FILE *f;

	if ((f = fopen("/proc/cpuinfo", "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, "model name", 10) != 0 ||
			    (p = strchr(line, ':')) == NULL)
				continue;
			for (p++; *p == ' ' || *p == '\t'; p++)
				;
			p[strcspn(p, "\n")] = '\0';
			snprintf(cpu, sizeof(cpu), "%s", p);
			break;
		}
		fclose(f);
	}
	if (uname(&u) == -1)
		err(EX_OSERR, "uname");
	fs_type(b->tmpdir, fs, sizeof(fs));
	printf("machine: %s, %ld cores, %s %s %s, bench dir %s on %s\n", cpu,
	    sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release, u.machine,
	    b->tmpdir, fs);
	printf("stream: %" PRIu64 " bytes, %" PRIu64 " records (%s: %" PRIu64
	    " records, %" PRIu64 " passes, serials renumbered); median of %u "
	    "runs each; MB = 10^6 bytes; input read from the page cache\n\n",
	    b->stream_bytes, b->stream_records, b->sample, b->sample_records,
	    b->repeats, b->runs);
}

static void
fmt_value(char *buf, size_t len, double v, int prec)
{
	if (isfinite(v))
		snprintf(buf, len, "%.*f", prec, v);
	else
		snprintf(buf, len, "-");
}

#define NCOLS 6

static void
print_table(const struct table *t)
{
	char cells[MAX_ROWS + 1][NCOLS][80];
	size_t width[NCOLS] = { 0 }, i, c, len;
	const char *base_hdr = NULL, *verdict;
	double ratio;
	int mixed = 0;

	for (i = 0; i < t->n; i++) {
		if (t->rows[i].base_name == NULL)
			continue;
		if (base_hdr == NULL)
			base_hdr = t->rows[i].base_name;
		else if (strcmp(base_hdr, t->rows[i].base_name) != 0)
			mixed = 1;
	}
	if (base_hdr == NULL || mixed)
		base_hdr = "baseline";

	snprintf(cells[0][0], sizeof(cells[0][0]), "figure");
	snprintf(cells[0][1], sizeof(cells[0][1]), "audisp-dist");
	snprintf(cells[0][2], sizeof(cells[0][2]), "%s", base_hdr);
	snprintf(cells[0][3], sizeof(cells[0][3]), "ratio");
	snprintf(cells[0][4], sizeof(cells[0][4]), "target");
	snprintf(cells[0][5], sizeof(cells[0][5]), "met?");
	for (i = 0; i < t->n; i++) {
		const struct row *r = &t->rows[i];
		char (*cell)[80] = cells[i + 1];

		ratio = !r->no_ratio && isfinite(r->ours) &&
		    isfinite(r->base) && r->base > 0 ? r->ours / r->base : NAN;
		snprintf(cell[0], sizeof(cell[0]), "%s", r->figure);
		fmt_value(cell[1], sizeof(cell[1]), r->ours, r->prec);
		fmt_value(cell[2], sizeof(cell[2]), r->base, r->prec);
		if (mixed && r->base_name != NULL && isfinite(r->base)) {
			len = strlen(cell[2]);
			snprintf(cell[2] + len, sizeof(cell[2]) - len, " (%s)",
			    r->base_name);
		}
		fmt_value(cell[3], sizeof(cell[3]), ratio, 2);
		snprintf(cell[4], sizeof(cell[4]), "%s",
		    r->target_text != NULL ? r->target_text : "-");
		switch (r->kind) {
		case TGT_RATIO_MIN:
			verdict = !isfinite(ratio) ? "?" :
			    ratio >= r->target ? "yes" : "NO";
			break;
		case TGT_OURS_BELOW:
			verdict = !isfinite(r->ours) ? "?" :
			    r->ours < r->target ? "yes" : "NO";
			break;
		default:
			verdict = "-";
			break;
		}
		snprintf(cell[5], sizeof(cell[5]), "%s", verdict);
	}
	for (i = 0; i <= t->n; i++)
		for (c = 0; c < NCOLS; c++)
			if ((len = strlen(cells[i][c])) > width[c])
				width[c] = len;
	for (i = 0; i <= t->n; i++) {
		for (c = 0; c < NCOLS; c++)
			/* Text left, numbers right. */
			printf(c == 0 || c >= 4 ? "| %-*s " : "| %*s ",
			    (int)width[c], cells[i][c]);
		printf("|\n");
		if (i == 0) {
			for (c = 0; c < NCOLS; c++) {
				printf(c == 0 || c >= 4 ? "|:" : "|-");
				for (len = 0; len < width[c]; len++)
					putchar('-');
				printf(c == 0 || c >= 4 ? "-" : ":");
			}
			printf("|\n");
		}
	}
}

int
main(int argc, char *argv[])
{
	struct bench b;
	struct table *t;
	struct statvfs sv;
	struct sigaction sa;
	char prog[PATH_MAX], dir[PATH_MAX], tmpl[PATH_MAX];
	const char *dirarg = DEFAULT_DIR;
	unsigned long v;
	char *end;
	size_t g;
	int ch;

	memset(&b, 0, sizeof(b));
	b.sample = DEFAULT_SAMPLE;
	b.runs = DEFAULT_RUNS;
	b.size = (uint64_t)DEFAULT_MIB << 20;
	b.bindir = getenv("B") != NULL ? getenv("B") : "build";

	while ((ch = getopt(argc, argv, "d:hi:kn:s:")) != -1) {
		switch (ch) {
		case 'd':
			dirarg = optarg;
			break;
		case 'i':
			b.sample = optarg;
			break;
		case 'k':
			keep_tmp = 1;
			break;
		case 'n':
		case 's':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v == 0 ||
			    v > (ch == 'n' ? 1000UL : 1UL << 20))
				errx(EX_USAGE, "-%c %s: out of range", ch,
				    optarg);
			if (ch == 'n')
				b.runs = (unsigned)v;
			else
				b.size = (uint64_t)v << 20;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	snprintf(prog, sizeof(prog), "%s/audisp-dist", b.bindir);
	if (access(prog, X_OK) == -1)
		err(EX_UNAVAILABLE, "%s (build it with make; set B to its "
		    "directory)", prog);
	if (access(CAT_PATH, X_OK) == -1)
		err(EX_UNAVAILABLE, "%s", CAT_PATH);
	if (access(b.sample, R_OK) == -1)
		err(EX_NOINPUT, "%s: the recorded sample of real audit records "
		    "is needed to build the input stream", b.sample);
	if (realpath(dirarg, dir) == NULL)
		err(EX_CANTCREAT, "%s", dirarg);
	/* The stream plus one output at a time, with some slack. */
	if (statvfs(dir, &sv) == -1)
		err(EX_CANTCREAT, "%s", dir);
	if ((double)sv.f_bavail * (double)sv.f_frsize < 2.2 * (double)b.size)
		errx(EX_CANTCREAT, "%s: needs %" PRIu64 " MiB free for a %"
		    PRIu64 " MiB stream", dir, (b.size * 22 / 10) >> 20,
		    b.size >> 20);

	owner_pid = getpid();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (atexit(cleanup) != 0)
		errx(EX_OSERR, "atexit");
	umask(077);

	if ((size_t)snprintf(tmpl, sizeof(tmpl), "%s/auditdist-bench.XXXXXX",
	    dir) >= sizeof(tmpl))
		errx(EX_USAGE, "%s: path too long", dir);
	if ((b.tmpdir = mkdtemp(tmpl)) == NULL)
		err(EX_CANTCREAT, "mkdtemp %s", tmpl);
	cleanup_dir = b.tmpdir;
	snprintf(b.stream, sizeof(b.stream), "%s/stream.log", b.tmpdir);
	snprintf(b.conf, sizeof(b.conf), "%s/audisp-dist.conf", b.tmpdir);
	snprintf(b.spool, sizeof(b.spool), "%s/spool", b.tmpdir);
	snprintf(b.catout, sizeof(b.catout), "%s/cat.out", b.tmpdir);
	snprintf(b.errlog, sizeof(b.errlog), "%s/stderr.log", b.tmpdir);

	fprintf(stderr, "bench: building a %" PRIu64 " MiB stream from %s\n",
	    b.size >> 20, b.sample);
	build_stream(&b);

	if ((t = calloc(1, sizeof(*t))) == NULL)
		err(EX_OSERR, "calloc");
	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		fprintf(stderr, "bench: %s\n", groups[g].name);
		groups[g].run(&b, t);
	}
	rm_path(b.spool);
	rm_path(b.catout);

	print_machine(&b);
	print_table(t);
	table_free(t);
	return 0;
}
