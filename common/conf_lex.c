/*
 * The lexer of auditdistd.conf: words, quoted strings, braces, line ends
 * and comments, with the line each token is on.
 *
 * Statements end at the end of a line, at a "{" or at a "}".  FreeBSD's
 * yacc grammar ignores newlines altogether; we keep lines so that a missing
 * value is reported on its own line instead of swallowing the next keyword,
 * and we still accept the brace of a block on the line after its keyword.
 * The first error stops parsing; it is reported as "FILE:LINE: what".
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conf_int.h"

int
conf_perr(struct parser *p, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	/* Only the first error means anything; later ones are fallout. */
	if (p->failed)
		return -1;
	p->failed = 1;
	if (p->err == NULL || p->errlen == 0)
		return -1;
	if (line > 0)
		n = snprintf(p->err, p->errlen, "%s:%u: ", p->name, line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->name);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* What a value may hold unquoted: names, numbers, paths, addresses. */
static int
word_char(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("._-/:[]%+=,@", c) != NULL;
}

static int
sep_char(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	    c == '{' || c == '}' || c == '#';
}

static struct token *
lex_fail(struct parser *p, const char *fmt, int c)
{
	if (c >= 0x20 && c < 0x7f)
		conf_perr(p, p->line, fmt, c);
	else if (c == '\0')
		conf_perr(p, p->line, "NUL byte");
	else
		conf_perr(p, p->line, "unexpected byte 0x%02x; quote the "
		    "value", c);
	p->tok.type = TOK_ERR;
	return &p->tok;
}

/* The byte after a backslash, or -1: only \" and \\ mean anything. */
static int
lex_escape(struct parser *p)
{
	unsigned line = p->tok.line;
	int c;

	if (p->p == p->end || *p->p == '\n')
		return conf_perr(p, line, "unterminated string");
	c = (unsigned char)*p->p++;
	if (c == '"' || c == '\\')
		return c;
	if (c >= 0x20 && c < 0x7f)
		return conf_perr(p, line, "unknown escape \"\\%c\" in string "
		    "(only \\\" and \\\\)", c);
	return conf_perr(p, line, "unknown escape in string (only \\\" and "
	    "\\\\)");
}

static struct token *
lex_string(struct parser *p)
{
	struct token *t = &p->tok;
	int c;

	p->p++;
	for (;;) {
		if (p->p == p->end || *p->p == '\n') {
			conf_perr(p, t->line, "unterminated string");
			goto fail;
		}
		c = (unsigned char)*p->p++;
		if (c == '"')
			break;
		if (c == '\\') {
			if ((c = lex_escape(p)) == -1)
				goto fail;
		} else if (c == '\0') {
			conf_perr(p, t->line, "NUL byte inside a string");
			goto fail;
		} else if (c < 0x20 || c == 0x7f) {
			conf_perr(p, t->line, "control character 0x%02x inside "
			    "a string", c);
			goto fail;
		}
		if (t->len == CONF_MAX_TOKEN) {
			conf_perr(p, t->line, "string longer than %d bytes",
			    CONF_MAX_TOKEN);
			goto fail;
		}
		t->text[t->len++] = (char)c;
	}
	t->text[t->len] = '\0';
	if (p->p < p->end && !sep_char((unsigned char)*p->p))
		return lex_fail(p, "unexpected '%c' after a string; "
		    "separate values with spaces", (unsigned char)*p->p);
	t->type = TOK_STRING;
	return t;
fail:
	t->type = TOK_ERR;
	return t;
}

static struct token *
lex_word(struct parser *p)
{
	struct token *t = &p->tok;
	int c;

	while (p->p < p->end && word_char((unsigned char)*p->p)) {
		if (t->len == CONF_MAX_TOKEN) {
			conf_perr(p, t->line, "word longer than %d bytes",
			    CONF_MAX_TOKEN);
			t->type = TOK_ERR;
			return t;
		}
		t->text[t->len++] = *p->p++;
	}
	t->text[t->len] = '\0';
	c = p->p < p->end ? (unsigned char)*p->p : ' ';
	/* Cutting "pass#word" at the "#" would silently change a value. */
	if (c == '#')
		return lex_fail(p, "'%c' inside a word; quote the value, or "
		    "put a space before a comment", c);
	if (!sep_char(c)) {
		if (c == '"')
			return lex_fail(p, "'%c' inside a word; quote the "
			    "whole value", c);
		return lex_fail(p, "unexpected character '%c'; quote "
		    "values that contain it", c);
	}
	t->type = TOK_WORD;
	return t;
}

static struct token *
lex(struct parser *p)
{
	struct token *t = &p->tok;
	int c;

	t->len = 0;
	t->text[0] = '\0';
	for (;;) {
		while (p->p < p->end &&
		    (*p->p == ' ' || *p->p == '\t' || *p->p == '\r'))
			p->p++;
		if (p->p == p->end || *p->p != '#')
			break;
		while (p->p < p->end && *p->p != '\n')
			p->p++;
	}
	t->line = p->line;
	if (p->p == p->end) {
		t->type = TOK_EOF;
		return t;
	}
	c = (unsigned char)*p->p;
	switch (c) {
	case '\n':
		p->p++;
		p->line++;
		t->type = TOK_NL;
		return t;
	case '{':
		p->p++;
		t->type = TOK_OPEN;
		return t;
	case '}':
		p->p++;
		t->type = TOK_CLOSE;
		return t;
	case '"':
		return lex_string(p);
	}
	if (word_char(c))
		return lex_word(p);
	return lex_fail(p, "unexpected character '%c'; quote values that "
	    "contain it", c);
}

struct token *
conf_lex_peek(struct parser *p)
{
	if (!p->peeked) {
		lex(p);
		p->peeked = 1;
	}
	return &p->tok;
}

void
conf_lex_take(struct parser *p)
{
	p->peeked = 0;
}
