/*
 * auditdistd: the receiver.  Three kinds of process (see auditdistd(8),
 * "Privilege separation"):
 *   - the parent (main.c) binds, opens the receiver directory, starts the
 *     others and never reads a byte from the network;
 *   - the network process (net.c, conn.c, conn_login.c, conn_data.c,
 *     hosts.c, health.c, wchan.c) accepts TLS connections, authenticates
 *     senders and checks every frame, in one epoll loop, with no access
 *     to any file;
 *   - writers (writer.c, trail.c, store.c), each started by the parent
 *     (pool.c) for a batch of up to writer_hosts hosts, append to those
 *     hosts' trails and make them durable in one group commit, and can
 *     reach no other directory;
 *   - the auditor (auditor.c, serial.c) reads the trails behind the
 *     writers and counts the kernel's serials that never reached them.
 * A host's trail is acknowledged only once its writer says it is durable.
 * capacity.c checks at the start that the limits on descriptors and
 * processes leave room for the configured hosts.
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

#include <signal.h>
#include <stdio.h>

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "conf.h"
#include "evloop.h"
#include "msg.h"
#include "sandbox.h"
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
/* A new file past this much index, whatever trail_size says. */
#define TRAIL_IDX_ROTATE	(TRAIL_IDX_MAX / 4)

/* store.c */
struct tfile {
	uint64_t	 num;		/* name in .store */
	uint64_t	 size;		/* bytes */
	uint64_t	 isize;		/* bytes of its index */
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
/* Make file num and its index read-only (gone already: nothing to do). */
int	 store_protect(struct trail *, uint64_t num);
int	 store_forget_newest(struct trail *);
/*
 * trail_group: from now on every trail file and directory this process
 * makes goes to group gid ((gid_t)-1: none, the default).  store_group
 * gives one (fd, ours) to it, readable by it (directories: 2750);
 * store_give does the same and logs a failure; store_regroup converts a
 * host's existing trail (its directory, .store, their files).
 */
void	 store_set_group(gid_t);
int	 store_group(int fd);
void	 store_give(int fd, const char *host, const char *what);
int	 store_regroup(int dirfd, const char *host, char *err, size_t errlen);
int	 store_purge(struct trail *, char *err, size_t errlen);

/* trail.c */
/* Sizes count a file's data and its index. */
struct trail_limits {
	uint64_t	 size;		/* start a new file past this, 0: default */
	unsigned	 keep;		/* files kept, 0: all */
	uint64_t	 max_size;	/* bytes kept, 0: no limit */
	uint64_t	 idx_size;	/* or past this much index, 0: default */
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
	uint64_t	 total;		/* bytes in all files and indexes */
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
	uint64_t	 protect_num;	/* rotated away: read-only once the new
					 * file's first S line is durable */
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
/* The same decisions on a position alone (the network process's copy). */
enum trail_verdict trail_pos_check(const struct trail_pos *,
		    const uint8_t id[WIRE_ID_LEN], uint64_t seq, uint64_t offset);
/* Where DATA or SEGEND leaves the position; -1 if it is refused. */
int		 trail_pos_data(struct trail_pos *,
		    const uint8_t id[WIRE_ID_LEN], uint64_t seq, uint64_t offset,
		    size_t len);
int		 trail_pos_segend(struct trail_pos *,
		    const uint8_t id[WIRE_ID_LEN], uint64_t seq, uint64_t size);
void		 trail_pos_expected(const struct trail_pos *,
		    const uint8_t id[WIRE_ID_LEN], uint64_t seq, uint64_t off,
		    const char *what, char *buf, size_t len);
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
/*
 * Its file and index were made durable by other means (a syncfs of their
 * file system that succeeded): the same bookkeeping as trail_sync's.
 */
void		 trail_synced(struct trail *);
/* The file system a pending trail's file is on. */
#define		 trail_dev(t)	(trail_current(t)->dev)
/*
 * The last bytes of the durable copy of segment dpos.seq, into buf: at
 * least min(dpos.size, WIRE_TAIL_MIN), back to the start of the line that
 * holds the first of those (or to the segment's start), at most cap
 * (>= WIRE_TAIL_MIN): what proves to the sender whose bytes they are
 * (docs/protocol.md, "Resume").  *len 0 when nothing is held.  Only when
 * nothing is pending (after trail_sync).  -1 with errno on a read error.
 */
int		 trail_tail(const struct trail *, void *buf, size_t cap,
		    size_t *len);
int		 trail_pending(const struct trail *);
void		 trail_pos_str(const struct trail_pos *, char *, size_t);

/* health.c: each host's health and silence (network process) */
enum rh_state { RHS_NEVER, RHS_CONNECTED, RHS_IDLE, RHS_SILENT };
struct rhealth {
	int64_t			 connected_since; /* wall s, 0: not connected */
	int64_t			 last_seen;	/* wall s, 0: not since start */
	int64_t			 watch_from;	/* silence counted from, if never
						 * seen */
	int64_t			 last_record_time; /* msg=audit(SECONDS */
	uint64_t		 bytes, records; /* taken for its trail */
	int64_t			 health_at;	/* last HEALTH, wall s, or 0 */
	char			*text;		/* its text, NULL: none yet */
	size_t			 tlen;
	uint16_t		 version;	/* of its last connection */
	int			 silent;
	int			 dirty;		/* the parent must be told */
};

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
	struct lookup		*lookup;	/* of remote's name, running */
	struct wchan		*w;		/* its writer's slot, NULL: none */
	int			 w_asked;	/* asked the parent for one */
	struct conn		*conn;		/* the one live connection */
	/* The series it ships (docs/protocol.md, "Series"). */
	uint8_t			 series[WIRE_ID_LEN];	/* zero: not known */
	char			 series_addr[64];	/* its last peer */
	uint64_t		 series_seen;	/* ms: last live, or start */
	struct conf_host	*own;		/* enrolled: ch, made at its
						 * first login; NULL: configured */
	struct rhealth		 health;
};

struct server;
/* Any frame of its authenticated connection: it is alive. */
void		 health_seen(struct rhost *);
void		 health_connected(struct rhost *, uint16_t version);
void		 health_left(struct rhost *);
void		 health_data(struct rhost *, const uint8_t *, size_t);
void		 health_report(struct rhost *, const struct msg_health *);
void		 health_free(struct rhost *);
enum rh_state	 health_state(const struct rhealth *);
/* Silence, and the summaries for the parent; returns when it is next due. */
uint64_t	 health_tick(struct server *, uint64_t now_ms);

struct server;
int		 hosts_load(struct server *, struct conf *, char *err,
		    size_t errlen);
void		 hosts_free(struct server *);
struct rhost	*hosts_find(struct server *, const char *name);
int		 rhost_addr_ok(const struct rhost *,
		    const struct sockaddr_storage *);
const char	*rhost_addr_problem(struct rhost *,
		    const struct sockaddr_storage *, int *quiet);
/* NET_SIG_RESOLVED: a lookup of a host's remote (may have) ended. */
#define NET_SIG_RESOLVED	SIGUSR1
void		 hosts_resolved(struct server *);
/* Ask the host's writer what is durable (asking the parent for a writer
 * first if there is none); the answer comes to conn_opened. */
void		 rhost_open(struct server *, struct rhost *);
void		 hosts_trail_limits(const struct conf *, struct trail_limits *);
/* A host enrolled by certificate, at its first login (NULL: no memory). */
struct rhost	*hosts_enrol(struct server *, const char *name);
/*
 * NULL when c's spool may ship for its host now, else why not (for the
 * log and ERROR(WIRE_ERR_SERIES)).  stored: the series the trail holds, NULL
 * before the writer said.
 */
const char	*rhost_series_problem(const struct rhost *, const struct conn *c,
		    const uint8_t *stored);
/* c passed at WELCOME: the host is pinned to its series. */
void		 rhost_series_take(struct rhost *, const struct conn *c,
		    const uint8_t *stored);
/* c, which was receiving, is closing. */
void		 rhost_series_left(struct rhost *, const struct conn *c);

/* enrol.c: hosts enrolled by a certificate of the fleet CA */
struct enrol;
struct enrol	*enrol_new(const struct conf_receiver *, char *err,
		    size_t errlen);
void		 enrol_free(struct enrol *);
/*
 * 0 when leaf (with the peer's chain) enrols host, else -1 and why, for
 * the log and the sender: revoked, expired on DATE, not signed by the
 * fleet CA, a name that breaks the host-name rules or is not host.
 */
int		 enrol_check(const struct enrol *, X509 *leaf,
		    STACK_OF(X509) *chain, const char *host, char *why,
		    size_t len);
/* The name part alone: DNS subjectAltNames if any, else the CN. */
int		 enrol_cert_name(X509 *leaf, const char *host, char *why,
		    size_t len);
/* The certificate's subject on one line, escaped. */
void		 enrol_subject(X509 *, char *out, size_t len);
/* An enrolled host's trail directory: the receiver directory's NAME. */
int		 enrol_directory(const struct conf *, const char *name,
		    char *buf, size_t len);
/* The configured host that has this name or its directory, or NULL. */
const char	*enrol_taken(const struct conf *, const char *name);

/*
 * imsg.c: the receiver's internal messages (common/msg.h framing), one
 * decoder and one encoder per message, for the three channels:
 *   network process -> writer (requests; wchan.c sends, writer.c reads);
 *   each starts with the host's slot u16, its index in that writer
 *	HELLO	slot				sync, then say what is durable
 *	DATA	slot id[16] seq u64 offset u64 lines...
 *	SEGEND	slot id[16] seq u64 size u64
 *	SYNC	slot token u64
 *	CLOSE	slot				sync, close the host's trail
 *   writer -> network process (answers, in order for each slot)
 *	STATE	slot ok u8 = 1, pos, tail_len u16, tail (trail_tail:
 *		the last bytes of segment seq, from a line's start)
 *		| slot ok u8 = 0, errno u32, reason str
 *	DURABLE	slot token u64, pos
 *	FAIL	slot errno u32, reason str
 *   (pos: id[16] seq u64 size u64 complete u8; str: u16 length, bytes)
 *   parent <-> network process (SOCK_SEQPACKET: a datagram is a message)
 *	WRITER	host str		-> parent: a host needs a writer
 *	POOL	pool u32 (with the fd)	<- parent: a writer's channel
 *	SLOT	host str pool u32 slot u16  <- parent: host is that slot
 *	NOWRITER host str		<- parent
 *	READY	-			-> parent
 *	PING	-			both ways
 * A writer's pool number is its pid.  Both ends are the same binary: the
 * layout is not a protocol and may change between releases.  Anything
 * malformed is a bug: abort.
 */
#define WMSG_HDR_LEN	MSG_HDR_LEN
#define WMSG_MAX	(WIRE_MAX_PAYLOAD + 64)	/* a request's payload */
#define WMSG_POS_LEN	(WIRE_ID_LEN + 17)
#define WMSG_REASON_MAX	300			/* FAIL's text */
#define WMSG_SLOT_LEN	2
/* Hosts one writer may serve: writer_hosts is at most this. */
#define WRITER_MAX_HOSTS	CONF_WRITER_HOSTS_MAX
enum wmsg_type {
	WMSG_HELLO = 'H',	/* -> writer: sync, then say what is durable */
	WMSG_DATA = 'D',	/* -> writer: id, seq, offset, lines */
	WMSG_SEGEND = 'E',	/* -> writer: id, seq, size */
	WMSG_SYNC = 'Y',	/* -> writer: token */
	WMSG_CLOSE = 'C',	/* -> writer: the host is no longer served */
	WMSG_STATE = 'S',	/* <- writer: HELLO's answer */
	WMSG_DURABLE = 'A',	/* <- writer: token, durable position */
	WMSG_FAIL = 'F',	/* <- writer: errno, reason */
};
/* DATA's fields before its lines. */
#define WMSG_DATA_FIXED	(WMSG_SLOT_LEN + WIRE_ID_LEN + 16)
#define WMSG_STATE_MAX	(WMSG_SLOT_LEN + 1 + WMSG_POS_LEN + 2 + WIRE_TAIL_MAX)

/* Control messages between the parent and the network process. */
enum ctl_type {
	CTL_WRITER = 'W',	/* -> parent: host */
	CTL_POOL = 'O',		/* <- parent: pool + fd */
	CTL_SLOT = 'L',		/* <- parent: host, pool, slot */
	CTL_NOWRITER = 'X',	/* <- parent: host */
	CTL_READY = 'R',	/* -> parent: serving */
	CTL_PING = 'P',		/* both ways: the watchdog's proof of life */
	CTL_HEALTH = 'M',	/* -> parent: a host's summary (health.c), or
				 * host "" and u8 full: a round's end */
	CTL_SERIAL = 'S',	/* auditor -> parent: host, then gaps,
				 * missing, boots, restarts, events, bad
				 * (u64 each) */
	CTL_PUBLISH = 'U',	/* publisher -> parent: host, then lag bytes,
				 * published bytes, last publication time
				 * (u64 each) */
};
#define CTL_SERIAL_LEN	(6 * 8)
#define CTL_PUBLISH_LEN	(3 * 8)
/* CTL_HEALTH after its host: state u8, version u16, silence_alarm u32,
 * connected_since, last_seen, last_record_time, bytes, records,
 * health_at (u64 each), the sender's HEALTH text (str). */
#define CTL_BODY_MAX	(1 + 2 + 4 + 6 * 8 + 2 + WIRE_MAX_HEALTH)
#define CTL_MAX		(MSG_HDR_LEN + 2 + WIRE_MAX_HOST + 4 + 2 + CTL_BODY_MAX)

extern const struct msg_type wmsg_requests[], wmsg_answers[];
extern const struct msg_type ctl_to_parent[], ctl_to_net[];
extern const struct msg_type ctl_from_auditor[];
extern const struct msg_type ctl_from_publisher[];

/* A request or an answer, decoded; pointers point into the message. */
struct wmsg {
	uint8_t			 type;
	uint16_t		 slot;
	uint8_t			 id[WIRE_ID_LEN];	/* DATA, SEGEND */
	uint64_t		 seq, offset;	/* SEGEND: offset is size */
	const uint8_t		*data;		/* DATA's lines, STATE's tail */
	size_t			 len;
	uint64_t		 token;		/* SYNC, DURABLE */
	struct trail_pos	 pos;		/* STATE, DURABLE */
	int			 ok;		/* STATE */
	int			 err;		/* STATE (not ok), FAIL */
	char			 why[WMSG_REASON_MAX + 1];
};
/* -1 for anything the other end does not send. */
int		 wmsg_dec_request(struct msg *, struct wmsg *);
int		 wmsg_dec_answer(struct msg *, struct wmsg *);
/* HELLO or CLOSE: the slot alone. */
void		 wmsg_put_slot(struct wbuf *, enum wmsg_type, unsigned slot);
/* DATA's header and fixed fields; its len bytes of lines follow. */
void		 wmsg_put_data_hdr(struct wbuf *, unsigned slot,
		    const uint8_t id[WIRE_ID_LEN], uint64_t seq,
		    uint64_t offset, size_t len);
void		 wmsg_put_segend(struct wbuf *, unsigned slot,
		    const uint8_t id[WIRE_ID_LEN], uint64_t seq, uint64_t size);
void		 wmsg_put_sync(struct wbuf *, unsigned slot, uint64_t token);
void		 wmsg_put_state(struct wbuf *, unsigned slot,
		    const struct trail_pos *, const uint8_t *tail,
		    size_t tail_len);
void		 wmsg_put_durable(struct wbuf *, unsigned slot, uint64_t token,
		    const struct trail_pos *);
/* FAIL, or a STATE that says why not (type WMSG_STATE); cut to fit. */
void		 wmsg_put_failure(struct wbuf *, unsigned slot, enum wmsg_type,
		    int err, const char *why);

struct ctl_msg {
	uint8_t			 type;
	char			 host[WIRE_MAX_HOST + 1];	/* valid */
	uint8_t			 body[CTL_BODY_MAX];	/* CTL_HEALTH's rest */
	size_t			 bodylen;
	uint32_t		 pool;		/* POOL, SLOT */
	uint16_t		 slot;		/* SLOT */
};
int		 ctl_dec(struct msg *, struct ctl_msg *);
void		 ctl_put(struct wbuf *, const struct ctl_msg *,
		    const struct msg_type *);
/* The same with the rest of the payload after the host (CTL_HEALTH). */
void		 ctl_put_body(struct wbuf *, enum ctl_type, const char *host,
		    const void *body, size_t len, const struct msg_type *);
/* One message on the control socket, with fd (-1: none) passed along. */
int		 ctl_send(int sock, const struct ctl_msg *, int fd,
		    const struct msg_type *);
/* The same for a message with a host name at most (ctl_msg's rest 0). */
int		 ctl_send_host(int sock, enum ctl_type, const char *host,
		    const struct msg_type *);
/*
 * The next one (non-blocking): 1 and *fd (-1: none), 0 for none now, -1
 * for EOF or an error (errno 0 at EOF).  A malformed one is fatal.
 */
int		 ctl_recv(int sock, const struct msg_type *, struct ctl_msg *,
		    int *fd, const char *from);
/*
 * The same from a child that parses what peers sent (the auditor, the
 * publisher) and so may have been taken over: a malformed message is
 * logged and -2, for the parent to restart that child.
 */
int		 ctl_recv_child(int sock, const struct msg_type *,
		    struct ctl_msg *, int *fd, const char *from);

/*
 * wchan.c: the network process's end of a writer's channel (a pool: the
 * writer serves the hosts the parent started it for, each in its slot),
 * and each host's handle on its slot (struct wchan, rhost->w).
 */
#define WCHAN_MAX_OUT	(4 * 1024 * 1024)	/* then stop reading the peer */
#define WCHAN_MAX_IN	(WMSG_HDR_LEN + 512 + WIRE_TAIL_MAX)	/* one answer */
/* A writer none of whose hosts had a connection this long is closed. */
#define WPOOL_IDLE_MS	(60 * 1000)

struct wchan;
struct wpool {
	int			 evtype;	/* EV_WRITER, first member */
	int			 fd;
	uint32_t		 id;		/* the writer's pid */
	struct server		*srv;
	struct wbuf		 out;
	uint8_t			 in[WMSG_HDR_LEN + 512];
	uint8_t			*big;		/* a STATE with its tail, or NULL */
	size_t			 inlen;		/* in in, or in big */
	uint32_t		 events;
	struct wchan		**slots;	/* NULL: closed, or not yet */
	size_t			 nslots, nlive;
	uint64_t		 idle_since;	/* ms, 0: a host is connected */
	int			 flush_due;	/* in srv->wflush */
	struct wpool		*flush_next;
	/*
	 * The DATA queued last, while nothing follows it in out: the next
	 * frame of the same segment for the same slot joins it (wchan.c).
	 */
	struct wchan		*tail;		/* NULL: none */
	size_t			 tail_mark;	/* its header: msg_begin's mark */
	size_t			 tail_end;	/* wbuf_pending just after it */
	struct wpool		*next;		/* srv->pools */
	struct wpool		*dead_next;	/* closed, to free */
};

/* A host's slot in a pool. */
struct wchan {
	struct wpool		*p;
	unsigned		 slot;
	struct rhost		*rh;
	struct trail_pos	 pos;		/* after what was sent */
	uint64_t		 token;		/* last SYNC sent */
	int			 sync_out;	/* a SYNC not yet answered */
	int			 dirty;		/* sent since the last SYNC */
	unsigned		 hello_out;	/* HELLOs not yet answered */
	int			 failed;	/* FAIL seen: until next HELLO */
	struct wchan		*dead_next;	/* left, to free */
};

/* The channel of writer id (its pid), fd non-blocking. */
struct wpool	*wpool_new(struct server *, uint32_t id, int fd);
struct wpool	*wpool_find(struct server *, uint32_t id);
/* rh is served in that slot from now on (rh->w). */
struct wchan	*wpool_attach(struct wpool *, unsigned slot, struct rhost *);
/* A slot no host takes: the writer closes it (CLOSE). */
void		 wpool_release(struct wpool *, unsigned slot);
/* Close the channel (the writer syncs and exits); its hosts have none. */
void		 wpool_close(struct wpool *);
void		 wpool_close_all(struct server *);
/* Close the pools idle for WPOOL_IDLE_MS; when to look again (ms). */
uint64_t	 wpool_sweep(struct server *, uint64_t now);
/* The host leaves its slot (CLOSE): its next connection gets a writer. */
void		 wchan_free(struct wchan *);
/* After a round of events: send what the round queued, free the closed. */
void		 wchan_reap(struct server *);
void		 wchan_hello(struct wchan *);
void		 wchan_data(struct wchan *, const uint8_t id[WIRE_ID_LEN],
		    uint64_t seq, uint64_t offset, const void *, size_t);
void		 wchan_segend(struct wchan *, const uint8_t id[WIRE_ID_LEN],
		    uint64_t seq, uint64_t size);
/* A SYNC if anything was sent since the last one (one at a time). */
void		 wchan_sync(struct wchan *);
void		 wchan_event(struct wpool *, uint32_t events);
#define		 wchan_backlog(w)	wbuf_pending(&(w)->p->out)

/* writer.c: the process that owns the trails of a set of hosts */
struct writer_args {
	size_t			 nhosts;	/* 1 to writer_hosts */
	const char *const	*hosts;		/* slot i serves hosts[i] */
	const char *const	*directories;	/* theirs, from conf */
	int			 recvfd;	/* the receiver directory */
	const char		*recvdir;
	struct trail_limits	 lim;
	gid_t			 group;		/* trail_group, or (gid_t)-1 */
	const struct sandbox_bpf *bpf;		/* its system call filter */
	int			 commitfd;	/* the committer's channel, -1 */
};
void		 writer_main(int chan, const struct writer_args *)
		    __attribute__((noreturn));

/* rstatus.c: the parent's status and metrics files, and -l */
void		 rstatus_init(const struct conf *);
/* A CTL_HEALTH message: a host's summary, or the end of a round. */
void		 rstatus_update(const struct ctl_msg *);
/* auditdistd -l: the status file as a table, worst host first. */
int		 rstatus_print(const struct conf *, FILE *);
/* A CTL_SERIAL message: a host's serial gaps (auditor.c); -1: malformed. */
int		 rstatus_serial(const struct ctl_msg *);
/* A CTL_PUBLISH message: a host's publication lag (publish.c); the same. */
int		 rstatus_publish(const struct ctl_msg *);

/* auditor.c: the process that counts serial gaps behind the writers */
#define AUDITOR_DIR	"serial"	/* beside the status file */
struct parent_args;
/* A state directory named sub beside the status file; -1: none. */
int		 auditor_statedir(const struct conf *, const char *sub, char *,
		    size_t);
/* Fork it; *chan: the parent's end of its channel.  -1: not started. */
pid_t		 auditor_start(const struct parent_args *, int *chan);
/* pool.c: the parent's side of the writers, one per batch of hosts */
struct parent_args;
void	 pool_init(struct parent_args *, int ctl, const struct sandbox_bpf *);
/* The network process asks for a host's writer (CTL_WRITER). */
void	 pool_ask(const char *host, uint64_t now);
/* ms until the batch is due (0: now), -1: no batch. */
int	 pool_timeout(uint64_t now);
void	 pool_run(uint64_t now);		/* start the batch if due */
/* A child exited: 1 if it was a writer (logged when failed). */
int	 pool_reaped(pid_t, const char *how, int failed);
size_t	 pool_writers(void);
/* The committer's channel (-1: none) for the writers started from now. */
void	 pool_committer(int chan);
/*
 * Fork a process of the auditor's kind (the publisher's too): its state
 * directory made, a channel to the parent; child(a, chan, statedir) never
 * returns.  -1: not started (logged).
 */
typedef void	 auditor_child_fn(const struct parent_args *, int,
		    const char *);
pid_t		 auditor_fork(const struct parent_args *, const char *what,
		    const char *statedir, auditor_child_fn *, int *chan);

/*
 * committer.c: the process that makes the writers' bytes durable, one
 * syncfs of the receiver directory's file system for all the writers
 * that asked before it began.  The parent starts it and hands it each
 * writer's end of a channel (CTL_POOL with the descriptor); a writer asks
 * (CMT_ASK: a number) and is answered (CMT_DONE: that number and 0 or the
 * errno of the syncfs) once a syncfs that began after the ask is done.
 */
enum cmt_type {
	CMT_ASK = 'a',		/* writer -> committer: u64 ask */
	CMT_DONE = 'd',		/* committer -> writer: u64 ask, u32 errno */
};
extern const struct msg_type ctl_to_committer[];
/* Fork it; *chan: the parent's end of its channel.  -1: not started. */
pid_t		 committer_start(const struct parent_args *, int *chan);
/*
 * A writer's ask on fd (its channel): 0 when a syncfs that began after it
 * succeeded, an errno when that syncfs failed (or one failed since this
 * writer last asked), -1 when the channel is gone.
 */
int		 committer_sync(int fd, uint64_t ask);

/* publish.c: the process that publishes the trails to NATS JetStream */
#define PUBLISH_DIR	"publish"	/* beside the status file */
struct sandbox;
/* Read what it needs that the user may not: the cafile.  -1: err says. */
int		 publish_prepare(const struct conf *, char *err, size_t);
/* The cafile's text publish_prepare read, or NULL. */
const char	*publish_ca(void);
/* Fork it, when configured; as auditor_start. */
pid_t		 publish_start(const struct parent_args *, int *chan);
/* What it needs beyond the trails: the resolver's files, the ports. */
void		 publish_sandbox(struct sandbox *, const struct conf *);

/* main.c: what the parent was given at the start */
struct parent_args {
	const char		*conf_path;
	struct conf		*conf;		/* taken over */
	int			 recvfd;
	const char		*recvdir;
	uid_t			 uid;		/* run as */
	gid_t			 gid;
	const char		*user;
	gid_t			 tgid;		/* trail_group, or (gid_t)-1 */
	const char		*tgroup;	/* its name, as started */
};


/* conn.c */
enum conn_state {
	C_TLS,		/* TLS handshake */
	C_HELLO,	/* waiting for HELLO */
	C_AUTH,		/* CHALLENGE sent, waiting for AUTH */
	C_AUTHFAIL,	/* the one-second delay before ERROR(WIRE_ERR_AUTH) */
	C_OPENING,	/* authenticated: waiting for the writer's position */
	C_READY,	/* WELCOME sent: DATA, SEGEND, PING... */
	C_CLOSING,	/* flushing a last message */
	C_DEAD,		/* freed after this round of events */
};

/* In the connections' own set (cset), whose cookies are all conns. */
struct conn {
	struct conn		*next, *prev;
	struct server		*srv;
	int			 fd;
	struct tlsio		*tls;
	enum conn_state		 state;
	struct sockaddr_storage	 peer;
	char			 addr[64];	/* "[::1]:4242", for logs */
	char			 host[WIRE_MAX_HOST + 1];	/* from HELLO */
	uint16_t		 version;	/* from HELLO: 2 or 3 */
	struct rhost		*rh;		/* once authenticated */
	char			*refusal;	/* for ERROR(AUTH), NULL:
					 * "authentication failed" */
	uint8_t			 spool_id[WIRE_ID_LEN];
	uint8_t			 nonce_s[WIRE_NONCE_LEN];
	uint8_t			 nonce_r[WIRE_NONCE_LEN];
	uint8_t			 proof[WIRE_MAC_LEN];	/* for WELCOME */
	uint64_t		 sync_token;	/* ACK when this is durable */
	uint8_t			*rbuf;
	size_t			 rlen, rcap;
	struct wbuf		 out;
	uint32_t		 events;	/* registered with epoll */
	int			 hs_want;	/* TLS handshake waits for */
	int			 read_wants_write, write_wants_read;
	int			 draining;	/* closing: discarding input */
	uint64_t		 accepted_at;	/* ms */
	uint64_t		 heard_at;	/* ms, input while pending */
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
/* 0: accept now; else wait until then (ms) or until a handshake ends. */
uint64_t conn_full_until(struct server *, uint64_t now);
uint64_t conn_next_deadline(const struct conn *);
/* From the host's writer. */
void	 conn_durable(struct conn *, uint64_t token,
	    const struct trail_pos *durable);
void	 conn_store_failed(struct conn *, int err, const char *reason);
/* The writer is flushed below its limit: input may go on. */
void	 conn_unblocked(struct conn *);

/* conn_login.c */
/* From the host's writer: what its trail holds; sends WELCOME. */
void	 conn_opened(struct conn *, const struct trail_pos *durable,
	    const uint8_t *tail, size_t tail_len);

/* capacity.c */
void	 capacity_raise(void);
/* Connections to allow, or 0 with err set: the limits are too low. */
unsigned capacity_plan(const struct conf *, unsigned nlisten, char *err,
	    size_t errlen);

/* net.c: the network process */
/*
 * What the cookie of an event in the loop's set names (the loop's own two
 * it tells apart); EV_CONNS is the connections' set, nested in it.
 */
enum ev_type { EV_LISTEN = 1, EV_WRITER, EV_CTL, EV_CONNS };

struct server {
	struct conf		*conf;
	SSL_CTX			*ctx;
	struct enrol		*enrol;		/* "enrol yes": CA and CRL */
	struct evloop		 ev;
	int			 epfd;		/* ev's, for wchan.c */
	/*
	 * The connections' own set, nested in ev: each round takes the
	 * writers' answers, the parent's word and new connections first,
	 * then up to a round's worth of the connections (a fleet has
	 * thousands ready at once).
	 */
	struct evloop		 cset;
	uint64_t		 timer_armed;	/* ms, 0: not armed */
	int			 ctlfd;		/* to the parent */
	struct rhost		*hosts;
	struct conn		*conns;		/* every connection */
	struct conn		*ready;		/* has decrypted input waiting */
	struct conn		*dead;		/* freed after the event round */
	struct wpool		*pools;		/* writers' channels */
	struct wpool		*wdead;		/* closed, freed after the round */
	struct wchan		*sdead;		/* slots left, the same */
	struct wpool		*wflush;	/* to send to after the round */
	unsigned		 nconns, npending;
	unsigned		 max_conns;	/* net_listen() sets it */
	int			 stopping;
	unsigned		 churn;		/* handshakes and closes */
};

/*
 * Connections are limited by max_connections, or by the descriptors
 * (capacity.c checks both at the start).  Handshakes in progress have a
 * cap of their own: it bounds the CPU a flood or a reconnect storm
 * takes, not the descriptors, so it does not grow with the fleet.  When
 * none of them is idle (conn.c's evictable_at), new
 * connections wait in the kernel's listen queue (conn_full_until).
 */
#define MAX_PENDING		256	/* not yet authenticated */
#define DEF_MAX_CONNS		12000	/* 10,000 hosts, and reconnects */
#define srv_max_pending(s)	((s)->max_conns < MAX_PENDING ? \
				    (s)->max_conns : MAX_PENDING)

uint64_t now_ms(void);
/* Ask the parent for a writer for this host. */
void	 ctl_ask_writer(struct server *, const char *host);
void	 timer_want(struct server *, uint64_t at);
int	 ev_mod(struct server *, int fd, void *ptr, uint32_t events);
/* A connection's, in the connections' set (cset). */
int	 ev_conn(struct server *, int fd, struct conn *, uint32_t events);
void	 ev_conn_del(struct server *, int fd);
void	 ready_add(struct server *, struct conn *);
/* In main.c before the fork, as started: */
void	 net_init(struct conf *, const char *conf_path);
void	 net_listen(void);
void	 net_name_group(gid_t);
/* conf_path, certificate or key not readable by the user: say the fix. */
void	 net_unreadable(const char *path);
/* In the parent, once the network process runs: drop its sockets. */
void	 net_forget(void);
void	 net_main(int ctl, const struct parent_args *) __attribute__((noreturn));

#endif
