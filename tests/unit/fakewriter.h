/*
 * For the unit tests of the network process: a trail writer played by the
 * test on the other end of a pool's socketpair.  It reads the requests
 * wchan.c sends (imsg.c's layout), keeps each slot's position as a writer
 * would, and answers HELLO with STATE and SYNC with DURABLE, unless told
 * to hold its answers.
 */
#ifndef AUDITDIST_FAKEWRITER_H
#define AUDITDIST_FAKEWRITER_H

#include "auditdistd.h"

#define FW_SLOTS	4
#define FW_REQS		256

struct fw_req {
	uint8_t		 type;
	uint16_t	 slot;
	uint64_t	 seq, offset, token;
	size_t		 len;
	char		 data[64];	/* DATA's first bytes */
};

struct fwriter {
	int		 fd;
	uint8_t		 in[WMSG_HDR_LEN + WMSG_MAX];
	size_t		 inlen;
	struct wbuf	 out;
	struct trail_pos pos[FW_SLOTS];
	const uint8_t	*tail[FW_SLOTS];	/* STATE's, NULL: none */
	size_t		 tail_len[FW_SLOTS];
	struct fw_req	 reqs[FW_REQS];
	size_t		 nreq, nanswered;
	uint64_t	 hash[FW_SLOTS];	/* of each slot's DATA bytes */
	int		 hold;		/* read, but do not answer yet */
};

static inline void
fw_init(struct fwriter *fw, int fd)
{
	memset(fw, 0, sizeof(*fw));
	fw->fd = fd;
	wbuf_init(&fw->out);
}

/* What a writer does with one request: its position, and its answer. */
static inline void
fw_answer(struct fwriter *fw, const struct fw_req *r)
{
	struct trail_pos *pos = &fw->pos[r->slot];

	switch (r->type) {
	case WMSG_HELLO:
		wmsg_put_state(&fw->out, r->slot, pos, fw->tail[r->slot],
		    fw->tail_len[r->slot]);
		break;
	case WMSG_SYNC:
		wmsg_put_durable(&fw->out, r->slot, r->token, pos);
		break;
	default:
		break;
	}
}

/* FNV-1a, from h on. */
static inline uint64_t
fw_hash(uint64_t h, const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static inline void
fw_take(struct fwriter *fw, struct msg *m)
{
	struct fw_req *r = &fw->reqs[fw->nreq];
	struct wmsg q;

	if (wmsg_dec_request(m, &q) == -1 || fw->nreq == FW_REQS ||
	    q.slot >= FW_SLOTS)
		abort();
	memset(r, 0, sizeof(*r));
	r->type = q.type;
	r->slot = q.slot;
	r->seq = q.seq;
	r->offset = q.offset;
	r->token = q.token;
	r->len = q.len;
	if (q.type == WMSG_DATA) {
		fw->hash[q.slot] = fw_hash(fw->hash[q.slot], q.data, q.len);
		memcpy(r->data, q.data, q.len < sizeof(r->data) ? q.len :
		    sizeof(r->data) - 1);
		if (trail_pos_data(&fw->pos[q.slot], q.id, q.seq, q.offset,
		    q.len) == -1)
			abort();
	}
	if (q.type == WMSG_SEGEND && trail_pos_segend(&fw->pos[q.slot], q.id,
	    q.seq, q.offset) == -1)
		abort();
	fw->nreq++;
}

/*
 * Read every request there is, answer what is not held, send.  -1 when
 * the channel is closed.
 */
static inline int
fw_poll(struct fwriter *fw)
{
	struct msg m;
	size_t off;
	ssize_t n;
	int r, eof = 0;

	while ((n = read(fw->fd, fw->in + fw->inlen,
	    sizeof(fw->in) - fw->inlen)) > 0) {
		fw->inlen += (size_t)n;
		off = 0;
		while ((r = msg_frame(fw->in + off, fw->inlen - off,
		    wmsg_requests, &m)) == 1) {
			fw_take(fw, &m);
			off += m.size;
		}
		if (r == -1)
			abort();
		memmove(fw->in, fw->in + off, fw->inlen - off);
		fw->inlen -= off;
	}
	if (n == 0)
		eof = 1;
	for (; !fw->hold && fw->nanswered < fw->nreq; fw->nanswered++)
		fw_answer(fw, &fw->reqs[fw->nanswered]);
	while (wbuf_pending(&fw->out) > 0) {
		n = write(fw->fd, fw->out.buf + fw->out.off,
		    wbuf_pending(&fw->out));
		if (n <= 0)
			break;
		fw->out.off += (size_t)n;
	}
	wbuf_compact(&fw->out);
	return eof ? -1 : 0;
}

/* How many requests of this type (and slot, unless -1) were read. */
static inline size_t
fw_count(const struct fwriter *fw, uint8_t type, int slot)
{
	size_t i, n = 0;

	for (i = 0; i < fw->nreq; i++)
		if (fw->reqs[i].type == type && (slot == -1 ||
		    fw->reqs[i].slot == slot))
			n++;
	return n;
}

#endif
