/* Call timeouts: every tick, the calls whose deadline passed come from the global due index
 * (a sorted set by deadline, so the work is O(calls due), never O(calls)), limited to deadlines
 * the consumer group has caught up with (every call event that reached rt:calls:all before the
 * deadline is applied: a call_ended waiting in a backlog wins over the timeout). Each due call
 * gets one script that re-checks it, publishes call_timeout on its tenant's calls channel (with a
 * dedupe mark, so two instances emit it once) and marks it timed out, atomically. */
#ifndef HEALTH_TIMEOUTS_H
#define HEALTH_TIMEOUTS_H

#include "callstate.h"
#include "config.h"

#include "rt/metrics.h"
#include "rt/rconn.h"

struct health_timeouts;

/* Every pointer is borrowed. on_changed as in consumer.h (may be NULL). */
struct health_timeouts *health_timeouts_new(const struct health_config *cfg,
                                            struct health_callstate *cs, struct rt_rconn *rc,
                                            struct rt_metrics *m,
                                            void (*on_changed)(const char *tenant, void *arg),
                                            void *arg);
void health_timeouts_free(struct health_timeouts *t);
/* Starts one scan unless the previous one is still in flight. */
void health_timeouts_tick(struct health_timeouts *t);

#endif
