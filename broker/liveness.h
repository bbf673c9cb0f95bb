/* Component liveness. Every process registers itself each tick with a TTL:
 *   SET rt:instances:<component>:<id> <json> PX <ttl>    (details, expires by itself)
 *   ZADD rt:instances <expiry ms> <component>:<id>       (index, so nobody needs SCAN)
 * rt-health registers itself and reads the index (members whose expiry is in the future are
 * alive; entries expired for an hour are removed). It also keeps the rt-health leader lock. */
#ifndef HEALTH_LIVENESS_H
#define HEALTH_LIVENESS_H

#include "config.h"

#include "rt/rconn.h"

#include <jansson.h>
#include <stdbool.h>

#define HEALTH_INSTANCES_KEY "rt:instances"

struct health_liveness;

/* rc is borrowed; id and url are copied. */
struct health_liveness *health_liveness_new(const struct health_config *cfg, struct rt_rconn *rc,
                                            const char *id, const char *url);
void health_liveness_free(struct health_liveness *l);
/* Registers this instance and refreshes the view of the others. */
void health_liveness_tick(struct health_liveness *l);
/* True while this instance holds rt:health:leader (renewed every tick with the instance TTL):
 * the leader alone publishes the periodic snapshots. */
bool health_liveness_leader(const struct health_liveness *l);
/* {"rt-edge": {"alive": n, "instances": [...]}, "rt-ingest": ..., "rt-health": ...} from the last
 * refresh (new reference). */
json_t *health_liveness_json(const struct health_liveness *l);

#endif
