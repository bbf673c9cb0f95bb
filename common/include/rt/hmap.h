/* A small string-keyed hash map (chained, power-of-two buckets, grows at load 1). Keys are
 * copied; values are borrowed pointers. rt-edge keeps channels by Redis key and users by id in it;
 * rt-health its tenant sets. */
#ifndef RT_HMAP_H
#define RT_HMAP_H

#include <stddef.h>

struct rt_hmap;

struct rt_hmap *rt_hmap_new(void);
/* Values are not freed. Accepts NULL. */
void rt_hmap_free(struct rt_hmap *m);
/* Removes every entry (values not freed); the buckets stay for the next fill. */
void rt_hmap_clear(struct rt_hmap *m);
void *rt_hmap_get(const struct rt_hmap *m, const char *key);
/* Inserts or replaces. */
void rt_hmap_put(struct rt_hmap *m, const char *key, void *val);
/* Removes; returns the old value or NULL. */
void *rt_hmap_del(struct rt_hmap *m, const char *key);
size_t rt_hmap_size(const struct rt_hmap *m);
/* Calls fn for every entry; fn must not change the map. */
void rt_hmap_each(const struct rt_hmap *m, void (*fn)(const char *key, void *val, void *arg),
                  void *arg);

#endif
