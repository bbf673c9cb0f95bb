/* The health API on the process's evhttp server:
 *   GET /api/calls/health-check?tenant=<t>  a JWT of that tenant or the admin key
 *   GET /api/v1/health/summary              the admin key
 * (/healthz, /readyz and /metrics are served by the common frame.) */
#ifndef HEALTH_API_H
#define HEALTH_API_H

#include "callstate.h"
#include "config.h"
#include "consumer.h"
#include "liveness.h"

#include "rt/httpd_event.h"
#include "rt/metrics.h"
#include "rt/rconn.h"

struct health_api;

struct health_api_opts {
    const struct health_config *cfg;  /* borrowed */
    struct rt_httpd *httpd;           /* borrowed */
    struct rt_rconn *rc;              /* borrowed */
    struct health_callstate *cs;      /* borrowed */
    struct health_consumer *consumer; /* borrowed */
    struct health_liveness *liveness; /* borrowed */
    struct rt_metrics *metrics;       /* borrowed */
};

/* Registers the routes. Returns 0, or RT_ECONFIG when the JWT settings cannot be used (logged). */
int health_api_open(struct health_api **out, const struct health_api_opts *o);
void health_api_free(struct health_api *a);

#endif
