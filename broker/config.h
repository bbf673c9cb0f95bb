/* rt-health settings (one table in config.c drives env, flags and --help). */
#ifndef HEALTH_CONFIG_H
#define HEALTH_CONFIG_H

#include "rt/config.h"

struct health_config {
    struct rt_common_cfg common;
    char *listen;       /* RT_HEALTH_LISTEN */
    char *admin_key;    /* RT_ADMIN_KEY, secret */
    char *cors_origins; /* RT_HEALTH_CORS_ORIGINS: NULL means no CORS */
    struct rt_jwt_cfg jwt;
    long long stream_maxlen;   /* RT_STREAM_MAXLEN: call_timeout events on calls */
    long long stream_maxage_s; /* RT_STREAM_MAXAGE_S: 0 none */
    char *group;               /* RT_HEALTH_GROUP: consumer group on rt:calls:all */
    char *consumer;            /* RT_HEALTH_CONSUMER: NULL means <hostname>-<pid> */
    long long batch;           /* entries per XREADGROUP / XAUTOCLAIM */
    long long block_ms;        /* XREADGROUP BLOCK */
    long long claim_idle_ms;   /* XAUTOCLAIM min idle time */
    long long ring_timeout_ms; /* initiated/ringing longer than this times out */
    long long max_call_ms;     /* answered longer than this times out */
    long long grace_ms;        /* no timeout before this long after the call started */
    long long webhook_stale_ms;
    long long interval_ms; /* health snapshot period */
    long long tick_ms;     /* timeout scan, lag poll, liveness, status-change check */
    long long max_lag;     /* /readyz: entries not yet delivered plus pending */
    long long failure_degraded_pct, failure_unhealthy_pct;
    long long unanswered_degraded_pct;
    long long min_calls; /* terminal calls in 5 min before rates move the status */
    long long call_ttl_s;
    long long instance_ttl_ms;
};

int health_config_load(struct health_config *cfg, int argc, char **argv);
void health_config_free(struct health_config *cfg);

#endif
