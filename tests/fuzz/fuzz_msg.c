/*
 * Fuzz target: the receiver's internal messages (common/msg.c, the one
 * framing decoder; receiver/imsg.c, each message's parser).
 *
 * The first byte picks the channel; the rest is what arrives on it.
 *   0  the writer's requests, a byte stream (writer.c)
 *   1  the writers' answers, a byte stream (wchan.c)
 *   2  a control datagram to the parent (super.c)
 *   3  a control datagram to the network process (main.c)
 * Streams are cut into messages by msg_frame as the readers cut them; a
 * datagram must be one whole message.  Every message that decodes must
 * encode back to the same bytes (the decoders accept exactly what the
 * encoders write), and every payload also goes through every parser as
 * each type, where what parses must encode back too.
 */
#include <string.h>

#include "auditdistd.h"
#include "msg.h"
#include "fuzz.h"

enum chan {
	CH_REQUESTS, CH_ANSWERS, CH_TO_PARENT, CH_TO_NET, CH_FROM_AUDITOR,
	NCHANS
};

static const struct msg_type *const tables[NCHANS] = {
	wmsg_requests, wmsg_answers, ctl_to_parent, ctl_to_net,
	ctl_from_auditor
};

static void
same_bytes(struct wbuf *w, const uint8_t *p, size_t len)
{
	FUZZ_CHECK(wbuf_pending(w) == len);
	FUZZ_CHECK(memcmp(w->buf + w->off, p, len) == 0);
	wbuf_free(w);
}

static void
encode_wmsg(struct wbuf *w, const struct wmsg *r)
{
	switch (r->type) {
	case WMSG_HELLO:
	case WMSG_CLOSE:
		wmsg_put_slot(w, (enum wmsg_type)r->type, r->slot);
		break;
	case WMSG_DATA:
		FUZZ_CHECK(r->len > 0);
		wmsg_put_data_hdr(w, r->slot, r->id, r->seq, r->offset, r->len);
		msg_put_bytes(w, r->data, r->len);
		break;
	case WMSG_SEGEND:
		wmsg_put_segend(w, r->slot, r->id, r->seq, r->offset);
		break;
	case WMSG_SYNC:
		wmsg_put_sync(w, r->slot, r->token);
		break;
	case WMSG_STATE:
		if (!r->ok) {
			wmsg_put_failure(w, r->slot, WMSG_STATE, r->err,
			    r->why);
			break;
		}
		FUZZ_CHECK(r->len <= WIRE_TAIL_MAX && r->len <= r->pos.size);
		wmsg_put_state(w, r->slot, &r->pos, r->data, r->len);
		break;
	case WMSG_DURABLE:
		wmsg_put_durable(w, r->slot, r->token, &r->pos);
		break;
	case WMSG_FAIL:
		wmsg_put_failure(w, r->slot, WMSG_FAIL, r->err, r->why);
		break;
	default:
		FUZZ_CHECK(!"a type no decoder accepts");
	}
}

/* m (header and payload at p) decoded on channel ch: 0, or -1. */
static int
decode(enum chan ch, struct msg *m, const uint8_t *p)
{
	struct ctl_msg c;
	struct wmsg r;
	struct wbuf w;
	int rc;

	wbuf_init(&w);
	if (ch == CH_TO_PARENT || ch == CH_TO_NET || ch == CH_FROM_AUDITOR) {
		if ((rc = ctl_dec(m, &c)) == 0) {
			FUZZ_CHECK((c.type != CTL_WRITER &&
			    c.type != CTL_SLOT) || c.host[0] != '\0');
			FUZZ_CHECK(c.type == CTL_HEALTH ||
			    c.type == CTL_SERIAL || c.bodylen == 0);
			ctl_put(&w, &c, tables[ch]);
		}
	} else {
		rc = ch == CH_REQUESTS ? wmsg_dec_request(m, &r) :
		    wmsg_dec_answer(m, &r);
		if (rc == 0)
			encode_wmsg(&w, &r);
	}
	if (rc == 0)
		same_bytes(&w, p, m->size);
	wbuf_free(&w);
	return rc;
}

/* The payload through every parser, as every type it may have. */
static void
every_parser(const uint8_t *payload, uint32_t len)
{
	static uint8_t hdr[MSG_HDR_LEN + WMSG_MAX];
	const struct msg_type *t;
	uint8_t type;
	struct msg m;
	uint32_t hlen;
	size_t ch;

	for (ch = 0; ch < NCHANS; ch++)
		for (t = tables[ch]; t->type != 0; t++) {
			memset(hdr, 0, MSG_HDR_LEN);
			hdr[0] = (uint8_t)(len >> 24);
			hdr[1] = (uint8_t)(len >> 16);
			hdr[2] = (uint8_t)(len >> 8);
			hdr[3] = (uint8_t)len;
			hdr[4] = t->type;
			/* Only what the framing lets through reaches one. */
			if (msg_header(hdr, tables[ch], &type, &hlen) == -1)
				continue;
			FUZZ_CHECK(type == t->type && hlen == len);
			/* Round trips compare header and payload: rebuild. */
			if (MSG_HDR_LEN + (size_t)len <= sizeof(hdr)) {
				memcpy(hdr + MSG_HDR_LEN, payload, len);
				msg_init(&m, type, hdr + MSG_HDR_LEN, len);
				(void)decode((enum chan)ch, &m, hdr);
			}
		}
}

static void
stream(enum chan ch, const uint8_t *p, size_t len)
{
	struct msg m;
	int r;

	while ((r = msg_frame(p, len, tables[ch], &m)) == 1) {
		FUZZ_CHECK(m.size <= len && m.size == MSG_HDR_LEN + m.len);
		if (decode(ch, &m, p) == -1)
			return;		/* the reader aborts here */
		every_parser(p + MSG_HDR_LEN, m.len);
		p += m.size;
		len -= m.size;
	}
	if (r == 0)
		FUZZ_CHECK(m.size > len);	/* more is needed, really */
}

static void
datagram(enum chan ch, const uint8_t *p, size_t len)
{
	struct msg m;

	if (len > CTL_MAX || msg_frame(p, len, tables[ch], &m) != 1 ||
	    m.size != len)
		return;
	if (decode(ch, &m, p) == 0)
		every_parser(p + MSG_HDR_LEN, m.len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum chan ch;

	if (size < 1)
		return 0;
	ch = (enum chan)(data[0] % NCHANS);
	if (ch == CH_REQUESTS || ch == CH_ANSWERS)
		stream(ch, data + 1, size - 1);
	else
		datagram(ch, data + 1, size - 1);
	return 0;
}
