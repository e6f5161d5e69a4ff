/*
 * What the parts of the configuration parser share: the lexer
 * (conf_lex.c), the value checks (conf_check.c), the keyword table and
 * its setters (conf_keys.c), and blocks and loading (conf.c).  Not for
 * the programs: they see conf.h.
 */
#ifndef AUDITDIST_CONF_INT_H
#define AUDITDIST_CONF_INT_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "wire.h"

/* 10,000 host blocks with passwords take about 1.2 MiB. */
#define CONF_MAX_FILE		(16 * 1024 * 1024)
#define CONF_MAX_TOKEN		4096
#define CONF_MAX_ARGS		3	/* flush incremental N records */
#define CONF_MAX_LISTEN		64
#define CONF_HOSTNAME_MAX	WIRE_MAX_HOST
#define CONF_MAX_KEYWORDS	64	/* rows of the keyword table */

#define KIB			1024ULL
#define MIB			(1024 * KIB)
#define GIB			(1024 * MIB)

#define DEF_USER		"auditdist"
#define USER_NAME_MAX		32	/* useradd's limit */

enum tok {
	TOK_EOF,
	TOK_NL,
	TOK_WORD,
	TOK_STRING,
	TOK_OPEN,
	TOK_CLOSE,
	TOK_ERR,
};

struct token {
	enum tok	 type;
	unsigned	 line;
	size_t		 len;
	char		 text[CONF_MAX_TOKEN + 1];
};

/* The blocks, in the order messages list them. */
enum scope {
	SC_GLOBAL,
	SC_SENDER,
	SC_RECEIVER,
	SC_SHOST,
	SC_RHOST,
	SC_PUBLISH,
	SC_MAX,
};

struct parser {
	const char	*name;		/* file name for messages */
	const char	*p, *end;
	unsigned	 line;		/* line of the next character */
	int		 peeked;
	struct token	 tok;
	char		*err;
	size_t		 errlen;
	int		 failed;
	struct conf	*conf;
};

/* One statement: a keyword and its values, in the block it appears in. */
struct stmt {
	char		*word;
	unsigned	 line;
	enum scope	 sc;
	int		 nargs;
	char		*arg[CONF_MAX_ARGS];
};

struct keyword;
/*
 * A keyword's setter: check st's values and store them in obj, the
 * struct of the block st is in (struct conf, conf_sender, conf_receiver,
 * conf_host or conf_publish), at k->off for the generic ones.
 */
typedef int	 kw_set_fn(struct parser *, struct stmt *,
		    const struct keyword *, void *);

struct keyword {
	const char	*name;
	unsigned	 scopes;	/* IN(SC_...) of the blocks it is in */
	unsigned char	 minargs, maxargs;
	unsigned char	 flags;		/* KF_* */
	kw_set_fn	*set;
	size_t		 off;		/* for a generic setter */
	uint64_t	 min, max;	/* bounds of a number */
	const char	*unit;		/* in range messages */
};

#define IN(s)		(1U << (s))
#define KF_REPEAT	0x01		/* may appear more than once */
#define KF_BLOCK	0x02		/* followed by "{" ... "}" */

/* conf_lex.c */
int		 conf_perr(struct parser *, unsigned, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
struct token	*conf_lex_peek(struct parser *);
void		 conf_lex_take(struct parser *);

/*
 * conf_check.c.  conf_check_* and conf_get_*: 0, or -1 and a message
 * through conf_perr; *_ok: 1 or 0; conf_hostport_problem: NULL or why.
 */
int		 conf_parse_u64(const char *, uint64_t *);
int		 conf_host_name_ok(const char *);
int		 conf_user_name_ok(const char *);
const char	*conf_hostport_problem(const char *);
int		 conf_check_addr(struct parser *, const struct stmt *,
		    const char *);
int		 conf_check_path(struct parser *, const struct stmt *,
		    const char *, const char *);
int		 conf_get_uint(struct parser *, const struct stmt *,
		    const char *, uint64_t, uint64_t, const char *,
		    uint64_t *);
int		 conf_get_size(struct parser *, const struct stmt *,
		    const char *, uint64_t, uint64_t, const char *,
		    uint64_t *);
int		 conf_check_fingerprint(struct parser *, const struct stmt *,
		    char **);
int		 conf_check_pubkey(struct parser *, const struct stmt *);
int		 conf_publish_urls_ok(const char *);
int		 conf_publish_name_ok(const char *, int);
int		 conf_check_secret_mode(struct parser *, const struct conf *,
		    const struct stat *, const char *);

/* conf_keys.c */
extern const struct keyword conf_keywords[];
extern const size_t conf_nkeywords;
const struct keyword *conf_keyword_find(struct parser *, const struct stmt *);
unsigned	 conf_keyword_seen(const unsigned *, enum scope, const char *);
void		 conf_take_arg(struct stmt *, int, char **);

/* conf.c */
void		 conf_wipe_free(char *);
int		 conf_parse_block(struct parser *, enum scope,
		    struct conf_host *, const char *, unsigned);

#endif
