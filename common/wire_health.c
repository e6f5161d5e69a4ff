/*
 * HEALTH (protocol version 3): what a sender knows of itself, sent to each
 * receiver alongside the records; it doubles as a heartbeat.  The body is
 * text, "key=value key=value ...", so that a receiver of any version reads
 * the keys it knows and skips the others, and so that it can be logged
 * and shown as it came.  One decoder checks it, wherever it comes from
 * (the plugin's line to the forwarder, a frame from the network).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire.h"

enum hkind { HK_NUM, HK_BOOT, HK_FORMAT };

static const struct hkey {
	const char	*name;
	enum hkind	 kind;
	size_t		 off;		/* in struct msg_health */
} hkeys[] = {
	{ "time", HK_NUM, offsetof(struct msg_health, time) },
	{ "records_in", HK_NUM, offsetof(struct msg_health, records_in) },
	{ "dropped_records", HK_NUM,
	    offsetof(struct msg_health, dropped_records) },
	{ "dropped_bytes", HK_NUM, offsetof(struct msg_health, dropped_bytes) },
	{ "rejected_records", HK_NUM,
	    offsetof(struct msg_health, rejected_records) },
	{ "rejected_bytes", HK_NUM,
	    offsetof(struct msg_health, rejected_bytes) },
	{ "kernel_lost", HK_NUM, offsetof(struct msg_health, kernel_lost) },
	{ "kernel_backlog", HK_NUM,
	    offsetof(struct msg_health, kernel_backlog) },
	{ "spool_bytes", HK_NUM, offsetof(struct msg_health, spool_bytes) },
	{ "unacked_bytes", HK_NUM, offsetof(struct msg_health, unacked_bytes) },
	{ "oldest_unshipped_age", HK_NUM,
	    offsetof(struct msg_health, oldest_unshipped_age) },
	{ "start_time", HK_NUM, offsetof(struct msg_health, start_time) },
	{ "boot_id", HK_BOOT, 0 },
	{ "format", HK_FORMAT, 0 },
};
#define NHKEYS	(sizeof(hkeys) / sizeof(hkeys[0]))

static const char *const formats[] = {
	[WH_FMT_UNKNOWN] = "unknown", [WH_FMT_RAW] = "raw",
	[WH_FMT_ENRICHED] = "enriched", [WH_FMT_MIXED] = "mixed",
};

const char *
wire_health_format_name(enum wire_health_format f)
{
	return (unsigned)f < sizeof(formats) / sizeof(formats[0]) ?
	    formats[f] : "unknown";
}

static int
key_char(uint8_t ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	    ch == '_';
}

static int
value_char(uint8_t ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == ':' ||
	    ch == '+' || ch == '-';
}

static int
is_word(const uint8_t *v, size_t len, const char *w)
{
	return strlen(w) == len && memcmp(v, w, len) == 0;
}

/* A count: decimal without a sign, below 2^63; "none"/"unknown": -1. */
static int
get_num(const uint8_t *v, size_t len, int64_t *out)
{
	uint64_t n = 0;
	size_t i;

	if (is_word(v, len, "none") || is_word(v, len, "unknown")) {
		*out = -1;
		return 0;
	}
	if (len == 0 || len > 19)
		return -1;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (n > INT64_MAX)
		return -1;
	*out = (int64_t)n;
	return 0;
}

static int
set_value(const struct hkey *k, const uint8_t *v, size_t len,
    struct msg_health *m)
{
	size_t i;
	int f;

	switch (k->kind) {
	case HK_NUM:
		return get_num(v, len, (int64_t *)(void *)((char *)m + k->off));
	case HK_BOOT:	/* /proc/sys/kernel/random/boot_id: a UUID */
		if (len != sizeof(m->boot_id) - 1)
			return -1;
		for (i = 0; i < len; i++)
			if (!((v[i] >= '0' && v[i] <= '9') ||
			    (v[i] >= 'a' && v[i] <= 'f') || v[i] == '-'))
				return -1;
		memcpy(m->boot_id, v, len);
		m->boot_id[len] = '\0';
		return 0;
	case HK_FORMAT:
		for (f = WH_FMT_UNKNOWN; f <= WH_FMT_MIXED; f++)
			if (is_word(v, len, formats[f])) {
				m->format = (enum wire_health_format)f;
				return 0;
			}
		return -1;
	}
	return -1;
}

static void
health_clear(struct msg_health *m)
{
	memset(m, 0, sizeof(*m));
	m->time = m->records_in = m->dropped_records = m->dropped_bytes = -1;
	m->rejected_records = m->rejected_bytes = -1;
	m->kernel_lost = m->kernel_backlog = m->spool_bytes = -1;
	m->unacked_bytes = m->oldest_unshipped_age = m->start_time = -1;
	m->format = WH_FMT_UNKNOWN;
}

int
wire_dec_health(const uint8_t *p, size_t len, struct msg_health *m)
{
	uint64_t seen = 0;
	size_t i = 0, ks, kl, vs, npairs = 0, k;

	health_clear(m);
	if (len == 0 || len > WIRE_MAX_HEALTH)
		return -1;
	for (;;) {
		for (ks = i; i < len && key_char(p[i]); i++)
			;
		kl = i - ks;
		if (kl == 0 || kl > WIRE_HEALTH_KEY || i == len || p[i] != '=')
			return -1;
		for (vs = ++i; i < len && value_char(p[i]); i++)
			;
		if (i - vs > WIRE_HEALTH_VALUE || ++npairs > WIRE_HEALTH_PAIRS)
			return -1;
		for (k = 0; k < NHKEYS; k++)
			if (is_word(p + ks, kl, hkeys[k].name))
				break;
		if (k < NHKEYS) {
			if ((seen & (1ULL << k)) ||
			    set_value(&hkeys[k], p + vs, i - vs, m) == -1)
				return -1;
			seen |= 1ULL << k;
		}
		if (i == len)
			break;
		/* One space between pairs, none at the end. */
		if (p[i] != ' ' || ++i == len)
			return -1;
	}
	m->text = p;
	m->len = len;
	return 0;
}

int
wire_enc_health(struct wbuf *w, const char *text, size_t len)
{
	struct msg_health m;

	if (wire_dec_health((const uint8_t *)text, len, &m) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (wbuf_reserve(w, WIRE_HDR_LEN + len) == -1)
		return -1;
	wbuf_put_u32(w, (uint32_t)len);
	wbuf_put_u8(w, WIRE_MSG_HEALTH);
	wbuf_put_u8(w, 0);
	wbuf_put_u16(w, 0);
	wbuf_put_bytes(w, text, len);
	return 0;
}
