/*
 * What the parts of a connection share (conn.c, conn_login.c,
 * conn_data.c); the rest of the receiver sees struct conn and the conn_*
 * functions declared in auditdistd.h.
 */
#ifndef CONN_H
#define CONN_H

#include <stddef.h>
#include <stdint.h>

struct conn;

/* conn.c */
const char	*conn_who(const struct conn *);
unsigned	 conn_timeout_ms(const struct conn *);
int		 conn_peer_log(const struct conn *);
void		 conn_protocol_error(struct conn *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* conn_login.c */
void	 conn_on_hello(struct conn *, const uint8_t *, size_t);
void	 conn_on_auth(struct conn *, const uint8_t *, size_t);

/* conn_data.c */
void	 conn_on_frame(struct conn *, uint8_t type, const uint8_t *, size_t);

#endif
