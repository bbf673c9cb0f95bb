/* Per-tenant token buckets for the publish API (per process: N rt-ingest processes behind a load
 * balancer allow up to N times the rate). */
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

#endif
