#include "rt/publish.h"
#include "rt/err.h"
#include "rt/log.h"
#include "rt/script.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The dedupe key holds the id of the first publish so that a duplicate can answer with it. */
const char rt_publish_script[] =
    "-- KEYS[1]: stream and pub/sub channel (rt:{tenant}:<channel>)\n"
    "-- KEYS[2]: optional dedupe key (same tenant)\n"
    "-- ARGV[1]: envelope JSON object without \"id\"; ARGV[2]: approximate MAXLEN;\n"
    "-- ARGV[3]: dedupe TTL in seconds; ARGV[4]: MINID for an age limit, '0' for none (not\n"
    "-- applied to rt:calls:all, which rt-health's consumer group reads: MAXLEN only)\n"
    "-- Reply: {\"published\", <stream id>} or {\"duplicate\", <id of the first publish>}\n"
    "if KEYS[2] then\n"
    "  local first = redis.call('GET', KEYS[2])\n"
    "  if first then return {'duplicate', first} end\n"
    "end\n"
    "local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1])\n"
    "if ARGV[4] and ARGV[4] ~= '0' and KEYS[1] ~= 'rt:calls:all' then\n"
    "  redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[4])\n"
    "end\n"
    "if KEYS[2] then redis.call('SET', KEYS[2], id, 'NX', 'EX', ARGV[3]) end\n"
    "redis.call('PUBLISH', KEYS[1], '{\"id\":\"' .. id .. '\",' .. string.sub(ARGV[1], 2))\n"
    "return {'published', id}\n";

struct rt_publisher {
    struct rt_rconn *rc; /* borrowed */
    unsigned long default_maxlen;
    unsigned long maxage_s;
    struct rt_script script;
    size_t inflight;
};

/* One request in flight. */
struct pending {
    struct rt_publisher *p; /* borrowed: the owner frees the rconn (finishing these) first */
    rt_publish_fn cb;
    void *arg; /* borrowed */
};

static void on_reply(const redisReply *reply, void *arg)
{
    struct pending *q = arg;
    int status;
    const char *id = NULL;
    if (!reply) {
        status = RT_ECLOSED;
    } else if (reply->type == REDIS_REPLY_ERROR) {
        RT_WARN("publish.error", "publish script failed", RT_LF_STR("reply", reply->str));
        status = RT_EREDIS;
    } else if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
               reply->element[0]->type != REDIS_REPLY_STRING ||
               reply->element[1]->type != REDIS_REPLY_STRING) {
        status = RT_EPROTO;
    } else {
        status = strcmp(reply->element[0]->str, "duplicate") == 0 ? RT_EDUPLICATE : 0;
        id = reply->element[1]->str;
    }
    q->p->inflight--;
    q->cb(status, id, q->arg);
    free(q);
}

struct rt_publisher *rt_publisher_new(struct rt_rconn *rc, unsigned long default_maxlen)
{
    struct rt_publisher *p = rt_xcalloc(1, sizeof(*p));
    p->rc = rc;
    p->default_maxlen = default_maxlen ? default_maxlen : RT_PUBLISH_DEFAULT_MAXLEN;
    rt_script_init(&p->script, "publish", rt_publish_script);
    return p;
}

void rt_publisher_free(struct rt_publisher *p)
{
    /* Free the rconn first: requests in flight then finish (RT_ECLOSED) while p is alive. */
    free(p);
}

void rt_publisher_on_ready(struct rt_publisher *p)
{
    rt_script_load(&p->script, p->rc);
}

void rt_publisher_set_maxage(struct rt_publisher *p, unsigned long maxage_s)
{
    p->maxage_s = maxage_s;
}

void rt_stream_minid(unsigned long maxage_s, char *buf, size_t cap)
{
    struct timespec ts;
    if (maxage_s == 0 || clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        snprintf(buf, cap, "0");
        return;
    }
    unsigned long long now_ms =
        (unsigned long long)ts.tv_sec * 1000ULL + (unsigned long long)ts.tv_nsec / 1000000ULL;
    unsigned long long age_ms = (unsigned long long)maxage_s * 1000ULL;
    /* a limit reaching before 1970 keeps everything, like no limit */
    snprintf(buf, cap, "%llu-0", now_ms > age_ms ? now_ms - age_ms : 0ULL);
}

size_t rt_publisher_inflight(const struct rt_publisher *p)
{
    return p->inflight;
}

int rt_publish(struct rt_publisher *p, const struct rt_publish_req *req, rt_publish_fn cb,
               void *arg)
{
    if (!req->key || !req->body || req->body_len < 2 || req->body[0] != '{' || !cb)
        return RT_EINVAL;
    if (!rt_rconn_ready(p->rc))
        return RT_ENOTREADY;
    struct rt_script_call *c = rt_script_call_new(&p->script, req->dedupe_key ? 2 : 1);
    rt_script_arg_str(c, req->key);
    if (req->dedupe_key)
        rt_script_arg_str(c, req->dedupe_key);
    rt_script_arg(c, req->body, req->body_len);
    rt_script_arg_num(c, (long long)(req->maxlen ? req->maxlen : p->default_maxlen));
    rt_script_arg_num(c, req->dedupe_ttl_s ? req->dedupe_ttl_s : RT_PUBLISH_DEFAULT_DEDUPE_TTL);
    char minid[32];
    rt_stream_minid(p->maxage_s, minid, sizeof(minid));
    rt_script_arg_str(c, minid);
    struct pending *q = rt_xcalloc(1, sizeof(*q));
    *q = (struct pending){.p = p, .cb = cb, .arg = arg};
    if (rt_script_send(c, p->rc, on_reply, q)) {
        free(q);
        return RT_ENOTREADY;
    }
    p->inflight++;
    return 0;
}
