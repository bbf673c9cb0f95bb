#include "config.h"

#include <stddef.h>

#define C struct edge_config
#define INT(name, field, dflt, lo, hi, text)                                                       \
    {                                                                                              \
        .env = name, .type = RT_CFG_INT, .offset = offsetof(C, field), .def = dflt, .min = lo,     \
        .max = hi, .help = text                                                                    \
    }

static const struct rt_cfg_def defs[] = {
    RT_CFG_COMMON_DEFS(C, common),
    RT_CFG_JWT_DEFS(C, jwt),
    {.env = "RT_EDGE_LISTEN",
     .type = RT_CFG_STR,
     .offset = offsetof(C, listen),
     .def = "127.0.0.1:8080",
     .check = rt_cfg_check_listen,
     .help = "WebSocket, polling API, dashboard and probes (host:port; port 0 picks one)"},
    INT("RT_EDGE_JWKS_REFRESH_S", jwks_refresh_s, "300", 1, 86400,
        "reload the JWKS file, or fetch the JWKS URL, this often"),
    INT("RT_EDGE_JWKS_MIN_REFRESH_S", jwks_min_refresh_s, "60", 1, 86400,
        "a token with an unknown kid refetches the JWKS at most this often"),
    INT("RT_EDGE_JWKS_TIMEOUT_MS", jwks_timeout_ms, "5000", 100, 60000,
        "deadline of a JWKS URL fetch, and so the longest an unknown-kid token waits for it"),
    {.env = "RT_EDGE_JWKS_CA_FILE",
     .type = RT_CFG_STR,
     .offset = offsetof(C, jwks_ca_file),
     .help = "PEM CA certificates trusted for an https:// RT_JWT_JWKS (default: the system CAs)"},
    {.env = "RT_EDGE_TLS_CERT",
     .type = RT_CFG_STR,
     .offset = offsetof(C, tls_cert),
     .help = "PEM certificate: serve TLS directly (with RT_EDGE_TLS_KEY)"},
    {.env = "RT_EDGE_TLS_KEY",
     .type = RT_CFG_STR,
     .offset = offsetof(C, tls_key),
     .secret = true,
     .help = "PEM private key for RT_EDGE_TLS_CERT"},
    {.env = "RT_EDGE_DASHBOARD_DIR",
     .type = RT_CFG_STR,
     .offset = offsetof(C, dashboard_dir),
     .help = "directory of the dashboard's static files, served under /dashboard/ (unset: off)"},
    {.env = "RT_EDGE_INSTANCE_ID",
     .type = RT_CFG_STR,
     .offset = offsetof(C, instance_id),
     .help = "instance id in the liveness key (default: <hostname>-<pid>)"},
    INT("RT_EDGE_HEARTBEAT_MS", heartbeat_ms, "30000", 200, 3600000,
        "WebSocket ping interval; silent for two intervals closes"),
    INT("RT_EDGE_AUTH_TIMEOUT_MS", auth_timeout_ms, "5000", 100, 600000,
        "time allowed for the first-frame auth message"),
    INT("RT_EDGE_MAX_MESSAGE_BYTES", max_msg_bytes, "65536", 256, 16777216,
        "largest inbound message; larger closes 1008"),
    INT("RT_EDGE_MAX_SUBSCRIPTIONS", max_subs, "100", 1, 100000,
        "subscriptions per connection; more answers error rate_limited"),
    INT("RT_EDGE_MAX_CONNECTIONS_PER_USER", max_conns_user, "20", 1, 100000,
        "open connections per user (tenant+sub) on this edge; more closes 4009"),
    INT("RT_EDGE_MAX_MESSAGES_PER_SECOND", max_msgs_per_s, "50", 1, 100000,
        "inbound messages per second per connection; more closes 4029"),
    INT("RT_EDGE_QUEUE_MAX_MESSAGES", queue_max_msgs, "1024", 1, 1000000,
        "outbound queue bound (messages); over it closes 4008"),
    INT("RT_EDGE_QUEUE_MAX_BYTES", queue_max_bytes, "4194304", 1024, 1073741824,
        "outbound queue bound (bytes); over it closes 4008"),
    INT("RT_EDGE_DRAIN_TIMEOUT_MS", drain_timeout_ms, "10000", 0, 600000,
        "on SIGTERM, exit after this long even with clients left"),
    INT("RT_EDGE_RECONNECT_MIN_MS", reconnect_min_ms, "500", 0, 600000,
        "drain: smallest after_ms told to clients"),
    INT("RT_EDGE_RECONNECT_MAX_MS", reconnect_max_ms, "5000", 0, 600000,
        "drain: largest after_ms told to clients"),
    INT("RT_EDGE_POLL_MAX_HELD", poll_max_held, "5000", 0, 1000000,
        "long-poll requests (GET /api/v1/events with wait) held at once; more answer 429"),
    INT("RT_EDGE_LIVENESS_TTL_S", liveness_ttl_s, "15", 3, 3600,
        "TTL of rt:instances:edge:<id>; refreshed every TTL/3"),
};

int edge_config_load(struct edge_config *cfg, int argc, char **argv)
{
    return rt_config_load(defs, sizeof(defs) / sizeof(defs[0]), cfg, "rt-edge", argc, argv, NULL);
}

void edge_config_free(struct edge_config *cfg)
{
    rt_config_free(defs, sizeof(defs) / sizeof(defs[0]), cfg);
}
