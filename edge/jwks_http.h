/* One HTTP(S) GET of the JWKS URL at a time, on rt-edge's own loop: a libwebsockets client on a
 * vhost of its own (so it has its own TLS client context: the system CAs, or one CA file), body
 * bounded, a deadline checked from the periodic sweep. TLS always verifies the chain and the host
 * name; redirects are not followed (a JWKS URL is configured exactly). */
#ifndef EDGE_JWKS_HTTP_H
#define EDGE_JWKS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lws_context;
struct edge_jwks_http;

/* status 0 with the body (borrowed for the call), or a negative rt_err (RT_EIO connection or TLS
 * failure, RT_EPROTO HTTP status not 200, RT_E2BIG body too large, RT_ETIMEDOUT, RT_ECLOSED on
 * free). Runs exactly once per started fetch. */
typedef void (*edge_jwks_http_cb)(void *arg, int status, const char *body, size_t len);

/* Checks the URL (http:// or https://, a host); ca_file NULL: the system CAs. Returns 0 or
 * RT_EINVAL (bad URL). The vhost is created on the first fetch. */
int edge_jwks_http_open(struct edge_jwks_http **out, const char *url, const char *ca_file,
                        unsigned timeout_ms, edge_jwks_http_cb cb, void *arg);
/* Frees; a fetch in flight completes with RT_ECLOSED. Call after lws_context_destroy (no client
 * connection may outlive it). */
void edge_jwks_http_free(struct edge_jwks_http *h);

/* Starts a GET. Returns 0, RT_EAGAIN (one is in flight) or RT_EIO (could not start; the callback
 * has not run). */
int edge_jwks_http_fetch(struct edge_jwks_http *h, struct lws_context *ctx);
bool edge_jwks_http_busy(const struct edge_jwks_http *h);
/* Ends a fetch past its deadline with RT_ETIMEDOUT (called from a periodic timer). */
void edge_jwks_http_tick(struct edge_jwks_http *h, uint64_t now_ms);

#endif
