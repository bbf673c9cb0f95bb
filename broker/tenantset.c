#include "tenantset.h"

#include "rt/err.h"
#include "rt/naming.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct health_tenantset {
    char (*names)[RT_TENANT_MAX + 1]; /* owned: insertion order */
    size_t n, cap;                    /* names used, allocated */
    uint32_t *slots;                  /* owned: index + 1 into names, 0 empty */
    size_t nslots;                    /* a power of two, at least 2 * cap */
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

struct health_tenantset *health_tenantset_new(void)
{
    struct health_tenantset *s = rt_xcalloc(1, sizeof(*s));
    s->cap = 64;
    s->names = rt_xcalloc(s->cap, sizeof(*s->names));
    s->nslots = 2 * s->cap;
    s->slots = rt_xcalloc(s->nslots, sizeof(*s->slots));
    return s;
}

void health_tenantset_free(struct health_tenantset *s)
{
    if (!s)
        return;
    free(s->names);
    free(s->slots);
    free(s);
}

/* The slot holding name, or the empty slot where it belongs. */
static size_t find(const struct health_tenantset *s, const char *name)
{
    size_t mask = s->nslots - 1, i = (size_t)hash(name) & mask;
    while (s->slots[i] && strcmp(s->names[s->slots[i] - 1], name) != 0)
        i = (i + 1) & mask;
    return i;
}

/* Doubles names and slots, rehashing every name (amortized O(1) per add). */
static void grow(struct health_tenantset *s)
{
    s->cap *= 2;
    s->names = rt_xrealloc(s->names, s->cap * sizeof(*s->names));
    free(s->slots);
    s->nslots = 2 * s->cap;
    s->slots = rt_xcalloc(s->nslots, sizeof(*s->slots));
    for (size_t k = 0; k < s->n; k++)
        s->slots[find(s, s->names[k])] = (uint32_t)(k + 1);
}

bool health_tenantset_add(struct health_tenantset *s, const char *tenant)
{
    size_t len = strnlen(tenant, RT_TENANT_MAX + 1);
    if (len == 0 || len > RT_TENANT_MAX)
        return false;
    size_t i = find(s, tenant);
    if (s->slots[i])
        return false;
    if (s->n == s->cap) {
        grow(s);
        i = find(s, tenant);
    }
    memcpy(s->names[s->n], tenant, len + 1);
    s->slots[i] = (uint32_t)(++s->n);
    return true;
}

size_t health_tenantset_count(const struct health_tenantset *s)
{
    return s->n;
}

const char *health_tenantset_get(const struct health_tenantset *s, size_t i)
{
    RT_ASSERT(i < s->n);
    return s->names[i];
}

void health_tenantset_clear(struct health_tenantset *s)
{
    if (s->n)
        memset(s->slots, 0, s->nslots * sizeof(*s->slots));
    s->n = 0;
}
