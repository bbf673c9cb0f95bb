#include "config.h"

#include <stddef.h>

#define C struct ingest_config

static const struct rt_cfg_def defs[] = {
    RT_CFG_COMMON_DEFS(C, common),
    {.env = "RT_INGEST_LISTEN", .type = RT_CFG_STR, .offset = offsetof(C, listen),
     .def = "127.0.0.1:8081", .check = rt_cfg_check_listen,
     .help = "webhooks, publish API and probes (host:port)"},
    {.env = "RT_PG_CONNINFO", .type = RT_CFG_STR, .offset = offsetof(C, pg_conninfo),
     .secret = true, .help = "libpq connection string; unset turns the PostgreSQL source off"},
    {.env = "RT_PG_SLOT", .type = RT_CFG_STR, .offset = offsetof(C, pg_slot), .def = "rt_slot",
     .help = "logical replication slot"},
    {.env = "RT_PG_PUBLICATION", .type = RT_CFG_STR, .offset = offsetof(C, pg_publication),
     .def = "rt_pub", .help = "publication to stream"},
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
