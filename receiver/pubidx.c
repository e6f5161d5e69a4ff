/*
 * Where the publisher's bytes lie in the sender's terms: a trail file's
 * index (.store/N.idx, "S SPOOL SEQ OFFSET" where a sender segment
 * starts) turns a byte of the trail into (spool id, segment, offset in
 * the segment), which every receiver of that sender shares, and back.
 * The message IDs are made of those, so that two receivers of a sender
 * publish the same IDs and each can go on after the other's messages.
 *
 * One trail file holds one series (one spool id).  An index only grows:
 * what was parsed is kept, and only what follows is read again.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auditdistd.h"
#include "publish.h"
#include "tcur.h"

struct pubent {
	uint64_t	 seq, start;
};

struct pubidx {
	uint64_t	 file;		/* the index loaded; 0: none */
	uint64_t	 read;		/* bytes of it parsed (whole lines) */
	char		 spool[PUBLISH_SPOOL_LEN + 1];
	struct pubent	*v;
	size_t		 n, cap;
};

struct pubidx *
pubidx_new(void)
{
	return calloc(1, sizeof(struct pubidx));
}

void
pubidx_free(struct pubidx *x)
{
	if (x == NULL)
		return;
	free(x->v);
	free(x);
}

/*
 * What an index's S line and a message ID both end with, to the end of
 * c: SPOOL, SEGMENT and a decimal number, each after sep.  The spool id's
 * 32 hex digits go into spool as text and into raw as bytes.
 */
static int
get_tail(struct tcur *c, const char *sep, char *spool, uint8_t *raw,
    uint64_t *seg, uint64_t *num)
{
	const char *hex;

	tc_lit(c, sep);
	hex = tc_rest(c);
	tc_hexbytes(c, raw, PUBLISH_SPOOL_LEN / 2);
	tc_lit(c, sep);
	tc_hex(c, TRAIL_NAME_LEN, seg);
	tc_lit(c, sep);
	tc_dec(c, UINT64_MAX, num);
	if (tc_end(c) == -1)
		return -1;
	memcpy(spool, hex, PUBLISH_SPOOL_LEN);
	spool[PUBLISH_SPOOL_LEN] = '\0';
	return 0;
}

int
pubidx_parse_id(const char *id, struct pubid *p)
{
	struct tcur c;

	tc_init(&c, id, strlen(id));
	tc_word(&c, ':', &p->host, &p->hostlen);
	return get_tail(&c, ":", p->spool, p->spool_id, &p->seg, &p->off);
}

/*
 * "S <32 hex> <16 hex> <decimal>": 0, or -1 for any other line.  Read as
 * trail.c's recover_index reads the same lines.
 */
static int
parse_s(const char *l, size_t len, char *spool, struct pubent *e)
{
	uint8_t raw[PUBLISH_SPOOL_LEN / 2];
	struct tcur c;

	tc_init(&c, l, len);
	tc_lit(&c, "S");
	return get_tail(&c, " ", spool, raw, &e->seq, &e->start);
}

static int
add(struct pubidx *x, const struct pubent *e)
{
	struct pubent *nv;

	if (x->n > 0 && e->start < x->v[x->n - 1].start) {
		errno = EINVAL;		/* an index goes forward */
		return -1;
	}
	if (x->n == x->cap) {
		if ((nv = reallocarray(x->v, x->cap ? x->cap * 2 : 64,
		    sizeof(*nv))) == NULL)
			return -1;
		x->v = nv;
		x->cap = x->cap ? x->cap * 2 : 64;
	}
	x->v[x->n++] = *e;
	return 0;
}

/* Parse what file num's index gained since it was last read. */
static int
load(struct pubidx *x, int storefd, uint64_t num)
{
	char name[40], buf[8192], spool[PUBLISH_SPOOL_LEN + 1], *p, *nl;
	struct pubent e;
	ssize_t r;
	size_t have;
	int fd, ret = -1;

	if (x->file != num) {
		x->file = num;
		x->read = 0;
		x->n = 0;
		x->spool[0] = '\0';
	}
	if (store_name(name, sizeof(name), num, 1) == -1 ||
	    (fd = openat(storefd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1)
		return -1;
	while ((r = pread(fd, buf, sizeof(buf), (off_t)x->read)) > 0) {
		have = (size_t)r;
		for (p = buf; (nl = memchr(p, '\n', have - (size_t)(p - buf)));
		    p = nl + 1) {
			if (parse_s(p, (size_t)(nl - p), spool, &e) == 0) {
				if (x->spool[0] == '\0')
					memcpy(x->spool, spool, sizeof(spool));
				if (strcmp(spool, x->spool) != 0 ||
				    add(x, &e) == -1) {
					errno = EINVAL;
					goto out;
				}
			}
			x->read += (uint64_t)(nl - p) + 1;
		}
		if (p == buf)
			break;		/* a line not yet whole, or too long */
	}
	ret = r == -1 ? -1 : 0;
out:
	close(fd);
	return ret;
}

int
pubidx_segment(struct pubidx *x, int storefd, uint64_t num, uint64_t off,
    struct pubseg *s)
{
	size_t lo = 0, hi, mid;

	if (load(x, storefd, num) == -1)
		return -1;
	/* The last segment that starts at or before off. */
	hi = x->n;
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (x->v[mid].start <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0) {
		errno = ENOENT;
		return -1;
	}
	memcpy(s->spool, x->spool, sizeof(s->spool));
	s->seq = x->v[lo - 1].seq;
	s->start = x->v[lo - 1].start;
	s->end = lo < x->n ? x->v[lo].start : UINT64_MAX;
	return 0;
}

int
pubidx_locate(struct pubidx *x, int storefd, const uint64_t *v, size_t n,
    const char *spool, uint64_t seq, uint64_t *file, uint64_t *start)
{
	size_t i, k;

	for (i = n; i-- > 0;) {
		if (load(x, storefd, v[i]) == -1 || strcmp(x->spool, spool) != 0)
			continue;
		for (k = 0; k < x->n; k++)
			if (x->v[k].seq == seq) {
				*file = v[i];
				*start = x->v[k].start;
				return 0;
			}
	}
	return -1;
}
