#include "liveness.h"
#include "edge.h"

#include "rt/err.h"
#include "rt/liveness.h"
#include "rt/log.h"
#include "rt/metrics.h"
#include "rt/envelope.h"
#include "rt/rconn.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct edge_liveness {
    struct edge *e;         /* borrowed */
    struct rt_timer *timer; /* owned */
    char started[32];
};

void edge_liveness_refresh(struct edge_liveness *l)
{
    struct edge *e = l->e;
    char ts[32];
    rt_ts_now(ts, sizeof(ts));
    json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s}", "id", e->instance_id, "component",
                          "rt-edge", "address", e->url, "connections", (json_int_t)e->nsessions,
                          "subscriptions", (json_int_t)rt_metric_value(e->stats.subs_local),
                          "started", l->started, "ts", ts);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    rt_liveness_register(e->cmd, "rt-edge", e->instance_id, s,
                         (unsigned long long)e->cfg->liveness_ttl_s * 1000);
    free(s);
}

static void on_timer(void *arg)
{
    struct edge_liveness *l = arg;
    edge_liveness_refresh(l);
    uint64_t period = (uint64_t)l->e->cfg->liveness_ttl_s * 1000 / 3;
    l->e->rloop.ops->timer_start(l->timer, period);
}

struct edge_liveness *edge_liveness_new(struct edge *e)
{
    struct edge_liveness *l = rt_xcalloc(1, sizeof(*l));
    l->e = e;
    rt_ts_now(l->started, sizeof(l->started));
    l->timer = e->rloop.ops->timer_new(e->rloop.impl, on_timer, l);
    e->rloop.ops->timer_start(l->timer, 1000);
    return l;
}

void edge_liveness_free(struct edge_liveness *l)
{
    if (!l)
        return;
    rt_liveness_unregister(l->e->cmd, "rt-edge", l->e->instance_id);
    l->e->rloop.ops->timer_free(l->timer);
    free(l);
}
