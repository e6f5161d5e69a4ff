/*
 * Confinement of a process that no longer needs what it started with:
 * capabilities, a fixed uid, no_new_privs, resource limits, a Landlock
 * ruleset (where the kernel has Landlock) and a seccomp allow-list whose
 * default kills the process.
 *
 * A sanitizer build compiles all of it out (the sanitizers' runtimes make
 * system calls no allow-list should grant); a test build adds a trigger
 * that makes a confined process try what it must not (see
 * sandbox_test_hook).
 */
#ifndef AUDITDIST_SANDBOX_H
#define AUDITDIST_SANDBOX_H

#include <sys/types.h>

#include <stdint.h>

/* Landlock access beneath a path. */
#define SB_READ		0x1	/* read files, list directories */
#define SB_WRITE	0x2	/* create, write, truncate, link, rename, remove */
#define SB_EXEC		0x4	/* execute */

/* What the system call allow-list grants beyond the base set. */
#define SB_FILES	0x001	/* open, create, rename, remove, sync files */
#define SB_INET		0x002	/* TCP/UDP sockets: connect, send, receive */
#define SB_ACCEPT	0x004	/* accept on sockets made before */
#define SB_THREADS	0x008	/* start threads */
#define SB_SPAWN	0x010	/* fork, execve, wait, change uid for a child */
#define SB_INOTIFY	0x020	/* watch a directory */
#define SB_NETLINK	0x040	/* netlink sockets (audit status, routes) */
#define SB_NOTIFY	0x080	/* sd_notify: AF_UNIX datagrams */
#define SB_SIGNAL	0x100	/* signal processes outside its domain */
#define SB_SYNCFS	0x200	/* syncfs of a descriptor it holds (SB_FILES has it) */

struct sandbox;

/* who names the process in messages ("forwarder", "writer for host x"). */
struct sandbox	*sandbox_new(const char *who, unsigned syscalls);
/*
 * Allow access beneath path (a directory or a file).  A path that does
 * not exist is skipped: nothing can be reached through it anyway.
 */
void		 sandbox_path(struct sandbox *, const char *path,
		    unsigned access);
/* The same for the directory that holds path (a file that may be replaced). */
void		 sandbox_path_dir(struct sandbox *, const char *path,
		    unsigned access);
void		 sandbox_fd(struct sandbox *, int fd, unsigned access);
/*
 * Allow TCP connections to this port (Landlock ABI 4 and later); port 0
 * allows any port.
 */
void		 sandbox_connect_port(struct sandbox *, uint16_t port);
/*
 * Apply: no_new_privs, the Landlock ruleset, then the seccomp filter (for
 * every thread).  Failing to install seccomp is fatal; a kernel without
 * Landlock is logged once and tolerated.  Frees the sandbox.
 */
void		 sandbox_apply(struct sandbox *);
/* The same without Landlock (no path was given). */
void		 sandbox_apply_syscalls(struct sandbox *);
/*
 * A filter compiled once (in a parent, before it forks many children that
 * need it): building one with libseccomp in each child would leave each a
 * private copy of the heap pages it touched.
 */
struct sandbox_bpf;
struct sandbox_bpf *sandbox_bpf_new(const char *who, unsigned syscalls);
/* sandbox_apply with that filter. */
void		 sandbox_apply_bpf(struct sandbox *, const struct sandbox_bpf *);

/*
 * Become uid/gid for good (when root), with that group only; then drop
 * every capability, and the bounding set, so nothing regains them.
 */
void		 sandbox_become(uid_t, gid_t, const char *user);
/* Drop every capability but those in keep (a mask of CAP_* bits). */
void		 sandbox_caps(uint64_t keep);
/* No core dumps, no ptrace by the same uid, limits on descriptors. */
void		 sandbox_limits(unsigned nofile, int may_fork);
/* Die with the parent (and notice if it is already gone). */
void		 sandbox_parent_death(void);
/*
 * A child that stops when its channel to the parent closes: it dies with
 * its parent, ignores the signals meant for the daemon (TERM, INT, HUP,
 * PIPE) and unblocks the others.
 */
void		 sandbox_child_signals(void);
/*
 * Lower this process's priority by `by` nice steps from where it was
 * started (to at most 19): an unprivileged process may not raise it, so
 * the steps are relative, never an absolute value.
 */
int		 sandbox_nicer(int by);

/* "landlock ABI n", "no landlock: <why>", for start-up log lines. */
const char	*sandbox_landlock_status(void);

/*
 * In test builds (AUDITDIST_TEST_HOOKS): on SIGUSR2 the process tries to
 * open forbidden (a path outside its tree; $ADTEST_SANDBOX_FORBIDDEN
 * instead when it is set) and reports the result on
 * stderr as "sandbox test: open PATH: RESULT"; then it tries execve of
 * /bin/true (SB_TEST_EXECVE) or ptrace (SB_TEST_PTRACE, for a process
 * that may execute programs), which the seccomp filter answers by killing
 * it.  A no-op in other builds.
 */
#define SB_TEST_EXECVE	0
#define SB_TEST_PTRACE	1
void		 sandbox_test_hook(const char *forbidden, int how);

#endif
