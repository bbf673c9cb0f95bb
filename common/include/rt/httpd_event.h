/* An evhttp server with the probes built in and a small route table (rt-ingest, rt-health).
 * Lives in rtcommon_ev. */
#ifndef RT_HTTPD_EVENT_H
#define RT_HTTPD_EVENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct evhttp;
struct evhttp_request;
struct rt_probes;
struct rt_httpd;

typedef void (*rt_httpd_fn)(struct evhttp_request *req, void *arg);

/* Binds listen ("host:port"; port 0 picks a free one). probes is borrowed. Returns 0, RT_EINVAL
 * or RT_EIO (cannot bind). */
int rt_httpd_open(struct rt_httpd **out, struct event_base *base, const char *listen,
                  const struct rt_probes *probes, size_t max_body);
void rt_httpd_free(struct rt_httpd *h);
/* Seconds a connection may stall while a request is read or a reply written before it is
 * closed (evhttp_set_timeout); rt_httpd_open sets 30. */
void rt_httpd_set_timeout(struct rt_httpd *h, int seconds);
/* The bound port (useful with port 0). */
int rt_httpd_port(const struct rt_httpd *h);
/* Lets OPTIONS requests through to the routes (CORS preflights); by default libevent answers
 * them 405 itself. Every route of that server must then handle OPTIONS. */
void rt_httpd_allow_options(struct rt_httpd *h);
/* Routes a path (exact, query ignored) or, with prefix true, every path starting with it. */
void rt_httpd_route(struct rt_httpd *h, const char *path, bool prefix, rt_httpd_fn fn, void *arg);

/* Replies with a JSON body (o is stolen) and Content-Type application/json. */
void rt_httpd_reply_json(struct evhttp_request *req, int status, json_t *o);
/* Replies with body as it is (already serialized), Content-Type ctype. */
void rt_httpd_reply_raw(struct evhttp_request *req, int status, const char *ctype, const char *body,
                        size_t len);
/* Replies {"error":code,"message":message}. */
void rt_httpd_reply_error(struct evhttp_request *req, int status, const char *code,
                          const char *message);

#endif
