#include "rt/hmap.h"

#include "rt/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    struct entry *next; /* owned */
    uint64_t hash;
    void *val; /* borrowed */
    char key[];
};

struct rt_hmap {
    struct entry **b; /* owned, nb buckets */
    size_t nb, n;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

struct rt_hmap *rt_hmap_new(void)
{
    struct rt_hmap *m = rt_xcalloc(1, sizeof(*m));
    m->nb = 16;
    m->b = rt_xcalloc(m->nb, sizeof(*m->b));
    return m;
}

void rt_hmap_clear(struct rt_hmap *m)
{
    for (size_t i = 0; i < m->nb; i++) {
        struct entry *e = m->b[i];
        while (e) {
            struct entry *next = e->next;
            free(e);
            e = next;
        }
        m->b[i] = NULL;
    }
    m->n = 0;
}

void rt_hmap_free(struct rt_hmap *m)
{
    if (!m)
        return;
    rt_hmap_clear(m);
    free(m->b);
    free(m);
}

static struct entry **find(const struct rt_hmap *m, const char *key, uint64_t h)
{
    struct entry **pp = &m->b[h & (m->nb - 1)];
    while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0))
        pp = &(*pp)->next;
    return pp;
}

void *rt_hmap_get(const struct rt_hmap *m, const char *key)
{
    struct entry **pp = find(m, key, hash(key));
    return *pp ? (*pp)->val : NULL;
}

static void grow(struct rt_hmap *m)
{
    size_t nb = m->nb * 2;
    struct entry **b = rt_xcalloc(nb, sizeof(*b));
    for (size_t i = 0; i < m->nb; i++) {
        struct entry *e = m->b[i];
        while (e) {
            struct entry *next = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
            e = next;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
}

void rt_hmap_put(struct rt_hmap *m, const char *key, void *val)
{
    uint64_t h = hash(key);
    struct entry **pp = find(m, key, h);
    if (*pp) {
        (*pp)->val = val;
        return;
    }
    size_t kl = strlen(key);
    struct entry *e = rt_xmalloc(sizeof(*e) + kl + 1);
    memcpy(e->key, key, kl + 1);
    e->hash = h;
    e->val = val;
    e->next = NULL;
    *pp = e;
    if (++m->n > m->nb)
        grow(m);
}

void *rt_hmap_del(struct rt_hmap *m, const char *key)
{
    struct entry **pp = find(m, key, hash(key));
    struct entry *e = *pp;
    if (!e)
        return NULL;
    void *val = e->val;
    *pp = e->next;
    free(e);
    m->n--;
    return val;
}

size_t rt_hmap_size(const struct rt_hmap *m)
{
    return m->n;
}

void rt_hmap_each(const struct rt_hmap *m, void (*fn)(const char *key, void *val, void *arg),
                  void *arg)
{
    for (size_t i = 0; i < m->nb; i++) {
        for (struct entry *e = m->b[i]; e; e = e->next)
            fn(e->key, e->val, arg);
    }
}
