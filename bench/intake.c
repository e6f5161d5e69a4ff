/*
 * Intake: audisp-dist moving stdin to its spool, against cat copying stdin
 * to a file, fed from a file and through a socketpair as auditd feeds it.
 */
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define POLL_NSEC	500000L		/* how often "stdin drained" is sampled */

/* One timed run of a program reading the stream on stdin. */
enum feed { FEED_FILE, FEED_SOCKET };

struct result {
	double		 drained;	/* s until all input was read; NAN: unknown */
	double		 exited;	/* s until the program was reaped */
	double		 cpu;		/* s of CPU, user + system, all threads */
	long		 maxrss_kib;
};

/* Add the sizes of every *.seg and *.open file below dirfd. */
static int
sum_spool_at(int dirfd, uint64_t *total)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	size_t len;
	int fd;

	if ((d = fdopendir(dirfd)) == NULL) {
		close(dirfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			goto fail;
		if (S_ISDIR(st.st_mode)) {
			fd = openat(dirfd, de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd == -1 || sum_spool_at(fd, total) == -1)
				goto fail;
			continue;
		}
		len = strlen(de->d_name);
		if (!S_ISREG(st.st_mode))
			continue;
		if ((len > 4 && strcmp(de->d_name + len - 4, ".seg") == 0) ||
		    (len > 5 && strcmp(de->d_name + len - 5, ".open") == 0))
			*total += (uint64_t)st.st_size;
	}
	closedir(d);
	return 0;
fail:
	closedir(d);
	return -1;
}

static uint64_t
spool_bytes(const char *dir)
{
	uint64_t total = 0;
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || sum_spool_at(fd, &total) == -1)
		err(EX_SOFTWARE, "read spool %s", dir);
	return total;
}

static void
write_conf(const struct bench *b)
{
	FILE *f;
	int fd;

	if (strpbrk(b->spool, "\"\\\n") != NULL)
		errx(EX_USAGE, "%s: a character the config cannot quote",
		    b->spool);
	fd = open(b->conf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 || fchmod(fd, 0600) == -1 ||
	    (f = fdopen(fd, "w")) == NULL)
		err(EX_CANTCREAT, "%s", b->conf);
	fprintf(f, "sender {\n\tdirectory \"%s\"\n\tspool_max_size 0\n"
	    "\tflush none\n}\n", b->spool);
	if (fclose(f) == EOF)
		err(EX_IOERR, "%s", b->conf);
}

/*
 * Run audisp-dist (ours != 0) or cat once on the stream and check its
 * output.  "Drained" is when the program had read all input: for a file,
 * the stdin offset (shared with our descriptor) reached the end; for the
 * socketpair, the feeder finished and the receive queue was empty.
 */
static void
run_one(const struct bench *b, int ours, enum feed feed, struct result *res)
{
	char prog[PATH_MAX];
	const char *argv[4];
	const char *what = ours ? "audisp-dist" : "cat";
	struct timespec tick = { 0, POLL_NSEC }, slow = { 0, 50000000L };
	struct rusage ru;
	struct pollfd pfd;
	uint64_t got;
	double t0, deadline;
	pid_t pid, feeder = -1;
	int in_fd, sv[2] = { -1, -1 }, feeder_done = 0, feeder_status = 0;
	int queued;
	off_t pos;

	rm_path(b->spool);
	rm_path(b->catout);
	if (ours && mkdir(b->spool, 0700) == -1)
		err(EX_CANTCREAT, "%s", b->spool);
	/* Writeback left over from the previous run must not land in this one. */
	sync();

	if (ours) {
		snprintf(prog, sizeof(prog), "%s/audisp-dist", b->bindir);
		argv[0] = prog;
		argv[1] = "-f";
		argv[2] = b->conf;
		argv[3] = NULL;
	} else {
		argv[0] = CAT_PATH;
		argv[1] = NULL;
	}

	if (feed == FEED_FILE) {
		in_fd = open(b->stream, O_RDONLY | O_CLOEXEC);
		if (in_fd == -1)
			err(EX_NOINPUT, "%s", b->stream);
	} else {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
			err(EX_OSERR, "socketpair");
		in_fd = sv[0];
	}

	t0 = now();
	deadline = t0 + RUN_TIMEOUT;
	pid = spawn(argv, in_fd, ours ? NULL : b->catout, b->errlog);
	if (feed == FEED_SOCKET) {
		feeder = spawn_feeder(b->stream, b->stream_bytes, sv[1], sv[0]);
		/* Keep sv[0] to look at its receive queue; sv[1] must go. */
		close(sv[1]);
	}
	pfd.fd = pidfd_of(pid);
	pfd.events = POLLIN;
	res->drained = NAN;

	for (;;) {
		pfd.revents = 0;
		if (ppoll(&pfd, 1, isnan(res->drained) ? &tick : &slow,
		    NULL) == -1 && errno != EINTR)
			err(EX_OSERR, "ppoll");
		if (pfd.revents != 0)
			break;
		if (interrupted || now() > deadline) {
			kill_tracked();
			show_errlog(b->errlog);
			errx(EX_SOFTWARE, "%s: %s", what, interrupted ?
			    "interrupted" : "run timed out");
		}
		if (!isnan(res->drained))
			continue;
		if (feed == FEED_FILE) {
			pos = lseek(in_fd, 0, SEEK_CUR);
			if (pos != -1 && (uint64_t)pos >= b->stream_bytes)
				res->drained = now() - t0;
		} else {
			/* A failed feeder is reported after the program's fate. */
			if (!feeder_done &&
			    waitpid(feeder, &feeder_status, WNOHANG) == feeder) {
				untrack_pid(feeder);
				feeder_done = 1;
			}
			if (feeder_done && ioctl(in_fd, FIONREAD, &queued) == 0 &&
			    queued == 0)
				res->drained = now() - t0;
		}
	}
	res->exited = now() - t0;
	close(pfd.fd);
	reap_checked(pid, what, &ru, b->errlog);
	res->maxrss_kib = ru.ru_maxrss;
	res->cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	    ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
	if (feeder != -1 && !feeder_done)
		reap_checked(feeder, "feeder", NULL, NULL);
	else if (feeder != -1 && (!WIFEXITED(feeder_status) ||
	    WEXITSTATUS(feeder_status) != 0))
		errx(EX_SOFTWARE, "feeder failed");

	/* It read everything between two samples and exited at once. */
	if (isnan(res->drained)) {
		if (feed == FEED_FILE) {
			pos = lseek(in_fd, 0, SEEK_CUR);
			if (pos != -1 && (uint64_t)pos >= b->stream_bytes)
				res->drained = res->exited;
		} else if (ioctl(in_fd, FIONREAD, &queued) == 0 && queued == 0)
			res->drained = res->exited;
	}
	close(in_fd);

	if (ours)
		got = spool_bytes(b->spool);
	else {
		struct stat st;

		if (stat(b->catout, &st) == -1)
			err(EX_SOFTWARE, "%s", b->catout);
		got = (uint64_t)st.st_size;
	}
	if (got != b->stream_bytes) {
		show_errlog(b->errlog);
		errx(EX_SOFTWARE, "%s (%s): wrote %" PRIu64 " bytes for a stream "
		    "of %" PRIu64 "; the run is broken, not measuring it", what,
		    feed == FEED_FILE ? "file" : "socketpair", got,
		    b->stream_bytes);
	}
}

/* Intake: stdin to spool, against cat copying stdin to a file. */
void
group_intake(struct bench *b, struct table *t)
{
	static const struct {
		enum feed	 feed;
		const char	*name;
	} feeds[] = {
		{ FEED_FILE, "file->spool" },
		{ FEED_SOCKET, "socketpair" },
	};
	size_t nf = sizeof(feeds) / sizeof(feeds[0]), f;
	double ex[2][b->runs], dr[2][b->runs], tl[2][b->runs], cpu[2][b->runs];
	double tex[2], tdr[2], ttl[2], tcpu[2], mib;
	long rss[2] = { 0, 0 };
	struct result res;
	unsigned i, j;
	char fig[64];
	int ours;

	write_conf(b);
	for (f = 0; f < nf; f++) {
		for (i = 0; i < b->runs; i++) {
			/* Alternate who goes first so neither always follows. */
			for (j = 0; j < 2; j++) {
				ours = (i + j) % 2 == 0;
				run_one(b, ours, feeds[f].feed, &res);
				ex[ours][i] = res.exited;
				dr[ours][i] = res.drained;
				tl[ours][i] = res.exited - res.drained;
				cpu[ours][i] = res.cpu;
				if (res.maxrss_kib > rss[ours])
					rss[ours] = res.maxrss_kib;
				fprintf(stderr, "intake %-11s run %u/%u %-11s "
				    "exit %7.3f s  drained %7.3f s  "
				    "cpu %7.3f s  rss %5.2f MiB\n",
				    feeds[f].name, i + 1, b->runs,
				    ours ? "audisp-dist" : "cat", res.exited,
				    res.drained, res.cpu,
				    (double)res.maxrss_kib / 1024);
			}
		}
		for (ours = 0; ours < 2; ours++) {
			tex[ours] = median(ex[ours], b->runs);
			tdr[ours] = median(dr[ours], b->runs);
			ttl[ours] = median(tl[ours], b->runs);
			tcpu[ours] = median(cpu[ours], b->runs);
		}
		mib = (double)b->stream_bytes / 1e6;

		snprintf(fig, sizeof(fig), "intake %s records/s", feeds[f].name);
		row_add(t, &(struct row){ .figure = fig,
		    .ours = (double)b->stream_records / tex[1],
		    .base = (double)b->stream_records / tex[0],
		    .base_name = "cat", .prec = 0,
		    .kind = TGT_RATIO_MIN, .target = 0.8,
		    .target_text = ">= 0.80x cat" });
		snprintf(fig, sizeof(fig), "intake %s MB/s", feeds[f].name);
		row_add(t, &(struct row){ .figure = fig,
		    .ours = mib / tex[1], .base = mib / tex[0],
		    .base_name = "cat", .prec = 1,
		    .kind = TGT_RATIO_MIN, .target = 0.8,
		    .target_text = ">= 0.80x cat" });
		/* Without the final sync at exit: what auditd would feel. */
		row_add(t, &(struct row){ .figure = "  stdin drained MB/s",
		    .ours = mib / tdr[1], .base = mib / tdr[0],
		    .base_name = "cat", .prec = 1 });
		row_add(t, &(struct row){ .figure = "  exit after EOF (ms)",
		    .ours = ttl[1] * 1e3, .base = ttl[0] * 1e3,
		    .base_name = "cat", .prec = 1, .no_ratio = 1 });
		/*
		 * What the copy costs, whoever else runs on the machine: a
		 * shared machine's load moves elapsed times much more.
		 */
		row_add(t, &(struct row){ .figure = "  MB per CPU second",
		    .ours = mib / tcpu[1], .base = mib / tcpu[0],
		    .base_name = "cat", .prec = 1 });
	}
	row_add(t, &(struct row){ .figure = "plugin peak RSS (MiB)",
	    .ours = (double)rss[1] / 1024, .base = (double)rss[0] / 1024,
	    .base_name = "cat", .prec = 2, .no_ratio = 1,
	    .kind = TGT_OURS_BELOW, .target = 4.0, .target_text = "< 4 MiB" });
}

