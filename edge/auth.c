#include "auth.h"

#include "rt/err.h"
#include "rt/log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct edge_auth {
    struct rt_jwt_verifier *v; /* owned */
    char *jwks_path;           /* owned; NULL without JWKS */
    unsigned refresh_s;
    int64_t next_reload_s;
};

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static int reload(struct edge_auth *a)
{
    int rc = rt_jwt_load_jwks_file(a->v, a->jwks_path);
    a->next_reload_s = now_s() + a->refresh_s;
    if (rc)
        RT_WARN("auth.jwks_failed", "JWKS not loaded; keeping the previous keys",
                RT_LF_STR("path", a->jwks_path), RT_LF_ERR(rc));
    else
        RT_DEBUG("auth.jwks_loaded", "JWKS loaded", RT_LF_STR("path", a->jwks_path));
    return rc;
}

int edge_auth_open(struct edge_auth **out, const struct edge_config *cfg)
{
    struct rt_jwt_opts o = {.hs256_secret = cfg->jwt.secret,
                            .algs = cfg->jwt.algs,
                            .issuer = cfg->jwt.issuer,
                            .audience = cfg->jwt.audience,
                            .tenant_claim = cfg->jwt.tenant_claim,
                            .leeway_s = (unsigned)cfg->jwt.leeway_s,
                            .jwks_min_refresh_s = 60};
    *out = NULL;
    if (!cfg->jwt.secret && !cfg->jwt.jwks)
        RT_WARN("auth.no_keys", "neither RT_JWT_SECRET nor RT_JWT_JWKS is set: every token will "
                                "be refused");
    if (cfg->jwt.jwks &&
        (strncmp(cfg->jwt.jwks, "http://", 7) == 0 || strncmp(cfg->jwt.jwks, "https://", 8) == 0)) {
        RT_ERROR("config.invalid",
                 "RT_JWT_JWKS: fetching a JWKS over HTTP(S) is not supported "
                 "yet; give a file path (refreshed every RT_EDGE_JWKS_REFRESH_S)",
                 RT_LF_STR("jwks", cfg->jwt.jwks));
        return RT_ECONFIG;
    }
    struct edge_auth *a = rt_xcalloc(1, sizeof(*a));
    if (rt_jwt_verifier_open(&a->v, &o)) {
        RT_ERROR("config.invalid", "RT_JWT_ALGS names an unknown algorithm",
                 RT_LF_STR("algs", cfg->jwt.algs));
        free(a);
        return RT_ECONFIG;
    }
    a->refresh_s = (unsigned)cfg->jwks_refresh_s;
    if (cfg->jwt.jwks) {
        a->jwks_path = rt_xstrdup(cfg->jwt.jwks);
        if (reload(a)) {
            RT_ERROR("config.invalid", "RT_JWT_JWKS could not be loaded",
                     RT_LF_STR("path", a->jwks_path));
            edge_auth_free(a);
            return RT_ECONFIG;
        }
    }
    *out = a;
    return 0;
}

void edge_auth_free(struct edge_auth *a)
{
    if (!a)
        return;
    rt_jwt_verifier_free(a->v);
    free(a->jwks_path);
    free(a);
}

int edge_auth_verify(struct edge_auth *a, const char *token, struct rt_jwt_claims *claims,
                     enum rt_jwt_fail *why)
{
    int64_t now = now_s();
    int rc = rt_jwt_verify(a->v, token, now, claims, why);
    if (rc && *why == RT_JWT_UNKNOWN_KID && a->jwks_path && rt_jwt_jwks_wanted(a->v, now)) {
        /* a key rotation may have added the kid: reload once (rate-limited) and retry */
        if (reload(a) == 0)
            rc = rt_jwt_verify(a->v, token, now, claims, why);
    }
    return rc;
}

void edge_auth_tick(struct edge_auth *a)
{
    if (a->jwks_path && now_s() >= a->next_reload_s)
        reload(a);
}
