#include "rt/httpd_event.h"
#include "rt/config.h"
#include "rt/err.h"
#include "rt/log.h"
#include "rt/probes.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define MAX_ROUTES 32

struct route {
    char *path; /* owned */
    bool prefix;
    rt_httpd_fn fn;
    void *arg; /* borrowed */
};

struct rt_httpd {
    struct evhttp *http;            /* owned */
    const struct rt_probes *probes; /* borrowed */
    int port;
    struct route routes[MAX_ROUTES];
    size_t nroutes;
};

static const char *method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    default:
        return "OTHER";
    }
}

static void reply_buf(struct evhttp_request *req, int status, const char *ctype, const char *body,
                      size_t len)
{
    /* straight into the request's own output buffer: no buffer of ours to allocate and move */
    evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
    evhttp_send_reply(req, status, NULL, NULL);
}

void rt_httpd_reply_raw(struct evhttp_request *req, int status, const char *ctype, const char *body,
                        size_t len)
{
    reply_buf(req, status, ctype, body, len);
}

void rt_httpd_reply_json(struct evhttp_request *req, int status, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    RT_ASSERT(s);
    reply_buf(req, status, "application/json", s, strlen(s));
    free(s);
    json_decref(o);
}

void rt_httpd_reply_error(struct evhttp_request *req, int status, const char *code,
                          const char *message)
{
    rt_httpd_reply_json(req, status,
                        json_pack("{s:s,s:s}", "error", code, "message", message ? message : code));
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct rt_httpd *h = arg;
    const char *uri = evhttp_request_get_uri(req);
    struct evhttp_uri *parsed = evhttp_uri_parse(uri);
    const char *path = parsed ? evhttp_uri_get_path(parsed) : NULL;
    struct rt_http_reply r = {0};

    if (!path || !*path) {
        rt_httpd_reply_error(req, 400, "bad_request", "malformed request target");
        goto out;
    }
    if (h->probes &&
        rt_probes_handle(h->probes, method_name(evhttp_request_get_command(req)), path, &r)) {
        reply_buf(req, r.status, r.content_type, r.body, r.len);
        free(r.body);
        goto out;
    }
    for (size_t i = 0; i < h->nroutes; i++) {
        struct route *rt = &h->routes[i];
        if (rt->prefix ? strncmp(path, rt->path, strlen(rt->path)) == 0
                       : strcmp(path, rt->path) == 0) {
            rt->fn(req, rt->arg);
            goto out;
        }
    }
    rt_httpd_reply_error(req, 404, "not_found", "no such endpoint");
out:
    if (parsed)
        evhttp_uri_free(parsed);
}

void rt_httpd_allow_options(struct rt_httpd *h)
{
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_OPTIONS);
}

int rt_httpd_open(struct rt_httpd **out, struct event_base *base, const char *listen,
                  const struct rt_probes *probes, size_t max_body)
{
    char host[256];
    int port;
    *out = NULL;
    if (rt_listen_parse(listen, host, sizeof(host), &port))
        return RT_EINVAL;
    struct rt_httpd *h = rt_xcalloc(1, sizeof(*h));
    h->http = evhttp_new(base);
    RT_ASSERT(h->http);
    h->probes = probes;
    evhttp_set_max_body_size(h->http, (ev_ssize_t)max_body);
    evhttp_set_max_headers_size(h->http, 16 * 1024);
    evhttp_set_timeout(h->http, 30); /* rt_httpd_set_timeout changes it */
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
    evhttp_set_gencb(h->http, on_request, h);
    struct evhttp_bound_socket *bs =
        evhttp_bind_socket_with_handle(h->http, host, (ev_uint16_t)port);
    if (!bs) {
        evhttp_free(h->http);
        free(h);
        return RT_EIO;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    evutil_socket_t fd = evhttp_bound_socket_get_fd(bs);
    h->port = port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            h->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            h->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    *out = h;
    return 0;
}

void rt_httpd_free(struct rt_httpd *h)
{
    if (!h)
        return;
    evhttp_free(h->http);
    for (size_t i = 0; i < h->nroutes; i++)
        free(h->routes[i].path);
    free(h);
}

void rt_httpd_set_timeout(struct rt_httpd *h, int seconds)
{
    RT_ASSERT(seconds > 0);
    evhttp_set_timeout(h->http, seconds);
}

int rt_httpd_port(const struct rt_httpd *h)
{
    return h->port;
}

void rt_httpd_route(struct rt_httpd *h, const char *path, bool prefix, rt_httpd_fn fn, void *arg)
{
    RT_ASSERT(h->nroutes < MAX_ROUTES);
    h->routes[h->nroutes++] = (struct route){rt_xstrdup(path), prefix, fn, arg};
}
