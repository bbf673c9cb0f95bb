#include "jwks_http.h"

#include "rt/err.h"
#include "rt/log.h"
#include "rt/loop.h"

#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX   (1024 * 1024) /* the verifier refuses a larger JWKS anyway */
#define READ_CHUNK 4096

struct edge_jwks_http {
    char *url;     /* owned: for logs */
    char *host;    /* owned */
    char *path;    /* owned, starts with '/' */
    char *ca_file; /* owned or NULL */
    int port;
    bool tls;
    unsigned timeout_ms;
    edge_jwks_http_cb cb;
    void *arg;
    struct lws_vhost *vh; /* owned by the lws context */
    struct lws *wsi;      /* borrowed: the fetch's connection once lws returned it */
    bool active;          /* a fetch is in flight (its callback is owed) */
    uint64_t deadline_ms;
    int http_status;
    char *body; /* owned: bytes received so far */
    size_t len;
    bool too_big;
};

static int cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len);

/* the client being given its vhost: lws asks for extra CAs from inside lws_create_vhost, with a
 * stand-in wsi that carries nothing of ours */
static struct edge_jwks_http *creating;

static const struct lws_protocols protocols[] = {
    {"rt-jwks", cb_http, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int edge_jwks_http_open(struct edge_jwks_http **out, const char *url, const char *ca_file,
                        unsigned timeout_ms, edge_jwks_http_cb cb, void *arg)
{
    char buf[2048];
    const char *prot, *host, *path;
    int port;

    *out = NULL;
    if (strlen(url) >= sizeof(buf))
        return RT_EINVAL;
    memcpy(buf, url, strlen(url) + 1);
    if (lws_parse_uri(buf, &prot, &host, &port, &path) || !*host ||
        (strcmp(prot, "http") != 0 && strcmp(prot, "https") != 0) || port <= 0 || port > 65535)
        return RT_EINVAL;
    struct edge_jwks_http *h = rt_xcalloc(1, sizeof(*h));
    h->url = rt_xstrdup(url);
    h->host = rt_xstrdup(host);
    h->path = rt_xmalloc(strlen(path) + 2);
    h->path[0] = '/';
    memcpy(h->path + 1, path, strlen(path) + 1);
    h->ca_file = ca_file ? rt_xstrdup(ca_file) : NULL;
    h->tls = strcmp(prot, "https") == 0;
    h->port = port;
    h->timeout_ms = timeout_ms;
    h->cb = cb;
    h->arg = arg;
    *out = h;
    return 0;
}

/* wsi: the fetch's connection (NULL: h->wsi, which may not be known yet). kill: close it (not
 * when lws is already closing it: a timeout set on a wsi being freed would outlive it). */
static void finish(struct edge_jwks_http *h, struct lws *wsi, int status, bool kill)
{
    char *body = h->body;
    size_t len = h->len;

    if (!h->active)
        return;
    h->active = false;
    if (!wsi)
        wsi = h->wsi;
    if (wsi) {
        /* its later callbacks (close) no longer reach us */
        lws_set_opaque_user_data(wsi, NULL);
        if (kill)
            lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
    h->wsi = NULL;
    h->body = NULL;
    h->len = 0;
    h->cb(h->arg, status, status == 0 ? body : NULL, status == 0 ? len : 0);
    free(body);
}

void edge_jwks_http_free(struct edge_jwks_http *h)
{
    if (!h)
        return;
    if (h->active) {
        /* the context is gone: nothing to kill, only the callback is owed */
        h->active = false;
        h->cb(h->arg, RT_ECLOSED, NULL, 0);
    }
    free(h->body);
    free(h->url);
    free(h->host);
    free(h->path);
    free(h->ca_file);
    free(h);
}

static int make_vhost(struct edge_jwks_http *h, struct lws_context *ctx)
{
    struct lws_context_creation_info info;

    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.vhost_name = "rt-jwks";
    info.user = h;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6 |
                   (h->tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0); /* else no SSL_CTX */
    info.client_ssl_ca_filepath = h->ca_file;
    creating = h;
    h->vh = lws_create_vhost(ctx, &info);
    creating = NULL;
    return h->vh ? 0 : RT_EIO;
}

int edge_jwks_http_fetch(struct edge_jwks_http *h, struct lws_context *ctx)
{
    struct lws_client_connect_info ci;

    if (h->active)
        return RT_EAGAIN;
    if (!h->vh && make_vhost(h, ctx))
        return RT_EIO;
    memset(&ci, 0, sizeof(ci));
    ci.context = ctx;
    ci.vhost = h->vh;
    ci.address = h->host;
    ci.port = h->port;
    ci.path = h->path;
    ci.host = h->host;
    ci.origin = h->host;
    ci.method = "GET";
    ci.protocol = protocols[0].name;
    ci.local_protocol_name = protocols[0].name;
    ci.alpn = "http/1.1";
    ci.ssl_connection = LCCSCF_HTTP_NO_FOLLOW_REDIRECT | (h->tls ? LCCSCF_USE_SSL : 0);
    ci.opaque_user_data = h;
    h->http_status = 0;
    h->too_big = false;
    h->deadline_ms = rt_now_ms() + h->timeout_ms;
    h->active = true;
    /* a connection error may be reported from inside this call, which then finishes the fetch */
    struct lws *wsi = lws_client_connect_via_info(&ci);
    if (!wsi && h->active) {
        h->active = false; /* failed without a callback */
        return RT_EIO;
    }
    if (h->active)
        h->wsi = wsi;
    return 0;
}

bool edge_jwks_http_busy(const struct edge_jwks_http *h)
{
    return h->active;
}

void edge_jwks_http_tick(struct edge_jwks_http *h, uint64_t now_ms)
{
    if (h->active && now_ms >= h->deadline_ms)
        finish(h, NULL, RT_ETIMEDOUT, true);
}

/* Belt and braces over lws: the leaf must name the host we asked for, whatever lws checked. */
static int check_peer(struct edge_jwks_http *h, X509_STORE_CTX *xs, int preverify_ok)
{
    if (!preverify_ok)
        return 1;
    if (X509_STORE_CTX_get_error_depth(xs) != 0)
        return 0;
    X509 *leaf = X509_STORE_CTX_get_current_cert(xs);
    if (leaf && (X509_check_host(leaf, h->host, 0, 0, NULL) == 1 ||
                 X509_check_ip_asc(leaf, h->host, 0) == 1))
        return 0;
    X509_STORE_CTX_set_error(xs, X509_V_ERR_HOSTNAME_MISMATCH);
    return 1;
}

static void append(struct edge_jwks_http *h, const void *in, size_t len)
{
    if (h->too_big || h->len + len > BODY_MAX) {
        h->too_big = true;
        return;
    }
    h->body = rt_xrealloc(h->body, h->len + len + 1);
    memcpy(h->body + h->len, in, len);
    h->len += len;
    h->body[h->len] = '\0';
}

static int on_read(struct lws *wsi)
{
    char buf[LWS_PRE + READ_CHUNK];
    char *p = buf + LWS_PRE;
    int n = READ_CHUNK;
    return lws_http_client_read(wsi, &p, &n) < 0 ? -1 : 0;
}

static int cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    struct edge_jwks_http *h;

    switch (reason) {
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS:
        /* lws 4.1 looks for the system CAs in a build-time path that is wrong on Debian */
        /* user is the client SSL_CTX */
        if (creating && !creating->ca_file && user && SSL_CTX_set_default_verify_paths(user) != 1)
            RT_WARN("auth.jwks_no_system_cas", "cannot load the system CA certificates");
        return 0;
    case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
        h = wsi ? lws_get_opaque_user_data(wsi) : NULL;
        return h && h->active ? check_peer(h, user, (int)len) : 1;
    default:
        break;
    }
    h = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    if (!h || !h->active)
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        RT_WARN("auth.jwks_fetch_error", "JWKS request failed", RT_LF_STR("url", h->url),
                RT_LF_STR("error", in ? (const char *)in : "connection failed"));
        finish(h, wsi, RT_EIO, false);
        return 0;
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
        h->http_status = (int)lws_http_client_http_response(wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
        append(h, in, len);
        return 0;
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
        return on_read(wsi);
    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
        if (h->http_status != 200)
            RT_WARN("auth.jwks_fetch_error", "JWKS request answered other than 200",
                    RT_LF_STR("url", h->url), RT_LF_INT("status", h->http_status));
        finish(h, wsi, h->http_status != 200 ? RT_EPROTO : h->too_big ? RT_E2BIG : 0, true);
        return 0;
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        finish(h, wsi, RT_EIO, false); /* closed before the response completed */
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}
