/* rt-edge settings (one table in config.c drives env, flags and --help). */
#ifndef EDGE_CONFIG_H
#define EDGE_CONFIG_H

#include "rt/config.h"

struct edge_config {
    struct rt_common_cfg common;
    char *listen;       /* RT_EDGE_LISTEN */
    char *jwt_secret;   /* RT_JWT_SECRET, secret */
    char *jwt_jwks;     /* RT_JWT_JWKS */
    char *jwt_issuer;   /* RT_JWT_ISSUER */
    char *jwt_audience; /* RT_JWT_AUDIENCE */
    char *jwt_tenant_claim;
    char *tls_cert; /* RT_EDGE_TLS_CERT */
    char *tls_key;  /* RT_EDGE_TLS_KEY */
};

int edge_config_load(struct edge_config *cfg, int argc, char **argv);
void edge_config_free(struct edge_config *cfg);

#endif
