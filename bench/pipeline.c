/*
 * Our shipping pipeline as the end-to-end groups run it: a throwaway TLS
 * certificate, auditdistd on 127.0.0.1, and audisp-dist fed through a
 * socketpair as auditd feeds it, shipping to that receiver.
 *
 * Acknowledgements are observed without changing the product: audisp-dist
 * run with -d logs one line for every position its forwarder reports as
 * durable at the receiver ("forwarder: HOST holds segment SEQ up to SIZE"),
 * and the bench reads its stderr through a pipe and stamps each line as
 * it arrives.  The receiver's index (the .idx files in .store) then maps each
 * (segment, size) to a byte offset of the input stream.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "auth.h"
#include "bench.h"
#include "tlsio.h"

#define ACK_TAG		"holds segment "
#define START_TIMEOUT	20.0	/* s for a program to listen or connect */
#define STOP_TIMEOUT	20.0	/* s for a program to exit when told */

static void
check_quotable(const char *s)
{
	if (strpbrk(s, "\"\\\n") != NULL)
		errx(EX_USAGE, "%s: a character the config cannot quote", s);
}

/* A self-signed EC certificate for the receiver, its pin and a password. */
void
tls_setup(struct bench *b)
{
	const char *argv[20];
	uint8_t raw[24];
	size_t i, n = 0;
	pid_t pid;

	if (b->tls_ready)
		return;
	if (access(OPENSSL_PATH, X_OK) == -1)
		err(EX_UNAVAILABLE, "%s (needed for a throwaway certificate)",
		    OPENSSL_PATH);
	snprintf(b->cert, sizeof(b->cert), "%s/recv.pem", b->tmpdir);
	snprintf(b->key, sizeof(b->key), "%s/recv.key", b->tmpdir);
	argv[n++] = OPENSSL_PATH;
	argv[n++] = "req";
	argv[n++] = "-x509";
	argv[n++] = "-newkey";
	argv[n++] = "ec";
	argv[n++] = "-pkeyopt";
	argv[n++] = "ec_paramgen_curve:prime256v1";
	argv[n++] = "-nodes";
	argv[n++] = "-days";
	argv[n++] = "2";
	argv[n++] = "-subj";
	argv[n++] = "/CN=localhost";
	argv[n++] = "-addext";
	argv[n++] = "subjectAltName=IP:127.0.0.1";
	argv[n++] = "-keyout";
	argv[n++] = b->key;
	argv[n++] = "-out";
	argv[n++] = b->cert;
	argv[n] = NULL;
	pid = spawn(argv, -1, NULL, b->errlog);
	reap_checked(pid, "openssl req", NULL, b->errlog);
	if (chmod(b->cert, 0644) == -1)
		err(EX_SOFTWARE, "%s", b->cert);
	if (tlsio_file_fingerprint(b->cert, b->fingerprint) == -1)
		errx(EX_SOFTWARE, "%s: cannot compute its fingerprint",
		    b->cert);
	if (auth_random(raw, sizeof(raw)) == -1)
		errx(EX_SOFTWARE, "no random bytes for a password");
	for (i = 0; i < sizeof(raw); i++)
		snprintf(b->password + 2 * i, 3, "%02x", raw[i]);
	b->fwd_user = getpwnam("auditdist") != NULL ? "auditdist" : "nobody";
	b->tls_ready = 1;
}

/*
 * The password of host fanI: 48 hex digits derived from the bench's
 * random password, so that every host has its own.
 */
void
host_password(const struct bench *b, unsigned i, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char in[sizeof(b->password) + 16];
	unsigned mdlen, k;
	int n;

	n = snprintf(in, sizeof(in), "%s:%u", b->password, i);
	if (EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1)
		errx(EX_SOFTWARE, "SHA-256 failed");
	for (k = 0; k < 24; k++)
		snprintf(out + 2 * k, 3, "%02x", md[k]);
}

/*
 * The address host fanI connects from: 127.1.A.B on loopback, its own,
 * as the hosts of a fleet each have theirs (the receiver limits the
 * handshakes in progress per address).
 */
void
fan_addr(unsigned i, char *out, size_t len)
{
	snprintf(out, len, "127.1.%u.%u", 1 + (i - 1) / 250, 1 + (i - 1) % 250);
}

/* Where the receiver writes its status file and the auditor its state. */
static void
state_dir(const struct bench *b, struct recv *r, const char *tag)
{
	struct passwd *pw;

	snprintf(r->state, sizeof(r->state), "%s/rstate-%s", b->tmpdir, tag);
	check_quotable(r->state);
	rm_path(r->state);
	if (mkdir(r->state, 0755) == -1)
		err(EX_CANTCREAT, "%s", r->state);
	if (geteuid() == 0 && (pw = getpwnam(b->fwd_user)) != NULL &&
	    chown(r->state, pw->pw_uid, pw->pw_gid) == -1)
		err(EX_OSERR, "chown %s", r->state);
}

/* The receiver's config for recv_start. */
static void
recv_conf(const struct bench *b, const struct recv *r, unsigned nhosts,
    unsigned timeout, int with_user)
{
	char pw[65], addr[32], *text = NULL;
	size_t len = 0;
	unsigned i;
	FILE *m;

	if ((m = open_memstream(&text, &len)) == NULL)
		err(EX_OSERR, "open_memstream");
	fprintf(m, "pidfile none\ntimeout %u\nreceiver {\n"
	    "\tlisten \"tls://127.0.0.1:%d\"\n\tdirectory \"%s\"\n"
	    "\tcertfile \"%s\"\n\tkeyfile \"%s\"\n", timeout, r->port, r->dir,
	    b->cert, b->key);
	if (with_user)
		fprintf(m, "\tuser \"%s\"\n", b->fwd_user);
	/* Health reports and the serial-gap auditor on, as by default. */
	fprintf(m, "\tstatus_file \"%s/status\"\n", r->state);
	/* BENCH_SERIAL_GAPS=no: the auditor off, to see what it costs. */
	if (getenv("BENCH_SERIAL_GAPS") != NULL &&
	    strcmp(getenv("BENCH_SERIAL_GAPS"), "no") == 0)
		fprintf(m, "\tserial_gaps no\n");
	for (i = 1; i <= nhosts; i++) {
		if (nhosts == 1) {
			fprintf(m, "\thost %s {\n", SENDER_HOST);
			snprintf(pw, sizeof(pw), "%s", b->password);
			snprintf(addr, sizeof(addr), "127.0.0.1");
		} else {
			fprintf(m, "\thost fan%u {\n", i);
			host_password(b, i, pw);
			if (b->fan_own_addrs)
				fan_addr(i, addr, sizeof(addr));
			else
				snprintf(addr, sizeof(addr), "127.0.0.1");
		}
		fprintf(m, "\t\tremote \"tls://%s\"\n"
		    "\t\tpassword \"%s\"\n\t}\n", addr, pw);
	}
	if (b->recv_extra != NULL)
		fputs(b->recv_extra, m);
	fprintf(m, "}\n");
	if (fclose(m) == EOF)
		err(EX_OSERR, "open_memstream");
	if (write_file(r->conf, 0600, "%s", text) == -1)
		err(EX_CANTCREAT, "%s", r->conf);
	free(text);
}

/*
 * Start auditdistd on a free port of 127.0.0.1 with a new trail directory
 * and nhosts host blocks: "bench" when there is one, else fan1, fan2...,
 * each with its own password (host_password).
 */
void
recv_start(struct bench *b, struct recv *r, const char *tag, unsigned nhosts,
    unsigned timeout)
{
	char prog[PATH_MAX];
	const char *argv[4];
	pid_t pid;
	int status;

	tls_setup(b);
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "%s/trails-%s", b->tmpdir, tag);
	snprintf(r->conf, sizeof(r->conf), "%s/recv-%s.conf", b->tmpdir, tag);
	snprintf(r->log, sizeof(r->log), "%s/recv-%s.log", b->tmpdir, tag);
	check_quotable(r->dir);
	rm_path(r->dir);
	if (mkdir(r->dir, 0700) == -1)
		err(EX_CANTCREAT, "%s", r->dir);
	state_dir(b, r, tag);
	r->port = free_port();

	recv_conf(b, r, nhosts, timeout, b->recv_user != RECV_USER_NO);
	snprintf(prog, sizeof(prog), "%s/auditdistd", b->bindir);
	if (b->recv_user == RECV_USER_UNKNOWN) {
		/*
		 * A receiver that drops privileges takes "user" in its
		 * block (the user the forwarder runs as); one that does
		 * not refuses the keyword.
		 */
		argv[0] = prog;
		argv[1] = "-n";
		argv[2] = r->conf;
		argv[3] = NULL;
		pid = spawn(argv, -1, NULL, r->log);
		b->recv_user = stop_proc(pid, 0, 20, &status) == 0 &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0 ?
		    RECV_USER_YES : RECV_USER_NO;
		if (b->recv_user == RECV_USER_NO)
			recv_conf(b, r, nhosts, timeout, 0);
	}

	recv_restart(b, r);
}

/*
 * Start the receiver of r again, on its config, port and trails (after
 * recv_stop); return when it listens.
 */
void
recv_restart(struct bench *b, struct recv *r)
{
	char prog[PATH_MAX];
	const char *argv[4];
	double deadline;

	snprintf(prog, sizeof(prog), "%s/auditdistd", b->bindir);
	argv[0] = prog;
	argv[1] = "-f";
	argv[2] = r->conf;
	argv[3] = NULL;
	r->pid = spawn(argv, -1, NULL, r->log);
	deadline = now() + START_TIMEOUT;
	while (tcp_count(r->port, 0, 0x0A) == 0) {
		if (!proc_alive(r->pid) || now() > deadline || interrupted) {
			show_errlog(r->log);
			errx(EX_SOFTWARE, "auditdistd did not listen on "
			    "127.0.0.1:%d (config %s)", r->port, r->conf);
		}
		sleep_s(0.005);
	}
}

/*
 * Would a receiver with nhosts host blocks start here?  0 when it would;
 * -1 with why set to what it says when it would not (it checks its
 * descriptor and process limits at the start and with -n).
 */
int
recv_fits(struct bench *b, unsigned nhosts, char *why, size_t len)
{
	char prog[PATH_MAX], line[1024], *p;
	unsigned long long need, lim;
	const char *argv[4];
	struct recv r;
	int status, ok;
	pid_t pid;
	FILE *f;

	tls_setup(b);
	memset(&r, 0, sizeof(r));
	snprintf(r.dir, sizeof(r.dir), "%s/trails-probe", b->tmpdir);
	snprintf(r.conf, sizeof(r.conf), "%s/recv-probe.conf", b->tmpdir);
	snprintf(r.log, sizeof(r.log), "%s/recv-probe.log", b->tmpdir);
	rm_path(r.dir);
	if (mkdir(r.dir, 0700) == -1)
		err(EX_CANTCREAT, "%s", r.dir);
	state_dir(b, &r, "probe");
	r.port = free_port();
	recv_conf(b, &r, nhosts, 60, b->recv_user != RECV_USER_NO);
	snprintf(prog, sizeof(prog), "%s/auditdistd", b->bindir);
	argv[0] = prog;
	argv[1] = "-n";
	argv[2] = r.conf;
	argv[3] = NULL;
	pid = spawn(argv, -1, NULL, r.log);
	ok = stop_proc(pid, 0, 60, &status) == 0 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0;
	snprintf(why, len, "auditdistd -n exited with status 0x%x", status);
	if (!ok && (f = fopen(r.log, "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if ((p = strstr(line, " need ")) != NULL &&
			    sscanf(p, " need %llu descriptors, the limit is "
			    "%llu", &need, &lim) == 2)
				snprintf(why, len, "needs %llu descriptors, "
				    "limit %llu", need, lim);
			else if (p != NULL || why[0] == 'a')
				snprintf(why, len, "%s", line);
		}
		fclose(f);
	}
	rm_path(r.dir);
	unlink(r.conf);
	unlink(r.log);
	return ok ? 0 : -1;
}

/*
 * SIGTERM and reap the receiver; in *hwm its peak RSS (KiB), summed over
 * its processes when it has several.
 */
void
recv_stop(struct recv *r, long *hwm)
{
	int status;

	if (hwm != NULL)
		*hwm = proctree_status_sum(r->pid, "VmHWM");
	if (stop_proc(r->pid, SIGTERM, STOP_TIMEOUT, &status) == -1) {
		show_errlog(r->log);
		errx(EX_SOFTWARE, "auditdistd did not exit within %.0f s of "
		    "SIGTERM", STOP_TIMEOUT);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		show_errlog(r->log);
		errx(EX_SOFTWARE, "auditdistd exited with status 0x%x after "
		    "SIGTERM", status);
	}
	r->pid = -1;
}

void
recv_host_dir(const struct recv *r, const char *host, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", r->dir, host);
}

/*
 * Start audisp-dist -d with stdin one end of a socketpair (the bench keeps
 * the other, s->sock) and stderr a pipe to the bench (s->err), shipping
 * to r as host "bench".
 */
void
sender_start(struct bench *b, struct sender *s, const struct recv *r,
    const char *tag)
{
	char prog[PATH_MAX];
	const char *argv[4];
	struct spawn sp;
	int sv[2], pe[2];

	memset(s, 0, sizeof(*s));
	s->fwd = -1;
	snprintf(s->spool, sizeof(s->spool), "%s/spool-%s", b->tmpdir, tag);
	snprintf(s->conf, sizeof(s->conf), "%s/sender-%s.conf", b->tmpdir,
	    tag);
	snprintf(s->log, sizeof(s->log), "%s/sender-%s.log", b->tmpdir, tag);
	check_quotable(s->spool);
	rm_path(s->spool);
	if (mkdir(s->spool, 0700) == -1)
		err(EX_CANTCREAT, "%s", s->spool);
	/* flush none: the receiver's ack is what makes a record safe here. */
	if (write_file(s->conf, 0600, "name \"%s\"\npidfile none\n"
	    "sender {\n\tdirectory \"%s\"\n\tspool_max_size 0\n"
	    "\tspool_min_free 0\n\tflush none\n\tuser %s\n"
	    "\thost recv {\n\t\tremote \"tls://127.0.0.1:%d\"\n"
	    "\t\tfingerprint \"%s\"\n\t\tpassword \"%s\"\n\t}\n}\n",
	    SENDER_HOST, s->spool, b->fwd_user, r->port, b->fingerprint,
	    b->password) == -1)
		err(EX_CANTCREAT, "%s", s->conf);
	if ((s->logfd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND |
	    O_CLOEXEC, 0600)) == -1)
		err(EX_CANTCREAT, "%s", s->log);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    pipe2(pe, O_CLOEXEC) == -1)
		err(EX_OSERR, "socketpair");
	snprintf(prog, sizeof(prog), "%s/audisp-dist", b->bindir);
	argv[0] = prog;
	argv[1] = "-d";
	argv[2] = s->conf;
	argv[3] = NULL;
	memset(&sp, 0, sizeof(sp));
	sp.argv = argv;
	sp.in_fd = sv[0];
	sp.out_fd = -1;
	sp.err_fd = pe[1];
	s->pid = spawn_ex(&sp);
	close(sv[0]);
	close(pe[1]);
	s->sock = sv[1];
	s->err = pe[0];
	if (fcntl(s->err, F_SETFL, O_NONBLOCK) == -1)
		err(EX_OSERR, "fcntl");
}

static void
sender_line(struct sender *s, const char *line)
{
	const char *p;
	struct ack *a;
	uint64_t seq, size;

	if ((p = strstr(line, ACK_TAG)) != NULL &&
	    sscanf(p + sizeof(ACK_TAG) - 1, "%" SCNx64 " up to %" SCNu64,
	    &seq, &size) == 2) {
		if (s->nacks == s->acap) {
			s->acap = s->acap ? s->acap * 2 : 1024;
			s->acks = reallocarray(s->acks, s->acap,
			    sizeof(*s->acks));
			if (s->acks == NULL)
				err(EX_OSERR, "malloc");
		}
		a = &s->acks[s->nacks++];
		a->t = now();
		a->seq = seq;
		a->size = size;
	} else if (strstr(line, "connected to") != NULL)
		s->connected = 1;
}

/* Take what audisp-dist said; never blocks. */
void
sender_read(struct sender *s)
{
	char buf[8192];
	ssize_t n, i;

	while (!s->eof) {
		n = read(s->err, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			s->eof = 1;
			return;
		}
		if (write(s->logfd, buf, (size_t)n) != n)
			err(EX_IOERR, "%s", s->log);
		for (i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (s->linelen < sizeof(s->line) - 1)
					s->line[s->linelen++] = buf[i];
				continue;
			}
			s->line[s->linelen] = '\0';
			sender_line(s, s->line);
			s->linelen = 0;
		}
	}
}

void
sender_fail(struct sender *s, const struct recv *r, const char *fmt, ...)
{
	va_list ap;

	sender_read(s);
	show_errlog(s->log);
	if (r != NULL)
		show_errlog(r->log);
	va_start(ap, fmt);
	verrx(EX_SOFTWARE, fmt, ap);
	va_end(ap);
}

/* Does the last line of the spool's status file hold the word? */
int
spool_status_has(const char *spool, const char *word)
{
	char path[PATH_MAX + 16], buf[4096], *last;
	ssize_t n;
	off_t size;
	int fd;

	snprintf(path, sizeof(path), "%s/status", spool);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	size = lseek(fd, 0, SEEK_END);
	n = size > 0 ? pread(fd, buf, sizeof(buf) - 1,
	    size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 :
	    0) : 0;
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	last = strrchr(buf, '\n');
	return strstr(last != NULL ? last : buf, word) != NULL;
}

static int
status_connected(const struct sender *s)
{
	return spool_status_has(s->spool, "=connected");
}

/* Until the forwarder is connected and authenticated. */
void
sender_wait_connected(struct sender *s, const struct recv *r)
{
	struct pollfd pfd = { s->err, POLLIN, 0 };
	double deadline = now() + START_TIMEOUT;

	while (!s->connected && !status_connected(s)) {
		if (!proc_alive(s->pid))
			sender_fail(s, r, "audisp-dist exited before it "
			    "connected");
		if (now() > deadline || interrupted)
			sender_fail(s, r, "audisp-dist's forwarder did not "
			    "connect to 127.0.0.1:%d within %.0f s", r->port,
			    START_TIMEOUT);
		poll(&pfd, 1, 10);
		sender_read(s);
	}
	s->fwd = child_of(s->pid);
}

/* The forwarder's private (anonymous) memory now; the peak is kept. */
void
sender_sample(struct sender *s)
{
	long v;

	if (s->fwd > 0 && (v = proc_kib(s->fwd, "RssAnon")) > s->fwd_anon_kib)
		s->fwd_anon_kib = v;
}

/*
 * End of input: audisp-dist must exit 0 and its forwarder follow.  Their
 * peak RSS (VmHWM, KiB, read just before) go to *plugin_hwm, *fwd_hwm.
 */
void
sender_stop(struct sender *s, long *plugin_hwm, long *fwd_hwm)
{
	struct pollfd pfd[2];
	double deadline;
	int status;

	if (s->fwd <= 0)
		s->fwd = child_of(s->pid);
	sender_sample(s);
	if (fwd_hwm != NULL)
		*fwd_hwm = s->fwd > 0 ? proc_kib(s->fwd, "VmHWM") : -1;
	if (plugin_hwm != NULL)
		*plugin_hwm = proc_kib(s->pid, "VmHWM");
	close(s->sock);
	s->sock = -1;

	pfd[0].fd = s->err;
	pfd[0].events = POLLIN;
	pfd[1].fd = pidfd_of(s->pid);
	pfd[1].events = POLLIN;
	deadline = now() + STOP_TIMEOUT;
	for (;;) {
		pfd[0].revents = pfd[1].revents = 0;
		pfd[0].fd = s->eof ? -1 : s->err;
		poll(pfd, 2, 20);
		sender_read(s);
		if (pfd[1].revents & POLLIN)
			break;
		if (now() > deadline)
			sender_fail(s, NULL, "audisp-dist did not exit within "
			    "%.0f s of the end of its input", STOP_TIMEOUT);
	}
	close(pfd[1].fd);
	while (waitpid(s->pid, &status, 0) == -1 && errno == EINTR)
		;
	untrack_pid(s->pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		sender_fail(s, NULL, "audisp-dist exited with status 0x%x at "
		    "the end of its input", status);
	/* The forwarder holds the pipe too: EOF means it is gone. */
	deadline = now() + STOP_TIMEOUT;
	pfd[0].fd = s->err;
	while (!s->eof) {
		poll(pfd, 1, 20);
		sender_read(s);
		if (now() > deadline) {
			if (s->fwd > 0)
				kill(s->fwd, SIGKILL);
			sender_fail(s, NULL, "the forwarder outlived "
			    "audisp-dist by %.0f s", STOP_TIMEOUT);
		}
	}
	close(s->err);
	close(s->logfd);
	s->err = s->logfd = -1;
}

void
sender_free(struct sender *s)
{
	free(s->acks);
	s->acks = NULL;
	s->nacks = s->acap = 0;
}

static int
is_store_name(const char *name)
{
	size_t i;

	for (i = 0; i < 16; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		    (name[i] >= 'a' && name[i] <= 'f') ||
		    (name[i] >= 'A' && name[i] <= 'F')))
			return 0;
	return name[16] == '\0';
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The trail files of a host in .store, oldest first; their count. */
static size_t
store_files(const char *hostdir, char ***namesp)
{
	char path[PATH_MAX], **names = NULL;
	struct dirent *de;
	size_t n = 0, cap = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/.store", hostdir);
	*namesp = NULL;
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (!is_store_name(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((names = reallocarray(names, cap,
			    sizeof(*names))) == NULL)
				err(EX_OSERR, "malloc");
		}
		if ((names[n++] = strdup(de->d_name)) == NULL)
			err(EX_OSERR, "strdup");
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_name);
	*namesp = names;
	return n;
}

static void
free_names(char **names, size_t n)
{
	while (n > 0)
		free(names[--n]);
	free(names);
}

/* Bytes the receiver holds for a host. */
uint64_t
trail_bytes(const char *hostdir)
{
	char path[PATH_MAX * 2], **names;
	uint64_t total = 0;
	int64_t sz;
	size_t n, i;

	n = store_files(hostdir, &names);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/.store/%s", hostdir, names[i]);
		if ((sz = file_size(path)) > 0)
			total += (uint64_t)sz;
	}
	free_names(names, n);
	return total;
}

/*
 * Where each sender segment starts in the host's whole trail (= in the
 * input stream, as every run ships one stream from its start), from the
 * "S SPOOLID SEQ OFFSET" lines of the index of each trail file.
 */
int
trail_seqmap(const char *hostdir, struct seqmap *m)
{
	char path[PATH_MAX * 2], line[256], id[64], **names;
	uint64_t base = 0, seq, off;
	size_t n, i, cap = 0;
	int64_t sz;
	FILE *f;

	seqmap_free(m);
	n = store_files(hostdir, &names);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/.store/%s.idx", hostdir,
		    names[i]);
		if ((f = fopen(path, "re")) != NULL) {
			while (fgets(line, sizeof(line), f) != NULL) {
				if (sscanf(line, "S %63s %" SCNx64 " %" SCNu64,
				    id, &seq, &off) != 3)
					continue;
				if (m->n == cap) {
					cap = cap ? cap * 2 : 64;
					m->seq = reallocarray(m->seq, cap,
					    sizeof(*m->seq));
					m->start = reallocarray(m->start, cap,
					    sizeof(*m->start));
					if (m->seq == NULL || m->start == NULL)
						err(EX_OSERR, "malloc");
				}
				m->seq[m->n] = seq;
				m->start[m->n++] = base + off;
			}
			fclose(f);
		}
		snprintf(path, sizeof(path), "%s/.store/%s", hostdir, names[i]);
		if ((sz = file_size(path)) > 0)
			base += (uint64_t)sz;
	}
	free_names(names, n);
	return m->n > 0 ? 0 : -1;
}

/* The stream offset of (seq, size); -1 when seq is not in the map. */
int64_t
seqmap_offset(const struct seqmap *m, uint64_t seq, uint64_t size)
{
	size_t i;

	for (i = m->n; i > 0; i--)
		if (m->seq[i - 1] == seq)
			return (int64_t)(m->start[i - 1] + size);
	return -1;
}

void
seqmap_free(struct seqmap *m)
{
	free(m->seq);
	free(m->start);
	memset(m, 0, sizeof(*m));
}

/*
 * The host's trail, read as ausearch reads it (audit.log.N ... audit.log.1,
 * audit.log), must be the first len bytes of the stream; else abort.
 */
void
trail_verify(const struct bench *b, const char *hostdir, uint64_t len)
{
	char why[512];

	if (trail_check(b, hostdir, len, why, sizeof(why)) == -1)
		errx(EX_SOFTWARE, "the trail in %s is not the input: %s; the "
		    "run is broken, not measuring it", hostdir, why);
}

/* The same, but -1 with why set instead of aborting. */
int
trail_check(const struct bench *b, const char *hostdir, uint64_t len,
    char *why, size_t whylen)
{
	char **paths;
	int rc;
	size_t n = 0, i;
	char p[PATH_MAX + 32];

	for (;;) {
		snprintf(p, sizeof(p), "%s/audit.log.%zu", hostdir, n + 1);
		if (access(p, F_OK) == -1)
			break;
		n++;
	}
	if ((paths = calloc(n + 1, sizeof(*paths))) == NULL)
		err(EX_OSERR, "calloc");
	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/audit.log.%zu", hostdir, n - i);
		if ((paths[i] = strdup(p)) == NULL)
			err(EX_OSERR, "strdup");
	}
	snprintf(p, sizeof(p), "%s/audit.log", hostdir);
	if ((paths[n] = strdup(p)) == NULL)
		err(EX_OSERR, "strdup");
	rc = compare_files((const char *const *)paths, n + 1, b->stream, len,
	    why, whylen);
	for (i = 0; i <= n; i++)
		free(paths[i]);
	free(paths);
	return rc;
}
