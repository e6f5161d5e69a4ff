/* The protocol codec: round trips, and every malformed input refused. */
#include "harness.h"
#include "wire.h"

static const uint8_t id[WIRE_ID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    11, 12, 13, 14, 15, 16 };
static uint8_t nonce[WIRE_NONCE_LEN] = { 0xaa, 0xbb };

/* Split a frame in w into type and payload, checking the header. */
static int
frame(const struct wbuf *w, uint8_t *type, const uint8_t **payload,
    uint32_t *len)
{
	if (w->len < WIRE_HDR_LEN || wire_parse_header(w->buf, type, len) == -1)
		return -1;
	if (w->len != WIRE_HDR_LEN + *len)
		return -1;
	*payload = w->buf + WIRE_HDR_LEN;
	return 0;
}

static void
test_cursor(void)
{
	const uint8_t b[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	    0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f };
	struct cursor c;
	uint64_t v64;
	uint32_t v32;
	uint16_t v16;
	uint8_t v8;

	cursor_init(&c, b, sizeof(b));
	CHECK(wire_get_u8(&c, &v8) == 0 && v8 == 1);
	CHECK(wire_get_u16(&c, &v16) == 0 && v16 == 0x0203);
	CHECK(wire_get_u32(&c, &v32) == 0 && v32 == 0x04050607);
	CHECK(wire_get_u64(&c, &v64) == 0 && v64 == 0x08090a0b0c0d0e0full);
	CHECK(wire_end(&c) == 0);
	CHECK(wire_get_u8(&c, &v8) == -1);
	CHECK(wire_end(&c) == -1);	/* a failed getter poisons the cursor */
	cursor_init(&c, b, 3);
	CHECK(wire_get_u32(&c, &v32) == -1);
	CHECK(wire_get_u8(&c, &v8) == -1);	/* even though 3 bytes remain */
}

static void
test_header(void)
{
	uint8_t h[WIRE_HDR_LEN] = { 0, 0, 0, 5, WIRE_MSG_DATA, 0, 0, 0 }, t;
	uint32_t len;

	CHECK(wire_parse_header(h, &t, &len) == 0 && t == WIRE_MSG_DATA && len == 5);
	h[5] = 1;
	CHECK(wire_parse_header(h, &t, &len) == -1);	/* padding */
	h[5] = 0;
	h[4] = 0;
	CHECK(wire_parse_header(h, &t, &len) == -1);	/* type 0 */
	h[4] = WIRE_MSG_LAST + 1;
	CHECK(wire_parse_header(h, &t, &len) == -1);	/* unknown type */
	h[4] = WIRE_MSG_DATA;
	h[0] = 0xff;
	CHECK(wire_parse_header(h, &t, &len) == -1);	/* 4 GiB */
	h[0] = 0;
	h[1] = 0x10;
	h[2] = 0x00;
	h[3] = 0x41;		/* WIRE_MAX_PAYLOAD + 1 */
	CHECK(wire_parse_header(h, &t, &len) == -1);
	h[3] = 0x40;
	CHECK(wire_parse_header(h, &t, &len) == 0);
}

static void
test_hello(void)
{
	struct msg_hello m;
	const uint8_t *p;
	struct wbuf w;
	uint32_t len;
	uint8_t t;

	wbuf_init(&w);
	REQUIRE(wire_enc_hello(&w, "web-1.example", id, nonce) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0);
	CHECK(t == WIRE_MSG_HELLO);
	REQUIRE(wire_dec_hello(p, len, &m) == 0);
	CHECK_STR(m.host, "web-1.example");
	CHECK(m.version == WIRE_VERSION);
	CHECK_EQ_MEM(m.spool_id, id, WIRE_ID_LEN);
	CHECK_EQ_MEM(m.nonce, nonce, WIRE_NONCE_LEN);
	/* truncated, trailing byte, bad magic */
	CHECK(wire_dec_hello(p, len - 1, &m) == -1);
	CHECK(wire_dec_hello(p, len + 1, &m) == -1);
	((uint8_t *)w.buf)[WIRE_HDR_LEN] ^= 1;
	CHECK(wire_dec_hello(p, len, &m) == -1);
	wbuf_free(&w);
	/* names that must never become a directory */
	wbuf_init(&w);
	CHECK(wire_enc_hello(&w, "a/b", id, nonce) == -1);
	CHECK(wire_enc_hello(&w, "..", id, nonce) == -1);
	CHECK(wire_enc_hello(&w, "", id, nonce) == -1);
	wbuf_free(&w);
	CHECK(wire_valid_host("a.b-c_d", 7));
	CHECK(!wire_valid_host("a\0b", 3));
	CHECK(!wire_valid_host(".", 1));
	CHECK(!wire_valid_host("a b", 3));
}

static void
test_hello_bad_host(void)
{
	/* A HELLO built by hand with "../x" as the host. */
	uint8_t p[4 + 2 + 2 + 4 + WIRE_ID_LEN + WIRE_NONCE_LEN] = { 0x41, 0x44,
	    0x53, 0x54, 0, 1, 0, 4, '.', '.', '/', 'x' };
	struct msg_hello m;

	CHECK(wire_dec_hello(p, sizeof(p), &m) == -1);
	p[10] = 'a';
	CHECK(wire_dec_hello(p, sizeof(p), &m) == 0);
	p[10] = '\0';
	CHECK(wire_dec_hello(p, sizeof(p), &m) == -1);
	/* host length pointing past the end */
	p[7] = 200;
	CHECK(wire_dec_hello(p, sizeof(p), &m) == -1);
}

static void
test_auth_welcome(void)
{
	uint8_t proof[WIRE_MAC_LEN];
	struct msg_welcome wm;
	struct msg_challenge cm;
	struct msg_auth am;
	const uint8_t *p;
	struct wbuf w;
	uint32_t len;
	uint8_t t;

	memset(proof, 0x5a, sizeof(proof));
	wbuf_init(&w);
	REQUIRE(wire_enc_challenge(&w, WIRE_VERSION, nonce) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0 && t == WIRE_MSG_CHALLENGE);
	CHECK(wire_dec_challenge(p, len, &cm) == 0 && cm.version == WIRE_VERSION);
	CHECK(wire_dec_challenge(p, len - 1, &cm) == -1);
	w.len = 0;
	REQUIRE(wire_enc_auth(&w, proof) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0 && t == WIRE_MSG_AUTH);
	CHECK(wire_dec_auth(p, len, &am) == 0 && am.has_proof);
	CHECK_EQ_MEM(am.proof, proof, WIRE_MAC_LEN);
	CHECK(wire_dec_auth(p, 31, &am) == -1);
	w.len = 0;
	REQUIRE(wire_enc_auth(&w, NULL) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0);
	CHECK(wire_dec_auth(p, len, &am) == 0 && !am.has_proof);
	w.len = 0;
	REQUIRE(wire_enc_welcome(&w, proof, id, 7, 12345, 1, "x\ny\n", 4) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0 && t == WIRE_MSG_WELCOME);
	REQUIRE(wire_dec_welcome(p, len, &wm) == 0);
	CHECK(wm.has_proof && wm.seq == 7 && wm.size == 12345 && wm.complete);
	CHECK_EQ_MEM(wm.spool_id, id, WIRE_ID_LEN);
	CHECK(wm.tail_len == 4 && memcmp(wm.tail, "x\ny\n", 4) == 0);
	CHECK(wire_dec_welcome(p, len - 1, &wm) == -1);
	((uint8_t *)w.buf)[WIRE_HDR_LEN] = 2;	/* has_proof must be 0/1 */
	CHECK(wire_dec_welcome(p, len, &wm) == -1);
	w.len = 0;
	REQUIRE(wire_enc_welcome(&w, NULL, id, 1, 0, 0, NULL, 0) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0);
	CHECK(wire_dec_welcome(p, len, &wm) == 0 && !wm.has_proof &&
	    wm.tail_len == 0);
	/* A tail longer than what is held, or than the limit: refused. */
	w.len = 0;
	CHECK(wire_enc_welcome(&w, NULL, id, 1, 3, 0, "ab\n\n", 4) == -1);
	CHECK(wire_enc_welcome(&w, NULL, id, 1, 1 << 20, 0, proof,
	    WIRE_TAIL_MAX + 1) == -1);
	REQUIRE(wire_enc_welcome(&w, NULL, id, 1, 3, 0, "ab\n", 3) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0);
	((uint8_t *)w.buf)[len + WIRE_HDR_LEN - 4] = 9;	/* tail_len 9 > size 3 */
	CHECK(wire_dec_welcome(p, len, &wm) == -1);
	wbuf_free(&w);
}

static void
test_data(void)
{
	struct msg_data m;
	struct msg_dataz mz;
	struct wire_pos pos;
	const uint8_t *p;
	struct wbuf w;
	uint32_t len;
	uint64_t tok;
	uint8_t t;
	char *big;

	wbuf_init(&w);
	REQUIRE(wire_enc_data(&w, 3, 100, "type=A x\n", 9) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0 && t == WIRE_MSG_DATA);
	REQUIRE(wire_dec_data(p, len, &m) == 0);
	CHECK(m.seq == 3 && m.offset == 100 && m.len == 9);
	CHECK_EQ_MEM(m.data, "type=A x\n", 9);
	w.len = 0;
	/* not ending in a newline: refused */
	REQUIRE(wire_enc_data(&w, 3, 100, "type=A x", 8) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0);
	CHECK(wire_dec_data(p, len, &m) == -1);
	/* empty and oversized payloads */
	CHECK(wire_enc_data_hdr(&w, 1, 0, 0) == -1);
	CHECK(wire_enc_data_hdr(&w, 1, 0, WIRE_MAX_DATA + 1) == -1);
	big = malloc(WIRE_MAX_DATA);
	REQUIRE(big != NULL);
	memset(big, 'x', WIRE_MAX_DATA);
	big[WIRE_MAX_DATA - 1] = '\n';
	w.len = 0;
	REQUIRE(wire_enc_data(&w, 1, 0, big, WIRE_MAX_DATA) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0);
	CHECK(wire_dec_data(p, len, &m) == 0 && m.len == WIRE_MAX_DATA);
	free(big);
	/* segment numbers start at 1 */
	w.len = 0;
	REQUIRE(wire_enc_data(&w, 0, 0, "ab\n", 3) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0);
	CHECK(wire_dec_data(p, len, &m) == -1);
	/* offset + length must not wrap */
	w.len = 0;
	REQUIRE(wire_enc_data(&w, 1, UINT64_MAX - 2, "ab\n", 3) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0);
	CHECK(wire_dec_data(p, len, &m) == -1);
	w.len = 0;
	REQUIRE(wire_enc_segend(&w, 9, 4096) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0 && t == WIRE_MSG_SEGEND);
	CHECK(wire_dec_pos(p, len, 0, &pos) == 0 && pos.seq == 9 &&
	    pos.size == 4096);
	CHECK(wire_dec_pos(p, len, 1, &pos) == -1);
	/* SEGEND of segment 0: segments are numbered from 1 */
	w.len = 0;
	REQUIRE(wire_enc_segend(&w, 0, 0) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0 && t == WIRE_MSG_SEGEND);
	CHECK(wire_dec_pos(p, len, 0, &pos) == -1);
	/* DATAZ: the stated length bounds what it may hold */
	w.len = 0;
	REQUIRE(wire_enc_dataz(&w, 3, 100, 5000, "zz", 2) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0 && t == WIRE_MSG_DATAZ);
	CHECK(wire_dec_dataz(p, len, &mz) == 0 && mz.seq == 3 &&
	    mz.offset == 100 && mz.rawlen == 5000 && mz.zlen == 2 &&
	    memcmp(mz.z, "zz", 2) == 0);
	CHECK(wire_dec_dataz(p, 20, &mz) == -1);		/* no frame */
	CHECK(wire_enc_dataz(&w, 3, 0, WIRE_MAX_DATA + 1, "z", 1) == -1);
	CHECK(wire_enc_dataz(&w, 3, 0, 0, "z", 1) == -1);
	w.len = 0;
	REQUIRE(wire_enc_dataz(&w, 0, 0, 10, "z", 1) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0);
	CHECK(wire_dec_dataz(p, len, &mz) == -1);		/* seq 0 */
	w.len = 0;
	REQUIRE(wire_enc_ack(&w, 9, 4096, 1) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0 && t == WIRE_MSG_ACK);
	CHECK(wire_dec_pos(p, len, 1, &pos) == 0 && pos.complete == 1);
	CHECK(wire_dec_pos(p, len, 0, &pos) == -1);
	w.len = 0;
	REQUIRE(wire_enc_token(&w, WIRE_MSG_PING, 77) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0 && t == WIRE_MSG_PING);
	CHECK(wire_dec_token(p, len, &tok) == 0 && tok == 77);
	CHECK(wire_dec_token(p, len - 1, &tok) == -1);
	wbuf_free(&w);
}

/* Each refusal says why, in the words the receiver logs and sends back. */
static void
test_why(void)
{
	uint8_t h[WIRE_HDR_LEN] = { 0, 0, 0, 5, WIRE_MSG_DATA, 0, 0, 1 };
	uint8_t buf[64] = { 0 };
	struct msg_hello hm;
	struct msg_data dm;
	struct msg_dataz zm;
	struct wire_hdr wh;
	const uint8_t *p;
	struct wbuf w;
	uint32_t len;
	uint8_t t;

	CHECK(wire_dec_header(h, &wh) == -1);
	CHECK_STR(wh.why, "frame header padding is not zero");
	h[7] = 0;
	h[0] = 0xff;		/* padding first, then length, then type */
	h[4] = 0;
	CHECK(wire_dec_header(h, &wh) == -1);
	CHECK_STR(wh.why, "frame of 4278190085 bytes (at most 1048640)");
	h[0] = 0;
	CHECK(wire_dec_header(h, &wh) == -1);
	CHECK_STR(wh.why, "unknown frame type 0");
	h[4] = WIRE_MSG_LAST + 1;
	CHECK(wire_dec_header(h, &wh) == -1);
	CHECK_STR(wh.why, "unknown frame type 14");
	h[4] = WIRE_MSG_DATA;
	CHECK(wire_dec_header(h, &wh) == 0 && wh.type == WIRE_MSG_DATA &&
	    wh.len == 5);
	CHECK_STR(wh.why, "");

	wbuf_init(&w);
	REQUIRE(wire_enc_hello(&w, "h", id, nonce) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0);
	hm.why = "stale";
	CHECK(wire_dec_hello(p, len, &hm) == 0 && hm.why == NULL);
	CHECK(wire_dec_hello(p, len - 1, &hm) == -1);
	CHECK_STR(hm.why, "truncated");
	memcpy(buf, p, len);
	CHECK(wire_dec_hello(buf, len + 1, &hm) == -1);
	CHECK_STR(hm.why, "trailing bytes");
	buf[0] = 'a';
	CHECK(wire_dec_hello(buf, len, &hm) == -1);
	CHECK_STR(hm.why, "no magic \"ADST\"");
	CHECK(wire_dec_hello(buf, 3, &hm) == -1);	/* too short to tell */
	CHECK_STR(hm.why, "truncated");
	memcpy(buf, p, len);
	buf[8] = '/';					/* the host name */
	CHECK(wire_dec_hello(buf, len, &hm) == -1);
	CHECK_STR(hm.why, "a bad host name");

	w.len = 0;
	REQUIRE(wire_enc_data(&w, 3, 100, "a\n", 2) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0);
	dm.why = "stale";
	CHECK(wire_dec_data(p, len, &dm) == 0 && dm.why == NULL);
	CHECK(wire_dec_data(p, 15, &dm) == -1);
	CHECK_STR(dm.why, "truncated");
	CHECK(wire_dec_data(p, 16, &dm) == -1);
	CHECK_STR(dm.why, "no lines");
	CHECK(wire_dec_data(p, 17, &dm) == -1);
	CHECK_STR(dm.why, "it does not end with a newline");
	w.len = 0;
	REQUIRE(wire_enc_data(&w, 0, 0, "a\n", 2) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0);
	CHECK(wire_dec_data(p, len, &dm) == -1);
	CHECK_STR(dm.why, "segment 0");
	w.len = 0;
	REQUIRE(wire_enc_data(&w, 1, UINT64_MAX - 1, "a\n", 2) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0);
	CHECK(wire_dec_data(p, len, &dm) == -1);
	CHECK_STR(dm.why, "lines past 2^64 bytes");

	w.len = 0;
	REQUIRE(wire_enc_dataz(&w, 3, 100, 10, "zz", 2) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0);
	zm.why = "stale";
	CHECK(wire_dec_dataz(p, len, &zm) == 0 && zm.why == NULL);
	CHECK(wire_dec_dataz(p, 19, &zm) == -1);
	CHECK_STR(zm.why, "truncated");
	CHECK(wire_dec_dataz(p, 20, &zm) == -1);
	CHECK_STR(zm.why, "no zstd frame");
	memcpy(buf, p, len);
	memset(buf + 16, 0, 4);				/* rawlen 0 */
	CHECK(wire_dec_dataz(buf, len, &zm) == -1);
	CHECK_STR(zm.why, "a length of lines out of range");
	memset(buf, 0, 8);				/* seq 0 */
	CHECK(wire_dec_dataz(buf, len, &zm) == -1);
	CHECK_STR(zm.why, "segment 0");
	wbuf_free(&w);
}

static void
test_error(void)
{
	struct msg_error m;
	const uint8_t *p;
	struct wbuf w;
	uint32_t len;
	uint8_t t;
	char longr[2000];

	wbuf_init(&w);
	REQUIRE(wire_enc_error(&w, WIRE_ERR_OFFSET, "expected \x01 offset") == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0 && t == WIRE_MSG_ERROR);
	REQUIRE(wire_dec_error(p, len, &m) == 0);
	CHECK(m.code == WIRE_ERR_OFFSET);
	CHECK_STR(m.reason, "expected ? offset");	/* made printable */
	w.len = 0;
	memset(longr, 'r', sizeof(longr) - 1);
	longr[sizeof(longr) - 1] = '\0';
	REQUIRE(wire_enc_error(&w, WIRE_ERR_IO, longr) == 0);	/* cut to 1024 */
	REQUIRE(frame(&w, &t, &p, &len) == 0);
	CHECK(wire_dec_error(p, len, &m) == 0 && strlen(m.reason) == 1024);
	CHECK(wire_dec_error(p, len - 1, &m) == -1);
	CHECK_STR(wire_error_name(WIRE_ERR_DISK_FULL), "disk-full");
	CHECK_STR(wire_type_name(WIRE_MSG_ACK), "ACK");
	CHECK_STR(wire_type_name(99), "unknown");
	w.len = 0;
	REQUIRE(wire_enc_bye(&w) == 0);
	REQUIRE(frame(&w, &t, &p, &len) == 0 && t == WIRE_MSG_BYE && len == 0);
	wbuf_free(&w);
}

static void
test_wbuf(void)
{
	struct wbuf w;
	int i;

	wbuf_init(&w);
	for (i = 0; i < 1000; i++)
		REQUIRE(wire_enc_token(&w, WIRE_MSG_PONG, (uint64_t)i) == 0);
	CHECK(w.len == 1000 * 16);
	w.off = 16 * 999;
	wbuf_compact(&w);
	CHECK(w.len == 16 && w.off == 0 && wbuf_pending(&w) == 16);
	wbuf_free(&w);
}

/* HEALTH: known keys read, unknown ones skipped, anything else refused. */
static void
test_health(void)
{
	static const char good[] = "time=1700000000 records_in=42 "
	    "dropped_records=3 dropped_bytes=300 rejected_records=1 "
	    "rejected_bytes=9 kernel_lost=unknown kernel_backlog=0 "
	    "spool_bytes=4096 unacked_bytes=12 oldest_unshipped_age=none "
	    "start_time=1699999999 "
	    "boot_id=0f6b3c9e-1d2a-4b5c-8d7e-9f0a1b2c3d4e format=enriched "
	    "future_key=x.y:z+1";
	static const char *const bad[] = {
		"", " time=1", "time=1 ", "time=1  records_in=2", "time",
		"=1", "Time=1", "time=1 time=2", "time=-1", "time=1x",
		"time=99999999999999999999", "time=9223372036854775808",
		"boot_id=abc", "format=binary", "time=1\n", "k=v\"",
		"boot_id=0F6B3C9E-1D2A-4B5C-8D7E-9F0A1B2C3D4E",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1",	/* a 33-byte key */
	};
	struct msg_health m;
	struct wbuf w;
	const uint8_t *p;
	uint32_t len;
	uint8_t type;
	char many[WIRE_MAX_HEALTH + 64];
	size_t i, n;

	CHECK(wire_dec_health((const uint8_t *)good, strlen(good), &m) == 0);
	CHECK(m.time == 1700000000 && m.records_in == 42);
	CHECK(m.dropped_records == 3 && m.dropped_bytes == 300);
	CHECK(m.rejected_records == 1 && m.rejected_bytes == 9);
	CHECK(m.kernel_lost == -1 && m.kernel_backlog == 0);
	CHECK(m.spool_bytes == 4096 && m.unacked_bytes == 12);
	CHECK(m.oldest_unshipped_age == -1 && m.start_time == 1699999999);
	CHECK(strcmp(m.boot_id, "0f6b3c9e-1d2a-4b5c-8d7e-9f0a1b2c3d4e") == 0);
	CHECK(m.format == WH_FMT_ENRICHED);
	CHECK(m.len == strlen(good) && m.text == (const uint8_t *)good);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(wire_dec_health((const uint8_t *)bad[i], strlen(bad[i]),
		    &m) == -1);
	/* Absent keys are -1; an empty value is allowed for unknown keys. */
	CHECK(wire_dec_health((const uint8_t *)"x= format=raw", 13, &m) == 0);
	CHECK(m.time == -1 && m.kernel_lost == -1 && m.format == WH_FMT_RAW);
	CHECK(m.boot_id[0] == '\0');
	/* Bounds: pairs, and length. */
	for (n = 0, i = 0; i < WIRE_HEALTH_PAIRS + 1; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "%sk%zu=1",
		    i ? " " : "", i);
	CHECK(wire_dec_health((const uint8_t *)many, n, &m) == -1);
	CHECK(wire_dec_health((const uint8_t *)many, n - 6, &m) == 0);
	memset(many, 'a', sizeof(many));
	many[0] = 'k';
	many[1] = '=';
	CHECK(wire_dec_health((const uint8_t *)many, WIRE_MAX_HEALTH + 1,
	    &m) == -1);
	/* The frame: what the encoder writes decodes to the same text. */
	wbuf_init(&w);
	REQUIRE(wire_enc_health(&w, good, strlen(good)) == 0);
	REQUIRE(frame(&w, &type, &p, &len) == 0);
	CHECK(type == WIRE_MSG_HEALTH && len == strlen(good));
	CHECK(wire_dec_health(p, len, &m) == 0 && m.records_in == 42);
	CHECK(strcmp(wire_type_name(WIRE_MSG_HEALTH), "HEALTH") == 0);
	w.len = 0;
	CHECK(wire_enc_health(&w, "time=x", 6) == -1 && w.len == 0);
	/* HELLO and CHALLENGE say the version they are given. */
	REQUIRE(wire_enc_challenge(&w, 2, nonce) == 0);
	REQUIRE(frame(&w, &type, &p, &len) == 0);
	{
		struct msg_challenge cm;

		CHECK(wire_dec_challenge(p, len, &cm) == 0 && cm.version == 2);
	}
	w.len = 0;
	REQUIRE(wire_enc_hello_version(&w, 2, "h", id, nonce) == 0);
	REQUIRE(frame(&w, &type, &p, &len) == 0);
	{
		struct msg_hello hm;

		CHECK(wire_dec_hello(p, len, &hm) == 0 && hm.version == 2);
	}
	wbuf_free(&w);
}

static const struct h_test tests[] = {
	TEST(test_cursor),
	TEST(test_header),
	TEST(test_hello),
	TEST(test_hello_bad_host),
	TEST(test_auth_welcome),
	TEST(test_data),
	TEST(test_why),
	TEST(test_error),
	TEST(test_wbuf),
	TEST(test_health),
};

RUN_TESTS("wire", tests)
