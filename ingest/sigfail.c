#include "sigfail.h"

#include "rt/err.h"
#include "rt/log.h"
#include "rt/loop.h"
#include "rt/naming.h"
#include "rt/rconn.h"
#include "rt/script.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The minute buckets are rt-health's (broker/callstate_lua.h): same keys, same TTL, same index
 * rule, so a report reads signature failures with the outcome counts at no extra cost. */
#define BUCKET_TTL_S 7200
/* Failures are summed in memory and written once per interval per (tenant, provider, minute):
 * a flood of badly signed requests costs Redis a few commands per second, not one per request. */
#define FLUSH_MS 1000

/* clang-format off */
static const char sigfail_lua[] =
    "-- Adds a tenant's webhook signature failures of one provider to its minute bucket.\n"
    "-- KEYS[1] rt:{t}:h:m:<minute>  KEYS[2] rt:{t}:h:mi (minute index)\n"
    "-- ARGV: 1 field sf:<provider>, 2 minute, 3 TTL s, 4 count.  Reply: the minute's count.\n"
    "local by = tonumber(ARGV[4])\n"
    "local n = redis.call('HINCRBY', KEYS[1], ARGV[1], by)\n"
    "if n == by then\n"
    "  -- a new field: set the bucket's TTL and index the minute, trimming the index\n"
    "  redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
    "  if redis.call('ZADD', KEYS[2], ARGV[2], ARGV[2]) > 0 then\n"
    "    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[2]) - 120)\n"
    "    redis.call('EXPIRE', KEYS[2], ARGV[3])\n"
    "  end\n"
    "end\n"
    "return n\n";
/* clang-format on */

struct pending {
    char tenant[RT_TENANT_MAX + 1];
    char provider[32];
    long long minute;
    long long count;
};

struct ingest_sigfail {
    struct rt_rconn *rc;        /* borrowed */
    const struct rt_loop *loop; /* borrowed */
    struct rt_timer *timer;     /* owned */
    bool armed;
    struct rt_script script;
    /* bounded by configured tenants x providers x minutes in one interval */
    struct pending *p;
    size_t n, cap;
};

static void on_counted(const redisReply *reply, void *arg)
{
    (void)arg;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        RT_WARN("webhook.sigfail_not_counted", "signature failures not counted",
                RT_LF_STR("reply", reply->str));
}

static void flush(void *arg)
{
    struct ingest_sigfail *s = arg;
    char key[RT_KEY_MAX], field[64];
    s->armed = false;
    for (size_t i = 0; i < s->n; i++) {
        const struct pending *e = &s->p[i];
        struct rt_script_call *c = rt_script_call_new(&s->script, 2);
        snprintf(key, sizeof(key), "rt:{%s}:h:m:%lld", e->tenant, e->minute);
        rt_script_arg_str(c, key);
        snprintf(key, sizeof(key), "rt:{%s}:h:mi", e->tenant);
        rt_script_arg_str(c, key);
        snprintf(field, sizeof(field), "sf:%s", e->provider);
        rt_script_arg_str(c, field);
        rt_script_arg_num(c, e->minute);
        rt_script_arg_num(c, BUCKET_TTL_S);
        rt_script_arg_num(c, e->count);
        /* RT_ENOTREADY (Redis down): these counts are dropped, by design */
        rt_script_send(c, s->rc, on_counted, NULL);
    }
    s->n = 0;
}

struct ingest_sigfail *ingest_sigfail_new(struct rt_rconn *rc, const struct rt_loop *loop)
{
    struct ingest_sigfail *s = rt_xcalloc(1, sizeof(*s));
    s->rc = rc;
    s->loop = loop;
    s->timer = loop->ops->timer_new(loop->impl, flush, s);
    /* not loaded on READY: rt_script loads it on the first NOSCRIPT and resends */
    rt_script_init(&s->script, "sigfail", sigfail_lua);
    return s;
}

void ingest_sigfail_free(struct ingest_sigfail *s)
{
    if (!s)
        return;
    s->loop->ops->timer_free(s->timer);
    free(s->p);
    free(s);
}

void ingest_sigfail_note(struct ingest_sigfail *s, const char *tenant, const char *provider,
                         int status)
{
    if (status != 401 || !s || !rt_name_tenant_valid(tenant) || strlen(provider) >= 32)
        return;
    long long minute = (long long)(rt_wall_ms() / 60000);
    for (size_t i = 0; i < s->n; i++) {
        struct pending *e = &s->p[i];
        if (e->minute == minute && strcmp(e->tenant, tenant) == 0 &&
            strcmp(e->provider, provider) == 0) {
            e->count++;
            return;
        }
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 8;
        s->p = rt_xrealloc(s->p, s->cap * sizeof(*s->p));
    }
    struct pending *e = &s->p[s->n++];
    snprintf(e->tenant, sizeof(e->tenant), "%s", tenant);
    snprintf(e->provider, sizeof(e->provider), "%s", provider);
    e->minute = minute;
    e->count = 1;
    if (!s->armed) {
        s->loop->ops->timer_start(s->timer, FLUSH_MS);
        s->armed = true;
    }
}
