/*
 * Fuzz target: file names read back from directories, the spool's segment
 * names (spool_seg_parse_name, plugin/spool.c) and the receiver's store names
 * (store_parse_name, receiver/store.c).  The input is one directory entry
 * name; readdir gives NUL-terminated names, so the input is cut at its
 * first NUL.  A name that parses must be exactly the one the program
 * itself would write for that number.
 */
#include <string.h>

#include "audisp-dist.h"
#include "auditdistd.h"
#include "fuzz.h"

#define NAME_MAX_LEN	255	/* NAME_MAX: no directory entry is longer */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[NAME_MAX_LEN + 1], back[NAME_MAX_LEN + 1];
	uint64_t seq;
	size_t len;
	int flag;

	len = size > NAME_MAX_LEN ? NAME_MAX_LEN : size;
	memcpy(name, data, len);
	name[len] = '\0';
	len = strlen(name);

	if (spool_seg_parse_name(name, &seq, &flag) == 0) {
		FUZZ_CHECK(seq != 0 && (flag == 0 || flag == 1));
		FUZZ_CHECK(spool_seg_name(back, sizeof(back), seq, flag) == 0);
		FUZZ_CHECK(strcmp(back, name) == 0);
	}
	if (store_parse_name(name, &seq, &flag) == 0) {
		FUZZ_CHECK(seq != 0 && (flag == 0 || flag == 1));
		FUZZ_CHECK(store_name(back, sizeof(back), seq, flag) == 0);
		FUZZ_CHECK(strcmp(back, name) == 0);
	}
	FUZZ_CHECK(len <= NAME_MAX_LEN);
	return 0;
}
