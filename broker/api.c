#include "api.h"
#include "cors.h"
#include "status.h"

#include "rt/err.h"
#include "rt/log.h"
#include "rt/loop.h"
#include "rt/jwt.h"

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUMMARY_MAX_TENANTS 1000
#define FLIGHTS_SHARED      256 /* tenant reads in flight that later requests may join */

struct flight;

struct health_api {
    struct health_api_opts o;
    struct rt_jwt_verifier *jwt; /* owned; NULL when no JWT setting is given */
    struct rt_metric *m_denied;
    struct flight *flights; /* reads in flight that requests may join; each owned by its read */
    size_t nflights;
};

/* 0 when allowed; otherwise the HTTP status (401, 403) with *why set. tenant NULL: admin only
 * (a valid tenant token gets 403, anything else that is not the admin key 401). */
static int authorize(struct health_api *a, struct evhttp_request *req, const char *tenant,
                     const char **why)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
        *why = "missing_token";
        return 401;
    }
    const char *tok = h + 7;
    size_t n = strlen(tok);
    const char *admin = a->o.cfg->admin_key;
    if (admin && n == strlen(admin) && CRYPTO_memcmp(tok, admin, n) == 0)
        return 0;
    if (a->jwt) {
        struct rt_jwt_claims claims;
        enum rt_jwt_fail fail;
        if (rt_jwt_verify(a->jwt, tok, (int64_t)(rt_wall_ms() / 1000), &claims, &fail) != 0) {
            *why = tenant ? rt_jwt_fail_name(fail) : "admin_key_required";
            return 401;
        }
        /* a valid tenant token is authenticated, just not allowed here */
        if (!tenant) {
            *why = "admin_key_required";
            return 403;
        }
        if (strcmp(claims.tenant, tenant) != 0) {
            *why = "other_tenant";
            return 403;
        }
        return 0;
    }
    *why = "invalid_token";
    return 401;
}

static bool deny(struct health_api *a, struct evhttp_request *req, int status, const char *why)
{
    rt_metric_inc(a->m_denied);
    RT_INFO("http.denied", "request refused", RT_LF_STR("path", evhttp_request_get_uri(req)),
            RT_LF_INT("status", status), RT_LF_STR("reason", why));
    rt_httpd_reply_error(req, status, status == 403 ? "forbidden" : "unauthorized", why);
    return false;
}

static bool method_ok(struct evhttp_request *req)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD)
        return true;
    rt_httpd_reply_error(req, 405, "method_not_allowed", "GET only");
    return false;
}

/* Copies the tenant query parameter into buf; false when absent or invalid. */
static bool query_tenant(struct evhttp_request *req, char *buf, size_t cap)
{
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *q = u ? evhttp_uri_get_query(u) : NULL;
    struct evkeyvalq kv;
    bool ok = false;
    TAILQ_INIT(&kv);
    if (q && evhttp_parse_query_str(q, &kv) == 0) {
        const char *t = evhttp_find_header(&kv, "tenant");
        if (t && rt_name_tenant_valid(t)) {
            snprintf(buf, cap, "%s", t);
            ok = true;
        }
    }
    evhttp_clear_headers(&kv);
    return ok;
}

/* Requests for the same tenant that arrive while its report is being read share that read
 * ("single flight"): under load one Redis call answers many requests, and no answer is older
 * than the request that started the read. */
struct waiter {
    struct evhttp_request *req; /* borrowed: evhttp keeps it until the reply */
    struct waiter *next;        /* owned */
};

struct flight {
    struct health_api *a; /* borrowed */
    char tenant[RT_TENANT_MAX + 1];
    struct waiter *waiters; /* owned list */
    struct flight *next;    /* in a->flights; not owned */
};

static void flight_unlink(struct health_api *a, struct flight *f)
{
    for (struct flight **pp = &a->flights; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            a->nflights--;
            return;
        }
}

static void on_check(int status, struct health_report *r, void *arg)
{
    struct flight *f = arg;
    json_t *doc = NULL;
    flight_unlink(f->a, f);
    if (status == 0) {
        struct health_view v;
        health_status_eval(f->a->o.cfg, r, &v);
        doc = health_status_json(r, &v);
    }
    for (struct waiter *w = f->waiters, *next; w; w = next) {
        next = w->next;
        if (doc)
            rt_httpd_reply_json(w->req, 200, json_incref(doc));
        else
            rt_httpd_reply_error(w->req, 503, "unavailable", "redis unavailable");
        free(w);
    }
    json_decref(doc);
    free(f);
}

static void check_start(struct health_api *a, struct evhttp_request *req, const char *tenant)
{
    struct waiter *w = rt_xcalloc(1, sizeof(*w));
    w->req = req;
    for (struct flight *f = a->flights; f; f = f->next)
        if (strcmp(f->tenant, tenant) == 0) {
            w->next = f->waiters;
            f->waiters = w;
            return;
        }
    struct flight *f = rt_xcalloc(1, sizeof(*f));
    f->a = a;
    snprintf(f->tenant, sizeof(f->tenant), "%s", tenant);
    f->waiters = w;
    if (health_callstate_report(a->o.cs, a->o.rc, tenant, rt_wall_ms(), on_check, f) != 0) {
        free(w);
        free(f);
        rt_httpd_reply_error(req, 503, "unavailable", "redis unavailable");
        return;
    }
    /* only a bounded number of reads is searched; beyond it requests simply do not share */
    if (a->nflights < FLIGHTS_SHARED) {
        f->next = a->flights;
        a->flights = f;
        a->nflights++;
    }
}

static void on_health_check(struct evhttp_request *req, void *arg)
{
    struct health_api *a = arg;
    char tenant[RT_TENANT_MAX + 1];
    const char *why;
    if (health_cors_handle(a->o.cfg->cors_origins, req) || !method_ok(req))
        return;
    if (!query_tenant(req, tenant, sizeof(tenant))) {
        rt_httpd_reply_error(req, 400, "bad_request", "tenant parameter missing or invalid");
        return;
    }
    int st = authorize(a, req, tenant, &why);
    if (st) {
        deny(a, req, st, why);
        return;
    }
    check_start(a, req, tenant);
}

/* The summary gathers one report per recent tenant, then answers once. */
struct summary {
    struct health_api *a;       /* borrowed */
    struct evhttp_request *req; /* borrowed */
    json_t *tenants;            /* owned */
    long long counts[3];
    size_t waiting;
    bool failed, truncated;
};

static void summary_finish(struct summary *s)
{
    char ts[32];
    if (s->failed) {
        rt_httpd_reply_error(s->req, 503, "unavailable", "redis unavailable");
    } else {
        health_ts_format_ms(rt_wall_ms(), ts, sizeof(ts));
        long long lag = health_consumer_lag(s->a->o.consumer);
        json_t *o =
            json_pack("{s:{s:I,s:I,s:I},s:b,s:O,s:o,s:{s:s,s:o},s:s}", "counts", "healthy",
                      (json_int_t)s->counts[0], "degraded", (json_int_t)s->counts[1], "unhealthy",
                      (json_int_t)s->counts[2], "truncated", s->truncated, "tenants", s->tenants,
                      "components", health_liveness_json(s->a->o.liveness), "consumer", "name",
                      health_consumer_name(s->a->o.consumer), "lag",
                      lag >= 0 ? json_integer(lag) : json_null(), "checked_at", ts);
        rt_httpd_reply_json(s->req, 200, o);
    }
    json_decref(s->tenants);
    free(s);
}

static void on_summary_report(int status, struct health_report *r, void *arg)
{
    struct summary *s = arg;
    if (status != 0) {
        s->failed = true;
    } else {
        struct health_view v;
        health_status_eval(s->a->o.cfg, r, &v);
        s->counts[v.status]++;
        json_object_set_new(s->tenants, r->tenant, health_status_json(r, &v));
    }
    if (--s->waiting == 0)
        summary_finish(s);
}

static void on_summary_tenants(redisAsyncContext *ac, void *r, void *privdata)
{
    struct summary *s = privdata;
    redisReply *reply = r;
    (void)ac;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        s->failed = true;
        summary_finish(s);
        return;
    }
    s->waiting = 1; /* held while sending */
    uint64_t now = rt_wall_ms();
    for (size_t i = 0; i < reply->elements; i++) {
        if (i >= SUMMARY_MAX_TENANTS) {
            s->truncated = true;
            break;
        }
        const redisReply *t = reply->element[i];
        if (t->type == REDIS_REPLY_STRING &&
            health_callstate_report(s->a->o.cs, s->a->o.rc, t->str, now, on_summary_report, s) == 0)
            s->waiting++;
    }
    if (--s->waiting == 0)
        summary_finish(s);
}

static void on_summary(struct evhttp_request *req, void *arg)
{
    struct health_api *a = arg;
    const char *why;
    if (health_cors_handle(a->o.cfg->cors_origins, req) || !method_ok(req))
        return;
    int st = authorize(a, req, NULL, &why);
    if (st) {
        deny(a, req, st, why);
        return;
    }
    struct summary *s = rt_xcalloc(1, sizeof(*s));
    s->a = a;
    s->req = req;
    s->tenants = json_object();
    long long window = a->o.cfg->max_call_ms + a->o.cfg->grace_ms;
    if (window < 3600000)
        window = 3600000;
    /* newest first, so a truncated summary keeps the most recently active tenants */
    if (rt_rconn_cmd(a->o.rc, on_summary_tenants, s, "ZREVRANGEBYSCORE %s +inf %lld LIMIT 0 %d",
                     HEALTH_TENANTS_KEY, (long long)rt_wall_ms() - window,
                     SUMMARY_MAX_TENANTS + 1) != 0) {
        s->failed = true;
        summary_finish(s);
    }
}

static int open_jwt(struct health_api *a)
{
    const struct health_config *c = a->o.cfg;
    if (!c->jwt.secret && !c->jwt.jwks)
        return 0;
    struct rt_jwt_opts jo = {.hs256_secret = c->jwt.secret,
                             .issuer = c->jwt.issuer,
                             .audience = c->jwt.audience,
                             .tenant_claim = c->jwt.tenant_claim,
                             .algs = c->jwt.algs,
                             .leeway_s = (unsigned)c->jwt.leeway_s};
    if (c->jwt.jwks &&
        (strncmp(c->jwt.jwks, "http://", 7) == 0 || strncmp(c->jwt.jwks, "https://", 8) == 0)) {
        /* refusing beats starting with no RS256/ES256 key and answering 401 to every caller */
        RT_ERROR("config.invalid",
                 "RT_JWT_JWKS: rt-health reads a JWKS from a file only (rt-edge also fetches a "
                 "URL); give rt-health a file path",
                 RT_LF_STR("setting", "RT_JWT_JWKS"), RT_LF_STR("jwks", c->jwt.jwks));
        return RT_ECONFIG;
    }
    int rc = rt_jwt_verifier_open(&a->jwt, &jo);
    if (rc == 0 && c->jwt.jwks)
        rc = rt_jwt_load_jwks_file(a->jwt, c->jwt.jwks);
    if (rc) {
        RT_ERROR("config.invalid", "cannot use the JWT settings", RT_LF_ERR(rc));
        return RT_ECONFIG;
    }
    return 0;
}

int health_api_open(struct health_api **out, const struct health_api_opts *o)
{
    struct health_api *a = rt_xcalloc(1, sizeof(*a));
    a->o = *o;
    *out = a;
    int rc = open_jwt(a);
    if (rc)
        return rc;
    a->m_denied = rt_metrics_get(o->metrics, RT_METRIC_COUNTER, "rt_health_api_denied_total",
                                 "health API requests refused (401/403)", NULL, NULL, 0);
    /* both routes answer OPTIONS (CORS preflight, health_cors_handle) */
    rt_httpd_allow_options(o->httpd);
    rt_httpd_route(o->httpd, "/api/calls/health-check", false, on_health_check, a);
    rt_httpd_route(o->httpd, "/api/v1/health/summary", false, on_summary, a);
    return 0;
}

void health_api_free(struct health_api *a)
{
    if (!a)
        return;
    rt_jwt_verifier_free(a->jwt);
    free(a);
}
