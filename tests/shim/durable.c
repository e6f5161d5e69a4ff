/*
 * durable.so: an LD_PRELOAD shim for 91-nats-crash that catches the
 * publisher reading trail bytes no one has made durable, and stops a
 * process of the receiver at the points where a crash of the whole
 * receiver matters.
 *
 * Durable bytes: for each regular file on DURABLE_ROOT's file system, the
 * size it had just before an fsync, fdatasync or syncfs that succeeded,
 * in any process of the receiver, before or after a crash.  That is kept
 * in DURABLE_MAP, a file of zeroes (at least MAP_BYTES) that the test
 * makes and every process maps shared, so it outlives the processes as
 * durable bytes do.  A file found shorter (a cut) lowers it.
 *
 * A pread of a trail data file (not an .idx) that returns bytes past its
 * durable size, in a process that connected an IP socket and opened no
 * trail file for writing (the publisher: the writers write, the auditor
 * connects nowhere), is a violation, one line appended to DURABLE_LOG:
 *	violation pid=P file=NAME end=E durable=D
 *
 * DURABLE_CTL holds one word, read at each point; when it names the point
 * reached, it is set to "off", a line
 *	stop pid=P point=WORD file=NAME
 * is logged and the process stops itself (SIGSTOP), for the test to kill
 * the whole receiver there:
 *	write	a writer about to sync a data file that holds bytes not
 *		durable: written, not yet synced;
 *	sync	the publisher just synced a data file: synced, not published;
 *	cursor	the publisher opening its cursor's temporary file after it
 *		read a data file: published, the cursor not yet saved.
 *
 * Files are opened and mapped at load time (the processes are confined
 * later); afterwards only fstat, pread, pwrite, ftruncate, write, getpid
 * and kill are used, which every seccomp filter of the receiver allows.
 * A program built with _FILE_OFFSET_BITS=64 calls the *64 names: both
 * are defined.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAP_SLOTS	4096
#define MAP_BYTES	(MAP_SLOTS * sizeof(struct slot))
#define MAXFD		1024
#define FD_LOG		902
#define FD_CTL		903

struct slot {
	uint64_t	ino;		/* 0: free */
	uint64_t	size;		/* durable bytes */
};

struct fdinfo {
	uint64_t	ino;		/* 0: not a file of the root's */
	int		data;		/* not an index */
	int		wr;		/* opened for writing */
	char		name[48];
};

static struct slot *map;
static struct fdinfo fds[MAXFD];
static dev_t root_dev;
static int log_fd = -1, ctl_fd = -1;
static pid_t connected;		/* that connected a socket: a publisher */
static pid_t writer;		/* that opened a data file for writing */
static int read_data;		/* read a data file since the cursor's save */

#define REAL_DECL(f)	static __typeof__(f) *real_##f
REAL_DECL(openat); REAL_DECL(open); REAL_DECL(close); REAL_DECL(fsync);
REAL_DECL(fdatasync); REAL_DECL(syncfs); REAL_DECL(ftruncate);
REAL_DECL(pread); REAL_DECL(connect); REAL_DECL(close_range);

static void
resolve(void)
{
	if (real_connect != NULL)
		return;
#define REAL(f)	(real_##f = (__typeof__(real_##f))dlsym(RTLD_NEXT, #f))
	REAL(openat); REAL(open); REAL(close); REAL(fsync); REAL(fdatasync);
	REAL(syncfs); REAL(ftruncate); REAL(pread); REAL(close_range);
	REAL(connect);	/* last: the others are set when it is */
#undef REAL
}

static void
say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	if (log_fd == -1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)write(log_fd, buf, (size_t)n < sizeof(buf) ?
		    (size_t)n : sizeof(buf) - 1);
}

static struct slot *
slot_of(uint64_t ino)
{
	size_t i, k;
	uint64_t zero;

	if (map == NULL || ino == 0)
		return NULL;
	for (k = 0, i = ino % MAP_SLOTS; k < MAP_SLOTS; k++,
	    i = (i + 1) % MAP_SLOTS) {
		zero = 0;
		if (__atomic_load_n(&map[i].ino, __ATOMIC_SEQ_CST) == ino ||
		    __atomic_compare_exchange_n(&map[i].ino, &zero, ino, 0,
		    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST) || zero == ino)
			return &map[i];
	}
	return NULL;
}

static uint64_t
durable(uint64_t ino)
{
	struct slot *s = slot_of(ino);

	return s == NULL ? 0 : __atomic_load_n(&s->size, __ATOMIC_SEQ_CST);
}

/* Raise (synced) or lower (found shorter) the durable size to size. */
static void
set_durable(uint64_t ino, uint64_t size, int raise)
{
	struct slot *s = slot_of(ino);
	uint64_t old;

	if (s == NULL)
		return;
	old = __atomic_load_n(&s->size, __ATOMIC_SEQ_CST);
	while ((raise ? size > old : size < old) &&
	    !__atomic_compare_exchange_n(&s->size, &old, size, 0,
	    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
}

static uint64_t
size_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Stop here when DURABLE_CTL names this point. */
static void
point(const char *word, const char *file)
{
	char buf[16];
	ssize_t n;

	if (ctl_fd == -1 || (n = pread(ctl_fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (strcmp(buf, word) != 0)
		return;
	if (real_ftruncate(ctl_fd, 0) == 0)
		(void)pwrite(ctl_fd, "off\n", 4, 0);
	say("stop pid=%d point=%s file=%s\n", (int)getpid(), word, file);
	kill(getpid(), SIGSTOP);
}

static void
track(int fd, const char *path, int flags)
{
	struct stat st;
	const char *base;
	size_t len;

	if (fd < 0 || fd >= MAXFD)
		return;
	memset(&fds[fd], 0, sizeof(fds[fd]));
	if (map == NULL || fstat(fd, &st) == -1 || st.st_dev != root_dev ||
	    !S_ISREG(st.st_mode))
		return;
	base = strrchr(path, '/');
	base = base == NULL ? path : base + 1;
	len = strlen(base);
	fds[fd].ino = (uint64_t)st.st_ino;
	fds[fd].data = !(len > 4 && strcmp(base + len - 4, ".idx") == 0);
	fds[fd].wr = (flags & O_ACCMODE) != O_RDONLY;
	snprintf(fds[fd].name, sizeof(fds[fd].name), "%s", base);
	if (fds[fd].wr)
		writer = getpid();
	/* Shorter than it was durable: cut, or a new file on an old inode. */
	set_durable(fds[fd].ino, (uint64_t)st.st_size, 0);
}

/* Inherited values name the parent: a child is itself only once it acts. */
static int
publisher(void)
{
	pid_t pid = getpid();

	return connected == pid && writer != pid;
}

static const struct fdinfo *
tracked(int fd)
{
	return fd >= 0 && fd < MAXFD && fds[fd].ino != 0 ? &fds[fd] : NULL;
}

__attribute__((constructor)) static void
durable_init(void)
{
	const char *root = getenv("DURABLE_ROOT"), *m = getenv("DURABLE_MAP");
	const char *lg = getenv("DURABLE_LOG"), *ctl = getenv("DURABLE_CTL");
	struct stat st;
	void *p;
	int fd;

	resolve();
	if (root == NULL || m == NULL || stat(root, &st) == -1)
		return;
	root_dev = st.st_dev;
	if ((fd = real_open(m, O_RDWR | O_CLOEXEC)) == -1)
		return;
	p = mmap(NULL, MAP_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	real_close(fd);
	if (p == MAP_FAILED)
		return;
	map = p;
	/* Out of the way of close_range: above what the daemon keeps. */
	if (lg != NULL && (fd = real_open(lg, O_WRONLY | O_APPEND)) != -1) {
		log_fd = fcntl(fd, F_DUPFD_CLOEXEC, FD_LOG);
		real_close(fd);
	}
	if (ctl != NULL && (fd = real_open(ctl, O_RDWR)) != -1) {
		ctl_fd = fcntl(fd, F_DUPFD_CLOEXEC, FD_CTL);
		real_close(fd);
	}
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;
	int fd;

	resolve();
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (read_data && (flags & O_CREAT) && publisher() &&
	    strstr(path, ".cursor.tmp") != NULL) {
		read_data = 0;
		point("cursor", path);
	}
	fd = real_openat(dirfd, path, flags, mode);
	track(fd, path, flags);
	return fd;
}

/* What a program built with _FILE_OFFSET_BITS=64 calls. */
int openat64(int, const char *, int, ...) __attribute__((alias("openat")));

int
open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;
	int fd;

	resolve();
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	fd = real_open(path, flags, mode);
	track(fd, path, flags);
	return fd;
}

int open64(const char *, int, ...) __attribute__((alias("open")));

int
close(int fd)
{
	resolve();
	if ((fd == log_fd || fd == ctl_fd) && fd != -1)
		return 0;
	if (fd >= 0 && fd < MAXFD)
		fds[fd].ino = 0;
	return real_close(fd);
}

/* One file synced by a writer or by the publisher. */
static int
sync_one(int fd, int (*real)(int))
{
	const struct fdinfo *f = tracked(fd);
	uint64_t size;
	int r;

	if (f == NULL)
		return real(fd);
	size = size_of(fd);
	if (f->wr && f->data && size > durable(f->ino))
		point("write", f->name);
	if ((r = real(fd)) == 0) {
		set_durable(f->ino, size, 1);
		if (f->data && publisher())
			point("sync", f->name);
	}
	return r;
}

int
fsync(int fd)
{
	resolve();
	return sync_one(fd, real_fsync);
}

int
fdatasync(int fd)
{
	resolve();
	return sync_one(fd, real_fdatasync);
}

/* Every file of the root's this process holds, synced at once. */
int
syncfs(int fd)
{
	static uint64_t size[MAXFD];
	const struct fdinfo *f;
	int i, r;

	resolve();
	for (i = 0; i < MAXFD; i++)
		if ((f = tracked(i)) != NULL) {
			size[i] = size_of(i);
			if (f->wr && f->data && size[i] > durable(f->ino))
				point("write", f->name);
		}
	if ((r = real_syncfs(fd)) == 0)
		for (i = 0; i < MAXFD; i++)
			if ((f = tracked(i)) != NULL)
				set_durable(f->ino, size[i], 1);
	return r;
}

int
ftruncate(int fd, off_t len)
{
	const struct fdinfo *f;
	int r;

	resolve();
	if ((r = real_ftruncate(fd, len)) == 0 && (f = tracked(fd)) != NULL)
		set_durable(f->ino, (uint64_t)len, 0);
	return r;
}

int ftruncate64(int, off_t) __attribute__((alias("ftruncate")));

ssize_t
pread(int fd, void *buf, size_t n, off_t off)
{
	const struct fdinfo *f;
	uint64_t end, d;
	ssize_t r;

	resolve();
	r = real_pread(fd, buf, n, off);
	if (r > 0 && (f = tracked(fd)) != NULL && f->data && publisher()) {
		read_data = 1;
		end = (uint64_t)off + (uint64_t)r;
		if (end > (d = durable(f->ino)))
			say("violation pid=%d file=%s end=%llu durable=%llu\n",
			    (int)getpid(), f->name, (unsigned long long)end,
			    (unsigned long long)d);
	}
	return r;
}

ssize_t pread64(int, void *, size_t, off_t) __attribute__((alias("pread")));

int
connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	resolve();
	if (sa != NULL && (sa->sa_family == AF_INET ||
	    sa->sa_family == AF_INET6))
		connected = getpid();
	return real_connect(fd, sa, len);
}

/* The log and the control file stay open. */
int
close_range(unsigned first, unsigned last, int flags)
{
	unsigned lo = (unsigned)FD_LOG, hi = (unsigned)FD_CTL;

	resolve();
	if (last < lo || first > hi)
		return real_close_range(first, last, flags);
	if (first < lo && real_close_range(first, lo - 1, flags) == -1)
		return -1;
	if (last > hi)
		return real_close_range(hi + 1, last, flags);
	return 0;
}
