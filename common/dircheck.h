/*
 * What "-n" checks of a directory a start would use or create, without
 * creating or changing anything.
 */
#ifndef AUDITDIST_DIRCHECK_H
#define AUDITDIST_DIRCHECK_H

#include <sys/stat.h>
#include <stddef.h>

/*
 * 1: dir exists and is a directory (*st, from lstat, for the caller's own
 * rules); 0: it is missing and its parent is a directory this process may
 * create it in; -1: neither, err says why.
 */
int	dircheck(const char *dir, struct stat *st, char *err, size_t errlen);

#endif
