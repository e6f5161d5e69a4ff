/*
 * auditdistd -R, the reading mode: a JetStream stream that receivers
 * publish to (publish.c) back into per-host trails in the receiver's
 * layout (trail.c, store.c), through a durable pull consumer.  reader.c
 * is the process (start, confinement, NATS, the loop); reader_host.c a
 * host's trail and what each message does to it.
 */
#ifndef AUDITDIST_READER_H
#define AUDITDIST_READER_H

#include <stddef.h>
#include <stdint.h>

#include "auditdistd.h"

#define READER_STATE	".reader"	/* in read_into: one file per host */
#define READER_NAK_MS	1000		/* a waiting host's message, again */
#define READER_LONG_WAIT_MS 15000	/* then: */
#define READER_NAK_LONG_MS 10000

/* What a message does to its host's trail. */
enum reader_verdict {
	RV_WRITTEN,	/* appended: ack once durable */
	RV_HELD,	/* the trail holds it already: ack once durable */
	RV_WAIT,	/* does not follow what the trail holds: NAK, later */
	RV_BAD,		/* can never fit (malformed): TERM */
};

/* A message, taken apart and checked by reader.c. */
struct reader_msg {
	const char	*host;		/* from the subject, valid */
	uint8_t		 spool[WIRE_ID_LEN];
	uint64_t	 seg, off;	/* the sender's segment, the offset */
	uint64_t	 sseq;		/* the stream's sequence */
	uint64_t	 expect;	/* the subject's sequence before it */
	const void	*data;
	size_t		 len;
};

struct rdhost;

/* reader_host.c */
/* rootfd: read_into, open and locked; its state directory is made. */
int		 rdhost_init(int rootfd, const struct trail_limits *,
		    char *err, size_t errlen);
/* The host with its trail open; NULL: it cannot be written now (logged). */
struct rdhost	*rdhost_get(const char *name);
enum reader_verdict rdhost_apply(struct rdhost *, const struct reader_msg *);
/* The round's writes and each touched host's state, made durable. */
void		 rdhost_commit(void);
/* The delay of a NAK of its message (h NULL: it cannot be opened). */
long		 rdhost_nak_ms(const struct rdhost *);
/* Its writes of this round were lost: its messages wait. */
int		 rdhost_failed(const struct rdhost *);
/* After the acknowledgements: failed hosts are closed, to be reopened. */
void		 rdhost_round_end(void);
void		 rdhost_close_all(void);
/* Bytes and messages written since the start. */
void		 rdhost_totals(uint64_t *bytes, uint64_t *msgs);

/* reader.c: main() of -R, as the user, read_into open in a->recvfd */
void		 reader_main(const struct parent_args *)
		    __attribute__((noreturn));

#endif
