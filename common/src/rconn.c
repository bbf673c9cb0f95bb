#include "rt/rconn.h"
#include "rt/backoff.h"
#include "rt/err.h"
#include "rt/log.h"
#include "rt/redisurl.h"

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rt_rconn {
    struct rt_loop loop;
    struct rt_redis_addr addr;
    char *client_name; /* owned */
    unsigned connect_timeout_ms, ping_interval_ms;
    rt_rconn_state_fn on_state;
    void *arg; /* borrowed */

    enum rt_rconn_state state;
    redisAsyncContext *ac;  /* owned by hiredis once connected; NULL when down */
    struct rt_timer *timer; /* owned: connect timeout, ping, or backoff by state */
    struct rt_backoff backoff;
    bool ping_outstanding;
    char last_error[160];
};

static void start_connect(struct rt_rconn *rc);

static const char *state_name(enum rt_rconn_state s)
{
    switch (s) {
    case RT_RCONN_CONNECTING:
        return "connecting";
    case RT_RCONN_HANDSHAKE:
        return "handshake";
    case RT_RCONN_READY:
        return "ready";
    case RT_RCONN_BACKOFF:
        return "backoff";
    case RT_RCONN_CLOSED:
        return "closed";
    }
    return "?";
}

static void set_state(struct rt_rconn *rc, enum rt_rconn_state s)
{
    enum rt_rconn_state old = rc->state;
    rc->state = s;
    if (old == s)
        return;
    RT_DEBUG("redis.state", "redis connection state", RT_LF_STR("from", state_name(old)),
             RT_LF_STR("to", state_name(s)));
    if (rc->on_state && s != RT_RCONN_CLOSED)
        rc->on_state(rc, s, rc->arg);
}

static void set_error(struct rt_rconn *rc, const char *what, const char *detail)
{
    snprintf(rc->last_error, sizeof(rc->last_error), "%s%s%s", what, detail ? ": " : "",
             detail ? detail : "");
}

/* Enters BACKOFF and arms the retry; the context must already be gone. */
static void schedule_retry(struct rt_rconn *rc)
{
    bool was_ready = rc->state == RT_RCONN_READY;
    uint32_t delay = rt_backoff_next(&rc->backoff);
    rc->ac = NULL;
    rc->ping_outstanding = false;
    set_state(rc, RT_RCONN_BACKOFF);
    rt_log(was_ready ? RT_LOG_WARN : RT_LOG_INFO, "redis.down", "redis unavailable, retrying",
           RT_LF_STR("reason", rc->last_error), RT_LF_UINT("retry_ms", delay));
    rc->loop.ops->timer_start(rc->timer, delay);
}

/* Frees a context we own outside of hiredis callbacks, then retries. */
static void drop_and_retry(struct rt_rconn *rc)
{
    redisAsyncContext *ac = rc->ac;
    rc->ac = NULL;
    if (ac) {
        ac->data = NULL; /* callbacks fired by the free below see a detached context */
        redisAsyncFree(ac);
    }
    schedule_retry(rc);
}

#define HANDSHAKE_LAST ((void *)1)

/* Every handshake command (AUTH, SELECT, CLIENT SETNAME, PING) replies here; the last one,
 * marked HANDSHAKE_LAST, makes the connection READY. */
static void on_handshake_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct rt_rconn *rc = ac->data;
    redisReply *reply = r;
    if (!rc || rc->state != RT_RCONN_HANDSHAKE)
        return;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        set_error(rc, "handshake failed", reply ? reply->str : "no reply");
        /* leave HANDSHAKE so that replies still queued behind this one are ignored */
        set_state(rc, RT_RCONN_CONNECTING);
        rt_rconn_reset(rc);
        return;
    }
    if (privdata != HANDSHAKE_LAST)
        return;
    rt_backoff_reset(&rc->backoff);
    rc->last_error[0] = '\0';
    if (rc->ping_interval_ms)
        rc->loop.ops->timer_start(rc->timer, rc->ping_interval_ms);
    else
        rc->loop.ops->timer_stop(rc->timer);
    RT_INFO("redis.connected", "connected to redis",
            RT_LF_STR("host", rc->addr.path[0] ? rc->addr.path : rc->addr.host),
            RT_LF_INT("port", rc->addr.port));
    set_state(rc, RT_RCONN_READY);
}

static void on_connect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    struct rt_rconn *rc = ac->data;
    if (!rc)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees ac itself after this callback, without onDisconnect */
        set_error(rc, "connect failed", ac->errstr);
        rc->ac = NULL;
        schedule_retry(rc);
        return;
    }
    set_state(rc, RT_RCONN_HANDSHAKE);
    if (rc->addr.password[0])
        redisAsyncCommand(ac, on_handshake_reply, NULL, "AUTH %s", rc->addr.password);
    if (rc->addr.db)
        redisAsyncCommand(ac, on_handshake_reply, NULL, "SELECT %d", rc->addr.db);
    if (rc->client_name)
        redisAsyncCommand(ac, on_handshake_reply, NULL, "CLIENT SETNAME %s", rc->client_name);
    redisAsyncCommand(ac, on_handshake_reply, HANDSHAKE_LAST, "PING");
}

static void on_disconnect(const redisAsyncContext *cac, int status)
{
    struct rt_rconn *rc = cac->data;
    if (!rc)
        return;
    /* hiredis frees the context after this returns */
    if (status != REDIS_OK || !rc->last_error[0])
        set_error(rc, "disconnected", cac->errstr[0] ? cac->errstr : "connection closed");
    schedule_retry(rc);
}

static void on_ping(redisAsyncContext *ac, void *r, void *privdata)
{
    struct rt_rconn *rc = ac->data;
    (void)privdata;
    if (rc && r)
        rc->ping_outstanding = false;
}

static void on_timer(void *arg)
{
    struct rt_rconn *rc = arg;
    switch (rc->state) {
    case RT_RCONN_CONNECTING:
    case RT_RCONN_HANDSHAKE:
        set_error(rc, "connect timed out", NULL);
        drop_and_retry(rc);
        return;
    case RT_RCONN_READY:
        if (rc->ping_outstanding) {
            set_error(rc, "ping timed out", NULL);
            drop_and_retry(rc);
            return;
        }
        rc->ping_outstanding = true;
        redisAsyncCommand(rc->ac, on_ping, NULL, "PING");
        rc->loop.ops->timer_start(rc->timer, rc->ping_interval_ms);
        return;
    case RT_RCONN_BACKOFF:
        start_connect(rc);
        return;
    case RT_RCONN_CLOSED:
        return;
    }
}

static void start_connect(struct rt_rconn *rc)
{
    redisAsyncContext *ac = rc->addr.path[0] ? redisAsyncConnectUnix(rc->addr.path)
                                             : redisAsyncConnect(rc->addr.host, rc->addr.port);
    if (!ac || ac->err) {
        set_error(rc, "connect failed", ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        rc->ac = NULL;
        schedule_retry(rc);
        return;
    }
    ac->data = rc;
    rc->ac = ac;
    if (rc->loop.ops->redis_attach(rc->loop.impl, ac)) {
        set_error(rc, "loop attach failed", NULL);
        drop_and_retry(rc);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    set_state(rc, RT_RCONN_CONNECTING);
    rc->loop.ops->timer_start(rc->timer, rc->connect_timeout_ms);
}

int rt_rconn_open(struct rt_rconn **out, const struct rt_loop *loop,
                  const struct rt_rconn_opts *opts)
{
    struct rt_redis_addr addr;
    *out = NULL;
    if (rt_redis_url_parse(opts->url, &addr))
        return RT_EINVAL;
    struct rt_rconn *rc = rt_xcalloc(1, sizeof(*rc));
    rc->loop = *loop;
    rc->addr = addr;
    rc->client_name = opts->client_name ? rt_xstrdup(opts->client_name) : NULL;
    rc->connect_timeout_ms = opts->connect_timeout_ms ? opts->connect_timeout_ms : 2000;
    rc->ping_interval_ms = opts->ping_interval_ms;
    rc->on_state = opts->on_state;
    rc->arg = opts->arg;
    rc->state = RT_RCONN_BACKOFF;
    rt_backoff_init(&rc->backoff, opts->backoff_min_ms ? opts->backoff_min_ms : 100,
                    opts->backoff_max_ms ? opts->backoff_max_ms : 5000, 30);
    rc->timer = loop->ops->timer_new(loop->impl, on_timer, rc);
    *out = rc;
    start_connect(rc);
    return 0;
}

void rt_rconn_free(struct rt_rconn *rc)
{
    if (!rc)
        return;
    rc->state = RT_RCONN_CLOSED;
    if (rc->ac) {
        redisAsyncContext *ac = rc->ac;
        rc->ac = NULL;
        ac->data = NULL;
        redisAsyncFree(ac);
    }
    rc->loop.ops->timer_free(rc->timer);
    free(rc->client_name);
    free(rc);
}

void rt_rconn_reset(struct rt_rconn *rc)
{
    if (!rc->ac || rc->state == RT_RCONN_CLOSED)
        return;
    /* Disconnect goes through on_disconnect (also when called inside a callback), which then
     * schedules the retry. Replies still pending get a NULL reply. */
    redisAsyncDisconnect(rc->ac);
}

enum rt_rconn_state rt_rconn_state(const struct rt_rconn *rc)
{
    return rc->state;
}

bool rt_rconn_ready(const struct rt_rconn *rc)
{
    return rc && rc->state == RT_RCONN_READY;
}

const char *rt_rconn_last_error(const struct rt_rconn *rc)
{
    return rc->last_error;
}

redisAsyncContext *rt_rconn_ctx(struct rt_rconn *rc)
{
    return rc->state == RT_RCONN_READY ? rc->ac : NULL;
}

int rt_rconn_cmd(struct rt_rconn *rc, redisCallbackFn *cb, void *privdata, const char *fmt, ...)
{
    va_list ap;
    if (rc->state != RT_RCONN_READY)
        return RT_ENOTREADY;
    va_start(ap, fmt);
    int r = redisvAsyncCommand(rc->ac, cb, privdata, fmt, ap);
    va_end(ap);
    return r == REDIS_OK ? 0 : RT_EREDIS;
}

int rt_rconn_cmd_resp(struct rt_rconn *rc, redisCallbackFn *cb, void *privdata, const char *cmd,
                      size_t len)
{
    if (rc->state != RT_RCONN_READY)
        return RT_ENOTREADY;
    return redisAsyncFormattedCommand(rc->ac, cb, privdata, cmd, len) == REDIS_OK ? 0 : RT_EREDIS;
}

int rt_rconn_cmdargv(struct rt_rconn *rc, redisCallbackFn *cb, void *privdata, int argc,
                     const char **argv, const size_t *argvlen)
{
    if (rc->state != RT_RCONN_READY)
        return RT_ENOTREADY;
    return redisAsyncCommandArgv(rc->ac, cb, privdata, argc, argv, argvlen) == REDIS_OK ? 0
                                                                                        : RT_EREDIS;
}
