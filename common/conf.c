/*
 * auditdistd.conf: a hand-written lexer and parser for the syntax of
 * FreeBSD's auditdistd.conf(5), with the Linux spool, TLS and trail
 * settings added.
 *
 * Statements end at the end of a line, at a "{" or at a "}".  FreeBSD's
 * yacc grammar ignores newlines altogether; we keep lines so that a missing
 * value is reported on its own line instead of swallowing the next keyword,
 * and we still accept the brace of a block on the line after its keyword.
 * The first error stops parsing; it is reported as "FILE:LINE: what".
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"

/* 10,000 host blocks with passwords take about 1.2 MiB. */
#define CONF_MAX_FILE		(16 * 1024 * 1024)
#define CONF_MAX_TOKEN		4096
#define CONF_MAX_ARGS		3	/* flush incremental N records */
#define CONF_MAX_LISTEN		64
#define CONF_HOSTNAME_MAX	255

#define KIB			1024ULL
#define MIB			(1024 * KIB)
#define GIB			(1024 * MIB)

/* Sender defaults; the man page states the same numbers. */
#define DEF_SEGMENT_SIZE	(8 * MIB)
#define MIN_SEGMENT_SIZE	(4 * KIB)
#define MAX_SEGMENT_SIZE	GIB
#define DEF_SEGMENT_AGE		60
#define MAX_SECONDS		86400
#define DEF_FLUSH_RECORDS	100
#define MAX_FLUSH_RECORDS	1000000
#define DEF_SPOOL_MAX		GIB
#define DEF_MIN_FREE_PCT	5
#define DEF_STATUS_INTERVAL	10
#define DEF_TIMEOUT		20
#define MAX_TIMEOUT		3600
#define DEF_USER		"auditdist"
#define USER_NAME_MAX		32	/* useradd's limit */
#define PUBKEY_PREFIX		"sha256//"
#define PUBKEY_B64_LEN		44	/* base64 of 32 bytes, one '=' */

/* Receiver defaults. */
#define DEF_LISTEN		"tls://[::]:" CONF_DEFAULT_PORT
#define DEF_TRAIL_SIZE		(64 * MIB)
#define MIN_TRAIL_SIZE		(64 * KIB)
#define MAX_TRAIL_SIZE		(64 * GIB)
#define MAX_TRAIL_KEEP		1000000
#define DEF_SERIES_HOLD		600
#define DEF_SILENCE_ALARM	300
#define MAX_SERIES_HOLD		(7 * 86400)
#define MAX_CONNECTIONS		1000000

enum tok {
	TOK_EOF,
	TOK_NL,
	TOK_WORD,
	TOK_STRING,
	TOK_OPEN,
	TOK_CLOSE,
	TOK_ERR,
};

struct token {
	enum tok	 type;
	unsigned	 line;
	size_t		 len;
	char		 text[CONF_MAX_TOKEN + 1];
};

enum scope {
	SC_GLOBAL,
	SC_SENDER,
	SC_RECEIVER,
	SC_SHOST,
	SC_RHOST,
	SC_PUBLISH,
	SC_MAX,
};

static const char *scope_in[SC_MAX] = {
	"at top level", "in sender block", "in receiver block",
	"in sender host block", "in receiver host block", "in publish block",
};

enum kw {
	KW_NAME, KW_TIMEOUT, KW_PIDFILE, KW_SENDER, KW_RECEIVER,
	KW_DIRECTORY, KW_SOURCE, KW_HOST, KW_SEGMENT_SIZE, KW_SEGMENT_AGE,
	KW_FLUSH, KW_SPOOL_MAX_SIZE, KW_SPOOL_MIN_FREE, KW_SPOOL_FULL_ACTION,
	KW_STATUS_INTERVAL, KW_STATUS_FILE, KW_METRICS_FILE, KW_LISTEN, KW_CERTFILE, KW_KEYFILE,
	KW_REMOTE, KW_FINGERPRINT, KW_PASSWORD, KW_USER, KW_PUBKEY, KW_CAFILE,
	KW_TRAIL_SIZE, KW_TRAIL_KEEP, KW_TRAIL_MAX_SIZE, KW_COMPRESSION,
	KW_SERIES_HOLD, KW_TRAIL_GROUP, KW_CRLFILE, KW_ENROL, KW_SERIAL_GAPS,
	KW_MAX_CONNECTIONS, KW_SILENCE_ALARM, KW_WRITER_HOSTS, KW_PUBLISH,
	KW_SUBJECT_PREFIX, KW_STREAM, KW_TOKEN, KW_CREATE_STREAM, KW_REPLICAS,
	KW_MAX,
};

#define IN(s)	(1U << (s))

static const struct keyword {
	const char	*name;
	unsigned	 scopes;
	int		 minargs, maxargs;
	int		 repeat;	/* may appear more than once */
	int		 block;		/* followed by "{" ... "}" */
} keywords[KW_MAX] = {
	[KW_NAME] =		{ "name", IN(SC_GLOBAL), 1, 1, 0, 0 },
	[KW_TIMEOUT] =		{ "timeout", IN(SC_GLOBAL), 1, 1, 0, 0 },
	[KW_PIDFILE] =		{ "pidfile", IN(SC_GLOBAL), 1, 1, 0, 0 },
	[KW_SENDER] =		{ "sender", IN(SC_GLOBAL), 0, 0, 0, 1 },
	[KW_RECEIVER] =		{ "receiver", IN(SC_GLOBAL), 0, 0, 0, 1 },
	[KW_DIRECTORY] =	{ "directory",
				    IN(SC_SENDER) | IN(SC_RECEIVER) | IN(SC_RHOST),
				    1, 1, 0, 0 },
	[KW_SOURCE] =		{ "source", IN(SC_SENDER), 1, 1, 0, 0 },
	[KW_HOST] =		{ "host", IN(SC_SENDER) | IN(SC_RECEIVER),
				    1, 1, 1, 1 },
	[KW_SEGMENT_SIZE] =	{ "segment_size", IN(SC_SENDER), 1, 1, 0, 0 },
	[KW_SEGMENT_AGE] =	{ "segment_age", IN(SC_SENDER), 1, 1, 0, 0 },
	[KW_FLUSH] =		{ "flush", IN(SC_SENDER), 1, 3, 0, 0 },
	[KW_SPOOL_MAX_SIZE] =	{ "spool_max_size", IN(SC_SENDER), 1, 1, 0, 0 },
	[KW_SPOOL_MIN_FREE] =	{ "spool_min_free", IN(SC_SENDER), 1, 1, 0, 0 },
	[KW_SPOOL_FULL_ACTION] = { "spool_full_action", IN(SC_SENDER),
				    1, 2, 0, 0 },
	[KW_STATUS_INTERVAL] =	{ "status_interval", IN(SC_SENDER), 1, 1, 0, 0 },
	[KW_STATUS_FILE] =	{ "status_file", IN(SC_SENDER) | IN(SC_RECEIVER),
				    1, 1, 0, 0 },
	[KW_METRICS_FILE] =	{ "metrics_file", IN(SC_SENDER) | IN(SC_RECEIVER),
				    1, 1, 0, 0 },
	[KW_LISTEN] =		{ "listen", IN(SC_RECEIVER), 1, 1, 1, 0 },
	[KW_CERTFILE] =		{ "certfile", IN(SC_RECEIVER) | IN(SC_SHOST),
				    1, 1, 0, 0 },
	[KW_KEYFILE] =		{ "keyfile", IN(SC_RECEIVER) | IN(SC_SHOST),
				    1, 1, 0, 0 },
	[KW_REMOTE] =		{ "remote", IN(SC_SHOST) | IN(SC_RHOST),
				    1, 1, 0, 0 },
	[KW_FINGERPRINT] =	{ "fingerprint", IN(SC_SHOST) | IN(SC_RHOST),
				    1, 2, 0, 0 },
	[KW_PASSWORD] =		{ "password", IN(SC_SHOST) | IN(SC_RHOST) |
				    IN(SC_PUBLISH), 1, 1, 0, 0 },
	[KW_USER] =		{ "user", IN(SC_SENDER) | IN(SC_RECEIVER) |
				    IN(SC_PUBLISH), 1, 1, 0, 0 },
	[KW_PUBKEY] =		{ "pubkey", IN(SC_SHOST), 1, 1, 0, 0 },
	[KW_CAFILE] =		{ "cafile", IN(SC_SHOST) | IN(SC_RECEIVER) |
				    IN(SC_PUBLISH), 1, 1, 0, 0 },
	[KW_COMPRESSION] =	{ "compression", IN(SC_SHOST), 1, 1, 0, 0 },
	[KW_TRAIL_SIZE] =	{ "trail_size", IN(SC_RECEIVER), 1, 1, 0, 0 },
	[KW_TRAIL_KEEP] =	{ "trail_keep", IN(SC_RECEIVER), 1, 1, 0, 0 },
	[KW_TRAIL_MAX_SIZE] =	{ "trail_max_size", IN(SC_RECEIVER),
				    1, 1, 0, 0 },
	[KW_SERIES_HOLD] =	{ "series_hold", IN(SC_RECEIVER) | IN(SC_RHOST),
				    1, 1, 0, 0 },
	[KW_TRAIL_GROUP] =	{ "trail_group", IN(SC_RECEIVER), 1, 1, 0, 0 },
	[KW_CRLFILE] =		{ "crlfile", IN(SC_RECEIVER), 1, 1, 0, 0 },
	[KW_ENROL] =		{ "enrol", IN(SC_RECEIVER), 1, 1, 0, 0 },
	[KW_SERIAL_GAPS] =	{ "serial_gaps", IN(SC_RECEIVER), 1, 1, 0, 0 },
	[KW_MAX_CONNECTIONS] =	{ "max_connections", IN(SC_RECEIVER),
				    1, 1, 0, 0 },
	[KW_SILENCE_ALARM] =	{ "silence_alarm", IN(SC_RECEIVER) | IN(SC_RHOST),
				    1, 1, 0, 0 },
	[KW_WRITER_HOSTS] =	{ "writer_hosts", IN(SC_RECEIVER), 1, 1, 0, 0 },
	[KW_PUBLISH] =		{ "publish", IN(SC_RECEIVER), 1, 1, 0, 1 },
	[KW_SUBJECT_PREFIX] =	{ "subject_prefix", IN(SC_PUBLISH), 1, 1, 0, 0 },
	[KW_STREAM] =		{ "stream", IN(SC_PUBLISH), 1, 1, 0, 0 },
	[KW_TOKEN] =		{ "token", IN(SC_PUBLISH), 1, 1, 0, 0 },
	[KW_CREATE_STREAM] =	{ "create_stream", IN(SC_PUBLISH), 1, 1, 0, 0 },
	[KW_REPLICAS] =		{ "replicas", IN(SC_PUBLISH), 1, 1, 0, 0 },
};

struct parser {
	const char	*name;		/* file name for messages */
	const char	*p, *end;
	unsigned	 line;		/* line of the next character */
	int		 peeked;
	struct token	 tok;
	char		*err;
	size_t		 errlen;
	int		 failed;
	struct conf	*conf;
};

struct stmt {
	enum kw		 kw;
	char		*word;
	unsigned	 line;
	int		 nargs;
	char		*arg[CONF_MAX_ARGS];
};

static int	 parse_block(struct parser *, enum scope, struct conf_host *,
		    const char *, unsigned);

static int __attribute__((format(printf, 3, 4)))
perr(struct parser *p, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	/* Only the first error means anything; later ones are fallout. */
	if (p->failed)
		return -1;
	p->failed = 1;
	if (p->err == NULL || p->errlen == 0)
		return -1;
	if (line > 0)
		n = snprintf(p->err, p->errlen, "%s:%u: ", p->name, line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->name);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* What a value may hold unquoted: names, numbers, paths, addresses. */
static int
word_char(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("._-/:[]%+=,@", c) != NULL;
}

static int
sep_char(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	    c == '{' || c == '}' || c == '#';
}

static struct token *
lex_fail(struct parser *p, const char *fmt, int c)
{
	if (c >= 0x20 && c < 0x7f)
		perr(p, p->line, fmt, c);
	else if (c == '\0')
		perr(p, p->line, "NUL byte");
	else
		perr(p, p->line, "unexpected byte 0x%02x; quote the value", c);
	p->tok.type = TOK_ERR;
	return &p->tok;
}

static struct token *
lex_string(struct parser *p)
{
	struct token *t = &p->tok;
	int c;

	p->p++;
	for (;;) {
		if (p->p == p->end || *p->p == '\n') {
			perr(p, t->line, "unterminated string");
			goto fail;
		}
		c = (unsigned char)*p->p++;
		if (c == '"')
			break;
		if (c == '\\') {
			if (p->p == p->end || *p->p == '\n') {
				perr(p, t->line, "unterminated string");
				goto fail;
			}
			c = (unsigned char)*p->p++;
			if (c != '"' && c != '\\') {
				if (c >= 0x20 && c < 0x7f)
					perr(p, t->line, "unknown escape \"\\%c\" "
					    "in string (only \\\" and \\\\)", c);
				else
					perr(p, t->line, "unknown escape in "
					    "string (only \\\" and \\\\)");
				goto fail;
			}
		} else if (c == '\0') {
			perr(p, t->line, "NUL byte inside a string");
			goto fail;
		} else if (c < 0x20 || c == 0x7f) {
			perr(p, t->line, "control character 0x%02x inside a "
			    "string", c);
			goto fail;
		}
		if (t->len == CONF_MAX_TOKEN) {
			perr(p, t->line, "string longer than %d bytes",
			    CONF_MAX_TOKEN);
			goto fail;
		}
		t->text[t->len++] = (char)c;
	}
	t->text[t->len] = '\0';
	if (p->p < p->end && !sep_char((unsigned char)*p->p))
		return lex_fail(p, "unexpected '%c' after a string; "
		    "separate values with spaces", (unsigned char)*p->p);
	t->type = TOK_STRING;
	return t;
fail:
	t->type = TOK_ERR;
	return t;
}

static struct token *
lex_word(struct parser *p)
{
	struct token *t = &p->tok;
	int c;

	while (p->p < p->end && word_char((unsigned char)*p->p)) {
		if (t->len == CONF_MAX_TOKEN) {
			perr(p, t->line, "word longer than %d bytes",
			    CONF_MAX_TOKEN);
			t->type = TOK_ERR;
			return t;
		}
		t->text[t->len++] = *p->p++;
	}
	t->text[t->len] = '\0';
	c = p->p < p->end ? (unsigned char)*p->p : ' ';
	/* Cutting "pass#word" at the "#" would silently change a value. */
	if (c == '#')
		return lex_fail(p, "'%c' inside a word; quote the value, or "
		    "put a space before a comment", c);
	if (!sep_char(c)) {
		if (c == '"')
			return lex_fail(p, "'%c' inside a word; quote the "
			    "whole value", c);
		return lex_fail(p, "unexpected character '%c'; quote "
		    "values that contain it", c);
	}
	t->type = TOK_WORD;
	return t;
}

static struct token *
lex(struct parser *p)
{
	struct token *t = &p->tok;
	int c;

	t->len = 0;
	t->text[0] = '\0';
	for (;;) {
		while (p->p < p->end &&
		    (*p->p == ' ' || *p->p == '\t' || *p->p == '\r'))
			p->p++;
		if (p->p == p->end || *p->p != '#')
			break;
		while (p->p < p->end && *p->p != '\n')
			p->p++;
	}
	t->line = p->line;
	if (p->p == p->end) {
		t->type = TOK_EOF;
		return t;
	}
	c = (unsigned char)*p->p;
	switch (c) {
	case '\n':
		p->p++;
		p->line++;
		t->type = TOK_NL;
		return t;
	case '{':
		p->p++;
		t->type = TOK_OPEN;
		return t;
	case '}':
		p->p++;
		t->type = TOK_CLOSE;
		return t;
	case '"':
		return lex_string(p);
	}
	if (word_char(c))
		return lex_word(p);
	return lex_fail(p, "unexpected character '%c'; quote values that "
	    "contain it", c);
}

static struct token *
lex_peek(struct parser *p)
{
	if (!p->peeked) {
		lex(p);
		p->peeked = 1;
	}
	return &p->tok;
}

static void
lex_take(struct parser *p)
{
	p->peeked = 0;
}

/* Unsigned decimal digits only: no sign, no spaces, no overflow. */
static int
parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0') {
		errno = EINVAL;
		return -1;
	}
	for (; *s != '\0'; s++) {
		unsigned d;

		if (*s < '0' || *s > '9') {
			errno = EINVAL;
			return -1;
		}
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10) {
			errno = ERANGE;
			return -1;
		}
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
conf_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mult = 1;

	if (s == NULL || *s < '0' || *s > '9') {
		errno = EINVAL;
		return -1;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10) {
			errno = ERANGE;
			return -1;
		}
		v = v * 10 + d;
	}
	if (*s != '\0') {
		switch (*s) {
		case 'k': case 'K':
			mult = KIB;
			break;
		case 'm': case 'M':
			mult = MIB;
			break;
		case 'g': case 'G':
			mult = GIB;
			break;
		case 't': case 'T':
			mult = 1024 * GIB;
			break;
		default:
			errno = EINVAL;
			return -1;
		}
		if (s[1] != '\0') {
			errno = EINVAL;
			return -1;
		}
	}
	if (v > UINT64_MAX / mult) {
		errno = ERANGE;
		return -1;
	}
	*out = v * mult;
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

static const char *full_action_names[] = {
	"block", "drop_new", "drop_old", "syslog", "exec",
};
#define NFULL_ACTIONS	(sizeof(full_action_names) / sizeof(full_action_names[0]))

const char *
conf_full_action_name(enum conf_full_action a)
{
	if ((unsigned)a >= NFULL_ACTIONS)
		return "unknown";
	return full_action_names[a];
}

static int
is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* Host names become directory names on the receiver. */
static int
host_name_ok(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > CONF_HOSTNAME_MAX ||
	    strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* The portable subset that useradd(8) accepts, so the name means one user. */
static int
user_name_ok(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > USER_NAME_MAX ||
	    !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (i = 1; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/* "host", "host:port", "[v6]", "[v6]:port"; NULL when fine, else why not. */
static const char *
hostport_problem(const char *s)
{
	const char *host_end, *port = NULL, *q;
	uint64_t n = 0;

	if (*s == '[') {
		host_end = strchr(s, ']');
		if (host_end == NULL)
			return "has \"[\" without \"]\"";
		if (host_end == s + 1)
			return "has no address";
		for (q = s + 1; q < host_end; q++)
			if (!is_hex(*q) && *q != ':' && *q != '.' && *q != '%')
				return "has a bad IPv6 address";
		if (host_end[1] == ':')
			port = host_end + 2;
		else if (host_end[1] != '\0')
			return "has junk after \"]\"";
	} else {
		q = strchr(s, ':');
		if (q != NULL && strchr(q + 1, ':') != NULL)
			return "needs brackets around an IPv6 address, "
			    "as in tls://[::1]:7878";
		host_end = q != NULL ? q : s + strlen(s);
		if (host_end == s)
			return "has no address";
		for (q = s; q < host_end; q++)
			if (!((*q >= 'a' && *q <= 'z') ||
			    (*q >= 'A' && *q <= 'Z') ||
			    (*q >= '0' && *q <= '9') ||
			    *q == '.' || *q == '-' || *q == '_'))
				return "has a bad character in its address";
		if (*host_end == ':')
			port = host_end + 1;
	}
	if (port != NULL && (parse_u64(port, &n) == -1 || n == 0 || n > 65535))
		return "has a bad port (1 to 65535)";
	return NULL;
}

/* remote and listen: TLS only; FreeBSD's tcp:// and uds:// are plaintext. */
static int
check_addr(struct parser *p, const struct stmt *st, const char *v)
{
	const char *why, *sch = strstr(v, "://");

	if (strncmp(v, "tls://", 6) == 0) {
		if ((why = hostport_problem(v + 6)) != NULL)
			return perr(p, st->line, "\"%s\" address \"%s\" %s",
			    st->word, v, why);
		return 0;
	}
	if (sch == NULL)
		return perr(p, st->line, "\"%s\" address \"%s\" has no scheme "
		    "(FreeBSD reads that as plaintext tcp://); only tls:// is "
		    "supported: write \"tls://%s\"", st->word, v, v);
	if (strncmp(v, "tcp://", 6) == 0 || strncmp(v, "tcp4://", 7) == 0 ||
	    strncmp(v, "tcp6://", 7) == 0 || strncmp(v, "uds://", 6) == 0)
		return perr(p, st->line, "\"%s\" address \"%s\": only tls:// "
		    "is supported (no plaintext transport)", st->word, v);
	return perr(p, st->line, "\"%s\" address \"%s\" has an unknown "
	    "scheme; only tls:// is supported", st->word, v);
}

static int
check_path(struct parser *p, const struct stmt *st, const char *what,
    const char *v)
{
	if (v[0] != '/')
		return perr(p, st->line, "\"%s\" must be an absolute path, "
		    "not \"%s\"", what, v);
	if (strlen(v) >= PATH_MAX)
		return perr(p, st->line, "\"%s\" path is too long", what);
	return 0;
}

/* "/a/b//" -> "/a/b", so that joins and comparisons see one spelling. */
static void
strip_slashes(char *s)
{
	size_t len = strlen(s);

	while (len > 1 && s[len - 1] == '/')
		s[--len] = '\0';
}

static char *
path_join(const char *dir, const char *name)
{
	char *s;
	size_t dl = strlen(dir);

	if (asprintf(&s, "%s%s%s", dir, dl > 0 && dir[dl - 1] == '/' ?
	    "" : "/", name) == -1)
		return NULL;
	return s;
}

/* Move an argument into a field, so that no copy of a secret is left. */
static void
take_arg(struct stmt *st, int i, char **dst)
{
	wipe_free(*dst);
	*dst = st->arg[i];
	st->arg[i] = NULL;
}

/* "yes" or "no", the statement's one argument. */
static int
get_yesno(struct parser *p, const struct stmt *st, const char *v, int *out)
{
	if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
		return perr(p, st->line, "\"%s\" is \"yes\" or \"no\", not "
		    "\"%s\"", st->word, v);
	*out = strcmp(v, "yes") == 0;
	return 0;
}

static int
get_uint(struct parser *p, const struct stmt *st, const char *v,
    uint64_t min, uint64_t max, const char *unit, uint64_t *out)
{
	uint64_t n = 0;
	int rc;

	if ((rc = parse_u64(v, &n)) == -1 && errno == EINVAL)
		return perr(p, st->line, "\"%s\" needs a whole number, not "
		    "\"%s\"", st->word, v);
	if (rc == -1 || n < min || n > max)
		return perr(p, st->line, "\"%s\" %s is out of range (%llu to "
		    "%llu %s)", st->word, v, (unsigned long long)min,
		    (unsigned long long)max, unit);
	*out = n;
	return 0;
}

static int
get_size(struct parser *p, const struct stmt *st, const char *v,
    uint64_t min, uint64_t max, const char *range, uint64_t *out)
{
	uint64_t n = 0;
	int rc;

	if ((rc = conf_parse_size(v, &n)) == -1 && errno == EINVAL)
		return perr(p, st->line, "\"%s\" needs a size such as 4096, "
		    "64K, 8M or 1G, not \"%s\"", st->word, v);
	if (rc == -1 || n < min || n > max)
		return perr(p, st->line, "\"%s\" %s is out of range (%s)",
		    st->word, v, range);
	*out = n;
	return 0;
}

static int
seconds(struct parser *p, const struct stmt *st, uint64_t max, unsigned *out)
{
	uint64_t n = 0;

	if (get_uint(p, st, st->arg[0], 1, max, "seconds", &n) == -1)
		return -1;
	*out = (unsigned)n;
	return 0;
}

static int
set_flush(struct parser *p, const struct stmt *st, struct conf_sender *s)
{
	const char *mode = st->arg[0];
	uint64_t n = 0;

	if (st->nargs == 1 && strcmp(mode, "none") == 0)
		s->flush = FLUSH_NONE;
	else if (st->nargs == 1 && strcmp(mode, "data") == 0)
		s->flush = FLUSH_DATA;
	else if (st->nargs == 1 && strcmp(mode, "sync") == 0)
		s->flush = FLUSH_SYNC;
	else if (strcmp(mode, "incremental") == 0) {
		const char *unit = st->nargs == 3 ? st->arg[2] : "";

		if (strcmp(unit, "records") == 0 ||
		    strcmp(unit, "record") == 0) {
			if (get_uint(p, st, st->arg[1], 1, MAX_FLUSH_RECORDS,
			    "records", &n) == -1)
				return -1;
			s->flush_records = n;
			s->flush_bytes = 0;
		} else if (strcmp(unit, "bytes") == 0 ||
		    strcmp(unit, "byte") == 0) {
			if (get_size(p, st, st->arg[1], 1, GIB, "1 to 1G",
			    &n) == -1)
				return -1;
			s->flush_records = 0;
			s->flush_bytes = n;
		} else
			return perr(p, st->line, "\"flush incremental\" needs "
			    "a count and a unit, as in \"flush incremental "
			    "100 records\" or \"flush incremental 1M bytes\"");
		s->flush = FLUSH_INCREMENTAL;
		return 0;
	} else if (strcmp(mode, "none") == 0 || strcmp(mode, "data") == 0 ||
	    strcmp(mode, "sync") == 0)
		return perr(p, st->line, "\"flush %s\" takes no more values",
		    mode);
	else
		return perr(p, st->line, "unknown flush mode \"%s\" (none, "
		    "data, sync or incremental)", mode);
	s->flush_records = 0;
	s->flush_bytes = 0;
	return 0;
}

static int
set_full_action(struct parser *p, struct stmt *st, struct conf_sender *s)
{
	unsigned i;

	for (i = 0; i < NFULL_ACTIONS; i++)
		if (strcmp(st->arg[0], full_action_names[i]) == 0)
			break;
	if (i == NFULL_ACTIONS)
		return perr(p, st->line, "unknown spool_full_action \"%s\" "
		    "(block, drop_new, drop_old, syslog or exec)", st->arg[0]);
	if (i == FULL_EXEC) {
		if (st->nargs != 2)
			return perr(p, st->line, "\"spool_full_action exec\" "
			    "needs the absolute path of a program");
		if (check_path(p, st, "spool_full_action exec",
		    st->arg[1]) == -1)
			return -1;
		take_arg(st, 1, &s->full_exec);
	} else if (st->nargs != 1)
		return perr(p, st->line, "\"spool_full_action %s\" takes no "
		    "more values", st->arg[0]);
	s->full_action = (enum conf_full_action)i;
	return 0;
}

static int
set_min_free(struct parser *p, const struct stmt *st, struct conf_sender *s)
{
	const char *v = st->arg[0];
	size_t len = strlen(v);
	uint64_t n = 0;
	int rc;

	if (len > 1 && v[len - 1] == '%') {
		char num[24];

		if (len - 1 >= sizeof(num))
			return perr(p, st->line, "\"spool_min_free\" %s is out "
			    "of range (0%% to 99%%)", v);
		memcpy(num, v, len - 1);
		num[len - 1] = '\0';
		if ((rc = parse_u64(num, &n)) == -1 && errno == EINVAL)
			return perr(p, st->line, "\"spool_min_free\" needs a "
			    "size or a percentage, not \"%s\"", v);
		if (rc == -1 || n > 99)
			return perr(p, st->line, "\"spool_min_free\" %s is out "
			    "of range (0%% to 99%%)", v);
		s->spool_min_free_pct = (unsigned)n;
		s->spool_min_free = 0;
		return 0;
	}
	if (conf_parse_size(v, &n) == -1) {
		if (errno == ERANGE)
			return perr(p, st->line, "\"spool_min_free\" %s is too "
			    "large", v);
		return perr(p, st->line, "\"spool_min_free\" needs a size "
		    "such as 512M or a percentage such as 5%%, not \"%s\"", v);
	}
	s->spool_min_free = n;
	s->spool_min_free_pct = 0;
	return 0;
}

/*
 * The hex part of a fingerprint, or NULL.  Besides "SHA256=", take the
 * line "openssl x509 -noout -fingerprint -sha256" prints ("sha256
 * Fingerprint=", "SHA256 Fingerprint=" before OpenSSL 3) pasted as it is:
 * quoted, one value, or not, two.
 */
static const char *
fingerprint_hex(const struct stmt *st)
{
	const char *v = st->arg[0];

	if (st->nargs == 2) {
		if (strcasecmp(v, "sha256") != 0 ||
		    strncasecmp(st->arg[1], "fingerprint=", 12) != 0)
			return NULL;
		return st->arg[1] + 12;
	}
	if (strncasecmp(v, "sha256=", 7) == 0)
		return v + 7;
	if (strncasecmp(v, "sha256 ", 7) != 0)
		return NULL;
	v += 6 + strspn(v + 6, " ");
	if (strncasecmp(v, "fingerprint=", 12) != 0)
		return NULL;
	return v + 12;
}

static int
set_fingerprint(struct parser *p, struct stmt *st, struct conf_host *h)
{
	const char *hex, *q;
	char *v, *d;
	int i;

	if ((hex = q = fingerprint_hex(st)) == NULL)
		goto bad;
	for (i = 0; i < 32; i++) {
		if (!is_hex(q[0]) || !is_hex(q[1]))
			goto bad;
		q += 2;
		if (i < 31 && *q++ != ':')
			goto bad;
	}
	if (*q != '\0')
		goto bad;
	/* One spelling, so that the forwarder can compare with strcmp. */
	if (asprintf(&v, "SHA256=%s", hex) == -1)
		return perr(p, st->line, "out of memory");
	for (d = v; *d != '\0'; d++)
		if (*d >= 'a' && *d <= 'z')
			*d = (char)(*d - 'a' + 'A');
	free(h->fingerprint);
	h->fingerprint = v;
	return 0;
bad:
	return perr(p, st->line, "\"fingerprint\" must be \"SHA256=\" or "
	    "\"sha256 Fingerprint=\" (in either case) and 32 colon-separated "
	    "hex bytes, as printed by \"openssl x509 -noout -fingerprint "
	    "-sha256\"");
}

static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* "sha256//" and the standard base64 of 32 bytes, as curl pins keys. */
static int
set_pubkey(struct parser *p, struct stmt *st, struct conf_host *h)
{
	const char *v = st->arg[0], *b;
	int i, d = -1;

	if (strncmp(v, PUBKEY_PREFIX, strlen(PUBKEY_PREFIX)) != 0)
		goto bad;
	b = v + strlen(PUBKEY_PREFIX);
	if (strlen(b) != PUBKEY_B64_LEN || b[PUBKEY_B64_LEN - 1] != '=')
		goto bad;
	for (i = 0; i < PUBKEY_B64_LEN - 1; i++)
		if ((d = b64_value((unsigned char)b[i])) == -1)
			goto bad;
	/*
	 * 43 digits carry 258 bits: the last digit's two spare bits must be
	 * zero, or the pin has a typo and, compared as text, never matches.
	 */
	if ((d & 3) != 0)
		goto bad;
	take_arg(st, 0, &h->pubkey);
	return 0;
bad:
	return perr(p, st->line, "\"pubkey\" must be \"sha256//\" and the "
	    "base64 of a SHA-256 digest (44 characters ending in \"=\"); "
	    "auditdistd.conf(5) shows how to print it");
}

static int
add_listen(struct parser *p, struct stmt *st, struct conf_receiver *r)
{
	char **nl;

	if (check_addr(p, st, st->arg[0]) == -1)
		return -1;
	if (r->nlisten == CONF_MAX_LISTEN)
		return perr(p, st->line, "too many \"listen\" addresses (at "
		    "most %d)", CONF_MAX_LISTEN);
	nl = reallocarray(r->listen, r->nlisten + 2, sizeof(*nl));
	if (nl == NULL)
		return perr(p, st->line, "out of memory");
	r->listen = nl;
	r->listen[r->nlisten++] = st->arg[0];
	r->listen[r->nlisten] = NULL;
	st->arg[0] = NULL;
	return 0;
}

static int
set_directory(struct parser *p, struct stmt *st, enum scope sc,
    struct conf_host *h)
{
	struct conf *c = p->conf;
	const char *v = st->arg[0];
	char **dst;

	if (sc == SC_RHOST && v[0] != '/') {
		const char *q;

		/* FreeBSD: relative to the receiver's directory, so stay in it. */
		if (*v == '\0')
			return perr(p, st->line, "\"directory\" is empty");
		for (q = v; q != NULL; q = strchr(q, '/')) {
			if (*q == '/')
				q++;
			if (strncmp(q, "..", 2) == 0 &&
			    (q[2] == '/' || q[2] == '\0'))
				return perr(p, st->line, "relative \"directory\" "
				    "\"%s\" must stay inside the receiver "
				    "directory", v);
		}
	} else if (check_path(p, st, "directory", v) == -1)
		return -1;
	if (sc == SC_SENDER)
		dst = &c->sender.directory;
	else if (sc == SC_RECEIVER)
		dst = &c->receiver.directory;
	else
		dst = &h->directory;
	take_arg(st, 0, dst);
	strip_slashes(*dst);
	return 0;
}

/* "nats://h:p" or "tls://h:p", comma-separated, nothing else. */
static int
publish_urls_ok(const char *v)
{
	const char *p = v, *e;
	size_t n;

	for (;;) {
		if (strncmp(p, "nats://", 7) != 0 && strncmp(p, "tls://", 6) != 0)
			return 0;
		p += p[0] == 'n' ? 7 : 6;
		e = strchr(p, ',');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == 0 || memchr(p, '/', n) != NULL)
			return 0;
		if (e == NULL)
			return 1;
		p = e + 1;
	}
}

/* Dot-separated tokens of letters, digits, '_' and '-' (no wildcards). */
static int
publish_name_ok(const char *v, int dots)
{
	size_t i, len = strlen(v);

	if (len == 0 || len > CONF_PUBLISH_NAME_MAX || v[0] == '.' ||
	    v[len - 1] == '.' || strstr(v, "..") != NULL)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '_' &&
		    v[i] != '-' && !(dots && v[i] == '.'))
			return 0;
	return 1;
}

static int
apply_publish(struct parser *p, struct stmt *st)
{
	struct conf_publish *pb = &p->conf->receiver.publish;
	const char *v = st->arg[0];
	uint64_t n = 0;

	switch (st->kw) {
	case KW_SUBJECT_PREFIX:
	case KW_STREAM:
		if (!publish_name_ok(v, st->kw == KW_SUBJECT_PREFIX))
			return perr(p, st->line, "\"%s\" must be 1 to %d "
			    "letters, digits, '_' or '-'%s, not \"%s\"",
			    st->word, CONF_PUBLISH_NAME_MAX,
			    st->kw == KW_STREAM ? "" : " (dots between)", v);
		take_arg(st, 0, st->kw == KW_STREAM ? &pb->stream :
		    &pb->subject_prefix);
		return 0;
	case KW_USER:
		if (*v == '\0' || strpbrk(v, " \t\n") != NULL)
			return perr(p, st->line, "\"user\" is empty or holds "
			    "spaces");
		take_arg(st, 0, &pb->user);
		return 0;
	case KW_PASSWORD:
	case KW_TOKEN:
		/* Never echo the value: messages end up in logs. */
		if (*v == '\0')
			return perr(p, st->line, "\"%s\" is empty", st->word);
		take_arg(st, 0, st->kw == KW_TOKEN ? &pb->token :
		    &pb->password);
		if (p->conf->has_secrets == 0)
			p->conf->has_secrets = (int)st->line;
		return 0;
	case KW_CAFILE:
		if (check_path(p, st, st->word, v) == -1)
			return -1;
		take_arg(st, 0, &pb->cafile);
		return 0;
	case KW_CREATE_STREAM:
		return get_yesno(p, st, v, &pb->create_stream);
	case KW_REPLICAS:
		if (get_uint(p, st, v, 1, 5, "replicas", &n) == -1)
			return -1;
		pb->replicas = (unsigned)n;
		return 0;
	default:
		return perr(p, st->line, "internal error: keyword \"%s\"",
		    st->word);
	}
}

static int
publish_end(struct parser *p, const unsigned *seen, unsigned open_line)
{
	struct conf_publish *pb = &p->conf->receiver.publish;

	if ((pb->user == NULL) != (pb->password == NULL))
		return perr(p, seen[KW_USER] ? seen[KW_USER] :
		    seen[KW_PASSWORD], "publish block: \"user\" and "
		    "\"password\" go together");
	if (pb->token != NULL && pb->user != NULL)
		return perr(p, seen[KW_TOKEN], "publish block: \"token\" or "
		    "\"user\" and \"password\", not both");
	if (pb->cafile != NULL && strstr(pb->urls, "tls://") == NULL)
		return perr(p, seen[KW_CAFILE], "publish block: \"cafile\" "
		    "needs tls:// URLs");
	if ((pb->subject_prefix == NULL &&
	    (pb->subject_prefix = strdup(CONF_PUBLISH_PREFIX)) == NULL) ||
	    (pb->stream == NULL &&
	    (pb->stream = strdup(CONF_PUBLISH_STREAM)) == NULL))
		return perr(p, open_line, "out of memory");
	if (pb->replicas == 0)
		pb->replicas = 1;
	return 0;
}

static int
apply(struct parser *p, struct stmt *st, enum scope sc, struct conf_host *h)
{
	struct conf *c = p->conf;
	struct conf_sender *s = &c->sender;
	struct conf_receiver *r = &c->receiver;
	const char *v = st->arg[0], *why;
	uint64_t n = 0;

	if (sc == SC_PUBLISH)
		return apply_publish(p, st);
	switch (st->kw) {
	case KW_NAME:
		if (!host_name_ok(v))
			return perr(p, st->line, "\"name\" must be 1 to %d "
			    "letters, digits, '.', '_' or '-', not \"%s\"",
			    CONF_HOSTNAME_MAX, v);
		take_arg(st, 0, &c->name);
		return 0;
	case KW_TIMEOUT:
		return seconds(p, st, MAX_TIMEOUT, &c->timeout);
	case KW_PIDFILE:
		/* FreeBSD spells "no pid file" as "none". */
		if (strcmp(v, "none") != 0 &&
		    check_path(p, st, "pidfile", v) == -1)
			return -1;
		take_arg(st, 0, &c->pidfile);
		return 0;
	case KW_DIRECTORY:
		return set_directory(p, st, sc, h);
	case KW_SOURCE:
		if (strstr(v, "://") != NULL) {
			if (check_addr(p, st, v) == -1)
				return -1;
		} else if ((why = hostport_problem(v)) != NULL)
			return perr(p, st->line, "\"source\" address \"%s\" %s",
			    v, why);
		take_arg(st, 0, &s->source);
		return 0;
	case KW_SEGMENT_SIZE:
		return get_size(p, st, v, MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE,
		    "4K to 1G", &s->segment_size);
	case KW_SEGMENT_AGE:
		return seconds(p, st, MAX_SECONDS, &s->segment_age);
	case KW_FLUSH:
		return set_flush(p, st, s);
	case KW_SPOOL_MAX_SIZE:
		return get_size(p, st, v, 0, UINT64_MAX, "0 for no limit, or "
		    "at least segment_size", &s->spool_max_size);
	case KW_SPOOL_MIN_FREE:
		return set_min_free(p, st, s);
	case KW_SPOOL_FULL_ACTION:
		return set_full_action(p, st, s);
	case KW_STATUS_INTERVAL:
		return seconds(p, st, MAX_SECONDS, &s->status_interval);
	case KW_STATUS_FILE:
		if (sc == SC_RECEIVER && strcmp(v, "none") == 0) {
			take_arg(st, 0, &r->status_file);
			return 0;
		}
		if (check_path(p, st, "status_file", v) == -1)
			return -1;
		take_arg(st, 0, sc == SC_RECEIVER ? &r->status_file :
		    &s->status_file);
		return 0;
	case KW_METRICS_FILE:
		if (check_path(p, st, "metrics_file", v) == -1)
			return -1;
		take_arg(st, 0, sc == SC_RECEIVER ? &r->metrics_file :
		    &s->metrics_file);
		return 0;
	case KW_SILENCE_ALARM:
		if (get_uint(p, st, v, 0, MAX_SECONDS, "seconds", &n) == -1)
			return -1;
		if (sc == SC_RECEIVER)
			r->silence_alarm = (unsigned)n;
		else {
			h->silence_alarm = (unsigned)n;
			h->silence_alarm_set = 1;
		}
		return 0;
	case KW_LISTEN:
		return add_listen(p, st, &c->receiver);
	case KW_USER:
		if (!user_name_ok(v))
			return perr(p, st->line, "\"user\" must be 1 to %d "
			    "lower-case letters, digits, '_' or '-', starting "
			    "with a letter or '_', not \"%s\"", USER_NAME_MAX,
			    v);
		if (strcmp(v, "root") == 0)
			return perr(p, st->line, "\"user\" must be an "
			    "unprivileged user such as \"%s\", not root",
			    DEF_USER);
		take_arg(st, 0, sc == SC_RECEIVER ? &c->receiver.user :
		    &s->user);
		return 0;
	case KW_CERTFILE:
	case KW_KEYFILE:
		if (check_path(p, st, st->word, v) == -1)
			return -1;
		/* A sender host's pair is its client certificate. */
		if (sc == SC_RECEIVER)
			take_arg(st, 0, st->kw == KW_CERTFILE ?
			    &c->receiver.certfile : &c->receiver.keyfile);
		else
			take_arg(st, 0, st->kw == KW_CERTFILE ? &h->certfile :
			    &h->keyfile);
		return 0;
	case KW_CAFILE:
	case KW_CRLFILE:
		if (check_path(p, st, st->word, v) == -1)
			return -1;
		/* The receiver's pair is the fleet CA and its revocations. */
		if (sc == SC_RECEIVER)
			take_arg(st, 0, st->kw == KW_CAFILE ? &r->cafile :
			    &r->crlfile);
		else
			take_arg(st, 0, &h->cafile);
		return 0;
	case KW_ENROL:
		return get_yesno(p, st, v, &r->enrol);
	case KW_SERIAL_GAPS:
		return get_yesno(p, st, v, &r->serial_gaps);
	case KW_PUBKEY:
		return set_pubkey(p, st, h);
	case KW_COMPRESSION:
		if (strcmp(v, "zstd") == 0)
			h->compression = CONF_COMPRESS_ZSTD;
		else if (strcmp(v, "none") == 0)
			h->compression = CONF_COMPRESS_NONE;
		else
			return perr(p, st->line, "\"compression\" is \"zstd\" "
			    "or \"none\", not \"%s\"", v);
		return 0;
	case KW_TRAIL_SIZE:
		return get_size(p, st, v, MIN_TRAIL_SIZE, MAX_TRAIL_SIZE,
		    "64K to 64G", &r->trail_size);
	case KW_TRAIL_KEEP:
		if (get_uint(p, st, v, 0, MAX_TRAIL_KEEP, "files", &n) == -1)
			return -1;
		r->trail_keep = (unsigned)n;
		return 0;
	case KW_TRAIL_MAX_SIZE:
		return get_size(p, st, v, 0, UINT64_MAX, "0 for no limit, or "
		    "at least trail_size", &r->trail_max_size);
	case KW_SERIES_HOLD:
		if (get_uint(p, st, v, 0, MAX_SERIES_HOLD, "seconds", &n) == -1)
			return -1;
		if (sc == SC_RECEIVER)
			r->series_hold = (unsigned)n;
		else {
			h->series_hold = (unsigned)n;
			h->series_hold_set = 1;
		}
		return 0;
	case KW_TRAIL_GROUP:
		/* Group names follow the same rule as user names. */
		if (!user_name_ok(v))
			return perr(p, st->line, "\"trail_group\" must be 1 to "
			    "%d lower-case letters, digits, '_' or '-', "
			    "starting with a letter or '_', not \"%s\"",
			    USER_NAME_MAX, v);
		take_arg(st, 0, &r->trail_group);
		r->trail_group_line = st->line;
		return 0;
	case KW_MAX_CONNECTIONS:
		if (get_uint(p, st, v, 1, MAX_CONNECTIONS, "connections",
		    &n) == -1)
			return -1;
		r->max_connections = (unsigned)n;
		return 0;
	case KW_WRITER_HOSTS:
		if (get_uint(p, st, v, 1, CONF_WRITER_HOSTS_MAX, "hosts",
		    &n) == -1)
			return -1;
		r->writer_hosts = (unsigned)n;
		return 0;
	case KW_REMOTE:
		if (check_addr(p, st, v) == -1)
			return -1;
		take_arg(st, 0, &h->remote);
		return 0;
	case KW_FINGERPRINT:
		return set_fingerprint(p, st, h);
	case KW_PASSWORD:
		/* Never echo the value: messages end up in logs. */
		if (*v == '\0')
			return perr(p, st->line, "\"password\" is empty");
		take_arg(st, 0, &h->password);
		if (c->has_secrets == 0)
			c->has_secrets = (int)st->line;
		return 0;
	default:
		break;
	}
	return perr(p, st->line, "internal error: keyword \"%s\"", st->word);
}

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
unknown_keyword(struct parser *p, const struct stmt *st, enum scope sc)
{
	const char *best = NULL;
	size_t d, bestd = 3;
	int k;

	for (k = 0; k < KW_MAX; k++) {
		if (!(keywords[k].scopes & IN(sc)))
			continue;
		d = edit_distance(st->word, keywords[k].name);
		if (d < bestd) {
			bestd = d;
			best = keywords[k].name;
		}
	}
	if (best != NULL)
		return perr(p, st->line, "unknown keyword \"%s\" %s (did you "
		    "mean \"%s\"?)", st->word, scope_in[sc], best);
	return perr(p, st->line, "unknown keyword \"%s\" %s", st->word,
	    scope_in[sc]);
}

static int
misplaced_keyword(struct parser *p, const struct stmt *st, enum scope sc)
{
	char where[128];
	size_t len = 0;
	int s, n = 0;

	where[0] = '\0';
	for (s = 0; s < SC_MAX && len < sizeof(where); s++) {
		if (!(keywords[st->kw].scopes & IN(s)))
			continue;
		len += (size_t)snprintf(where + len, sizeof(where) - len,
		    "%s%s", n++ > 0 ? " or " : "", scope_in[s]);
	}
	return perr(p, st->line, "\"%s\" is not allowed %s, only %s",
	    st->word, scope_in[sc], where);
}

static struct conf_host *
host_new(struct parser *p, struct stmt *st, enum scope sc)
{
	struct conf_host *h, **tail;

	if (!host_name_ok(st->arg[0])) {
		perr(p, st->line, "host name \"%s\" must be 1 to %d letters, "
		    "digits, '.', '_' or '-' (it names a directory)",
		    st->arg[0], CONF_HOSTNAME_MAX);
		return NULL;
	}
	tail = sc == SC_SENDER ? &p->conf->sender.hosts :
	    &p->conf->receiver.hosts;
	for (; *tail != NULL; tail = &(*tail)->next)
		if (strcmp((*tail)->name, st->arg[0]) == 0) {
			perr(p, st->line, "host \"%s\" defined twice (lines "
			    "%u and %u)", st->arg[0], (*tail)->lineno,
			    st->line);
			return NULL;
		}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		perr(p, st->line, "out of memory");
		return NULL;
	}
	take_arg(st, 0, &h->name);
	h->lineno = st->line;
	*tail = h;
	return h;
}

static int
shost_end(struct parser *p, const struct conf_host *h, const unsigned *seen)
{
	if (h->remote == NULL)
		return perr(p, h->lineno, "host \"%s\" has no \"remote\"",
		    h->name);
	if ((h->certfile == NULL) != (h->keyfile == NULL))
		return perr(p, h->certfile != NULL ? seen[KW_CERTFILE] :
		    seen[KW_KEYFILE], "host \"%s\": \"%s\" without \"%s\": "
		    "a client certificate needs both", h->name,
		    h->certfile != NULL ? "certfile" : "keyfile",
		    h->certfile != NULL ? "keyfile" : "certfile");
	/* No plaintext and no unverified TLS, ever. */
	if (h->fingerprint == NULL && h->pubkey == NULL && h->cafile == NULL)
		return perr(p, h->lineno, "host \"%s\": no fingerprint, pubkey "
		    "or cafile: the receiver could not be verified", h->name);
	if (h->password == NULL && h->certfile == NULL)
		return perr(p, h->lineno, "host \"%s\": no password and no "
		    "certfile and keyfile: this sender could not authenticate "
		    "itself", h->name);
	return 0;
}

static int
rhost_end(struct parser *p, const struct conf_host *h)
{
	/* Without either, any peer that claims the name would be taken. */
	if (h->password == NULL && h->fingerprint == NULL)
		return perr(p, h->lineno, "host \"%s\": no password and no "
		    "fingerprint: the sender could not be authenticated",
		    h->name);
	return 0;
}

static int
sender_end(struct parser *p, const unsigned *seen, unsigned open_line)
{
	const struct conf_sender *s = &p->conf->sender;
	unsigned line;

	if (s->spool_max_size != 0 && s->spool_max_size < s->segment_size) {
		line = seen[KW_SPOOL_MAX_SIZE] ? seen[KW_SPOOL_MAX_SIZE] :
		    seen[KW_SEGMENT_SIZE] ? seen[KW_SEGMENT_SIZE] : open_line;
		return perr(p, line, "spool_max_size (%llu bytes) is smaller "
		    "than segment_size (%llu bytes)",
		    (unsigned long long)s->spool_max_size,
		    (unsigned long long)s->segment_size);
	}
	return 0;
}

/*
 * Enrolment takes any certificate the CA signed: without a CRL a stolen
 * one could never be shut out.  A CA without "enrol yes" would do nothing.
 */
static int
enrol_end(struct parser *p, const unsigned *seen)
{
	const struct conf_receiver *r = &p->conf->receiver;

	if (r->enrol && (r->cafile == NULL || r->crlfile == NULL))
		return perr(p, seen[KW_ENROL], "\"enrol yes\" needs \"cafile\" "
		    "(the fleet CA) and \"crlfile\" (its revocation list, "
		    "`openssl ca -gencrl`) in the receiver block");
	if (!r->enrol && (r->cafile != NULL || r->crlfile != NULL))
		return perr(p, r->cafile != NULL ? seen[KW_CAFILE] :
		    seen[KW_CRLFILE], "\"%s\" in the receiver block is used "
		    "only with \"enrol yes\"", r->cafile != NULL ? "cafile" :
		    "crlfile");
	return 0;
}

static int
receiver_end(struct parser *p, const unsigned *seen, unsigned open_line)
{
	struct conf_receiver *r = &p->conf->receiver;
	struct conf_host *h, *o;
	char *d;

	if (r->certfile == NULL || r->keyfile == NULL)
		return perr(p, open_line, "receiver block needs certfile and "
		    "keyfile: TLS is the only transport");
	if (enrol_end(p, seen) == -1)
		return -1;
	if (r->trail_max_size != 0 && r->trail_max_size < r->trail_size)
		return perr(p, seen[KW_TRAIL_MAX_SIZE], "trail_max_size (%llu "
		    "bytes) is smaller than trail_size (%llu bytes)",
		    (unsigned long long)r->trail_max_size,
		    (unsigned long long)r->trail_size);

	if (r->directory == NULL &&
	    (r->directory = strdup(CONF_DEFAULT_TRAILS)) == NULL)
		return perr(p, open_line, "out of memory");
	for (h = r->hosts; h != NULL; h = h->next) {
		/* A host's own value, else the receiver's. */
		if (!h->series_hold_set)
			h->series_hold = r->series_hold;
		if (!h->silence_alarm_set)
			h->silence_alarm = r->silence_alarm;
		if (h->directory == NULL)
			d = path_join(r->directory, h->name);
		else if (h->directory[0] != '/')
			d = path_join(r->directory, h->directory);
		else
			continue;
		if (d == NULL)
			return perr(p, h->lineno, "out of memory");
		free(h->directory);
		h->directory = d;
	}
	/* Two senders appending to one trail would interleave their files. */
	for (h = r->hosts; h != NULL; h = h->next)
		for (o = h->next; o != NULL; o = o->next)
			if (strcmp(h->directory, o->directory) == 0)
				return perr(p, o->lineno, "hosts \"%s\" (line "
				    "%u) and \"%s\" share the directory "
				    "\"%s\"", h->name, h->lineno, o->name,
				    o->directory);
	return 0;
}

/* Checks that need the whole block: what is missing, what conflicts. */
static int
block_end(struct parser *p, enum scope sc, const struct conf_host *h,
    const unsigned *seen, unsigned open_line)
{
	switch (sc) {
	case SC_SENDER:
		return sender_end(p, seen, open_line);
	case SC_RECEIVER:
		return receiver_end(p, seen, open_line);
	case SC_SHOST:
		return shost_end(p, h, seen);
	case SC_RHOST:
		return rhost_end(p, h);
	case SC_PUBLISH:
		return publish_end(p, seen, open_line);
	default:
		return 0;
	}
}

static void
stmt_clear(struct stmt *st)
{
	int i;

	for (i = 0; i < CONF_MAX_ARGS; i++) {
		wipe_free(st->arg[i]);
		st->arg[i] = NULL;
	}
	free(st->word);
	st->word = NULL;
}

static int
parse_statement(struct parser *p, enum scope sc, struct conf_host *cur,
    unsigned *seen)
{
	const struct keyword *k;
	struct conf_host *h = NULL;
	struct token *t;
	struct stmt st;
	enum scope inner;
	char what[CONF_HOSTNAME_MAX + 32];
	int k_id, rc = -1;

	memset(&st, 0, sizeof(st));
	st.line = p->tok.line;
	if ((st.word = strdup(p->tok.text)) == NULL)
		return perr(p, st.line, "out of memory");
	lex_take(p);
	for (;;) {
		t = lex_peek(p);
		if (t->type != TOK_WORD && t->type != TOK_STRING)
			break;
		if (st.nargs < CONF_MAX_ARGS &&
		    (st.arg[st.nargs] = strdup(t->text)) == NULL) {
			perr(p, st.line, "out of memory");
			goto out;
		}
		st.nargs++;
		lex_take(p);
	}
	if (t->type == TOK_ERR)
		goto out;

	for (k_id = 0; k_id < KW_MAX; k_id++)
		if (strcmp(st.word, keywords[k_id].name) == 0)
			break;
	if (k_id == KW_MAX) {
		unknown_keyword(p, &st, sc);
		goto out;
	}
	st.kw = (enum kw)k_id;
	k = &keywords[k_id];
	if (!(k->scopes & IN(sc))) {
		misplaced_keyword(p, &st, sc);
		goto out;
	}
	if (seen[k_id] != 0 && !k->repeat) {
		perr(p, st.line, "duplicate \"%s\"%s (first at line %u)",
		    st.word, k->block ? " block" : "", seen[k_id]);
		goto out;
	}
	if (seen[k_id] == 0)
		seen[k_id] = st.line;
	if (st.nargs < k->minargs) {
		perr(p, st.line, "\"%s\" needs a value", st.word);
		goto out;
	}
	if (st.nargs > k->maxargs) {
		if (k->maxargs == 0)
			perr(p, st.line, "\"%s\" takes no value", st.word);
		else if (k->maxargs == 1)
			perr(p, st.line, "\"%s\" takes one value, found %d "
			    "(one statement per line)", st.word, st.nargs);
		else
			perr(p, st.line, "\"%s\" takes at most %d values, "
			    "found %d (one statement per line)", st.word,
			    k->maxargs, st.nargs);
		goto out;
	}

	if (!k->block) {
		if (t->type == TOK_OPEN) {
			perr(p, t->line, "unexpected \"{\" after \"%s\"",
			    st.word);
			goto out;
		}
		rc = apply(p, &st, sc, cur);
		goto out;
	}

	/* FreeBSD's grammar ignores newlines, so "{" may be on the next line. */
	while (t->type == TOK_NL) {
		lex_take(p);
		t = lex_peek(p);
	}
	if (t->type == TOK_ERR)
		goto out;
	if (t->type != TOK_OPEN) {
		perr(p, st.line, "\"%s\" must be followed by \"{\"", st.word);
		goto out;
	}
	lex_take(p);
	switch (st.kw) {
	case KW_SENDER:
		p->conf->sender.present = 1;
		rc = parse_block(p, SC_SENDER, NULL, "sender block", st.line);
		break;
	case KW_RECEIVER:
		p->conf->receiver.present = 1;
		rc = parse_block(p, SC_RECEIVER, NULL, "receiver block",
		    st.line);
		break;
	case KW_PUBLISH:
		if (!publish_urls_ok(st.arg[0])) {
			perr(p, st.line, "\"publish\" takes \"nats://HOST:PORT\" "
			    "or \"tls://HOST:PORT\", several separated by ','; "
			    "not \"%s\"", st.arg[0]);
			break;
		}
		p->conf->receiver.publish.present = (int)st.line;
		take_arg(&st, 0, &p->conf->receiver.publish.urls);
		rc = parse_block(p, SC_PUBLISH, NULL, "publish block", st.line);
		break;
	case KW_HOST:
		if ((h = host_new(p, &st, sc)) == NULL)
			break;
		inner = sc == SC_SENDER ? SC_SHOST : SC_RHOST;
		snprintf(what, sizeof(what), "host \"%s\" block", h->name);
		rc = parse_block(p, inner, h, what, st.line);
		break;
	default:
		perr(p, st.line, "internal error: block \"%s\"", st.word);
		break;
	}
out:
	stmt_clear(&st);
	return p->failed ? -1 : rc;
}

static int
parse_block(struct parser *p, enum scope sc, struct conf_host *h,
    const char *what, unsigned open_line)
{
	unsigned seen[KW_MAX];
	struct token *t;

	memset(seen, 0, sizeof(seen));
	for (;;) {
		t = lex_peek(p);
		switch (t->type) {
		case TOK_ERR:
			return -1;
		case TOK_NL:
			lex_take(p);
			continue;
		case TOK_EOF:
			if (sc == SC_GLOBAL)
				return 0;
			return perr(p, t->line, "missing \"}\" for the %s "
			    "opened at line %u", what, open_line);
		case TOK_CLOSE:
			lex_take(p);
			if (sc == SC_GLOBAL)
				return perr(p, t->line, "\"}\" without an open "
				    "block");
			return block_end(p, sc, h, seen, open_line);
		case TOK_OPEN:
			return perr(p, t->line, "unexpected \"{\"");
		case TOK_STRING:
			return perr(p, t->line, "expected a keyword, found a "
			    "quoted string");
		case TOK_WORD:
			break;
		}
		if (parse_statement(p, sc, h, seen) == -1)
			return -1;
	}
}

static void
hosts_free(struct conf_host *h)
{
	struct conf_host *next;

	for (; h != NULL; h = next) {
		next = h->next;
		free(h->name);
		free(h->remote);
		free(h->fingerprint);
		free(h->pubkey);
		free(h->cafile);
		free(h->certfile);
		free(h->keyfile);
		wipe_free(h->password);
		free(h->directory);
		free(h);
	}
}

static void
publish_free(struct conf_publish *pb)
{
	free(pb->urls);
	free(pb->subject_prefix);
	free(pb->stream);
	free(pb->user);
	wipe_free(pb->password);
	wipe_free(pb->token);
	free(pb->cafile);
	memset(pb, 0, sizeof(*pb));
}

void
conf_free(struct conf *c)
{
	unsigned i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->name);
	free(c->pidfile);
	free(c->sender.directory);
	free(c->sender.source);
	free(c->sender.full_exec);
	free(c->sender.status_file);
	free(c->sender.metrics_file);
	free(c->sender.user);
	free(c->receiver.user);
	free(c->receiver.trail_group);
	hosts_free(c->sender.hosts);
	publish_free(&c->receiver.publish);
	for (i = 0; i < c->receiver.nlisten; i++)
		free(c->receiver.listen[i]);
	free(c->receiver.listen);
	free(c->receiver.directory);
	free(c->receiver.certfile);
	free(c->receiver.keyfile);
	free(c->receiver.cafile);
	free(c->receiver.crlfile);
	free(c->receiver.status_file);
	free(c->receiver.metrics_file);
	hosts_free(c->receiver.hosts);
	free(c);
}

static struct conf *
conf_new(void)
{
	struct conf *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->timeout = DEF_TIMEOUT;
	c->sender.segment_size = DEF_SEGMENT_SIZE;
	c->sender.segment_age = DEF_SEGMENT_AGE;
	c->sender.flush = FLUSH_INCREMENTAL;
	c->sender.flush_records = DEF_FLUSH_RECORDS;
	c->sender.spool_max_size = DEF_SPOOL_MAX;
	c->sender.spool_min_free_pct = DEF_MIN_FREE_PCT;
	c->sender.full_action = FULL_DROP_NEW;
	c->sender.status_interval = DEF_STATUS_INTERVAL;
	c->receiver.trail_size = DEF_TRAIL_SIZE;
	c->receiver.series_hold = DEF_SERIES_HOLD;
	c->receiver.silence_alarm = DEF_SILENCE_ALARM;
	c->receiver.serial_gaps = 1;
	return c;
}

/* Defaults that depend on other settings, or on the system. */
static int
finish(struct parser *p)
{
	struct conf *c = p->conf;
	struct conf_receiver *r = &c->receiver;
	char host[HOST_NAME_MAX + 1];

	if (c->name == NULL) {
		if (gethostname(host, sizeof(host)) == -1)
			return perr(p, 0, "cannot get the host name (%s); set "
			    "\"name\"", strerror(errno));
		host[sizeof(host) - 1] = '\0';
		/* A kernel without a host name says "(none)". */
		if (c->sender.present && !host_name_ok(host))
			return perr(p, 0, "the host name \"%s\" cannot name "
			    "this sender; set \"name\"", host);
		if ((c->name = strdup(host)) == NULL)
			goto nomem;
	}
	if (c->sender.directory == NULL &&
	    (c->sender.directory = strdup(CONF_DEFAULT_SPOOL)) == NULL)
		goto nomem;
	if (c->sender.status_file == NULL &&
	    (c->sender.status_file = path_join(c->sender.directory,
	    "status")) == NULL)
		goto nomem;
	if (c->sender.user == NULL &&
	    (c->sender.user = strdup(DEF_USER)) == NULL)
		goto nomem;
	if (r->directory == NULL &&
	    (r->directory = strdup(CONF_DEFAULT_TRAILS)) == NULL)
		goto nomem;
	if (r->user == NULL && (r->user = strdup(DEF_USER)) == NULL)
		goto nomem;
	if (r->status_file == NULL &&
	    (r->status_file = strdup(CONF_DEFAULT_RSTATUS)) == NULL)
		goto nomem;
	if (strcmp(r->status_file, "none") == 0) {
		free(r->status_file);
		r->status_file = NULL;
	}
	if (r->writer_hosts == 0)
		r->writer_hosts = CONF_WRITER_HOSTS_DEF;
	if (r->nlisten == 0) {
		if ((r->listen = calloc(2, sizeof(*r->listen))) == NULL ||
		    (r->listen[0] = strdup(DEF_LISTEN)) == NULL)
			goto nomem;
		r->nlisten = 1;
	}
	return 0;
nomem:
	return perr(p, 0, "out of memory");
}

static struct conf *
parse_buf(const char *name, const char *buf, size_t len, char *err,
    size_t errlen)
{
	struct parser *p;
	struct conf *c = NULL;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	p->name = name;
	p->p = buf;
	p->end = buf + len;
	p->line = 1;
	p->err = err;
	p->errlen = errlen;
	if (len > CONF_MAX_FILE) {
		perr(p, 0, "larger than %d bytes", CONF_MAX_FILE);
		goto out;
	}
	if ((p->conf = conf_new()) == NULL ||
	    (p->conf->path = strdup(name)) == NULL) {
		perr(p, 0, "out of memory");
		goto out;
	}
	if (parse_block(p, SC_GLOBAL, NULL, "file", 0) == -1 ||
	    finish(p) == -1)
		goto out;
	c = p->conf;
	p->conf = NULL;
out:
	conf_free(p->conf);
	/* The last token may have been a password. */
	explicit_bzero(p, sizeof(*p));
	free(p);
	return c;
}

struct conf *
conf_parse(const char *name, const char *text, char *err, size_t errlen)
{
	if (name == NULL || text == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "conf_parse: no input");
		errno = EINVAL;
		return NULL;
	}
	return parse_buf(name, text, strlen(text), err, errlen);
}

/*
 * The group that may read a file that holds passwords: the primary group
 * of the user the daemon runs as (the receiver's "user", else the
 * sender's), which must read the file again on SIGHUP.  Its name (the
 * user's if the group has no entry) goes to name; (gid_t)-1 when there is
 * no such user.  Remembered: the first load runs before the sandbox, which
 * keeps a reloading process from reading /etc/passwd.
 */
static gid_t
secret_group(const struct conf *c, char *name, size_t len)
{
	static char user[USER_NAME_MAX + 1], group[64];
	static gid_t gid = (gid_t)-1;
	const char *u = c->receiver.present ? c->receiver.user :
	    c->sender.user;
	struct passwd *pw;
	struct group *gr;

	if (u == NULL)
		u = DEF_USER;
	if (gid == (gid_t)-1 || strcmp(u, user) != 0) {
		snprintf(user, sizeof(user), "%s", u);
		snprintf(group, sizeof(group), "%s", u);
		gid = (gid_t)-1;
		if ((pw = getpwnam(u)) != NULL) {
			gid = pw->pw_gid;
			if ((gr = getgrgid(gid)) != NULL)
				snprintf(group, sizeof(group), "%s",
				    gr->gr_name);
		}
	}
	snprintf(name, len, "%s", group);
	return gid;
}

/*
 * Passwords: never readable by others; readable by group only when that
 * group is ours or our user's.  -1 and the message with both fixes if not.
 */
static int
secret_mode_check(struct parser *ep, const struct conf *c,
    const struct stat *st, const char *path)
{
	char grp[64], who[32];

	if ((st->st_mode & 007) == 0 && ((st->st_mode & 070) == 0 ||
	    st->st_gid == getegid() ||
	    st->st_gid == secret_group(c, grp, sizeof(grp))))
		return 0;
	(void)secret_group(c, grp, sizeof(grp));	/* the name */
	if ((st->st_mode & 007) != 0)
		snprintf(who, sizeof(who), "others");
	else
		snprintf(who, sizeof(who), "group %u", (unsigned)st->st_gid);
	return perr(ep, (unsigned)c->has_secrets, "holds passwords but is "
	    "readable by %s (mode %04o); chmod 600 %s, or chgrp %s %s && "
	    "chmod 640 %s", who, (unsigned)(st->st_mode & 07777), path, grp,
	    path, path);
}

struct conf *
conf_load(const char *path, char *err, size_t errlen)
{
	struct parser ep;
	struct conf *c = NULL;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd;

	memset(&ep, 0, sizeof(ep));
	ep.name = path;
	ep.err = err;
	ep.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	/* O_NONBLOCK: a FIFO in its place must not hang us before fstat. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		perr(&ep, 0, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		perr(&ep, 0, "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		perr(&ep, 0, "not a regular file");
		goto out;
	}
	/* Whoever can change this file decides where audit trails go. */
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		perr(&ep, 0, "owned by uid %u; it must belong to root",
		    (unsigned)st.st_uid);
		goto out;
	}
	if ((st.st_mode & 022) != 0) {
		perr(&ep, 0, "writable by group or others (mode %04o); "
		    "chmod go-w %s", (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_size > CONF_MAX_FILE) {
		perr(&ep, 0, "larger than %d bytes", CONF_MAX_FILE);
		goto out;
	}
	if ((buf = malloc(CONF_MAX_FILE + 1)) == NULL) {
		perr(&ep, 0, "out of memory");
		goto out;
	}
	/* Read one byte past the limit to notice a file that grew. */
	while (len < CONF_MAX_FILE + 1) {
		n = read(fd, buf + len, CONF_MAX_FILE + 1 - len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			perr(&ep, 0, "%s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if ((c = parse_buf(path, buf, len, err, errlen)) == NULL)
		goto out;
	if (c->has_secrets && secret_mode_check(&ep, c, &st, path) == -1) {
		conf_free(c);
		c = NULL;
	}
out:
	if (buf != NULL) {
		explicit_bzero(buf, len);
		free(buf);
	}
	close(fd);
	return c;
}

void
conf_forget_publish(struct conf *c)
{
	if (c == NULL)
		return;
	wipe_free(c->receiver.publish.password);
	wipe_free(c->receiver.publish.token);
	c->receiver.publish.password = NULL;
	c->receiver.publish.token = NULL;
}

static void
forget_hosts(struct conf_host *h)
{
	for (; h != NULL; h = h->next)
		if (h->password != NULL) {
			explicit_bzero(h->password, strlen(h->password));
			free(h->password);
			h->password = NULL;
		}
}

void
conf_forget_secrets(struct conf *c)
{
	if (c == NULL)
		return;
	forget_hosts(c->sender.hosts);
	forget_hosts(c->receiver.hosts);
}
