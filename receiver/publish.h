/*
 * The publisher (publish.c) and its NATS side (pubnats.c): every host's
 * trail, once durable, to the subject PREFIX.HOST of a JetStream stream.
 */
#ifndef AUDITDIST_PUBLISH_H
#define AUDITDIST_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/*
 * A message's data: whole lines; with its headers within JetStream's
 * default max_payload, 1 MiB, which counts them.
 */
#define PUBLISH_CHUNK		(1024 * 1024 - 4096)
/* The stream's duplicate window: it must outlast a publisher's restart. */
#define PUBLISH_WINDOW_NS	(120LL * 1000000000)

#define PUBLISH_SPOOL_LEN	32	/* hex digits of a spool id */

/* A sender segment in a trail file (pubidx.c). */
struct pubseg {
	char		 spool[PUBLISH_SPOOL_LEN + 1];
	uint64_t	 seq;
	uint64_t	 start;		/* its first byte in the trail file */
	uint64_t	 end;		/* the next one's start; UINT64_MAX:
					   none yet */
};

enum pubnats_res {
	PN_OK,		/* stored (or a duplicate of one stored) */
	PN_MOVED,	/* the subject's last sequence is not the expected one */
	PN_DOWN,	/* no answer, or an error: try again later */
};

/* A message ID, HOST:SPOOL:SEGMENT:OFFSET (publish.c makes them). */
struct pubid {
	const char	*host;		/* hostlen bytes of the ID */
	size_t		 hostlen;
	char		 spool[PUBLISH_SPOOL_LEN + 1];	/* as text */
	uint8_t		 spool_id[PUBLISH_SPOOL_LEN / 2];	/* as bytes */
	uint64_t	 seg, off;
};

/* pubidx.c */
struct pubidx;
struct pubidx	*pubidx_new(void);
void		 pubidx_free(struct pubidx *);
/* The segment that holds byte off of trail file num; -1: not indexed. */
int		 pubidx_segment(struct pubidx *, int storefd, uint64_t num,
		    uint64_t off, struct pubseg *);
/* The file and offset where segment spool:seq starts, among the n files
 * v; -1: not there. */
int		 pubidx_locate(struct pubidx *, int storefd, const uint64_t *v,
		    size_t n, const char *spool, uint64_t seq, uint64_t *file,
		    uint64_t *start);
/* id taken apart; -1: it is not of that shape. */
int		 pubidx_parse_id(const char *id, struct pubid *);

/* pubnats.c */
/* The connection's options; ca_pem: the cafile's text, or NULL. */
int		 pubnats_init(const struct conf_publish *, const char *ca_pem,
		    char *, size_t);
/* Connected, and the stream fits (made when allowed): 1; 0: err says. */
int		 pubnats_ready(char *, size_t);
/*
 * Publish len bytes to subj with message ID id, expecting the subject's
 * last sequence to be expect (0: no message yet); *seq: the stream's
 * sequence of the message, *dup: it was a duplicate of one stored.
 */
enum pubnats_res pubnats_publish(const char *subj, const char *id,
		    const void *, size_t, uint64_t expect, uint64_t *seq,
		    int *dup, char *err, size_t errlen);
#ifdef NATS_H_
/* The connection's JetStream context, once pubnats_ready said 1. */
jsCtx		*pubnats_js(void);
#endif
/* The subject's last message: its ID, sequence and length; 0: none. */
int		 pubnats_last(const char *subj, char *id, size_t,
		    uint64_t *seq, uint64_t *len, char *err, size_t errlen);

#endif
