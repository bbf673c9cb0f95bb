#include "cors.h"

#include "rt/httpd_event.h"

#include <event2/http.h>
#include <stdio.h>
#include <string.h>

#define ORIGIN_MAX 256

/* scheme://host[:port], nothing after: what a browser sends in Origin. */
static bool origin_valid(const char *s, size_t n)
{
    size_t skip = n > 7 && strncmp(s, "http://", 7) == 0    ? 7
                  : n > 8 && strncmp(s, "https://", 8) == 0 ? 8
                                                            : 0;
    if (!skip || n > ORIGIN_MAX)
        return false;
    for (size_t i = skip; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(".-:[]", c)))
            return false;
    }
    return true;
}

int health_cors_check(const char *value, char *expected, size_t cap)
{
    const char *p = value;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (!origin_valid(p, n)) {
            snprintf(expected, cap,
                     "comma-separated origins like http://127.0.0.1:8080 (scheme, host, "
                     "optional port; no path, no spaces)");
            return -1;
        }
        if (!end)
            return 0;
        p = end + 1;
    }
}

bool health_cors_allowed(const char *list, const char *origin)
{
    if (!list || !origin || !*origin)
        return false;
    size_t olen = strlen(origin);
    for (const char *p = list;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == olen && memcmp(p, origin, n) == 0)
            return true;
        if (!end)
            return false;
        p = end + 1;
    }
}

bool health_cors_handle(const char *list, struct evhttp_request *req)
{
    const char *origin = evhttp_find_header(evhttp_request_get_input_headers(req), "Origin");
    bool allowed = health_cors_allowed(list, origin);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    if (allowed) {
        evhttp_add_header(out, "Access-Control-Allow-Origin", origin);
        evhttp_add_header(out, "Vary", "Origin");
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_OPTIONS)
        return false;
    if (!allowed) {
        rt_httpd_reply_error(req, 403, "forbidden", "origin not allowed");
        return true;
    }
    evhttp_add_header(out, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
    evhttp_add_header(out, "Access-Control-Allow-Headers", "Authorization");
    evhttp_add_header(out, "Access-Control-Max-Age", "600");
    evhttp_send_reply(req, 204, "No Content", NULL);
    return true;
}
