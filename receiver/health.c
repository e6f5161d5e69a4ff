/*
 * The network process's view of each host's health: when it was last
 * heard from (records or any frame: HEALTH is the sender's heartbeat),
 * since when it is connected, what it handed over for its trail, what its
 * sender last said of itself (HEALTH), and whether it has gone silent.
 *
 * Silence: a host heard from neither by records nor by a heartbeat for
 * silence_alarm seconds (from the receiver's start, for one never heard
 * from) is logged once at warning level and shown as silent until it is
 * heard from again (logged at info level).
 *
 * Every HEALTH_TICK_MS the hosts that changed go to the parent, one
 * CTL_HEALTH message each, then an empty one that ends the round: the
 * parent writes the status and metrics files (rstatus.c); this process
 * may write no file.  Every HEALTH_FULL_MS every host is sent, so that
 * the parent can forget the hosts that are gone.
 */
#include <sys/socket.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auditdistd.h"
#include "log.h"
#include "tcur.h"

#define HEALTH_TICK_MS	2000
#define HEALTH_FULL_MS	30000
#define AUDIT_TIME_MAX	UINT64_C(999999999999999999)	/* 18 digits */

static int64_t
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (int64_t)ts.tv_sec;
}

static unsigned
silence_alarm(const struct server *srv, const struct rhost *rh)
{
	return rh->ch->silence_alarm_set ? rh->ch->silence_alarm :
	    srv->conf->receiver.silence_alarm;
}

void
health_seen(struct rhost *rh)
{
	struct rhealth *h = &rh->health;
	int64_t now = wall_now();

	if (h->last_seen == now)
		return;
	if (h->silent) {
		hlog_info(rh->name, "heard from again after %" PRId64 " s of "
		    "silence", h->last_seen ? now - h->last_seen :
		    now - h->watch_from);
		h->silent = 0;
	}
	h->last_seen = now;
	h->dirty = 1;
}

void
health_connected(struct rhost *rh, uint16_t version)
{
	rh->health.connected_since = wall_now();
	rh->health.version = version;
	health_seen(rh);
	rh->health.dirty = 1;
}

void
health_left(struct rhost *rh)
{
	rh->health.connected_since = 0;
	rh->health.dirty = 1;
}

/* SECONDS of "msg=audit(SECONDS.MS:SERIAL)" in the line, or 0. */
static int64_t
audit_time(const uint8_t *line, size_t len)
{
	static const char tag[] = "msg=audit(";
	const uint8_t *p;
	struct tcur c;
	uint64_t t;

	if (len > 512)		/* the tag comes after type= and node= */
		len = 512;
	if ((p = memmem(line, len, tag, sizeof(tag) - 1)) == NULL)
		return 0;
	p += sizeof(tag) - 1;
	tc_init(&c, p, len - (size_t)(p - line));
	return tc_dec(&c, AUDIT_TIME_MAX, &t) == 0 && tc_lit(&c, ".") == 0 ?
	    (int64_t)t : 0;
}

/* Whole lines taken for the host's trail. */
void
health_data(struct rhost *rh, const uint8_t *data, size_t len)
{
	struct rhealth *h = &rh->health;
	const uint8_t *p = data, *end = data + len, *nl, *last = data;
	int64_t t;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		h->records++;
		last = p;
		p = nl + 1;
	}
	h->bytes += len;
	if ((t = audit_time(last, (size_t)(end - last))) > 0)
		h->last_record_time = t;
	h->dirty = 1;
}

void
health_report(struct rhost *rh, const struct msg_health *m)
{
	struct rhealth *h = &rh->health;

	if (h->text == NULL && (h->text = malloc(WIRE_MAX_HEALTH)) == NULL) {
		hlog_warn(rh->name, "its health");
		return;
	}
	memcpy(h->text, m->text, m->len);
	h->tlen = m->len;
	h->health_at = wall_now();
	h->dirty = 1;
}

void
health_free(struct rhost *rh)
{
	free(rh->health.text);
	rh->health.text = NULL;
}

enum rh_state
health_state(const struct rhealth *h)
{
	if (h->silent)
		return RHS_SILENT;
	if (h->connected_since != 0)
		return RHS_CONNECTED;
	return h->last_seen != 0 ? RHS_IDLE : RHS_NEVER;
}

static void
check_silence(struct server *srv, struct rhost *rh, int64_t now)
{
	struct rhealth *h = &rh->health;
	unsigned alarm = silence_alarm(srv, rh);
	int64_t from;

	if (h->watch_from == 0)
		h->watch_from = now;
	from = h->last_seen != 0 ? h->last_seen : h->watch_from;
	if (alarm == 0 || h->silent || now - from < (int64_t)alarm)
		return;
	h->silent = 1;
	h->dirty = 1;
	if (h->last_seen != 0)
		hlog_warnx(rh->name, "silent for %" PRId64 " s: neither records "
		    "nor a heartbeat (silence_alarm %u s)%s",
		    now - from, alarm, h->connected_since ? "; its "
		    "connection is still open" : "");
	else
		hlog_warnx(rh->name, "not heard from in the %" PRId64 " s since "
		    "the receiver started (silence_alarm %u s)",
		    now - from, alarm);
}

/* One host's summary (or, rh NULL, the end of a round): 0, or -1 if the
 * parent's socket is full. */
static int
send_summary(struct server *srv, const struct rhost *rh, int full)
{
	static uint8_t buf[CTL_MAX];
	struct wbuf w = { buf, 0, sizeof(buf), 0 };
	const struct rhealth *h;
	size_t mark;
	ssize_t n;

	mark = msg_begin(&w, CTL_HEALTH);
	if (rh == NULL) {
		msg_put_str(&w, "", 0);
		msg_put_u8(&w, (uint8_t)full);
	} else {
		h = &rh->health;
		msg_put_str(&w, rh->name, strlen(rh->name));
		msg_put_u8(&w, (uint8_t)health_state(h));
		msg_put_u16(&w, h->version);
		msg_put_u32(&w, silence_alarm(srv, rh));
		msg_put_u64(&w, (uint64_t)h->connected_since);
		msg_put_u64(&w, (uint64_t)h->last_seen);
		msg_put_u64(&w, (uint64_t)h->last_record_time);
		msg_put_u64(&w, h->bytes);
		msg_put_u64(&w, h->records);
		msg_put_u64(&w, (uint64_t)h->health_at);
		msg_put_str(&w, h->text != NULL ? h->text : "", h->tlen);
	}
	msg_finish(&w, mark, ctl_to_parent);
	VERIFY(w.buf == buf);
	do
		n = send(srv->ctlfd, buf, w.len, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	return n == -1 ? -1 : 0;
}

/*
 * A round sends the summaries of the hosts that changed, then its end.
 * When the parent's socket is full (thousands of hosts), the round goes
 * on at the next tick from the host where it stopped, so that every host
 * gets its turn and the round ends.
 */
uint64_t
health_tick(struct server *srv, uint64_t now_ms_)
{
	static uint64_t next, next_full;
	static size_t resume;	/* hosts of the list this round has done */
	static int full;
	struct rhost *rh;
	int64_t now;
	size_t i;

	if (now_ms_ < next)
		return next;
	next = now_ms_ + HEALTH_TICK_MS;
	now = wall_now();
	if (now_ms_ >= next_full) {
		next_full = now_ms_ + HEALTH_FULL_MS;
		full = 1;
		for (rh = srv->hosts; rh != NULL; rh = rh->next)
			rh->health.dirty = 1;
	}
	for (rh = srv->hosts; rh != NULL; rh = rh->next)
		check_silence(srv, rh, now);
	for (i = 0, rh = srv->hosts; rh != NULL && i < resume; rh = rh->next)
		i++;
	for (; rh != NULL; rh = rh->next, i++) {
		if (!rh->health.dirty)
			continue;
		if (send_summary(srv, rh, 0) == -1) {
			resume = i;	/* the rest next time */
			return next;
		}
		rh->health.dirty = 0;
	}
	if (send_summary(srv, NULL, full) == 0) {
		full = 0;
		resume = 0;
	}
	return next;
}
