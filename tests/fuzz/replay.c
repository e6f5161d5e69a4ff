/*
 * Replay driver: runs a fuzz target over every file named on the command
 * line, or found in a directory named there, once each, in name order.
 * Linked with a target instead of libFuzzer, so that the corpus is also
 * checked by a gcc build with ASan+UBSan.  Exits 0 when every input ran;
 * a sanitizer report, a failed check or an exit() inside the target does
 * not come back here.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

int	LLVMFuzzerInitialize(int *, char ***) __attribute__((weak));

static const char *current;	/* the input being run, for exit() */
static unsigned long nrun;
static int verbose;

static void
exit_check(void)
{
	if (current == NULL)
		return;
	fprintf(stderr, "replay: %s: the target called exit()\n", current);
	_exit(1);
}

static int
run_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	size_t len = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	/* Exactly the input's size, so that ASan sees any over-read. */
	if ((buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	while (len < (size_t)st.st_size &&
	    (n = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (len != (size_t)st.st_size) {
		fprintf(stderr, "replay: %s: short read\n", path);
		free(buf);
		return -1;
	}
	if (verbose)
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	current = path;
	LLVMFuzzerTestOneInput(buf, len);
	current = NULL;
	free(buf);
	nrun++;
	return 0;
}

static int
only_files(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

static int
run_path(const char *path)
{
	struct dirent **v;
	struct stat st;
	char *sub;
	int i, n, rc = 0;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	if ((n = scandir(path, &v, only_files, alphasort)) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (asprintf(&sub, "%s/%s", path, v[i]->d_name) == -1) {
			rc = -1;
			break;
		}
		if (stat(sub, &st) == 0 && S_ISREG(st.st_mode) &&
		    run_file(sub) == -1)
			rc = -1;
		free(sub);
	}
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return rc;
}

int
main(int argc, char **argv)
{
	int i, rc = 0;

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		verbose = 1;
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: %s [-v] file|directory ...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	atexit(exit_check);
	for (i = 1; i < argc; i++)
		if (run_path(argv[i]) == -1)
			rc = 1;
	printf("replayed %lu inputs\n", nrun);
	return rc;
}
