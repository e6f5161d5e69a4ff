/*
 * A table of hosts sorted by name, for the processes that keep a struct
 * per host they have seen (the auditor's counters, the publisher's
 * cursors, the reader's trails, the parent's status rows).  It holds
 * pointers to the caller's structs, each with its name at name_off, and
 * finds one by binary search; entries stay in name order.  Each host's
 * small state file, in a directory of the process's, is read the same way.
 */
#ifndef AUDITDIST_HOSTTAB_H
#define AUDITDIST_HOSTTAB_H

#include <stddef.h>

struct hosttab {
	void		**v;		/* n entries, sorted by name */
	size_t		  n, cap;
	size_t		  name_off;	/* of the name in an entry */
};

#define HOSTTAB_INIT(type, member)	{ NULL, 0, 0, offsetof(type, member) }

/* The entry named name, or NULL; *at: where it is, or would go. */
void	*hosttab_find(const struct hosttab *, const char *name, size_t *at);
/* Put e, named as the hosttab_find that gave at was asked, at at. */
int	 hosttab_insert(struct hosttab *, size_t at, void *e);
/* Forget every entry (they are the caller's to free). */
void	 hosttab_clear(struct hosttab *);

/*
 * The state file name in dirfd, at most cap bytes of it into buf: 1;
 * 0 when there is none; -1 (errno set) when it cannot be read or is empty.
 */
int	 hosttab_read_file(int dirfd, const char *name, char *buf, size_t cap,
	    size_t *len);

#endif
