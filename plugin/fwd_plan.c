/*
 * The forwarder's decisions that depend on nothing but their inputs:
 * where to resume after a WELCOME (docs/protocol.md, "Resume"), how much
 * of a read may be sent, whether an ACK is believable, and how many bytes
 * are in flight.  Kept apart so that the unit tests can cover every case.
 */
#include <arpa/inet.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forwarder.h"

static void
refuse(struct fwd_resume *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
refuse(struct fwd_resume *r, const char *fmt, ...)
{
	va_list ap;

	r->act = FWD_RESUME_REFUSE;
	memset(&r->acked, 0, sizeof(r->acked));
	va_start(ap, fmt);
	vsnprintf(r->note, sizeof(r->note), fmt, ap);
	va_end(ap);
}

void
fwd_resume(const uint8_t our_id[WIRE_ID_LEN], const struct spool_seg *segs,
    size_t n, const uint8_t their_id[WIRE_ID_LEN],
    const struct fwd_pos *theirs, struct fwd_resume *r)
{
	const struct spool_seg *s = NULL;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->act = FWD_RESUME_SEND;
	/* All zero never equals a spool id: those are random. */
	if (memcmp(their_id, our_id, WIRE_ID_LEN) != 0 || theirs->seq == 0) {
		/* A new series: everything we have, from the oldest. */
		r->new_series = 1;
		return;
	}
	r->acked = *theirs;
	for (i = 0; i < n && s == NULL; i++)
		if (segs[i].seq >= theirs->seq)
			s = &segs[i];
	if (s == NULL) {
		refuse(r, "the receiver holds segment %016" PRIx64 " of this "
		    "spool, newer than any here (%016" PRIx64 "); not "
		    "overwriting it", theirs->seq, n ? segs[n - 1].seq : 0);
		return;
	}
	if (s->seq > theirs->seq) {
		/* Lost (drop_old, or emptied by a crash): start after. */
		r->from.seq = s->seq;
		if (s->seq > theirs->seq + 1 || !theirs->complete)
			snprintf(r->note, sizeof(r->note), "the spool no longer "
			    "has what follows segment %016" PRIx64 " offset %"
			    PRIu64 " (dropped, or empty); resuming at segment "
			    "%016" PRIx64, theirs->seq, theirs->size, s->seq);
		return;
	}
	if (theirs->complete) {
		if (s->open) {
			refuse(r, "the receiver says segment %016" PRIx64 " is "
			    "complete, but it is still being written here",
			    s->seq);
			return;
		}
		r->from.seq = s->seq + 1;
		return;
	}
	if (theirs->size <= s->size) {
		/* At the end of a closed segment this sends SEGEND. */
		r->from.seq = s->seq;
		r->from.size = theirs->size;
		return;
	}
	if (s->open) {
		refuse(r, "the receiver holds %" PRIu64 " bytes of segment %016"
		    PRIx64 ", more than the %" PRIu64 " written here",
		    theirs->size, s->seq, s->size);
		return;
	}
	/* A power loss cut what it already has: it holds the whole. */
	r->from.seq = s->seq + 1;
	snprintf(r->note, sizeof(r->note), "the receiver holds %" PRIu64
	    " bytes of segment %016" PRIx64 ", the spool %" PRIu64 " (cut "
	    "after a crash?); going on with the next segment", theirs->size,
	    s->seq, s->size);
}

size_t
fwd_cut_lines(const char *buf, size_t len)
{
	const char *nl;

	if (len == 0 || (nl = memrchr(buf, '\n', len)) == NULL)
		return 0;
	return (size_t)(nl - buf) + 1;
}

int
fwd_ack_ok(const struct fwd_pos *sent, const struct fwd_pos *last,
    const struct fwd_pos *ack)
{
	int c;

	if (ack->seq == 0 || fwd_pos_cmp(ack, sent) > 0)
		return 0;
	/* Complete is only known from our SEGEND. */
	if (ack->complete && ack->seq == sent->seq &&
	    (!sent->complete || ack->size != sent->size))
		return 0;
	if ((c = fwd_pos_cmp(ack, last)) < 0)
		return 0;
	if (c == 0 && ack->seq == last->seq && last->complete &&
	    !ack->complete)
		return 0;
	return 1;
}

void
fwd_window_init(struct fwd_window *w)
{
	memset(w, 0, sizeof(*w));
}

void
fwd_window_free(struct fwd_window *w)
{
	free(w->v);
	fwd_window_init(w);
}

int
fwd_window_sent(struct fwd_window *w, uint64_t seq, uint64_t off,
    uint64_t len)
{
	if (w->n == 0 || w->v[w->n - 1].seq != seq) {
		if (w->n == w->cap) {
			size_t cap = w->cap ? 2 * w->cap : 16;
			struct fwd_wseg *v;

			if ((v = reallocarray(w->v, cap, sizeof(*v))) == NULL)
				return -1;
			w->v = v;
			w->cap = cap;
		}
		w->v[w->n].seq = seq;
		w->v[w->n].start = off;
		w->v[w->n].base = w->sent;
		w->n++;
	}
	w->sent += len;
	return 0;
}

void
fwd_window_ack(struct fwd_window *w, uint64_t seq, uint64_t size)
{
	uint64_t a = w->acked;
	size_t i, drop;

	for (i = 0; i < w->n && w->v[i].seq < seq; i++)
		;
	drop = i;
	if (i == w->n) {
		if (drop > 0)		/* past all we sent: all of it */
			a = w->sent;
	} else if (w->v[i].seq == seq) {
		if (size > w->v[i].start)
			a = w->v[i].base + (size - w->v[i].start);
	} else
		a = w->v[i].base;	/* everything before segment i */
	if (a > w->sent)
		a = w->sent;
	if (a > w->acked)
		w->acked = a;
	if (drop > 0) {
		memmove(w->v, w->v + drop, (w->n - drop) * sizeof(*w->v));
		w->n -= drop;
	}
}

int
fwd_split_hostport(const char *s, char *host, size_t hostlen, char *port,
    size_t portlen, const char *defport, int *numeric)
{
	const char *e, *p = defport;
	struct in_addr a4;
	size_t len;

	*numeric = 0;
	if (strncmp(s, "tls://", 6) == 0)
		s += 6;
	if (*s == '[') {
		if ((e = strchr(++s, ']')) == NULL)
			return -1;
		if (e[1] == ':')
			p = e + 2;
		else if (e[1] != '\0')
			return -1;
		*numeric = 1;
	} else {
		if ((e = strchr(s, ':')) != NULL) {
			if (strchr(e + 1, ':') != NULL)
				return -1;
			p = e + 1;
		} else
			e = s + strlen(s);
	}
	len = (size_t)(e - s);
	if (len == 0 || len >= hostlen)
		return -1;
	if (p != defport && (*p == '\0' ||
	    strspn(p, "0123456789") != strlen(p)))
		return -1;
	if (p == NULL)
		p = "";
	if (strlen(p) >= portlen)
		return -1;
	memcpy(host, s, len);
	host[len] = '\0';
	memcpy(port, p, strlen(p) + 1);
	if (!*numeric)
		*numeric = inet_pton(AF_INET, host, &a4) == 1;
	return 0;
}
