#include "callstate.h"
#include "callstate_lua.h"

#include "rt/envelope.h"
#include "rt/err.h"
#include "rt/log.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUCKET_TTL_S 7200         /* two hours: the 60 min window plus margin */
#define TOTALS_TTL_S (30 * 86400) /* renewed on every new call */

static const char *const script_text[HEALTH_SCRIPT_COUNT] = {
    health_lua_apply,
    health_lua_due,
    health_lua_mark,
    health_lua_report,
};

struct health_callstate {
    const struct health_config *cfg; /* borrowed */
    char sha[HEALTH_SCRIPT_COUNT][41];
};

struct health_callstate *health_callstate_new(const struct health_config *cfg)
{
    struct health_callstate *cs = rt_xcalloc(1, sizeof(*cs));
    cs->cfg = cfg;
    for (int s = 0; s < HEALTH_SCRIPT_COUNT; s++) {
        unsigned char d[SHA_DIGEST_LENGTH];
        SHA1((const unsigned char *)script_text[s], strlen(script_text[s]), d);
        for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
            snprintf(cs->sha[s] + 2 * i, 3, "%02x", d[i]);
    }
    return cs;
}

void health_callstate_free(struct health_callstate *cs)
{
    free(cs);
}

static void on_load(redisAsyncContext *ac, void *r, void *priv)
{
    redisReply *reply = r;
    (void)ac;
    (void)priv;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        RT_ERROR("health.script_load_failed", "SCRIPT LOAD failed", RT_LF_STR("reply", reply->str));
}

void health_callstate_load(struct health_callstate *cs, struct rt_rconn *rc)
{
    for (int s = 0; s < HEALTH_SCRIPT_COUNT; s++)
        rt_rconn_cmd(rc, on_load, cs, "SCRIPT LOAD %s", script_text[s]);
}

int health_ts_parse_ms(const char *ts, uint64_t *out)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, s, n = 0;
    if (!ts || sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6 ||
        n != 19 || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return RT_EINVAL;
    const char *p = ts + 19;
    unsigned ms = 0, digits = 0;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                ms = ms * 10 + (unsigned)(*p - '0');
        if (digits == 0)
            return RT_EINVAL;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    if (strcmp(p, "Z") != 0)
        return RT_EINVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    *out = (uint64_t)timegm(&tm) * 1000 + ms;
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

/* Runs EVALSHA with up to 32 string arguments after the script hash and key count. */
static int evalsha(struct health_callstate *cs, struct rt_rconn *rc, enum health_script s,
                   int nkeys, const char *const *args, int nargs, redisCallbackFn *cb, void *priv)
{
    const char *argv[36];
    size_t lens[36];
    char nk[8];
    RT_ASSERT(nargs <= 32);
    snprintf(nk, sizeof(nk), "%d", nkeys);
    argv[0] = "EVALSHA";
    argv[1] = cs->sha[s];
    argv[2] = nk;
    for (int i = 0; i < nargs; i++)
        argv[3 + i] = args[i];
    for (int i = 0; i < 3 + nargs; i++)
        lens[i] = strlen(argv[i]);
    return rt_rconn_cmdargv(rc, cb, priv, 3 + nargs, argv, lens);
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
    snprintf(it->tenant, sizeof(it->tenant), "%s", ev->tenant);
    snprintf(it->call_id, sizeof(it->call_id), "%s", ev->call_id);
    snprintf(it->rank, sizeof(it->rank), "%d", ev->rank);
    snprintf(it->state, sizeof(it->state), "%s", ev->state);
    snprintf(it->outcome, sizeof(it->outcome), "%s",
             ev->rank == 4 ? health_outcome_name(ev->outcome) : "");
    snprintf(it->ev_ms, sizeof(it->ev_ms), "%llu", (unsigned long long)ev->ev_ms);
    snprintf(it->provider, sizeof(it->provider), "%s", ev->provider);
    snprintf(it->received_ms, sizeof(it->received_ms), "%llu", (unsigned long long)ev->received_ms);
    if (ev->lag_ms >= 0)
        snprintf(it->lag_ms, sizeof(it->lag_ms), "%lld", ev->lag_ms);
    else
        it->lag_ms[0] = '\0';
}

#define APPLY_FIXED     13 /* EVALSHA sha nkeys, 3 keys, 7 arguments */
#define APPLY_PER_EVENT 10

int health_callstate_apply(struct health_callstate *cs, struct rt_rconn *rc,
                           const struct health_apply_batch *b, redisCallbackFn *cb, void *priv)
{
    const struct health_config *c = cs->cfg;
    char n[6][24];
    const char *argv[APPLY_FIXED + APPLY_PER_EVENT * HEALTH_APPLY_MAX];
    size_t lens[APPLY_FIXED + APPLY_PER_EVENT * HEALTH_APPLY_MAX];
    snprintf(n[0], sizeof(n[0]), "%lld", c->ring_timeout_ms);
    snprintf(n[1], sizeof(n[1]), "%lld", c->max_call_ms);
    snprintf(n[2], sizeof(n[2]), "%lld", c->grace_ms);
    snprintf(n[3], sizeof(n[3]), "%lld", c->call_ttl_s);
    snprintf(n[4], sizeof(n[4]), "%d", BUCKET_TTL_S);
    snprintf(n[5], sizeof(n[5]), "%d", TOTALS_TTL_S);
    const char *fixed[APPLY_FIXED] = {"EVALSHA",
                                      cs->sha[HEALTH_SCRIPT_APPLY],
                                      "3",
                                      RT_CALLS_ALL_KEY,
                                      HEALTH_DUE_KEY,
                                      HEALTH_TENANTS_KEY,
                                      c->group,
                                      n[0],
                                      n[1],
                                      n[2],
                                      n[3],
                                      n[4],
                                      n[5]};
    int argc = 0;
    for (int i = 0; i < APPLY_FIXED; i++)
        argv[argc++] = fixed[i];
    for (size_t i = 0; i < b->n; i++) {
        const struct health_apply_item *it = &b->items[i];
        const char *ev[APPLY_PER_EVENT] = {it->sid,         it->tenant,  it->call_id, it->rank,
                                           it->state,       it->outcome, it->ev_ms,   it->provider,
                                           it->received_ms, it->lag_ms};
        for (int k = 0; k < APPLY_PER_EVENT; k++)
            argv[argc++] = ev[k];
    }
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return rt_rconn_cmdargv(rc, cb, priv, argc, argv, lens);
}

int health_callstate_due(struct health_callstate *cs, struct rt_rconn *rc, uint64_t now_ms,
                         unsigned limit, redisCallbackFn *cb, void *priv)
{
    char now[24], lim[16];
    snprintf(now, sizeof(now), "%llu", (unsigned long long)now_ms);
    snprintf(lim, sizeof(lim), "%u", limit);
    const char *args[] = {HEALTH_DUE_KEY, now, lim};
    return evalsha(cs, rc, HEALTH_SCRIPT_DUE, 1, args, 3, cb, priv);
}

int health_callstate_mark(struct health_callstate *cs, struct rt_rconn *rc, const char *tenant,
                          const char *call_id, uint64_t now_ms, redisCallbackFn *cb, void *priv)
{
    const struct health_config *c = cs->cfg;
    char call[RT_KEY_MAX + HEALTH_CALL_ID_MAX + 16], active[RT_KEY_MAX], prefix[RT_KEY_MAX],
        n[6][24];
    tenant_key(call, sizeof(call), tenant, "call:");
    strncat(call, call_id, sizeof(call) - strlen(call) - 1);
    tenant_key(active, sizeof(active), tenant, "active");
    tenant_key(prefix, sizeof(prefix), tenant, "");
    snprintf(n[0], sizeof(n[0]), "%llu", (unsigned long long)now_ms);
    snprintf(n[1], sizeof(n[1]), "%lld", c->ring_timeout_ms);
    snprintf(n[2], sizeof(n[2]), "%lld", c->max_call_ms);
    snprintf(n[3], sizeof(n[3]), "%lld", c->grace_ms);
    snprintf(n[4], sizeof(n[4]), "%lld", c->call_ttl_s);
    snprintf(n[5], sizeof(n[5]), "%d", BUCKET_TTL_S);
    const char *args[] = {call, active, HEALTH_DUE_KEY, prefix, call_id, tenant,
                          n[0], n[1],   n[2],           n[3],   n[4],    n[5]};
    return evalsha(cs, rc, HEALTH_SCRIPT_MARK, 3, args, sizeof(args) / sizeof(args[0]), cb, priv);
}

struct report_req {
    struct health_callstate *cs; /* borrowed */
    struct rt_rconn *rc;         /* borrowed */
    health_report_fn cb;
    void *arg; /* borrowed */
    char tenant[RT_TENANT_MAX + 1];
    uint64_t now_ms;
};

static int report_parse(const redisReply *r, struct health_report *out)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[2]->type != REDIS_REPLY_ARRAY || r->element[3]->type != REDIS_REPLY_ARRAY ||
        r->element[3]->elements != HEALTH_RATE_MINUTES * HEALTH_OUTCOME_COUNT)
        return RT_EPROTO;
    out->active_calls = r->element[0]->integer;
    out->total_calls = r->element[1]->integer;
    const redisReply *wh = r->element[2];
    for (size_t i = 0; i + 1 < wh->elements; i += 2)
        if (wh->element[i]->type == REDIS_REPLY_STRING &&
            wh->element[i + 1]->type == REDIS_REPLY_STRING)
            out->nwebhooks =
                health_webhooks_add(out->webhooks, out->nwebhooks, HEALTH_MAX_PROVIDERS,
                                    wh->element[i]->str, wh->element[i + 1]->str);
    for (size_t i = 0; i < r->element[3]->elements; i++) {
        const redisReply *v = r->element[3]->element[i];
        out->buckets[i / HEALTH_OUTCOME_COUNT][i % HEALTH_OUTCOME_COUNT] =
            v->type == REDIS_REPLY_INTEGER ? v->integer : 0;
    }
    return 0;
}

static void on_report(redisAsyncContext *ac, void *r, void *privdata)
{
    struct report_req *q = privdata;
    redisReply *reply = r;
    (void)ac;
    if (!reply) {
        q->cb(RT_ECLOSED, NULL, q->arg);
        free(q);
        return;
    }
    struct health_report *rep = rt_xcalloc(1, sizeof(*rep));
    snprintf(rep->tenant, sizeof(rep->tenant), "%s", q->tenant);
    rep->now_ms = q->now_ms;
    int rc = report_parse(reply, rep);
    if (rc) {
        RT_WARN("health.report_failed", "report script failed",
                RT_LF_STR("reply", reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected"));
        /* the script cache was flushed: load again, the next report works */
        if (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0)
            health_callstate_load(q->cs, q->rc);
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
    char active[RT_KEY_MAX], wh[RT_KEY_MAX], totals[RT_KEY_MAX], idx[RT_KEY_MAX],
        prefix[RT_KEY_MAX], minute[24], nmin[8];
    if (!rt_name_tenant_valid(tenant))
        return RT_EINVAL;
    tenant_key(active, sizeof(active), tenant, "active");
    tenant_key(wh, sizeof(wh), tenant, "wh");
    tenant_key(totals, sizeof(totals), tenant, "totals");
    tenant_key(idx, sizeof(idx), tenant, "mi");
    tenant_key(prefix, sizeof(prefix), tenant, "");
    snprintf(minute, sizeof(minute), "%llu", (unsigned long long)(now_ms / 60000));
    snprintf(nmin, sizeof(nmin), "%d", HEALTH_RATE_MINUTES);
    struct report_req *q = rt_xcalloc(1, sizeof(*q));
    q->cs = cs;
    q->rc = rc;
    q->cb = cb;
    q->arg = arg;
    q->now_ms = now_ms;
    snprintf(q->tenant, sizeof(q->tenant), "%s", tenant);
    const char *args[] = {active, wh, totals, idx, prefix, minute, nmin};
    int rc2 = evalsha(cs, rc, HEALTH_SCRIPT_REPORT, 4, args, 7, on_report, q);
    if (rc2)
        free(q);
    return rc2;
}
