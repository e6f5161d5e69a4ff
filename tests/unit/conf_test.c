/*
 * conf.c: every keyword, every default, the FreeBSD man page examples, and
 * every error path with the line it must name.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <unistd.h>

#include "conf.h"
#include "harness.h"

static char err[1024];

#define FP_UPPER "SHA256=8F:0A:FC:8A:3D:09:80:AF:D9:AA:38:CC:8A:86:53:E6:" \
		 "8F:B6:1C:55:30:14:D7:F9:AA:8B:3E:73:CD:F5:76:2B"
#define FP_LOWER "sha256=8f:0a:fc:8a:3d:09:80:af:d9:aa:38:cc:8a:86:53:e6:" \
		 "8f:b6:1c:55:30:14:d7:f9:aa:8b:3e:73:cd:f5:76:2b"

/* A P-256 key's pin, printed as auditdistd.conf(5) shows. */
#define PIN	"sha256//5Jy5EFkwUN9ZSiPwDTItB6l/DsB0MJT5IRAffBz8wkc="

/* A complete sender host block, for tests about something else. */
#define SHOST	"\thost backup {\n\t\tremote \"tls://10.0.0.4\"\n" \
		"\t\tfingerprint \"" FP_UPPER "\"\n" \
		"\t\tpassword \"pw\"\n\t}\n"
/* What every receiver block needs. */
#define FILE_MAX	(16 * 1024 * 1024)	/* CONF_MAX_FILE */
#define RCERT	" certfile /etc/audit/r.pem\n keyfile /etc/audit/r.key\n"

static struct conf *
parse(const char *text)
{
	strcpy(err, "(no message)");
	return conf_parse("t.conf", text, err, sizeof(err));
}

/* text must be refused with "t.conf:LINE: " and each given word. */
static int
refused(const char *text, unsigned line, const char *w1, const char *w2)
{
	struct conf *c;
	char prefix[64];

	if ((c = parse(text)) != NULL) {
		conf_free(c);
		fprintf(stderr, "  accepted: %s\n", text);
		return 0;
	}
	snprintf(prefix, sizeof(prefix), "t.conf:%u: ", line);
	if (strncmp(err, prefix, strlen(prefix)) != 0 ||
	    (w1 != NULL && strstr(err, w1) == NULL) ||
	    (w2 != NULL && strstr(err, w2) == NULL)) {
		fprintf(stderr, "  message: %s\n", err);
		return 0;
	}
	return 1;
}

#define REFUSED(text, line, w1, w2)	CHECK(refused(text, line, w1, w2))

static void
test_defaults(void)
{
	char host[HOST_NAME_MAX + 1];
	struct conf *c;

	REQUIRE((c = parse("")) != NULL);
	CHECK(gethostname(host, sizeof(host)) == 0);
	CHECK_STR(c->name, host);
	CHECK_STR(c->path, "t.conf");
	CHECK(c->timeout == 20);
	CHECK(c->pidfile == NULL);
	CHECK(c->has_secrets == 0);
	CHECK(c->sender.present == 0);
	CHECK_STR(c->sender.directory, CONF_DEFAULT_SPOOL);
	CHECK(c->sender.source == NULL);
	CHECK(c->sender.segment_size == 8 * 1024 * 1024);
	CHECK(c->sender.segment_age == 60);
	CHECK(c->sender.flush == FLUSH_INCREMENTAL);
	CHECK(c->sender.flush_records == 100);
	CHECK(c->sender.flush_bytes == 0);
	CHECK(c->sender.spool_max_size == 1024ULL * 1024 * 1024);
	CHECK(c->sender.spool_min_free == 0);
	CHECK(c->sender.spool_min_free_pct == 5);
	CHECK(c->sender.full_action == FULL_DROP_NEW);
	CHECK(c->sender.full_exec == NULL);
	CHECK(c->sender.status_interval == 10);
	CHECK_STR(c->sender.status_file, CONF_DEFAULT_SPOOL "/status");
	CHECK_STR(c->sender.user, "auditdist");
	CHECK(c->sender.hosts == NULL);
	CHECK(c->receiver.present == 0);
	CHECK(c->receiver.nlisten == 1);
	CHECK_STR(c->receiver.listen[0], "tls://[::]:7878");
	CHECK(c->receiver.listen[1] == NULL);
	CHECK_STR(c->receiver.directory, CONF_DEFAULT_TRAILS);
	CHECK(c->receiver.certfile == NULL);
	CHECK(c->receiver.keyfile == NULL);
	CHECK(c->receiver.trail_size == 64ULL * 1024 * 1024);
	CHECK(c->receiver.trail_keep == 0);
	CHECK(c->receiver.trail_max_size == 0);
	CHECK(c->receiver.hosts == NULL);
	conf_free(c);

	/* An empty sender block has the same defaults. */
	REQUIRE((c = parse("sender {\n}\n")) != NULL);
	CHECK(c->sender.present == 1);
	CHECK(c->sender.segment_size == 8 * 1024 * 1024);
	CHECK(c->sender.flush_records == 100);
	CHECK_STR(c->sender.status_file, CONF_DEFAULT_SPOOL "/status");
	conf_free(c);
	conf_free(NULL);
}

static void
test_global(void)
{
	struct conf *c;

	REQUIRE((c = parse("# comment\n\nname \"web-1.example\"\n"
	    "timeout 5   # seconds\npidfile /run/audisp-dist.pid\n")) != NULL);
	CHECK_STR(c->name, "web-1.example");
	CHECK(c->timeout == 5);
	CHECK_STR(c->pidfile, "/run/audisp-dist.pid");
	conf_free(c);

	REQUIRE((c = parse("name web_1\ntimeout \"3600\"\npidfile none\n"))
	    != NULL);
	CHECK_STR(c->name, "web_1");
	CHECK(c->timeout == 3600);
	CHECK_STR(c->pidfile, "none");
	conf_free(c);

	REFUSED("timeout 0\n", 1, "out of range", "1 to 3600");
	REFUSED("timeout 3601\n", 1, "out of range", "1 to 3600");
	REFUSED("timeout 99999999999999999999999\n", 1, "out of range", NULL);
	REFUSED("timeout -1\n", 1, "whole number", "\"-1\"");
	REFUSED("timeout 5s\n", 1, "whole number", NULL);
	REFUSED("\ntimeout\n", 2, "\"timeout\" needs a value", NULL);
	REFUSED("timeout 5 6\n", 1, "takes one value, found 2", NULL);
	REFUSED("timeout 5\ntimeout 6\n", 2, "duplicate \"timeout\"",
	    "line 1");
	REFUSED("pidfile run/x.pid\n", 1, "absolute path", "run/x.pid");
	REFUSED("name \"a b\"\n", 1, "\"name\" must be", NULL);
	REFUSED("name \"\"\n", 1, "\"name\" must be", NULL);
	REFUSED("name ..\n", 1, "\"name\" must be", NULL);
}

static void
test_sender(void)
{
	struct conf *c;

	REQUIRE((c = parse("sender {\n"
	    "\tdirectory \"/var/spool/ad/\"\n"
	    "\tsource 192.0.2.7\n"
	    "\tsegment_size 64k\n"
	    "\tsegment_age 5\n"
	    "\tflush incremental 7 records\n"
	    "\tspool_max_size 2G\n"
	    "\tspool_min_free 512M\n"
	    "\tspool_full_action block\n"
	    "\tstatus_interval 3\n"
	    SHOST
	    "}\n")) != NULL);
	CHECK(c->sender.present == 1);
	CHECK_STR(c->sender.directory, "/var/spool/ad");
	CHECK_STR(c->sender.status_file, "/var/spool/ad/status");
	CHECK_STR(c->sender.source, "192.0.2.7");
	CHECK(c->sender.segment_size == 64 * 1024);
	CHECK(c->sender.segment_age == 5);
	CHECK(c->sender.flush == FLUSH_INCREMENTAL);
	CHECK(c->sender.flush_records == 7);
	CHECK(c->sender.flush_bytes == 0);
	CHECK(c->sender.spool_max_size == 2048ULL * 1024 * 1024);
	CHECK(c->sender.spool_min_free == 512ULL * 1024 * 1024);
	CHECK(c->sender.spool_min_free_pct == 0);
	CHECK(c->sender.full_action == FULL_BLOCK);
	CHECK(c->sender.status_interval == 3);
	REQUIRE(c->sender.hosts != NULL);
	CHECK_STR(c->sender.hosts->name, "backup");
	CHECK_STR(c->sender.hosts->remote, "tls://10.0.0.4");
	CHECK_STR(c->sender.hosts->password, "pw");
	CHECK_STR(c->sender.hosts->fingerprint, FP_UPPER);
	CHECK(c->sender.hosts->pubkey == NULL);
	CHECK(c->sender.hosts->cafile == NULL);
	CHECK(c->sender.hosts->certfile == NULL);
	CHECK(c->sender.hosts->keyfile == NULL);
	CHECK(c->sender.hosts->lineno == 11);
	CHECK(c->sender.hosts->next == NULL);
	CHECK(c->has_secrets > 0);
	conf_free(c);

	REQUIRE((c = parse("sender {\n flush incremental 64K bytes\n"
	    " spool_max_size 0\n spool_min_free 0%\n"
	    " spool_full_action exec \"/usr/local/sbin/spool full\"\n"
	    " status_file /run/audisp-dist.status\n}\n")) != NULL);
	CHECK(c->sender.flush == FLUSH_INCREMENTAL);
	CHECK(c->sender.flush_records == 0);
	CHECK(c->sender.flush_bytes == 64 * 1024);
	CHECK(c->sender.spool_max_size == 0);
	CHECK(c->sender.spool_min_free == 0);
	CHECK(c->sender.spool_min_free_pct == 0);
	CHECK(c->sender.full_action == FULL_EXEC);
	CHECK_STR(c->sender.full_exec, "/usr/local/sbin/spool full");
	CHECK_STR(c->sender.status_file, "/run/audisp-dist.status");
	conf_free(c);

	REQUIRE((c = parse("sender {\nflush none\nspool_min_free 12%\n"
	    "spool_full_action drop_old\n}\n")) != NULL);
	CHECK(c->sender.flush == FLUSH_NONE);
	CHECK(c->sender.flush_records == 0 && c->sender.flush_bytes == 0);
	CHECK(c->sender.spool_min_free_pct == 12);
	CHECK(c->sender.spool_min_free == 0);
	CHECK(c->sender.full_action == FULL_DROP_OLD);
	conf_free(c);

	REQUIRE((c = parse("sender {\nflush data\n"
	    "spool_full_action syslog\n}\n")) != NULL);
	CHECK(c->sender.flush == FLUSH_DATA);
	CHECK(c->sender.full_action == FULL_SYSLOG);
	conf_free(c);

	REQUIRE((c = parse("sender {\nflush sync\n"
	    "spool_full_action drop_new\n}\n")) != NULL);
	CHECK(c->sender.flush == FLUSH_SYNC);
	CHECK(c->sender.full_action == FULL_DROP_NEW);
	conf_free(c);

	REQUIRE((c = parse("sender {\nflush incremental 1 record\n}\n"))
	    != NULL);
	CHECK(c->sender.flush_records == 1);
	conf_free(c);
}

static void
test_sender_errors(void)
{
	REFUSED("sender {\n\tsegment_sise 8M\n}\n", 2,
	    "unknown keyword \"segment_sise\" in sender block",
	    "did you mean \"segment_size\"");
	REFUSED("sender {\n directory /a\n directory /b\n}\n", 3,
	    "duplicate \"directory\"", "line 2");
	REFUSED("sender {\n directory spool\n}\n", 2, "absolute path", NULL);
	REFUSED("sender {\n segment_size 1K\n}\n", 2, "out of range",
	    "4K to 1G");
	REFUSED("sender {\n segment_size 2G\n}\n", 2, "out of range",
	    "4K to 1G");
	REFUSED("sender {\n segment_size 8MB\n}\n", 2, "needs a size",
	    "\"8MB\"");
	REFUSED("sender {\n segment_age 0\n}\n", 2, "out of range",
	    "1 to 86400 seconds");
	REFUSED("sender {\n status_interval 0\n}\n", 2, "out of range",
	    "1 to 86400");
	REFUSED("sender {\n status_interval 86401\n}\n", 2, "out of range",
	    NULL);
	REFUSED("sender {\n status_file status\n}\n", 2, "absolute path",
	    NULL);
	REFUSED("sender {\n flush always\n}\n", 2,
	    "unknown flush mode \"always\"", NULL);
	REFUSED("sender {\n flush incremental\n}\n", 2,
	    "\"flush incremental\" needs a count", NULL);
	REFUSED("sender {\n flush incremental 100\n}\n", 2,
	    "\"flush incremental\" needs a count", NULL);
	REFUSED("sender {\n flush incremental 100 lines\n}\n", 2,
	    "\"flush incremental\" needs a count", NULL);
	REFUSED("sender {\n flush incremental 0 records\n}\n", 2,
	    "out of range", "1 to 1000000 records");
	REFUSED("sender {\n flush incremental 0 bytes\n}\n", 2,
	    "out of range", "1 to 1G");
	REFUSED("sender {\n flush incremental x records\n}\n", 2,
	    "whole number", NULL);
	REFUSED("sender {\n flush none now\n}\n", 2,
	    "\"flush none\" takes no more values", NULL);
	REFUSED("sender {\n flush incremental 1 records now\n}\n", 2,
	    "takes at most 3 values, found 4", NULL);
	REFUSED("sender {\n spool_max_size lots\n}\n", 2, "needs a size",
	    NULL);
	REFUSED("sender {\n spool_max_size 4M\n}\n", 2,
	    "spool_max_size (4194304 bytes) is smaller than segment_size",
	    NULL);
	REFUSED("sender {\n spool_max_size 16M\n segment_size 1G\n}\n", 2,
	    "is smaller than segment_size", NULL);
	REFUSED("sender {\n segment_size 1G\n spool_max_size 16M\n}\n", 3,
	    "is smaller than segment_size", NULL);
	REFUSED("sender {\n spool_min_free 100%\n}\n", 2, "out of range",
	    "0% to 99%");
	REFUSED("sender {\n spool_min_free x%\n}\n", 2,
	    "size or a percentage", NULL);
	REFUSED("sender {\n spool_min_free lots\n}\n", 2,
	    "size such as 512M or a percentage", NULL);
	REFUSED("sender {\n spool_min_free 99999999999T\n}\n", 2,
	    "too large", NULL);
	REFUSED("sender {\n spool_full_action panic\n}\n", 2,
	    "unknown spool_full_action \"panic\"", NULL);
	REFUSED("sender {\n spool_full_action exec\n}\n", 2,
	    "needs the absolute path", NULL);
	REFUSED("sender {\n spool_full_action exec notify.sh\n}\n", 2,
	    "absolute path", "notify.sh");
	REFUSED("sender {\n spool_full_action block now\n}\n", 2,
	    "takes no more values", NULL);
	REFUSED("sender {\n source tcp://10.0.0.1\n}\n", 2,
	    "only tls://", NULL);
	REFUSED("sender {\n source \"10.0.0.1 x\"\n}\n", 2,
	    "\"source\" address", NULL);
	REFUSED("sender {\n}\nsender {\n}\n", 3, "duplicate \"sender\" block",
	    "line 1");
	REFUSED("sender foo {\n}\n", 1, "\"sender\" takes no value", NULL);
	REFUSED("sender\ndirectory /x\n", 1,
	    "\"sender\" must be followed by \"{\"", NULL);
	REFUSED("sender {\n directory /x\n", 3,
	    "missing \"}\" for the sender block opened at line 1", NULL);
	REFUSED("\nsender {\n directory /x\n\n\n\n\n\n", 9,
	    "missing \"}\" for the sender block opened at line 2", NULL);
	/* Global keywords belong at the top. */
	REFUSED("sender {\n timeout 5\n}\n", 2,
	    "\"timeout\" is not allowed in sender block", "only at top level");
	REFUSED("sender {\n listen \"tls://[::]:1\"\n}\n", 2,
	    "\"listen\" is not allowed in sender block",
	    "only in receiver block");
	/* FreeBSD allows these in a sender host; we keep one spool. */
	REFUSED("sender {\n host b {\n  directory /x\n }\n}\n", 3,
	    "\"directory\" is not allowed in sender host block",
	    "in sender block");
	REFUSED("sender {\n host b {\n  source 10.0.0.1\n }\n}\n", 3,
	    "\"source\" is not allowed in sender host block", NULL);
	REFUSED("segment_size 8M\n", 1,
	    "\"segment_size\" is not allowed at top level",
	    "only in sender block");
	REFUSED("sender {\n checksum sha256\n}\n", 2,
	    "unknown keyword \"checksum\"", NULL);
}

static void
test_hosts(void)
{
	struct conf *c;

	REQUIRE((c = parse("sender {\n"
	    "  host \"first\" {\n"
	    "    remote \"tls://[2001:db8::1]:7879\"\n"
	    "    fingerprint \"" FP_LOWER "\"\n"
	    "    password \"a \\\"quoted\\\" \\\\ secret\"\n"
	    "  }\n"
	    "  host second {\n"
	    "    remote tls://b.example.org\n"
	    "    cafile /etc/ssl/certs/ca-certificates.crt\n"
	    "    password pw2\n"
	    "  }\n"
	    "}\n")) != NULL);
	REQUIRE(c->sender.hosts != NULL && c->sender.hosts->next != NULL);
	CHECK_STR(c->sender.hosts->name, "first");
	CHECK_STR(c->sender.hosts->remote, "tls://[2001:db8::1]:7879");
	CHECK_STR(c->sender.hosts->fingerprint, FP_UPPER);
	CHECK_STR(c->sender.hosts->password, "a \"quoted\" \\ secret");
	CHECK(c->sender.hosts->lineno == 2);
	CHECK_STR(c->sender.hosts->next->name, "second");
	CHECK(c->sender.hosts->next->lineno == 7);
	conf_free(c);

	/* The same name may be a sender target and a receiver source. */
	REQUIRE((c = parse("sender {\n" SHOST "}\nreceiver {\n" SHOST RCERT
	    "}\n")) != NULL);
	conf_free(c);

	REFUSED("sender {\n" SHOST "\n\n\n" SHOST "}\n", 10,
	    "host \"backup\" defined twice (lines 2 and 10)", NULL);
	REFUSED("receiver {\n" SHOST SHOST "}\n", 7,
	    "host \"backup\" defined twice (lines 2 and 7)", NULL);
	REFUSED("sender {\n host b {\n  password p\n  pubkey " PIN "\n }\n"
	    "}\n", 2, "host \"b\" has no \"remote\"", NULL);
	REFUSED("sender {\n host b {\n  remote tls://x\n  password \"\"\n"
	    " }\n}\n", 4, "\"password\" is empty", NULL);
	REFUSED("sender {\n host b {\n  remote tls://x\n  remote tls://y\n"
	    " }\n}\n", 4, "duplicate \"remote\"", "line 3");
	REFUSED("sender {\n host b {\n  password p\n  password q\n }\n}\n",
	    4, "duplicate \"password\"", NULL);
	REFUSED("sender {\n host b {\n  remote tls://x\n", 4,
	    "missing \"}\" for the host \"b\" block opened at line 2", NULL);
	REFUSED("sender {\n host {\n }\n}\n", 2, "\"host\" needs a value",
	    NULL);
	REFUSED("sender {\n host a b {\n }\n}\n", 2,
	    "\"host\" takes one value, found 2", NULL);
	REFUSED("sender {\n host \"\" {\n }\n}\n", 2, "host name \"\"", NULL);
	REFUSED("sender {\n host . {\n }\n}\n", 2, "host name \".\"", NULL);
	REFUSED("sender {\n host .. {\n }\n}\n", 2, "host name \"..\"", NULL);
	REFUSED("sender {\n host a/b {\n }\n}\n", 2, "host name \"a/b\"",
	    "names a directory");
	REFUSED("sender {\n host \"a b\" {\n }\n}\n", 2, "host name", NULL);
	REFUSED("host x {\n}\n", 1, "\"host\" is not allowed at top level",
	    "only in sender block or in receiver block");
	REFUSED("sender {\n host x {\n  host y {\n  }\n }\n}\n", 3,
	    "\"host\" is not allowed in sender host block", NULL);

	/* Host names: 255 characters are fine, 256 are not. */
	{
		char text[700], name[257];

		memset(name, 'h', 255);
		name[255] = '\0';
		snprintf(text, sizeof(text), "sender {\n host %s {\n  remote "
		    "tls://x\n  password p\n  pubkey %s\n }\n}\n", name,
		    PIN);
		REQUIRE((c = parse(text)) != NULL);
		CHECK(strlen(c->sender.hosts->name) == 255);
		conf_free(c);
		name[255] = 'h';
		name[256] = '\0';
		snprintf(text, sizeof(text), "sender {\n host %s {\n  remote "
		    "tls://x\n  password p\n }\n}\n", name);
		REFUSED(text, 2, "host name", NULL);
	}
}

static void
test_addresses(void)
{
	struct conf *c;

#define REMOTE(addr) "sender {\n host b {\n  remote " addr "\n  password p\n" \
	"  pubkey " PIN "\n }\n}\n"
	REQUIRE((c = parse(REMOTE("tls://10.0.0.4:7878"))) != NULL);
	conf_free(c);
	REQUIRE((c = parse(REMOTE("\"tls://[::1]\""))) != NULL);
	conf_free(c);
	REQUIRE((c = parse(REMOTE("tls://backup-1.example.org"))) != NULL);
	conf_free(c);
	REFUSED(REMOTE("tcp://10.0.0.4"), 3, "only tls:// is supported",
	    "no plaintext");
	REFUSED(REMOTE("tcp4://10.0.0.4"), 3, "only tls://", NULL);
	REFUSED(REMOTE("tcp6://[::1]"), 3, "only tls://", NULL);
	REFUSED(REMOTE("uds:///var/run/x.sock"), 3, "only tls://", NULL);
	REFUSED(REMOTE("10.0.0.4"), 3, "has no scheme",
	    "write \"tls://10.0.0.4\"");
	REFUSED(REMOTE("https://10.0.0.4"), 3, "unknown scheme", NULL);
	REFUSED(REMOTE("tls://"), 3, "has no address", NULL);
	REFUSED(REMOTE("tls://:7878"), 3, "has no address", NULL);
	REFUSED(REMOTE("tls://::1"), 3, "brackets", NULL);
	REFUSED(REMOTE("tls://[::1"), 3, "without \"]\"", NULL);
	REFUSED(REMOTE("tls://[::1]x"), 3, "junk after", NULL);
	REFUSED(REMOTE("tls://[zz]"), 3, "bad IPv6", NULL);
	REFUSED(REMOTE("tls://10.0.0.4:0"), 3, "bad port", NULL);
	REFUSED(REMOTE("tls://10.0.0.4:65536"), 3, "bad port", NULL);
	REFUSED(REMOTE("tls://10.0.0.4:http"), 3, "bad port", NULL);
	REFUSED(REMOTE("tls://a/b"), 3, "bad character", NULL);
	/* A person may write leading zeros; the port is still in range. */
	REQUIRE((c = parse(REMOTE("tls://10.0.0.4:07878"))) != NULL);
	conf_free(c);
	REFUSED(REMOTE("tls://10.0.0.4:065536"), 3, "bad port", NULL);
	REFUSED(REMOTE("tls://10.0.0.4:"), 3, "bad port", NULL);
	REFUSED(REMOTE("\"tls://[::1]:\""), 3, "bad port", NULL);
	REFUSED(REMOTE("\"tls://[\""), 3, "without \"]\"", NULL);
	REFUSED(REMOTE("\"tls://[]:7878\""), 3, "has no address", NULL);
#undef REMOTE

	REQUIRE((c = parse("receiver {\n listen tls://0.0.0.0:7878\n"
	    " listen \"tls://[::]:7879\"\n" RCERT "}\n")) != NULL);
	CHECK(c->receiver.present == 1);
	CHECK(c->receiver.nlisten == 2);
	CHECK_STR(c->receiver.listen[0], "tls://0.0.0.0:7878");
	CHECK_STR(c->receiver.listen[1], "tls://[::]:7879");
	CHECK(c->receiver.listen[2] == NULL);
	conf_free(c);
	REFUSED("receiver {\n listen tcp://0.0.0.0:7878\n}\n", 2,
	    "\"listen\" address \"tcp://0.0.0.0:7878\"", "only tls://");
	REFUSED("receiver {\n listen 0.0.0.0:7878\n}\n", 2, "no scheme",
	    NULL);
}

static void
test_fingerprint(void)
{
	char text[512];

#define FP(v) (snprintf(text, sizeof(text), "sender {\n host b {\n" \
	"  remote tls://x\n  password p\n  fingerprint \"%s\"\n }\n}\n", v), \
	text)
	REFUSED(FP("SHA1=8F:0A"), 5, "\"fingerprint\" must be \"SHA256=\"",
	    "openssl x509");
	REFUSED(FP("8F:0A:FC:8A:3D:09:80:AF:D9:AA:38:CC:8A:86:53:E6:8F:B6:1C:"
	    "55:30:14:D7:F9:AA:8B:3E:73:CD:F5:76:2B"), 5, "fingerprint", NULL);
	/* 31 bytes, 33 bytes, a non-hex digit, a missing colon. */
	REFUSED(FP("SHA256=8F:0A:FC:8A:3D:09:80:AF:D9:AA:38:CC:8A:86:53:E6:"
	    "8F:B6:1C:55:30:14:D7:F9:AA:8B:3E:73:CD:F5:76"), 5, "fingerprint",
	    NULL);
	REFUSED(FP(FP_UPPER ":00"), 5, "fingerprint", NULL);
	REFUSED(FP("SHA256=8G:0A:FC:8A:3D:09:80:AF:D9:AA:38:CC:8A:86:53:E6:"
	    "8F:B6:1C:55:30:14:D7:F9:AA:8B:3E:73:CD:F5:76:2B"), 5,
	    "fingerprint", NULL);
	REFUSED(FP("SHA256=8F0A:FC:8A:3D:09:80:AF:D9:AA:38:CC:8A:86:53:E6:"
	    "8F:B6:1C:55:30:14:D7:F9:AA:8B:3E:73:CD:F5:76:2B:"), 5,
	    "fingerprint", NULL);
	/* The receiver checks the sender's client certificate the same way. */
	REFUSED("receiver {\n host b {\n  fingerprint \"SHA256=8F:0A\"\n"
	    " }\n}\n", 3, "\"fingerprint\" must be \"SHA256=\"", NULL);
	REFUSED("receiver {\n host b {\n  fingerprint \"" FP_UPPER "\"\n"
	    "  fingerprint \"" FP_UPPER "\"\n }\n}\n", 4,
	    "duplicate \"fingerprint\"", "line 3");
#undef FP
}

#define HEX	"8F:0A:FC:8A:3D:09:80:AF:D9:AA:38:CC:8A:86:53:E6:" \
		"8F:B6:1C:55:30:14:D7:F9:AA:8B:3E:73:CD:F5:76:2B"
#define HEXL	"8f:0a:fc:8a:3d:09:80:af:d9:aa:38:cc:8a:86:53:e6:" \
		"8f:b6:1c:55:30:14:d7:f9:aa:8b:3e:73:cd:f5:76:2b"

/* value is what follows "fingerprint"; it must be accepted as FP_UPPER. */
static int
fingerprint_taken(const char *value)
{
	char text[512];
	struct conf *c;
	int ok;

	snprintf(text, sizeof(text), "sender {\n host b {\n  remote tls://x\n"
	    "  password p\n  fingerprint %s\n }\n}\nreceiver {\n" RCERT " host s {\n"
	    "  fingerprint %s\n }\n}\n", value, value);
	if ((c = parse(text)) == NULL) {
		fprintf(stderr, "  refused: %s\n  message: %s\n", value, err);
		return 0;
	}
	ok = c->sender.hosts->fingerprint != NULL &&
	    strcmp(c->sender.hosts->fingerprint, FP_UPPER) == 0 &&
	    c->receiver.hosts->fingerprint != NULL &&
	    strcmp(c->receiver.hosts->fingerprint, FP_UPPER) == 0;
	if (!ok)
		fprintf(stderr, "  %s taken as %s\n", value,
		    c->sender.hosts->fingerprint);
	conf_free(c);
	return ok;
}

/* hole: a fingerprint pasted as openssl prints it was refused. */
static void
test_fingerprint_forms(void)
{
	char text[512];

	CHECK(fingerprint_taken("SHA256=" HEX));
	CHECK(fingerprint_taken("sha256=" HEXL));
	CHECK(fingerprint_taken("Sha256=" HEXL));
	/* OpenSSL 3, then 1.1, quoted or not, with any case of hex. */
	CHECK(fingerprint_taken("\"sha256 Fingerprint=" HEX "\""));
	CHECK(fingerprint_taken("sha256 Fingerprint=" HEX));
	CHECK(fingerprint_taken("\"SHA256 Fingerprint=" HEX "\""));
	CHECK(fingerprint_taken("SHA256 Fingerprint=" HEXL));
	CHECK(fingerprint_taken("\"sha256  FINGERPRINT=" HEXL "\""));

#define FP(v) (snprintf(text, sizeof(text), "sender {\n host b {\n" \
	"  remote tls://x\n  password p\n  fingerprint %s\n }\n}\n", v), \
	text)
#define MSG	"\"fingerprint\" must be \"SHA256=\" or \"sha256 Fingerprint=\""
	REFUSED(FP("\"sha1 Fingerprint=" HEX "\""), 5, MSG, "openssl x509");
	REFUSED(FP("sha1 Fingerprint=" HEX), 5, MSG, NULL);
	REFUSED(FP("\"sha256Fingerprint=" HEX "\""), 5, MSG, NULL);
	REFUSED(FP("\"sha256 Fingerprint:" HEX "\""), 5, MSG, NULL);
	REFUSED(FP("\"sha256 Fingerprint=\""), 5, MSG, NULL);
	REFUSED(FP("sha256 Fingerprint="), 5, MSG, NULL);
	REFUSED(FP("\" sha256 Fingerprint=" HEX "\""), 5, MSG, NULL);
	REFUSED(FP("\"sha256 Fingerprint=" HEX " \""), 5, MSG, NULL);
	REFUSED(FP("\"sha256 Fingerprint= " HEX "\""), 5, MSG, NULL);
	REFUSED(FP("sha256 Fingerprint=" HEX ":00"), 5, MSG, NULL);
	REFUSED(FP("sha256 SHA256=" HEX), 5, MSG, NULL);
	REFUSED(FP("SHA256=" HEX " Fingerprint=" HEX), 5, MSG, NULL);
	REFUSED(FP("Fingerprint=" HEX), 5, MSG, NULL);
	REFUSED(FP("sha256 Fingerprint=" HEX " x"), 5,
	    "\"fingerprint\" takes at most 2 values", NULL);
#undef MSG
#undef FP
#undef HEX
#undef HEXL
}

static void
test_receiver(void)
{
	struct conf *c;

	REQUIRE((c = parse("receiver {\n"
	    "\tdirectory /srv/trails/\n"
	    "\tcertfile /etc/audit/auditdistd.cert.pem\n"
	    "\tkeyfile \"/etc/audit/auditdistd.key.pem\"\n"
	    "\thost web { remote tls://10.0.0.1\n password w }\n"
	    "\thost mail {\n remote tls://10.0.0.2\n password m\n"
	    "\t directory /data/mail/\n }\n"
	    "\thost dns {\n remote tls://10.0.0.3\n password d\n"
	    "\t directory dns.example\n }\n"
	    "}\n")) != NULL);
	CHECK(c->receiver.trail_size == 64ULL * 1024 * 1024);
	CHECK(c->receiver.trail_keep == 0);
	CHECK(c->receiver.trail_max_size == 0);
	CHECK(c->receiver.present == 1);
	CHECK(c->sender.present == 0);
	CHECK_STR(c->receiver.directory, "/srv/trails");
	CHECK_STR(c->receiver.certfile, "/etc/audit/auditdistd.cert.pem");
	CHECK_STR(c->receiver.keyfile, "/etc/audit/auditdistd.key.pem");
	CHECK(c->receiver.nlisten == 1);
	CHECK_STR(c->receiver.listen[0], "tls://[::]:7878");
	CHECK(c->has_secrets > 0);
	REQUIRE(c->receiver.hosts != NULL);
	CHECK_STR(c->receiver.hosts->name, "web");
	CHECK_STR(c->receiver.hosts->remote, "tls://10.0.0.1");
	CHECK_STR(c->receiver.hosts->password, "w");
	/* Default <directory>/<name>, absolute as given, relative joined. */
	CHECK_STR(c->receiver.hosts->directory, "/srv/trails/web");
	REQUIRE(c->receiver.hosts->next != NULL);
	CHECK_STR(c->receiver.hosts->next->directory, "/data/mail");
	REQUIRE(c->receiver.hosts->next->next != NULL);
	CHECK_STR(c->receiver.hosts->next->next->directory,
	    "/srv/trails/dns.example");
	conf_free(c);

	/* The receiver directory may come after the hosts that use it. */
	REQUIRE((c = parse("receiver {\n host web {\n  remote tls://w\n"
	    "  password w\n }\n directory /t\n" RCERT "}\n")) != NULL);
	CHECK_STR(c->receiver.hosts->directory, "/t/web");
	conf_free(c);

	REFUSED("receiver {\n directory trails\n}\n", 2, "absolute path",
	    NULL);
	REFUSED("receiver {\n certfile cert.pem\n}\n", 2,
	    "\"certfile\" must be an absolute path", NULL);
	REFUSED("receiver {\n keyfile key.pem\n}\n", 2,
	    "\"keyfile\" must be an absolute path", NULL);
	REFUSED("receiver {\n certfile /a\n certfile /b\n}\n", 3,
	    "duplicate \"certfile\"", NULL);
	REFUSED("receiver {\n host a {\n  remote tls://a\n  password a\n"
	    "  directory ../escape\n }\n}\n", 5, "must stay inside", NULL);
	REFUSED("receiver {\n host a {\n  remote tls://a\n  password a\n"
	    "  directory x/../../y\n }\n}\n", 5, "must stay inside", NULL);
	REFUSED("receiver {\n host a {\n  remote tls://a\n  password a\n"
	    "  directory \"\"\n }\n}\n", 5, "\"directory\" is empty", NULL);
	REFUSED("receiver {\n host a {\n  remote tls://a\n  password a\n"
	    " }\n host b {\n  remote tls://b\n  password b\n"
	    "  directory /var/audit/remote/a\n }\n" RCERT "}\n", 6,
	    "hosts \"a\" (line 2) and \"b\" share the directory", NULL);
	REFUSED("receiver {\n source 10.0.0.1\n}\n", 2,
	    "\"source\" is not allowed in receiver block", NULL);
	REFUSED("receiver {\n" RCERT "}\nreceiver {\n}\n", 5,
	    "duplicate \"receiver\" block", NULL);
	REFUSED("receiver {\n host a {\n  remote tls://a\n }\n}\n", 2,
	    "host \"a\": no password and no fingerprint: the sender could "
	    "not be authenticated", NULL);
}

static void
test_sender_tls(void)
{
	struct conf *c;
	const struct conf_host *h;

	/* Every way to check the receiver, and both ways to log in. */
	REQUIRE((c = parse("sender {\n"
	    " host b {\n"
	    "  remote tls://backup.example.org\n"
	    "  fingerprint " FP_LOWER "\n"
	    "  pubkey \"" PIN "\"\n"
	    "  cafile /etc/audit/ca.pem\n"
	    "  certfile /etc/audit/client.pem\n"
	    "  keyfile \"/etc/audit/client.key\"\n"
	    "  password pw\n"
	    " }\n"
	    "}\n")) != NULL);
	h = c->sender.hosts;
	REQUIRE(h != NULL);
	CHECK_STR(h->fingerprint, FP_UPPER);
	CHECK_STR(h->pubkey, PIN);
	CHECK_STR(h->cafile, "/etc/audit/ca.pem");
	CHECK_STR(h->certfile, "/etc/audit/client.pem");
	CHECK_STR(h->keyfile, "/etc/audit/client.key");
	CHECK_STR(h->password, "pw");
	CHECK(c->has_secrets > 0);
	conf_free(c);

	/* A pin and a client certificate, no password: nothing secret here. */
	REQUIRE((c = parse("sender {\n host b {\n  remote tls://x\n"
	    "  pubkey " PIN "\n  certfile /c.pem\n  keyfile /k.pem\n }\n}\n"))
	    != NULL);
	h = c->sender.hosts;
	CHECK(h->password == NULL && h->fingerprint == NULL);
	CHECK(h->cafile == NULL);
	CHECK_STR(h->keyfile, "/k.pem");
	CHECK(c->has_secrets == 0);
	conf_free(c);

	/* A CA file alone checks the receiver too. */
	REQUIRE((c = parse("sender {\n host b {\n  remote tls://x\n"
	    "  cafile /ca.pem\n  password p\n }\n}\n")) != NULL);
	CHECK_STR(c->sender.hosts->cafile, "/ca.pem");
	CHECK(c->sender.hosts->fingerprint == NULL);
	CHECK(c->sender.hosts->pubkey == NULL);
	conf_free(c);

	/* No plaintext and no unverified TLS. */
	REFUSED("sender {\n host b {\n  remote tls://x\n  password p\n }\n}\n",
	    2, "host \"b\": no fingerprint, pubkey or cafile: the receiver "
	    "could not be verified", NULL);
	REFUSED("sender {\n host b {\n  remote tls://x\n  certfile /c\n"
	    "  keyfile /k\n }\n}\n", 2, "no fingerprint, pubkey or cafile",
	    NULL);
	REFUSED("sender {\n host b {\n  remote tls://x\n  fingerprint "
	    FP_UPPER "\n }\n}\n", 2, "host \"b\": no password and no "
	    "certfile and keyfile", "could not authenticate itself");
	REFUSED("sender {\n host b {\n  remote tls://x\n  cafile /ca\n"
	    "  certfile /c\n }\n}\n", 5, "host \"b\": \"certfile\" without "
	    "\"keyfile\"", "needs both");
	REFUSED("sender {\n host b {\n  remote tls://x\n  keyfile /k\n"
	    "  cafile /ca\n  password p\n }\n}\n", 4, "host \"b\": \"keyfile\" "
	    "without \"certfile\"", NULL);
	REFUSED("sender {\n host b {\n  cafile ca.pem\n }\n}\n", 3,
	    "\"cafile\" must be an absolute path", "ca.pem");
	REFUSED("sender {\n host b {\n  certfile c.pem\n }\n}\n", 3,
	    "\"certfile\" must be an absolute path", NULL);
	REFUSED("sender {\n host b {\n  keyfile k.pem\n }\n}\n", 3,
	    "\"keyfile\" must be an absolute path", NULL);
	REFUSED("sender {\n host b {\n  cafile /a\n  cafile /b\n }\n}\n", 4,
	    "duplicate \"cafile\"", "line 3");
	REFUSED("sender {\n host b {\n  pubkey " PIN "\n  pubkey " PIN "\n"
	    " }\n}\n", 4, "duplicate \"pubkey\"", "line 3");
	REFUSED("sender {\n host b {\n  certfile /a\n  certfile /b\n }\n}\n",
	    4, "duplicate \"certfile\"", NULL);
	REFUSED("sender {\n cafile /ca\n}\n", 2,
	    "\"cafile\" is not allowed in sender block",
	    "only in receiver block or in sender host block");
	REFUSED("sender {\n certfile /c\n}\n", 2,
	    "\"certfile\" is not allowed in sender block",
	    "only in receiver block or in sender host block");
	REFUSED("receiver {\n host b {\n  pubkey " PIN "\n }\n}\n", 3,
	    "\"pubkey\" is not allowed in receiver host block",
	    "only in sender host block");
	REFUSED("receiver {\n host b {\n  cafile /ca\n }\n}\n", 3,
	    "\"cafile\" is not allowed in receiver host block", NULL);
	REFUSED("receiver {\n host b {\n  keyfile /k\n }\n}\n", 3,
	    "\"keyfile\" is not allowed in receiver host block", NULL);
	REFUSED("pubkey " PIN "\n", 1, "\"pubkey\" is not allowed at top "
	    "level", NULL);
	REFUSED("sender {\n host b {\n  remote tls://x\n  pubkye " PIN "\n",
	    4, "unknown keyword \"pubkye\"", "did you mean \"pubkey\"");
}

static void
test_pubkey(void)
{
	struct conf *c;
	char text[512];

#define PK(v) (snprintf(text, sizeof(text), "sender {\n host b {\n" \
	"  remote tls://x\n  password p\n  pubkey \"%s\"\n }\n}\n", v), \
	text)
#define ZERO "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	REQUIRE((c = parse(PK(ZERO))) != NULL);
	CHECK_STR(c->sender.hosts->pubkey, ZERO);
#undef ZERO
	conf_free(c);
	/* '+' and '/', and a last digit with no spare bits set. */
	REQUIRE((c = parse(PK("sha256//"
	    "+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/8="))) != NULL);
	conf_free(c);

	/* The prefix, spelled as curl spells it. */
	REFUSED(PK("5Jy5EFkwUN9ZSiPwDTItB6l/DsB0MJT5IRAffBz8wkc="), 5,
	    "\"pubkey\" must be \"sha256//\"", "44 characters");
	REFUSED(PK("SHA256//5Jy5EFkwUN9ZSiPwDTItB6l/DsB0MJT5IRAffBz8wkc="), 5,
	    "\"pubkey\" must be", NULL);
	REFUSED(PK("sha1//5Jy5EFkwUN9ZSiPwDTItB6l/DsB0MJT5IRAffBz8wkc="), 5,
	    "\"pubkey\" must be", NULL);
	REFUSED(PK("sha256/5Jy5EFkwUN9ZSiPwDTItB6l/DsB0MJT5IRAffBz8wkc="), 5,
	    "\"pubkey\" must be", NULL);
	REFUSED(PK(""), 5, "\"pubkey\" must be", NULL);
	REFUSED(PK("sha256//"), 5, "\"pubkey\" must be", NULL);
	/* 43 characters, 45, no padding, two '=' (31 bytes). */
	REFUSED(PK("sha256//5Jy5EFkwUN9ZSiPwDTItB6l/DsB0MJT5IRAffBz8wk="), 5,
	    "\"pubkey\" must be", NULL);
	REFUSED(PK("sha256//5Jy5EFkwUN9ZSiPwDTItB6l/DsB0MJT5IRAffBz8wkcA="), 5,
	    "\"pubkey\" must be", NULL);
	REFUSED(PK("sha256//5Jy5EFkwUN9ZSiPwDTItB6l/DsB0MJT5IRAffBz8wkcA"), 5,
	    "\"pubkey\" must be", NULL);
	REFUSED(PK("sha256//5Jy5EFkwUN9ZSiPwDTItB6l/DsB0MJT5IRAffBz8wA=="), 5,
	    "\"pubkey\" must be", NULL);
	/* URL-safe digits, a '=' inside, a space. */
	REFUSED(PK("sha256//5Jy5EFkwUN9ZSiPwDTItB6l_DsB0MJT5IRAffBz8wkc="), 5,
	    "\"pubkey\" must be", NULL);
	REFUSED(PK("sha256//5Jy5EFkwUN9ZSiPwDTItB6l-DsB0MJT5IRAffBz8wkc="), 5,
	    "\"pubkey\" must be", NULL);
	REFUSED(PK("sha256//5Jy5EFkwUN9ZSiPwDTItB6l=DsB0MJT5IRAffBz8wkc="), 5,
	    "\"pubkey\" must be", NULL);
	REFUSED(PK("sha256//5Jy5EFkwUN9ZSiPwDTItB6l DsB0MJT5IRAffBz8wkc="), 5,
	    "\"pubkey\" must be", NULL);
	/* "c" is 28; "d" (29) would leave a set bit past the 32 bytes. */
	REFUSED(PK("sha256//5Jy5EFkwUN9ZSiPwDTItB6l/DsB0MJT5IRAffBz8wkd="), 5,
	    "\"pubkey\" must be", NULL);
	REFUSED(PK("sha256//5Jy5EFkwUN9ZSiPwDTItB6l/DsB0MJT5IRAffBz8wk/="), 5,
	    "\"pubkey\" must be", NULL);
#undef PK
}

static void
test_user(void)
{
	struct conf *c;
	char text[128];

	REQUIRE((c = parse("sender {\n user _audit-fwd0\n}\n")) != NULL);
	CHECK_STR(c->sender.user, "_audit-fwd0");
	conf_free(c);
	REQUIRE((c = parse("sender {\n user \"auditdist\"\n}\n")) != NULL);
	CHECK_STR(c->sender.user, "auditdist");
	conf_free(c);
	/* 32 characters are fine, 33 are not. */
	snprintf(text, sizeof(text), "sender {\n user a%031d\n}\n", 0);
	REQUIRE((c = parse(text)) != NULL);
	CHECK(strlen(c->sender.user) == 32);
	conf_free(c);
	snprintf(text, sizeof(text), "sender {\n user a%032d\n}\n", 0);
	REFUSED(text, 2, "\"user\" must be 1 to 32 lower-case letters", NULL);

	REFUSED("sender {\n user Auditdist\n}\n", 2, "\"user\" must be",
	    "not \"Auditdist\"");
	REFUSED("sender {\n user 1ad\n}\n", 2, "starting with a letter or '_'",
	    NULL);
	REFUSED("sender {\n user -ad\n}\n", 2, "\"user\" must be", NULL);
	REFUSED("sender {\n user a.d\n}\n", 2, "\"user\" must be", NULL);
	REFUSED("sender {\n user \"a d\"\n}\n", 2, "\"user\" must be", NULL);
	REFUSED("sender {\n user \"\"\n}\n", 2, "\"user\" must be", NULL);
	REFUSED("sender {\n user ad$\n}\n", 2, "unexpected character '$'",
	    NULL);
	REFUSED("sender {\n user root\n}\n", 2, "unprivileged user",
	    "not root");
	REFUSED("sender {\n user a\n user b\n}\n", 3, "duplicate \"user\"",
	    "line 2");
	REFUSED("sender {\n user\n}\n", 2, "\"user\" needs a value", NULL);
	REFUSED("user auditdist\n", 1, "\"user\" is not allowed at top level",
	    "only in sender block or in receiver block");
	/* The receiver's processes run as a user of their own too. */
	REQUIRE((c = parse("receiver {\n" RCERT " user trails\n}\n")) != NULL);
	CHECK_STR(c->receiver.user, "trails");
	conf_free(c);
	REQUIRE((c = parse("receiver {\n" RCERT "}\n")) != NULL);
	CHECK_STR(c->receiver.user, "auditdist");
	conf_free(c);
	REFUSED("sender {\n host b {\n  user x\n", 3,
	    "\"user\" is not allowed in sender host block", NULL);
}

/* trail_group: the receiver's trails' group, or none (the user's own). */
static void
test_trail_group(void)
{
	struct conf *c;

	REQUIRE((c = parse("receiver {\n" RCERT "}\n")) != NULL);
	CHECK(c->receiver.trail_group == NULL);
	conf_free(c);
	REQUIRE((c = parse("receiver {\n" RCERT " trail_group \"adm\"\n}\n"))
	    != NULL);
	CHECK_STR(c->receiver.trail_group, "adm");
	CHECK(c->receiver.trail_group_line == 4);
	conf_free(c);
	REFUSED("receiver {\n trail_group Adm\n}\n", 2,
	    "\"trail_group\" must be", "not \"Adm\"");
	REFUSED("receiver {\n trail_group \"\"\n}\n", 2,
	    "\"trail_group\" must be", NULL);
	REFUSED("receiver {\n trail_group a\n trail_group b\n}\n", 3,
	    "duplicate \"trail_group\"", NULL);
	REFUSED("sender {\n trail_group adm\n}\n", 2,
	    "\"trail_group\" is not allowed in sender block", NULL);
	REFUSED("receiver {\n host a {\n  trail_group adm\n", 3,
	    "\"trail_group\" is not allowed in receiver host block", NULL);
}

/* enrol: a fleet CA and its CRL, both or neither, only with "enrol yes". */
static void
test_enrol(void)
{
	struct conf *c;

	REQUIRE((c = parse("receiver {\n" RCERT "}\n")) != NULL);
	CHECK(!c->receiver.enrol && c->receiver.cafile == NULL);
	conf_free(c);
	REQUIRE((c = parse("receiver {\n" RCERT " enrol yes\n"
	    " cafile /etc/auditdistd/fleet-ca.pem\n"
	    " crlfile /etc/auditdistd/fleet.crl\n}\n")) != NULL);
	CHECK(c->receiver.enrol);
	CHECK_STR(c->receiver.cafile, "/etc/auditdistd/fleet-ca.pem");
	CHECK_STR(c->receiver.crlfile, "/etc/auditdistd/fleet.crl");
	conf_free(c);
	REFUSED("receiver {\n" RCERT " enrol yes\n cafile /c.pem\n}\n", 4,
	    "\"enrol yes\" needs \"cafile\"", "\"crlfile\"");
	REFUSED("receiver {\n" RCERT " cafile /c.pem\n crlfile /c.crl\n}\n",
	    4, "\"cafile\" in the receiver block is used only with "
	    "\"enrol yes\"", NULL);
	REFUSED("receiver {\n" RCERT " enrol no\n crlfile /c.crl\n}\n", 5,
	    "\"crlfile\" in the receiver block", NULL);
	REFUSED("receiver {\n enrol maybe\n}\n", 2,
	    "\"enrol\" is \"yes\" or \"no\", not \"maybe\"", NULL);
	REFUSED("receiver {\n crlfile c.crl\n}\n", 2, "crlfile", NULL);
	REFUSED("sender {\n enrol yes\n}\n", 2,
	    "\"enrol\" is not allowed in sender block", NULL);
	REFUSED("receiver {\n host a {\n  crlfile /c.crl\n", 3,
	    "\"crlfile\" is not allowed in receiver host block", NULL);
}

/* serial_gaps: the auditor on unless "no". */
static void
test_serial_gaps(void)
{
	struct conf *c;

	REQUIRE((c = parse("receiver {\n" RCERT "}\n")) != NULL);
	CHECK(c->receiver.serial_gaps);
	conf_free(c);
	REQUIRE((c = parse("receiver {\n" RCERT " serial_gaps no\n}\n")) !=
	    NULL);
	CHECK(!c->receiver.serial_gaps);
	conf_free(c);
	REFUSED("receiver {\n serial_gaps off\n}\n", 2,
	    "\"serial_gaps\" is \"yes\" or \"no\", not \"off\"", NULL);
	REFUSED("sender {\n serial_gaps no\n}\n", 2,
	    "\"serial_gaps\" is not allowed in sender block", NULL);
}

/* publish: a JetStream stream, its defaults, credentials and TLS. */
static void
test_publish(void)
{
	const struct conf_publish *pb;
	struct conf *c;

	REQUIRE((c = parse("receiver {\n" RCERT "}\n")) != NULL);
	CHECK(!c->receiver.publish.present);
	conf_free(c);
	REQUIRE((c = parse("receiver {\n" RCERT " publish \"nats://a:4222,"
	    "nats://b:4222\" {\n }\n}\n")) != NULL);
	pb = &c->receiver.publish;
	CHECK(pb->present == 4);
	CHECK_STR(pb->urls, "nats://a:4222,nats://b:4222");
	CHECK_STR(pb->subject_prefix, "auditdist");
	CHECK_STR(pb->stream, "AUDITDIST");
	CHECK(pb->replicas == 1 && !pb->create_stream && pb->user == NULL);
	CHECK(c->has_secrets == 0);
	conf_free(c);
	REQUIRE((c = parse("receiver {\n" RCERT " publish tls://n1:4222 {\n"
	    "  subject_prefix site1.audit\n  stream AUDIT_1\n  user pub\n"
	    "  password \"s3cret\"\n  cafile /etc/nats/ca.pem\n"
	    "  create_stream yes\n  replicas 3\n }\n}\n")) != NULL);
	pb = &c->receiver.publish;
	CHECK_STR(pb->subject_prefix, "site1.audit");
	CHECK_STR(pb->stream, "AUDIT_1");
	CHECK_STR(pb->user, "pub");
	CHECK_STR(pb->password, "s3cret");
	CHECK_STR(pb->cafile, "/etc/nats/ca.pem");
	CHECK(pb->create_stream && pb->replicas == 3);
	CHECK(c->has_secrets == 8);
	conf_forget_publish(c);
	CHECK(pb->password == NULL && pb->token == NULL);
	conf_free(c);
	REFUSED("receiver {\n publish http://a {\n", 2,
	    "\"publish\" takes", NULL);
	REFUSED("receiver {\n publish nats://a {\n  user u\n }\n", 3,
	    "\"user\" and \"password\" go together", NULL);
	REFUSED("receiver {\n publish nats://a {\n  token t\n  user u\n"
	    "  password p\n }\n", 3, "not both", NULL);
	REFUSED("receiver {\n publish nats://a {\n  cafile /ca.pem\n }\n",
	    3, "needs tls://", NULL);
	REFUSED("receiver {\n publish nats://a {\n  subject_prefix \"a.>\"\n",
	    3, "\"subject_prefix\" must be", NULL);
	REFUSED("receiver {\n publish nats://a {\n  stream A.B\n", 3,
	    "\"stream\" must be", NULL);
	REFUSED("receiver {\n publish nats://a {\n  replicas 7\n", 3,
	    "out of range", NULL);
	REFUSED("receiver {\n publish nats://a {\n  listen x\n", 3,
	    "\"listen\" is not allowed in publish block", NULL);
	REFUSED("sender {\n publish nats://a {\n", 2,
	    "\"publish\" is not allowed in sender block", NULL);
}

/* Each publish keyword's own check, and where its value goes. */
static void
test_publish_values(void)
{
	const struct conf_publish *pb;
	struct conf *c;

	REQUIRE((c = parse("receiver {\n" RCERT " publish nats://a {\n"
	    "  token \"t0k\"\n  create_stream no\n  replicas 5\n"
	    "  subject_prefix a-b_c\n  stream S-1_x\n }\n}\n")) != NULL);
	pb = &c->receiver.publish;
	CHECK_STR(pb->token, "t0k");
	CHECK(pb->password == NULL && pb->user == NULL);
	CHECK(!pb->create_stream && pb->replicas == 5);
	CHECK_STR(pb->subject_prefix, "a-b_c");
	CHECK_STR(pb->stream, "S-1_x");
	CHECK(c->has_secrets == 5);
	conf_forget_publish(c);
	CHECK(pb->token == NULL);
	conf_free(c);
	/* The publish block's user is NATS's, not a local account. */
	REQUIRE((c = parse("receiver {\n" RCERT " publish nats://a {\n"
	    "  user Pub.User@x\n  password p\n }\n}\n")) != NULL);
	CHECK_STR(c->receiver.publish.user, "Pub.User@x");
	CHECK(c->receiver.user != NULL &&
	    strcmp(c->receiver.user, "auditdist") == 0);
	conf_free(c);
	REFUSED("receiver {\n publish nats://a {\n  user \"a b\"\n", 3,
	    "\"user\" is empty or holds spaces", NULL);
	REFUSED("receiver {\n publish nats://a {\n  token \"\"\n", 3,
	    "\"token\" is empty", NULL);
	REFUSED("receiver {\n publish nats://a {\n  password \"\"\n", 3,
	    "\"password\" is empty", NULL);
	REFUSED("receiver {\n publish nats://a {\n  create_stream maybe\n",
	    3, "\"create_stream\" is \"yes\" or \"no\", not \"maybe\"", NULL);
	REFUSED("receiver {\n publish nats://a {\n  replicas 0\n", 3,
	    "\"replicas\" 0 is out of range (1 to 5 replicas)", NULL);
	REFUSED("receiver {\n publish tls://a {\n  cafile ca.pem\n", 3,
	    "\"cafile\" must be an absolute path, not \"ca.pem\"", NULL);
	REFUSED("receiver {\n publish nats://a {\n  stream \"\"\n", 3,
	    "\"stream\" must be 1 to 64 letters, digits, '_' or '-', not",
	    NULL);
	REFUSED("receiver {\n publish nats://a {\n  subject_prefix a..b\n",
	    3, "'_' or '-' (dots between), not \"a..b\"", NULL);
	REFUSED("receiver {\n publish nats://a {\n  token t\n  token u\n", 4,
	    "duplicate \"token\" (first at line 3)", NULL);
	REFUSED("receiver {\n publish nats://a {\n  strem X\n", 3,
	    "unknown keyword \"strem\" in publish block (did you mean "
	    "\"stream\"?)", NULL);
	REFUSED("receiver {\n publish nats://a {\n  user u\n  password\n", 4,
	    "\"password\" needs a value", NULL);
}

/* read_into, consumer: auditdistd -R's; such a file needs no certificate. */
static void
test_read_into(void)
{
	const struct conf_publish *pb;
	struct conf *c;

	REQUIRE((c = parse("receiver {\n" RCERT " publish nats://a {\n"
	    " }\n}\n")) != NULL);
	pb = &c->receiver.publish;
	CHECK(pb->read_into == NULL);
	CHECK_STR(pb->consumer, "auditdist-reader");
	conf_free(c);
	REQUIRE((c = parse("receiver {\n user u\n publish nats://a {\n"
	    "  read_into /srv/trails\n  consumer site_2\n }\n}\n")) != NULL);
	pb = &c->receiver.publish;
	CHECK_STR(pb->read_into, "/srv/trails");
	CHECK_STR(pb->consumer, "site_2");
	conf_free(c);
	REFUSED("receiver {\n publish nats://a {\n }\n}\n", 1,
	    "needs certfile and keyfile", NULL);
	REFUSED("receiver {\n publish nats://a {\n  read_into trails\n", 3,
	    "must be an absolute path", NULL);
	REFUSED("receiver {\n publish nats://a {\n  consumer a.b\n", 3,
	    "\"consumer\" must be", NULL);
}

/* No constant limits the hosts; max_connections is the receiver's. */
static void
test_fleet(void)
{
	struct conf *c;
	char *text;
	size_t len = 0, cap = 64 * 3000 + 256;
	unsigned i, n = 0;
	const struct conf_host *h;

	REQUIRE((text = malloc(cap)) != NULL);
	len = (size_t)snprintf(text, cap, "receiver {\n" RCERT
	    " max_connections 20000\n");
	for (i = 1; i <= 3000; i++)
		len += (size_t)snprintf(text + len, cap - len,
		    " host h%u {\n  password p%u\n }\n", i, i);
	snprintf(text + len, cap - len, "}\n");
	REQUIRE((c = parse(text)) != NULL);
	for (h = c->receiver.hosts; h != NULL; h = h->next)
		n++;
	CHECK(n == 3000);
	CHECK(c->receiver.max_connections == 20000);
	conf_free(c);
	free(text);
	REQUIRE((c = parse("receiver {\n" RCERT "}\n")) != NULL);
	CHECK(c->receiver.max_connections == 0);
	CHECK(c->receiver.writer_hosts == CONF_WRITER_HOSTS_DEF);
	conf_free(c);
	REQUIRE((c = parse("receiver {\n" RCERT " writer_hosts 1\n}\n")) !=
	    NULL);
	CHECK(c->receiver.writer_hosts == 1);
	conf_free(c);
	REFUSED("receiver {\n writer_hosts 0\n}\n", 2, "\"writer_hosts\"",
	    NULL);
	REFUSED("receiver {\n writer_hosts 257\n}\n", 2,
	    "\"writer_hosts\" 257 is out of range (1 to 256 hosts)", NULL);
	REFUSED("receiver {\n max_connections 0\n}\n", 2,
	    "\"max_connections\"", NULL);
	REFUSED("receiver {\n max_connections 1000001\n}\n", 2,
	    "\"max_connections\"", NULL);
	REFUSED("sender {\n max_connections 5\n}\n", 2,
	    "\"max_connections\" is not allowed in sender block", NULL);
}

/* silence_alarm, status_file and metrics_file of the receiver. */
static void
test_receiver_health(void)
{
	struct conf *c;
	const struct conf_host *h;

	REQUIRE((c = parse("receiver {\n" RCERT
	    " host a {\n  password x\n }\n}\n")) != NULL);
	CHECK(c->receiver.silence_alarm == 300);
	CHECK(c->receiver.hosts->silence_alarm == 300);
	CHECK_STR(c->receiver.status_file, "/var/lib/auditdistd/status");
	CHECK(c->receiver.metrics_file == NULL);
	conf_free(c);
	REQUIRE((c = parse("receiver {\n" RCERT
	    " host a {\n  password x\n  silence_alarm 0\n }\n"
	    " host b {\n  password y\n }\n silence_alarm 3\n"
	    " status_file none\n metrics_file \"/m/a.prom\"\n}\n")) != NULL);
	CHECK(c->receiver.silence_alarm == 3);
	REQUIRE((h = c->receiver.hosts) != NULL);
	CHECK(h->silence_alarm == 0 && h->silence_alarm_set);
	REQUIRE((h = h->next) != NULL);
	CHECK(h->silence_alarm == 3 && !h->silence_alarm_set);
	CHECK(c->receiver.status_file == NULL);
	CHECK_STR(c->receiver.metrics_file, "/m/a.prom");
	CHECK(c->sender.metrics_file == NULL);
	conf_free(c);
	REFUSED("receiver {\n silence_alarm 86401\n}\n", 2,
	    "\"silence_alarm\" 86401 is out of range", NULL);
	REFUSED("receiver {\n status_file rel/x\n}\n", 2,
	    "must be an absolute path", NULL);
	REFUSED("sender {\n silence_alarm 5\n}\n", 2,
	    "\"silence_alarm\" is not allowed in sender block", NULL);
	REFUSED("sender {\n status_file none\n}\n", 2,
	    "must be an absolute path", NULL);
}

/* series_hold: the receiver's value, a host's own overriding it. */
static void
test_series_hold(void)
{
	struct conf *c;
	const struct conf_host *h;

	REQUIRE((c = parse("receiver {\n" RCERT
	    " host a {\n  password x\n }\n}\n")) != NULL);
	CHECK(c->receiver.series_hold == 600);
	REQUIRE((h = c->receiver.hosts) != NULL);
	CHECK(h->series_hold == 600);
	CHECK(!h->series_hold_set);
	conf_free(c);
	/* The host blocks may come before the receiver's value. */
	REQUIRE((c = parse("receiver {\n" RCERT
	    " host a {\n  password x\n  series_hold 0\n }\n"
	    " host b {\n  password y\n }\n"
	    " series_hold \"30\"\n}\n")) != NULL);
	CHECK(c->receiver.series_hold == 30);
	REQUIRE((h = c->receiver.hosts) != NULL);
	CHECK_STR(h->name, "a");
	CHECK(h->series_hold == 0);
	CHECK(h->series_hold_set);
	REQUIRE((h = h->next) != NULL);
	CHECK(h->series_hold == 30);
	conf_free(c);
	REQUIRE((c = parse("receiver {\n" RCERT " series_hold 604800\n"
	    " host a {\n  password x\n  series_hold 5\n }\n}\n")) != NULL);
	CHECK(c->receiver.series_hold == 604800);
	CHECK(c->receiver.hosts->series_hold == 5);
	conf_free(c);

	REFUSED("receiver {\n series_hold 604801\n}\n", 2, "\"series_hold\" "
	    "604801 is out of range", "0 to 604800 seconds");
	REFUSED("receiver {\n series_hold -1\n}\n", 2, "whole number", NULL);
	REFUSED("receiver {\n series_hold 10m\n}\n", 2, "whole number",
	    NULL);
	REFUSED("receiver {\n series_hold\n}\n", 2, "needs a value", NULL);
	REFUSED("receiver {\n host a {\n  series_hold 1\n  series_hold 2\n"
	    " }\n}\n", 4, "duplicate \"series_hold\"", "line 3");
	REFUSED("sender {\n series_hold 5\n}\n", 2,
	    "\"series_hold\" is not allowed in sender block",
	    "only in receiver block or in receiver host block");
	REFUSED("sender {\n host b {\n  series_hold 5\n", 3,
	    "not allowed in sender host block", NULL);
	REFUSED("series_hold 3\n", 1, "\"series_hold\" is not allowed at top "
	    "level", NULL);
	REFUSED("receiver {\n series_holds 3\n}\n", 2, "unknown keyword",
	    "did you mean \"series_hold\"?");
}

static void
test_trails(void)
{
	struct conf *c;

	REQUIRE((c = parse("receiver {\n trail_size 64K\n trail_keep 1000000\n"
	    " trail_max_size 64k\n" RCERT "}\n")) != NULL);
	CHECK(c->receiver.trail_size == 64 * 1024);
	CHECK(c->receiver.trail_keep == 1000000);
	CHECK(c->receiver.trail_max_size == 64 * 1024);
	conf_free(c);
	REQUIRE((c = parse("receiver {\n trail_size 64G\n trail_keep 0\n"
	    " trail_max_size 0\n" RCERT "}\n")) != NULL);
	CHECK(c->receiver.trail_size == 64ULL << 30);
	CHECK(c->receiver.trail_keep == 0);
	CHECK(c->receiver.trail_max_size == 0);
	conf_free(c);
	REQUIRE((c = parse("receiver {\n trail_keep \"30\"\n"
	    " trail_max_size 10T\n" RCERT "}\n")) != NULL);
	CHECK(c->receiver.trail_size == 64ULL << 20);
	CHECK(c->receiver.trail_keep == 30);
	CHECK(c->receiver.trail_max_size == 10ULL << 40);
	conf_free(c);

	REFUSED("receiver {\n trail_size 65535\n}\n", 2, "\"trail_size\" "
	    "65535 is out of range", "64K to 64G");
	REFUSED("receiver {\n trail_size 65G\n}\n", 2, "out of range",
	    "64K to 64G");
	REFUSED("receiver {\n trail_size 0\n}\n", 2, "out of range", NULL);
	REFUSED("receiver {\n trail_size 64MB\n}\n", 2, "needs a size",
	    "\"64MB\"");
	REFUSED("receiver {\n trail_keep 1000001\n}\n", 2, "out of range",
	    "0 to 1000000 files");
	REFUSED("receiver {\n trail_keep -1\n}\n", 2, "whole number", NULL);
	REFUSED("receiver {\n trail_keep 5k\n}\n", 2, "whole number", NULL);
	REFUSED("receiver {\n trail_max_size lots\n}\n", 2, "needs a size",
	    NULL);
	REFUSED("receiver {\n trail_max_size 99999999999999999999\n}\n", 2,
	    "out of range", "at least trail_size");
	/* A limit below one file could only ever hold a torn history. */
	REFUSED("receiver {\n" RCERT " trail_max_size 32M\n}\n", 4,
	    "trail_max_size (33554432 bytes) is smaller than trail_size "
	    "(67108864 bytes)", NULL);
	REFUSED("receiver {\n trail_max_size 1G\n" RCERT " trail_size 2G\n}\n",
	    2, "trail_max_size (1073741824 bytes) is smaller", NULL);
	REFUSED("receiver {\n trail_keep 1\n trail_keep 2\n}\n", 3,
	    "duplicate \"trail_keep\"", "line 2");
	REFUSED("receiver {\n trail_size\n}\n", 2, "needs a value", NULL);
	REFUSED("sender {\n trail_size 64M\n}\n", 2,
	    "\"trail_size\" is not allowed in sender block",
	    "only in receiver block");
	REFUSED("trail_keep 3\n", 1, "\"trail_keep\" is not allowed at top "
	    "level", NULL);
	REFUSED("receiver {\n host a {\n  trail_max_size 1G\n", 3,
	    "\"trail_max_size\" is not allowed in receiver host block", NULL);
	REFUSED("receiver {\n trail_sise 64M\n}\n", 2,
	    "unknown keyword \"trail_sise\"", "did you mean \"trail_size\"");
}

static void
test_receiver_tls(void)
{
	struct conf *c;
	const struct conf_host *h;

	/* The receiver's own certificate is never optional. */
	REFUSED("receiver {\n}\n", 1, "receiver block needs certfile and "
	    "keyfile: TLS is the only transport", NULL);
	REFUSED("\n\nreceiver\n{\n certfile /c\n}\n", 3,
	    "receiver block needs certfile and keyfile", NULL);
	REFUSED("receiver {\n keyfile /k\n host a {\n  password p\n }\n}\n",
	    1, "receiver block needs certfile and keyfile", NULL);

	/* remote is optional; a password, a pin or both authenticate. */
	REQUIRE((c = parse("receiver {\n" RCERT
	    " host pw { password p }\n"
	    " host pin {\n  fingerprint " FP_LOWER "\n }\n"
	    " host both {\n  remote tls://10.0.0.3\n  password b\n"
	    "  fingerprint \"" FP_UPPER "\"\n }\n"
	    "}\n")) != NULL);
	h = c->receiver.hosts;
	REQUIRE(h != NULL && h->next != NULL && h->next->next != NULL);
	CHECK_STR(h->name, "pw");
	CHECK(h->remote == NULL && h->fingerprint == NULL);
	CHECK_STR(h->password, "p");
	h = h->next;
	CHECK(h->remote == NULL && h->password == NULL);
	CHECK_STR(h->fingerprint, FP_UPPER);
	CHECK_STR(h->directory, "/var/audit/remote/pin");
	h = h->next;
	CHECK_STR(h->remote, "tls://10.0.0.3");
	CHECK_STR(h->password, "b");
	CHECK_STR(h->fingerprint, FP_UPPER);
	CHECK_STR(c->receiver.certfile, "/etc/audit/r.pem");
	CHECK_STR(c->receiver.keyfile, "/etc/audit/r.key");
	conf_free(c);

	/* Pins only: nothing secret in the file. */
	REQUIRE((c = parse("receiver {\n" RCERT " host a {\n  fingerprint "
	    FP_UPPER "\n }\n}\n")) != NULL);
	CHECK(c->has_secrets == 0);
	conf_free(c);

	REFUSED("receiver {\n" RCERT " host a {\n  remote tls://a\n"
	    "  directory /srv/a\n }\n}\n", 4, "host \"a\": no password and no "
	    "fingerprint: the sender could not be authenticated", NULL);
	REFUSED("receiver {\n" RCERT " host a {\n }\n}\n", 4,
	    "no password and no fingerprint", NULL);
	REFUSED("receiver {\n host a {\n  remote tcp://10.0.0.1\n", 3,
	    "only tls://", "no plaintext");
	REFUSED("receiver {\n host a {\n  remote 10.0.0.1\n", 3,
	    "has no scheme", NULL);
	REFUSED("receiver {\n host a {\n  password \"\"\n", 3,
	    "\"password\" is empty", NULL);
}

/* FreeBSD auditdistd.conf(5), EXAMPLES: a web server and its backup. */
static const char freebsd_sender[] =
    "sender {\n"
    "\thost backup {\n"
    "\t\tremote 10.0.0.4\n"
    "\t}\n"
    "}\n";
static const char freebsd_receiver[] =
    "receiver {\n"
    "\thost webserv {\n"
    "\t\tremote 10.0.0.1\n"
    "\t}\n"
    "\thost mailserv {\n"
    "\t\tremote 10.0.0.2\n"
    "\t}\n"
    "\thost dnsserv {\n"
    "\t\tremote 10.0.0.3\n"
    "\t}\n"
    "}\n";

static void
test_freebsd_examples(void)
{
	struct conf *c;
	struct conf_host *h;

	/* Verbatim, only the bare address is refused: FreeBSD means TCP. */
	REFUSED(freebsd_sender, 3, "has no scheme", "tls://10.0.0.4");
	REFUSED(freebsd_receiver, 3, "has no scheme", "tls://10.0.0.1");

	/*
	 * Adjusted: tls://, a password, the receiver's pin and the
	 * receiver's certificate; everything else as printed.
	 */
	REQUIRE((c = parse("sender {\n"
	    "\thost backup {\n"
	    "\t\tremote tls://10.0.0.4\n"
	    "\t\tpassword \"8cGvTz0yqfO3\"\n"
	    "\t\tfingerprint \"" FP_UPPER "\"\n"
	    "\t}\n"
	    "}\n")) != NULL);
	CHECK(c->sender.present == 1);
	CHECK_STR(c->sender.hosts->name, "backup");
	CHECK_STR(c->sender.hosts->remote, "tls://10.0.0.4");
	conf_free(c);

	REQUIRE((c = parse("receiver {\n"
	    "\thost webserv {\n\t\tremote tls://10.0.0.1\n"
	    "\t\tpassword \"w3b\"\n\t}\n"
	    "\thost mailserv {\n\t\tremote tls://10.0.0.2\n"
	    "\t\tpassword \"m41l\"\n\t}\n"
	    "\thost dnsserv {\n\t\tremote tls://10.0.0.3\n"
	    "\t\tpassword \"dn5\"\n\t}\n"
	    RCERT
	    "}\n")) != NULL);
	h = c->receiver.hosts;
	REQUIRE(h != NULL && h->next != NULL && h->next->next != NULL);
	CHECK_STR(h->name, "webserv");
	CHECK_STR(h->directory, "/var/audit/remote/webserv");
	CHECK_STR(h->next->name, "mailserv");
	CHECK_STR(h->next->next->name, "dnsserv");
	CHECK_STR(h->next->next->remote, "tls://10.0.0.3");
	CHECK(h->next->next->next == NULL);
	conf_free(c);

	/*
	 * The general syntax of auditdistd.conf(5) with its placeholders
	 * filled in; the sender host's own source and directory are the
	 * only lines left out (one spool per sender here).
	 */
	REQUIRE((c = parse(
	    "## Global section.\n"
	    "\n"
	    "# Our name.\n"
	    "# The default is first part of the hostname.\n"
	    "name \"web1\"\n"
	    "\n"
	    "# Connection timeout.\n"
	    "timeout 5\n"
	    "\n"
	    "# Path to pidfile.\n"
	    "pidfile \"/var/run/auditdistd.pid\"\n"
	    "\n"
	    "sender {\n"
	    "\t## Sender section.\n"
	    "\n"
	    "\t# Source address for connections.\n"
	    "\tsource \"10.0.0.1\"\n"
	    "\n"
	    "\tdirectory \"/var/audit/dist\"\n"
	    "\n"
	    "\thost \"backup\" {\n"
	    "\t\tremote \"tls://10.0.0.4\"\n"
	    "\t\t# Example fingerprint:\n"
	    "\t\t# " FP_UPPER "\n"
	    "\t\tfingerprint \"" FP_UPPER "\"\n"
	    "\n"
	    "\t\t# Password used to authenticate in front of the receiver.\n"
	    "\t\tpassword \"s3cret\"\n"
	    "\t}\n"
	    "}\n"
	    "\n"
	    "receiver {\n"
	    "\tlisten \"tls://0.0.0.0:7878\"\n"
	    "\tlisten \"tls://[::]:7878\"\n"
	    "\tdirectory \"/var/audit/remote\"\n"
	    "\tcertfile \"/etc/security/auditdistd.cert.pem\"\n"
	    "\tkeyfile \"/etc/security/auditdistd.key.pem\"\n"
	    "\thost \"web1\" {\n"
	    "\t\tremote \"tls://10.0.0.1\"\n"
	    "\t\tdirectory \"/var/audit/remote/web1\"\n"
	    "\t\tpassword \"s3cret\"\n"
	    "\t}\n"
	    "}\n")) != NULL);
	CHECK_STR(c->name, "web1");
	CHECK(c->timeout == 5);
	CHECK_STR(c->sender.source, "10.0.0.1");
	CHECK_STR(c->sender.directory, "/var/audit/dist");
	CHECK_STR(c->sender.hosts->fingerprint, FP_UPPER);
	CHECK(c->receiver.nlisten == 2);
	CHECK_STR(c->receiver.hosts->directory, "/var/audit/remote/web1");
	conf_free(c);
}

static void
test_layout(void)
{
	struct conf *c;

	/* FreeBSD ignores newlines: "{" may open on the next line. */
	REQUIRE((c = parse("sender\n\n# here it comes\n{\n host b\n {\n"
	    "  remote tls://x\n  password p\n  pubkey " PIN "\n }\n}\n"))
	    != NULL);
	CHECK_STR(c->sender.hosts->name, "b");
	conf_free(c);

	/* One-line blocks, "}" after a value, "} }" on one line. */
	REQUIRE((c = parse("sender { directory /s\n host b { remote tls://x\n"
	    "cafile /ca.pem\npassword p } }\nreceiver{listen tls://[::]:1\n"
	    "certfile /c\nkeyfile /k}\n")) != NULL);
	CHECK_STR(c->sender.directory, "/s");
	CHECK_STR(c->sender.hosts->password, "p");
	CHECK_STR(c->receiver.listen[0], "tls://[::]:1");
	conf_free(c);

	/* CRLF line ends, tabs, comments after values and quoted '#'. */
	REQUIRE((c = parse("name\t\"n1\"\t# the name\r\nsender {\r\n"
	    " host b {\r\n  remote tls://x\r\n  password \"p#1\" # c\r\n"
	    "  pubkey \"" PIN "\"\r\n }\r\n}\r\n")) != NULL);
	CHECK_STR(c->name, "n1");
	CHECK_STR(c->sender.hosts->password, "p#1");
	conf_free(c);

	REFUSED("}\n", 1, "\"}\" without an open block", NULL);
	REFUSED("{\n", 1, "unexpected \"{\"", NULL);
	REFUSED("sender {\n {\n}\n", 2, "unexpected \"{\"", NULL);
	REFUSED("timeout 5 {\n", 1, "unexpected \"{\" after \"timeout\"",
	    NULL);
	REFUSED("\"timeout\" 5\n", 1, "expected a keyword, found a quoted",
	    NULL);
	REFUSED("timeout 5 name x\n", 1, "takes one value, found 3",
	    "one statement per line");
	REFUSED("nmae x\n", 1, "unknown keyword \"nmae\" at top level",
	    "did you mean \"name\"");
	REFUSED("frobnicate x\n", 1, "unknown keyword \"frobnicate\"", NULL);
	REFUSED("sender {\n host b {\n  remote tls://x\n  passwd p\n", 4,
	    "unknown keyword \"passwd\" in sender host block",
	    "did you mean \"password\"");
}

static void
test_lexer(void)
{
	struct conf *c;
	char *big;
	size_t n;

	REFUSED("name \"abc\n", 1, "unterminated string", NULL);
	REFUSED("\n\n\n\n\n\nname \"abc", 7, "unterminated string", NULL);
	REFUSED("name \"ab\\\n\"\n", 1, "unterminated string", NULL);
	REFUSED("name \"a\\tb\"\n", 1, "unknown escape \"\\t\"", NULL);
	REFUSED("name \"a\tb\"\n", 1, "control character 0x09", NULL);
	REFUSED("name \"a\"b\n", 1, "after a string", NULL);
	REFUSED("name a\"b\"\n", 1, "inside a word", "quote");
	REFUSED("sender {\n host b {\n  password pass#word\n", 3,
	    "'#' inside a word", "quote");
	REFUSED("name a;b\n", 1, "unexpected character ';'", NULL);
	REFUSED("name $x\n", 1, "unexpected character '$'", NULL);
	REFUSED("name caf\xc3\xa9\n", 1, "unexpected byte 0xc3", NULL);

	/* Tokens are bounded: 4096 bytes fit, 4097 do not. */
	REQUIRE((big = malloc(8192)) != NULL);
	strcpy(big, "sender {\nhost b {\nremote tls://x\npassword \"");
	n = strlen(big);
	memset(big + n, 'p', 4096);
	strcpy(big + n + 4096, "\"\ncafile /ca\n}\n}\n");
	c = parse(big);
	CHECK(c != NULL && strlen(c->sender.hosts->password) == 4096);
	conf_free(c);
	memset(big + n, 'p', 4097);
	strcpy(big + n + 4097, "\"\n}\n}\n");
	REFUSED(big, 4, "string longer than 4096 bytes", NULL);
	memcpy(big, "name ", 5);
	memset(big + 5, 'n', 5000);
	strcpy(big + 5005, "\n");
	REFUSED(big, 1, "word longer than 4096 bytes", NULL);
	free(big);

	/* Files are bounded too. */
	REQUIRE((big = malloc(FILE_MAX + 2)) != NULL);
	memset(big, '\n', FILE_MAX + 1);
	big[FILE_MAX + 1] = '\0';
	CHECK(parse(big) == NULL);
	CHECK(strstr(err, "t.conf: larger than 16777216 bytes") != NULL);
	big[FILE_MAX] = '\0';
	REQUIRE((c = parse(big)) != NULL);
	conf_free(c);
	free(big);

	CHECK(conf_parse("t.conf", NULL, err, sizeof(err)) == NULL);
}

static void
test_secrets_not_echoed(void)
{
	/* A password never shows up in a message, whatever goes wrong. */
	CHECK(parse("sender {\n host b {\n  remote tls://x\n"
	    "  password hunter2 extra\n }\n}\n") == NULL);
	CHECK(strstr(err, "t.conf:4:") != NULL);
	CHECK(strstr(err, "hunter2") == NULL);
	CHECK(parse("sender {\n host b {\n  remote tls://x\n"
	    "  password hunter2\n  password hunter3\n }\n}\n") == NULL);
	CHECK(strstr(err, "hunter") == NULL);
}

static void
test_parse_size(void)
{
	uint64_t v;

	CHECK(conf_parse_size("0", &v) == 0 && v == 0);
	CHECK(conf_parse_size("4096", &v) == 0 && v == 4096);
	CHECK(conf_parse_size("4k", &v) == 0 && v == 4096);
	CHECK(conf_parse_size("4K", &v) == 0 && v == 4096);
	CHECK(conf_parse_size("8M", &v) == 0 && v == 8ULL << 20);
	CHECK(conf_parse_size("8m", &v) == 0 && v == 8ULL << 20);
	CHECK(conf_parse_size("1G", &v) == 0 && v == 1ULL << 30);
	CHECK(conf_parse_size("2t", &v) == 0 && v == 2ULL << 40);
	CHECK(conf_parse_size("18446744073709551615", &v) == 0 &&
	    v == UINT64_MAX);
	errno = 0;
	CHECK(conf_parse_size("18446744073709551616", &v) == -1 &&
	    errno == ERANGE);
	CHECK(conf_parse_size("16777216T", &v) == -1 && errno == ERANGE);
	CHECK(conf_parse_size("16777215T", &v) == 0);
	CHECK(conf_parse_size("", &v) == -1 && errno == EINVAL);
	CHECK(conf_parse_size(NULL, &v) == -1);
	CHECK(conf_parse_size("-1", &v) == -1);
	CHECK(conf_parse_size("+1", &v) == -1);
	CHECK(conf_parse_size(" 1", &v) == -1);
	CHECK(conf_parse_size("1 ", &v) == -1);
	CHECK(conf_parse_size("K", &v) == -1);
	CHECK(conf_parse_size("1KB", &v) == -1);
	CHECK(conf_parse_size("1KiB", &v) == -1);
	CHECK(conf_parse_size("1P", &v) == -1);
	CHECK(conf_parse_size("1.5G", &v) == -1);
	CHECK(conf_parse_size("0x10", &v) == -1);
	/* Leading zeros, as a person may write them. */
	CHECK(conf_parse_size("008M", &v) == 0 && v == 8ULL << 20);
	CHECK(conf_parse_size("00", &v) == 0 && v == 0);
	v = 7;
	CHECK(conf_parse_size("1x", &v) == -1 && errno == EINVAL);
	CHECK_EQ_U64(v, 7);
}

/* Whole numbers: leading zeros allowed, too large is out of range. */
static void
test_parse_uint(void)
{
	struct conf *c;

	REQUIRE((c = parse("timeout 0030\n")) != NULL);
	CHECK_EQ_U64(c->timeout, 30);
	conf_free(c);
	REFUSED("timeout 18446744073709551616\n", 1, "\"timeout\" "
	    "18446744073709551616 is out of range (", NULL);
	REFUSED("timeout 30s\n", 1, "\"timeout\" needs a whole number, "
	    "not \"30s\"", NULL);
	REFUSED("timeout 0\n", 1, "is out of range", NULL);
}

static void
test_names(void)
{
	CHECK_STR(conf_flush_name(FLUSH_NONE), "none");
	CHECK_STR(conf_flush_name(FLUSH_INCREMENTAL), "incremental");
	CHECK_STR(conf_flush_name(FLUSH_DATA), "data");
	CHECK_STR(conf_flush_name(FLUSH_SYNC), "sync");
	CHECK_STR(conf_full_action_name(FULL_BLOCK), "block");
	CHECK_STR(conf_full_action_name(FULL_DROP_NEW), "drop_new");
	CHECK_STR(conf_full_action_name(FULL_DROP_OLD), "drop_old");
	CHECK_STR(conf_full_action_name(FULL_SYSLOG), "syslog");
	CHECK_STR(conf_full_action_name(FULL_EXEC), "exec");
}

/* Write text (len bytes) to a new temporary file with the given mode. */
static int
tmpconf(char *path, const char *text, size_t len, mode_t mode)
{
	int fd;

	strcpy(path, "/tmp/conf_test.XXXXXX");
	if ((fd = mkstemp(path)) == -1)
		return -1;
	if (write(fd, text, len) != (ssize_t)len || fchmod(fd, mode) == -1) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

static const char secret_conf[] = "sender {\n" SHOST "}\n";
static const char plain_conf[] = "timeout 9\n";
/* Certificates and pins only: a key file's path is no secret. */
static const char cert_conf[] = "sender {\n host b {\n  remote tls://b\n"
    "  pubkey " PIN "\n  certfile /etc/audit/c.pem\n"
    "  keyfile /etc/audit/c.key\n }\n}\nreceiver {\n" RCERT
    " host b {\n  fingerprint " FP_UPPER "\n }\n}\n";

/*
 * As root: a group that is neither ours nor the user's may not read
 * passwords; the primary group of the block's "user" may.
 */
static void
test_load_group(const char *path)
{
	static const char nobody_conf[] = "receiver {\n" RCERT
	    " user nobody\n host b {\n  password pw\n }\n}\n";
	char want[512], other[64];
	struct passwd *pw;
	struct conf *c;
	gid_t gid;

	if (geteuid() != 0 || (pw = getpwnam("nobody")) == NULL ||
	    pw->pw_gid == getegid()) {
		fprintf(stderr, "  (not root or no user nobody: group "
		    "rules not checked)\n");
		return;
	}
	gid = pw->pw_gid;	/* conf_load looks users up too */
	CHECK(chmod(path, 0640) == 0 && chown(path, 0, 4242) == 0);
	CHECK(conf_load(path, err, sizeof(err)) == NULL);
	snprintf(want, sizeof(want), "%s:5: holds passwords but is readable by "
	    "group 4242 (mode 0640); chmod 600 %s, or chgrp auditdist %s && "
	    "chmod 640 %s", path, path, path, path);
	if (getpwnam("auditdist") == NULL)
		CHECK_STR(err, want);
	REQUIRE(tmpconf(other, nobody_conf, strlen(nobody_conf), 0640) == 0);
	CHECK(chown(other, 0, gid) == 0);
	CHECK((c = conf_load(other, err, sizeof(err))) != NULL);
	conf_free(c);
	CHECK(chown(other, 0, 4242) == 0);
	CHECK(conf_load(other, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "group 4242 (mode 0640)") != NULL);
	CHECK(unlink(other) == 0);
}

static void
test_load_modes(void)
{
	char path[64], want[256];
	struct conf *c;

	REQUIRE(tmpconf(path, secret_conf, strlen(secret_conf), 0600) == 0);
	c = conf_load(path, err, sizeof(err));
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK_STR(c->path, path);
		CHECK(c->has_secrets > 0);
		CHECK_STR(c->sender.hosts->password, "pw");
	}
	conf_free(c);

	/* Passwords readable by our own group: the daemon's, allowed. */
	CHECK(chmod(path, 0640) == 0);
	CHECK((c = conf_load(path, err, sizeof(err))) != NULL);
	conf_free(c);
	/* By others: refused, with both fixes, at the first password. */
	CHECK(chmod(path, 0604) == 0);
	CHECK(conf_load(path, err, sizeof(err)) == NULL);
	CHECK(strstr(err, ":5: holds passwords but is readable by others "
	    "(mode 0604); chmod 600 ") != NULL);
	CHECK(strstr(err, " && chmod 640 ") != NULL);
	test_load_group(path);
	CHECK(chmod(path, 0400) == 0);
	CHECK((c = conf_load(path, err, sizeof(err))) != NULL);
	conf_free(c);
	CHECK(unlink(path) == 0);

	/* No passwords: readable is fine, writable is not. */
	REQUIRE(tmpconf(path, plain_conf, strlen(plain_conf), 0644) == 0);
	c = conf_load(path, err, sizeof(err));
	CHECK(c != NULL && c->timeout == 9 && c->has_secrets == 0);
	conf_free(c);
	CHECK(chmod(path, 0664) == 0);
	CHECK(conf_load(path, err, sizeof(err)) == NULL);
	snprintf(want, sizeof(want), "%s: writable by group or others (mode "
	    "0664); chmod go-w %s", path, path);
	CHECK_STR(err, want);
	CHECK(chmod(path, 0602) == 0);
	CHECK(conf_load(path, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "writable by group or others (mode 0602)") != NULL);
	CHECK(unlink(path) == 0);

	REQUIRE(tmpconf(path, cert_conf, strlen(cert_conf), 0644) == 0);
	c = conf_load(path, err, sizeof(err));
	CHECK(c != NULL && c->has_secrets == 0);
	if (c != NULL)
		CHECK_STR(c->sender.hosts->keyfile, "/etc/audit/c.key");
	conf_free(c);

	/* Someone else's file decides nothing for us. */
	CHECK(chmod(path, 0600) == 0);
	if (geteuid() == 0 && chown(path, 1, 1) == 0) {
		CHECK(conf_load(path, err, sizeof(err)) == NULL);
		CHECK(strstr(err, "owned by uid 1") != NULL);
	}
	CHECK(unlink(path) == 0);
}

static void
test_load_files(void)
{
	char path[64], link[80], dir[64], want[256];
	struct conf *c;
	char *big;

	CHECK(conf_load("/nonexistent/auditdistd.conf", err,
	    sizeof(err)) == NULL);
	CHECK_STR(err, "/nonexistent/auditdistd.conf: No such file or "
	    "directory");
	CHECK(conf_load("/tmp", err, sizeof(err)) == NULL);
	CHECK_STR(err, "/tmp: not a regular file");

	strcpy(dir, "/tmp/conf_test.d.XXXXXX");
	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(link, sizeof(link), "%s/fifo", dir);
	REQUIRE(mkfifo(link, 0600) == 0);
	CHECK(conf_load(link, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "not a regular file") != NULL);
	CHECK(unlink(link) == 0);

	/* A symbolic link under /etc is normal; its target is checked. */
	REQUIRE(tmpconf(path, secret_conf, strlen(secret_conf), 0600) == 0);
	snprintf(link, sizeof(link), "%s/link.conf", dir);
	REQUIRE(symlink(path, link) == 0);
	CHECK((c = conf_load(link, err, sizeof(err))) != NULL);
	conf_free(c);
	CHECK(chmod(path, 0644) == 0);
	CHECK(conf_load(link, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "holds passwords") != NULL);
	CHECK(unlink(link) == 0);
	CHECK(unlink(path) == 0);
	CHECK(rmdir(dir) == 0);

	/* Errors inside a loaded file name it and the line. */
	REQUIRE(tmpconf(path, "\n\nsender {\n\tsegment_sise 8M\n}\n", 31,
	    0600) == 0);
	CHECK(conf_load(path, err, sizeof(err)) == NULL);
	snprintf(want, sizeof(want), "%s:4: unknown keyword \"segment_sise\" "
	    "in sender block (did you mean \"segment_size\"?)", path);
	CHECK_STR(err, want);
	CHECK(unlink(path) == 0);

	/* NUL bytes: only a file can hold them. */
	REQUIRE(tmpconf(path, "name \"a\0b\"\n", 11, 0600) == 0);
	CHECK(conf_load(path, err, sizeof(err)) == NULL);
	CHECK(strstr(err, ":1: NUL byte inside a string") != NULL);
	CHECK(unlink(path) == 0);
	REQUIRE(tmpconf(path, "\ntimeout 1\0\n", 12, 0600) == 0);
	CHECK(conf_load(path, err, sizeof(err)) == NULL);
	CHECK(strstr(err, ":2: NUL byte") != NULL);
	CHECK(unlink(path) == 0);

	/* More than 16 MiB is refused before parsing. */
	REQUIRE((big = malloc(FILE_MAX + 1)) != NULL);
	memset(big, '#', FILE_MAX + 1);
	REQUIRE(tmpconf(path, big, FILE_MAX + 1, 0600) == 0);
	CHECK(conf_load(path, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "larger than 16777216 bytes") != NULL);
	CHECK(unlink(path) == 0);
	REQUIRE(tmpconf(path, big, FILE_MAX, 0600) == 0);
	CHECK((c = conf_load(path, err, sizeof(err))) != NULL);
	conf_free(c);
	CHECK(unlink(path) == 0);
	free(big);
}

/* Read a shipped sample from the top of the tree, wherever we run. */
static char *
read_sample(const char *name)
{
	static const char *dirs[] = { "", "../", "../../" };
	char path[PATH_MAX];
	char *buf;
	size_t i;
	ssize_t n;
	int fd = -1;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && fd == -1; i++) {
		snprintf(path, sizeof(path), "%s%s", dirs[i], name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd == -1 || (buf = calloc(1, 65536)) == NULL)
		return NULL;
	n = read(fd, buf, 65535);
	close(fd);
	if (n <= 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Uncomment what a sample shows as "#keyword ..." (or "#}"). */
static void
uncomment(char *text)
{
	char *line, *q;

	for (line = text; *line != '\0'; line = q + (*q == '\n')) {
		for (q = line; *q == ' ' || *q == '\t'; q++)
			;
		if (q[0] == '#' && ((q[1] >= 'a' && q[1] <= 'z') ||
		    q[1] == '}' || q[1] == '\t'))
			*q = ' ';
		q = q + strcspn(q, "\n");
	}
}

static void
check_defaults_equal(const struct conf *a, const struct conf *b)
{
	const struct conf_sender *x = &a->sender, *y = &b->sender;

	CHECK(a->timeout == b->timeout);
	CHECK_STR(x->directory, y->directory);
	CHECK(x->segment_size == y->segment_size);
	CHECK(x->segment_age == y->segment_age);
	CHECK(x->flush == y->flush);
	CHECK(x->flush_records == y->flush_records);
	CHECK(x->flush_bytes == y->flush_bytes);
	CHECK(x->spool_max_size == y->spool_max_size);
	CHECK(x->spool_min_free == y->spool_min_free);
	CHECK(x->spool_min_free_pct == y->spool_min_free_pct);
	CHECK(x->full_action == y->full_action);
	CHECK(x->status_interval == y->status_interval);
	CHECK_STR(x->status_file, y->status_file);
	CHECK_STR(x->user, y->user);
	CHECK(a->receiver.nlisten == b->receiver.nlisten);
	CHECK_STR(a->receiver.listen[0], b->receiver.listen[0]);
	CHECK_STR(a->receiver.directory, b->receiver.directory);
	CHECK(a->receiver.trail_size == b->receiver.trail_size);
	CHECK(a->receiver.trail_keep == b->receiver.trail_keep);
	CHECK(a->receiver.trail_max_size == b->receiver.trail_max_size);
}

static void
test_sample(void)
{
	struct conf *def, *c;
	char *text;

	if ((text = read_sample("auditdistd.conf.sample")) == NULL) {
		fprintf(stderr, "  auditdistd.conf.sample not found; "
		    "run from the top of the tree\n");
		CHECK(0);
		return;
	}
	REQUIRE((def = parse("sender {\n}\n")) != NULL);
	/* As shipped: a sender with every setting at its default. */
	c = parse(text);
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK(c->sender.present == 1 && c->sender.hosts == NULL);
		CHECK(c->receiver.present == 0);
		check_defaults_equal(c, def);
	}
	conf_free(c);

	/* Uncommented, the values it shows must be the defaults too. */
	uncomment(text);
	c = parse(text);
	CHECK(c != NULL);
	if (c != NULL) {
		const struct conf_host *h = c->sender.hosts;

		CHECK_STR(c->name, "webserv");
		check_defaults_equal(c, def);
		/* Every TLS option is shown, and they go together. */
		CHECK(h != NULL && h->fingerprint != NULL &&
		    h->pubkey != NULL && h->cafile != NULL &&
		    h->certfile != NULL && h->keyfile != NULL &&
		    h->password != NULL);
		CHECK(c->receiver.present == 1);
		CHECK(c->receiver.certfile != NULL &&
		    c->receiver.keyfile != NULL);
		h = c->receiver.hosts;
		CHECK(h != NULL && h->fingerprint != NULL &&
		    h->password != NULL && h->remote != NULL);
	} else
		fprintf(stderr, "  %s\n", err);
	conf_free(c);
	conf_free(def);
	free(text);
}

/* The receiver's sample: a receiver at its defaults, hosts to add. */
static void
test_receiver_sample(void)
{
	struct conf *def, *c;
	char *text;

	if ((text = read_sample("auditdistd-receiver.conf.sample")) == NULL) {
		fprintf(stderr, "  auditdistd-receiver.conf.sample not found; "
		    "run from the top of the tree\n");
		CHECK(0);
		return;
	}
	if ((def = parse("receiver {\n" RCERT "}\n")) == NULL) {
		free(text);
		REQUIRE(def != NULL);
	}
	CHECK((c = parse(text)) != NULL);
	if (c != NULL) {
		CHECK(c->receiver.present == 1 && c->sender.present == 0);
		CHECK(c->receiver.hosts == NULL && c->has_secrets == 0);
		CHECK_STR(c->receiver.certfile,
		    "/etc/auditdistd/auditdistd.cert.pem");
		CHECK_STR(c->receiver.keyfile,
		    "/etc/auditdistd/auditdistd.key.pem");
		check_defaults_equal(c, def);
	}
	conf_free(c);
	uncomment(text);
	CHECK((c = parse(text)) != NULL);
	if (c != NULL) {
		check_defaults_equal(c, def);
		CHECK(c->receiver.hosts != NULL &&
		    c->receiver.hosts->password != NULL);
	} else
		fprintf(stderr, "  %s\n", err);
	conf_free(c);
	conf_free(def);
	free(text);
}

static void
test_compression(void)
{
	struct conf *c;

	REQUIRE((c = parse("sender {\n" SHOST "}\n")) != NULL);
	CHECK(c->sender.hosts->compression == CONF_COMPRESS_NONE);
	conf_free(c);
	REQUIRE((c = parse("sender {\n\thost backup {\n\t\tremote "
	    "\"tls://10.0.0.4\"\n\t\tfingerprint \"" FP_UPPER "\"\n"
	    "\t\tpassword \"pw\"\n\t\tcompression zstd\n\t}\n}\n")) != NULL);
	CHECK(c->sender.hosts->compression == CONF_COMPRESS_ZSTD);
	conf_free(c);
	REFUSED("sender {\n host b {\n  remote tls://x\n  compression lz4\n"
	    " }\n}\n", 4, "\"compression\" is \"zstd\" or \"none\"", "lz4");
	REFUSED("receiver {\n" RCERT " host b {\n  compression zstd\n }\n}\n",
	    5, "compression", NULL);
}

static const struct h_test tests[] = {
	TEST(test_defaults),
	TEST(test_global),
	TEST(test_sender),
	TEST(test_sender_errors),
	TEST(test_hosts),
	TEST(test_addresses),
	TEST(test_fingerprint),
	TEST(test_fingerprint_forms),
	TEST(test_receiver),
	TEST(test_sender_tls),
	TEST(test_pubkey),
	TEST(test_user),
	TEST(test_trail_group),
	TEST(test_enrol),
	TEST(test_serial_gaps),
	TEST(test_publish),
	TEST(test_publish_values),
	TEST(test_read_into),
	TEST(test_trails),
	TEST(test_series_hold),
	TEST(test_fleet),
	TEST(test_receiver_tls),
	TEST(test_freebsd_examples),
	TEST(test_layout),
	TEST(test_lexer),
	TEST(test_secrets_not_echoed),
	TEST(test_parse_size),
	TEST(test_parse_uint),
	TEST(test_names),
	TEST(test_load_modes),
	TEST(test_load_files),
	TEST(test_sample),
	TEST(test_receiver_sample),
	TEST(test_compression),
	TEST(test_receiver_health),
};

RUN_TESTS("conf", tests)
