#include "webhooks_seen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool health_provider_valid(const char *name)
{
    size_t n = strnlen(name, HEALTH_PROVIDER_MAX + 1);
    if (n == 0 || n > HEALTH_PROVIDER_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static struct health_webhook *find_or_add(struct health_webhook *w, size_t *n, size_t cap,
                                          const char *name, size_t len)
{
    for (size_t i = 0; i < *n; i++)
        if (strlen(w[i].provider) == len && memcmp(w[i].provider, name, len) == 0)
            return &w[i];
    if (*n >= cap)
        return NULL;
    struct health_webhook *e = &w[(*n)++];
    memset(e, 0, sizeof(*e));
    memcpy(e->provider, name, len);
    e->lag_ms = -1;
    return e;
}

size_t health_webhooks_add(struct health_webhook *w, size_t n, size_t cap, const char *field,
                           const char *value)
{
    const char *colon = strrchr(field, ':');
    char name[HEALTH_PROVIDER_MAX + 1];
    size_t len = colon ? (size_t)(colon - field) : 0;
    if (!colon || len == 0 || len > HEALTH_PROVIDER_MAX)
        return n;
    memcpy(name, field, len);
    name[len] = '\0';
    if (!health_provider_valid(name))
        return n;
    bool at = strcmp(colon + 1, "at") == 0, lag = strcmp(colon + 1, "lag") == 0;
    if (!at && !lag)
        return n;
    struct health_webhook *e = find_or_add(w, &n, cap, name, len);
    if (!e)
        return n;
    if (at)
        e->last_ms = strtoll(value, NULL, 10);
    else
        e->lag_ms = strtoll(value, NULL, 10);
    return n;
}

size_t health_webhooks_add_sigfail(struct health_webhook *w, size_t n, size_t cap,
                                   const char *provider, unsigned ago, long long count)
{
    if (!health_provider_valid(provider) || count <= 0)
        return n;
    struct health_webhook *e = find_or_add(w, &n, cap, provider, strlen(provider));
    if (!e)
        return n;
    for (int i = 0; i < HEALTH_RATE_WINDOWS; i++)
        if (ago < health_rate_window_minutes[i])
            e->sigfail[i] += count;
    return n;
}

bool health_webhooks_mark_stale(struct health_webhook *w, size_t n, long long active_calls,
                                uint64_t now_ms, long long stale_ms)
{
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        w[i].stale =
            active_calls > 0 && w[i].last_ms > 0 && (long long)now_ms - w[i].last_ms > stale_ms;
        any = any || w[i].stale;
    }
    return any;
}
