/*
 * bench: what the files of build/bench share.  main.c holds the options,
 * the table and the row groups; every other file is one group or one
 * kind of helper (see the headings below).
 */
#ifndef AUDITDIST_BENCH_H
#define AUDITDIST_BENCH_H

#include <sys/resource.h>
#include <sys/types.h>

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define DEFAULT_SAMPLE	"tests/data/sample-enriched.log"
#define DEFAULT_DIR	"/var/tmp"
#define DEFAULT_MIB	256
#define DEFAULT_RUNS	5
#define DEFAULT_E2E_MIB	128
#define DEFAULT_E2E_RUNS 3
#define DEFAULT_AR_RECS	200000
#define DEFAULT_LAT_SEC	5
#define DEFAULT_FANIN	50
#define DEFAULT_FANIN_N	1000		/* senders of the fan-in group */
#define DEFAULT_FANIN_RATE 100		/* records/s per sender */
#define DEFAULT_SECS	10		/* fan-in window, auditd workload */
#define DEFAULT_WAN_AR	200		/* audisp-remote records over the WAN */
#define WAN_RTT_MS	50
#define CAT_PATH	"/bin/cat"
#define OPENSSL_PATH	"/usr/bin/openssl"
#define AUDITD_PATH	"/usr/sbin/auditd"
#define FEED_CHUNK	(64 * 1024)	/* what the brief says auditd writes */
#define RUN_TIMEOUT	300.0		/* seconds; a hung run aborts the bench */
#define TLS_SETTLE_MS	100.0	/* s_client's handshake, after the connect */
#define MAX_ROWS	160
#define MAX_NOTES	32

/* Groups, for -g. */
#define G_INTAKE	0x01
#define G_E2E		0x02
#define G_LATENCY	0x04
#define G_MEMORY	0x08
#define G_FANIN		0x10
#define G_IMPACT	0x20
#define G_WAN		0x40
#define G_FLEET		0x80
#define G_NATS		0x100

/* What every group may use: options, paths and the recorded stream. */
struct bench {
	const char	*bindir;	/* $B, where the programs live */
	const char	*sample;	/* recorded real audit records */
	unsigned	 runs;		/* intake: per variant and program */
	unsigned	 e2e_runs;	/* -r: runs of every group but intake */
	unsigned	 lat_secs;	/* latency: seconds per rate */
	unsigned	 fanin;		/* senders for the receiver's memory */
	unsigned	 fanin_n;	/* senders of the fan-in group */
	unsigned	 fanin_rate;	/* records/s per fan-in sender */
	unsigned	 load_jobs;	/* -j: threads of the fan-in load; 0:
					   one per core */
	unsigned	 secs;		/* fan-in window, auditd workload */
	uint64_t	 wan_ar_records;	/* audisp-remote over the WAN */
	unsigned	 relay_ms;	/* > 0: connections go through a relay
					   that delays each direction this much */
	unsigned	 rtt_ms;	/* round trip added to loopback, ms */
	unsigned	 groups;	/* G_* selected with -g */
	int		 fan_own_addrs;	/* host fanI's remote is fan_addr(I) */
	const char	*recv_extra;	/* more of the receiver block, or NULL */
	uint64_t	 size;		/* wanted stream size, bytes */
	uint64_t	 e2e_size;	/* end-to-end stream, bytes (at most) */
	uint64_t	 ar_records;	/* audisp-remote's stream, records */
	char		*tmpdir;	/* private dir on the bench filesystem */
	char		 stream[PATH_MAX];
	char		 conf[PATH_MAX];  /* intake config: spool below */
	char		 spool[PATH_MAX];
	char		 catout[PATH_MAX];
	char		 errlog[PATH_MAX];	/* stderr of the last run */
	uint64_t	 stream_bytes;
	uint64_t	 stream_records;
	uint64_t	 sample_records;
	uint64_t	 repeats;

	/* TLS material for the receiver, made once (pipeline.c). */
	int		 tls_ready;
	char		 cert[PATH_MAX];
	char		 key[PATH_MAX];
	char		 fingerprint[128];
	char		 password[65];
	const char	*fwd_user;
	enum { RECV_USER_UNKNOWN, RECV_USER_YES, RECV_USER_NO } recv_user;

	/* Peaks seen by the shipping groups, KiB; 0: not measured. */
	long		 fwd_hwm_kib;		/* forwarder VmHWM */
	long		 fwd_anon_kib;		/* its RssAnon, sampled */
	long		 plugin_hwm_kib;	/* audisp-dist VmHWM, shipping */
	long		 recv_hwm_kib;		/* receiver VmHWM, one sender */
	long		 tls_hwm_kib;		/* openssl s_client VmHWM */
	long		 tls_anon_kib;		/* and its RssAnon at the end */
};

enum target_kind {
	TGT_NONE,		/* informative row */
	TGT_RATIO_MIN,		/* ours / baseline >= target */
	TGT_OURS_BELOW,		/* ours < target */
	TGT_OURS_MIN,		/* ours >= target */
};

/*
 * One line of the table, filled by a group with designated initializers.
 * ours and base are always given: NAN when there is nothing to show.
 */
struct row {
	const char	*figure;
	double		 ours;		/* NAN: not measured */
	double		 base;		/* NAN: no baseline */
	const char	*base_name;	/* e.g. "cat"; NULL when none */
	int		 prec;		/* decimals for ours and base */
	int		 no_ratio;	/* ours/base means nothing here */
	enum target_kind kind;
	double		 target;
	const char	*target_text;	/* NULL: "-" */
};

struct table {
	struct row	 rows[MAX_ROWS];
	size_t		 n;
	char		*notes[MAX_NOTES];	/* printed under the table */
	size_t		 nnotes;
};

/* A prefix of the stream that ends with a whole record. */
struct prefix {
	uint64_t	 bytes;
	uint64_t	 records;
	uint64_t	 eoe;		/* type=EOE records among them */
};

/* main.c */
extern volatile sig_atomic_t interrupted;
extern int bench_incomplete;	/* a figure could not be measured */
void		 row_add(struct table *, const struct row *);
void		 note_add(struct table *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		 group_intake(struct bench *, struct table *);	/* intake.c */
void		 group_e2e(struct bench *, struct table *);	/* e2e.c */
void		 group_latency(struct bench *, struct table *);	/* latency.c */
void		 group_memory(struct bench *, struct table *);	/* fanin.c */
void		 group_fanin(struct bench *, struct table *);	/* fanin.c */
void		 group_fleet(struct bench *, struct table *);	/* fleet.c */
void		 group_impact(struct bench *, struct table *);	/* impact.c */
/* "bench --read-stdin": the plugin that only reads (impact.c). */
#define BENCH_READER_ARG "--read-stdin"
int		 impact_reader(void);
void		 group_wan(struct bench *, struct table *);	/* wan.c */
void		 group_nats(struct bench *, struct table *);	/* nats.c */
void		 cleanup_add(void (*)(void));

/* util.c: processes, files, sockets, numbers */
struct spawn {
	const char *const *argv;
	int		 in_fd;		/* -1: /dev/null */
	int		 out_fd;	/* -1: out_path, else /dev/null */
	const char	*out_path;	/* created; must not exist */
	int		 err_fd;	/* -1: err_path */
	const char	*err_path;	/* truncated; NULL: /dev/null */
	/* In a private mount namespace: bind src over dst, tmpfs on /run. */
	const char	*bind_src, *bind_dst;
	int		 private_run;
};
double		 now(void);
void		 sleep_s(double);
void		 rm_path(const char *);
char		*utoa(uint64_t, char *);
void		 child_fail(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
pid_t		 spawn_ex(const struct spawn *);
pid_t		 spawn(const char *const *, int, const char *, const char *);
pid_t		 spawn_feeder(const char *, uint64_t, int, int);
void		 show_errlog(const char *);
int		 pidfd_of(pid_t);
void		 reap_checked(pid_t, const char *, struct rusage *,
		    const char *);
int		 proc_alive(pid_t);
int		 stop_proc(pid_t, int, double, int *);
void		 track_pid(pid_t);
void		 untrack_pid(pid_t);
void		 kill_tracked(void);
long		 proc_kib(pid_t, const char *);
pid_t		 child_of(pid_t);
int		 free_port(void);
int		 tcp_count(int, int, int);
void		 pathf(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
int		 write_file(const char *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
int64_t		 file_size(const char *);
double		 median(const double *, size_t);
double		 percentile(double *, size_t, double);
/* Environment variable name as a number from lo to hi, else def. */
double		 env_number(const char *name, double def, double lo, double hi);
int		 compare_files(const char *const *, size_t, const char *,
		    uint64_t, char *, size_t);

/* stream.c */
void		 build_stream(struct bench *);
void		 stream_prefix(const struct bench *, uint64_t, uint64_t,
		    struct prefix *);

/* pipeline.c: our receiver and sender, as the shipping groups run them */
struct recv {
	pid_t		 pid;
	int		 port;
	char		 dir[PATH_MAX];		/* trail root */
	char		 state[PATH_MAX];	/* status file, auditor */
	char		 conf[PATH_MAX];
	char		 log[PATH_MAX];
};

struct ack {
	double		 t;		/* when the bench read it */
	uint64_t	 seq, size;
};

struct sender {
	pid_t		 pid;		/* audisp-dist */
	pid_t		 fwd;		/* its forwarder, once seen */
	int		 sock;		/* our end of its stdin socketpair */
	int		 err;		/* read end of its stderr */
	int		 logfd;		/* a copy of its stderr */
	int		 eof;		/* stderr closed */
	char		 spool[PATH_MAX];
	char		 conf[PATH_MAX];
	char		 log[PATH_MAX];
	char		 line[2048];
	size_t		 linelen;
	int		 connected;
	long		 fwd_anon_kib;	/* largest RssAnon sampled */
	struct ack	*acks;
	size_t		 nacks, acap;
};

struct seqmap {
	uint64_t	*seq, *start;	/* stream offset where seq starts */
	size_t		 n;
};

#define SENDER_HOST	"bench"

void		 tls_setup(struct bench *);
void		 recv_start(struct bench *, struct recv *, const char *,
		    unsigned, unsigned);
void		 recv_stop(struct recv *, long *);
void		 recv_restart(struct bench *, struct recv *);
int		 recv_fits(struct bench *, unsigned, char *, size_t);
void		 recv_host_dir(const struct recv *, const char *, char *,
		    size_t);
void		 sender_start(struct bench *, struct sender *,
		    const struct recv *, const char *);
void		 sender_read(struct sender *);
void		 sender_wait_connected(struct sender *, const struct recv *);
void		 sender_sample(struct sender *);
void		 sender_stop(struct sender *, long *, long *);
void		 sender_free(struct sender *);
void		 sender_fail(struct sender *, const struct recv *,
		    const char *, ...)
		    __attribute__((format(printf, 3, 4), noreturn));
uint64_t	 trail_bytes(const char *);
int		 trail_seqmap(const char *, struct seqmap *);
int64_t		 seqmap_offset(const struct seqmap *, uint64_t, uint64_t);
void		 seqmap_free(struct seqmap *);
void		 trail_verify(const struct bench *, const char *, uint64_t);
int		 trail_check(const struct bench *, const char *, uint64_t,
		    char *, size_t);

void		 host_password(const struct bench *, unsigned, char[65]);
void		 fan_addr(unsigned, char *, size_t);
int		 spool_status_has(const char *, const char *);

/* proctree.c: a process and all its descendants */
int		 proctree_cpu(pid_t, uint64_t *, unsigned *);
/* The receiver's auditor, which counts serial gaps (receiver/auditor.c). */
#define AUDITOR_COMM	"auditdistd-gaps"
/* The same for the processes of the tree named comm (their own CPU). */
int		 proctree_cpu_named(pid_t, const char *comm, uint64_t *);
int		 proctree_mem(pid_t, long *, long *, unsigned *);
int		 proctree_children_files(void);
long		 proctree_status_sum(pid_t, const char *);

/* fanin.c: one fan-in run (the fanin and fleet groups) */
struct fanspec {
	unsigned	 n;		/* senders, hosts fan1..fanN */
	unsigned	 rate;		/* records/s each; 0: idle */
	int		 storm;		/* restart the receiver under them */
	/* Called every 0.2 s while they run; NULL: none. */
	void		(*sample)(void *);
	void		*arg;
	struct recv	*keep;		/* the receiver, left running; NULL:
					   stopped and removed */
};

/* One fan-in run's figures, for the medians. */
struct fanrun {
	double		 connected, recv_cpu_pct, pss_mib, rss_mib, procs;
	double		 aud_cpu_pct;	/* of recv_cpu_pct: the auditor */
	double		 sent_rps, acked_rps, sent_mbs, acked_mbs, drain_ms;
	double		 lat_p50, lat_p99, self_cpu_pct, hs_s;
	double		 lag_p99;	/* of lat, from due to sent */
	double		 wire_p99;	/* of lat, from sent to acked */
	double		 exact;		/* hosts whose trail is what was sent */
	double		 pss0_kib, pss_kib;	/* receiver before, during */
	double		 storm_s, storm_hs_s, storm_stop_s;
	double		 storm_back, storm_retries;
	int		 realtime;	/* the load tool ran SCHED_FIFO */
	double		 t_done;	/* now() when every ACK was in */
};

/* s of shipping before a fan-in's window, and the window's s */
double		 fanin_warmup(const struct fanspec *);
unsigned	 fanin_window(const struct bench *, const struct fanspec *);
void		 fanin_run(struct bench *, const struct fanspec *, unsigned,
		    struct fanrun *);

/* senders.c: the fan-in group's load, many senders in one epoll loop */
struct senders_conf {
	const struct bench *b;
	const char	*stream;
	const char	*fingerprint;
	int		 port;
	unsigned	 n;		/* senders, hosts fan1..fanN */
	double		 rate;		/* records/s per sender */
	unsigned	 tick_ms;	/* each sender sends this often */
	unsigned	 max_handshakes;	/* in progress at once */
	double		 warmup, window, drain;	/* s */
	pid_t		 recv_pid;	/* its process tree is measured */
	/*
	 * The restart storm (-1: none): after the warm-up, one byte on
	 * storm_out asks for a restart, and a struct storm_msg comes back
	 * on storm_in (non-blocking) once the new receiver listens.
	 */
	int		 storm_out, storm_in;
};

struct storm_msg {
	pid_t		 pid;		/* the new receiver */
	double		 t_restart;	/* now() when it was started */
	double		 stop_s;	/* how long the old one took to stop */
};

struct senders_result {
	double		 t0;
	unsigned	 connected;	/* through the handshake */
	unsigned	 failed;	/* connections that failed, ever */
	unsigned	 lost_shipping;	/* of those, after the handshake */
	char		 first_error[384];
	double		 hs_s;		/* all handshakes */
	double		 hs_max_s;	/* the slowest one */
	double		 window_s;
	double		 recv_cpu_s;	/* receiver tree, over recv_window_s */
	double		 recv_window_s;	/* the sampler's, about window_s */
	double		 aud_cpu_s;	/* of which the serial-gap auditor */
	int		 realtime;	/* the load tool ran SCHED_FIFO */
	double		 self_cpu_s;	/* the load tool, over the window */
	unsigned	 recv_procs;
	long		 recv_pss_kib, recv_rss_kib;	/* largest sampled */
	uint64_t	 win_sent_bytes, win_sent_recs;
	uint64_t	 win_acked_bytes, win_acked_recs;
	uint64_t	 sent_bytes, acked_bytes;	/* whole run */
	uint64_t	 stalls;	/* sends put off: window or socket full */
	double		 drain_s;	/* end of sending to last ACK; NAN */
	double		 lat_p50, lat_p99, lat_max;	/* ms */
	double		 lag_p50, lag_p99;	/* of it, before the send */
	double		 wire_p99;	/* of it, from sent to acked */
	/* The restart storm. */
	unsigned	 storm_senders;	/* shipping when it was asked for */
	unsigned	 storm_welcomed;	/* handshakes after it */
	unsigned	 storm_back;	/* acked again after it */
	uint64_t	 storm_attempts;	/* connections that failed, retried */
	double		 storm_t_restart, storm_stop_s;
	double		 storm_welcome_s, storm_ship_s;	/* since the restart */
};

void		 senders_run(const struct senders_conf *,
		    struct senders_result *, uint64_t *, uint64_t *);

/*
 * sendjobs.c runs the load as jobs, threads of senders.c's loop, each
 * with a slice of the senders and an epoll of its own; they meet only
 * here.
 */
struct senders_shared {
	const struct senders_conf *cf;
	struct ssl_ctx_st *ctx;	/* SSL_CTX */
	const char	*stream;	/* mapped */
	uint64_t	 stream_len;
	double		 t0;
	double		 t_hs_end;	/* written before started */
	atomic_int	 started;	/* every job through its handshakes */
	atomic_uint	 hs_left;	/* jobs still in their handshakes */
	atomic_uint	 nready;	/* senders through a first handshake */
	atomic_uint	 finished;	/* jobs done */
	/* The restart storm. */
	atomic_uint	 storm_armed;	/* jobs that expect the restart */
	atomic_uint	 storm_senders;	/* shipping when it was asked for */
	atomic_uint	 storm_welcomed, storm_back;
	atomic_int	 storm_over;	/* all back, or too late: stop */
};

struct senders_job {
	struct senders_shared *sh;
	pthread_t	 tid;
	unsigned	 lo, n;		/* hosts fan(lo+1)..fan(lo+n) */
	struct senders_result res;	/* its part of the figures */
	double		*lat;		/* ms, frames due in the window */
	double		*lag;		/* of which before it was sent */
	size_t		 nlat;
	uint64_t	*sent, *acked;	/* its slice of the run's arrays */
};

void		*senders_job_run(void *);	/* senders.c */
unsigned	 senders_jobs(const struct bench *, unsigned);	/* sendjobs.c */

/* baseline.c */
struct linecount {
	int		 fd;
	off_t		 off;
	uint64_t	 lines;
};

struct collector {
	pid_t		 pid;
	int		 port;
	char		 dir[PATH_MAX];
	char		 log[PATH_MAX];		/* its audit.log */
	char		 out[PATH_MAX];		/* its stderr */
	struct linecount lc;
};

double		 run_raw_tls(struct bench *, uint64_t, int, double *);
double		 run_audisp_remote(struct bench *, const struct prefix *,
		    int *);
int		 audisp_remote_path(char *, size_t);
void		 collector_start(struct bench *, struct collector *,
		    const char *);
uint64_t	 collector_lines(struct collector *);
void		 collector_stop(struct collector *);
void		 ar_conf_write(const char *, int, uint64_t);

/* e2e.c */
double		 e2e_run_ours(struct bench *, const struct prefix *, unsigned,
		    double *);

/* relay.c: a TCP relay that delays each direction (the WAN case) */
struct relay {
	pid_t		 pid;		/* -1: none */
	int		 port;
};

void		 relay_start(struct relay *, int, unsigned);
void		 relay_stop(struct relay *);
int		 via_port(struct bench *, struct relay *, int);

#endif
