/*
 * A small unit-test harness.  Each test is a function; CHECK records a
 * failure and carries on, REQUIRE stops the test.  The last line printed is
 * "N passed, N failed" (one count per test function).
 */
#ifndef AUDITDIST_HARNESS_H
#define AUDITDIST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

struct h_test {
	const char	*name;
	void		(*fn)(void);
};

#define TEST(fn) { #fn, fn }

static inline int
h_run(const char *suite, const struct h_test *tests, size_t n)
{
	int passed = 0, failed = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		int before = h_failed_checks;

		tests[i].fn();
		if (h_failed_checks == before) {
			passed++;
			printf("ok   %s.%s\n", suite, tests[i].name);
		} else {
			failed++;
			printf("FAIL %s.%s\n", suite, tests[i].name);
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#define RUN_TESTS(suite, tests) \
	int main(void) { return h_run(suite, tests, sizeof(tests) / sizeof(tests[0])); }

#endif
