#include "rt/liveness.h"
#include "rt/err.h"
#include "rt/loop.h"

#include <stdio.h>

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    (void)r;
    (void)privdata;
}

int rt_liveness_register(struct rt_rconn *rc, const char *component, const char *id,
                         const char *info, unsigned long long ttl_ms)
{
    char key[256], member[200];
    snprintf(key, sizeof(key), "%s:%s:%s", RT_INSTANCES_KEY, component, id);
    snprintf(member, sizeof(member), "%s:%s", component, id);
    if (!rt_rconn_ready(rc))
        return RT_ENOTREADY;
    rt_rconn_cmd(rc, on_reply, NULL, "SET %s %s PX %llu", key, info, ttl_ms);
    rt_rconn_cmd(rc, on_reply, NULL, "ZADD %s %llu %s", RT_INSTANCES_KEY,
                 (unsigned long long)rt_wall_ms() + ttl_ms, member);
    return 0;
}

int rt_liveness_unregister(struct rt_rconn *rc, const char *component, const char *id)
{
    char key[256], member[200];
    snprintf(key, sizeof(key), "%s:%s:%s", RT_INSTANCES_KEY, component, id);
    snprintf(member, sizeof(member), "%s:%s", component, id);
    if (!rt_rconn_ready(rc))
        return RT_ENOTREADY;
    rt_rconn_cmd(rc, on_reply, NULL, "DEL %s", key);
    rt_rconn_cmd(rc, on_reply, NULL, "ZREM %s %s", RT_INSTANCES_KEY, member);
    return 0;
}
