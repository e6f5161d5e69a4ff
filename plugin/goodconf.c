/*
 * The last good configuration: a copy of the configuration file as it
 * was when it last loaded, kept in a place known without reading any
 * configuration (the state directory, -D).  When the file is broken at
 * a start, audisp-dist runs on this copy instead of exiting: auditd
 * gives up on a plugin that exits, and its records would be lost.
 *
 * The copy holds passwords: root's own, mode 0600, written atomically
 * (temporary file, fsync, rename, fsync of the directory) so that a
 * crash leaves the old copy or the new one, never half of one.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audisp-dist.h"

#define GOODCONF_MAX	(1024 * 1024)	/* more than any configuration */

int
goodconf_path(char *buf, size_t len, const char *dir)
{
	int n = snprintf(buf, len, "%s/%s", dir, GOODCONF_NAME);

	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* src's bytes into the new file tmp of dirfd, synced. */
static int
copy_file(const char *src, int dirfd, const char *tmp)
{
	char *buf;
	ssize_t n;
	size_t len = 0;
	int in, out = -1, rc = -1;

	if ((in = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1)
		return -1;
	if ((buf = malloc(GOODCONF_MAX)) == NULL)
		goto out;
	while (len < GOODCONF_MAX && (n = read(in, buf + len,
	    GOODCONF_MAX - len)) != 0) {
		if (n == -1 && errno != EINTR)
			goto out;
		if (n > 0)
			len += (size_t)n;
	}
	if (len == GOODCONF_MAX) {
		errno = EFBIG;
		goto out;
	}
	unlinkat(dirfd, tmp, 0);
	if ((out = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1 ||
	    fchmod(out, 0600) == -1 ||
	    write(out, buf, len) != (ssize_t)len || fsync(out) == -1)
		goto out;
	rc = 0;
out:
	if (buf != NULL) {
		explicit_bzero(buf, len);
		free(buf);
	}
	if (out != -1 && close(out) == -1)
		rc = -1;
	close(in);
	return rc;
}

/*
 * Keep a copy of src, which has just loaded, as dir's last good copy.
 * The copy is loaded again before it replaces the old one: src may have
 * been changed in between.
 */
int
goodconf_save(const char *dir, const char *src, char *err, size_t errlen)
{
	char name[64], tmp[4096], cerr[1024];
	struct conf *c;
	int dirfd, saved;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "creating %s: %s", dir, strerror(errno));
		return -1;
	}
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	/* Our own name: another audisp-dist may share the directory. */
	snprintf(name, sizeof(name), ".%s.%ld.tmp", GOODCONF_NAME,
	    (long)getpid());
	snprintf(tmp, sizeof(tmp), "%s/%s", dir, name);
	if (copy_file(src, dirfd, name) == -1) {
		snprintf(err, errlen, "copying %s to %s: %s", src, tmp,
		    strerror(errno));
		goto fail;
	}
	if ((c = conf_load(tmp, cerr, sizeof(cerr))) == NULL) {
		snprintf(err, errlen, "%s changed while it was copied: %s",
		    src, cerr);
		goto fail;
	}
	conf_free(c);
	if (renameat(dirfd, name, dirfd, GOODCONF_NAME) == -1 ||
	    fsync(dirfd) == -1) {
		snprintf(err, errlen, "%s/%s: %s", dir, GOODCONF_NAME,
		    strerror(errno));
		goto fail;
	}
	close(dirfd);
	return 0;
fail:
	saved = errno;
	unlinkat(dirfd, name, 0);
	close(dirfd);
	errno = saved;
	return -1;
}

/* "2026-12-04T21:00:00Z": when path was written; "an unknown time" if unknown. */
void
goodconf_time(const char *path, char *buf, size_t len)
{
	struct stat st;
	struct tm tm;

	if (stat(path, &st) == -1 || gmtime_r(&st.st_mtime, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "an unknown time");
}
