/*
 * The version that -V prints.  A package build may set its own, e.g.
 * with CFLAGS='-O2 -g -DAUDITDIST_VERSION=\"0.2-1\"'.
 */
#ifndef AUDITDIST_VERSION_H
#define AUDITDIST_VERSION_H

#ifndef AUDITDIST_VERSION
#define AUDITDIST_VERSION	"0.2"
#endif

#endif
