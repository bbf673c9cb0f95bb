/* The consumer of rt:calls:all: a consumer group read on its own Redis connection (XREADGROUP
 * BLOCK would hold up every command pipelined behind it), each entry applied by the apply script
 * which also XACKs it, XAUTOCLAIM of entries a dead consumer left pending, and the group's lag
 * for /readyz. */
#ifndef HEALTH_CONSUMER_H
#define HEALTH_CONSUMER_H

#include "callstate.h"
#include "config.h"

#include "rt/loop.h"
#include "rt/metrics.h"
#include "rt/rconn.h"

#include <stdbool.h>
#include <stddef.h>

struct health_consumer;

/* Called after an event changed a tenant's state (tenant borrowed for the call). */
typedef void (*health_changed_fn)(const char *tenant, void *arg);

struct health_consumer_opts {
    const struct health_config *cfg; /* borrowed */
    const struct rt_loop *loop;      /* borrowed */
    struct health_callstate *cs;     /* borrowed */
    struct rt_rconn *cmd;            /* borrowed: the process's command connection (lag poll) */
    struct rt_metrics *metrics;      /* borrowed */
    health_changed_fn on_changed;
    void *arg; /* borrowed */
};

/* Opens its own connection and starts consuming once Redis answers. Returns 0 or RT_EINVAL. */
int health_consumer_open(struct health_consumer **out, const struct health_consumer_opts *o);
/* Stops reading and frees (callbacks in flight finish first). Accepts NULL. */
void health_consumer_free(struct health_consumer *c);
/* The consumer name in the group (borrowed). */
const char *health_consumer_name(const struct health_consumer *c);

/* Polls the group's lag (XINFO GROUPS on the command connection); call every tick. */
void health_consumer_poll_lag(struct health_consumer *c);
/* /readyz: false with a reason when the consumer's Redis is down or the lag is over the bound. */
bool health_consumer_ready(struct health_consumer *c, char *reason, size_t cap);
/* Undelivered plus pending entries at the last poll; -1 when unknown. */
long long health_consumer_lag(const struct health_consumer *c);

#endif
