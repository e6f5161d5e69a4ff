/*
 * Fuzz target: the serial-gap counter (receiver/serial.c), which reads a
 * host's trail (bytes a sender chose) through libauparse, and the parser
 * of its own saved state.
 *
 * Input: one byte of options, then the rest.
 *   bit 0 clear: the rest is a trail.  It is fed in chunks cut where a
 *     generator seeded from the input says, saved and restored midway,
 *     and fed on from the saved position.  The counts must add up (every
 *     line is a record or bad, every byte of a whole line counted once),
 *     gaps must be runs of serials that make sense, and a state read back
 *     must save to the same text.
 *   bit 0 set: the rest is a saved state.  If serial_load accepts it,
 *     saving must give back exactly the same bytes (one spelling only).
 */
#include <string.h>

#include "fuzz.h"
#include "serial.h"

static uint64_t ngaps, nmissing;

static void
on_gap(const struct serial_gap *g, void *arg)
{
	(void)arg;
	FUZZ_CHECK(g->from <= g->to && g->to <= UINT32_MAX);
	ngaps++;
	nmissing += g->to - g->from + 1;
}

static void
check_state(const uint8_t *data, size_t len)
{
	static char out[SERIAL_STATE_MAX];
	struct serial *s;
	size_t n;

	ngaps = nmissing = 0;
	if ((s = serial_load((const char *)data, len, on_gap, NULL)) == NULL)
		return;
	FUZZ_CHECK(serial_save(s, out, sizeof(out), &n) == 0);
	FUZZ_CHECK(n == len && memcmp(out, data, len) == 0);
	FUZZ_CHECK(ngaps == 0);
	serial_free(s);
}

/* Feed data[off..len) in chunks; 0 or -1 (the counter failed). */
static int
feed(struct serial *s, const uint8_t *data, size_t off, size_t len,
    uint32_t *seed)
{
	size_t n;

	for (; off < len; off += n) {
		n = 1 + fuzz_rand(seed) % 4096;
		if (n > len - off)
			n = len - off;
		if (serial_feed(s, data + off, n) == -1)
			return -1;
	}
	return 0;
}

static void
check_trail(const uint8_t *data, size_t len, uint32_t seed)
{
	static char st1[SERIAL_STATE_MAX], st2[SERIAL_STATE_MAX];
	struct serial_stats st;
	struct serial_pos pos;
	struct serial *s, *r;
	size_t cut = len ? seed % (len + 1) : 0, n1, n2, whole;
	const uint8_t *nl;

	ngaps = nmissing = 0;
	FUZZ_SETUP((s = serial_new(on_gap, NULL)) != NULL);
	if (feed(s, data, 0, cut, &seed) == -1) {
		serial_free(s);
		return;
	}
	FUZZ_CHECK(serial_save(s, st1, sizeof(st1), &n1) == 0);
	serial_get_pos(s, &pos);
	FUZZ_CHECK(pos.off <= cut && pos.off + pos.buffered <= cut);
	serial_free(s);
	FUZZ_CHECK((r = serial_load(st1, n1, on_gap, NULL)) != NULL);
	FUZZ_CHECK(serial_save(r, st2, sizeof(st2), &n2) == 0);
	FUZZ_CHECK(n1 == n2 && memcmp(st1, st2, n1) == 0);
	if (feed(r, data, pos.off, len, &seed) == 0) {
		FUZZ_CHECK(serial_save(r, st2, sizeof(st2), &n2) == 0);
		serial_get_stats(r, &st);
		/* Every byte up to the last newline, each line once. */
		for (nl = data + len, whole = 0; nl > data; nl--)
			if (nl[-1] == '\n') {
				whole = (size_t)(nl - data);
				break;
			}
		serial_get_pos(r, &pos);
		FUZZ_CHECK(st.bytes == pos.off && pos.off <= len);
		FUZZ_CHECK(st.lines == st.bad + st.records);
		FUZZ_CHECK(st.eoe <= st.records);
		FUZZ_CHECK(st.auparsed <= st.records);
		FUZZ_CHECK(st.gaps == ngaps && st.missing == nmissing);
		FUZZ_CHECK(st.open <= SERIAL_MAX_HOLES);
		FUZZ_CHECK(pos.off >= whole);
	}
	serial_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint32_t seed = 0;
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len && i < 64; i++)
		seed = seed * 31 + data[i];
	if (data[0] & 1)
		check_state(data + 1, len - 1);
	else
		check_trail(data + 1, len - 1, seed);
	return 0;
}
