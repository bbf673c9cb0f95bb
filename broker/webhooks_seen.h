/* Webhook reception per provider of one tenant: last verified webhook time, delivery lag, and
 * staleness (meaningful only while the tenant has calls not yet ended). Pure: the figures are
 * stored by the apply script in the tenant hash rt:{t}:h:wh as "<provider>:at" and
 * "<provider>:lag" (milliseconds). */
#ifndef HEALTH_WEBHOOKS_SEEN_H
#define HEALTH_WEBHOOKS_SEEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEALTH_MAX_PROVIDERS 8
#define HEALTH_PROVIDER_MAX  31

struct health_webhook {
    char provider[HEALTH_PROVIDER_MAX + 1];
    long long last_ms; /* receipt time of the newest webhook, Unix ms */
    long long lag_ms;  /* receipt minus provider event time of that webhook; -1 unknown */
    bool stale;
};

/* Provider names: 1-31 of [a-z0-9_-]. */
bool health_provider_valid(const char *name);

/* Adds one HGETALL field/value pair to the list (cap entries); unknown fields are ignored.
 * Returns the new count. */
size_t health_webhooks_add(struct health_webhook *w, size_t n, size_t cap, const char *field,
                           const char *value);

/* Marks each provider stale when calls are active and its last webhook is older than stale_ms.
 * Returns true when any provider is stale. */
bool health_webhooks_mark_stale(struct health_webhook *w, size_t n, long long active_calls,
                                uint64_t now_ms, long long stale_ms);

#endif
