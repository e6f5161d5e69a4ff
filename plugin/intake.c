/*
 * Framing of auditd's record stream: bytes in, whole valid lines out.
 * The stream is untrusted bytes: a line that is not an audit record
 * (garbage, NUL bytes) is refused and counted; a line longer than
 * INTAKE_MAX_RECORD is discarded up to its end; a partial line at end of
 * stream is discarded.  None of them ever reaches a segment.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SCAN_SIMD		/* see "Line ends" below */
#endif

#include "audisp-dist.h"
#include "log.h"

#define INTAKE_WARN_MAX		10
#define SCAN_BLOCK		64	/* bytes a SIMD scan step reads */

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
	/*
	 * + the NUL sentinel, and what a scan step may read past it; zeroed,
	 * since the scan reads bytes that no read() has filled yet.
	 */
	if ((in->buf = calloc(1, cap + 1 + SCAN_BLOCK)) == NULL)
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
 * Line ends.  Every '\n' and every NUL byte of the input is a stop, and
 * frame_lines() walks the stops in order; buf[total] is a NUL sentinel, so
 * the walk needs no bound of its own.
 *
 * On x86-64 the stops are found 64 bytes at a time with SIMD compares (AVX2
 * where the CPU has it, SSE2 otherwise): one pass over the bytes, with no
 * call per line.  On lines of ~200 bytes that takes half the time of a
 * strchrnul() per line, which is what finds them elsewhere.  A step may
 * read up to 63 bytes past the sentinel, into the padding intake_init()
 * allocates; the walk ends at the sentinel before anything found beyond it
 * is looked at.
 */
struct stops {
	const char	*blk;		/* the 64 bytes mask describes */
	uint64_t	 mask;		/* their stops not returned yet, a bit a byte */
};

/* The stops in the 64 bytes at p. */
typedef uint64_t	scan_fn(const char *p);

#ifdef SCAN_SIMD
static inline uint64_t
scan_sse2(const char *p)
{
	const __m128i nl = _mm_set1_epi8('\n'), nul = _mm_setzero_si128();
	__m128i a = _mm_loadu_si128((const __m128i *)p);
	__m128i b = _mm_loadu_si128((const __m128i *)(p + 16));
	__m128i c = _mm_loadu_si128((const __m128i *)(p + 32));
	__m128i d = _mm_loadu_si128((const __m128i *)(p + 48));

	a = _mm_or_si128(_mm_cmpeq_epi8(a, nl), _mm_cmpeq_epi8(a, nul));
	b = _mm_or_si128(_mm_cmpeq_epi8(b, nl), _mm_cmpeq_epi8(b, nul));
	c = _mm_or_si128(_mm_cmpeq_epi8(c, nl), _mm_cmpeq_epi8(c, nul));
	d = _mm_or_si128(_mm_cmpeq_epi8(d, nl), _mm_cmpeq_epi8(d, nul));
	return (uint64_t)(uint16_t)_mm_movemask_epi8(a) |
	    (uint64_t)(uint16_t)_mm_movemask_epi8(b) << 16 |
	    (uint64_t)(uint16_t)_mm_movemask_epi8(c) << 32 |
	    (uint64_t)(uint16_t)_mm_movemask_epi8(d) << 48;
}

static inline __attribute__((target("avx2"))) uint64_t
scan_avx2(const char *p)
{
	const __m256i nl = _mm256_set1_epi8('\n'), nul = _mm256_setzero_si256();
	__m256i a = _mm256_loadu_si256((const __m256i *)p);
	__m256i b = _mm256_loadu_si256((const __m256i *)(p + 32));

	a = _mm256_or_si256(_mm256_cmpeq_epi8(a, nl), _mm256_cmpeq_epi8(a, nul));
	b = _mm256_or_si256(_mm256_cmpeq_epi8(b, nl), _mm256_cmpeq_epi8(b, nul));
	return (uint64_t)(uint32_t)_mm256_movemask_epi8(a) |
	    (uint64_t)(uint32_t)_mm256_movemask_epi8(b) << 32;
}

static inline __attribute__((always_inline)) void
stops_init(struct stops *s, const char *p, scan_fn *scan)
{
	s->blk = p;
	s->mask = scan(p);
}

static inline __attribute__((always_inline)) const char *
stops_next(struct stops *s, scan_fn *scan)
{
	const char *hit;

	while (s->mask == 0) {
		s->blk += SCAN_BLOCK;
		s->mask = scan(s->blk);
	}
	hit = s->blk + __builtin_ctzll(s->mask);
	s->mask &= s->mask - 1;
	return hit;
}
#else
/* Here blk is where the next search starts, and scan is NULL. */
static inline void
stops_init(struct stops *s, const char *p, scan_fn *scan)
{
	(void)scan;
	s->blk = p;
}

static inline const char *
stops_next(struct stops *s, scan_fn *scan)
{
	const char *hit = strchrnul(s->blk, '\n');

	(void)scan;
	s->blk = hit + 1;
	return hit;
}
#endif

/*
 * Find the lines in buf[r..total) and compact the valid ones to buf[*wp..];
 * return where the partial last line starts.
 */
static inline __attribute__((always_inline)) size_t
frame_lines_with(struct intake *in, size_t r, size_t total, size_t *wp,
    struct intake_out *out, struct counters *c, scan_fn *scan)
{
	char *buf = in->buf;
	const char *e, *end = buf + total;
	size_t w = *wp, len;
	uint64_t records = 0;
	struct stops st;
	int nul = 0;

	buf[total] = '\0';
	stops_init(&st, buf + r, scan);
	while ((e = stops_next(&st, scan)) < end) {
		if (*e == '\0') {
			nul = 1;	/* refused once its newline comes */
			continue;
		}
		len = (size_t)(e - (buf + r)) + 1;
		if (nul) {
			reject(in, c, in->offset + r, len, "NUL byte in line");
			nul = 0;
		} else if (len > INTAKE_MAX_RECORD) {
			/* Whole, but too long to be a record, however it was read. */
			reject(in, c, in->offset + r, len,
			    "line longer than 128 KiB");
		} else if (has_prefix(buf + r, len)) {
			if (w != r)
				memmove(buf + w, buf + r, len);
			w += len;
			records++;
		} else
			reject(in, c, in->offset + r, len, "not an audit record "
			    "(no type= or node= prefix)");
		r += len;
	}
	out->records += records;
	*wp = w;
	return r;
}

#ifdef SCAN_SIMD
static __attribute__((target("avx2"))) size_t
frame_lines_avx2(struct intake *in, size_t r, size_t total, size_t *wp,
    struct intake_out *out, struct counters *c)
{
	return frame_lines_with(in, r, total, wp, out, c, scan_avx2);
}

static size_t
frame_lines_sse2(struct intake *in, size_t r, size_t total, size_t *wp,
    struct intake_out *out, struct counters *c)
{
	return frame_lines_with(in, r, total, wp, out, c, scan_sse2);
}

static size_t
frame_lines(struct intake *in, size_t r, size_t total, size_t *wp,
    struct intake_out *out, struct counters *c)
{
	if (__builtin_cpu_supports("avx2"))
		return frame_lines_avx2(in, r, total, wp, out, c);
	return frame_lines_sse2(in, r, total, wp, out, c);
}
#else
static size_t
frame_lines(struct intake *in, size_t r, size_t total, size_t *wp,
    struct intake_out *out, struct counters *c)
{
	return frame_lines_with(in, r, total, wp, out, c, NULL);
}
#endif

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
