/*
 * A small unit-test harness.  Each test is a function; CHECK records a
 * failure and carries on, REQUIRE stops the test; the CHECK_EQ_* forms
 * print both values.  Each test runs in a child process of its own with a
 * time limit, so that a crash, a sanitizer report or a hang is that test's
 * failure (named as such) and the tests after it still run; no state
 * carries over from one test to the next.  One line per test ("ok   s.t"
 * or "FAIL s.t ..."), then "N passed, N failed" (tests/run.sh reads it).
 *
 * Time limits: TEST_T(fn, secs) for one test, else UNIT_TIMEOUT seconds
 * from the environment, else H_TIMEOUT.  UNIT_NOFORK=1 runs every test in
 * the one process, as a debugger wants it.
 */
#ifndef AUDITDIST_HARNESS_H
#define AUDITDIST_HARNESS_H

#include <sys/wait.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define H_TIMEOUT	60	/* seconds a test may take by default */
#define H_EXIT_CHECKS	99	/* a child's exit status: checks failed */

static int h_failed_checks;

#define CHECK(x) do {							\
	if (!(x)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #x);				\
		h_failed_checks++;					\
	}								\
} while (0)

#define REQUIRE(x) do {							\
	if (!(x)) {							\
		fprintf(stderr, "%s:%d: requirement failed: %s\n",	\
		    __FILE__, __LINE__, #x);				\
		h_failed_checks++;					\
		return;							\
	}								\
} while (0)

#define CHECK_STR(a, b) do {						\
	const char *h_a = (a), *h_b = (b);				\
	if (h_a == NULL || h_b == NULL || strcmp(h_a, h_b) != 0) {	\
		fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n",		\
		    __FILE__, __LINE__, h_a ? h_a : "(null)",		\
		    h_b ? h_b : "(null)");				\
		h_failed_checks++;					\
	}								\
} while (0)

#define CHECK_EQ_U64(a, b) \
	h_eq_u64(__FILE__, __LINE__, #a, #b, (uint64_t)(a), (uint64_t)(b))
#define CHECK_EQ_I64(a, b) \
	h_eq_i64(__FILE__, __LINE__, #a, #b, (int64_t)(a), (int64_t)(b))
#define CHECK_EQ_MEM(a, b, n) \
	h_eq_mem(__FILE__, __LINE__, #a, #b, (a), (b), (n))

static inline void
h_eq_u64(const char *file, int line, const char *ea, const char *eb,
    uint64_t a, uint64_t b)
{
	if (a == b)
		return;
	fprintf(stderr, "%s:%d: %s != %s: %" PRIu64 " (0x%" PRIx64 ") != %"
	    PRIu64 " (0x%" PRIx64 ")\n", file, line, ea, eb, a, a, b, b);
	h_failed_checks++;
}

static inline void
h_eq_i64(const char *file, int line, const char *ea, const char *eb,
    int64_t a, int64_t b)
{
	if (a == b)
		return;
	fprintf(stderr, "%s:%d: %s != %s: %" PRId64 " != %" PRId64 "\n",
	    file, line, ea, eb, a, b);
	h_failed_checks++;
}

/* The first difference and up to 16 bytes of each side from there. */
static inline void
h_eq_mem(const char *file, int line, const char *ea, const char *eb,
    const void *va, const void *vb, size_t n)
{
	const unsigned char *a = va, *b = vb;
	size_t at, i;

	for (at = 0; at < n && a[at] == b[at]; at++)
		;
	if (at == n)
		return;
	fprintf(stderr, "%s:%d: %s != %s (%zu bytes): first difference at "
	    "byte %zu\n  ", file, line, ea, eb, n, at);
	for (i = at; i < n && i < at + 16; i++)
		fprintf(stderr, "%02x", a[i]);
	fprintf(stderr, "\n  ");
	for (i = at; i < n && i < at + 16; i++)
		fprintf(stderr, "%02x", b[i]);
	fprintf(stderr, "\n");
	h_failed_checks++;
}

struct h_test {
	const char	*name;
	void		(*fn)(void);
	unsigned	 timeout;	/* seconds; 0: the default */
};

#define TEST(fn)		{ #fn, fn, 0 }
#define TEST_T(fn, secs)	{ #fn, fn, secs }

static volatile sig_atomic_t h_child;

/* Interrupted: take the running test and what it started along. */
static inline void
h_on_signal(int sig)
{
	if (h_child > 0)
		kill(-h_child, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static inline unsigned
h_limit(const struct h_test *t)
{
	const char *env = getenv("UNIT_TIMEOUT");
	unsigned def = H_TIMEOUT;

	if (env != NULL && atoi(env) > 0)
		def = (unsigned)atoi(env);
	return t->timeout > def ? t->timeout : def;
}

/* Why the child's status is a failure ("" for none) into why. */
static inline void
h_status(int st, char *why, size_t len)
{
	why[0] = '\0';
	if (WIFEXITED(st) && WEXITSTATUS(st) != 0 &&
	    WEXITSTATUS(st) != H_EXIT_CHECKS)
		snprintf(why, len, " (exited with status %d)",
		    WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(why, len, " (killed by SIG%s)",
		    sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) :
		    "?");
}

/*
 * Run one test in a child in a process group of its own; 1 if it passed.
 * why says how it failed, unless by its checks.
 */
static inline int
h_fork_one(const struct h_test *t, char *why, size_t len)
{
	struct timespec nap = { 0, 1000000 }, now, end;
	unsigned limit = h_limit(t);
	pid_t pid, r;
	int st;

	fflush(NULL);
	if ((pid = fork()) == -1) {
		snprintf(why, len, " (fork: %s)", strerror(errno));
		return 0;
	}
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		t->fn();
		fflush(NULL);
		exit(h_failed_checks ? H_EXIT_CHECKS : 0);
	}
	setpgid(pid, pid);
	h_child = pid;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += limit;
	while ((r = waitpid(pid, &st, WNOHANG)) == 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec &&
		    now.tv_nsec >= end.tv_nsec))
			break;
		nanosleep(&nap, NULL);
		if (nap.tv_nsec < 50000000)
			nap.tv_nsec *= 2;
	}
	if (r == 0) {
		kill(-pid, SIGKILL);
		waitpid(pid, &st, 0);
		snprintf(why, len, " (timed out after %u s)", limit);
	} else
		h_status(st, why, len);
	kill(-pid, SIGKILL);		/* whatever it left running */
	h_child = 0;
	return r == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static inline int
h_run(const char *suite, const struct h_test *tests, size_t n)
{
	const char *nofork = getenv("UNIT_NOFORK");
	int passed = 0, failed = 0, ok;
	char why[64];
	size_t i;

	signal(SIGINT, h_on_signal);
	signal(SIGTERM, h_on_signal);
	for (i = 0; i < n; i++) {
		if (nofork != NULL && strcmp(nofork, "1") == 0) {
			int before = h_failed_checks;

			tests[i].fn();
			ok = h_failed_checks == before;
			why[0] = '\0';
		} else
			ok = h_fork_one(&tests[i], why, sizeof(why));
		if (ok) {
			passed++;
			printf("ok   %s.%s\n", suite, tests[i].name);
		} else {
			failed++;
			printf("FAIL %s.%s%s\n", suite, tests[i].name, why);
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#define RUN_TESTS(suite, tests) \
	int main(void) { return h_run(suite, tests, sizeof(tests) / sizeof(tests[0])); }

#endif
