/* Per-user connection accounting on one edge: WebSocket sessions and held long polls of a
 * tenant's user share one bound (RT_EDGE_MAX_CONNECTIONS_PER_USER), so one user cannot take
 * the process's capacity (held polls are bounded per process too) from the others. */
#ifndef EDGE_USERS_H
#define EDGE_USERS_H

#include <stdbool.h>
#include <stddef.h>

#include "rt/naming.h"

struct edge;

#define EDGE_USER_KEY_MAX (RT_TENANT_MAX + RT_USER_MAX + 2)

/* The accounting key of (tenant, user) into key (EDGE_USER_KEY_MAX bytes). */
void edge_user_key(char *key, const char *tenant, const char *user);
/* Writes the accounting key of (tenant, user) into key (EDGE_USER_KEY_MAX bytes) and counts one
 * more connection; false (nothing counted) when the user is at the bound. */
bool edge_user_admit(struct edge *e, const char *tenant, const char *user, char *key);
/* Releases one connection counted under key. */
void edge_user_release(struct edge *e, const char *key);

#endif
