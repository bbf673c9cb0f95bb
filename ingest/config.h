/* rt-ingest settings (one table in config.c drives env, flags and --help). */
#ifndef INGEST_CONFIG_H
#define INGEST_CONFIG_H

#include "rt/config.h"

#include <stdbool.h>

struct ingest_config {
    struct rt_common_cfg common;
    char *listen;              /* RT_INGEST_LISTEN */
    char *pg_conninfo;         /* RT_PG_CONNINFO; NULL: PostgreSQL source off */
    char *pg_slot;             /* RT_PG_SLOT */
    char *pg_publication;      /* RT_PG_PUBLICATION */
    char *routes;              /* RT_INGEST_ROUTES */
    char *webhook_secrets;     /* RT_WEBHOOK_SECRETS */
    char *public_url;          /* RT_PUBLIC_URL */
    char *api_keys;            /* RT_API_KEYS */
    long long stream_maxlen;   /* RT_STREAM_MAXLEN */
    long long stream_maxage_s; /* RT_STREAM_MAXAGE_S: 0 none */
    /* webhooks and publish API (issue 5) */
    long long clock_override; /* RT_INGEST_CLOCK_OVERRIDE: test only; 0 = real clock */
    long long webhook_window;
    long long webhook_max_body;
    long long webhook_dedupe_ttl;
    long long call_ttl;
    long long publish_max_body;
    long long idempotency_ttl;
    long long rate;
    long long rate_burst;
    long long retry_after;
    long long webhook_rate;      /* RT_INGEST_WEBHOOK_RATE: 0 = no webhook rate limit */
    long long webhook_burst;     /* RT_INGEST_WEBHOOK_BURST */
    long long request_timeout_s; /* RT_INGEST_REQUEST_TIMEOUT_S */
    /* PostgreSQL source (docs/INGEST.md) */
    bool pg_create_slot;             /* RT_PG_CREATE_SLOT */
    bool pg_create_publication;      /* RT_PG_CREATE_PUBLICATION */
    long long pg_window;             /* RT_PG_WINDOW */
    long long pg_max_row_bytes;      /* RT_PG_MAX_ROW_BYTES */
    long long pg_lock_ttl_ms;        /* RT_PG_LOCK_TTL_MS */
    long long pg_status_interval_ms; /* RT_PG_STATUS_INTERVAL_MS */
    long long pg_lag_warn_bytes;     /* RT_PG_LAG_WARN_BYTES */
};

/* Returns 0, RT_CFG_EXIT_OK or RT_ECONFIG; call ingest_config_free on every path. */
int ingest_config_load(struct ingest_config *cfg, int argc, char **argv);
void ingest_config_free(struct ingest_config *cfg);

#endif
