/*
 * Text from outside a process (a sibling's report lines, index files and
 * names read back from disk) is parsed through one bounded cursor, the
 * text twin of wire.h's cursor.  Getters never read past the end; the
 * first one that fails sticks: every later getter fails at once, so a
 * parser may chain its getters and ask tc_end once.  tc_error says where
 * it went wrong and what was expected there.  The failing getter sets
 * errno: ERANGE for a number above its bound, else EINVAL.
 */
#ifndef AUDITDIST_TCUR_H
#define AUDITDIST_TCUR_H

#include <stddef.h>
#include <stdint.h>

struct tcur {
	const char	*buf;
	size_t		 len;
	size_t		 off;		/* bytes consumed */
	const char	*want;		/* what a getter expected; NULL: fine */
	size_t		 err_off;	/* where it expected it */
};

void	 tc_init(struct tcur *, const void *buf, size_t len);
/* Exactly ndig (1 to 16) lower-case hex digits. */
int	 tc_hex(struct tcur *, size_t ndig, uint64_t *);
/* 2 * n lower-case hex digits into n bytes. */
int	 tc_hexbytes(struct tcur *, uint8_t *out, size_t n);
/* A decimal number as printf writes it ("0" or no leading zero), <= max. */
int	 tc_dec(struct tcur *, uint64_t max, uint64_t *);
/* The same as a person may write it: leading zeros allowed. */
int	 tc_digits(struct tcur *, uint64_t max, uint64_t *);
/* One or more bytes up to sep or the end; sep is not consumed. */
int	 tc_word(struct tcur *, char sep, const char **w, size_t *wlen);
/* The bytes of lit, exactly. */
int	 tc_lit(struct tcur *, const char *lit);
/* What is left (nothing consumed); its length is tc_left. */
const char *tc_rest(const struct tcur *);
size_t	 tc_left(const struct tcur *);
/* 0 if no getter failed and every byte was consumed, else -1. */
int	 tc_end(struct tcur *);
/* "byte N: expected X", or "no error"; buf. */
const char *tc_error(const struct tcur *, char *buf, size_t len);

/*
 * The one name format of numbered files (spool segments, trail files):
 * 16 lower-case hex digits of a non-zero number, then a suffix.
 */
#define TC_NAME16_LEN	16
int	 tc_name16(char *buf, size_t len, uint64_t num, const char *suffix);
/* A name with one of two suffixes (either may be ""); *which: 0 or 1. */
int	 tc_name16_parse(const char *name, const char *suffix0,
	    const char *suffix1, uint64_t *num, int *which);

/*
 * A text file whose last line may be torn by a crash: cut it back to just
 * after its last newline (to nothing if it has none) and fdatasync.
 * *keep: the size left; returns the bytes cut, or -1 (errno set).
 */
int64_t	 tc_cut_torn(int fd, uint64_t *keep);

#endif
