#include "auth.h"
#include "jwks_http.h"

#include "rt/err.h"
#include "rt/log.h"
#include "rt/loop.h"
#include "rt/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RETRY_MIN_MS 1000  /* a failed fetch is retried after this, doubling ... */
#define RETRY_MAX_MS 60000 /* ... up to this (and never later than the refresh interval) */

struct edge_auth {
    struct rt_jwt_verifier *v;  /* owned */
    char *jwks_path;            /* owned; NULL without a JWKS file */
    struct edge_jwks_http *url; /* owned; NULL without a JWKS URL */
    struct lws_context *lws;    /* borrowed; NULL until edge_auth_start */
    uint64_t refresh_ms;
    uint64_t retry_ms; /* next delay after a failed fetch */
    uint64_t next_ms;  /* next periodic reload or fetch */
    bool loaded;       /* a JWKS URL: a fetch succeeded once */
    int last_err;      /* of the last fetch, for /readyz */
    struct edge_auth_wait *waiters;
    struct rt_metric *fetch_ok, *fetch_failed, *fetch_invalid; /* borrowed from the registry */
};

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static int reload(struct edge_auth *a)
{
    int rc = rt_jwt_load_jwks_file(a->v, a->jwks_path);
    a->next_ms = rt_now_ms() + a->refresh_ms;
    if (rc)
        RT_WARN("auth.jwks_failed", "JWKS not loaded; keeping the previous keys",
                RT_LF_STR("path", a->jwks_path), RT_LF_ERR(rc));
    else
        RT_DEBUG("auth.jwks_loaded", "JWKS loaded", RT_LF_STR("path", a->jwks_path));
    return rc;
}

static void wake_all(struct edge_auth *a)
{
    struct edge_auth_wait *list = a->waiters;
    a->waiters = NULL;
    /* each callback may cancel others still on this local list, or queue itself again */
    for (struct edge_auth_wait *w = list; w; w = list) {
        list = w->next;
        if (list) {
            list->prev = NULL;
            list->list = &list;
        }
        w->next = w->prev = NULL;
        w->list = NULL;
        w->cb(w);
    }
}

static void on_fetched(void *arg, int status, const char *body, size_t len)
{
    struct edge_auth *a = arg;
    size_t skipped = 0;
    int rc = status;
    uint64_t now = rt_now_ms();

    if (status == RT_ECLOSED)
        return;
    if (rc == 0)
        rc = rt_jwt_set_jwks(a->v, body, len, &skipped);
    a->last_err = rc;
    if (rc == 0) {
        rt_metric_inc(a->fetch_ok);
        RT_INFO("auth.jwks_loaded", "JWKS fetched", RT_LF_UINT("bytes", len),
                RT_LF_UINT("skipped_keys", skipped));
        a->loaded = true;
        a->retry_ms = RETRY_MIN_MS;
        a->next_ms = now + a->refresh_ms;
    } else {
        rt_metric_inc(status ? a->fetch_failed : a->fetch_invalid);
        RT_WARN("auth.jwks_failed",
                status ? "JWKS fetch failed; keeping the previous keys"
                       : "JWKS refused (not a usable key set); keeping the previous keys",
                RT_LF_ERR(rc), RT_LF_UINT("bytes", len));
        a->next_ms = now + (a->retry_ms < a->refresh_ms ? a->retry_ms : a->refresh_ms);
        a->retry_ms = a->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : a->retry_ms * 2;
    }
    wake_all(a);
}

static void fetch(struct edge_auth *a)
{
    if (!a->lws || edge_jwks_http_busy(a->url))
        return;
    int rc = edge_jwks_http_fetch(a->url, a->lws);
    if (rc == RT_EIO) /* not even started: count it and retry later like any failure */
        on_fetched(a, rc, NULL, 0);
}

static int open_url(struct edge_auth *a, const struct edge_config *cfg)
{
    if (edge_jwks_http_open(&a->url, cfg->jwt.jwks, cfg->jwks_ca_file,
                            (unsigned)cfg->jwks_timeout_ms, on_fetched, a)) {
        RT_ERROR("config.invalid", "RT_JWT_JWKS is not a usable http:// or https:// URL",
                 RT_LF_STR("jwks", cfg->jwt.jwks));
        return RT_ECONFIG;
    }
    if (cfg->jwks_ca_file && access(cfg->jwks_ca_file, R_OK) != 0) {
        RT_ERROR("config.invalid", "RT_EDGE_JWKS_CA_FILE is not readable",
                 RT_LF_STR("path", cfg->jwks_ca_file));
        return RT_ECONFIG;
    }
    return 0;
}

int edge_auth_open(struct edge_auth **out, const struct edge_config *cfg, struct rt_metrics *m)
{
    struct rt_jwt_opts o = {.hs256_secret = cfg->jwt.secret,
                            .algs = cfg->jwt.algs,
                            .issuer = cfg->jwt.issuer,
                            .audience = cfg->jwt.audience,
                            .tenant_claim = cfg->jwt.tenant_claim,
                            .leeway_s = (unsigned)cfg->jwt.leeway_s,
                            .jwks_min_refresh_s = (unsigned)cfg->jwks_min_refresh_s};
    const char *j = cfg->jwt.jwks;
    bool is_url = j && (strncmp(j, "http://", 7) == 0 || strncmp(j, "https://", 8) == 0);
    char labels[64];
    int rc = 0;

    *out = NULL;
    if (!cfg->jwt.secret && !j)
        RT_WARN("auth.no_keys", "neither RT_JWT_SECRET nor RT_JWT_JWKS is set: every token will "
                                "be refused");
    struct edge_auth *a = rt_xcalloc(1, sizeof(*a));
    if (rt_jwt_verifier_open(&a->v, &o)) {
        RT_ERROR("config.invalid", "RT_JWT_ALGS names an unknown algorithm",
                 RT_LF_STR("algs", cfg->jwt.algs));
        free(a);
        return RT_ECONFIG;
    }
    a->refresh_ms = (uint64_t)cfg->jwks_refresh_s * 1000;
    a->retry_ms = RETRY_MIN_MS;
    a->last_err = RT_ENOTREADY;
#define FETCHES(result, help)                                                                      \
    (rt_metrics_label(labels, sizeof(labels), "result", result),                                   \
     rt_metrics_get(m, RT_METRIC_COUNTER, "rt_edge_jwks_fetches_total", help, labels, NULL, 0))
    a->fetch_ok = FETCHES("ok", "JWKS fetches from RT_JWT_JWKS by result");
    a->fetch_failed = FETCHES("error", "JWKS fetches from RT_JWT_JWKS by result");
    a->fetch_invalid = FETCHES("invalid", "JWKS fetches from RT_JWT_JWKS by result");
#undef FETCHES
    if (is_url) {
        rc = open_url(a, cfg);
    } else if (j) {
        a->jwks_path = rt_xstrdup(j);
        if ((rc = reload(a)) != 0) {
            RT_ERROR("config.invalid", "RT_JWT_JWKS could not be loaded",
                     RT_LF_STR("path", a->jwks_path));
            rc = RT_ECONFIG;
        }
    }
    if (rc) {
        edge_auth_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void edge_auth_start(struct edge_auth *a, struct lws_context *ctx)
{
    a->lws = ctx;
    if (a->url)
        fetch(a);
}

void edge_auth_free(struct edge_auth *a)
{
    if (!a)
        return;
    edge_jwks_http_free(a->url);
    rt_jwt_verifier_free(a->v);
    free(a->jwks_path);
    free(a);
}

int edge_auth_verify(struct edge_auth *a, const char *token, struct rt_jwt_claims *claims,
                     enum rt_jwt_fail *why)
{
    return edge_auth_verify_or_wait(a, token, claims, why, NULL);
}

int edge_auth_verify_or_wait(struct edge_auth *a, const char *token, struct rt_jwt_claims *claims,
                             enum rt_jwt_fail *why, struct edge_auth_wait *w)
{
    int64_t now = now_s();
    int rc = rt_jwt_verify(a->v, token, now, claims, why);
    if (rc == 0 || *why != RT_JWT_UNKNOWN_KID)
        return rc;
    bool wanted = rt_jwt_jwks_wanted(a->v, now);
    if (a->jwks_path) {
        /* a key rotation may have added the kid: a file reloads at once (rate-limited) */
        if (wanted && reload(a) == 0)
            rc = rt_jwt_verify(a->v, token, now, claims, why);
        return rc;
    }
    if (!a->url)
        return rc;
    if (wanted)
        fetch(a);
    if (!w || !edge_jwks_http_busy(a->url))
        return rc;
    w->prev = NULL;
    w->next = a->waiters;
    if (a->waiters)
        a->waiters->prev = w;
    a->waiters = w;
    w->list = &a->waiters;
    return RT_EAGAIN;
}

void edge_auth_wait_cancel(struct edge_auth_wait *w)
{
    if (!w->list)
        return;
    if (w->prev) {
        w->prev->next = w->next;
    } else {
        *w->list = w->next;
        if (w->next)
            w->next->list = w->list; /* the new head knows which head pointer is its own */
    }
    if (w->next)
        w->next->prev = w->prev;
    w->next = w->prev = NULL;
    w->list = NULL;
}

bool edge_auth_ready(const struct edge_auth *a, char *reason, size_t cap)
{
    if (!a->url || a->loaded)
        return true;
    snprintf(reason, cap, "jwks: not loaded yet (%s)", rt_errname(a->last_err));
    return false;
}

void edge_auth_tick(struct edge_auth *a)
{
    uint64_t now = rt_now_ms();
    if (a->url) {
        edge_jwks_http_tick(a->url, now);
        if (now >= a->next_ms)
            fetch(a);
    } else if (a->jwks_path && now >= a->next_ms) {
        reload(a);
    }
}
