/*
 * zstd for DATAZ frames: see compress.h.  One context each way per
 * process, made at first use; both programs that use them are
 * single-threaded.
 */
#include <zstd.h>

#include "compress.h"
#include "log.h"

#define LEVEL	1	/* fast: the link, not the CPU, should be the limit */

size_t
compress_bound(size_t len)
{
	return ZSTD_compressBound(len);
}

size_t
compress_chunk(void *dst, size_t cap, const void *src, size_t len)
{
	static ZSTD_CCtx *cctx;
	size_t n;

	if (cctx == NULL && (cctx = ZSTD_createCCtx()) == NULL)
		fatalx("zstd: no memory for a compression context");
	n = ZSTD_compressCCtx(cctx, dst, cap, src, len, LEVEL);
	if (ZSTD_isError(n) || n >= len)
		return 0;
	return n;
}

int
decompress_chunk(void *dst, size_t rawlen, const void *z, size_t zlen,
    const char **why)
{
	static ZSTD_DCtx *dctx;
	unsigned long long claimed;
	size_t n;

	/*
	 * No window limit is needed, nor would one be obeyed:
	 * ZSTD_decompressDCtx decodes in one pass straight into dst, whatever
	 * window the frame asks for, so memory is bounded by the caller's
	 * buffer (rawlen, at most WIRE_MAX_DATA), not by the frame.
	 */
	if (dctx == NULL && (dctx = ZSTD_createDCtx()) == NULL)
		fatalx("zstd: no memory for a decompression context");
	claimed = ZSTD_getFrameContentSize(z, zlen);
	if (claimed == ZSTD_CONTENTSIZE_ERROR) {
		*why = "not a zstd frame";
		return -1;
	}
	if (claimed != ZSTD_CONTENTSIZE_UNKNOWN && claimed != rawlen) {
		*why = "the zstd frame's size is not the frame's length";
		return -1;
	}
	n = ZSTD_findFrameCompressedSize(z, zlen);
	if (ZSTD_isError(n) || n != zlen) {
		*why = "not exactly one zstd frame";
		return -1;
	}
	n = ZSTD_decompressDCtx(dctx, dst, rawlen, z, zlen);
	if (ZSTD_isError(n) || n != rawlen) {
		*why = ZSTD_isError(n) ? ZSTD_getErrorName(n) :
		    "the lines are shorter than the frame says";
		return -1;
	}
	return 0;
}
