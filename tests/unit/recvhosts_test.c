/*
 * The receiver's host table: which addresses a host may connect from
 * (IPv4 through a dual-stack socket included), names looked up off the
 * loop, a reload that keeps the state of hosts that stay, and the series
 * a host is pinned to.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "auditdistd.h"
#include "harness.h"
#include "netstubs.h"
#include "log.h"



static int asked;

void
ctl_ask_writer(struct server *s, const char *host)
{
	(void)s;
	(void)host;
	asked++;
}

static struct sockaddr_storage
v4(const char *a)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	s4->sin_family = AF_INET;
	s4->sin_port = htons(40000);
	if (inet_pton(AF_INET, a, &s4->sin_addr) != 1)
		abort();
	return ss;
}

static struct sockaddr_storage
v6(const char *a)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(40000);
	if (inet_pton(AF_INET6, a, &s6->sin6_addr) != 1)
		abort();
	return ss;
}

static struct conf *
parse(const char *text)
{
	char err[512];
	struct conf *c;

	if ((c = conf_parse("test.conf", text, err, sizeof(err))) == NULL)
		fprintf(stderr, "conf_parse: %s\n", err);
	return c;
}

/* What the loop does on NET_SIG_RESOLVED, until no lookup runs (10 s). */
static int
lookups_done(struct server *srv)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	struct rhost *rh;
	int i;

	for (i = 0; i < 1000; i++) {
		hosts_resolved(srv);
		for (rh = srv->hosts; rh != NULL; rh = rh->next)
			if (rh->lookup != NULL)
				break;
		if (rh == NULL)
			return 1;
		nanosleep(&ts, NULL);
	}
	return 0;
}

static const char conf1[] =
	"receiver {\n"
	"	directory \"/tmp/recvhosts_test.d\"\n"
	"	certfile \"/nonexistent/c.pem\"\n"
	"	keyfile \"/nonexistent/k.pem\"\n"
	"	trail_size 1M\n"
	"	host a {\n"
	"		remote \"tls://127.0.0.1\"\n"
	"		password \"pa\"\n"
	"	}\n"
	"	host b {\n"
	"		remote \"tls://[::1]:7878\"\n"
	"		password \"pb\"\n"
	"	}\n"
	"	host c {\n"
	"		password \"pc\"\n"
	"	}\n"
	"	host d {\n"
	"		remote \"tls://0.0.0.0\"\n"
	"		password \"pd\"\n"
	"	}\n"
	"	host e {\n"
	"		remote \"tls://localhost\"\n"
	"		password \"pe\"\n"
	"	}\n"
	"}\n";

static const char conf2[] =
	"receiver {\n"
	"	directory \"/tmp/recvhosts_test.d\"\n"
	"	certfile \"/nonexistent/c.pem\"\n"
	"	keyfile \"/nonexistent/k.pem\"\n"
	"	trail_size 2M\n"
	"	host a {\n"
	"		remote \"tls://127.0.0.2\"\n"
	"		password \"new\"\n"
	"	}\n"
	"	host f {\n"
	"		password \"pf\"\n"
	"	}\n"
	"}\n";

static void
test_addresses(void)
{
	struct server srv;
	struct conf *c;
	struct rhost *a, *b, *cc, *d, *e;
	struct sockaddr_storage lo4 = v4("127.0.0.1"), other = v4("10.1.2.3");
	struct sockaddr_storage mapped = v6("::ffff:127.0.0.1");
	struct sockaddr_storage lo6 = v6("::1");
	char err[256];

	memset(&srv, 0, sizeof(srv));
	REQUIRE((c = parse(conf1)) != NULL);
	srv.conf = c;
	REQUIRE(hosts_load(&srv, c, err, sizeof(err)) == 0);
	REQUIRE((a = hosts_find(&srv, "a")) != NULL);
	REQUIRE((b = hosts_find(&srv, "b")) != NULL);
	REQUIRE((cc = hosts_find(&srv, "c")) != NULL);
	REQUIRE((d = hosts_find(&srv, "d")) != NULL);
	REQUIRE((e = hosts_find(&srv, "e")) != NULL);
	CHECK(hosts_find(&srv, "z") == NULL);
	/* Addresses need no lookup; a name's ends later, off the loop. */
	CHECK(a->lookup == NULL && b->lookup == NULL && d->lookup == NULL);
	CHECK(e->lookup != NULL);
	REQUIRE(lookups_done(&srv));
	CHECK(rhost_addr_ok(a, &lo4));
	CHECK(rhost_addr_ok(a, &mapped));	/* IPv4 on a [::] socket */
	CHECK(!rhost_addr_ok(a, &other));
	CHECK(!rhost_addr_ok(a, &lo6));
	CHECK(rhost_addr_ok(b, &lo6));		/* the port does not matter */
	CHECK(!rhost_addr_ok(b, &lo4));
	CHECK(rhost_addr_ok(cc, &other));	/* no remote: anywhere */
	CHECK(rhost_addr_ok(d, &other));	/* a wildcard: anywhere */
	CHECK(rhost_addr_ok(e, &lo4) || rhost_addr_ok(e, &lo6));
	CHECK(!rhost_addr_ok(e, &other));
	hosts_free(&srv);
	conf_free(c);
}

static void
test_reload_keeps_state(void)
{
	struct server srv;
	struct conf *c1, *c2;
	struct rhost *a, *a2;
	struct sockaddr_storage lo4 = v4("127.0.0.1"), lo42 = v4("127.0.0.2");
	char err[256];

	memset(&srv, 0, sizeof(srv));
	REQUIRE((c1 = parse(conf1)) != NULL && (c2 = parse(conf2)) != NULL);
	srv.conf = c1;
	REQUIRE(hosts_load(&srv, c1, err, sizeof(err)) == 0);
	a = hosts_find(&srv, "a");
	REQUIRE(a != NULL);
	/* No writer yet: opening the trail asks the parent for one, once. */
	rhost_open(&srv, a);
	rhost_open(&srv, a);
	CHECK(asked == 1);
	CHECK(a->w_asked);

	srv.conf = c2;
	REQUIRE(hosts_load(&srv, c2, err, sizeof(err)) == 0);
	conf_free(c1);
	a2 = hosts_find(&srv, "a");
	CHECK(a2 == a);				/* the same state */
	CHECK(a2->w_asked);			/* the request stands */
	CHECK_STR(a2->ch->password, "new");
	CHECK(!rhost_addr_ok(a2, &lo4));
	CHECK(rhost_addr_ok(a2, &lo42));
	CHECK(hosts_find(&srv, "b") == NULL);
	CHECK(hosts_find(&srv, "f") != NULL);
	hosts_free(&srv);
	conf_free(c2);
}

/*
 * A lookup that has not ended: the first time the host is refused ("still
 * being looked up", logged once); on a reload it keeps its addresses.
 */
static void
test_lookup_pending(void)
{
	struct server srv;
	struct conf *c;
	struct rhost *e;
	struct sockaddr_storage lo4 = v4("127.0.0.1"), lo6 = v6("::1");
	const char *why;
	char err[256];
	int quiet;

	memset(&srv, 0, sizeof(srv));
	REQUIRE((c = parse(conf1)) != NULL);
	srv.conf = c;
	REQUIRE(hosts_load(&srv, c, err, sizeof(err)) == 0);
	REQUIRE((e = hosts_find(&srv, "e")) != NULL);
	REQUIRE(e->lookup != NULL);
	why = rhost_addr_problem(e, &lo4, &quiet);
	CHECK(why != NULL && strstr(why, "still being looked up") != NULL);
	CHECK(!quiet);
	why = rhost_addr_problem(e, &lo4, &quiet);
	CHECK(why != NULL && quiet);
	REQUIRE(lookups_done(&srv));
	CHECK(rhost_addr_problem(e, &lo4, &quiet) == NULL ||
	    rhost_addr_problem(e, &lo6, &quiet) == NULL);
	/* A reload looks the name up again; the old addresses serve. */
	REQUIRE(hosts_load(&srv, c, err, sizeof(err)) == 0);
	CHECK(hosts_find(&srv, "e") == e);
	CHECK(e->lookup != NULL);
	CHECK(rhost_addr_ok(e, &lo4) || rhost_addr_ok(e, &lo6));
	/* Dropped while its lookup runs: the lookup is let go of. */
	hosts_free(&srv);
	REQUIRE(lookups_done(&srv));
	conf_free(c);
}

static const char conf_series[] =
	"receiver {\n"
	"	directory \"/tmp/recvhosts_test.d\"\n"
	"	certfile \"/nonexistent/c.pem\"\n"
	"	keyfile \"/nonexistent/k.pem\"\n"
	"	series_hold 60\n"
	"	host h {\n"
	"		password \"ph\"\n"
	"	}\n"
	"	host z {\n"
	"		password \"pz\"\n"
	"		series_hold 0\n"
	"	}\n"
	"}\n";

static void
login(struct conn *c, uint8_t id, const char *addr)
{
	memset(c, 0, sizeof(*c));
	memset(c->spool_id, id, sizeof(c->spool_id));
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	c->state = C_OPENING;
}

/* One host name, two spools: the pinned series holds it for series_hold. */
static void
test_series(void)
{
	struct server srv;
	struct conf *c;
	struct rhost *h, *z;
	struct conn a, b, a2;
	uint8_t stored_a[WIRE_ID_LEN], none[WIRE_ID_LEN];
	const char *why;
	char err[256];

	memset(stored_a, 0xaa, sizeof(stored_a));
	memset(none, 0, sizeof(none));
	memset(&srv, 0, sizeof(srv));
	REQUIRE((c = parse(conf_series)) != NULL);
	srv.conf = c;
	now = 5000000;
	REQUIRE(hosts_load(&srv, c, err, sizeof(err)) == 0);
	REQUIRE((h = hosts_find(&srv, "h")) != NULL);
	REQUIRE((z = hosts_find(&srv, "z")) != NULL);
	login(&a, 0xaa, "10.0.0.1:1111");
	login(&b, 0xbb, "10.0.0.2:2222");
	login(&a2, 0xaa, "10.0.0.3:3333");

	/* Nothing known yet: AUTH lets b through, the trail decides. */
	CHECK(rhost_series_problem(h, &b, NULL) == NULL);
	CHECK(rhost_series_problem(h, &b, none) == NULL);
	/* The trail holds a's series and the receiver just started. */
	now += 10000;
	why = rhost_series_problem(h, &b, stored_a);
	REQUIRE(why != NULL);
	CHECK(strstr(why, "host h ") != NULL);
	CHECK(strstr(why, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") != NULL);
	CHECK(strstr(why, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb") != NULL);
	CHECK(strstr(why, "10.0.0.2:2222") != NULL);
	CHECK(strstr(why, "since the receiver started 10 s ago") != NULL);
	CHECK(strstr(why, "for 50 s more") != NULL);
	CHECK(strstr(why, "series_hold") != NULL);
	/* a takes the host; while it is live, b is refused at once. */
	CHECK(rhost_series_problem(h, &a, stored_a) == NULL);
	h->conn = &a;
	rhost_series_take(h, &a, stored_a);
	a.state = C_READY;
	now += 3600 * 1000;
	why = rhost_series_problem(h, &b, NULL);
	REQUIRE(why != NULL);
	CHECK(strstr(why, "from 10.0.0.1:1111 (live)") != NULL);
	CHECK(strstr(why, "10.0.0.2:2222") != NULL);
	/* The same spool from elsewhere replaces a (a half-open one). */
	CHECK(rhost_series_problem(h, &a2, NULL) == NULL);
	/* a leaves: b waits series_hold from then, not from the start. */
	rhost_series_left(h, &a);
	h->conn = NULL;
	now += 59000;
	why = rhost_series_problem(h, &b, stored_a);
	REQUIRE(why != NULL);
	CHECK(strstr(why, "last seen from 10.0.0.1:1111 59 s ago") != NULL);
	CHECK(strstr(why, "for 1 s more") != NULL);
	CHECK(rhost_series_problem(h, &b, NULL) != NULL);
	/* After that b is a new series, and a waits in its turn. */
	now += 1000;
	CHECK(rhost_series_problem(h, &b, stored_a) == NULL);
	h->conn = &b;
	rhost_series_take(h, &b, stored_a);
	CHECK(h->series[0] == 0xbb);
	h->conn = NULL;
	b.state = C_READY;
	rhost_series_left(h, &b);
	now += 1000;
	/* The trail still says a (b sent nothing): the pin says b. */
	CHECK(rhost_series_problem(h, &a, stored_a) != NULL);

	/* series_hold 0: only a live connection holds the host. */
	z->conn = &a;
	rhost_series_take(z, &a, none);
	CHECK(rhost_series_problem(z, &b, NULL) != NULL);
	a.state = C_READY;
	rhost_series_left(z, &a);
	z->conn = NULL;
	CHECK(rhost_series_problem(z, &b, stored_a) == NULL);
	hosts_free(&srv);
	conf_free(c);
}

static const struct h_test tests[] = {
	TEST(test_addresses),
	TEST(test_reload_keeps_state),
	TEST(test_lookup_pending),
	TEST(test_series),
};

int
main(void)
{
	sigset_t mask;

	/* The loop takes it through a signalfd; here it is polled for. */
	sigemptyset(&mask);
	sigaddset(&mask, NET_SIG_RESOLVED);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	log_init("recvhosts_test", 1, 0);
	umask(022);
	return h_run("recvhosts", tests, sizeof(tests) / sizeof(tests[0]));
}
