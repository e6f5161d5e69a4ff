/*
 * What the three programs' command lines share: the long options every
 * one has, and how -h, -V and a usage error answer.
 */
#ifndef AUDITDIST_CLI_H
#define AUDITDIST_CLI_H

#include <getopt.h>

/* --help and --version: the end of each program's longopts. */
#define CLI_LONGOPTS_END \
	{ "help",	no_argument,	NULL,	'h' }, \
	{ "version",	no_argument,	NULL,	'V' }, \
	{ NULL,		0,		NULL,	0 }

/*
 * "usage: PROG SYNOPSIS"; with status 0 (-h) on stdout and followed by
 * help, the options one a line; else (a usage error) on stderr alone.
 * Exits with status, or EX_IOERR if the help could not be written.
 */
void	 cli_usage(int status, const char *prog, const char *synopsis,
	    const char *help) __attribute__((noreturn));
/* -V: "PROG VERSION" on stdout, and exit. */
void	 cli_version(const char *prog) __attribute__((noreturn));

#endif
