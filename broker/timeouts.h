/* Call timeouts: every tick, the calls whose deadline passed come from the global due index
 * (a sorted set by deadline, so the work is O(calls due), never O(calls)); each gets one
 * call_timeout on its tenant's calls channel (rt_publish with a dedupe key, so two instances or
 * a retry after a crash emit it once) and is then marked timed out in its hash. */
#ifndef HEALTH_TIMEOUTS_H
#define HEALTH_TIMEOUTS_H

#include "callstate.h"
#include "config.h"

#include "rt/metrics.h"
#include "rt/publish.h"
#include "rt/rconn.h"

struct health_timeouts;

/* Every pointer is borrowed. on_changed as in consumer.h (may be NULL). */
struct health_timeouts *health_timeouts_new(const struct health_config *cfg,
                                            struct health_callstate *cs, struct rt_rconn *rc,
                                            struct rt_publisher *pub, struct rt_metrics *m,
                                            void (*on_changed)(const char *tenant, void *arg),
                                            void *arg);
void health_timeouts_free(struct health_timeouts *t);
/* Starts one scan unless the previous one is still in flight. */
void health_timeouts_tick(struct health_timeouts *t);

#endif
