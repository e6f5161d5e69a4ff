/*
 * The frames of an authenticated connection: DATA and DATAZ checked
 * against what the host's trail holds and passed to its writer, SEGEND,
 * PING, HEALTH, and the ways it ends (BYE, ERROR); HELLO and AUTH go to
 * conn_login.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "auditdistd.h"
#include "compress.h"
#include "conn.h"
#include "log.h"

static void
take_data(struct conn *c, uint64_t seq, uint64_t offset, const uint8_t *data,
    size_t len)
{
	struct wchan *w = c->rh->w;
	char why[WIRE_MAX_REASON];

	if (w == NULL || w->failed) {
		conn_store_failed(c, EIO, "the trail writer is gone");
		return;
	}
	if (trail_pos_check(&w->pos, c->spool_id, seq, offset) ==
	    TRAIL_REJECT) {
		trail_pos_expected(&w->pos, c->spool_id, seq, offset,
		    "offset", why, sizeof(why));
		log_warnx("%s: DATA refused: %s", conn_who(c), why);
		conn_close(c, WIRE_ERR_OFFSET, why);
		return;
	}
	/*
	 * Counted first: a writer found dead while this is passed on fails
	 * the connection, which leaves its host (c->rh is then NULL).
	 */
	health_data(c->rh, data, len);
	wchan_data(w, c->spool_id, seq, offset, data, len);
}

static void
on_data(struct conn *c, const uint8_t *p, size_t len)
{
	struct msg_data m;

	if (wire_dec_data(p, len, &m) == -1) {
		conn_protocol_error(c, "malformed DATA (%s)", m.why);
		return;
	}
	take_data(c, m.seq, m.offset, m.data, m.len);
}

/* Compressed lines: restored exactly, or the connection is refused. */
static void
on_dataz(struct conn *c, const uint8_t *p, size_t len)
{
	static uint8_t *raw;
	struct msg_dataz m;
	const char *why;

	if (wire_dec_dataz(p, len, &m) == -1) {
		conn_protocol_error(c, "malformed DATAZ (%s)", m.why);
		return;
	}
	if (raw == NULL && (raw = malloc(WIRE_MAX_DATA)) == NULL) {
		log_warn("%s", conn_who(c));
		conn_close(c, WIRE_ERR_BUSY, "receiver out of memory");
		return;
	}
	if (decompress_chunk(raw, m.rawlen, m.z, m.zlen, &why) == -1) {
		conn_protocol_error(c, "DATAZ: %s", why);
		return;
	}
	if (raw[m.rawlen - 1] != '\n') {
		conn_protocol_error(c, "DATAZ does not end with a newline");
		return;
	}
	take_data(c, m.seq, m.offset, raw, m.rawlen);
}

static void
on_segend(struct conn *c, const uint8_t *p, size_t len)
{
	struct wchan *w = c->rh->w;
	struct trail_pos next;
	struct wire_pos m;
	char why[WIRE_MAX_REASON], exp[WIRE_MAX_REASON - 64];

	if (wire_dec_pos(p, len, 0, &m) == -1) {
		conn_protocol_error(c, "malformed SEGEND");
		return;
	}
	if (w == NULL || w->failed) {
		conn_store_failed(c, EIO, "the trail writer is gone");
		return;
	}
	next = w->pos;
	if (trail_pos_segend(&next, c->spool_id, m.seq, m.size) == 0) {
		wchan_segend(w, c->spool_id, m.seq, m.size);
		return;
	}
	trail_pos_expected(&w->pos, c->spool_id, m.seq, m.size, "size", exp,
	    sizeof(exp));
	snprintf(why, sizeof(why), "SEGEND: %s", exp);
	log_warnx("%s: %s", conn_who(c), why);
	conn_close(c, WIRE_ERR_OFFSET, why);
}

/* The sender's word on its own health (version 3): kept, not stored. */
static void
on_health(struct conn *c, const uint8_t *p, size_t len)
{
	struct msg_health m;

	if (c->version < 3) {
		conn_protocol_error(c, "HEALTH in protocol version %u",
		    c->version);
		return;
	}
	if (wire_dec_health(p, len, &m) == -1) {
		conn_protocol_error(c, "malformed HEALTH");
		return;
	}
	health_report(c->rh, &m);
}

void
conn_on_frame(struct conn *c, uint8_t type, const uint8_t *p, size_t len)
{
	struct msg_error e;
	uint64_t token;

	switch (c->state) {
	case C_HELLO:
		if (type != WIRE_MSG_HELLO)
			conn_protocol_error(c, "expected HELLO, got %s",
			    wire_type_name(type));
		else
			conn_on_hello(c, p, len);
		return;
	case C_AUTH:
		if (type != WIRE_MSG_AUTH)
			conn_protocol_error(c, "expected AUTH, got %s",
			    wire_type_name(type));
		else
			conn_on_auth(c, p, len);
		return;
	case C_READY:
		health_seen(c->rh);
		break;
	default:
		return;
	}
	switch (type) {
	case WIRE_MSG_DATA:
		on_data(c, p, len);
		break;
	case WIRE_MSG_DATAZ:
		on_dataz(c, p, len);
		break;
	case WIRE_MSG_SEGEND:
		on_segend(c, p, len);
		break;
	case WIRE_MSG_PING:
		if (wire_dec_token(p, len, &token) == -1)
			conn_protocol_error(c, "malformed PING");
		else if (wire_enc_token(&c->out, WIRE_MSG_PONG, token) == -1)
			fatal("PONG");
		break;
	case WIRE_MSG_PONG:
		if (wire_dec_token(p, len, &token) == -1)
			conn_protocol_error(c, "malformed PONG");
		break;
	case WIRE_MSG_HEALTH:
		on_health(c, p, len);
		break;
	case WIRE_MSG_BYE:
		if (len != 0) {
			conn_protocol_error(c, "malformed BYE");
			break;
		}
		hlog_info(c->rh->name, "%s said goodbye (%" PRIu64 " bytes in)",
		    c->addr, c->bytes_in);
		conn_close(c, 0, NULL);
		break;
	case WIRE_MSG_ERROR:
		if (wire_dec_error(p, len, &e) == -1)
			conn_protocol_error(c, "malformed ERROR");
		else {
			log_warnx("%s: the sender says: %s: %s", conn_who(c),
			    wire_error_name(e.code), e.reason);
			conn_close(c, 0, NULL);
		}
		break;
	default:
		conn_protocol_error(c, "unexpected %s", wire_type_name(type));
		break;
	}
}
