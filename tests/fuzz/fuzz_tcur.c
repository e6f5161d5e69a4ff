/*
 * Fuzz target: the text cursor (common/tcur.c) that every reader of text
 * from outside goes through.  The input is "program|text": each program
 * byte picks a getter and its argument, run in turn over the text.  A
 * getter never consumes more than is there; what it accepts prints back
 * to exactly the bytes it consumed (tc_digits: after leading zeros); after
 * the first failure every getter fails and nothing more is consumed.
 */
#include <inttypes.h>
#include <string.h>

#include "fuzz.h"
#include "tcur.h"

static void
run(struct tcur *c, uint8_t op)
{
	char back[64];
	const char *w, *at = tc_rest(c);
	size_t before = c->off, n, k = op & 31;
	uint64_t v;
	uint8_t b[16];
	int failed = c->want != NULL, rc;

	switch (op >> 5) {
	case 0:
		rc = tc_hex(c, k, &v);
		if (rc == 0) {
			snprintf(back, sizeof(back), "%0*" PRIx64, (int)k, v);
			FUZZ_CHECK(memcmp(back, at, k) == 0);
		}
		break;
	case 1:
		rc = tc_hexbytes(c, b, k % 17);
		break;
	case 2:
		v = k == 31 ? UINT64_MAX : (uint64_t)1 << (2 * k);
		rc = tc_dec(c, v, &v);
		if (rc == 0) {
			snprintf(back, sizeof(back), "%" PRIu64, v);
			FUZZ_CHECK(strlen(back) == c->off - before);
			FUZZ_CHECK(memcmp(back, at, c->off - before) == 0);
		}
		break;
	case 3:
		v = k == 31 ? UINT64_MAX : (uint64_t)1 << (2 * k);
		rc = tc_digits(c, v, &v);
		if (rc == 0) {
			/* What printf writes, after any leading zeros. */
			snprintf(back, sizeof(back), "%" PRIu64, v);
			n = strlen(back);
			FUZZ_CHECK(n <= c->off - before);
			FUZZ_CHECK(memcmp(back, c->buf + c->off - n, n) == 0);
			for (k = 0; k < c->off - before - n; k++)
				FUZZ_CHECK(at[k] == '0');
		}
		break;
	case 4:
		rc = tc_word(c, (char)(' ' + k), &w, &n);
		if (rc == 0)
			FUZZ_CHECK(w == at && n > 0 && n == c->off - before &&
			    memchr(w, ' ' + (int)k, n) == NULL);
		break;
	case 5:
		rc = tc_lit(c, k & 1 ? " " : "S ");
		break;
	default:
		rc = tc_end(c);
		FUZZ_CHECK(rc == -1 || c->off == c->len);
		break;
	}
	FUZZ_CHECK(c->off <= c->len);
	FUZZ_CHECK(rc == 0 || c->off == before);
	FUZZ_CHECK(!failed || rc == -1);
	FUZZ_CHECK((rc == -1) == (c->want != NULL) || failed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *bar = memchr(data, '|', size);
	struct tcur c;
	char err[128];
	size_t i, nop;
	uint64_t v;
	char *text;
	int w;

	nop = bar != NULL ? (size_t)(bar - data) : 0;
	/* The text alone in its own buffer, so ASan sees a read past it. */
	text = malloc(size - nop + 1);
	FUZZ_SETUP(text != NULL);
	if (bar != NULL)
		memcpy(text, bar + 1, size - nop - 1);
	else
		memcpy(text, data, size);
	size -= bar != NULL ? nop + 1 : 0;
	tc_init(&c, text, size);
	for (i = 0; i < nop; i++)
		run(&c, data[i]);
	tc_error(&c, err, sizeof(err));
	FUZZ_CHECK(c.want == NULL || c.err_off <= c.len);

	text[size] = '\0';
	if (tc_name16_parse(text, "", ".x", &v, &w) == 0) {
		FUZZ_CHECK(v != 0 && (w == 0 || w == 1));
		FUZZ_CHECK(tc_name16(err, sizeof(err), v, w ? ".x" : "") == 0);
		FUZZ_CHECK(strcmp(err, text) == 0);
	}
	free(text);
	return 0;
}
