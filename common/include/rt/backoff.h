/* Capped exponential backoff with jitter, reset after success. */
#ifndef RT_BACKOFF_H
#define RT_BACKOFF_H

#include <stdint.h>

struct rt_backoff {
    uint32_t min_ms, max_ms;
    uint32_t jitter_pct; /* 0-100: each delay is scaled by 1 + [0, jitter_pct)% */
    uint32_t attempt;
    uint64_t seed; /* xorshift state; any non-zero value */
};

void rt_backoff_init(struct rt_backoff *b, uint32_t min_ms, uint32_t max_ms, uint32_t jitter_pct);
/* The delay before the next attempt: min * 2^attempt capped at max, plus jitter. */
uint32_t rt_backoff_next(struct rt_backoff *b);
void rt_backoff_reset(struct rt_backoff *b);
/* A uniform pseudo-random number in [0, n) from the backoff's generator (jittered delays). */
uint32_t rt_backoff_rand(struct rt_backoff *b, uint32_t n);

#endif
