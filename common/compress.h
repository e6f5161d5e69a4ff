/*
 * zstd for DATAZ frames: the forwarder compresses a chunk of whole lines
 * when that makes it smaller; the receiver restores exactly the bytes the
 * frame says it holds, or refuses the frame.
 */
#ifndef AUDITDIST_COMPRESS_H
#define AUDITDIST_COMPRESS_H

#include <stddef.h>

/* Room dst needs for len bytes compressed. */
size_t	compress_bound(size_t len);
/* The compressed length, or 0 when it would not be smaller than len. */
size_t	compress_chunk(void *dst, size_t cap, const void *src, size_t len);
/*
 * Decompress one whole zstd frame (nothing after it) that must hold
 * exactly rawlen bytes, into dst (rawlen bytes of room).  0, or -1 with a
 * reason: anything else is refused, whatever the frame claims.
 */
int	decompress_chunk(void *dst, size_t rawlen, const void *z, size_t zlen,
	    const char **why);

#endif
