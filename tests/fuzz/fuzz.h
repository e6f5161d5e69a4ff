/*
 * What the fuzz targets share.  Each target is one file that defines
 * LLVMFuzzerTestOneInput; it links either with libFuzzer (clang) or with
 * replay.c (gcc), which runs it over the files of a corpus.
 *
 * A failed FUZZ_CHECK aborts: libFuzzer keeps the input as a crash, the
 * replay build prints the check.  Under libFuzzer the tests run with
 * -close_fd_mask=2, so the message is gone there but the stack trace says
 * which check it was.
 */
#ifndef AUDITDIST_FUZZ_H
#define AUDITDIST_FUZZ_H

#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_CHECK(x) do {						\
	if (!(x)) {							\
		fprintf(stderr, "%s:%d: fuzz check failed: %s\n",	\
		    __FILE__, __LINE__, #x);				\
		abort();						\
	}								\
} while (0)

/* The harness's own setup failed: not a finding, but nothing can go on. */
#define FUZZ_SETUP(x) do {						\
	if (!(x)) {							\
		fprintf(stderr, "%s:%d: fuzz setup failed: %s: %s\n",	\
		    __FILE__, __LINE__, #x, strerror(errno));		\
		abort();						\
	}								\
} while (0)

/* A small deterministic generator, seeded from the input. */
static inline uint32_t
fuzz_rand(uint32_t *s)
{
	uint32_t x = *s ? *s : 0x9e3779b9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

/* The directory fuzz_tmpdir made, or "". */
static inline char *
fuzz_dir(void)
{
	static char dir[4096];

	return dir;
}

static inline int
fuzz_rm_one(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	if (remove(path) == -1 && errno != ENOENT)
		fprintf(stderr, "fuzz: removing %s: %s\n", path,
		    strerror(errno));
	return 0;
}

static inline void
fuzz_rm_dir(void)
{
	if (fuzz_dir()[0] != '\0')
		nftw(fuzz_dir(), fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * A private directory for targets that need files, removed at exit.
 * FUZZ_TMPDIR, else /dev/shm (fsync costs nothing on tmpfs), else TMPDIR.
 */
static inline const char *
fuzz_tmpdir(void)
{
	char *dir = fuzz_dir();
	const char *base;

	if (dir[0] != '\0')
		return dir;
	if ((base = getenv("FUZZ_TMPDIR")) == NULL || *base == '\0') {
		if (access("/dev/shm", W_OK | X_OK) == 0)
			base = "/dev/shm";
		else if ((base = getenv("TMPDIR")) == NULL || *base == '\0')
			base = "/tmp";
	}
	FUZZ_SETUP((size_t)snprintf(dir, 4096, "%s/adfuzz.XXXXXX", base) <
	    4096);
	FUZZ_SETUP(mkdtemp(dir) != NULL);
	atexit(fuzz_rm_dir);
	return dir;
}

#endif
