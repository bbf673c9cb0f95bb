/* The small attach interface that keeps loop-bound common code (rconn) loop-agnostic:
 * rt-ingest and rt-health bind it to libevent, rt-edge to libuv. */
#ifndef RT_LOOP_H
#define RT_LOOP_H

#include <stdint.h>

struct redisAsyncContext;
struct rt_timer;

typedef void (*rt_timer_fn)(void *arg);

struct rt_loop_ops {
    /* Attaches a hiredis async context to the loop (the hiredis adapter); 0 or RT_EIO. */
    int (*redis_attach)(void *impl, struct redisAsyncContext *ac);
    struct rt_timer *(*timer_new)(void *impl, rt_timer_fn fn, void *arg);
    /* One-shot; re-arming replaces the previous deadline. */
    void (*timer_start)(struct rt_timer *t, uint64_t ms);
    void (*timer_stop)(struct rt_timer *t);
    /* Stops and releases the timer; safe from inside its own callback. */
    void (*timer_free)(struct rt_timer *t);
};

struct rt_loop {
    const struct rt_loop_ops *ops; /* borrowed, static */
    void *impl;                    /* borrowed: struct event_base * or uv_loop_t * */
};

/* Monotonic milliseconds. */
uint64_t rt_now_ms(void);
/* Wall-clock milliseconds since the epoch. */
uint64_t rt_wall_ms(void);

#endif
