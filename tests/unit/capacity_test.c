/*
 * capacity.c: the connections a receiver allows, and the descriptor and
 * process limits it refuses, for a number of configured hosts.  Each test
 * sets this process's limits, as the receiver's start finds them.
 */
#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "auditdistd.h"
#include "log.h"

static char err[512];

/* A receiver with n hosts (and max_connections m when m > 0). */
static struct conf *
fleet(unsigned n, unsigned m)
{
	size_t cap = 48 * (size_t)n + 256, len;
	struct conf *c;
	char *text;
	unsigned i;

	if ((text = malloc(cap)) == NULL)
		return NULL;
	len = (size_t)snprintf(text, cap, "receiver {\n certfile /r.pem\n"
	    " keyfile /r.key\n");
	if (m > 0)
		len += (size_t)snprintf(text + len, cap - len,
		    " max_connections %u\n", m);
	for (i = 1; i <= n; i++)
		len += (size_t)snprintf(text + len, cap - len,
		    " host h%u {\n  password p\n }\n", i);
	snprintf(text + len, cap - len, "}\n");
	if ((c = conf_parse("t.conf", text, err, sizeof(err))) == NULL)
		fprintf(stderr, "conf_parse: %s\n", err);
	free(text);
	return c;
}

static int
set_nofile(rlim_t n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_max < n)
		return -1;
	rl.rlim_cur = n;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

/* Unset max_connections: 12,000, or what the descriptors leave. */
static void
test_default(void)
{
	struct conf *c;

	REQUIRE((c = fleet(5, 0)) != NULL);
	REQUIRE(set_nofile(1000) == 0);
	/* 1000 - 96 spare - 1 listener - 5 writer channels */
	CHECK(capacity_plan(c, 1, err, sizeof(err)) == 898);
	conf_free(c);
	REQUIRE((c = fleet(2000, 0)) != NULL);
	CHECK(capacity_plan(c, 1, err, sizeof(err)) == 0);
	/* 96 + 1 + 2 x 32 + 16 writers + 2000 + 256 pending */
	CHECK(strstr(err, "2000 hosts need 2433 descriptors (80 writers' "
	    "channels), the limit is 1000: raise LimitNOFILE=") != NULL);
	if (set_nofile(2433) == 0) {
		CHECK(capacity_plan(c, 1, err, sizeof(err)) == 2433 - 177);
		CHECK(set_nofile(2432) == 0);
		CHECK(capacity_plan(c, 1, err, sizeof(err)) == 0);
	}
	if (set_nofile(DEF_MAX_CONNS + 4000) == 0)
		CHECK(capacity_plan(c, 1, err, sizeof(err)) == DEF_MAX_CONNS);
	conf_free(c);
}

/* An explicit max_connections must fit, and is what is allowed. */
static void
test_explicit(void)
{
	struct conf *c;

	REQUIRE((c = fleet(10, 500)) != NULL);
	REQUIRE(set_nofile(1000) == 0);
	CHECK(capacity_plan(c, 2, err, sizeof(err)) == 500);
	conf_free(c);
	REQUIRE((c = fleet(10, 5000)) != NULL);
	CHECK(capacity_plan(c, 2, err, sizeof(err)) == 0);
	CHECK(strstr(err, "10 hosts and max_connections need 5108 "
	    "descriptors (10 writers' channels), the limit is 1000") != NULL);
	CHECK(strstr(err, "or lower max_connections") != NULL);
	conf_free(c);
}

/*
 * RLIMIT_NPROC below the writers is refused: 100 hosts in writers of 64
 * count 2 x 2 + 16; with writer_hosts 1, one each.
 */
static void
test_processes(void)
{
	struct rlimit rl, old;
	struct conf *c;

	REQUIRE((c = fleet(100, 0)) != NULL);
	REQUIRE(set_nofile(1000) == 0);
	REQUIRE(getrlimit(RLIMIT_NPROC, &old) == 0);
	rl = old;
	rl.rlim_cur = 51;		/* 20 + 32 needed */
	REQUIRE(setrlimit(RLIMIT_NPROC, &rl) == 0);
	CHECK(capacity_plan(c, 1, err, sizeof(err)) == 0);
	CHECK(strstr(err, "100 hosts need 52 processes (20 writers), "
	    "the limit is 51: raise LimitNPROC=") != NULL);
	rl.rlim_cur = 52;
	REQUIRE(setrlimit(RLIMIT_NPROC, &rl) == 0);
	CHECK(capacity_plan(c, 1, err, sizeof(err)) != 0);
	conf_free(c);
	REQUIRE((c = fleet(100, 0)) != NULL);
	c->receiver.writer_hosts = 1;
	rl.rlim_cur = 131;		/* 100 + 32 needed */
	REQUIRE(setrlimit(RLIMIT_NPROC, &rl) == 0);
	CHECK(capacity_plan(c, 1, err, sizeof(err)) == 0);
	CHECK(strstr(err, "100 hosts need 132 processes (100 writers)") !=
	    NULL);
	CHECK(setrlimit(RLIMIT_NPROC, &old) == 0);
	conf_free(c);
}

static const struct h_test tests[] = {
	TEST(test_default),
	TEST(test_explicit),
	TEST(test_processes),
};

int
main(void)
{
	log_init("capacity_test", 1, 0);
	return h_run("capacity", tests, sizeof(tests) / sizeof(tests[0]));
}
