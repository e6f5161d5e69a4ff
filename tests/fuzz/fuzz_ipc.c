/*
 * Fuzz target: what the forwarder tells audisp-dist (plugin/fwd_ipc.c,
 * plugin/fwd_super.c).  The forwarder talks to the network, so its lines
 * are read as hostile.
 *
 * The first line of the input goes to fwd_msg_parse alone: what parses
 * must format back (fwd_msg_format) to a line that parses to the same
 * message.  The whole input then goes through fwdsup_read over a
 * socketpair, written in pieces whose sizes come from the first byte, as
 * the forwarder's writes may arrive.  The hosts' acks and states must
 * then be those of the well-formed lines before the first bad one, and a
 * bad one must have been noticed; after a series line every ack is
 * forgotten and nothing more is believed.
 */
#include <sys/socket.h>

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "audisp-dist.h"
#include "forwarder.h"
#include "fuzz.h"

#define BAD_MESSAGE	"forwarder sent a malformed message"

static const char *const host_names[] = { "recv", "logs.example.org", "b" };
#define NHOSTS	(sizeof(host_names) / sizeof(host_names[0]))

/* status.c formats the plugin's state; main.c, not linked here, names it. */
const char *
plugin_state_name(enum plugin_state s)
{
	(void)s;
	return "running";
}

static void
same_msg(const struct fwd_msg *a, const struct fwd_msg *b)
{
	FUZZ_CHECK(a->type == b->type);
	FUZZ_CHECK(strcmp(a->host, b->host) == 0);
	if (a->type == FWD_MSG_SERIES)
		FUZZ_CHECK(strcmp(a->reason, b->reason) == 0);
	else if (a->type == FWD_MSG_ACK) {
		FUZZ_CHECK(a->ack.seq == b->ack.seq);
		FUZZ_CHECK(a->ack.size == b->ack.size);
		FUZZ_CHECK(a->ack.complete == b->ack.complete);
	} else {
		FUZZ_CHECK(a->state == b->state);
		FUZZ_CHECK(strcmp(a->reason, b->reason) == 0);
	}
}

static void
one_line(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	struct fwd_msg m, m2;
	char buf[FWD_LINE_MAX + 1];
	int n;

	if (nl != NULL)
		size = (size_t)(nl - data);
	if (fwd_msg_parse((const char *)data, size, &m) == -1)
		return;
	FUZZ_CHECK(size < FWD_LINE_MAX);
	FUZZ_CHECK(m.type == FWD_MSG_ACK || (m.type == FWD_MSG_SERIES &&
	    m.reason[0] != '\0') || (m.state > RS_UNKNOWN &&
	    m.state <= RS_ERROR));
	n = fwd_msg_format(buf, sizeof(buf), &m);
	FUZZ_CHECK(n > 0 && n <= FWD_LINE_MAX && buf[n - 1] == '\n');
	FUZZ_CHECK(fwd_msg_parse(buf, (size_t)n - 1, &m2) == 0);
	same_msg(&m, &m2);
}

/*
 * What fwdsup_read must make of the stream; returns 1 if it must have
 * stopped at a series line (of host *series).
 */
static int
model(const uint8_t *p, size_t len, struct fwd_hoststat *hs,
    char *last_error, size_t errlen, const char **series)
{
	const uint8_t *end = p + len, *nl;
	const char *err_host = NULL;	/* whose error last_error is */
	struct fwd_msg m;
	size_t i;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			if ((size_t)(end - p) >= FWD_LINE_MAX)
				snprintf(last_error, errlen, "%s", BAD_MESSAGE);
			return 0;
		}
		if (fwd_msg_parse((const char *)p, (size_t)(nl - p), &m) == -1)
			goto bad;
		for (i = 0; i < NHOSTS; i++)
			if (strcmp(hs[i].name, m.host) == 0)
				break;
		if (i == NHOSTS)
			goto bad;
		if (m.type == FWD_MSG_SERIES) {
			*series = host_names[i];
			for (i = 0; i < NHOSTS; i++)
				memset(&hs[i].ack, 0, sizeof(hs[i].ack));
			return 1;
		}
		if (m.type == FWD_MSG_ACK) {
			hs[i].ack = m.ack;
			continue;
		}
		hs[i].state = m.state;
		/* Cut to errlen, as fwd_super.c cuts it. */
		if ((m.state == RS_BACKOFF || m.state == RS_ERROR) &&
		    m.reason[0] != '\0') {
			FUZZ_CHECK(snprintf(last_error, errlen, "%s: %s",
			    m.host, m.reason) > 0);
			err_host = host_names[i];
		}
		/* Connected again: its error is over. */
		if (m.state == RS_CONNECTED && err_host == host_names[i]) {
			last_error[0] = '\0';
			err_host = NULL;
		}
	}
	return 0;
bad:
	snprintf(last_error, errlen, "%s", BAD_MESSAGE);
	return 0;
}

static void
stream(const uint8_t *data, size_t size)
{
	static struct plugin pl;
	struct fwd_hoststat hosts[NHOSTS], want[NHOSTS];
	char want_error[sizeof(pl.last_error)];
	const char *series = NULL;
	struct fwdsup fs;
	size_t i, off = 0, n;
	uint32_t seed;
	ssize_t w;
	int sv[2];

	memset(&pl, 0, sizeof(pl));
	pl.status.fd = -1;
	memset(hosts, 0, sizeof(hosts));
	for (i = 0; i < NHOSTS; i++)
		hosts[i].name = (char *)(uintptr_t)host_names[i];
	memcpy(want, hosts, sizeof(want));
	want_error[0] = '\0';

	FUZZ_SETUP(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	FUZZ_SETUP(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
	memset(&fs, 0, sizeof(fs));
	fs.pl = &pl;
	fs.pid = -1;		/* nothing to signal */
	fs.epfd = -1;
	fs.fd = sv[0];
	fs.run = FWD_RUNNING;
	fs.hosts = hosts;
	fs.nhosts = NHOSTS;

	seed = size > 0 ? data[0] : 0;
	while (off < size && fs.fd != -1) {
		n = 1 + fuzz_rand(&seed) % (seed & 1 ? 64 : 3000);
		if (n > size - off)
			n = size - off;
		FUZZ_SETUP((w = write(sv[1], data + off, n)) > 0);
		off += (size_t)w;
		fwdsup_read(&fs);
	}
	close(sv[1]);
	if (fs.fd != -1)
		fwdsup_read(&fs);	/* end of stream */
	FUZZ_CHECK(fs.fd == -1 && fs.len == 0);

	if (model(data, size, want, want_error, sizeof(want_error),
	    &series)) {
		FUZZ_CHECK(fs.series_pending && fs.restart_now);
		FUZZ_CHECK(strcmp(fs.series_host, series) == 0);
	} else
		FUZZ_CHECK(!fs.series_pending);
	FUZZ_CHECK(strcmp(pl.last_error, want_error) == 0);
	for (i = 0; i < NHOSTS; i++) {
		FUZZ_CHECK(hosts[i].state == want[i].state);
		FUZZ_CHECK(wire_pos_cmp(&hosts[i].ack, &want[i].ack) == 0);
		FUZZ_CHECK(hosts[i].ack.complete == want[i].ack.complete);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one_line(data, size);
	stream(data, size);
	return 0;
}
