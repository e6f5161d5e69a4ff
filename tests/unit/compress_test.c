/*
 * DATAZ compression (compress.c): real records come back byte for byte;
 * what would not shrink is sent raw; a frame that is not exactly one zstd
 * frame of exactly the announced length is refused, and nothing is
 * written past the room the announced length gives.
 */
#include <zstd.h>

#include "compress.h"
#include "harness.h"
#include "wire.h"

#define RAW		"tests/data/sample-raw.log"
#define ENRICHED	"tests/data/sample-enriched.log"
#define CHUNK		(256 * 1024)	/* the forwarder's frame */

static char *
slurp(const char *path, size_t *len)
{
	FILE *f;
	char *buf;
	long n;

	if ((f = fopen(path, "r")) == NULL || fseek(f, 0, SEEK_END) == -1 ||
	    (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) == -1 ||
	    (buf = malloc((size_t)n)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "%s: cannot read\n", path);
		abort();
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Reproducible bytes that do not compress. */
static void
noise(uint8_t *p, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		p[i] = (uint8_t)(seed >> 24);
	}
}

/* Compressed and back; 0 when it did, with its compressed size in zlen. */
static int
round_trip(const char *src, size_t len, size_t *zlen)
{
	size_t cap = compress_bound(len);
	char *z = malloc(cap), *back = malloc(len);
	const char *why = NULL;
	int rc = -1;

	if (z == NULL || back == NULL)
		abort();
	if ((*zlen = compress_chunk(z, cap, src, len)) == 0)
		fprintf(stderr, "%zu bytes did not compress\n", len);
	else if (decompress_chunk(back, len, z, *zlen, &why) == -1)
		fprintf(stderr, "%zu bytes: refused: %s\n", len, why);
	else if (memcmp(back, src, len) != 0)
		fprintf(stderr, "%zu bytes: came back different\n", len);
	else
		rc = 0;
	free(z);
	free(back);
	return rc;
}

/* Both sample files, in forwarder-sized chunks and in the largest DATA. */
static void
test_records(void)
{
	const char *files[] = { RAW, ENRICHED };
	size_t f, len, off, n, zlen, ztotal;
	char *buf, z[64];

	for (f = 0; f < 2; f++) {
		buf = slurp(files[f], &len);
		ztotal = 0;
		for (off = 0; off < len; off += n) {
			n = len - off < CHUNK ? len - off : CHUNK;
			CHECK(round_trip(buf + off, n, &zlen) == 0);
			ztotal += zlen;
		}
		/* audit text compresses well, even at the fastest level */
		CHECK(ztotal < len / 4);
		n = len < WIRE_MAX_DATA ? len : WIRE_MAX_DATA;
		CHECK(round_trip(buf, n, &zlen) == 0);
		/* one byte does not shrink */
		CHECK_EQ_U64(compress_chunk(z, sizeof(z), buf, 1), 0);
		free(buf);
	}
}

static void
test_empty(void)
{
	uint8_t z[64], dst[1];
	const char *why = NULL;
	size_t zlen;

	CHECK_EQ_U64(compress_chunk(z, sizeof(z), "", 0), 0);
	/* An empty frame restores nothing, and that is what was announced. */
	zlen = ZSTD_compress(z, sizeof(z), "", 0, 1);
	REQUIRE(!ZSTD_isError(zlen));
	CHECK_EQ_I64(decompress_chunk(dst, 0, z, zlen, &why), 0);
	CHECK_EQ_I64(decompress_chunk(dst, 1, z, zlen, &why), -1);
	/* No bytes at all are no frame. */
	why = NULL;
	CHECK_EQ_I64(decompress_chunk(dst, 0, z, 0, &why), -1);
	CHECK(why != NULL);
}

/* Noise is sent as it is: compression says 0, whatever the room. */
static void
test_incompressible(void)
{
	static uint8_t src[CHUNK];
	size_t cap = compress_bound(sizeof(src));
	uint8_t *z = malloc(cap);

	REQUIRE(z != NULL);
	noise(src, sizeof(src), 0x9e3779b97f4a7c15ULL);
	CHECK_EQ_U64(compress_chunk(z, cap, src, sizeof(src)), 0);
	CHECK_EQ_U64(compress_chunk(z, cap, src, 100), 0);
	free(z);
}

/* The output never passes cap; too little room gives "not smaller". */
static void
test_bounds(void)
{
	static const size_t lens[] = { 1, 100, 4096, CHUNK, WIRE_MAX_DATA };
	size_t caps[4], i, len, zlen, need;
	char *text, *z;

	text = slurp(ENRICHED, &len);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		CHECK(compress_bound(lens[i]) >= lens[i]);
	REQUIRE((z = malloc(compress_bound(CHUNK))) != NULL);
	need = compress_chunk(z, compress_bound(CHUNK), text, CHUNK);
	REQUIRE(need > 0);
	free(z);
	caps[0] = need / 2;
	caps[1] = need - 1;
	caps[2] = need;
	caps[3] = need + 100;
	/* each in a block of exactly that size: ASan sees its end */
	for (i = 0; i < 4; i++) {
		REQUIRE((z = malloc(caps[i])) != NULL);
		zlen = compress_chunk(z, caps[i], text, CHUNK);
		CHECK(zlen <= caps[i]);
		if (caps[i] < need)
			CHECK_EQ_U64(zlen, 0);
		free(z);
	}
	free(text);
}

/* A frame of src that does not say its size. */
static size_t
frame(void *z, size_t cap, const void *src, size_t len)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_outBuffer out = { z, cap, 0 };
	ZSTD_inBuffer in = { src, len, 0 };

	if (c == NULL || ZSTD_isError(ZSTD_CCtx_setParameter(c,
	    ZSTD_c_contentSizeFlag, 0)) ||
	    ZSTD_compressStream2(c, &out, &in, ZSTD_e_end) != 0)
		abort();
	ZSTD_freeCCtx(c);
	return out.pos;
}

/*
 * A frame that says nothing of its size is held to the announced length
 * all the same: longer content is refused without writing past dst,
 * shorter content is refused.
 */
static void
test_announced_length(void)
{
	static char src[8192];
	size_t zcap = compress_bound(sizeof(src)), zlen, i;
	const char *why;
	char *z, *dst;

	for (i = 0; i < sizeof(src); i++)
		src[i] = "type=SYSCALL msg=audit(1:2): a0=1\n"[i % 34];
	REQUIRE((z = malloc(zcap)) != NULL);
	zlen = frame(z, zcap, src, sizeof(src));
	REQUIRE((dst = malloc(sizeof(src))) != NULL);
	CHECK_EQ_I64(decompress_chunk(dst, sizeof(src), z, zlen, &why), 0);
	CHECK_EQ_MEM(dst, src, sizeof(src));
	free(dst);
	REQUIRE((dst = malloc(sizeof(src) - 1)) != NULL);
	CHECK_EQ_I64(decompress_chunk(dst, sizeof(src) - 1, z, zlen, &why),
	    -1);
	free(dst);
	REQUIRE((dst = malloc(sizeof(src) + 1)) != NULL);
	CHECK_EQ_I64(decompress_chunk(dst, sizeof(src) + 1, z, zlen, &why),
	    -1);
	free(dst);
	free(z);
}

/*
 * Broken frames: every prefix, extra bytes after it, more frames after
 * it (even ones that hold nothing), a size that is not the announced one, text that is no frame, and every byte
 * flipped (which may, without a checksum, restore other bytes, but must
 * not crash nor write past dst).
 */
static void
test_corrupt(void)
{
	char *text, *dst, *z, *bad;
	size_t len, zlen, n, i, refused = 0;
	const char *why;

	text = slurp(RAW, &len);
	len = 4096;
	REQUIRE((z = malloc(2 * compress_bound(len))) != NULL);
	REQUIRE((bad = malloc(2 * compress_bound(len))) != NULL);
	REQUIRE((dst = malloc(len)) != NULL);
	REQUIRE((zlen = compress_chunk(z, compress_bound(len), text, len)) > 0);
	for (n = 0; n < zlen; n++) {
		why = NULL;
		CHECK_EQ_I64(decompress_chunk(dst, len, z, n, &why), -1);
		CHECK(why != NULL);
	}
	memcpy(bad, z, zlen);
	bad[zlen] = 0;
	CHECK_EQ_I64(decompress_chunk(dst, len, bad, zlen + 1, &why), -1);
	memcpy(bad + zlen, z, zlen);
	CHECK_EQ_I64(decompress_chunk(dst, len, bad, 2 * zlen, &why), -1);
	/* followed by frames that add no bytes: an empty one, a skippable one */
	n = ZSTD_compress(bad + zlen, zlen, "", 0, 1);
	REQUIRE(!ZSTD_isError(n));
	CHECK_EQ_I64(decompress_chunk(dst, len, bad, zlen + n, &why), -1);
	memcpy(bad + zlen, "\x50\x2a\x4d\x18\x01\0\0\0x", 9);
	CHECK_EQ_I64(decompress_chunk(dst, len, bad, zlen + 9, &why), -1);
	CHECK_EQ_I64(decompress_chunk(dst, len - 1, z, zlen, &why), -1);
	CHECK_EQ_I64(decompress_chunk(dst, len, text, len, &why), -1);
	for (i = 0; i < zlen; i++) {
		memcpy(bad, z, zlen);
		bad[i] ^= 0x5a;
		refused += decompress_chunk(dst, len, bad, zlen, &why) == -1;
	}
	/* the header and block structure at least are checked */
	CHECK(refused >= zlen / 4);
	CHECK_EQ_I64(decompress_chunk(dst, len, z, zlen, &why), 0);
	CHECK_EQ_MEM(dst, text, len);
	free(dst);
	free(bad);
	free(z);
	free(text);
}

static const struct h_test tests[] = {
	TEST(test_records),
	TEST(test_empty),
	TEST(test_incompressible),
	TEST(test_bounds),
	TEST(test_announced_length),
	TEST(test_corrupt),
};

RUN_TESTS("compress", tests)
