/*
 * bench: measure audisp-dist and auditdistd against the simplest programs
 * that could do their jobs, and print one table (Markdown) on stdout.
 * Progress goes to stderr.
 *
 * The table is built from row groups (see groups[] below); each group runs
 * its measurements and appends rows of {figure, ours, baseline, target}.
 * The ratio and the verdict are derived when the table is printed, so a new
 * group only has to measure and call row_add().
 *
 * Exit status: 0 when the table was printed, whatever it says; non-zero
 * when the benchmark could not run, a run produced wrong output, or a
 * figure could not be measured (the table is printed first, with "-").
 */
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>

#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "bench.h"

struct group {
	const char	*name;
	unsigned	 bit;
	void		(*run)(struct bench *, struct table *);
};

static const struct group groups[] = {
	{ "intake", G_INTAKE, group_intake },
	{ "e2e", G_E2E, group_e2e },
	{ "latency", G_LATENCY, group_latency },
	{ "fanin", G_FANIN, group_fanin },
	{ "fleet", G_FLEET, group_fleet },
	{ "impact", G_IMPACT, group_impact },
	{ "wan", G_WAN, group_wan },
	{ "nats", G_NATS, group_nats },
	/* Last: it reports the peaks the shipping groups saw. */
	{ "memory", G_MEMORY, group_memory },
};

#define MAX_CLEANUPS	8

volatile sig_atomic_t interrupted;
int bench_incomplete;
static pid_t owner_pid;
static char *cleanup_dir;
static int keep_tmp;
static void (*cleanups[MAX_CLEANUPS])(void);
static size_t ncleanups;

static void
usage(void)
{
	fprintf(stderr, "usage: bench [-kw] [-A records] [-a records] "
	    "[-c senders] [-d dir] [-e MiB]\n"
	    "\t[-f senders] [-g groups] [-i sample] [-j jobs] [-l seconds]\n"
	    "\t[-n runs] [-p rate] [-r runs] [-s MiB] [-t seconds]\n");
	exit(EX_USAGE);
}

/*
 * A group that changes state outside the bench's directory (the kernel's
 * audit rules and settings) registers how to put it back, for an abort;
 * these run after every tracked process has been killed, last first.
 */
void
cleanup_add(void (*fn)(void))
{
	if (ncleanups == MAX_CLEANUPS)
		errx(EX_SOFTWARE, "too many cleanups; raise MAX_CLEANUPS");
	cleanups[ncleanups++] = fn;
}

static void
cleanup(void)
{
	/* Forked children share the atexit list but must not remove anything. */
	if (getpid() != owner_pid)
		return;
	kill_tracked();
	while (ncleanups > 0)
		cleanups[--ncleanups]();
	if (cleanup_dir == NULL)
		return;
	if (keep_tmp)
		fprintf(stderr, "bench: kept %s\n", cleanup_dir);
	else
		rm_path(cleanup_dir);
}

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

void
row_add(struct table *t, const struct row *spec)
{
	struct row *r;

	if (t->n == MAX_ROWS)
		errx(EX_SOFTWARE, "too many rows; raise MAX_ROWS");
	r = &t->rows[t->n++];
	*r = *spec;
	/* Groups build figure names in buffers they reuse. */
	if ((r->figure = strdup(spec->figure)) == NULL ||
	    (spec->target_text != NULL &&
	    (r->target_text = strdup(spec->target_text)) == NULL))
		err(EX_OSERR, "strdup");
}

void
note_add(struct table *t, const char *fmt, ...)
{
	va_list ap;

	if (t->nnotes == MAX_NOTES)
		errx(EX_SOFTWARE, "too many notes; raise MAX_NOTES");
	va_start(ap, fmt);
	if (vasprintf(&t->notes[t->nnotes], fmt, ap) == -1)
		err(EX_OSERR, "vasprintf");
	va_end(ap);
	t->nnotes++;
}

static void
table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free((void *)(uintptr_t)t->rows[i].figure);
		free((void *)(uintptr_t)t->rows[i].target_text);
	}
	for (i = 0; i < t->nnotes; i++)
		free(t->notes[i]);
	free(t);
}

/* The file system type of path, from the mount table. */
static void
fs_type(const char *path, char *out, size_t outlen)
{
	struct stat st;
	char line[4096], *sep, *tok, *save;
	unsigned maj, min;
	FILE *f;
	int field;

	snprintf(out, outlen, "unknown");
	if (stat(path, &st) == -1 ||
	    (f = fopen("/proc/self/mountinfo", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SRC OPTS */
		tok = strtok_r(line, " ", &save);
		for (field = 1; tok != NULL && field < 3; field++)
			tok = strtok_r(NULL, " ", &save);
		if (tok == NULL || sscanf(tok, "%u:%u", &maj, &min) != 2 ||
		    makedev(maj, min) != st.st_dev)
			continue;
		if ((sep = strstr(save, " - ")) == NULL)
			continue;
		tok = strtok_r(sep + 3, " ", &save);
		if (tok != NULL) {
			snprintf(out, outlen, "%s", tok);
			break;
		}
	}
	fclose(f);
}

static void
print_machine(const struct bench *b)
{
	char line[512], cpu[256] = "unknown CPU", fs[64], *p;
	struct utsname u;
	long memkib = -1;
	FILE *f;

	if ((f = fopen("/proc/cpuinfo", "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, "model name", 10) != 0 ||
			    (p = strchr(line, ':')) == NULL)
				continue;
			for (p++; *p == ' ' || *p == '\t'; p++)
				;
			p[strcspn(p, "\n")] = '\0';
			snprintf(cpu, sizeof(cpu), "%s", p);
			break;
		}
		fclose(f);
	}
	if ((f = fopen("/proc/meminfo", "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "MemTotal: %ld kB", &memkib) == 1)
				break;
		fclose(f);
	}
	if (uname(&u) == -1)
		err(EX_OSERR, "uname");
	fs_type(b->tmpdir, fs, sizeof(fs));
	printf("machine: %s, %ld cores, %.1f GiB RAM, %s %s %s, bench dir %s "
	    "on %s\n", cpu, sysconf(_SC_NPROCESSORS_ONLN),
	    (double)memkib / (1024 * 1024), u.sysname, u.release, u.machine,
	    b->tmpdir, fs);
	printf("stream: %" PRIu64 " bytes, %" PRIu64 " records (%s: %" PRIu64
	    " records, %" PRIu64 " passes, serials renumbered); intake: median "
	    "of %u runs each; every other figure: median of %u runs; MB = "
	    "10^6 bytes; input read from the page cache\n\n",
	    b->stream_bytes, b->stream_records, b->sample, b->sample_records,
	    b->repeats, b->runs, b->e2e_runs);
}

static void
fmt_value(char *buf, size_t len, double v, int prec)
{
	if (isfinite(v))
		snprintf(buf, len, "%.*f", prec, v);
	else
		snprintf(buf, len, "-");
}

#define NCOLS 6

static void
print_table(const struct table *t)
{
	static char cells[MAX_ROWS + 1][NCOLS][160];
	size_t width[NCOLS] = { 0 }, i, c, len;
	const char *base_hdr = NULL, *verdict;
	double ratio;
	int mixed = 0;

	for (i = 0; i < t->n; i++) {
		if (t->rows[i].base_name == NULL)
			continue;
		if (base_hdr == NULL)
			base_hdr = t->rows[i].base_name;
		else if (strcmp(base_hdr, t->rows[i].base_name) != 0)
			mixed = 1;
	}
	if (base_hdr == NULL || mixed)
		base_hdr = "baseline";

	snprintf(cells[0][0], sizeof(cells[0][0]), "figure");
	snprintf(cells[0][1], sizeof(cells[0][1]), "audisp-dist");
	snprintf(cells[0][2], sizeof(cells[0][2]), "%s", base_hdr);
	snprintf(cells[0][3], sizeof(cells[0][3]), "ratio");
	snprintf(cells[0][4], sizeof(cells[0][4]), "target");
	snprintf(cells[0][5], sizeof(cells[0][5]), "met?");
	for (i = 0; i < t->n; i++) {
		const struct row *r = &t->rows[i];
		char (*cell)[160] = cells[i + 1];

		ratio = !r->no_ratio && isfinite(r->ours) &&
		    isfinite(r->base) && r->base > 0 ? r->ours / r->base : NAN;
		snprintf(cell[0], sizeof(cell[0]), "%s", r->figure);
		fmt_value(cell[1], sizeof(cell[1]), r->ours, r->prec);
		fmt_value(cell[2], sizeof(cell[2]), r->base, r->prec);
		if (mixed && r->base_name != NULL && isfinite(r->base)) {
			len = strlen(cell[2]);
			snprintf(cell[2] + len, sizeof(cell[2]) - len, " (%s)",
			    r->base_name);
		}
		fmt_value(cell[3], sizeof(cell[3]), ratio, 2);
		snprintf(cell[4], sizeof(cell[4]), "%s",
		    r->target_text != NULL ? r->target_text : "-");
		switch (r->kind) {
		case TGT_RATIO_MIN:
			verdict = !isfinite(ratio) ? "?" :
			    ratio >= r->target ? "yes" : "NO";
			break;
		case TGT_OURS_BELOW:
			verdict = !isfinite(r->ours) ? "?" :
			    r->ours < r->target ? "yes" : "NO";
			break;
		case TGT_OURS_MIN:
			verdict = !isfinite(r->ours) ? "?" :
			    r->ours >= r->target ? "yes" : "NO";
			break;
		default:
			verdict = "-";
			break;
		}
		snprintf(cell[5], sizeof(cell[5]), "%s", verdict);
	}
	for (i = 0; i <= t->n; i++)
		for (c = 0; c < NCOLS; c++)
			if ((len = strlen(cells[i][c])) > width[c])
				width[c] = len;
	for (i = 0; i <= t->n; i++) {
		for (c = 0; c < NCOLS; c++)
			/* Text left, numbers right. */
			printf(c == 0 || c >= 4 ? "| %-*s " : "| %*s ",
			    (int)width[c], cells[i][c]);
		printf("|\n");
		if (i == 0) {
			for (c = 0; c < NCOLS; c++) {
				printf(c == 0 || c >= 4 ? "|:" : "|-");
				for (len = 0; len < width[c]; len++)
					putchar('-');
				printf(c == 0 || c >= 4 ? "-" : ":");
			}
			printf("|\n");
		}
	}
}

/* -g intake,e2e,...: the groups to run. */
static unsigned
parse_groups(const char *arg)
{
	char *copy, *tok, *save;
	unsigned mask = 0;
	size_t g;

	if ((copy = strdup(arg)) == NULL)
		err(EX_OSERR, "strdup");
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
			if (strcmp(tok, groups[g].name) == 0)
				break;
		if (g == sizeof(groups) / sizeof(groups[0]))
			errx(EX_USAGE, "-g: no group %s (intake, e2e, latency, "
			    "fanin, fleet, impact, wan, nats, memory)", tok);
		mask |= groups[g].bit;
	}
	free(copy);
	return mask;
}

static unsigned long
number(int ch, const char *arg, unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > max)
		errx(EX_USAGE, "-%c %s: out of range (1..%lu)", ch, arg, max);
	return v;
}

int
main(int argc, char *argv[])
{
	struct bench b;
	struct table *t;
	struct statvfs sv;
	struct sigaction sa;
	char prog[PATH_MAX], dir[PATH_MAX], tmpl[PATH_MAX];
	const char *dirarg = DEFAULT_DIR;
	uint64_t need;
	unsigned wan_flag = 0;
	size_t g;
	int ch;

	if (argc == 2 && strcmp(argv[1], BENCH_READER_ARG) == 0)
		return impact_reader();
	memset(&b, 0, sizeof(b));
	b.sample = DEFAULT_SAMPLE;
	b.runs = DEFAULT_RUNS;
	b.e2e_runs = DEFAULT_E2E_RUNS;
	b.lat_secs = DEFAULT_LAT_SEC;
	b.fanin = DEFAULT_FANIN;
	b.fanin_n = DEFAULT_FANIN_N;
	b.fanin_rate = DEFAULT_FANIN_RATE;
	b.secs = DEFAULT_SECS;
	b.wan_ar_records = DEFAULT_WAN_AR;
	/* fleet runs the fan-in of fanin at 1,000 senders and more. */
	b.groups = G_INTAKE | G_E2E | G_LATENCY | G_FLEET | G_IMPACT |
	    G_NATS | G_MEMORY;
	b.size = (uint64_t)DEFAULT_MIB << 20;
	b.e2e_size = (uint64_t)DEFAULT_E2E_MIB << 20;
	b.ar_records = DEFAULT_AR_RECS;
	b.bindir = getenv("B") != NULL ? getenv("B") : "build";

	while ((ch = getopt(argc, argv, "A:a:c:d:e:f:g:hi:j:kl:n:p:r:s:t:w")) !=
	    -1) {
		switch (ch) {
		case 'A':
			b.wan_ar_records = number(ch, optarg, 100000000UL);
			break;
		case 'a':
			b.ar_records = number(ch, optarg, 100000000UL);
			break;
		case 'c':
			b.fanin = (unsigned)number(ch, optarg, 500);
			break;
		case 'd':
			dirarg = optarg;
			break;
		case 'e':
			b.e2e_size = (uint64_t)number(ch, optarg, 1UL << 20)
			    << 20;
			break;
		case 'f':
			b.fanin_n = (unsigned)number(ch, optarg, 10000);
			break;
		case 'g':
			b.groups = parse_groups(optarg);
			break;
		case 'i':
			b.sample = optarg;
			break;
		case 'j':
			b.load_jobs = (unsigned)number(ch, optarg, 256);
			break;
		case 'k':
			keep_tmp = 1;
			break;
		case 'l':
			b.lat_secs = (unsigned)number(ch, optarg, 600);
			break;
		case 'n':
			b.runs = (unsigned)number(ch, optarg, 1000);
			break;
		case 'p':
			b.fanin_rate = (unsigned)number(ch, optarg, 100000);
			break;
		case 'r':
			b.e2e_runs = (unsigned)number(ch, optarg, 1000);
			break;
		case 's':
			b.size = (uint64_t)number(ch, optarg, 1UL << 20) << 20;
			break;
		case 't':
			b.secs = (unsigned)number(ch, optarg, 600);
			break;
		case 'w':
			wan_flag = G_WAN;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	b.groups |= wan_flag;

	snprintf(prog, sizeof(prog), "%s/audisp-dist", b.bindir);
	if (access(prog, X_OK) == -1)
		err(EX_UNAVAILABLE, "%s (build it with make; set B to its "
		    "directory)", prog);
	if (access(CAT_PATH, X_OK) == -1)
		err(EX_UNAVAILABLE, "%s", CAT_PATH);
	if (access(b.sample, R_OK) == -1)
		err(EX_NOINPUT, "%s: the recorded sample of real audit records "
		    "is needed to build the input stream", b.sample);
	if (realpath(dirarg, dir) == NULL)
		err(EX_CANTCREAT, "%s", dirarg);
	/*
	 * The stream plus one output at a time (the end-to-end runs keep a
	 * spool, a trail and a TLS copy), with some slack.
	 */
	if (b.e2e_size > b.size)
		b.e2e_size = b.size;
	need = b.size * 22 / 10 + 3 * b.e2e_size;
	if (statvfs(dir, &sv) == -1)
		err(EX_CANTCREAT, "%s", dir);
	if ((double)sv.f_bavail * (double)sv.f_frsize < (double)need)
		errx(EX_CANTCREAT, "%s: needs %" PRIu64 " MiB free for a %"
		    PRIu64 " MiB stream", dir, need >> 20, b.size >> 20);

	owner_pid = getpid();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A program that dies under us must not take the bench with it. */
	signal(SIGPIPE, SIG_IGN);
	if (atexit(cleanup) != 0)
		errx(EX_OSERR, "atexit");
	umask(077);

	if ((size_t)snprintf(tmpl, sizeof(tmpl), "%s/auditdist-bench.XXXXXX",
	    dir) >= sizeof(tmpl))
		errx(EX_USAGE, "%s: path too long", dir);
	if ((b.tmpdir = mkdtemp(tmpl)) == NULL)
		err(EX_CANTCREAT, "mkdtemp %s", tmpl);
	cleanup_dir = b.tmpdir;
	/*
	 * The forwarder and the receiver drop to an unprivileged user and
	 * open the directories below this one (the receiver opens each
	 * directory of its path, which needs read permission).  Every file
	 * in it is 0600.
	 */
	if (chmod(b.tmpdir, 0755) == -1)
		err(EX_CANTCREAT, "chmod %s", b.tmpdir);
	snprintf(b.stream, sizeof(b.stream), "%s/stream.log", b.tmpdir);
	snprintf(b.conf, sizeof(b.conf), "%s/audisp-dist.conf", b.tmpdir);
	snprintf(b.spool, sizeof(b.spool), "%s/spool", b.tmpdir);
	snprintf(b.catout, sizeof(b.catout), "%s/cat.out", b.tmpdir);
	snprintf(b.errlog, sizeof(b.errlog), "%s/stderr.log", b.tmpdir);

	fprintf(stderr, "bench: building a %" PRIu64 " MiB stream from %s\n",
	    b.size >> 20, b.sample);
	build_stream(&b);

	if ((t = calloc(1, sizeof(*t))) == NULL)
		err(EX_OSERR, "calloc");
	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		if (!(b.groups & groups[g].bit))
			continue;
		if (interrupted)
			errx(EX_TEMPFAIL, "interrupted");
		fprintf(stderr, "bench: %s\n", groups[g].name);
		groups[g].run(&b, t);
	}
	rm_path(b.spool);
	rm_path(b.catout);

	print_machine(&b);
	print_table(t);
	if (t->nnotes > 0)
		printf("\n");
	for (g = 0; g < t->nnotes; g++)
		printf("- %s\n", t->notes[g]);
	table_free(t);
	if (bench_incomplete) {
		fprintf(stderr, "bench: some figures could not be measured "
		    "(\"-\" in the table); see above\n");
		return EX_UNAVAILABLE;
	}
	return 0;
}
