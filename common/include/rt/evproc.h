/* The frame shared by the libevent daemons (rt-ingest, rt-health): event base, SIGTERM/SIGINT,
 * the Redis command connection, metrics, and the HTTP server with probes. A process builds one,
 * adds its own routes and modules, runs it, and frees it. Lives in rtcommon_ev. */
#ifndef RT_EVPROC_H
#define RT_EVPROC_H

#include <stdbool.h>
#include <stddef.h>

#include "rt/config.h"
#include "rt/loop.h"
#include "rt/probes.h"

struct event_base;
struct rt_httpd;
struct rt_metrics;
struct rt_rconn;

/* Extra readiness beyond "Redis answers"; same contract as rt_ready_fn. */
typedef bool (*rt_evproc_ready_fn)(void *arg, char *reason, size_t cap);
/* Called once on SIGTERM/SIGINT, before the loop stops; the process stops its own work here. */
typedef void (*rt_evproc_stop_fn)(void *arg);
/* Called on every Redis READY and loss. */
typedef void (*rt_evproc_redis_fn)(void *arg, bool ready);

struct rt_evproc {
    const char *component;   /* borrowed, static */
    struct event_base *base; /* owned */
    struct rt_loop loop;
    struct rt_metrics *metrics; /* owned */
    struct rt_rconn *redis;     /* owned */
    struct rt_httpd *httpd;     /* owned */
    struct rt_probes probes;
    struct event *sigterm, *sigint; /* owned */
    rt_evproc_ready_fn extra_ready;
    rt_evproc_stop_fn on_stop;
    rt_evproc_redis_fn on_redis;
    void *arg; /* borrowed: the process's own state, passed to the hooks */
    bool stopping;
    bool liveness;            /* set before init: register in rt:instances (rt/liveness.h) */
    struct event *live_timer; /* owned */
    char instance_id[128];
    char url[300]; /* where the HTTP server listens, for the ready line */
};

/* Opens everything; on failure logs the reason and returns RT_EIO or RT_EINVAL, with the partly
 * built frame still safe to pass to rt_evproc_deinit. */
int rt_evproc_init(struct rt_evproc *p, const char *component, const struct rt_common_cfg *common,
                   const char *listen, size_t max_body);
/* Logs the "ready" line and runs the loop until a stop signal. */
int rt_evproc_run(struct rt_evproc *p);
void rt_evproc_deinit(struct rt_evproc *p);

#endif
