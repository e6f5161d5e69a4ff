/*
 * A program and everything it started, measured as one: CPU time and
 * memory summed over a process and all its descendants, so that the
 * figures mean the same whether the program is one process or a
 * supervisor with forked workers.
 *
 * CPU: utime + stime of every live process of the tree (fields 14 and 15
 * of /proc/PID/stat, all its threads) plus cutime + cstime (16, 17: the
 * children it has reaped).  A worker that exits between two samples is
 * counted through its parent's cutime/cstime once reaped, so the
 * difference of two samples is the CPU the tree used in between.
 * Memory: Pss and Rss of /proc/PID/smaps_rollup summed over the tree
 * (Pss shares each page among the processes that map it; the Rss sum
 * counts shared pages once per process).
 *
 * Descendants come from /proc/PID/task/TID/children where the kernel has
 * it (CONFIG_PROC_CHILDREN), else from the parent field of every
 * /proc/PID/stat.
 */
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "bench.h"

struct pidlist {
	pid_t		*v;
	size_t		 n, cap;
};

static void
pl_add(struct pidlist *l, pid_t pid)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		if ((l->v = reallocarray(l->v, l->cap, sizeof(*l->v))) == NULL)
			err(EX_OSERR, "malloc");
	}
	l->v[l->n++] = pid;
}

/* Read a small /proc file whole; its length, or -1. */
static ssize_t
read_small(const char *path, char *buf, size_t len)
{
	ssize_t n, got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((size_t)got < len - 1 &&
	    (n = read(fd, buf + got, len - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return got;
}

/*
 * The fields of /proc/PID/stat after "pid (comm) ": comm may hold any
 * byte but is followed by the last ')'.  Field 3 (state) is rest[0].
 */
static const char *
stat_rest(const char *buf)
{
	const char *p = strrchr(buf, ')');

	return p != NULL && p[1] == ' ' ? p + 2 : NULL;
}

/*
 * A /proc file whole, however long (a thread's children file holds a pid
 * for each child: 10,000 of them need about 60 KB); NULL when gone.
 */
static char *
read_all(const char *path)
{
	size_t len = 0, cap = 16384;
	char *buf = NULL, *nb;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	for (;;) {
		if (buf == NULL || len + 1 == cap) {
			cap = buf == NULL ? cap : cap * 2;
			if ((nb = realloc(buf, cap)) == NULL)
				err(EX_OSERR, "realloc");
			buf = nb;
		}
		if ((n = read(fd, buf + len, cap - 1 - len)) <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* Append the children of pid, from /proc/PID/task/TID/children. */
static void
children_files(pid_t pid, struct pidlist *out)
{
	char path[64], *buf, *p, *end;
	struct dirent *de;
	DIR *d;
	long v;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return;		/* gone: no children */
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/children",
		    (int)pid, de->d_name);
		if ((buf = read_all(path)) == NULL)
			continue;	/* the thread just exited */
		for (p = buf; *p != '\0'; p = end) {
			v = strtol(p, &end, 10);
			if (end == p)
				break;
			if (v > 0)
				pl_add(out, (pid_t)v);
		}
		free(buf);
	}
	closedir(d);
}

/* Does this kernel have /proc/PID/task/TID/children?  Asked once. */
int
proctree_children_files(void)
{
	static int known = -1;
	char path[64];

	if (known == -1) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children",
		    (int)getpid(), (int)getpid());
		known = access(path, R_OK) == 0;
	}
	return known;
}

/* Every process on the system with its parent, for the fallback. */
static void
all_parents(struct pidlist *pids, struct pidlist *ppids)
{
	char path[64], buf[1024];
	const char *rest;
	struct dirent *de;
	long ppid;
	DIR *d;

	if ((d = opendir("/proc")) == NULL)
		err(EX_OSERR, "/proc");
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%.16s/stat", de->d_name);
		if (read_small(path, buf, sizeof(buf)) <= 0 ||
		    (rest = stat_rest(buf)) == NULL ||
		    sscanf(rest, "%*c %ld", &ppid) != 1)
			continue;
		pl_add(pids, (pid_t)atol(de->d_name));
		pl_add(ppids, (pid_t)ppid);
	}
	closedir(d);
}

/* root and all its descendants, root first. */
static void
tree_list(pid_t root, struct pidlist *tree)
{
	struct pidlist pids = { NULL, 0, 0 }, ppids = { NULL, 0, 0 };
	size_t i, j;

	tree->n = 0;
	pl_add(tree, root);
	if (proctree_children_files()) {
		for (i = 0; i < tree->n; i++)
			children_files(tree->v[i], tree);
		return;
	}
	all_parents(&pids, &ppids);
	/* Breadth first: each process's children follow in the list. */
	for (i = 0; i < tree->n; i++)
		for (j = 0; j < pids.n; j++)
			if (ppids.v[j] == tree->v[i] && pids.v[j] != root)
				pl_add(tree, pids.v[j]);
	free(pids.v);
	free(ppids.v);
}

/*
 * CPU clock ticks used so far by root's tree (see the top), and how many
 * processes it has now; -1 when root is gone.
 */
static int	tree_cpu(pid_t, const char *, uint64_t *, unsigned *);

int
proctree_cpu(pid_t root, uint64_t *ticks, unsigned *nprocs)
{
	return tree_cpu(root, NULL, ticks, nprocs);
}

int
proctree_cpu_named(pid_t root, const char *comm, uint64_t *ticks)
{
	unsigned n;

	return tree_cpu(root, comm, ticks, &n);
}

/* Whether /proc/PID/comm is comm. */
static int
comm_is(pid_t pid, const char *comm)
{
	char path[64], buf[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if ((n = read_small(path, buf, sizeof(buf))) <= 0)
		return 0;
	if (buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return strcmp(buf, comm) == 0;
}

static int
tree_cpu(pid_t root, const char *comm, uint64_t *ticks, unsigned *nprocs)
{
	struct pidlist tree = { NULL, 0, 0 };
	unsigned long long ut, st;
	long long cut, cst;
	char path[64], buf[1024];
	const char *rest;
	size_t i;
	int rc = 0;

	*ticks = 0;
	*nprocs = 0;
	tree_list(root, &tree);
	for (i = 0; i < tree.n; i++) {
		if (comm != NULL && !comm_is(tree.v[i], comm))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)tree.v[i]);
		if (read_small(path, buf, sizeof(buf)) <= 0 ||
		    (rest = stat_rest(buf)) == NULL) {
			if (i == 0)
				rc = -1;
			continue;
		}
		/* From field 3 (state): 14..17 are the 12th..15th here. */
		if (sscanf(rest, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
		    "%llu %llu %lld %lld", &ut, &st, &cut, &cst) != 4)
			continue;
		*ticks += ut + st + (uint64_t)(cut > 0 ? cut : 0) +
		    (uint64_t)(cst > 0 ? cst : 0);
		(*nprocs)++;
	}
	free(tree.v);
	return rc;
}

/* Sum of Pss and of Rss (KiB) over root's tree; -1 when root is gone. */
int
proctree_mem(pid_t root, long *pss_kib, long *rss_kib, unsigned *nprocs)
{
	struct pidlist tree = { NULL, 0, 0 };
	char path[64], line[256];
	size_t i;
	long v;
	FILE *f;
	int rc = 0;

	*pss_kib = *rss_kib = 0;
	*nprocs = 0;
	tree_list(root, &tree);
	for (i = 0; i < tree.n; i++) {
		snprintf(path, sizeof(path), "/proc/%d/smaps_rollup",
		    (int)tree.v[i]);
		if ((f = fopen(path, "re")) == NULL) {
			if (i == 0)
				rc = -1;
			continue;
		}
		while (fgets(line, sizeof(line), f) != NULL) {
			if (sscanf(line, "Pss: %ld kB", &v) == 1)
				*pss_kib += v;
			else if (sscanf(line, "Rss: %ld kB", &v) == 1)
				*rss_kib += v;
		}
		fclose(f);
		(*nprocs)++;
	}
	free(tree.v);
	return rc;
}

/*
 * A "Key:  N kB" line of /proc/PID/status (VmHWM, VmRSS...) summed over
 * root's tree, KiB; -1 when root is gone.
 */
long
proctree_status_sum(pid_t root, const char *key)
{
	struct pidlist tree = { NULL, 0, 0 };
	long v, sum = 0;
	size_t i;

	tree_list(root, &tree);
	for (i = 0; i < tree.n; i++) {
		if ((v = proc_kib(tree.v[i], key)) >= 0)
			sum += v;
		else if (i == 0) {
			sum = -1;
			break;
		}
	}
	free(tree.v);
	return sum;
}
