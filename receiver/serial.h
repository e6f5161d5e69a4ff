/*
 * Serial gaps: which of the kernel's event serials never reached a host's
 * trail.  A counter is fed the trail's bytes in order (serial_feed, or
 * serial_read, which reads them from the host's directory), assembles
 * events (with libauparse wherever they are not plainly in order) and
 * reports each run of serials that never arrived.  The rules (window,
 * reboots, auditd restarts, when libauparse steps in) are in
 * docs/serial-gaps.md.  Its state is a small text (serial_save,
 * serial_load) so that a restart resumes where it stopped.
 *
 * Single-threaded; one counter per host.  Nothing here writes to a trail.
 */
#ifndef AUDITDIST_SERIAL_H
#define AUDITDIST_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#define SERIAL_WINDOW		256	/* serials past a hole ... */
#define SERIAL_WINDOW_MS	5000	/* ... and ms of audit time past it */
#define SERIAL_MAX_HOLES	1024	/* open holes kept; beyond: settled */
#define SERIAL_LINE_MAX		(128 * 1024 + 64)	/* longer: bad */
#define SERIAL_STATE_MAX	((64 + SERIAL_MAX_HOLES) * 64)	/* bytes */

/* A run of serials that never arrived. */
struct serial_gap {
	uint64_t	boot;		/* boots seen before this one (0: first) */
	uint64_t	from, to;	/* missing serials, inclusive */
	uint64_t	time_ms;	/* audit time of the event after them */
};

struct serial_stats {
	uint64_t	bytes;		/* of whole lines consumed */
	uint64_t	lines;
	uint64_t	bad;		/* not a record: never given to auparse */
	uint64_t	records;	/* lines that are records */
	uint64_t	eoe;		/* of which EOE, which events do not hold */
	uint64_t	auparsed;	/* of which given to auparse (not saved) */
	uint64_t	events;		/* made of them (by hand or by auparse) */
	uint64_t	in_events;	/* records in those events */
	uint64_t	daemon;		/* auditd's own events (own numbering) */
	uint64_t	stale;		/* at or below the floor, or above 32 bits */
	uint64_t	open;		/* holes not yet settled (not saved) */
	uint64_t	boots;		/* serials restarted: a reboot */
	uint64_t	restarts;	/* DAEMON_START, DAEMON_END, DAEMON_ABORT */
	uint64_t	gaps;		/* runs reported */
	uint64_t	missing;	/* serials in them */
	uint64_t	forced;		/* holes settled early (too many open) */
	uint64_t	skipped;	/* times trail bytes went unread (retention) */
	uint64_t	cutback;	/* trail files found shorter than read */
};

/* Where the next byte comes from: a .store file and an offset in it. */
struct serial_pos {
	uint64_t	file;		/* 0: nothing read yet */
	uint64_t	off;		/* end of the last whole line read */
	uint64_t	buffered;	/* bytes of a line begun after off */
};

struct serial;

/* Why the reader moves: see serial_seek. */
enum serial_seek {
	SERIAL_NEXT,		/* on to the next file: nothing missed */
	SERIAL_SKIP,		/* bytes never read (retention took them) */
	SERIAL_CUT,		/* the file is shorter than what was read */
};

typedef void serial_gap_fn(const struct serial_gap *, void *);

/* serial.c */
struct serial	*serial_new(serial_gap_fn *, void *);
void		 serial_free(struct serial *);
int		 serial_feed(struct serial *, const void *, size_t);
void		 serial_end_file(struct serial *);
int		 serial_flush(struct serial *);
void		 serial_seek(struct serial *, uint64_t, uint64_t,
		    enum serial_seek);
int		 serial_save(struct serial *, char *, size_t, size_t *);
struct serial	*serial_load(const char *, size_t, serial_gap_fn *, void *);
void		 serial_get_stats(const struct serial *, struct serial_stats *);
void		 serial_get_pos(const struct serial *, struct serial_pos *);

/* serial_read.c */
int		 serial_read(struct serial *, int, uint64_t, uint64_t *,
		    char *, size_t);
/* The trail files' numbers in .store (storefd), oldest first; free them. */
int		 serial_list_files(int, uint64_t **, size_t *);
/* Whether file num holds bytes: only then may a reader leave the one
 * before it for good. */
int		 serial_has_bytes(int, uint64_t);
/* The first of the n numbers v at least num, or n. */
size_t		 serial_find_file(const uint64_t *, size_t, uint64_t);
/*
 * fn(name, path, arg) for every host with a trail: first those configured
 * with an absolute directory (path: it), then the receiver directory's
 * (path: NULL), which may name a configured one again.
 */
struct parent_args;
struct sandbox;
typedef void	 serial_host_fn(const char *, const char *, void *);
void		 serial_each_host(const struct parent_args *, serial_host_fn *,
		    void *);
/* Let the sandbox read every host's trail. */
void		 serial_sandbox_hosts(struct sandbox *,
		    const struct parent_args *);

#endif
