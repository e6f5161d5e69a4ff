/*
 * The files of a host's trail: the .store directory, the audit.log names
 * that point into it, new files, retention.  trail.c decides what to write;
 * this file keeps the directory in the shape ausearch reads.
 *
 * Every name is reached through a directory descriptor; nothing here
 * follows a symbolic link below the receiver directory, and a host's
 * descriptors are the only ones its trail code holds.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auditdistd.h"
#include "log.h"
#include "tcur.h"

#define MAX_FILES	(1U << 20)	/* per host; far beyond any disk */

/* trail_group: what this process gives its trails to; -1: nothing. */
static gid_t store_gid = (gid_t)-1;
static int store_no_setgid;	/* fchmod refused S_ISGID (systemd) */

int
store_name(char *buf, size_t len, uint64_t num, int idx)
{
	return tc_name16(buf, len, num, idx ? TRAIL_IDX_SUFFIX : "");
}

int
store_parse_name(const char *name, uint64_t *num, int *idx)
{
	return tc_name16_parse(name, "", TRAIL_IDX_SUFFIX, num, idx);
}

/* The k-th name: audit.log for 0, audit.log.k after. */
static void
log_name(char *buf, size_t len, size_t k)
{
	if (k == 0)
		snprintf(buf, len, "%s", TRAIL_LOG);
	else
		snprintf(buf, len, "%s.%zu", TRAIL_LOG, k);
}

/* "audit.log" -> 0, "audit.log.12" -> 12, anything else -> -1. */
static int
parse_log_name(const char *name, size_t *k)
{
	struct tcur c;
	uint64_t v = 0;

	tc_init(&c, name, strlen(name));
	tc_lit(&c, TRAIL_LOG);
	if (tc_left(&c) > 0) {
		tc_lit(&c, ".");
		tc_dec(&c, MAX_FILES, &v);
		if (v == 0)
			return -1;	/* "audit.log.0" is not a name of ours */
	}
	if (tc_end(&c) == -1)
		return -1;
	*k = (size_t)v;
	return 0;
}

/* A directory we keep trails in: ours, and nobody else may add names. */
static int
check_dir(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", path);
		errno = ENOTDIR;
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: owned by uid %u, not by us (uid %u)",
		    path, (unsigned)st.st_uid, (unsigned)geteuid());
		errno = EPERM;
		return -1;
	}
	if ((st.st_mode & 022) != 0) {
		snprintf(err, errlen, "%s: writable by group or others "
		    "(mode %04o); chmod go-w it", path,
		    (unsigned)(st.st_mode & 07777));
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* Why a component could not be opened as a directory. */
static const char *
why_not_dir(int parent, const char *name, int err)
{
	struct stat st;

	if ((err == ELOOP || err == ENOTDIR) &&
	    fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return S_ISLNK(st.st_mode) ? "a symbolic link, not a directory" :
		    "not a directory";
	return strerror(err);
}

void
store_set_group(gid_t gid)
{
	store_gid = gid;
}

/*
 * fd (ours) to the trails' group, readable by it; a directory also
 * searchable and set-group-ID, so that what is made in it later gets the
 * group from the kernel too.  systemd's RestrictSUIDSGID= refuses the
 * bit: then every new file is given its group by store_give alone.
 */
int
store_group(int fd)
{
	struct stat st;
	mode_t mode, want;

	if (store_gid == (gid_t)-1)
		return 0;
	if (fstat(fd, &st) == -1)
		return -1;
	mode = st.st_mode & 07777;
	if (S_ISDIR(st.st_mode))
		want = mode | S_IRGRP | S_IXGRP |
		    (store_no_setgid ? 0 : S_ISGID);
	else if (S_ISREG(st.st_mode))
		want = mode | S_IRGRP;
	else
		return 0;
	if (st.st_gid != store_gid) {
		if (fchown(fd, (uid_t)-1, store_gid) == -1)
			return -1;
		mode = (mode_t)-1;	/* chown may have cleared bits */
	}
	if (want == mode)
		return 0;
	if (fchmod(fd, want) == 0)
		return 0;
	if (errno != EPERM || !(want & S_ISGID))
		return -1;
	store_no_setgid = 1;
	return fchmod(fd, want & ~(mode_t)S_ISGID);
}

void
store_give(int fd, const char *host, const char *what)
{
	/* The data is safe either way: readers wait for the next start. */
	if (store_group(fd) == -1)
		log_warn("%s%s%s%s: giving it to group %u",
		    host != NULL ? "host " : "", host != NULL ? host : "",
		    host != NULL ? ": " : "", what, (unsigned)store_gid);
}

/* The regular files of directory fd, owned by us, to the group. */
static int
regroup_files(int dirfd, const char *path, char *err, size_t errlen)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (d = fdopendir(fd)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
		    (st.st_gid == store_gid && (st.st_mode & S_IRGRP)))
			continue;
		if ((fd = openat(dirfd, de->d_name, O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) == -1 ||
		    store_group(fd) == -1) {
			snprintf(err, errlen, "%s/%s: %s", path, de->d_name,
			    strerror(errno));
			if (fd != -1)
				close(fd);
			closedir(d);
			return -1;
		}
		close(fd);
	}
	if (errno != 0)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	closedir(d);
	return errno != 0 ? -1 : 0;
}

int
store_regroup(int dirfd, const char *host, char *err, size_t errlen)
{
	char path[WIRE_MAX_HOST + sizeof(TRAIL_STORE) + 2];
	int sfd, rc;

	if (store_gid == (gid_t)-1)
		return 0;
	if (store_group(dirfd) == -1) {
		snprintf(err, errlen, "%s: %s", host, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", host, TRAIL_STORE);
	if ((sfd = openat(dirfd, TRAIL_STORE, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return regroup_files(dirfd, host, err, errlen);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (store_group(sfd) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
	} else
		rc = regroup_files(sfd, path, err, errlen);
	close(sfd);
	/* audit.log and its numbers are links to .store's files. */
	return rc == -1 ? -1 : regroup_files(dirfd, host, err, errlen);
}

/* mkdirat + openat of one component; nofollow refuses a symbolic link. */
static int
open_component(int parent, const char *name, int nofollow, int *created)
{
	int fd, flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;

	if (nofollow)
		flags |= O_NOFOLLOW;
	*created = 0;
	if ((fd = openat(parent, name, flags)) != -1 || errno != ENOENT)
		return fd;
	if (mkdirat(parent, name, TRAIL_DIR_MODE) == -1 && errno != EEXIST)
		return -1;
	*created = 1;
	if ((fd = openat(parent, name, flags)) != -1)
		store_give(fd, NULL, name);
	return fd;
}

int
store_subdir(int parent, const char *name, const char *what, char *err,
    size_t errlen)
{
	int fd, created;

	if ((fd = open_component(parent, name, 1, &created)) == -1) {
		snprintf(err, errlen, "%s: %s", what,
		    why_not_dir(parent, name, errno));
		return -1;
	}
	if (check_dir(fd, what, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	/* A new directory entry is durable only once its parent is synced. */
	if (created && fsync(parent) == -1) {
		snprintf(err, errlen, "%s: fsync of its parent: %s", what,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Where the walk to path starts: a copy of basefd if path is below
 * base_path, else "/"; *rest is a copy of what is left of path to walk.
 * Below the receiver directory every component must be a real directory
 * (*nofollow): a link planted there must not send a host's trail
 * elsewhere.  Above it the administrator chose the path.
 */
static int
walk_start(int basefd, const char *base_path, const char *path,
    int *nofollow, char **rest, char *err, size_t errlen)
{
	size_t blen = base_path != NULL ? strlen(base_path) : 0;
	int fd;

	if (basefd != -1 && strncmp(path, base_path, blen) == 0 &&
	    path[blen] == '/') {
		if ((fd = dup(basefd)) == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		*nofollow = 1;
		*rest = strdup(path + blen + 1);
	} else {
		if ((fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
			snprintf(err, errlen, "/: %s", strerror(errno));
			return -1;
		}
		*nofollow = 0;
		*rest = strdup(path + 1);
	}
	if (*rest == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* One step of the walk, from the directory fd to its entry p. */
static int
walk_step(int fd, const char *path, const char *p, int nofollow, int last,
    char *err, size_t errlen)
{
	int next, created;

	next = open_component(fd, p, nofollow || last, &created);
	/*
	 * A directory above ours that we may search but not list (mode
	 * 0711): passing through is enough.
	 */
	if (next == -1 && errno == EACCES && !last && !nofollow)
		next = openat(fd, p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (next == -1) {
		snprintf(err, errlen, "%s: %s: %s", path, p,
		    why_not_dir(fd, p, errno));
		return -1;
	}
	if (created && fsync(fd) == -1) {
		snprintf(err, errlen, "%s: fsync: %s", path, strerror(errno));
		close(next);
		return -1;
	}
	return next;
}

int
store_open_dir(int basefd, const char *base_path, const char *path,
    char *err, size_t errlen)
{
	char *copy, *p, *slash;
	int fd, next, nofollow;

	if (path[0] != '/') {
		snprintf(err, errlen, "%s: not an absolute path", path);
		errno = EINVAL;
		return -1;
	}
	if ((fd = walk_start(basefd, base_path, path, &nofollow, &copy, err,
	    errlen)) == -1)
		return -1;
	for (p = copy; *p != '\0'; p = slash + 1) {
		if ((slash = strchr(p, '/')) != NULL)
			*slash = '\0';
		if (*p == '\0' || strcmp(p, ".") == 0) {
			/* "a//b", "a/./b": nothing to open */
		} else if (strcmp(p, "..") == 0 && nofollow) {
			snprintf(err, errlen, "%s: \"..\" below %s", path,
			    base_path);
			errno = EINVAL;
			goto fail;
		} else {
			if ((next = walk_step(fd, path, p, nofollow,
			    slash == NULL, err, errlen)) == -1)
				goto fail;
			close(fd);
			fd = next;
		}
		if (slash == NULL)
			break;
	}
	free(copy);
	if (check_dir(fd, path, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	return fd;
fail:
	free(copy);
	close(fd);
	return -1;
}

static int
cmp_tfile(const void *a, const void *b)
{
	const struct tfile *x = a, *y = b;

	return x->num < y->num ? -1 : x->num > y->num;
}

static int
add_file(struct trail *t, const struct tfile *f)
{
	struct tfile *nf;
	size_t cap;

	if (t->nfiles == t->capfiles) {
		if (t->nfiles >= MAX_FILES) {
			errno = EMFILE;
			return -1;
		}
		cap = t->capfiles ? t->capfiles * 2 : 16;
		if ((nf = reallocarray(t->files, cap, sizeof(*nf))) == NULL)
			return -1;
		t->files = nf;
		t->capfiles = cap;
	}
	t->files[t->nfiles++] = *f;
	return 0;
}

static int
has_file(const struct trail *t, uint64_t num)
{
	struct tfile key = { .num = num };

	if (t->nfiles == 0)
		return 0;
	return bsearch(&key, t->files, t->nfiles, sizeof(key),
	    cmp_tfile) != NULL;
}

/* Add the data file name (number num) and its index's size to t. */
static int
scan_file(struct trail *t, const char *dname, uint64_t num)
{
	struct stat st;
	struct tfile f;
	char name[32];

	if (fstatat(t->storefd, dname, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		hlog_warnx(t->host, "%s/%s is not a regular file; "
		    "ignored", TRAIL_STORE, dname);
		return 0;
	}
	memset(&f, 0, sizeof(f));
	f.num = num;
	f.size = (uint64_t)st.st_size;
	f.ino = st.st_ino;
	f.dev = st.st_dev;
	/* Index bytes count toward retention too. */
	store_name(name, sizeof(name), num, 1);
	if (fstatat(t->storefd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode))
		f.isize = (uint64_t)st.st_size;
	else if (errno != ENOENT)
		return -1;
	return add_file(t, &f);
}

/* Read .store: the trail files in order; indexes without a file go. */
int
store_scan(struct trail *t, char *err, size_t errlen)
{
	struct dirent *de;
	char name[32];
	uint64_t num;
	DIR *d;
	int fd, idx, removed = 0;

	t->nfiles = 0;
	if ((fd = openat(t->storefd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (d = fdopendir(fd)) == NULL) {
		snprintf(err, errlen, "%s/%s: %s", t->host, TRAIL_STORE,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (store_parse_name(de->d_name, &num, &idx) == -1 || idx)
			continue;
		if (scan_file(t, de->d_name, num) == -1)
			goto fail;
	}
	if (errno != 0)
		goto fail;
	if (t->nfiles > 1)
		qsort(t->files, t->nfiles, sizeof(*t->files), cmp_tfile);

	/* Retention removes a file before its index; finish that. */
	rewinddir(d);
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (store_parse_name(de->d_name, &num, &idx) == -1 || !idx ||
		    has_file(t, num))
			continue;
		store_name(name, sizeof(name), num, 1);
		if (unlinkat(t->storefd, name, 0) == -1 && errno != ENOENT)
			goto fail;
		removed = 1;
	}
	if (errno != 0)
		goto fail;
	closedir(d);
	if (removed && fsync(t->storefd) == -1) {
		snprintf(err, errlen, "%s/%s: fsync: %s", t->host, TRAIL_STORE,
		    strerror(errno));
		return -1;
	}
	return 0;
fail:
	snprintf(err, errlen, "%s/%s: %s", t->host, TRAIL_STORE,
	    strerror(errno));
	closedir(d);
	return -1;
}

/* Whether st is one of the trail's files, kept or already let go. */
static int
is_trail_file(const struct trail *t, const struct stat *st)
{
	size_t i, n = t->nfiles;

	for (i = 0; i < n + t->ngone && S_ISREG(st->st_mode); i++) {
		const struct tfile *f = i < n ? &t->files[i] :
		    &t->gone[i - n];

		if (f->ino == st->st_ino && f->dev == st->st_dev)
			return 1;
	}
	return 0;
}

/*
 * Refuse to replace a file that is not part of the trail; *maxk is the
 * highest audit.log number present, if *have_any.
 */
static int
check_log_names(struct trail *t, int *have_any, size_t *maxk, char *err,
    size_t errlen)
{
	struct dirent *de;
	struct stat st;
	size_t k;
	int fd;
	DIR *d;

	if ((fd = openat(t->dirfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (d = fdopendir(fd)) == NULL) {
		snprintf(err, errlen, "%s: %s", t->host, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (parse_log_name(de->d_name, &k) == -1)
			continue;
		if (fstatat(t->dirfd, de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno == ENOENT)
				continue;
			break;
		}
		if (!is_trail_file(t, &st)) {
			snprintf(err, errlen, "host %s: %s is not a trail file "
			    "of %s/; move it away", t->host, de->d_name,
			    TRAIL_STORE);
			closedir(d);
			errno = EEXIST;
			return -1;
		}
		if (!*have_any || k > *maxk)
			*maxk = k;
		*have_any = 1;
	}
	if (errno != 0) {
		snprintf(err, errlen, "host %s: %s", t->host, strerror(errno));
		closedir(d);
		return -1;
	}
	closedir(d);
	return 0;
}

/* Each name not yet at its file: link the file, rename over the name. */
static int
link_log_names(struct trail *t, int *changed, char *err, size_t errlen)
{
	char name[64], sname[32];
	size_t k, n = t->nfiles;
	struct stat st;

	for (k = n; k-- > 0;) {
		const struct tfile *f = &t->files[n - 1 - k];

		log_name(name, sizeof(name), k);
		if (fstatat(t->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_ino == f->ino && st.st_dev == f->dev)
			continue;
		store_name(sname, sizeof(sname), f->num, 0);
		if (linkat(t->storefd, sname, t->dirfd, TRAIL_TMP, 0) == -1 ||
		    renameat(t->dirfd, TRAIL_TMP, t->dirfd, name) == -1) {
			snprintf(err, errlen, "host %s: %s -> %s/%s: %s",
			    t->host, name, TRAIL_STORE, sname,
			    strerror(errno));
			unlinkat(t->dirfd, TRAIL_TMP, 0);
			return -1;
		}
		*changed = 1;
		t->renamed++;
	}
	return 0;
}

/*
 * Point audit.log, audit.log.1, ... at the store files, newest first.
 * Each name is replaced by a rename, from the highest number down, so a
 * reader (or a crash) may see a name pointing at its neighbour's file but
 * never a missing number.  Names beyond the last file go, highest first.
 */
int
store_names(struct trail *t, char *err, size_t errlen)
{
	char name[64];
	size_t k, maxk = 0, n = t->nfiles;
	int have_any = 0, changed = 0;

	if (unlinkat(t->dirfd, TRAIL_TMP, 0) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "%s/%s: %s", t->host, TRAIL_TMP,
		    strerror(errno));
		return -1;
	}
	if (check_log_names(t, &have_any, &maxk, err, errlen) == -1 ||
	    link_log_names(t, &changed, err, errlen) == -1)
		return -1;
	for (k = maxk + 1; have_any && k-- > n;) {
		log_name(name, sizeof(name), k);
		if (unlinkat(t->dirfd, name, 0) == -1 && errno != ENOENT) {
			snprintf(err, errlen, "host %s: %s: %s", t->host, name,
			    strerror(errno));
			return -1;
		}
		changed = 1;
	}
	if (changed && fsync(t->dirfd) == -1) {
		snprintf(err, errlen, "host %s: fsync: %s", t->host,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Create the next trail file and its index; they become current. */
int
store_new_file(struct trail *t, char *err, size_t errlen)
{
	const int flags = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	const struct tfile *cur = trail_current(t);
	struct tfile f;
	struct stat st;
	char name[32], iname[32];
	int fd = -1, ifd = -1;

	VERIFY(t->fd == -1 && t->idxfd == -1);
	memset(&f, 0, sizeof(f));
	f.num = cur != NULL ? cur->num + 1 : 1;
	store_name(name, sizeof(name), f.num, 0);
	store_name(iname, sizeof(iname), f.num, 1);
	if ((fd = openat(t->storefd, name, flags, TRAIL_MODE)) == -1 ||
	    (ifd = openat(t->storefd, iname, flags, TRAIL_MODE)) == -1 ||
	    fstat(fd, &st) == -1 || fsync(t->storefd) == -1) {
		snprintf(err, errlen, "host %s: %s/%s: %s", t->host,
		    TRAIL_STORE, name, strerror(errno));
		goto fail;
	}
	f.ino = st.st_ino;
	f.dev = st.st_dev;
	store_give(fd, t->host, name);
	store_give(ifd, t->host, iname);
	if (add_file(t, &f) == -1) {
		snprintf(err, errlen, "host %s: %s", t->host, strerror(errno));
		goto fail;
	}
	t->fd = fd;
	t->idxfd = ifd;
	/*
	 * From here a failure leaves an empty file without an index entry,
	 * which start-up recovery removes, and names it rebuilds.
	 */
	return store_names(t, err, errlen);
fail:
	if (fd != -1) {
		close(fd);
		unlinkat(t->storefd, name, 0);
	}
	if (ifd != -1) {
		close(ifd);
		unlinkat(t->storefd, iname, 0);
	}
	return -1;
}

/*
 * Forget the newest file: it is empty and no index entry points into it.
 * Its names are replaced by store_names before store_purge unlinks it.
 */
int
store_forget_newest(struct trail *t)
{
	struct tfile *ng;

	VERIFY(t->nfiles > 0 && t->files[t->nfiles - 1].size == 0);
	if ((ng = reallocarray(t->gone, t->ngone + 1, sizeof(*ng))) == NULL)
		return -1;
	t->gone = ng;
	t->gone[t->ngone++] = t->files[--t->nfiles];
	return 0;
}

int
store_purge(struct trail *t, char *err, size_t errlen)
{
	char name[32];
	int idx;

	for (; t->ngone > 0; t->ngone--)
		for (idx = 0; idx <= 1; idx++) {
			store_name(name, sizeof(name),
			    t->gone[t->ngone - 1].num, idx);
			if (unlinkat(t->storefd, name, 0) == -1 &&
			    errno != ENOENT) {
				snprintf(err, errlen, "host %s: %s/%s: %s",
				    t->host, TRAIL_STORE, name,
				    strerror(errno));
				return -1;
			}
		}
	if (fsync(t->storefd) == -1) {
		snprintf(err, errlen, "host %s: fsync %s: %s", t->host,
		    TRAIL_STORE, strerror(errno));
		return -1;
	}
	return 0;
}

int
store_protect(struct trail *t, uint64_t num)
{
	struct stat st;
	char name[32];
	int idx;

	for (idx = 0; idx <= 1; idx++) {
		store_name(name, sizeof(name), num, idx);
		if (fstatat(t->storefd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno == ENOENT)
				continue;
			return -1;
		}
		if (!S_ISREG(st.st_mode) ||
		    (st.st_mode & 07777) == TRAIL_RO_MODE)
			continue;
		if (fchmodat(t->storefd, name, TRAIL_RO_MODE, 0) == -1)
			return -1;
	}
	return 0;
}

/*
 * Rotated files are read-only, as auditd leaves them.  Rotation makes the
 * old pair read-only only once the new file is in use, so a crash or a
 * full disk in between leaves it writable: done here at start-up.
 */
int
store_protect_rotated(struct trail *t, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i + 1 < t->nfiles; i++)
		if (store_protect(t, t->files[i].num) == -1) {
			snprintf(err, errlen, "host %s: %s/%016" PRIx64 ": %s",
			    t->host, TRAIL_STORE, t->files[i].num,
			    strerror(errno));
			return -1;
		}
	return 0;
}

/*
 * trail_keep and trail_max_size (data and index bytes): the oldest files
 * go, the highest name first (so the names stay without a gap), then the
 * store file.  The current file always stays.
 */
int
store_retain(struct trail *t, char *err, size_t errlen)
{
	struct stat st;
	char name[64];
	size_t i;
	int removed = 0;

	/* The current index's size is trail.c's to keep. */
	if (t->nfiles > 0)
		t->files[t->nfiles - 1].isize = t->idxsize;
	t->total = 0;
	for (i = 0; i < t->nfiles; i++)
		t->total += t->files[i].size + t->files[i].isize;
	while (t->nfiles > 1 &&
	    ((t->lim.keep != 0 && t->nfiles > t->lim.keep) ||
	    (t->lim.max_size != 0 && t->total > t->lim.max_size))) {
		const struct tfile *f = &t->files[0];

		log_name(name, sizeof(name), t->nfiles - 1);
		if (fstatat(t->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (st.st_ino != f->ino || st.st_dev != f->dev)) {
			snprintf(err, errlen, "host %s: %s does not point at "
			    "the oldest file; not removing it", t->host, name);
			errno = EEXIST;
			return -1;
		}
		if (unlinkat(t->dirfd, name, 0) == -1 && errno != ENOENT)
			goto fail;
		store_name(name, sizeof(name), f->num, 0);
		if (unlinkat(t->storefd, name, 0) == -1 && errno != ENOENT)
			goto fail;
		store_name(name, sizeof(name), f->num, 1);
		if (unlinkat(t->storefd, name, 0) == -1 && errno != ENOENT)
			goto fail;
		hlog_info(t->host, "removed the oldest trail file %s/%016"
		    PRIx64 " (%" PRIu64 " bytes with its index) to keep "
		    "within %s", TRAIL_STORE, f->num,
		    f->size + f->isize, t->lim.keep != 0 &&
		    t->nfiles > t->lim.keep ? "trail_keep" : "trail_max_size");
		t->total -= f->size + f->isize;
		memmove(&t->files[0], &t->files[1],
		    (t->nfiles - 1) * sizeof(*t->files));
		t->nfiles--;
		removed = 1;
	}
	if (removed && (fsync(t->dirfd) == -1 || fsync(t->storefd) == -1)) {
		snprintf(err, errlen, "host %s: fsync: %s", t->host,
		    strerror(errno));
		return -1;
	}
	return 0;
fail:
	snprintf(err, errlen, "host %s: %s: %s", t->host, name,
	    strerror(errno));
	return -1;
}
