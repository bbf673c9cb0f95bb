/* The plain-TCP listener of rt-edge. libwebsockets 4.1 refuses a Sec-WebSocket-Protocol header
 * longer than 127 bytes ("protocol list too long"), and a JWT carried as `rt.bearer.<JWT>` is
 * always longer. So we accept connections ourselves, read the request head, move the bearer
 * entry out of the header (the token is kept by socket until the session picks it up) and hand
 * the socket with the rewritten head to libwebsockets (lws_adopt_socket_vhost_readbuf). With
 * TLS configured, lws listens itself and this route is limited to short tokens. */
#ifndef EDGE_LISTENER_H
#define EDGE_LISTENER_H

#include <stddef.h>

struct edge;
struct edge_listener;
struct lws_vhost;

#define EDGE_LISTENER_MAX_HEAD 16384 /* request head bytes read before handing over */

/* Binds host:port (port 0 picks one). Returns 0 or RT_EIO after logging. */
int edge_listener_open(struct edge_listener **out, struct edge *e, struct lws_vhost *vh,
                       const char *host, int port);
int edge_listener_port(const struct edge_listener *l);
/* Stops accepting (drain) and closes pending connections; the handle closes on the loop. */
void edge_listener_close(struct edge_listener *l);
/* Frees after the loop closed the handles. Accepts NULL. */
void edge_listener_free(struct edge_listener *l);

/* The token the listener took out of the handshake of socket fd, or NULL; the caller owns the
 * returned string (free()). */
char *edge_listener_take_token(struct edge_listener *l, int fd);
/* The connection of fd is gone: forget a token nobody took. */
void edge_listener_forget(struct edge_listener *l, int fd);

/* Pure: rewrites a request head in place, removing "rt.bearer.<token>" entries from
 * Sec-WebSocket-Protocol (and the header itself if nothing is left). Returns the new length and
 * the token (malloc'd) in *token, or NULL when there was none. */
size_t edge_listener_strip_bearer(char *head, size_t len, char **token);

#endif
