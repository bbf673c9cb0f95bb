/* rt-ingest: PostgreSQL changes, telephony webhooks and the publish API become events. */
#include "apikeys.h"
#include "config.h"
#include "pg_repl.h"
#include "publish_api.h"
#include "routes.h"
#include "secrets.h"
#include "webhook.h"

#include "rt/err.h"
#include "rt/evproc.h"
#include "rt/httpd_event.h"
#include "rt/log.h"
#include "rt/publish.h"

#include <event2/event.h>
#include <stdlib.h>

struct ingest {
    const struct ingest_config *cfg; /* borrowed */
    struct rt_evproc proc;
    struct ingest_secrets *secrets;     /* owned; NULL: no webhook tenants */
    struct ingest_apikeys *apikeys;     /* owned; NULL: publish API refuses every key */
    struct ingest_webhooks *webhooks;   /* owned */
    struct ingest_publish_api *publish; /* owned */
    struct ingest_routes *routes;       /* owned */
    struct ingest_pg *pg;               /* owned; NULL when RT_PG_CONNINFO is unset */
    int exit_code;
};

static bool extra_ready(void *arg, char *reason, size_t cap)
{
    struct ingest *in = arg;
    return !in->pg || ingest_pg_ready(in->pg, reason, cap);
}

static void on_stop(void *arg)
{
    struct ingest *in = arg;
    ingest_pg_stop(in->pg);
}

static void on_pg_fatal(void *arg, int exit_code)
{
    struct ingest *in = arg;
    in->exit_code = exit_code;
    ingest_pg_stop(in->pg);
    event_base_loopexit(in->proc.base, NULL);
}

static struct ingest_pg *pg_start(struct ingest *in)
{
    const struct ingest_config *c = in->cfg;
    struct ingest_pg_opts o = {.conninfo = c->pg_conninfo,
                               .slot = c->pg_slot,
                               .publication = c->pg_publication,
                               .create_slot = c->pg_create_slot,
                               .create_publication = c->pg_create_publication,
                               .window = (unsigned)c->pg_window,
                               .max_row_bytes = (size_t)c->pg_max_row_bytes,
                               .maxlen = (unsigned long)c->stream_maxlen,
                               .maxage_s = (unsigned long)c->stream_maxage_s,
                               .lock_ttl_ms = (unsigned)c->pg_lock_ttl_ms,
                               .status_interval_ms = (unsigned)c->pg_status_interval_ms,
                               .lag_warn_bytes = (unsigned long long)c->pg_lag_warn_bytes};
    return ingest_pg_new(&in->proc, in->routes, &o, on_pg_fatal, in);
}

static void on_redis(void *arg, bool ready)
{
    struct ingest *in = arg;
    if (ready) {
        if (in->pg)
            ingest_pg_on_redis_ready(in->pg);
        ingest_webhooks_on_ready(in->webhooks);
        ingest_publish_api_on_ready(in->publish);
    }
}

/* The webhook secrets and API key files; returns 0 or RT_ECONFIG after logging why. */
static int load_files(struct ingest *in)
{
    char err[300];
    int rc = 0;
    if (in->cfg->webhook_secrets &&
        (rc = ingest_secrets_load(in->cfg->webhook_secrets, &in->secrets, err, sizeof(err))))
        RT_ERROR("config.invalid", "RT_WEBHOOK_SECRETS", RT_LF_STR("setting", "RT_WEBHOOK_SECRETS"),
                 RT_LF_STR("error", err));
    else if (ingest_secrets_uses(in->secrets, INGEST_PROVIDER_TWILIO) && !in->cfg->public_url &&
             (rc = RT_ECONFIG))
        RT_ERROR("config.invalid", "Twilio signs the URL it called: RT_PUBLIC_URL is required",
                 RT_LF_STR("setting", "RT_PUBLIC_URL"));
    else if (in->cfg->api_keys &&
             (rc = ingest_apikeys_load(in->cfg->api_keys, &in->apikeys, err, sizeof(err))))
        RT_ERROR("config.invalid", "RT_API_KEYS", RT_LF_STR("setting", "RT_API_KEYS"),
                 RT_LF_STR("error", err));
    return rc ? RT_ECONFIG : 0;
}

int main(int argc, char **argv)
{
    struct ingest_config cfg = {0};
    struct ingest in = {.cfg = &cfg};
    int rc = ingest_config_load(&cfg, argc, argv);
    if (rc) {
        ingest_config_free(&cfg);
        return rc == RT_CFG_EXIT_OK ? 0 : 2;
    }
    rt_log_init("rt-ingest", cfg.common.log_level, cfg.common.log_format);
    char err[300];
    rc = ingest_routes_load(&in.routes, cfg.routes, err, sizeof(err));
    if (rc) {
        RT_ERROR("config.invalid", "RT_INGEST_ROUTES is invalid", RT_LF_STR("path", cfg.routes),
                 RT_LF_STR("error", err), RT_LF_ERR(rc));
        ingest_config_free(&cfg);
        return 2;
    }

    in.proc.on_redis = on_redis;
    in.proc.arg = &in;
    in.proc.extra_ready = extra_ready;
    in.proc.liveness = true; /* rt-health lists the live rt-ingest instances */
    in.proc.on_stop = on_stop;
    if (load_files(&in)) {
        ingest_apikeys_free(in.apikeys);
        ingest_secrets_free(in.secrets);
        ingest_routes_free(in.routes);
        ingest_config_free(&cfg);
        return 2;
    }
    rc = rt_evproc_init(&in.proc, "rt-ingest", &cfg.common, cfg.listen, 1024 * 1024 + 4096);
    if (rc == 0) {
        rt_httpd_set_timeout(in.proc.httpd, (int)cfg.request_timeout_s);
        in.webhooks = ingest_webhooks_new(&cfg, in.secrets, &in.proc);
        in.publish = ingest_publish_api_new(&cfg, in.apikeys, &in.proc);
        if (cfg.pg_conninfo)
            in.pg = pg_start(&in);
        rc = rt_evproc_run(&in.proc);
    }

    /* the rconn goes first so that writes in flight finish while their owners live */
    rt_evproc_deinit(&in.proc);
    ingest_pg_free(in.pg);
    ingest_publish_api_free(in.publish);
    ingest_webhooks_free(in.webhooks);
    ingest_apikeys_free(in.apikeys);
    ingest_secrets_free(in.secrets);
    ingest_routes_free(in.routes);
    ingest_config_free(&cfg);
    RT_INFO("process.exit", "stopped", RT_LF_ERR(rc), RT_LF_INT("code", in.exit_code));
    libevent_global_shutdown();
    return in.exit_code ? in.exit_code : rc ? 1 : 0;
}
