/*
 * frames.h: the frames the load tools that play many senders
 * (tests/helpers/fleet.c and bench/senders.c) read from a receiver and
 * write to it.  A header of static functions: each tool is built from its
 * own source file.
 */
#ifndef FRAMES_H
#define FRAMES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsio.h"
#include "wire.h"

/* Most frames from the receiver fit FR_SMALL; a WELCOME's tail may not. */
#define FR_SMALL	(WIRE_HDR_LEN + WIRE_TAIL_MIN + 2048)
#define FR_MAX		(WIRE_HDR_LEN + 128 + WIRE_TAIL_MAX)

struct frames {
	uint8_t		 small[FR_SMALL];
	uint8_t		*buf;		/* small, a bigger one, or NULL */
	size_t		 len, cap;
	char		 why[96];	/* after FR_CUT or FR_BAD */
};

/* What fr_read returns. */
#define FR_BLOCKED	0	/* all read: wait for the socket */
#define FR_STOPPED	(-1)	/* the frame handler failed (and said why) */
#define FR_CUT		(-2)	/* the connection closed or failed */
#define FR_BAD		(-3)	/* a bad frame header, or no memory for it */

typedef int (*fr_handler)(void *, uint8_t, const uint8_t *, uint32_t);

/* Drop what is buffered: a new connection starts. */
static inline void
fr_reset(struct frames *f)
{
	f->len = 0;
}

static inline void
fr_free(struct frames *f)
{
	if (f->buf != f->small)
		free(f->buf);
	f->buf = NULL;
	f->len = 0;
}

/* A long WELCOME (its tail back to a line's start): the bigger buffer. */
static inline int
fr_grow(struct frames *f)
{
	uint8_t *b;

	if (f->buf != f->small)
		return 0;
	if ((b = malloc(FR_MAX)) == NULL)
		return -1;
	memcpy(b, f->buf, f->len);
	f->buf = b;
	f->cap = FR_MAX;
	return 0;
}

/*
 * Read from t and hand each whole frame to frame(arg, type, payload, len)
 * until TLS has no more: FR_BLOCKED, with *wants_out set when TLS must
 * write first.  Otherwise FR_STOPPED, FR_CUT or FR_BAD; after the last
 * two, f->why says what happened.
 */
static inline int
fr_read(struct frames *f, struct tlsio *t, fr_handler frame, void *arg,
    int *wants_out)
{
	uint32_t len = 0;
	uint8_t type;
	size_t used;
	ssize_t n;

	if (f->buf == NULL) {
		f->buf = f->small;
		f->cap = sizeof(f->small);
	}
	for (;;) {
		n = tlsio_read(t, f->buf + f->len, f->cap - f->len);
		if (n == TLSIO_WANT_READ)
			return FR_BLOCKED;
		if (n == TLSIO_WANT_WRITE) {
			*wants_out = 1;
			return FR_BLOCKED;
		}
		if (n == 0)
			snprintf(f->why, sizeof(f->why),
			    "the receiver closed the connection");
		else if (n < 0)
			snprintf(f->why, sizeof(f->why), "TLS read: %s",
			    tlsio_error(t));
		if (n <= 0)
			return FR_CUT;
		f->len += (size_t)n;
		for (used = 0; f->len - used >= WIRE_HDR_LEN; ) {
			if (wire_parse_header(f->buf + used, &type, &len) ==
			    -1 || len > FR_MAX - WIRE_HDR_LEN) {
				snprintf(f->why, sizeof(f->why), "a bad frame "
				    "header (type %u, length %u)",
				    f->buf[used + 4], len);
				return FR_BAD;
			}
			if (len > f->cap - WIRE_HDR_LEN && fr_grow(f) == -1) {
				snprintf(f->why, sizeof(f->why),
				    "no memory for a frame");
				return FR_BAD;
			}
			if (f->len - used < WIRE_HDR_LEN + len)
				break;
			if (frame(arg, type, f->buf + used + WIRE_HDR_LEN,
			    len) == -1)
				return FR_STOPPED;
			used += WIRE_HDR_LEN + len;
		}
		memmove(f->buf, f->buf + used, f->len - used);
		f->len -= used;
	}
}

/*
 * Write what out holds until TLS takes no more: 0, with *wants_out set when
 * TLS waits for writability; -1 when the write failed.
 */
static inline int
fr_write(struct wbuf *out, struct tlsio *t, int *wants_out)
{
	ssize_t n;

	*wants_out = 0;
	while (wbuf_pending(out) > 0) {
		n = tlsio_write(t, out->buf + out->off, wbuf_pending(out));
		if (n == TLSIO_WANT_WRITE) {
			*wants_out = 1;
			break;
		}
		if (n == TLSIO_WANT_READ)
			break;		/* EPOLLIN is always wanted */
		if (n <= 0)
			return -1;
		out->off += (size_t)n;
	}
	if (out->off == out->len)
		out->off = out->len = 0;
	return 0;
}

#endif
