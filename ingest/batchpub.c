#include "batchpub.h"
#include "sigutil.h"

#include "rt/err.h"
#include "rt/log.h"
#include "rt/publish.h"
#include "rt/script.h"
#include "rt/rconn.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ingest_batchpub_script[] =
    "-- KEYS[2i-1]: stream and channel of event i; KEYS[2i]: its dedupe key (the stream key\n"
    "-- again when it has none)\n"
    "-- ARGV[1]: MAXLEN ~; ARGV[2]: dedupe TTL s; ARGV[1+2i]: envelope i without id;\n"
    "-- ARGV[2+2i]: '1' when KEYS[2i] is a dedupe key; the last ARGV: MINID for an age limit\n"
    "-- ('0' for none)\n"
    "-- Reply: the stream ids in order (for a duplicate, the id first stored under its key)\n"
    "local ids = {}\n"
    "local minid = ARGV[#KEYS + 3]\n"
    "for i = 1, #KEYS / 2 do\n"
    "  local key, dkey, body = KEYS[2 * i - 1], KEYS[2 * i], ARGV[1 + 2 * i]\n"
    "  local hasd = ARGV[2 + 2 * i] == '1'\n"
    "  local id = false\n"
    "  if hasd then id = redis.call('GET', dkey) end\n"
    "  if not id then\n"
    "    id = redis.call('XADD', key, 'MAXLEN', '~', ARGV[1], '*', 'e', body)\n"
    "    if minid ~= '0' then redis.call('XTRIM', key, 'MINID', '~', minid) end\n"
    "    redis.call('PUBLISH', key, '{\"id\":\"' .. id .. '\",' .. string.sub(body, 2))\n"
    "    if hasd then redis.call('SET', dkey, id, 'NX', 'EX', ARGV[2]) end\n"
    "  end\n"
    "  ids[i] = id\n"
    "end\n"
    "return ids\n";

struct ingest_batchpub {
    struct rt_rconn *rc; /* borrowed */
    unsigned long maxlen;
    unsigned long maxage_s;
    unsigned ttl;
    struct rt_script script;
};

struct pending {
    ingest_batchpub_fn cb;
    void *arg; /* borrowed */
    size_t n;
};

static void fail(struct pending *q, int status)
{
    q->cb(status, NULL, q->n, q->arg);
    free(q);
}

static void on_reply(const redisReply *reply, void *arg)
{
    struct pending *q = arg;
    if (!reply) {
        fail(q, RT_ECLOSED);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        RT_WARN("publish.error", "publish script failed", RT_LF_STR("reply", reply->str));
        fail(q, RT_EREDIS);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != q->n) {
        fail(q, RT_EPROTO);
        return;
    }
    char **ids = rt_xcalloc(q->n, sizeof(*ids));
    for (size_t i = 0; i < q->n; i++) {
        if (reply->element[i]->type != REDIS_REPLY_STRING) {
            free(ids);
            fail(q, RT_EPROTO);
            return;
        }
        ids[i] = reply->element[i]->str; /* borrowed from the reply */
    }
    q->cb(0, ids, q->n, q->arg);
    free(ids);
    free(q);
}

struct ingest_batchpub *ingest_batchpub_new(struct rt_rconn *rc, unsigned long maxlen,
                                            unsigned dedupe_ttl_s)
{
    struct ingest_batchpub *b = rt_xcalloc(1, sizeof(*b));
    b->rc = rc;
    b->maxlen = maxlen;
    b->ttl = dedupe_ttl_s;
    rt_script_init(&b->script, "batchpub", ingest_batchpub_script);
    return b;
}

void ingest_batchpub_set_maxage(struct ingest_batchpub *b, unsigned long maxage_s)
{
    b->maxage_s = maxage_s;
}

void ingest_batchpub_free(struct ingest_batchpub *b)
{
    free(b);
}

void ingest_batchpub_on_ready(struct ingest_batchpub *b)
{
    rt_script_load(&b->script, b->rc);
}

int ingest_batchpub_send(struct ingest_batchpub *b, const struct ingest_batchpub_item *items,
                         size_t n, ingest_batchpub_fn cb, void *arg)
{
    if (n == 0 || n > 100000 || !cb)
        return RT_EINVAL;
    if (!rt_rconn_ready(b->rc))
        return RT_ENOTREADY;
    struct rt_script_call *c = rt_script_call_new(&b->script, (int)(2 * n));
    for (size_t i = 0; i < n; i++) {
        rt_script_arg_str(c, items[i].key);
        rt_script_arg_str(c, items[i].dedupe ? items[i].dedupe : items[i].key);
    }
    rt_script_arg_num(c, (long long)b->maxlen);
    rt_script_arg_num(c, b->ttl);
    for (size_t i = 0; i < n; i++) {
        rt_script_arg(c, items[i].body, items[i].len);
        rt_script_arg_str(c, items[i].dedupe ? "1" : "0");
    }
    char minid[32];
    rt_stream_minid(b->maxage_s, minid, sizeof(minid));
    rt_script_arg_str(c, minid);
    struct pending *q = rt_xcalloc(1, sizeof(*q));
    *q = (struct pending){.cb = cb, .arg = arg, .n = n};
    if (rt_script_send(c, b->rc, on_reply, q)) {
        free(q);
        return RT_ENOTREADY;
    }
    return 0;
}
