/* A small string-keyed hash map (chained, power-of-two buckets, grows at load 1). Keys are
 * copied; values are borrowed pointers. Used for channels by Redis key and users by id. */
#ifndef EDGE_HMAP_H
#define EDGE_HMAP_H

#include <stddef.h>

struct edge_hmap;

struct edge_hmap *edge_hmap_new(void);
/* Values are not freed. Accepts NULL. */
void edge_hmap_free(struct edge_hmap *m);
void *edge_hmap_get(const struct edge_hmap *m, const char *key);
/* Inserts or replaces. */
void edge_hmap_put(struct edge_hmap *m, const char *key, void *val);
/* Removes; returns the old value or NULL. */
void *edge_hmap_del(struct edge_hmap *m, const char *key);
size_t edge_hmap_size(const struct edge_hmap *m);
/* Calls fn for every entry; fn must not change the map. */
void edge_hmap_each(const struct edge_hmap *m, void (*fn)(const char *key, void *val, void *arg),
                    void *arg);

#endif
