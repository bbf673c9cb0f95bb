/* rt-edge settings (one table in config.c drives env, flags and --help). */
#ifndef EDGE_CONFIG_H
#define EDGE_CONFIG_H

#include "rt/config.h"

struct edge_config {
    struct rt_common_cfg common;
    char *listen; /* RT_EDGE_LISTEN */
    struct rt_jwt_cfg jwt;
    long long jwks_refresh_s;   /* RT_EDGE_JWKS_REFRESH_S */
    char *tls_cert;             /* RT_EDGE_TLS_CERT */
    char *tls_key;              /* RT_EDGE_TLS_KEY */
    char *instance_id;          /* RT_EDGE_INSTANCE_ID; NULL: host-pid */
    long long heartbeat_ms;     /* RT_EDGE_HEARTBEAT_MS */
    long long auth_timeout_ms;  /* RT_EDGE_AUTH_TIMEOUT_MS */
    long long max_msg_bytes;    /* RT_EDGE_MAX_MESSAGE_BYTES: inbound message */
    long long max_subs;         /* RT_EDGE_MAX_SUBSCRIPTIONS per connection */
    long long max_conns_user;   /* RT_EDGE_MAX_CONNECTIONS_PER_USER */
    long long max_msgs_per_s;   /* RT_EDGE_MAX_MESSAGES_PER_SECOND per connection */
    long long queue_max_msgs;   /* RT_EDGE_QUEUE_MAX_MESSAGES */
    long long queue_max_bytes;  /* RT_EDGE_QUEUE_MAX_BYTES */
    long long drain_timeout_ms; /* RT_EDGE_DRAIN_TIMEOUT_MS */
    long long reconnect_min_ms; /* RT_EDGE_RECONNECT_MIN_MS */
    long long reconnect_max_ms; /* RT_EDGE_RECONNECT_MAX_MS */
    long long liveness_ttl_s;   /* RT_EDGE_LIVENESS_TTL_S */
    char *dashboard_dir;        /* RT_EDGE_DASHBOARD_DIR; NULL: no dashboard */
    long long poll_max_held;    /* RT_EDGE_POLL_MAX_HELD: long-poll requests held at once */

    long long jwks_min_refresh_s; /* RT_EDGE_JWKS_MIN_REFRESH_S: unknown-kid refetch */
    long long jwks_timeout_ms;    /* RT_EDGE_JWKS_TIMEOUT_MS */
    char *jwks_ca_file;           /* RT_EDGE_JWKS_CA_FILE; NULL: system CAs */
};

int edge_config_load(struct edge_config *cfg, int argc, char **argv);
void edge_config_free(struct edge_config *cfg);

#endif
