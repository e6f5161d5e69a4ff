/*
 * Messages from the forwarder to audisp-dist: short text lines, so that
 * a trace (strace -e read) is readable, parsed strictly because they come
 * from a process that talks to the network.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forwarder.h"

static const char *const rstate_names[] = {
	[RS_UNKNOWN] = "unknown",
	[RS_CONNECTING] = "connecting",
	[RS_CONNECTED] = "connected",
	[RS_BACKOFF] = "backoff",
	[RS_ERROR] = "error",
};

const char *
fwd_rstate_name(enum fwd_rstate s)
{
	if ((unsigned)s >= sizeof(rstate_names) / sizeof(rstate_names[0]))
		return "unknown";
	return rstate_names[s];
}

int
fwd_pos_cmp(const struct fwd_pos *a, const struct fwd_pos *b)
{
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	if (a->size != b->size)
		return a->size < b->size ? -1 : 1;
	return 0;
}

static int
host_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > FWD_HOST_MAX)
		return 0;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' &&
	    s[1] == '.'))
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

int
fwd_msg_format(char *buf, size_t len, const struct fwd_msg *m)
{
	char reason[FWD_REASON_MAX + 1];
	const char *r;
	size_t i;
	int n;

	if (!host_ok(m->host, strlen(m->host)))
		return -1;
	/* Printable ASCII only: it ends up in the status file. */
	for (i = 0, r = m->reason; *r != '\0' && i < FWD_REASON_MAX; r++, i++)
		reason[i] = (*r >= ' ' && *r <= '~') ? *r : '?';
	reason[i] = '\0';
	switch (m->type) {
	case FWD_MSG_ACK:
		n = snprintf(buf, len, "ack %s %016" PRIx64 " %" PRIu64 " %d\n",
		    m->host, m->ack.seq, m->ack.size, m->ack.complete ? 1 : 0);
		break;
	case FWD_MSG_SERIES:
		if (i == 0)
			return -1;
		n = snprintf(buf, len, "series %s %s\n", m->host, reason);
		break;
	default:
		n = snprintf(buf, len, "state %s %s%s%s\n", m->host,
		    fwd_rstate_name(m->state), i ? " " : "", reason);
		break;
	}
	if (n < 0 || (size_t)n >= len || n > FWD_LINE_MAX)
		return -1;
	return n;
}

/* A decimal or 16-hex-digit number filling [p, end) exactly. */
static int
get_num(const char *p, const char *end, int hex, uint64_t *out)
{
	uint64_t v = 0;
	unsigned d;

	if (p == end || (hex && end - p != 16) || (!hex && end - p > 20))
		return -1;
	for (; p < end; p++) {
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (hex && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else
			return -1;
		if (!hex && v > (UINT64_MAX - d) / 10)
			return -1;
		v = hex ? (v << 4) | d : v * 10 + d;
	}
	*out = v;
	return 0;
}

/* The next space-separated word of [*p, end); -1 if there is none. */
static int
word(const char **p, const char *end, const char **w, const char **wend)
{
	const char *s = *p, *e;

	if (s >= end || *s == ' ')
		return -1;
	e = memchr(s, ' ', (size_t)(end - s));
	if (e == NULL)
		e = end;
	*w = s;
	*wend = e;
	*p = e < end ? e + 1 : e;
	return e < end && e + 1 == end ? -1 : 0;	/* no trailing space */
}

int
fwd_msg_parse(const char *line, size_t len, struct fwd_msg *m)
{
	const char *p = line, *end = line + len, *w, *we;
	uint64_t c;
	int s;

	memset(m, 0, sizeof(*m));
	if (len == 0 || len >= FWD_LINE_MAX || memchr(line, '\0', len) ||
	    memchr(line, '\n', len))
		return -1;
	if (word(&p, end, &w, &we) == -1)
		return -1;
	if (we - w == 3 && memcmp(w, "ack", 3) == 0)
		m->type = FWD_MSG_ACK;
	else if (we - w == 5 && memcmp(w, "state", 5) == 0)
		m->type = FWD_MSG_STATE;
	else if (we - w == 6 && memcmp(w, "series", 6) == 0)
		m->type = FWD_MSG_SERIES;
	else
		return -1;
	if (word(&p, end, &w, &we) == -1 || !host_ok(w, (size_t)(we - w)))
		return -1;
	memcpy(m->host, w, (size_t)(we - w));
	m->host[we - w] = '\0';

	if (m->type == FWD_MSG_ACK) {
		if (word(&p, end, &w, &we) == -1 ||
		    get_num(w, we, 1, &m->ack.seq) == -1 ||
		    word(&p, end, &w, &we) == -1 ||
		    get_num(w, we, 0, &m->ack.size) == -1 ||
		    word(&p, end, &w, &we) == -1 ||
		    get_num(w, we, 0, &c) == -1 || c > 1 || p != end)
			return -1;
		m->ack.complete = (int)c;
		/* Nothing held has no size. */
		if (m->ack.seq == 0 && (m->ack.size != 0 || c != 0))
			return -1;
		return 0;
	}
	if (m->type == FWD_MSG_SERIES) {
		if (p == end)
			return -1;	/* a reason is required */
	} else {
		if (word(&p, end, &w, &we) == -1)
			return -1;
		for (s = RS_CONNECTING; s <= RS_ERROR; s++)
			if (strlen(rstate_names[s]) == (size_t)(we - w) &&
			    memcmp(rstate_names[s], w, (size_t)(we - w)) == 0)
				break;
		if (s > RS_ERROR)
			return -1;
		m->state = (enum fwd_rstate)s;
	}
	if ((size_t)(end - p) > FWD_REASON_MAX)
		return -1;
	for (w = p; w < end; w++)
		if (*w < ' ' || *w > '~')
			return -1;
	memcpy(m->reason, p, (size_t)(end - p));
	m->reason[end - p] = '\0';
	return 0;
}
