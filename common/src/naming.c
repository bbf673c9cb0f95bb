#include "rt/naming.h"
#include "rt/err.h"

#include <stdio.h>
#include <string.h>

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool all_of(const char *s, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++) {
        if (!is_alnum(s[i]) && !strchr(extra, s[i]))
            return false;
    }
    return true;
}

bool rt_name_tenant_valid(const char *tenant)
{
    if (!tenant)
        return false;
    size_t n = strnlen(tenant, RT_TENANT_MAX + 1);
    return n >= 1 && n <= RT_TENANT_MAX && all_of(tenant, n, "_-");
}

bool rt_name_user_valid(const char *user)
{
    if (!user)
        return false;
    size_t n = strnlen(user, RT_USER_MAX + 1);
    return n >= 1 && n <= RT_USER_MAX && user[0] != '.' && all_of(user, n, "_.@|+=-");
}

/* PostgreSQL identifiers as our routes use them: unquoted-style, 1-63 bytes. */
static bool pg_ident_valid(const char *s, size_t n)
{
    if (n < 1 || n > 63 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    return all_of(s, n, "_$");
}

static bool db_channel_valid(const char *rest)
{
    size_t n = strnlen(rest, RT_CHANNEL_MAX + 1);
    if (n > RT_CHANNEL_MAX)
        return false;
    const char *dot = memchr(rest, '.', n);
    if (!dot)
        return false;
    return pg_ident_valid(rest, (size_t)(dot - rest)) &&
           pg_ident_valid(dot + 1, n - (size_t)(dot + 1 - rest));
}

static bool custom_channel_valid(const char *name)
{
    size_t n = strnlen(name, 65);
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

enum rt_channel_kind rt_name_client_channel(const char *ch)
{
    if (!ch)
        return RT_CHANNEL_INVALID;
    if (strcmp(ch, "calls") == 0)
        return RT_CHANNEL_CALLS;
    if (strcmp(ch, "user") == 0)
        return RT_CHANNEL_USER;
    if (strcmp(ch, "tenant") == 0)
        return RT_CHANNEL_TENANT;
    if (strcmp(ch, "health") == 0)
        return RT_CHANNEL_HEALTH;
    if (strncmp(ch, "db:", 3) == 0)
        return db_channel_valid(ch + 3) ? RT_CHANNEL_DB : RT_CHANNEL_INVALID;
    if (strncmp(ch, "app:", 4) == 0)
        return custom_channel_valid(ch + 4) ? RT_CHANNEL_CUSTOM : RT_CHANNEL_INVALID;
    return RT_CHANNEL_INVALID;
}

enum rt_channel_kind rt_name_internal_channel(const char *ch)
{
    if (!ch)
        return RT_CHANNEL_INVALID;
    if (strncmp(ch, "user:", 5) == 0)
        return rt_name_user_valid(ch + 5) ? RT_CHANNEL_USER : RT_CHANNEL_INVALID;
    enum rt_channel_kind k = rt_name_client_channel(ch);
    return k == RT_CHANNEL_USER ? RT_CHANNEL_INVALID : k;
}

int rt_name_user_channel(char *buf, size_t cap, const char *user)
{
    if (!rt_name_user_valid(user))
        return RT_EINVAL;
    int n = snprintf(buf, cap, "user:%s", user);
    return n < 0 || (size_t)n >= cap ? RT_E2BIG : 0;
}

int rt_name_key(char *buf, size_t cap, const char *tenant, const char *channel)
{
    if (!rt_name_tenant_valid(tenant) || rt_name_internal_channel(channel) == RT_CHANNEL_INVALID)
        return RT_EINVAL;
    /* per event on every publish path: plain copies rather than snprintf */
    size_t t = strlen(tenant), c = strlen(channel);
    if (4 + t + 2 + c >= cap)
        return RT_E2BIG;
    memcpy(buf, "rt:{", 4);
    memcpy(buf + 4, tenant, t);
    memcpy(buf + 4 + t, "}:", 2);
    memcpy(buf + 6 + t, channel, c + 1);
    return 0;
}

int rt_name_key_split(const char *key, char *tenant, size_t tcap, char *channel, size_t ccap)
{
    if (!key || strncmp(key, "rt:{", 4) != 0)
        return RT_EINVAL;
    const char *t = key + 4;
    const char *close = strchr(t, '}');
    if (!close || close[1] != ':')
        return RT_EINVAL;
    size_t tl = (size_t)(close - t);
    const char *ch = close + 2;
    size_t cl = strlen(ch);
    if (tl >= tcap || cl >= ccap)
        return RT_EINVAL;
    memcpy(tenant, t, tl);
    tenant[tl] = '\0';
    memcpy(channel, ch, cl + 1);
    if (!rt_name_tenant_valid(tenant) || rt_name_internal_channel(channel) == RT_CHANNEL_INVALID)
        return RT_EINVAL;
    return 0;
}
