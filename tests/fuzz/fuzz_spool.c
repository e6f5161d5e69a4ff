/*
 * Fuzz target: spool segments read back (plugin/spool.c, forwarder/read.c).
 * A segment holds what auditd sent, cut by a crash anywhere; audisp-dist
 * reads it back at start-up (tc_cut_torn, common/tcur.c) and for the age of the
 * oldest record (spool_record_time), the forwarder to ship it
 * (fwd_reader_next).
 *
 * Input: a byte of options (bit 0: the segment is still .open; bits 1-2:
 * the reader's buffer size), a byte that picks where the reader starts,
 * then the segment.  The reader must hand out exactly the segment's whole
 * lines from where it starts, in frames the receiver's decoder accepts;
 * recovery must cut exactly the bytes after the last newline.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "audisp-dist.h"
#include "forwarder.h"
#include "tcur.h"
#include "wire.h"
#include "fuzz.h"

#define SEG_MAX		65536
#define TIMES_MAX	64	/* records whose time is read */

static const size_t bufsizes[] = { 1, 64, 4096, SEG_MAX };

static int spoolfd = -1, memfd = -1;

static void
put(const char *name, const uint8_t *p, size_t len)
{
	int fd;

	FUZZ_SETUP((fd = openat(spoolfd, name, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600)) != -1);
	FUZZ_SETUP(len == 0 || write(fd, p, len) == (ssize_t)len);
	close(fd);
}

static void
recover(const uint8_t *p, size_t len)
{
	const uint8_t *nl;
	uint64_t newsize = UINT64_MAX;
	size_t keep;
	int64_t cut;
	struct stat st;

	FUZZ_SETUP(ftruncate(memfd, 0) == 0);
	FUZZ_SETUP(len == 0 || pwrite(memfd, p, len, 0) == (ssize_t)len);
	nl = len ? memrchr(p, '\n', len) : NULL;
	keep = nl ? (size_t)(nl - p) + 1 : 0;
	cut = tc_cut_torn(memfd, &newsize);
	FUZZ_CHECK(cut == (int64_t)(len - keep));
	FUZZ_CHECK(newsize == keep);
	FUZZ_SETUP(fstat(memfd, &st) == 0);
	FUZZ_CHECK((uint64_t)st.st_size == keep);
}

static void
record_times(struct spool *sp, const uint8_t *p, size_t len)
{
	const uint8_t *nl;
	size_t off = 0;
	int i;

	for (i = 0; i < TIMES_MAX && off <= len; i++) {
		FUZZ_CHECK(spool_record_time(sp, 1, off) >= -1);
		if ((nl = memchr(p + off, '\n', len - off)) == NULL)
			break;
		off = (size_t)(nl - p) + 1;
	}
}

static void
read_all(int is_open, size_t max, uint64_t start, const uint8_t *p, size_t len)
{
	static char buf[SEG_MAX];
	struct fwd_reader r;
	struct wire_pos at, from;
	struct msg_data d;
	struct wbuf w;
	char why[256];
	enum fwd_chunk ck;
	const uint8_t *nl;
	uint64_t off = start;
	size_t n, whole;

	nl = len > start ? memrchr(p + start, '\n', len - start) : NULL;
	whole = nl ? (size_t)(nl - p) + 1 : start;
	fwd_reader_init(&r, spoolfd, "fuzz");
	from.seq = 1;
	from.size = start;
	from.complete = 0;
	fwd_reader_seek(&r, &from);
	wbuf_init(&w);
	for (;;) {
		ck = fwd_reader_next(&r, buf, max, &at, &n, why, sizeof(why));
		if (ck != CHUNK_DATA)
			break;
		FUZZ_CHECK(at.seq == 1 && at.size == off);
		FUZZ_CHECK(n >= 1 && n <= max && off + n <= len);
		FUZZ_CHECK(memcmp(buf, p + off, n) == 0);
		/* What is sent, the receiver takes. */
		FUZZ_CHECK(wire_enc_data(&w, at.seq, at.size, buf, n) == 0);
		FUZZ_CHECK(wire_dec_data(w.buf + WIRE_HDR_LEN,
		    w.len - WIRE_HDR_LEN, &d) == 0);
		FUZZ_CHECK(d.seq == at.seq && d.offset == at.size &&
		    d.len == n);
		w.len = 0;
		off += n;
	}
	wbuf_free(&w);
	fwd_reader_close(&r);
	switch (ck) {
	case CHUNK_SEGEND:
		/* All of a closed segment, and it ended with a newline. */
		FUZZ_CHECK(!is_open && at.seq == 1 && at.complete);
		FUZZ_CHECK(at.size == len && off == len);
		break;
	case CHUNK_WAIT:
		/* The open one is tailed; a torn end may still be written. */
		FUZZ_CHECK(is_open && off == whole && len - off < max);
		break;
	case CHUNK_BAD:
		/*
		 * Where it starts is not a line end, a closed segment ends
		 * inside a line, or a line is longer than the buffer.
		 */
		FUZZ_CHECK(why[0] != '\0');
		FUZZ_CHECK((start > 0 && (start > len ||
		    p[start - 1] != '\n')) || (!is_open && off == whole) ||
		    (len - off >= max && memchr(p + off, '\n', max) == NULL));
		break;
	default:
		FUZZ_CHECK(ck != CHUNK_FAIL);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool sp;
	const uint8_t *p;
	uint64_t start;
	size_t len, max;
	int is_open;

	if (size < 2 || size - 2 > SEG_MAX)
		return 0;
	if (spoolfd == -1) {
		FUZZ_SETUP((spoolfd = open(fuzz_tmpdir(), O_RDONLY |
		    O_DIRECTORY | O_CLOEXEC)) != -1);
		FUZZ_SETUP((memfd = memfd_create("fuzz.seg", MFD_CLOEXEC)) !=
		    -1);
	}
	is_open = data[0] & 1;
	max = bufsizes[(data[0] >> 1) & 3];
	p = data + 2;
	len = size - 2;
	start = data[1] == 0xff ? len + 1 : len ? data[1] % (len + 1) : 0;

	recover(p, len);

	unlinkat(spoolfd, "0000000000000001.open", 0);
	unlinkat(spoolfd, "0000000000000001.seg", 0);
	put(is_open ? "0000000000000001.open" : "0000000000000001.seg", p, len);
	memset(&sp, 0, sizeof(sp));
	sp.dirfd = spoolfd;
	sp.seq = is_open ? 1 : 2;
	record_times(&sp, p, len);
	read_all(is_open, max, start, p, len);
	return 0;
}
