/*
 * Messages between the processes of one program: see msg.h.  The
 * receiver's three channels (parent and network process, network process
 * and writers, the writers' answers) all go through here.
 */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "msg.h"

static const struct msg_type *
find(const struct msg_type *types, uint8_t type)
{
	for (; types->type != 0; types++)
		if (types->type == type)
			return types;
	return NULL;
}

static int
allowed(const struct msg_type *types, uint8_t type, size_t len)
{
	const struct msg_type *t;

	return type != 0 && (t = find(types, type)) != NULL &&
	    len >= t->min && len <= t->max;
}

static void
reserve(struct wbuf *w, size_t n)
{
	if (wbuf_reserve(w, n) == -1)
		fatal("message");
}

void
msg_hdr(struct wbuf *w, uint8_t type, size_t len,
    const struct msg_type *types)
{
	VERIFY(allowed(types, type, len));
	reserve(w, MSG_HDR_LEN);
	wbuf_put_u32(w, (uint32_t)len);
	wbuf_put_u8(w, type);
	wbuf_put_u8(w, 0);
	wbuf_put_u16(w, 0);
}

/*
 * The mark counts from what is not yet sent: reserving may move the
 * pending bytes to the front of the buffer, never past them.
 */
size_t
msg_begin(struct wbuf *w, uint8_t type)
{
	size_t mark;

	reserve(w, MSG_HDR_LEN);
	mark = wbuf_pending(w);
	wbuf_put_u32(w, 0);
	wbuf_put_u8(w, type);
	wbuf_put_u8(w, 0);
	wbuf_put_u16(w, 0);
	return mark;
}

void
msg_finish(struct wbuf *w, size_t mark, const struct msg_type *types)
{
	uint8_t *h;
	size_t len;

	VERIFY(wbuf_pending(w) >= mark + MSG_HDR_LEN);
	h = w->buf + w->off + mark;
	len = wbuf_pending(w) - mark - MSG_HDR_LEN;
	VERIFY(allowed(types, h[4], len));
	h[0] = (uint8_t)(len >> 24);
	h[1] = (uint8_t)(len >> 16);
	h[2] = (uint8_t)(len >> 8);
	h[3] = (uint8_t)len;
}

void
msg_put_u8(struct wbuf *w, uint8_t v)
{
	reserve(w, 1);
	wbuf_put_u8(w, v);
}

void
msg_put_u16(struct wbuf *w, uint16_t v)
{
	reserve(w, 2);
	wbuf_put_u16(w, v);
}

void
msg_put_u32(struct wbuf *w, uint32_t v)
{
	reserve(w, 4);
	wbuf_put_u32(w, v);
}

void
msg_put_u64(struct wbuf *w, uint64_t v)
{
	reserve(w, 8);
	wbuf_put_u64(w, v);
}

void
msg_put_bytes(struct wbuf *w, const void *p, size_t len)
{
	reserve(w, len);
	wbuf_put_bytes(w, p, len);
}

void
msg_put_str(struct wbuf *w, const char *s, size_t len)
{
	VERIFY(len <= MSG_STR_MAX && memchr(s, '\0', len) == NULL);
	reserve(w, 2 + len);
	wbuf_put_u16(w, (uint16_t)len);
	wbuf_put_bytes(w, s, len);
}

int
msg_header(const uint8_t hdr[MSG_HDR_LEN], const struct msg_type *types,
    uint8_t *type, uint32_t *len)
{
	*len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	*type = hdr[4];
	if (hdr[5] != 0 || hdr[6] != 0 || hdr[7] != 0 ||
	    !allowed(types, *type, *len)) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

int
msg_frame(const uint8_t *buf, size_t len, const struct msg_type *types,
    struct msg *m)
{
	uint32_t plen;
	uint8_t type;

	memset(m, 0, sizeof(*m));
	m->size = MSG_HDR_LEN;
	if (len < MSG_HDR_LEN)
		return 0;
	if (msg_header(buf, types, &type, &plen) == -1) {
		m->type = buf[4];
		m->len = plen;
		return -1;
	}
	m->type = type;
	m->len = plen;
	m->size = MSG_HDR_LEN + (size_t)plen;
	if (len < m->size)
		return 0;
	cursor_init(&m->cur, buf + MSG_HDR_LEN, plen);
	return 1;
}

void
msg_init(struct msg *m, uint8_t type, const uint8_t *p, uint32_t len)
{
	m->type = type;
	m->len = len;
	m->size = MSG_HDR_LEN + (size_t)len;
	cursor_init(&m->cur, p, len);
}

int
msg_get_u8(struct msg *m, uint8_t *v)
{
	return wire_get_u8(&m->cur, v);
}

int
msg_get_u16(struct msg *m, uint16_t *v)
{
	return wire_get_u16(&m->cur, v);
}

int
msg_get_u32(struct msg *m, uint32_t *v)
{
	return wire_get_u32(&m->cur, v);
}

int
msg_get_u64(struct msg *m, uint64_t *v)
{
	return wire_get_u64(&m->cur, v);
}

int
msg_get_bytes(struct msg *m, void *out, size_t len)
{
	return wire_get_bytes(&m->cur, out, len);
}

int
msg_get_ref(struct msg *m, const uint8_t **out, size_t len)
{
	return wire_get_ref(&m->cur, out, len);
}

int
msg_get_str(struct msg *m, char *buf, size_t cap)
{
	const uint8_t *p;
	uint16_t n;

	if (msg_get_u16(m, &n) == -1)
		return -1;
	if (n >= cap || n > MSG_STR_MAX || msg_get_ref(m, &p, n) == -1 ||
	    memchr(p, '\0', n) != NULL) {
		m->cur.bad = 1;
		return -1;
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 0;
}

int
msg_end(const struct msg *m)
{
	return wire_end(&m->cur);
}
