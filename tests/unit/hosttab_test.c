/*
 * hosttab: the hosts table of the auditor, the publisher, the reader and
 * the status rows.  Found by name whatever the order they came in, kept
 * in name order, each entry where hosttab_find said.
 */
#include <stddef.h>

#include "harness.h"
#include "hosttab.h"

struct ent {
	int	 tag;
	char	 name[32];	/* not first: name_off is used */
};

static struct ent *
get(struct hosttab *t, const char *name, int tag, int *made)
{
	struct ent *e;
	size_t at;

	*made = 0;
	if ((e = hosttab_find(t, name, &at)) != NULL)
		return e;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		abort();
	e->tag = tag;
	snprintf(e->name, sizeof(e->name), "%s", name);
	if (hosttab_insert(t, at, e) == -1)
		abort();
	*made = 1;
	return e;
}

static void
free_all(struct hosttab *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i]);
	hosttab_clear(t);
}

static void
t_order(void)
{
	static const char *const names[] = { "m", "b", "z", "a", "mm", "b2",
	    "host-10", "host-9", "host-1", "" };
	struct hosttab t = HOSTTAB_INIT(struct ent, name);
	struct ent *e;
	size_t i, at;
	int made;

	CHECK(hosttab_find(&t, "a", &at) == NULL && at == 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		e = get(&t, names[i], (int)i, &made);
		CHECK(made && e->tag == (int)i);
	}
	CHECK_EQ_U64(t.n, sizeof(names) / sizeof(names[0]));
	/* Each is found again, as it was made, at the place given. */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		e = get(&t, names[i], -1, &made);
		CHECK(!made && e->tag == (int)i);
		CHECK(hosttab_find(&t, names[i], &at) == e && t.v[at] == e);
	}
	for (i = 1; i < t.n; i++)
		CHECK(strcmp(((struct ent *)t.v[i - 1])->name,
		    ((struct ent *)t.v[i])->name) < 0);
	/* Not there: where it would go. */
	CHECK(hosttab_find(&t, "c", &at) == NULL);
	CHECK_STR(((struct ent *)t.v[at])->name, "host-1");
	CHECK(hosttab_find(&t, "zz", &at) == NULL && at == t.n);
	free_all(&t);
	CHECK(t.n == 0 && t.v == NULL);
	CHECK(hosttab_find(&t, "m", &at) == NULL && at == 0);
}

/* Many, in an order of their own: the table grows and stays sorted. */
static void
t_many(void)
{
	struct hosttab t = HOSTTAB_INIT(struct ent, name);
	char name[32];
	struct ent *e;
	unsigned i, k;
	size_t at;
	int made;

	for (i = 0; i < 5000; i++) {
		k = (i * 7919u) % 5000u;	/* each once */
		snprintf(name, sizeof(name), "h%u", k);
		get(&t, name, (int)k, &made);
		CHECK(made);
	}
	CHECK_EQ_U64(t.n, 5000);
	for (i = 1; i < t.n; i++)
		CHECK(strcmp(((struct ent *)t.v[i - 1])->name,
		    ((struct ent *)t.v[i])->name) < 0);
	for (k = 0; k < 5000; k++) {
		snprintf(name, sizeof(name), "h%u", k);
		REQUIRE((e = hosttab_find(&t, name, &at)) != NULL);
		CHECK(e->tag == (int)k);
	}
	free_all(&t);
}

static const struct h_test tests[] = {
	TEST(t_order),
	TEST(t_many),
};

int
main(void)
{
	return h_run("hosttab", tests, sizeof(tests) / sizeof(tests[0]));
}
