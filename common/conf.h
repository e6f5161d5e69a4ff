/*
 * auditdistd.conf: the syntax of FreeBSD's auditdistd.conf(5), extended
 * for Linux.  One parser serves audisp-dist and auditdistd.
 */
#ifndef AUDITDIST_CONF_H
#define AUDITDIST_CONF_H

#include <stddef.h>
#include <stdint.h>

#define CONF_DEFAULT_PATH	"/etc/audit/auditdistd.conf"	/* audisp-dist */
#define CONF_RECV_DEFAULT_PATH	"/etc/auditdistd/auditdistd.conf" /* auditdistd */
#define CONF_DEFAULT_PORT	"7878"
#define CONF_DEFAULT_SPOOL	"/var/spool/audisp-dist"
#define CONF_DEFAULT_TRAILS	"/var/audit/remote"
/* The receiver's status file: systemd's StateDirectory=auditdistd. */
#define CONF_DEFAULT_RSTATUS	"/var/lib/auditdistd/status"

enum conf_flush {
	FLUSH_NONE,		/* never sync on our own; the kernel writes back */
	FLUSH_INCREMENTAL,	/* sync after every flush_records or flush_bytes */
	FLUSH_DATA,		/* fdatasync after every write (group commit) */
	FLUSH_SYNC,		/* fsync after every write (group commit) */
};

enum conf_full_action {
	FULL_BLOCK,		/* stop reading stdin until there is room */
	FULL_DROP_NEW,		/* discard incoming records, counted */
	FULL_DROP_OLD,		/* delete oldest closed segments, counted */
	FULL_SYSLOG,		/* warn once per episode, keep accepting */
	FULL_EXEC,		/* run full_exec once per episode, keep accepting */
};

struct conf_host {
	char			*name;
	char			*remote;	/* "tls://ADDR[:PORT]" */
	/*
	 * Sender host: the receiver's certificate pin, public-key pin
	 * and/or CA file (at least one), and optionally a client
	 * certificate.  Receiver host: fingerprint pins the sender's
	 * client certificate.
	 */
	char			*fingerprint;	/* "SHA256=AA:BB:..." */
	char			*pubkey;	/* sender: "sha256//BASE64" */
	char			*cafile;	/* sender */
	char			*certfile;	/* sender: client certificate */
	char			*keyfile;	/* sender: its key */
	char			*password;	/* and/or the certificate */
	int			 compression;	/* sender: CONF_COMPRESS_* */
	char			*directory;	/* receiver: trail directory,
					   always absolute once parsed */
	unsigned		 series_hold;	/* receiver: seconds, its own
					   or the receiver block's */
	int			 series_hold_set; /* given in the host block */
	unsigned		 silence_alarm;	/* receiver: seconds, 0: off;
					   its own or the receiver block's */
	int			 silence_alarm_set;
	unsigned		 lineno;	/* where the host block starts */
	struct conf_host	*next;
};

struct conf_sender {
	int			 present;	/* a sender block was given */
	char			*directory;	/* spool, CONF_DEFAULT_SPOOL */
	char			*source;	/* local address to connect from */
	uint64_t		 segment_size;	/* bytes, default 8 MiB */
	unsigned		 segment_age;	/* seconds, default 60 */
	enum conf_flush		 flush;		/* default FLUSH_INCREMENTAL */
	uint64_t		 flush_records;	/* incremental: records, or 0 */
	uint64_t		 flush_bytes;	/* incremental: bytes, or 0 */
	uint64_t		 spool_max_size;/* bytes, 0 = no limit; 1 GiB */
	uint64_t		 spool_min_free;/* bytes, when not a percentage */
	unsigned		 spool_min_free_pct; /* percent, default 5 */
	enum conf_full_action	 full_action;	/* default FULL_DROP_NEW */
	char			*full_exec;	/* program for FULL_EXEC */
	unsigned		 status_interval; /* seconds, default 10 */
	char			*status_file;	/* default <directory>/status */
	char			*metrics_file;	/* Prometheus text; NULL: none */
	char			*user;		/* forwarder's user, "auditdist" */
	struct conf_host	*hosts;
};

/* "publish URLS { ... }": every host's trail to a JetStream stream. */
#define CONF_PUBLISH_NAME_MAX	64
#define CONF_PUBLISH_PREFIX	"auditdist"
#define CONF_PUBLISH_STREAM	"AUDITDIST"
#define CONF_READ_CONSUMER	"auditdist-reader"

struct conf_publish {
	int			 present;	/* line of the block, or 0 */
	char			*urls;		/* "nats://h:p[,tls://h:p...]" */
	char			*subject_prefix; /* "auditdist" */
	char			*stream;	/* "AUDITDIST" */
	char			*user;		/* with password */
	char			*password;
	char			*token;
	char			*cafile;	/* for tls:// */
	int			 create_stream;	/* when missing; default no */
	unsigned		 replicas;	/* 1 */
	/* auditdistd -R: the stream back into per-host trails. */
	char			*read_into;	/* their directory; NULL: none */
	char			*consumer;	/* durable, "auditdist-reader" */
};

struct conf_receiver {
	int			 present;
	char			**listen;	/* NULL-terminated; default */
	unsigned		 nlisten;	/* "tls://[::]:7878" */
	char			*directory;	/* CONF_DEFAULT_TRAILS */
	char			*certfile;
	char			*keyfile;
	uint64_t		 trail_size;	/* rotate trail files, 64 MiB */
	unsigned		 trail_keep;	/* files per host, 0 = all */
	uint64_t		 trail_max_size;/* bytes per host, 0 = no limit */
	unsigned		 series_hold;	/* seconds a silent series keeps
						   its host, default 600 */
	char			*user;		/* run as, "auditdist" */
	char			*trail_group;	/* trails' group, NULL: user's */
	unsigned		 trail_group_line;
	/* "enrol yes": any sender whose client certificate cafile signed
	 * (and crlfile does not revoke) is a host, named by it. */
	int			 enrol;
	char			*cafile;	/* the fleet CA */
	char			*crlfile;	/* its CRL */
	unsigned		 max_connections; /* 0: as the limit allows */
	unsigned		 silence_alarm;	/* seconds, default 300, 0: off */
	int			 serial_gaps;	/* the auditor, default on */
	char			*status_file;	/* CONF_DEFAULT_RSTATUS; NULL:
						   "none" */
	char			*metrics_file;	/* NULL: none */
	unsigned		 writer_hosts;	/* at most, per writer process */
	struct conf_host	*hosts;
	struct conf_publish	 publish;
};

struct conf {
	char			*path;
	char			*name;		/* default: the host name */
	unsigned		 timeout;	/* seconds, default 20 */
	char			*pidfile;	/* NULL: per program; "none": none */
	int			 has_secrets;	/* line of the first password, or 0 */
	struct conf_sender	 sender;
	struct conf_receiver	 receiver;
};

/*
 * Parse the file at path.  On error return NULL and write a message that
 * names the file and line ("FILE:LINE: ...") into err.  A file that holds
 * a password is refused when others may read it, or a group other than
 * the process's effective group or the primary group of the receiver's
 * "user" (of the sender's, in a file without a receiver block).
 */
/* writer_hosts: the default, and at most (one writer's Landlock rules). */
#define CONF_WRITER_HOSTS_DEF	64
#define CONF_WRITER_HOSTS_MAX	256

#define CONF_COMPRESS_NONE	0
#define CONF_COMPRESS_ZSTD	1

struct conf	*conf_load(const char *path, char *err, size_t errlen);
/*
 * Wipe and free every host's password, for a process that does not need
 * them; conf_forget_publish: the publish block's password and token.
 */
void		 conf_forget_secrets(struct conf *);
void		 conf_forget_publish(struct conf *);
/* The same from a string, for tests; name is used in messages.  No mode check. */
struct conf	*conf_parse(const char *name, const char *text, char *err,
		    size_t errlen);
void		 conf_free(struct conf *);

/* "8M", "1G", "4096": a byte count with an optional K/M/G/T suffix (powers of 1024). */
int		 conf_parse_size(const char *s, uint64_t *out);
const char	*conf_flush_name(enum conf_flush);
const char	*conf_full_action_name(enum conf_full_action);

#endif
