/*
 * The receiver's internal messages: common/msg.c (typed fields, the one
 * framing decoder) and receiver/imsg.c (each message of the three
 * channels).  Round trips, and every refusal.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <unistd.h>

#include "auditdistd.h"
#include "harness.h"
#include "msg.h"

static const struct msg_type types[] = {
	{ 'a', 0, 64 },
	{ 'b', 4, 4 },
	{ 0, 0, 0 }
};

static const uint8_t id[WIRE_ID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    11, 12, 13, 14, 15, 16 };

/* A header by hand, for what the encoders refuse to write. */
static void
raw_hdr(uint8_t *p, uint32_t len, uint8_t type, uint8_t pad)
{
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[4] = type;
	p[5] = 0;
	p[6] = pad;
	p[7] = 0;
}

static void
test_fields(void)
{
	struct wbuf w;
	struct msg m;
	uint64_t v64;
	uint32_t v32;
	uint16_t v16;
	uint8_t v8, b[3];
	char s[8];
	size_t mark;

	wbuf_init(&w);
	mark = msg_begin(&w, 'a');
	msg_put_u8(&w, 0x11);
	msg_put_u16(&w, 0x2233);
	msg_put_u32(&w, 0x44556677);
	msg_put_u64(&w, 0x8899aabbccddeeffULL);
	msg_put_bytes(&w, "xyz", 3);
	msg_put_str(&w, "host", 4);
	msg_finish(&w, mark, types);
	REQUIRE(msg_frame(w.buf, w.len, types, &m) == 1);
	CHECK(m.type == 'a' && m.len == 1 + 2 + 4 + 8 + 3 + 2 + 4);
	CHECK(m.size == w.len);
	CHECK(msg_get_u8(&m, &v8) == 0 && v8 == 0x11);
	CHECK(msg_get_u16(&m, &v16) == 0 && v16 == 0x2233);
	CHECK(msg_get_u32(&m, &v32) == 0 && v32 == 0x44556677);
	CHECK(msg_get_u64(&m, &v64) == 0 && v64 == 0x8899aabbccddeeffULL);
	CHECK(msg_end(&m) == -1);		/* fields are left */
	CHECK(msg_get_bytes(&m, b, 3) == 0 && memcmp(b, "xyz", 3) == 0);
	CHECK(msg_get_str(&m, s, sizeof(s)) == 0);
	CHECK_STR(s, "host");
	CHECK(msg_end(&m) == 0);
	CHECK(msg_get_u8(&m, &v8) == -1);	/* over the end */
	CHECK(msg_end(&m) == -1);		/* and that sticks */
	wbuf_free(&w);
}

/* A mark stays right when reserving moves what is pending to the front. */
static void
test_mark_after_compact(void)
{
	struct wbuf w;
	struct msg m;
	uint8_t big[60] = { 0 };
	size_t mark;

	wbuf_init(&w);
	REQUIRE(wbuf_reserve(&w, 250) == 0);
	REQUIRE(w.cap == 256);
	memset(w.buf, 'x', 240);
	w.len = 240;
	w.off = 230;		/* 10 bytes not yet sent */
	mark = msg_begin(&w, 'a');
	CHECK(w.off == 230);			/* fits: no compaction yet */
	msg_put_bytes(&w, big, sizeof(big));	/* past cap: compacts */
	msg_finish(&w, mark, types);
	CHECK(w.off == 0);
	REQUIRE(msg_frame(w.buf + 10, w.len - 10, types, &m) == 1);
	CHECK(m.len == sizeof(big) && m.size == w.len - 10);
	wbuf_free(&w);
}

static void
test_short_and_str(void)
{
	uint8_t p[] = { 0, 9, 'a', 'b' };
	uint8_t nul[] = { 0, 2, 'a', 0 };
	uint8_t ok[] = { 0, 2, 'a', 'b' };
	struct msg m;
	uint64_t v;
	char s[3];

	msg_init(&m, 'a', p, 3);
	CHECK(msg_get_u64(&m, &v) == -1);	/* short field */
	msg_init(&m, 'a', p, sizeof(p));
	CHECK(msg_get_str(&m, s, sizeof(s)) == -1);	/* longer than message */
	msg_init(&m, 'a', nul, sizeof(nul));
	CHECK(msg_get_str(&m, s, sizeof(s)) == -1);	/* a NUL inside */
	CHECK(msg_end(&m) == -1);
	msg_init(&m, 'a', ok, sizeof(ok));
	CHECK(msg_get_str(&m, s, 2) == -1);	/* does not fit with its NUL */
	msg_init(&m, 'a', ok, sizeof(ok));
	CHECK(msg_get_str(&m, s, 3) == 0 && msg_end(&m) == 0);
}

static void
test_frame(void)
{
	uint8_t buf[2 * MSG_HDR_LEN + 8];
	struct msg m;

	raw_hdr(buf, 4, 'b', 0);
	memcpy(buf + 8, "1234", 4);
	raw_hdr(buf + 12, 0, 'a', 0);
	CHECK(msg_frame(buf, 5, types, &m) == 0 && m.size == MSG_HDR_LEN);
	CHECK(msg_frame(buf, 10, types, &m) == 0 && m.size == 12);
	CHECK(msg_frame(buf, 20, types, &m) == 1 && m.size == 12 &&
	    m.type == 'b');
	CHECK(msg_frame(buf + 12, 8, types, &m) == 1 && m.len == 0);
	raw_hdr(buf, 4, 'c', 0);		/* unknown type */
	CHECK(msg_frame(buf, 12, types, &m) == -1 && m.type == 'c');
	raw_hdr(buf, 0, 0, 0);			/* type 0 ends the table */
	CHECK(msg_frame(buf, 12, types, &m) == -1);
	raw_hdr(buf, 3, 'b', 0);		/* under its length */
	CHECK(msg_frame(buf, 12, types, &m) == -1);
	raw_hdr(buf, 5, 'b', 0);		/* over it */
	CHECK(msg_frame(buf, 13, types, &m) == -1);
	raw_hdr(buf, 65, 'a', 0);		/* over the maximum */
	CHECK(msg_frame(buf, 12, types, &m) == -1);
	raw_hdr(buf, 0xffffffffu, 'a', 0);
	CHECK(msg_frame(buf, 12, types, &m) == -1);
	raw_hdr(buf, 4, 'b', 1);		/* padding not zero */
	CHECK(msg_frame(buf, 12, types, &m) == -1);
}

static int
frame_req(const struct wbuf *w, struct wmsg *r)
{
	struct msg m;

	if (msg_frame(w->buf, w->len, wmsg_requests, &m) != 1 ||
	    m.size != w->len)
		return -1;
	return wmsg_dec_request(&m, r);
}

static int
frame_ans(const uint8_t *p, size_t len, struct wmsg *a)
{
	struct msg m;

	if (msg_frame(p, len, wmsg_answers, &m) != 1 || m.size != len)
		return -1;
	return wmsg_dec_answer(&m, a);
}

static void
test_requests(void)
{
	struct wbuf w;
	struct wmsg r;
	uint8_t raw[MSG_HDR_LEN + WMSG_DATA_FIXED + 1];

	wbuf_init(&w);
	wmsg_put_slot(&w, WMSG_HELLO, 3);
	CHECK(frame_req(&w, &r) == 0 && r.type == WMSG_HELLO && r.slot == 3);
	w.len = 0;
	wmsg_put_slot(&w, WMSG_CLOSE, WRITER_MAX_HOSTS - 1);
	CHECK(frame_req(&w, &r) == 0 && r.type == WMSG_CLOSE &&
	    r.slot == WRITER_MAX_HOSTS - 1);
	/* A slot no writer has. */
	w.buf[MSG_HDR_LEN] = 0xff;
	CHECK(frame_req(&w, &r) == -1);
	w.len = 0;
	wmsg_put_data_hdr(&w, 9, id, 7, 100, 3);
	msg_put_bytes(&w, "a\nb", 3);
	CHECK(frame_req(&w, &r) == 0 && r.type == WMSG_DATA && r.slot == 9 &&
	    memcmp(r.id, id, WIRE_ID_LEN) == 0 && r.seq == 7 &&
	    r.offset == 100 && r.len == 3 && memcmp(r.data, "a\nb", 3) == 0);
	w.len--;			/* the lines cut short */
	CHECK(frame_req(&w, &r) == -1);
	w.len = 0;
	wmsg_put_segend(&w, 0, id, 8, 4096);
	CHECK(frame_req(&w, &r) == 0 && r.type == WMSG_SEGEND &&
	    r.seq == 8 && r.offset == 4096);
	w.len = 0;
	wmsg_put_sync(&w, 1, 42);
	CHECK(frame_req(&w, &r) == 0 && r.type == WMSG_SYNC && r.token == 42 &&
	    r.slot == 1);
	msg_put_u8(&w, 0);		/* a byte more than the header says */
	CHECK(frame_req(&w, &r) == -1);
	/* DATA without lines; an answer type in the request direction. */
	raw_hdr(raw, WMSG_DATA_FIXED, WMSG_DATA, 0);
	memset(raw + MSG_HDR_LEN, 0, sizeof(raw) - MSG_HDR_LEN);
	w.len = 0;
	msg_put_bytes(&w, raw, MSG_HDR_LEN + WMSG_DATA_FIXED);
	CHECK(frame_req(&w, &r) == -1);
	raw_hdr(raw, 10, WMSG_DURABLE, 0);
	w.len = 0;
	msg_put_bytes(&w, raw, MSG_HDR_LEN + 10);
	CHECK(frame_req(&w, &r) == -1);
	wbuf_free(&w);
}

static void
test_answers(void)
{
	struct trail_pos pos = { { 0 }, 5, 3, 1 };
	struct wbuf w;
	struct wmsg a;
	char why[WMSG_REASON_MAX + 50];

	memcpy(pos.id, id, WIRE_ID_LEN);
	wbuf_init(&w);
	wmsg_put_state(&w, 4, &pos, (const uint8_t *)"ab\n", 3);
	CHECK(frame_ans(w.buf, w.len, &a) == 0 && a.ok && a.pos.seq == 5 &&
	    a.slot == 4 &&
	    a.pos.size == 3 && a.pos.complete == 1 && a.len == 3 &&
	    memcmp(a.data, "ab\n", 3) == 0 &&
	    memcmp(a.pos.id, id, WIRE_ID_LEN) == 0);
	/* complete is 0 or 1 */
	w.buf[MSG_HDR_LEN + 3 + WIRE_ID_LEN + 16] = 2;
	CHECK(frame_ans(w.buf, w.len, &a) == -1);
	w.buf[MSG_HDR_LEN + 3 + WIRE_ID_LEN + 16] = 1;
	/* a tail longer than the segment */
	w.buf[MSG_HDR_LEN + 3 + WIRE_ID_LEN + 15] = 2;
	CHECK(frame_ans(w.buf, w.len, &a) == -1);
	w.buf[MSG_HDR_LEN + 3 + WIRE_ID_LEN + 15] = 3;
	/* ok is 0 or 1 */
	w.buf[MSG_HDR_LEN + 2] = 7;
	CHECK(frame_ans(w.buf, w.len, &a) == -1);
	w.len = 0;
	wmsg_put_failure(&w, 0, WMSG_STATE, 28, "syncing the trail: full");
	CHECK(frame_ans(w.buf, w.len, &a) == 0 && !a.ok && a.err == 28);
	CHECK_STR(a.why, "syncing the trail: full");
	w.len = 0;
	wmsg_put_durable(&w, 0, 99, &pos);
	CHECK(frame_ans(w.buf, w.len, &a) == 0 && a.token == 99 &&
	    a.pos.seq == 5);
	CHECK(frame_ans(w.buf, w.len - 1, &a) == -1);	/* short */
	/* A FAIL's reason is cut to WMSG_REASON_MAX. */
	memset(why, 'r', sizeof(why) - 1);
	why[sizeof(why) - 1] = '\0';
	w.len = 0;
	wmsg_put_failure(&w, 0, WMSG_FAIL, 5, why);
	CHECK(frame_ans(w.buf, w.len, &a) == 0 && a.err == 5 &&
	    strlen(a.why) == WMSG_REASON_MAX);
	/* ... and a longer one is refused by the framing. */
	w.buf[3]++;
	msg_put_u8(&w, 'r');
	w.buf[MSG_HDR_LEN + 7]++;
	CHECK(frame_ans(w.buf, w.len, &a) == -1);
	wbuf_free(&w);
}

static int
frame_ctl(const struct wbuf *w, const struct msg_type *t, struct ctl_msg *c)
{
	struct msg m;

	if (msg_frame(w->buf, w->len, t, &m) != 1 || m.size != w->len)
		return -1;
	return ctl_dec(&m, c);
}

static const struct ctl_msg *
ctl_of(enum ctl_type type, const char *host, uint32_t pool, uint16_t slot)
{
	static struct ctl_msg c;

	memset(&c, 0, sizeof(c));
	c.type = (uint8_t)type;
	snprintf(c.host, sizeof(c.host), "%s", host);
	c.pool = pool;
	c.slot = slot;
	return &c;
}

static void
test_ctl(void)
{
	struct ctl_msg c;
	struct wbuf w;

	wbuf_init(&w);
	ctl_put(&w, ctl_of(CTL_WRITER, "web-1.example", 0, 0), ctl_to_parent);
	CHECK(frame_ctl(&w, ctl_to_parent, &c) == 0 && c.type == CTL_WRITER);
	CHECK_STR(c.host, "web-1.example");
	w.len = 0;
	ctl_put(&w, ctl_of(CTL_NOWRITER, "db", 0, 0), ctl_to_net);
	CHECK(frame_ctl(&w, ctl_to_net, &c) == 0 && c.type == CTL_NOWRITER);
	CHECK(frame_ctl(&w, ctl_to_parent, &c) == -1);	/* not that way */
	w.len = 0;
	ctl_put(&w, ctl_of(CTL_READY, "", 0, 0), ctl_to_parent);
	CHECK(frame_ctl(&w, ctl_to_parent, &c) == 0 && c.type == CTL_READY);
	CHECK(frame_ctl(&w, ctl_to_net, &c) == -1);
	w.len = 0;
	ctl_put(&w, ctl_of(CTL_PING, "", 0, 0), ctl_to_net);
	CHECK(frame_ctl(&w, ctl_to_net, &c) == 0 && c.type == CTL_PING);
	/* A writer's channel, and a host's slot in it. */
	w.len = 0;
	ctl_put(&w, ctl_of(CTL_POOL, "", 4242, 0), ctl_to_net);
	CHECK(frame_ctl(&w, ctl_to_net, &c) == 0 && c.type == CTL_POOL &&
	    c.pool == 4242);
	CHECK(frame_ctl(&w, ctl_to_parent, &c) == -1);
	w.len = 0;
	ctl_put(&w, ctl_of(CTL_SLOT, "web-2", 4242, 63), ctl_to_net);
	CHECK(frame_ctl(&w, ctl_to_net, &c) == 0 && c.type == CTL_SLOT &&
	    c.pool == 4242 && c.slot == 63 && strcmp(c.host, "web-2") == 0);
	w.buf[w.len - 2] = 0xff;	/* a slot past any writer's */
	CHECK(frame_ctl(&w, ctl_to_net, &c) == -1);
	/* A host name that breaks the rules: ".." */
	w.len = 0;
	ctl_put(&w, ctl_of(CTL_WRITER, "ab", 0, 0), ctl_to_parent);
	w.buf[MSG_HDR_LEN + 2] = w.buf[MSG_HDR_LEN + 3] = '.';
	CHECK(frame_ctl(&w, ctl_to_parent, &c) == -1);
	w.buf[MSG_HDR_LEN + 2] = '/';
	CHECK(frame_ctl(&w, ctl_to_parent, &c) == -1);
	wbuf_free(&w);
}

/* Run ctl_recv in a child: its exit status (fatal: not 0). */
static int
recv_in_child(int s)
{
	struct ctl_msg c;
	int st, fd;
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) == 0) {
		fclose(stderr);
		_exit(ctl_recv(s, ctl_to_net, &c, &fd, "test") == 1 ? 0 : 3);
	}
	if (pid == -1 || waitpid(pid, &st, 0) == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void
test_ctl_socket(void)
{
	struct ctl_msg c;
	struct wbuf w;
	int sv[2], p[2], fd;

	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	REQUIRE(pipe(p) == 0);
	CHECK(ctl_send(sv[0], ctl_of(CTL_POOL, "", 7, 0), p[0], ctl_to_net) ==
	    0);
	CHECK(ctl_recv(sv[1], ctl_to_net, &c, &fd, "test") == 1);
	CHECK(c.type == CTL_POOL && c.pool == 7 && fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(ctl_recv(sv[1], ctl_to_net, &c, &fd, "test") == 0);
	/* A datagram with a byte after its message. */
	wbuf_init(&w);
	ctl_put(&w, ctl_of(CTL_PING, "", 0, 0), ctl_to_net);
	msg_put_u8(&w, 0);
	CHECK(send(sv[0], w.buf, w.len, 0) == (ssize_t)w.len);
	CHECK(recv_in_child(sv[1]) > 0);
	/* Half a message. */
	CHECK(send(sv[0], w.buf, 5, 0) == 5);
	CHECK(recv_in_child(sv[1]) > 0);
	/* The same whole: fine. */
	CHECK(send(sv[0], w.buf, w.len - 1, 0) == (ssize_t)w.len - 1);
	CHECK(recv_in_child(sv[1]) == 0);
	close(sv[0]);
	CHECK(ctl_recv(sv[1], ctl_to_net, &c, &fd, "test") == -1 &&
	    errno == 0);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	wbuf_free(&w);
}

static const struct h_test tests[] = {
	TEST(test_fields),
	TEST(test_mark_after_compact),
	TEST(test_short_and_str),
	TEST(test_frame),
	TEST(test_requests),
	TEST(test_answers),
	TEST(test_ctl),
	TEST(test_ctl_socket),
};

RUN_TESTS("msg", tests)
