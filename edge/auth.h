/* Token verification for rt-edge: the shared JWT verifier configured from the edge settings,
 * plus the JWKS file kept fresh (periodically, and on an unknown kid at most once a minute). */
#ifndef EDGE_AUTH_H
#define EDGE_AUTH_H

#include "config.h"

#include "rt/jwt.h"

#include <stdint.h>

struct edge_auth;

/* Returns 0, or RT_ECONFIG after logging (bad algorithm list, unreadable JWKS, no key at all). */
int edge_auth_open(struct edge_auth **out, const struct edge_config *cfg);
void edge_auth_free(struct edge_auth *a);

/* Verifies at the current time. 0 with claims filled, or RT_EAUTH with *why. Never logs the
 * token. */
int edge_auth_verify(struct edge_auth *a, const char *token, struct rt_jwt_claims *claims,
                     enum rt_jwt_fail *why);

/* Reloads the JWKS file when due (called from a periodic timer). */
void edge_auth_tick(struct edge_auth *a);

#endif
