#include "config.h"

#include "cors.h"

#include <stddef.h>

#define C struct health_config
#define INT(name, field, dflt, lo, hi, text)                                                       \
    {                                                                                              \
        .env = name, .type = RT_CFG_INT, .offset = offsetof(C, field), .def = dflt, .min = lo,     \
        .max = hi, .help = text                                                                    \
    }

static const struct rt_cfg_def defs[] = {
    RT_CFG_COMMON_DEFS(C, common),
    RT_CFG_JWT_DEFS(C, jwt),
    RT_CFG_STREAM_DEFS(C, stream_maxlen, stream_maxage_s),
    {.env = "RT_HEALTH_LISTEN",
     .type = RT_CFG_STR,
     .offset = offsetof(C, listen),
     .def = "127.0.0.1:8082",
     .check = rt_cfg_check_listen,
     .help = "health API and probes (host:port)"},
    {.env = "RT_ADMIN_KEY",
     .type = RT_CFG_STR,
     .offset = offsetof(C, admin_key),
     .secret = true,
     .help = "admin bearer key for the summary endpoint"},
    {.env = "RT_HEALTH_CORS_ORIGINS",
     .type = RT_CFG_STR,
     .offset = offsetof(C, cors_origins),
     .check = health_cors_check,
     .help = "origins allowed to call the health API from a browser (comma-separated, e.g. "
             "http://127.0.0.1:8080); unset: no CORS headers"},
    {.env = "RT_HEALTH_GROUP",
     .type = RT_CFG_STR,
     .offset = offsetof(C, group),
     .def = "rt-health",
     .help = "consumer group on rt:calls:all"},
    {.env = "RT_HEALTH_CONSUMER",
     .type = RT_CFG_STR,
     .offset = offsetof(C, consumer),
     .help = "consumer name in the group (default <hostname>-<pid>)"},
    INT("RT_HEALTH_BATCH", batch, "256", 1, 10000, "entries per read or claim"),
    INT("RT_HEALTH_BLOCK_MS", block_ms, "1000", 1, 60000, "XREADGROUP BLOCK time"),
    INT("RT_HEALTH_CLAIM_IDLE_MS", claim_idle_ms, "30000", 100, 86400000,
        "claim entries a dead consumer left pending this long"),
    INT("RT_HEALTH_RING_TIMEOUT_MS", ring_timeout_ms, "60000", 1, 86400000,
        "initiated/ringing longer than this plus the grace gets call_timeout"),
    INT("RT_HEALTH_MAX_CALL_MS", max_call_ms, "14400000", 1, 604800000,
        "answered longer than this gets call_timeout"),
    INT("RT_HEALTH_GRACE_MS", grace_ms, "30000", 0, 86400000,
        "no timeout before this long after a call started; added to the ring timeout"),
    INT("RT_HEALTH_WEBHOOK_STALE_MS", webhook_stale_ms, "300000", 1, 86400000,
        "a provider is stale after this long without a webhook while calls are active"),
    INT("RT_HEALTH_INTERVAL_MS", interval_ms, "10000", 100, 3600000,
        "health snapshot period on each tenant's health channel"),
    INT("RT_HEALTH_TICK_MS", tick_ms, "1000", 10, 60000,
        "timeout scan, lag poll, liveness and status-change period"),
    INT("RT_HEALTH_MAX_LAG", max_lag, "10000", 0, 100000000,
        "/readyz fails when undelivered plus pending entries exceed this"),
    INT("RT_HEALTH_FAILURE_DEGRADED_PCT", failure_degraded_pct, "10", 0, 100,
        "5 min failure rate (percent) that makes a tenant degraded (0: off)"),
    INT("RT_HEALTH_FAILURE_UNHEALTHY_PCT", failure_unhealthy_pct, "30", 0, 100,
        "5 min failure rate (percent) that makes a tenant unhealthy (0: off)"),
    INT("RT_HEALTH_UNANSWERED_DEGRADED_PCT", unanswered_degraded_pct, "60", 0, 100,
        "5 min unanswered rate (percent) that makes a tenant degraded (0: off)"),
    INT("RT_HEALTH_MIN_CALLS", min_calls, "5", 1, 1000000,
        "terminal calls in 5 min needed before rates move the status"),
    INT("RT_HEALTH_CALL_TTL_S", call_ttl_s, "86400", 60, 31536000,
        "how long an ended call's state is kept"),
    INT("RT_HEALTH_INSTANCE_TTL_MS", instance_ttl_ms, "5000", 100, 3600000,
        "TTL of a component's liveness registration"),
};

int health_config_load(struct health_config *cfg, int argc, char **argv)
{
    return rt_config_load(defs, sizeof(defs) / sizeof(defs[0]), cfg, "rt-health", argc, argv, NULL);
}

void health_config_free(struct health_config *cfg)
{
    rt_config_free(defs, sizeof(defs) / sizeof(defs[0]), cfg);
}
