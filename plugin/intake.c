/*
 * Framing of auditd's record stream: bytes in, whole valid lines out.
 * The stream is untrusted bytes: a line that is not an audit record
 * (garbage, NUL bytes) is refused and counted; a line longer than
 * INTAKE_MAX_RECORD is discarded up to its end; a partial line at end of
 * stream is discarded.  None of them ever reaches a segment.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "audisp-dist.h"
#include "log.h"

#define INTAKE_WARN_MAX		10

static int
has_prefix(const char *line, size_t len)
{
	return len >= 6 && (memcmp(line, "type=", 5) == 0 ||
	    memcmp(line, "node=", 5) == 0);
}

int
intake_init(struct intake *in, size_t cap)
{
	memset(in, 0, sizeof(*in));
	if (cap < 2 * INTAKE_MAX_RECORD)
		cap = 2 * INTAKE_MAX_RECORD;
	if ((in->buf = malloc(cap + 1)) == NULL)	/* + the NUL sentinel */
		return -1;
	in->cap = cap;
	return 0;
}

void
intake_free(struct intake *in)
{
	free(in->buf);
	in->buf = NULL;
}

static void
reject(struct intake *in, struct counters *c, uint64_t off, uint64_t len,
    const char *why)
{
	c->rejected_records++;
	c->rejected_bytes += len;
	if (in->warned < INTAKE_WARN_MAX)
		log_warnx("input: rejected %" PRIu64 " bytes at input offset "
		    "%" PRIu64 ": %s", len, off, why);
	if (++in->warned == INTAKE_WARN_MAX)
		log_warnx("input: further rejected input is counted in the "
		    "status file only");
}

/*
 * Find the lines in buf[r..total) and compact the valid ones to buf[*wp..];
 * return where the partial last line starts.  One strchrnul per line finds
 * both its end and any NUL byte in it (buf[total] is a NUL sentinel).
 */
static size_t
frame_lines(struct intake *in, size_t r, size_t total, size_t *wp,
    struct intake_out *out, struct counters *c)
{
	char *buf = in->buf, *nl;
	size_t w = *wp;

	buf[total] = '\0';
	while (r < total) {
		char *p = buf + r, *e = strchrnul(p, '\n');
		size_t len;

		if (e == buf + total)
			break;			/* partial line: wait for more */
		if (*e == '\0') {
			/* A NUL inside a line: refuse the whole line. */
			if ((nl = memchr(e, '\n', total - (size_t)(e - buf))) ==
			    NULL)
				break;
			len = (size_t)(nl - p) + 1;
			reject(in, c, in->offset + r, len, "NUL byte in line");
		} else if ((len = (size_t)(e - p) + 1) > INTAKE_MAX_RECORD) {
			/* Whole, but too long to be a record, however it was read. */
			reject(in, c, in->offset + r, len,
			    "line longer than 128 KiB");
		} else if (has_prefix(p, len)) {
			if (w != r)
				memmove(buf + w, p, len);
			w += len;
			out->records++;
		} else
			reject(in, c, in->offset + r, len, "not an audit record "
			    "(no type= or node= prefix)");
		r += len;
	}
	*wp = w;
	return r;
}

void
intake_frame(struct intake *in, size_t n, struct intake_out *out,
    struct counters *c)
{
	size_t total = in->len + n, r = 0, w = 0;
	char *buf = in->buf, *nl;

	VERIFY(total <= in->cap && in->consumed_end == 0 && in->discard == 0);
	out->data = buf;
	out->len = 0;
	out->records = 0;
	if (in->skipping) {
		if ((nl = memchr(buf, '\n', total)) == NULL) {
			in->skipped += total;
			in->discard = total;
			in->len = total;
			return;
		}
		r = (size_t)(nl - buf) + 1;
		in->skipped += r;
		reject(in, c, in->skip_start, in->skipped,
		    "line longer than 128 KiB");
		in->skipping = 0;
		in->skipped = 0;
		/* The compacted output starts at buf, before r: fine. */
	}
	r = frame_lines(in, r, total, &w, out, c);
	out->len = w;
	in->consumed_end = r;
	in->len = total;
	if (total - r >= INTAKE_MAX_RECORD) {
		/* Too long to be a record: drop it up to its newline. */
		in->skipping = 1;
		in->skip_start = in->offset + r;
		in->skipped = total - r;
		in->discard = total - r;
	}
	c->records_in += out->records;
	c->bytes_in += w;
}

void
intake_consume(struct intake *in)
{
	size_t used = in->consumed_end + in->discard;
	size_t rest = in->len - used;

	if (rest > 0 && used > 0)
		memmove(in->buf, in->buf + used, rest);
	in->offset += used;
	in->len = rest;
	in->consumed_end = 0;
	in->discard = 0;
}

void
intake_eof(struct intake *in, struct counters *c)
{
	if (in->skipping)
		reject(in, c, in->skip_start, in->skipped,
		    "line longer than 128 KiB, cut by end of stream");
	else if (in->len > 0)
		reject(in, c, in->offset, in->len,
		    "stream ended inside a record (no newline)");
	in->skipping = 0;
	in->skipped = 0;
	in->len = 0;
	in->consumed_end = 0;
	in->discard = 0;
	in->offset = 0;
}
