/* Token verification for rt-edge: the shared JWT verifier configured from the edge settings, and
 * its JWKS kept fresh, from a file or an http(s) URL (jwks_http.c): refreshed every
 * RT_EDGE_JWKS_REFRESH_S, and on an unknown kid at most once per RT_EDGE_JWKS_MIN_REFRESH_S.
 * A token whose kid is unknown while a fetch is in flight waits for that fetch (bounded by
 * RT_EDGE_JWKS_TIMEOUT_MS), so a key rotation does not reject the first tokens of the new key. */
#ifndef EDGE_AUTH_H
#define EDGE_AUTH_H

#include "config.h"

#include "rt/jwt.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct edge_auth;
struct lws_context;
struct rt_metrics;

/* A verification waiting for a JWKS fetch; embedded in its owner, which must cancel it before
 * going away. */
struct edge_auth_wait {
    void (*cb)(struct edge_auth_wait *w); /* set by the owner; runs once, never from inside
                                             edge_auth_verify_or_wait */
    struct edge_auth_wait *prev, *next;
    struct edge_auth_wait **list; /* NULL when not queued */
};

/* Returns 0, or RT_ECONFIG after logging (bad algorithm list, unreadable JWKS file, bad URL). */
int edge_auth_open(struct edge_auth **out, const struct edge_config *cfg, struct rt_metrics *m);
/* With a JWKS URL: starts the first fetch on the lws context (kept, borrowed). */
void edge_auth_start(struct edge_auth *a, struct lws_context *ctx);
/* Call after lws_context_destroy. */
void edge_auth_free(struct edge_auth *a);

/* Verifies at the current time. 0 with claims filled, or RT_EAUTH with *why. Never logs the
 * token. An unknown kid asks for a (rate-limited) JWKS refresh but does not wait for it. */
int edge_auth_verify(struct edge_auth *a, const char *token, struct rt_jwt_claims *claims,
                     enum rt_jwt_fail *why);
/* The same, but an unknown kid with a JWKS fetch in flight (started now or earlier) returns
 * RT_EAGAIN and queues w: w->cb runs when the fetch ends (keys replaced or not); then verify
 * again with edge_auth_verify. */
int edge_auth_verify_or_wait(struct edge_auth *a, const char *token, struct rt_jwt_claims *claims,
                             enum rt_jwt_fail *why, struct edge_auth_wait *w);
/* Dequeues w if queued (its callback will not run). */
void edge_auth_wait_cancel(struct edge_auth_wait *w);

/* False, with a reason, while a JWKS URL is configured and no fetch has succeeded yet. */
bool edge_auth_ready(const struct edge_auth *a, char *reason, size_t cap);

/* Refreshes the JWKS when due and ends an overdue fetch (called from a periodic timer). */
void edge_auth_tick(struct edge_auth *a);

#endif
