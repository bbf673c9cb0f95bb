#include "status.h"

#include "rt/envelope.h"
#include "rt/err.h"
#include "rt/log.h"
#include "rt/loop.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Checks (a report script and a SET ... GET each) run in slices: at most SLICE_TENANTS per timer
 * turn, turns SLICE_MS apart while work remains, and no turn while INFLIGHT_MAX checks await
 * their replies. So no loop turn does work proportional to all tenants, and Redis sees a steady
 * trickle instead of one burst per interval (6,400 tenants a second at most). */
#define SLICE_TENANTS 64
#define SLICE_MS      10
#define INFLIGHT_MAX  (4 * SLICE_TENANTS)

const char *health_status_name(enum health_status s)
{
    switch (s) {
    case HEALTH_STATUS_HEALTHY:
        return "healthy";
    case HEALTH_STATUS_DEGRADED:
        return "degraded";
    case HEALTH_STATUS_UNHEALTHY:
        return "unhealthy";
    }
    return "unknown";
}

/* part/total >= pct/100, in integers; pct 0 disables the threshold. */
static bool over(long long part, long long total, long long pct)
{
    return pct > 0 && total > 0 && part * 100 >= pct * total;
}

void health_status_eval(const struct health_config *cfg, struct health_report *r,
                        struct health_view *v)
{
    for (int i = 0; i < HEALTH_RATE_WINDOWS; i++)
        health_rates_window((const long long(*)[HEALTH_OUTCOME_COUNT])r->buckets,
                            HEALTH_RATE_MINUTES, health_rate_window_minutes[i], &v->win[i]);
    v->any_stale = health_webhooks_mark_stale(r->webhooks, r->nwebhooks, r->active_calls, r->now_ms,
                                              cfg->webhook_stale_ms);
    const struct health_window *w5 = &v->win[0];
    bool enough = w5->terminal >= cfg->min_calls;
    v->status = HEALTH_STATUS_HEALTHY;
    v->reason = "ok";
    if (enough && over(w5->failed, w5->terminal, cfg->failure_unhealthy_pct)) {
        v->status = HEALTH_STATUS_UNHEALTHY;
        v->reason = "failure_rate";
    } else if (enough && over(w5->failed, w5->terminal, cfg->failure_degraded_pct)) {
        v->status = HEALTH_STATUS_DEGRADED;
        v->reason = "failure_rate";
    } else if (enough && over(w5->unanswered, w5->terminal, cfg->unanswered_degraded_pct)) {
        v->status = HEALTH_STATUS_DEGRADED;
        v->reason = "unanswered_rate";
    } else if (v->any_stale) {
        v->status = HEALTH_STATUS_DEGRADED;
        v->reason = "webhook_stale";
    }
}

static json_t *per_window(const struct health_view *v, int which)
{
    json_t *o = json_object();
    for (int i = 0; i < HEALTH_RATE_WINDOWS; i++) {
        char k[8];
        const struct health_window *w = &v->win[i];
        snprintf(k, sizeof(k), "%um", w->minutes);
        switch (which) {
        case 0:
            json_object_set_new(o, k, json_real(w->failure_rate));
            break;
        case 1:
            json_object_set_new(o, k, json_real(w->unanswered_rate));
            break;
        case 2:
            json_object_set_new(o, k, json_real(w->answer_rate));
            break;
        default:
            json_object_set_new(o, k, json_integer(w->terminal));
            break;
        }
    }
    return o;
}

json_t *health_status_json(const struct health_report *r, const struct health_view *v)
{
    char ts[32];
    json_t *wh = json_object();
    for (size_t i = 0; i < r->nwebhooks; i++) {
        const struct health_webhook *w = &r->webhooks[i];
        json_t *sf = json_object();
        for (int k = 0; k < HEALTH_RATE_WINDOWS; k++) {
            char name[8];
            snprintf(name, sizeof(name), "%um", health_rate_window_minutes[k]);
            json_object_set_new(sf, name, json_integer(w->sigfail[k]));
        }
        health_ts_format_ms((uint64_t)w->last_ms, ts, sizeof(ts));
        /* a provider known only from signature failures has no verified webhook yet */
        json_object_set_new(wh, w->provider,
                            json_pack("{s:o,s:o,s:b,s:o}", "last_received_at",
                                      w->last_ms > 0 ? json_string(ts) : json_null(), "lag_ms",
                                      w->lag_ms >= 0 ? json_integer(w->lag_ms) : json_null(),
                                      "stale", w->stale, "signature_failures", sf));
    }
    health_ts_format_ms(r->now_ms, ts, sizeof(ts));
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:I,s:s}", "tenant", r->tenant,
                     "status", health_status_name(v->status), "reason", v->reason, "active_calls",
                     (json_int_t)r->active_calls, "recent_timeouts",
                     (json_int_t)v->win[HEALTH_RATE_WINDOWS - 1].timed_out, "webhooks", wh,
                     "failure_rate", per_window(v, 0), "unanswered_rate", per_window(v, 1),
                     "answer_rate", per_window(v, 2), "terminal_calls", per_window(v, 3),
                     "total_calls", (json_int_t)r->total_calls, "checked_at", ts);
}

struct health_status_pub {
    const struct health_config *cfg; /* borrowed */
    struct health_callstate *cs;     /* borrowed */
    struct rt_rconn *rc;             /* borrowed */
    struct rt_publisher *pub;        /* borrowed */
    const struct rt_loop *loop;      /* borrowed */
    struct rt_timer *timer;          /* owned: the slice timer; NULL once closed */
    bool armed;
    struct health_tenantset *dirty;    /* owned: tenants touched since the last tick */
    struct health_tenantset *checking; /* owned: dirty tenants of an earlier tick, in slices */
    size_t check_pos;
    struct health_tenantset *pass; /* owned: the recent tenants of the current snapshot pass */
    size_t pass_pos;
    bool pass_snapshot; /* the pass publishes snapshots (leader) or only checks for changes */
    bool listing;       /* the pass's ZRANGEBYSCORE is in flight */
    uint64_t pass_started_ms, next_snapshot_ms;
    size_t inflight;  /* checks awaiting their replies */
    size_t slice_max; /* most tenants checked in one turn so far */
    struct rt_metric *m_changes, *m_snapshots, *m_slice_max, *m_pass_ms, *m_behind;
};

/* One tenant being checked: report, status compare-and-set, publishes. */
struct check {
    struct health_status_pub *p; /* borrowed */
    bool snapshot;
    enum health_status status;
    json_t *doc; /* owned */
    char tenant[RT_TENANT_MAX + 1];
};

static void on_slice(void *arg);

struct health_status_pub *health_status_pub_new(const struct health_config *cfg,
                                                struct health_callstate *cs, struct rt_rconn *rc,
                                                struct rt_publisher *pub,
                                                const struct rt_loop *loop, struct rt_metrics *m)
{
    struct health_status_pub *p = rt_xcalloc(1, sizeof(*p));
    p->cfg = cfg;
    p->cs = cs;
    p->rc = rc;
    p->pub = pub;
    p->loop = loop;
    p->timer = loop->ops->timer_new(loop->impl, on_slice, p);
    p->dirty = health_tenantset_new();
    p->checking = health_tenantset_new();
    p->pass = health_tenantset_new();
    p->m_changes = rt_metrics_get(m, RT_METRIC_COUNTER, "rt_health_status_changes_total",
                                  "tenant status changes published", NULL, NULL, 0);
    p->m_snapshots = rt_metrics_get(m, RT_METRIC_COUNTER, "rt_health_snapshots_total",
                                    "health snapshots published", NULL, NULL, 0);
    p->m_slice_max =
        rt_metrics_get(m, RT_METRIC_GAUGE, "rt_health_check_slice_max",
                       "most tenants checked in one timer turn since the start", NULL, NULL, 0);
    p->m_pass_ms =
        rt_metrics_get(m, RT_METRIC_GAUGE, "rt_health_snapshot_pass_ms",
                       "duration of the last pass over the recent tenants (ms)", NULL, NULL, 0);
    p->m_behind = rt_metrics_get(m, RT_METRIC_COUNTER, "rt_health_snapshot_passes_skipped_total",
                                 "snapshot passes skipped because the previous one was unfinished",
                                 NULL, NULL, 0);
    return p;
}

void health_status_pub_close(struct health_status_pub *p)
{
    if (p && p->timer) {
        p->loop->ops->timer_free(p->timer);
        p->timer = NULL;
    }
}

void health_status_pub_free(struct health_status_pub *p)
{
    if (!p)
        return;
    health_status_pub_close(p);
    health_tenantset_free(p->dirty);
    health_tenantset_free(p->checking);
    health_tenantset_free(p->pass);
    free(p);
}

void health_status_pub_dirty(struct health_status_pub *p, const char *tenant)
{
    health_tenantset_add(p->dirty, tenant);
}

static void on_health_published(int status, const char *id, void *arg)
{
    (void)id;
    (void)arg;
    if (status != 0 && status != RT_ECLOSED)
        RT_WARN("health.publish_failed", "health event not published", RT_LF_ERR(status));
}

static void publish_doc(struct check *k, const char *event)
{
    char key[RT_KEY_MAX];
    struct rt_envelope env = {0};
    if (rt_name_key(key, sizeof(key), k->tenant, "health") != 0 ||
        rt_envelope_init(&env, "health", event, k->tenant, NULL, json_incref(k->doc)) != 0)
        return;
    char *body = rt_envelope_dumps(&env, false, true);
    rt_envelope_clear(&env);
    if (!body)
        return;
    struct rt_publish_req req = {
        .key = key, .body = body, .body_len = strlen(body), .maxlen = 1000};
    rt_publish(k->p->pub, &req, on_health_published, NULL);
    free(body);
}

static void check_free(struct check *k)
{
    k->p->inflight--;
    json_decref(k->doc);
    free(k);
}

/* SET ... GET reply: the status published before (nil the first time). */
static void on_status_set(redisAsyncContext *ac, void *r, void *privdata)
{
    struct check *k = privdata;
    redisReply *reply = r;
    (void)ac;
    if (reply && reply->type != REDIS_REPLY_ERROR) {
        const char *now = health_status_name(k->status);
        bool changed = reply->type == REDIS_REPLY_STRING ? strcmp(reply->str, now) != 0
                                                         : k->status != HEALTH_STATUS_HEALTHY;
        if (changed) {
            rt_metric_inc(k->p->m_changes);
            RT_INFO("health.status_changed", "tenant status changed",
                    RT_LF_STR("tenant", k->tenant),
                    RT_LF_STR("from", reply->type == REDIS_REPLY_STRING ? reply->str : NULL),
                    RT_LF_STR("to", now));
            publish_doc(k, "health_status");
        }
        if (k->snapshot) {
            rt_metric_inc(k->p->m_snapshots);
            publish_doc(k, "health_snapshot");
        }
    }
    check_free(k);
}

static void on_check_report(int status, struct health_report *r, void *arg)
{
    struct check *k = arg;
    struct health_view v;
    char key[RT_KEY_MAX];
    if (status != 0) {
        check_free(k);
        return;
    }
    health_status_eval(k->p->cfg, r, &v);
    k->status = v.status;
    k->doc = health_status_json(r, &v);
    snprintf(key, sizeof(key), "rt:{%s}:h:status", k->tenant);
    if (rt_rconn_cmd(k->p->rc, on_status_set, k, "SET %s %s GET EX %lld", key,
                     health_status_name(v.status), k->p->cfg->call_ttl_s) != 0)
        check_free(k);
}

static void check_tenant(struct health_status_pub *p, const char *tenant, bool snapshot)
{
    if (!rt_name_tenant_valid(tenant))
        return;
    struct check *k = rt_xcalloc(1, sizeof(*k));
    k->p = p;
    k->snapshot = snapshot;
    p->inflight++;
    snprintf(k->tenant, sizeof(k->tenant), "%s", tenant);
    if (health_callstate_report(p->cs, p->rc, tenant, rt_wall_ms(), on_check_report, k) != 0)
        check_free(k);
}

static bool has_work(const struct health_status_pub *p)
{
    return p->check_pos < health_tenantset_count(p->checking) ||
           p->pass_pos < health_tenantset_count(p->pass);
}

static void arm(struct health_status_pub *p, uint64_t ms)
{
    if (p->timer && !p->armed && has_work(p)) {
        p->armed = true;
        p->loop->ops->timer_start(p->timer, ms);
    }
}

/* The recent tenants of a pass: copied (names only), then checked in slices. */
static void on_tenants(redisAsyncContext *ac, void *r, void *privdata)
{
    struct health_status_pub *p = privdata;
    redisReply *reply = r;
    (void)ac;
    p->listing = false;
    if (!reply || reply->type != REDIS_REPLY_ARRAY)
        return;
    health_tenantset_clear(p->pass);
    p->pass_pos = 0;
    for (size_t i = 0; i < reply->elements; i++)
        if (reply->element[i]->type == REDIS_REPLY_STRING)
            health_tenantset_add(p->pass, reply->element[i]->str);
    arm(p, 0);
}

/* Lists the tenants with an event in the last hour, or long enough for an answered call still
 * running, for a pass. */
static void list_recent(struct health_status_pub *p, bool snapshot)
{
    long long window = p->cfg->max_call_ms + p->cfg->grace_ms;
    if (window < 3600000)
        window = 3600000;
    /* owner of the tenants index: drop tenants silent for 30 days */
    rt_rconn_cmd(p->rc, NULL, NULL, "ZREMRANGEBYSCORE %s -inf %lld", HEALTH_TENANTS_KEY,
                 (long long)rt_wall_ms() - 30LL * 86400 * 1000);
    if (rt_rconn_cmd(p->rc, on_tenants, p, "ZRANGEBYSCORE %s %lld +inf", HEALTH_TENANTS_KEY,
                     (long long)rt_wall_ms() - window) == 0) {
        p->listing = true;
        p->pass_snapshot = snapshot;
        p->pass_started_ms = rt_wall_ms();
    }
}

/* One timer turn: at most SLICE_TENANTS checks, the dirty tenants first. */
static void on_slice(void *arg)
{
    struct health_status_pub *p = arg;
    size_t done = 0;
    p->armed = false;
    if (!rt_rconn_ready(p->rc))
        return; /* the next tick re-arms */
    while (done < SLICE_TENANTS && p->inflight < INFLIGHT_MAX) {
        if (p->check_pos < health_tenantset_count(p->checking)) {
            check_tenant(p, health_tenantset_get(p->checking, p->check_pos++), false);
        } else if (p->pass_pos < health_tenantset_count(p->pass)) {
            check_tenant(p, health_tenantset_get(p->pass, p->pass_pos++), p->pass_snapshot);
            if (p->pass_pos == health_tenantset_count(p->pass)) {
                uint64_t ms = rt_wall_ms() - p->pass_started_ms;
                rt_metric_set(p->m_pass_ms, (double)ms);
                RT_DEBUG("health.pass_done", "recent tenants checked",
                         RT_LF_INT("tenants", (long long)p->pass_pos),
                         RT_LF_INT("ms", (long long)ms), RT_LF_BOOL("snapshot", p->pass_snapshot));
            }
        } else {
            break;
        }
        done++;
    }
    if (done > p->slice_max) {
        p->slice_max = done;
        rt_metric_set(p->m_slice_max, (double)done);
    }
    arm(p, SLICE_MS);
}

void health_status_pub_tick(struct health_status_pub *p, bool leader)
{
    uint64_t now = rt_wall_ms();
    if (!rt_rconn_ready(p->rc))
        return;
    /* the tenants touched since the last tick, once the previous ones are all checked */
    if (p->check_pos == health_tenantset_count(p->checking) &&
        health_tenantset_count(p->dirty) > 0) {
        struct health_tenantset *t = p->checking;
        p->checking = p->dirty;
        p->dirty = t;
        health_tenantset_clear(p->dirty);
        p->check_pos = 0;
    }
    if (now >= p->next_snapshot_ms) {
        p->next_snapshot_ms = now + (uint64_t)p->cfg->interval_ms;
        if (p->listing || p->pass_pos < health_tenantset_count(p->pass)) {
            rt_metric_inc(p->m_behind);
            RT_WARN("health.pass_behind", "previous pass over the recent tenants unfinished",
                    RT_LF_INT("left", (long long)(health_tenantset_count(p->pass) - p->pass_pos)));
        } else {
            list_recent(p, leader);
        }
    }
    arm(p, 0);
}
