/* GET /api/v1/events?channel=&since=&limit=&wait= : the HTTP polling fallback of the native
 * protocol. Same tokens (Authorization: Bearer), same channel rules and tenant isolation as /ws;
 * events come from the channel's stream with XRANGE. With `wait` (1-30 s) and nothing to answer
 * yet, the request is held: it subscribes the channel through the shared reference-counted
 * subscriptions (subs.c) from the id it knows is current, so it is woken by the same live
 * messages as the WebSocket fan-out and covered by the same replay and gap fill; it is answered
 * when an event arrives, when `wait` passes, or at once on drain. At most RT_EDGE_POLL_MAX_HELD
 * requests are held; over that a long poll with nothing to answer gets 429 rate_limited. */
#ifndef EDGE_POLL_HTTP_H
#define EDGE_POLL_HTTP_H

#include <libwebsockets.h>

struct edge;
struct edge_http_session;

#define EDGE_POLL_DEFAULT_LIMIT 100
#define EDGE_POLL_MAX_LIMIT     1000
#define EDGE_POLL_MAX_WAIT_S    30

/* Starts a polling request; the reply is sent when Redis answers (or later, when held).
 * 0 or -1 (close). */
int edge_poll_start(struct edge *e, struct lws *wsi, struct edge_http_session *hs);
/* The HTTP request went away: a Redis reply still to come must not touch it, and a held
 * request releases its subscription. */
void edge_poll_detach(struct edge_http_session *hs);
/* Answers the held requests that got events (or timed out) during this loop turn. */
void edge_poll_flush(struct edge *e);
/* Periodic (from the sweep timer): held requests whose client left are released. */
void edge_poll_sweep(struct edge *e);
/* SIGTERM: every held request is answered now (with what it has), none is held from now on. */
void edge_poll_drain(struct edge *e);

#endif
