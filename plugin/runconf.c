/*
 * Which configuration audisp-dist runs on: its file, else the last good
 * copy of it (goodconf.c), else the defaults, which spool and ship
 * nothing.  The plugin never exits on a broken file: auditd would give up
 * on it and its records would be lost.  Also -n's checks beyond the file
 * itself.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "audisp-dist.h"
#include "dircheck.h"
#include "evloop.h"
#include "forwarder.h"
#include "log.h"

#define CONF_NAG	60		/* seconds between config error logs */

static struct plugin *pl;
static const char *conf_path;
static const char *state_dir;		/* -D */
static char good_path[PATH_MAX];	/* the last good copy in state_dir */
static int good_saved;			/* this run saved it */
static time_t conf_nag_at;		/* CLOCK_MONOTONIC s of the last log */
static char conf_last_error[sizeof(((struct plugin *)0)->last_error)];
					/* ours, to clear */

int
runconf_init(struct plugin *p, const char *path, const char *dir)
{
	pl = p;
	conf_path = path;
	state_dir = dir;
	if (dir[0] != '/' || goodconf_path(good_path, sizeof(good_path),
	    dir) == -1)
		return -1;
	return 0;
}

/* path's configuration, without its secrets; NULL and err if it is broken. */
struct conf *
runconf_load(const char *path, char *err, size_t errlen)
{
	struct conf *c;

	if ((c = conf_load(path, err, errlen)) == NULL)
		return NULL;
	if (!c->sender.present) {
		snprintf(err, errlen, "%s: no sender block; audisp-dist "
		    "needs one", path);
		conf_free(c);
		return NULL;
	}
	/* The forwarder reads them itself; this process has no use for them. */
	conf_forget_secrets(c);
	return c;
}

/*
 * No configuration ever loaded: spool into the state directory, with
 * no receiver, so that nothing is lost until the file is fixed.
 */
static struct conf *
conf_defaults(void)
{
	char err[1024];
	struct conf *c;

	if ((c = conf_parse("(defaults)", "", err, sizeof(err))) == NULL)
		fatalx("defaults: %s", err);
	free(c->sender.directory);
	free(c->sender.status_file);
	c->sender.status_file = NULL;
	if ((c->sender.directory = strdup(state_dir)) == NULL ||
	    asprintf(&c->sender.status_file, "%s/status", state_dir) == -1)
		fatal("defaults");
	c->sender.present = 1;
	return c;
}

/*
 * The file is broken: say so, what runs instead and how to get out of
 * it; at start, at each failed reload and every CONF_NAG seconds.
 */
static void
runconf_complain(void)
{
	char when[32];

	conf_nag_at = (time_t)(ev_now_ms() / 1000);
	switch (pl->conf_from) {
	case CONF_FROM_LAST_GOOD:
		goodconf_time(good_path, when, sizeof(when));
		log_errx("configuration error: %s; running on the last good "
		    "configuration %s (saved %s): spooling and shipping as "
		    "before; fix %s and send SIGHUP", pl->conf_error, good_path,
		    when, conf_path);
		break;
	case CONF_FROM_DEFAULTS:
		log_errx("configuration error: %s; no last good copy (%s): "
		    "running on the defaults: spooling into %s, no receivers, "
		    "NOTHING IS SHIPPED; fix %s and send SIGHUP",
		    pl->conf_error, good_path, pl->conf->sender.directory,
		    conf_path);
		snprintf(conf_last_error, sizeof(conf_last_error), "nothing is "
		    "shipped: %s is broken and no configuration has loaded "
		    "yet; records are kept in %s", conf_path,
		    pl->conf->sender.directory);
		snprintf(pl->last_error, sizeof(pl->last_error), "%s",
		    conf_last_error);
		break;
	case CONF_FROM_FILE:	/* a failed reload before any copy was saved */
		log_errx("configuration error: %s; keeping the running "
		    "configuration: spooling and shipping as before; fix %s "
		    "and send SIGHUP", pl->conf_error, conf_path);
		break;
	}
}


/* While the file is broken: say so again every CONF_NAG seconds. */
void
runconf_nag(time_t now)
{
	if (pl->conf_error[0] != '\0' && now - conf_nag_at >= CONF_NAG)
		runconf_complain();
}

/*
 * The file loaded: keep a copy of it for a start with a broken file,
 * and end what a broken one had started.
 */
void
runconf_good(void)
{
	char err[PATH_MAX + 1200];

	good_saved = goodconf_save(state_dir, conf_path, err,
	    sizeof(err)) == 0;
	if (!good_saved)
		log_warnx("keeping no last good copy of the configuration: %s",
		    err);
	if (pl->conf_error[0] != '\0')
		log_info("%s loaded: the configuration error is over",
		    conf_path);
	pl->conf_error[0] = '\0';
	if (conf_last_error[0] != '\0' &&
	    strcmp(pl->last_error, conf_last_error) == 0)
		pl->last_error[0] = '\0';
	conf_last_error[0] = '\0';
	pl->conf_from = CONF_FROM_FILE;
}

/* A reload failed: what runs stays, and the forwarder reads its copy. */
void
runconf_broken(const char *err)
{
	snprintf(pl->conf_error, sizeof(pl->conf_error), "%s", err);
	if (pl->conf_from == CONF_FROM_FILE && good_saved)
		pl->conf_from = CONF_FROM_LAST_GOOD;
	runconf_complain();
}

/* The forwarder reads the running configuration from its file itself. */
const char *
runconf_fwd_path(void)
{
	return pl->conf_from == CONF_FROM_LAST_GOOD ? good_path : conf_path;
}

/*
 * At start: the file, else its last good copy, else the defaults.  The
 * plugin never exits on a broken file: auditd would give up on it and
 * its records would be lost.
 */
struct conf *
runconf_start(void)
{
	char err[1024], gerr[PATH_MAX + 100];
	struct conf *c;

	if ((c = runconf_load(conf_path, err, sizeof(err))) != NULL) {
		pl->conf = c;
		runconf_good();
		return c;
	}
	snprintf(pl->conf_error, sizeof(pl->conf_error), "%s", err);
	if ((c = runconf_load(good_path, gerr, sizeof(gerr))) != NULL)
		pl->conf_from = CONF_FROM_LAST_GOOD;
	else {
		if (access(good_path, F_OK) == 0)
			log_warnx("the last good copy is unusable too: %s", gerr);
		c = conf_defaults();
		pl->conf_from = CONF_FROM_DEFAULTS;
	}
	pl->conf = c;
	runconf_complain();
	return c;
}

/*
 * -n: what spool_open() would refuse, found without creating anything:
 * the spool directory must be one this process may write, or be missing
 * in a directory where it may create it.
 */
static int
spool_check(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	int rc;

	if ((rc = dircheck(dir, &st, err, errlen)) != 1)
		return rc;
	if (st.st_mode & S_IWOTH)
		snprintf(err, errlen, "%s is writable by others (mode %04o); "
		    "chmod 700 it", dir, st.st_mode & 07777);
	else if (faccessat(AT_FDCWD, dir, R_OK | W_OK | X_OK,
	    AT_EACCESS) == -1)
		snprintf(err, errlen, "%s is not writable by uid %u: %s", dir,
		    (unsigned)geteuid(), strerror(errno));
	else
		return 0;
	return -1;
}

static void
dates_unchecked(const char *prog, const char *why)
{
	fprintf(stderr, "audisp-dist: warning: certificate dates not checked: "
	    "%s -n: %s\n", prog, why);
}

/*
 * -n: the forwarder warns of each host's certificate or CA file that is
 * expired, not yet valid, expiring soon or unreadable; it links libcrypto,
 * which would cost this process about 1.3 MiB for its whole life.  Only a
 * check of dates: if it cannot run, a warning, and -n goes on.
 */
static void
cert_dates(const char *path)
{
	char prog[FWD_PATH_MAX], why[32];
	char *argv[] = { prog, "-n", "-c", (char *)(uintptr_t)path, NULL };
	pid_t pid, rc;
	int status;

	if (fwdsup_prog_path(prog) == -1)
		fprintf(stderr, "audisp-dist: warning: finding our own "
		    "executable: %s; looking for the forwarder in /usr/sbin\n",
		    strerror(errno));
	fflush(NULL);
	if ((pid = fork()) == -1) {
		dates_unchecked(prog, strerror(errno));
		return;
	}
	if (pid == 0) {
		execv(prog, argv);
		dates_unchecked(prog, strerror(errno));
		_exit(127);	/* said */
	}
	while ((rc = waitpid(pid, &status, 0)) == -1 && errno == EINTR)
		;
	if (rc == -1)
		dates_unchecked(prog, strerror(errno));
	else if (WIFSIGNALED(status))
		dates_unchecked(prog, strsignal(WTERMSIG(status)));
	else if (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 127) {
		snprintf(why, sizeof(why), "exit %d", WEXITSTATUS(status));
		dates_unchecked(prog, why);
	}
}

/* -n beyond the file itself. */
void
runconf_check(const struct conf *c)
{
	const struct conf_host *h;
	char err[PATH_MAX + 200];

	if (spool_check(c->sender.directory, err, sizeof(err)) == -1) {
		fprintf(stderr, "audisp-dist: spool directory %s\n", err);
		exit(EX_CANTCREAT);
	}
	for (h = c->sender.hosts; h != NULL; h = h->next)
		if (h->certfile != NULL || h->cafile != NULL) {
			cert_dates(c->path);
			break;
		}
}
