/*
 * Fuzz target: framing of the record stream on stdin (plugin/intake.c),
 * through its public API only, the way plugin/main.c drives it: read into
 * intake_tail(), intake_frame(), take the output, intake_consume(); at
 * the end, intake_eof().
 *
 * Input: two bytes seed the sizes of the reads, one byte picks how large
 * they get and the buffer size; the rest is the stream, where
 * FF c b stands for c KiB of byte b (c = 0: one byte b), so that short
 * inputs can hold lines longer than INTAKE_MAX_RECORD.
 *
 * The output is checked against a model computed here from the whole
 * stream: exactly its whole lines that are records (type= or node=
 * prefix, no NUL, at most INTAKE_MAX_RECORD bytes), in order, and the
 * counters say how many records and bytes were taken and refused.
 */
#include <string.h>

#include "audisp-dist.h"
#include "fuzz.h"

#define STREAM_MAX	(400 * 1024)
/*
 * Each read rescans the partial line before it, so a long line read in
 * tiny pieces costs its length squared: reads are made large enough that
 * there are at most this many.
 */
#define READS_MAX	256
#define LINES_MAX	4096	/* each costs a round of the loops */

static const size_t read_max[] = { 16, 700, 70000, SIZE_MAX };

/* The stream the input stands for; NULL when it would be too long. */
static uint8_t *
expand(const uint8_t *p, size_t len, size_t *outlen)
{
	uint8_t *s;
	size_t i, n = 0, c, lines = 0;

	for (i = 0; i < len; i++) {
		if (p[i] == 0xff && i + 2 < len) {
			c = p[i + 1] ? (size_t)p[i + 1] * 1024 : 1;
			if (p[i + 2] == '\n')
				lines += c;
			n += c;
			i += 2;
		} else {
			if (p[i] == '\n')
				lines++;
			n++;
		}
	}
	if (n > STREAM_MAX || lines > LINES_MAX ||
	    (s = malloc(n ? n : 1)) == NULL)
		return NULL;
	for (i = 0, n = 0; i < len; i++) {
		if (p[i] == 0xff && i + 2 < len) {
			c = p[i + 1] ? (size_t)p[i + 1] * 1024 : 1;
			memset(s + n, p[i + 2], c);
			n += c;
			i += 2;
		} else
			s[n++] = p[i];
	}
	*outlen = n;
	return s;
}

static int
is_record(const uint8_t *line, size_t len)
{
	return len <= INTAKE_MAX_RECORD && len >= 6 &&
	    memchr(line, '\0', len) == NULL &&
	    (memcmp(line, "type=", 5) == 0 || memcmp(line, "node=", 5) == 0);
}

/* What intake must make of s: the records, and the counters. */
static void
model(const uint8_t *s, size_t len, uint8_t *out, size_t *outlen,
    struct counters *c)
{
	const uint8_t *p = s, *end = s + len, *nl;
	size_t n = 0, l;

	memset(c, 0, sizeof(*c));
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			c->rejected_records++;		/* cut by the end */
			c->rejected_bytes += (uint64_t)(end - p);
			break;
		}
		l = (size_t)(nl - p) + 1;
		if (is_record(p, l)) {
			memcpy(out + n, p, l);
			n += l;
			c->records_in++;
			c->bytes_in += l;
		} else {
			c->rejected_records++;
			c->rejected_bytes += l;
		}
		p = nl + 1;
	}
	*outlen = n;
}

/* One intake_frame's output: contiguous whole records. */
static void
check_out(const struct intake_out *o)
{
	const char *p = o->data, *end = o->data + o->len, *nl;
	uint64_t n = 0;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		FUZZ_CHECK(nl != NULL);
		FUZZ_CHECK(is_record((const uint8_t *)p,
		    (size_t)(nl - p) + 1));
		p = nl + 1;
		n++;
	}
	FUZZ_CHECK(n == o->records);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct counters c, want;
	struct intake in;
	struct intake_out o;
	uint8_t *s, *got, *exp;
	size_t len, off = 0, glen = 0, elen, max, min, n;
	uint32_t seed;

	if (size < 3)
		return 0;
	seed = (uint32_t)data[0] << 8 | data[1];
	max = read_max[data[2] & 3];
	if ((s = expand(data + 3, size - 3, &len)) == NULL)
		return 0;
	FUZZ_SETUP((got = malloc(len + 1)) != NULL);
	FUZZ_SETUP((exp = malloc(len + 1)) != NULL);
	FUZZ_SETUP(intake_init(&in, (data[2] & 4) ? 512 * 1024 : 0) == 0);
	memset(&c, 0, sizeof(c));
	min = len / READS_MAX;

	while (off < len) {
		/* A read of 0 bytes would be taken for the end of input. */
		FUZZ_CHECK(intake_space(&in) > 0);
		n = max == SIZE_MAX ? len - off : 1 + fuzz_rand(&seed) % max;
		if (n < min)
			n = min;
		if (n > len - off)
			n = len - off;
		if (n > intake_space(&in))
			n = intake_space(&in);
		memcpy(intake_tail(&in), s + off, n);
		off += n;
		intake_frame(&in, n, &o, &c);
		check_out(&o);
		FUZZ_CHECK(glen + o.len <= len);
		memcpy(got + glen, o.data, o.len);
		glen += o.len;
		intake_consume(&in);
	}
	intake_eof(&in, &c);

	model(s, len, exp, &elen, &want);
	FUZZ_CHECK(glen == elen && memcmp(got, exp, glen) == 0);
	FUZZ_CHECK(c.records_in == want.records_in);
	FUZZ_CHECK(c.bytes_in == want.bytes_in);
	FUZZ_CHECK(c.rejected_records == want.rejected_records);
	FUZZ_CHECK(c.rejected_bytes == want.rejected_bytes);

	intake_free(&in);
	free(exp);
	free(got);
	free(s);
	return 0;
}
