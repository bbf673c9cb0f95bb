#include "slot_lock.h"

#include "rt/err.h"
#include "rt/log.h"
#include "rt/loop.h"
#include "rt/rconn.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Called every few seconds only, so EVAL (not EVALSHA) keeps it simple. */
static const char acquire_script[] =
    "-- KEYS[1]: lock key; ARGV[1]: owner id; ARGV[2]: lifetime in ms\n"
    "-- Reply: 1 when the caller holds the lock (taken or extended), else 0\n"
    "local v = redis.call('GET', KEYS[1])\n"
    "if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end\n"
    "if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end\n"
    "return 0\n";
static const char release_script[] =
    "-- KEYS[1]: lock key; ARGV[1]: owner id; Reply: 1 if deleted\n"
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n";

struct ingest_slot_lock {
    struct rt_rconn *rc;        /* borrowed */
    const struct rt_loop *loop; /* borrowed */
    struct rt_timer *timer;     /* owned */
    char key[160];
    char owner[96];
    char ttl[16];
    unsigned ttl_ms;
    bool held, pending, released;
    uint64_t renewed_ms; /* when the lock was last confirmed ours */
    ingest_slot_lock_fn on_change;
    void *arg; /* borrowed */
};

static void set_held(struct ingest_slot_lock *l, bool held)
{
    if (l->held == held)
        return;
    l->held = held;
    if (held)
        RT_INFO("pg.lock_acquired", "replication slot lock acquired", RT_LF_STR("key", l->key));
    else
        RT_WARN("pg.lock_lost", "replication slot lock lost", RT_LF_STR("key", l->key));
    if (!l->released)
        l->on_change(l->arg, held);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct ingest_slot_lock *l = privdata;
    redisReply *reply = r;
    (void)ac;
    l->pending = false;
    if (l->released)
        return;
    if (reply && reply->type == REDIS_REPLY_INTEGER) {
        if (reply->integer == 1)
            l->renewed_ms = rt_now_ms();
        set_held(l, reply->integer == 1);
        return;
    }
    /* no answer: the lock may expire under us; give it up before it can */
    if (l->held && rt_now_ms() - l->renewed_ms > l->ttl_ms * 2 / 3)
        set_held(l, false);
}

static void on_timer(void *arg)
{
    struct ingest_slot_lock *l = arg;
    l->loop->ops->timer_start(l->timer, l->ttl_ms / 3);
    if (l->released || l->pending)
        return;
    if (rt_rconn_cmd(l->rc, on_reply, l, "EVAL %s 1 %s %s %s", acquire_script, l->key, l->owner,
                     l->ttl) == 0) {
        l->pending = true;
        return;
    }
    if (l->held && rt_now_ms() - l->renewed_ms > l->ttl_ms * 2 / 3)
        set_held(l, false);
    if (!l->held) /* Redis not ready: try again soon rather than a third of the lifetime later */
        l->loop->ops->timer_start(l->timer, 100);
}

struct ingest_slot_lock *ingest_slot_lock_new(struct rt_rconn *rc, const struct rt_loop *loop,
                                              const char *slot, unsigned ttl_ms,
                                              ingest_slot_lock_fn on_change, void *arg)
{
    struct ingest_slot_lock *l = rt_xcalloc(1, sizeof(*l));
    char host[64] = "";
    l->rc = rc;
    l->loop = loop;
    l->ttl_ms = ttl_ms;
    l->on_change = on_change;
    l->arg = arg;
    gethostname(host, sizeof(host) - 1);
    snprintf(l->key, sizeof(l->key), "rt:pg:%s:lock", slot);
    snprintf(l->owner, sizeof(l->owner), "%s:%ld:%llu", host, (long)getpid(),
             (unsigned long long)rt_wall_ms());
    snprintf(l->ttl, sizeof(l->ttl), "%u", ttl_ms);
    l->timer = loop->ops->timer_new(loop->impl, on_timer, l);
    loop->ops->timer_start(l->timer, 0);
    return l;
}

void ingest_slot_lock_release(struct ingest_slot_lock *l)
{
    if (!l || l->released)
        return;
    l->released = true;
    l->loop->ops->timer_stop(l->timer);
    if (l->held &&
        rt_rconn_cmd(l->rc, NULL, NULL, "EVAL %s 1 %s %s", release_script, l->key, l->owner) == 0) {
        /* the process exits right after SIGTERM: write it now rather than on a loop turn that
         * may never come (a short non-blocking write of a small buffer) */
        redisAsyncContext *ac = rt_rconn_ctx(l->rc);
        if (ac)
            redisAsyncHandleWrite(ac);
    }
    l->held = false;
}

void ingest_slot_lock_free(struct ingest_slot_lock *l)
{
    if (!l)
        return;
    l->loop->ops->timer_free(l->timer);
    free(l);
}

bool ingest_slot_lock_held(const struct ingest_slot_lock *l)
{
    return l->held;
}
