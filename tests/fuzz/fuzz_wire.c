/*
 * Fuzz target: protocol frames as each end reads them (common/wire.c).
 *
 * The first byte picks the reader; the rest is a byte stream.
 *   0  the receiver: the stream is cut into frames as receiver/conn.c cuts
 *      it and HELLO, AUTH, DATA, DATAZ, SEGEND, PING, PONG, ERROR, BYE,
 *      HEALTH are
 *      decoded; a DATAZ's zstd frame is decompressed (common/compress.c)
 *      and what comes out must compress and decompress back to itself
 *   1  the forwarder: the same as forwarder/conn.c, for CHALLENGE,
 *      WELCOME, ACK, PING, PONG, ERROR, BYE; a WELCOME goes through
 *      fwd_resume and an ACK through fwd_ack_ok and the window, as there
 *   2  the bare cursor: the stream is a list of getter calls over itself
 * Every frame's payload also goes through every decoder.  A frame that
 * decodes must encode back to the same bytes: the decoders accept exactly
 * what the encoders write.
 */
#include <string.h>

#include "compress.h"
#include "forwarder.h"
#include "wire.h"
#include "fuzz.h"

/* RX_MAX of forwarder/conn.h: a WELCOME with a proof and a whole tail */
#define RX_LIMIT	(1 + WIRE_MAC_LEN + WIRE_ID_LEN + 19 + WIRE_TAIL_MAX)

enum role { ROLE_RECEIVER, ROLE_SENDER, ROLE_CURSOR, NROLES };

/* The forwarder's spool in this target: what a WELCOME resumes against. */
static const uint8_t our_id[WIRE_ID_LEN] = {
	0x5e, 0x11, 0x0a, 0x7c, 0x33, 0x90, 0x42, 0xde,
	0xad, 0x01, 0xbe, 0xef, 0x77, 0x21, 0x09, 0x64
};
static const struct spool_seg segs[] = {
	{ 3, 0, 4096 }, { 4, 0, 0 }, { 6, 0, 100 }, { 7, 1, 37 }
};
#define NSEGS	(sizeof(segs) / sizeof(segs[0]))

struct sender {
	int		 welcomed;
	struct wire_pos	 sent, acked;
	struct fwd_window win;
};

/* The frame that encoding the decoded message gives back must be this. */
static void
same_frame(struct wbuf *w, const uint8_t *frame, size_t flen)
{
	FUZZ_CHECK(w->len == flen);
	FUZZ_CHECK(memcmp(w->buf, frame, flen) == 0);
	w->len = 0;
}

static void
check_printable(const char *s, size_t len)
{
	size_t i;

	FUZZ_CHECK(strlen(s) == len);
	for (i = 0; i < len; i++)
		FUZZ_CHECK(s[i] >= 0x20 && s[i] < 0x7f);
}

/* Any payload through every decoder; what they accept must be sane. */
static void
decode_all(const uint8_t *p, size_t len)
{
	struct msg_hello h;
	struct msg_challenge ch;
	struct msg_auth a;
	struct msg_welcome wl;
	struct msg_data d;
	struct msg_dataz z;
	struct wire_pos pos;
	struct msg_error e;
	struct msg_health hl;
	uint64_t token;

	if (wire_dec_hello(p, len, &h) == 0) {
		FUZZ_CHECK(wire_valid_host(h.host, strlen(h.host)));
		FUZZ_CHECK(len == 8 + strlen(h.host) + WIRE_ID_LEN +
		    WIRE_NONCE_LEN);
	}
	if (wire_dec_challenge(p, len, &ch) == 0)
		FUZZ_CHECK(len == 2 + WIRE_NONCE_LEN);
	if (wire_dec_auth(p, len, &a) == 0)
		FUZZ_CHECK(len == (a.has_proof ? WIRE_MAC_LEN : 0));
	if (wire_dec_welcome(p, len, &wl) == 0) {
		FUZZ_CHECK(wl.complete <= 1);
		FUZZ_CHECK(len == 1 + (wl.has_proof ? WIRE_MAC_LEN : 0) +
		    WIRE_ID_LEN + 17 + 2 + wl.tail_len);
		FUZZ_CHECK(wl.tail_len <= WIRE_TAIL_MAX &&
		    wl.tail_len <= wl.size);
		FUZZ_CHECK(wl.tail_len == 0 || wl.tail == p + len -
		    wl.tail_len);
	}
	if (wire_dec_data(p, len, &d) == 0) {
		FUZZ_CHECK(d.len >= 1 && d.len <= WIRE_MAX_DATA);
		FUZZ_CHECK(d.data == p + 16 && d.len == len - 16);
		FUZZ_CHECK(d.data[d.len - 1] == '\n' && d.seq != 0);
		FUZZ_CHECK(d.offset <= UINT64_MAX - d.len);
	}
	if (wire_dec_dataz(p, len, &z) == 0) {
		FUZZ_CHECK(z.rawlen >= 1 && z.rawlen <= WIRE_MAX_DATA);
		FUZZ_CHECK(z.z == p + 20 && z.zlen == len - 20 && z.zlen >= 1);
		FUZZ_CHECK(z.seq != 0 && z.offset <= UINT64_MAX - z.rawlen);
	}
	if (wire_dec_pos(p, len, 0, &pos) == 0)
		FUZZ_CHECK(len == 16 && pos.complete == 0);
	if (wire_dec_pos(p, len, 1, &pos) == 0)
		FUZZ_CHECK(len == 17 && pos.complete <= 1);
	if (wire_dec_token(p, len, &token) == 0)
		FUZZ_CHECK(len == 8);
	if (wire_dec_error(p, len, &e) == 0) {
		FUZZ_CHECK(len >= 4 && len - 4 <= WIRE_MAX_REASON);
		check_printable(e.reason, len - 4);
	}
	if (wire_dec_health(p, len, &hl) == 0) {
		FUZZ_CHECK(len >= 2 && len <= WIRE_MAX_HEALTH);
		FUZZ_CHECK(hl.text == p && hl.len == len);
		FUZZ_CHECK(memchr(p, '\n', len) == NULL);
		FUZZ_CHECK(strlen(hl.boot_id) == 0 || strlen(hl.boot_id) == 36);
		FUZZ_CHECK(hl.records_in >= -1 && hl.kernel_lost >= -1);
		FUZZ_CHECK(hl.format <= WH_FMT_MIXED);
	}
}

/* The sender's side of a WELCOME: where would it resume? */
static void
sender_welcome(struct sender *s, const struct msg_welcome *m)
{
	struct fwd_resume r;
	struct wire_pos theirs;
	size_t i;

	theirs.seq = m->seq;
	theirs.size = m->size;
	theirs.complete = m->complete != 0;
	fwd_resume(our_id, segs, NSEGS, m->spool_id, &theirs, m->tail_len,
	    &r);
	FUZZ_CHECK(memchr(r.note, '\0', sizeof(r.note)) != NULL);
	if (r.act == FWD_RESUME_SEND && r.check_len > 0) {
		/* Our bytes, as the forwarder reads them from the segment. */
		uint8_t ours[WIRE_TAIL_MAX];

		FUZZ_CHECK(!r.new_series && r.check_len <= m->tail_len);
		for (i = 0; i < NSEGS && segs[i].seq != r.acked.seq; i++)
			;
		FUZZ_CHECK(i < NSEGS && r.check_off + r.check_len <=
		    segs[i].size);
		for (i = 0; i < r.check_len; i++)
			ours[i] = (uint8_t)('a' + (r.acked.seq * 7 +
			    r.check_off + i) % 26);
		fwd_resume_check(&r, m->tail, ours, r.check_len,
		    r.check_off == 0);
	}
	if (r.act != FWD_RESUME_SEND) {
		FUZZ_CHECK(r.note[0] != '\0' && !r.new_series);
		FUZZ_CHECK(r.acked.seq == 0 && r.check_len == 0);
		return;
	}
	FUZZ_CHECK(r.act == FWD_RESUME_SEND);
	if (r.new_series)
		FUZZ_CHECK(r.from.seq == 0 && r.from.size == 0 &&
		    r.acked.seq == 0);
	else {
		FUZZ_CHECK(r.from.seq >= theirs.seq);
		FUZZ_CHECK(wire_pos_cmp(&r.acked, &theirs) == 0);
	}
	/* Send everything from there, as the forwarder would. */
	fwd_window_free(&s->win);
	s->acked = s->sent = r.acked;
	for (i = 0; i < NSEGS; i++) {
		uint64_t start = 0;

		if (segs[i].seq < r.from.seq)
			continue;
		if (segs[i].seq == r.from.seq)
			start = r.from.size;
		FUZZ_CHECK(start <= segs[i].size);
		if (segs[i].size > start)
			FUZZ_CHECK(fwd_window_sent(&s->win, segs[i].seq, start,
			    segs[i].size - start) == 0);
		s->sent.seq = segs[i].seq;
		s->sent.size = segs[i].size;
		s->sent.complete = !segs[i].open;
	}
	s->welcomed = 1;
}

static void
sender_ack(struct sender *s, const struct wire_pos *m)
{
	struct wire_pos a;
	uint64_t before = s->win.acked;

	a.seq = m->seq;
	a.size = m->size;
	a.complete = m->complete != 0;
	if (!s->welcomed || !fwd_ack_ok(&s->sent, &s->acked, &a))
		return;
	FUZZ_CHECK(wire_pos_cmp(&a, &s->sent) <= 0);
	FUZZ_CHECK(wire_pos_cmp(&a, &s->acked) >= 0);
	s->acked = a;
	fwd_window_ack(&s->win, a.seq, a.size);
	FUZZ_CHECK(s->win.acked >= before && s->win.acked <= s->win.sent);
}

/*
 * What the receiver does with a DATAZ: restore exactly rawlen bytes into
 * a buffer of WIRE_MAX_DATA, as receiver/conn_data.c does.  Lines that
 * come out must make the same trip through the forwarder's compressor.
 */
static void
dataz(const struct msg_dataz *m)
{
	static uint8_t *raw, *again, *zbuf;
	static size_t zcap;
	const char *why = NULL;
	size_t zlen;

	if (raw == NULL) {
		zcap = compress_bound(WIRE_MAX_DATA);
		FUZZ_SETUP((raw = malloc(WIRE_MAX_DATA)) != NULL);
		FUZZ_SETUP((again = malloc(WIRE_MAX_DATA)) != NULL);
		FUZZ_SETUP((zbuf = malloc(zcap)) != NULL);
	}
	if (decompress_chunk(raw, m->rawlen, m->z, m->zlen, &why) == -1) {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		return;
	}
	if ((zlen = compress_chunk(zbuf, zcap, raw, m->rawlen)) == 0)
		return;		/* would not be smaller: sent as DATA */
	FUZZ_CHECK(zlen < m->rawlen);
	why = NULL;
	FUZZ_CHECK(decompress_chunk(again, m->rawlen, zbuf, zlen, &why) == 0);
	FUZZ_CHECK(memcmp(raw, again, m->rawlen) == 0);
}

/* One frame of the receiver's reading, decoded by its type. */
static void
receiver_frame(uint8_t type, const uint8_t *p, size_t len,
    const uint8_t *frame, size_t flen, struct wbuf *w)
{
	struct msg_hello h;
	struct msg_auth a;
	struct msg_data d;
	struct msg_dataz z;
	struct wire_pos pos;
	struct msg_error e;
	uint64_t token;
	int rc = -1;

	switch (type) {
	case WIRE_MSG_HELLO:
		if (wire_dec_hello(p, len, &h) == -1)
			break;
		FUZZ_CHECK(wire_enc_hello(w, h.host, h.spool_id,
		    h.nonce) == 0);
		/* The encoder writes our version; the peer may send another. */
		w->buf[12] = (uint8_t)(h.version >> 8);
		w->buf[13] = (uint8_t)h.version;
		rc = 0;
		break;
	case WIRE_MSG_AUTH:
		if (wire_dec_auth(p, len, &a) == -1)
			break;
		rc = wire_enc_auth(w, a.has_proof ? a.proof : NULL);
		break;
	case WIRE_MSG_DATA:
		if (wire_dec_data(p, len, &d) == -1)
			break;
		rc = wire_enc_data(w, d.seq, d.offset, d.data, d.len);
		break;
	case WIRE_MSG_DATAZ:
		if (wire_dec_dataz(p, len, &z) == -1)
			break;
		rc = wire_enc_dataz(w, z.seq, z.offset, z.rawlen, z.z, z.zlen);
		dataz(&z);
		break;
	case WIRE_MSG_SEGEND:
		if (wire_dec_pos(p, len, 0, &pos) == -1)
			break;
		rc = wire_enc_segend(w, pos.seq, pos.size);
		break;
	case WIRE_MSG_PING:
	case WIRE_MSG_PONG:
		if (wire_dec_token(p, len, &token) == -1)
			break;
		rc = wire_enc_token(w, type, token);
		break;
	case WIRE_MSG_ERROR:
		if (wire_dec_error(p, len, &e) == -1)
			break;
		/* Unprintable bytes of the reason were replaced. */
		if (memcmp(e.reason, p + 4, len - 4) != 0)
			break;
		rc = wire_enc_error(w, e.code, e.reason);
		break;
	case WIRE_MSG_BYE:
		if (len != 0)
			break;
		rc = wire_enc_bye(w);
		break;
	case WIRE_MSG_HEALTH:
		rc = wire_enc_health(w, (const char *)p, len);
		break;
	}
	if (rc == 0)
		same_frame(w, frame, flen);
	w->len = 0;
}

/* One frame of the forwarder's reading. */
static void
sender_frame(struct sender *s, uint8_t type, const uint8_t *p, size_t len,
    const uint8_t *frame, size_t flen, struct wbuf *w)
{
	struct msg_challenge ch;
	struct msg_welcome wl;
	struct wire_pos pos;
	struct msg_error e;
	uint64_t token;
	int rc = -1;

	switch (type) {
	case WIRE_MSG_CHALLENGE:
		if (wire_dec_challenge(p, len, &ch) == -1)
			break;
		FUZZ_CHECK(wire_enc_challenge(w, ch.version, ch.nonce) == 0);
		w->buf[8] = (uint8_t)(ch.version >> 8);
		w->buf[9] = (uint8_t)ch.version;
		rc = 0;
		break;
	case WIRE_MSG_WELCOME:
		if (wire_dec_welcome(p, len, &wl) == -1)
			break;
		rc = wire_enc_welcome(w, wl.has_proof ? wl.proof : NULL,
		    wl.spool_id, wl.seq, wl.size, wl.complete, wl.tail,
		    wl.tail_len);
		sender_welcome(s, &wl);
		break;
	case WIRE_MSG_ACK:
		if (wire_dec_pos(p, len, 1, &pos) == -1)
			break;
		rc = wire_enc_ack(w, pos.seq, pos.size, pos.complete);
		sender_ack(s, &pos);
		break;
	case WIRE_MSG_PING:
	case WIRE_MSG_PONG:
		if (wire_dec_token(p, len, &token) == -1)
			break;
		rc = wire_enc_token(w, type, token);
		break;
	case WIRE_MSG_ERROR:
		if (wire_dec_error(p, len, &e) == -1)
			break;
		FUZZ_CHECK(wire_error_name(e.code) != NULL);
		if (memcmp(e.reason, p + 4, len - 4) != 0)
			break;
		rc = wire_enc_error(w, e.code, e.reason);
		break;
	case WIRE_MSG_BYE:
		if (len != 0)
			break;
		rc = wire_enc_bye(w);
		break;
	}
	if (rc == 0)
		same_frame(w, frame, flen);
	w->len = 0;
}

/* Frames in order; a bad header or a partial frame ends the stream. */
static void
frames(enum role role, const uint8_t *p, size_t len)
{
	struct sender s;
	struct wbuf w;
	uint32_t plen;
	uint8_t type;

	memset(&s, 0, sizeof(s));
	fwd_window_init(&s.win);
	wbuf_init(&w);
	while (len >= WIRE_HDR_LEN) {
		if (wire_parse_header(p, &type, &plen) == -1)
			break;
		FUZZ_CHECK(plen <= WIRE_MAX_PAYLOAD);
		FUZZ_CHECK(type >= WIRE_MSG_HELLO && type <= WIRE_MSG_LAST);
		FUZZ_CHECK(strcmp(wire_type_name(type), "unknown") != 0);
		if (role == ROLE_SENDER && plen > RX_LIMIT)
			break;
		if (len - WIRE_HDR_LEN < plen)
			break;
		decode_all(p + WIRE_HDR_LEN, plen);
		if (role == ROLE_RECEIVER)
			receiver_frame(type, p + WIRE_HDR_LEN, plen, p,
			    WIRE_HDR_LEN + plen, &w);
		else
			sender_frame(&s, type, p + WIRE_HDR_LEN, plen, p,
			    WIRE_HDR_LEN + plen, &w);
		p += WIRE_HDR_LEN + plen;
		len -= WIRE_HDR_LEN + plen;
	}
	wbuf_free(&w);
	fwd_window_free(&s.win);
}

/* Getter calls, one per op byte (and a length byte for the blobs). */
static void
cursor_ops(const uint8_t *p, size_t len)
{
	uint8_t buf[256], u8;
	const uint8_t *ref;
	struct cursor c;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	size_t i, n, want, left;
	int rc, was_bad;

	cursor_init(&c, p, len);
	for (i = 0; i < len; i++) {
		left = c.left;
		was_bad = c.bad;
		n = i + 1 < len ? p[i + 1] : 0;
		switch (p[i] % 7) {
		case 0:
			rc = wire_get_u8(&c, &u8);
			want = 1;
			break;
		case 1:
			rc = wire_get_u16(&c, &u16);
			want = 2;
			break;
		case 2:
			rc = wire_get_u32(&c, &u32);
			want = 4;
			break;
		case 3:
			rc = wire_get_u64(&c, &u64);
			want = 8;
			break;
		case 4:
			rc = wire_get_bytes(&c, buf, n);
			want = n;
			i++;
			break;
		case 5:
			rc = wire_get_ref(&c, &ref, n);
			want = n;
			if (rc == 0)
				FUZZ_CHECK(ref >= p && ref + n <= p + len);
			i++;
			break;
		default:
			rc = wire_end(&c);
			FUZZ_CHECK(rc == ((was_bad || left != 0) ? -1 : 0));
			FUZZ_CHECK(c.left == left && c.bad == was_bad);
			continue;
		}
		if (was_bad || want > left) {
			/* Refused, and poisoned for good. */
			FUZZ_CHECK(rc == -1 && c.bad);
			FUZZ_CHECK(c.left <= left);
		} else {
			FUZZ_CHECK(rc == 0 && !c.bad);
			FUZZ_CHECK(c.left == left - want);
		}
		FUZZ_CHECK(c.p + c.left == p + len);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum role role;

	if (size < 1)
		return 0;
	role = (enum role)(data[0] % NROLES);
	if (role == ROLE_CURSOR)
		cursor_ops(data + 1, size - 1);
	else
		frames(role, data + 1, size - 1);
	return 0;
}
