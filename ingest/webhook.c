#include "webhook.h"
#include "callmodel.h"
#include "ratelimit.h"
#include "refusal.h"
#include "sigfail.h"
#include "secrets.h"
#include "webhook_generic.h"
#include "webhook_telnyx.h"
#include "webhook_twilio.h"
#include "webhook_vonage.h"

#include "rt/envelope.h"
#include "rt/err.h"
#include "rt/evproc.h"
#include "rt/httpd_event.h"
#include "rt/log.h"
#include "rt/metrics.h"
#include "rt/naming.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PUBLIC_URL_MAX 2048

struct ingest_webhooks {
    const struct ingest_config *cfg;      /* borrowed */
    const struct ingest_secrets *secrets; /* borrowed */
    struct rt_metrics *metrics;           /* borrowed (the evproc's) */
    struct ingest_callmodel *calls;       /* owned */
    struct ingest_sigfail *sigfail;       /* owned */
    struct ingest_ratelimit *limits;      /* owned; NULL: RT_INGEST_WEBHOOK_RATE 0 */
    struct rt_metric *latency;            /* borrowed from metrics */
    char public_url[PUBLIC_URL_MAX];      /* RT_PUBLIC_URL without a trailing '/' */
};

/* One request waiting for Redis. */
struct pending {
    struct ingest_webhooks *w;  /* borrowed */
    struct evhttp_request *req; /* borrowed until answered */
    enum ingest_provider provider;
    char tenant[RT_TENANT_MAX + 1];
    char call_id[INGEST_CALL_FIELD_MAX + 1];
    double t0;
};

/* What one provider's verify + normalize produced. */
struct verdict {
    int status;         /* 0 accepted, else the HTTP status of the refusal */
    const char *reason; /* refusal reason (metric label, error code) */
    struct ingest_call call;
    bool ignored; /* verified, but not a call state change */
};

long long ingest_clock_now(const struct ingest_config *cfg)
{
    return cfg->clock_override > 0 ? cfg->clock_override : (long long)time(NULL);
}

static const char *header(struct evhttp_request *req, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(req), name);
}

static void refuse_after(struct ingest_webhooks *w, struct evhttp_request *req,
                         const char *provider, const char *tenant, int status, const char *reason,
                         unsigned retry_after)
{
    RT_WARN("webhook.rejected", "webhook refused", RT_LF_STR("provider", provider),
            RT_LF_STR("tenant", tenant), RT_LF_INT("status", status), RT_LF_STR("reason", reason));
    ingest_refuse(req, w->metrics, "webhook", provider, status, reason, NULL, retry_after);
}

static void refuse(struct ingest_webhooks *w, struct evhttp_request *req, const char *provider,
                   const char *tenant, int status, const char *reason)
{
    refuse_after(w, req, provider, tenant, status, reason,
                 status == 503 ? (unsigned)w->cfg->retry_after : 0);
}

static void count(struct ingest_webhooks *w, enum ingest_provider p, const char *tenant,
                  const char *outcome)
{
    char labels[256], a[64], b[100], c[64];
    rt_metrics_label(a, sizeof(a), "provider", ingest_provider_name(p));
    rt_metrics_label(b, sizeof(b), "tenant", tenant); /* configured tenants only: bounded */
    rt_metrics_label(c, sizeof(c), "outcome", outcome);
    snprintf(labels, sizeof(labels), "%s,%s,%s", a, b, c);
    rt_metric_inc(rt_metrics_get(w->metrics, RT_METRIC_COUNTER, "rt_ingest_webhooks_total",
                                 "verified webhooks by provider, tenant and outcome", labels, NULL,
                                 0));
}

/* verify failure code -> (status, reason) */
static void auth_failure(struct verdict *v, int rc)
{
    v->status = 401;
    v->reason = rc == RT_EINVAL      ? "missing_or_malformed_signature"
                : rc == RT_ETIMEDOUT ? "stale_timestamp"
                                     : "bad_signature";
}

/* Twilio: form body (POST), query (GET), or, in the JSON variant (bodySHA256 in the URL, the
 * URL alone signed), the parameters from the JSON body once its hash is verified. */
static void do_twilio(struct ingest_webhooks *w, struct evhttp_request *req,
                      const struct ingest_provider_secrets *ps, const char *body, size_t len,
                      struct verdict *v)
{
    const char *target = evhttp_request_get_uri(req);
    const char *sig = header(req, "X-Twilio-Signature");
    char url[PUBLIC_URL_MAX + 8192];
    struct ingest_form form = {0};
    bool get = evhttp_request_get_command(req) == EVHTTP_REQ_GET;
    snprintf(url, sizeof(url), "%s%s", w->public_url, target);
    bool json = ingest_twilio_has_body_hash(url);
    if (!json) {
        const char *q = strchr(target, '?');
        const char *src = get ? (q ? q + 1 : "") : body;
        if (ingest_form_parse(src, get ? strlen(src) : len, &form)) {
            v->status = 400;
            v->reason = "malformed_form";
            return;
        }
    }
    int rc = ingest_twilio_verify((const char *const *)ps->secrets, ps->n, url,
                                  get || json ? NULL : &form, body, len, sig);
    if (rc == RT_EINVAL) {
        v->status = 400;
        v->reason = "bad_body_hash";
    } else if (rc) {
        auth_failure(v, sig ? rc : RT_EINVAL);
    } else if (json && ingest_twilio_json_params(body, len, &form)) {
        v->status = 400;
        v->reason = "malformed_json";
    } else if (!ingest_secrets_account_ok(ps, ingest_form_get(&form, "AccountSid"))) {
        v->status = 403;
        v->reason = "unknown_account";
    } else if (ingest_twilio_normalize(&form, &v->call)) {
        v->status = 400;
        v->reason = "bad_body";
    }
    ingest_form_free(&form);
}

static void do_telnyx(struct ingest_webhooks *w, struct evhttp_request *req,
                      const struct ingest_provider_secrets *ps, const char *body, size_t len,
                      struct verdict *v)
{
    int rc = ingest_telnyx_verify((const unsigned char(*)[32])ps->keys, ps->n,
                                  header(req, "telnyx-timestamp"),
                                  header(req, "telnyx-signature-ed25519"), body, len,
                                  ingest_clock_now(w->cfg), w->cfg->webhook_window);
    if (rc) {
        auth_failure(v, rc);
        return;
    }
    rc = ingest_telnyx_normalize(body, len, &v->call);
    if (rc == RT_ENOENT)
        v->ignored = true;
    else if (rc) {
        v->status = 400;
        v->reason = "bad_body";
    }
}

static void do_vonage(struct ingest_webhooks *w, struct evhttp_request *req,
                      const struct ingest_provider_secrets *ps, const char *body, size_t len,
                      struct verdict *v)
{
    struct ingest_vonage_claims cl;
    int rc =
        ingest_vonage_verify((const char *const *)ps->secrets, ps->n, header(req, "Authorization"),
                             body, len, ingest_clock_now(w->cfg), w->cfg->webhook_window, &cl);
    if (rc) {
        auth_failure(v, rc);
        return;
    }
    if (!ingest_secrets_account_ok(ps, cl.api_key)) {
        v->status = 403;
        v->reason = "unknown_account";
        return;
    }
    rc = ingest_vonage_normalize(body, len, &cl, &v->call);
    if (rc == RT_ENOENT)
        v->ignored = true;
    else if (rc) {
        v->status = 400;
        v->reason = "bad_body";
    }
}

static void do_generic(struct ingest_webhooks *w, struct evhttp_request *req,
                       const struct ingest_provider_secrets *ps, const char *body, size_t len,
                       struct verdict *v)
{
    int rc = ingest_generic_verify((const char *const *)ps->secrets, ps->n,
                                   header(req, "X-RT-Timestamp"), header(req, "X-RT-Signature"),
                                   body, len, ingest_clock_now(w->cfg), w->cfg->webhook_window);
    if (rc) {
        auth_failure(v, rc);
        return;
    }
    if (ingest_generic_normalize(body, len, &v->call)) {
        v->status = 400;
        v->reason = "bad_body";
    }
}

static void on_applied(int status, const char *event, const char *id, void *arg)
{
    struct pending *p = arg;
    struct ingest_webhooks *w = p->w;
    const char *pname = ingest_provider_name(p->provider);
    if (status != 0 && status != RT_EDUPLICATE && status != RT_EEXIST) {
        RT_WARN("webhook.redis_failed", "webhook not stored", RT_LF_STR("provider", pname),
                RT_LF_STR("tenant", p->tenant), RT_LF_STR("call_id", p->call_id),
                RT_LF_ERR(status));
        ingest_refuse(p->req, w->metrics, "webhook", pname, 503, "redis_unavailable", NULL,
                      (unsigned)w->cfg->retry_after);
        free(p);
        return;
    }
    const char *outcome = status == 0               ? "published"
                          : status == RT_EDUPLICATE ? "duplicate"
                                                    : "stale";
    count(w, p->provider, p->tenant, outcome);
    if (status == 0)
        rt_metric_observe(w->latency, ingest_mono_now() - p->t0);
    RT_DEBUG("webhook.accepted", "webhook accepted", RT_LF_STR("provider", pname),
             RT_LF_STR("tenant", p->tenant), RT_LF_STR("call_id", p->call_id),
             RT_LF_STR("result", outcome), RT_LF_STR("event", status == 0 ? event : NULL),
             RT_LF_STR("id", status == 0 ? id : NULL));
    rt_httpd_reply_json(
        p->req, 200,
        status == 0 ? json_pack("{s:s,s:s,s:s}", "status", outcome, "event", event, "id", id)
                    : json_pack("{s:s}", "status", outcome));
    free(p);
}

/* "/webhooks/<provider>/<tenant>" -> provider index and tenant; false when malformed. */
static bool parse_path(struct evhttp_request *req, int *provider, char *tenant, size_t cap)
{
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    char pname[16];
    if (!path || strncmp(path, "/webhooks/", 10) != 0)
        return false;
    const char *p = path + 10, *slash = strchr(p, '/');
    if (!slash || (size_t)(slash - p) >= sizeof(pname) || strlen(slash + 1) >= cap)
        return false;
    memcpy(pname, p, (size_t)(slash - p));
    pname[slash - p] = '\0';
    strcpy(tenant, slash + 1);
    *provider = ingest_provider_parse(pname);
    return *provider >= 0 && rt_name_tenant_valid(tenant);
}

static void dispatch(struct ingest_webhooks *w, struct evhttp_request *req, int prov,
                     const struct ingest_provider_secrets *ps, const char *tenant, double t0)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *pname = ingest_provider_name((enum ingest_provider)prov);
    if (len > (size_t)w->cfg->webhook_max_body) {
        refuse(w, req, pname, tenant, 413, "body_too_large");
        return;
    }
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    struct verdict v = {0};
    switch ((enum ingest_provider)prov) {
    case INGEST_PROVIDER_TWILIO:
        do_twilio(w, req, ps, body, len, &v);
        break;
    case INGEST_PROVIDER_TELNYX:
        do_telnyx(w, req, ps, body, len, &v);
        break;
    case INGEST_PROVIDER_VONAGE:
        do_vonage(w, req, ps, body, len, &v);
        break;
    case INGEST_PROVIDER_GENERIC:
        do_generic(w, req, ps, body, len, &v);
        break;
    case INGEST_PROVIDER_COUNT:
        break;
    }
    if (v.status) {
        ingest_sigfail_note(w->sigfail, tenant, pname, v.status);
        refuse(w, req, pname, tenant, v.status, v.reason);
        return;
    }
    /* after verification, so that unsigned requests cannot spend a tenant's budget */
    unsigned wait = w->limits ? ingest_ratelimit_take(w->limits, tenant, 1, t0) : 0;
    if (wait) {
        ingest_call_clear(&v.call);
        refuse_after(w, req, pname, tenant, 429, "rate_limited", wait);
        return;
    }
    if (v.ignored) {
        count(w, (enum ingest_provider)prov, tenant, "ignored");
        rt_httpd_reply_json(req, 200, json_pack("{s:s}", "status", "ignored"));
        return;
    }
    char received[32];
    rt_ts_now(received, sizeof(received));
    struct pending *p = rt_xcalloc(1, sizeof(*p));
    *p = (struct pending){.w = w, .req = req, .provider = (enum ingest_provider)prov, .t0 = t0};
    strcpy(p->tenant, tenant);
    snprintf(p->call_id, sizeof(p->call_id), "%s", v.call.call_id);
    int rc = ingest_callmodel_apply(w->calls, tenant, &v.call, received, on_applied, p);
    ingest_call_clear(&v.call);
    if (rc) {
        free(p);
        refuse(w, req, pname, tenant, rc == RT_ENOTREADY ? 503 : 400,
               rc == RT_ENOTREADY ? "redis_unavailable" : "bad_body");
    }
}

static void on_webhook(struct evhttp_request *req, void *arg)
{
    struct ingest_webhooks *w = arg;
    double t0 = ingest_mono_now();
    char tenant[RT_TENANT_MAX + 2];
    int prov = -1;
    if (!parse_path(req, &prov, tenant, sizeof(tenant))) {
        ingest_refuse(req, w->metrics, "webhook", "", 404, "not_found",
                      "no such provider or tenant", 0);
        return;
    }
    const struct ingest_provider_secrets *ps =
        ingest_secrets_get(w->secrets, tenant, (enum ingest_provider)prov);
    if (!ps) {
        ingest_refuse(req, w->metrics, "webhook", ingest_provider_name((enum ingest_provider)prov),
                      404, "not_found", "no such provider or tenant", 0);
        return;
    }
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    /* Twilio may be configured to send status callbacks with GET; the others always POST */
    if (cmd != EVHTTP_REQ_POST && !(cmd == EVHTTP_REQ_GET && prov == INGEST_PROVIDER_TWILIO)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                          prov == INGEST_PROVIDER_TWILIO ? "GET, POST" : "POST");
        ingest_refuse(req, w->metrics, "webhook", ingest_provider_name((enum ingest_provider)prov),
                      405, "method_not_allowed", NULL, 0);
        return;
    }
    dispatch(w, req, prov, ps, tenant, t0);
}

struct ingest_webhooks *ingest_webhooks_new(const struct ingest_config *cfg,
                                            const struct ingest_secrets *secrets,
                                            struct rt_evproc *proc)
{
    struct ingest_webhooks *w = rt_xcalloc(1, sizeof(*w));
    w->cfg = cfg;
    w->secrets = secrets;
    w->metrics = proc->metrics;
    snprintf(w->public_url, sizeof(w->public_url), "%s", cfg->public_url ? cfg->public_url : "");
    size_t n = strlen(w->public_url);
    while (n && w->public_url[n - 1] == '/')
        w->public_url[--n] = '\0';
    struct ingest_callmodel_opts o = {.maxlen = (unsigned long)cfg->stream_maxlen,
                                      .maxage_s = (unsigned long)cfg->stream_maxage_s,
                                      .dedupe_ttl_s = (unsigned)cfg->webhook_dedupe_ttl,
                                      .state_ttl_s = (unsigned)cfg->call_ttl};
    w->calls = ingest_callmodel_new(proc->redis, &o);
    w->sigfail = ingest_sigfail_new(proc->redis, &proc->loop);
    if (cfg->webhook_rate > 0)
        w->limits = ingest_ratelimit_new((double)cfg->webhook_rate, (double)cfg->webhook_burst);
    w->latency =
        rt_metrics_get(w->metrics, RT_METRIC_HISTOGRAM, "rt_ingest_webhook_latency_seconds",
                       "webhook receive to Redis acknowledgement", NULL, rt_metrics_latency_bounds,
                       rt_metrics_latency_nbounds);
    rt_httpd_route(proc->httpd, "/webhooks/", true, on_webhook, w);
    return w;
}

void ingest_webhooks_free(struct ingest_webhooks *w)
{
    if (!w)
        return;
    ingest_callmodel_free(w->calls);
    ingest_sigfail_free(w->sigfail);
    ingest_ratelimit_free(w->limits);
    free(w);
}

void ingest_webhooks_on_ready(struct ingest_webhooks *w)
{
    ingest_callmodel_on_ready(w->calls);
}
