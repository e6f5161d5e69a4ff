/* Segment naming and ordering, rotation, torn-tail recovery, drops. */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "audisp-dist.h"
#include "harness.h"
#include "log.h"

static char dir[64];

static void
mkspool(void)
{
	snprintf(dir, sizeof(dir), "/tmp/spool_test.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
}

static void
rmspool(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		abort();
}

static void
put_file(const char *name, const char *data)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	if (f == NULL)
		abort();
	fputs(data, f);
	fclose(f);
}

/* Contents of a spool file, or NULL if it does not exist. */
static char *
get_file(const char *name)
{
	static char buf[1 << 16];
	char p[512];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((fd = open(p, O_RDONLY)) == -1)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static int
exists(const char *name)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

/* All segments concatenated in name order, as the forwarder reads them. */
static size_t
concat_segments(char *out, size_t cap, unsigned *nsegs)
{
	struct dirent **names;
	size_t len = 0;
	int n, i;

	n = scandir(dir, &names, NULL, alphasort);
	*nsegs = 0;
	for (i = 0; i < n; i++) {
		uint64_t seq;
		int open;

		if (spool_seg_parse_name(names[i]->d_name, &seq, &open) == 0) {
			char *c = get_file(names[i]->d_name);
			size_t l = strlen(c);

			if (len + l < cap) {
				memcpy(out + len, c, l);
				len += l;
			}
			(*nsegs)++;
			/* every segment holds whole lines only */
			CHECK(l == 0 || c[l - 1] == '\n');
		}
		free(names[i]);
	}
	free(names);
	out[len] = '\0';
	return len;
}

static void
test_names(void)
{
	char buf[32];
	uint64_t seq;
	int open;

	REQUIRE(spool_seg_name(buf, sizeof(buf), 1, 1) == 0);
	CHECK_STR(buf, "0000000000000001.open");
	REQUIRE(spool_seg_name(buf, sizeof(buf), 0xabc, 0) == 0);
	CHECK_STR(buf, "0000000000000abc.seg");
	CHECK(spool_seg_parse_name("0000000000000abc.seg", &seq, &open) == 0);
	CHECK(seq == 0xabc && open == 0);
	CHECK(spool_seg_parse_name("ffffffffffffffff.open", &seq, &open) == 0);
	CHECK(seq == UINT64_MAX && open == 1);
	CHECK(spool_seg_parse_name("0000000000000000.seg", &seq, &open) == -1);
	CHECK(spool_seg_parse_name("0000000000000ABC.seg", &seq, &open) == -1);
	CHECK(spool_seg_parse_name("000000000000abc.seg", &seq, &open) == -1);
	CHECK(spool_seg_parse_name("0000000000000abc.seg.tmp", &seq, &open) == -1);
	CHECK(spool_seg_parse_name("0000000000000abc.log", &seq, &open) == -1);
	CHECK(spool_seg_parse_name("status", &seq, &open) == -1);
	CHECK(spool_seg_parse_name("", &seq, &open) == -1);
	CHECK(spool_seg_name(buf, 10, 1, 1) == -1);
}

static void
test_name_order(void)
{
	/* Name order is sequence order, whatever the clock says. */
	uint64_t seqs[] = { 1, 9, 10, 15, 16, 255, 256, 0xfffff, 0x100000 };
	char a[32], b[32];
	size_t i;

	for (i = 0; i + 1 < sizeof(seqs) / sizeof(seqs[0]); i++) {
		spool_seg_name(a, sizeof(a), seqs[i], 0);
		spool_seg_name(b, sizeof(b), seqs[i + 1], 1);
		CHECK(strcmp(a, b) < 0);
	}
}

static void
test_new_spool(void)
{
	struct spool sp;
	char err[256], *id;

	mkspool();
	REQUIRE(spool_open(&sp, dir, err, sizeof(err)) == 0);
	CHECK(sp.seq == 1);
	CHECK(exists("0000000000000001.open"));
	id = get_file("spool.id");
	REQUIRE(id != NULL);
	CHECK(strlen(id) == SPOOL_ID_LEN + 1);
	CHECK(strncmp(id, sp.id, SPOOL_ID_LEN) == 0);
	spool_close(&sp);
	/*
	 * Reopened: same identity; the empty open segment is replaced, not
	 * reused, since a receiver may hold bytes a crash took from it.
	 */
	REQUIRE(spool_open(&sp, dir, err, sizeof(err)) == 0);
	CHECK(strncmp(get_file("spool.id"), sp.id, SPOOL_ID_LEN) == 0);
	CHECK(sp.seq == 2);
	CHECK(!exists("0000000000000001.open"));
	CHECK(exists("0000000000000002.open"));
	spool_close(&sp);
	rmspool();
}

static void
test_lock(void)
{
	struct spool a, b;
	char err[256];

	mkspool();
	REQUIRE(spool_open(&a, dir, err, sizeof(err)) == 0);
	CHECK(spool_open(&b, dir, err, sizeof(err)) == -1);
	CHECK(strstr(err, "in use") != NULL);
	spool_close(&a);
	CHECK(spool_open(&b, dir, err, sizeof(err)) == 0);
	spool_close(&b);
	rmspool();
}

static void
test_write_rotate(void)
{
	char in[8192], out[16384], err[256];
	size_t len = 0, w;
	struct spool sp;
	unsigned nsegs;
	int i;

	mkspool();
	for (i = 0; i < 100; i++)
		len += (size_t)snprintf(in + len, sizeof(in) - len,
		    "type=SYSCALL msg=audit(1.%03d:%d): x=%d\n", i, i, i * 7);
	REQUIRE(spool_open(&sp, dir, err, sizeof(err)) == 0);
	/* Segments of 500 bytes: many rotations, each at a line boundary. */
	w = spool_write(&sp, in, len / 2, 500);
	CHECK(w == len / 2 || in[w - 1] == '\n');
	w = spool_write(&sp, in + w, len - w, 500);
	syncer_drain(sp.syncer, 10);
	CHECK(concat_segments(out, sizeof(out), &nsegs) == len);
	CHECK_EQ_MEM(in, out, len);
	CHECK(nsegs > 5);
	CHECK(spool_total(&sp) == len);
	/* The highest number is the open one; closed ones are .seg. */
	spool_seg_name(err, sizeof(err), sp.seq, 1);
	CHECK(exists(err));
	CHECK(exists("0000000000000001.seg"));
	spool_close(&sp);
	rmspool();
}

static void
test_write_partial_lines_refused(void)
{
	struct spool sp;
	char err[256];
	const char *big;
	char *line;

	mkspool();
	REQUIRE(spool_open(&sp, dir, err, sizeof(err)) == 0);
	/* A line longer than a whole segment goes in whole, alone. */
	line = malloc(3000);
	memset(line, 'x', 2999);
	memcpy(line, "type=X ", 7);
	line[2999] = '\n';
	CHECK(spool_write(&sp, "type=A\n", 7, 1024) == 7);
	CHECK(spool_write(&sp, line, 3000, 1024) == 3000);
	syncer_drain(sp.syncer, 10);
	big = get_file("0000000000000002.seg");
	REQUIRE(big != NULL);
	CHECK(strlen(big) == 3000);
	CHECK_STR(get_file("0000000000000001.seg"), "type=A\n");
	free(line);
	spool_close(&sp);
	rmspool();
}

static void
test_torn_tail(void)
{
	struct spool sp;
	char err[256];

	mkspool();
	put_file("spool.id", "0123456789abcdef0123456789abcdef\n");
	put_file("0000000000000002.seg", "type=A msg=audit(1.0:1): a\n");
	put_file("0000000000000003.open",
	    "type=B msg=audit(1.0:2): b\ntype=C msg=audit(1.0:3): c\ntype=D msg=au");
	REQUIRE(spool_open(&sp, dir, err, sizeof(err)) == 0);
	CHECK_STR(sp.id, "0123456789abcdef0123456789abcdef");
	CHECK(sp.torn_bytes == 13);
	CHECK(sp.torn_records == 1);
	CHECK(sp.seq == 4);
	CHECK(!exists("0000000000000003.open"));
	CHECK_STR(get_file("0000000000000003.seg"),
	    "type=B msg=audit(1.0:2): b\ntype=C msg=audit(1.0:3): c\n");
	CHECK_STR(get_file("0000000000000002.seg"), "type=A msg=audit(1.0:1): a\n");
	CHECK(exists("0000000000000004.open"));
	CHECK(sp.closed_count == 2);
	CHECK(sp.oldest_seq == 2);
	CHECK(spool_oldest_record_time(&sp) == 1);
	spool_close(&sp);
	rmspool();
}

static void
test_torn_only_and_zeros(void)
{
	struct spool sp;
	char err[256];
	int fd;

	mkspool();
	/* A segment with no newline at all, and one ending in zeros. */
	put_file("0000000000000005.open", "type=B msg=audit(1.0:2): b\n");
	fd = open("/dev/null", O_RDONLY);
	close(fd);
	{
		char p[512];

		snprintf(p, sizeof(p), "%s/0000000000000005.open", dir);
		fd = open(p, O_WRONLY | O_APPEND);
		REQUIRE(fd != -1);
		CHECK(write(fd, "\0\0\0\0\0\0\0\0", 8) == 8);
		close(fd);
	}
	put_file("0000000000000006.open", "type=E msg=aud");
	REQUIRE(spool_open(&sp, dir, err, sizeof(err)) == 0);
	CHECK_STR(get_file("0000000000000005.seg"), "type=B msg=audit(1.0:2): b\n");
	/* Nothing whole was left in 6: it is gone, 7 takes over. */
	CHECK(!exists("0000000000000006.open") && !exists("0000000000000006.seg"));
	CHECK(sp.seq == 7);
	CHECK(sp.torn_records == 2);
	CHECK(sp.torn_bytes == 8 + 14);
	spool_close(&sp);
	rmspool();
}

/* Hole 3: a new series gets a new identity, durably and readable. */
static void
test_new_id(void)
{
	struct spool sp;
	char err[256], old[SPOOL_ID_LEN + 1], p[512];
	struct stat st;

	mkspool();
	REQUIRE(spool_open(&sp, dir, err, sizeof(err)) == 0);
	memcpy(old, sp.id, sizeof(old));
	if (geteuid() == 0)
		sp.gid = 12345;		/* as spool_share sets it */
	REQUIRE(spool_new_id(&sp) == 0);
	CHECK(strlen(sp.id) == SPOOL_ID_LEN && strcmp(sp.id, old) != 0);
	CHECK(strncmp(get_file("spool.id"), sp.id, SPOOL_ID_LEN) == 0);
	CHECK(!exists("spool.id.tmp"));
	snprintf(p, sizeof(p), "%s/spool.id", dir);
	REQUIRE(stat(p, &st) == 0);
	if (geteuid() == 0)
		CHECK(st.st_gid == 12345 && (st.st_mode & 0777) == 0640);
	spool_close(&sp);
	/* And it is the one a restart reads. */
	REQUIRE(spool_open(&sp, dir, err, sizeof(err)) == 0);
	CHECK(strcmp(sp.id, old) != 0);
	CHECK(strncmp(get_file("spool.id"), sp.id, SPOOL_ID_LEN) == 0);
	spool_close(&sp);
	rmspool();
}

static void
test_bad_id(void)
{
	struct spool sp;
	char err[256];

	mkspool();
	put_file("spool.id", "not an id\n");
	REQUIRE(spool_open(&sp, dir, err, sizeof(err)) == 0);
	CHECK(strlen(sp.id) == SPOOL_ID_LEN);
	CHECK(strcmp(sp.id, "not an id") != 0);
	spool_close(&sp);
	rmspool();
}

static void
test_drop_oldest(void)
{
	uint64_t r = 0, b = 0;
	struct spool sp;
	char err[256], p[256];
	int fd;

	mkspool();
	put_file("0000000000000001.seg", "type=A\ntype=B\n");
	put_file("0000000000000002.seg", "type=C\n");
	REQUIRE(spool_open(&sp, dir, err, sizeof(err)) == 0);
	CHECK(sp.closed_count == 2 && sp.closed_bytes == 21);
	/* The forwarder is reading segment 1: it must not be deleted. */
	snprintf(p, sizeof(p), "%s/0000000000000001.seg", dir);
	fd = open(p, O_RDONLY);
	REQUIRE(fd != -1);
	REQUIRE(flock(fd, LOCK_SH) == 0);
	CHECK(spool_drop_oldest(&sp, &r, &b) == 0);
	CHECK(r == 1 && b == 7);
	CHECK(exists("0000000000000001.seg") && !exists("0000000000000002.seg"));
	CHECK(spool_drop_oldest(&sp, &r, &b) == -1);
	close(fd);
	CHECK(spool_drop_oldest(&sp, &r, &b) == 0);
	CHECK(r == 2 && b == 14);
	CHECK(sp.closed_count == 0 && sp.closed_bytes == 0);
	/* Never the open segment. */
	CHECK(spool_write(&sp, "type=Z\n", 7, 1 << 20) == 7);
	CHECK(spool_drop_oldest(&sp, &r, &b) == -1);
	spool_close(&sp);
	rmspool();
}

static void
test_count_lines(void)
{
	CHECK(spool_count_lines("", 0) == 0);
	CHECK(spool_count_lines("a\nb\n", 4) == 2);
	CHECK(spool_count_lines("a\nb", 3) == 1);
	CHECK(spool_count_lines("\n\n\n", 3) == 3);
}

static const struct h_test tests[] = {
	TEST(test_names),
	TEST(test_name_order),
	TEST(test_new_spool),
	TEST(test_new_id),
	TEST(test_lock),
	TEST(test_write_rotate),
	TEST(test_write_partial_lines_refused),
	TEST(test_torn_tail),
	TEST(test_torn_only_and_zeros),
	TEST(test_bad_id),
	TEST(test_drop_oldest),
	TEST(test_count_lines),
};

int
main(void)
{
	log_init("spool_test", 1, 0);
	return h_run("spool", tests, sizeof(tests) / sizeof(tests[0]));
}
