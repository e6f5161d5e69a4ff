/*
 * Fuzz target: the configuration file (common/conf.c), read the way the
 * programs read it: conf_load on a file, here a memfd reached through
 * /proc/self/fd, so that NUL bytes and the size limit are the file's.
 *
 * What the parser accepts must be usable as it is: a sender host's remote
 * splits (fwd_split_hostport, with the forwarder's buffer sizes), names
 * and sizes are within their limits, passwords are where has_secrets says.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "forwarder.h"
#include "wire.h"
#include "fuzz.h"

#define FWD_ADDR_MAX	256	/* ADDR_MAX of forwarder/conn.h */

static int memfd = -1;
static char path[64];

static void
check_host(const struct conf_host *h, int sender)
{
	char host[FWD_ADDR_MAX], port[8];
	int numeric;

	FUZZ_CHECK(h->name != NULL);
	FUZZ_CHECK(wire_valid_host(h->name, strlen(h->name)));
	FUZZ_CHECK(h->compression == CONF_COMPRESS_NONE ||
	    h->compression == CONF_COMPRESS_ZSTD);
	if (h->directory != NULL)
		FUZZ_CHECK(h->directory[0] == '/');
	if (!sender)
		return;
	FUZZ_CHECK(h->remote != NULL);
	FUZZ_CHECK(h->fingerprint != NULL || h->pubkey != NULL ||
	    h->cafile != NULL);
	FUZZ_CHECK(fwd_split_hostport(h->remote, host, sizeof(host), port,
	    sizeof(port), CONF_DEFAULT_PORT, &numeric) == 0);
	FUZZ_CHECK(host[0] != '\0' && port[0] != '\0');
}

static void
check_conf(const struct conf *c)
{
	const struct conf_host *h;
	unsigned i;
	int secrets = 0;

	FUZZ_CHECK(c->name != NULL && c->path != NULL);
	FUZZ_CHECK(c->sender.directory != NULL && c->sender.user != NULL &&
	    c->sender.status_file != NULL);
	FUZZ_CHECK(c->receiver.directory != NULL && c->receiver.user != NULL);
	FUZZ_CHECK(c->receiver.nlisten >= 1 && c->receiver.listen != NULL);
	for (i = 0; i < c->receiver.nlisten; i++)
		FUZZ_CHECK(c->receiver.listen[i] != NULL);
	FUZZ_CHECK(c->receiver.listen[c->receiver.nlisten] == NULL);
	/* Enrolment has its CA and CRL; neither comes without it. */
	FUZZ_CHECK(c->receiver.enrol == (c->receiver.cafile != NULL) &&
	    c->receiver.enrol == (c->receiver.crlfile != NULL));
	FUZZ_CHECK(c->sender.spool_min_free_pct <= 99);
	FUZZ_CHECK(strcmp(conf_flush_name(c->sender.flush), "unknown") != 0);
	FUZZ_CHECK(strcmp(conf_full_action_name(c->sender.full_action),
	    "unknown") != 0);
	if (c->sender.full_action == FULL_EXEC)
		FUZZ_CHECK(c->sender.full_exec != NULL &&
		    c->sender.full_exec[0] == '/');
	for (h = c->sender.hosts; h != NULL; h = h->next) {
		check_host(h, 1);
		secrets |= h->password != NULL;
	}
	for (h = c->receiver.hosts; h != NULL; h = h->next) {
		check_host(h, 0);
		secrets |= h->password != NULL;
	}
	if (secrets)
		FUZZ_CHECK(c->has_secrets != 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c;
	char err[1024];
	size_t off = 0;
	ssize_t n;

	if (memfd == -1) {
		FUZZ_SETUP((memfd = memfd_create("fuzz.conf", MFD_CLOEXEC)) !=
		    -1);
		/* conf_load refuses a file others may write or read. */
		FUZZ_SETUP(fchmod(memfd, 0600) == 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	FUZZ_SETUP(ftruncate(memfd, 0) == 0);
	while (off < size) {
		n = pwrite(memfd, data + off, size - off, (off_t)off);
		FUZZ_SETUP(n > 0);
		off += (size_t)n;
	}
	err[0] = '\0';
	if ((c = conf_load(path, err, sizeof(err))) == NULL) {
		/* A refusal names the file, and says something. */
		FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0);
		FUZZ_CHECK(strlen(err) > strlen(path) + 1);
		return 0;
	}
	FUZZ_CHECK(err[0] == '\0');
	check_conf(c);
	conf_free(c);
	return 0;
}
