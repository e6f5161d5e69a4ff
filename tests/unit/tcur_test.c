/* The text cursor: each getter at its bounds, sticky errors, names, cuts. */
#include <sys/mman.h>

#include "harness.h"
#include "tcur.h"

#define TC(c, s)	tc_init(c, s, strlen(s))

static void
test_hex(void)
{
	struct tcur c;
	uint64_t v = 7;

	TC(&c, "00000000000000ff");
	CHECK(tc_hex(&c, 16, &v) == 0);
	CHECK_EQ_U64(v, 0xff);
	CHECK(tc_end(&c) == 0);
	TC(&c, "ffffffffffffffff");
	CHECK(tc_hex(&c, 16, &v) == 0);
	CHECK_EQ_U64(v, UINT64_MAX);
	TC(&c, "a9x");
	CHECK(tc_hex(&c, 2, &v) == 0);
	CHECK_EQ_U64(v, 0xa9);
	CHECK_EQ_U64(tc_left(&c), 1);
	CHECK(tc_end(&c) == -1);

	v = 7;
	TC(&c, "abc");			/* truncated */
	CHECK(tc_hex(&c, 4, &v) == -1);
	CHECK_EQ_U64(v, 7);
	CHECK_EQ_U64(c.err_off, 3);
	TC(&c, "0A");			/* upper case */
	CHECK(tc_hex(&c, 2, &v) == -1);
	CHECK_EQ_U64(c.err_off, 1);
	TC(&c, "0g");
	CHECK(tc_hex(&c, 2, &v) == -1);
	TC(&c, "00000000000000000");	/* more than 64 bits */
	CHECK(tc_hex(&c, 17, &v) == -1);
	TC(&c, "0");
	CHECK(tc_hex(&c, 0, &v) == -1);
	CHECK_EQ_U64(v, 7);
	CHECK_EQ_U64(c.off, 0);		/* nothing consumed on failure */
}

static void
test_hexbytes(void)
{
	struct tcur c;
	uint8_t b[3] = { 0 };
	const uint8_t want[3] = { 0x01, 0xab, 0xf0 };

	TC(&c, "01abf0");
	CHECK(tc_hexbytes(&c, b, 3) == 0);
	CHECK_EQ_MEM(b, want, 3);
	CHECK(tc_end(&c) == 0);
	TC(&c, "01abf");		/* one digit short */
	CHECK(tc_hexbytes(&c, b, 3) == -1);
	CHECK_EQ_U64(c.err_off, 5);
	TC(&c, "01aBf0");
	CHECK(tc_hexbytes(&c, b, 3) == -1);
	CHECK_EQ_U64(c.err_off, 3);
	TC(&c, "01 bf0");
	CHECK(tc_hexbytes(&c, b, 3) == -1);
	CHECK_EQ_U64(c.err_off, 2);
	TC(&c, "");
	CHECK(tc_hexbytes(&c, b, 0) == 0);
}

static void
test_dec(void)
{
	struct tcur c;
	uint64_t v = 7;

	TC(&c, "0");
	CHECK(tc_dec(&c, UINT64_MAX, &v) == 0 && tc_end(&c) == 0);
	CHECK_EQ_U64(v, 0);
	TC(&c, "18446744073709551615 ");
	CHECK(tc_dec(&c, UINT64_MAX, &v) == 0);
	CHECK_EQ_U64(v, UINT64_MAX);
	CHECK(tc_lit(&c, " ") == 0 && tc_end(&c) == 0);
	TC(&c, "0x");			/* stops at the first non-digit */
	CHECK(tc_dec(&c, 10, &v) == 0);
	CHECK_EQ_U64(c.off, 1);

	v = 7;
	TC(&c, "18446744073709551616");
	CHECK(tc_dec(&c, UINT64_MAX, &v) == -1);
	TC(&c, "99999999999999999999");
	CHECK(tc_dec(&c, UINT64_MAX, &v) == -1);
	TC(&c, "184467440737095516150");
	CHECK(tc_dec(&c, UINT64_MAX, &v) == -1);
	TC(&c, "007");
	CHECK(tc_dec(&c, UINT64_MAX, &v) == -1);
	TC(&c, "00");
	CHECK(tc_dec(&c, UINT64_MAX, &v) == -1);
	TC(&c, "");
	CHECK(tc_dec(&c, UINT64_MAX, &v) == -1);
	TC(&c, "-1");
	CHECK(tc_dec(&c, UINT64_MAX, &v) == -1);
	CHECK_EQ_U64(v, 7);

	/* The bound itself, and one past it. */
	TC(&c, "1");
	CHECK(tc_dec(&c, 1, &v) == 0);
	CHECK_EQ_U64(v, 1);
	TC(&c, "2");
	CHECK(tc_dec(&c, 1, &v) == -1);
	TC(&c, "1048576");
	CHECK(tc_dec(&c, 1048576, &v) == 0);
	TC(&c, "1048577");
	CHECK(tc_dec(&c, 1048576, &v) == -1);
	TC(&c, "10485760");
	CHECK(tc_dec(&c, 1048576, &v) == -1);
	TC(&c, "9");
	CHECK(tc_dec(&c, 0, &v) == -1);
	TC(&c, "10");
	CHECK(tc_dec(&c, 9, &v) == -1);
	TC(&c, "9223372036854775807");
	CHECK(tc_dec(&c, INT64_MAX, &v) == 0);
	TC(&c, "9223372036854775808");
	CHECK(tc_dec(&c, INT64_MAX, &v) == -1);
}

/* As a person writes numbers in a configuration: leading zeros too. */
static void
test_digits(void)
{
	struct tcur c;
	uint64_t v = 7;

	TC(&c, "007");
	CHECK(tc_digits(&c, UINT64_MAX, &v) == 0 && tc_end(&c) == 0);
	CHECK_EQ_U64(v, 7);
	TC(&c, "00");
	CHECK(tc_digits(&c, 0, &v) == 0 && tc_end(&c) == 0);
	CHECK_EQ_U64(v, 0);
	TC(&c, "000000000000000000000000065535:");
	CHECK(tc_digits(&c, 65535, &v) == 0);
	CHECK_EQ_U64(v, 65535);
	CHECK_EQ_U64(tc_left(&c), 1);

	/* Syntax is EINVAL; a number past its bound is ERANGE. */
	v = 7;
	TC(&c, "");
	CHECK(tc_digits(&c, UINT64_MAX, &v) == -1 && errno == EINVAL);
	TC(&c, "+1");
	CHECK(tc_digits(&c, UINT64_MAX, &v) == -1 && errno == EINVAL);
	TC(&c, "065536");
	CHECK(tc_digits(&c, 65535, &v) == -1 && errno == ERANGE);
	TC(&c, "18446744073709551616");
	CHECK(tc_digits(&c, UINT64_MAX, &v) == -1 && errno == ERANGE);
	CHECK_EQ_U64(v, 7);
	CHECK_EQ_U64(c.off, 0);
	/* tc_dec says which of its refusals is which too. */
	TC(&c, "07");
	CHECK(tc_dec(&c, UINT64_MAX, &v) == -1 && errno == EINVAL);
	TC(&c, "10");
	CHECK(tc_dec(&c, 9, &v) == -1 && errno == ERANGE);
	/* A sticky failure keeps the first getter's errno. */
	CHECK(tc_end(&c) == -1 && errno == ERANGE);
}

static void
test_word_lit(void)
{
	struct tcur c;
	const char *w;
	size_t n;

	TC(&c, "ack h");
	CHECK(tc_word(&c, ' ', &w, &n) == 0);
	CHECK(n == 3 && memcmp(w, "ack", 3) == 0);
	CHECK(tc_lit(&c, " ") == 0);
	CHECK(tc_word(&c, ' ', &w, &n) == 0);	/* up to the end */
	CHECK(n == 1 && w[0] == 'h');
	CHECK(tc_end(&c) == 0);

	TC(&c, " x");				/* empty word */
	CHECK(tc_word(&c, ' ', &w, &n) == -1);
	TC(&c, "");
	CHECK(tc_word(&c, ' ', &w, &n) == -1);

	TC(&c, "S 1");
	CHECK(tc_lit(&c, "S ") == 0 && tc_left(&c) == 1);
	CHECK(*tc_rest(&c) == '1');
	TC(&c, "S");				/* truncated */
	CHECK(tc_lit(&c, "S ") == -1);
	CHECK_EQ_U64(c.err_off, 1);
	TC(&c, "E 1");
	CHECK(tc_lit(&c, "S ") == -1);
	CHECK_EQ_U64(c.off, 0);
}

static void
test_sticky(void)
{
	struct tcur c;
	char buf[64];
	uint64_t v;
	const char *w;
	size_t n;

	TC(&c, "12 34");
	CHECK_STR(tc_error(&c, buf, sizeof(buf)), "no error");
	CHECK(tc_lit(&c, "S ") == -1);
	/* Everything fails after the first failure, even what would fit. */
	CHECK(tc_lit(&c, "1") == -1);
	CHECK(tc_dec(&c, UINT64_MAX, &v) == -1);
	CHECK(tc_hex(&c, 1, &v) == -1);
	CHECK(tc_hexbytes(&c, (uint8_t *)buf, 1) == -1);
	CHECK(tc_word(&c, ' ', &w, &n) == -1);
	CHECK(tc_end(&c) == -1);
	CHECK_EQ_U64(c.off, 0);
	CHECK_STR(tc_error(&c, buf, sizeof(buf)), "byte 0: expected S ");

	/* A failure at the very end still fails the end check. */
	TC(&c, "ab");
	CHECK(tc_word(&c, ' ', &w, &n) == 0 && tc_lit(&c, " ") == -1);
	CHECK(tc_end(&c) == -1);
	CHECK_STR(tc_error(&c, buf, sizeof(buf)), "byte 2: expected  ");

	TC(&c, "E 12 34");
	CHECK(tc_lit(&c, "E ") == 0 && tc_dec(&c, 99, &v) == 0);
	CHECK(tc_lit(&c, " ") == 0 && tc_dec(&c, 9, &v) == -1);
	CHECK(tc_end(&c) == -1);
	CHECK_STR(tc_error(&c, buf, sizeof(buf)),
	    "byte 5: expected a smaller number");

	TC(&c, "12x");
	CHECK(tc_dec(&c, 99, &v) == 0 && tc_end(&c) == -1);
	CHECK_STR(tc_error(&c, buf, sizeof(buf)), "byte 2: expected the end");
}

/* Bytes past len are never read: a cursor over part of a buffer. */
static void
test_bounds(void)
{
	const char s[] = "0123456789abcdef";
	struct tcur c;
	uint64_t v;
	uint8_t b[8];
	const char *w;
	size_t n;

	tc_init(&c, s, 4);
	CHECK(tc_hex(&c, 5, &v) == -1);
	tc_init(&c, s, 4);
	CHECK(tc_hexbytes(&c, b, 3) == -1);
	tc_init(&c, s, 5);		/* half a byte short */
	CHECK(tc_hexbytes(&c, b, 3) == -1);
	tc_init(&c, s, 4);
	CHECK(tc_dec(&c, UINT64_MAX, &v) == -1);	/* "0" then digits */
	tc_init(&c, s + 1, 3);
	CHECK(tc_dec(&c, UINT64_MAX, &v) == 0 && tc_end(&c) == 0);
	CHECK_EQ_U64(v, 123);
	tc_init(&c, s, 4);
	CHECK(tc_word(&c, 'a', &w, &n) == 0 && n == 4);
	tc_init(&c, s, 4);
	CHECK(tc_lit(&c, "01234") == -1);
	CHECK_EQ_U64(c.err_off, 4);
}

static void
test_name16(void)
{
	char buf[32];
	uint64_t v;
	int w;

	CHECK(tc_name16(buf, sizeof(buf), 0xabc, ".seg") == 0);
	CHECK_STR(buf, "0000000000000abc.seg");
	CHECK(tc_name16(buf, 17, 1, "") == 0);
	CHECK_STR(buf, "0000000000000001");
	CHECK(tc_name16(buf, 16, 1, "") == -1);
	CHECK(tc_name16(buf, 20, 1, ".idx") == -1);

#define P(s)	tc_name16_parse(s, ".seg", ".open", &v, &w)
	CHECK(P("0000000000000abc.seg") == 0);
	CHECK_EQ_U64(v, 0xabc);
	CHECK_EQ_U64(w, 0);
	CHECK(P("ffffffffffffffff.open") == 0);
	CHECK_EQ_U64(v, UINT64_MAX);
	CHECK_EQ_U64(w, 1);
	v = 7;
	w = 7;
	CHECK(P("0000000000000000.seg") == -1);
	CHECK(P("0000000000000ABC.seg") == -1);
	CHECK(P("000000000000abc.seg") == -1);
	CHECK(P("0000000000000abc.se") == -1);
	CHECK(P("0000000000000abc.seg.tmp") == -1);
	CHECK(P("0000000000000abc") == -1);
	CHECK(P("") == -1);
	CHECK(P(".seg") == -1);
	CHECK_EQ_U64(v, 7);
	CHECK_EQ_U64(w, 7);
#undef P
	CHECK(tc_name16_parse("00000000000000ff", "", ".idx", &v, &w) == 0);
	CHECK(v == 0xff && w == 0);
	CHECK(tc_name16_parse("00000000000000ff.idx", "", ".idx", &v, &w) == 0);
	CHECK(v == 0xff && w == 1);
	CHECK(tc_name16_parse("00000000000000ff.", "", ".idx", &v, &w) == -1);
}

static int
memfile(const char *s, size_t len)
{
	int fd;

	if ((fd = memfd_create("tcur", 0)) == -1)
		return -1;
	if (write(fd, s, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
check_cut(const char *s, size_t len, uint64_t keep)
{
	uint64_t k = 12345;
	int fd;

	if ((fd = memfile(s, len)) == -1) {
		CHECK(!"memfd");
		return;
	}
	CHECK_EQ_I64(tc_cut_torn(fd, &k), (int64_t)(len - keep));
	CHECK_EQ_U64(k, keep);
	CHECK_EQ_I64(lseek(fd, 0, SEEK_END), (int64_t)keep);
	close(fd);
}

static void
test_cut_torn(void)
{
	static char big[3 * 8192 + 100];
	uint64_t k;

	check_cut("", 0, 0);
	check_cut("a\nb\n", 4, 4);
	check_cut("a\nbc", 4, 2);
	check_cut("abc", 3, 0);
	check_cut("\n", 1, 1);
	check_cut("\nx", 2, 1);
	/* The last newline several chunks back, and on a chunk's edge. */
	memset(big, 'x', sizeof(big));
	big[10] = '\n';
	check_cut(big, sizeof(big), 11);
	big[sizeof(big) - 8192 - 1] = '\n';
	check_cut(big, sizeof(big), sizeof(big) - 8192);
	big[sizeof(big) - 8192] = '\n';
	check_cut(big, sizeof(big), sizeof(big) - 8191);
	CHECK(tc_cut_torn(-1, &k) == -1 && errno == EBADF);
}

static const struct h_test tests[] = {
	TEST(test_hex),
	TEST(test_hexbytes),
	TEST(test_dec),
	TEST(test_digits),
	TEST(test_word_lit),
	TEST(test_sticky),
	TEST(test_bounds),
	TEST(test_name16),
	TEST(test_cut_torn),
};

RUN_TESTS("tcur", tests)
