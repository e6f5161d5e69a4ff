/*
 * audisp-dist: the auditd plugin.  The main thread moves records from
 * auditd (stdin or the af_unix socket) into the spool and never waits on
 * disk sync; a syncer thread does every fdatasync/fsync.
 */
#ifndef AUDISP_DIST_H
#define AUDISP_DIST_H

#include <sys/types.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "wire.h"

#define SEG_NAME_LEN	16		/* hex digits of the sequence number */
#define SEG_OPEN_SUFFIX	".open"
#define SEG_DONE_SUFFIX	".seg"
#define SPOOL_ID_FILE	"spool.id"
#define SPOOL_LOCK_FILE	"spool.lock"
#define SPOOL_ID_LEN	32		/* hex digits */

/* Counters shown in the status file; this process's lifetime. */
struct counters {
	uint64_t	records_in, bytes_in;		/* whole records read */
	uint64_t	records_spooled, bytes_spooled;	/* written to segments */
	uint64_t	rejected_records, rejected_bytes; /* malformed input */
	uint64_t	dropped_records, dropped_bytes;	/* lost to limits/errors */
};

/* syncer.c */
struct syncer;
struct syncer	*syncer_new(int dirfd);
void		 syncer_free(struct syncer *);
/* Ask for fd (the open segment seq) to be made durable up to size. */
void		 syncer_sync(struct syncer *, int fd, uint64_t seq, uint64_t size,
		    int full);
/*
 * Hand over an open segment: sync it and the directory, close it, rename
 * seq.open to seq.seg, sync the directory; with every flush mode.
 */
void		 syncer_close_segment(struct syncer *, int fd, uint64_t seq);
/* Closed segments waiting for the syncer. */
unsigned	 syncer_backlog(struct syncer *);
/* Wait until everything asked for so far is done; -1 on timeout. */
int		 syncer_drain(struct syncer *, unsigned timeout_sec);
int		 syncer_wait_closed(struct syncer *, unsigned timeout_sec);
/* Durable position of the open segment; 0 when nothing synced yet. */
void		 syncer_durable(struct syncer *, uint64_t *seq, uint64_t *size);
/* Last error (static string in the syncer) or NULL; clears it. */
int		 syncer_take_error(struct syncer *, char *buf, size_t len);

/* spool.c */
struct spool_seg {
	uint64_t	seq;
	int		open;		/* .open rather than .seg */
	uint64_t	size;
};

struct spool {
	char		*path;
	int		 dirfd;
	gid_t		 gid;		/* the forwarder's group, or -1 */
	int		 lockfd;
	char		 id[SPOOL_ID_LEN + 1];
	struct syncer	*syncer;
	int		 durable;	/* flush is not none: sync at exit */
	/* the open segment */
	uint64_t	 seq;
	int		 fd;
	uint64_t	 size;		/* bytes, whole lines only */
	struct timespec	 first_write;	/* CLOCK_MONOTONIC of its first record */
	/* closed segments, from the last scan plus our own rotations */
	uint64_t	 closed_bytes;
	unsigned	 closed_count;
	uint64_t	 oldest_seq;	/* 0 when there is no closed segment */
	/* recovery report */
	uint64_t	 torn_bytes;	/* cut from torn tails at open */
	unsigned	 torn_records;
};

int		 spool_seg_name(char *buf, size_t len, uint64_t seq, int open);
int		 spool_seg_parse_name(const char *name, uint64_t *seq, int *open);
int		 spool_open(struct spool *, const char *path, char *err, size_t errlen);
/*
 * A new random identity, written durably (temporary file, fsync, rename,
 * fsync of the directory): the spool starts a new series.
 */
int		 spool_new_id(struct spool *);
/*
 * Read dirfd's spool.id: 32 hex digits and a newline, nothing else, as
 * text (hex, NUL-terminated) and as bytes (id); either may be NULL.
 * -1 with errno EINVAL when it is malformed.
 */
int		 spool_read_id(int dirfd, char hex[SPOOL_ID_LEN + 1],
		    uint8_t id[SPOOL_ID_LEN / 2]);
/* Every segment in dirfd, sorted by sequence number. */
int		 spool_list(int dirfd, struct spool_seg **, size_t *);
/*
 * Let group gid (the forwarder's) read the spool: the directory 0750,
 * spool.id and segments 0640, now and as segments are created.
 */
int		 spool_share(struct spool *, gid_t gid);
void		 spool_close(struct spool *);
/*
 * Append whole lines, splitting across segments only at line boundaries.
 * Returns the bytes written (whole lines); less than len with errno set
 * when the disk refused the rest.
 */
size_t		 spool_write(struct spool *, const char *buf, size_t len,
		    uint64_t segment_size);
int		 spool_rotate(struct spool *);
int		 spool_scan(struct spool *);
uint64_t	 spool_total(const struct spool *);
/* Delete the oldest closed segment that nobody holds a lock on. */
int		 spool_drop_oldest(struct spool *, uint64_t *records, uint64_t *bytes);
/* Whole-record time (seconds) of the oldest record in the spool, or -1. */
int64_t		 spool_oldest_record_time(struct spool *);
/* The same for the record at offset off of segment seq. */
int64_t		 spool_record_time(struct spool *, uint64_t seq, uint64_t off);
uint64_t	 spool_count_lines(const char *buf, size_t len);

/* intake.c */
struct intake {
	char		*buf;		/* buf[0] is the start of a record */
	size_t		 cap, len;
	size_t		 consumed_end;	/* input bytes framed by the last call */
	size_t		 discard;	/* tail dropped by the last call */
	int		 skipping;	/* inside an over-long line */
	uint64_t	 skip_start;	/* its input offset */
	uint64_t	 skipped;	/* its bytes so far */
	uint64_t	 offset;	/* input offset of buf[0] */
	unsigned	 warned;	/* rate limit for malformed-input warnings */
};

struct intake_out {
	const char	*data;		/* whole, valid lines, contiguous */
	size_t		 len;
	uint64_t	 records;
};

#define INTAKE_MAX_RECORD	(128 * 1024)	/* auditd's are under 10 KiB */

int		 intake_init(struct intake *, size_t cap);
void		 intake_free(struct intake *);
/* Where to read into, and how much room there is. */
#define		 intake_space(in)	((in)->cap - (in)->len)
#define		 intake_tail(in)	((in)->buf + (in)->len)
/*
 * Frame the n bytes just read into intake_tail(): valid whole lines are
 * compacted to the front and described by out; malformed lines are counted
 * in c and logged (rate-limited).  Then spool out, then intake_consume().
 */
void		 intake_frame(struct intake *, size_t n, struct intake_out *,
		    struct counters *);
void		 intake_consume(struct intake *);
/* End of stream (or of a connection): discard a partial last line, counted. */
void		 intake_eof(struct intake *, struct counters *);

/* limits.c */
enum limit_state { LIMIT_OK, LIMIT_FULL };
struct limits {
	enum limit_state state;
	const char	*reason;	/* "spool_max_size" / "spool_min_free" */
	uint64_t	 fs_free;	/* bytes available at the last statvfs */
	uint64_t	 fs_size;
	uint64_t	 written_since;	/* bytes written since that statvfs */
	uint64_t	 episode_records, episode_bytes;
	struct timespec	 episode_start;
	time_t		 last_refusal;	/* CLOCK_MONOTONIC s: last time over */
	int		 dropping;	/* drop_new dropped: see limits_dropping */
};
/* An episode ends after this long with nothing refused. */
#define LIMITS_QUIET	5
int		 limits_refresh(struct limits *, struct spool *);
/* Would writing len more bytes break a limit?  Sets reason. */
/*
 * drop_new keeps the oldest unbroken history: once it dropped a record,
 * later ones are dropped too (short ones that would fit the last bytes
 * as well) until there is room for a segment again (half of
 * spool_max_size if that is less).  1 while that lasts.
 */
int		 limits_dropping(struct limits *, const struct conf_sender *,
		    const struct spool *);
/* Bytes that may still be spooled (l->reason: the limit that binds). */
uint64_t	 limits_room(struct limits *, const struct conf_sender *,
		    const struct spool *);
int		 limits_over(struct limits *, const struct conf_sender *,
		    const struct spool *, uint64_t len);
void		 limits_episode_begin(struct limits *, const struct conf_sender *,
		    const struct spool *);
void		 limits_episode_end(struct limits *, const struct conf_sender *);
int		 limits_run_exec(const char *prog, const char *reason);

/*
 * status.c: one whole line per write, never cut.  last_error_time is
 * when the status first showed the current last_error.
 */
struct status {
	char		*path;
	int		 fd;
	uint64_t	 size;
	int		 auditfd;	/* netlink, for the kernel's counters */
	char		 error_seen[1024];	/* last_error when it was seen */
	time_t		 error_at;	/* when it was seen first, or 0 */
};
int		 status_open(struct status *, const char *path);
void		 status_close(struct status *);
struct plugin;
void		 status_write(struct status *, struct plugin *);
/* The line for now; len must be at least status_line_max(). */
size_t		 status_format(char *buf, size_t len, struct plugin *,
		    const struct timespec *now);
size_t		 status_line_max(const struct plugin *);
/* HEALTH's text for receiver host (wire_dec_health); 0: did not fit. */
size_t		 status_health(char *buf, size_t len, struct plugin *,
		    const char *host);
/* The kernel's boot ID, for HEALTH: before the sandbox. */
void		 status_read_boot_id(void);
/* Once in a while, a chunk of input: are the records RAW or ENRICHED? */
void		 status_sample_format(struct plugin *, const char *, size_t);
struct fwd_hoststat;
struct wire_pos;
/* Host h acknowledged up to ack: count what it shipped (metrics). */
void		 status_acked(struct plugin *, struct fwd_hoststat *h,
		    const struct wire_pos *ack);

/* goodconf.c: the last configuration that loaded, for a broken start. */
#define GOODCONF_NAME	"last-good.conf"
int		 goodconf_path(char *buf, size_t len, const char *dir);
/* Copy src (just loaded) to dir's last good copy, atomically, mode 0600. */
int		 goodconf_save(const char *dir, const char *src, char *err,
		    size_t errlen);
/* When the copy at path was saved, as an ISO 8601 UTC time. */
void		 goodconf_time(const char *path, char *buf, size_t len);

/* runconf.c: the running configuration; conf_path, dir (-D) are kept. */
struct plugin;
int		 runconf_init(struct plugin *, const char *conf_path,
		    const char *dir);
/* path's configuration, without its secrets; NULL and err if broken. */
struct conf	*runconf_load(const char *path, char *err, size_t errlen);
/* At start: the file, else its last good copy, else the defaults. */
struct conf	*runconf_start(void);
/* A reload loaded (good) or failed (broken: what runs stays). */
void		 runconf_good(void);
void		 runconf_broken(const char *err);
void		 runconf_nag(time_t now);
/* The file the forwarder reads the running configuration from. */
const char	*runconf_fwd_path(void);
/* -n beyond the file itself: exits if the spool cannot be used. */
void		 runconf_check(const struct conf *);

/* main.c: the plugin's state, shared with status.c and the tests. */
enum plugin_state { ST_RUNNING, ST_BLOCKED, ST_DROPPING, ST_STOPPING, ST_STOPPED };
/* Where the running configuration came from. */
enum conf_from { CONF_FROM_FILE, CONF_FROM_LAST_GOOD, CONF_FROM_DEFAULTS };
struct fwdsup;
struct plugin {
	struct conf	*conf;
	struct fwdsup	*fwd;		/* forwarder.h */
	struct spool	 spool;
	struct intake	 intake;
	struct limits	 limits;
	struct status	 status;
	struct counters	 c;
	enum plugin_state state;
	char		 last_error[1024];	/* "HOST: " and a reason fit */
	enum conf_from	 conf_from;
	char		 conf_error[1024];	/* the file's, while broken */
	int64_t		 kernel_lost, kernel_backlog;	/* -1 unknown */
	enum wire_health_format format;	/* of the input, last sampled */
	int		 format_sample;	/* sample the next chunk */
	uint64_t	 since_sync_records, since_sync_bytes;
};
const char	*plugin_state_name(enum plugin_state);

#endif
