/* JWT verification shared by rt-edge and rt-health, on OpenSSL EVP (no libjwt: it re-parsed a
 * PEM key per token). The algorithm is pinned per key, and exp/nbf/iss/aud are checked here. `alg:
 * none` is always refused; a key is only ever used with its own algorithm (an HS256 token "signed"
 * with an RSA public key as the secret fails). Pure and loop-agnostic: fetching a JWKS over HTTP(S)
 * is the caller's job (see rt_jwt_jwks_wanted). */
#ifndef RT_JWT_H
#define RT_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt/naming.h"

#define RT_JWT_MAX_TOKEN 8192 /* longer tokens are refused before decoding */

struct rt_jwt_verifier;

struct rt_jwt_opts {
    const char *hs256_secret;    /* enables HS256; NULL: off */
    const char *algs;            /* allowlist, comma separated ("RS256,ES256,HS256"); NULL: all
                                    three, each still needing its key material */
    const char *issuer;          /* required iss when set */
    const char *audience;        /* required aud (string or array member) when set */
    const char *tenant_claim;    /* NULL: "org_id" */
    unsigned leeway_s;           /* clock skew allowed on exp and nbf */
    unsigned jwks_min_refresh_s; /* unknown-kid refresh at most this often; 0: 60 */
};

enum rt_jwt_fail {
    RT_JWT_OK = 0,
    RT_JWT_MALFORMED,       /* not three base64url parts, bad JSON, too long */
    RT_JWT_ALG_NOT_ALLOWED, /* none, an algorithm outside the allowlist, or without key */
    RT_JWT_UNKNOWN_KID,     /* RS256/ES256 kid absent from the JWKS */
    RT_JWT_BAD_SIGNATURE,
    RT_JWT_EXPIRED,       /* exp missing counts as RT_JWT_MISSING_CLAIM */
    RT_JWT_NOT_YET_VALID, /* nbf in the future */
    RT_JWT_BAD_ISSUER,
    RT_JWT_BAD_AUDIENCE,
    RT_JWT_MISSING_CLAIM, /* exp, sub or the tenant claim missing or invalid */
};

struct rt_jwt_claims {
    char sub[RT_USER_MAX + 1];      /* validated with rt_name_user_valid */
    char tenant[RT_TENANT_MAX + 1]; /* validated with rt_name_tenant_valid */
    int64_t exp;
    int64_t nbf; /* 0 when absent */
    int64_t iat; /* 0 when absent */
    char alg[8];
};

/* Copies what it needs from opts. Returns 0 or RT_EINVAL (unknown algorithm name). */
int rt_jwt_verifier_open(struct rt_jwt_verifier **out, const struct rt_jwt_opts *opts);
void rt_jwt_verifier_free(struct rt_jwt_verifier *v);

/* Replaces the key set from JWKS JSON ({"keys":[{kty,kid,alg?,n,e | crv,x,y}]}). Keys of an
 * unsupported type are skipped (counted in *skipped if non-NULL). Returns 0, RT_EPARSE or
 * RT_EINVAL (no usable key). On error the previous set is kept. */
int rt_jwt_set_jwks(struct rt_jwt_verifier *v, const char *json, size_t len, size_t *skipped);
/* Reads a JWKS file and calls rt_jwt_set_jwks. */
int rt_jwt_load_jwks_file(struct rt_jwt_verifier *v, const char *path);

/* Verifies a compact JWT at time now_s (Unix seconds). Returns 0 with *out filled, or
 * RT_EAUTH with *why set (never logs). */
int rt_jwt_verify(struct rt_jwt_verifier *v, const char *token, int64_t now_s,
                  struct rt_jwt_claims *out, enum rt_jwt_fail *why);

/* True once after a verification failed with RT_JWT_UNKNOWN_KID and at least
 * jwks_min_refresh_s passed since the last such request: the caller should fetch the JWKS. */
bool rt_jwt_jwks_wanted(struct rt_jwt_verifier *v, int64_t now_s);

/* Stable lower-case names for logs and metrics ("expired", "bad_signature", ...). */
const char *rt_jwt_fail_name(enum rt_jwt_fail why);

#endif
