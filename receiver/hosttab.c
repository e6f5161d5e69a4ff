/* A table of hosts sorted by name (hosttab.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hosttab.h"

#define HOSTTAB_FIRST	64

static const char *
name_of(const struct hosttab *t, size_t i)
{
	return (const char *)t->v[i] + t->name_off;
}

void *
hosttab_find(const struct hosttab *t, const char *name, size_t *at)
{
	size_t lo = 0, hi = t->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(name, name_of(t, mid))) == 0) {
			*at = mid;
			return t->v[mid];
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*at = lo;
	return NULL;
}

int
hosttab_insert(struct hosttab *t, size_t at, void *e)
{
	void **nv;
	size_t cap;

	if (t->n == t->cap) {
		cap = t->cap ? t->cap * 2 : HOSTTAB_FIRST;
		if ((nv = reallocarray(t->v, cap, sizeof(*nv))) == NULL)
			return -1;
		t->v = nv;
		t->cap = cap;
	}
	memmove(t->v + at + 1, t->v + at, (t->n - at) * sizeof(*t->v));
	t->v[at] = e;
	t->n++;
	return 0;
}

void
hosttab_clear(struct hosttab *t)
{
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}

int
hosttab_read_file(int dirfd, const char *name, char *buf, size_t cap,
    size_t *len)
{
	ssize_t r;
	int fd, saved;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) ==
	    -1)
		return errno == ENOENT ? 0 : -1;
	r = read(fd, buf, cap);
	saved = r == 0 ? EINVAL : errno;
	close(fd);
	if (r <= 0) {
		errno = saved;
		return -1;
	}
	*len = (size_t)r;
	return 1;
}
