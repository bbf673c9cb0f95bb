#include "http.h"

#include "rt/err.h"
#include "rt/probes.h"

#include <stdlib.h>
#include <string.h>

int edge_http_reply(struct lws *wsi, struct edge_http_session *s, int status, const char *ctype,
                    const char *body, size_t len)
{
    unsigned char hdr[LWS_PRE + 1024];
    unsigned char *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof(hdr) - 1;

    if (lws_add_http_common_headers(wsi, (unsigned int)status, ctype, (lws_filepos_t)len, &p,
                                    end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    free(s->body);
    /* LWS_PRE headroom so the body goes out with one lws_write and no copy */
    s->body = rt_xmalloc(LWS_PRE + len + 1);
    memcpy(s->body + LWS_PRE, body, len);
    s->len = len;
    s->sent = 0;
    lws_callback_on_writable(wsi);
    return 0;
}

static int on_http(struct lws *wsi, struct edge_http_session *s, const char *uri)
{
    const struct rt_probes *probes = lws_get_vhost_user(lws_get_vhost(wsi));
    struct rt_http_reply r = {0};
    const char *method = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) ? "POST" : "GET";
    if (rt_probes_handle(probes, method, uri, &r)) {
        int rc = edge_http_reply(wsi, s, r.status, r.content_type, r.body, r.len);
        free(r.body);
        return rc;
    }
    static const char nf[] = "{\"error\":\"not_found\",\"message\":\"no such endpoint\"}";
    return edge_http_reply(wsi, s, 404, "application/json", nf, sizeof(nf) - 1);
}

static int on_writeable(struct lws *wsi, struct edge_http_session *s)
{
    if (!s->body)
        return 0;
    size_t chunk = s->len - s->sent;
    if (chunk > 16384)
        chunk = 16384;
    /* lws_write may touch LWS_PRE bytes before its pointer: those belong to the buffer */
    unsigned char *p = (unsigned char *)s->body + LWS_PRE + s->sent;
    bool last = s->sent + chunk == s->len;
    if (lws_write(wsi, p, chunk, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)chunk)
        return -1;
    s->sent += chunk;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    free(s->body);
    s->body = NULL;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int edge_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct edge_http_session *s = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_http(wsi, s, in);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return on_writeable(wsi, s);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        free(s ? s->body : NULL);
        if (s)
            s->body = NULL;
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}
