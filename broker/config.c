#include "config.h"

#include <stddef.h>

#define C struct health_config

static const struct rt_cfg_def defs[] = {
    RT_CFG_COMMON_DEFS(C, common),
    {.env = "RT_HEALTH_LISTEN", .type = RT_CFG_STR, .offset = offsetof(C, listen),
     .def = "127.0.0.1:8082", .check = rt_cfg_check_listen,
     .help = "health API and probes (host:port)"},
    {.env = "RT_ADMIN_KEY", .type = RT_CFG_STR, .offset = offsetof(C, admin_key), .secret = true,
     .help = "admin bearer key for the summary endpoint"},
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
};

int health_config_load(struct health_config *cfg, int argc, char **argv)
{
    return rt_config_load(defs, sizeof(defs) / sizeof(defs[0]), cfg, "rt-health", argc, argv,
                          NULL);
}

void health_config_free(struct health_config *cfg)
{
    rt_config_free(defs, sizeof(defs) / sizeof(defs[0]), cfg);
}
