/*
 * What the parts of the forwarder's connection to one receiver share:
 * conn.c (connecting, TLS, the stream, timers) and login.c (checking the
 * receiver, CHALLENGE, WELCOME).  The rest of the forwarder sees only the
 * fwd_conn_* functions of forwarder.h.
 */
#ifndef FWD_CONN_H
#define FWD_CONN_H

#include <netdb.h>

#include <openssl/ssl.h>

#include "forwarder.h"
#include "tlsio.h"
#include "wire.h"

/* Longest R->S payload: WELCOME with a proof and a whole tail. */
#define RX_MAX		(1 + WIRE_MAC_LEN + WIRE_ID_LEN + 19 + WIRE_TAIL_MAX)
#define ADDR_MAX	256

enum cstate {
	FC_IDLE,			/* waiting for next_try */
	FC_DISABLED,		/* its configuration cannot work */
	FC_RESOLVING,
	FC_CONNECTING,
	FC_TLS,
	FC_HELLO,		/* HELLO sent, CHALLENGE expected */
	FC_AUTH,			/* AUTH sent, WELCOME expected */
	FC_STREAM,
};


enum fail_kind { F_TRANSIENT, F_SERIOUS };

struct fwd_conn {
	enum fwd_ev		 ev;		/* EV_CONN: epoll dispatch */
	unsigned		 idx;
	const struct conf_host	*ch;
	char			 host[ADDR_MAX];	/* from remote: name or address */
	char			 port[8];
	int			 numeric;	/* host is an address literal */
	SSL_CTX			*ctx;
	enum cstate		 st;
	int			 fd;
	uint32_t		 events;	/* registered with epoll, 0: not */
	struct tlsio		*tls;
	/* name lookup; the request may outlive an attempt that gave up */
	struct gaicb		 gai;
	struct addrinfo		 hints;
	int			 gai_busy;
	struct addrinfo		*ai, *ai_cur;
	int			 last_errno;
	char			 peer[ADDR_MAX + 16];	/* for messages */
	/* times, fwd_now_ms() */
	int64_t			 deadline;	/* of the attempt, until WELCOME */
	int64_t			 next_try;
	int64_t			 last_rx, last_tx;
	int64_t			 up_since;
	/* failure episodes */
	unsigned		 failures;
	unsigned		 backoff;	/* seconds, the current base */
	int			 healthy;
	int			 said_connected;
	int			 said_dates;	/* pinned cert out of its dates */
	int64_t			 said_dates_at;
	char			 logged[FWD_REASON_MAX + 1];
	/* protocol */
	uint8_t			 nonce_s[WIRE_NONCE_LEN];
	uint8_t			 nonce_r[WIRE_NONCE_LEN];
	uint8_t			 ekm[TLSIO_EKM_LEN];
	struct wbuf		 out;
	int			 write_blocked;	/* waiting for EPOLLOUT */
	int			 read_wants_write;
	uint8_t			 in[WIRE_HDR_LEN + RX_MAX];
	size_t			 inlen;
	uint64_t		 token;
	uint16_t		 version;	/* HELLO's: 3, or 2 for an
						   older receiver */
	uint16_t		 proto;		/* CHALLENGE's: spoken */
	/* audisp-dist's health for the receiver, as HEALTH carries it */
	char			 health[WIRE_MAX_HEALTH];
	size_t			 hlen;
	/* the stream */
	struct fwd_reader	 rd;		/* what comes next */
	struct wire_pos		 sent;		/* end of what was sent */
	struct wire_pos		 acked;
	struct fwd_window	 win;
};

/* conn.c */
void	fc_fail(struct fwd_conn *, enum fail_kind, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/* An error of the receiver's: tell it, then fail. */
void	fc_error(struct fwd_conn *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* HEALTH, to a receiver that speaks it; also the heartbeat. */
void	fc_send_health(struct fwd_conn *);

/* login.c; -1: the connection failed (fc_fail), 0: go on. */
/* After the TLS handshake: the receiver is the one pinned. */
int	fc_verify(struct fwd_conn *);
/* A pinned certificate out of its dates: said, at most daily. */
void	fc_dates(struct fwd_conn *);
/* The TLS handshake failed: why, and whether a person must act. */
void	fc_tls_failed(struct fwd_conn *);
int	fc_challenge(struct fwd_conn *, const uint8_t *, size_t);
int	fc_welcome(struct fwd_conn *, const uint8_t *, size_t);

#endif
