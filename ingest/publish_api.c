#include "publish_api.h"
#include "apikeys.h"
#include "batchpub.h"
#include "ratelimit.h"
#include "refusal.h"
#include "sigutil.h"

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
#include <strings.h>

struct ingest_publish_api {
    const struct ingest_config *cfg;    /* borrowed */
    const struct ingest_apikeys *keys;  /* borrowed */
    struct ingest_batchpub *store;      /* owned */
    struct rt_metrics *metrics;         /* borrowed */
    struct ingest_ratelimit *limits;    /* owned */
    struct rt_metric *latency, *events; /* borrowed from metrics */
};

/* One validated event ready to publish. */
struct item {
    char key[RT_KEY_MAX];
    char dedupe[RT_KEY_MAX]; /* "" for none */
    char *body;              /* owned: envelope JSON without id */
};

/* One request (single or batch) waiting for Redis. */
struct batch {
    struct ingest_publish_api *api; /* borrowed */
    struct evhttp_request *req;     /* borrowed until answered */
    bool single;
    double t0;
};

static const char *const allowed_keys[] = {"channel", "event",           "data",
                                           "user",    "idempotency_key", "tenant"};

/* Validates one event and builds its key and envelope; on failure writes the message (for the
 * reply only: it may quote the body) and, for an unknown key, its length in *unknown_len. */
static int build_item(json_t *o, bool admin, const char *key_tenant, struct item *it,
                      const char **tenant_out, int *status, char *msg, size_t cap,
                      size_t *unknown_len)
{
    const char *k;
    json_t *v;
    *status = 400;
    *unknown_len = 0;
    if (!json_is_object(o)) {
        snprintf(msg, cap, "an event must be a JSON object");
        return RT_EINVAL;
    }
    json_object_foreach(o, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof(allowed_keys) / sizeof(allowed_keys[0]); i++)
            known |= strcmp(k, allowed_keys[i]) == 0;
        if (!known) {
            snprintf(msg, cap, "unknown key: %.64s", k);
            *unknown_len = strlen(k);
            return RT_EINVAL;
        }
    }
    const char *tenant = json_string_value(json_object_get(o, "tenant"));
    const char *channel = json_string_value(json_object_get(o, "channel"));
    const char *event = json_string_value(json_object_get(o, "event"));
    const char *user = json_string_value(json_object_get(o, "user"));
    json_t *idem = json_object_get(o, "idempotency_key");
    json_t *data = json_object_get(o, "data");
    if (json_object_get(o, "tenant") && (!tenant || !rt_name_tenant_valid(tenant))) {
        snprintf(msg, cap, "tenant: invalid tenant id");
        return RT_EINVAL;
    }
    if (admin && !tenant) {
        snprintf(msg, cap, "tenant: required with an admin key");
        return RT_EINVAL;
    }
    if (!admin && tenant && strcmp(tenant, key_tenant) != 0) {
        *status = 403;
        snprintf(msg, cap, "this key cannot publish to another tenant");
        return RT_EFORBIDDEN;
    }
    if (!tenant)
        tenant = key_tenant;
    char chbuf[RT_CHANNEL_MAX];
    enum rt_channel_kind kind = channel ? rt_name_client_channel(channel) : RT_CHANNEL_INVALID;
    if (kind == RT_CHANNEL_USER) {
        if (!user || rt_name_user_channel(chbuf, sizeof(chbuf), user)) {
            snprintf(msg, cap, "user: a valid user id is required for channel user");
            return RT_EINVAL;
        }
        channel = chbuf;
    } else if (kind != RT_CHANNEL_TENANT && kind != RT_CHANNEL_CALLS && kind != RT_CHANNEL_CUSTOM) {
        snprintf(msg, cap, "channel: expected tenant, user, calls or app:<name>");
        return RT_EINVAL;
    } else if (user) {
        snprintf(msg, cap, "user: only with channel user");
        return RT_EINVAL;
    }
    if (!event || !rt_event_name_valid(event)) {
        snprintf(msg, cap, "event: 1-64 of [A-Za-z0-9_.:-] required");
        return RT_EINVAL;
    }
    if (data && !json_is_object(data)) {
        snprintf(msg, cap, "data: expected a JSON object");
        return RT_EINVAL;
    }
    if (idem && (!json_is_string(idem) || json_string_length(idem) == 0 ||
                 json_string_length(idem) > INGEST_IDEMPOTENCY_KEY_MAX)) {
        snprintf(msg, cap, "idempotency_key: 1-%d characters", INGEST_IDEMPOTENCY_KEY_MAX);
        return RT_EINVAL;
    }
    struct rt_envelope env = {0};
    if (rt_name_key(it->key, sizeof(it->key), tenant, channel) ||
        rt_envelope_init(&env, channel, event, tenant, NULL,
                         data ? json_incref(data) : json_object())) {
        snprintf(msg, cap, "channel: invalid");
        return RT_EINVAL;
    }
    it->body = rt_envelope_dumps(&env, false, true);
    rt_envelope_clear(&env);
    if (!it->body) {
        snprintf(msg, cap, "data: cannot be encoded");
        return RT_EINVAL;
    }
    it->dedupe[0] = '\0';
    if (idem) {
        unsigned char h[32];
        char hex[65];
        ingest_sha256(json_string_value(idem), json_string_length(idem), h);
        ingest_hex_encode(h, 16, hex);
        snprintf(it->dedupe, sizeof(it->dedupe), "rt:{%s}:idem:%s", tenant, hex);
    }
    *tenant_out = tenant;
    return 0;
}

/* A stream id as Redis writes it: digits, '-', digits (so it needs no JSON escaping). */
static bool stream_id_plain(const char *id)
{
    size_t n = strspn(id, "0123456789");
    return n > 0 && id[n] == '-' && id[n + 1 + strspn(id + n + 1, "0123456789")] == '\0';
}

/* {"id":"..."} or {"ids":[...]}, written without building a JSON tree: this is every
 * successful request's reply. */
static void reply_ids(struct evhttp_request *req, char *const *ids, size_t n, bool single)
{
    size_t cap = 16;
    for (size_t i = 0; i < n; i++) {
        if (!stream_id_plain(ids[i])) { /* never from Redis; keep the general encoder for it */
            json_t *arr = json_array();
            for (size_t j = 0; j < n; j++)
                json_array_append_new(arr, json_string(ids[j]));
            if (single)
                rt_httpd_reply_json(req, 200, json_pack("{s:s}", "id", ids[0]));
            else
                rt_httpd_reply_json(req, 200, json_pack("{s:O}", "ids", arr));
            json_decref(arr);
            return;
        }
        cap += strlen(ids[i]) + 3;
    }
    char *out = rt_xmalloc(cap), *p = out;
    p = stpcpy(p, single ? "{\"id\":" : "{\"ids\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        *p++ = '"';
        p = stpcpy(p, ids[i]);
        *p++ = '"';
    }
    p = stpcpy(p, single ? "}" : "]}");
    rt_httpd_reply_raw(req, 200, "application/json", out, (size_t)(p - out));
    free(out);
}

static void on_stored(int status, char *const *ids, size_t n, void *arg)
{
    struct batch *b = arg;
    struct ingest_publish_api *api = b->api;
    if (status) {
        RT_WARN("publish.failed", "publish not stored", RT_LF_UINT("events", n), RT_LF_ERR(status));
        ingest_refuse(b->req, api->metrics, "publish", "", 503, "redis_unavailable",
                      "retry with the same idempotency keys", (unsigned)api->cfg->retry_after);
        free(b);
        return;
    }
    rt_metric_observe(api->latency, ingest_mono_now() - b->t0);
    rt_metric_add(api->events, (double)n);
    reply_ids(b->req, ids, n, b->single);
    free(b);
}

/* Takes tokens per tenant of the batch, all or none; returns 0 or the Retry-After seconds. */
static unsigned rate_check(struct ingest_publish_api *api, const char **tenants, size_t n)
{
    const char **uniq = rt_xcalloc(n, sizeof(*uniq));
    double *counts = rt_xcalloc(n, sizeof(*counts));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < k && strcmp(uniq[j], tenants[i]) != 0)
            j++;
        if (j == k)
            uniq[k++] = tenants[i];
        counts[j] += 1;
    }
    unsigned wait = ingest_ratelimit_take_all(api->limits, uniq, counts, k, ingest_mono_now());
    free(uniq);
    free(counts);
    return wait;
}

/* One script call stores the whole request, in order, or nothing when Redis is down. */
static void send_batch(struct ingest_publish_api *api, struct evhttp_request *req,
                       struct item *items, size_t n, bool single, double t0)
{
    struct ingest_batchpub_item *bi = rt_xcalloc(n, sizeof(*bi));
    for (size_t i = 0; i < n; i++)
        bi[i] = (struct ingest_batchpub_item){.key = items[i].key,
                                              .dedupe = items[i].dedupe[0] ? items[i].dedupe : NULL,
                                              .body = items[i].body,
                                              .len = strlen(items[i].body)};
    struct batch *b = rt_xcalloc(1, sizeof(*b));
    *b = (struct batch){.api = api, .req = req, .single = single, .t0 = t0};
    int rc = ingest_batchpub_send(api->store, bi, n, on_stored, b);
    free(bi);
    if (rc) {
        free(b);
        RT_WARN("publish.failed", "publish not stored", RT_LF_UINT("events", n), RT_LF_ERR(rc));
        ingest_refuse(req, api->metrics, "publish", "", 503, "redis_unavailable",
                      "retry with the same idempotency keys", (unsigned)api->cfg->retry_after);
    }
}

/* The bearer key's owner; refuses (401) and returns false when missing or unknown. */
static bool authenticate(struct ingest_publish_api *api, struct evhttp_request *req, bool *admin,
                         const char **tenant)
{
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 ||
        !ingest_apikeys_find(api->keys, auth + 7, strlen(auth + 7), admin, tenant)) {
        RT_WARN("publish.rejected", "publish refused", RT_LF_INT("status", 401),
                RT_LF_STR("reason", auth ? "bad_key" : "missing_key"));
        ingest_refuse(req, api->metrics, "publish", "", 401, auth ? "bad_key" : "missing_key",
                      "Authorization: Bearer <api key> required", 0);
        return false;
    }
    return true;
}

static void handle(struct ingest_publish_api *api, struct evhttp_request *req, json_t *root,
                   bool admin, const char *key_tenant, double t0)
{
    bool single = !json_is_array(root);
    size_t n = single ? 1 : json_array_size(root);
    char msg[200];
    int status = 400;
    if (n == 0 || n > INGEST_PUBLISH_BATCH_MAX) {
        ingest_refuse(req, api->metrics, "publish", "", 400, "bad_batch_size",
                      "a batch holds 1 to 1000 events", 0);
        return;
    }
    struct item *items = rt_xcalloc(n, sizeof(*items));
    const char **tenants = rt_xcalloc(n, sizeof(*tenants));
    size_t built = 0, unknown_len = 0;
    int rc = 0;
    for (; built < n; built++) {
        json_t *o = single ? root : json_array_get(root, built);
        rc = build_item(o, admin, key_tenant, &items[built], &tenants[built], &status, msg,
                        sizeof(msg), &unknown_len);
        if (rc)
            break;
    }
    if (rc) {
        char full[260];
        if (single)
            snprintf(full, sizeof(full), "%s", msg);
        else
            snprintf(full, sizeof(full), "event %zu: %s", built, msg);
        if (unknown_len) /* the log never quotes the body: the key by its length only */
            RT_WARN("publish.rejected", "publish refused", RT_LF_INT("status", status),
                    RT_LF_STR("tenant", key_tenant), RT_LF_STR("reason", "unknown key"),
                    RT_LF_UINT("event_index", built), RT_LF_UINT("key_len", unknown_len));
        else
            RT_WARN("publish.rejected", "publish refused", RT_LF_INT("status", status),
                    RT_LF_STR("tenant", key_tenant), RT_LF_STR("reason", full));
        ingest_refuse(req, api->metrics, "publish", "", status,
                      status == 403 ? "forbidden_tenant" : "bad_request", full, 0);
    } else {
        unsigned wait = rate_check(api, tenants, n);
        if (wait)
            ingest_refuse(req, api->metrics, "publish", "", 429, "rate_limited",
                          "tenant rate limit exceeded", wait);
        else
            send_batch(api, req, items, n, single, t0);
    }
    for (size_t i = 0; i < n; i++)
        free(items[i].body);
    free(items);
    free(tenants);
}

static void on_publish(struct evhttp_request *req, void *arg)
{
    struct ingest_publish_api *api = arg;
    double t0 = ingest_mono_now();
    bool admin = false;
    const char *tenant = NULL;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
        ingest_refuse(req, api->metrics, "publish", "", 405, "method_not_allowed", NULL, 0);
        return;
    }
    if (!authenticate(api, req, &admin, &tenant))
        return;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len > (size_t)api->cfg->publish_max_body) {
        ingest_refuse(req, api->metrics, "publish", "", 413, "body_too_large", NULL, 0);
        return;
    }
    json_error_t jerr;
    json_t *root = json_loadb(len ? (const char *)evbuffer_pullup(in, -1) : "", len,
                              JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !(json_is_object(root) || json_is_array(root))) {
        json_decref(root);
        ingest_refuse(req, api->metrics, "publish", "", 400, "malformed_json",
                      "expected a JSON object or array", 0);
        return;
    }
    handle(api, req, root, admin, tenant, t0);
    json_decref(root);
}

struct ingest_publish_api *ingest_publish_api_new(const struct ingest_config *cfg,
                                                  const struct ingest_apikeys *keys,
                                                  struct rt_evproc *proc)
{
    struct ingest_publish_api *api = rt_xcalloc(1, sizeof(*api));
    api->cfg = cfg;
    api->keys = keys;
    api->store = ingest_batchpub_new(proc->redis, (unsigned long)cfg->stream_maxlen,
                                     (unsigned)cfg->idempotency_ttl);
    ingest_batchpub_set_maxage(api->store, (unsigned long)cfg->stream_maxage_s);
    api->metrics = proc->metrics;
    api->limits = ingest_ratelimit_new((double)cfg->rate, (double)cfg->rate_burst);
    api->latency =
        rt_metrics_get(api->metrics, RT_METRIC_HISTOGRAM, "rt_ingest_publish_latency_seconds",
                       "publish API receive to Redis acknowledgement", NULL,
                       rt_metrics_latency_bounds, rt_metrics_latency_nbounds);
    api->events =
        rt_metrics_get(api->metrics, RT_METRIC_COUNTER, "rt_ingest_published_events_total",
                       "events stored through the publish API", NULL, NULL, 0);
    rt_httpd_route(proc->httpd, "/api/v1/publish", false, on_publish, api);
    return api;
}

void ingest_publish_api_free(struct ingest_publish_api *api)
{
    if (!api)
        return;
    ingest_ratelimit_free(api->limits);
    ingest_batchpub_free(api->store);
    free(api);
}

void ingest_publish_api_on_ready(struct ingest_publish_api *api)
{
    ingest_batchpub_on_ready(api->store);
}
