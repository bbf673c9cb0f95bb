#include "ratelimit.h"

#include "rt/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 1024

struct bucket {
    struct bucket *next; /* owned chain */
    double tokens, last;
    char tenant[]; /* NUL-terminated */
};

struct ingest_ratelimit {
    double rate, burst;
    size_t count;
    struct bucket *table[NBUCKETS]; /* owned chains */
    struct bucket overflow;         /* shared once the table is full */
};

struct ingest_ratelimit *ingest_ratelimit_new(double rate, double burst)
{
    struct ingest_ratelimit *r = rt_xcalloc(1, sizeof(*r));
    r->rate = rate;
    r->burst = burst;
    r->overflow.tokens = burst;
    r->overflow.last = -1;
    return r;
}

void ingest_ratelimit_free(struct ingest_ratelimit *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < NBUCKETS; i++) {
        struct bucket *b = r->table[i];
        while (b) {
            struct bucket *next = b->next;
            free(b);
            b = next;
        }
    }
    free(r);
}

static unsigned long hash(const char *s)
{
    unsigned long h = 1469598103934665603UL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211UL;
    return h;
}

static struct bucket *lookup(struct ingest_ratelimit *r, const char *tenant)
{
    size_t i = hash(tenant) % NBUCKETS;
    for (struct bucket *b = r->table[i]; b; b = b->next)
        if (strcmp(b->tenant, tenant) == 0)
            return b;
    if (r->count >= INGEST_RATELIMIT_MAX_TENANTS)
        return &r->overflow;
    size_t len = strlen(tenant);
    struct bucket *b = rt_xcalloc(1, sizeof(*b) + len + 1);
    memcpy(b->tenant, tenant, len + 1);
    b->tokens = r->burst;
    b->last = -1;
    b->next = r->table[i];
    r->table[i] = b;
    r->count++;
    return b;
}

static void refill(const struct ingest_ratelimit *r, struct bucket *b, double now)
{
    if (b->last >= 0 && now > b->last)
        b->tokens = fmin(r->burst, b->tokens + (now - b->last) * r->rate);
    b->last = now;
}

unsigned ingest_ratelimit_take_all(struct ingest_ratelimit *r, const char *const *tenants,
                                   const double *counts, size_t n, double now)
{
    /* Take from every bucket, then give it all back if any went below zero: a refused request
     * consumes nothing. Two tenants may share the overflow bucket, whose balance then shows the
     * sum of their needs. */
    struct bucket **b = rt_xcalloc(n ? n : 1, sizeof(*b));
    double wait = 0;
    for (size_t i = 0; i < n; i++) {
        b[i] = lookup(r, tenants[i]);
        refill(r, b[i], now);
        b[i]->tokens -= counts[i];
    }
    for (size_t i = 0; i < n; i++)
        if (b[i]->tokens < 0)
            wait = fmax(wait, ceil(-b[i]->tokens / r->rate));
    for (size_t i = 0; i < n && wait > 0; i++)
        b[i]->tokens += counts[i];
    free(b);
    return wait == 0 ? 0 : wait < 1 ? 1 : wait > 3600 ? 3600 : (unsigned)wait;
}

unsigned ingest_ratelimit_take(struct ingest_ratelimit *r, const char *tenant, double n, double now)
{
    return ingest_ratelimit_take_all(r, &tenant, &n, 1, now);
}
