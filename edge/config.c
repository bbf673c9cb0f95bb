#include "config.h"

#include <stddef.h>

#define C struct edge_config

static const struct rt_cfg_def defs[] = {
    RT_CFG_COMMON_DEFS(C, common),
    {.env = "RT_EDGE_LISTEN", .type = RT_CFG_STR, .offset = offsetof(C, listen),
     .def = "127.0.0.1:8080", .check = rt_cfg_check_listen,
     .help = "WebSocket, polling API, dashboard and probes (host:port)"},
    {.env = "RT_JWT_SECRET", .type = RT_CFG_STR, .offset = offsetof(C, jwt_secret),
     .secret = true, .help = "HS256 secret (enables HS256)"},
    {.env = "RT_JWT_JWKS", .type = RT_CFG_STR, .offset = offsetof(C, jwt_jwks),
     .help = "JWKS file path or http(s) URL (enables RS256/ES256)"},
    {.env = "RT_JWT_ISSUER", .type = RT_CFG_STR, .offset = offsetof(C, jwt_issuer),
     .help = "required iss claim, checked when set"},
    {.env = "RT_JWT_AUDIENCE", .type = RT_CFG_STR, .offset = offsetof(C, jwt_audience),
     .help = "required aud claim, checked when set"},
    {.env = "RT_JWT_TENANT_CLAIM", .type = RT_CFG_STR, .offset = offsetof(C, jwt_tenant_claim),
     .def = "org_id", .help = "claim holding the tenant id"},
    {.env = "RT_EDGE_TLS_CERT", .type = RT_CFG_STR, .offset = offsetof(C, tls_cert),
     .help = "PEM certificate: serve TLS directly (with RT_EDGE_TLS_KEY)"},
    {.env = "RT_EDGE_TLS_KEY", .type = RT_CFG_STR, .offset = offsetof(C, tls_key),
     .secret = true, .help = "PEM private key for RT_EDGE_TLS_CERT"},
};

int edge_config_load(struct edge_config *cfg, int argc, char **argv)
{
    return rt_config_load(defs, sizeof(defs) / sizeof(defs[0]), cfg, "rt-edge", argc, argv, NULL);
}

void edge_config_free(struct edge_config *cfg)
{
    rt_config_free(defs, sizeof(defs) / sizeof(defs[0]), cfg);
}
