/* The answers to -h, -V and a usage error, alike in every program (cli.h). */
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "cli.h"
#include "version.h"

void
cli_usage(int status, const char *prog, const char *synopsis,
    const char *help)
{
	FILE *f = status == 0 ? stdout : stderr;

	fprintf(f, "usage: %s %s\n", prog, synopsis);
	if (status == 0)
		fputs(help, f);
	if (fflush(f) == EOF && status == 0)
		exit(EX_IOERR);
	exit(status);
}

void
cli_version(const char *prog)
{
	printf("%s %s\n", prog, AUDITDIST_VERSION);
	exit(fflush(stdout) == EOF ? EX_IOERR : 0);
}
