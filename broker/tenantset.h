/* A set of tenant names that keeps insertion order: the tenants touched since the last check,
 * or the tenants of one snapshot pass. Uncapped: it grows with the distinct tenants added, so it
 * is bounded by the number of tenants, and adding is O(1) on average (rt_hmap). */
#ifndef HEALTH_TENANTSET_H
#define HEALTH_TENANTSET_H

#include <stdbool.h>
#include <stddef.h>

struct health_tenantset;

struct health_tenantset *health_tenantset_new(void);
/* Accepts NULL. */
void health_tenantset_free(struct health_tenantset *s);
/* Adds a name (at most RT_TENANT_MAX bytes; longer ones are refused). True when it was new. */
bool health_tenantset_add(struct health_tenantset *s, const char *tenant);
size_t health_tenantset_count(const struct health_tenantset *s);
/* The i-th name added (i < count), borrowed until the next clear. */
const char *health_tenantset_get(const struct health_tenantset *s, size_t i);
/* Empties the set; the memory stays for the next fill. */
void health_tenantset_clear(struct health_tenantset *s);

#endif
