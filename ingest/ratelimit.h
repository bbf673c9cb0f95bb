/* Per-tenant token buckets for the publish API and the webhooks (one object each; per process: N
 * rt-ingest processes behind a load balancer allow up to N times the rate). */
#ifndef INGEST_RATELIMIT_H
#define INGEST_RATELIMIT_H

#include <stddef.h>

#define INGEST_RATELIMIT_MAX_TENANTS 10000 /* beyond this, new tenants share one bucket */

struct ingest_ratelimit;

/* rate: tokens per second; burst: bucket size. */
struct ingest_ratelimit *ingest_ratelimit_new(double rate, double burst);
void ingest_ratelimit_free(struct ingest_ratelimit *r);

/* Takes n tokens from tenant's bucket at time now (monotonic seconds). Returns 0 when granted,
 * else the whole seconds to wait before n tokens can be there (at least 1); nothing is taken
 * then. */
unsigned ingest_ratelimit_take(struct ingest_ratelimit *r, const char *tenant, double n,
                               double now);
/* Takes counts[i] tokens from tenants[i]'s bucket for every i, or nothing at all: returns 0
 * when every bucket had enough, else the largest wait in whole seconds (at least 1) and no
 * bucket is changed. Tenants should be distinct (a repeated one needs the sum of its counts). */
unsigned ingest_ratelimit_take_all(struct ingest_ratelimit *r, const char *const *tenants,
                                   const double *counts, size_t n, double now);

#endif
