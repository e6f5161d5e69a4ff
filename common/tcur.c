/*
 * The bounded text cursor (tcur.h), the numbered-file name format, and
 * cutting a torn last line of a text file.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tcur.h"

#define CUT_CHUNK	8192

void
tc_init(struct tcur *c, const void *buf, size_t len)
{
	c->buf = buf;
	c->len = len;
	c->off = 0;
	c->want = NULL;
	c->err_off = 0;
}

/* Every getter returns at once after a failure: this one sticks. */
static int
fail_errno(struct tcur *c, size_t at, const char *want, int err)
{
	c->want = want;
	c->err_off = at;
	errno = err;
	return -1;
}

static int
fail(struct tcur *c, size_t at, const char *want)
{
	return fail_errno(c, at, want, EINVAL);
}

static int
hexdigit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

int
tc_hex(struct tcur *c, size_t ndig, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;
	int d;

	if (c->want != NULL)
		return -1;
	if (ndig == 0 || ndig > 16)
		return fail(c, c->off, "a hex number of 1 to 16 digits");
	if (c->len - c->off < ndig)
		return fail(c, c->len, "more hex digits");
	for (i = 0; i < ndig; i++) {
		if ((d = hexdigit(c->buf[c->off + i])) == -1)
			return fail(c, c->off + i, "a lower-case hex digit");
		v = (v << 4) | (uint64_t)d;
	}
	c->off += ndig;
	*out = v;
	return 0;
}

int
tc_hexbytes(struct tcur *c, uint8_t *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (c->want != NULL)
		return -1;
	if ((c->len - c->off) / 2 < n)
		return fail(c, c->len, "more hex digits");
	for (i = 0; i < n; i++) {
		hi = hexdigit(c->buf[c->off + 2 * i]);
		lo = hexdigit(c->buf[c->off + 2 * i + 1]);
		if (hi == -1 || lo == -1)
			return fail(c, c->off + 2 * i + (hi != -1),
			    "a lower-case hex digit");
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	c->off += 2 * n;
	return 0;
}

static int
is_digit(const struct tcur *c, size_t p)
{
	return p < c->len && c->buf[p] >= '0' && c->buf[p] <= '9';
}

static int
dec(struct tcur *c, uint64_t max, int zeros, uint64_t *out)
{
	size_t p = c->off;
	uint64_t v = 0, d;

	if (c->want != NULL)
		return -1;
	if (!is_digit(c, p))
		return fail(c, p, "a decimal number");
	if (!zeros && c->buf[p] == '0' && is_digit(c, p + 1))
		return fail(c, p, "a number without leading zeros");
	for (; is_digit(c, p); p++) {
		d = (uint64_t)(c->buf[p] - '0');
		if (d > max || v > (max - d) / 10)
			return fail_errno(c, c->off, "a smaller number",
			    ERANGE);
		v = v * 10 + d;
	}
	c->off = p;
	*out = v;
	return 0;
}

int
tc_dec(struct tcur *c, uint64_t max, uint64_t *out)
{
	return dec(c, max, 0, out);
}

int
tc_digits(struct tcur *c, uint64_t max, uint64_t *out)
{
	return dec(c, max, 1, out);
}

int
tc_word(struct tcur *c, char sep, const char **w, size_t *wlen)
{
	const char *s, *e;

	if (c->want != NULL)
		return -1;
	s = c->buf + c->off;
	if ((e = memchr(s, sep, c->len - c->off)) == NULL)
		e = c->buf + c->len;
	if (e == s)
		return fail(c, c->off, "a word");
	*w = s;
	*wlen = (size_t)(e - s);
	c->off += *wlen;
	return 0;
}

int
tc_lit(struct tcur *c, const char *lit)
{
	size_t n = strlen(lit), i;

	if (c->want != NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (c->off + i == c->len || c->buf[c->off + i] != lit[i])
			return fail(c, c->off + i, lit);
	c->off += n;
	return 0;
}

const char *
tc_rest(const struct tcur *c)
{
	return c->buf + c->off;
}

size_t
tc_left(const struct tcur *c)
{
	return c->len - c->off;
}

int
tc_end(struct tcur *c)
{
	if (c->want != NULL)
		return -1;
	if (c->off != c->len)
		return fail(c, c->off, "the end");
	return 0;
}

const char *
tc_error(const struct tcur *c, char *buf, size_t len)
{
	if (c->want == NULL)
		snprintf(buf, len, "no error");
	else
		snprintf(buf, len, "byte %zu: expected %s", c->err_off,
		    c->want);
	return buf;
}

int
tc_name16(char *buf, size_t len, uint64_t num, const char *suffix)
{
	int n;

	n = snprintf(buf, len, "%016" PRIx64 "%s", num, suffix);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int
tc_name16_parse(const char *name, const char *suffix0, const char *suffix1,
    uint64_t *num, int *which)
{
	struct tcur c;
	const char *rest;
	uint64_t v;
	int w;

	tc_init(&c, name, strlen(name));
	if (tc_hex(&c, TC_NAME16_LEN, &v) == -1 || v == 0)
		return -1;
	rest = tc_rest(&c);
	if (strcmp(rest, suffix0) == 0)
		w = 0;
	else if (strcmp(rest, suffix1) == 0)
		w = 1;
	else
		return -1;
	*num = v;
	*which = w;
	return 0;
}

int64_t
tc_cut_torn(int fd, uint64_t *keep)
{
	char buf[CUT_CHUNK], *nl;
	struct stat st;
	off_t end, pos;
	ssize_t r;
	size_t n;

	if (fstat(fd, &st) == -1)
		return -1;
	end = pos = st.st_size;
	while (pos > 0) {
		n = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
		pos -= (off_t)n;
		if ((r = pread(fd, buf, n, pos)) != (ssize_t)n) {
			if (r >= 0)
				errno = EIO;
			return -1;
		}
		if ((nl = memrchr(buf, '\n', n)) != NULL) {
			pos += nl - buf + 1;
			break;
		}
	}
	if (pos != end && (ftruncate(fd, pos) == -1 || fdatasync(fd) == -1))
		return -1;
	*keep = (uint64_t)pos;
	return (int64_t)(end - pos);
}
