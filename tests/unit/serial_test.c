/*
 * The serial-gap counter and its reader, on the captured records of
 * tests/data: streams with serials removed, records interleaved, a reboot,
 * an auditd restart, chunks cut at every byte, save and restore midway,
 * lines that are not records, the state parser, and a real trail read
 * across rotations without a byte written to it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <time.h>
#include <unistd.h>

#include "auditdistd.h"
#include "harness.h"
#include "log.h"
#include "serial.h"

#define RAW		"tests/data/sample-raw.log"
#define ENRICHED	"tests/data/sample-enriched.log"
#define RAW_FIRST	45892		/* its kernel serials, no hole */
#define RAW_LAST	46136
#define ENR_FIRST	44989
#define ENR_LAST	45888

struct lines {
	char	**l;
	size_t	 n, cap;
};

static char gaps[8192];		/* what the callback was told */

static void
on_gap(const struct serial_gap *g, void *arg)
{
	size_t n = strlen(gaps);

	(void)arg;
	snprintf(gaps + n, sizeof(gaps) - n, "%" PRIu64 ":%" PRIu64 "-%"
	    PRIu64 " ", g->boot, g->from, g->to);
}

static void
add(struct lines *ls, const char *line)
{
	if (ls->n == ls->cap) {
		ls->cap = ls->cap ? ls->cap * 2 : 1024;
		if ((ls->l = reallocarray(ls->l, ls->cap, sizeof(*ls->l))) ==
		    NULL)
			abort();
	}
	if ((ls->l[ls->n++] = strdup(line)) == NULL)
		abort();
}

static void
free_lines(struct lines *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		free(ls->l[i]);
	free(ls->l);
	memset(ls, 0, sizeof(*ls));
}

static void
load(struct lines *ls, const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		abort();
	}
	while (getline(&line, &cap, f) > 0)
		add(ls, line);
	free(line);
	fclose(f);
}

static uint64_t
serial_of(const char *line)
{
	const char *p = strstr(line, "msg=audit(");

	p = p != NULL ? strchr(p, ':') : NULL;
	return p != NULL ? strtoull(p + 1, NULL, 10) : 0;
}

/* Lines of ls whose serial is not in from..to, shifted by add. */
static void
copy(struct lines *out, const struct lines *ls, uint64_t from, uint64_t to,
    int64_t shift)
{
	char buf[16384], *p;
	size_t i;

	for (i = 0; i < ls->n; i++) {
		uint64_t n = serial_of(ls->l[i]);

		if (n >= from && n <= to)
			continue;
		if (shift == 0 || strstr(ls->l[i], "type=DAEMON_") != NULL) {
			add(out, ls->l[i]);
			continue;
		}
		p = strstr(ls->l[i], "msg=audit(");
		p = strchr(p, ':');
		snprintf(buf, sizeof(buf), "%.*s:%" PRIu64 "%s",
		    (int)(p - ls->l[i]), ls->l[i], (uint64_t)((int64_t)n +
		    shift), strchr(p, ')'));
		add(out, buf);
	}
}

/* The lines of ls but auditd's own, added to out. */
static void
no_daemon(struct lines *out, const struct lines *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		if (strstr(ls->l[i], "type=DAEMON_") == NULL)
			add(out, ls->l[i]);
}

/*
 * Single-record events that push the window past everything before, from
 * the same auditd (a DAEMON_END at the end goes).
 */
static void
tail(struct lines *ls, uint64_t first, unsigned count)
{
	char buf[256];
	unsigned i;

	if (ls->n > 0 && strncmp(ls->l[ls->n - 1], "type=DAEMON_END", 15) ==
	    0)
		free(ls->l[--ls->n]);
	for (i = 0; i < count; i++) {
		snprintf(buf, sizeof(buf), "type=USER msg=audit(%u.%03u:%"
		    PRIu64 "): pid=1 uid=0 auid=0 ses=1 msg='op=tail'\n",
		    1795316000 + i / 10, (i % 10) * 100, first + i);
		add(ls, buf);
	}
}

static char *
join(const struct lines *ls, size_t *len)
{
	size_t i, n = 0, k;
	char *s;

	for (i = 0; i < ls->n; i++)
		n += strlen(ls->l[i]);
	if ((s = malloc(n + 1)) == NULL)
		abort();
	for (i = 0, n = 0; i < ls->n; i++) {
		k = strlen(ls->l[i]);
		memcpy(s + n, ls->l[i], k);
		n += k;
	}
	s[n] = '\0';
	*len = n;
	return s;
}

/* Feed text in chunks of step bytes (0: at once); gaps in gaps[]. */
static struct serial *
run(const char *text, size_t len, size_t step, struct serial_stats *st)
{
	struct serial *s;
	char state[SERIAL_STATE_MAX];
	size_t off, n, slen;

	gaps[0] = '\0';
	if ((s = serial_new(on_gap, NULL)) == NULL)
		abort();
	for (off = 0; off < len; off += n) {
		n = step == 0 || len - off < step ? len - off : step;
		if (serial_feed(s, text + off, n) == -1)
			abort();
	}
	if (serial_save(s, state, sizeof(state), &slen) == -1)
		abort();
	if (st != NULL)
		serial_get_stats(s, st);
	return s;
}

/* The stream's gaps and stats, fed whole. */
static void
expect(const struct lines *ls, const char *want, struct serial_stats *st)
{
	char *text;
	size_t len;

	text = join(ls, &len);
	serial_free(run(text, len, 0, st));
	CHECK_STR(gaps, want);
	free(text);
}

static void
t_samples_whole(void)
{
	struct lines raw = { 0 }, enr = { 0 }, a = { 0 }, b = { 0 };
	struct serial_stats st;

	load(&raw, RAW);
	load(&enr, ENRICHED);
	copy(&a, &raw, 1, 0, 0);
	tail(&a, RAW_LAST + 1, 300);
	expect(&a, "", &st);
	/* tail() took the DAEMON_END. */
	CHECK(st.records == raw.n - 1 + 300 && st.bad == 0);
	CHECK(st.lines == st.records);
	CHECK(st.in_events + st.eoe == st.records && st.eoe == 231);
	CHECK(st.daemon == 1 && st.restarts == 1 && st.boots == 0);
	CHECK(st.stale == 0 && st.gaps == 0 && st.missing == 0);
	free_lines(&a);
	copy(&a, &enr, 1, 0, 0);
	tail(&a, ENR_LAST + 1, 300);
	expect(&a, "", &st);
	CHECK(st.records == enr.n - 1 + 300 && st.bad == 0 && st.gaps == 0);
	CHECK(st.in_events + st.eoe == st.records && st.eoe == 843);
	CHECK(st.daemon == 1 && st.stale == 0);
	/* With name_format = hostname: the same. */
	free_lines(&a);
	for (size_t i = 0; i < enr.n; i++) {
		char buf[16384];

		snprintf(buf, sizeof(buf), "node=vm.example %s", enr.l[i]);
		add(&a, buf);
	}
	copy(&b, &a, 45000, 45000, 0);
	tail(&b, ENR_LAST + 1, 300);
	expect(&b, "0:45000-45000 ", &st);
	CHECK(st.bad == 0 && st.eoe == 842 && st.records == b.n);
	free_lines(&a);
	free_lines(&b);
	free_lines(&raw);
	free_lines(&enr);
}

static void
t_removed(void)
{
	struct lines raw = { 0 }, a = { 0 }, b = { 0 }, c = { 0 };
	struct serial_stats st;
	char want[128];

	load(&raw, RAW);
	/* One serial, a run of three, and the last three before the tail. */
	copy(&a, &raw, 45900, 45900, 0);
	copy(&b, &a, 46000, 46002, 0);
	copy(&c, &b, RAW_LAST - 2, RAW_LAST, 0);
	tail(&c, RAW_LAST + 1, 300);
	snprintf(want, sizeof(want), "0:45900-45900 0:46000-46002 0:%d-%d ",
	    RAW_LAST - 2, RAW_LAST);
	expect(&c, want, &st);
	CHECK(st.gaps == 3 && st.missing == 7);
	/*
	 * Without the tail no hole is 256 serials behind the newest: all
	 * three are still open, none is a gap yet.
	 */
	free_lines(&a);
	copy(&a, &b, 46100, 46100, 0);
	expect(&a, "", &st);
	CHECK(st.gaps == 0 && st.open == 3);
	free_lines(&a);
	free_lines(&b);
	free_lines(&c);
	free_lines(&raw);
}

/* Move the records of serial n to after those of serial after. */
static void
move_event(struct lines *ls, uint64_t n, uint64_t after)
{
	struct lines out = { 0 }, moved = { 0 };
	size_t i, j;

	for (i = 0; i < ls->n; i++)
		if (serial_of(ls->l[i]) == n)
			add(&moved, ls->l[i]);
	for (i = 0; i < ls->n; i++) {
		if (serial_of(ls->l[i]) == n)
			continue;
		add(&out, ls->l[i]);
		if (serial_of(ls->l[i]) == after &&
		    (i + 1 == ls->n || serial_of(ls->l[i + 1]) != after))
			for (j = 0; j < moved.n; j++)
				add(&out, moved.l[j]);
	}
	free_lines(&moved);
	free_lines(ls);
	*ls = out;
}

/* The records of serials n1 and n2 alternate, where n1's were. */
static void
alternate(struct lines *ls, uint64_t n1, uint64_t n2)
{
	struct lines out = { 0 }, x = { 0 }, y = { 0 };
	size_t i, j, done = 0;

	for (i = 0; i < ls->n; i++) {
		if (serial_of(ls->l[i]) == n1)
			add(&x, ls->l[i]);
		else if (serial_of(ls->l[i]) == n2)
			add(&y, ls->l[i]);
	}
	for (i = 0; i < ls->n; i++) {
		uint64_t n = serial_of(ls->l[i]);

		if (n != n1 && n != n2)
			add(&out, ls->l[i]);
		else if (!done) {
			for (j = 0; j < x.n || j < y.n; j++) {
				if (j < x.n)
					add(&out, x.l[j]);
				if (j < y.n)
					add(&out, y.l[j]);
			}
			done = 1;
		}
	}
	free_lines(&x);
	free_lines(&y);
	free_lines(ls);
	*ls = out;
}

static void
t_interleaved(void)
{
	struct lines raw = { 0 }, a = { 0 }, b = { 0 };
	struct serial_stats st;

	load(&raw, RAW);
	copy(&a, &raw, 1, 0, 0);
	/* Late by a few events, and by 200 serials: still in the window. */
	move_event(&a, 45950, 45953);
	move_event(&a, 45960, 46100);
	tail(&a, RAW_LAST + 1, 300);
	expect(&a, "", &st);
	CHECK(st.gaps == 0 && st.stale == 0);
	/* Two events' records alternating, line by line. */
	copy(&b, &raw, 1, 0, 0);
	alternate(&b, 45894, 45895);
	tail(&b, RAW_LAST + 1, 300);
	expect(&b, "", &st);
	CHECK_EQ_U64(st.gaps, 0);
	/* Past the window (300 serials late) the serial is a gap, then late. */
	free_lines(&a);
	copy(&a, &raw, 1, 0, 0);
	tail(&a, RAW_LAST + 1, 600);
	move_event(&a, 45960, RAW_LAST + 400);
	expect(&a, "0:45960-45960 ", &st);
	CHECK(st.stale == 1 && st.boots == 0);
	free_lines(&a);
	free_lines(&b);
	free_lines(&raw);
}

/*
 * On a busy host 400 events go by in 200 ms: an event that late is past
 * the window in serials but not in time.  Not a gap.
 */
static void
t_late_busy(void)
{
	struct lines a = { 0 };
	struct serial_stats st;
	char buf[256];
	unsigned i;

	for (i = 0; i <= 400; i++) {
		snprintf(buf, sizeof(buf), "type=USER msg=audit(1795316000.%03u:"
		    "%u): pid=1 uid=0 auid=0 ses=1 msg='op=x'\n", i / 2, 999 +
		    (i == 0 ? 0 : i + 1));
		add(&a, buf);
	}
	add(&a, "type=SYSCALL msg=audit(1795316000.000:1000): arch=c000003e "
	    "syscall=59 success=yes exit=0 items=1 pid=1 auid=0 ses=1\n");
	add(&a, "type=CWD msg=audit(1795316000.000:1000): cwd=\"/\"\n");
	add(&a, "type=EOE msg=audit(1795316000.000:1000):\n");
	tail(&a, 1401, 100);
	expect(&a, "", &st);
	CHECK(st.gaps == 0 && st.events == 502 && st.stale == 0);
	free_lines(&a);
}

static void
t_reboot(void)
{
	struct lines raw = { 0 }, enr = { 0 }, a = { 0 }, b = { 0 };
	struct serial_stats st;

	load(&raw, RAW);
	load(&enr, ENRICHED);
	/* Two captures, the later one first: serials go back 1147. */
	copy(&a, &raw, 46000, 46000, 0);
	copy(&a, &enr, 45000, 45001, 0);
	tail(&a, ENR_LAST + 1, 300);
	expect(&a, "0:46000-46000 1:45000-45001 ", &st);
	CHECK(st.boots == 1 && st.gaps == 2);
	/* Serials restart low after auditd stopped and started. */
	free_lines(&a);
	copy(&a, &raw, 1, 0, 0);
	copy(&a, &raw, 45900, 45900, 100 - RAW_FIRST);
	tail(&a, RAW_LAST - RAW_FIRST + 101, 300);
	expect(&a, "1:108-108 ", &st);
	CHECK(st.boots == 1 && st.gaps == 1 && st.missing == 1);
	/*
	 * Without auditd's records: two events in a row far below make a
	 * boot (one alone is just late, see t_interleaved).
	 */
	free_lines(&a);
	copy(&b, &raw, 1, 0, 0);
	copy(&b, &raw, 45900, 45900, 100 - RAW_FIRST);
	no_daemon(&a, &b);
	tail(&a, RAW_LAST - RAW_FIRST + 101, 300);
	expect(&a, "1:108-108 ", &st);
	CHECK(st.boots == 1 && st.stale == 0 && st.restarts == 0);
	free_lines(&b);
	free_lines(&a);
	free_lines(&raw);
	free_lines(&enr);
}

static void
t_restart(void)
{
	struct lines raw = { 0 }, enr = { 0 }, a = { 0 }, b = { 0 };
	struct serial_stats st;

	load(&raw, RAW);
	load(&enr, ENRICHED);
	/*
	 * The two captures in their real order: auditd stopped (DAEMON_END)
	 * and started again (DAEMON_START); serials 45889-45891 went by
	 * meanwhile.  Not a gap; the same jump without auditd's records is.
	 */
	copy(&a, &enr, 1, 0, 0);
	copy(&a, &raw, 1, 0, 0);
	tail(&a, RAW_LAST + 1, 300);
	expect(&a, "", &st);
	CHECK(st.restarts == 3 && st.boots == 0 && st.gaps == 0);
	no_daemon(&b, &a);
	expect(&b, "0:45889-45891 ", &st);
	/* A restart with serials going on and a hole later: that one counts. */
	free_lines(&a);
	copy(&a, &enr, 1, 0, 0);
	copy(&a, &raw, 46050, 46050, 0);
	tail(&a, RAW_LAST + 1, 300);
	expect(&a, "0:46050-46050 ", &st);
	free_lines(&a);
	free_lines(&b);
	free_lines(&raw);
	free_lines(&enr);
}

/*
 * ls with milliseconds in four digits: the same stamps to libauparse, but
 * not as the kernel writes them, so libauparse takes every record.
 */
static void
four_digit_ms(struct lines *out, const struct lines *ls)
{
	char buf[16384];
	const char *dot;
	size_t i;

	for (i = 0; i < ls->n; i++) {
		dot = strchr(strstr(ls->l[i], "msg=audit("), '.');
		snprintf(buf, sizeof(buf), "%.*s0%s", (int)(dot + 1 - ls->l[i]),
		    ls->l[i], dot + 1);
		add(out, buf);
	}
}

/*
 * A stream counted by hand where it is in order, and the same stream all
 * through libauparse: the same gaps and counts.  The order breaks at
 * auditd's records, a reboot, events moved or interleaved.
 */
static void
same_both_ways(const struct lines *ls, const char *want)
{
	struct lines a = { 0 };
	struct serial_stats h, au;
	char got[sizeof(gaps)];

	four_digit_ms(&a, ls);
	expect(ls, want, &h);
	snprintf(got, sizeof(got), "%s", gaps);
	expect(&a, want, &au);
	if (strcmp(got, gaps) != 0)
		fprintf(stderr, "by hand: %s\nlibauparse: %s\n", got, gaps);
	CHECK(au.auparsed == au.records && h.records == au.records);
	CHECK(h.auparsed * 3 < h.records);
	CHECK(h.in_events == au.in_events && h.eoe == au.eoe);
	CHECK(h.daemon == au.daemon && h.restarts == au.restarts);
	CHECK(h.boots == au.boots && h.stale == au.stale);
	CHECK(h.gaps == au.gaps && h.missing == au.missing);
	CHECK(h.open == au.open && h.forced == au.forced);
	free_lines(&a);
}

static void
t_by_hand(void)
{
	struct lines raw = { 0 }, enr = { 0 }, a = { 0 }, b = { 0 };
	struct serial_stats st;
	char *text;
	size_t len;

	load(&raw, RAW);
	load(&enr, ENRICHED);
	copy(&a, &enr, 45100, 45102, 0);
	tail(&a, ENR_LAST + 1, 300);
	same_both_ways(&a, "0:45100-45102 ");
	/* Two boots, auditd restarted, events late and interleaved. */
	free_lines(&a);
	copy(&a, &raw, 46000, 46000, 0);
	copy(&a, &enr, 45000, 45001, 0);
	alternate(&a, 45300, 45301);
	move_event(&a, 45400, 45410);
	move_event(&a, 45500, 45780);
	tail(&a, ENR_LAST + 1, 300);
	same_both_ways(&a, "0:46000-46000 1:45000-45001 ");
	/* Without auditd's records: a restart's jump is a gap either way. */
	free_lines(&a);
	copy(&b, &enr, 1, 0, 0);
	copy(&b, &raw, 1, 0, 0);
	no_daemon(&a, &b);
	tail(&a, RAW_LAST + 1, 300);
	same_both_ways(&a, "0:45889-45891 ");
	/* In order, libauparse takes only what follows auditd's record. */
	free_lines(&a);
	copy(&a, &enr, 1, 0, 0);
	text = join(&a, &len);
	serial_free(run(text, len, 0, &st));
	CHECK(st.auparsed > 0 && st.auparsed < 500);
	CHECK(st.in_events + st.eoe == st.records);
	free(text);
	free_lines(&a);
	free_lines(&b);
	free_lines(&raw);
	free_lines(&enr);
}

/* The state after feeding text cut at cut (len + 1: byte by byte). */
static size_t
state_after(const char *text, size_t len, size_t cut, char *state)
{
	struct serial *s;
	size_t i, slen = 0;

	if ((s = serial_new(on_gap, NULL)) == NULL)
		abort();
	if (cut > len) {
		for (i = 0; i < len; i++)
			CHECK(serial_feed(s, text + i, 1) == 0);
	} else {
		CHECK(serial_feed(s, text, cut) == 0);
		CHECK(serial_feed(s, text + cut, len - cut) == 0);
	}
	CHECK(serial_save(s, state, SERIAL_STATE_MAX, &slen) == 0);
	serial_free(s);
	return slen;
}

/*
 * A short stream with a hole, cut into two chunks at every byte, then fed
 * byte by byte: the same state each time (position, holes, every count).
 */
static void
t_chunks(void)
{
	static char want[SERIAL_STATE_MAX], state[SERIAL_STATE_MAX];
	struct lines raw = { 0 }, a = { 0 };
	size_t len, cut, wlen, slen;
	char *text;

	gaps[0] = '\0';
	load(&raw, RAW);
	copy(&a, &raw, 45899, 45899, 0);
	while (a.n > 60)
		free(a.l[--a.n]);
	text = join(&a, &len);
	wlen = state_after(text, len, len, want);
	CHECK(strstr(want, "holes 1\n45900 ") != NULL);
	CHECK(strstr(want, " records=60 ") != NULL);
	for (cut = 0; cut <= len + 1; cut++) {
		slen = state_after(text, len, cut, state);
		if (slen != wlen || memcmp(state, want, wlen) != 0) {
			fprintf(stderr, "cut at %zu:\n%.*s", cut, (int)slen,
			    state);
			CHECK(0);
			break;
		}
	}
	CHECK_STR(gaps, "");
	free(text);
	free_lines(&a);
	free_lines(&raw);
}

/* A stream with gaps and an interleaving, for the tests below. */
static char *
gappy(size_t *len)
{
	struct lines raw = { 0 }, a = { 0 }, b = { 0 };
	char *text;

	load(&raw, RAW);
	copy(&a, &raw, 45900, 45900, 0);
	copy(&b, &a, 46000, 46002, 0);
	alternate(&b, 46010, 46011);
	move_event(&b, 46020, 46030);
	tail(&b, RAW_LAST + 1, 300);
	text = join(&b, len);
	free_lines(&a);
	free_lines(&b);
	free_lines(&raw);
	return text;
}

static void
t_save_restore(void)
{
	struct serial_stats whole, st;
	struct serial_pos pos;
	struct serial *s, *r;
	char want[8192], state[SERIAL_STATE_MAX], again[SERIAL_STATE_MAX];
	char *text;
	size_t len, cut, slen, alen;

	text = gappy(&len);
	serial_free(run(text, len, 0, &whole));
	snprintf(want, sizeof(want), "%s", gaps);
	CHECK_STR(want, "0:45900-45900 0:46000-46002 ");
	for (cut = 1; cut < len; cut += 4099) {
		gaps[0] = '\0';
		if ((s = serial_new(on_gap, NULL)) == NULL)
			abort();
		CHECK(serial_feed(s, text, cut) == 0);
		CHECK(serial_save(s, state, sizeof(state), &slen) == 0);
		serial_get_pos(s, &pos);
		serial_free(s);
		CHECK(pos.off <= cut && pos.off + pos.buffered == cut);
		REQUIRE((r = serial_load(state, slen, on_gap, NULL)) != NULL);
		/* Loading and saving again gives the same text. */
		CHECK(serial_save(r, again, sizeof(again), &alen) == 0);
		CHECK(alen == slen && memcmp(again, state, slen) == 0);
		CHECK(serial_feed(r, text + pos.off, len - pos.off) == 0);
		CHECK(serial_save(r, state, sizeof(state), &slen) == 0);
		serial_get_stats(r, &st);
		serial_free(r);
		if (strcmp(gaps, want) != 0 || st.records != whole.records ||
		    st.gaps != whole.gaps || st.missing != whole.missing ||
		    st.bytes != len || st.lines != whole.lines) {
			fprintf(stderr, "restored at %zu: %s\n", cut, gaps);
			CHECK(0);
		}
	}
	free(text);
}

static size_t
feed_str(struct serial *s, const char *str)
{
	CHECK(serial_feed(s, str, strlen(str)) == 0);
	return strlen(str);
}

static void
t_bad_lines(void)
{
	static char big[200 * 1024];
	struct serial_stats st;
	struct serial *s;
	char state[SERIAL_STATE_MAX];
	size_t slen, i, total = 0;
	const char *bad[] = {
		"garbage\n",
		"type=SYSCALL msg=audit(1.x:3): a\n",
		"type=SYSCALL msg=audit(1.000:): a\n",
		"type= msg=audit(1.000:5): a\n",
		"node= type=USER msg=audit(1.000:5): a\n",
		"node=vm\n",
		"type=USER msg=audit(1.000:99999999999999999999999): a\n",
		"\n",
		/* What libauparse 3.0.9 leaks memory on. */
		"type=CWD msg=audit(1.000:5): cwd=\"/a\" cwd=\"/b\"\n",
		"node=v\x1dm type=USER msg=audit(1.000:5): a\n",
		"type=\x1d" "CWD msg=audit(1.000:5): a\n",
		"type=USER msg=audit(1.000:5): a\x1d b\x1d c\n",
		"type=USER msg=audit(1.000:5): a msg=audit(1.000:6): b\n",
	};

	gaps[0] = '\0';
	REQUIRE((s = serial_new(on_gap, NULL)) != NULL);
	total += feed_str(s, "node=vm type=USER msg=audit(1.000:10): a\n");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		total += feed_str(s, bad[i]);
	CHECK(serial_feed(s, "type=USER msg=audit(1.000:11): a\0b\n", 35) ==
	    0);
	total += 35;
	/* A line too long, fed whole, then in pieces. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "type=USER msg=audit(1.000:12): ", 31);
	big[sizeof(big) - 1] = '\n';
	CHECK(serial_feed(s, big, sizeof(big)) == 0);
	for (i = 0; i < sizeof(big); i += 1000)
		CHECK(serial_feed(s, big + i, sizeof(big) - i < 1000 ?
		    sizeof(big) - i : 1000) == 0);
	total += 2 * sizeof(big);
	/* A serial above 32 bits, an unknown type: records, no serial. */
	total += feed_str(s, "type=USER msg=audit(1.000:4294967296): a\n");
	total += feed_str(s, "type=UNKNOWN[1999] msg=audit(1.000:13): a\n");
	total += feed_str(s, "type=USER msg=audit(1.000:14): a\x1dUID=\"root\"\n");
	CHECK(serial_save(s, state, sizeof(state), &slen) == 0);
	serial_get_stats(s, &st);
	CHECK(st.bad == sizeof(bad) / sizeof(bad[0]) + 1 + 2);
	CHECK_EQ_U64(st.records, 4);
	CHECK(st.lines == st.bad + st.records);
	CHECK_EQ_U64(st.bytes, total);
	CHECK_EQ_U64(st.gaps, 0);
	serial_free(s);
}

static void
t_state_parser(void)
{
	const char *good =
	    "serial 1\npos 3 100\nboot 1 0 50 7000 49 0\nstats bytes=1 lines=2 "
	    "bad=0 records=2 eoe=0 events=2 in_events=2 daemon=0 stale=0 boots=0 "
	    "restarts=0 gaps=0 missing=0 forced=0 skipped=0 cutback=0\n"
	    "holes 2\n52 60 7000\n62 62 7100\nend\n";
	const char *bad[] = {
		"", "serial 2\n", "serial 1\npos 03 100\n",
		"serial 1\npos 3 100\nboot 2 0 50 7000 49 0\n",
		"serial 1\npos 3 100\nboot 0 0 50 7000 49 0\n",	/* not started */
		"serial 1\npos 3 100\nboot 1 0 50 99999999999999999999 0 0\n",
		"serial 1\npos 3 100\nboot 1 0 50 7000 4294967296 0\n",
	};
	const char *holes_bad[] = {
		"holes 1\n51 60 7000\nend\n",		/* touches the floor */
		"holes 2\n52 60 7000\n61 62 7000\nend\n",	/* touch */
		"holes 1\n60 52 7000\nend\n",		/* backwards */
		"holes 2\n52 60 7000\nend\n",		/* one missing */
		"holes 1\n52 60 7000\nend\nx",		/* trailing */
		"holes 1\n52 60 7000\n",		/* no end */
		"holes 1\n52 4294967296 7000\nend\n",
		"holes 1025\nend\n",
		"holes 1\n52  60 7000\nend\n",
	};
	char buf[SERIAL_STATE_MAX], out[SERIAL_STATE_MAX];
	const char *h = strstr(good, "holes");
	struct serial_stats st;
	struct serial_pos pos;
	struct serial *s;
	size_t i, n;

	REQUIRE((s = serial_load(good, strlen(good), NULL, NULL)) != NULL);
	serial_get_pos(s, &pos);
	serial_get_stats(s, &st);
	CHECK(pos.file == 3 && pos.off == 100 && st.open == 2);
	CHECK(serial_save(s, out, sizeof(out), &n) == 0);
	CHECK(n == strlen(good) && memcmp(out, good, n) == 0);
	CHECK(serial_save(s, out, 20, &n) == -1 && errno == ENOSPC);
	serial_free(s);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(serial_load(bad[i], strlen(bad[i]), NULL, NULL) == NULL);
	for (i = 0; i < sizeof(holes_bad) / sizeof(holes_bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%.*s%s", (int)(h - good), good,
		    holes_bad[i]);
		s = serial_load(buf, strlen(buf), NULL, NULL);
		if (s != NULL)
			fprintf(stderr, "accepted: %s\n", holes_bad[i]);
		CHECK(s == NULL && errno == EINVAL);
	}
	/* Every prefix of the good text is refused. */
	for (i = 0; i < strlen(good); i++)
		CHECK(serial_load(good, i, NULL, NULL) == NULL);
}

/* A real trail (trail.c, store.c) in a temporary receiver directory. */
static char base[64], hdir[128];
static int basefd = -1, hostfd = -1;
static const uint8_t spool_id[WIRE_ID_LEN] = { 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7 };

static struct trail *
trail_setup(void)
{
	struct trail_limits lim;
	struct trail *t;
	char err[512];

	snprintf(base, sizeof(base), "/tmp/serial_test.XXXXXX");
	if (mkdtemp(base) == NULL || chmod(base, 0750) == -1 ||
	    (basefd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		abort();
	snprintf(hdir, sizeof(hdir), "%s/web1", base);
	memset(&lim, 0, sizeof(lim));
	lim.size = 16384;		/* many files */
	if ((hostfd = store_open_dir(basefd, base, hdir, err,
	    sizeof(err))) == -1 ||
	    (t = trail_open(hostfd, "web1", &lim, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	return t;
}

static void
trail_teardown(struct trail *t)
{
	char cmd[128];

	trail_free(t);
	close(basefd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		abort();
}

/* Append text as segments of about 3000 bytes, whole lines each. */
static void
store(struct trail *t, const char *text, size_t len, uint64_t *seq)
{
	const char *p = text, *end = text + len, *q, *nl;

	while (p < end) {
		for (q = p; q < end && q - p < 3000; q = nl + 1)
			nl = memchr(q, '\n', (size_t)(end - q));
		if (trail_append(t, spool_id, ++*seq, 0, p, (size_t)(q - p)) ==
		    -1 || trail_sync(t) == -1)
			abort();
		p = q;
	}
}

/* Names, sizes and times of everything in the host directory. */
static void
snapshot(char *out, size_t cap)
{
	char cmd[256];
	FILE *f;
	size_t n;

	snprintf(cmd, sizeof(cmd), "cd '%s' && find . -printf '%%p %%s %%T@ "
	    "%%C@ %%m\\n' | sort", hdir);
	if ((f = popen(cmd, "r")) == NULL)
		abort();
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	pclose(f);
}

/* Read until nothing is new, max bytes per call. */
static uint64_t
drain(struct serial *s, uint64_t max)
{
	uint64_t n, total = 0;
	char err[256];

	do {
		if (serial_read(s, hostfd, max, &n, err, sizeof(err)) == -1) {
			fprintf(stderr, "serial_read: %s\n", err);
			CHECK(0);
			break;
		}
		total += n;
	} while (n > 0);
	return total;
}

static void
t_reader(void)
{
	static char before[1 << 16], after[1 << 16];
	char want[8192], state[SERIAL_STATE_MAX];
	struct serial_stats st;
	struct serial_pos pos;
	struct serial *s, *r;
	struct trail *t;
	uint64_t seq = 0;
	size_t len, half, slen;
	char *text;

	text = gappy(&len);
	serial_free(run(text, len, 0, NULL));
	snprintf(want, sizeof(want), "%s", gaps);
	for (half = len / 2; text[half - 1] != '\n'; half++)
		;
	t = trail_setup();
	store(t, text, half, &seq);
	gaps[0] = '\0';
	REQUIRE((s = serial_new(on_gap, NULL)) != NULL);
	snapshot(before, sizeof(before));
	CHECK(drain(s, 5000) == half);
	snapshot(after, sizeof(after));
	CHECK_STR(after, before);		/* not a byte written */
	/* Save, go on from the state after more was stored. */
	CHECK(serial_save(s, state, sizeof(state), &slen) == 0);
	serial_free(s);
	store(t, text + half, len - half, &seq);
	REQUIRE((r = serial_load(state, slen, on_gap, NULL)) != NULL);
	CHECK(drain(r, 7777) == len - half);
	CHECK(serial_save(r, state, sizeof(state), &slen) == 0);
	CHECK_STR(gaps, want);
	serial_get_stats(r, &st);
	serial_get_pos(r, &pos);
	CHECK(st.bytes == len && st.skipped == 0 && st.cutback == 0);
	CHECK(pos.file == trail_current(t)->num && pos.file > 10);
	CHECK(pos.off == trail_current(t)->size && pos.buffered == 0);
	serial_free(r);
	trail_teardown(t);
	free(text);
}

/* Files removed before they were read, and a file cut back. */
static void
t_reader_skip(void)
{
	struct serial_stats st;
	struct serial *s;
	struct trail *t;
	struct lines raw = { 0 }, a = { 0 };
	uint64_t seq = 0, n, size;
	char name[32], err[256], *text;
	size_t len, i;

	load(&raw, RAW);
	copy(&a, &raw, 1, 0, 0);
	tail(&a, RAW_LAST + 1, 300);
	text = join(&a, &len);
	t = trail_setup();
	store(t, text, len, &seq);
	REQUIRE(t->nfiles > 6);
	gaps[0] = '\0';
	REQUIRE((s = serial_new(on_gap, NULL)) != NULL);
	CHECK(serial_read(s, hostfd, 1000, &n, err, sizeof(err)) == 0 &&
	    n == 1000);
	/* Retention takes files 2 to 4 before they are read. */
	for (i = 2; i <= 4; i++) {
		store_name(name, sizeof(name), i, 0);
		CHECK(unlinkat(t->storefd, name, 0) == 0);
	}
	CHECK(drain(s, 3000) > 0);
	serial_get_stats(s, &st);
	CHECK(st.skipped == 1 && st.gaps == 0);
	CHECK_STR(gaps, "");
	/*
	 * A frame being written, seen half-way, then cut back by the writer
	 * after a failed write: the line begun goes, the next one is whole.
	 */
	size = trail_current(t)->size;
	CHECK(pwrite(t->fd, "type=USER msg=audit(17", 22, (off_t)size) == 22);
	CHECK(drain(s, 3000) == 22);
	CHECK(ftruncate(t->fd, (off_t)size) == 0);
	CHECK(drain(s, 3000) == 0);
	serial_get_stats(s, &st);
	CHECK(st.cutback == 1 && st.bad == 0);
	n = st.records;
	CHECK(trail_append(t, spool_id, ++seq, 0, "type=USER msg=audit("
	    "1795316100.000:46437): a\n", 45) == 0);
	CHECK(drain(s, 3000) == 45);
	/* The current file found shorter than what was read. */
	CHECK(ftruncate(t->fd, (off_t)(trail_current(t)->size - 100)) == 0);
	CHECK(drain(s, 3000) == 0);
	serial_get_stats(s, &st);
	CHECK(st.cutback == 2 && st.gaps == 0 && st.bad == 0);
	CHECK(st.records == n + 1);
	serial_free(s);
	trail_teardown(t);
	free(text);
	free_lines(&a);
	free_lines(&raw);
}

/*
 * MB and records a second on one core, printed, not checked: the
 * enriched capture 20 times over, each copy's serials moved on by 1000.
 */
static void
t_throughput(void)
{
	struct lines enr = { 0 }, a = { 0 };
	struct serial_stats st;
	struct timespec t0, t1;
	struct serial *s;
	char *text;
	size_t len;
	double sec;
	int i;

	load(&enr, ENRICHED);
	for (i = 0; i < 20; i++)
		copy(&a, &enr, 1, 0, i * 1000);
	text = join(&a, &len);
	REQUIRE((s = serial_new(NULL, NULL)) != NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(serial_feed(s, text, len) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	serial_get_stats(s, &st);
	CHECK(st.gaps == 0 && st.records == a.n);
	sec = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("throughput: %.1f MB/s, %.0f records/s (%zu bytes)\n",
	    (double)len / sec / 1e6, (double)st.records / sec, len);
	serial_free(s);
	free(text);
	free_lines(&a);
	free_lines(&enr);
}

static const struct h_test tests[] = {
	TEST(t_samples_whole),
	TEST(t_removed),
	TEST(t_interleaved),
	TEST(t_late_busy),
	TEST(t_reboot),
	TEST(t_restart),
	TEST(t_by_hand),
	TEST(t_chunks),
	TEST(t_save_restore),
	TEST(t_bad_lines),
	TEST(t_state_parser),
	TEST(t_reader),
	TEST(t_reader_skip),
	TEST(t_throughput),
};

int
main(void)
{
	log_init("serial_test", 1, 0);
	umask(022);
	return h_run("serial", tests, sizeof(tests) / sizeof(tests[0]));
}
