#include "liveness.h"

#include "rt/err.h"
#include "rt/liveness.h"
#include "rt/log.h"
#include "rt/loop.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLEANUP_AFTER_MS 3600000
#define LEADER_KEY       "rt:health:leader"

/* Tiny and run once per tick, so plain EVAL rather than a cached script. */
static const char leader_script[] =
    "-- KEYS[1] rt:health:leader; ARGV[1] instance id, ARGV[2] TTL ms\n"
    "-- Reply: 1 this instance leads (lock taken or renewed), 0 another one does\n"
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end\n"
    "if not cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end\n"
    "return 0\n";

struct health_liveness {
    const struct health_config *cfg; /* borrowed */
    struct rt_rconn *rc;             /* borrowed */
    char *id;                        /* owned */
    char *url;                       /* owned */
    json_t *view;                    /* owned: component -> array of ids */
    bool reading;
    bool leader;
};

struct health_liveness *health_liveness_new(const struct health_config *cfg, struct rt_rconn *rc,
                                            const char *id, const char *url)
{
    struct health_liveness *l = rt_xcalloc(1, sizeof(*l));
    l->cfg = cfg;
    l->rc = rc;
    l->id = rt_xstrdup(id);
    l->url = rt_xstrdup(url);
    l->view = json_object();
    return l;
}

void health_liveness_free(struct health_liveness *l)
{
    if (!l)
        return;
    json_decref(l->view);
    free(l->id);
    free(l->url);
    free(l);
}

static void on_ignore(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    (void)r;
    (void)privdata;
}

static void on_instances(redisAsyncContext *ac, void *r, void *privdata)
{
    struct health_liveness *l = privdata;
    redisReply *reply = r;
    (void)ac;
    l->reading = false; /* l outlives the connection: main frees it after the rconn */
    if (!reply || reply->type != REDIS_REPLY_ARRAY)
        return;
    json_t *view = json_object();
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *m = reply->element[i];
        const char *colon = m->type == REDIS_REPLY_STRING ? strchr(m->str, ':') : NULL;
        if (!colon || colon == m->str || colon - m->str > 32)
            continue;
        char comp[33];
        memcpy(comp, m->str, (size_t)(colon - m->str));
        comp[colon - m->str] = '\0';
        json_t *arr = json_object_get(view, comp);
        if (!arr) {
            arr = json_array();
            json_object_set_new(view, comp, arr);
        }
        json_array_append_new(arr, json_string(colon + 1));
    }
    json_decref(l->view);
    l->view = view;
}

static void on_leader(redisAsyncContext *ac, void *r, void *privdata)
{
    struct health_liveness *l = privdata;
    redisReply *reply = r;
    (void)ac;
    bool was = l->leader;
    l->leader = reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
    if (l->leader != was)
        RT_INFO("health.leader", l->leader ? "leading" : "not leading",
                RT_LF_BOOL("leader", l->leader));
}

bool health_liveness_leader(const struct health_liveness *l)
{
    return l->leader;
}

void health_liveness_tick(struct health_liveness *l)
{
    uint64_t now = rt_wall_ms();
    long long ttl = l->cfg->instance_ttl_ms;
    if (!rt_rconn_ready(l->rc)) {
        l->leader = false;
        return;
    }
    char ttl_s[24];
    snprintf(ttl_s, sizeof(ttl_s), "%lld", ttl);
    rt_rconn_cmd(l->rc, on_leader, l, "EVAL %s 1 %s %s %s", leader_script, LEADER_KEY, l->id,
                 ttl_s);
    json_t *o =
        json_pack("{s:s,s:s,s:i}", "component", "rt-health", "url", l->url, "pid", (int)getpid());
    char *info = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    rt_liveness_register(l->rc, "rt-health", l->id, info, (unsigned long long)ttl);
    rt_rconn_cmd(l->rc, on_ignore, NULL, "ZREMRANGEBYSCORE %s -inf %llu", HEALTH_INSTANCES_KEY,
                 (unsigned long long)(now - CLEANUP_AFTER_MS));
    free(info);
    if (!l->reading && rt_rconn_cmd(l->rc, on_instances, l, "ZRANGEBYSCORE %s %llu +inf",
                                    HEALTH_INSTANCES_KEY, (unsigned long long)now) == 0)
        l->reading = true;
}

json_t *health_liveness_json(const struct health_liveness *l)
{
    static const char *const comps[] = {"rt-edge", "rt-ingest", "rt-health"};
    json_t *out = json_object();
    for (size_t i = 0; i < 3; i++) {
        json_t *arr = json_object_get(l->view, comps[i]);
        json_object_set_new(out, comps[i],
                            json_pack("{s:I,s:o}", "alive",
                                      (json_int_t)(arr ? json_array_size(arr) : 0), "instances",
                                      arr ? json_incref(arr) : json_array()));
    }
    return out;
}
