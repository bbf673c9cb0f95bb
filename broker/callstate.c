#include "callstate.h"
#include "callstate_lua.h"

#include "rt/envelope.h"
#include "rt/err.h"
#include "rt/log.h"
#include "rt/loop.h"
#include "rt/publish.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUCKET_TTL_S 7200         /* two hours: the 60 min window plus margin */
#define TOTALS_TTL_S (30 * 86400) /* the tenant hash; renewed at most daily */
/* A timeout searches at most this many entries of rt:calls:all not yet applied for an event of
 * its call; with more, the consumer is too far behind and the timeout waits. */
#define HEALTH_BACKLOG_SEARCH_MAX 2048

struct health_callstate {
    const struct health_config *cfg; /* borrowed */
    struct rt_script scripts[HEALTH_SCRIPT_COUNT];
};

struct health_callstate *health_callstate_new(const struct health_config *cfg)
{
    struct health_callstate *cs = rt_xcalloc(1, sizeof(*cs));
    cs->cfg = cfg;
    rt_script_init(&cs->scripts[HEALTH_SCRIPT_APPLY], "health_apply", health_lua_apply);
    rt_script_init(&cs->scripts[HEALTH_SCRIPT_DUE], "health_due", health_lua_due);
    rt_script_init(&cs->scripts[HEALTH_SCRIPT_TIMEOUT], "health_timeout", health_lua_timeout);
    rt_script_init(&cs->scripts[HEALTH_SCRIPT_REPORT], "health_report", health_lua_report);
    return cs;
}

void health_callstate_free(struct health_callstate *cs)
{
    free(cs);
}

void health_callstate_load(struct health_callstate *cs, struct rt_rconn *rc)
{
    for (int s = 0; s < HEALTH_SCRIPT_COUNT; s++)
        rt_script_load(&cs->scripts[s], rc);
}

/* n decimal digits at p; -1 when any is not a digit. */
static int digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

int health_ts_parse_ms(const char *ts, uint64_t *out)
{
    /* by hand, not sscanf: every call event carries two or three timestamps */
    if (!ts || strnlen(ts, 20) < 20 || ts[4] != '-' || ts[7] != '-' || ts[10] != 'T' ||
        ts[13] != ':' || ts[16] != ':')
        return RT_EINVAL;
    int y = digits(ts, 4), mo = digits(ts + 5, 2), d = digits(ts + 8, 2), h = digits(ts + 11, 2),
        mi = digits(ts + 14, 2), s = digits(ts + 17, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        s < 0 || s > 60)
        return RT_EINVAL;
    const char *p = ts + 19;
    unsigned ms = 0, ndig = 0;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, ndig++)
            if (ndig < 3)
                ms = ms * 10 + (unsigned)(*p - '0');
        if (ndig == 0)
            return RT_EINVAL;
        for (; ndig < 3; ndig++)
            ms *= 10;
    }
    if (strcmp(p, "Z") != 0)
        return RT_EINVAL;
    /* days from the civil date (proleptic Gregorian), as timegm does without its locking */
    int yy = mo <= 2 ? y - 1 : y;
    int era = yy / 400, yoe = yy - era * 400;
    int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long long days = (long long)era * 146097 + doe - 719468;
    *out = (uint64_t)((days * 86400 + h * 3600 + mi * 60 + s) * 1000 + ms);
    return 0;
}

void health_ts_format_ms(uint64_t ms, char *buf, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
}

static bool call_id_valid(const char *id)
{
    size_t n = strnlen(id, HEALTH_CALL_ID_MAX + 1);
    if (n == 0 || n > HEALTH_CALL_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("_.:@+=-", c)))
            return false;
    }
    return true;
}

static int state_rank(const char *state)
{
    static const char *const ranks[] = {"initiated", "ringing", "answered", "ended"};
    for (int i = 0; i < 4; i++)
        if (strcmp(state, ranks[i]) == 0)
            return i + 1;
    return 0;
}

/* Fills the state from data.state, or from the event name when data has none. */
static int event_state(const struct rt_envelope *env, struct health_event *ev)
{
    const char *state = json_string_value(json_object_get(env->data, "state"));
    if (!state) {
        if (strcmp(env->event, "new_call") == 0)
            state = "initiated";
        else if (strcmp(env->event, "call_ended") == 0)
            state = "ended";
        else
            return RT_EINVAL;
    }
    ev->rank = state_rank(state);
    if (!ev->rank)
        return RT_EINVAL;
    snprintf(ev->state, sizeof(ev->state), "%s", state);
    ev->outcome = -1;
    if (ev->rank == 4) {
        const char *o = json_string_value(json_object_get(env->data, "outcome"));
        ev->outcome = o ? health_outcome_parse(o) : -1;
        /* only rt-health makes timeouts; an unknown or missing outcome counts as a failure */
        if (ev->outcome < 0 || ev->outcome == HEALTH_OUTCOME_TIMED_OUT)
            ev->outcome = HEALTH_OUTCOME_FAILED;
    }
    return 0;
}

static void event_webhook(const struct rt_envelope *env, struct health_event *ev)
{
    const char *prov = json_string_value(json_object_get(env->data, "provider"));
    const char *rcv = json_string_value(json_object_get(env->data, "received_at"));
    /* the ingest's call model names the provider's own time provider_event_time */
    const char *occ = json_string_value(json_object_get(env->data, "provider_event_time"));
    if (!occ)
        occ = json_string_value(json_object_get(env->data, "occurred_at"));
    uint64_t occ_ms;
    ev->provider[0] = '\0';
    ev->received_ms = ev->ev_ms;
    ev->lag_ms = -1;
    if (!prov || !health_provider_valid(prov))
        return;
    snprintf(ev->provider, sizeof(ev->provider), "%s", prov);
    if (rcv)
        health_ts_parse_ms(rcv, &ev->received_ms);
    if (occ && health_ts_parse_ms(occ, &occ_ms) == 0)
        ev->lag_ms = ev->received_ms >= occ_ms ? (long long)(ev->received_ms - occ_ms) : 0;
}

int health_event_parse(const char *json, size_t len, struct health_event *ev)
{
    struct rt_envelope env = {0};
    int rc = rt_envelope_parse(json, len, &env);
    if (rc)
        return rc;
    memset(ev, 0, sizeof(*ev));
    if (strcmp(env.event, "call_timeout") == 0) {
        rc = RT_ENOENT;
        goto out;
    }
    const char *cid = json_string_value(json_object_get(env.data, "call_id"));
    if (!env.tenant || !cid || !call_id_valid(cid) || health_ts_parse_ms(env.ts, &ev->ev_ms) != 0) {
        rc = RT_EINVAL;
        goto out;
    }
    snprintf(ev->tenant, sizeof(ev->tenant), "%s", env.tenant);
    snprintf(ev->call_id, sizeof(ev->call_id), "%s", cid);
    rc = event_state(&env, ev);
    if (rc == 0)
        event_webhook(&env, ev);
out:
    rt_envelope_clear(&env);
    return rc;
}

static void tenant_key(char *buf, size_t cap, const char *tenant, const char *suffix)
{
    snprintf(buf, cap, "rt:{%s}:h:%s", tenant, suffix);
}

void health_apply_batch_add(struct health_apply_batch *b, const char *sid,
                            const struct health_event *ev)
{
    RT_ASSERT(b->n < HEALTH_APPLY_MAX);
    struct health_apply_item *it = &b->items[b->n++];
    snprintf(it->sid, sizeof(it->sid), "%s", sid);
    it->ev = *ev;
}

/* Tenant, then call id, then stream order (the items are one array). */
static int item_cmp(const void *x, const void *y)
{
    const struct health_apply_item *a = *(const struct health_apply_item *const *)x;
    const struct health_apply_item *b = *(const struct health_apply_item *const *)y;
    int c = strcmp(a->ev.tenant, b->ev.tenant);
    if (c == 0)
        c = strcmp(a->ev.call_id, b->ev.call_id);
    return c ? c : (a > b) - (a < b);
}

/* The events of one call: index (1-based, batch order), rank, outcome, times, provider, lag. */
static void add_event(struct rt_script_call *sc, const struct health_apply_batch *b,
                      const struct health_apply_item *it)
{
    const struct health_event *ev = &it->ev;
    rt_script_arg_num(sc, (long long)(it - b->items) + 1);
    rt_script_arg_num(sc, ev->rank);
    rt_script_arg_str(sc, ev->rank == 4 ? health_outcome_name(ev->outcome) : "");
    rt_script_arg_num(sc, (long long)ev->ev_ms);
    rt_script_arg_str(sc, ev->provider);
    rt_script_arg_num(sc, (long long)ev->received_ms);
    if (ev->lag_ms >= 0)
        rt_script_arg_num(sc, ev->lag_ms);
    else
        rt_script_arg_str(sc, "");
}

/* Appends the tenant and call groups of sorted[from, to) (one tenant). */
static void add_tenant(struct rt_script_call *sc, const struct health_apply_batch *b,
                       const struct health_apply_item *const *sorted, size_t from, size_t to)
{
    size_t ncalls = 0;
    for (size_t i = from; i < to; i++)
        if (i == from || strcmp(sorted[i]->ev.call_id, sorted[i - 1]->ev.call_id) != 0)
            ncalls++;
    rt_script_arg_str(sc, sorted[from]->ev.tenant);
    rt_script_arg_num(sc, (long long)ncalls);
    for (size_t i = from; i < to;) {
        size_t j = i + 1;
        while (j < to && strcmp(sorted[j]->ev.call_id, sorted[i]->ev.call_id) == 0)
            j++;
        rt_script_arg_str(sc, sorted[i]->ev.call_id);
        rt_script_arg_num(sc, (long long)(j - i));
        for (size_t k = i; k < j; k++)
            add_event(sc, b, sorted[k]);
        i = j;
    }
}

int health_callstate_apply(struct health_callstate *cs, struct rt_rconn *rc,
                           const struct health_apply_batch *b, const char *consumer,
                           rt_script_fn cb, void *arg)
{
    const struct health_config *c = cs->cfg;
    const struct health_apply_item *sorted[HEALTH_APPLY_MAX];
    struct rt_script_call *sc = rt_script_call_new(&cs->scripts[HEALTH_SCRIPT_APPLY], 3);
    rt_script_arg_str(sc, RT_CALLS_ALL_KEY);
    rt_script_arg_str(sc, HEALTH_DUE_KEY);
    rt_script_arg_str(sc, HEALTH_TENANTS_KEY);
    rt_script_arg_str(sc, c->group);
    rt_script_arg_str(sc, consumer);
    rt_script_arg_num(sc, c->ring_timeout_ms);
    rt_script_arg_num(sc, c->max_call_ms);
    rt_script_arg_num(sc, c->grace_ms);
    rt_script_arg_num(sc, c->call_ttl_s);
    rt_script_arg_num(sc, BUCKET_TTL_S);
    rt_script_arg_num(sc, TOTALS_TTL_S);
    rt_script_arg_num(sc, (long long)rt_wall_ms());
    rt_script_arg_num(sc, (long long)b->n);
    for (size_t i = 0; i < b->n; i++) {
        rt_script_arg_str(sc, b->items[i].sid);
        sorted[i] = &b->items[i];
    }
    /* grouped per tenant and call, so the script reads and writes each hash once per batch */
    qsort(sorted, b->n, sizeof(sorted[0]), item_cmp);
    for (size_t i = 0; i < b->n;) {
        size_t j = i + 1;
        while (j < b->n && strcmp(sorted[j]->ev.tenant, sorted[i]->ev.tenant) == 0)
            j++;
        add_tenant(sc, b, sorted, i, j);
        i = j;
    }
    return rt_script_send(sc, rc, cb, arg);
}

int health_callstate_due(struct health_callstate *cs, struct rt_rconn *rc, uint64_t now_ms,
                         unsigned limit, rt_script_fn cb, void *arg)
{
    struct rt_script_call *sc = rt_script_call_new(&cs->scripts[HEALTH_SCRIPT_DUE], 2);
    rt_script_arg_str(sc, HEALTH_DUE_KEY);
    rt_script_arg_str(sc, RT_CALLS_ALL_KEY);
    rt_script_arg_num(sc, (long long)now_ms);
    rt_script_arg_num(sc, limit);
    rt_script_arg_str(sc, cs->cfg->group);
    return rt_script_send(sc, rc, cb, arg);
}

int health_callstate_timeout(struct health_callstate *cs, struct rt_rconn *rc,
                             const struct health_timeout_req *q, uint64_t now_ms, rt_script_fn cb,
                             void *arg)
{
    const struct health_config *c = cs->cfg;
    char call[RT_KEY_MAX + HEALTH_CALL_ID_MAX + 16], tk[RT_KEY_MAX], prefix[RT_KEY_MAX],
        calls[RT_KEY_MAX], dedupe[RT_KEY_MAX + HEALTH_CALL_ID_MAX + 16], minid[32];
    if (rt_name_key(calls, sizeof(calls), q->tenant, "calls") != 0)
        return RT_EINVAL;
    snprintf(call, sizeof(call), "rt:{%s}:h:c:%s", q->tenant, q->call_id);
    snprintf(dedupe, sizeof(dedupe), "rt:{%s}:h:tmo:%s", q->tenant, q->call_id);
    tenant_key(tk, sizeof(tk), q->tenant, "tenant");
    tenant_key(prefix, sizeof(prefix), q->tenant, "");
    rt_stream_minid((unsigned long)c->stream_maxage_s, minid, sizeof(minid));
    struct rt_script_call *sc = rt_script_call_new(&cs->scripts[HEALTH_SCRIPT_TIMEOUT], 6);
    rt_script_arg_str(sc, call);
    rt_script_arg_str(sc, tk);
    rt_script_arg_str(sc, HEALTH_DUE_KEY);
    rt_script_arg_str(sc, calls);
    rt_script_arg_str(sc, dedupe);
    rt_script_arg_str(sc, RT_CALLS_ALL_KEY);
    rt_script_arg_str(sc, prefix);
    rt_script_arg_str(sc, q->call_id);
    rt_script_arg_str(sc, q->tenant);
    rt_script_arg_num(sc, (long long)now_ms);
    rt_script_arg_num(sc, c->ring_timeout_ms);
    rt_script_arg_num(sc, c->max_call_ms);
    rt_script_arg_num(sc, c->grace_ms);
    rt_script_arg_num(sc, c->call_ttl_s);
    rt_script_arg_num(sc, BUCKET_TTL_S);
    rt_script_arg_str(sc, c->group);
    rt_script_arg_str(sc, q->state);
    rt_script_arg_str(sc, q->started);
    rt_script_arg(sc, q->body, strlen(q->body));
    rt_script_arg_num(sc, c->stream_maxlen > 0 ? c->stream_maxlen : RT_PUBLISH_DEFAULT_MAXLEN);
    rt_script_arg_str(sc, minid);
    rt_script_arg_num(sc, HEALTH_BACKLOG_SEARCH_MAX);
    return rt_script_send(sc, rc, cb, arg);
}

struct report_req {
    health_report_fn cb;
    void *arg; /* borrowed */
    char tenant[RT_TENANT_MAX + 1];
    uint64_t now_ms;
};

static long long reply_ll(const redisReply *r)
{
    return r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
}

/* The tenant hash: calls, active, <provider>:at and <provider>:lag (other fields ignored). */
static void report_tenant(const redisReply *h, struct health_report *out)
{
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        const redisReply *f = h->element[i], *v = h->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(f->str, "calls") == 0)
            out->total_calls = reply_ll(v);
        else if (strcmp(f->str, "active") == 0)
            out->active_calls = reply_ll(v) > 0 ? reply_ll(v) : 0;
        else
            out->nwebhooks = health_webhooks_add(out->webhooks, out->nwebhooks,
                                                 HEALTH_MAX_PROVIDERS, f->str, v->str);
    }
}

/* One minute bucket `ago` minutes back: outcome counts and sf:<provider> counts. */
static void report_minute(long long ago, const redisReply *h, struct health_report *out)
{
    if (ago < 0 || ago >= HEALTH_RATE_MINUTES || h->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        const redisReply *f = h->element[i], *v = h->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        int o = health_outcome_parse(f->str);
        if (o >= 0)
            out->buckets[ago][o] = reply_ll(v);
        else if (strncmp(f->str, "sf:", 3) == 0)
            out->nwebhooks =
                health_webhooks_add_sigfail(out->webhooks, out->nwebhooks, HEALTH_MAX_PROVIDERS,
                                            f->str + 3, (unsigned)ago, reply_ll(v));
    }
}

static int report_parse(const redisReply *r, struct health_report *out)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_ARRAY || r->element[1]->type != REDIS_REPLY_ARRAY)
        return RT_EPROTO;
    report_tenant(r->element[0], out);
    const redisReply *m = r->element[1];
    for (size_t i = 0; i + 1 < m->elements; i += 2)
        if (m->element[i]->type == REDIS_REPLY_INTEGER)
            report_minute(m->element[i]->integer, m->element[i + 1], out);
    return 0;
}

static void on_report(const redisReply *reply, void *arg)
{
    struct report_req *q = arg;
    if (!reply) {
        q->cb(RT_ECLOSED, NULL, q->arg);
        free(q);
        return;
    }
    struct health_report *rep = rt_xcalloc(1, sizeof(*rep));
    snprintf(rep->tenant, sizeof(rep->tenant), "%s", q->tenant);
    rep->now_ms = q->now_ms;
    if (report_parse(reply, rep) != 0) {
        RT_WARN("health.report_failed", "report script failed",
                RT_LF_STR("reply", reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected"));
        q->cb(RT_EREDIS, NULL, q->arg);
    } else {
        q->cb(0, rep, q->arg);
    }
    free(rep);
    free(q);
}

int health_callstate_report(struct health_callstate *cs, struct rt_rconn *rc, const char *tenant,
                            uint64_t now_ms, health_report_fn cb, void *arg)
{
    char key[RT_KEY_MAX];
    if (!rt_name_tenant_valid(tenant))
        return RT_EINVAL;
    struct rt_script_call *sc = rt_script_call_new(&cs->scripts[HEALTH_SCRIPT_REPORT], 2);
    tenant_key(key, sizeof(key), tenant, "tenant");
    rt_script_arg_str(sc, key);
    tenant_key(key, sizeof(key), tenant, "mi");
    rt_script_arg_str(sc, key);
    tenant_key(key, sizeof(key), tenant, "");
    rt_script_arg_str(sc, key);
    rt_script_arg_num(sc, (long long)(now_ms / 60000));
    rt_script_arg_num(sc, HEALTH_RATE_MINUTES);
    struct report_req *q = rt_xcalloc(1, sizeof(*q));
    q->cb = cb;
    q->arg = arg;
    q->now_ms = now_ms;
    snprintf(q->tenant, sizeof(q->tenant), "%s", tenant);
    int rc2 = rt_script_send(sc, rc, on_report, q);
    if (rc2)
        free(q);
    return rc2;
}
