/* GET /api/v1/events?channel=&since=&limit= : the HTTP polling fallback of the native protocol.
 * Same tokens (Authorization: Bearer), same channel rules and tenant isolation as /ws; events
 * come from the channel's stream with XRANGE. The long-poll `wait` is not served yet (400). */
#ifndef EDGE_POLL_HTTP_H
#define EDGE_POLL_HTTP_H

#include <libwebsockets.h>

struct edge;
struct edge_http_session;

#define EDGE_POLL_DEFAULT_LIMIT 100
#define EDGE_POLL_MAX_LIMIT     1000

/* Starts a polling request; the reply is sent when Redis answers. 0 or -1 (close). */
int edge_poll_start(struct edge *e, struct lws *wsi, struct edge_http_session *hs);
/* The HTTP request went away: a Redis reply still to come must not touch it. */
void edge_poll_detach(struct edge_http_session *hs);

#endif
