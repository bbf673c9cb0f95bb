/* Channel and key names. Every key of a tenant is "rt:{<tenant>}:<channel>", so the tenant is
 * the Redis Cluster hash tag. Validation is strict (a small ASCII alphabet, bounded lengths) so
 * that no client-supplied string can name another tenant's key. */
#ifndef RT_NAMING_H
#define RT_NAMING_H

#include <stdbool.h>
#include <stddef.h>

#define RT_TENANT_MAX  64
#define RT_USER_MAX    128
#define RT_CHANNEL_MAX 160 /* "user:" + user id fits, as does db:<63>.<63> */
#define RT_KEY_MAX     (4 + RT_TENANT_MAX + 2 + RT_CHANNEL_MAX + 1)

#define RT_CALLS_ALL_KEY "rt:calls:all"

/* Tenant ids: 1-64 of [A-Za-z0-9_-]. */
bool rt_name_tenant_valid(const char *tenant);
/* User ids (JWT sub): 1-128 of [A-Za-z0-9_.@|+=-], not starting with '.'. */
bool rt_name_user_valid(const char *user);

enum rt_channel_kind {
    RT_CHANNEL_INVALID = 0,
    RT_CHANNEL_DB,     /* db:<schema>.<table> */
    RT_CHANNEL_CALLS,  /* calls */
    RT_CHANNEL_USER,   /* user (client form) or user:<id> (internal form) */
    RT_CHANNEL_TENANT, /* tenant */
    RT_CHANNEL_HEALTH, /* health */
    RT_CHANNEL_CUSTOM, /* app:<name>, name 1-64 of [a-z0-9_-] */
};

/* Classifies a client-visible channel name ("user" but never "user:<id>"). */
enum rt_channel_kind rt_name_client_channel(const char *channel);
/* Classifies an internal channel name: client names except bare "user", plus "user:<id>". */
enum rt_channel_kind rt_name_internal_channel(const char *channel);

/* Writes "user:<user>" into buf. Returns 0, RT_EINVAL (bad user) or RT_E2BIG. */
int rt_name_user_channel(char *buf, size_t cap, const char *user);

/* Writes "rt:{<tenant>}:<channel>" into buf; channel is an internal name. Returns 0, RT_EINVAL
 * or RT_E2BIG (buf too small). */
int rt_name_key(char *buf, size_t cap, const char *tenant, const char *channel);

/* Splits a key built by rt_name_key back into tenant and channel (tests, liveness tools).
 * Returns 0 or RT_EINVAL. */
int rt_name_key_split(const char *key, char *tenant, size_t tcap, char *channel, size_t ccap);

#endif
