/* The shared handling of GET /healthz, /readyz and /metrics for the three processes. Pure: the
 * process's HTTP server (evhttp or libwebsockets) passes the path and sends the reply. */
#ifndef RT_PROBES_H
#define RT_PROBES_H

#include <stdbool.h>
#include <stddef.h>

struct rt_metrics;

/* Returns true when ready; otherwise writes a short reason ("redis: connection refused"). */
typedef bool (*rt_ready_fn)(void *arg, char *reason, size_t cap);

struct rt_probes {
    const char *component;      /* borrowed */
    rt_ready_fn ready;          /* NULL: always ready */
    void *arg;                  /* borrowed */
    struct rt_metrics *metrics; /* borrowed; NULL: /metrics answers an empty body */
    bool draining;              /* set on SIGTERM: /readyz answers 503 "draining" */
};

struct rt_http_reply {
    int status;
    const char *content_type; /* static */
    char *body;               /* owned: free() */
    size_t len;
};

/* Fills reply for a probe path and returns true; returns false for other paths (reply untouched).
 * A method other than GET or HEAD on a probe path answers 405. */
bool rt_probes_handle(const struct rt_probes *p, const char *method, const char *path,
                      struct rt_http_reply *reply);

#endif
