/*
 * Spool limits: spool_max_size and spool_min_free.  Checked before every
 * write against counters kept in memory; the directory and the filesystem
 * are re-read once a second (the forwarder deletes segments behind us).
 */
#include <sys/statvfs.h>

#include <errno.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audisp-dist.h"
#include "log.h"

int
limits_refresh(struct limits *l, struct spool *sp)
{
	struct statvfs vfs;

	if (spool_scan(sp) == -1)
		return -1;
	if (fstatvfs(sp->dirfd, &vfs) == -1)
		return -1;
	l->fs_free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	l->fs_size = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	l->written_since = 0;
	return 0;
}

static uint64_t
min_free(const struct limits *l, const struct conf_sender *cs)
{
	if (cs->spool_min_free_pct > 0)
		return l->fs_size / 100 * cs->spool_min_free_pct;
	return cs->spool_min_free;
}

uint64_t
limits_room(struct limits *l, const struct conf_sender *cs,
    const struct spool *sp)
{
	uint64_t room = UINT64_MAX, avail, keep;

	if (cs->spool_max_size > 0) {
		room = spool_total(sp) < cs->spool_max_size ?
		    cs->spool_max_size - spool_total(sp) : 0;
		l->reason = "spool_max_size";
	}
	avail = l->fs_free > l->written_since ? l->fs_free - l->written_since : 0;
	keep = min_free(l, cs);
	if (l->fs_size > 0 && (avail < keep || avail - keep < room)) {
		room = avail > keep ? avail - keep : 0;
		l->reason = "spool_min_free";
	}
	return room;
}

int
limits_over(struct limits *l, const struct conf_sender *cs,
    const struct spool *sp, uint64_t len)
{
	return limits_room(l, cs, sp) < len;
}

int
limits_dropping(struct limits *l, const struct conf_sender *cs,
    const struct spool *sp)
{
	uint64_t want = cs->segment_size;

	if (!l->dropping)
		return 0;
	if (cs->spool_max_size > 0 && want > cs->spool_max_size / 2)
		want = cs->spool_max_size / 2;
	if (limits_room(l, cs, sp) >= want) {
		l->dropping = 0;
		return 0;
	}
	return 1;
}

void
limits_episode_begin(struct limits *l, const struct conf_sender *cs,
    const struct spool *sp)
{
	l->state = LIMIT_FULL;
	l->episode_records = l->episode_bytes = 0;
	clock_gettime(CLOCK_MONOTONIC, &l->episode_start);
	log_warnx("spool %s is full (%s reached, %" PRIu64 " bytes spooled, "
	    "%" PRIu64 " bytes free): action %s", sp->path, l->reason,
	    spool_total(sp), l->fs_free, conf_full_action_name(cs->full_action));
	if (cs->full_action == FULL_EXEC)
		limits_run_exec(cs->full_exec, l->reason);
}

void
limits_episode_end(struct limits *l, const struct conf_sender *cs)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	l->state = LIMIT_OK;
	l->dropping = 0;
	log_warnx("spool below its limits again after %lld s; %" PRIu64
	    " records (%" PRIu64 " bytes) dropped meanwhile (action %s)",
	    (long long)(now.tv_sec - l->episode_start.tv_sec),
	    l->episode_records, l->episode_bytes,
	    conf_full_action_name(cs->full_action));
}

int
limits_run_exec(const char *prog, const char *reason)
{
	char *argv[3], *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	pid_t pid;
	int rc;

	argv[0] = (char *)(uintptr_t)prog;
	argv[1] = (char *)(uintptr_t)reason;
	argv[2] = NULL;
	if ((rc = posix_spawn(&pid, prog, NULL, NULL, argv, envp)) != 0) {
		errno = rc;
		log_warn("spool_full_action exec %s", prog);
		return -1;
	}
	log_info("spool_full_action: started %s %s (pid %d)", prog, reason,
	    (int)pid);
	return 0;
}
