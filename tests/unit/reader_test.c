/*
 * reader_host: what each message does to its host's trail in the reading
 * mode (auditdistd -R), without NATS: in order, twice, early (a gap),
 * after a crash that lost the state's save (held by position, in the
 * current series and an earlier one), a segment's end, a new series,
 * a trail without state.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "reader.h"

static char dir[64];
static int rootfd = -1;
static uint8_t spool_a[WIRE_ID_LEN], spool_b[WIRE_ID_LEN];

static void
setup(void)
{
	struct trail_limits lim;
	char err[256];

	memset(&lim, 0, sizeof(lim));
	memset(spool_a, 0xa1, sizeof(spool_a));
	memset(spool_b, 0xb2, sizeof(spool_b));
	snprintf(dir, sizeof(dir), "/tmp/reader_test.XXXXXX");
	REQUIRE(mkdtemp(dir) != NULL);
	REQUIRE(chmod(dir, 0700) == 0);
	REQUIRE((rootfd = open(dir, O_RDONLY | O_DIRECTORY)) != -1);
	REQUIRE(rdhost_init(rootfd, &lim, err, sizeof(err)) == 0);
}

static void
teardown(void)
{
	char cmd[128];

	rdhost_close_all();
	close(rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		abort();
}

/* One message of host web through a round of its own. */
static enum reader_verdict
msg(const uint8_t *spool, uint64_t seg, uint64_t off, const char *data,
    uint64_t sseq, uint64_t expect)
{
	struct reader_msg m;
	struct rdhost *h;
	enum reader_verdict v;

	memset(&m, 0, sizeof(m));
	m.host = "web";
	memcpy(m.spool, spool, WIRE_ID_LEN);
	m.seg = seg;
	m.off = off;
	m.data = data;
	m.len = strlen(data);
	m.sseq = sseq;
	m.expect = expect;
	if ((h = rdhost_get("web")) == NULL)
		return RV_WAIT;
	v = rdhost_apply(h, &m);
	rdhost_commit();
	rdhost_round_end();
	return v;
}

/* The whole file name below dir, into buf. */
static void
slurp(const char *name, char *buf, size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY)) == -1)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
}

/* A crash that lost the state's last saves: the stream says seq. */
static void
crash_to(uint64_t seq)
{
	char path[128];
	FILE *f;

	rdhost_close_all();
	snprintf(path, sizeof(path), "%s/" READER_STATE "/web", dir);
	REQUIRE((f = fopen(path, "w")) != NULL);
	fprintf(f, "seq %llu\n", (unsigned long long)seq);
	fclose(f);
}

static void
test_order(void)
{
	char buf[4096];

	setup();
	CHECK(msg(spool_a, 1, 0, "a1\n", 1, 0) == RV_WRITTEN);
	CHECK(msg(spool_a, 1, 0, "a1\n", 1, 0) == RV_HELD);
	/* Early: the subject's message before it is not the trail's last. */
	CHECK(msg(spool_a, 1, 6, "a3\n", 5, 3) == RV_WAIT);
	/* A later segment while this one may not be whole: a gap too. */
	CHECK(msg(spool_a, 2, 0, "b1\n", 5, 3) == RV_WAIT);
	CHECK(msg(spool_a, 1, 3, "a2\n", 3, 1) == RV_WRITTEN);
	CHECK(msg(spool_a, 1, 6, "a3\n", 5, 3) == RV_WRITTEN);
	/* The chain holds, the offset does not: refused. */
	CHECK(msg(spool_a, 1, 8, "xx\n", 6, 5) == RV_WAIT);
	CHECK(msg(spool_a, 2, 0, "b1\n", 7, 5) == RV_WRITTEN);
	slurp("web/audit.log", buf, sizeof(buf));
	CHECK_STR(buf, "a1\na2\na3\nb1\n");
	/* The receiver's index: segment 1 ended where 2 began. */
	slurp("web/.store/0000000000000001.idx", buf, sizeof(buf));
	CHECK(strstr(buf, "E 0000000000000001 9\n") != NULL);
	CHECK(strstr(buf, " 0000000000000002 9\n") != NULL);
	slurp(READER_STATE "/web", buf, sizeof(buf));
	CHECK_STR(buf, "seq 7\n");
	teardown();
}

static void
test_crash(void)
{
	char buf[4096];

	setup();
	CHECK(msg(spool_a, 1, 0, "a1\n", 1, 0) == RV_WRITTEN);
	CHECK(msg(spool_a, 1, 3, "a2\n", 2, 1) == RV_WRITTEN);
	CHECK(msg(spool_a, 2, 0, "b1\n", 4, 2) == RV_WRITTEN);
	/* Written and synced, the state still at 1: held by position. */
	crash_to(1);
	CHECK(msg(spool_a, 1, 3, "a2\n", 2, 1) == RV_HELD);
	CHECK(msg(spool_a, 2, 0, "b1\n", 4, 2) == RV_HELD);
	CHECK(msg(spool_a, 2, 3, "b2\n", 6, 4) == RV_WRITTEN);
	/* A new series: a file of its own. */
	CHECK(msg(spool_b, 1, 0, "c1\n", 8, 6) == RV_WRITTEN);
	crash_to(4);
	/* An earlier series' segment the trail holds. */
	CHECK(msg(spool_a, 2, 3, "b2\n", 6, 4) == RV_HELD);
	CHECK(msg(spool_b, 1, 0, "c1\n", 8, 6) == RV_HELD);
	CHECK(msg(spool_b, 1, 3, "c2\n", 9, 8) == RV_WRITTEN);
	slurp("web/audit.log.1", buf, sizeof(buf));
	CHECK_STR(buf, "a1\na2\nb1\nb2\n");
	slurp("web/audit.log", buf, sizeof(buf));
	CHECK_STR(buf, "c1\nc2\n");
	teardown();
}

static void
test_no_state(void)
{
	char path[128];

	setup();
	CHECK(msg(spool_a, 1, 0, "a1\n", 1, 0) == RV_WRITTEN);
	rdhost_close_all();
	snprintf(path, sizeof(path), "%s/" READER_STATE "/web", dir);
	REQUIRE(unlink(path) == 0);
	/* A trail it did not write: left alone. */
	CHECK(rdhost_get("web") == NULL);
	CHECK(msg(spool_a, 1, 3, "a2\n", 2, 1) == RV_WAIT);
	teardown();
}

static const struct h_test tests[] = {
	TEST(test_order),
	TEST(test_crash),
	TEST(test_no_state),
};

RUN_TESTS("reader", tests)
