/*
 * The receiver's internal messages (listed in auditdistd.h): what each
 * direction accepts, and one encoder and one decoder per message, over
 * common/msg.c.  The writer's requests are checked again by the writer,
 * the answers by the network process, the control messages by both:
 * each is our own sibling, so what fails here is a bug and the caller
 * aborts.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auditdistd.h"
#include "log.h"

/* The bounds are those of the framing each replaced, and the slot. */
#define SL	WMSG_SLOT_LEN
const struct msg_type wmsg_requests[] = {
	{ WMSG_HELLO, SL, SL },
	{ WMSG_DATA, WMSG_DATA_FIXED + 1, WMSG_MAX },
	{ WMSG_SEGEND, SL + WIRE_ID_LEN + 16, SL + WIRE_ID_LEN + 16 },
	{ WMSG_SYNC, SL + 8, SL + 8 },
	{ WMSG_CLOSE, SL, SL },
	{ 0, 0, 0 }
};
const struct msg_type wmsg_answers[] = {
	{ WMSG_STATE, SL + 1 + 4 + 2, WMSG_STATE_MAX },
	{ WMSG_DURABLE, SL + 8 + WMSG_POS_LEN, SL + 8 + WMSG_POS_LEN },
	{ WMSG_FAIL, SL + 4 + 2, SL + 4 + 2 + WMSG_REASON_MAX },
	{ 0, 0, 0 }
};
const struct msg_type ctl_to_parent[] = {
	{ CTL_WRITER, 2 + 1, 2 + WIRE_MAX_HOST },
	{ CTL_READY, 0, 0 },
	{ CTL_PING, 0, 0 },
	{ CTL_HEALTH, 2 + 1, 2 + WIRE_MAX_HOST + CTL_BODY_MAX },
	{ 0, 0, 0 }
};
const struct msg_type ctl_from_auditor[] = {
	{ CTL_SERIAL, 2 + 1 + CTL_SERIAL_LEN, 2 + WIRE_MAX_HOST + CTL_SERIAL_LEN },
	{ 0, 0, 0 }
};
const struct msg_type ctl_from_publisher[] = {
	{ CTL_PUBLISH, 2 + 1 + CTL_PUBLISH_LEN,
	    2 + WIRE_MAX_HOST + CTL_PUBLISH_LEN },
	{ 0, 0, 0 }
};
const struct msg_type ctl_to_committer[] = {
	{ CTL_POOL, 4, 4 },
	{ 0, 0, 0 }
};
const struct msg_type ctl_to_net[] = {
	{ CTL_POOL, 4, 4 },
	{ CTL_SLOT, 2 + 1 + 6, 2 + WIRE_MAX_HOST + 6 },
	{ CTL_NOWRITER, 2 + 1, 2 + WIRE_MAX_HOST },
	{ CTL_PING, 0, 0 },
	{ 0, 0, 0 }
};

/* --- requests ------------------------------------------------------------ */

static size_t
begin(struct wbuf *w, uint8_t type, unsigned slot)
{
	size_t mark = msg_begin(w, type);

	VERIFY(slot < WRITER_MAX_HOSTS);
	msg_put_u16(w, (uint16_t)slot);
	return mark;
}

void
wmsg_put_slot(struct wbuf *w, enum wmsg_type type, unsigned slot)
{
	VERIFY(type == WMSG_HELLO || type == WMSG_CLOSE);
	msg_finish(w, begin(w, (uint8_t)type, slot), wmsg_requests);
}

void
wmsg_put_data_hdr(struct wbuf *w, unsigned slot,
    const uint8_t id[WIRE_ID_LEN], uint64_t seq, uint64_t offset, size_t len)
{
	VERIFY(slot < WRITER_MAX_HOSTS);
	msg_hdr(w, WMSG_DATA, WMSG_DATA_FIXED + len, wmsg_requests);
	msg_put_u16(w, (uint16_t)slot);
	msg_put_bytes(w, id, WIRE_ID_LEN);
	msg_put_u64(w, seq);
	msg_put_u64(w, offset);
}

void
wmsg_put_segend(struct wbuf *w, unsigned slot, const uint8_t id[WIRE_ID_LEN],
    uint64_t seq, uint64_t size)
{
	size_t mark = begin(w, WMSG_SEGEND, slot);

	msg_put_bytes(w, id, WIRE_ID_LEN);
	msg_put_u64(w, seq);
	msg_put_u64(w, size);
	msg_finish(w, mark, wmsg_requests);
}

void
wmsg_put_sync(struct wbuf *w, unsigned slot, uint64_t token)
{
	size_t mark = begin(w, WMSG_SYNC, slot);

	msg_put_u64(w, token);
	msg_finish(w, mark, wmsg_requests);
}

static int
get_slot(struct msg *m, struct wmsg *r)
{
	return msg_get_u16(m, &r->slot) == -1 ||
	    r->slot >= WRITER_MAX_HOSTS ? -1 : 0;
}

int
wmsg_dec_request(struct msg *m, struct wmsg *r)
{
	memset(r, 0, sizeof(*r));
	r->type = m->type;
	if (get_slot(m, r) == -1)
		return -1;
	switch (m->type) {
	case WMSG_HELLO:
	case WMSG_CLOSE:
		break;
	case WMSG_DATA:
		if (msg_get_bytes(m, r->id, WIRE_ID_LEN) == -1 ||
		    msg_get_u64(m, &r->seq) == -1 ||
		    msg_get_u64(m, &r->offset) == -1 || msg_left(m) == 0)
			return -1;
		r->len = msg_left(m);
		if (msg_get_ref(m, &r->data, r->len) == -1)
			return -1;
		break;
	case WMSG_SEGEND:
		if (msg_get_bytes(m, r->id, WIRE_ID_LEN) == -1 ||
		    msg_get_u64(m, &r->seq) == -1 ||
		    msg_get_u64(m, &r->offset) == -1)
			return -1;
		break;
	case WMSG_SYNC:
		if (msg_get_u64(m, &r->token) == -1)
			return -1;
		break;
	default:
		return -1;
	}
	return msg_end(m);
}

/* --- answers ------------------------------------------------------------- */

static void
put_pos(struct wbuf *w, const struct trail_pos *p)
{
	msg_put_bytes(w, p->id, WIRE_ID_LEN);
	msg_put_u64(w, p->seq);
	msg_put_u64(w, p->size);
	msg_put_u8(w, p->complete ? 1 : 0);
}

static int
get_pos(struct msg *m, struct trail_pos *p)
{
	uint8_t complete;

	memset(p, 0, sizeof(*p));
	if (msg_get_bytes(m, p->id, WIRE_ID_LEN) == -1 ||
	    msg_get_u64(m, &p->seq) == -1 ||
	    msg_get_u64(m, &p->size) == -1 ||
	    msg_get_u8(m, &complete) == -1 || complete > 1)
		return -1;
	p->complete = complete;
	return 0;
}

void
wmsg_put_state(struct wbuf *w, unsigned slot, const struct trail_pos *pos,
    const uint8_t *tail, size_t tail_len)
{
	size_t mark = begin(w, WMSG_STATE, slot);

	VERIFY(tail_len <= WIRE_TAIL_MAX && tail_len <= pos->size);
	msg_put_u8(w, 1);
	put_pos(w, pos);
	msg_put_u16(w, (uint16_t)tail_len);
	msg_put_bytes(w, tail, tail_len);
	msg_finish(w, mark, wmsg_answers);
}

void
wmsg_put_durable(struct wbuf *w, unsigned slot, uint64_t token,
    const struct trail_pos *pos)
{
	size_t mark = begin(w, WMSG_DURABLE, slot);

	msg_put_u64(w, token);
	put_pos(w, pos);
	msg_finish(w, mark, wmsg_answers);
}

void
wmsg_put_failure(struct wbuf *w, unsigned slot, enum wmsg_type type, int err,
    const char *why)
{
	size_t n = strlen(why), mark;

	VERIFY(type == WMSG_STATE || type == WMSG_FAIL);
	if (n > WMSG_REASON_MAX)
		n = WMSG_REASON_MAX;
	mark = begin(w, (uint8_t)type, slot);
	if (type == WMSG_STATE)
		msg_put_u8(w, 0);
	msg_put_u32(w, (uint32_t)err);
	msg_put_str(w, why, n);
	msg_finish(w, mark, wmsg_answers);
}

static int
get_failure(struct msg *m, struct wmsg *a)
{
	uint32_t e;

	if (msg_get_u32(m, &e) == -1 ||
	    msg_get_str(m, a->why, sizeof(a->why)) == -1)
		return -1;
	a->err = (int)e;
	return 0;
}

int
wmsg_dec_answer(struct msg *m, struct wmsg *a)
{
	uint16_t tail_len;
	uint8_t ok;

	memset(a, 0, sizeof(*a));
	a->type = m->type;
	if (get_slot(m, a) == -1)
		return -1;
	switch (m->type) {
	case WMSG_STATE:
		if (msg_get_u8(m, &ok) == -1 || ok > 1)
			return -1;
		a->ok = ok;
		if (!ok) {
			if (get_failure(m, a) == -1)
				return -1;
			break;
		}
		if (get_pos(m, &a->pos) == -1 ||
		    msg_get_u16(m, &tail_len) == -1 ||
		    tail_len > a->pos.size ||
		    msg_get_ref(m, &a->data, tail_len) == -1)
			return -1;
		a->len = tail_len;
		break;
	case WMSG_DURABLE:
		if (msg_get_u64(m, &a->token) == -1 ||
		    get_pos(m, &a->pos) == -1)
			return -1;
		break;
	case WMSG_FAIL:
		if (get_failure(m, a) == -1)
			return -1;
		break;
	default:
		return -1;
	}
	return msg_end(m);
}

/* --- the control channel ------------------------------------------------- */

void
ctl_put(struct wbuf *w, const struct ctl_msg *c, const struct msg_type *types)
{
	size_t mark, n = strnlen(c->host, WIRE_MAX_HOST + 1);

	VERIFY(n <= WIRE_MAX_HOST);	/* before anything is reserved */
	VERIFY(c->bodylen <= sizeof(c->body));
	mark = msg_begin(w, c->type);
	if (c->type == CTL_WRITER || c->type == CTL_NOWRITER ||
	    c->type == CTL_SLOT || c->type == CTL_HEALTH ||
	    c->type == CTL_SERIAL || c->type == CTL_PUBLISH)
		msg_put_str(w, c->host, n);
	if (c->type == CTL_POOL || c->type == CTL_SLOT)
		msg_put_u32(w, c->pool);
	if (c->type == CTL_SLOT) {
		VERIFY(c->slot < WRITER_MAX_HOSTS);
		msg_put_u16(w, c->slot);
	}
	if (c->bodylen > 0)
		msg_put_bytes(w, c->body, c->bodylen);
	msg_finish(w, mark, types);
}

/* A message whose rest follows its host: CTL_HEALTH, CTL_SERIAL. */
void
ctl_put_body(struct wbuf *w, enum ctl_type type, const char *host,
    const void *body, size_t len, const struct msg_type *types)
{
	struct ctl_msg c;

	VERIFY(len <= sizeof(c.body));
	memset(&c, 0, sizeof(c));
	c.type = (uint8_t)type;
	snprintf(c.host, sizeof(c.host), "%s", host);
	if (len > 0)
		memcpy(c.body, body, len);
	c.bodylen = len;
	ctl_put(w, &c, types);
}

int
ctl_dec(struct msg *m, struct ctl_msg *c)
{
	memset(c, 0, sizeof(*c));
	c->type = m->type;
	switch (m->type) {
	case CTL_WRITER:
	case CTL_NOWRITER:
	case CTL_SLOT:
		if (msg_get_str(m, c->host, sizeof(c->host)) == -1 ||
		    !wire_valid_host(c->host, strlen(c->host)))
			return -1;
		if (m->type == CTL_SLOT && (msg_get_u32(m, &c->pool) == -1 ||
		    msg_get_u16(m, &c->slot) == -1 ||
		    c->slot >= WRITER_MAX_HOSTS))
			return -1;
		break;
	case CTL_POOL:
		if (msg_get_u32(m, &c->pool) == -1)
			return -1;
		break;
	case CTL_READY:
	case CTL_PING:
		break;
	case CTL_SERIAL:
	case CTL_PUBLISH:
		c->bodylen = m->type == CTL_SERIAL ? CTL_SERIAL_LEN :
		    CTL_PUBLISH_LEN;
		if (msg_get_str(m, c->host, sizeof(c->host)) == -1 ||
		    !wire_valid_host(c->host, strlen(c->host)) ||
		    msg_get_bytes(m, c->body, c->bodylen) == -1)
			return -1;
		break;
	case CTL_HEALTH:	/* rstatus.c reads the rest */
		if (msg_get_str(m, c->host, sizeof(c->host)) == -1 ||
		    (c->host[0] != '\0' &&
		    !wire_valid_host(c->host, strlen(c->host))))
			return -1;
		c->bodylen = msg_left(m);
		if (c->bodylen > sizeof(c->body) ||
		    msg_get_bytes(m, c->body, c->bodylen) == -1)
			return -1;
		break;
	default:
		return -1;
	}
	return msg_end(m);
}

int
ctl_send_host(int sock, enum ctl_type type, const char *host,
    const struct msg_type *types)
{
	struct ctl_msg c;

	memset(&c, 0, sizeof(c));
	c.type = (uint8_t)type;
	snprintf(c.host, sizeof(c.host), "%s", host);
	return ctl_send(sock, &c, -1, types);
}

int
ctl_send(int sock, const struct ctl_msg *c, int fd,
    const struct msg_type *types)
{
	uint8_t buf[CTL_MAX], cbuf[CMSG_SPACE(sizeof(int))];
	struct wbuf w = { buf, 0, sizeof(buf), 0 };
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *cm;
	ssize_t n;

	ctl_put(&w, c, types);
	VERIFY(w.buf == buf);		/* it fit: no allocation */
	iov.iov_base = buf;
	iov.iov_len = w.len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd != -1) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	return n == -1 ? -1 : 0;
}

/* As ctl_recv; a malformed message is -2, why says what it was. */
static int
recv_msg(int sock, const struct msg_type *types, struct ctl_msg *c, int *fd,
    char *why, size_t whylen)
{
	uint8_t buf[CTL_MAX + 1], cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *cm;
	struct msg m;
	ssize_t n;

	*fd = -1;
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	do
		n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n == -1 && errno == EAGAIN)
		return 0;
	if (n <= 0) {
		if (n == 0)
			errno = 0;
		return -1;
	}
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
	/* A datagram is one whole message, nothing more. */
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    msg_frame(buf, (size_t)n, types, &m) != 1 ||
	    m.size != (size_t)n || ctl_dec(&m, c) == -1) {
		snprintf(why, whylen, "malformed control message (type %u, "
		    "%zd bytes)", n > 4 ? buf[4] : 0, n);
		if (*fd != -1)
			close(*fd);
		*fd = -1;
		return -2;
	}
	return 1;
}

int
ctl_recv(int sock, const struct msg_type *types, struct ctl_msg *c, int *fd,
    const char *from)
{
	char why[96];
	int rc;

	if ((rc = recv_msg(sock, types, c, fd, why, sizeof(why))) == -2)
		fatalx("%s: %s", from, why);
	return rc;
}

int
ctl_recv_child(int sock, const struct msg_type *types, struct ctl_msg *c,
    int *fd, const char *from)
{
	char why[96];
	int rc;

	if ((rc = recv_msg(sock, types, c, fd, why, sizeof(why))) == -2)
		log_warnx("%s: %s", from, why);
	return rc;
}
