/* rt-health: call state, timeouts, webhook staleness, failure rates, component liveness. */
#include "api.h"
#include "callstate.h"
#include "config.h"
#include "consumer.h"
#include "liveness.h"
#include "status.h"
#include "timeouts.h"

#include "rt/err.h"
#include "rt/evproc.h"
#include "rt/log.h"
#include "rt/publish.h"

#include <event2/event.h>
#include <stdlib.h>

struct health {
    const struct health_config *cfg; /* borrowed */
    struct rt_evproc proc;
    struct health_callstate *cs;      /* owned */
    struct rt_publisher *pub;         /* owned */
    struct health_consumer *consumer; /* owned */
    struct health_timeouts *timeouts; /* owned */
    struct health_status_pub *status; /* owned */
    struct health_liveness *liveness; /* owned */
    struct health_api *api;           /* owned */
    struct rt_timer *tick;            /* owned */
};

static void on_redis(void *arg, bool ready)
{
    struct health *h = arg;
    if (!ready)
        return;
    rt_publisher_on_ready(h->pub);
    health_callstate_load(h->cs, h->proc.redis);
}

static bool extra_ready(void *arg, char *reason, size_t cap)
{
    struct health *h = arg;
    return health_consumer_ready(h->consumer, reason, cap);
}

static void on_changed(const char *tenant, void *arg)
{
    struct health *h = arg;
    health_status_pub_dirty(h->status, tenant);
}

static void on_tick(void *arg)
{
    struct health *h = arg;
    health_consumer_poll_lag(h->consumer);
    health_timeouts_tick(h->timeouts);
    health_liveness_tick(h->liveness);
    health_status_pub_tick(h->status, health_liveness_leader(h->liveness));
    h->proc.loop.ops->timer_start(h->tick, (uint64_t)h->cfg->tick_ms);
}

static void on_stop(void *arg)
{
    struct health *h = arg;
    h->proc.loop.ops->timer_stop(h->tick);
}

static int build(struct health *h)
{
    struct rt_evproc *p = &h->proc;
    h->cs = health_callstate_new(h->cfg);
    h->pub = rt_publisher_new(p->redis, (unsigned long)h->cfg->stream_maxlen);
    rt_publisher_set_maxage(h->pub, (unsigned long)h->cfg->stream_maxage_s);
    struct health_consumer_opts co = {.cfg = h->cfg,
                                      .loop = &p->loop,
                                      .cs = h->cs,
                                      .cmd = p->redis,
                                      .metrics = p->metrics,
                                      .on_changed = on_changed,
                                      .arg = h};
    int rc = health_consumer_open(&h->consumer, &co);
    if (rc)
        return rc;
    h->timeouts = health_timeouts_new(h->cfg, h->cs, p->redis, p->metrics, on_changed, h);
    h->status = health_status_pub_new(h->cfg, h->cs, p->redis, h->pub, &p->loop, p->metrics);
    h->liveness = health_liveness_new(h->cfg, p->redis, health_consumer_name(h->consumer), p->url);
    struct health_api_opts ao = {.cfg = h->cfg,
                                 .httpd = p->httpd,
                                 .rc = p->redis,
                                 .cs = h->cs,
                                 .consumer = h->consumer,
                                 .liveness = h->liveness,
                                 .metrics = p->metrics};
    rc = health_api_open(&h->api, &ao);
    if (rc)
        return rc;
    p->on_redis = on_redis;
    p->extra_ready = extra_ready;
    p->on_stop = on_stop;
    h->tick = p->loop.ops->timer_new(p->loop.impl, on_tick, h);
    p->loop.ops->timer_start(h->tick, (uint64_t)h->cfg->tick_ms);
    return 0;
}

/* Reverse order. Callbacks still pending on the command connection run (with NULL replies)
 * while rt_evproc_deinit frees it, so the modules they use are freed after it; the consumer and
 * the timer use the event base, so they go before it. */
static void teardown(struct health *h)
{
    if (h->tick)
        h->proc.loop.ops->timer_free(h->tick);
    health_status_pub_close(h->status);
    health_consumer_free(h->consumer);
    h->consumer = NULL;
    rt_evproc_deinit(&h->proc);
    health_api_free(h->api);
    health_liveness_free(h->liveness);
    health_status_pub_free(h->status);
    health_timeouts_free(h->timeouts);
    if (h->pub)
        rt_publisher_free(h->pub);
    health_callstate_free(h->cs);
}

int main(int argc, char **argv)
{
    struct health_config cfg = {0};
    struct health h = {.cfg = &cfg};
    int rc = health_config_load(&cfg, argc, argv);
    if (rc) {
        health_config_free(&cfg);
        return rc == RT_CFG_EXIT_OK ? 0 : 2;
    }
    rt_log_init("rt-health", cfg.common.log_level, cfg.common.log_format);

    h.proc.arg = &h;
    rc = rt_evproc_init(&h.proc, "rt-health", &cfg.common, cfg.listen, 64 * 1024);
    if (rc == 0)
        rc = build(&h);
    if (rc == 0)
        rc = rt_evproc_run(&h.proc);

    teardown(&h);
    health_config_free(&cfg);
    RT_INFO("process.exit", "stopped", RT_LF_ERR(rc));
    libevent_global_shutdown();
    return rc == RT_ECONFIG ? 2 : rc ? 1 : 0;
}
