/*
 * The receiver's storage: recovery of torn tails and index lines, the
 * resume point, rotation and its names, rebuild after a crash, retention,
 * which DATA is accepted, modes, and that ausearch reads what we build.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "auditdistd.h"
#include "harness.h"
#include "log.h"

static char base[64];		/* the receiver directory */
static char hdir[128];		/* base/host */
static int basefd = -1;
static const uint8_t id1[WIRE_ID_LEN] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
static const uint8_t id2[WIRE_ID_LEN] = { 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2 };
static struct trail_limits lim;

static void
setup(void)
{
	snprintf(base, sizeof(base), "/tmp/trail_test.XXXXXX");
	if (mkdtemp(base) == NULL)
		abort();
	if (chmod(base, 0750) == -1)
		abort();
	if ((basefd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		abort();
	snprintf(hdir, sizeof(hdir), "%s/web1", base);
	memset(&lim, 0, sizeof(lim));
}

static void
teardown(void)
{
	char cmd[128];

	close(basefd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		abort();
}

static struct trail *
topen(void)
{
	char err[512];
	struct trail *t;
	int fd;

	if ((fd = store_open_dir(basefd, base, hdir, err, sizeof(err))) == -1) {
		fprintf(stderr, "store_open_dir: %s\n", err);
		return NULL;
	}
	if ((t = trail_open(fd, "web1", &lim, err, sizeof(err))) == NULL)
		fprintf(stderr, "trail_open: %s\n", err);
	return t;
}

static char *
slurp(const char *rel)
{
	static char buf[1 << 20];
	char p[512];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", hdir, rel);
	if ((fd = open(p, O_RDONLY)) == -1)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static int
exists(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", hdir, rel);
	return access(p, F_OK) == 0;
}

static unsigned
mode_of(const char *rel)
{
	struct stat st;
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", hdir, rel);
	if (stat(p, &st) == -1)
		return 0;
	return st.st_mode & 07777;
}

static void
append_raw(const char *rel, const char *s)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", hdir, rel);
	if ((fd = open(p, O_WRONLY | O_APPEND)) == -1)
		abort();
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		abort();
	close(fd);
}

static int
app(struct trail *t, const uint8_t *id, uint64_t seq, uint64_t off,
    const char *s)
{
	return trail_append(t, id, seq, off, s, strlen(s));
}

static int
pos_is(const struct trail_pos *p, const uint8_t *id, uint64_t seq,
    uint64_t size, int complete)
{
	if (memcmp(p->id, id, WIRE_ID_LEN) != 0 || p->seq != seq ||
	    p->size != size || p->complete != complete) {
		char b[128];

		trail_pos_str(p, b, sizeof(b));
		fprintf(stderr, "  position is %s\n", b);
		return 0;
	}
	return 1;
}

static void
test_first_data_and_reopen(void)
{
	static const uint8_t zero[WIRE_ID_LEN];
	struct trail *t;

	setup();
	t = topen();
	REQUIRE(t != NULL);
	CHECK_EQ_U64(t->nfiles, 0);
	CHECK(pos_is(&t->pos, zero, 0, 0, 0));
	CHECK(!exists("audit.log"));
	CHECK(mode_of("") == 0750);
	CHECK(mode_of(".store") == 0750);
	CHECK(app(t, id1, 1, 0, "a=1\n") == 0);
	CHECK(trail_pending(t));
	CHECK(pos_is(&t->dpos, zero, 0, 0, 0));	/* not durable yet */
	CHECK(trail_sync(t) == 0);
	CHECK(!trail_pending(t));
	CHECK(pos_is(&t->dpos, id1, 1, 4, 0));
	CHECK_STR(slurp("audit.log"), "a=1\n");
	CHECK(mode_of("audit.log") == 0640);
	CHECK_STR(slurp(".store/0000000000000001.idx"),
	    "S 01010101010101010101010101010101 0000000000000001 0\n");
	trail_free(t);

	t = topen();
	REQUIRE(t != NULL);
	CHECK(pos_is(&t->pos, id1, 1, 4, 0));
	CHECK(t->cut_bytes == 0 && t->cut_idx_bytes == 0);
	CHECK(app(t, id1, 1, 4, "b=2\n") == 0);
	CHECK(trail_sync(t) == 0);
	CHECK_STR(slurp("audit.log"), "a=1\nb=2\n");
	trail_free(t);
	teardown();
}

/* A group commit: syncfs, then trail_synced does trail_sync's bookkeeping. */
static void
test_synced_by_syncfs(void)
{
	static const uint8_t zero[WIRE_ID_LEN];
	struct trail *t;

	setup();
	t = topen();
	REQUIRE(t != NULL);
	trail_synced(t);			/* nothing pending: nothing */
	CHECK(pos_is(&t->dpos, zero, 0, 0, 0));
	CHECK(app(t, id1, 1, 0, "a=1\n") == 0);
	CHECK(trail_pending(t));
	CHECK(syncfs(t->fd) == 0);
	trail_synced(t);
	CHECK(!trail_pending(t));
	CHECK(pos_is(&t->dpos, id1, 1, 4, 0));
	CHECK(t->dfsize == 4);
	/* What follows is cut back to there if its own sync fails. */
	CHECK(app(t, id1, 1, 4, "b=2\n") == 0);
	CHECK(trail_sync(t) == 0);
	CHECK(pos_is(&t->dpos, id1, 1, 8, 0) && t->dfsize == 8);
	trail_free(t);
	teardown();
}

static void
test_acceptance(void)
{
	struct trail *t;
	char why[256];

	setup();
	t = topen();
	REQUIRE(t != NULL);
	/* A new series must start at offset 0 (any seq). */
	CHECK(app(t, id1, 5, 3, "x\n") == -1 && errno == EINVAL);
	CHECK(trail_check(t, id1, 5, 0) == TRAIL_NEWSERIES);
	CHECK(app(t, id1, 5, 0, "a\n") == 0);
	CHECK(!t->failed);
	/* The same segment: only exactly at its end. */
	CHECK(trail_check(t, id1, 5, 2) == TRAIL_CONTINUE);
	CHECK(app(t, id1, 5, 0, "a\n") == -1 && errno == EINVAL);
	CHECK(app(t, id1, 5, 1, "a\n") == -1 && errno == EINVAL);
	CHECK(app(t, id1, 5, 3, "a\n") == -1 && errno == EINVAL);
	trail_expected(t, id1, 5, 3, "offset", why, sizeof(why));
	CHECK_STR(why, "expected seq 5 offset 2, got seq 5 offset 3");
	/* Older segments, or a later one not at 0. */
	CHECK(app(t, id1, 4, 0, "a\n") == -1 && errno == EINVAL);
	CHECK(app(t, id1, 6, 2, "a\n") == -1 && errno == EINVAL);
	/* Whole lines only. */
	CHECK(app(t, id1, 5, 2, "no newline") == -1 && errno == EINVAL);
	CHECK(trail_append(t, id1, 5, 2, "", 0) == -1 && errno == EINVAL);
	CHECK(app(t, id1, 5, 2, "b\n") == 0);
	/* A jump forward (the sender lost segments) is accepted. */
	CHECK(trail_check(t, id1, 9, 0) == TRAIL_NEWSEG);
	CHECK(app(t, id1, 9, 0, "c\n") == 0);
	CHECK(pos_is(&t->pos, id1, 9, 2, 0));
	/* SEGEND must be exactly the position; twice is harmless. */
	CHECK(trail_segend(t, id1, 9, 1) == -1 && errno == EINVAL);
	CHECK(trail_segend(t, id1, 8, 2) == -1 && errno == EINVAL);
	CHECK(trail_segend(t, id1, 9, 2) == 0);
	CHECK(trail_segend(t, id1, 9, 2) == 0);
	CHECK(pos_is(&t->pos, id1, 9, 2, 1));
	/* Nothing more for a complete segment. */
	CHECK(app(t, id1, 9, 2, "d\n") == -1 && errno == EINVAL);
	trail_expected(t, id1, 9, 2, "offset", why, sizeof(why));
	CHECK(strstr(why, "expected a seq after 9") != NULL);
	CHECK(app(t, id1, 10, 0, "e\n") == 0);
	/* Another spool: a new series, in a new trail file. */
	CHECK(app(t, id2, 3, 7, "f\n") == -1 && errno == EINVAL);
	trail_expected(t, id2, 3, 7, "offset", why, sizeof(why));
	CHECK(strstr(why, "new series") != NULL);
	CHECK(app(t, id2, 3, 0, "f\n") == 0);
	CHECK_EQ_U64(t->nfiles, 2);
	/* An empty segment ends where it starts. */
	CHECK(trail_segend(t, id2, 4, 0) == 0);
	CHECK(pos_is(&t->pos, id2, 4, 0, 1));
	CHECK(!t->failed);
	CHECK(trail_sync(t) == 0);
	CHECK_STR(slurp("audit.log"), "f\n");
	CHECK_STR(slurp("audit.log.1"), "a\nb\nc\ne\n");
	CHECK(!exists("audit.log.2"));
	trail_free(t);

	t = topen();
	REQUIRE(t != NULL);
	CHECK(pos_is(&t->pos, id2, 4, 0, 1));
	CHECK_EQ_U64(t->nfiles, 2);
	trail_free(t);
	teardown();
}

/* A crash leaves a partial record: it is cut, the position is kept. */
static void
test_torn_tail(void)
{
	struct trail *t;

	setup();
	t = topen();
	REQUIRE(t != NULL);
	CHECK(app(t, id1, 1, 0, "type=A msg=audit(1.0:1): x\n") == 0);
	CHECK(trail_sync(t) == 0);
	trail_free(t);
	append_raw(".store/0000000000000001", "type=B msg=audit(1.0:2): tor");

	t = topen();
	REQUIRE(t != NULL);
	CHECK_EQ_U64(t->cut_bytes, 28);
	CHECK(pos_is(&t->pos, id1, 1, 27, 0));
	CHECK_STR(slurp("audit.log"), "type=A msg=audit(1.0:1): x\n");
	CHECK(app(t, id1, 1, 27, "type=C\n") == 0);
	CHECK(trail_sync(t) == 0);
	CHECK_STR(slurp("audit.log"), "type=A msg=audit(1.0:1): x\ntype=C\n");
	trail_free(t);
	teardown();
}

/* Index lines that are torn or point past the data were never acked. */
static void
test_torn_index(void)
{
	struct trail *t;

	setup();
	t = topen();
	REQUIRE(t != NULL);
	CHECK(app(t, id1, 1, 0, "a\nb\n") == 0);
	CHECK(trail_segend(t, id1, 1, 4) == 0);
	CHECK(app(t, id1, 2, 0, "c\n") == 0);
	CHECK(trail_sync(t) == 0);
	trail_free(t);

	/* A torn line: cut. */
	append_raw(".store/0000000000000001.idx", "E 00000000000000");
	t = topen();
	REQUIRE(t != NULL);
	CHECK_EQ_U64(t->cut_idx_bytes, 16);
	CHECK(pos_is(&t->pos, id1, 2, 2, 0));
	trail_free(t);

	/* An S line durable before its data (crash): its segment is empty. */
	append_raw(".store/0000000000000001.idx",
	    "S 01010101010101010101010101010101 0000000000000003 6\n");
	t = topen();
	REQUIRE(t != NULL);
	CHECK_EQ_U64(t->cut_idx_bytes, 0);
	CHECK(pos_is(&t->pos, id1, 3, 0, 0));
	trail_free(t);

	/* One past the end of the data, and what follows it, go. */
	append_raw(".store/0000000000000001.idx",
	    "S 01010101010101010101010101010101 0000000000000004 7\n"
	    "E 0000000000000004 1\n");
	t = topen();
	REQUIRE(t != NULL);
	CHECK_EQ_U64(t->cut_idx_bytes, 75);
	CHECK(pos_is(&t->pos, id1, 3, 0, 0));
	CHECK(app(t, id1, 3, 0, "d\n") == 0);
	CHECK(trail_sync(t) == 0);
	trail_free(t);

	/* An E line whose data did not make it: not complete. */
	append_raw(".store/0000000000000001.idx", "E 0000000000000003 9\n");
	t = topen();
	REQUIRE(t != NULL);
	CHECK_EQ_U64(t->cut_idx_bytes, 21);
	CHECK(pos_is(&t->pos, id1, 3, 2, 0));
	trail_free(t);

	/* Garbage in the index. */
	append_raw(".store/0000000000000001.idx", "X\n");
	t = topen();
	REQUIRE(t != NULL);
	CHECK_EQ_U64(t->cut_idx_bytes, 2);
	CHECK(pos_is(&t->pos, id1, 3, 2, 0));
	trail_free(t);
	CHECK_STR(slurp(".store/0000000000000001.idx"),
	    "S 01010101010101010101010101010101 0000000000000001 0\n"
	    "E 0000000000000001 4\n"
	    "S 01010101010101010101010101010101 0000000000000002 4\n"
	    "S 01010101010101010101010101010101 0000000000000003 6\n");
	teardown();
}

/* The resume point: the last segment, its size, and whether it ended. */
static void
test_resume_point(void)
{
	struct trail *t;

	setup();
	t = topen();
	REQUIRE(t != NULL);
	CHECK(app(t, id1, 7, 0, "a\n") == 0);
	CHECK(app(t, id1, 7, 2, "bb\n") == 0);
	CHECK(trail_segend(t, id1, 7, 5) == 0);
	CHECK(trail_sync(t) == 0);
	trail_free(t);
	t = topen();
	REQUIRE(t != NULL);
	CHECK(pos_is(&t->pos, id1, 7, 5, 1));
	CHECK(pos_is(&t->dpos, id1, 7, 5, 1));
	CHECK(app(t, id1, 8, 0, "c\n") == 0);
	CHECK(trail_sync(t) == 0);
	trail_free(t);
	t = topen();
	REQUIRE(t != NULL);
	CHECK(pos_is(&t->pos, id1, 8, 2, 0));
	trail_free(t);
	/* Data after a complete segment without an S line is nobody's. */
	append_raw(".store/0000000000000001.idx", "E 0000000000000008 2\n");
	append_raw(".store/0000000000000001", "stray\n");
	t = topen();
	REQUIRE(t != NULL);
	CHECK(pos_is(&t->pos, id1, 8, 2, 1));
	CHECK_EQ_U64(t->cut_bytes, 6);
	CHECK_STR(slurp("audit.log"), "a\nbb\nc\n");
	trail_free(t);
	teardown();
}

static void
check_names(unsigned n, const char *const *contents)
{
	char name[32];
	unsigned k;

	for (k = 0; k < n; k++) {
		if (k == 0)
			snprintf(name, sizeof(name), "audit.log");
		else
			snprintf(name, sizeof(name), "audit.log.%u", k);
		CHECK_STR(slurp(name), contents[k]);
		CHECK(mode_of(name) == (k == 0 ? 0640 : 0440));
	}
	snprintf(name, sizeof(name), "audit.log.%u", n);
	CHECK(!exists(name));
}

/* Each trail file is 12 bytes: every new segment starts a new file. */
static void
fill(struct trail *t, uint64_t from, uint64_t to)
{
	char rec[16];
	uint64_t s;

	for (s = from; s <= to; s++) {
		snprintf(rec, sizeof(rec), "seg=%06" PRIu64 "\n", s);
		CHECK(app(t, id1, s, 0, rec) == 0);
		CHECK(trail_sync(t) == 0);
	}
}

static void
test_rotation_names(void)
{
	static const char *const want[] = { "seg=000005\n", "seg=000004\n",
	    "seg=000003\n", "seg=000002\n", "seg=000001\n" };
	struct trail *t;

	setup();
	lim.size = 10;
	t = topen();
	REQUIRE(t != NULL);
	fill(t, 1, 5);
	CHECK_EQ_U64(t->nfiles, 5);
	check_names(5, want);
	CHECK(mode_of(".store/0000000000000001") == 0440);
	CHECK(mode_of(".store/0000000000000001.idx") == 0440);
	CHECK(mode_of(".store/0000000000000005") == 0640);
	/* Below trail_size a segment stays in the current file. */
	trail_free(t);
	lim.size = 100;
	t = topen();
	REQUIRE(t != NULL);
	CHECK(app(t, id1, 6, 0, "seg=000006\n") == 0);
	CHECK_EQ_U64(t->nfiles, 5);
	CHECK(trail_sync(t) == 0);
	CHECK_STR(slurp("audit.log"), "seg=000005\nseg=000006\n");
	trail_free(t);
	teardown();
}

static void
link_name(const char *store, const char *name)
{
	char a[512], b[512];

	snprintf(a, sizeof(a), "%s/.store/%s", hdir, store);
	snprintf(b, sizeof(b), "%s/%s", hdir, name);
	unlink(b);
	if (link(a, b) == -1)
		abort();
}

/* A crash in the middle of a shift: names duplicated, a new empty file. */
static void
test_rebuild_after_crash(void)
{
	static const char *const want[] = { "seg=000003\n", "seg=000002\n",
	    "seg=000001\n" };
	struct trail *t;
	char p[512];
	int fd;

	setup();
	lim.size = 10;
	t = topen();
	REQUIRE(t != NULL);
	fill(t, 1, 3);
	trail_free(t);
	/* store_new_file created 4, then the shift got to audit.log.2. */
	snprintf(p, sizeof(p), "%s/.store/0000000000000004", hdir);
	REQUIRE((fd = open(p, O_CREAT | O_WRONLY, 0640)) != -1);
	close(fd);
	link_name("0000000000000001", "audit.log.3");
	link_name("0000000000000002", "audit.log.2");
	link_name("0000000000000001", ".audit.log.tmp");
	t = topen();
	REQUIRE(t != NULL);
	CHECK_EQ_U64(t->nfiles, 3);
	CHECK(pos_is(&t->pos, id1, 3, 11, 0));
	check_names(3, want);
	CHECK(!exists(".store/0000000000000004"));
	CHECK(!exists(".audit.log.tmp"));
	trail_free(t);

	/* Every name lost, and one of them pointing at the wrong file. */
	snprintf(p, sizeof(p), "%s/audit.log", hdir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/audit.log.2", hdir);
	unlink(p);
	link_name("0000000000000003", "audit.log.1");
	t = topen();
	REQUIRE(t != NULL);
	check_names(3, want);
	trail_free(t);

	/* The newest file was rotated away, then the newer one was lost. */
	snprintf(p, sizeof(p), "%s/.store/0000000000000003", hdir);
	chmod(p, 0440);
	t = topen();
	REQUIRE(t != NULL);
	CHECK(mode_of("audit.log") == 0640);
	trail_free(t);
	teardown();
}

static void
test_retention(void)
{
	static const char *const want[] = { "seg=000006\n", "seg=000005\n" };
	static const char *const want3[] = { "seg=000009\n", "seg=000008\n",
	    "seg=000007\n" };
	struct trail *t;

	setup();
	lim.size = 10;
	lim.keep = 2;
	t = topen();
	REQUIRE(t != NULL);
	fill(t, 1, 6);
	CHECK_EQ_U64(t->nfiles, 2);
	check_names(2, want);
	CHECK(!exists(".store/0000000000000004"));
	CHECK(!exists(".store/0000000000000004.idx"));
	CHECK(exists(".store/0000000000000005"));
	trail_free(t);
	/*
	 * By size, at every sync, indexes included: 3 files of 11 bytes,
	 * each with a 54-byte index line, fit in 200; 4 do not.
	 */
	lim.keep = 0;
	lim.max_size = 200;
	t = topen();
	REQUIRE(t != NULL);
	fill(t, 7, 9);
	CHECK_EQ_U64(t->nfiles, 3);
	check_names(3, want3);
	trail_free(t);
	/* A tighter limit applies at start-up. */
	lim.max_size = 0;
	lim.keep = 1;
	t = topen();
	REQUIRE(t != NULL);
	CHECK_EQ_U64(t->nfiles, 1);
	check_names(1, want3);
	trail_free(t);
	teardown();
}

static void
test_refusals(void)
{
	struct trail *t, *t2;
	char err[512], p[512];
	int fd;

	setup();
	t = topen();
	REQUIRE(t != NULL);
	/* One writer per host directory. */
	t2 = topen();
	CHECK(t2 == NULL);
	CHECK(app(t, id1, 1, 0, "a\n") == 0);
	CHECK(trail_sync(t) == 0);
	trail_free(t);
	/* A file ausearch would read but that is not ours. */
	snprintf(p, sizeof(p), "%s/audit.log.1", hdir);
	REQUIRE((fd = open(p, O_CREAT | O_WRONLY, 0640)) != -1);
	close(fd);
	CHECK(topen() == NULL);
	unlink(p);
	/* A symbolic link where the host directory should be. */
	snprintf(hdir, sizeof(hdir), "%s/web2", base);
	REQUIRE(symlink("/tmp", hdir) == 0);
	CHECK(store_open_dir(basefd, base, hdir, err, sizeof(err)) == -1);
	CHECK(strstr(err, "symbolic link") != NULL);
	/* A directory others may write to. */
	snprintf(hdir, sizeof(hdir), "%s/web3", base);
	REQUIRE(mkdir(hdir, 0777) == 0 && chmod(hdir, 0777) == 0);
	CHECK(store_open_dir(basefd, base, hdir, err, sizeof(err)) == -1);
	CHECK(strstr(err, "writable") != NULL);
	/* Nested and absent: created. */
	snprintf(hdir, sizeof(hdir), "%s/a/b", base);
	fd = store_open_dir(basefd, base, hdir, err, sizeof(err));
	CHECK(fd != -1);
	close(fd);
	teardown();
}

/* A write error leaves nothing of the frame; what was before stays. */
static void
test_write_error(void)
{
	struct rlimit old, rl;
	struct trail *t;

	setup();
	t = topen();
	REQUIRE(t != NULL);
	CHECK(app(t, id1, 1, 0, "aaaa\n") == 0);
	CHECK(trail_sync(t) == 0);
	CHECK(app(t, id1, 1, 5, "bbbb\n") == 0);	/* not synced yet */
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	rl = old;
	rl.rlim_cur = 14;
	setrlimit(RLIMIT_FSIZE, &rl);
	CHECK(app(t, id1, 1, 10, "cccccccccc\n") == -1);
	CHECK(errno == EFBIG);
	CHECK(t->failed);
	/* The whole frames before it can still be made durable and acked. */
	CHECK(trail_sync(t) == 0);
	CHECK(pos_is(&t->dpos, id1, 1, 10, 0));
	CHECK(app(t, id1, 1, 10, "c\n") == -1 && errno == EIO);
	trail_free(t);
	t = topen();
	REQUIRE(t != NULL);
	CHECK(pos_is(&t->pos, id1, 1, 10, 0));
	CHECK_STR(slurp("audit.log"), "aaaa\nbbbb\n");
	/* The failing frame starts a segment: its index line goes too. */
	CHECK(app(t, id1, 2, 0, "dddddddddd\n") == -1);
	trail_free(t);
	setrlimit(RLIMIT_FSIZE, &old);
	t = topen();
	REQUIRE(t != NULL);
	CHECK_EQ_U64(t->cut_idx_bytes, 0);
	CHECK(pos_is(&t->pos, id1, 1, 10, 0));
	CHECK(app(t, id1, 2, 0, "dddddddddd\n") == 0);
	CHECK(trail_sync(t) == 0);
	CHECK_STR(slurp("audit.log"), "aaaa\nbbbb\ndddddddddd\n");
	trail_free(t);
	teardown();
}

/* ausearch -if reads the whole history, in order, from our layout. */
static void
test_ausearch(void)
{
	const char *src = "tests/data/sample-raw.log";
	static char buf[1 << 19];
	struct trail *t;
	char cmd[1024];
	uint64_t seq = 1, off = 0;
	size_t len, pos = 0, chunk, segbytes = 0;
	FILE *f;

	if (system("command -v ausearch >/dev/null 2>&1") != 0) {
		printf("skip ausearch check: ausearch is not installed\n");
		return;
	}
	if ((f = fopen(src, "r")) == NULL) {
		printf("skip ausearch check: no %s (run from the top)\n", src);
		return;
	}
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	REQUIRE(len > 0 && len < sizeof(buf));
	setup();
	lim.size = 40000;
	t = topen();
	REQUIRE(t != NULL);
	/* Frames of whole lines, about 3 KiB; segments of about 16 KiB. */
	while (pos < len) {
		char *nl;

		chunk = len - pos < 3000 ? len - pos : 3000;
		nl = memchr(buf + pos + chunk - 1, '\n', len - pos - chunk + 1);
		REQUIRE(nl != NULL);
		chunk = (size_t)(nl - (buf + pos)) + 1;
		CHECK(trail_append(t, id1, seq, off, buf + pos, chunk) == 0);
		pos += chunk;
		off += chunk;
		segbytes += chunk;
		if (segbytes > 16000) {
			CHECK(trail_segend(t, id1, seq, off) == 0);
			seq++;
			off = 0;
			segbytes = 0;
		}
		CHECK(trail_sync(t) == 0);
	}
	CHECK(t->nfiles >= 5);
	trail_free(t);
	snprintf(cmd, sizeof(cmd),
	    "sort %s > %s/want && "
	    "ausearch -if %s --raw 2>%s/err | sort > %s/got && "
	    "cmp -s %s/want %s/got",
	    src, base, hdir, base, base, base, base);
	CHECK(system(cmd) == 0);
	/* Files in order: the first record comes first. */
	snprintf(cmd, sizeof(cmd),
	    "ausearch -if %s --raw 2>/dev/null | head -n 1 | "
	    "cmp -s - %s/first", hdir, base);
	snprintf(buf, sizeof(buf), "head -n 1 %s > %s/first", src, base);
	CHECK(system(buf) == 0);
	CHECK(system(cmd) == 0);
	teardown();
}

/*
 * Run fn as an unprivileged owner of the trail (root would not notice a
 * read-only file): base is given to uid 65534, fn runs in a child that
 * switched to it.  Without root, fn runs here as the owner we are.
 */
static void
as_owner(void (*fn)(void))
{
	char cmd[256];
	pid_t pid;
	int st;

	if (geteuid() != 0) {
		fn();
		return;
	}
	snprintf(cmd, sizeof(cmd), "chown -R 65534:65534 '%s'", base);
	REQUIRE(system(cmd) == 0);
	fflush(NULL);
	REQUIRE((pid = fork()) != -1);
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) == -1 ||
		    setresuid(65534, 65534, 65534) == -1)
			_exit(2);
		h_failed_checks = 0;
		fn();
		fflush(NULL);
		_exit(h_failed_checks != 0);
	}
	REQUIRE(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snprintf(cmd, sizeof(cmd), "chown -R 0:0 '%s'", base);
	REQUIRE(system(cmd) == 0);
}

static void
touch(const char *rel, const char *s, unsigned mode)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", hdir, rel);
	if ((fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, mode)) == -1)
		abort();
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		abort();
	close(fd);
	if (chmod(p, mode) == -1)
		abort();
}

static void
set_mode(const char *rel, unsigned mode)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", hdir, rel);
	if (chmod(p, mode) == -1)
		abort();
}

/* What a crash in rotation left, reopened: file 2 holds seg 2. */
static void
reopen_current_2(void)
{
	struct trail *t;

	t = topen();
	REQUIRE(t != NULL);
	CHECK_EQ_U64(t->nfiles, 2);
	CHECK(pos_is(&t->pos, id1, 2, 11, 0));
	CHECK(pos_is(&t->dpos, id1, 2, 11, 0));
	CHECK(mode_of(".store/0000000000000002") == 0640);
	CHECK(mode_of(".store/0000000000000002.idx") == 0640);
	CHECK(!exists(".store/0000000000000003"));
	CHECK(!exists(".store/0000000000000003.idx"));
	/* Writable: the same segment goes on, then a new file. */
	CHECK(app(t, id1, 2, 11, "more\n") == 0);
	CHECK(trail_sync(t) == 0);
	CHECK(app(t, id1, 3, 0, "seg=000003\n") == 0);
	CHECK(trail_sync(t) == 0);
	CHECK_EQ_U64(t->nfiles, 3);
	CHECK(mode_of(".store/0000000000000002") == 0440);
	CHECK(mode_of(".store/0000000000000002.idx") == 0440);
	trail_free(t);
	CHECK_STR(slurp("audit.log.1"), "seg=000002\nmore\n");
	CHECK_STR(slurp("audit.log"), "seg=000003\n");
}

/* The new file's S line made it (not synced, but there): it is current. */
static void
reopen_current_3(void)
{
	struct trail *t;

	t = topen();
	REQUIRE(t != NULL);
	CHECK_EQ_U64(t->nfiles, 3);
	CHECK(pos_is(&t->pos, id1, 3, 0, 0));
	CHECK(mode_of(".store/0000000000000002") == 0440);
	CHECK(app(t, id1, 3, 0, "seg=000003\n") == 0);
	CHECK(trail_sync(t) == 0);
	trail_free(t);
	CHECK_STR(slurp("audit.log"), "seg=000003\n");
	CHECK_STR(slurp("audit.log.1"), "seg=000002\n");
}

/* Two files of one segment each (trail_size 10), file 1 rotated. */
static void
two_files(void)
{
	struct trail *t;

	setup();
	lim.size = 10;
	t = topen();
	REQUIRE(t != NULL);
	fill(t, 1, 2);
	trail_free(t);
	CHECK(mode_of(".store/0000000000000002") == 0640);
}

/* A failed write of the new file's first index line: a full disk. */
static void
rotate_enospc(void)
{
	struct rlimit old, rl;
	struct trail *t;

	t = topen();
	REQUIRE(t != NULL);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	rl = old;
	rl.rlim_cur = 20;
	setrlimit(RLIMIT_FSIZE, &rl);
	CHECK(app(t, id1, 3, 0, "seg=000003\n") == -1);
	CHECK(errno == EFBIG);
	setrlimit(RLIMIT_FSIZE, &old);
	/* Nothing of the new file's use happened: 2 stays writable. */
	CHECK(mode_of(".store/0000000000000002") == 0640);
	trail_free(t);
	/* Room again: the next writer goes on by itself. */
	reopen_current_2();
}

/*
 * Every crash point of a rotation, and a full disk during one, recover
 * by themselves, even when the previous file was already read-only.
 */
static void
test_rotation_crash_points(void)
{
	static const char s3[] =
	    "S 01010101010101010101010101010101 0000000000000003 0\n";

	printf("hole 2: crash or full disk during rotation\n");
	/* Rotated (read-only), then the new file created, no index. */
	two_files();
	set_mode(".store/0000000000000002", 0440);
	set_mode(".store/0000000000000002.idx", 0440);
	touch(".store/0000000000000003", "", 0640);
	as_owner(reopen_current_2);
	teardown();
	/* The same with its empty index, names shifted half-way. */
	two_files();
	set_mode(".store/0000000000000002", 0440);
	set_mode(".store/0000000000000002.idx", 0440);
	touch(".store/0000000000000003", "", 0640);
	touch(".store/0000000000000003.idx", "", 0640);
	link_name("0000000000000001", "audit.log.2");
	link_name("0000000000000003", "audit.log");
	as_owner(reopen_current_2);
	teardown();
	/* A torn first index line. */
	two_files();
	touch(".store/0000000000000003", "", 0640);
	touch(".store/0000000000000003.idx", "S 0101010101", 0640);
	as_owner(reopen_current_2);
	teardown();
	/* The S line written: the new file is current, the old one
	 * becomes read-only at start-up. */
	two_files();
	touch(".store/0000000000000003", "", 0640);
	touch(".store/0000000000000003.idx", s3, 0640);
	as_owner(reopen_current_3);
	teardown();
	/* The disk fills while the new file gets its first line. */
	two_files();
	as_owner(rotate_enospc);
	teardown();
}

/* Sum of the sizes of the .store files whose names end with suffix. */
static uint64_t
store_bytes(int idx, uint64_t *largest)
{
	char p[512];
	struct dirent *de;
	struct stat st;
	uint64_t sum = 0;
	size_t n;
	DIR *d;

	*largest = 0;
	snprintf(p, sizeof(p), "%s/.store", hdir);
	if ((d = opendir(p)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 16 || (idx != (n > 4 &&
		    strcmp(de->d_name + n - 4, ".idx") == 0)))
			continue;
		snprintf(p, sizeof(p), "%s/.store/%s", hdir, de->d_name);
		if (stat(p, &st) == -1)
			continue;
		sum += (uint64_t)st.st_size;
		if ((uint64_t)st.st_size > *largest)
			*largest = (uint64_t)st.st_size;
	}
	closedir(d);
	return sum;
}

/* Empty segments grow only the index: it counts, it is bounded. */
static void
test_empty_segments(void)
{
	/* An S and an E line at most, for the segment that crosses. */
	const uint64_t pair = 54 + 21 + 2;
	struct trail *t;
	uint64_t s, largest, idx, data;

	printf("hole 5: empty segments and the index\n");
	setup();
	lim.size = 1000;
	lim.max_size = 3000;
	t = topen();
	REQUIRE(t != NULL);
	CHECK(app(t, id1, 1, 0, "a=1\n") == 0);
	for (s = 2; s <= 400; s++) {
		CHECK(trail_segend(t, id1, s, 0) == 0);
		if (s % 10 == 0)
			CHECK(trail_sync(t) == 0);
	}
	CHECK(trail_sync(t) == 0);
	idx = store_bytes(1, &largest);
	data = store_bytes(0, &largest);
	CHECK(data <= 4);
	idx = store_bytes(1, &largest);
	CHECK(largest < lim.size + pair);
	CHECK(t->nfiles > 1);
	/* Retention counts the indexes: within trail_max_size. */
	CHECK(idx + data <= lim.max_size);
	CHECK(t->total == idx + data);
	trail_free(t);
	t = topen();
	REQUIRE(t != NULL);
	CHECK(pos_is(&t->pos, id1, 400, 0, 1));
	trail_free(t);

	/* A huge trail_size: the index alone starts a new file. */
	lim.size = 1ULL << 40;
	lim.max_size = 0;
	lim.idx_size = 2000;
	t = topen();
	REQUIRE(t != NULL);
	for (s = 401; s <= 600; s++)
		CHECK(trail_segend(t, id1, s, 0) == 0);
	CHECK(trail_sync(t) == 0);
	(void)store_bytes(1, &largest);
	CHECK(largest < lim.idx_size + pair);
	trail_free(t);
	t = topen();
	REQUIRE(t != NULL);
	CHECK(pos_is(&t->pos, id1, 600, 0, 1));
	CHECK(app(t, id1, 601, 0, "b=2\n") == 0);
	CHECK(trail_sync(t) == 0);
	trail_free(t);
	CHECK(TRAIL_IDX_ROTATE < TRAIL_IDX_MAX);
	teardown();
}

static int
tail_is(const struct trail *t, size_t cap, const char *want, size_t wlen)
{
	static char buf[WIRE_TAIL_MAX];
	size_t len = 12345;

	if (trail_tail(t, buf, cap, &len) == -1) {
		fprintf(stderr, "  trail_tail: %s\n", strerror(errno));
		return 0;
	}
	if (len != wlen || memcmp(buf, want, wlen) != 0) {
		fprintf(stderr, "  tail is %zu bytes \"%.*s\"\n", len,
		    (int)(len < 64 ? len : 64), buf);
		return 0;
	}
	return 1;
}

/* WELCOME's tail: the last bytes held of the resume segment, no more. */
static void
test_tail(void)
{
	static char big[5000];
	struct trail *t;

	setup();
	lim.size = 100;
	t = topen();
	REQUIRE(t != NULL);
	CHECK(tail_is(t, WIRE_TAIL_MIN, "", 0));
	CHECK(app(t, id1, 1, 0, "a\n") == 0);
	CHECK(app(t, id1, 1, 2, "bb\n") == 0);
	CHECK(trail_sync(t) == 0);
	CHECK(tail_is(t, WIRE_TAIL_MIN, "a\nbb\n", 5));
	CHECK(tail_is(t, 3, "bb\n", 3));
	/* The next segment in the same file: only its own bytes. */
	CHECK(app(t, id1, 2, 0, "cccc\n") == 0);
	CHECK(trail_sync(t) == 0);
	CHECK(tail_is(t, WIRE_TAIL_MIN, "cccc\n", 5));
	CHECK(trail_segend(t, id1, 2, 5) == 0);
	CHECK(trail_sync(t) == 0);
	CHECK(tail_is(t, WIRE_TAIL_MIN, "cccc\n", 5));
	/* An empty segment holds nothing. */
	CHECK(trail_segend(t, id1, 3, 0) == 0);
	CHECK(trail_sync(t) == 0);
	CHECK(tail_is(t, WIRE_TAIL_MIN, "", 0));
	/* Longer than the tail: its last bytes, in a new file. */
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	big[0] = 'y';
	CHECK(trail_append(t, id1, 4, 0, big, sizeof(big)) == 0);
	CHECK(trail_sync(t) == 0);
	CHECK_EQ_U64(t->nfiles, 2);
	CHECK(tail_is(t, WIRE_TAIL_MIN, big + sizeof(big) - WIRE_TAIL_MIN,
	    WIRE_TAIL_MIN));
	trail_free(t);
	/* The same after a restart. */
	t = topen();
	REQUIRE(t != NULL);
	CHECK(tail_is(t, WIRE_TAIL_MIN, big + sizeof(big) - WIRE_TAIL_MIN,
	    WIRE_TAIL_MIN));
	trail_free(t);
	teardown();
}

/*
 * The tail goes back to the start of the line that holds its first byte,
 * so that it names its event (a line inside the last 4096 bytes alone may
 * be the same text on two clones); a line longer than the cap: the cap.
 */
static void
test_tail_line_start(void)
{
	static char seg[9000], huge[70000];
	struct trail *t;

	setup();
	t = topen();
	REQUIRE(t != NULL);
	memset(seg, 'x', sizeof(seg));
	seg[99] = '\n';		/* a short line, then one of 8,900 */
	seg[sizeof(seg) - 1] = '\n';
	CHECK(trail_append(t, id1, 1, 0, seg, sizeof(seg)) == 0);
	CHECK(trail_sync(t) == 0);
	CHECK(tail_is(t, WIRE_TAIL_MAX, seg + 100, sizeof(seg) - 100));
	/* Lines that end just before the last 4096 bytes: exactly those. */
	seg[sizeof(seg) - WIRE_TAIL_MIN - 1] = '\n';
	CHECK(trail_segend(t, id1, 1, sizeof(seg)) == 0);
	CHECK(trail_append(t, id1, 2, 0, seg, sizeof(seg)) == 0);
	CHECK(trail_sync(t) == 0);
	CHECK(tail_is(t, WIRE_TAIL_MAX, seg + sizeof(seg) - WIRE_TAIL_MIN,
	    WIRE_TAIL_MIN));
	/* No line's start within the cap: the last WIRE_TAIL_MAX bytes. */
	memset(huge, 'h', sizeof(huge));
	huge[sizeof(huge) - 1] = '\n';
	CHECK(trail_segend(t, id1, 2, sizeof(seg)) == 0);
	CHECK(trail_append(t, id1, 3, 0, huge, sizeof(huge)) == 0);
	CHECK(trail_sync(t) == 0);
	CHECK(tail_is(t, WIRE_TAIL_MAX, huge + sizeof(huge) - WIRE_TAIL_MAX,
	    WIRE_TAIL_MAX));
	trail_free(t);
	teardown();
}

static const struct h_test tests[] = {
	TEST(test_first_data_and_reopen),
	TEST(test_tail_line_start),
	TEST(test_acceptance),
	TEST(test_torn_tail),
	TEST(test_torn_index),
	TEST(test_resume_point),
	TEST(test_rotation_names),
	TEST(test_rebuild_after_crash),
	TEST(test_retention),
	TEST(test_refusals),
	TEST(test_write_error),
	TEST(test_synced_by_syncfs),
	TEST(test_rotation_crash_points),
	TEST(test_empty_segments),
	TEST(test_tail),
	TEST(test_ausearch),
};

int
main(void)
{
	/* Recovery and rotation log what they do; keep the output short. */
	log_init("trail_test", 1, 0);
	umask(022);
	return h_run("trail", tests, sizeof(tests) / sizeof(tests[0]));
}
