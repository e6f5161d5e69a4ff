/*
 * auditdistd: the receiver.  One process, one epoll loop: it accepts TLS
 * connections from forwarders, authenticates them, and appends what they
 * send to one trail per host, acknowledging only what is on stable storage.
 *
 * Per host directory (see docs/protocol.md, "Receiver storage"):
 *   .store/0000000000000001		trail files, the receiver's own sequence
 *   .store/0000000000000001.idx	where each sender segment starts/ends
 *   audit.log, audit.log.1, ...	hard links to them, newest first, no gap
 */
#ifndef AUDITDISTD_H
#define AUDITDISTD_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "conf.h"
#include "wire.h"

#define TRAIL_STORE		".store"
#define TRAIL_LOG		"audit.log"
#define TRAIL_TMP		".audit.log.tmp"	/* ausearch never reads it */
#define TRAIL_NAME_LEN		16			/* hex digits */
#define TRAIL_IDX_SUFFIX	".idx"
#define TRAIL_DEFAULT_SIZE	(64ULL * 1024 * 1024)
#define TRAIL_MODE		0640
#define TRAIL_RO_MODE		0440			/* rotated, as auditd does */
#define TRAIL_DIR_MODE		0750
#define TRAIL_IDX_MAX		(64 * 1024 * 1024)	/* refuse larger indexes */

/* store.c */
struct tfile {
	uint64_t	 num;		/* name in .store */
	uint64_t	 size;		/* bytes */
	ino_t		 ino;
	dev_t		 dev;
};

int	 store_name(char *buf, size_t len, uint64_t num, int idx);
int	 store_parse_name(const char *name, uint64_t *num, int *idx);
/*
 * Open (creating with mode 0750 what is missing) the directory at path.
 * Components below base (a directory the caller trusts, opened from
 * base_path) are walked with O_NOFOLLOW; the last one must be a directory
 * owned by us and writable by nobody else.
 */
int	 store_open_dir(int basefd, const char *base_path, const char *path,
	    char *err, size_t errlen);
/* The same for a directory name inside parent (no '/'). */
int	 store_subdir(int parent, const char *name, const char *what,
	    char *err, size_t errlen);

struct trail;
int	 store_scan(struct trail *, char *err, size_t errlen);
int	 store_names(struct trail *, char *err, size_t errlen);
int	 store_new_file(struct trail *, char *err, size_t errlen);
int	 store_retain(struct trail *, char *err, size_t errlen);
int	 store_protect_rotated(struct trail *, char *err, size_t errlen);
int	 store_forget_newest(struct trail *);
int	 store_purge(struct trail *, char *err, size_t errlen);

/* trail.c */
struct trail_limits {
	uint64_t	 size;		/* start a new file past this, 0: default */
	unsigned	 keep;		/* files kept, 0: all */
	uint64_t	 max_size;	/* bytes kept, 0: no limit */
};

/* Where a host's copy of its sender's stream ends. */
struct trail_pos {
	uint8_t		 id[WIRE_ID_LEN];	/* all zero: nothing known */
	uint64_t	 seq;			/* sender segment */
	uint64_t	 size;			/* its bytes we hold */
	int		 complete;		/* SEGEND seen for it */
};

/* What a DATA (or SEGEND of an empty segment) at (id, seq, offset) does. */
enum trail_verdict {
	TRAIL_REJECT,		/* does not continue the stored copy */
	TRAIL_CONTINUE,		/* appends to the current segment */
	TRAIL_NEWSEG,		/* starts a later segment of the series */
	TRAIL_NEWSERIES,	/* the first data of another spool */
};

struct trail {
	char		*host;		/* for messages */
	int		 dirfd;		/* the host directory, flock'ed */
	int		 storefd;	/* .store */
	struct trail_limits lim;
	struct tfile	*files;		/* oldest first; the last is current */
	size_t		 nfiles, capfiles;
	uint64_t	 total;		/* bytes in all files, for retention */
	struct tfile	*gone;		/* forgotten at recovery, to unlink */
	size_t		 ngone;
	int		 fd, idxfd;	/* the current file and its index, or -1 */
	uint64_t	 idxsize;
	uint64_t	 segstart;	/* current segment's offset in fd */
	struct trail_pos pos;		/* written */
	struct trail_pos dpos;		/* durable: what ACK may say */
	uint64_t	 dfsize, didxsize; /* durable sizes, to cut back to */
	int		 dirty_data, dirty_idx;
	int		 failed;	/* storage error: free and reopen */
	/* what start-up recovery did, for logs and tests */
	uint64_t	 cut_bytes, cut_idx_bytes;
	unsigned	 renamed;	/* names (re)linked */
};

#define trail_current(t)	((t)->nfiles ? &(t)->files[(t)->nfiles - 1] : NULL)

/* Take dirfd (the host directory); recover and rebuild names from disk. */
struct trail	*trail_open(int dirfd, const char *host,
		    const struct trail_limits *, char *err, size_t errlen);
void		 trail_free(struct trail *);
void		 trail_set_limits(struct trail *, const struct trail_limits *);
enum trail_verdict trail_check(const struct trail *,
		    const uint8_t id[WIRE_ID_LEN], uint64_t seq, uint64_t offset);
/* "expected seq S offset O, got seq s offset o"; what: "offset", "size". */
void		 trail_expected(const struct trail *,
		    const uint8_t id[WIRE_ID_LEN], uint64_t seq, uint64_t off,
		    const char *what, char *buf, size_t len);
/*
 * Append whole lines at (id, seq, offset).  -1 with errno EINVAL when the
 * frame does not continue the copy (nothing written), else a storage errno:
 * then nothing of this frame stays on disk and trail->failed is set.
 */
int		 trail_append(struct trail *, const uint8_t id[WIRE_ID_LEN],
		    uint64_t seq, uint64_t offset, const void *, size_t);
/* SEGEND: the same errors. */
int		 trail_segend(struct trail *, const uint8_t id[WIRE_ID_LEN],
		    uint64_t seq, uint64_t size);
/* Make everything written durable; then dpos is what may be acked. */
int		 trail_sync(struct trail *);
int		 trail_pending(const struct trail *);
void		 trail_pos_str(const struct trail_pos *, char *, size_t);

/* hosts.c */
struct conn;
struct rhost {
	struct rhost		*next;
	char			*name;
	const struct conf_host	*ch;		/* in srv->conf */
	struct sockaddr_storage	*addrs;		/* remote, resolved */
	size_t			 naddrs;
	int			 any;		/* remote is a wildcard */
	char			*resolve_err;	/* why naddrs is 0 */
	struct trail		*trail;		/* NULL until first needed */
	struct conn		*conn;		/* the one live connection */
	int			 store_errno;	/* storage episode, 0: none */
};

struct server;
int		 hosts_load(struct server *, struct conf *, char *err,
		    size_t errlen);
void		 hosts_free(struct server *);
struct rhost	*hosts_find(struct server *, const char *name);
int		 rhost_addr_ok(const struct rhost *,
		    const struct sockaddr_storage *);
/* Open (recovering it) the host's trail if it is not open; -1 with errno. */
int		 rhost_trail(struct server *, struct rhost *);
/* A storage error: log once per episode, free the trail for recovery. */
void		 rhost_store_error(struct rhost *, int err, const char *what);
void		 rhost_store_ok(struct rhost *);
void		 trail_limits_from(const struct conf *, struct trail_limits *);

/* conn.c */
enum conn_state {
	C_TLS,		/* TLS handshake */
	C_HELLO,	/* waiting for HELLO */
	C_AUTH,		/* CHALLENGE sent, waiting for AUTH */
	C_AUTHFAIL,	/* the one-second delay before ERROR(ERR_AUTH) */
	C_READY,	/* WELCOME sent: DATA, SEGEND, PING... */
	C_CLOSING,	/* flushing a last message */
	C_DEAD,		/* freed after this round of events */
};

struct conn {
	int			 evtype;	/* EV_CONN, first member */
	struct conn		*next, *prev;
	struct server		*srv;
	int			 fd;
	struct tlsio		*tls;
	enum conn_state		 state;
	struct sockaddr_storage	 peer;
	char			 addr[64];	/* "[::1]:4242", for logs */
	char			 host[WIRE_MAX_HOST + 1];	/* from HELLO */
	struct rhost		*rh;		/* once authenticated */
	uint8_t			 spool_id[WIRE_ID_LEN];
	uint8_t			 nonce_s[WIRE_NONCE_LEN];
	uint8_t			 nonce_r[WIRE_NONCE_LEN];
	uint8_t			*rbuf;
	size_t			 rlen, rcap;
	struct wbuf		 out;
	uint32_t		 events;	/* registered with epoll */
	int			 hs_want;	/* TLS handshake waits for */
	int			 read_wants_write, write_wants_read;
	int			 draining;	/* closing: discarding input */
	uint64_t		 deadline;	/* handshake or idle, ms */
	uint64_t		 ping_at;	/* ms */
	uint64_t		 authfail_at;	/* ms, C_AUTHFAIL */
	uint64_t		 close_at;	/* ms, C_CLOSING */
	uint64_t		 ping_token;
	uint64_t		 bytes_in, frames_in;
	uint64_t		 acked_bytes;	/* for the close log line */
	int			 on_ready;	/* in srv's ready list */
	struct conn		*ready_next;
};

void	 conn_accept(struct server *, int fd,
	    const struct sockaddr_storage *, socklen_t);
void	 conn_event(struct conn *, uint32_t events);
void	 conn_timers(struct conn *, uint64_t now);
void	 conn_run(struct conn *);
/* Flush storage and ack, tell the peer why, close. */
void	 conn_close(struct conn *, enum wire_error, const char *reason);
void	 conn_drop(struct conn *);
void	 conn_free(struct conn *);
uint64_t conn_next_deadline(const struct conn *);

/* main.c */
enum ev_type { EV_LISTEN = 1, EV_SIGNAL, EV_TIMER, EV_CONN };

struct server {
	struct conf		*conf;
	SSL_CTX			*ctx;
	int			 epfd;
	int			 timerfd;
	uint64_t		 timer_armed;	/* ms, 0: not armed */
	int			 recvfd;	/* receiver directory, flock'ed */
	char			*recvdir;
	struct rhost		*hosts;
	struct conn		*conns;		/* every connection */
	struct conn		*ready;		/* has decrypted input waiting */
	struct conn		*dead;		/* freed after the event round */
	unsigned		 nconns, npending;
	int			 stopping;
};

#define MAX_CONNS		1024	/* all connections */
#define MAX_PENDING		256	/* not yet authenticated */

uint64_t now_ms(void);
void	 timer_want(struct server *, uint64_t at);
int	 ev_mod(struct server *, int fd, void *ptr, uint32_t events);
void	 ready_add(struct server *, struct conn *);

#endif
