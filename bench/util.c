/*
 * What every group needs: starting and stopping programs the way auditd
 * starts plugins, reading /proc, loopback ports, files and medians.
 */
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAX_TRACKED	256

static char *const empty_env[] = { NULL };
static pid_t tracked[MAX_TRACKED];
static size_t ntracked;

double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
sleep_s(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !interrupted)
		;
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

void
rm_path(const char *path)
{
	if (rm_tree_at(AT_FDCWD, path) == -1)
		warn("remove %s", path);
}

/* Decimal digits of v, NUL-terminated, ending at the end of buf[21]. */
char *
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

/* In a forked child: report and leave without running atexit handlers. */
void
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
 * Start a program with an empty environment, as auditd starts its
 * plugins, in a process group of its own (so that an abort also kills
 * whatever it started).  The child is tracked until untrack_pid().
 */
pid_t
spawn_ex(const struct spawn *sp)
{
	pid_t pid;
	int in, out, efd;

	if ((pid = fork()) == -1)
		err(EX_OSERR, "fork");
	if (pid != 0) {
		setpgid(pid, pid);	/* no race with a kill(-pid) */
		track_pid(pid);
		return pid;
	}

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	setpgid(0, 0);
	if (sp->bind_src != NULL || sp->private_run) {
		/* Nothing under /etc or /run changes for the rest of us. */
		if (unshare(CLONE_NEWNS) == -1)
			child_fail("unshare(CLONE_NEWNS)");
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
			child_fail("mount --make-rprivate /");
		if (sp->bind_src != NULL && mount(sp->bind_src, sp->bind_dst,
		    NULL, MS_BIND, NULL) == -1)
			child_fail("bind %s over %s", sp->bind_src,
			    sp->bind_dst);
		if (sp->private_run && mount("tmpfs", "/run", "tmpfs",
		    MS_NOSUID | MS_NODEV, "mode=0755,size=4m") == -1)
			child_fail("tmpfs on /run");
	}
	if (sp->out_fd != -1)
		out = sp->out_fd;
	else if (sp->out_path != NULL)
		out = open(sp->out_path, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0600);
	else
		out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (out == -1)
		child_fail("%s", sp->out_path != NULL ? sp->out_path :
		    "/dev/null");
	in = sp->in_fd != -1 ? sp->in_fd :
	    open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (in == -1)
		child_fail("/dev/null");
	if (sp->err_fd != -1)
		efd = sp->err_fd;
	else if (sp->err_path != NULL)
		efd = open(sp->err_path, O_WRONLY | O_CREAT | O_TRUNC |
		    O_CLOEXEC, 0600);
	else
		efd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (efd == -1)
		child_fail("%s", sp->err_path);
	if (dup2(out, STDOUT_FILENO) == -1 || dup2(in, STDIN_FILENO) == -1)
		child_fail("dup2");
	/* From here on our own messages go to the log too. */
	if (dup2(efd, STDERR_FILENO) == -1)
		child_fail("dup2");
	/* execve's argv is not const-qualified for historical reasons. */
	execve(sp->argv[0], (char *const *)(uintptr_t)sp->argv, empty_env);
	child_fail("exec %s", sp->argv[0]);
}

/*
 * Start argv[0] with stdin = in_fd, stdout = a new file at out_path (or
 * /dev/null), stderr = err_path.
 */
pid_t
spawn(const char *const *argv, int in_fd, const char *out_path,
    const char *err_path)
{
	struct spawn sp = { .argv = argv, .in_fd = in_fd, .out_fd = -1,
	    .out_path = out_path, .err_fd = -1, .err_path = err_path };

	return spawn_ex(&sp);
}

/*
 * A child that writes the first len bytes of the stream file to sock in
 * FEED_CHUNK writes, then exits; other (the program's end) is closed in it.
 */
pid_t
spawn_feeder(const char *path, uint64_t len, int sock, int other)
{
	static char buf[FEED_CHUNK];
	ssize_t r, w;
	size_t off, want;
	pid_t pid;
	int fd;

	if ((pid = fork()) == -1)
		err(EX_OSERR, "fork");
	if (pid != 0) {
		track_pid(pid);
		return pid;
	}

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (other != -1)
		close(other);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		child_fail("feeder: %s", path);
	while (len > 0) {
		want = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		if ((r = read(fd, buf, want)) <= 0)
			break;
		for (off = 0; off < (size_t)r; off += (size_t)w) {
			w = write(sock, buf + off, (size_t)r - off);
			if (w == -1 && errno == EINTR)
				w = 0;
			else if (w == -1)
				child_fail("feeder: write");
		}
		len -= (uint64_t)r;
	}
	if (len > 0)
		child_fail("feeder: read %s", path);
	_exit(0);
}

/* What a failed program said, so an abort explains itself. */
void
show_errlog(const char *path)
{
	char buf[4096];
	ssize_t r;
	int fd;

	if (path == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	dprintf(STDERR_FILENO, "--- %s\n", path);
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		if (write(STDERR_FILENO, buf, (size_t)r) != r)
			break;
	close(fd);
}

int
pidfd_of(pid_t pid)
{
	int fd;

	/* A zombie still has a pidfd, so a child that already died is fine. */
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd == -1)
		err(EX_OSERR, "pidfd_open");
	return fd;
}

void
reap_checked(pid_t pid, const char *what, struct rusage *ru,
    const char *errlog)
{
	int status;

	while (wait4(pid, &status, 0, ru) == -1)
		if (errno != EINTR)
			err(EX_OSERR, "wait4 %s", what);
	untrack_pid(pid);
	if (errlog != NULL && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		show_errlog(errlog);
	if (WIFSIGNALED(status))
		errx(EX_SOFTWARE, "%s killed by signal %d", what,
		    WTERMSIG(status));
	if (WEXITSTATUS(status) != 0)
		errx(EX_SOFTWARE, "%s exited with status %d", what,
		    WEXITSTATUS(status));
}

/* True while our child pid has not exited (it is not reaped here). */
int
proc_alive(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
		return 0;
	return si.si_pid == 0;
}

/*
 * Send sig (0: none, it is stopping by itself) to our child pid, wait up
 * to timeout seconds, then SIGKILL it and its group; reap it.  Returns 0
 * when it exited in time (status in *statusp), -1 when it had to be
 * killed.
 */
int
stop_proc(pid_t pid, int sig, double timeout, int *statusp)
{
	struct pollfd pfd;
	double deadline = now() + timeout;
	int status = 0, rc = 0;

	if (sig != 0)
		kill(pid, sig);
	pfd.fd = pidfd_of(pid);
	pfd.events = POLLIN;
	while (now() < deadline) {
		pfd.revents = 0;
		if (poll(&pfd, 1, 20) == 1)
			break;
	}
	close(pfd.fd);
	if (!(pfd.revents & POLLIN)) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		rc = -1;
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	untrack_pid(pid);
	if (statusp != NULL)
		*statusp = status;
	return rc;
}

void
track_pid(pid_t pid)
{
	if (ntracked == MAX_TRACKED)
		errx(EX_SOFTWARE, "too many processes; raise MAX_TRACKED");
	tracked[ntracked++] = pid;
}

void
untrack_pid(pid_t pid)
{
	size_t i;

	for (i = 0; i < ntracked; i++)
		if (tracked[i] == pid) {
			tracked[i] = tracked[--ntracked];
			return;
		}
}

/* At an abort: everything we started, with its process group. */
void
kill_tracked(void)
{
	size_t i;

	for (i = 0; i < ntracked; i++) {
		kill(-tracked[i], SIGKILL);
		kill(tracked[i], SIGKILL);
	}
	for (i = 0; i < ntracked; i++)
		waitpid(tracked[i], NULL, 0);
	ntracked = 0;
}

/* A "Key:  N kB" line of /proc/PID/status, in KiB; -1 when unreadable. */
long
proc_kib(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* The first child process of pid found in /proc, or -1. */
pid_t
child_of(pid_t parent)
{
	char path[64], buf[512], *p;
	struct dirent *de;
	pid_t found = -1;
	long ppid;
	ssize_t n;
	DIR *d;
	int fd;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while (found == -1 && (de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "/proc/%s/stat",
		    de->d_name) >= sizeof(path))
			continue;
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* pid (comm) state ppid: comm may hold anything but ')'. */
		if ((p = strrchr(buf, ')')) == NULL || p[1] == '\0')
			continue;
		if (sscanf(p + 2, "%*c %ld", &ppid) == 1 &&
		    ppid == (long)parent)
			found = (pid_t)atol(de->d_name);
	}
	closedir(d);
	return found;
}

/* A TCP port on 127.0.0.1 that nothing uses right now. */
int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, port;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(EX_OSERR, "socket");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		err(EX_OSERR, "bind 127.0.0.1:0");
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/*
 * Sockets in /proc/net/tcp{,6} in TCP state st (0x0A listen, 0x01
 * established) whose local (remote == 0) or remote port is port.
 */
int
tcp_count(int port, int remote, int st)
{
	static const char *const files[] = { "/proc/net/tcp",
	    "/proc/net/tcp6" };
	char line[512], loc[64], rem[64];
	unsigned lport, rport, state;
	size_t i;
	int n = 0;
	FILE *f;

	for (i = 0; i < 2; i++) {
		if ((f = fopen(files[i], "re")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			char *c1, *c2;

			if (sscanf(line, " %*d: %63s %63s %x", loc, rem,
			    &state) != 3 ||
			    (c1 = strchr(loc, ':')) == NULL ||
			    (c2 = strchr(rem, ':')) == NULL)
				continue;
			lport = (unsigned)strtoul(c1 + 1, NULL, 16);
			rport = (unsigned)strtoul(c2 + 1, NULL, 16);
			if ((int)state == st &&
			    (int)(remote ? rport : lport) == port)
				n++;
		}
		fclose(f);
	}
	return n;
}

/* snprintf for paths: a path that does not fit stops the bench. */
void
pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		errx(EX_USAGE, "a path is too long: %s...", buf);
}

/* Create path with mode and the formatted contents; 0 or -1. */
int
write_file(const char *path, int mode, const char *fmt, ...)
{
	va_list ap;
	FILE *f;
	int fd, rc;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, mode);
	if (fd == -1 || fchmod(fd, (mode_t)mode) == -1 ||
	    (f = fdopen(fd, "w")) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	va_start(ap, fmt);
	rc = vfprintf(f, fmt, ap);
	va_end(ap);
	if (fclose(f) == EOF || rc < 0)
		return -1;
	return 0;
}

int64_t
file_size(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return -1;
	return (int64_t)st.st_size;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of the finite values; NAN when there are none. */
double
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

double
env_number(const char *name, double def, double lo, double hi)
{
	const char *s = getenv(name);
	char *end;
	double v;

	if (s == NULL || *s == '\0')
		return def;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !(v >= lo && v <= hi))
		errx(EX_USAGE, "%s=%s: a number from %g to %g", name, s, lo,
		    hi);
	return v;
}

/* The p-th percentile (0..100, nearest rank) of v, which gets sorted. */
double
percentile(double *v, size_t n, double p)
{
	size_t k;

	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(v[0]), cmp_double);
	k = (size_t)ceil(p / 100 * (double)n);
	return v[k > 0 ? k - 1 : 0];
}

/*
 * Does the concatenation of the files equal the first len bytes of ref?
 * 0: yes; -1: no, with what differs in why.
 */
int
compare_files(const char *const *paths, size_t n, const char *ref,
    uint64_t len, char *why, size_t whylen)
{
	static char a[1 << 16], b[1 << 16];
	uint64_t off = 0;
	ssize_t ra, rb;
	size_t i;
	int rfd, fd;

	if ((rfd = open(ref, O_RDONLY | O_CLOEXEC)) == -1)
		err(EX_NOINPUT, "%s", ref);
	for (i = 0; i < n; i++) {
		if ((fd = open(paths[i], O_RDONLY | O_CLOEXEC)) == -1) {
			snprintf(why, whylen, "%s: %s", paths[i],
			    strerror(errno));
			goto differ;
		}
		while ((ra = read(fd, a, sizeof(a))) > 0) {
			if (off + (uint64_t)ra > len) {
				snprintf(why, whylen, "%s: more bytes than "
				    "the %" PRIu64 " sent", paths[i], len);
				close(fd);
				goto differ;
			}
			for (rb = 0; rb < ra; ) {
				ssize_t r = read(rfd, b + rb, (size_t)(ra - rb));

				if (r <= 0)
					err(EX_IOERR, "%s", ref);
				rb += r;
			}
			if (memcmp(a, b, (size_t)ra) != 0) {
				snprintf(why, whylen, "%s: differs from the "
				    "input in bytes %" PRIu64 "..%" PRIu64,
				    paths[i], off, off + (uint64_t)ra);
				close(fd);
				goto differ;
			}
			off += (uint64_t)ra;
		}
		close(fd);
	}
	close(rfd);
	if (off != len) {
		snprintf(why, whylen, "%" PRIu64 " bytes of the %" PRIu64
		    " sent", off, len);
		return -1;
	}
	return 0;
differ:
	close(rfd);
	return -1;
}
