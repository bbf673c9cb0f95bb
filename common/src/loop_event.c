#include "rt/loop_event.h"
#include "rt/err.h"

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <stdlib.h>

struct rt_timer {
    struct event *ev; /* owned */
    rt_timer_fn fn;
    void *arg; /* borrowed */
};

static int ev_redis_attach(void *impl, redisAsyncContext *ac)
{
    return redisLibeventAttach(ac, impl) == REDIS_OK ? 0 : RT_EIO;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct rt_timer *t = arg;
    (void)fd;
    (void)what;
    t->fn(t->arg);
}

static struct rt_timer *ev_timer_new(void *impl, rt_timer_fn fn, void *arg)
{
    struct rt_timer *t = rt_xcalloc(1, sizeof(*t));
    t->fn = fn;
    t->arg = arg;
    t->ev = evtimer_new((struct event_base *)impl, on_timer, t);
    RT_ASSERT(t->ev);
    return t;
}

static void ev_timer_start(struct rt_timer *t, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(t->ev, &tv);
}

static void ev_timer_stop(struct rt_timer *t)
{
    evtimer_del(t->ev);
}

static void ev_timer_free(struct rt_timer *t)
{
    if (!t)
        return;
    event_free(t->ev);
    free(t);
}

static const struct rt_loop_ops event_ops = {
    .redis_attach = ev_redis_attach,
    .timer_new = ev_timer_new,
    .timer_start = ev_timer_start,
    .timer_stop = ev_timer_stop,
    .timer_free = ev_timer_free,
};

void rt_loop_event_init(struct rt_loop *loop, struct event_base *base)
{
    loop->ops = &event_ops;
    loop->impl = base;
}
