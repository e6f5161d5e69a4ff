/*
 * The value checks of auditdistd.conf: numbers, sizes, names, addresses,
 * paths, certificate and key pins, NATS names, and the mode of a file
 * that holds secrets.  Each says what it expected, on the statement's line.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf_int.h"
#include "tcur.h"

#define PUBKEY_PREFIX		"sha256//"
#define PUBKEY_B64_LEN		44	/* base64 of 32 bytes, '=' */
#define FPR_BYTES		32	/* SHA-256 */
#define FPR_TEXT_LEN		(3 * FPR_BYTES - 1)	/* "8F:0A:...:2B" */
#define HEX_CHARS		"0123456789abcdefABCDEF"
#define NAME_CHARS		"abcdefghijklmnopqrstuvwxyz" \
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"

/* Unsigned decimal digits only: no sign, no spaces, no overflow. */
int
conf_parse_u64(const char *s, uint64_t *out)
{
	struct tcur c;
	uint64_t v;

	tc_init(&c, s, strlen(s));
	if (tc_digits(&c, UINT64_MAX, &v) == -1 || tc_end(&c) == -1)
		return -1;
	*out = v;
	return 0;
}

/* Digits and an optional unit: k, m, g or t in either case, powers of 2. */
int
conf_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "kmgt";
	const char *u;
	struct tcur c;
	uint64_t v;
	size_t len;
	unsigned shift = 0;

	if (s == NULL) {
		errno = EINVAL;
		return -1;
	}
	len = strlen(s);
	if (len > 1 && (u = memchr(units, tolower((unsigned char)s[len - 1]),
	    sizeof(units) - 1)) != NULL) {
		shift = 10 * (unsigned)(u - units + 1);
		len--;
	}
	tc_init(&c, s, len);
	if (tc_digits(&c, UINT64_MAX >> shift, &v) == -1 || tc_end(&c) == -1)
		return -1;
	*out = v << shift;
	return 0;
}

/* Host names become directory names on the receiver: wire.c's rule. */
int
conf_host_name_ok(const char *s)
{
	return wire_valid_host(s, strlen(s));
}

/* The portable subset that useradd(8) accepts, so the name means one user. */
int
conf_user_name_ok(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > USER_NAME_MAX ||
	    !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (i = 1; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/* 1 if each of the first n bytes of a string is one of set. */
static int
all_in(const char *w, size_t n, const char *set)
{
	return strspn(w, set) >= n;
}

/* "host", "host:port", "[v6]", "[v6]:port"; NULL when fine, else why not. */
const char *
conf_hostport_problem(const char *s)
{
	const char *h;
	struct tcur c;
	uint64_t port;
	size_t n;

	tc_init(&c, s, strlen(s));
	if (*s == '[') {
		tc_lit(&c, "[");
		if (strchr(s, ']') == NULL)
			return "has \"[\" without \"]\"";
		if (tc_word(&c, ']', &h, &n) == -1)
			return "has no address";
		if (!all_in(h, n, HEX_CHARS ":.%"))
			return "has a bad IPv6 address";
		tc_lit(&c, "]");
	} else {
		if ((h = strchr(s, ':')) != NULL && strchr(h + 1, ':') != NULL)
			return "needs brackets around an IPv6 address, "
			    "as in tls://[::1]:7878";
		if (tc_word(&c, ':', &h, &n) == -1)
			return "has no address";
		if (!all_in(h, n, NAME_CHARS))
			return "has a bad character in its address";
	}
	if (tc_left(&c) == 0)
		return NULL;
	if (tc_lit(&c, ":") == -1)
		return "has junk after \"]\"";
	if (tc_digits(&c, 65535, &port) == -1 || port == 0 || tc_end(&c) == -1)
		return "has a bad port (1 to 65535)";
	return NULL;
}

/* remote and listen: TLS only; FreeBSD's tcp:// and uds:// are plaintext. */
int
conf_check_addr(struct parser *p, const struct stmt *st, const char *v)
{
	const char *why, *sch = strstr(v, "://");

	if (strncmp(v, "tls://", 6) == 0) {
		if ((why = conf_hostport_problem(v + 6)) != NULL)
			return conf_perr(p, st->line, "\"%s\" address \"%s\" "
			    "%s", st->word, v, why);
		return 0;
	}
	if (sch == NULL)
		return conf_perr(p, st->line, "\"%s\" address \"%s\" has no "
		    "scheme (FreeBSD reads that as plaintext tcp://); only "
		    "tls:// is supported: write \"tls://%s\"", st->word, v, v);
	if (strncmp(v, "tcp://", 6) == 0 || strncmp(v, "tcp4://", 7) == 0 ||
	    strncmp(v, "tcp6://", 7) == 0 || strncmp(v, "uds://", 6) == 0)
		return conf_perr(p, st->line, "\"%s\" address \"%s\": only "
		    "tls:// is supported (no plaintext transport)", st->word,
		    v);
	return conf_perr(p, st->line, "\"%s\" address \"%s\" has an unknown "
	    "scheme; only tls:// is supported", st->word, v);
}

int
conf_check_path(struct parser *p, const struct stmt *st, const char *what,
    const char *v)
{
	if (v[0] != '/')
		return conf_perr(p, st->line, "\"%s\" must be an absolute "
		    "path, not \"%s\"", what, v);
	if (strlen(v) >= PATH_MAX)
		return conf_perr(p, st->line, "\"%s\" path is too long", what);
	return 0;
}

/* A number read by parse, within min and max: range says which. */
static int
get_number(struct parser *p, const struct stmt *st, const char *v,
    int (*parse)(const char *, uint64_t *), const char *what, uint64_t min,
    uint64_t max, const char *range, uint64_t *out)
{
	uint64_t n = 0;
	int rc;

	if ((rc = parse(v, &n)) == -1 && errno == EINVAL)
		return conf_perr(p, st->line, "\"%s\" needs %s, not \"%s\"",
		    st->word, what, v);
	if (rc == -1 || n < min || n > max)
		return conf_perr(p, st->line, "\"%s\" %s is out of range (%s)",
		    st->word, v, range);
	*out = n;
	return 0;
}

int
conf_get_uint(struct parser *p, const struct stmt *st, const char *v,
    uint64_t min, uint64_t max, const char *unit, uint64_t *out)
{
	char range[128];

	snprintf(range, sizeof(range), "%llu to %llu %s",
	    (unsigned long long)min, (unsigned long long)max, unit);
	return get_number(p, st, v, conf_parse_u64, "a whole number", min, max,
	    range, out);
}

int
conf_get_size(struct parser *p, const struct stmt *st, const char *v,
    uint64_t min, uint64_t max, const char *range, uint64_t *out)
{
	return get_number(p, st, v, conf_parse_size, "a size such as 4096, "
	    "64K, 8M or 1G", min, max, range, out);
}

/*
 * The hex part of a fingerprint, or NULL.  Besides "SHA256=", take the
 * line "openssl x509 -noout -fingerprint -sha256" prints ("sha256
 * Fingerprint=", "SHA256 Fingerprint=" before OpenSSL 3) pasted as it is:
 * quoted, one value, or not, two.
 */
static const char *
fingerprint_hex(const struct stmt *st)
{
	const char *v = st->arg[0];

	if (st->nargs == 2) {
		if (strcasecmp(v, "sha256") != 0 ||
		    strncasecmp(st->arg[1], "fingerprint=", 12) != 0)
			return NULL;
		return st->arg[1] + 12;
	}
	if (strncasecmp(v, "sha256=", 7) == 0)
		return v + 7;
	if (strncasecmp(v, "sha256 ", 7) != 0)
		return NULL;
	v += 6 + strspn(v + 6, " ");
	if (strncasecmp(v, "fingerprint=", 12) != 0)
		return NULL;
	return v + 12;
}

/* 32 colon-separated hex bytes, in either case. */
static int
fingerprint_ok(const char *hex)
{
	char low[FPR_TEXT_LEN];
	uint8_t byte;
	struct tcur c;
	size_t i, n = strlen(hex);

	if (n > sizeof(low))
		return 0;
	for (i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)hex[i]);
	tc_init(&c, low, n);
	for (i = 0; i < FPR_BYTES; i++) {
		if (i > 0)
			tc_lit(&c, ":");
		tc_hexbytes(&c, &byte, 1);
	}
	return tc_end(&c) == 0;
}

/* The fingerprint in one spelling, so that the forwarder can use strcmp. */
int
conf_check_fingerprint(struct parser *p, const struct stmt *st, char **out)
{
	const char *hex;
	char *v, *d;

	if ((hex = fingerprint_hex(st)) == NULL || !fingerprint_ok(hex))
		return conf_perr(p, st->line, "\"fingerprint\" must be "
		    "\"SHA256=\" or \"sha256 Fingerprint=\" (in either case) "
		    "and 32 colon-separated hex bytes, as printed by \"openssl "
		    "x509 -noout -fingerprint -sha256\"");
	if (asprintf(&v, "SHA256=%s", hex) == -1)
		return conf_perr(p, st->line, "out of memory");
	for (d = v; *d != '\0'; d++)
		*d = (char)toupper((unsigned char)*d);
	*out = v;
	return 0;
}

static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* "sha256//" and the standard base64 of 32 bytes, as curl pins keys. */
int
conf_check_pubkey(struct parser *p, const struct stmt *st)
{
	const char *v = st->arg[0], *b;
	int i, d = -1;

	if (strncmp(v, PUBKEY_PREFIX, strlen(PUBKEY_PREFIX)) != 0)
		goto bad;
	b = v + strlen(PUBKEY_PREFIX);
	if (strlen(b) != PUBKEY_B64_LEN || b[PUBKEY_B64_LEN - 1] != '=')
		goto bad;
	for (i = 0; i < PUBKEY_B64_LEN - 1; i++)
		if ((d = b64_value((unsigned char)b[i])) == -1)
			goto bad;
	/*
	 * 43 digits carry 258 bits: the last digit's two spare bits must be
	 * zero, or the pin has a typo and, compared as text, never matches.
	 */
	if ((d & 3) != 0)
		goto bad;
	return 0;
bad:
	return conf_perr(p, st->line, "\"pubkey\" must be \"sha256//\" and the "
	    "base64 of a SHA-256 digest (44 characters ending in \"=\"); "
	    "auditdistd.conf(5) shows how to print it");
}

/* "nats://h:p" or "tls://h:p", comma-separated, nothing else. */
int
conf_publish_urls_ok(const char *v)
{
	const char *p = v, *e;
	size_t n;

	for (;;) {
		if (strncmp(p, "nats://", 7) != 0 &&
		    strncmp(p, "tls://", 6) != 0)
			return 0;
		p += p[0] == 'n' ? 7 : 6;
		e = strchr(p, ',');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == 0 || memchr(p, '/', n) != NULL)
			return 0;
		if (e == NULL)
			return 1;
		p = e + 1;
	}
}

/* Dot-separated tokens of letters, digits, '_' and '-' (no wildcards). */
int
conf_publish_name_ok(const char *v, int dots)
{
	size_t i, len = strlen(v);

	if (len == 0 || len > CONF_PUBLISH_NAME_MAX || v[0] == '.' ||
	    v[len - 1] == '.' || strstr(v, "..") != NULL)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '_' &&
		    v[i] != '-' && !(dots && v[i] == '.'))
			return 0;
	return 1;
}

/*
 * The group that may read a file that holds passwords: the primary group
 * of the user the daemon runs as (the receiver's "user", else the
 * sender's), which must read the file again on SIGHUP.  Its name (the
 * user's if the group has no entry) goes to name; (gid_t)-1 when there is
 * no such user.  Remembered: the first load runs before the sandbox, which
 * keeps a reloading process from reading /etc/passwd.
 */
static gid_t
secret_group(const struct conf *c, char *name, size_t len)
{
	static char user[USER_NAME_MAX + 1], group[64];
	static gid_t gid = (gid_t)-1;
	const char *u = c->receiver.present ? c->receiver.user :
	    c->sender.user;
	struct passwd *pw;
	struct group *gr;

	if (u == NULL)
		u = DEF_USER;
	if (gid == (gid_t)-1 || strcmp(u, user) != 0) {
		snprintf(user, sizeof(user), "%s", u);
		snprintf(group, sizeof(group), "%s", u);
		gid = (gid_t)-1;
		if ((pw = getpwnam(u)) != NULL) {
			gid = pw->pw_gid;
			if ((gr = getgrgid(gid)) != NULL)
				snprintf(group, sizeof(group), "%s",
				    gr->gr_name);
		}
	}
	snprintf(name, len, "%s", group);
	return gid;
}

/*
 * Passwords: never readable by others; readable by group only when that
 * group is ours or our user's.  -1 and the message with both fixes if not.
 */
int
conf_check_secret_mode(struct parser *ep, const struct conf *c,
    const struct stat *st, const char *path)
{
	char grp[64], who[32];

	if ((st->st_mode & 007) == 0 && ((st->st_mode & 070) == 0 ||
	    st->st_gid == getegid() ||
	    st->st_gid == secret_group(c, grp, sizeof(grp))))
		return 0;
	(void)secret_group(c, grp, sizeof(grp));	/* the name */
	if ((st->st_mode & 007) != 0)
		snprintf(who, sizeof(who), "others");
	else
		snprintf(who, sizeof(who), "group %u", (unsigned)st->st_gid);
	return conf_perr(ep, (unsigned)c->has_secrets, "holds passwords but is "
	    "readable by %s (mode %04o); chmod 600 %s, or chgrp %s %s && "
	    "chmod 640 %s", who, (unsigned)(st->st_mode & 07777), path, grp,
	    path, path);
}

