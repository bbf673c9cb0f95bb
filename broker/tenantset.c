#include "tenantset.h"

#include "rt/err.h"
#include "rt/hmap.h"
#include "rt/naming.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Membership in the common string map; the order of addition in an array beside it (the map
 * iterates in hash order). */
struct health_tenantset {
    char (*names)[RT_TENANT_MAX + 1]; /* owned: insertion order */
    size_t n, cap;                    /* names used, allocated */
    struct rt_hmap *seen;             /* owned: name -> nothing (membership) */
};

struct health_tenantset *health_tenantset_new(void)
{
    struct health_tenantset *s = rt_xcalloc(1, sizeof(*s));
    s->cap = 64;
    s->names = rt_xcalloc(s->cap, sizeof(*s->names));
    s->seen = rt_hmap_new();
    return s;
}

void health_tenantset_free(struct health_tenantset *s)
{
    if (!s)
        return;
    rt_hmap_free(s->seen);
    free(s->names);
    free(s);
}

bool health_tenantset_add(struct health_tenantset *s, const char *tenant)
{
    size_t len = strnlen(tenant, RT_TENANT_MAX + 1);
    if (len == 0 || len > RT_TENANT_MAX || rt_hmap_get(s->seen, tenant))
        return false;
    if (s->n == s->cap) {
        s->cap *= 2;
        s->names = rt_xrealloc(s->names, s->cap * sizeof(*s->names));
    }
    memcpy(s->names[s->n], tenant, len + 1);
    rt_hmap_put(s->seen, tenant, s->names); /* any non-NULL value: the map only answers "seen" */
    s->n++;
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
    rt_hmap_clear(s->seen);
    s->n = 0;
}
