/* Webhook reception per provider of one tenant: last verified webhook time, delivery lag, and
 * staleness (meaningful only while the tenant has calls not yet ended), and signature failures
 * over the rate windows. Pure: the figures are stored by the apply script in the tenant hash
 * rt:{t}:h:tenant as "<provider>:at" and "<provider>:lag" (milliseconds), and by rt-ingest in
 * the minute buckets rt:{t}:h:m:<minute> as "sf:<provider>". */
#ifndef HEALTH_WEBHOOKS_SEEN_H
#define HEALTH_WEBHOOKS_SEEN_H

#include "rates.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEALTH_MAX_PROVIDERS 8
#define HEALTH_PROVIDER_MAX  31

struct health_webhook {
    char provider[HEALTH_PROVIDER_MAX + 1];
    long long last_ms; /* receipt time of the newest webhook, Unix ms; 0 none seen */
    long long lag_ms;  /* receipt minus provider event time of that webhook; -1 unknown */
    bool stale;
    long long sigfail[HEALTH_RATE_WINDOWS]; /* signature failures in the 5, 15, 60 min windows */
};

/* Provider names: 1-31 of [a-z0-9_-]. */
bool health_provider_valid(const char *name);

/* Adds one HGETALL field/value pair to the list (cap entries); unknown fields are ignored.
 * Returns the new count. */
size_t health_webhooks_add(struct health_webhook *w, size_t n, size_t cap, const char *field,
                           const char *value);

/* Adds `count` signature failures of a provider counted `ago` minutes before the current minute
 * to every window that covers that minute (cap entries). Returns the new count. */
size_t health_webhooks_add_sigfail(struct health_webhook *w, size_t n, size_t cap,
                                   const char *provider, unsigned ago, long long count);

/* Marks each provider stale when calls are active and its last webhook is older than stale_ms
 * (a provider known only from signature failures has no last webhook and is never stale).
 * Returns true when any provider is stale. */
bool health_webhooks_mark_stale(struct health_webhook *w, size_t n, long long active_calls,
                                uint64_t now_ms, long long stale_ms);

#endif
