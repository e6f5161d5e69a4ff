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

enum pubnats_res {
	PN_OK,		/* stored (or a duplicate of one stored) */
	PN_MOVED,	/* the subject's last sequence is not the expected one */
	PN_DOWN,	/* no answer, or an error: try again later */
};

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
/* The subject's last message: its ID, sequence and length; 0: none. */
int		 pubnats_last(const char *subj, char *id, size_t,
		    uint64_t *seq, uint64_t *len, char *err, size_t errlen);

#endif
