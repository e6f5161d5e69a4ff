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
#include "tcur.h"

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
fwd_msg_format(char *buf, size_t len, const struct fwd_msg *m)
{
	char reason[FWD_REASON_MAX + 1];
	const char *r;
	size_t i;
	int n;

	if (!wire_valid_host(m->host, strlen(m->host)))
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

/* Words are separated by one space; the optional reason is the rest. */
int
fwd_msg_parse(const char *line, size_t len, struct fwd_msg *m)
{
	const char *w;
	struct tcur c;
	size_t n, i;
	uint64_t v;
	int s;

	memset(m, 0, sizeof(*m));
	if (len == 0 || len >= FWD_LINE_MAX || memchr(line, '\0', len) ||
	    memchr(line, '\n', len))
		return -1;
	tc_init(&c, line, len);
	if (tc_word(&c, ' ', &w, &n) == -1)
		return -1;
	if (n == 3 && memcmp(w, "ack", 3) == 0)
		m->type = FWD_MSG_ACK;
	else if (n == 5 && memcmp(w, "state", 5) == 0)
		m->type = FWD_MSG_STATE;
	else if (n == 6 && memcmp(w, "series", 6) == 0)
		m->type = FWD_MSG_SERIES;
	else
		return -1;
	if (tc_lit(&c, " ") == -1 || tc_word(&c, ' ', &w, &n) == -1 ||
	    !wire_valid_host(w, n))
		return -1;
	memcpy(m->host, w, n);
	m->host[n] = '\0';

	if (m->type == FWD_MSG_ACK) {
		tc_lit(&c, " ");
		tc_hex(&c, 16, &m->ack.seq);
		tc_lit(&c, " ");
		tc_dec(&c, UINT64_MAX, &m->ack.size);
		tc_lit(&c, " ");
		tc_dec(&c, 1, &v);
		if (tc_end(&c) == -1)
			return -1;
		m->ack.complete = (int)v;
		/* Nothing held has no size. */
		if (m->ack.seq == 0 && (m->ack.size != 0 || v != 0))
			return -1;
		return 0;
	}
	if (m->type == FWD_MSG_STATE) {
		if (tc_lit(&c, " ") == -1 || tc_word(&c, ' ', &w, &n) == -1)
			return -1;
		for (s = RS_CONNECTING; s <= RS_ERROR; s++)
			if (strlen(rstate_names[s]) == n &&
			    memcmp(rstate_names[s], w, n) == 0)
				break;
		if (s > RS_ERROR)
			return -1;
		m->state = (enum fwd_rstate)s;
	}
	/* A series needs its reason; a state may have one. */
	if ((m->type == FWD_MSG_SERIES || tc_left(&c) > 0) &&
	    (tc_lit(&c, " ") == -1 || tc_left(&c) == 0))
		return -1;
	if ((n = tc_left(&c)) > FWD_REASON_MAX)
		return -1;
	for (w = tc_rest(&c), i = 0; i < n; i++)
		if (w[i] < ' ' || w[i] > '~')
			return -1;
	memcpy(m->reason, w, n);
	m->reason[n] = '\0';
	return 0;
}
