/*
 * The auditdist protocol, version 3: framing and messages.  Described for
 * people in docs/protocol.md.  Every integer is big-endian; every
 * message is length-prefixed and bounded; decoding goes through a cursor
 * whose getters fail instead of reading past the end.
 */
#ifndef AUDITDIST_WIRE_H
#define AUDITDIST_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_MAGIC		0x41445354u	/* "ADST" */
#define WIRE_VERSION		3
/* The oldest version spoken: a v2 peer ships, without HEALTH. */
#define WIRE_MIN_VERSION	2
#define WIRE_HDR_LEN		8		/* u32 length, u8 type, 3 zero */
/* What wire_enc_data_hdr writes: the frame header, seq and offset. */
#define WIRE_DATA_HDR_LEN	(WIRE_HDR_LEN + 16)
#define WIRE_MAX_DATA		(1024 * 1024)	/* bytes of records per DATA */
#define WIRE_MAX_PAYLOAD	(WIRE_MAX_DATA + 64)
#define WIRE_MAX_HOST		255
#define WIRE_MAX_REASON		1024
#define WIRE_ID_LEN		16		/* spool identity, raw bytes */
#define WIRE_NONCE_LEN		32
#define WIRE_MAC_LEN		32		/* HMAC-SHA256 */
/*
 * WELCOME's tail: the last bytes the receiver holds of a segment, at
 * least min(size, WIRE_TAIL_MIN); from version 3 back to the start of a
 * line, at most WIRE_TAIL_MAX (version 2: exactly min(size, 4096)).
 */
#define WIRE_TAIL_MIN		4096
#define WIRE_TAIL_MAX		65535
/* HEALTH: its text, its pairs, a key's and a value's length. */
#define WIRE_MAX_HEALTH		1024
#define WIRE_HEALTH_PAIRS	48
#define WIRE_HEALTH_KEY		32
#define WIRE_HEALTH_VALUE	64

enum wire_type {
	WIRE_MSG_HELLO = 1,		/* S->R: magic, version, host, spool id, nonce */
	WIRE_MSG_CHALLENGE = 2,	/* R->S: version, nonce */
	WIRE_MSG_AUTH = 3,		/* S->R: proof (or empty: certificate only) */
	WIRE_MSG_WELCOME = 4,	/* R->S: proof, what the receiver holds */
	WIRE_MSG_DATA = 5,		/* S->R: seq, offset, whole lines */
	WIRE_MSG_SEGEND = 6,		/* S->R: seq, size: segment closed */
	WIRE_MSG_ACK = 7,		/* R->S: seq, size, complete: durable up to */
	WIRE_MSG_PING = 8,		/* either: token */
	WIRE_MSG_PONG = 9,		/* either: token */
	WIRE_MSG_ERROR = 10,		/* either: code, reason; then close */
	WIRE_MSG_BYE = 11,		/* either: orderly close */
	WIRE_MSG_DATAZ = 12,		/* S->R: seq, offset, length, zstd frame */
	WIRE_MSG_HEALTH = 13,	/* S->R (v3): key=value text: how it fares */
};
#define WIRE_MSG_LAST	WIRE_MSG_HEALTH

enum wire_error {
	WIRE_ERR_PROTOCOL = 1,	/* malformed or unexpected message */
	WIRE_ERR_VERSION = 2,	/* no common protocol version */
	WIRE_ERR_AUTH = 3,		/* authentication failed */
	WIRE_ERR_UNKNOWN_HOST = 4,	/* no such host, or not from that address */
	WIRE_ERR_OFFSET = 5,		/* DATA does not continue the stored copy */
	WIRE_ERR_DISK_FULL = 6,	/* receiver cannot store now: retry later */
	WIRE_ERR_IO = 7,		/* receiver storage error: retry later */
	WIRE_ERR_BUSY = 8,		/* too many connections: retry later */
	WIRE_ERR_SHUTDOWN = 9,	/* receiver stopping: retry later */
	WIRE_ERR_TIMEOUT = 10,	/* peer too slow */
	WIRE_ERR_SERIES = 11,	/* the host is pinned to another spool's series */
};

/* A bounded reader over bytes from outside. */
struct cursor {
	const uint8_t	*p;
	size_t		 left;
	int		 bad;		/* a getter failed: everything after fails */
};

void	cursor_init(struct cursor *, const void *buf, size_t len);
int	wire_get_u8(struct cursor *, uint8_t *);
int	wire_get_u16(struct cursor *, uint16_t *);
int	wire_get_u32(struct cursor *, uint32_t *);
int	wire_get_u64(struct cursor *, uint64_t *);
int	wire_get_bytes(struct cursor *, void *out, size_t len);
/* Point *out into the buffer; no copy. */
int	wire_get_ref(struct cursor *, const uint8_t **out, size_t len);
/* 0 if every byte was consumed and no getter failed, else -1. */
int	wire_end(const struct cursor *);

/* A growable output buffer. */
struct wbuf {
	uint8_t		*buf;
	size_t		 len, cap, off;	/* off: bytes already sent */
};

void	wbuf_init(struct wbuf *);
void	wbuf_free(struct wbuf *);
int	wbuf_reserve(struct wbuf *, size_t more);
void	wbuf_put_u8(struct wbuf *, uint8_t);	/* after wbuf_reserve */
void	wbuf_put_u16(struct wbuf *, uint16_t);
void	wbuf_put_u32(struct wbuf *, uint32_t);
void	wbuf_put_u64(struct wbuf *, uint64_t);
void	wbuf_put_bytes(struct wbuf *, const void *, size_t);
/* Drop what was sent (off) from the front. */
void	wbuf_compact(struct wbuf *);
#define	wbuf_pending(w)	((w)->len - (w)->off)

/*
 * Decoded messages.  Pointers point into the frame buffer.  Where a
 * message has a why, a decoder that refuses it says there what was wrong
 * (a static string, for the log and the ERROR sent back).
 */
struct msg_hello {
	const char	*why;
	uint16_t	 version;
	char		 host[WIRE_MAX_HOST + 1];	/* validated name */
	uint8_t		 spool_id[WIRE_ID_LEN];
	uint8_t		 nonce[WIRE_NONCE_LEN];
};
struct msg_challenge {
	uint16_t	 version;
	uint8_t		 nonce[WIRE_NONCE_LEN];
};
struct msg_auth {
	int		 has_proof;
	uint8_t		 proof[WIRE_MAC_LEN];
};
struct msg_welcome {
	int		 has_proof;
	uint8_t		 proof[WIRE_MAC_LEN];
	uint8_t		 spool_id[WIRE_ID_LEN];	/* all zero: nothing stored */
	uint64_t	 seq, size;
	uint8_t		 complete;
	/*
	 * The last tail_len bytes of segment seq as stored (bytes size -
	 * tail_len to size): 0 when nothing is held, else from the start of
	 * the line that holds byte size - WIRE_TAIL_MIN (or from byte 0),
	 * at most WIRE_TAIL_MAX.  The sender compares them with its copy.
	 */
	const uint8_t	*tail;
	size_t		 tail_len;
};
struct msg_data {
	const char	*why;
	uint64_t	 seq, offset;
	const uint8_t	*data;		/* ends with '\n' */
	size_t		 len;		/* 1..WIRE_MAX_DATA */
};
struct msg_dataz {
	const char	*why;
	uint64_t	 seq, offset;
	uint32_t	 rawlen;	/* 1..WIRE_MAX_DATA: the lines' length */
	const uint8_t	*z;		/* one zstd frame */
	size_t		 zlen;
};
/*
 * A position in a sender's series: byte offset size of segment seq, and
 * whether that segment is complete there; seq 0 is "nothing".  SEGEND and
 * ACK carry it, the forwarder keeps one per receiver, and the receiver's
 * struct trail_pos is one with the series' spool id.
 */
struct wire_pos {
	uint64_t	 seq, size;
	int		 complete;	/* ACK only, on the wire */
};
/* (seq, size) order; complete is not compared. */
int	wire_pos_cmp(const struct wire_pos *, const struct wire_pos *);
struct msg_error {
	uint16_t	 code;
	char		 reason[WIRE_MAX_REASON + 1];	/* made printable */
};

/*
 * HEALTH (docs/protocol.md, "Health"): "key=value key=value ...", keys
 * [a-z0-9_], values [A-Za-z0-9._:+-] or empty; unknown keys are skipped,
 * a known one given twice or with a bad value makes it malformed.
 * Numbers are -1 when absent or "none"/"unknown".
 */
enum wire_health_format { WH_FMT_UNKNOWN, WH_FMT_RAW, WH_FMT_ENRICHED,
	WH_FMT_MIXED };
struct msg_health {
	int64_t		 time;		/* the sender's clock, when made */
	int64_t		 records_in;
	int64_t		 dropped_records, dropped_bytes;	/* spool */
	int64_t		 rejected_records, rejected_bytes;	/* malformed */
	int64_t		 kernel_lost, kernel_backlog;
	int64_t		 spool_bytes;
	int64_t		 unacked_bytes;		/* for this receiver */
	int64_t		 oldest_unshipped_age;	/* seconds */
	int64_t		 start_time;		/* the plugin's */
	char		 boot_id[37];		/* "" when absent */
	enum wire_health_format format;
	const uint8_t	*text;			/* as sent, validated */
	size_t		 len;
};
const char *wire_health_format_name(enum wire_health_format);

/*
 * Frame header: returns 0 and fills type/len for a well-formed header
 * (len <= WIRE_MAX_PAYLOAD, zero padding, a known type), -1 otherwise.
 */
int	wire_parse_header(const uint8_t hdr[WIRE_HDR_LEN], uint8_t *type,
	    uint32_t *len);
/* The same; on -1, why says what is wrong with the header. */
struct wire_hdr {
	uint32_t	 len;
	uint8_t		 type;
	char		 why[64];
};
int	wire_dec_header(const uint8_t hdr[WIRE_HDR_LEN], struct wire_hdr *);

/* Decoders: -1 for anything malformed (including trailing bytes). */
int	wire_dec_hello(const uint8_t *, size_t, struct msg_hello *);
int	wire_dec_challenge(const uint8_t *, size_t, struct msg_challenge *);
int	wire_dec_auth(const uint8_t *, size_t, struct msg_auth *);
int	wire_dec_welcome(const uint8_t *, size_t, struct msg_welcome *);
int	wire_dec_data(const uint8_t *, size_t, struct msg_data *);
/* The lines of a DATAZ, compressed, with their length (rawlen). */
int	wire_enc_dataz(struct wbuf *, uint64_t seq, uint64_t offset,
	    size_t rawlen, const void *z, size_t zlen);
int	wire_dec_dataz(const uint8_t *, size_t, struct msg_dataz *);
int	wire_dec_pos(const uint8_t *, size_t, int with_complete,
	    struct wire_pos *);
int	wire_dec_token(const uint8_t *, size_t, uint64_t *);
int	wire_dec_error(const uint8_t *, size_t, struct msg_error *);
/* The text alone is checked the same way (the forwarder's input). */
int	wire_dec_health(const uint8_t *, size_t, struct msg_health *);

/* Encoders append a whole frame to the buffer; -1 only on ENOMEM. */
int	wire_enc_hello(struct wbuf *, const char *host,
	    const uint8_t id[WIRE_ID_LEN], const uint8_t nonce[WIRE_NONCE_LEN]);
/* HELLO saying another version: a fallback to an older receiver. */
int	wire_enc_hello_version(struct wbuf *, uint16_t version,
	    const char *host, const uint8_t id[WIRE_ID_LEN],
	    const uint8_t nonce[WIRE_NONCE_LEN]);
/* version: the one the connection speaks, the sender's if spoken. */
int	wire_enc_challenge(struct wbuf *, uint16_t version,
	    const uint8_t nonce[WIRE_NONCE_LEN]);
int	wire_enc_auth(struct wbuf *, const uint8_t *proof);	/* NULL: none */
int	wire_enc_welcome(struct wbuf *, const uint8_t *proof,
	    const uint8_t id[WIRE_ID_LEN], uint64_t seq, uint64_t size,
	    int complete, const void *tail, size_t tail_len);
/* DATA header only; the caller appends len bytes of data after it. */
int	wire_enc_data_hdr(struct wbuf *, uint64_t seq, uint64_t offset,
	    size_t len);
int	wire_enc_data(struct wbuf *, uint64_t seq, uint64_t offset,
	    const void *data, size_t len);
int	wire_enc_segend(struct wbuf *, uint64_t seq, uint64_t size);
int	wire_enc_ack(struct wbuf *, uint64_t seq, uint64_t size, int complete);
int	wire_enc_token(struct wbuf *, enum wire_type, uint64_t token);
int	wire_enc_error(struct wbuf *, enum wire_error, const char *reason);
int	wire_enc_bye(struct wbuf *);
/* -1 with EINVAL if wire_dec_health would refuse the text. */
int	wire_enc_health(struct wbuf *, const char *text, size_t len);

const char *wire_type_name(int type);
const char *wire_error_name(int code);
/* A host name as the config allows it: 1..255 of [A-Za-z0-9._-], not . or .. */
int	wire_valid_host(const char *, size_t len);

#endif
