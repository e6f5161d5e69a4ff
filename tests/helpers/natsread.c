/*
 * natsread URLS STREAM OUTDIR: read a JetStream stream from its first
 * message to its last, one by one, and append each message's data to
 * OUTDIR/SUBJECT; print one line per message: "SEQ SUBJECT LEN MSGID".
 * For 86-nats, which compares what it wrote with the receiver's trails.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nats/nats.h>

static void __attribute__((noreturn))
die(const char *what, natsStatus s, jsErrCode je)
{
	const char *last = nats_GetLastError(NULL);

	fprintf(stderr, "natsread: %s: %s (%d)\n", what, last != NULL &&
	    *last ? last : natsStatus_GetText(s), (int)je);
	exit(1);
}

static void
append(const char *dir, const char *subj, const char *data, int len)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, subj);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644)) == -1 ||
	    write(fd, data, (size_t)len) != len || close(fd) == -1) {
		fprintf(stderr, "natsread: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsStreamInfo *si = NULL;
	natsMsg *m;
	jsErrCode je = 0;
	natsStatus s;
	const char *id;
	uint64_t seq;

	if (argc != 4) {
		fprintf(stderr, "usage: natsread URLS STREAM OUTDIR\n");
		return 2;
	}
	if ((s = natsConnection_ConnectTo(&nc, argv[1])) != NATS_OK)
		die("connect", s, 0);
	if ((s = natsConnection_JetStream(&js, nc, NULL)) != NATS_OK)
		die("jetstream", s, 0);
	if ((s = js_GetStreamInfo(&si, js, argv[2], NULL, &je)) != NATS_OK)
		die("stream info", s, je);
	for (seq = si->State.FirstSeq; seq > 0 && seq <= si->State.LastSeq;
	    seq++) {
		m = NULL;
		if ((s = js_GetMsg(&m, js, argv[2], seq, NULL, &je)) !=
		    NATS_OK) {
			if (s == NATS_NOT_FOUND)
				continue;	/* deleted */
			die("get", s, je);
		}
		if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) != NATS_OK)
			id = "-";
		append(argv[3], natsMsg_GetSubject(m), natsMsg_GetData(m),
		    natsMsg_GetDataLength(m));
		printf("%" PRIu64 " %s %d %s\n", seq, natsMsg_GetSubject(m),
		    natsMsg_GetDataLength(m), id);
		natsMsg_Destroy(m);
	}
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return 0;
}
