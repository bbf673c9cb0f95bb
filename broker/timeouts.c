#include "timeouts.h"

#include "rt/envelope.h"
#include "rt/err.h"
#include "rt/log.h"
#include "rt/loop.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DUE_LIMIT 500 /* calls handled per scan; the rest wait for the next tick */

struct health_timeouts {
    const struct health_config *cfg; /* borrowed */
    struct health_callstate *cs;     /* borrowed */
    struct rt_rconn *rc;             /* borrowed */
    void (*on_changed)(const char *tenant, void *arg);
    void *arg;       /* borrowed */
    size_t inflight; /* the scan itself plus its timeout scripts */
    struct rt_metric *m_emitted, *m_marked, *m_deferred;
};

/* One due call while its timeout script runs. */
struct due_call {
    struct health_timeouts *t; /* borrowed */
    char tenant[RT_TENANT_MAX + 1];
    char call_id[HEALTH_CALL_ID_MAX + 1];
};

struct health_timeouts *health_timeouts_new(const struct health_config *cfg,
                                            struct health_callstate *cs, struct rt_rconn *rc,
                                            struct rt_metrics *m,
                                            void (*on_changed)(const char *tenant, void *arg),
                                            void *arg)
{
    struct health_timeouts *t = rt_xcalloc(1, sizeof(*t));
    *t = (struct health_timeouts){cfg, cs, rc, on_changed, arg, 0, NULL, NULL, NULL};
    t->m_emitted = rt_metrics_get(m, RT_METRIC_COUNTER, "rt_health_timeouts_emitted_total",
                                  "call_timeout events published", NULL, NULL, 0);
    t->m_marked = rt_metrics_get(m, RT_METRIC_COUNTER, "rt_health_timeouts_marked_total",
                                 "calls marked timed out", NULL, NULL, 0);
    t->m_deferred = rt_metrics_get(m, RT_METRIC_COUNTER, "rt_health_timeouts_deferred_total",
                                   "due calls left for a later scan (consumer behind their "
                                   "deadline, or the call changed since the scan)",
                                   NULL, NULL, 0);
    return t;
}

void health_timeouts_free(struct health_timeouts *t)
{
    free(t);
}

/* Reply of the timeout script: {1, id, published}, {0} not due any more, {-1} not yet. */
static void on_timeout(const redisReply *reply, void *arg)
{
    struct due_call *d = arg;
    struct health_timeouts *t = d->t;
    t->inflight--;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER) {
        long long v = reply->element[0]->integer;
        bool published = reply->elements == 3 && reply->element[2]->type == REDIS_REPLY_INTEGER &&
                         reply->element[2]->integer == 1;
        if (v == 1) {
            rt_metric_inc(t->m_marked);
            if (published)
                rt_metric_inc(t->m_emitted);
            RT_INFO("call.timeout", "call timed out", RT_LF_STR("tenant", d->tenant),
                    RT_LF_STR("call_id", d->call_id), RT_LF_BOOL("published", published));
            if (t->on_changed)
                t->on_changed(d->tenant, t->arg);
        } else if (v < 0) {
            rt_metric_inc(t->m_deferred);
        }
    } else if (reply && reply->type == REDIS_REPLY_ERROR) {
        RT_WARN("health.timeout_failed", "timeout script failed", RT_LF_STR("reply", reply->str));
    }
    /* not marked: the call stays in the due index and a later scan retries */
    free(d);
}

static char *timeout_body(const char *tenant, const redisReply *const *f, const char **reason)
{
    const char *state = f[2]->str, *provider = f[3]->str;
    uint64_t started = strtoull(f[4]->str, NULL, 10);
    char ts[32];
    health_ts_format_ms(started, ts, sizeof(ts));
    *reason = strcmp(state, "answered") == 0 ? "max_call" : "ring_timeout";
    json_t *data = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "call_id", f[1]->str, "state",
                             "timed_out", "previous_state", state, "reason", *reason, "started_at",
                             ts, "provider", provider);
    struct rt_envelope env = {0};
    if (!data || rt_envelope_init(&env, "calls", "call_timeout", tenant, NULL, data) != 0)
        return NULL;
    char *body = rt_envelope_dumps(&env, false, true);
    rt_envelope_clear(&env);
    return body;
}

static void emit(struct health_timeouts *t, const redisReply *const *f)
{
    const char *tenant = f[0]->str, *call_id = f[1]->str, *reason;
    if (!rt_name_tenant_valid(tenant) || strlen(call_id) > HEALTH_CALL_ID_MAX)
        return;
    char *body = timeout_body(tenant, f, &reason);
    if (!body)
        return;
    struct due_call *d = rt_xcalloc(1, sizeof(*d));
    d->t = t;
    snprintf(d->tenant, sizeof(d->tenant), "%s", tenant);
    snprintf(d->call_id, sizeof(d->call_id), "%s", call_id);
    struct health_timeout_req q = {.tenant = tenant,
                                   .call_id = call_id,
                                   .state = f[2]->str,
                                   .started = f[4]->str,
                                   .body = body};
    if (health_callstate_timeout(t->cs, t->rc, &q, rt_wall_ms(), on_timeout, d) == 0)
        t->inflight++;
    else
        free(d);
    free(body);
}

static void on_due(const redisReply *reply, void *arg)
{
    struct health_timeouts *t = arg;
    t->inflight--;
    if (!reply)
        return;
    if (reply->type != REDIS_REPLY_ARRAY) {
        RT_WARN("health.due_failed", "due scan failed",
                RT_LF_STR("reply", reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected"));
        return;
    }
    for (size_t i = 0; i + 6 <= reply->elements; i += 6) {
        const redisReply *const *f = (const redisReply *const *)reply->element + i;
        bool ok = true;
        for (int k = 0; k < 6; k++)
            ok = ok && f[k]->type == REDIS_REPLY_STRING;
        if (ok)
            emit(t, f);
    }
}

void health_timeouts_tick(struct health_timeouts *t)
{
    if (t->inflight > 0)
        return;
    if (health_callstate_due(t->cs, t->rc, rt_wall_ms(), DUE_LIMIT, on_due, t) == 0)
        t->inflight++;
}
