/*
 * The forwarder: audisp-dist-forwarder reads the spool and ships it to
 * every receiver of the sender block, each on its own connection and at
 * its own pace.  audisp-dist starts and supervises it (fwd_super.c) and
 * hears from it, over a socketpair, what each receiver has made durable;
 * only then may a segment be deleted.
 *
 * This header is shared by both processes, so it declares nothing that
 * needs OpenSSL: audisp-dist itself must not link it.
 */
#ifndef AUDISP_DIST_FORWARDER_H
#define AUDISP_DIST_FORWARDER_H

#include <sys/types.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "audisp-dist.h"

/*
 * Bytes of records per DATA frame.  The protocol allows 1 MiB; 256 KiB
 * moves as fast on loopback (TLS records are 16 KiB anyway) and keeps the
 * forwarder's buffers, and so its memory, a quarter of the size.
 */
#define FWD_FRAME	(256 * 1024)

#include "wire.h"

#define FWD_PROG		"audisp-dist-forwarder"
#define FWD_IPC_FD		3	/* the socketpair to audisp-dist */
#define FWD_SPOOL_FD		4	/* the spool directory, read-only */
#define FWD_LINE_MAX		1024	/* one message, newline included */
#define FWD_REASON_MAX		400
#define FWD_HOST_MAX		255
/*
 * Retrying a receiver, in seconds: transient failures double from MIN up
 * to MAX, so that shipping resumes within MAX seconds of a receiver coming
 * back; those that need a person (pins, password, version, series) wait
 * SERIOUS.  Each wait is cut by up to a quarter at random (jitter).
 */
#define FWD_BACKOFF_MIN		1
#define FWD_BACKOFF_MAX		5
#define FWD_BACKOFF_SERIOUS	30
/* Restarting a dead forwarder: from 1 s, doubling up to this. */
#define FWD_RESTART_MAX		60


/*
 * What audisp-dist tells the forwarder, one line per receiver host each
 * status_interval: "health HOST TEXT\n", TEXT as HEALTH carries it
 * (wire_dec_health).  From our own parent: a malformed one is a bug.
 */
#define FWD_HEALTH_LINE_MAX	(8 + FWD_HOST_MAX + WIRE_MAX_HEALTH + 2)

/*
 * fwd_ipc.c: what the forwarder tells audisp-dist, one text line each:
 *   state HOST connecting|connected|backoff|error [REASON]
 *   ack HOST SEQ SIZE COMPLETE
 *   series HOST REASON
 * SEQ is 16 hex digits as in segment names (0 when the receiver holds
 * nothing of this spool), SIZE decimal, COMPLETE 0 or 1.  An ack says
 * where the receiver's durable copy ends, and may go backwards (the
 * receiver lost its copy): the last one counts.  series says that HOST
 * holds, under this spool's id, segments that differ from the spool's
 * (it was rolled back): audisp-dist must start a new series, and believe
 * nothing more from this forwarder.  REASON is printable ASCII; it may
 * be empty in state, not in series.
 */
enum fwd_rstate {
	RS_UNKNOWN,		/* nothing heard yet */
	RS_CONNECTING,		/* resolving, connecting, handshaking */
	RS_CONNECTED,		/* welcomed: shipping or up to date */
	RS_BACKOFF,		/* waiting to retry after a failure */
	RS_ERROR,		/* waiting longer: configuration or peer
				   refuses (authentication, pins, resume) */
};

enum fwd_msg_type { FWD_MSG_STATE, FWD_MSG_ACK, FWD_MSG_SERIES };

struct fwd_msg {
	enum fwd_msg_type type;
	char		 host[FWD_HOST_MAX + 1];
	enum fwd_rstate	 state;			/* FWD_MSG_STATE */
	char		 reason[FWD_REASON_MAX + 1];	/* and SERIES */
	struct wire_pos	 ack;			/* FWD_MSG_ACK */
};

const char	*fwd_rstate_name(enum fwd_rstate);
/* The line with its newline; -1 if it does not fit (reasons are cut). */
int		 fwd_msg_format(char *buf, size_t len, const struct fwd_msg *);
/* One line without its newline; -1 unless it is exactly well formed. */
int		 fwd_msg_parse(const char *line, size_t len, struct fwd_msg *);

/*
 * fwd_acks.c: the plugin's side of acknowledgements.  ack is what a host
 * reported (seq 0: nothing, or nothing reported yet).
 */
/* Bytes of segment seg that the receiver holds durably. */
uint64_t	 fwd_acked_bytes(const struct wire_pos *ack,
		    const struct spool_seg *seg);
/* Bytes of the spool (segs, sorted) that it does not hold yet. */
uint64_t	 fwd_unacked_bytes(const struct wire_pos *ack,
		    const struct spool_seg *segs, size_t n);
/* Where its first missing byte is; 0 if it holds all of segs. */
int		 fwd_first_unacked(const struct wire_pos *ack,
		    const struct spool_seg *segs, size_t n, struct wire_pos *at);
/*
 * May closed segment seg be deleted: every one of the nhosts (at least
 * one) holds all of it?  The open segment (open_seq) never may.
 */
int		 fwd_may_delete(const struct wire_pos *const *acks,
		    size_t nhosts, const struct spool_seg *seg, uint64_t open_seq);

/*
 * forwarder/plan.c: the forwarder's pure decisions.
 *
 * Resume: given what the receiver holds (its WELCOME) and our segments,
 * where to start.  Sending starts at the first segment whose seq is at
 * least from.seq: at from.size if it is segment from.seq, else at 0.
 * Two steps, so that both stay pure: fwd_resume decides from the segment
 * list and says which of our bytes must equal the receiver's tail
 * (check_len bytes of segment acked.seq from check_off, compared with the
 * first check_len bytes of the tail); the caller reads them and gives
 * them to fwd_resume_check, saying whether our byte before check_off ends
 * a line (or check_off is 0).  Only a SEND that passed both may be
 * trusted: its acked is then what the receiver holds of this spool.
 */
enum fwd_resume_act {
	FWD_RESUME_SEND,	/* from .from, after the check */
	FWD_RESUME_ROLLBACK,	/* the spool reuses numbers the receiver
				   holds with other bytes: a new series */
	FWD_RESUME_BROKEN,	/* the WELCOME breaks the protocol */
};
struct fwd_resume {
	enum fwd_resume_act act;
	struct wire_pos	 from;
	struct wire_pos	 acked;		/* acknowledged by the WELCOME */
	int		 new_series;	/* receiver holds another spool's */
	uint64_t	 check_off;	/* in segment acked.seq */
	size_t		 check_len;	/* 0: nothing to compare */
	int		 cut;		/* it holds more than our closed copy */
	char		 note[256];	/* why, or a warning for SEND */
};
void		 fwd_resume(const uint8_t our_id[WIRE_ID_LEN],
		    const struct spool_seg *segs, size_t n,
		    const uint8_t their_id[WIRE_ID_LEN],
		    const struct wire_pos *theirs, size_t tail_len,
		    struct fwd_resume *);
/*
 * ours: what could be read of the check_len bytes (ourlen may be less);
 * line_start: they start a line of ours (check_off is 0, or the byte
 * before is a newline).
 */
void		 fwd_resume_check(struct fwd_resume *, const uint8_t *tail,
		    const uint8_t *ours, size_t ourlen, int line_start);
/*
 * "tls://HOST[:PORT]", "tls://[V6]:PORT" or the same without the scheme;
 * numeric: HOST is an address, no lookup needed.  defport may be NULL
 * (then a port is optional and port is "" without one).
 */
int		 fwd_split_hostport(const char *, char *host, size_t hostlen,
		    char *port, size_t portlen, const char *defport,
		    int *numeric);
/* Length of buf up to and including its last newline; 0 if none. */
size_t		 fwd_cut_lines(const char *buf, size_t len);
/*
 * Is ack believable: not beyond what was sent (complete only after
 * SEGEND), not behind the previous ack?  A receiver that acks what it
 * was never sent must not get segments deleted.
 */
int		 fwd_ack_ok(const struct wire_pos *sent,
		    const struct wire_pos *last, const struct wire_pos *ack);

/*
 * The window: DATA bytes sent and not acknowledged yet.  It remembers
 * where each segment started being sent, in sent-byte counts, to turn a
 * cumulative ACK (seq, size) into a byte count.
 */
struct fwd_window {
	struct fwd_wseg {
		uint64_t seq, start, base;	/* sent from start at base */
	}		*v;
	size_t		 n, cap;
	uint64_t	 sent, acked;		/* DATA bytes, this connection */
};
void		 fwd_window_init(struct fwd_window *);
void		 fwd_window_free(struct fwd_window *);
int		 fwd_window_sent(struct fwd_window *, uint64_t seq,
		    uint64_t off, uint64_t len);
void		 fwd_window_ack(struct fwd_window *, uint64_t seq,
		    uint64_t size);
#define		 fwd_window_inflight(w)	((w)->sent - (w)->acked)

/*
 * forwarder/read.c: reading the spool for one host.  cur is the next byte to
 * send; the segment it is in stays open under a shared flock (drop_old
 * skips it) until all of it was read and it is closed.  No byte of a
 * segment is sent while the one before it is still .open: until the
 * syncer has renamed that one, the new segment's name may not be on
 * stable storage, and a power loss could reuse its number.
 */
struct fwd_reader {
	int		 dirfd;
	const char	*host;		/* for messages */
	struct wire_pos	 cur;
	int		 fd;		/* segment cur.seq, or -1 */
	int		 closed;	/* its size is final */
	int		 named;		/* its name is durable: the one
					   before it is renamed */
	uint64_t	 noread_seq;	/* an unreadable segment */
	int64_t		 noread_since;	/* CLOCK_MONOTONIC ms */
	int		 noread_said;	/* logged */
};
enum fwd_chunk {
	CHUNK_DATA,		/* len bytes of whole lines at *at, in buf */
	CHUNK_SEGEND,		/* segment at->seq is closed at at->size */
	CHUNK_WAIT,		/* nothing now; the spool will change */
	CHUNK_FAIL,		/* an I/O error: why */
	CHUNK_BAD,		/* the spool disagrees with the stream: why */
};
void		 fwd_reader_init(struct fwd_reader *, int dirfd,
		    const char *host);
void		 fwd_reader_close(struct fwd_reader *);
/* Start at at: its segment from at->size, or the first after it from 0. */
void		 fwd_reader_seek(struct fwd_reader *, const struct wire_pos *at);
/* What to send next, at most max bytes; moves the cursor past it. */
enum fwd_chunk	 fwd_reader_next(struct fwd_reader *, char *buf, size_t max,
		    struct wire_pos *at, size_t *len, char *why, size_t whylen);

/*
 * fwd_super.c: audisp-dist's side.  It starts the forwarder, restarts it
 * with backoff when it dies, reads its messages without ever blocking
 * intake, deletes the segments every host has, and feeds the status file.
 */
enum fwd_run { FWD_NONE, FWD_RUNNING, FWD_RESTARTING, FWD_STOPPED };

struct fwd_hoststat {
	char		*name;
	struct wire_pos	 ack;
	int		 acked;		/* ack is what the receiver said */
	enum fwd_rstate	 state;
	/* for the metrics file (status.c), this process's life */
	uint64_t	 shipped;	/* bytes it acknowledged */
	time_t		 last_ack;	/* when it last did, or 0 */
	uint64_t	 errors;	/* failures, each backoff or error */
};

struct fwdsup {
	struct plugin	*pl;
	char		*prog;		/* the forwarder's path */
	const char	*conf_path;
	int		 log_flag;	/* 'd', 'f' or 0: passed on */
	int		 epfd;
	enum fwd_run	 run;
	pid_t		 pid;		/* -1: none */
	int		 fd;		/* our end of the socketpair, -1 */
	int		 restart_now;	/* stopped for a reload */
	time_t		 started;	/* CLOCK_MONOTONIC seconds */
	time_t		 restart_at;
	time_t		 kill_at;	/* SIGKILL if not gone by then, or 0 */
	time_t		 collect_at;
	unsigned	 delay;		/* next restart backoff, seconds */
	char		*user;
	int		 warned;	/* the same start failure said once */
	char		 buf[2 * FWD_LINE_MAX];
	size_t		 len;
	struct fwd_hoststat *hosts;
	size_t		 nhosts;
	int		 acks_changed;	/* look for segments to delete */
	/* a receiver holds what the spool does not: start a new series */
	int		 series_pending;
	char		 series_host[FWD_HOST_MAX + 1];
	char		 series_reason[FWD_REASON_MAX + 1];
	unsigned	 series_count;	/* new series started, this process */
	/* The last_error set here, and whose: a host's, or "" ours. */
	char		 err_text[1024];
	char		 err_host[FWD_HOST_MAX + 1];
	struct wbuf	 hout;		/* health lines not yet written */
};

/* The forwarder's path, with room for any directory of ours. */
#define FWD_PATH_MAX	(PATH_MAX + sizeof(FWD_PROG))
int		 fwdsup_prog_path(char [FWD_PATH_MAX]);
int		 fwdsup_init(struct fwdsup *, struct plugin *,
		    const char *conf_path, int log_flag, int epfd);
/* Take the hosts of a (re)loaded configuration; (re)start the forwarder. */
int		 fwdsup_configure(struct fwdsup *, const struct conf *);
/*
 * Once a second: start a new series if asked (before the forwarder is
 * started again: it reads the new spool id), start, restart or kill as
 * due; delete acked segments.
 */
void		 fwdsup_tick(struct fwdsup *);
/* Its socket is readable. */
void		 fwdsup_read(struct fwdsup *);
/* waitpid reaped pid: returns 1 if it was the forwarder. */
int		 fwdsup_reaped(struct fwdsup *, pid_t, int status);
/* At exit: SIGTERM, wait at most 2 s, then SIGKILL. */
void		 fwdsup_stop(struct fwdsup *);
void		 fwdsup_free(struct fwdsup *);
const char	*fwdsup_run_name(const struct fwdsup *);
/*
 * Every status_interval: tell the forwarder what each receiver is to be
 * told of our health (FWD_HEALTH lines); dropped if it is not reading.
 */
void		 fwdsup_health(struct fwdsup *);
/* Delete the closed segments every host holds; returns how many. */
unsigned	 fwdsup_collect(struct fwdsup *);
struct fwd_hoststat *fwdsup_host(struct fwdsup *, const char *name);

/*
 * forwarder/main.c, forwarder/conn.c: the forwarder process alone.
 */
#define FWD_SIG_RESOLVED	SIGUSR1	/* a getaddrinfo_a lookup finished */

/*
 * What an epoll event's data.ptr points to starts with one of these (the
 * loop's signals and timer, evloop.c tells apart).
 */
enum fwd_ev { EV_INOTIFY = 1, EV_PLUGIN, EV_CONN };

struct addrinfo;
struct fwd_env {
	int		 epfd;
	int		 dirfd;			/* the spool, read-only */
	uint8_t		 spool_id[WIRE_ID_LEN];
	const char	*name;			/* ours, sent in HELLO */
	unsigned	 timeout;		/* seconds */
	char		*zscratch;		/* compressed, or NULL */
	size_t		 zcap;
	struct addrinfo	*source;		/* bind to it, or NULL */
};
extern struct fwd_env fwd_env;

int64_t		 fwd_now_ms(void);		/* ev_now_ms() */
unsigned	 fwd_retry_ms(unsigned backoff);	/* with jitter */
/* Tell audisp-dist (coalesced: only the latest of each is sent). */
void		 fwd_report_state(unsigned host, enum fwd_rstate,
		    const char *reason);
void		 fwd_report_ack(unsigned host, const struct wire_pos *);
/* The spool was rolled back (fwd_resume): no ack of this host after it. */
void		 fwd_report_series(unsigned host, const char *reason);

struct fwd_conn;
/* Never NULL; a host whose configuration cannot work stays disabled. */
struct fwd_conn	*fwd_conn_new(unsigned idx, const struct conf_host *);
void		 fwd_conn_free(struct fwd_conn *, int bye);
uint16_t	 fwd_conn_port(const struct fwd_conn *);
void		 fwd_conn_io(struct fwd_conn *, uint32_t events);
/* Deadlines are due (connect, backoff, keepalive, dead peer). */
void		 fwd_conn_timer(struct fwd_conn *, int64_t now);
int64_t		 fwd_conn_deadline(const struct fwd_conn *);
void		 fwd_conn_spool_changed(struct fwd_conn *);
/* audisp-dist's health for this receiver: sent now and on each WELCOME. */
void		 fwd_conn_health(struct fwd_conn *, const char *text,
		    size_t len);
/* FWD_SIG_RESOLVED arrived: see whether its lookup is done. */
void		 fwd_conn_resolved(struct fwd_conn *);

#endif
