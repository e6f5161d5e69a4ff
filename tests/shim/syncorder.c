/*
 * syncorder.so: an LD_PRELOAD shim that catches a process telling a peer
 * anything while file data it may be reporting is not yet synced.
 *
 * It tracks, per process, the regular files below one file system
 * (SYNCORDER_ROOT's) that are dirty: opened for writing when they already
 * existed (their contents may be a dead process's page cache), or written,
 * truncated or allocated; and the directories whose entries changed or
 * were listed.  fsync/fdatasync of a descriptor of the same inode cleans
 * it; a syncfs that succeeds cleans every dirty file and directory of the
 * file system its descriptor is on (that is what it makes durable), in
 * every process, if it began after the file was last dirtied: the
 * writers ask another process (the committer) for their syncfs.  So each
 * dirtying is stamped with the number of syncfs calls begun so far, and a
 * successful syncfs publishes its own number, in a page all the processes
 * share (mapped before the daemon forks).  A write, send or sendmsg to a
 * socket other than 0-2 while anything is dirty is a violation, appended
 * as one line to SYNCORDER_LOG:
 *	violation pid=P fd=N ms=T dirty=NAME
 * except on a SOCK_SEQPACKET socket: that is a writer's ask to the
 * committer, which tells nothing (the network process's channels are
 * stream sockets).
 *
 * SYNCORDER_CRASH names a file holding "data" or "idx" (or anything else:
 * off): the next fsync/fdatasync of a dirty file whose name ends (".idx")
 * or does not end ("data") in .idx, or the next syncfs or ask to the
 * committer while such a file is dirty, rewrites it to "off", logs
 *	crash pid=P name=NAME
 * and kills the process with SIGKILL instead: a writer that dies with its
 * bytes in the page cache only.
 *
 * Both files are opened at load time (the writers are forked, then
 * confined: they could not open them later) on descriptors that
 * close_range and close leave alone.  Only system calls the writers'
 * seccomp filter allows are used (fstat, newfstatat, write, pread, kill,
 * getsockopt).  Writers serve many hosts, so the dirty files are tracked
 * per process, not per host.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXDIRTY	256
#define MAXFD		1024
#define FD_LOG		900
#define FD_CRASH	901

struct dirty {
	dev_t	 dev;
	ino_t	 ino;
	int	 reg;
	uint64_t gen;		/* syncfs calls begun when last dirtied */
	char	 name[64];
};

/* Shared by every process of the daemon. */
struct shared {
	uint64_t started;	/* syncfs calls begun */
	uint64_t covered;	/* the largest number of one that succeeded */
};
static struct shared *sh;

static struct dirty dirty[MAXDIRTY];
static char fdname[MAXFD][64];		/* what each descriptor was opened as */
static size_t ndirty;
static dev_t root_dev;
static int active;
static int log_fd = -1, crash_fd = -1;

#define REAL_DECL(f)	static __typeof__(f) *real_##f
REAL_DECL(write); REAL_DECL(writev); REAL_DECL(send); REAL_DECL(sendto);
REAL_DECL(sendmsg); REAL_DECL(pwrite); REAL_DECL(openat); REAL_DECL(open);
REAL_DECL(ftruncate); REAL_DECL(fallocate); REAL_DECL(fsync);
REAL_DECL(fdatasync); REAL_DECL(close); REAL_DECL(close_range);
REAL_DECL(linkat); REAL_DECL(renameat); REAL_DECL(unlinkat);
REAL_DECL(mkdirat); REAL_DECL(fdopendir); REAL_DECL(syncfs);

/*
 * The real functions, looked up at the first call: another library's
 * constructor (libcap-ng's opens /proc) may call one before ours runs.
 */
static void
resolve(void)
{
	if (real_write != NULL)
		return;
#define REAL(f)	(real_##f = (__typeof__(real_##f))dlsym(RTLD_NEXT, #f))
	REAL(writev); REAL(send); REAL(sendto); REAL(sendmsg);
	REAL(pwrite); REAL(openat); REAL(open); REAL(ftruncate);
	REAL(fallocate); REAL(fsync); REAL(fdatasync); REAL(close);
	REAL(close_range); REAL(linkat); REAL(renameat); REAL(unlinkat);
	REAL(mkdirat); REAL(fdopendir); REAL(syncfs);
	REAL(write);	/* last: the others are set when it is */
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
		(void)real_write(log_fd, buf, (size_t)n < sizeof(buf) ?
		    (size_t)n : sizeof(buf) - 1);
}

static long
ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long)(ts.tv_sec % 100000) * 1000 + ts.tv_nsec / 1000000;
}

static struct dirty *
find(dev_t dev, ino_t ino)
{
	size_t i;

	for (i = 0; i < ndirty; i++)
		if (dirty[i].dev == dev && dirty[i].ino == ino)
			return &dirty[i];
	return NULL;
}

static void
mark(const struct stat *st, const char *name)
{
	struct dirty *d;

	if (!active || st->st_dev != root_dev ||
	    (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)))
		return;
	if ((d = find(st->st_dev, st->st_ino)) == NULL) {
		if (ndirty == MAXDIRTY)
			return;
		d = &dirty[ndirty++];
		d->dev = st->st_dev;
		d->ino = st->st_ino;
		d->reg = S_ISREG(st->st_mode);
		d->name[0] = '\0';
	}
	/* After the change: a syncfs begun before it does not cover it. */
	d->gen = sh != NULL ? __atomic_load_n(&sh->started, __ATOMIC_SEQ_CST) :
	    0;
	if (name == NULL && d->name[0] == '\0')
		snprintf(d->name, sizeof(d->name), "%s",
		    S_ISDIR(st->st_mode) ? "(a directory)" : "(a file)");
	if (name != NULL && name[0] != '\0') {
		const char *slash = strrchr(name, '/');

		snprintf(d->name, sizeof(d->name), "%s",
		    slash != NULL && slash[1] != '\0' ? slash + 1 : name);
	}
}

static void
mark_fd(int fd, const char *name)
{
	struct stat st;

	if (name == NULL && fd >= 0 && fd < MAXFD && fdname[fd][0] != '\0')
		name = fdname[fd];
	if (active && fstat(fd, &st) == 0)
		mark(&st, name);
}

static void
clean(const struct stat *st)
{
	struct dirty *d = find(st->st_dev, st->st_ino);

	if (d != NULL)
		*d = dirty[--ndirty];
}

/* What another process's syncfs made durable since it was dirtied. */
static void
clean_covered(void)
{
	uint64_t covered;
	size_t i;

	if (sh == NULL)
		return;
	covered = __atomic_load_n(&sh->covered, __ATOMIC_SEQ_CST);
	for (i = 0; i < ndirty; ) {
		if (dirty[i].dev == root_dev && dirty[i].gen < covered)
			dirty[i] = dirty[--ndirty];
		else
			i++;
	}
}

static void crash_at(const struct dirty *);

/* A socket write while something is dirty. */
static void
check(int fd)
{
	struct stat st;
	socklen_t len = sizeof(int);
	int type = 0;
	size_t i;

	if (!active || fd <= 2 || fstat(fd, &st) == -1 ||
	    !S_ISSOCK(st.st_mode))
		return;
	clean_covered();
	if (ndirty == 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
	    type == SOCK_SEQPACKET) {
		/* An ask to the committer: where a sync would be. */
		for (i = 0; i < ndirty; i++)
			crash_at(&dirty[i]);
		return;
	}
	say("violation pid=%ld fd=%d ms=%ld dirty=%s (%zu dirty)\n",
	    (long)getpid(), fd, ms(), dirty[0].name[0] ? dirty[0].name : "?",
	    ndirty);
}

/* Is d what SYNCORDER_CRASH asks to die at?  Then do. */
static void
crash_at(const struct dirty *d)
{
	char how[8] = "";
	size_t n;
	int idx;

	if (crash_fd == -1 || !d->reg ||
	    pread(crash_fd, how, sizeof(how) - 1, 0) <= 0)
		return;
	n = strlen(d->name);
	idx = n > 4 && strcmp(d->name + n - 4, ".idx") == 0;
	if (strncmp(how, idx ? "idx" : "data", idx ? 3 : 4) != 0)
		return;
	(void)real_pwrite(crash_fd, "off\n\0", 5, 0);
	say("crash pid=%ld name=%s\n", (long)getpid(), d->name);
	kill(getpid(), SIGKILL);
}

static void
maybe_crash(int fd)
{
	struct dirty *d;
	struct stat st;

	if (crash_fd != -1 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (d = find(st.st_dev, st.st_ino)) != NULL)
		crash_at(d);
}

static int
sync_common(int fd, int (*fn)(int))
{
	struct stat st;
	int r;

	maybe_crash(fd);
	if ((r = fn(fd)) == 0 && fstat(fd, &st) == 0)
		clean(&st);
	return r;
}

int
syncfs(int fd)
{
	struct stat st;
	size_t i;
	int r;

	uint64_t n, seen;

	resolve();
	if (fstat(fd, &st) == -1)
		return real_syncfs(fd);
	for (i = 0; i < ndirty; i++)
		if (dirty[i].dev == st.st_dev)
			crash_at(&dirty[i]);
	n = sh != NULL && st.st_dev == root_dev ?
	    __atomic_add_fetch(&sh->started, 1, __ATOMIC_SEQ_CST) : 0;
	if ((r = real_syncfs(fd)) != 0)
		return r;
	/* covered = max(covered, n) */
	seen = n ? __atomic_load_n(&sh->covered, __ATOMIC_SEQ_CST) : 0;
	while (n > seen && !__atomic_compare_exchange_n(&sh->covered, &seen,
	    n, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
	for (i = 0; i < ndirty; ) {
		if (dirty[i].dev == st.st_dev)
			dirty[i] = dirty[--ndirty];
		else
			i++;
	}
	return r;
}

__attribute__((constructor)) static void
init(void)
{
	const char *p;
	struct stat st;
	int fd;

	resolve();
	if ((p = getenv("SYNCORDER_ROOT")) == NULL || stat(p, &st) == -1)
		return;
	root_dev = st.st_dev;
	if ((sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
		sh = NULL;
	if ((p = getenv("SYNCORDER_LOG")) != NULL &&
	    (fd = real_open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) != -1) {
		log_fd = fcntl(fd, F_DUPFD_CLOEXEC, FD_LOG);
		real_close(fd);
	}
	if ((p = getenv("SYNCORDER_CRASH")) != NULL &&
	    (fd = real_open(p, O_RDWR | O_CLOEXEC)) != -1) {
		crash_fd = fcntl(fd, F_DUPFD_CLOEXEC, FD_CRASH);
		real_close(fd);
	}
	active = 1;
}

static int
ours(int fd)
{
	return fd != -1 && (fd == log_fd || fd == crash_fd);
}

int
close(int fd)
{
	resolve();
	if (ours(fd))
		return 0;
	if (fd >= 0 && fd < MAXFD)
		fdname[fd][0] = '\0';
	return real_close(fd);
}

int
close_range(unsigned first, unsigned last, int flags)
{
	unsigned lo = (unsigned)FD_LOG, hi = (unsigned)FD_CRASH;

	resolve();

	if (!active || last < lo || first > hi)
		return real_close_range(first, last, flags);
	if (first < lo && real_close_range(first, lo - 1, flags) == -1)
		return -1;
	if (last > hi)
		return real_close_range(hi + 1, last, flags);
	return 0;
}

static int
open_common(int dirfd, const char *path, int flags, mode_t mode)
{
	struct stat st;
	int existed = 0, fd;

	if (active && (flags & O_ACCMODE) != O_RDONLY)
		existed = fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if ((fd = real_openat(dirfd, path, flags, mode)) == -1 || !active)
		return fd;
	if (fd < MAXFD) {
		const char *slash = strrchr(path, '/');

		snprintf(fdname[fd], sizeof(fdname[fd]), "%s",
		    slash != NULL && slash[1] != '\0' ? slash + 1 : path);
	}
	if ((flags & O_ACCMODE) == O_RDONLY)
		return fd;
	if (existed)
		mark_fd(fd, path);
	else if (dirfd != AT_FDCWD)
		mark_fd(dirfd, NULL);	/* a new name */
	return fd;
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode = 0;

	resolve();

	va_start(ap, flags);
	if (flags & (O_CREAT | O_TMPFILE))
		mode = (mode_t)va_arg(ap, int);
	va_end(ap);
	return open_common(dirfd, path, flags, mode);
}

int openat64(int, const char *, int, ...) __attribute__((alias("openat")));

int
open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode = 0;

	resolve();

	va_start(ap, flags);
	if (flags & (O_CREAT | O_TMPFILE))
		mode = (mode_t)va_arg(ap, int);
	va_end(ap);
	return open_common(AT_FDCWD, path, flags, mode);
}

int open64(const char *, int, ...) __attribute__((alias("open")));

/*
 * A write to a file dirties it (marked after it is done: a syncfs begun
 * during it need not cover it); one to a socket may report a position.
 */
static int
is_file(int fd)
{
	struct stat st;

	return active && fd > 2 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

/* errno as the real call left it. */
static void
mark_after(int fd)
{
	int saved = errno;

	mark_fd(fd, NULL);
	errno = saved;
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	ssize_t r;

	resolve();
	if (!is_file(fd)) {
		check(fd);
		return real_write(fd, buf, len);
	}
	r = real_write(fd, buf, len);
	mark_after(fd);
	return r;
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	ssize_t r;

	resolve();
	if (!is_file(fd)) {
		check(fd);
		return real_writev(fd, iov, n);
	}
	r = real_writev(fd, iov, n);
	mark_after(fd);
	return r;
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t r;

	resolve();
	r = real_pwrite(fd, buf, len, off);
	mark_after(fd);
	return r;
}

ssize_t pwrite64(int, const void *, size_t, off_t)
    __attribute__((alias("pwrite")));

ssize_t
send(int fd, const void *buf, size_t len, int flags)
{
	resolve();
	check(fd);
	return real_send(fd, buf, len, flags);
}

ssize_t
sendto(int fd, const void *buf, size_t len, int flags,
    __CONST_SOCKADDR_ARG sa, socklen_t salen)
{
	resolve();
	check(fd);
	return real_sendto(fd, buf, len, flags, sa, salen);
}

ssize_t
sendmsg(int fd, const struct msghdr *m, int flags)
{
	resolve();
	check(fd);
	return real_sendmsg(fd, m, flags);
}

int
ftruncate(int fd, off_t len)
{
	int r;

	resolve();
	r = real_ftruncate(fd, len);
	mark_after(fd);
	return r;
}

int ftruncate64(int, off_t) __attribute__((alias("ftruncate")));

int
fallocate(int fd, int mode, off_t off, off_t len)
{
	int r;

	resolve();
	r = real_fallocate(fd, mode, off, len);
	mark_after(fd);
	return r;
}

int fallocate64(int, int, off_t, off_t) __attribute__((alias("fallocate")));

int
fsync(int fd)
{
	resolve();
	return sync_common(fd, real_fsync);
}

int
fdatasync(int fd)
{
	resolve();
	return sync_common(fd, real_fdatasync);
}

int
linkat(int olddir, const char *old, int newdir, const char *new, int flags)
{
	int r = real_linkat(olddir, old, newdir, new, flags);

	resolve();

	if (r == 0)
		mark_fd(newdir, NULL);
	return r;
}

int
renameat(int olddir, const char *old, int newdir, const char *new)
{
	int r = real_renameat(olddir, old, newdir, new);

	resolve();

	if (r == 0) {
		mark_fd(olddir, NULL);
		mark_fd(newdir, NULL);
	}
	return r;
}

int
unlinkat(int dirfd, const char *path, int flags)
{
	struct stat st;
	int gone = 0, r;

	resolve();

	/* The last name of a file: it can no longer be reported. */
	if (active && fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
		gone = S_ISREG(st.st_mode) && st.st_nlink == 1;
	if ((r = real_unlinkat(dirfd, path, flags)) == 0) {
		if (gone)
			clean(&st);
		mark_fd(dirfd, NULL);
	}
	return r;
}

int
mkdirat(int dirfd, const char *path, mode_t mode)
{
	int r = real_mkdirat(dirfd, path, mode);

	resolve();

	if (r == 0)
		mark_fd(dirfd, NULL);
	return r;
}

/* A listing may show names a dead process never synced. */
DIR *
fdopendir(int fd)
{
	DIR *d = real_fdopendir(fd);

	resolve();

	if (d != NULL)
		mark_fd(fd, NULL);
	return d;
}
