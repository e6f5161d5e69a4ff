/*
 * The keywords of auditdistd.conf: one table row per keyword and block,
 * with the setter that checks its values and stores them.
 *
 * A plain value (a number, a size, a path, yes or no) needs only a row:
 * a generic setter and the field it goes to, whose type the row's macro
 * checks at compile time.  Anything else is a row and a small function.
 * A keyword whose value goes to a different struct in different blocks
 * has a row for each; rows of one block keep the order of the manual,
 * which "did you mean" follows on a tie.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"

/* Sender limits; the man page states the same numbers. */
#define MIN_SEGMENT_SIZE	(4 * KIB)
#define MAX_SEGMENT_SIZE	GIB
#define MAX_SECONDS		86400
#define MAX_FLUSH_RECORDS	1000000
#define MAX_TIMEOUT		3600

/* Receiver limits. */
#define MIN_TRAIL_SIZE		(64 * KIB)
#define MAX_TRAIL_SIZE		(64 * GIB)
#define MAX_TRAIL_KEEP		1000000
#define MAX_SERIES_HOLD		(7 * 86400)
#define MAX_CONNECTIONS		1000000
#define MAX_REPLICAS		5

static const char *scope_in[SC_MAX] = {
	"at top level", "in sender block", "in receiver block",
	"in sender host block", "in receiver host block", "in publish block",
};

void
conf_take_arg(struct stmt *st, int i, char **dst)
{
	/* Moved, not copied, so that no copy of a secret is left. */
	conf_wipe_free(*dst);
	*dst = st->arg[i];
	st->arg[i] = NULL;
}

/* The field of obj a row names. */
#define AT(obj, k, type)	((type *)(void *)((char *)(obj) + (k)->off))

/* Generic setters: the value's check, then into the row's field. */

static int
set_uint(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	uint64_t n = 0;

	if (conf_get_uint(p, st, st->arg[0], k->min, k->max, k->unit,
	    &n) == -1)
		return -1;
	*AT(obj, k, unsigned) = (unsigned)n;
	return 0;
}

static int
set_size(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	return conf_get_size(p, st, st->arg[0], k->min, k->max, k->unit,
	    AT(obj, k, uint64_t));
}

static int
set_path(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	if (conf_check_path(p, st, st->word, st->arg[0]) == -1)
		return -1;
	conf_take_arg(st, 0, AT(obj, k, char *));
	return 0;
}

/* FreeBSD spells "no pid file" as "none"; finish() reads it. */
static int
set_path_or_none(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	if (strcmp(st->arg[0], "none") != 0 &&
	    conf_check_path(p, st, st->word, st->arg[0]) == -1)
		return -1;
	conf_take_arg(st, 0, AT(obj, k, char *));
	return 0;
}

static int
set_yesno(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	const char *v = st->arg[0];

	if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
		return conf_perr(p, st->line, "\"%s\" is \"yes\" or \"no\", "
		    "not \"%s\"", st->word, v);
	*AT(obj, k, int) = strcmp(v, "yes") == 0;
	return 0;
}

static int
set_secret(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	/* Never echo the value: messages end up in logs. */
	if (*st->arg[0] == '\0')
		return conf_perr(p, st->line, "\"%s\" is empty", st->word);
	conf_take_arg(st, 0, AT(obj, k, char *));
	if (p->conf->has_secrets == 0)
		p->conf->has_secrets = (int)st->line;
	return 0;
}

/* Top level. */

static int
set_name(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	if (!conf_host_name_ok(st->arg[0]))
		return conf_perr(p, st->line, "\"name\" must be 1 to %d "
		    "letters, digits, '.', '_' or '-', not \"%s\"",
		    CONF_HOSTNAME_MAX, st->arg[0]);
	conf_take_arg(st, 0, AT(obj, k, char *));
	return 0;
}

static int
open_sender(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	struct conf *c = obj;

	(void)k;
	c->sender.present = 1;
	return conf_parse_block(p, SC_SENDER, NULL, "sender block", st->line);
}

static int
open_receiver(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	struct conf *c = obj;

	(void)k;
	c->receiver.present = 1;
	return conf_parse_block(p, SC_RECEIVER, NULL, "receiver block",
	    st->line);
}

/* Sender and receiver blocks. */

/* "/a/b//" -> "/a/b", so that joins and comparisons see one spelling. */
static void
strip_slashes(char *s)
{
	size_t len = strlen(s);

	while (len > 1 && s[len - 1] == '/')
		s[--len] = '\0';
}

static int
set_directory(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	if (set_path(p, st, k, obj) == -1)
		return -1;
	strip_slashes(*AT(obj, k, char *));
	return 0;
}

static struct conf_host *
host_new(struct parser *p, struct stmt *st)
{
	struct conf_host *h, **tail;

	if (!conf_host_name_ok(st->arg[0])) {
		conf_perr(p, st->line, "host name \"%s\" must be 1 to %d "
		    "letters, digits, '.', '_' or '-' (it names a directory)",
		    st->arg[0], CONF_HOSTNAME_MAX);
		return NULL;
	}
	tail = st->sc == SC_SENDER ? &p->conf->sender.hosts :
	    &p->conf->receiver.hosts;
	for (; *tail != NULL; tail = &(*tail)->next)
		if (strcmp((*tail)->name, st->arg[0]) == 0) {
			conf_perr(p, st->line, "host \"%s\" defined twice "
			    "(lines %u and %u)", st->arg[0], (*tail)->lineno,
			    st->line);
			return NULL;
		}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		conf_perr(p, st->line, "out of memory");
		return NULL;
	}
	conf_take_arg(st, 0, &h->name);
	h->lineno = st->line;
	*tail = h;
	return h;
}

static int
open_host(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	struct conf_host *h;
	char what[CONF_HOSTNAME_MAX + 32];

	(void)k;
	(void)obj;
	if ((h = host_new(p, st)) == NULL)
		return -1;
	snprintf(what, sizeof(what), "host \"%s\" block", h->name);
	return conf_parse_block(p, st->sc == SC_SENDER ? SC_SHOST : SC_RHOST,
	    h, what, st->line);
}

static int
set_user(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	const char *v = st->arg[0];

	if (!conf_user_name_ok(v))
		return conf_perr(p, st->line, "\"user\" must be 1 to %d "
		    "lower-case letters, digits, '_' or '-', starting with a "
		    "letter or '_', not \"%s\"", USER_NAME_MAX, v);
	if (strcmp(v, "root") == 0)
		return conf_perr(p, st->line, "\"user\" must be an "
		    "unprivileged user such as \"%s\", not root", DEF_USER);
	conf_take_arg(st, 0, AT(obj, k, char *));
	return 0;
}

static int
set_source(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	const char *v = st->arg[0], *why;

	if (strstr(v, "://") != NULL) {
		if (conf_check_addr(p, st, v) == -1)
			return -1;
	} else if ((why = conf_hostport_problem(v)) != NULL)
		return conf_perr(p, st->line, "\"source\" address \"%s\" %s",
		    v, why);
	conf_take_arg(st, 0, AT(obj, k, char *));
	return 0;
}

const char *
conf_flush_name(enum conf_flush f)
{
	static const char *names[] = { "none", "incremental", "data", "sync" };

	if ((unsigned)f >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[f];
}

/* "flush incremental N records" or "flush incremental SIZE bytes". */
static int
set_flush_incremental(struct parser *p, const struct stmt *st,
    struct conf_sender *s)
{
	const char *unit = st->nargs == 3 ? st->arg[2] : "";
	uint64_t n = 0;

	if (strcmp(unit, "records") == 0 || strcmp(unit, "record") == 0) {
		if (conf_get_uint(p, st, st->arg[1], 1, MAX_FLUSH_RECORDS,
		    "records", &n) == -1)
			return -1;
		s->flush_records = n;
		s->flush_bytes = 0;
	} else if (strcmp(unit, "bytes") == 0 || strcmp(unit, "byte") == 0) {
		if (conf_get_size(p, st, st->arg[1], 1, GIB, "1 to 1G",
		    &n) == -1)
			return -1;
		s->flush_records = 0;
		s->flush_bytes = n;
	} else
		return conf_perr(p, st->line, "\"flush incremental\" needs a "
		    "count and a unit, as in \"flush incremental 100 records\" "
		    "or \"flush incremental 1M bytes\"");
	s->flush = FLUSH_INCREMENTAL;
	return 0;
}

static int
set_flush(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	struct conf_sender *s = obj;
	const char *mode = st->arg[0];
	enum conf_flush f;

	(void)k;
	if (strcmp(mode, "incremental") == 0)
		return set_flush_incremental(p, st, s);
	if (strcmp(mode, "none") == 0)
		f = FLUSH_NONE;
	else if (strcmp(mode, "data") == 0)
		f = FLUSH_DATA;
	else if (strcmp(mode, "sync") == 0)
		f = FLUSH_SYNC;
	else
		return conf_perr(p, st->line, "unknown flush mode \"%s\" "
		    "(none, data, sync or incremental)", mode);
	if (st->nargs != 1)
		return conf_perr(p, st->line, "\"flush %s\" takes no more "
		    "values", mode);
	s->flush = f;
	s->flush_records = 0;
	s->flush_bytes = 0;
	return 0;
}

static int
set_min_free_pct(struct parser *p, const struct stmt *st,
    struct conf_sender *s)
{
	const char *v = st->arg[0];
	size_t len = strlen(v);
	uint64_t n = 0;
	char num[24];
	int rc;

	if (len - 1 >= sizeof(num))
		return conf_perr(p, st->line, "\"spool_min_free\" %s is out of "
		    "range (0%% to 99%%)", v);
	memcpy(num, v, len - 1);
	num[len - 1] = '\0';
	if ((rc = conf_parse_u64(num, &n)) == -1 && errno == EINVAL)
		return conf_perr(p, st->line, "\"spool_min_free\" needs a size "
		    "or a percentage, not \"%s\"", v);
	if (rc == -1 || n > 99)
		return conf_perr(p, st->line, "\"spool_min_free\" %s is out of "
		    "range (0%% to 99%%)", v);
	s->spool_min_free_pct = (unsigned)n;
	s->spool_min_free = 0;
	return 0;
}

static int
set_min_free(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	struct conf_sender *s = obj;
	const char *v = st->arg[0];
	size_t len = strlen(v);
	uint64_t n = 0;

	(void)k;
	if (len > 1 && v[len - 1] == '%')
		return set_min_free_pct(p, st, s);
	if (conf_parse_size(v, &n) == -1) {
		if (errno == ERANGE)
			return conf_perr(p, st->line, "\"spool_min_free\" %s "
			    "is too large", v);
		return conf_perr(p, st->line, "\"spool_min_free\" needs a size "
		    "such as 512M or a percentage such as 5%%, not \"%s\"", v);
	}
	s->spool_min_free = n;
	s->spool_min_free_pct = 0;
	return 0;
}

static const char *full_action_names[] = {
	"block", "drop_new", "drop_old", "syslog", "exec",
};
#define NFULL_ACTIONS	\
	(sizeof(full_action_names) / sizeof(full_action_names[0]))

const char *
conf_full_action_name(enum conf_full_action a)
{
	if ((unsigned)a >= NFULL_ACTIONS)
		return "unknown";
	return full_action_names[a];
}

static int
set_full_action(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	struct conf_sender *s = obj;
	unsigned i;

	(void)k;
	for (i = 0; i < NFULL_ACTIONS; i++)
		if (strcmp(st->arg[0], full_action_names[i]) == 0)
			break;
	if (i == NFULL_ACTIONS)
		return conf_perr(p, st->line, "unknown spool_full_action "
		    "\"%s\" (block, drop_new, drop_old, syslog or exec)",
		    st->arg[0]);
	if (i == FULL_EXEC) {
		if (st->nargs != 2)
			return conf_perr(p, st->line, "\"spool_full_action "
			    "exec\" needs the absolute path of a program");
		if (conf_check_path(p, st, "spool_full_action exec",
		    st->arg[1]) == -1)
			return -1;
		conf_take_arg(st, 1, &s->full_exec);
	} else if (st->nargs != 1)
		return conf_perr(p, st->line, "\"spool_full_action %s\" takes "
		    "no more values", st->arg[0]);
	s->full_action = (enum conf_full_action)i;
	return 0;
}

static int
set_listen(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	struct conf_receiver *r = obj;
	char **nl;

	(void)k;
	if (conf_check_addr(p, st, st->arg[0]) == -1)
		return -1;
	if (r->nlisten == CONF_MAX_LISTEN)
		return conf_perr(p, st->line, "too many \"listen\" addresses "
		    "(at most %d)", CONF_MAX_LISTEN);
	nl = reallocarray(r->listen, r->nlisten + 2, sizeof(*nl));
	if (nl == NULL)
		return conf_perr(p, st->line, "out of memory");
	r->listen = nl;
	r->listen[r->nlisten++] = st->arg[0];
	r->listen[r->nlisten] = NULL;
	st->arg[0] = NULL;
	return 0;
}

/* Group names follow the same rule as user names. */
static int
set_trail_group(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	struct conf_receiver *r = obj;

	(void)k;
	if (!conf_user_name_ok(st->arg[0]))
		return conf_perr(p, st->line, "\"trail_group\" must be 1 to %d "
		    "lower-case letters, digits, '_' or '-', starting with a "
		    "letter or '_', not \"%s\"", USER_NAME_MAX, st->arg[0]);
	conf_take_arg(st, 0, &r->trail_group);
	r->trail_group_line = st->line;
	return 0;
}

/* Host blocks. */

/* FreeBSD: relative to the receiver's directory, so stay in it. */
static int
set_host_directory(struct parser *p, struct stmt *st,
    const struct keyword *k, void *obj)
{
	const char *v = st->arg[0], *q;

	if (v[0] == '/')
		return set_directory(p, st, k, obj);
	if (*v == '\0')
		return conf_perr(p, st->line, "\"directory\" is empty");
	for (q = v; q != NULL; q = strchr(q, '/')) {
		if (*q == '/')
			q++;
		if (strncmp(q, "..", 2) == 0 && (q[2] == '/' || q[2] == '\0'))
			return conf_perr(p, st->line, "relative "
			    "\"directory\" \"%s\" must stay inside the "
			    "receiver directory", v);
	}
	conf_take_arg(st, 0, AT(obj, k, char *));
	strip_slashes(*AT(obj, k, char *));
	return 0;
}

/* A receiver host's own value, instead of the receiver block's. */
static int
set_uint_own(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj, int *own)
{
	if (set_uint(p, st, k, obj) == -1)
		return -1;
	*own = 1;
	return 0;
}

static int
set_host_series_hold(struct parser *p, struct stmt *st,
    const struct keyword *k, void *obj)
{
	struct conf_host *h = obj;

	return set_uint_own(p, st, k, obj, &h->series_hold_set);
}

static int
set_host_silence_alarm(struct parser *p, struct stmt *st,
    const struct keyword *k, void *obj)
{
	struct conf_host *h = obj;

	return set_uint_own(p, st, k, obj, &h->silence_alarm_set);
}

static int
set_remote(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	if (conf_check_addr(p, st, st->arg[0]) == -1)
		return -1;
	conf_take_arg(st, 0, AT(obj, k, char *));
	return 0;
}

static int
set_fingerprint(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	char *v;

	if (conf_check_fingerprint(p, st, &v) == -1)
		return -1;
	free(*AT(obj, k, char *));
	*AT(obj, k, char *) = v;
	return 0;
}

static int
set_pubkey(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	if (conf_check_pubkey(p, st) == -1)
		return -1;
	conf_take_arg(st, 0, AT(obj, k, char *));
	return 0;
}

static int
set_compression(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	const char *v = st->arg[0];

	if (strcmp(v, "zstd") == 0)
		*AT(obj, k, int) = CONF_COMPRESS_ZSTD;
	else if (strcmp(v, "none") == 0)
		*AT(obj, k, int) = CONF_COMPRESS_NONE;
	else
		return conf_perr(p, st->line, "\"compression\" is \"zstd\" or "
		    "\"none\", not \"%s\"", v);
	return 0;
}

/* The publish block. */

static int
open_publish(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	struct conf_receiver *r = obj;

	(void)k;
	if (!conf_publish_urls_ok(st->arg[0]))
		return conf_perr(p, st->line, "\"publish\" takes "
		    "\"nats://HOST:PORT\" or \"tls://HOST:PORT\", several "
		    "separated by ','; not \"%s\"", st->arg[0]);
	r->publish.present = (int)st->line;
	conf_take_arg(st, 0, &r->publish.urls);
	return conf_parse_block(p, SC_PUBLISH, NULL, "publish block",
	    st->line);
}

/* A NATS user, not a local one: anything but spaces. */
static int
set_publish_user(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	const char *v = st->arg[0];

	if (*v == '\0' || strpbrk(v, " \t\n") != NULL)
		return conf_perr(p, st->line, "\"user\" is empty or holds "
		    "spaces");
	conf_take_arg(st, 0, AT(obj, k, char *));
	return 0;
}

/* A subject prefix may have dots between its tokens, a stream or a
 * consumer none. */
static int
set_publish_name(struct parser *p, struct stmt *st, const struct keyword *k,
    void *obj)
{
	int dots = strcmp(k->name, "subject_prefix") == 0;

	if (!conf_publish_name_ok(st->arg[0], dots))
		return conf_perr(p, st->line, "\"%s\" must be 1 to %d letters, "
		    "digits, '_' or '-'%s, not \"%s\"", st->word,
		    CONF_PUBLISH_NAME_MAX, dots ? " (dots between)" : "",
		    st->arg[0]);
	conf_take_arg(st, 0, AT(obj, k, char *));
	return 0;
}

/*
 * The field a row stores into, of the given type: a row whose type does
 * not match its field does not compile ("distinct pointer types").
 */
#define FIELD(s, f, type)	(offsetof(struct s, f) + \
			    0 * sizeof(&((struct s *)0)->f == (type *)0))
/* A number: its field, bounds and unit (for a size, its range in words). */
#define UINT(s, f, min, max, unit) FIELD(s, f, unsigned), min, max, unit
#define U64(s, f, min, max, range) FIELD(s, f, uint64_t), min, max, range
#define INT(s, f)		FIELD(s, f, int), 0, 0, NULL
#define STR(s, f)		FIELD(s, f, char *), 0, 0, NULL
#define NOFIELD			0, 0, 0, NULL	/* the setter knows */

#define G	IN(SC_GLOBAL)
#define S	IN(SC_SENDER)
#define R	IN(SC_RECEIVER)
#define SH	IN(SC_SHOST)
#define RH	IN(SC_RHOST)
#define P	IN(SC_PUBLISH)
#define RPT	KF_REPEAT
#define BLK	KF_BLOCK

/*
 * keyword, blocks, least and most values, flags, setter, and the field
 * for a generic setter (or for a small one that serves several blocks).
 */
const struct keyword conf_keywords[] = {
	/* Top level: struct conf. */
	{ "name",		G, 1, 1, 0, set_name, STR(conf, name) },
	{ "timeout",		G, 1, 1, 0, set_uint,
	    UINT(conf, timeout, 1, MAX_TIMEOUT, "seconds") },
	{ "pidfile",		G, 1, 1, 0, set_path_or_none,
	    STR(conf, pidfile) },
	{ "sender",		G, 0, 0, BLK, open_sender, NOFIELD },
	{ "receiver",		G, 0, 0, BLK, open_receiver, NOFIELD },

	/* Sender block: struct conf_sender. */
	{ "directory",		S, 1, 1, 0, set_directory,
	    STR(conf_sender, directory) },
	{ "source",		S, 1, 1, 0, set_source,
	    STR(conf_sender, source) },
	{ "host",		S, 1, 1, RPT | BLK, open_host, NOFIELD },
	{ "segment_size",	S, 1, 1, 0, set_size,
	    U64(conf_sender, segment_size,
	    MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE, "4K to 1G") },
	{ "segment_age",	S, 1, 1, 0, set_uint,
	    UINT(conf_sender, segment_age, 1, MAX_SECONDS, "seconds") },
	{ "flush",		S, 1, 3, 0, set_flush, NOFIELD },
	{ "spool_max_size",	S, 1, 1, 0, set_size,
	    U64(conf_sender, spool_max_size, 0, UINT64_MAX,
	    "0 for no limit, or at least segment_size") },
	{ "spool_min_free",	S, 1, 1, 0, set_min_free, NOFIELD },
	{ "spool_full_action",	S, 1, 2, 0, set_full_action, NOFIELD },
	{ "status_interval",	S, 1, 1, 0, set_uint,
	    UINT(conf_sender, status_interval, 1, MAX_SECONDS, "seconds") },
	{ "status_file",	S, 1, 1, 0, set_path,
	    STR(conf_sender, status_file) },
	{ "metrics_file",	S, 1, 1, 0, set_path,
	    STR(conf_sender, metrics_file) },
	{ "user",		S, 1, 1, 0, set_user, STR(conf_sender, user) },

	/* Receiver block: struct conf_receiver. */
	{ "directory",		R, 1, 1, 0, set_directory,
	    STR(conf_receiver, directory) },
	{ "host",		R, 1, 1, RPT | BLK, open_host, NOFIELD },
	{ "status_file",	R, 1, 1, 0, set_path_or_none,
	    STR(conf_receiver, status_file) },
	{ "metrics_file",	R, 1, 1, 0, set_path,
	    STR(conf_receiver, metrics_file) },
	{ "listen",		R, 1, 1, RPT, set_listen, NOFIELD },
	{ "certfile",		R, 1, 1, 0, set_path,
	    STR(conf_receiver, certfile) },
	{ "keyfile",		R, 1, 1, 0, set_path,
	    STR(conf_receiver, keyfile) },
	{ "user",		R, 1, 1, 0, set_user,
	    STR(conf_receiver, user) },
	/* The receiver's cafile and crlfile: the fleet CA, its revocations. */
	{ "cafile",		R, 1, 1, 0, set_path,
	    STR(conf_receiver, cafile) },
	{ "trail_size",		R, 1, 1, 0, set_size,
	    U64(conf_receiver, trail_size,
	    MIN_TRAIL_SIZE, MAX_TRAIL_SIZE, "64K to 64G") },
	{ "trail_keep",		R, 1, 1, 0, set_uint,
	    UINT(conf_receiver, trail_keep, 0, MAX_TRAIL_KEEP, "files") },
	{ "trail_max_size",	R, 1, 1, 0, set_size,
	    U64(conf_receiver, trail_max_size, 0, UINT64_MAX,
	    "0 for no limit, or at least trail_size") },
	{ "series_hold",	R, 1, 1, 0, set_uint,
	    UINT(conf_receiver, series_hold, 0, MAX_SERIES_HOLD, "seconds") },
	{ "trail_group",	R, 1, 1, 0, set_trail_group, NOFIELD },
	{ "crlfile",		R, 1, 1, 0, set_path,
	    STR(conf_receiver, crlfile) },
	{ "enrol",		R, 1, 1, 0, set_yesno,
	    INT(conf_receiver, enrol) },
	{ "serial_gaps",	R, 1, 1, 0, set_yesno,
	    INT(conf_receiver, serial_gaps) },
	{ "max_connections",	R, 1, 1, 0, set_uint,
	    UINT(conf_receiver, max_connections,
	    1, MAX_CONNECTIONS, "connections") },
	{ "silence_alarm",	R, 1, 1, 0, set_uint,
	    UINT(conf_receiver, silence_alarm, 0, MAX_SECONDS, "seconds") },
	{ "writer_hosts",	R, 1, 1, 0, set_uint,
	    UINT(conf_receiver, writer_hosts,
	    1, CONF_WRITER_HOSTS_MAX, "hosts") },
	{ "publish",		R, 1, 1, BLK, open_publish, NOFIELD },

	/* Host blocks: struct conf_host.  A sender host's certfile and
	 * keyfile are its client certificate. */
	{ "directory",		RH, 1, 1, 0, set_host_directory,
	    STR(conf_host, directory) },
	{ "certfile",		SH, 1, 1, 0, set_path,
	    STR(conf_host, certfile) },
	{ "keyfile",		SH, 1, 1, 0, set_path,
	    STR(conf_host, keyfile) },
	{ "remote",		SH | RH, 1, 1, 0, set_remote,
	    STR(conf_host, remote) },
	{ "fingerprint",	SH | RH, 1, 2, 0, set_fingerprint,
	    STR(conf_host, fingerprint) },
	{ "password",		SH | RH, 1, 1, 0, set_secret,
	    STR(conf_host, password) },
	{ "pubkey",		SH, 1, 1, 0, set_pubkey,
	    STR(conf_host, pubkey) },
	{ "cafile",		SH, 1, 1, 0, set_path,
	    STR(conf_host, cafile) },
	{ "compression",	SH, 1, 1, 0, set_compression,
	    INT(conf_host, compression) },
	{ "series_hold",	RH, 1, 1, 0, set_host_series_hold,
	    UINT(conf_host, series_hold, 0, MAX_SERIES_HOLD, "seconds") },
	{ "silence_alarm",	RH, 1, 1, 0, set_host_silence_alarm,
	    UINT(conf_host, silence_alarm, 0, MAX_SECONDS, "seconds") },

	/* Publish block: struct conf_publish. */
	{ "password",		P, 1, 1, 0, set_secret,
	    STR(conf_publish, password) },
	{ "user",		P, 1, 1, 0, set_publish_user,
	    STR(conf_publish, user) },
	{ "cafile",		P, 1, 1, 0, set_path,
	    STR(conf_publish, cafile) },
	{ "subject_prefix",	P, 1, 1, 0, set_publish_name,
	    STR(conf_publish, subject_prefix) },
	{ "stream",		P, 1, 1, 0, set_publish_name,
	    STR(conf_publish, stream) },
	{ "token",		P, 1, 1, 0, set_secret,
	    STR(conf_publish, token) },
	{ "create_stream",	P, 1, 1, 0, set_yesno,
	    INT(conf_publish, create_stream) },
	{ "replicas",		P, 1, 1, 0, set_uint,
	    UINT(conf_publish, replicas, 1, MAX_REPLICAS, "replicas") },
	{ "read_into",		P, 1, 1, 0, set_path,
	    STR(conf_publish, read_into) },
	{ "consumer",		P, 1, 1, 0, set_publish_name,
	    STR(conf_publish, consumer) },
};
const size_t conf_nkeywords = sizeof(conf_keywords) / sizeof(conf_keywords[0]);

_Static_assert(sizeof(conf_keywords) / sizeof(conf_keywords[0]) <=
    CONF_MAX_KEYWORDS, "CONF_MAX_KEYWORDS is too small");

static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[33];

	if (la > 32 || lb > 32)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j], best;

			best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static int
unknown_keyword(struct parser *p, const struct stmt *st)
{
	const char *best = NULL;
	size_t i, d, bestd = 3;

	for (i = 0; i < conf_nkeywords; i++) {
		if (!(conf_keywords[i].scopes & IN(st->sc)))
			continue;
		d = edit_distance(st->word, conf_keywords[i].name);
		if (d < bestd) {
			bestd = d;
			best = conf_keywords[i].name;
		}
	}
	if (best != NULL)
		return conf_perr(p, st->line, "unknown keyword \"%s\" %s (did "
		    "you mean \"%s\"?)", st->word, scope_in[st->sc], best);
	return conf_perr(p, st->line, "unknown keyword \"%s\" %s", st->word,
	    scope_in[st->sc]);
}

static int
misplaced_keyword(struct parser *p, const struct stmt *st, unsigned scopes)
{
	char where[128];
	size_t len = 0;
	int s, n = 0;

	where[0] = '\0';
	for (s = 0; s < SC_MAX && len < sizeof(where); s++) {
		if (!(scopes & IN(s)))
			continue;
		len += (size_t)snprintf(where + len, sizeof(where) - len,
		    "%s%s", n++ > 0 ? " or " : "", scope_in[s]);
	}
	return conf_perr(p, st->line, "\"%s\" is not allowed %s, only %s",
	    st->word, scope_in[st->sc], where);
}

/* The row of st's keyword in st's block, or NULL and why not. */
const struct keyword *
conf_keyword_find(struct parser *p, const struct stmt *st)
{
	unsigned scopes = 0;
	size_t i;

	for (i = 0; i < conf_nkeywords; i++) {
		if (strcmp(st->word, conf_keywords[i].name) != 0)
			continue;
		if (conf_keywords[i].scopes & IN(st->sc))
			return &conf_keywords[i];
		scopes |= conf_keywords[i].scopes;
	}
	if (scopes == 0)
		unknown_keyword(p, st);
	else
		misplaced_keyword(p, st, scopes);
	return NULL;
}

/* The line where a block of scope sc first set name, or 0. */
unsigned
conf_keyword_seen(const unsigned *seen, enum scope sc, const char *name)
{
	size_t i;

	for (i = 0; i < conf_nkeywords; i++)
		if (strcmp(name, conf_keywords[i].name) == 0 &&
		    (conf_keywords[i].scopes & IN(sc)))
			return seen[i];
	return 0;
}
