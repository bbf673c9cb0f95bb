#include "rt/evproc.h"
#include "rt/err.h"
#include "rt/httpd_event.h"
#include "rt/liveness.h"
#include "rt/log.h"
#include "rt/loop_event.h"
#include "rt/metrics.h"
#include "rt/rconn.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static bool is_ready(void *arg, char *reason, size_t cap)
{
    struct rt_evproc *p = arg;
    if (!rt_rconn_ready(p->redis)) {
        const char *e = rt_rconn_last_error(p->redis);
        snprintf(reason, cap, "redis: %s", e[0] ? e : "connecting");
        return false;
    }
    if (p->extra_ready)
        return p->extra_ready(p->arg, reason, cap);
    return true;
}

static void on_live_timer(evutil_socket_t fd, short what, void *arg);

static void on_redis_state(struct rt_rconn *rc, enum rt_rconn_state state, void *arg)
{
    struct rt_evproc *p = arg;
    (void)rc;
    if (state == RT_RCONN_READY && p->live_timer)
        on_live_timer(-1, 0, p); /* register at once, not only on the next tick */
    if (state == RT_RCONN_READY || state == RT_RCONN_BACKOFF) {
        rt_metric_set(rt_metrics_get(p->metrics, RT_METRIC_GAUGE, "rt_redis_connected",
                                     "1 while the Redis command connection is ready.", NULL, NULL,
                                     0),
                      state == RT_RCONN_READY);
        if (state == RT_RCONN_BACKOFF)
            rt_metric_inc(
                rt_metrics_get(p->metrics, RT_METRIC_COUNTER, "rt_redis_connect_failures_total",
                               "Redis connections lost or attempts failed.", NULL, NULL, 0));
    }
    if (p->on_redis && (state == RT_RCONN_READY || state == RT_RCONN_BACKOFF))
        p->on_redis(p->arg, state == RT_RCONN_READY);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct rt_evproc *p = arg;
    (void)what;
    if (p->stopping)
        return;
    p->stopping = true;
    p->probes.draining = true;
    RT_INFO("process.stopping", "stop signal received", RT_LF_INT("signal", (long long)sig));
    if (p->on_stop)
        p->on_stop(p->arg);
    event_base_loopexit(p->base, NULL);
}

#define LIVENESS_TTL_MS 15000

static void on_live_timer(evutil_socket_t fd, short what, void *arg)
{
    struct rt_evproc *p = arg;
    (void)fd;
    (void)what;
    char info[512];
    snprintf(info, sizeof(info), "{\"component\":\"%s\",\"url\":\"%s\",\"pid\":%d}", p->component,
             p->url, (int)getpid());
    rt_liveness_register(p->redis, p->component, p->instance_id, info, LIVENESS_TTL_MS);
}

int rt_evproc_init(struct rt_evproc *p, const char *component, const struct rt_common_cfg *common,
                   const char *listen, size_t max_body)
{
    p->component = component;
    p->base = event_base_new();
    RT_ASSERT(p->base);
    rt_loop_event_init(&p->loop, p->base);
    p->metrics = rt_metrics_new();
    rt_metric_set(rt_metrics_get(p->metrics, RT_METRIC_GAUGE, "rt_process_start_time_seconds",
                                 "Start time of the process since the epoch.", NULL, NULL, 0),
                  (double)(rt_wall_ms() / 1000));
    rt_metric_set(rt_metrics_get(p->metrics, RT_METRIC_GAUGE, "rt_redis_connected",
                                 "1 while the Redis command connection is ready.", NULL, NULL, 0),
                  0);
    p->probes = (struct rt_probes){
        .component = component, .ready = is_ready, .arg = p, .metrics = p->metrics};
    signal(SIGPIPE, SIG_IGN);
    p->sigterm = evsignal_new(p->base, SIGTERM, on_signal, p);
    p->sigint = evsignal_new(p->base, SIGINT, on_signal, p);
    evsignal_add(p->sigterm, NULL);
    evsignal_add(p->sigint, NULL);

    int rc = rt_httpd_open(&p->httpd, p->base, listen, &p->probes, max_body);
    if (rc) {
        RT_ERROR("http.listen_failed", "cannot listen", RT_LF_STR("listen", listen), RT_LF_ERR(rc));
        return rc;
    }
    char host[256];
    int port;
    rt_listen_parse(listen, host, sizeof(host), &port);
    snprintf(p->url, sizeof(p->url), strchr(host, ':') ? "http://[%s]:%d" : "http://%s:%d", host,
             rt_httpd_port(p->httpd));
    struct rt_rconn_opts ro = {.url = common->redis_url,
                               .client_name = component,
                               .connect_timeout_ms = 2000,
                               .ping_interval_ms = 1000,
                               .backoff_min_ms = 100,
                               .backoff_max_ms = 3000,
                               .on_state = on_redis_state,
                               .arg = p};
    rc = rt_rconn_open(&p->redis, &p->loop, &ro);
    if (rc) {
        RT_ERROR("redis.bad_url", "cannot use RT_REDIS_URL", RT_LF_ERR(rc));
        return rc;
    }
    if (p->liveness) {
        char hostname[64] = "host";
        gethostname(hostname, sizeof(hostname) - 1);
        snprintf(p->instance_id, sizeof(p->instance_id), "%s-%d", hostname, (int)getpid());
        struct timeval tv = {LIVENESS_TTL_MS / 3000, 0};
        p->live_timer = event_new(p->base, -1, EV_PERSIST, on_live_timer, p);
        event_add(p->live_timer, &tv);
    }
    return 0;
}

int rt_evproc_run(struct rt_evproc *p)
{
    RT_INFO("process.ready", "ready", RT_LF_STR("url", p->url),
            RT_LF_INT("port", rt_httpd_port(p->httpd)), RT_LF_STR("healthz", "/healthz"),
            RT_LF_STR("readyz", "/readyz"), RT_LF_STR("metrics", "/metrics"));
    int rc = event_base_dispatch(p->base);
    return rc < 0 ? RT_EIO : 0;
}

void rt_evproc_deinit(struct rt_evproc *p)
{
    if (p->live_timer)
        event_free(p->live_timer);
    p->live_timer = NULL;
    rt_rconn_free(p->redis);
    p->redis = NULL;
    rt_httpd_free(p->httpd);
    p->httpd = NULL;
    if (p->sigterm)
        event_free(p->sigterm);
    if (p->sigint)
        event_free(p->sigint);
    p->sigterm = p->sigint = NULL;
    rt_metrics_free(p->metrics);
    p->metrics = NULL;
    if (p->base)
        event_base_free(p->base);
    p->base = NULL;
}
