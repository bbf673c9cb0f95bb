#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define C struct ingest_config

/* Slot and publication names go into replication commands unquoted-safe: [a-z0-9_]{1,63}. */
static int check_pg_name(const char *value, char *expected, size_t cap)
{
    size_t n = strlen(value);
    for (size_t i = 0; i < n; i++) {
        char c = value[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            n = 0;
    }
    if (n >= 1 && n <= 63)
        return 0;
    snprintf(expected, cap, "1-63 of [a-z0-9_]");
    return 1;
}

static const struct rt_cfg_def defs[] = {
    RT_CFG_COMMON_DEFS(C, common),
    {.env = "RT_INGEST_LISTEN", .type = RT_CFG_STR, .offset = offsetof(C, listen),
     .def = "127.0.0.1:8081", .check = rt_cfg_check_listen,
     .help = "webhooks, publish API and probes (host:port)"},
    {.env = "RT_PG_CONNINFO", .type = RT_CFG_STR, .offset = offsetof(C, pg_conninfo),
     .secret = true, .help = "libpq connection string; unset turns the PostgreSQL source off"},
    {.env = "RT_PG_SLOT", .type = RT_CFG_STR, .offset = offsetof(C, pg_slot), .def = "rt_slot",
     .check = check_pg_name, .help = "logical replication slot"},
    {.env = "RT_PG_PUBLICATION", .type = RT_CFG_STR, .offset = offsetof(C, pg_publication),
     .def = "rt_pub", .check = check_pg_name, .help = "publication to stream"},
    {.env = "RT_INGEST_ROUTES", .type = RT_CFG_STR, .offset = offsetof(C, routes),
     .help = "routing file (tables, tenant and user columns, calls table); unset: built-in "
             "tenant column organization_id"},
    {.env = "RT_WEBHOOK_SECRETS", .type = RT_CFG_STR, .offset = offsetof(C, webhook_secrets),
     .help = "file of per-tenant, per-provider webhook secrets"},
    {.env = "RT_PUBLIC_URL", .type = RT_CFG_STR, .offset = offsetof(C, public_url),
     .check = rt_cfg_check_http_url, .help = "public base URL providers call (for signatures)"},
    {.env = "RT_API_KEYS", .type = RT_CFG_STR, .offset = offsetof(C, api_keys),
     .help = "file of hashed publish-API keys per tenant and the admin keys"},
    {.env = "RT_STREAM_MAXLEN", .type = RT_CFG_INT, .offset = offsetof(C, stream_maxlen),
     .def = "10000", .min = 100, .max = 100000000,
     .help = "approximate number of events kept per channel stream (retention for recovery)"},
    /* webhooks and publish API (issue 5) */
    {.env = "RT_INGEST_CLOCK_OVERRIDE", .type = RT_CFG_INT, .offset = offsetof(C, clock_override),
     .def = "0", .min = 0, .max = 99999999999LL,
     .help = "TEST ONLY: pin the clock used for signature timestamp windows (Unix seconds); 0 uses "
             "the real clock"},
    {.env = "RT_INGEST_WEBHOOK_WINDOW", .type = RT_CFG_INT, .offset = offsetof(C, webhook_window),
     .def = "300", .min = 1, .max = 86400,
     .help = "seconds a Telnyx, Vonage or generic webhook timestamp may be off the clock"},
    {.env = "RT_INGEST_WEBHOOK_MAX_BODY", .type = RT_CFG_INT,
     .offset = offsetof(C, webhook_max_body), .def = "65536", .min = 1024, .max = 1048576,
     .help = "largest webhook body in bytes (413 beyond)"},
    {.env = "RT_INGEST_WEBHOOK_DEDUPE_TTL", .type = RT_CFG_INT,
     .offset = offsetof(C, webhook_dedupe_ttl), .def = "86400", .min = 60, .max = 2592000,
     .help = "seconds a webhook delivery is remembered for dedupe"},
    {.env = "RT_INGEST_CALL_TTL", .type = RT_CFG_INT, .offset = offsetof(C, call_ttl),
     .def = "86400", .min = 60, .max = 2592000,
     .help = "seconds the per-call ordering state lives after its last event"},
    {.env = "RT_INGEST_PUBLISH_MAX_BODY", .type = RT_CFG_INT,
     .offset = offsetof(C, publish_max_body), .def = "1048576", .min = 1024, .max = 1048576,
     .help = "largest publish API body in bytes (413 beyond)"},
    {.env = "RT_INGEST_IDEMPOTENCY_TTL", .type = RT_CFG_INT, .offset = offsetof(C, idempotency_ttl),
     .def = "86400", .min = 1, .max = 2592000,
     .help = "seconds a publish API idempotency_key is remembered"},
    {.env = "RT_INGEST_RATE", .type = RT_CFG_INT, .offset = offsetof(C, rate), .def = "1000",
     .min = 1, .max = 100000000, .help = "publish API events per second per tenant (per process)"},
    {.env = "RT_INGEST_RATE_BURST", .type = RT_CFG_INT, .offset = offsetof(C, rate_burst),
     .def = "2000", .min = 1000, .max = 100000000,
     .help = "publish API token bucket size per tenant (at least one full batch)"},
    {.env = "RT_INGEST_RETRY_AFTER", .type = RT_CFG_INT, .offset = offsetof(C, retry_after),
     .def = "5", .min = 1, .max = 3600, .help = "Retry-After seconds sent with 503 (Redis down)"},
    {.env = "RT_PG_CREATE_SLOT", .type = RT_CFG_BOOL, .offset = offsetof(C, pg_create_slot),
     .def = "true", .help = "create the replication slot (pgoutput) when it does not exist"},
    {.env = "RT_PG_CREATE_PUBLICATION", .type = RT_CFG_BOOL,
     .offset = offsetof(C, pg_create_publication), .def = "false",
     .help = "create the publication FOR ALL TABLES when it does not exist"},
    {.env = "RT_PG_WINDOW", .type = RT_CFG_INT, .offset = offsetof(C, pg_window), .def = "4096",
     .min = 1, .max = 1000000,
     .help = "Redis writes in flight before the replication socket is no longer read"},
    {.env = "RT_PG_MAX_ROW_BYTES", .type = RT_CFG_INT, .offset = offsetof(C, pg_max_row_bytes),
     .def = "262144", .min = 1024, .max = 786432,
     .help = "larger row events carry only key columns and \"truncated\": true"},
    {.env = "RT_PG_DEDUPE_TTL", .type = RT_CFG_INT, .offset = offsetof(C, pg_dedupe_ttl),
     .def = "3600", .min = 10, .max = 604800,
     .help = "seconds a per-event dedupe key lives (replays after a crash within it are exact)"},
    {.env = "RT_PG_LOCK_TTL_MS", .type = RT_CFG_INT, .offset = offsetof(C, pg_lock_ttl_ms),
     .def = "3000", .min = 300, .max = 60000,
     .help = "slot lock lifetime; a standby takes over within about 1.3 times this"},
    {.env = "RT_PG_STATUS_INTERVAL_MS", .type = RT_CFG_INT,
     .offset = offsetof(C, pg_status_interval_ms), .def = "1000", .min = 50, .max = 60000,
     .help = "standby status (confirmed LSN) update interval"},
    {.env = "RT_PG_LAG_WARN_BYTES", .type = RT_CFG_INT, .offset = offsetof(C, pg_lag_warn_bytes),
     .def = "268435456", .min = 0, .max = 1LL << 50,
     .help = "warn when unconfirmed WAL exceeds this many bytes"},
};

int ingest_config_load(struct ingest_config *cfg, int argc, char **argv)
{
    return rt_config_load(defs, sizeof(defs) / sizeof(defs[0]), cfg, "rt-ingest", argc, argv,
                          NULL);
}

void ingest_config_free(struct ingest_config *cfg)
{
    rt_config_free(defs, sizeof(defs) / sizeof(defs[0]), cfg);
}
