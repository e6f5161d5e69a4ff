/*
 * The auditdist protocol's framing and messages (see wire.h and
 * docs/protocol.md).  Decoding is done only through the cursor, whose
 * getters fail instead of reading past the end; every decoder insists that
 * the payload is consumed exactly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

void
cursor_init(struct cursor *c, const void *buf, size_t len)
{
	c->p = buf;
	c->left = len;
	c->bad = 0;
}

int
wire_get_ref(struct cursor *c, const uint8_t **out, size_t len)
{
	if (c->bad || c->left < len) {
		c->bad = 1;
		return -1;
	}
	*out = c->p;
	c->p += len;
	c->left -= len;
	return 0;
}

int
wire_get_bytes(struct cursor *c, void *out, size_t len)
{
	const uint8_t *p;

	if (wire_get_ref(c, &p, len) == -1)
		return -1;
	if (len > 0)
		memcpy(out, p, len);
	return 0;
}

int
wire_get_u8(struct cursor *c, uint8_t *v)
{
	return wire_get_bytes(c, v, 1);
}

int
wire_get_u16(struct cursor *c, uint16_t *v)
{
	const uint8_t *p;

	if (wire_get_ref(c, &p, 2) == -1)
		return -1;
	*v = (uint16_t)((p[0] << 8) | p[1]);
	return 0;
}

int
wire_get_u32(struct cursor *c, uint32_t *v)
{
	const uint8_t *p;

	if (wire_get_ref(c, &p, 4) == -1)
		return -1;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
	return 0;
}

int
wire_get_u64(struct cursor *c, uint64_t *v)
{
	uint32_t hi, lo;

	if (wire_get_u32(c, &hi) == -1 || wire_get_u32(c, &lo) == -1)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

int
wire_end(const struct cursor *c)
{
	return (c->bad || c->left != 0) ? -1 : 0;
}

void
wbuf_init(struct wbuf *w)
{
	memset(w, 0, sizeof(*w));
}

void
wbuf_free(struct wbuf *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

int
wbuf_reserve(struct wbuf *w, size_t more)
{
	size_t cap;
	uint8_t *nb;

	if (w->cap - w->len >= more)
		return 0;
	wbuf_compact(w);
	if (w->cap - w->len >= more)
		return 0;
	cap = w->cap ? w->cap : 256;
	while (cap - w->len < more) {
		if (cap > SIZE_MAX / 2) {
			errno = ENOMEM;
			return -1;
		}
		cap *= 2;
	}
	if ((nb = realloc(w->buf, cap)) == NULL)
		return -1;
	w->buf = nb;
	w->cap = cap;
	return 0;
}

void
wbuf_put_u8(struct wbuf *w, uint8_t v)
{
	w->buf[w->len++] = v;
}

void
wbuf_put_u16(struct wbuf *w, uint16_t v)
{
	w->buf[w->len++] = (uint8_t)(v >> 8);
	w->buf[w->len++] = (uint8_t)v;
}

void
wbuf_put_u32(struct wbuf *w, uint32_t v)
{
	wbuf_put_u16(w, (uint16_t)(v >> 16));
	wbuf_put_u16(w, (uint16_t)v);
}

void
wbuf_put_u64(struct wbuf *w, uint64_t v)
{
	wbuf_put_u32(w, (uint32_t)(v >> 32));
	wbuf_put_u32(w, (uint32_t)v);
}

void
wbuf_put_bytes(struct wbuf *w, const void *p, size_t len)
{
	if (len > 0)
		memcpy(w->buf + w->len, p, len);
	w->len += len;
}

void
wbuf_compact(struct wbuf *w)
{
	if (w->off == 0)
		return;
	if (w->off < w->len)
		memmove(w->buf, w->buf + w->off, w->len - w->off);
	w->len -= w->off;
	w->off = 0;
}

int
wire_dec_header(const uint8_t hdr[WIRE_HDR_LEN], struct wire_hdr *h)
{
	struct cursor c;
	uint8_t pad[3];

	h->why[0] = '\0';
	cursor_init(&c, hdr, WIRE_HDR_LEN);
	/* Never fails: the header is WIRE_HDR_LEN bytes. */
	wire_get_u32(&c, &h->len);
	wire_get_u8(&c, &h->type);
	wire_get_bytes(&c, pad, sizeof(pad));
	if (pad[0] || pad[1] || pad[2])
		snprintf(h->why, sizeof(h->why), "frame header padding is "
		    "not zero");
	else if (h->len > WIRE_MAX_PAYLOAD)
		snprintf(h->why, sizeof(h->why), "frame of %u bytes (at most "
		    "%d)", h->len, WIRE_MAX_PAYLOAD);
	else if (h->type < WIRE_MSG_HELLO || h->type > WIRE_MSG_LAST)
		snprintf(h->why, sizeof(h->why), "unknown frame type %u",
		    h->type);
	return h->why[0] != '\0' ? -1 : 0;
}

int
wire_parse_header(const uint8_t hdr[WIRE_HDR_LEN], uint8_t *type,
    uint32_t *len)
{
	struct wire_hdr h;

	if (wire_dec_header(hdr, &h) == -1)
		return -1;
	*type = h.type;
	*len = h.len;
	return 0;
}

/* What a decoder refused for: why, or the cursor's own failure. */
static int
refuse(const char **dst, const struct cursor *c, const char *why)
{
	if (why == NULL)
		why = c->bad ? "truncated" : "trailing bytes";
	*dst = why;
	return -1;
}

static int
begin(struct wbuf *w, enum wire_type type, size_t len)
{
	if (len > WIRE_MAX_PAYLOAD) {
		errno = EMSGSIZE;
		return -1;
	}
	if (wbuf_reserve(w, WIRE_HDR_LEN + len) == -1)
		return -1;
	wbuf_put_u32(w, (uint32_t)len);
	wbuf_put_u8(w, (uint8_t)type);
	wbuf_put_u8(w, 0);
	wbuf_put_u16(w, 0);
	return 0;
}

int
wire_valid_host(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > WIRE_MAX_HOST)
		return 0;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' &&
	    s[1] == '.'))
		return 0;
	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		    ch == '-'))
			return 0;
	}
	return 1;
}

int
wire_enc_hello(struct wbuf *w, const char *host,
    const uint8_t id[WIRE_ID_LEN], const uint8_t nonce[WIRE_NONCE_LEN])
{
	return wire_enc_hello_version(w, WIRE_VERSION, host, id, nonce);
}

int
wire_enc_hello_version(struct wbuf *w, uint16_t version, const char *host,
    const uint8_t id[WIRE_ID_LEN], const uint8_t nonce[WIRE_NONCE_LEN])
{
	size_t hl = strlen(host);

	if (!wire_valid_host(host, hl)) {
		errno = EINVAL;
		return -1;
	}
	if (begin(w, WIRE_MSG_HELLO, 4 + 2 + 2 + hl + WIRE_ID_LEN +
	    WIRE_NONCE_LEN) == -1)
		return -1;
	wbuf_put_u32(w, WIRE_MAGIC);
	wbuf_put_u16(w, version);
	wbuf_put_u16(w, (uint16_t)hl);
	wbuf_put_bytes(w, host, hl);
	wbuf_put_bytes(w, id, WIRE_ID_LEN);
	wbuf_put_bytes(w, nonce, WIRE_NONCE_LEN);
	return 0;
}

int
wire_dec_hello(const uint8_t *p, size_t len, struct msg_hello *m)
{
	const uint8_t *host;
	struct cursor c;
	uint32_t magic;
	uint16_t hl;

	m->why = NULL;
	cursor_init(&c, p, len);
	if (wire_get_u32(&c, &magic) == 0 && magic != WIRE_MAGIC)
		return refuse(&m->why, &c, "no magic \"ADST\"");
	if (wire_get_u16(&c, &m->version) == -1 ||
	    wire_get_u16(&c, &hl) == -1 || wire_get_ref(&c, &host, hl) == -1 ||
	    wire_get_bytes(&c, m->spool_id, WIRE_ID_LEN) == -1 ||
	    wire_get_bytes(&c, m->nonce, WIRE_NONCE_LEN) == -1 ||
	    wire_end(&c) == -1)
		return refuse(&m->why, &c, NULL);
	if (!wire_valid_host((const char *)host, hl))
		return refuse(&m->why, &c, "a bad host name");
	memcpy(m->host, host, hl);
	m->host[hl] = '\0';
	return 0;
}

int
wire_enc_challenge(struct wbuf *w, uint16_t version,
    const uint8_t nonce[WIRE_NONCE_LEN])
{
	if (begin(w, WIRE_MSG_CHALLENGE, 2 + WIRE_NONCE_LEN) == -1)
		return -1;
	wbuf_put_u16(w, version);
	wbuf_put_bytes(w, nonce, WIRE_NONCE_LEN);
	return 0;
}

int
wire_dec_challenge(const uint8_t *p, size_t len, struct msg_challenge *m)
{
	struct cursor c;

	cursor_init(&c, p, len);
	if (wire_get_u16(&c, &m->version) == -1 ||
	    wire_get_bytes(&c, m->nonce, WIRE_NONCE_LEN) == -1)
		return -1;
	return wire_end(&c);
}

int
wire_enc_auth(struct wbuf *w, const uint8_t *proof)
{
	if (begin(w, WIRE_MSG_AUTH, proof ? WIRE_MAC_LEN : 0) == -1)
		return -1;
	if (proof != NULL)
		wbuf_put_bytes(w, proof, WIRE_MAC_LEN);
	return 0;
}

int
wire_dec_auth(const uint8_t *p, size_t len, struct msg_auth *m)
{
	struct cursor c;

	cursor_init(&c, p, len);
	m->has_proof = len > 0;
	if (m->has_proof && wire_get_bytes(&c, m->proof, WIRE_MAC_LEN) == -1)
		return -1;
	return wire_end(&c);
}

int
wire_enc_welcome(struct wbuf *w, const uint8_t *proof,
    const uint8_t id[WIRE_ID_LEN], uint64_t seq, uint64_t size, int complete,
    const void *tail, size_t tail_len)
{
	if (tail_len > WIRE_TAIL_MAX || tail_len > size) {
		errno = EINVAL;
		return -1;
	}
	if (begin(w, WIRE_MSG_WELCOME, 1 + (proof ? WIRE_MAC_LEN : 0) +
	    WIRE_ID_LEN + 8 + 8 + 1 + 2 + tail_len) == -1)
		return -1;
	wbuf_put_u8(w, proof != NULL);
	if (proof != NULL)
		wbuf_put_bytes(w, proof, WIRE_MAC_LEN);
	wbuf_put_bytes(w, id, WIRE_ID_LEN);
	wbuf_put_u64(w, seq);
	wbuf_put_u64(w, size);
	wbuf_put_u8(w, complete ? 1 : 0);
	wbuf_put_u16(w, (uint16_t)tail_len);
	if (tail_len > 0)
		wbuf_put_bytes(w, tail, tail_len);
	return 0;
}

int
wire_dec_welcome(const uint8_t *p, size_t len, struct msg_welcome *m)
{
	struct cursor c;
	uint16_t tl;
	uint8_t has;

	cursor_init(&c, p, len);
	if (wire_get_u8(&c, &has) == -1 || has > 1)
		return -1;
	m->has_proof = has;
	if (has && wire_get_bytes(&c, m->proof, WIRE_MAC_LEN) == -1)
		return -1;
	if (wire_get_bytes(&c, m->spool_id, WIRE_ID_LEN) == -1 ||
	    wire_get_u64(&c, &m->seq) == -1 ||
	    wire_get_u64(&c, &m->size) == -1 ||
	    wire_get_u8(&c, &m->complete) == -1 || m->complete > 1 ||
	    wire_get_u16(&c, &tl) == -1 || tl > m->size ||
	    wire_get_ref(&c, &m->tail, tl) == -1)
		return -1;
	m->tail_len = tl;
	return wire_end(&c);
}

int
wire_enc_data_hdr(struct wbuf *w, uint64_t seq, uint64_t offset, size_t len)
{
	if (len == 0 || len > WIRE_MAX_DATA) {
		errno = EINVAL;
		return -1;
	}
	if (begin(w, WIRE_MSG_DATA, WIRE_DATA_HDR_LEN - WIRE_HDR_LEN + len) == -1)
		return -1;
	wbuf_put_u64(w, seq);
	wbuf_put_u64(w, offset);
	return 0;
}

int
wire_enc_data(struct wbuf *w, uint64_t seq, uint64_t offset,
    const void *data, size_t len)
{
	if (wire_enc_data_hdr(w, seq, offset, len) == -1)
		return -1;
	wbuf_put_bytes(w, data, len);
	return 0;
}

int
wire_dec_data(const uint8_t *p, size_t len, struct msg_data *m)
{
	struct cursor c;

	m->why = NULL;
	cursor_init(&c, p, len);
	if (wire_get_u64(&c, &m->seq) == -1 ||
	    wire_get_u64(&c, &m->offset) == -1)
		return refuse(&m->why, &c, NULL);
	m->len = c.left;
	if (m->len == 0)
		return refuse(&m->why, &c, "no lines");
	wire_get_ref(&c, &m->data, m->len);
	if (m->data[m->len - 1] != '\n')
		return refuse(&m->why, &c, "it does not end with a newline");
	if (m->len > WIRE_MAX_DATA)
		return refuse(&m->why, &c, "too many bytes of lines");
	/* Segments are numbered from 1: 0 would read as "nothing stored". */
	if (m->seq == 0)
		return refuse(&m->why, &c, "segment 0");
	if (m->offset > UINT64_MAX - m->len)
		return refuse(&m->why, &c, "lines past 2^64 bytes");
	return 0;
}

int
wire_enc_dataz(struct wbuf *w, uint64_t seq, uint64_t offset, size_t rawlen,
    const void *z, size_t zlen)
{
	if (rawlen == 0 || rawlen > WIRE_MAX_DATA || zlen == 0 ||
	    zlen > WIRE_MAX_PAYLOAD - 20) {
		errno = EINVAL;
		return -1;
	}
	if (begin(w, WIRE_MSG_DATAZ, 20 + zlen) == -1)
		return -1;
	wbuf_put_u64(w, seq);
	wbuf_put_u64(w, offset);
	wbuf_put_u32(w, (uint32_t)rawlen);
	wbuf_put_bytes(w, z, zlen);
	return 0;
}

int
wire_dec_dataz(const uint8_t *p, size_t len, struct msg_dataz *m)
{
	struct cursor c;

	m->why = NULL;
	cursor_init(&c, p, len);
	if (wire_get_u64(&c, &m->seq) == -1 ||
	    wire_get_u64(&c, &m->offset) == -1 ||
	    wire_get_u32(&c, &m->rawlen) == -1)
		return refuse(&m->why, &c, NULL);
	m->zlen = c.left;
	if (m->seq == 0)
		return refuse(&m->why, &c, "segment 0");
	if (m->rawlen == 0 || m->rawlen > WIRE_MAX_DATA)
		return refuse(&m->why, &c, "a length of lines out of range");
	if (m->offset > UINT64_MAX - m->rawlen)
		return refuse(&m->why, &c, "lines past 2^64 bytes");
	if (m->zlen == 0)
		return refuse(&m->why, &c, "no zstd frame");
	wire_get_ref(&c, &m->z, m->zlen);
	return 0;
}

int
wire_enc_segend(struct wbuf *w, uint64_t seq, uint64_t size)
{
	if (begin(w, WIRE_MSG_SEGEND, 16) == -1)
		return -1;
	wbuf_put_u64(w, seq);
	wbuf_put_u64(w, size);
	return 0;
}

int
wire_enc_ack(struct wbuf *w, uint64_t seq, uint64_t size, int complete)
{
	if (begin(w, WIRE_MSG_ACK, 17) == -1)
		return -1;
	wbuf_put_u64(w, seq);
	wbuf_put_u64(w, size);
	wbuf_put_u8(w, complete ? 1 : 0);
	return 0;
}

int
wire_pos_cmp(const struct wire_pos *a, const struct wire_pos *b)
{
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	if (a->size != b->size)
		return a->size < b->size ? -1 : 1;
	return 0;
}

int
wire_dec_pos(const uint8_t *p, size_t len, int with_complete,
    struct wire_pos *m)
{
	struct cursor c;
	uint8_t complete = 0;

	cursor_init(&c, p, len);
	if (wire_get_u64(&c, &m->seq) == -1 ||
	    wire_get_u64(&c, &m->size) == -1)
		return -1;
	if (with_complete && (wire_get_u8(&c, &complete) == -1 ||
	    complete > 1))
		return -1;
	m->complete = complete;
	/* SEGEND: segments are numbered from 1, as in DATA. */
	if (!with_complete && m->seq == 0)
		return -1;
	return wire_end(&c);
}

int
wire_enc_token(struct wbuf *w, enum wire_type type, uint64_t token)
{
	if (begin(w, type, 8) == -1)
		return -1;
	wbuf_put_u64(w, token);
	return 0;
}

int
wire_dec_token(const uint8_t *p, size_t len, uint64_t *token)
{
	struct cursor c;

	cursor_init(&c, p, len);
	if (wire_get_u64(&c, token) == -1)
		return -1;
	return wire_end(&c);
}

int
wire_enc_error(struct wbuf *w, enum wire_error code, const char *reason)
{
	size_t rl = strlen(reason);

	if (rl > WIRE_MAX_REASON)
		rl = WIRE_MAX_REASON;
	if (begin(w, WIRE_MSG_ERROR, 4 + rl) == -1)
		return -1;
	wbuf_put_u16(w, (uint16_t)code);
	wbuf_put_u16(w, (uint16_t)rl);
	wbuf_put_bytes(w, reason, rl);
	return 0;
}

int
wire_dec_error(const uint8_t *p, size_t len, struct msg_error *m)
{
	const uint8_t *r;
	struct cursor c;
	uint16_t rl, i;

	cursor_init(&c, p, len);
	if (wire_get_u16(&c, &m->code) == -1 || wire_get_u16(&c, &rl) == -1 ||
	    rl > WIRE_MAX_REASON || wire_get_ref(&c, &r, rl) == -1 ||
	    wire_end(&c) == -1)
		return -1;
	/* It is going to be logged: printable ASCII only. */
	for (i = 0; i < rl; i++)
		m->reason[i] = (r[i] >= 0x20 && r[i] < 0x7f) ? (char)r[i] : '?';
	m->reason[rl] = '\0';
	return 0;
}

int
wire_enc_bye(struct wbuf *w)
{
	return begin(w, WIRE_MSG_BYE, 0);
}

const char *
wire_type_name(int type)
{
	static const char *names[] = { "?", "HELLO", "CHALLENGE", "AUTH",
	    "WELCOME", "DATA", "SEGEND", "ACK", "PING", "PONG", "ERROR",
	    "BYE", "DATAZ", "HEALTH" };

	return (type >= WIRE_MSG_HELLO && type <= WIRE_MSG_LAST) ? names[type] :
	    "unknown";
}

const char *
wire_error_name(int code)
{
	static const char *names[] = { "?", "protocol", "version", "auth",
	    "unknown-host", "offset", "disk-full", "io", "busy", "shutdown",
	    "timeout", "series" };

	return (code >= WIRE_ERR_PROTOCOL && code <= WIRE_ERR_SERIES) ? names[code] :
	    "unknown";
}
