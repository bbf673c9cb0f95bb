/* The plain-HTTP side of rt-edge on libwebsockets: probes and the polling API. */
#ifndef EDGE_HTTP_H
#define EDGE_HTTP_H

#include <libwebsockets.h>
#include <stdbool.h>

struct edge_poll;

/* Per-request state lws allocates for the "http" protocol. */
struct edge_http_session {
    char *body; /* owned: the reply body (LWS_PRE headroom) waiting for WRITEABLE */
    size_t len;
    size_t sent;
    int status;
    const char *ctype; /* static */
    bool replying, hdr_sent;
    struct edge_poll *poll; /* borrowed: a polling request waiting for Redis */
};

/* The lws protocol callback for plain HTTP; user of the vhost is the struct edge. */
int edge_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len);

/* Queues a complete reply (status, content type, body copied); it goes out when writable, also
 * when called outside an lws callback. 0, or -1 to close the request. */
int edge_http_reply(struct lws *wsi, struct edge_http_session *s, int status, const char *ctype,
                    const char *body, size_t len);

#endif
