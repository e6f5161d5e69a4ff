/*
 * Process confinement: see sandbox.h.  Landlock is reached through its
 * system calls (the C library has no wrappers); the constants that
 * Debian 12's kernel headers predate are defined here with the values
 * the kernel's ABI fixed for them.
 */
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/capability.h>
#include <linux/landlock.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#ifndef AUDITDIST_SANITIZE
#include <seccomp.h>
#endif

#include "log.h"
#include "sandbox.h"

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)	/* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)	/* ABI 5 */
#endif
#define LL_NET_BIND_TCP		(1ULL << 0)		/* ABI 4 */
#define LL_NET_CONNECT_TCP	(1ULL << 1)
#define LL_RULE_NET_PORT	2
#define LL_SCOPE_ABSTRACT_UNIX	(1ULL << 0)		/* ABI 6 */
#define LL_SCOPE_SIGNAL		(1ULL << 1)

/* The kernel takes the struct by size: later fields are optional. */
struct ll_ruleset_attr {
	uint64_t	handled_access_fs;
	uint64_t	handled_access_net;
	uint64_t	scoped;
};

struct ll_net_port_attr {
	uint64_t	allowed_access;
	uint64_t	port;
};

#define LL_FS_READ	(LANDLOCK_ACCESS_FS_READ_FILE | \
			    LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_FS_WRITE	(LANDLOCK_ACCESS_FS_WRITE_FILE | \
			    LANDLOCK_ACCESS_FS_REMOVE_DIR | \
			    LANDLOCK_ACCESS_FS_REMOVE_FILE | \
			    LANDLOCK_ACCESS_FS_MAKE_DIR | \
			    LANDLOCK_ACCESS_FS_MAKE_REG | \
			    LANDLOCK_ACCESS_FS_REFER | \
			    LANDLOCK_ACCESS_FS_TRUNCATE)
#define LL_FS_FILE	(LANDLOCK_ACCESS_FS_EXECUTE | \
			    LANDLOCK_ACCESS_FS_WRITE_FILE | \
			    LANDLOCK_ACCESS_FS_READ_FILE | \
			    LANDLOCK_ACCESS_FS_TRUNCATE | \
			    LANDLOCK_ACCESS_FS_IOCTL_DEV)

#define MAX_RULES	272	/* a writer: its hosts, CONF_WRITER_HOSTS_MAX */
#define MAX_PORTS	16

struct sb_rule {
	int		 fd;		/* O_PATH */
	unsigned	 access;
	int		 is_dir;
};

struct sandbox {
	char		 who[128];
	unsigned	 syscalls;
	struct sb_rule	 rules[MAX_RULES];
	size_t		 nrules;
	uint16_t	 ports[MAX_PORTS];
	size_t		 nports;
	int		 anyport;	/* a port 0 was given */
};

static int	ll_abi = -2;	/* -2: not asked yet, -1: none */
static char	ll_why[128];

static int
landlock_abi(void)
{
	long v;

	if (ll_abi != -2)
		return ll_abi;
	v = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (v < 1) {
		ll_abi = -1;
		snprintf(ll_why, sizeof(ll_why), "no landlock: %s",
		    errno == EOPNOTSUPP ? "disabled at boot" :
		    errno == ENOSYS ? "not in this kernel" : strerror(errno));
	} else {
		ll_abi = (int)v;
		snprintf(ll_why, sizeof(ll_why), "landlock ABI %d", ll_abi);
	}
	return ll_abi;
}

const char *
sandbox_landlock_status(void)
{
	(void)landlock_abi();
	return ll_why;
}

struct sandbox *
sandbox_new(const char *who, unsigned syscalls)
{
	struct sandbox *sb;

	if ((sb = calloc(1, sizeof(*sb))) == NULL)
		fatal("sandbox");
	snprintf(sb->who, sizeof(sb->who), "%s", who);
	sb->syscalls = syscalls;
	return sb;
}

static void
add_rule(struct sandbox *sb, int fd, unsigned access, const char *what)
{
	struct stat st;

	if (sb->nrules == MAX_RULES)
		fatalx("%s: too many sandbox paths (at %s)", sb->who, what);
	if (fstat(fd, &st) == -1)
		fatal("%s: %s", sb->who, what);
	sb->rules[sb->nrules].fd = fd;
	sb->rules[sb->nrules].access = access;
	sb->rules[sb->nrules].is_dir = S_ISDIR(st.st_mode);
	sb->nrules++;
}

void
sandbox_path(struct sandbox *sb, const char *path, unsigned access)
{
	int fd;

	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1) {
		log_debug("%s: sandbox: %s: %s (not allowed)", sb->who, path,
		    strerror(errno));
		return;
	}
	add_rule(sb, fd, access, path);
}

/*
 * The directory that holds path: a file replaced by rename (sed -i, most
 * editors, dpkg's conffile handling) is a new inode, which a rule on the
 * old file would not cover.
 */
void
sandbox_path_dir(struct sandbox *sb, const char *path, unsigned access)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		return;
	sandbox_path(sb, dir, access);
}

void
sandbox_fd(struct sandbox *sb, int fd, unsigned access)
{
	int dfd;

	if ((dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		fatal("%s: sandbox", sb->who);
	add_rule(sb, dfd, access, "a descriptor");
}

void
sandbox_connect_port(struct sandbox *sb, uint16_t port)
{
	if (port == 0 || sb->nports == MAX_PORTS) {
		sb->anyport = 1;	/* unknown, or many: any port */
		return;
	}
	sb->ports[sb->nports++] = port;
}

#ifndef AUDITDIST_SANITIZE
static uint64_t
fs_rights(int abi)
{
	uint64_t r = ((LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1);

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

/* The Landlock rights a rule asks for, whatever the kernel knows of. */
static uint64_t
rule_rights(const struct sb_rule *r)
{
	uint64_t want = 0;

	if (r->access & SB_READ)
		want |= LL_FS_READ;
	if (r->access & SB_WRITE)
		want |= LL_FS_WRITE;
	if (r->access & SB_EXEC)
		want |= LANDLOCK_ACCESS_FS_EXECUTE |
		    LANDLOCK_ACCESS_FS_READ_FILE;
	if (!r->is_dir)
		want &= LL_FS_FILE;
	return want;
}

static void
landlock(struct sandbox *sb)
{
	struct ll_ruleset_attr ra;
	struct landlock_path_beneath_attr pb;
	struct ll_net_port_attr np;
	size_t i, rasize;
	uint64_t all;
	int abi, rfd;

	if ((abi = landlock_abi()) < 1) {
		log_debug("%s: %s", sb->who, ll_why);
		goto out;
	}
	all = fs_rights(abi);
	memset(&ra, 0, sizeof(ra));
	ra.handled_access_fs = all;
	rasize = sizeof(ra.handled_access_fs);
	if (abi >= 4) {
		ra.handled_access_net = LL_NET_BIND_TCP |
		    ((sb->syscalls & SB_INET) && !sb->anyport ?
		    LL_NET_CONNECT_TCP : 0);
		rasize = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (abi >= 6) {
		/* Signals only within the domain; no abstract sockets. */
		ra.scoped = ((sb->syscalls & SB_SIGNAL) ? 0 : LL_SCOPE_SIGNAL) |
		    ((sb->syscalls & SB_NOTIFY) ? 0 : LL_SCOPE_ABSTRACT_UNIX);
		rasize = sizeof(ra);
	}
	if ((rfd = (int)syscall(SYS_landlock_create_ruleset, &ra, rasize,
	    0)) == -1)
		fatal("%s: landlock_create_ruleset", sb->who);
	for (i = 0; i < sb->nrules; i++) {
		memset(&pb, 0, sizeof(pb));
		pb.allowed_access = rule_rights(&sb->rules[i]) & all;
		pb.parent_fd = sb->rules[i].fd;
		if (pb.allowed_access != 0 && syscall(SYS_landlock_add_rule,
		    rfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) == -1)
			fatal("%s: landlock_add_rule", sb->who);
	}
	for (i = 0; abi >= 4 && !sb->anyport && i < sb->nports; i++) {
		np.allowed_access = LL_NET_CONNECT_TCP;
		np.port = sb->ports[i];
		if (syscall(SYS_landlock_add_rule, rfd, LL_RULE_NET_PORT, &np,
		    0) == -1)
			fatal("%s: landlock_add_rule (port %u)", sb->who,
			    (unsigned)sb->ports[i]);
	}
	if (syscall(SYS_landlock_restrict_self, rfd, 0) == -1)
		fatal("%s: landlock_restrict_self", sb->who);
	close(rfd);
out:
	for (i = 0; i < sb->nrules; i++)
		close(sb->rules[i].fd);
	sb->nrules = 0;
}

static void
allow(scmp_filter_ctx ctx, const char *who, int nr, unsigned nargs, ...)
{
	struct scmp_arg_cmp cmp[2];
	va_list ap;
	unsigned i;
	int rc;

	va_start(ap, nargs);
	for (i = 0; i < nargs && i < 2; i++)
		cmp[i] = va_arg(ap, struct scmp_arg_cmp);
	va_end(ap);
	/* A call this architecture does not have: nothing to allow. */
	if (nr < 0)
		return;
	rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, nargs, cmp);
	if (rc < 0)
		fatalx("%s: seccomp rule for call %d: %s", who, nr,
		    strerror(-rc));
}

#define ALLOW(name)	allow(ctx, sb->who, SCMP_SYS(name), 0)

/*
 * The system calls every process makes (memory, time, signals, the event
 * loop, I/O on descriptors it holds), then those of each SB_* class.
 */
static const int sc_base[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv),
	SCMP_SYS(writev), SCMP_SYS(pread64), SCMP_SYS(pwrite64),
	SCMP_SYS(close), SCMP_SYS(lseek), SCMP_SYS(fstat),
	SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(fstatfs),
	SCMP_SYS(fcntl), SCMP_SYS(dup), SCMP_SYS(dup3),
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(brk),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getppid),
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid), SCMP_SYS(getresuid), SCMP_SYS(getresgid),
	SCMP_SYS(getgroups), SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_getres), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(futex), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
	SCMP_SYS(epoll_pwait2), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime),
	SCMP_SYS(timerfd_gettime), SCMP_SYS(signalfd4),
	SCMP_SYS(eventfd2), SCMP_SYS(pipe2), SCMP_SYS(getrandom),
	SCMP_SYS(restart_syscall), SCMP_SYS(sched_yield),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(rseq),
	SCMP_SYS(set_robust_list), SCMP_SYS(prlimit64),
	SCMP_SYS(getrlimit), SCMP_SYS(uname), SCMP_SYS(sysinfo),
	SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg),
	SCMP_SYS(recvmsg), SCMP_SYS(sendmmsg), SCMP_SYS(recvmmsg),
	SCMP_SYS(shutdown), SCMP_SYS(getsockopt),
	SCMP_SYS(setsockopt), SCMP_SYS(getsockname),
	SCMP_SYS(getpeername), SCMP_SYS(connect),
	SCMP_SYS(tgkill), SCMP_SYS(kill), SCMP_SYS(membarrier),
	SCMP_SYS(flock), SCMP_SYS(fadvise64), SCMP_SYS(rt_sigqueueinfo),
	SCMP_SYS(rt_tgsigqueueinfo), SCMP_SYS(rt_sigtimedwait),
	SCMP_SYS(socketpair), SCMP_SYS(fstatfs64),
};
static const int sc_files[] = {
	SCMP_SYS(openat), SCMP_SYS(unlinkat), SCMP_SYS(linkat),
	SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(mkdirat),
	SCMP_SYS(fchmod), SCMP_SYS(fchmodat), SCMP_SYS(fsync),
	SCMP_SYS(fdatasync), SCMP_SYS(syncfs), SCMP_SYS(ftruncate),
	SCMP_SYS(fallocate),
	SCMP_SYS(getdents64), SCMP_SYS(readlinkat), SCMP_SYS(fchown),
	SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
	SCMP_SYS(statfs), SCMP_SYS(utimensat),
	SCMP_SYS(sync_file_range), SCMP_SYS(copy_file_range),
	SCMP_SYS(mkdir), SCMP_SYS(unlink), SCMP_SYS(rename),
	SCMP_SYS(link), SCMP_SYS(rmdir), SCMP_SYS(chmod),
	SCMP_SYS(open), SCMP_SYS(creat), SCMP_SYS(truncate),
};
static const int sc_spawn[] = {
	SCMP_SYS(arch_prctl), SCMP_SYS(set_tid_address),
	SCMP_SYS(access), SCMP_SYS(getcwd), SCMP_SYS(readlink),
	SCMP_SYS(pipe), SCMP_SYS(stat), SCMP_SYS(lstat),
	SCMP_SYS(fchdir), SCMP_SYS(ioctl), SCMP_SYS(open),
	SCMP_SYS(getdents64), SCMP_SYS(alarm), SCMP_SYS(setitimer),
	SCMP_SYS(getitimer), SCMP_SYS(getrusage), SCMP_SYS(times),
	SCMP_SYS(sched_getparam), SCMP_SYS(sched_getscheduler),
	SCMP_SYS(clone), SCMP_SYS(fork), SCMP_SYS(vfork),
	SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(wait4),
	SCMP_SYS(waitid), SCMP_SYS(setresuid), SCMP_SYS(setresgid),
	SCMP_SYS(setgroups), SCMP_SYS(setuid), SCMP_SYS(setgid),
	SCMP_SYS(setsid), SCMP_SYS(setpgid), SCMP_SYS(prctl),
	SCMP_SYS(capget), SCMP_SYS(capset), SCMP_SYS(umask),
	SCMP_SYS(chdir), SCMP_SYS(close_range), SCMP_SYS(dup2),
	SCMP_SYS(getpgrp), SCMP_SYS(getpgid), SCMP_SYS(getsid),
	SCMP_SYS(getpriority), SCMP_SYS(setpriority),
	SCMP_SYS(pidfd_open), SCMP_SYS(pidfd_send_signal),
	SCMP_SYS(landlock_create_ruleset),
	SCMP_SYS(landlock_add_rule), SCMP_SYS(landlock_restrict_self),
	SCMP_SYS(seccomp),
};
static const int sc_inotify[] = {
	SCMP_SYS(inotify_init1), SCMP_SYS(inotify_add_watch),
	SCMP_SYS(inotify_rm_watch),
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static void
allow_list(scmp_filter_ctx ctx, const char *who, const int *nr, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		allow(ctx, who, nr[i], 0);
}

/* Files: all of them with SB_FILES, else reading only. */
static void
allow_files(scmp_filter_ctx ctx, const struct sandbox *sb)
{
	if (sb->syscalls & SB_FILES)
		allow_list(ctx, sb->who, sc_files, NELEM(sc_files));
	else {
		/* Reading only: no way to create anything. */
		allow(ctx, sb->who, SCMP_SYS(openat), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC,
		    O_RDONLY));
		ALLOW(getdents64);
		if (sb->syscalls & SB_SYNCFS)
			ALLOW(syncfs);
	}
}

/* Sockets beyond AF_UNIX, by family; accepting; inotify. */
static void
allow_net(scmp_filter_ctx ctx, const struct sandbox *sb)
{
	if (sb->syscalls & SB_INET) {
		allow(ctx, sb->who, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_INET));
		allow(ctx, sb->who, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_INET6));
		ALLOW(bind);	/* a source address, for connect */
	}
	if (sb->syscalls & SB_NETLINK) {
		allow(ctx, sb->who, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_NETLINK));
		ALLOW(bind);
	}
	if (sb->syscalls & SB_ACCEPT) {
		ALLOW(accept4);
		ALLOW(accept);
	}
	if (sb->syscalls & SB_INOTIFY)
		allow_list(ctx, sb->who, sc_inotify, NELEM(sc_inotify));
}

/* Processes with SB_SPAWN, else threads only with SB_THREADS. */
static void
allow_tasks(scmp_filter_ctx ctx, const struct sandbox *sb)
{
	int rc;

	if (sb->syscalls & SB_SPAWN)
		allow_list(ctx, sb->who, sc_spawn, NELEM(sc_spawn));
	else if (sb->syscalls & SB_THREADS) {
		/* Threads, not processes. */
		allow(ctx, sb->who, SCMP_SYS(clone), 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
		allow(ctx, sb->who, SCMP_SYS(prctl), 1,
		    SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
	}
	/* clone3 takes a pointer no filter can read: the C library falls
	 * back to clone when told it does not exist. */
	if (sb->syscalls & (SB_SPAWN | SB_THREADS) &&
	    (rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
	    SCMP_SYS(clone3), 0)) < 0)
		fatalx("%s: seccomp: %s", sb->who, strerror(-rc));
}

static scmp_filter_ctx
build_filter(struct sandbox *sb)
{
	scmp_filter_ctx ctx;
	int rc;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		fatalx("%s: seccomp_init failed", sb->who);
	/* Every thread, or none. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0)
		fatalx("%s: seccomp: %s", sb->who, strerror(-rc));
	allow_list(ctx, sb->who, sc_base, NELEM(sc_base));
	/* isatty() and non-blocking flags; no other ioctl. */
	allow(ctx, sb->who, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, TCGETS));
	allow(ctx, sb->who, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, FIONBIO));
	allow(ctx, sb->who, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, FIONREAD));
	/* syslog(3) and sd_notify: local datagram sockets. */
	allow(ctx, sb->who, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	allow_files(ctx, sb);
	allow_net(ctx, sb);
	allow_tasks(ctx, sb);
	return ctx;
}

static void
seccomp(struct sandbox *sb)
{
	scmp_filter_ctx ctx = build_filter(sb);
	int rc;

	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("%s: loading the seccomp filter: %s", sb->who,
		    strerror(-rc));
	seccomp_release(ctx);
	/*
	 * Building the filter touched heap pages a forked process would
	 * otherwise keep as its own copy: give the free ones back.
	 */
	malloc_trim(0);
}

struct sandbox_bpf {
	struct sock_filter	*insns;
	unsigned short		 len;
};

struct sandbox_bpf *
sandbox_bpf_new(const char *who, unsigned syscalls)
{
	struct sandbox sb;
	struct sandbox_bpf *f;
	scmp_filter_ctx ctx;
	off_t size;
	int fd, rc;

	memset(&sb, 0, sizeof(sb));
	snprintf(sb.who, sizeof(sb.who), "%s", who);
	sb.syscalls = syscalls;
	ctx = build_filter(&sb);
	if ((fd = memfd_create("seccomp", MFD_CLOEXEC)) == -1)
		fatal("%s: memfd_create", who);
	if ((rc = seccomp_export_bpf(ctx, fd)) < 0)
		fatalx("%s: exporting the seccomp filter: %s", who,
		    strerror(-rc));
	seccomp_release(ctx);
	if ((size = lseek(fd, 0, SEEK_END)) <= 0 ||
	    size % (off_t)sizeof(struct sock_filter) != 0 ||
	    size / (off_t)sizeof(struct sock_filter) > USHRT_MAX)
		fatalx("%s: a seccomp filter of %lld bytes", who,
		    (long long)size);
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->insns = malloc((size_t)size)) == NULL)
		fatal("%s: seccomp filter", who);
	if (pread(fd, f->insns, (size_t)size, 0) != (ssize_t)size)
		fatal("%s: reading the seccomp filter", who);
	f->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
	close(fd);
	malloc_trim(0);
	return f;
}

void
sandbox_apply_bpf(struct sandbox *sb, const struct sandbox_bpf *f)
{
	struct sock_fprog prog;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("%s: no_new_privs", sb->who);
	landlock(sb);
	prog.len = f->len;
	prog.filter = f->insns;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == -1)
		fatal("%s: loading the seccomp filter", sb->who);
	free(sb);
}
#endif

static void
apply(struct sandbox *sb, int with_landlock)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("%s: no_new_privs", sb->who);
#ifdef AUDITDIST_SANITIZE
	(void)with_landlock;
	log_debug("%s: sandbox compiled out (sanitizer build)", sb->who);
	landlock_abi();
	{
		size_t i;

		for (i = 0; i < sb->nrules; i++)
			close(sb->rules[i].fd);
	}
#else
	if (with_landlock)
		landlock(sb);
	else
		VERIFY(sb->nrules == 0);
	seccomp(sb);
#endif
	free(sb);
}

void
sandbox_apply(struct sandbox *sb)
{
	apply(sb, 1);
}

void
sandbox_apply_syscalls(struct sandbox *sb)
{
	apply(sb, 0);
}

#ifdef AUDITDIST_SANITIZE
struct sandbox_bpf *
sandbox_bpf_new(const char *who, unsigned syscalls)
{
	static int dummy;

	(void)who;
	(void)syscalls;
	return (struct sandbox_bpf *)&dummy;
}

void
sandbox_apply_bpf(struct sandbox *sb, const struct sandbox_bpf *f)
{
	(void)f;
	sandbox_apply(sb);
}
#endif

void
sandbox_caps(uint64_t keep)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	unsigned cap;

	/* The bounding set first (that needs CAP_SETPCAP, still held). */
	for (cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (!(keep & (1ULL << cap)) &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1 &&
		    errno != EINVAL && errno != EPERM)
			fatal("dropping capability %u", cap);
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) == -1)
		fatal("capget");
	d[0].effective &= (uint32_t)keep;
	d[0].permitted &= (uint32_t)keep;
	d[0].inheritable = 0;
	d[1].effective &= (uint32_t)(keep >> 32);
	d[1].permitted &= (uint32_t)(keep >> 32);
	d[1].inheritable = 0;
	if (syscall(SYS_capset, &h, d) == -1)
		fatal("capset");
}

void
sandbox_become(uid_t uid, gid_t gid, const char *user)
{
	if (geteuid() == 0) {
		if (setgroups(1, &gid) == -1 ||
		    setresgid(gid, gid, gid) == -1 ||
		    setresuid(uid, uid, uid) == -1)
			fatal("becoming user %s", user);
	}
	/* What an unprivileged uid keeps after setuid: nothing, made sure. */
	if (geteuid() != 0)
		sandbox_caps(0);
	if (geteuid() == 0 && uid != 0)
		fatalx("still root after becoming %s", user);
}

void
sandbox_limits(unsigned nofile, int may_fork)
{
	struct rlimit rl;

	rl.rlim_cur = rl.rlim_max = 0;
	(void)setrlimit(RLIMIT_CORE, &rl);	/* keys, passwords, records */
	(void)setrlimit(RLIMIT_MEMLOCK, &rl);
	if (!may_fork)
		(void)setrlimit(RLIMIT_NPROC, &rl);
	if (nofile > 0) {
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max > nofile)
			rl.rlim_max = nofile;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("limiting descriptors to %u", nofile);
	}
	/* Not dumpable: no core, no ptrace by another process of our uid. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("PR_SET_DUMPABLE");
}

void
sandbox_parent_death(void)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		fatal("PR_SET_PDEATHSIG");
	/* The parent died before the call: nobody would tell us. */
	if (getppid() == 1)
		_exit(0);
}

int
sandbox_nicer(int by)
{
	int cur;

	errno = 0;
	if ((cur = getpriority(PRIO_PROCESS, 0)) == -1 && errno != 0)
		return -1;
	return setpriority(PRIO_PROCESS, 0, cur + by > 19 ? 19 : cur + by);
}

void
sandbox_child_signals(void)
{
	sigset_t none;

	sandbox_parent_death();
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

#ifdef AUDITDIST_TEST_HOOKS
static const char *test_forbidden;
static int test_how;

static void
say(const char *a, const char *b, int err)
{
	char line[512];
	const char *r = err == -1 ? "trying" : err == 0 ? "allowed" :
	    err == EACCES ?
	    "Permission denied" : err == EPERM ? "Operation not permitted" :
	    "failed";
	int n;

	n = snprintf(line, sizeof(line), "sandbox test: %s %s: %s (%d)\n", a,
	    b, r, err);
	if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nothing to do */
	}
}

static void
test_trigger(int sig)
{
	char *const argv[] = { (char *)"true", NULL };
	char *const envp[] = { NULL };
	int fd, err;

	(void)sig;
	fd = open(test_forbidden, O_RDONLY | O_CLOEXEC);
	err = fd == -1 ? errno : 0;
	if (fd != -1)
		close(fd);
	say("open", test_forbidden, err);
	if (test_how == SB_TEST_PTRACE) {
		say("ptrace", "PTRACE_TRACEME", 0 - 1);
		(void)syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
		say("ptrace", "PTRACE_TRACEME", errno);
		return;
	}
	say("execve", "/bin/true", 0 - 1);
	execve("/bin/true", argv, envp);
	say("execve", "/bin/true", errno);
}

void
sandbox_test_hook(const char *forbidden, int how)
{
	struct sigaction sa;
	sigset_t set;

	/* A test may name its own forbidden path (83-writer-pool.sh). */
	test_forbidden = getenv("ADTEST_SANDBOX_FORBIDDEN") != NULL ?
	    getenv("ADTEST_SANDBOX_FORBIDDEN") : forbidden;
	test_how = how;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = test_trigger;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, NULL) == -1)
		fatal("sigaction");
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}
#else
void
sandbox_test_hook(const char *forbidden, int how)
{
	(void)forbidden;
	(void)how;
}
#endif
