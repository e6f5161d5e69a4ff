/*
 * The forwarder's decisions that depend on nothing but their inputs:
 * where to resume after a WELCOME (docs/protocol.md, "Resume"), how much
 * of a read may be sent, whether an ACK is believable, and how many bytes
 * are in flight, how long to wait before a retry.  Kept apart so that the
 * unit tests can cover every case.
 */
#include <arpa/inet.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forwarder.h"
#include "tcur.h"

static void
verdict(struct fwd_resume *r, enum fwd_resume_act act, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
verdict(struct fwd_resume *r, enum fwd_resume_act act, const char *fmt, ...)
{
	va_list ap;

	r->act = act;
	memset(&r->acked, 0, sizeof(r->acked));
	memset(&r->from, 0, sizeof(r->from));
	r->check_off = 0;
	r->check_len = 0;
	va_start(ap, fmt);
	vsnprintf(r->note, sizeof(r->note), fmt, ap);
	va_end(ap);
}

/*
 * The receiver holds theirs->size bytes of our segment s; its tail
 * covers [size - tail_len, size).  Compare what we have of that.
 */
static void
check_tail(struct fwd_resume *r, const struct spool_seg *s,
    const struct wire_pos *theirs, size_t tail_len)
{
	uint64_t start = theirs->size - tail_len;
	uint64_t end = theirs->size < s->size ? theirs->size : s->size;

	if (end <= start && tail_len > 0) {
		/* Cut by more than the tail: nothing says it is ours. */
		verdict(r, FWD_RESUME_ROLLBACK, "the receiver holds %" PRIu64
		    " bytes of segment %016" PRIx64 ", this spool %" PRIu64
		    ", too few to compare with its last %zu", theirs->size,
		    s->seq, s->size, tail_len);
		return;
	}
	r->check_off = start;
	r->check_len = (size_t)(end - start);
}

void
fwd_resume(const uint8_t our_id[WIRE_ID_LEN], const struct spool_seg *segs,
    size_t n, const uint8_t their_id[WIRE_ID_LEN],
    const struct wire_pos *theirs, size_t tail_len, struct fwd_resume *r)
{
	const struct spool_seg *s = NULL, *newest = n ? &segs[n - 1] : NULL;
	size_t i, want;

	memset(r, 0, sizeof(*r));
	r->act = FWD_RESUME_SEND;
	/* All zero never equals a spool id: those are random. */
	if (memcmp(their_id, our_id, WIRE_ID_LEN) != 0 || theirs->seq == 0) {
		/* A new series: everything we have, from the oldest. */
		r->new_series = 1;
		return;
	}
	want = theirs->size < WIRE_TAIL_MIN ? (size_t)theirs->size :
	    WIRE_TAIL_MIN;
	if (tail_len < want || tail_len > theirs->size) {
		verdict(r, FWD_RESUME_BROKEN, "WELCOME for segment %016" PRIx64
		    " at %" PRIu64 " carries %zu bytes of tail, not %zu to %"
		    PRIu64, theirs->seq, theirs->size, tail_len, want,
		    theirs->size);
		return;
	}
	if (newest == NULL || theirs->seq > newest->seq) {
		verdict(r, FWD_RESUME_ROLLBACK, "it holds segment %016" PRIx64
		    ", newer than any here (%016" PRIx64 ")", theirs->seq,
		    newest ? newest->seq : 0);
		return;
	}
	r->acked = *theirs;
	for (i = 0; i < n && s == NULL; i++)
		if (segs[i].seq >= theirs->seq)
			s = &segs[i];
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
	/* The one being written: the receiver cannot have more, nor its end. */
	if (s == newest && (theirs->complete || theirs->size > s->size)) {
		verdict(r, FWD_RESUME_ROLLBACK, "it holds %" PRIu64 " bytes%s "
		    "of segment %016" PRIx64 ", which is still being written "
		    "here and has %" PRIu64, theirs->size, theirs->complete ?
		    " (complete)" : "", s->seq, s->size);
		return;
	}
	if (theirs->complete && s->size > theirs->size) {
		verdict(r, FWD_RESUME_ROLLBACK, "it holds segment %016" PRIx64
		    " complete at %" PRIu64 " bytes, this spool has %" PRIu64,
		    s->seq, theirs->size, s->size);
		return;
	}
	r->cut = theirs->size > s->size;
	check_tail(r, s, theirs, tail_len);
	if (r->act != FWD_RESUME_SEND)
		return;
	if (theirs->size <= s->size) {
		/* Complete: the next one; at the end of a closed one: SEGEND. */
		r->from.seq = theirs->complete ? s->seq + 1 : s->seq;
		r->from.size = theirs->complete ? 0 : theirs->size;
		return;
	}
	/* A power loss cut what it already has: it holds the whole. */
	r->from.seq = s->seq + 1;
	snprintf(r->note, sizeof(r->note), "the receiver holds %" PRIu64
	    " bytes of segment %016" PRIx64 ", the spool %" PRIu64 " (cut "
	    "after a crash?); going on with the next segment", theirs->size,
	    s->seq, s->size);
}

void
fwd_resume_check(struct fwd_resume *r, const uint8_t *tail,
    const uint8_t *ours, size_t ourlen, int line_start)
{
	struct wire_pos at = r->acked;
	size_t i;

	if (r->act != FWD_RESUME_SEND || r->check_len == 0)
		return;
	if (ourlen < r->check_len) {
		verdict(r, FWD_RESUME_ROLLBACK, "it holds bytes %" PRIu64 " to %"
		    PRIu64 " of segment %016" PRIx64 ", of which only %zu are "
		    "here", r->check_off, r->check_off + r->check_len, at.seq,
		    ourlen);
		return;
	}
	for (i = 0; i < r->check_len && tail[i] == ours[i]; i++)
		;
	if (i < r->check_len) {
		verdict(r, FWD_RESUME_ROLLBACK, "its copy of segment %016"
		    PRIx64 " (%" PRIu64 " bytes) differs from this spool's at "
		    "offset %" PRIu64, at.seq, at.size, r->check_off + i);
		return;
	}
	/*
	 * Bytes that agree inside one line prove little: two clones of one
	 * machine write the same text at the same offsets but for a word,
	 * and a long line (an EXECVE's arguments in hex) may fill the whole
	 * tail.  A line's start names the host and the event (its time and
	 * serial): the compared bytes must hold one.
	 */
	if (!line_start && memchr(ours, '\n', r->check_len - 1) == NULL) {
		verdict(r, FWD_RESUME_ROLLBACK, "the last %zu bytes it holds "
		    "of segment %016" PRIx64 " (%" PRIu64 " bytes) agree with "
		    "this spool's but hold no start of a line to tell that "
		    "they are the same", r->check_len, at.seq, at.size);
		return;
	}
	/*
	 * It holds more than our closed copy (a crash cut ours): only the
	 * end of our copy overlaps its tail.  A few bytes that agree prove
	 * little (two clones of one machine write the same text at the same
	 * offsets but for a word); ask for one whole line of ours in common,
	 * which carries its own event's time and serial.
	 */
	if (r->cut && r->check_off != 0 &&
	    memchr(ours, '\n', r->check_len - 1) == NULL)
		verdict(r, FWD_RESUME_ROLLBACK, "it holds %" PRIu64 " bytes of "
		    "segment %016" PRIx64 ", more than this spool's copy; the "
		    "%zu bytes both have hold no whole line to tell that they "
		    "are the same", at.size, at.seq, r->check_len);
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
fwd_ack_ok(const struct wire_pos *sent, const struct wire_pos *last,
    const struct wire_pos *ack)
{
	int c;

	if (ack->seq == 0 || wire_pos_cmp(ack, sent) > 0)
		return 0;
	/* Complete is only known from our SEGEND. */
	if (ack->complete && ack->seq == sent->seq &&
	    (!sent->complete || ack->size != sent->size))
		return 0;
	if ((c = wire_pos_cmp(ack, last)) < 0)
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
	const char *h = NULL, *p = defport != NULL ? defport : "";
	struct in_addr a4;
	struct tcur c;
	size_t hlen = 0;
	uint64_t v;

	if (strncmp(s, "tls://", 6) == 0)
		s += 6;
	tc_init(&c, s, strlen(s));
	if ((*numeric = *s == '[')) {
		tc_lit(&c, "[");
		tc_word(&c, ']', &h, &hlen);
		tc_lit(&c, "]");
	} else
		tc_word(&c, ':', &h, &hlen);
	if (tc_left(&c) > 0) {
		tc_lit(&c, ":");
		p = tc_rest(&c);
		/* Digits only, as written; their range is conf.c's check. */
		tc_digits(&c, UINT64_MAX, &v);
	}
	if (tc_end(&c) == -1 || hlen >= hostlen || strlen(p) >= portlen)
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memcpy(port, p, strlen(p) + 1);
	if (!*numeric)
		*numeric = inet_pton(AF_INET, host, &a4) == 1;
	return 0;
}

/*
 * The wait before the next try, seconds of backoff cut by up to a quarter
 * at random, the first retry included (0.75 to 1 s): hosts that failed
 * together, a whole fleet at a receiver's restart, come back apart.
 */
unsigned
fwd_retry_ms(unsigned backoff)
{
	return backoff * 750 + arc4random_uniform(backoff * 250 + 1);
}
