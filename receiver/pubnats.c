/*
 * The publisher's side of NATS (publish.c is the rest): the connection,
 * the stream's check or creation, one publication at a time with its
 * acknowledgement, and the stream's last message for a subject.
 *
 * The client library runs threads of its own (reading and flushing the
 * socket, reconnecting); this file calls it from the publisher's one
 * thread and waits for each answer, so nothing here needs a lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "auditdistd.h"
#include "log.h"
#include "publish.h"

#define CONNECT_MS	2000
#define API_WAIT_MS	5000
#define RECONNECT_MS	1000
/* Room for one chunk while a connection is being remade, no more. */
#define RECONNECT_BUF	(PUBLISH_CHUNK + 64 * 1024)
#define HDR_MSG_ID	"Nats-Msg-Id"
#define HDR_LAST_SUBJ	"Nats-Expected-Last-Subject-Sequence"

static struct {
	const struct conf_publish *c;
	natsOptions	*opts;
	natsConnection	*nc;
	jsCtx		*js;
	int		 stream_ok;
	char		 want[CONF_PUBLISH_NAME_MAX + 3];	/* PREFIX.> */
} pn;

/* The library's words for s, with its own detail when it has some. */
static const char *
why(natsStatus s, jsErrCode je, char *buf, size_t len)
{
	const char *last = nats_GetLastError(NULL);

	if (je != 0)
		snprintf(buf, len, "%s (JetStream error %d)",
		    last != NULL && *last ? last : natsStatus_GetText(s),
		    (int)je);
	else
		snprintf(buf, len, "%s", last != NULL && *last ? last :
		    natsStatus_GetText(s));
	return buf;
}

/* "a,b,c" -> the servers; the list is made once and kept. */
static natsStatus
set_servers(natsOptions *o, const char *urls)
{
	static const char *v[64];
	static char *copy;
	char *p, *save = NULL;
	int n = 0;

	if ((copy = strdup(urls)) == NULL)
		return NATS_NO_MEMORY;
	for (p = strtok_r(copy, ",", &save); p != NULL && n < 64;
	    p = strtok_r(NULL, ",", &save))
		v[n++] = p;
	return natsOptions_SetServers(o, v, n);
}

int
pubnats_init(const struct conf_publish *c, const char *ca_pem, char *err,
    size_t len)
{
	natsOptions *o = NULL;
	natsStatus s;

	pn.c = c;
	snprintf(pn.want, sizeof(pn.want), "%s.>", c->subject_prefix);
	if ((s = nats_Open(-1)) != NATS_OK ||
	    (s = natsOptions_Create(&o)) != NATS_OK ||
	    (s = set_servers(o, c->urls)) != NATS_OK ||
	    (s = natsOptions_SetTimeout(o, CONNECT_MS)) != NATS_OK ||
	    (s = natsOptions_SetAllowReconnect(o, true)) != NATS_OK ||
	    (s = natsOptions_SetMaxReconnect(o, -1)) != NATS_OK ||
	    (s = natsOptions_SetReconnectWait(o, RECONNECT_MS)) != NATS_OK ||
	    (s = natsOptions_SetReconnectBufSize(o, RECONNECT_BUF)) !=
	    NATS_OK ||
	    /* Only the configured servers: the sandbox allows their ports. */
	    (s = natsOptions_SetIgnoreDiscoveredServers(o, true)) != NATS_OK)
		goto fail;
	if (c->user != NULL &&
	    (s = natsOptions_SetUserInfo(o, c->user, c->password)) != NATS_OK)
		goto fail;
	if (c->token != NULL &&
	    (s = natsOptions_SetToken(o, c->token)) != NATS_OK)
		goto fail;
	if (strstr(c->urls, "tls://") != NULL &&
	    (s = natsOptions_SetSecure(o, true)) != NATS_OK)
		goto fail;
	if (ca_pem != NULL &&
	    (s = natsOptions_SetCATrustedCertificates(o, ca_pem)) != NATS_OK)
		goto fail;
	pn.opts = o;
	return 0;
fail:
	why(s, 0, err, len);
	natsOptions_Destroy(o);
	return -1;
}

static void
drop(void)
{
	jsCtx_Destroy(pn.js);
	pn.js = NULL;
	if (pn.nc != NULL) {
		natsConnection_Close(pn.nc);
		natsConnection_Destroy(pn.nc);
	}
	pn.nc = NULL;
	pn.stream_ok = 0;
}

/* An existing stream that does not fit: why, or NULL when it fits. */
static const char *
misfit(const jsStreamConfig *sc, char *buf, size_t len)
{
	int i, subj = 0;

	for (i = 0; i < sc->SubjectsLen; i++)
		if (strcmp(sc->Subjects[i], pn.want) == 0 ||
		    strcmp(sc->Subjects[i], ">") == 0)
			subj = 1;
	if (!subj)
		snprintf(buf, len, "its subjects do not include \"%s\"",
		    pn.want);
	else if (sc->Retention != js_LimitsPolicy)
		snprintf(buf, len, "its retention is not \"limits\" (another "
		    "would remove records once read)");
	else if (sc->Duplicates < PUBLISH_WINDOW_NS)
		snprintf(buf, len, "its duplicate_window is %" PRId64 " s, "
		    "shorter than %d s", sc->Duplicates / 1000000000,
		    (int)(PUBLISH_WINDOW_NS / 1000000000));
	else if (sc->Replicas != (int64_t)pn.c->replicas)
		snprintf(buf, len, "it has %" PRId64 " replicas, not the %u "
		    "configured", sc->Replicas, pn.c->replicas);
	else if (sc->MaxMsgSize > 0 && sc->MaxMsgSize < PUBLISH_CHUNK)
		snprintf(buf, len, "its max_msg_size %d is under %d",
		    (int)sc->MaxMsgSize, PUBLISH_CHUNK);
	else
		return NULL;
	return buf;
}

static int
create_stream(char *err, size_t len)
{
	jsStreamConfig sc;
	jsStreamInfo *si = NULL;
	const char *subj[1] = { pn.want };
	jsErrCode je = 0;
	natsStatus s;
	char b[256];

	jsStreamConfig_Init(&sc);
	sc.Name = pn.c->stream;
	sc.Subjects = subj;
	sc.SubjectsLen = 1;
	sc.Storage = js_FileStorage;
	sc.Retention = js_LimitsPolicy;
	sc.Replicas = (int64_t)pn.c->replicas;
	sc.Duplicates = PUBLISH_WINDOW_NS;
	if ((s = js_AddStream(&si, pn.js, &sc, NULL, &je)) != NATS_OK) {
		snprintf(err, len, "creating stream %s: %s", pn.c->stream,
		    why(s, je, b, sizeof(b)));
		return -1;
	}
	jsStreamInfo_Destroy(si);
	log_info("created stream %s (subjects %s, %u replicas, "
	    "file storage, duplicate window %d s)", pn.c->stream, pn.want,
	    pn.c->replicas, (int)(PUBLISH_WINDOW_NS / 1000000000));
	return 0;
}

/* The stream as the publisher needs it, made if allowed; -1: err says. */
static int
check_stream(char *err, size_t len)
{
	jsStreamInfo *si = NULL;
	jsErrCode je = 0;
	natsStatus s;
	char b[256];
	const char *w;

	s = js_GetStreamInfo(&si, pn.js, pn.c->stream, NULL, &je);
	if (s == NATS_NOT_FOUND || je == JSStreamNotFoundErr) {
		if (pn.c->create_stream)
			return create_stream(err, len);
		snprintf(err, len, "stream %s is missing; create it (subjects "
		    "%s, limits retention, duplicate_window >= %d s) or set "
		    "create_stream yes", pn.c->stream, pn.want,
		    (int)(PUBLISH_WINDOW_NS / 1000000000));
		return -1;
	}
	if (s != NATS_OK) {
		snprintf(err, len, "stream %s: %s", pn.c->stream,
		    why(s, je, b, sizeof(b)));
		return -1;
	}
	w = misfit(si->Config, b, sizeof(b));
	if (w != NULL)
		snprintf(err, len, "stream %s does not fit: %s; it is left as "
		    "it is", pn.c->stream, w);
	jsStreamInfo_Destroy(si);
	return w != NULL ? -1 : 0;
}

int
pubnats_ready(char *err, size_t len)
{
	jsOptions jo;
	natsStatus s;

	if (pn.nc != NULL && natsConnection_IsClosed(pn.nc))
		drop();
	if (pn.nc == NULL) {
		if ((s = natsConnection_Connect(&pn.nc, pn.opts)) != NATS_OK) {
			pn.nc = NULL;
			snprintf(err, len, "connecting to %s: ", pn.c->urls);
			why(s, 0, err + strlen(err), len - strlen(err));
			return 0;
		}
		jsOptions_Init(&jo);
		jo.Wait = API_WAIT_MS;
		if ((s = natsConnection_JetStream(&pn.js, pn.nc, &jo)) !=
		    NATS_OK) {
			why(s, 0, err, len);
			drop();
			return 0;
		}
	}
	if (natsConnection_Status(pn.nc) != NATS_CONN_STATUS_CONNECTED) {
		snprintf(err, len, "connection to %s lost; reconnecting",
		    pn.c->urls);
		return 0;
	}
	if (!pn.stream_ok && check_stream(err, len) == -1)
		return 0;
	pn.stream_ok = 1;
	return 1;
}

jsCtx *
pubnats_js(void)
{
	return pn.js;
}

enum pubnats_res
pubnats_publish(const char *subj, const char *id, const void *data,
    size_t len, uint64_t expect, uint64_t *seq, int *dup, char *err,
    size_t errlen)
{
	jsPubOptions po;
	jsPubAck *pa = NULL;
	natsMsg *m = NULL;
	jsErrCode je = 0;
	natsStatus s;
	char exp[24];
	enum pubnats_res r = PN_DOWN;

	*dup = 0;
	snprintf(exp, sizeof(exp), "%" PRIu64, expect);
	jsPubOptions_Init(&po);
	po.MaxWait = API_WAIT_MS;
	po.ExpectStream = pn.c->stream;
	if ((s = natsMsg_Create(&m, subj, NULL, data, (int)len)) != NATS_OK ||
	    (s = natsMsgHeader_Set(m, HDR_MSG_ID, id)) != NATS_OK ||
	    (s = natsMsgHeader_Set(m, HDR_LAST_SUBJ, exp)) != NATS_OK ||
	    (s = js_PublishMsg(&pa, pn.js, m, &po, &je)) != NATS_OK) {
		why(s, je, err, errlen);
		if (je == JSStreamWrongLastSequenceErr)
			r = PN_MOVED;
		else if (je == JSStreamNotFoundErr || s == NATS_NO_RESPONDERS)
			pn.stream_ok = 0;	/* check it again */
		goto out;
	}
	*seq = pa->Sequence;
	*dup = pa->Duplicate;
	r = PN_OK;
out:
	jsPubAck_Destroy(pa);
	natsMsg_Destroy(m);
	return r;
}

int
pubnats_last(const char *subj, char *id, size_t idlen, uint64_t *seq,
    uint64_t *len, char *err, size_t errlen)
{
	natsMsg *m = NULL;
	jsErrCode je = 0;
	natsStatus s;
	const char *v = NULL;

	s = js_GetLastMsg(&m, pn.js, pn.c->stream, subj, NULL, &je);
	if (s == NATS_NOT_FOUND || je == JSNoMessageFoundErr) {
		*seq = 0;
		return 0;
	}
	if (s != NATS_OK) {
		why(s, je, err, errlen);
		return -1;
	}
	*seq = natsMsg_GetSequence(m);
	*len = (uint64_t)natsMsg_GetDataLength(m);
	if (natsMsgHeader_Get(m, HDR_MSG_ID, &v) != NATS_OK || v == NULL)
		v = "";
	snprintf(id, idlen, "%s", v);
	natsMsg_Destroy(m);
	return 1;
}
