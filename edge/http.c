#include "http.h"
#include "edge.h"
#include "poll_http.h"
#include "static_files.h"

#include "rt/err.h"
#include "rt/probes.h"

#include <stdlib.h>
#include <string.h>

/* A reply is completely written or its connection is gone: a drain may be waiting for it. */
static void reply_done(struct lws *wsi, struct edge_http_session *s)
{
    struct edge *e = lws_get_vhost_user(lws_get_vhost(wsi));
    free(s->body);
    s->body = NULL;
    if (!s->replying)
        return;
    s->replying = false;
    e->http_replying--;
    if (e->draining)
        edge_drain_check(e);
}

int edge_http_reply(struct lws *wsi, struct edge_http_session *s, int status, const char *ctype,
                    const char *body, size_t len)
{
    if (!s->replying) {
        struct edge *e = lws_get_vhost_user(lws_get_vhost(wsi));
        e->http_replying++;
    }
    free(s->body);
    /* LWS_PRE headroom so the body goes out with one lws_write and no copy */
    s->body = rt_xmalloc(LWS_PRE + len + 1);
    memcpy(s->body + LWS_PRE, body, len);
    s->len = len;
    s->sent = 0;
    s->status = status;
    s->ctype = ctype;
    s->replying = true;
    s->hdr_sent = false;
    lws_callback_on_writable(wsi);
    return 0;
}

static int on_http(struct lws *wsi, struct edge_http_session *s, const char *uri)
{
    struct edge *e = lws_get_vhost_user(lws_get_vhost(wsi));
    struct rt_http_reply r = {0};
    bool get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
    const char *method = get                                             ? "GET"
                         : lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) ? "HEAD"
                                                                         : "POST";
    if (rt_probes_handle(&e->probes, method, uri, &r)) {
        int rc = edge_http_reply(wsi, s, r.status, r.content_type, r.body, r.len);
        free(r.body);
        return rc;
    }
    if (strcmp(uri, "/api/v1/events") == 0) {
        if (!get) {
            static const char na[] = "{\"error\":\"bad_request\",\"message\":\"use GET\"}";
            return edge_http_reply(wsi, s, 405, "application/json", na, sizeof(na) - 1);
        }
        return edge_poll_start(e, wsi, s);
    }
    if (get && e->cfg->dashboard_dir && edge_static_path(uri)) {
        struct edge_static_file f;
        if (edge_static_read(e->cfg->dashboard_dir, uri, &f) == 0) {
            int rc = edge_http_reply(wsi, s, 200, f.ctype, f.body, f.len);
            free(f.body);
            return rc;
        }
    }
    static const char nf[] = "{\"error\":\"not_found\",\"message\":\"no such endpoint\"}";
    return edge_http_reply(wsi, s, 404, "application/json", nf, sizeof(nf) - 1);
}

static int write_headers(struct lws *wsi, struct edge_http_session *s)
{
    unsigned char hdr[LWS_PRE + 1024];
    unsigned char *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof(hdr) - 1;
    if (lws_add_http_common_headers(wsi, (unsigned int)s->status, s->ctype, (lws_filepos_t)s->len,
                                    &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    s->hdr_sent = true;
    if (s->len == 0) {
        reply_done(wsi, s);
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    lws_callback_on_writable(wsi);
    return 0;
}

static int on_writeable(struct lws *wsi, struct edge_http_session *s)
{
    if (!s->replying)
        return 0;
    if (!s->hdr_sent)
        return write_headers(wsi, s);
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
    reply_done(wsi, s);
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
        if (s) {
            edge_poll_detach(s);
            reply_done(wsi, s);
        }
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}
