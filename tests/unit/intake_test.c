/* Framing of the record stream: whole lines out, bad input counted. */
#include "audisp-dist.h"
#include "harness.h"
#include "log.h"

/* Feed s in pieces of step bytes; collect framed output. */
static size_t
feed(struct intake *in, struct counters *c, const char *s, size_t len,
    size_t step, char *out, size_t cap)
{
	size_t off = 0, olen = 0;

	while (off < len) {
		size_t n = len - off < step ? len - off : step;
		struct intake_out o;

		if (n > intake_space(in))
			n = intake_space(in);
		memcpy(intake_tail(in), s + off, n);
		off += n;
		intake_frame(in, n, &o, c);
		if (olen + o.len <= cap) {
			memcpy(out + olen, o.data, o.len);
			olen += o.len;
		}
		intake_consume(in);
	}
	return olen;
}

static void
test_split_reads(void)
{
	const char *s = "type=A msg=audit(1.0:1): a\nnode=h type=B msg=x\n"
	    "type=C msg=audit(1.0:3): c\n";
	size_t step;

	for (step = 1; step < 60; step++) {
		struct counters c = { 0 };
		struct intake in;
		char out[256];
		size_t n;

		REQUIRE(intake_init(&in, 0) == 0);
		n = feed(&in, &c, s, strlen(s), step, out, sizeof(out));
		CHECK(n == strlen(s) && memcmp(out, s, n) == 0);
		CHECK(c.records_in == 3 && c.bytes_in == strlen(s));
		CHECK(c.rejected_records == 0);
		intake_eof(&in, &c);
		CHECK(c.rejected_records == 0);
		intake_free(&in);
	}
}

static void
test_garbage(void)
{
	const char s[] = "type=A x\n\xff\xfe garbage\ntype=B \0nul\n\ntype=C y\n";
	const char want[] = "type=A x\ntype=C y\n";
	struct counters c = { 0 };
	struct intake in;
	char out[256];
	size_t n;

	REQUIRE(intake_init(&in, 0) == 0);
	n = feed(&in, &c, s, sizeof(s) - 1, 7, out, sizeof(out));
	CHECK(n == strlen(want) && memcmp(out, want, n) == 0);
	CHECK(c.records_in == 2);
	CHECK(c.rejected_records == 3);
	CHECK(c.rejected_bytes == 11 + 12 + 1);
	intake_free(&in);
}

static void
test_long_line(void)
{
	size_t biglen = 1024 * 1024, len, n;
	struct counters c = { 0 };
	struct intake in;
	char *s, out[256];

	/* A 1 MiB line between two records, fed in 64 KiB reads. */
	s = malloc(biglen + 64);
	REQUIRE(s != NULL);
	strcpy(s, "type=A a\n");
	len = strlen(s);
	memset(s + len, 'x', biglen);
	memcpy(s + len, "type=X ", 7);
	len += biglen;
	s[len++] = '\n';
	memcpy(s + len, "type=B b\n", 9);
	len += 9;
	REQUIRE(intake_init(&in, 0) == 0);
	n = feed(&in, &c, s, len, 65536, out, sizeof(out));
	CHECK(n == 18 && memcmp(out, "type=A a\ntype=B b\n", 18) == 0);
	CHECK(c.records_in == 2);
	CHECK(c.rejected_records == 1);
	CHECK(c.rejected_bytes == biglen + 1);
	intake_free(&in);

	/* The same line with no newline at all, then end of stream. */
	memset(&c, 0, sizeof(c));
	REQUIRE(intake_init(&in, 0) == 0);
	n = feed(&in, &c, s + 9, biglen, 65536, out, sizeof(out));
	CHECK(n == 0 && c.records_in == 0);
	intake_eof(&in, &c);
	CHECK(c.rejected_records == 1 && c.rejected_bytes == biglen);
	intake_free(&in);
	free(s);
}

static void
test_long_whole_line(void)
{
	size_t biglen = 200 * 1024, len, n;
	struct counters c = { 0 };
	struct intake in;
	char *s, out[64];

	/* Whole in one read, or in many: refused either way. */
	s = malloc(biglen + 32);
	REQUIRE(s != NULL);
	memset(s, 'a', biglen);
	memcpy(s, "type=EXECVE a0=", 15);
	s[biglen - 1] = '\n';
	memcpy(s + biglen, "type=B b\n", 9);
	len = biglen + 9;
	REQUIRE(intake_init(&in, 512 * 1024) == 0);
	n = feed(&in, &c, s, len, len, out, sizeof(out));
	CHECK(n == 9 && memcmp(out, "type=B b\n", 9) == 0);
	CHECK(c.rejected_records == 1 && c.rejected_bytes == biglen);
	intake_free(&in);
	memset(&c, 0, sizeof(c));
	REQUIRE(intake_init(&in, 512 * 1024) == 0);
	n = feed(&in, &c, s, len, 32768, out, sizeof(out));
	CHECK(n == 9 && c.rejected_records == 1 && c.rejected_bytes == biglen);
	intake_free(&in);
	free(s);
}

static void
test_partial_at_eof(void)
{
	const char *s = "type=A a\ntype=B trunc";
	struct counters c = { 0 };
	struct intake in;
	char out[64];
	size_t n;

	REQUIRE(intake_init(&in, 0) == 0);
	n = feed(&in, &c, s, strlen(s), 4096, out, sizeof(out));
	CHECK(n == 9);
	intake_eof(&in, &c);
	CHECK(c.rejected_records == 1 && c.rejected_bytes == 12);
	/* A new connection starts clean. */
	n = feed(&in, &c, "type=C c\n", 9, 4096, out, sizeof(out));
	CHECK(n == 9 && memcmp(out, "type=C c\n", 9) == 0);
	intake_free(&in);
}

static void
test_empty(void)
{
	struct counters c = { 0 };
	struct intake in;

	REQUIRE(intake_init(&in, 0) == 0);
	intake_eof(&in, &c);
	CHECK(c.records_in == 0 && c.rejected_records == 0);
	intake_free(&in);
}

/* What counts as a record, through the framing that runs. */
static void
test_what_is_a_record(void)
{
	const char s[] = "type=A\nnode=x type=B\ntyp=AA\ntype=\0\n\nnode=\n";
	const char want[] = "type=A\nnode=x type=B\nnode=\n";
	struct counters c = { 0 };
	struct intake in;
	char out[64];
	size_t n;

	REQUIRE(intake_init(&in, 0) == 0);
	n = feed(&in, &c, s, sizeof(s) - 1, sizeof(s), out, sizeof(out));
	CHECK(n == strlen(want) && memcmp(out, want, n) == 0);
	CHECK(c.records_in == 3 && c.rejected_records == 3);
	intake_free(&in);
}

static const struct h_test tests[] = {
	TEST(test_split_reads),
	TEST(test_garbage),
	TEST(test_long_line),
	TEST(test_long_whole_line),
	TEST(test_partial_at_eof),
	TEST(test_empty),
	TEST(test_what_is_a_record),
};

int
main(void)
{
	log_init("intake_test", 1, 0);
	return h_run("intake", tests, sizeof(tests) / sizeof(tests[0]));
}
