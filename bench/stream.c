/*
 * The input stream: the recorded sample repeated with its time stamps and
 * serials moved on each pass, so that it reads as one long recording.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "bench.h"

struct sample_line {
	const char	*start;
	size_t		 len;		/* without the newline */
	size_t		 sec_off;	/* 0 with no header: copied verbatim */
	size_t		 msec_off;	/* the '.' before the milliseconds */
	size_t		 serial_off;
	size_t		 rest_off;	/* the ')' after the serial */
	uint64_t	 sec;
	uint64_t	 serial;
};

static int
parse_u64(const char *p, const char *end, uint64_t *v, const char **next)
{
	uint64_t n = 0;
	const char *s = p;

	while (p < end && isdigit((unsigned char)*p)) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
		p++;
	}
	if (p == s)
		return -1;
	*v = n;
	*next = p;
	return 0;
}

/* Find "msg=audit(SEC.MSEC:SERIAL)" in the line; 0 when found. */
static int
parse_header(struct sample_line *l)
{
	static const char tag[] = "msg=audit(";
	const char *end = l->start + l->len, *p, *q;
	uint64_t msec;

	p = memmem(l->start, l->len, tag, sizeof(tag) - 1);
	if (p == NULL)
		return -1;
	p += sizeof(tag) - 1;
	l->sec_off = (size_t)(p - l->start);
	if (parse_u64(p, end, &l->sec, &q) == -1 || q == end || *q != '.')
		return -1;
	l->msec_off = (size_t)(q - l->start);
	if (parse_u64(q + 1, end, &msec, &q) == -1 || q == end || *q != ':')
		return -1;
	l->serial_off = (size_t)(q + 1 - l->start);
	if (parse_u64(q + 1, end, &l->serial, &q) == -1 || q == end ||
	    *q != ')')
		return -1;
	l->rest_off = (size_t)(q - l->start);
	return 0;
}

/*
 * Repeat the sample until the stream is at least b->size bytes.  Repetition
 * k shifts every timestamp by k times the sample's time span and every
 * serial by k times its serial span, so the result reads as one continuous
 * recording with increasing serials (event grouping stays intact).
 */
void
build_stream(struct bench *b)
{
	struct sample_line *lines = NULL;
	struct stat st;
	uint64_t min_sec = UINT64_MAX, max_sec = 0;
	uint64_t min_ser = UINT64_MAX, max_ser = 0, sec_span, ser_span;
	uint64_t bytes = 0, records = 0, k = 0;
	size_t n = 0, cap = 0, i, nhdr = 0;
	char *text, *p, *end, *iobuf, numbuf[21];
	ssize_t r;
	size_t got;
	FILE *out;
	int fd;

	if ((fd = open(b->sample, O_RDONLY | O_CLOEXEC)) == -1)
		err(EX_NOINPUT, "%s: the recorded sample of real audit "
		    "records is needed to build the input stream", b->sample);
	if (fstat(fd, &st) == -1)
		err(EX_NOINPUT, "%s", b->sample);
	if (!S_ISREG(st.st_mode) || st.st_size == 0)
		errx(EX_NOINPUT, "%s: not a regular file with records",
		    b->sample);
	if ((text = malloc((size_t)st.st_size + 1)) == NULL)
		err(EX_OSERR, "malloc");
	for (got = 0; got < (size_t)st.st_size; got += (size_t)r) {
		r = read(fd, text + got, (size_t)st.st_size - got);
		if (r == -1)
			err(EX_IOERR, "%s", b->sample);
		if (r == 0)
			errx(EX_IOERR, "%s: shrank while being read",
			    b->sample);
	}
	close(fd);
	end = text + got;

	for (p = text; p < end; ) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		if (len > 0) {	/* auditd never sends empty lines */
			if (n == cap) {
				cap = cap ? cap * 2 : 4096;
				lines = reallocarray(lines, cap, sizeof(*lines));
				if (lines == NULL)
					err(EX_OSERR, "malloc");
			}
			memset(&lines[n], 0, sizeof(lines[n]));
			lines[n].start = p;
			lines[n].len = len;
			if (parse_header(&lines[n]) == 0) {
				nhdr++;
				if (lines[n].sec < min_sec)
					min_sec = lines[n].sec;
				if (lines[n].sec > max_sec)
					max_sec = lines[n].sec;
				if (lines[n].serial < min_ser)
					min_ser = lines[n].serial;
				if (lines[n].serial > max_ser)
					max_ser = lines[n].serial;
			} else
				lines[n].sec_off = 0;
			n++;
		}
		p += len + 1;
	}
	if (nhdr == 0)
		errx(EX_DATAERR, "%s: no line has a msg=audit(SEC.MSEC:SERIAL) "
		    "header; is this an audit log?", b->sample);
	if (nhdr < n)
		warnx("%s: %zu of %zu lines have no msg=audit() header; "
		    "copied unchanged", b->sample, n - nhdr, n);
	sec_span = max_sec - min_sec + 1;
	ser_span = max_ser - min_ser + 1;

	fd = open(b->stream, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 || (out = fdopen(fd, "w")) == NULL)
		err(EX_CANTCREAT, "%s", b->stream);
	if ((iobuf = malloc(1 << 20)) == NULL)
		err(EX_OSERR, "malloc");
	setvbuf(out, iobuf, _IOFBF, 1 << 20);

	for (i = 0; bytes < b->size; i++) {
		const struct sample_line *l;
		const char *num;
		size_t before;

		if (i == n) {
			i = 0;
			k++;
			if (interrupted)
				errx(EX_TEMPFAIL, "interrupted");
		}
		l = &lines[i];
		before = l->sec_off != 0 ? l->sec_off : l->len;
		fwrite(l->start, 1, before, out);
		bytes += before;
		if (l->sec_off != 0) {
			num = utoa(l->sec + k * sec_span, numbuf);
			fputs(num, out);
			bytes += strlen(num);
			fwrite(l->start + l->msec_off, 1,
			    l->serial_off - l->msec_off, out);
			bytes += l->serial_off - l->msec_off;
			num = utoa(l->serial + k * ser_span, numbuf);
			fputs(num, out);
			bytes += strlen(num);
			fwrite(l->start + l->rest_off, 1,
			    l->len - l->rest_off, out);
			bytes += l->len - l->rest_off;
		}
		putc('\n', out);
		bytes++;
		records++;
	}
	/* Keep the build's writeback out of the first timed run. */
	if (fflush(out) == EOF || fsync(fileno(out)) == -1 ||
	    fclose(out) == EOF)
		err(EX_IOERR, "%s", b->stream);
	free(iobuf);

	b->stream_bytes = bytes;
	b->stream_records = records;
	b->sample_records = n;
	b->repeats = k + 1;
	free(lines);
	free(text);
}

/* Is this line (without its newline) a type=EOE record? */
static int
is_eoe(const char *p, size_t len)
{
	static const char eoe[] = "type=EOE ";
	const char *sp;

	if (len > 5 && memcmp(p, "node=", 5) == 0 &&
	    (sp = memchr(p, ' ', len)) != NULL) {
		len -= (size_t)(sp + 1 - p);
		p = sp + 1;
	}
	return len >= sizeof(eoe) - 1 && memcmp(p, eoe, sizeof(eoe) - 1) == 0;
}

/*
 * The longest prefix of the stream of at most max_bytes bytes and at most
 * max_records records (0: no limit) that ends with a whole record.
 */
void
stream_prefix(const struct bench *b, uint64_t max_bytes, uint64_t max_records,
    struct prefix *px)
{
	static char buf[1 << 20];
	size_t have = 0, start, i;
	ssize_t r;
	int fd;

	memset(px, 0, sizeof(*px));
	if (max_bytes == 0 || max_bytes > b->stream_bytes)
		max_bytes = b->stream_bytes;
	if ((fd = open(b->stream, O_RDONLY | O_CLOEXEC)) == -1)
		err(EX_NOINPUT, "%s", b->stream);
	for (;;) {
		r = read(fd, buf + have, sizeof(buf) - have);
		if (r == -1)
			err(EX_IOERR, "%s", b->stream);
		if (r == 0)
			break;
		have += (size_t)r;
		for (start = 0, i = 0; i < have; i++) {
			if (buf[i] != '\n')
				continue;
			if (px->bytes + (i + 1 - start) > max_bytes)
				goto done;
			px->bytes += i + 1 - start;
			px->records++;
			if (is_eoe(buf + start, i - start))
				px->eoe++;
			start = i + 1;
			if (max_records != 0 && px->records == max_records)
				goto done;
		}
		if (start == 0)
			errx(EX_DATAERR, "%s: a line longer than %zu bytes",
			    b->stream, sizeof(buf));
		memmove(buf, buf + start, have - start);
		have -= start;
	}
done:
	close(fd);
	if (px->records == 0)
		errx(EX_DATAERR, "%s: no whole record in the first %llu bytes",
		    b->stream, (unsigned long long)max_bytes);
}
