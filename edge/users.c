#include "users.h"

#include "edge.h"
#include "rt/hmap.h"

#include <stdint.h>
#include <stdio.h>

void edge_user_key(char *key, const char *tenant, const char *user)
{
    snprintf(key, EDGE_USER_KEY_MAX, "%s/%s", tenant, user);
}

bool edge_user_admit(struct edge *e, const char *tenant, const char *user, char *key)
{
    edge_user_key(key, tenant, user);
    uintptr_t n = (uintptr_t)rt_hmap_get(e->users, key);
    if (n >= (uintptr_t)e->cfg->max_conns_user)
        return false;
    rt_hmap_put(e->users, key, (void *)(n + 1));
    return true;
}

void edge_user_release(struct edge *e, const char *key)
{
    uintptr_t n = (uintptr_t)rt_hmap_get(e->users, key);
    if (n <= 1)
        rt_hmap_del(e->users, key);
    else
        rt_hmap_put(e->users, key, (void *)(n - 1));
}
