/*
 * The network process's event loop lives in net.c, which the unit tests
 * do not link: conn.c and wchan.c need these of it.  The clock is `now`,
 * which a test moves by hand.  Include once, in the test's one file.
 */
#ifndef NETSTUBS_H
#define NETSTUBS_H

#include <stdint.h>

#include "auditdistd.h"

static uint64_t now = 1000000;

uint64_t
now_ms(void)
{
	return now;
}

void
timer_want(struct server *s, uint64_t at)
{
	(void)s;
	(void)at;
}

int
ev_mod(struct server *s, int fd, void *p, uint32_t ev)
{
	(void)s;
	(void)fd;
	(void)p;
	(void)ev;
	return 0;
}

int
ev_conn(struct server *s, int fd, struct conn *c, uint32_t ev)
{
	(void)s;
	(void)fd;
	(void)c;
	(void)ev;
	return 0;
}

void
ev_conn_del(struct server *s, int fd)
{
	(void)s;
	(void)fd;
}

void
ready_add(struct server *s, struct conn *c)
{
	(void)s;
	(void)c;
}

#endif
