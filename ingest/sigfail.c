#include "sigfail.h"

#include "rt/err.h"
#include "rt/log.h"
#include "rt/loop.h"
#include "rt/naming.h"
#include "rt/rconn.h"
#include "rt/script.h"

#include <stdio.h>
#include <stdlib.h>

/* The minute buckets are rt-health's (broker/callstate_lua.h): same keys, same TTL, same index
 * rule, so a report reads signature failures with the outcome counts at no extra cost. */
#define BUCKET_TTL_S 7200

/* clang-format off */
static const char sigfail_lua[] =
    "-- Counts one webhook signature failure of a tenant and provider in its minute bucket.\n"
    "-- KEYS[1] rt:{t}:h:m:<minute>  KEYS[2] rt:{t}:h:mi (minute index)\n"
    "-- ARGV: 1 field sf:<provider>, 2 minute, 3 TTL s.  Reply: the minute's count.\n"
    "local n = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)\n"
    "if n == 1 then\n"
    "  -- a new field: set the bucket's TTL and index the minute, trimming the index\n"
    "  redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
    "  if redis.call('ZADD', KEYS[2], ARGV[2], ARGV[2]) > 0 then\n"
    "    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[2]) - 120)\n"
    "    redis.call('EXPIRE', KEYS[2], ARGV[3])\n"
    "  end\n"
    "end\n"
    "return n\n";
/* clang-format on */

struct ingest_sigfail {
    struct rt_rconn *rc; /* borrowed */
    struct rt_script script;
};

struct ingest_sigfail *ingest_sigfail_new(struct rt_rconn *rc)
{
    struct ingest_sigfail *s = rt_xcalloc(1, sizeof(*s));
    s->rc = rc;
    /* not loaded on READY: rt_script loads it on the first NOSCRIPT and resends */
    rt_script_init(&s->script, "sigfail", sigfail_lua);
    return s;
}

void ingest_sigfail_free(struct ingest_sigfail *s)
{
    free(s);
}

static void on_counted(const redisReply *reply, void *arg)
{
    (void)arg;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        RT_WARN("webhook.sigfail_not_counted", "signature failure not counted",
                RT_LF_STR("reply", reply->str));
}

void ingest_sigfail_note(struct ingest_sigfail *s, const char *tenant, const char *provider,
                         int status)
{
    char key[RT_KEY_MAX], field[64];
    if (status != 401 || !s || !rt_name_tenant_valid(tenant))
        return;
    long long minute = (long long)(rt_wall_ms() / 60000);
    struct rt_script_call *c = rt_script_call_new(&s->script, 2);
    snprintf(key, sizeof(key), "rt:{%s}:h:m:%lld", tenant, minute);
    rt_script_arg_str(c, key);
    snprintf(key, sizeof(key), "rt:{%s}:h:mi", tenant);
    rt_script_arg_str(c, key);
    snprintf(field, sizeof(field), "sf:%s", provider);
    rt_script_arg_str(c, field);
    rt_script_arg_num(c, minute);
    rt_script_arg_num(c, BUCKET_TTL_S);
    rt_script_send(c, s->rc, on_counted, NULL); /* RT_ENOTREADY: not counted, by design */
}
