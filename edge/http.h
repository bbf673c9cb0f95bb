/* The plain-HTTP side of rt-edge on libwebsockets: probes (and later the polling API and the
 * dashboard). */
#ifndef EDGE_HTTP_H
#define EDGE_HTTP_H

#include <libwebsockets.h>

struct rt_probes;

/* Per-request state lws allocates for the "http" protocol. */
struct edge_http_session {
    char *body; /* owned: the reply body waiting for WRITEABLE */
    size_t len;
    size_t sent;
};

/* The lws protocol callback for plain HTTP; user of the vhost is the process's probes. */
int edge_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len);

/* Sends a complete reply (status, content type, body copied); 0, or -1 to close the request. */
int edge_http_reply(struct lws *wsi, struct edge_http_session *s, int status, const char *ctype,
                    const char *body, size_t len);

#endif
