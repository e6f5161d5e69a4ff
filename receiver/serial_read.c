/*
 * Reading a host's trail for the serial counter (and, through the helpers
 * it exports, for the publisher): the files of .store/ in their order (the names audit.log, audit.log.N move at every rotation;
 * the store numbers do not), from the counter's position on.
 *
 * Read-only: every file is opened O_RDONLY and nothing is ever written,
 * renamed or removed.  What is read is what the file holds when looked at:
 * the writer only appends, and only whole frames (whole lines), so a file
 * that a newer one follows is complete, and in the current one a line not
 * yet whole is left for the next call.  Bytes not yet synced may be cut
 * back by the writer after a failed write or a crash; a file found shorter
 * than what was read is counted (cutback) and read on from its new end, so
 * the records sent again show up as serials already seen, not as gaps.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auditdistd.h"
#include "log.h"
#include "sandbox.h"
#include "serial.h"

#define READ_CHUNK	(64 * 1024)

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The numbers of the trail files in .store, oldest first. */
int
serial_list_files(int storefd, uint64_t **out, size_t *n)
{
	uint64_t *v = NULL, *nv, num;
	size_t cap = 0;
	struct dirent *de;
	DIR *d;
	int fd, idx;

	*n = 0;
	if ((fd = dup(storefd)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	rewinddir(d);
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (store_parse_name(de->d_name, &num, &idx) == -1 || idx)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
				goto fail;
			v = nv;
		}
		v[(*n)++] = num;
	}
	if (errno != 0)
		goto fail;
	closedir(d);
	qsort(v, *n, sizeof(*v), cmp_u64);
	*out = v;
	return 0;
fail:
	closedir(d);
	free(v);
	return -1;
}

/*
 * Feed file num from the counter's position, at most *left bytes.
 * 1: the file is gone.
 */
static int
read_file(struct serial *s, int storefd, uint64_t num, uint64_t *left,
    int *at_end, char *buf)
{
	struct serial_pos pos;
	struct stat st;
	char name[32];
	uint64_t off, size;
	ssize_t r;
	size_t want;
	int fd, ret = -1;

	*at_end = 0;
	if (store_name(name, sizeof(name), num, 0) == -1)
		return -1;
	/*
	 * Without updating its access time: with relatime a read after every
	 * append would dirty the inode, and the writers' syncs would write it.
	 */
	fd = openat(storefd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NOATIME);
	if (fd == -1 && errno == EPERM)		/* not the file's owner */
		fd = openat(storefd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 1 : -1;	/* retention took it */
	if (fstat(fd, &st) == -1)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto out;
	}
	size = (uint64_t)st.st_size;
	serial_get_pos(s, &pos);
	off = pos.off + pos.buffered;
	if (size < off) {
		/* The writer cuts at a line's end: at most to pos.off. */
		off = size < pos.off ? size : pos.off;
		serial_seek(s, num, off, SERIAL_CUT);
	}
	while (off < size && *left > 0) {
		want = READ_CHUNK;
		if (size - off < want)
			want = (size_t)(size - off);
		if (*left < want)
			want = (size_t)*left;
		if ((r = pread(fd, buf, want, (off_t)off)) == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (r == 0)
			break;			/* cut back while reading */
		if (serial_feed(s, buf, (size_t)r) == -1) {
			errno = EIO;
			goto out;
		}
		off += (uint64_t)r;
		*left -= (uint64_t)r;
	}
	*at_end = off >= size;
	ret = 0;
out:
	close(fd);
	return ret;
}

/*
 * Whether the reader may leave a file for the next one: only once the next
 * one holds bytes.  An empty newest file may be forgotten at the writer's
 * recovery, and the one before it written to again.
 */
int
serial_has_bytes(int storefd, uint64_t num)
{
	struct stat st;
	char name[32];

	return store_name(name, sizeof(name), num, 0) == 0 &&
	    fstatat(storefd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && st.st_size > 0;
}

/* The first of the n files v numbered at least num, or n. */
size_t
serial_find_file(const uint64_t *v, size_t n, uint64_t num)
{
	size_t i;

	for (i = 0; i < n && v[i] < num; i++)
		;
	return i;
}

/*
 * The usual case first, without listing the directory: the file being
 * read grew, and was read to its end (or to the budget), and the next one
 * holds nothing yet.  1: done; 0: go on as serial_read does.
 */
static int
read_current(struct serial *s, int storefd, uint64_t *left, char *buf)
{
	struct serial_pos pos;
	uint64_t before = *left;
	int at_end;

	serial_get_pos(s, &pos);
	if (pos.file == 0 ||
	    read_file(s, storefd, pos.file, left, &at_end, buf) != 0)
		return 0;		/* gone, or an error: seen again */
	return *left == 0 || (*left < before && at_end &&
	    !serial_has_bytes(storefd, pos.file + 1));
}

/*
 * Feed the counter what host directory hostfd's trail gained since its
 * position, at most max bytes; *nread: how many were read.
 */
int
serial_read(struct serial *s, int hostfd, uint64_t max, uint64_t *nread,
    char *err, size_t errlen)
{
	struct serial_pos pos;
	uint64_t *v = NULL, left = max;
	size_t n = 0, i;
	char *buf = NULL;
	int storefd, r, at_end, ret = -1;

	*nread = 0;
	if ((storefd = openat(hostfd, TRAIL_STORE, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", TRAIL_STORE, strerror(errno));
		return -1;
	}
	if ((buf = malloc(READ_CHUNK)) == NULL) {
		snprintf(err, errlen, "%s: %s", TRAIL_STORE, strerror(errno));
		goto out;
	}
	if (read_current(s, storefd, &left, buf) == 1)
		goto done;
	if (serial_list_files(storefd, &v, &n) == -1) {
		snprintf(err, errlen, "%s: %s", TRAIL_STORE, strerror(errno));
		goto out;
	}
	while (n > 0 && left > 0) {
		serial_get_pos(s, &pos);
		if ((i = serial_find_file(v, n, pos.file)) == n) {
			/* A store made anew (numbers restart): from its start. */
			i = 0;
		}
		if (v[i] != pos.file)
			serial_seek(s, v[i], 0, pos.file == 0 ? SERIAL_NEXT :
			    SERIAL_SKIP);
		if ((r = read_file(s, storefd, v[i], &left, &at_end, buf)) ==
		    -1) {
			snprintf(err, errlen, "%s/%016" PRIx64 ": %s",
			    TRAIL_STORE, v[i], strerror(errno));
			goto out;
		}
		if (r == 1 && i + 1 < n) {
			serial_seek(s, v[i + 1], 0, SERIAL_SKIP);
			continue;
		}
		if (r == 1 || !at_end || i + 1 == n ||
		    !serial_has_bytes(storefd, v[i + 1]))
			break;
		serial_end_file(s);
		/* Numbers follow on; one missing was removed unread. */
		serial_seek(s, v[i + 1], 0, v[i + 1] == v[i] + 1 ?
		    SERIAL_NEXT : SERIAL_SKIP);
	}
done:
	*nread = max - left;
	ret = 0;
out:
	free(buf);
	free(v);
	close(storefd);
	return ret;
}

void
serial_each_host(const struct parent_args *a, serial_host_fn *fn, void *arg)
{
	const struct conf_host *ch;
	struct dirent *de;
	DIR *d;
	int fd;

	for (ch = a->conf->receiver.hosts; ch != NULL; ch = ch->next)
		if (ch->directory[0] == '/')
			fn(ch->name, ch->directory, arg);
	if ((fd = openat(a->recvfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		log_warn("listing %s", a->recvdir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || !wire_valid_host(de->d_name,
		    strlen(de->d_name)) || de->d_name[0] == '.')
			continue;
		fn(de->d_name, NULL, arg);
	}
	closedir(d);
}

void
serial_sandbox_hosts(struct sandbox *sb, const struct parent_args *a)
{
	const struct conf_host *ch;
	size_t n = strlen(a->recvdir);

	sandbox_fd(sb, a->recvfd, SB_READ);
	for (ch = a->conf->receiver.hosts; ch != NULL; ch = ch->next)
		if (ch->directory[0] == '/' &&
		    (strncmp(ch->directory, a->recvdir, n) != 0 ||
		    ch->directory[n] != '/'))
			sandbox_path(sb, ch->directory, SB_READ);
}
