/*
 * pubidx: a trail byte to the sender's segment and back, from .store
 * indexes written here as the writer writes them; an index that grows,
 * a line not yet whole, empty segments, several files.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "auditdistd.h"
#include "publish.h"

#define SPOOL_A	"0101010101010101010101010101010a"
#define SPOOL_B	"0202020202020202020202020202020b"

static char dir[64];
static int storefd = -1;

static void
put(uint64_t num, const char *text)
{
	char name[40];
	int fd;

	REQUIRE(store_name(name, sizeof(name), num, 1) == 0);
	REQUIRE((fd = openat(storefd, name, O_WRONLY | O_CREAT | O_APPEND,
	    0640)) != -1);
	REQUIRE(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/pubidx_test.XXXXXX");
	REQUIRE(mkdtemp(dir) != NULL);
	REQUIRE((storefd = open(dir, O_RDONLY | O_DIRECTORY)) != -1);
}

static void
teardown(void)
{
	char cmd[128];

	close(storefd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		abort();
}

static void
test_segment(void)
{
	struct pubidx *x;
	struct pubseg s;

	setup();
	REQUIRE((x = pubidx_new()) != NULL);
	put(1, "S " SPOOL_A " 0000000000000001 0\nE 0000000000000001 100\n"
	    "S " SPOOL_A " 0000000000000002 100\n"
	    "S " SPOOL_A " 0000000000000003 100\n");
	CHECK(pubidx_segment(x, storefd, 1, 0, &s) == 0);
	CHECK_STR(s.spool, SPOOL_A);
	CHECK(s.seq == 1 && s.start == 0 && s.end == 100);
	CHECK(pubidx_segment(x, storefd, 1, 99, &s) == 0 && s.seq == 1);
	/* Segment 2 is empty: byte 100 is segment 3's. */
	CHECK(pubidx_segment(x, storefd, 1, 100, &s) == 0);
	CHECK(s.seq == 3 && s.start == 100 && s.end == UINT64_MAX);
	/* The index grows; a line not yet whole is not read. */
	put(1, "S " SPOOL_A " 0000000000000004 250\nS " SPOOL_A " 00000");
	CHECK(pubidx_segment(x, storefd, 1, 120, &s) == 0);
	CHECK(s.seq == 3 && s.end == 250);
	CHECK(pubidx_segment(x, storefd, 1, 400, &s) == 0 && s.seq == 4 &&
	    s.end == UINT64_MAX);
	put(1, "00000000005 400\n");
	CHECK(pubidx_segment(x, storefd, 1, 400, &s) == 0 && s.seq == 5 &&
	    s.start == 400);
	CHECK(pubidx_segment(x, storefd, 1, 300, &s) == 0 && s.end == 400);
	/* No index, or nothing at or before the byte. */
	CHECK(pubidx_segment(x, storefd, 2, 0, &s) == -1);
	put(3, "S " SPOOL_B " 0000000000000009 10\n");
	CHECK(pubidx_segment(x, storefd, 3, 5, &s) == -1);
	CHECK(pubidx_segment(x, storefd, 3, 10, &s) == 0 && s.seq == 9);
	CHECK_STR(s.spool, SPOOL_B);
	pubidx_free(x);
	teardown();
}

static void
test_locate(void)
{
	const uint64_t v[] = { 1, 2, 3 };
	struct pubidx *x;
	struct pubseg s;
	uint64_t file = 0, start = 0;

	setup();
	REQUIRE((x = pubidx_new()) != NULL);
	put(1, "S " SPOOL_A " 0000000000000001 0\n"
	    "S " SPOOL_A " 0000000000000002 500\n");
	put(2, "S " SPOOL_A " 0000000000000003 0\n"
	    "S " SPOOL_A " 0000000000000004 70\n");
	/* A new series starts a file of its own. */
	put(3, "S " SPOOL_B " 0000000000000001 0\n");
	CHECK(pubidx_locate(x, storefd, v, 3, SPOOL_A, 2, &file, &start) == 0);
	CHECK(file == 1 && start == 500);
	CHECK(pubidx_locate(x, storefd, v, 3, SPOOL_A, 4, &file, &start) == 0);
	CHECK(file == 2 && start == 70);
	CHECK(pubidx_locate(x, storefd, v, 3, SPOOL_B, 1, &file, &start) == 0);
	CHECK(file == 3 && start == 0);
	CHECK(pubidx_locate(x, storefd, v, 3, SPOOL_A, 5, &file, &start) == -1);
	CHECK(pubidx_locate(x, storefd, v, 3, SPOOL_B, 2, &file, &start) == -1);
	/* And the cache still answers for any file after a search. */
	CHECK(pubidx_segment(x, storefd, 1, 600, &s) == 0 && s.seq == 2);
	/* An index with two series, or going back, is refused. */
	put(2, "S " SPOOL_B " 0000000000000005 90\n");
	CHECK(pubidx_segment(x, storefd, 2, 95, &s) == -1);
	put(1, "S " SPOOL_A " 0000000000000003 10\n");
	CHECK(pubidx_segment(x, storefd, 1, 600, &s) == -1);
	pubidx_free(x);
	teardown();
}

/* Only lines as the writer writes them are S lines; others are passed. */
static void
test_lines(void)
{
	struct pubidx *x;
	struct pubseg s;

	setup();
	REQUIRE((x = pubidx_new()) != NULL);
	put(1, "S " SPOOL_A " 0000000000000001 0\n"
	    "S " SPOOL_A " 000000000000000A 40\n"		/* upper case */
	    "S " SPOOL_A " 000000000000000b 050\n"		/* leading zero */
	    "S " SPOOL_A " 000000000000000c +60\n"		/* a sign */
	    "S " SPOOL_A " 0x0000000000000d 70\n"
	    "S " SPOOL_A " 000000000000000e 80 \n"		/* trailing */
	    "S " SPOOL_A "  000000000000000f 90\n"
	    "S " SPOOL_A " 0000000000000002 100\n");
	CHECK(pubidx_segment(x, storefd, 1, 95, &s) == 0);
	CHECK(s.seq == 1 && s.start == 0 && s.end == 100);
	CHECK(pubidx_segment(x, storefd, 1, 100, &s) == 0 && s.seq == 2);
	pubidx_free(x);
	teardown();
}

/* Message IDs: as the publisher makes them, and nothing else. */
static void
test_parse_id(void)
{
	static const char *const bad[] = {
		"web:" SPOOL_A ":0000000000000007",		/* short */
		"web:" SPOOL_A ":0000000000000007:12:1",	/* long */
		":" SPOOL_A ":0000000000000007:12",		/* no host */
		"web:" SPOOL_A "0:0000000000000007:12",
		"web:0101010101010101010101010101010A:0000000000000007:12",
		"web:" SPOOL_A ":000000000000007:12",
		"web:" SPOOL_A ":000000000000000G:12",
		"web:" SPOOL_A ":0000000000000007:012",	/* leading zero */
		"web:" SPOOL_A ":0000000000000007:+12",
		"web:" SPOOL_A ":0000000000000007:12 ",
		"web:" SPOOL_A ":0000000000000007:18446744073709551616",
		"",
	};
	const uint8_t want[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	    1, 0x0a };
	struct pubid p;
	size_t i;

	REQUIRE(pubidx_parse_id("web.b-1:" SPOOL_A ":00000000000000a7:"
	    "18446744073709551615", &p) == 0);
	CHECK(p.hostlen == 7 && memcmp(p.host, "web.b-1", 7) == 0);
	CHECK_STR(p.spool, SPOOL_A);
	CHECK_EQ_MEM(p.spool_id, want, sizeof(want));
	CHECK_EQ_U64(p.seg, 0xa7);
	CHECK_EQ_U64(p.off, UINT64_MAX);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pubidx_parse_id(bad[i], &p) != -1) {
			fprintf(stderr, "accepted: %s\n", bad[i]);
			CHECK(0);
		}
}

static const struct h_test tests[] = {
	TEST(test_segment),
	TEST(test_locate),
	TEST(test_lines),
	TEST(test_parse_id),
};

RUN_TESTS("pubidx", tests)
