#include "consumer.h"

#include "rt/envelope.h"
#include "rt/err.h"
#include "rt/log.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RETRY_MS 1000

enum consumer_state {
    CONSUMER_DOWN,    /* Redis not ready */
    CONSUMER_GROUP,   /* XGROUP CREATE in flight */
    CONSUMER_READING, /* XREADGROUP or XAUTOCLAIM in flight (applies may be ahead of it) */
    CONSUMER_WAITING, /* retry timer armed after an error */
    CONSUMER_CLOSED,
};

struct health_consumer {
    const struct health_config *cfg; /* borrowed */
    const struct rt_loop *loop;      /* borrowed */
    struct health_callstate *cs;     /* borrowed */
    struct rt_rconn *cmd;            /* borrowed */
    struct rt_rconn *rc;             /* owned: the blocking read connection */
    struct rt_timer *timer;          /* owned: retry */
    health_changed_fn on_changed;
    void *arg; /* borrowed */
    enum consumer_state state;
    char name[128];
    bool own_pending; /* re-read this consumer's own pending entries first */
    char pending_cursor[RT_STREAM_ID_MAX + 1];
    char claim_cursor[RT_STREAM_ID_MAX + 1];
    uint64_t next_claim_ms;
    size_t applying; /* apply replies outstanding (information only) */
    long long lag;   /* -1 unknown */
    uint64_t lag_at_ms;
    bool lag_polling;
    uint64_t next_prune_ms;
    struct rt_metric *m_applied, *m_skipped, *m_invalid, *m_errors, *m_claimed, *m_lag;
};

/* One apply script call in flight. */
struct apply_req {
    struct health_consumer *c; /* borrowed */
    struct health_apply_batch batch;
};

static void read_next(struct health_consumer *c, bool block);

static void set_state(struct health_consumer *c, enum consumer_state s)
{
    c->state = s;
}

static void retry_later(struct health_consumer *c)
{
    set_state(c, CONSUMER_WAITING);
    c->loop->ops->timer_start(c->timer, RETRY_MS);
}

static void on_timer(void *arg)
{
    struct health_consumer *c = arg;
    switch (c->state) {
    case CONSUMER_WAITING:
        if (rt_rconn_ready(c->rc))
            read_next(c, true);
        else
            set_state(c, CONSUMER_DOWN);
        break;
    case CONSUMER_DOWN:
    case CONSUMER_GROUP:
    case CONSUMER_READING:
    case CONSUMER_CLOSED:
        break;
    }
}

static void on_applied(const redisReply *reply, void *arg)
{
    struct apply_req *q = arg;
    struct health_consumer *c = q->c;
    c->applying -= q->batch.n;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == q->batch.n) {
        for (size_t i = 0; i < reply->elements; i++) {
            long long v =
                reply->element[i]->type == REDIS_REPLY_INTEGER ? reply->element[i]->integer : -1;
            if (v == 0) {
                rt_metric_inc(c->m_skipped);
            } else {
                rt_metric_inc(c->m_applied);
                if (v != 3 && c->on_changed)
                    c->on_changed(q->batch.items[i].ev.tenant, c->arg);
            }
        }
    } else if (reply) {
        /* the entries stay pending: read this consumer's pending entries again */
        RT_WARN("health.apply_failed", "apply script failed",
                RT_LF_STR("reply", reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected"));
        rt_metric_inc(c->m_errors);
        c->own_pending = true;
        snprintf(c->pending_cursor, sizeof(c->pending_cursor), "0");
    }
    /* a NULL reply: the read sent after this batch gets one too and moves the state */
    free(q);
}

static void on_acked(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    (void)r;
    (void)privdata;
}

static void send_batch(struct health_consumer *c, struct apply_req *q)
{
    size_t n = q->batch.n;
    if (n > 0 && health_callstate_apply(c->cs, c->rc, &q->batch, c->name, on_applied, q) == 0) {
        c->applying += n;
        return;
    }
    free(q); /* not sent: the entries stay pending and are read again */
}

/* Parses one [id, [field, value, ...]] entry into the batch; entries that are not call events
 * for rt-health are acknowledged at once. */
static void add_entry(struct health_consumer *c, struct apply_req *q, const redisReply *e)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING)
        return;
    const char *sid = e->element[0]->str;
    const redisReply *f = e->element[1];
    const redisReply *body = NULL;
    for (size_t i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2)
        if (f->element[i]->type == REDIS_REPLY_STRING && strcmp(f->element[i]->str, "e") == 0)
            body = f->element[i + 1];
    struct health_event ev;
    int rc = body && body->type == REDIS_REPLY_STRING
                 ? health_event_parse(body->str, body->len, &ev)
                 : RT_EINVAL;
    if (rc == 0 && strlen(sid) <= RT_STREAM_ID_MAX) {
        health_apply_batch_add(&q->batch, sid, &ev);
        return;
    }
    /* not a call event for us, or malformed: acknowledge so it is not redelivered forever */
    if (rc != RT_ENOENT) {
        rt_metric_inc(c->m_invalid);
        RT_WARN("health.event_invalid", "call event dropped", RT_LF_STR("id", sid), RT_LF_ERR(rc));
    }
    rt_rconn_cmd(c->rc, on_acked, NULL, "XACK %s %s %s", RT_CALLS_ALL_KEY, c->cfg->group, sid);
}

/* Sends the applies of a batch (HEALTH_APPLY_MAX events per script call) and, pipelined behind
 * them, the next read: Redis runs them in order, so the read's reply comes after every apply
 * reply and the process never waits idle between batches. With read_ahead the next read was
 * already sent before these applies. */
static void apply_entries(struct health_consumer *c, const redisReply *entries, bool read_ahead)
{
    struct apply_req *q = NULL;
    for (size_t i = 0; i < entries->elements; i++) {
        if (!q) {
            q = rt_xmalloc(sizeof(*q));
            q->c = c;
            q->batch.n = 0;
        }
        add_entry(c, q, entries->element[i]);
        if (q->batch.n == HEALTH_APPLY_MAX) {
            send_batch(c, q);
            q = NULL;
        }
    }
    if (q)
        send_batch(c, q);
    if (!read_ahead)
        read_next(c, true);
}

/* XREADGROUP reply: nil (timeout) or [[stream, [entries]]]. */
static void on_read(redisAsyncContext *ac, void *r, void *privdata)
{
    struct health_consumer *c = privdata;
    redisReply *reply = r;
    (void)ac;
    if (c->state != CONSUMER_READING)
        return;
    if (!reply) {
        set_state(c, CONSUMER_DOWN);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        RT_WARN("health.read_failed", "XREADGROUP failed", RT_LF_STR("reply", reply->str));
        rt_metric_inc(c->m_errors);
        if (strncmp(reply->str, "NOGROUP", 7) == 0) {
            rt_rconn_reset(c->rc); /* recreates the group on the next READY */
            set_state(c, CONSUMER_DOWN);
            return;
        }
        retry_later(c);
        return;
    }
    const redisReply *entries = NULL;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
        reply->element[0]->type == REDIS_REPLY_ARRAY && reply->element[0]->elements == 2)
        entries = reply->element[0]->element[1];
    if (c->own_pending) {
        size_t n = entries ? entries->elements : 0;
        if (n == 0)
            c->own_pending = false;
        else if (entries->element[n - 1]->type == REDIS_REPLY_ARRAY &&
                 entries->element[n - 1]->elements == 2)
            snprintf(c->pending_cursor, sizeof(c->pending_cursor), "%s",
                     entries->element[n - 1]->element[0]->str);
    }
    if (!entries || entries->type != REDIS_REPLY_ARRAY || entries->elements == 0) {
        read_next(c, true);
        return;
    }
    /* a full batch of new entries: more are probably waiting, so the next read (without BLOCK,
     * which would hold up the applies queued behind it) goes out before this batch is parsed,
     * and Redis serves it while this process parses */
    bool ahead = !c->own_pending && entries->elements >= (size_t)c->cfg->batch;
    if (ahead)
        read_next(c, false);
    apply_entries(c, entries, ahead);
}

/* XAUTOCLAIM reply: [next cursor, [entries], [deleted ids]]. */
static void on_claim(redisAsyncContext *ac, void *r, void *privdata)
{
    struct health_consumer *c = privdata;
    redisReply *reply = r;
    (void)ac;
    if (c->state != CONSUMER_READING)
        return;
    if (!reply) {
        set_state(c, CONSUMER_DOWN);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
        RT_WARN("health.claim_failed", "XAUTOCLAIM failed",
                RT_LF_STR("reply", reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected"));
        rt_metric_inc(c->m_errors);
        c->next_claim_ms = rt_now_ms() + (uint64_t)c->cfg->claim_idle_ms / 2;
        retry_later(c);
        return;
    }
    snprintf(c->claim_cursor, sizeof(c->claim_cursor), "%s", reply->element[0]->str);
    if (strcmp(c->claim_cursor, "0-0") == 0)
        c->next_claim_ms = rt_now_ms() + (uint64_t)c->cfg->claim_idle_ms / 2;
    const redisReply *entries = reply->element[1];
    if (entries->elements > 0) {
        rt_metric_add(c->m_claimed, (double)entries->elements);
        RT_INFO("health.claimed", "claimed pending entries of another consumer",
                RT_LF_UINT("count", entries->elements));
        apply_entries(c, entries, false);
        return;
    }
    read_next(c, true);
}

static void read_next(struct health_consumer *c, bool block)
{
    char count[16], ms[16], idle[24];
    int rc;
    snprintf(count, sizeof(count), "%lld", c->cfg->batch);
    set_state(c, CONSUMER_READING);
    if (rt_now_ms() >= c->next_claim_ms) {
        snprintf(idle, sizeof(idle), "%lld", c->cfg->claim_idle_ms);
        rc = rt_rconn_cmd(c->rc, on_claim, c, "XAUTOCLAIM %s %s %s %s %s COUNT %s",
                          RT_CALLS_ALL_KEY, c->cfg->group, c->name, idle, c->claim_cursor, count);
    } else if (c->own_pending) {
        rc = rt_rconn_cmd(c->rc, on_read, c, "XREADGROUP GROUP %s %s COUNT %s STREAMS %s %s",
                          c->cfg->group, c->name, count, RT_CALLS_ALL_KEY, c->pending_cursor);
    } else if (block) {
        snprintf(ms, sizeof(ms), "%lld", c->cfg->block_ms);
        rc =
            rt_rconn_cmd(c->rc, on_read, c, "XREADGROUP GROUP %s %s COUNT %s BLOCK %s STREAMS %s >",
                         c->cfg->group, c->name, count, ms, RT_CALLS_ALL_KEY);
    } else {
        rc = rt_rconn_cmd(c->rc, on_read, c, "XREADGROUP GROUP %s %s COUNT %s STREAMS %s >",
                          c->cfg->group, c->name, count, RT_CALLS_ALL_KEY);
    }
    if (rc)
        set_state(c, CONSUMER_DOWN);
}

static void on_group(redisAsyncContext *ac, void *r, void *privdata)
{
    struct health_consumer *c = privdata;
    redisReply *reply = r;
    (void)ac;
    if (c->state != CONSUMER_GROUP)
        return;
    if (!reply) {
        set_state(c, CONSUMER_DOWN);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "BUSYGROUP", 9) != 0) {
        RT_ERROR("health.group_failed", "XGROUP CREATE failed", RT_LF_STR("reply", reply->str));
        retry_later(c);
        return;
    }
    RT_INFO("health.consuming", "consuming call events", RT_LF_STR("stream", RT_CALLS_ALL_KEY),
            RT_LF_STR("group", c->cfg->group), RT_LF_STR("consumer", c->name));
    read_next(c, true);
}

static void on_rconn(struct rt_rconn *rc, enum rt_rconn_state state, void *arg)
{
    struct health_consumer *c = arg;
    (void)rc;
    switch (state) {
    case RT_RCONN_READY:
        health_callstate_load(c->cs, c->rc);
        c->own_pending = true;
        snprintf(c->pending_cursor, sizeof(c->pending_cursor), "0");
        snprintf(c->claim_cursor, sizeof(c->claim_cursor), "0-0");
        c->next_claim_ms = 0;
        c->loop->ops->timer_stop(c->timer);
        set_state(c, CONSUMER_GROUP);
        /* from 0: events published before the first start are not lost */
        if (rt_rconn_cmd(c->rc, on_group, c, "XGROUP CREATE %s %s 0 MKSTREAM", RT_CALLS_ALL_KEY,
                         c->cfg->group))
            set_state(c, CONSUMER_DOWN);
        break;
    case RT_RCONN_CONNECTING:
    case RT_RCONN_HANDSHAKE:
    case RT_RCONN_BACKOFF:
        if (c->state != CONSUMER_CLOSED)
            set_state(c, CONSUMER_DOWN);
        break;
    case RT_RCONN_CLOSED:
        break;
    }
}

static void make_metrics(struct health_consumer *c, struct rt_metrics *m)
{
    c->m_applied = rt_metrics_get(m, RT_METRIC_COUNTER, "rt_health_events_applied_total",
                                  "call events applied", NULL, NULL, 0);
    c->m_skipped = rt_metrics_get(m, RT_METRIC_COUNTER, "rt_health_events_skipped_total",
                                  "entries already applied by another consumer", NULL, NULL, 0);
    c->m_invalid = rt_metrics_get(m, RT_METRIC_COUNTER, "rt_health_events_invalid_total",
                                  "malformed call events acknowledged and dropped", NULL, NULL, 0);
    c->m_errors = rt_metrics_get(m, RT_METRIC_COUNTER, "rt_health_consumer_errors_total",
                                 "failed reads, claims and applies", NULL, NULL, 0);
    c->m_claimed = rt_metrics_get(m, RT_METRIC_COUNTER, "rt_health_events_claimed_total",
                                  "entries claimed from dead consumers", NULL, NULL, 0);
    c->m_lag = rt_metrics_get(m, RT_METRIC_GAUGE, "rt_health_consumer_lag",
                              "undelivered plus pending entries of the group", NULL, NULL, 0);
}

int health_consumer_open(struct health_consumer **out, const struct health_consumer_opts *o)
{
    struct health_consumer *c = rt_xcalloc(1, sizeof(*c));
    char host[64] = "host";
    c->cfg = o->cfg;
    c->loop = o->loop;
    c->cs = o->cs;
    c->cmd = o->cmd;
    c->on_changed = o->on_changed;
    c->arg = o->arg;
    c->lag = -1;
    if (o->cfg->consumer) {
        snprintf(c->name, sizeof(c->name), "%s", o->cfg->consumer);
    } else {
        gethostname(host, sizeof(host) - 1);
        snprintf(c->name, sizeof(c->name), "%s-%d", host, (int)getpid());
    }
    make_metrics(c, o->metrics);
    c->timer = c->loop->ops->timer_new(c->loop->impl, on_timer, c);
    /* a PING queued behind XREADGROUP BLOCK is answered when the block ends: the interval
     * (the time a PING may stay unanswered) must exceed the block */
    unsigned ping = (unsigned)o->cfg->block_ms + 1000;
    struct rt_rconn_opts ro = {.url = o->cfg->common.redis_url,
                               .client_name = "rt-health-consumer",
                               .connect_timeout_ms = 2000,
                               .ping_interval_ms = ping,
                               .backoff_min_ms = 100,
                               .backoff_max_ms = 3000,
                               .on_state = on_rconn,
                               .arg = c};
    int rc = rt_rconn_open(&c->rc, c->loop, &ro);
    if (rc) {
        health_consumer_free(c);
        *out = NULL;
        return rc;
    }
    *out = c;
    return 0;
}

void health_consumer_free(struct health_consumer *c)
{
    if (!c)
        return;
    set_state(c, CONSUMER_CLOSED);
    rt_rconn_free(c->rc); /* callbacks in flight run now with NULL replies */
    if (c->timer)
        c->loop->ops->timer_free(c->timer);
    free(c);
}

const char *health_consumer_name(const struct health_consumer *c)
{
    return c->name;
}

/* XINFO GROUPS: per group a flat array name, consumers, pending, last-delivered-id,
 * entries-read, lag (Redis 7; lag is nil when Redis cannot tell). */
static void on_lag(redisAsyncContext *ac, void *r, void *privdata)
{
    struct health_consumer *c = privdata;
    redisReply *reply = r;
    (void)ac;
    if (!reply)
        return; /* c may be closing: touch nothing */
    c->lag_polling = false;
    if (reply->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t g = 0; g < reply->elements; g++) {
        const redisReply *grp = reply->element[g];
        long long pending = -1, lag = -1;
        bool mine = false;
        for (size_t i = 0; grp->type == REDIS_REPLY_ARRAY && i + 1 < grp->elements; i += 2) {
            const redisReply *k = grp->element[i], *v = grp->element[i + 1];
            if (k->type != REDIS_REPLY_STRING)
                continue;
            if (strcmp(k->str, "name") == 0 && v->type == REDIS_REPLY_STRING)
                mine = strcmp(v->str, c->cfg->group) == 0;
            else if (strcmp(k->str, "pending") == 0 && v->type == REDIS_REPLY_INTEGER)
                pending = v->integer;
            else if (strcmp(k->str, "lag") == 0 && v->type == REDIS_REPLY_INTEGER)
                lag = v->integer;
        }
        if (mine && pending >= 0) {
            /* a nil lag (after deletions in the stream) counts as 0: pending still bounds it */
            c->lag = pending + (lag > 0 ? lag : 0);
            c->lag_at_ms = rt_now_ms();
            rt_metric_set(c->m_lag, (double)c->lag);
        }
    }
}

/* Consumers idle this long with nothing pending are gone (every restart adds one, named after
 * its pid). A live consumer reads at least every block_ms, and one removed by mistake is
 * recreated by its next read, losing nothing since it had nothing pending. */
static long long prune_idle_ms(const struct health_config *cfg)
{
    long long a = 4 * cfg->claim_idle_ms, b = 4 * cfg->block_ms + 1000;
    return a > b ? a : b;
}

/* XINFO CONSUMERS: per consumer a flat array name, pending, idle (Redis 7.0). */
static void on_consumers(redisAsyncContext *ac, void *r, void *privdata)
{
    struct health_consumer *c = privdata;
    redisReply *reply = r;
    (void)ac;
    if (!reply || reply->type != REDIS_REPLY_ARRAY)
        return; /* NULL: c may be closing, touch nothing */
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *e = reply->element[i];
        const char *name = NULL;
        long long pending = -1, idle = -1;
        for (size_t k = 0; e->type == REDIS_REPLY_ARRAY && k + 1 < e->elements; k += 2) {
            const redisReply *key = e->element[k], *v = e->element[k + 1];
            if (key->type != REDIS_REPLY_STRING)
                continue;
            if (strcmp(key->str, "name") == 0 && v->type == REDIS_REPLY_STRING)
                name = v->str;
            else if (strcmp(key->str, "pending") == 0 && v->type == REDIS_REPLY_INTEGER)
                pending = v->integer;
            else if (strcmp(key->str, "idle") == 0 && v->type == REDIS_REPLY_INTEGER)
                idle = v->integer;
        }
        if (!name || strcmp(name, c->name) == 0 || pending != 0 || idle < prune_idle_ms(c->cfg))
            continue;
        RT_INFO("health.consumer_removed", "removed an idle consumer with nothing pending",
                RT_LF_STR("consumer", name), RT_LF_INT("idle_ms", idle));
        rt_rconn_cmd(c->cmd, NULL, NULL, "XGROUP DELCONSUMER %s %s %s", RT_CALLS_ALL_KEY,
                     c->cfg->group, name);
    }
}

void health_consumer_poll_lag(struct health_consumer *c)
{
    uint64_t now = rt_now_ms();
    if (now >= c->next_prune_ms) {
        c->next_prune_ms = now + (uint64_t)prune_idle_ms(c->cfg) / 2;
        rt_rconn_cmd(c->cmd, on_consumers, c, "XINFO CONSUMERS %s %s", RT_CALLS_ALL_KEY,
                     c->cfg->group);
    }
    if (c->lag_polling && rt_now_ms() - c->lag_at_ms < 10000)
        return;
    if (rt_rconn_cmd(c->cmd, on_lag, c, "XINFO GROUPS %s", RT_CALLS_ALL_KEY) == 0)
        c->lag_polling = true;
}

long long health_consumer_lag(const struct health_consumer *c)
{
    return c->lag;
}

bool health_consumer_ready(struct health_consumer *c, char *reason, size_t cap)
{
    if (!rt_rconn_ready(c->rc)) {
        const char *e = rt_rconn_last_error(c->rc);
        snprintf(reason, cap, "consumer redis: %s", e[0] ? e : "connecting");
        return false;
    }
    uint64_t stale_after = (uint64_t)(3 * c->cfg->tick_ms + 2000);
    if (c->lag < 0 || rt_now_ms() - c->lag_at_ms > stale_after) {
        snprintf(reason, cap, "consumer lag unknown");
        return false;
    }
    if (c->lag > c->cfg->max_lag) {
        snprintf(reason, cap, "consumer lag %lld over bound %lld", c->lag, c->cfg->max_lag);
        return false;
    }
    return true;
}
