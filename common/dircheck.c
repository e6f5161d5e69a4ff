#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dircheck.h"

int
dircheck(const char *dir, struct stat *st, char *err, size_t errlen)
{
	char parent[PATH_MAX], *slash;

	if (lstat(dir, st) == 0) {
		if (S_ISDIR(st->st_mode))
			return 1;
		snprintf(err, errlen, "%s: %s", dir, S_ISLNK(st->st_mode) ?
		    "a symbolic link, not a directory" : "not a directory");
		return -1;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(parent, sizeof(parent), "%s", dir);
	if ((slash = strrchr(parent, '/')) == NULL)
		return 0;	/* conf_load has refused relative paths */
	if (slash == parent)
		slash++;			/* "/dir": the parent is "/" */
	*slash = '\0';
	if (stat(parent, st) == 0 && !S_ISDIR(st->st_mode))
		errno = ENOTDIR;
	else if (stat(parent, st) == 0 && faccessat(AT_FDCWD, parent,
	    W_OK | X_OK, AT_EACCESS) == 0)
		return 0;
	snprintf(err, errlen, "%s does not exist and cannot be created in "
	    "%s: %s", dir, parent, strerror(errno));
	return -1;
}
