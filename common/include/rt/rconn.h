/* A Redis connection that keeps itself up: connect with a timeout, AUTH/SELECT/CLIENT SETNAME,
 * a periodic PING that detects a dead server, and reconnection with capped, jittered backoff.
 * Loop-agnostic through struct rt_loop. Users learn of READY/down through on_state and must
 * re-establish their own state (subscriptions, scripts) on every READY. */
#ifndef RT_RCONN_H
#define RT_RCONN_H

#include <hiredis/async.h>
#include <stdbool.h>
#include <stddef.h>

#include "rt/loop.h"

struct rt_rconn;

enum rt_rconn_state {
    RT_RCONN_CONNECTING, /* TCP/unix connect in progress */
    RT_RCONN_HANDSHAKE,  /* AUTH/SELECT/SETNAME/PING sent */
    RT_RCONN_READY,
    RT_RCONN_BACKOFF, /* waiting before the next attempt */
    RT_RCONN_CLOSED,  /* rt_rconn_free() was called */
};

typedef void (*rt_rconn_state_fn)(struct rt_rconn *rc, enum rt_rconn_state state, void *arg);

struct rt_rconn_opts {
    const char *url;         /* RT_REDIS_URL form; copied */
    const char *client_name; /* CLIENT SETNAME; copied; NULL for none */
    unsigned connect_timeout_ms;
    unsigned ping_interval_ms; /* 0 disables; a PING unanswered for two intervals drops it */
    unsigned backoff_min_ms, backoff_max_ms;
    rt_rconn_state_fn on_state;
    void *arg; /* borrowed */
};

/* Starts connecting at once. Returns 0 or RT_EINVAL (bad URL). */
int rt_rconn_open(struct rt_rconn **out, const struct rt_loop *loop,
                  const struct rt_rconn_opts *opts);
/* Disconnects; pending command callbacks run with a NULL reply. Accepts NULL. Must not be called
 * from inside a hiredis callback of this connection. */
void rt_rconn_free(struct rt_rconn *rc);

enum rt_rconn_state rt_rconn_state(const struct rt_rconn *rc);
bool rt_rconn_ready(const struct rt_rconn *rc);
/* The last connection error as text ("" when none); borrowed. */
const char *rt_rconn_last_error(const struct rt_rconn *rc);
/* The hiredis context while READY (borrowed), else NULL. */
redisAsyncContext *rt_rconn_ctx(struct rt_rconn *rc);

/* Sends a command while READY; RT_ENOTREADY otherwise (then cb is not called). The callback
 * runs exactly once, with a NULL reply if the connection drops first. */
int rt_rconn_cmd(struct rt_rconn *rc, redisCallbackFn *cb, void *privdata, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int rt_rconn_cmdargv(struct rt_rconn *rc, redisCallbackFn *cb, void *privdata, int argc,
                     const char **argv, const size_t *argvlen);
/* A command already in Redis's wire format (RESP array of bulk strings), sent as it is (copied
 * into the output buffer). Same contract as rt_rconn_cmd. */
int rt_rconn_cmd_resp(struct rt_rconn *rc, redisCallbackFn *cb, void *privdata, const char *cmd,
                      size_t len);

/* Drops the connection now and reconnects after backoff (a caller saw a fatal reply). Safe from
 * inside a hiredis callback. */
void rt_rconn_reset(struct rt_rconn *rc);

#endif
