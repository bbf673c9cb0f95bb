/* Tenant status (healthy / degraded / unhealthy) from a report and configurable thresholds, the
 * report's JSON form, and its publication on the tenant's health channel: at once when the status
 * changes (tenants touched by events or timeouts are checked every tick) and as a snapshot of
 * every recently active tenant every health interval. */
#ifndef HEALTH_STATUS_H
#define HEALTH_STATUS_H

#include "callstate.h"
#include "config.h"
#include "rates.h"
#include "tenantset.h"

#include "rt/loop.h"
#include "rt/metrics.h"
#include "rt/publish.h"
#include "rt/rconn.h"

#include <jansson.h>
#include <stdbool.h>

enum health_status {
    HEALTH_STATUS_HEALTHY,
    HEALTH_STATUS_DEGRADED,
    HEALTH_STATUS_UNHEALTHY,
};

struct health_view {
    struct health_window win[HEALTH_RATE_WINDOWS]; /* 5, 15, 60 minutes */
    bool any_stale;
    enum health_status status;
    const char *reason; /* static: "ok", "failure_rate", "unanswered_rate", "webhook_stale" */
};

const char *health_status_name(enum health_status s);

/* Computes the windows, staleness (written into r->webhooks) and the status. Pure. */
void health_status_eval(const struct health_config *cfg, struct health_report *r,
                        struct health_view *v);
/* The health-check document (new reference). */
json_t *health_status_json(const struct health_report *r, const struct health_view *v);

struct health_status_pub;

/* Every pointer is borrowed; the loop runs the slice timer. */
struct health_status_pub *health_status_pub_new(const struct health_config *cfg,
                                                struct health_callstate *cs, struct rt_rconn *rc,
                                                struct rt_publisher *pub,
                                                const struct rt_loop *loop, struct rt_metrics *m);
/* Frees the slice timer (before the loop goes); checks still in flight may finish after it. */
void health_status_pub_close(struct health_status_pub *p);
/* Accepts NULL. Free after the Redis connection (its pending callbacks use p). */
void health_status_pub_free(struct health_status_pub *p);
/* Remembers that a tenant's figures changed (checked from the next tick on). The set has no
 * cap: it holds each touched tenant once. */
void health_status_pub_dirty(struct health_status_pub *p, const char *tenant);
/* Hands the tenants touched since the last tick to the slice timer; every interval, starts a
 * pass over every recently active tenant, also in slices: the leader publishes snapshots, a
 * follower checks for changes only. */
void health_status_pub_tick(struct health_status_pub *p, bool leader);

#endif
