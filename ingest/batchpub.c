#include "batchpub.h"
#include "sigutil.h"

#include "rt/err.h"
#include "rt/log.h"
#include "rt/rconn.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ingest_batchpub_script[] =
    "-- KEYS[2i-1]: stream and channel of event i; KEYS[2i]: its dedupe key (the stream key\n"
    "-- again when it has none)\n"
    "-- ARGV[1]: MAXLEN ~; ARGV[2]: dedupe TTL s; ARGV[1+2i]: envelope i without id;\n"
    "-- ARGV[2+2i]: '1' when KEYS[2i] is a dedupe key\n"
    "-- Reply: the stream ids in order (for a duplicate, the id first stored under its key)\n"
    "local ids = {}\n"
    "for i = 1, #KEYS / 2 do\n"
    "  local key, dkey, body = KEYS[2 * i - 1], KEYS[2 * i], ARGV[1 + 2 * i]\n"
    "  local hasd = ARGV[2 + 2 * i] == '1'\n"
    "  local id = false\n"
    "  if hasd then id = redis.call('GET', dkey) end\n"
    "  if not id then\n"
    "    id = redis.call('XADD', key, 'MAXLEN', '~', ARGV[1], '*', 'e', body)\n"
    "    redis.call('PUBLISH', key, '{\"id\":\"' .. id .. '\",' .. string.sub(body, 2))\n"
    "    if hasd then redis.call('SET', dkey, id, 'NX', 'EX', ARGV[2]) end\n"
    "  end\n"
    "  ids[i] = id\n"
    "end\n"
    "return ids\n";

struct ingest_batchpub {
    struct rt_rconn *rc; /* borrowed */
    unsigned long maxlen;
    unsigned ttl;
    char sha[41];
};

struct pending {
    struct ingest_batchpub *b; /* borrowed */
    ingest_batchpub_fn cb;
    void *arg; /* borrowed */
    size_t n;
    int argc;
    char **argv; /* owned array of owned copies */
    size_t *argvlen;
    bool retried;
};

static void pending_free(struct pending *q)
{
    for (int i = 0; i < q->argc; i++)
        free(q->argv[i]);
    free(q->argv);
    free(q->argvlen);
    free(q);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata);

static int send_pending(struct pending *q)
{
    return rt_rconn_cmdargv(q->b->rc, on_reply, q, q->argc, (const char **)q->argv, q->argvlen);
}

static void on_script_load(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = r;
    (void)ac;
    (void)privdata;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        RT_ERROR("publish.script_load_failed", "SCRIPT LOAD failed",
                 RT_LF_STR("reply", reply->str));
}

static void fail(struct pending *q, int status)
{
    q->cb(status, NULL, q->n, q->arg);
    pending_free(q);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct pending *q = privdata;
    redisReply *reply = r;
    (void)ac;
    if (!reply) {
        fail(q, RT_ECLOSED);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        if (!q->retried && strncmp(reply->str, "NOSCRIPT", 8) == 0) {
            /* script cache flushed: load and retry once, in order (see common/publish.c) */
            q->retried = true;
            rt_rconn_cmd(q->b->rc, on_script_load, NULL, "SCRIPT LOAD %s", ingest_batchpub_script);
            if (send_pending(q) == 0)
                return;
            fail(q, RT_ECLOSED);
            return;
        }
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
    pending_free(q);
}

struct ingest_batchpub *ingest_batchpub_new(struct rt_rconn *rc, unsigned long maxlen,
                                            unsigned dedupe_ttl_s)
{
    struct ingest_batchpub *b = rt_xcalloc(1, sizeof(*b));
    unsigned char d[SHA_DIGEST_LENGTH];
    b->rc = rc;
    b->maxlen = maxlen;
    b->ttl = dedupe_ttl_s;
    SHA1((const unsigned char *)ingest_batchpub_script, strlen(ingest_batchpub_script), d);
    ingest_hex_encode(d, sizeof(d), b->sha);
    return b;
}

void ingest_batchpub_free(struct ingest_batchpub *b)
{
    free(b);
}

void ingest_batchpub_on_ready(struct ingest_batchpub *b)
{
    rt_rconn_cmd(b->rc, on_script_load, NULL, "SCRIPT LOAD %s", ingest_batchpub_script);
}

static void push(struct pending *q, const char *s, size_t len)
{
    q->argv[q->argc] = rt_xstrndup(s, len);
    q->argvlen[q->argc++] = len;
}

int ingest_batchpub_send(struct ingest_batchpub *b, const struct ingest_batchpub_item *items,
                         size_t n, ingest_batchpub_fn cb, void *arg)
{
    char num[32];
    if (n == 0 || n > 100000 || !cb)
        return RT_EINVAL;
    if (!rt_rconn_ready(b->rc))
        return RT_ENOTREADY;
    struct pending *q = rt_xcalloc(1, sizeof(*q));
    size_t cap = 5 + 4 * n;
    q->argv = rt_xcalloc(cap, sizeof(*q->argv));
    q->argvlen = rt_xcalloc(cap, sizeof(*q->argvlen));
    q->b = b;
    q->cb = cb;
    q->arg = arg;
    q->n = n;
    push(q, "EVALSHA", 7);
    push(q, b->sha, 40);
    snprintf(num, sizeof(num), "%zu", 2 * n);
    push(q, num, strlen(num));
    for (size_t i = 0; i < n; i++) {
        const char *d = items[i].dedupe ? items[i].dedupe : items[i].key;
        push(q, items[i].key, strlen(items[i].key));
        push(q, d, strlen(d));
    }
    snprintf(num, sizeof(num), "%lu", b->maxlen);
    push(q, num, strlen(num));
    snprintf(num, sizeof(num), "%u", b->ttl);
    push(q, num, strlen(num));
    for (size_t i = 0; i < n; i++) {
        push(q, items[i].body, items[i].len);
        push(q, items[i].dedupe ? "1" : "0", 1);
    }
    if (send_pending(q)) {
        pending_free(q);
        return RT_ENOTREADY;
    }
    return 0;
}
