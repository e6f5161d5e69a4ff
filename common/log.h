/*
 * Logging: stderr in the foreground, each line stamped with the UTC time
 * to the millisecond; syslog (and so the journal) otherwise, and stderr
 * as well when nothing listens on /dev/log.  Payload bytes are never
 * logged above debug level.
 */
#ifndef AUDITDIST_LOG_H
#define AUDITDIST_LOG_H

#include <stdarg.h>

void	log_init(const char *progname, int foreground, int debug);
/*
 * A child process's role ("net", "writer", ...), set once after fork:
 * every line it logs then starts with "role: ", so that the journal
 * says which process spoke (the pid alone does not).
 */
void	log_procinit(const char *role);
void	log_setdebug(int debug);
void	log_close(void);
void	log_reopen(void);
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
/* The same about one host: the line says "host NAME: " first. */
void	hlog_warn(const char *host, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	hlog_warnx(const char *host, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	hlog_info(const char *host, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	hlog_debug(const char *host, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	hfatal(const char *host, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
void	hfatalx(const char *host, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
/* Exit with a sysexits code after logging; for setup failures. */
void	fatalx_code(int code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

/* Always-on check for invariants that protect data. */
#define VERIFY(x) do {							\
	if (!(x))							\
		fatalx("%s:%d: invariant failed: %s",			\
		    __FILE__, __LINE__, #x);				\
} while (0)

#endif
