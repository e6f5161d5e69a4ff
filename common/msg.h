/*
 * Messages between the processes of one program (not the network
 * protocol: both ends are the same binary, so the byte layout may change
 * from one release to the next).  A message is an 8-byte header (u32
 * payload length, u8 type, 3 zero bytes) and typed fields, integers
 * big-endian.  Each direction declares the types it accepts and the
 * payload length each may have; one decoder (msg_header, msg_frame) finds
 * a whole message in a byte stream or a datagram and refuses any other.
 * Fields are then read through a cursor whose getters fail instead of
 * reading past the end, and msg_end says whether anything was left over.
 */
#ifndef AUDITDIST_MSG_H
#define AUDITDIST_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define MSG_HDR_LEN	8

/* What one direction accepts; a table ends with type 0. */
struct msg_type {
	uint8_t		 type;
	uint32_t	 min, max;	/* payload bytes */
};

/* A received message: its header and a cursor over its payload. */
struct msg {
	uint8_t		 type;
	uint32_t	 len;		/* payload */
	size_t		 size;		/* header and payload */
	struct cursor	 cur;
};

/*
 * Writing.  msg_begin starts a message in w (returns a mark), the puts
 * append fields, msg_finish writes the payload length into the header and
 * checks it against types: sending what the other end would refuse is a
 * bug.  Out of memory is fatal (as for any queue of ours).  msg_hdr writes
 * a header with a known length, for a payload that goes out by other means
 * (writev of the caller's buffer).
 */
size_t	msg_begin(struct wbuf *, uint8_t type);
void	msg_finish(struct wbuf *, size_t mark, const struct msg_type *);
void	msg_hdr(struct wbuf *, uint8_t type, size_t len,
	    const struct msg_type *);
void	msg_put_u8(struct wbuf *, uint8_t);
void	msg_put_u16(struct wbuf *, uint16_t);
void	msg_put_u32(struct wbuf *, uint32_t);
void	msg_put_u64(struct wbuf *, uint64_t);
void	msg_put_bytes(struct wbuf *, const void *, size_t);	/* fixed */
/* u16 length, then the bytes: at most MSG_STR_MAX of them. */
#define MSG_STR_MAX	1024
void	msg_put_str(struct wbuf *, const char *, size_t len);

/*
 * Decoding.  msg_header: 0 and type and len for a header that types
 * accepts (zero padding, a known type, a length in its bounds), else -1
 * (errno EBADMSG).  msg_frame: the first message of buf: 1 when it is
 * whole (m filled, m->size bytes to skip), 0 when more bytes are needed
 * (m->size: how many in all), -1 for a bad header.
 */
int	msg_header(const uint8_t hdr[MSG_HDR_LEN], const struct msg_type *,
	    uint8_t *type, uint32_t *len);
int	msg_frame(const uint8_t *buf, size_t len, const struct msg_type *,
	    struct msg *m);
/* A message whose header was checked and whose payload is p. */
void	msg_init(struct msg *, uint8_t type, const uint8_t *p, uint32_t len);

/* Getters: -1 on a short field; a failed getter fails every later one. */
int	msg_get_u8(struct msg *, uint8_t *);
int	msg_get_u16(struct msg *, uint16_t *);
int	msg_get_u32(struct msg *, uint32_t *);
int	msg_get_u64(struct msg *, uint64_t *);
int	msg_get_bytes(struct msg *, void *, size_t);
int	msg_get_ref(struct msg *, const uint8_t **, size_t);
/* Bytes not yet read. */
#define	msg_left(m)	((m)->cur.left)
/*
 * A string msg_put_str wrote, into buf with its NUL: -1 if it does not
 * fit in cap bytes or holds a NUL.
 */
int	msg_get_str(struct msg *, char *buf, size_t cap);
/* 0 when every byte was read and no getter failed. */
int	msg_end(const struct msg *);

#endif
