/*
 * auditdistd.conf: a hand-written parser for the syntax of FreeBSD's
 * auditdistd.conf(5), with the Linux spool, TLS and trail settings added.
 * This file reads statements and blocks, checks what needs a whole block,
 * fills in the defaults and loads the file; conf_lex.c cuts the text into
 * tokens, conf_keys.c holds the keywords and conf_check.c their values.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_int.h"

/* Defaults; the man page states the same numbers. */
#define DEF_SEGMENT_SIZE	(8 * MIB)
#define DEF_SEGMENT_AGE		60
#define DEF_FLUSH_RECORDS	100
#define DEF_SPOOL_MAX		GIB
#define DEF_MIN_FREE_PCT	5
#define DEF_STATUS_INTERVAL	10
#define DEF_TIMEOUT		20
#define DEF_LISTEN		"tls://[::]:" CONF_DEFAULT_PORT
#define DEF_TRAIL_SIZE		(64 * MIB)
#define DEF_SERIES_HOLD		600
#define DEF_SILENCE_ALARM	300

/* The line where this block first set a keyword, or 0. */
#define SEEN(sc, name)		conf_keyword_seen(seen, sc, name)

void
conf_wipe_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
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

static int
publish_end(struct parser *p, const unsigned *seen, unsigned open_line)
{
	struct conf_publish *pb = &p->conf->receiver.publish;

	if ((pb->user == NULL) != (pb->password == NULL))
		return conf_perr(p, pb->user != NULL ?
		    SEEN(SC_PUBLISH, "user") : SEEN(SC_PUBLISH, "password"),
		    "publish block: \"user\" and \"password\" go together");
	if (pb->token != NULL && pb->user != NULL)
		return conf_perr(p, SEEN(SC_PUBLISH, "token"), "publish block: "
		    "\"token\" or \"user\" and \"password\", not both");
	if (pb->cafile != NULL && strstr(pb->urls, "tls://") == NULL)
		return conf_perr(p, SEEN(SC_PUBLISH, "cafile"), "publish "
		    "block: \"cafile\" needs tls:// URLs");
	if ((pb->subject_prefix == NULL &&
	    (pb->subject_prefix = strdup(CONF_PUBLISH_PREFIX)) == NULL) ||
	    (pb->stream == NULL &&
	    (pb->stream = strdup(CONF_PUBLISH_STREAM)) == NULL) ||
	    (pb->consumer == NULL &&
	    (pb->consumer = strdup(CONF_READ_CONSUMER)) == NULL))
		return conf_perr(p, open_line, "out of memory");
	if (pb->replicas == 0)
		pb->replicas = 1;
	return 0;
}

static int
shost_end(struct parser *p, const struct conf_host *h, const unsigned *seen)
{
	if (h->remote == NULL)
		return conf_perr(p, h->lineno, "host \"%s\" has no \"remote\"",
		    h->name);
	if ((h->certfile == NULL) != (h->keyfile == NULL))
		return conf_perr(p, h->certfile != NULL ?
		    SEEN(SC_SHOST, "certfile") : SEEN(SC_SHOST, "keyfile"),
		    "host \"%s\": \"%s\" without \"%s\": a client certificate "
		    "needs both", h->name,
		    h->certfile != NULL ? "certfile" : "keyfile",
		    h->certfile != NULL ? "keyfile" : "certfile");
	/* No plaintext and no unverified TLS, ever. */
	if (h->fingerprint == NULL && h->pubkey == NULL && h->cafile == NULL)
		return conf_perr(p, h->lineno, "host \"%s\": no fingerprint, "
		    "pubkey or cafile: the receiver could not be verified",
		    h->name);
	if (h->password == NULL && h->certfile == NULL)
		return conf_perr(p, h->lineno, "host \"%s\": no password and "
		    "no certfile and keyfile: this sender could not "
		    "authenticate itself", h->name);
	return 0;
}

static int
rhost_end(struct parser *p, const struct conf_host *h)
{
	/* Without either, any peer that claims the name would be taken. */
	if (h->password == NULL && h->fingerprint == NULL)
		return conf_perr(p, h->lineno, "host \"%s\": no password and "
		    "no fingerprint: the sender could not be authenticated",
		    h->name);
	return 0;
}

static int
sender_end(struct parser *p, const unsigned *seen, unsigned open_line)
{
	const struct conf_sender *s = &p->conf->sender;
	unsigned line;

	if (s->spool_max_size != 0 && s->spool_max_size < s->segment_size) {
		line = SEEN(SC_SENDER, "spool_max_size");
		if (line == 0)
			line = SEEN(SC_SENDER, "segment_size");
		if (line == 0)
			line = open_line;
		return conf_perr(p, line, "spool_max_size (%llu bytes) is "
		    "smaller than segment_size (%llu bytes)",
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
		return conf_perr(p, SEEN(SC_RECEIVER, "enrol"), "\"enrol yes\" "
		    "needs \"cafile\" (the fleet CA) and \"crlfile\" (its "
		    "revocation list, `openssl ca -gencrl`) in the receiver "
		    "block");
	if (!r->enrol && (r->cafile != NULL || r->crlfile != NULL))
		return conf_perr(p, r->cafile != NULL ?
		    SEEN(SC_RECEIVER, "cafile") : SEEN(SC_RECEIVER, "crlfile"),
		    "\"%s\" in the receiver block is used only with \"enrol "
		    "yes\"", r->cafile != NULL ? "cafile" : "crlfile");
	return 0;
}

/*
 * Each receiver host's own series_hold, silence_alarm and directory, else
 * the receiver's; no two hosts share a trail directory.
 */
static int
rhosts_finish(struct parser *p, struct conf_receiver *r)
{
	struct conf_host *h, *o;
	char *d;

	for (h = r->hosts; h != NULL; h = h->next) {
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
			return conf_perr(p, h->lineno, "out of memory");
		free(h->directory);
		h->directory = d;
	}
	/* Two senders appending to one trail would interleave their files. */
	for (h = r->hosts; h != NULL; h = h->next)
		for (o = h->next; o != NULL; o = o->next)
			if (strcmp(h->directory, o->directory) == 0)
				return conf_perr(p, o->lineno, "hosts \"%s\" "
				    "(line %u) and \"%s\" share the directory "
				    "\"%s\"", h->name, h->lineno, o->name,
				    o->directory);
	return 0;
}

static int
receiver_end(struct parser *p, const unsigned *seen, unsigned open_line)
{
	struct conf_receiver *r = &p->conf->receiver;

	/* A reader's (auditdistd -R) listens to nobody. */
	if ((r->certfile == NULL || r->keyfile == NULL) &&
	    r->publish.read_into == NULL)
		return conf_perr(p, open_line, "receiver block needs certfile "
		    "and keyfile: TLS is the only transport");
	if (enrol_end(p, seen) == -1)
		return -1;
	if (r->trail_max_size != 0 && r->trail_max_size < r->trail_size)
		return conf_perr(p, SEEN(SC_RECEIVER, "trail_max_size"),
		    "trail_max_size (%llu bytes) is smaller than trail_size "
		    "(%llu bytes)", (unsigned long long)r->trail_max_size,
		    (unsigned long long)r->trail_size);
	if (r->directory == NULL &&
	    (r->directory = strdup(CONF_DEFAULT_TRAILS)) == NULL)
		return conf_perr(p, open_line, "out of memory");
	return rhosts_finish(p, r);
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
		conf_wipe_free(st->arg[i]);
		st->arg[i] = NULL;
	}
	free(st->word);
	st->word = NULL;
}

/* The keyword under the cursor and the values after it on its line. */
static int
stmt_read(struct parser *p, struct stmt *st)
{
	struct token *t;

	st->line = p->tok.line;
	if ((st->word = strdup(p->tok.text)) == NULL)
		return conf_perr(p, st->line, "out of memory");
	conf_lex_take(p);
	for (;;) {
		t = conf_lex_peek(p);
		if (t->type != TOK_WORD && t->type != TOK_STRING)
			break;
		if (st->nargs < CONF_MAX_ARGS &&
		    (st->arg[st->nargs] = strdup(t->text)) == NULL)
			return conf_perr(p, st->line, "out of memory");
		st->nargs++;
		conf_lex_take(p);
	}
	return t->type == TOK_ERR ? -1 : 0;
}

/* Once per block, unless it may repeat, and with as many values as it takes. */
static int
stmt_check(struct parser *p, const struct stmt *st, const struct keyword *k,
    unsigned *seen)
{
	unsigned *first = &seen[k - conf_keywords];

	if (*first != 0 && !(k->flags & KF_REPEAT))
		return conf_perr(p, st->line, "duplicate \"%s\"%s (first at "
		    "line %u)", st->word, k->flags & KF_BLOCK ? " block" : "",
		    *first);
	if (*first == 0)
		*first = st->line;
	if (st->nargs < k->minargs)
		return conf_perr(p, st->line, "\"%s\" needs a value", st->word);
	if (st->nargs <= k->maxargs)
		return 0;
	if (k->maxargs == 0)
		return conf_perr(p, st->line, "\"%s\" takes no value",
		    st->word);
	if (k->maxargs == 1)
		return conf_perr(p, st->line, "\"%s\" takes one value, found "
		    "%d (one statement per line)", st->word, st->nargs);
	return conf_perr(p, st->line, "\"%s\" takes at most %d values, found "
	    "%d (one statement per line)", st->word, k->maxargs, st->nargs);
}

/* The struct a block's statements fill. */
static void *
block_obj(struct parser *p, enum scope sc, struct conf_host *h)
{
	switch (sc) {
	case SC_GLOBAL:
		return p->conf;
	case SC_SENDER:
		return &p->conf->sender;
	case SC_RECEIVER:
		return &p->conf->receiver;
	case SC_PUBLISH:
		return &p->conf->receiver.publish;
	default:
		return h;
	}
}

static int
parse_statement(struct parser *p, enum scope sc, struct conf_host *h,
    unsigned *seen)
{
	const struct keyword *k;
	struct token *t;
	struct stmt st;
	int rc = -1;

	memset(&st, 0, sizeof(st));
	st.sc = sc;
	if (stmt_read(p, &st) == -1 ||
	    (k = conf_keyword_find(p, &st)) == NULL ||
	    stmt_check(p, &st, k, seen) == -1)
		goto out;
	t = conf_lex_peek(p);
	if (!(k->flags & KF_BLOCK)) {
		if (t->type == TOK_OPEN)
			conf_perr(p, t->line, "unexpected \"{\" after \"%s\"",
			    st.word);
		else
			rc = k->set(p, &st, k, block_obj(p, sc, h));
		goto out;
	}
	/* FreeBSD's grammar ignores newlines: "{" may be on the next line. */
	while (t->type == TOK_NL) {
		conf_lex_take(p);
		t = conf_lex_peek(p);
	}
	if (t->type == TOK_ERR)
		goto out;
	if (t->type != TOK_OPEN) {
		conf_perr(p, st.line, "\"%s\" must be followed by \"{\"",
		    st.word);
		goto out;
	}
	conf_lex_take(p);
	rc = k->set(p, &st, k, block_obj(p, sc, h));
out:
	stmt_clear(&st);
	return p->failed ? -1 : rc;
}

int
conf_parse_block(struct parser *p, enum scope sc, struct conf_host *h,
    const char *what, unsigned open_line)
{
	unsigned seen[CONF_MAX_KEYWORDS];
	struct token *t;

	memset(seen, 0, sizeof(seen));
	for (;;) {
		t = conf_lex_peek(p);
		switch (t->type) {
		case TOK_ERR:
			return -1;
		case TOK_NL:
			conf_lex_take(p);
			continue;
		case TOK_EOF:
			if (sc == SC_GLOBAL)
				return 0;
			return conf_perr(p, t->line, "missing \"}\" for the %s "
			    "opened at line %u", what, open_line);
		case TOK_CLOSE:
			conf_lex_take(p);
			if (sc == SC_GLOBAL)
				return conf_perr(p, t->line, "\"}\" without an "
				    "open block");
			return block_end(p, sc, h, seen, open_line);
		case TOK_OPEN:
			return conf_perr(p, t->line, "unexpected \"{\"");
		case TOK_STRING:
			return conf_perr(p, t->line, "expected a keyword, "
			    "found a quoted string");
		case TOK_WORD:
			break;
		}
		if (parse_statement(p, sc, h, seen) == -1)
			return -1;
	}
}

static void
host_list_free(struct conf_host *h)
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
		conf_wipe_free(h->password);
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
	conf_wipe_free(pb->password);
	conf_wipe_free(pb->token);
	free(pb->cafile);
	free(pb->read_into);
	free(pb->consumer);
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
	host_list_free(c->sender.hosts);
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
	host_list_free(c->receiver.hosts);
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
			return conf_perr(p, 0, "cannot get the host name (%s); "
			    "set \"name\"", strerror(errno));
		host[sizeof(host) - 1] = '\0';
		/* A kernel without a host name says "(none)". */
		if (c->sender.present && !conf_host_name_ok(host))
			return conf_perr(p, 0, "the host name \"%s\" cannot "
			    "name this sender; set \"name\"", host);
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
	return conf_perr(p, 0, "out of memory");
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
		conf_perr(p, 0, "larger than %d bytes", CONF_MAX_FILE);
		goto out;
	}
	if ((p->conf = conf_new()) == NULL ||
	    (p->conf->path = strdup(name)) == NULL) {
		conf_perr(p, 0, "out of memory");
		goto out;
	}
	if (conf_parse_block(p, SC_GLOBAL, NULL, "file", 0) == -1 ||
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

/* Whoever can change the file decides where audit trails go. */
static int
file_check(struct parser *ep, int fd, struct stat *st, const char *path)
{
	if (fstat(fd, st) == -1)
		return conf_perr(ep, 0, "%s", strerror(errno));
	if (!S_ISREG(st->st_mode))
		return conf_perr(ep, 0, "not a regular file");
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return conf_perr(ep, 0, "owned by uid %u; it must belong to "
		    "root", (unsigned)st->st_uid);
	if ((st->st_mode & 022) != 0)
		return conf_perr(ep, 0, "writable by group or others (mode "
		    "%04o); chmod go-w %s", (unsigned)(st->st_mode & 07777),
		    path);
	if (st->st_size > CONF_MAX_FILE)
		return conf_perr(ep, 0, "larger than %d bytes", CONF_MAX_FILE);
	return 0;
}

/* Read one byte past the limit to notice a file that grew. */
static int
file_read(struct parser *ep, int fd, char *buf, size_t *len)
{
	ssize_t n;

	while (*len < CONF_MAX_FILE + 1) {
		n = read(fd, buf + *len, CONF_MAX_FILE + 1 - *len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return conf_perr(ep, 0, "%s", strerror(errno));
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}

struct conf *
conf_load(const char *path, char *err, size_t errlen)
{
	struct parser ep;
	struct conf *c = NULL;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
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
		conf_perr(&ep, 0, "%s", strerror(errno));
		return NULL;
	}
	if (file_check(&ep, fd, &st, path) == -1)
		goto out;
	if ((buf = malloc(CONF_MAX_FILE + 1)) == NULL) {
		conf_perr(&ep, 0, "out of memory");
		goto out;
	}
	if (file_read(&ep, fd, buf, &len) == -1 ||
	    (c = parse_buf(path, buf, len, err, errlen)) == NULL)
		goto out;
	if (c->has_secrets &&
	    conf_check_secret_mode(&ep, c, &st, path) == -1) {
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
	conf_wipe_free(c->receiver.publish.password);
	conf_wipe_free(c->receiver.publish.token);
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