/* rt-ingest: PostgreSQL changes, telephony webhooks and the publish API become events. */
#include "apikeys.h"
#include "config.h"
#include "publish_api.h"
#include "secrets.h"
#include "webhook.h"

#include "rt/err.h"
#include "rt/evproc.h"
#include "rt/log.h"
#include "rt/publish.h"

#include <event2/event.h>
#include <stdlib.h>

struct ingest {
    const struct ingest_config *cfg; /* borrowed */
    struct rt_evproc proc;
    struct rt_publisher *publisher; /* owned */

    struct ingest_secrets *secrets;     /* owned; NULL: no webhook tenants */
    struct ingest_apikeys *apikeys;     /* owned; NULL: publish API refuses every key */
    struct ingest_webhooks *webhooks;   /* owned */
    struct ingest_publish_api *publish; /* owned */
};

static void on_redis(void *arg, bool ready)
{
    struct ingest *in = arg;
    if (ready) {
        rt_publisher_on_ready(in->publisher);
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

    in.proc.on_redis = on_redis;
    in.proc.arg = &in;
    if (load_files(&in)) {
        ingest_apikeys_free(in.apikeys);
        ingest_secrets_free(in.secrets);
        ingest_config_free(&cfg);
        return 2;
    }
    rc = rt_evproc_init(&in.proc, "rt-ingest", &cfg.common, cfg.listen, 1024 * 1024 + 4096);
    if (rc == 0) {
        in.publisher = rt_publisher_new(in.proc.redis, (unsigned long)cfg.stream_maxlen);
        in.webhooks = ingest_webhooks_new(&cfg, in.secrets, &in.proc);
        in.publish = ingest_publish_api_new(&cfg, in.apikeys, &in.proc);
        rc = rt_evproc_run(&in.proc);
    }

    /* the rconn goes first so that publishes in flight finish while the publisher lives */
    rt_evproc_deinit(&in.proc);
    ingest_publish_api_free(in.publish);
    ingest_webhooks_free(in.webhooks);
    rt_publisher_free(in.publisher);
    ingest_apikeys_free(in.apikeys);
    ingest_secrets_free(in.secrets);
    ingest_config_free(&cfg);
    RT_INFO("process.exit", "stopped", RT_LF_ERR(rc));
    libevent_global_shutdown();
    return rc ? 1 : 0;
}
