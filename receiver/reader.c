/*
 * auditdistd -R: the reading mode.  One process, as the receiver's user,
 * confined as a writer is (the read_into directory alone) plus TCP to the
 * publish block's ports.  It binds a durable pull consumer (AckExplicit)
 * to PREFIX.> of the stream and, round after round, fetches a batch,
 * writes each message to its host's trail (reader_host.c), makes the
 * round durable, and only then acknowledges: a message is acked once
 * durable, NAKed with a delay when its host waits (a gap), terminated
 * when it can never fit.  A crash anywhere makes the stream deliver again
 * what was not acked, and reader_host.c knows what the trails hold.
 *
 * The client library runs threads of its own; this file calls it from
 * its one thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "log.h"
#include "publish.h"
#include "reader.h"
#include "sandbox.h"
#include "tcur.h"

#define READER_BATCH	128		/* messages a round, at most */
#define READER_BYTES	(16LL << 20)	/* bytes a round, at most */
#define READER_FETCH_NS	(1000LL * 1000000)
/*
 * Unacked that long, a message comes again: far longer than a round
 * takes, short since a reader that died leaves its round's messages so.
 */
#define READER_ACK_WAIT	(5LL * 1000000000)
#define READER_RETRY_MS	1000
#define READER_MAX_PENDING 100000	/* unacknowledged, all hosts */
#define HDR_MSG_ID	"Nats-Msg-Id"
#define HDR_LAST_SUBJ	"Nats-Expected-Last-Subject-Sequence"

static volatile sig_atomic_t stopping;

static struct {
	const struct conf_publish *c;
	natsSubscription *sub;
	char		 subj[CONF_PUBLISH_NAME_MAX + 3];	/* PREFIX.> */
	size_t		 plen;		/* of "PREFIX." */
	int		 down;		/* an error logged, not yet over */
} rdr;

struct item {
	natsMsg		*m;
	struct reader_msg rm;
	struct rdhost	*h;
	enum reader_verdict v;
};

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/* A decimal number, all of s. */
static int
undec(const char *s, uint64_t *val)
{
	struct tcur c;

	tc_init(&c, s, strlen(s));
	tc_dec(&c, UINT64_MAX, val);
	return tc_end(&c);
}

/*
 * "HOST:SPOOL:SEGMENT:OFFSET" (publish.c) for the subject's host: 32 and
 * 16 hex digits, a decimal offset.  NULL, or what is wrong.
 */
static const char *
parse_id(const char *id, struct reader_msg *rm)
{
	size_t hl = strlen(rm->host);
	struct pubid p;

	_Static_assert(sizeof(p.spool_id) == sizeof(rm->spool), "spool id");
	if (strncmp(id, rm->host, hl) != 0 || id[hl] != ':')
		return "its ID names another host";
	if (pubidx_parse_id(id, &p) == -1)
		return "its ID is not HOST:SPOOL:SEGMENT:OFFSET";
	memcpy(rm->spool, p.spool_id, sizeof(rm->spool));
	rm->seg = p.seg;
	rm->off = p.off;
	if (rm->off > UINT64_MAX - rm->len)
		return "its offset is out of range";
	return NULL;
}

/* The message taken apart; -1: it can never fit (logged). */
static int
parse(natsMsg *m, struct reader_msg *rm)
{
	const char *subj = natsMsg_GetSubject(m), *id = NULL, *e = NULL;
	const char *why = NULL;
	jsMsgMetaData *md = NULL;
	int len = natsMsg_GetDataLength(m);

	memset(rm, 0, sizeof(*rm));
	if (natsMsg_GetMetaData(&md, m) != NATS_OK) {
		log_warnx("a message on %s without JetStream metadata",
		    subj);
		return -1;
	}
	rm->sseq = md->Sequence.Stream;
	jsMsgMetaData_Destroy(md);
	rm->data = natsMsg_GetData(m);
	rm->len = len > 0 ? (size_t)len : 0;
	rm->host = subj + rdr.plen;
	/* A name from '.' on would meet READER_STATE; no subject has one. */
	if (strncmp(subj, rdr.subj, rdr.plen) != 0 || rm->host[0] == '.' ||
	    !wire_valid_host(rm->host, strlen(rm->host)))
		why = "its subject names no host";
	else if (natsMsgHeader_Get(m, HDR_MSG_ID, &id) != NATS_OK ||
	    id == NULL)
		why = "it has no message ID";
	else if (rm->len == 0 ||
	    ((const char *)rm->data)[rm->len - 1] != '\n')
		why = "it does not hold whole lines";
	else
		why = parse_id(id, rm);
	/* The stream checked it: the subject's chain, which shows gaps. */
	if (why == NULL && (natsMsgHeader_Get(m, HDR_LAST_SUBJ, &e) !=
	    NATS_OK || e == NULL || undec(e, &rm->expect) == -1))
		why = "it has no " HDR_LAST_SUBJ;
	if (why == NULL)
		return 0;
	log_warnx("message %" PRIu64 " on %s (ID %s): %s; dropped",
	    rm->sseq, subj, id != NULL ? id : "none", why);
	return -1;
}

#ifdef AUDITDIST_TEST_HOOKS
/*
 * AUDITDIST_TEST_READER_EXIT=fetched:N or synced:N: die at the N-th
 * round, once it has fetched (before it writes) or once it has made the
 * round durable (before it acknowledges).
 */
static void
test_exit(const char *where)
{
	static unsigned rounds;
	const char *e = getenv("AUDITDIST_TEST_READER_EXIT");
	struct tcur c;
	uint64_t n;

	if (strcmp(where, "fetched") == 0)
		rounds++;
	if (e == NULL)
		return;
	tc_init(&c, e, strlen(e));
	tc_lit(&c, where);
	tc_lit(&c, ":");
	tc_dec(&c, UINT_MAX, &n);
	if (tc_end(&c) == -1 || n != rounds)
		return;
	log_warnx("test hook: exiting at round %u, %s", rounds,
	    where);
	_exit(0);
}
#else
#define test_exit(w)	do { } while (0)
#endif

static int
by_sequence(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	return x->rm.sseq < y->rm.sseq ? -1 : x->rm.sseq > y->rm.sseq;
}

/*
 * One fetched batch: write, make durable, then answer each message.  In
 * the stream's order: messages delivered again (after a NAK, or unacked
 * by a reader that died) come mixed with later ones.
 */
static void
round_of(natsMsgList *list)
{
	static struct item it[READER_BATCH];
	int i, n = list->Count < READER_BATCH ? list->Count : READER_BATCH;

	test_exit("fetched");
	for (i = 0; i < n; i++) {
		it[i].m = list->Msgs[i];
		it[i].h = NULL;
		it[i].v = parse(it[i].m, &it[i].rm) == -1 ? RV_BAD : RV_WAIT;
	}
	qsort(it, (size_t)n, sizeof(it[0]), by_sequence);
	for (i = 0; i < n; i++)
		if (it[i].v != RV_BAD &&
		    (it[i].h = rdhost_get(it[i].rm.host)) != NULL)
			it[i].v = rdhost_apply(it[i].h, &it[i].rm);
	rdhost_commit();
	test_exit("synced");
	for (i = 0; i < n; i++) {
		switch (it[i].v) {
		case RV_WRITTEN:
		case RV_HELD:
			if (!rdhost_failed(it[i].h)) {
				(void)natsMsg_Ack(it[i].m, NULL);
				break;
			}
			/* FALLTHROUGH */
		case RV_WAIT:
			(void)natsMsg_NakWithDelay(it[i].m,
			    rdhost_nak_ms(it[i].h), NULL);
			break;
		case RV_BAD:
			(void)natsMsg_Term(it[i].m, NULL);
			break;
		}
	}
	rdhost_round_end();
}

static const char *
why(natsStatus s, jsErrCode je, char *buf, size_t len)
{
	const char *last = nats_GetLastError(NULL);

	snprintf(buf, len, "%s", last != NULL && *last ? last :
	    natsStatus_GetText(s));
	if (je != 0)
		snprintf(buf + strlen(buf), len - strlen(buf), " (JetStream "
		    "error %d)", (int)je);
	return buf;
}

/* Once per episode: NATS is retried every second. */
static void
trouble(const char *what)
{
	if (!rdr.down)
		log_warnx("%s; trying again", what);
	rdr.down = 1;
}

/* The durable consumer, made if missing; -1: not now (logged). */
static int
subscribe(void)
{
	jsSubOptions so;
	jsErrCode je = 0;
	natsStatus s;
	char err[1024], b[512];

	if (!pubnats_ready(err, sizeof(err))) {
		trouble(err);
		return -1;
	}
	jsSubOptions_Init(&so);
	so.Stream = rdr.c->stream;
	so.Config.AckPolicy = js_AckExplicit;
	so.Config.AckWait = READER_ACK_WAIT;
	so.Config.DeliverPolicy = js_DeliverAll;
	/* A host waiting at a gap holds its messages; the others go on. */
	so.Config.MaxAckPending = READER_MAX_PENDING;
	if ((s = js_PullSubscribe(&rdr.sub, pubnats_js(), rdr.subj,
	    rdr.c->consumer, NULL, &so, &je)) != NATS_OK) {
		rdr.sub = NULL;
		snprintf(err, sizeof(err), "consumer %s of stream %s: %s",
		    rdr.c->consumer, rdr.c->stream, why(s, je, b, sizeof(b)));
		trouble(err);
		return -1;
	}
	if (rdr.down)
		log_info("reading stream %s again", rdr.c->stream);
	else
		log_info("reading %s of stream %s as consumer %s",
		    rdr.subj, rdr.c->stream, rdr.c->consumer);
	rdr.down = 0;
	return 0;
}

static void
pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (!stopping && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
run(void)
{
	jsFetchRequest fr;
	natsMsgList list;
	natsStatus s;
	char err[512];

	jsFetchRequest_Init(&fr);
	fr.Batch = READER_BATCH;
	fr.MaxBytes = READER_BYTES;
	fr.Expires = READER_FETCH_NS;

	while (!stopping) {
		if (rdr.sub == NULL && subscribe() == -1) {
			pause_ms(READER_RETRY_MS);
			continue;
		}
		memset(&list, 0, sizeof(list));
		s = natsSubscription_FetchRequest(&list, rdr.sub, &fr);
		if (s == NATS_OK && list.Count > 0)
			round_of(&list);
		natsMsgList_Destroy(&list);
		if (s == NATS_OK || s == NATS_TIMEOUT)
			continue;
		/* Bound again once it answers: the consumer keeps its place. */
		why(s, 0, err, sizeof(err));
		trouble(err);
		natsSubscription_Destroy(rdr.sub);
		rdr.sub = NULL;
		pause_ms(READER_RETRY_MS);
	}
}

static void
confine(const struct parent_args *a)
{
	struct sandbox *sb;

	sb = sandbox_new("reader", SB_FILES | SB_INET | SB_THREADS);
	sandbox_fd(sb, a->recvfd, SB_READ | SB_WRITE);
	publish_sandbox(sb, a->conf);
	/* The library's threads count as processes: no RLIMIT_NPROC. */
	sandbox_limits(0, 1);
	sandbox_test_hook("/etc/passwd", SB_TEST_EXECVE);
	sandbox_apply(sb);
}

void
reader_main(const struct parent_args *a)
{
	struct trail_limits lim;
	struct sigaction sa;
	uint64_t bytes, msgs;
	char err[1024];

	log_procinit("reader");
	rdr.c = &a->conf->receiver.publish;
	rdr.plen = (size_t)snprintf(rdr.subj, sizeof(rdr.subj), "%s.",
	    rdr.c->subject_prefix);
	snprintf(rdr.subj + rdr.plen, sizeof(rdr.subj) - rdr.plen, ">");
	hosts_trail_limits(a->conf, &lim);
	sandbox_become(a->uid, a->gid, a->user);
	if (rdhost_init(a->recvfd, &lim, err, sizeof(err)) == -1)
		fatalx_code(EX_CANTCREAT, "%s", err);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* The library's start reads what the sandbox then closes. */
	if (pubnats_init(rdr.c, publish_ca(), err, sizeof(err)) == -1)
		fatalx_code(EX_CONFIG, "%s", err);
	confine(a);
	log_info("from %s into %s", rdr.c->urls, a->recvdir);
	run();
	rdhost_totals(&bytes, &msgs);
	rdhost_close_all();
	if (rdr.sub != NULL)
		natsSubscription_Destroy(rdr.sub);
	log_info("stopped after %" PRIu64 " messages, %" PRIu64
	    " bytes written", msgs, bytes);
	exit(0);
}
