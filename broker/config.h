/* rt-health settings (one table in config.c drives env, flags and --help). */
#ifndef HEALTH_CONFIG_H
#define HEALTH_CONFIG_H

#include "rt/config.h"

struct health_config {
    struct rt_common_cfg common;
    char *listen;       /* RT_HEALTH_LISTEN */
    char *admin_key;    /* RT_ADMIN_KEY, secret */
    char *jwt_secret;   /* RT_JWT_SECRET, secret */
    char *jwt_jwks;     /* RT_JWT_JWKS */
    char *jwt_issuer;   /* RT_JWT_ISSUER */
    char *jwt_audience; /* RT_JWT_AUDIENCE */
    char *jwt_tenant_claim;
};

int health_config_load(struct health_config *cfg, int argc, char **argv);
void health_config_free(struct health_config *cfg);

#endif
