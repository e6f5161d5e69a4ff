#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_SOCKET	"/dev/log"

static const char *log_prog = "auditdist";
static const char *log_role;	/* NULL: the program's first process */
static int log_fg = 1;		/* to standard error */
static int log_syslog;		/* to syslog */
static int log_dbg;

/*
 * openlog() and syslog() fail silently: with nothing listening on
 * /dev/log (a container, a minimal host) every message, the reason a
 * start failed included, would be lost.  Try the socket ourselves.
 */
static int
syslog_reachable(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, ok;

	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", LOG_SOCKET);
	ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return ok;
}

void
log_init(const char *progname, int foreground, int debug)
{
	log_prog = progname;
	log_fg = foreground;
	log_dbg = debug;
	log_syslog = !foreground;
	if (!log_syslog)
		return;
	openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	if (!syslog_reachable()) {
		log_fg = 1;
		log_warnx("no syslog (%s): logging to standard error",
		    LOG_SOCKET);
	}
}

/*
 * Around a child's rearrangement of its descriptors: the syslog socket
 * may sit on a number the child takes (dup2 would close it under glibc,
 * which would then send log lines into whatever took its place).  Close
 * it first, open it again once the descriptors are settled, before any
 * sandbox forbids socket(2).
 */
void
log_close(void)
{
	if (log_syslog)
		closelog();
}

void
log_reopen(void)
{
	if (log_syslog)
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_procinit(const char *role)
{
	log_role = role;
}

void
log_setdebug(int debug)
{
	log_dbg = debug;
}

/* "2026-01-31T23:59:59.123Z prog: msg": when, to the millisecond. */
static void
log_stderr(const char *msg)
{
	char line[1200], stamp[32];
	struct timespec ts;
	struct tm tm;
	int len;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(stamp, sizeof(stamp), "%lld", (long long)ts.tv_sec);
	/* One write per line so concurrent writers do not interleave. */
	len = snprintf(line, sizeof(line), "%s.%03ldZ %s: %s\n", stamp,
	    ts.tv_nsec / 1000000, log_prog, msg);
	if (len > (int)sizeof(line) - 1) {
		len = sizeof(line) - 1;
		line[len - 1] = '\n';
	}
	if (len > 0 && write(STDERR_FILENO, line, (size_t)len) < 0) {
		/* nothing sensible left to do */
	}
}

static void
vlog(int pri, const char *host, const char *fmt, va_list ap, int with_errno)
{
	char msg[1024];
	int saved = errno;
	size_t pre = 0;
	int n;

	if (log_role != NULL || host != NULL)
		pre = (size_t)snprintf(msg, sizeof(msg) / 2, "%s%s%s%s%s",
		    log_role != NULL ? log_role : "",
		    log_role != NULL ? ": " : "",
		    host != NULL ? "host " : "", host != NULL ? host : "",
		    host != NULL ? ": " : "");
	if (pre >= sizeof(msg) / 2)
		pre = 0;
	n = vsnprintf(msg + pre, sizeof(msg) - pre, fmt, ap);
	if (n < 0)
		msg[pre] = '\0';
	if (with_errno) {
		size_t len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, ": %s", strerror(saved));
	}
	if (log_fg)
		log_stderr(msg);
	if (log_syslog)
		syslog(pri, "%s", msg);
	errno = saved;
}

/* vlog with the caller's arguments. */
#define LOG_VA(pri, host, fmt, with_errno) do {				\
	va_list ap;							\
									\
	va_start(ap, fmt);						\
	vlog(pri, host, fmt, ap, with_errno);				\
	va_end(ap);							\
} while (0)

void
log_warn(const char *fmt, ...)
{
	LOG_VA(LOG_WARNING, NULL, fmt, 1);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_VA(LOG_WARNING, NULL, fmt, 0);
}

/* An error the process lives on with, such as a broken configuration. */
void
log_errx(const char *fmt, ...)
{
	LOG_VA(LOG_ERR, NULL, fmt, 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_VA(LOG_INFO, NULL, fmt, 0);
}

void
log_debug(const char *fmt, ...)
{
	if (!log_dbg)
		return;
	LOG_VA(LOG_DEBUG, NULL, fmt, 0);
}

void
fatal(const char *fmt, ...)
{
	LOG_VA(LOG_CRIT, NULL, fmt, 1);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_VA(LOG_CRIT, NULL, fmt, 0);
	exit(1);
}

void
fatalx_code(int code, const char *fmt, ...)
{
	LOG_VA(LOG_CRIT, NULL, fmt, 0);
	exit(code);
}

/*
 * The same for a message about one host: "host NAME: " comes before it
 * (after the process's role), so that no caller types it.
 */
void
hlog_warn(const char *host, const char *fmt, ...)
{
	LOG_VA(LOG_WARNING, host, fmt, 1);
}

void
hlog_warnx(const char *host, const char *fmt, ...)
{
	LOG_VA(LOG_WARNING, host, fmt, 0);
}

void
hlog_info(const char *host, const char *fmt, ...)
{
	LOG_VA(LOG_INFO, host, fmt, 0);
}

void
hlog_debug(const char *host, const char *fmt, ...)
{
	if (!log_dbg)
		return;
	LOG_VA(LOG_DEBUG, host, fmt, 0);
}

void
hfatal(const char *host, const char *fmt, ...)
{
	LOG_VA(LOG_CRIT, host, fmt, 1);
	exit(1);
}

void
hfatalx(const char *host, const char *fmt, ...)
{
	LOG_VA(LOG_CRIT, host, fmt, 0);
	exit(1);
}
