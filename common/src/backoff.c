#include "rt/backoff.h"
#include "rt/loop.h"

#include <time.h>
#include <unistd.h>

uint64_t rt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t rt_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void rt_backoff_init(struct rt_backoff *b, uint32_t min_ms, uint32_t max_ms, uint32_t jitter_pct)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    b->min_ms = min_ms ? min_ms : 1;
    b->max_ms = max_ms < b->min_ms ? b->min_ms : max_ms;
    b->jitter_pct = jitter_pct > 100 ? 100 : jitter_pct;
    b->attempt = 0;
    /* distinct seeds per process so that many clients of one server do not retry in step */
    b->seed = ((uint64_t)ts.tv_nsec << 20) ^ ((uint64_t)getpid() << 1) ^ 0x9E3779B97F4A7C15ULL;
    if (!b->seed)
        b->seed = 1;
}

uint32_t rt_backoff_rand(struct rt_backoff *b, uint32_t n)
{
    uint64_t x = b->seed;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b->seed = x;
    return n ? (uint32_t)(x % n) : 0;
}

uint32_t rt_backoff_next(struct rt_backoff *b)
{
    uint64_t d = b->min_ms;
    for (uint32_t i = 0; i < b->attempt && d < b->max_ms; i++)
        d *= 2;
    if (d > b->max_ms)
        d = b->max_ms;
    if (b->attempt < 64)
        b->attempt++;
    uint64_t span = d * b->jitter_pct / 100;
    return (uint32_t)(d + (span ? rt_backoff_rand(b, (uint32_t)span) : 0));
}

void rt_backoff_reset(struct rt_backoff *b)
{
    b->attempt = 0;
}
