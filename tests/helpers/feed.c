/*
 * feed: run a command with a file on its stdin the way auditd feeds a
 * plugin, through one end of an AF_UNIX stream socketpair, optionally
 * killing it with SIGKILL after a delay.
 *
 *   feed [-b BYTES] [-k USEC] [-o OFFSET] [-p FILE] [-r RATE] [-t SEC]
 *	[-w BYTES:FILE] INPUT CMD [ARG...]
 *
 *   -b BYTES	socket send buffer (SO_SNDBUFFORCE as root), so that the
 *		command can read more than the default ~200 KB at a time
 *   -k USEC	SIGKILL the command USEC microseconds after it was forked
 *		(0: at once, possibly before it even runs)
 *   -o OFFSET	start at byte OFFSET of INPUT
 *   -p FILE	keep the number of bytes written so far in FILE (replaced
 *		atomically after each write)
 *   -r RATE	write at most RATE bytes per second on average
 *   -t SEC	give up after SEC seconds (default 120): SIGKILL, exit 124
 *   -w BYTES:FILE  after writing BYTES, pause until FILE exists
 *
 * At the end of INPUT the socket is shut down for writing (the command
 * sees EOF); feed then waits for the command.  Its exit status is the
 * command's, or 128 + the signal that killed it.  It prints
 * "fed N bytes" on stderr.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE	(256 * 1024)

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
progress(const char *path, uint64_t n)
{
	char tmp[4096], buf[32];
	int fd, len;

	if (path == NULL)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	len = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", n);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) == -1 ||
	    write(fd, buf, (size_t)len) != len || close(fd) == -1 ||
	    rename(tmp, path) == -1) {
		perror(tmp);
		exit(2);
	}
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: feed [-b bytes] [-k usec] [-o offset] [-p file] "
	    "[-r rate] [-t sec] [-w bytes:file] input cmd [arg ...]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static char buf[BUF_SIZE];
	const char *prog_path = NULL, *go_path = NULL;
	int64_t kill_us = -1, start, deadline;
	uint64_t offset = 0, fed = 0, rate = 0, pause_at = UINT64_MAX;
	uint64_t shown = 0;
	size_t have = 0, off = 0;
	int sndbuf = 0;
	unsigned timeout = 120;
	int ch, sv[2], in, status, eof = 0, dead = 0, killed = 0;
	pid_t pid;

	while ((ch = getopt(argc, argv, "+b:k:o:p:r:t:w:")) != -1) {
		char *colon;

		switch (ch) {
		case 'w':
			pause_at = strtoull(optarg, &colon, 10);
			if (*colon != ':' || colon[1] == '\0')
				usage();
			go_path = colon + 1;
			break;
		case 'b':
			sndbuf = atoi(optarg);
			break;
		case 'r':
			rate = strtoull(optarg, NULL, 10);
			break;
		case 'k':
			kill_us = strtoll(optarg, NULL, 10);
			break;
		case 'o':
			offset = strtoull(optarg, NULL, 10);
			break;
		case 'p':
			prog_path = optarg;
			break;
		case 't':
			timeout = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		usage();
	if ((in = open(argv[0], O_RDONLY | O_CLOEXEC)) == -1) {
		perror(argv[0]);
		return 2;
	}
	if (lseek(in, (off_t)offset, SEEK_SET) == -1) {
		perror("lseek");
		return 2;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		perror("socketpair");
		return 2;
	}
	if (sndbuf > 0 &&
	    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf,
	    sizeof(sndbuf)) == -1 &&
	    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)) == -1) {
		perror("SO_SNDBUF");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	progress(prog_path, 0);
	start = now_us();
	if ((pid = fork()) == -1) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		/* Do not outlive the feeder (a test that died, a timeout). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(127);
		if (dup2(sv[1], STDIN_FILENO) == -1)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	close(sv[1]);
	if (fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) == -1) {
		perror("fcntl");
		return 2;
	}
	deadline = start + (int64_t)timeout * 1000000;
	if (kill_us >= 0 && start + kill_us < deadline)
		deadline = start + kill_us;

	while (!dead) {
		struct pollfd pfd = { sv[0], POLLOUT, 0 };
		int64_t t = now_us(), wait_ms;
		size_t len;
		ssize_t w;
		pid_t r;

		if (t >= deadline) {
			kill(pid, SIGKILL);
			killed = kill_us < 0 || start + kill_us > deadline ?
			    2 : 1;
			break;
		}
		if ((r = waitpid(pid, &status, WNOHANG)) == pid) {
			dead = 1;
			break;
		}
		if (!eof && have == off) {
			ssize_t n = read(in, buf, sizeof(buf));

			if (n == -1) {
				perror("read");
				kill(pid, SIGKILL);
				return 2;
			}
			if (n == 0) {
				eof = 1;
				shutdown(sv[0], SHUT_WR);
			}
			have = (size_t)n;
			off = 0;
		}
		wait_ms = (deadline - t + 999) / 1000;
		if (eof || have == off) {
			/* Nothing to write: wait for the child, in short naps. */
			struct timespec nap = { 0, 1000000 };

			if (wait_ms > 0)
				nanosleep(&nap, NULL);
			continue;
		}
		if (wait_ms > 20)
			wait_ms = 20;
		len = have - off;
		if (fed >= pause_at && go_path != NULL) {
			struct timespec nap = { 0, 5000000 };

			if (access(go_path, F_OK) == -1) {
				nanosleep(&nap, NULL);
				goto prog;
			}
			go_path = NULL;
		}
		if (go_path != NULL && len > pause_at - fed)
			len = (size_t)(pause_at - fed);
		if (rate > 0) {
			/* What the rate allows by now; else nap until it does. */
			uint64_t allowed = (uint64_t)(t - start) * rate / 1000000;

			if (allowed <= fed) {
				struct timespec nap = { 0, 1000000 };

				nanosleep(&nap, NULL);
				goto prog;
			}
			if (len > allowed - fed)
				len = (size_t)(allowed - fed);
		}
		if (poll(&pfd, 1, (int)wait_ms) <= 0)
			goto prog;
		w = write(sv[0], buf + off, len);
		if (w == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			/* The child went away; find out how below. */
			eof = 1;
			have = off = 0;
			continue;
		}
		off += (size_t)w;
		fed += (uint64_t)w;
prog:
		if (prog_path != NULL && fed != shown) {
			progress(prog_path, fed);
			shown = fed;
		}
	}
	if (!dead && waitpid(pid, &status, 0) != pid) {
		perror("waitpid");
		return 2;
	}
	progress(prog_path, fed);
	fprintf(stderr, "fed %" PRIu64 " bytes\n", fed);
	if (killed == 2) {
		fprintf(stderr, "feed: %s still running after %u s; killed it\n",
		    argv[1], timeout);
		return 124;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
