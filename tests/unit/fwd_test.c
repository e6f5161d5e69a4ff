/*
 * The forwarder's pure parts: resume decisions (docs/protocol.md,
 * "Resume"), cutting reads at line ends, believing ACKs, the window, the
 * messages to audisp-dist, and the plugin's acknowledgement bookkeeping
 * (what each host lacks, which segments may be deleted); and the spool
 * reader on a real directory.
 */
#include <sys/file.h>

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "forwarder.h"
#include "harness.h"

static const uint8_t id_a[WIRE_ID_LEN] = { 0xa1, 0xa2, 0xa3, 4, 5, 6, 7, 8,
    9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t id_b[WIRE_ID_LEN] = { 0xb1, 0xb2, 0xb3, 4, 5, 6, 7, 8,
    9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t id_zero[WIRE_ID_LEN];

/* Closed 3 (100), 4 (200), 5 (50), open 6 (30). */
static const struct spool_seg segs[] = {
	{ 3, 0, 100 }, { 4, 0, 200 }, { 5, 0, 50 }, { 6, 1, 30 },
};
#define NSEGS	(sizeof(segs) / sizeof(segs[0]))

/* Our byte at offset off of segment seq; the receiver's copy agrees. */
static uint8_t
our_byte(uint64_t seq, uint64_t off)
{
	if (off % 40 == 39)
		return '\n';	/* lines of 40 bytes */
	return (uint8_t)('a' + (seq * 7 + off) % 26);
}

enum tail_kind { T_SAME, T_OTHER, T_SHORT, T_NONE };

/*
 * What the receiver says: (seq, size, complete) and a tail of the right
 * length made of our bytes (beyond our copy: 'Z'), or one byte changed
 * (T_OTHER), one byte short (T_SHORT), none (T_NONE); then both steps,
 * reading "our" bytes from the model as forwarder/conn.c reads the segment.
 */
static struct fwd_resume
resume_in(const struct spool_seg *sg, size_t n, const uint8_t *their_id,
    uint64_t seq, uint64_t size, int complete, enum tail_kind k)
{
	static uint8_t tail[WIRE_TAIL_MIN], ours[WIRE_TAIL_MIN];
	struct wire_pos t = { seq, size, complete };
	struct fwd_resume r;
	uint64_t ourlen = 0, o;
	size_t tl = size < WIRE_TAIL_MIN ? (size_t)size : WIRE_TAIL_MIN, i;

	for (i = 0; i < n; i++)
		if (sg[i].seq == seq)
			ourlen = sg[i].size;
	for (i = 0; i < tl; i++) {
		o = size - tl + i;
		tail[i] = o < ourlen ? our_byte(seq, o) : 'Z';
	}
	if (k == T_OTHER && tl > 0)
		tail[tl / 2] ^= 0x20;
	if (k == T_SHORT)
		tl--;
	if (k == T_NONE)
		tl = 0;
	fwd_resume(id_a, sg, n, their_id, &t, tl, &r);
	if (r.act == FWD_RESUME_SEND && r.check_len > 0) {
		CHECK(r.acked.seq == seq && r.check_len <= tl);
		CHECK(r.check_off + r.check_len <= ourlen);
		if (r.check_len > tl || r.check_off + r.check_len > ourlen)
			return r;
		for (i = 0; i < r.check_len; i++)
			ours[i] = our_byte(seq, r.check_off + i);
		fwd_resume_check(&r, tail, ours, r.check_len, r.check_off == 0 ||
		    our_byte(seq, r.check_off - 1) == '\n');
	}
	return r;
}

static struct fwd_resume
resume_k(const uint8_t *their_id, uint64_t seq, uint64_t size, int complete,
    enum tail_kind k)
{
	return resume_in(segs, NSEGS, their_id, seq, size, complete, k);
}

static struct fwd_resume
resume(const uint8_t *their_id, uint64_t seq, uint64_t size, int complete)
{
	return resume_k(their_id, seq, size, complete, T_SAME);
}

static void
test_resume_new_series(void)
{
	struct fwd_resume r;

	/* Nothing stored, or another spool's: all of ours from the oldest. */
	r = resume_k(id_zero, 0, 0, 0, T_NONE);
	CHECK(r.act == FWD_RESUME_SEND && r.new_series);
	CHECK(r.from.seq == 0 && r.from.size == 0);
	CHECK(r.acked.seq == 0);
	/* Another spool's tail is not ours to check, whatever it is. */
	r = resume_k(id_b, 9, 1000, 1, T_OTHER);
	CHECK(r.act == FWD_RESUME_SEND && r.new_series);
	CHECK(r.from.seq == 0 && r.from.size == 0);
	CHECK(r.acked.seq == 0 && r.acked.size == 0);
	CHECK(r.check_len == 0);
	/* Our id with seq 0: nothing of ours either. */
	r = resume_k(id_a, 0, 0, 0, T_NONE);
	CHECK(r.act == FWD_RESUME_SEND && r.new_series);
}

static void
test_resume_continue(void)
{
	struct fwd_resume r;

	/* Middle of a closed segment: continue there, its tail checked. */
	r = resume(id_a, 4, 120, 0);
	CHECK(r.act == FWD_RESUME_SEND && !r.new_series);
	CHECK(r.from.seq == 4 && r.from.size == 120);
	CHECK(r.acked.seq == 4 && r.acked.size == 120 && !r.acked.complete);
	CHECK(r.check_off == 0 && r.check_len == 120);
	CHECK(r.note[0] == '\0');
	/* Complete: the next segment, at 0. */
	r = resume(id_a, 4, 200, 1);
	CHECK(r.act == FWD_RESUME_SEND);
	CHECK(r.from.seq == 5 && r.from.size == 0);
	CHECK(r.acked.complete);
	/* All of a closed one but no SEGEND yet: send SEGEND from there. */
	r = resume(id_a, 4, 200, 0);
	CHECK(r.act == FWD_RESUME_SEND);
	CHECK(r.from.seq == 4 && r.from.size == 200);
	/* The open segment: tail it from where the receiver is. */
	r = resume(id_a, 6, 10, 0);
	CHECK(r.act == FWD_RESUME_SEND);
	CHECK(r.from.seq == 6 && r.from.size == 10);
	r = resume(id_a, 6, 30, 0);
	CHECK(r.act == FWD_RESUME_SEND);
	CHECK(r.from.seq == 6 && r.from.size == 30);
	/* Start of the oldest: nothing to compare. */
	r = resume_k(id_a, 3, 0, 0, T_NONE);
	CHECK(r.act == FWD_RESUME_SEND);
	CHECK(r.from.seq == 3 && r.from.size == 0 && r.check_len == 0);
}

static void
test_resume_lost_segments(void)
{
	struct fwd_resume r;

	/* It holds 1 (complete); 2 is gone: start at our oldest, 3. */
	r = resume(id_a, 1, 500, 1);
	CHECK(r.act == FWD_RESUME_SEND);
	CHECK(r.from.seq == 3 && r.from.size == 0);
	CHECK(r.note[0] != '\0');
	/* It holds part of 2, which is gone. */
	r = resume(id_a, 2, 70, 0);
	CHECK(r.act == FWD_RESUME_SEND);
	CHECK(r.from.seq == 3 && r.from.size == 0);
	CHECK(r.acked.seq == 2 && r.acked.size == 70);
	CHECK(r.note[0] != '\0');
	/* It holds all of 2, the one just before our oldest: no note. */
	r = resume(id_a, 2, 70, 1);
	CHECK(r.act == FWD_RESUME_SEND);
	CHECK(r.from.seq == 3 && r.note[0] == '\0');
}

/* Hole 3: a spool rolled back reuses numbers the receiver holds. */
static void
test_resume_rollback(void)
{
	struct fwd_resume r;

	/* Newer than our newest (the open one): rolled back. */
	r = resume(id_a, 7, 10, 0);
	CHECK(r.act == FWD_RESUME_ROLLBACK);
	CHECK(r.acked.seq == 0 && r.acked.size == 0);
	CHECK(strstr(r.note, "0000000000000007") != NULL);
	r = resume(id_a, 9, 0, 1);
	CHECK(r.act == FWD_RESUME_ROLLBACK && r.acked.seq == 0);
	/* Same number, other bytes: in a closed one, in the open one. */
	r = resume_k(id_a, 4, 120, 0, T_OTHER);
	CHECK(r.act == FWD_RESUME_ROLLBACK && r.acked.seq == 0);
	CHECK(strstr(r.note, "differs") != NULL);
	r = resume_k(id_a, 4, 200, 1, T_OTHER);
	CHECK(r.act == FWD_RESUME_ROLLBACK);
	r = resume_k(id_a, 6, 30, 0, T_OTHER);
	CHECK(r.act == FWD_RESUME_ROLLBACK);
	/* More of the open segment than was written here. */
	r = resume(id_a, 6, 31, 0);
	CHECK(r.act == FWD_RESUME_ROLLBACK && r.acked.seq == 0);
	/* The open segment cannot be complete. */
	r = resume(id_a, 6, 30, 1);
	CHECK(r.act == FWD_RESUME_ROLLBACK);
	/* Complete at a size below ours: ours was written again, longer. */
	r = resume(id_a, 4, 150, 1);
	CHECK(r.act == FWD_RESUME_ROLLBACK);
	/* More of a closed one, the overlap differs. */
	r = resume_k(id_a, 5, 70, 0, T_OTHER);
	CHECK(r.act == FWD_RESUME_ROLLBACK);
	/* Our bytes could not all be read: not a match. */
	{
		struct wire_pos t = { 4, 120, 0 };
		uint8_t b[120];

		memset(b, 'x', sizeof(b));
		fwd_resume(id_a, segs, NSEGS, id_a, &t, 120, &r);
		REQUIRE(r.act == FWD_RESUME_SEND && r.check_len == 120);
		fwd_resume_check(&r, b, b, 119, 1);
		CHECK(r.act == FWD_RESUME_ROLLBACK && r.acked.seq == 0);
	}
}

static void
test_resume_prefix(void)
{
	struct fwd_resume r;

	/* More of a closed one than it has now (a crash cut it): go on. */
	r = resume(id_a, 5, 70, 0);
	CHECK(r.act == FWD_RESUME_SEND);
	CHECK(r.from.seq == 6 && r.from.size == 0);
	CHECK(r.check_off == 0 && r.check_len == 50);
	CHECK(r.note[0] != '\0');
	r = resume(id_a, 5, 70, 1);
	CHECK(r.act == FWD_RESUME_SEND && r.from.seq == 6);
}

/* The tail is the last 4096 bytes of a long segment. */
static void
test_resume_long_tail(void)
{
	static const struct spool_seg big[] = {
		{ 8, 0, 10000 }, { 9, 0, 20000 }, { 10, 1, 5000 },
	};
	struct fwd_resume r;

	r = resume_in(big, 3, id_a, 9, 15000, 0, T_SAME);
	CHECK(r.act == FWD_RESUME_SEND && r.from.seq == 9);
	CHECK(r.check_off == 15000 - WIRE_TAIL_MIN);
	CHECK(r.check_len == WIRE_TAIL_MIN);
	r = resume_in(big, 3, id_a, 9, 15000, 0, T_OTHER);
	CHECK(r.act == FWD_RESUME_ROLLBACK);
	/* Cut after a crash: the overlap only, here 1000 bytes. */
	r = resume_in(big, 3, id_a, 8, 13096, 0, T_SAME);
	CHECK(r.act == FWD_RESUME_SEND && r.from.seq == 9);
	CHECK(r.check_off == 9000 && r.check_len == 1000);
	r = resume_in(big, 3, id_a, 8, 13096, 0, T_OTHER);
	CHECK(r.act == FWD_RESUME_SEND);	/* the change is past ours */
	/* Cut by more than the tail: nothing to compare, so not ours. */
	r = resume_in(big, 3, id_a, 8, 14097, 0, T_SAME);
	CHECK(r.act == FWD_RESUME_ROLLBACK);
	/*
	 * Cut, and the 20 bytes in common hold no whole line: agreeing
	 * bytes that few prove nothing (clones); 60 bytes hold one.
	 */
	r = resume_in(big, 3, id_a, 8, 10000 + WIRE_TAIL_MIN - 20, 0, T_SAME);
	CHECK(r.act == FWD_RESUME_ROLLBACK);
	r = resume_in(big, 3, id_a, 8, 10000 + WIRE_TAIL_MIN - 60, 0, T_SAME);
	CHECK(r.act == FWD_RESUME_SEND && r.from.seq == 9);
}

/* A receiver that sends a tail of the wrong length breaks the protocol. */
static void
test_resume_broken(void)
{
	struct fwd_resume r;

	r = resume_k(id_a, 4, 120, 0, T_SHORT);
	CHECK(r.act == FWD_RESUME_BROKEN && r.acked.seq == 0);
	r = resume_k(id_a, 4, 120, 0, T_NONE);
	CHECK(r.act == FWD_RESUME_BROKEN);
	/* Even where the position alone would say rollback. */
	r = resume_k(id_a, 7, 10, 0, T_NONE);
	CHECK(r.act == FWD_RESUME_BROKEN);
	{
		static const struct spool_seg big[] = { { 8, 1, 10000 } };
		struct wire_pos t = { 8, 10000, 0 };

		/* At least min(size, 4096), at most size. */
		fwd_resume(id_a, big, 1, id_a, &t, WIRE_TAIL_MIN - 1, &r);
		CHECK(r.act == FWD_RESUME_BROKEN);
		fwd_resume(id_a, big, 1, id_a, &t, 10001, &r);
		CHECK(r.act == FWD_RESUME_BROKEN);
		fwd_resume(id_a, big, 1, id_a, &t, WIRE_TAIL_MIN, &r);
		CHECK(r.act == FWD_RESUME_SEND);
		fwd_resume(id_a, big, 1, id_a, &t, 10000, &r);
		CHECK(r.act == FWD_RESUME_SEND && r.check_off == 0 &&
		    r.check_len == 10000);
	}
}

/*
 * Two clones of one machine: the same text but for a word at each line's
 * start.  When the receiver's tail lies inside one long line (an EXECVE's
 * arguments in hex), its bytes agree with the other clone's: without a
 * line's start among them they prove nothing, and the resume is refused.
 * From a line's start (a version 3 tail), the word differs.
 */
static void
test_resume_clone_long_line(void)
{
	static const struct spool_seg segs2[] = {
		{ 8, 0, 9000 }, { 9, 1, 100 },
	};
	static uint8_t mine[9000], theirs[9000];
	struct wire_pos t = { 8, 9000, 1 };
	struct fwd_resume r;
	size_t tl = WIRE_TAIL_MIN;

	/* "node=clonea x...x\n" with one line of 8,000 bytes at the end */
	memset(mine, 'x', sizeof(mine));
	memcpy(mine, "node=clonea ", 12);
	mine[999] = '\n';
	memcpy(mine + 1000, "node=clonea ", 12);
	mine[8999] = '\n';
	memcpy(theirs, mine, sizeof(theirs));
	theirs[10] = theirs[1010] = 'b';

	/* A version 2 tail: the last 4,096 bytes, inside the long line. */
	fwd_resume(id_a, segs2, 2, id_a, &t, tl, &r);
	REQUIRE(r.act == FWD_RESUME_SEND && r.check_len == tl);
	fwd_resume_check(&r, theirs + 9000 - tl, mine + r.check_off,
	    r.check_len, mine[r.check_off - 1] == '\n');
	CHECK(r.act == FWD_RESUME_ROLLBACK && r.acked.seq == 0);
	CHECK(strstr(r.note, "no start of a line") != NULL);

	/* A version 3 tail starts at the line's start: the word differs. */
	tl = 8000;
	fwd_resume(id_a, segs2, 2, id_a, &t, tl, &r);
	REQUIRE(r.act == FWD_RESUME_SEND && r.check_off == 1000);
	fwd_resume_check(&r, theirs + 1000, mine + 1000, r.check_len,
	    mine[999] == '\n');
	CHECK(r.act == FWD_RESUME_ROLLBACK);
	CHECK(strstr(r.note, "differs from this spool's at offset 1010") !=
	    NULL);

	/* The same machine: its own bytes from a line's start are ours. */
	fwd_resume(id_a, segs2, 2, id_a, &t, tl, &r);
	fwd_resume_check(&r, mine + 1000, mine + 1000, r.check_len, 1);
	CHECK(r.act == FWD_RESUME_SEND && r.from.seq == 9);
}

static void
test_cut_lines(void)
{
	CHECK(fwd_cut_lines("", 0) == 0);
	CHECK(fwd_cut_lines("type=A", 6) == 0);
	CHECK(fwd_cut_lines("type=A\n", 7) == 7);
	CHECK(fwd_cut_lines("type=A\ntype=B", 13) == 7);
	CHECK(fwd_cut_lines("a\nb\nc\n", 6) == 6);
	CHECK(fwd_cut_lines("\n", 1) == 1);
	/* Only within len. */
	CHECK(fwd_cut_lines("ab\n", 2) == 0);
}

static void
test_ack_ok(void)
{
	struct wire_pos sent = { 5, 300, 0 }, last = { 4, 100, 0 }, a;

	a = (struct wire_pos){ 5, 300, 0 };
	CHECK(fwd_ack_ok(&sent, &last, &a));
	a = (struct wire_pos){ 5, 100, 0 };
	CHECK(fwd_ack_ok(&sent, &last, &a));
	a = (struct wire_pos){ 4, 100, 0 };
	CHECK(fwd_ack_ok(&sent, &last, &a));
	a = (struct wire_pos){ 4, 250, 1 };	/* 4 completed earlier */
	CHECK(fwd_ack_ok(&sent, &last, &a));
	/* Beyond what was sent. */
	a = (struct wire_pos){ 5, 301, 0 };
	CHECK(!fwd_ack_ok(&sent, &last, &a));
	a = (struct wire_pos){ 6, 0, 0 };
	CHECK(!fwd_ack_ok(&sent, &last, &a));
	/* Complete before SEGEND. */
	a = (struct wire_pos){ 5, 300, 1 };
	CHECK(!fwd_ack_ok(&sent, &last, &a));
	sent.complete = 1;
	CHECK(fwd_ack_ok(&sent, &last, &a));
	a = (struct wire_pos){ 5, 200, 1 };	/* complete at another size */
	CHECK(!fwd_ack_ok(&sent, &last, &a));
	/* Backwards. */
	a = (struct wire_pos){ 4, 99, 0 };
	CHECK(!fwd_ack_ok(&sent, &last, &a));
	last = (struct wire_pos){ 5, 300, 1 };
	a = (struct wire_pos){ 5, 300, 0 };
	CHECK(!fwd_ack_ok(&sent, &last, &a));
	/* Nothing is not an ack. */
	a = (struct wire_pos){ 0, 0, 0 };
	last = (struct wire_pos){ 0, 0, 0 };
	CHECK(!fwd_ack_ok(&sent, &last, &a));
}

static void
test_window(void)
{
	struct fwd_window w;

	fwd_window_init(&w);
	/* Resumed in the middle of 4. */
	REQUIRE(fwd_window_sent(&w, 4, 120, 80) == 0);
	REQUIRE(fwd_window_sent(&w, 5, 0, 30) == 0);
	REQUIRE(fwd_window_sent(&w, 5, 30, 20) == 0);
	REQUIRE(fwd_window_sent(&w, 7, 0, 100) == 0);
	CHECK(fwd_window_inflight(&w) == 230);
	/* An ack of where we started from covers nothing. */
	fwd_window_ack(&w, 4, 120);
	CHECK(fwd_window_inflight(&w) == 230);
	fwd_window_ack(&w, 4, 150);
	CHECK(fwd_window_inflight(&w) == 200);
	fwd_window_ack(&w, 5, 30);
	CHECK(fwd_window_inflight(&w) == 120);
	/* 6 was never sent (a gap): an ack there covers all of 5. */
	fwd_window_ack(&w, 6, 0);
	CHECK(fwd_window_inflight(&w) == 100);
	fwd_window_ack(&w, 7, 60);
	CHECK(fwd_window_inflight(&w) == 40);
	fwd_window_ack(&w, 7, 100);
	CHECK(fwd_window_inflight(&w) == 0);
	CHECK(w.n == 1);
	/* An ack beyond everything sent takes all, never more. */
	REQUIRE(fwd_window_sent(&w, 8, 0, 10) == 0);
	fwd_window_ack(&w, 9, 0);
	CHECK(fwd_window_inflight(&w) == 0 && w.acked == w.sent);
	/* Many small frames of many segments. */
	{
		uint64_t s;

		for (s = 10; s < 1000; s++)
			REQUIRE(fwd_window_sent(&w, s, 0, 7) == 0);
		CHECK(fwd_window_inflight(&w) == 990 * 7);
		fwd_window_ack(&w, 500, 7);
		CHECK(fwd_window_inflight(&w) == 499 * 7);
	}
	fwd_window_free(&w);
}

static void
test_msg_roundtrip(void)
{
	struct fwd_msg m, p;
	char line[FWD_LINE_MAX + 1];
	int n;

	memset(&m, 0, sizeof(m));
	m.type = FWD_MSG_ACK;
	strcpy(m.host, "central-1.example.org");
	m.ack = (struct wire_pos){ 0x1a, 123456789, 1 };
	n = fwd_msg_format(line, sizeof(line), &m);
	REQUIRE(n > 0);
	CHECK_STR(line, "ack central-1.example.org 000000000000001a "
	    "123456789 1\n");
	REQUIRE(fwd_msg_parse(line, (size_t)n - 1, &p) == 0);
	CHECK(p.type == FWD_MSG_ACK);
	CHECK_STR(p.host, m.host);
	CHECK(p.ack.seq == 0x1a && p.ack.size == 123456789 && p.ack.complete);

	memset(&m, 0, sizeof(m));
	m.type = FWD_MSG_STATE;
	strcpy(m.host, "h");
	m.state = RS_BACKOFF;
	strcpy(m.reason, "connecting to 10.0.0.1:7878: Connection\n\x01refused");
	n = fwd_msg_format(line, sizeof(line), &m);
	REQUIRE(n > 0);
	CHECK_STR(line, "state h backoff connecting to 10.0.0.1:7878: "
	    "Connection??refused\n");
	REQUIRE(fwd_msg_parse(line, (size_t)n - 1, &p) == 0);
	CHECK(p.type == FWD_MSG_STATE && p.state == RS_BACKOFF);
	CHECK_STR(p.reason, "connecting to 10.0.0.1:7878: Connection??refused");

	m.state = RS_CONNECTED;
	m.reason[0] = '\0';
	n = fwd_msg_format(line, sizeof(line), &m);
	CHECK_STR(line, "state h connected\n");
	REQUIRE(fwd_msg_parse(line, (size_t)n - 1, &p) == 0);
	CHECK(p.state == RS_CONNECTED && p.reason[0] == '\0');

	/* A long reason is cut, never the line. */
	memset(m.reason, 'x', FWD_REASON_MAX);
	m.reason[FWD_REASON_MAX] = '\0';
	strcpy(m.host, "h");
	memset(m.host, 'a', FWD_HOST_MAX);
	m.host[FWD_HOST_MAX] = '\0';
	n = fwd_msg_format(line, sizeof(line), &m);
	REQUIRE(n > 0 && n <= FWD_LINE_MAX);
	CHECK(fwd_msg_parse(line, (size_t)n - 1, &p) == 0);
	/* A host name that is not one is not sent. */
	strcpy(m.host, "a b");
	CHECK(fwd_msg_format(line, sizeof(line), &m) == -1);

	/* Hole 3: the spool was rolled back; a reason is required. */
	memset(&m, 0, sizeof(m));
	m.type = FWD_MSG_SERIES;
	strcpy(m.host, "recv");
	strcpy(m.reason, "it holds segment 0000000000000007, newer\x01");
	n = fwd_msg_format(line, sizeof(line), &m);
	REQUIRE(n > 0);
	CHECK_STR(line, "series recv it holds segment 0000000000000007, "
	    "newer?\n");
	REQUIRE(fwd_msg_parse(line, (size_t)n - 1, &p) == 0);
	CHECK(p.type == FWD_MSG_SERIES);
	CHECK_STR(p.host, "recv");
	CHECK_STR(p.reason, "it holds segment 0000000000000007, newer?");
	m.reason[0] = '\0';
	CHECK(fwd_msg_format(line, sizeof(line), &m) == -1);
}

static void
test_msg_parse_strict(void)
{
	static const char *bad[] = {
		"",
		"ack",
		"ack h",
		"ack h 0000000000000001 5",
		"ack h 0000000000000001 5 2",
		"ack h 0000000000000001 5 1 ",
		"ack h 0000000000000001 5 1 extra",
		"ack h 1 5 1",				/* not 16 digits */
		"ack h 000000000000000G 5 1",
		"ack h 000000000000000A 5 1",		/* upper case */
		"ack h 0000000000000001 -5 1",
		"ack h 0000000000000001 18446744073709551616 0",
		"ack h 0000000000000000 5 0",		/* nothing, sized */
		"ack  h 0000000000000001 5 1",
		"ack h/x 0000000000000001 5 1",
		"ack .. 0000000000000001 5 1",
		"state h",
		"state h sleeping",
		"state h unknown",
		"state h connected ",
		"state h error \x7f",
		"nack h 0000000000000001 5 1",
		"series",
		"series h",
		"series h ",
		"series  h x",
		"series h/x why",
		"series h why\x7f",
		"Series h why",
	};
	struct fwd_msg m;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (fwd_msg_parse(bad[i], strlen(bad[i]), &m) != -1) {
			fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
			CHECK(0);
		}
#define PARSE(s)	fwd_msg_parse(s, strlen(s), &m)
	CHECK(PARSE("ack h 0000000000000000 0 0") == 0);
	CHECK(m.ack.seq == 0);
	CHECK(PARSE("ack h ffffffffffffffff 18446744073709551615 0") == 0);
	CHECK(m.ack.seq == UINT64_MAX && m.ack.size == UINT64_MAX);
	CHECK(PARSE("state h error bad  pin") == 0);
	CHECK_STR(m.reason, "bad  pin");
	CHECK(PARSE("series h rolled back") == 0);
	CHECK(m.type == FWD_MSG_SERIES);
	CHECK_STR(m.reason, "rolled back");
	/* An embedded NUL or newline. */
	CHECK(fwd_msg_parse("state h error a\0b", 17, &m) == -1);
	CHECK(fwd_msg_parse("state h error a\nb", 17, &m) == -1);
}

static void
test_acked_bytes(void)
{
	struct wire_pos none = { 0, 0, 0 }, a;
	struct wire_pos at;

	CHECK(fwd_unacked_bytes(&none, segs, NSEGS) == 380);
	CHECK(fwd_first_unacked(&none, segs, NSEGS, &at));
	CHECK(at.seq == 3 && at.size == 0);

	a = (struct wire_pos){ 4, 120, 0 };
	CHECK(fwd_acked_bytes(&a, &segs[0]) == 100);
	CHECK(fwd_acked_bytes(&a, &segs[1]) == 120);
	CHECK(fwd_acked_bytes(&a, &segs[2]) == 0);
	CHECK(fwd_unacked_bytes(&a, segs, NSEGS) == 80 + 50 + 30);
	CHECK(fwd_first_unacked(&a, segs, NSEGS, &at));
	CHECK(at.seq == 4 && at.size == 120);

	/* Complete, or all of it, or the next segment's start. */
	a = (struct wire_pos){ 4, 200, 1 };
	CHECK(fwd_unacked_bytes(&a, segs, NSEGS) == 80);
	CHECK(fwd_first_unacked(&a, segs, NSEGS, &at));
	CHECK(at.seq == 5 && at.size == 0);
	a = (struct wire_pos){ 5, 0, 0 };
	CHECK(fwd_unacked_bytes(&a, segs, NSEGS) == 80);

	/* All of it, open segment included. */
	a = (struct wire_pos){ 6, 30, 0 };
	CHECK(fwd_unacked_bytes(&a, segs, NSEGS) == 0);
	CHECK(!fwd_first_unacked(&a, segs, NSEGS, &at));
	/* Holding more than a segment a crash cut counts as all of it. */
	a = (struct wire_pos){ 5, 70, 0 };
	CHECK(fwd_acked_bytes(&a, &segs[2]) == 50);
}

static void
test_may_delete(void)
{
	struct wire_pos a = { 5, 50, 0 }, b = { 4, 200, 1 }, c = { 0, 0, 0 };
	const struct wire_pos *one[] = { &a }, *two[] = { &a, &b },
	    *three[] = { &a, &b, &c };

	/* No host: nothing is ever deleted. */
	CHECK(!fwd_may_delete(one, 0, &segs[0], 6));
	/* One host with all of 3, 4, 5. */
	CHECK(fwd_may_delete(one, 1, &segs[0], 6));
	CHECK(fwd_may_delete(one, 1, &segs[1], 6));
	CHECK(fwd_may_delete(one, 1, &segs[2], 6));
	/* Never the open one, even if acked. */
	a = (struct wire_pos){ 6, 30, 0 };
	CHECK(!fwd_may_delete(one, 1, &segs[3], 6));
	/* Not the open one by number either (still being renamed). */
	{
		struct spool_seg s = { 6, 0, 30 };

		CHECK(!fwd_may_delete(one, 1, &s, 6));
	}
	/* Every host must hold it: b lacks 5. */
	a = (struct wire_pos){ 5, 50, 0 };
	CHECK(fwd_may_delete(two, 2, &segs[1], 6));
	CHECK(!fwd_may_delete(two, 2, &segs[2], 6));
	/* One host with nothing (or not heard from) keeps everything. */
	CHECK(!fwd_may_delete(three, 3, &segs[0], 6));
	/* Part of a segment is not enough. */
	a = (struct wire_pos){ 4, 199, 0 };
	CHECK(!fwd_may_delete(one, 1, &segs[1], 6));
	CHECK(fwd_may_delete(one, 1, &segs[0], 6));
	/* A host that went back (lost its copy) keeps them again. */
	a = (struct wire_pos){ 0, 0, 0 };
	CHECK(!fwd_may_delete(one, 1, &segs[0], 6));
}

static void
test_split_hostport(void)
{
	char host[64], port[8];
	int num;

	CHECK(fwd_split_hostport("tls://logs.example.org", host, sizeof(host),
	    port, sizeof(port), "7878", &num) == 0);
	CHECK_STR(host, "logs.example.org");
	CHECK_STR(port, "7878");
	CHECK(!num);
	CHECK(fwd_split_hostport("tls://10.1.2.3:9000", host, sizeof(host),
	    port, sizeof(port), "7878", &num) == 0);
	CHECK_STR(host, "10.1.2.3");
	CHECK_STR(port, "9000");
	CHECK(num);
	CHECK(fwd_split_hostport("tls://[::1]:7879", host, sizeof(host),
	    port, sizeof(port), "7878", &num) == 0);
	CHECK_STR(host, "::1");
	CHECK_STR(port, "7879");
	CHECK(num);
	CHECK(fwd_split_hostport("[fe80::1]", host, sizeof(host), port,
	    sizeof(port), "7878", &num) == 0);
	CHECK_STR(port, "7878");
	/* A source: the port is optional. */
	CHECK(fwd_split_hostport("192.0.2.7", host, sizeof(host), port,
	    sizeof(port), NULL, &num) == 0);
	CHECK_STR(port, "");
	CHECK(fwd_split_hostport("tls://", host, sizeof(host), port,
	    sizeof(port), "7878", &num) == -1);
	CHECK(fwd_split_hostport("tls://h:", host, sizeof(host), port,
	    sizeof(port), "7878", &num) == -1);
	CHECK(fwd_split_hostport("tls://h:x1", host, sizeof(host), port,
	    sizeof(port), "7878", &num) == -1);
	CHECK(fwd_split_hostport("tls://[::1", host, sizeof(host), port,
	    sizeof(port), "7878", &num) == -1);
	CHECK(fwd_split_hostport("tls://[::1]x", host, sizeof(host), port,
	    sizeof(port), "7878", &num) == -1);
	CHECK(fwd_split_hostport("tls://::1", host, sizeof(host), port,
	    sizeof(port), "7878", &num) == -1);
	CHECK(fwd_split_hostport("tls://h:123456789", host, sizeof(host),
	    port, sizeof(port), "7878", &num) == -1);
	CHECK(fwd_split_hostport("tls://[]:7878", host, sizeof(host), port,
	    sizeof(port), "7878", &num) == -1);
	CHECK(fwd_split_hostport("tls://h:1:2", host, sizeof(host), port,
	    sizeof(port), "7878", &num) == -1);
	/* The port as written: the sandbox's fwd_conn_port reads it. */
	CHECK(fwd_split_hostport("tls://h:07878", host, sizeof(host), port,
	    sizeof(port), "7878", &num) == 0);
	CHECK_STR(port, "07878");
}

static char dir[64];
static int dirfd = -1;

static void
put(const char *name, const char *data, int append)
{
	int fd;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | (append ? O_APPEND :
	    O_TRUNC), 0600);
	if (fd == -1 || write(fd, data, strlen(data)) != (ssize_t)strlen(data))
		abort();
	close(fd);
}

static enum fwd_chunk
next(struct fwd_reader *r, size_t max, struct wire_pos *at, char *out)
{
	static char buf[256];
	char why[256];
	enum fwd_chunk k;
	size_t len = 0;

	why[0] = '\0';
	k = fwd_reader_next(r, buf, max, at, &len, why, sizeof(why));
	out[0] = '\0';
	if (k == CHUNK_DATA) {
		memcpy(out, buf, len);
		out[len] = '\0';
	} else if (k == CHUNK_BAD || k == CHUNK_FAIL)
		strcpy(out, why);
	return k;
}

static void
test_reader(void)
{
	struct fwd_reader r;
	struct wire_pos at, p;
	char out[256];
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/fwd_test.XXXXXX");
	REQUIRE(mkdtemp(dir) != NULL);
	REQUIRE((dirfd = open(dir, O_RDONLY | O_DIRECTORY)) != -1);
	put("0000000000000001.seg", "type=A\ntype=B\n", 0);
	put("0000000000000002.open", "type=C\ntype=D", 0);
	fwd_reader_init(&r, dirfd, "h");

	/* From nothing: the oldest, whole lines, then its end. */
	CHECK(next(&r, 100, &at, out) == CHUNK_DATA);
	CHECK(at.seq == 1 && at.size == 0);
	CHECK_STR(out, "type=A\ntype=B\n");
	CHECK(next(&r, 100, &at, out) == CHUNK_SEGEND);
	CHECK(at.seq == 1 && at.size == 14 && at.complete);
	/* The open one, up to its last newline: a write may be half done. */
	CHECK(next(&r, 100, &at, out) == CHUNK_DATA);
	CHECK(at.seq == 2 && at.size == 0);
	CHECK_STR(out, "type=C\n");
	CHECK(next(&r, 100, &at, out) == CHUNK_WAIT);
	/* While it is read, drop_old cannot take it. */
	fd = openat(dirfd, "0000000000000002.open", O_RDONLY);
	CHECK(fd != -1 && flock(fd, LOCK_EX | LOCK_NB) == -1);
	close(fd);
	put("0000000000000002.open", "\ntype=E\n", 1);
	CHECK(next(&r, 100, &at, out) == CHUNK_DATA);
	CHECK(at.seq == 2 && at.size == 7);
	CHECK_STR(out, "type=D\ntype=E\n");
	CHECK(next(&r, 100, &at, out) == CHUNK_WAIT);
	/* The next one exists: 2 is written no more, so it ends. */
	put("0000000000000003.open", "", 0);
	CHECK(next(&r, 100, &at, out) == CHUNK_SEGEND);
	CHECK(at.seq == 2 && at.size == 21);
	CHECK(next(&r, 100, &at, out) == CHUNK_WAIT);
	CHECK(r.cur.seq == 3 && r.cur.size == 0);

	/* Small reads stop at a line end. */
	p = (struct wire_pos){ 1, 0, 0 };
	fwd_reader_seek(&r, &p);
	CHECK(next(&r, 10, &at, out) == CHUNK_DATA);
	CHECK_STR(out, "type=A\n");
	CHECK(next(&r, 10, &at, out) == CHUNK_DATA);
	CHECK_STR(out, "type=B\n");
	/* A line longer than a frame cannot be sent. */
	p = (struct wire_pos){ 1, 0, 0 };
	fwd_reader_seek(&r, &p);
	CHECK(next(&r, 5, &at, out) == CHUNK_BAD);

	/* Resuming inside a line: the spool disagrees with the receiver. */
	p = (struct wire_pos){ 1, 3, 0 };
	fwd_reader_seek(&r, &p);
	CHECK(next(&r, 100, &at, out) == CHUNK_BAD);
	CHECK(strstr(out, "no line end at offset 3") != NULL);
	p = (struct wire_pos){ 1, 7, 0 };
	fwd_reader_seek(&r, &p);
	CHECK(next(&r, 100, &at, out) == CHUNK_DATA);
	CHECK(at.seq == 1 && at.size == 7);
	CHECK_STR(out, "type=B\n");

	/* A segment deleted (drop_old): on with the next, from 0. */
	CHECK(unlinkat(dirfd, "0000000000000001.seg", 0) == 0);
	p = (struct wire_pos){ 1, 7, 0 };
	fwd_reader_seek(&r, &p);
	CHECK(next(&r, 100, &at, out) == CHUNK_DATA);
	CHECK(at.seq == 2 && at.size == 0);
	/* Renamed while read: still the same, and closed. */
	CHECK(renameat(dirfd, "0000000000000002.open", dirfd,
	    "0000000000000002.seg") == 0);
	CHECK(next(&r, 100, &at, out) == CHUNK_SEGEND);
	CHECK(at.seq == 2 && at.size == 21);
	/* Beyond the newest: wait for it. */
	p = (struct wire_pos){ 9, 0, 0 };
	fwd_reader_seek(&r, &p);
	CHECK(next(&r, 100, &at, out) == CHUNK_WAIT);
	/* Held exclusively (drop_old deleting it): wait. */
	p = (struct wire_pos){ 2, 0, 0 };
	fwd_reader_seek(&r, &p);
	fd = openat(dirfd, "0000000000000002.seg", O_RDONLY);
	REQUIRE(fd != -1 && flock(fd, LOCK_EX) == 0);
	CHECK(next(&r, 100, &at, out) == CHUNK_WAIT);
	close(fd);
	CHECK(next(&r, 100, &at, out) == CHUNK_DATA);

	/*
	 * Hole 6: nothing of 4 is sent while 3 is still .open (its rename
	 * by the syncer follows the fsync that made 4's name durable).
	 */
	put("0000000000000004.open", "type=F\n", 0);
	p = (struct wire_pos){ 4, 0, 0 };
	fwd_reader_seek(&r, &p);
	CHECK(next(&r, 100, &at, out) == CHUNK_WAIT);
	CHECK(renameat(dirfd, "0000000000000003.open", dirfd,
	    "0000000000000003.seg") == 0);
	CHECK(next(&r, 100, &at, out) == CHUNK_DATA);
	CHECK(at.seq == 4 && at.size == 0);
	CHECK_STR(out, "type=F\n");
	fwd_reader_close(&r);

	close(dirfd);
	snprintf(out, sizeof(out), "rm -rf '%s'", dir);
	CHECK(system(out) == 0);
}

/* Retries spread over the last quarter of each wait, the first one too. */
static void
test_retry_jitter(void)
{
	unsigned i, ms, lo = UINT_MAX, hi = 0, b;
	const unsigned bases[] = { FWD_BACKOFF_MIN, FWD_BACKOFF_MAX,
	    FWD_BACKOFF_SERIOUS };

	for (b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		lo = UINT_MAX;
		hi = 0;
		for (i = 0; i < 1000; i++) {
			ms = fwd_retry_ms(bases[b]);
			lo = ms < lo ? ms : lo;
			hi = ms > hi ? ms : hi;
		}
		CHECK(lo >= bases[b] * 750 && hi <= bases[b] * 1000);
		/* Spread, not one instant for a whole fleet. */
		CHECK(hi - lo >= bases[b] * 200);
	}
}

static const struct h_test tests[] = {
	TEST(test_retry_jitter),
	TEST(test_resume_new_series),
	TEST(test_resume_continue),
	TEST(test_resume_lost_segments),
	TEST(test_resume_rollback),
	TEST(test_resume_prefix),
	TEST(test_resume_long_tail),
	TEST(test_resume_broken),
	TEST(test_resume_clone_long_line),
	TEST(test_cut_lines),
	TEST(test_ack_ok),
	TEST(test_window),
	TEST(test_msg_roundtrip),
	TEST(test_msg_parse_strict),
	TEST(test_acked_bytes),
	TEST(test_may_delete),
	TEST(test_split_hostport),
	TEST(test_reader),
};

RUN_TESTS("fwd", tests)
