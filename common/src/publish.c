#include "rt/publish.h"
#include "rt/err.h"
#include "rt/log.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The dedupe key holds the id of the first publish so that a duplicate can answer with it. */
const char rt_publish_script[] =
    "-- KEYS[1]: stream and pub/sub channel (rt:{tenant}:<channel>)\n"
    "-- KEYS[2]: optional dedupe key (same tenant)\n"
    "-- ARGV[1]: envelope JSON object without \"id\"; ARGV[2]: approximate MAXLEN;\n"
    "-- ARGV[3]: dedupe TTL in seconds\n"
    "-- Reply: {\"published\", <stream id>} or {\"duplicate\", <id of the first publish>}\n"
    "if KEYS[2] then\n"
    "  local first = redis.call('GET', KEYS[2])\n"
    "  if first then return {'duplicate', first} end\n"
    "end\n"
    "local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1])\n"
    "if KEYS[2] then redis.call('SET', KEYS[2], id, 'NX', 'EX', ARGV[3]) end\n"
    "redis.call('PUBLISH', KEYS[1], '{\"id\":\"' .. id .. '\",' .. string.sub(ARGV[1], 2))\n"
    "return {'published', id}\n";

struct rt_publisher {
    struct rt_rconn *rc; /* borrowed */
    unsigned long default_maxlen;
    char sha[41];
    size_t inflight;
};

/* One request in flight; kept until its reply so that a NOSCRIPT can be retried. */
struct pending {
    struct rt_publisher *p; /* borrowed; NULL after rt_publisher_free */
    rt_publish_fn cb;
    void *arg; /* borrowed */
    int argc;
    char *argv[8]; /* owned copies: EVALSHA sha nkeys key [dedupe] body maxlen ttl */
    size_t argvlen[8];
    bool retried;
};

static void pending_free(struct pending *q)
{
    for (int i = 0; i < q->argc; i++)
        free(q->argv[i]);
    free(q);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata);

static int send_pending(struct pending *q)
{
    return rt_rconn_cmdargv(q->p->rc, on_reply, q, q->argc, (const char **)q->argv, q->argvlen);
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

static void finish(struct pending *q, int status, const char *id)
{
    if (q->p)
        q->p->inflight--;
    q->cb(status, id, q->arg);
    pending_free(q);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct pending *q = privdata;
    redisReply *reply = r;
    (void)ac;
    if (!reply) {
        finish(q, RT_ECLOSED, NULL);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        if (!q->retried && q->p && strncmp(reply->str, "NOSCRIPT", 8) == 0) {
            /* the script cache was flushed (restart, SCRIPT FLUSH): load it and retry once.
             * Every request pipelined behind this one fails the same way and is retried in
             * the same order, so per-channel order holds. */
            q->retried = true;
            rt_rconn_cmd(q->p->rc, on_script_load, NULL, "SCRIPT LOAD %s", rt_publish_script);
            if (send_pending(q) == 0)
                return;
            finish(q, RT_ECLOSED, NULL);
            return;
        }
        RT_WARN("publish.error", "publish script failed", RT_LF_STR("reply", reply->str));
        finish(q, RT_EREDIS, NULL);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_STRING) {
        finish(q, RT_EPROTO, NULL);
        return;
    }
    bool dup = strcmp(reply->element[0]->str, "duplicate") == 0;
    finish(q, dup ? RT_EDUPLICATE : 0, reply->element[1]->str);
}

struct rt_publisher *rt_publisher_new(struct rt_rconn *rc, unsigned long default_maxlen)
{
    struct rt_publisher *p = rt_xcalloc(1, sizeof(*p));
    unsigned char digest[SHA_DIGEST_LENGTH];
    p->rc = rc;
    p->default_maxlen = default_maxlen ? default_maxlen : RT_PUBLISH_DEFAULT_MAXLEN;
    SHA1((const unsigned char *)rt_publish_script, strlen(rt_publish_script), digest);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(p->sha + 2 * i, 3, "%02x", digest[i]);
    return p;
}

void rt_publisher_free(struct rt_publisher *p)
{
    /* Free the rconn first: requests in flight then finish (RT_ECLOSED) while p is alive. */
    free(p);
}

void rt_publisher_on_ready(struct rt_publisher *p)
{
    /* pipelined ahead of every EVALSHA sent after it, so those never see NOSCRIPT */
    rt_rconn_cmd(p->rc, on_script_load, NULL, "SCRIPT LOAD %s", rt_publish_script);
}

size_t rt_publisher_inflight(const struct rt_publisher *p)
{
    return p->inflight;
}

int rt_publish(struct rt_publisher *p, const struct rt_publish_req *req, rt_publish_fn cb,
               void *arg)
{
    char maxlen[24], ttl[16];
    if (!req->key || !req->body || req->body_len < 2 || req->body[0] != '{' || !cb)
        return RT_EINVAL;
    if (!rt_rconn_ready(p->rc))
        return RT_ENOTREADY;
    snprintf(maxlen, sizeof(maxlen), "%lu", req->maxlen ? req->maxlen : p->default_maxlen);
    snprintf(ttl, sizeof(ttl), "%u",
             req->dedupe_ttl_s ? req->dedupe_ttl_s : RT_PUBLISH_DEFAULT_DEDUPE_TTL);

    struct pending *q = rt_xcalloc(1, sizeof(*q));
    const char *nkeys = req->dedupe_key ? "2" : "1";
    const char *parts[5] = {"EVALSHA", p->sha, nkeys, req->key, req->dedupe_key};
    int n = req->dedupe_key ? 5 : 4;
    q->p = p;
    q->cb = cb;
    q->arg = arg;
    for (int i = 0; i < n; i++) {
        q->argvlen[i] = strlen(parts[i]);
        q->argv[i] = rt_xstrndup(parts[i], q->argvlen[i]);
    }
    q->argv[n] = rt_xmalloc(req->body_len + 1);
    memcpy(q->argv[n], req->body, req->body_len);
    q->argv[n][req->body_len] = '\0';
    q->argvlen[n++] = req->body_len;
    q->argv[n] = rt_xstrdup(maxlen);
    q->argvlen[n++] = strlen(maxlen);
    q->argv[n] = rt_xstrdup(ttl);
    q->argvlen[n++] = strlen(ttl);
    q->argc = n;
    if (send_pending(q)) {
        pending_free(q);
        return RT_ENOTREADY;
    }
    p->inflight++;
    return 0;
}
