#include "rt/probes.h"
#include "rt/err.h"
#include "rt/metrics.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void set_json(struct rt_http_reply *r, int status, json_t *o)
{
    r->status = status;
    r->content_type = "application/json";
    r->body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    RT_ASSERT(r->body);
    r->len = strlen(r->body);
    json_decref(o);
}

/* Compares the path without its query string. */
static bool path_is(const char *path, const char *want)
{
    size_t n = strlen(want);
    return strncmp(path, want, n) == 0 && (path[n] == '\0' || path[n] == '?');
}

bool rt_probes_handle(const struct rt_probes *p, const char *method, const char *path,
                      struct rt_http_reply *reply)
{
    bool healthz = path_is(path, "/healthz"), readyz = path_is(path, "/readyz"),
         metrics = path_is(path, "/metrics");
    if (!healthz && !readyz && !metrics)
        return false;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        set_json(reply, 405, json_pack("{s:s}", "error", "method not allowed"));
        return true;
    }
    if (healthz) {
        set_json(reply, 200, json_pack("{s:s,s:s}", "status", "ok", "component", p->component));
        return true;
    }
    if (readyz) {
        char reason[256] = "";
        if (p->draining) {
            set_json(reply, 503,
                     json_pack("{s:s,s:s,s:s}", "status", "not_ready", "component", p->component,
                               "reason", "draining"));
        } else if (p->ready && !p->ready(p->arg, reason, sizeof(reason))) {
            set_json(reply, 503,
                     json_pack("{s:s,s:s,s:s}", "status", "not_ready", "component", p->component,
                               "reason", reason));
        } else {
            set_json(reply, 200,
                     json_pack("{s:s,s:s}", "status", "ready", "component", p->component));
        }
        return true;
    }
    reply->status = 200;
    reply->content_type = "text/plain; version=0.0.4";
    if (p->metrics) {
        reply->body = rt_metrics_render(p->metrics, &reply->len);
    } else {
        reply->body = rt_xstrdup("");
        reply->len = 0;
    }
    return true;
}
