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
    struct rt_publisher *pub;        /* borrowed */
    void (*on_changed)(const char *tenant, void *arg);
    void *arg;       /* borrowed */
    size_t inflight; /* the scan itself plus its publishes and marks */
    struct rt_metric *m_emitted, *m_marked;
};

/* One due call between its publish and its mark. */
struct due_call {
    struct health_timeouts *t; /* borrowed */
    char tenant[RT_TENANT_MAX + 1];
    char call_id[HEALTH_CALL_ID_MAX + 1];
    bool published; /* this publish stored the event (not a duplicate) */
};

struct health_timeouts *health_timeouts_new(const struct health_config *cfg,
                                            struct health_callstate *cs, struct rt_rconn *rc,
                                            struct rt_publisher *pub, struct rt_metrics *m,
                                            void (*on_changed)(const char *tenant, void *arg),
                                            void *arg)
{
    struct health_timeouts *t = rt_xcalloc(1, sizeof(*t));
    *t = (struct health_timeouts){cfg, cs, rc, pub, on_changed, arg, 0, NULL, NULL};
    t->m_emitted = rt_metrics_get(m, RT_METRIC_COUNTER, "rt_health_timeouts_emitted_total",
                                  "call_timeout events published", NULL, NULL, 0);
    t->m_marked = rt_metrics_get(m, RT_METRIC_COUNTER, "rt_health_timeouts_marked_total",
                                 "calls marked timed out", NULL, NULL, 0);
    return t;
}

void health_timeouts_free(struct health_timeouts *t)
{
    free(t);
}

static void on_marked(const redisReply *reply, void *arg)
{
    struct due_call *d = arg;
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
        rt_metric_inc(d->t->m_marked);
        RT_INFO("call.timeout", "call timed out", RT_LF_STR("tenant", d->tenant),
                RT_LF_STR("call_id", d->call_id), RT_LF_BOOL("published", d->published));
        if (d->t->on_changed)
            d->t->on_changed(d->tenant, d->t->arg);
    } else if (reply && reply->type == REDIS_REPLY_ERROR) {
        RT_WARN("health.mark_failed", "timeout mark failed", RT_LF_STR("reply", reply->str));
    }
    d->t->inflight--;
    free(d);
}

static void on_published(int status, const char *id, void *arg)
{
    struct due_call *d = arg;
    (void)id;
    if (status == 0 || status == RT_EDUPLICATE) {
        d->published = status == 0;
        if (status == 0)
            rt_metric_inc(d->t->m_emitted);
        if (health_callstate_mark(d->t->cs, d->t->rc, d->tenant, d->call_id, rt_wall_ms(),
                                  on_marked, d) == 0)
            return;
    }
    /* not published or not marked: the call stays due and the next scan retries */
    d->t->inflight--;
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
    char key[RT_KEY_MAX], dedupe[RT_KEY_MAX + HEALTH_CALL_ID_MAX + 16];
    if (!rt_name_tenant_valid(tenant) || strlen(call_id) > HEALTH_CALL_ID_MAX ||
        rt_name_key(key, sizeof(key), tenant, "calls") != 0)
        return;
    snprintf(dedupe, sizeof(dedupe), "rt:{%s}:h:tmo:%s", tenant, call_id);
    char *body = timeout_body(tenant, f, &reason);
    if (!body)
        return;
    struct due_call *d = rt_xcalloc(1, sizeof(*d));
    d->t = t;
    snprintf(d->tenant, sizeof(d->tenant), "%s", tenant);
    snprintf(d->call_id, sizeof(d->call_id), "%s", call_id);
    struct rt_publish_req req = {.key = key,
                                 .body = body,
                                 .body_len = strlen(body),
                                 .dedupe_key = dedupe,
                                 .dedupe_ttl_s = (unsigned)t->cfg->call_ttl_s};
    if (rt_publish(t->pub, &req, on_published, d) == 0)
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
