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

#define PUBKEY_PREFIX		"sha256//"
#define PUBKEY_B64_LEN		44	/* base64 of 32 bytes, '=' */

/* Unsigned decimal digits only: no sign, no spaces, no overflow. */
int
conf_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0') {
		errno = EINVAL;
		return -1;
	}
	for (; *s != '\0'; s++) {
		unsigned d;

		if (*s < '0' || *s > '9') {
			errno = EINVAL;
			return -1;
		}
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10) {
			errno = ERANGE;
			return -1;
		}
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
conf_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mult = 1;

	if (s == NULL || *s < '0' || *s > '9') {
		errno = EINVAL;
		return -1;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10) {
			errno = ERANGE;
			return -1;
		}
		v = v * 10 + d;
	}
	if (*s != '\0') {
		switch (*s) {
		case 'k': case 'K':
			mult = KIB;
			break;
		case 'm': case 'M':
			mult = MIB;
			break;
		case 'g': case 'G':
			mult = GIB;
			break;
		case 't': case 'T':
			mult = 1024 * GIB;
			break;
		default:
			errno = EINVAL;
			return -1;
		}
		if (s[1] != '\0') {
			errno = EINVAL;
			return -1;
		}
	}
	if (v > UINT64_MAX / mult) {
		errno = ERANGE;
		return -1;
	}
	*out = v * mult;
	return 0;
}

static int
is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
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

/* "host", "host:port", "[v6]", "[v6]:port"; NULL when fine, else why not. */
const char *
conf_hostport_problem(const char *s)
{
	const char *host_end, *port = NULL, *q;
	uint64_t n = 0;

	if (*s == '[') {
		host_end = strchr(s, ']');
		if (host_end == NULL)
			return "has \"[\" without \"]\"";
		if (host_end == s + 1)
			return "has no address";
		for (q = s + 1; q < host_end; q++)
			if (!is_hex(*q) && *q != ':' && *q != '.' && *q != '%')
				return "has a bad IPv6 address";
		if (host_end[1] == ':')
			port = host_end + 2;
		else if (host_end[1] != '\0')
			return "has junk after \"]\"";
	} else {
		q = strchr(s, ':');
		if (q != NULL && strchr(q + 1, ':') != NULL)
			return "needs brackets around an IPv6 address, "
			    "as in tls://[::1]:7878";
		host_end = q != NULL ? q : s + strlen(s);
		if (host_end == s)
			return "has no address";
		for (q = s; q < host_end; q++)
			if (!((*q >= 'a' && *q <= 'z') ||
			    (*q >= 'A' && *q <= 'Z') ||
			    (*q >= '0' && *q <= '9') ||
			    *q == '.' || *q == '-' || *q == '_'))
				return "has a bad character in its address";
		if (*host_end == ':')
			port = host_end + 1;
	}
	if (port != NULL &&
	    (conf_parse_u64(port, &n) == -1 || n == 0 || n > 65535))
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

int
conf_get_uint(struct parser *p, const struct stmt *st, const char *v,
    uint64_t min, uint64_t max, const char *unit, uint64_t *out)
{
	uint64_t n = 0;
	int rc;

	if ((rc = conf_parse_u64(v, &n)) == -1 && errno == EINVAL)
		return conf_perr(p, st->line, "\"%s\" needs a whole number, "
		    "not \"%s\"", st->word, v);
	if (rc == -1 || n < min || n > max)
		return conf_perr(p, st->line, "\"%s\" %s is out of range "
		    "(%llu to %llu %s)", st->word, v, (unsigned long long)min,
		    (unsigned long long)max, unit);
	*out = n;
	return 0;
}

int
conf_get_size(struct parser *p, const struct stmt *st, const char *v,
    uint64_t min, uint64_t max, const char *range, uint64_t *out)
{
	uint64_t n = 0;
	int rc;

	if ((rc = conf_parse_size(v, &n)) == -1 && errno == EINVAL)
		return conf_perr(p, st->line, "\"%s\" needs a size such as "
		    "4096, 64K, 8M or 1G, not \"%s\"", st->word, v);
	if (rc == -1 || n < min || n > max)
		return conf_perr(p, st->line, "\"%s\" %s is out of range (%s)",
		    st->word, v, range);
	*out = n;
	return 0;
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

/* The fingerprint in one spelling, so that the forwarder can use strcmp. */
int
conf_check_fingerprint(struct parser *p, const struct stmt *st, char **out)
{
	const char *hex, *q;
	char *v, *d;
	int i;

	if ((hex = q = fingerprint_hex(st)) == NULL)
		goto bad;
	for (i = 0; i < 32; i++) {
		if (!is_hex(q[0]) || !is_hex(q[1]))
			goto bad;
		q += 2;
		if (i < 31 && *q++ != ':')
			goto bad;
	}
	if (*q != '\0')
		goto bad;
	if (asprintf(&v, "SHA256=%s", hex) == -1)
		return conf_perr(p, st->line, "out of memory");
	for (d = v; *d != '\0'; d++)
		if (*d >= 'a' && *d <= 'z')
			*d = (char)(*d - 'a' + 'A');
	*out = v;
	return 0;
bad:
	return conf_perr(p, st->line, "\"fingerprint\" must be \"SHA256=\" or "
	    "\"sha256 Fingerprint=\" (in either case) and 32 colon-separated "
	    "hex bytes, as printed by \"openssl x509 -noout -fingerprint "
	    "-sha256\"");
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

