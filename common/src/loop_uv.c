#include "rt/loop_uv.h"
#include "rt/err.h"

#include <hiredis/async.h>
#include <hiredis/adapters/libuv.h>
#include <stdlib.h>
#include <uv.h>

struct rt_timer {
    uv_timer_t h; /* first: the close callback casts back */
    rt_timer_fn fn;
    void *arg; /* borrowed */
};

static int uv_redis_attach(void *impl, redisAsyncContext *ac)
{
    return redisLibuvAttach(ac, impl) == REDIS_OK ? 0 : RT_EIO;
}

static void on_timer(uv_timer_t *h)
{
    struct rt_timer *t = (struct rt_timer *)h;
    t->fn(t->arg);
}

static struct rt_timer *uvt_new(void *impl, rt_timer_fn fn, void *arg)
{
    struct rt_timer *t = rt_xcalloc(1, sizeof(*t));
    t->fn = fn;
    t->arg = arg;
    RT_ASSERT(uv_timer_init(impl, &t->h) == 0);
    return t;
}

static void uvt_start(struct rt_timer *t, uint64_t ms)
{
    uv_timer_start(&t->h, on_timer, ms, 0);
}

static void uvt_stop(struct rt_timer *t)
{
    uv_timer_stop(&t->h);
}

static void on_closed(uv_handle_t *h)
{
    free(h);
}

static void uvt_free(struct rt_timer *t)
{
    if (!t)
        return;
    uv_timer_stop(&t->h);
    uv_close((uv_handle_t *)&t->h, on_closed); /* freed once libuv lets go of the handle */
}

static const struct rt_loop_ops uv_ops = {
    .redis_attach = uv_redis_attach,
    .timer_new = uvt_new,
    .timer_start = uvt_start,
    .timer_stop = uvt_stop,
    .timer_free = uvt_free,
};

void rt_loop_uv_init(struct rt_loop *loop, struct uv_loop_s *uvloop)
{
    loop->ops = &uv_ops;
    loop->impl = uvloop;
}
