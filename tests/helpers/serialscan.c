/*
 * serialscan: run the serial-gap counter over one host's trail directory,
 * the way a receiver process would (receiver/serial.h), for the tests.
 *
 *   serialscan [-m MAXBYTES] [-s STATEFILE] HOSTDIR
 *
 * Reads what HOSTDIR's trail holds past the saved position (all of it
 * without -s, at most MAXBYTES with -m), prints one line per gap and a
 * last line of counts, and with -s saves the state there (to a temporary
 * name, then renamed) to go on from next time.
 *
 *   gap boot=B from=F to=T time=MS
 *   stats bytes=N lines=N ... open=N
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serial.h"

static void
usage(void)
{
	fprintf(stderr, "usage: serialscan [-m maxbytes] [-s statefile] "
	    "hostdir\n");
	exit(2);
}

static void
on_gap(const struct serial_gap *g, void *arg)
{
	(void)arg;
	printf("gap boot=%" PRIu64 " from=%" PRIu64 " to=%" PRIu64 " time=%"
	    PRIu64 "\n", g->boot, g->from, g->to, g->time_ms);
}

static struct serial *
load_state(const char *path)
{
	static char buf[SERIAL_STATE_MAX];
	struct serial *s;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT) {
			perror(path);
			exit(1);
		}
		return serial_new(on_gap, NULL);
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || (s = serial_load(buf, (size_t)n, on_gap, NULL)) == NULL) {
		fprintf(stderr, "%s: not a saved state\n", path);
		exit(1);
	}
	return s;
}

static void
save_state(struct serial *s, const char *path)
{
	static char buf[SERIAL_STATE_MAX];
	char tmp[4096];
	size_t n;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (serial_save(s, buf, sizeof(buf), &n) == -1 ||
	    (f = fopen(tmp, "w")) == NULL || fwrite(buf, 1, n, f) != n ||
	    fflush(f) != 0 || fsync(fileno(f)) == -1 || fclose(f) != 0 ||
	    rename(tmp, path) == -1) {
		perror(path);
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	const char *state = NULL;
	struct serial_stats st;
	struct serial *s;
	uint64_t max = UINT64_MAX, got;
	char err[512];
	int c, fd;

	while ((c = getopt(argc, argv, "m:s:")) != -1) {
		switch (c) {
		case 'm':
			max = strtoull(optarg, NULL, 10);
			break;
		case 's':
			state = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	if ((fd = open(argv[optind], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		perror(argv[optind]);
		return 1;
	}
	s = state != NULL ? load_state(state) : serial_new(on_gap, NULL);
	if (s == NULL) {
		perror("serial_new");
		return 1;
	}
	if (serial_read(s, fd, max, &got, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", argv[optind], err);
		return 1;
	}
	/* Saving gives libauparse's last events to the counter. */
	if (state != NULL)
		save_state(s, state);
	else if (serial_flush(s) == -1) {
		perror("serial_flush");
		return 1;
	}
	serial_get_stats(s, &st);
	printf("stats bytes=%" PRIu64 " lines=%" PRIu64 " bad=%" PRIu64
	    " records=%" PRIu64 " events=%" PRIu64 " daemon=%" PRIu64
	    " stale=%" PRIu64 " boots=%" PRIu64 " restarts=%" PRIu64
	    " gaps=%" PRIu64 " missing=%" PRIu64 " skipped=%" PRIu64
	    " cutback=%" PRIu64 " open=%" PRIu64 "\n", st.bytes, st.lines,
	    st.bad, st.records, st.events, st.daemon, st.stale, st.boots,
	    st.restarts, st.gaps, st.missing, st.skipped, st.cutback, st.open);
	serial_free(s);
	close(fd);
	return 0;
}
