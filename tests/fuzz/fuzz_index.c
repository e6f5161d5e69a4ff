/*
 * Fuzz target: what the receiver reads back from its own store at start-up
 * (receiver/trail.c, receiver/store.c): the index of the newest trail file
 * and the file itself, which a crash may have left torn anywhere.
 *
 * Input: one byte of options (bit 0: an older, complete trail file exists
 * before the fuzzed one), then the index, then a NUL, then the trail file.
 * trail_open must recover every such store.  Recovery may only cut: the
 * files left are prefixes of what was there, the index ends with a whole
 * line, the file with a whole record, and the resume point is where the
 * file ends.  Then a record appended at the resume point must stick, and
 * a second trail_open must find nothing to cut and the same position.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "auditdistd.h"
#include "fuzz.h"

#define HOST		"web1"
#define RECORD		"type=EOE msg=audit(1.000:1):\n"

static const uint8_t zero_id[WIRE_ID_LEN];
static const char old_idx[] =
    "S 01010101010101010101010101010101 0000000000000001 0\n"
    "E 0000000000000001 9\n";
static const char old_data[] = "type=OLD\n";

static char hostdir[4200];

static void
same_pos(const struct trail_pos *a, const struct trail_pos *b)
{
	FUZZ_CHECK(memcmp(a->id, b->id, WIRE_ID_LEN) == 0);
	FUZZ_CHECK(a->seq == b->seq && a->size == b->size);
	FUZZ_CHECK(a->complete == b->complete);
}

/* Remove every entry of directory fd (no subdirectories but .store). */
static void
empty_dir(int fd)
{
	struct dirent *de;
	DIR *d;
	int dfd;

	FUZZ_SETUP((dfd = dup(fd)) != -1);
	FUZZ_SETUP((d = fdopendir(dfd)) != NULL);
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(fd, de->d_name, 0) == -1)
			FUZZ_SETUP(unlinkat(fd, de->d_name, AT_REMOVEDIR) == 0);
	}
	closedir(d);
}

static void
put(int dirfd, const char *name, const void *p, size_t len)
{
	ssize_t n;
	int fd;

	FUZZ_SETUP((fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0640)) != -1);
	FUZZ_SETUP(len == 0 || (n = write(fd, p, len)) == (ssize_t)len);
	close(fd);
}

/*
 * The file name in .store now holds a prefix of p (len bytes); its size
 * is returned, and whether it ends with a newline (or is empty).
 */
static size_t
check_prefix(int storefd, const char *name, const uint8_t *p, size_t len,
    int *whole)
{
	uint8_t buf[4096];
	struct stat st;
	ssize_t n;
	int fd;

	FUZZ_SETUP((fd = openat(storefd, name, O_RDONLY | O_CLOEXEC)) != -1);
	FUZZ_SETUP(fstat(fd, &st) == 0);
	FUZZ_CHECK((uint64_t)st.st_size <= len);
	FUZZ_SETUP((size_t)st.st_size <= sizeof(buf));
	FUZZ_SETUP((n = read(fd, buf, sizeof(buf))) == st.st_size);
	close(fd);
	FUZZ_CHECK(n == 0 || memcmp(buf, p, (size_t)n) == 0);
	*whole = n == 0 || buf[n - 1] == '\n';
	return (size_t)n;
}

static struct trail *
open_trail(void)
{
	struct trail_limits lim;
	struct trail *t;
	char err[1024];
	int fd;

	memset(&lim, 0, sizeof(lim));
	FUZZ_SETUP((fd = open(hostdir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1);
	if ((t = trail_open(fd, HOST, &lim, err, sizeof(err))) == NULL)
		fprintf(stderr, "trail_open: %s\n", err);
	return t;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *idx, *file, *nul;
	size_t idxlen, filelen, got;
	struct trail_pos pos;
	struct trail *t;
	char name[32];
	uint64_t num;
	int hfd, sfd, whole;

	if (size < 1 || size > 4096)
		return 0;
	if (hostdir[0] == '\0') {
		snprintf(hostdir, sizeof(hostdir), "%s/%s", fuzz_tmpdir(),
		    HOST);
		FUZZ_SETUP(mkdir(hostdir, TRAIL_DIR_MODE) == 0);
	}
	idx = data + 1;
	if ((nul = memchr(idx, '\0', size - 1)) != NULL) {
		idxlen = (size_t)(nul - idx);
		file = nul + 1;
		filelen = size - 1 - idxlen - 1;
	} else {
		idxlen = size - 1;
		file = nul;
		filelen = 0;
	}

	FUZZ_SETUP((hfd = open(hostdir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1);
	if ((sfd = openat(hfd, TRAIL_STORE, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1) {
		empty_dir(sfd);
		close(sfd);
	}
	empty_dir(hfd);
	FUZZ_SETUP(mkdirat(hfd, TRAIL_STORE, TRAIL_DIR_MODE) == 0);
	FUZZ_SETUP((sfd = openat(hfd, TRAIL_STORE, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1);
	num = 1;
	if (data[0] & 1) {
		put(sfd, "0000000000000001.idx", old_idx, strlen(old_idx));
		put(sfd, "0000000000000001", old_data, strlen(old_data));
		num = 2;
	}
	store_name(name, sizeof(name), num, 1);
	put(sfd, name, idx, idxlen);
	store_name(name, sizeof(name), num, 0);
	put(sfd, name, file, filelen);

	t = open_trail();
	FUZZ_CHECK(t != NULL);
	pos = t->pos;
	if (trail_current(t) != NULL && trail_current(t)->num == num) {
		store_name(name, sizeof(name), num, 1);
		FUZZ_CHECK(check_prefix(sfd, name, idx, idxlen, &whole) ==
		    t->idxsize);
		FUZZ_CHECK(whole);
		store_name(name, sizeof(name), num, 0);
		got = check_prefix(sfd, name, file, filelen, &whole);
		FUZZ_CHECK(got == trail_current(t)->size);
		if (memcmp(pos.id, zero_id, sizeof(zero_id)) != 0)
			FUZZ_CHECK(t->segstart + pos.size == got);
		FUZZ_CHECK(whole);
	}
	/* A record at the resume point continues the copy. */
	if (memcmp(pos.id, zero_id, sizeof(zero_id)) != 0 && !pos.complete) {
		FUZZ_CHECK(trail_check(t, pos.id, pos.seq, pos.size) ==
		    TRAIL_CONTINUE);
		FUZZ_CHECK(trail_append(t, pos.id, pos.seq, pos.size, RECORD,
		    strlen(RECORD)) == 0);
		FUZZ_CHECK(trail_sync(t) == 0);
		pos.size += strlen(RECORD);
		same_pos(&t->dpos, &pos);
	}
	trail_free(t);

	/* Recovered once, there is nothing left to recover. */
	t = open_trail();
	FUZZ_CHECK(t != NULL);
	FUZZ_CHECK(t->cut_bytes == 0 && t->cut_idx_bytes == 0);
	same_pos(&t->pos, &pos);
	trail_free(t);
	close(sfd);
	close(hfd);
	return 0;
}
