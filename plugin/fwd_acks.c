/*
 * Acknowledgement bookkeeping in audisp-dist: from each host's last
 * reported durable position, what it still lacks and which closed
 * segments every host holds.  Acks are cumulative: a host that holds
 * (seq, size) holds every byte of every earlier segment.
 */
#include <stdint.h>

#include "forwarder.h"

uint64_t
fwd_acked_bytes(const struct wire_pos *ack, const struct spool_seg *seg)
{
	if (ack->seq == 0 || seg->seq > ack->seq)
		return 0;
	if (seg->seq < ack->seq || ack->complete)
		return seg->size;
	/* The receiver may hold more than a segment cut after a power loss. */
	return ack->size < seg->size ? ack->size : seg->size;
}

uint64_t
fwd_unacked_bytes(const struct wire_pos *ack, const struct spool_seg *segs,
    size_t n)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += segs[i].size - fwd_acked_bytes(ack, &segs[i]);
	return sum;
}

int
fwd_first_unacked(const struct wire_pos *ack, const struct spool_seg *segs,
    size_t n, struct wire_pos *at)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t have = fwd_acked_bytes(ack, &segs[i]);

		if (have < segs[i].size) {
			at->seq = segs[i].seq;
			at->size = have;
			at->complete = 0;
			return 1;
		}
	}
	return 0;
}

int
fwd_may_delete(const struct wire_pos *const *acks, size_t nhosts,
    const struct spool_seg *seg, uint64_t open_seq)
{
	size_t i;

	/* No host: nothing is ever shipped, so everything is kept. */
	if (nhosts == 0 || seg->open || seg->seq >= open_seq)
		return 0;
	for (i = 0; i < nhosts; i++)
		if (acks[i]->seq < seg->seq ||
		    fwd_acked_bytes(acks[i], seg) < seg->size)
			return 0;
	return 1;
}
