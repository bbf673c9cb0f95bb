/* Component liveness in Redis, read by rt-health: every process registers itself as
 *   SET rt:instances:<component>:<id> <json> PX <ttl>   and   ZADD rt:instances <expiry>
 * <component>:<id> refreshed well within the TTL, so a dead process disappears by itself. */
#ifndef RT_LIVENESS_H
#define RT_LIVENESS_H

#include "rt/rconn.h"

#define RT_INSTANCES_KEY "rt:instances"

/* Sends both commands (fire and forget) when the connection is ready; returns 0 or
 * RT_ENOTREADY. info is a JSON object as text. */
int rt_liveness_register(struct rt_rconn *rc, const char *component, const char *id,
                         const char *info, unsigned long long ttl_ms);
/* Removes the registration at a clean stop. */
int rt_liveness_unregister(struct rt_rconn *rc, const char *component, const char *id);

#endif
