#include "rt/envelope.h"
#include "rt/err.h"
#include "rt/naming.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

bool rt_event_name_valid(const char *event)
{
    if (!event)
        return false;
    size_t n = strnlen(event, RT_EVENT_NAME_MAX + 1);
    if (n < 1 || n > RT_EVENT_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = event[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

static int parse_u64(const char *s, size_t n, unsigned long long *out)
{
    unsigned long long v = 0;
    if (n == 0 || n > 20)
        return RT_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return RT_EINVAL;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (~0ULL - d) / 10)
            return RT_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int rt_stream_id_parse(const char *id, unsigned long long *ms, unsigned long long *seq)
{
    if (!id)
        return RT_EINVAL;
    size_t n = strnlen(id, RT_STREAM_ID_MAX + 1);
    if (n > RT_STREAM_ID_MAX)
        return RT_EINVAL;
    const char *dash = memchr(id, '-', n);
    if (!dash)
        return RT_EINVAL;
    if (parse_u64(id, (size_t)(dash - id), ms) ||
        parse_u64(dash + 1, n - (size_t)(dash + 1 - id), seq))
        return RT_EINVAL;
    return 0;
}

bool rt_stream_id_valid(const char *id)
{
    unsigned long long a, b;
    return rt_stream_id_parse(id, &a, &b) == 0;
}

int rt_stream_id_cmp(const char *a, const char *b)
{
    unsigned long long am = 0, as = 0, bm = 0, bs = 0;
    RT_ASSERT(rt_stream_id_parse(a, &am, &as) == 0 && rt_stream_id_parse(b, &bm, &bs) == 0);
    if (am != bm)
        return am < bm ? -1 : 1;
    if (as != bs)
        return as < bs ? -1 : 1;
    return 0;
}

void rt_ts_now(char *buf, size_t cap)
{
    /* called per event: the date and time of day are formatted once per second */
    static time_t last = -1;
    static char secs[80]; /* "YYYY-MM-DDTHH:MM:SS" of last (room for any int year) */
    struct timeval tv;
    gettimeofday(&tv, NULL);
    if (tv.tv_sec != last) {
        struct tm tm;
        gmtime_r(&tv.tv_sec, &tm);
        snprintf(secs, sizeof(secs), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        last = tv.tv_sec;
    }
    int ms = (int)(tv.tv_usec / 1000);
    char frac[6] = {
        '.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10), 'Z', '\0'};
    size_t n = strlen(secs);
    if (n + sizeof(frac) <= cap) {
        memcpy(buf, secs, n);
        memcpy(buf + n, frac, sizeof(frac));
    } else { /* as before: truncated and terminated */
        snprintf(buf, cap, "%s%s", secs, frac);
    }
}

static bool ts_valid(const char *ts)
{
    /* ISO-8601 UTC as we write it, optionally with more fractional digits from sources. */
    int y, mo, d, h, mi, s;
    char z;
    size_t n = strnlen(ts, 40);
    if (n < 20 || n > 35)
        return false;
    if (sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) != 6)
        return false;
    z = ts[n - 1];
    return z == 'Z' && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && s <= 60;
}

void rt_envelope_clear(struct rt_envelope *env)
{
    free(env->id);
    free(env->channel);
    free(env->event);
    free(env->tenant);
    free(env->ts);
    json_decref(env->data);
    memset(env, 0, sizeof(*env));
}

int rt_envelope_init(struct rt_envelope *env, const char *channel, const char *event,
                     const char *tenant, const char *ts, json_t *data)
{
    char now[64];
    memset(env, 0, sizeof(*env));
    if (rt_name_internal_channel(channel) == RT_CHANNEL_INVALID || !rt_event_name_valid(event) ||
        (tenant && !rt_name_tenant_valid(tenant)) || (ts && !ts_valid(ts)) ||
        !json_is_object(data)) {
        json_decref(data);
        return RT_EINVAL;
    }
    if (!ts) {
        rt_ts_now(now, sizeof(now));
        ts = now;
    }
    env->channel = rt_xstrdup(channel);
    env->event = rt_xstrdup(event);
    env->tenant = tenant ? rt_xstrdup(tenant) : NULL;
    env->ts = rt_xstrdup(ts);
    env->data = data;
    return 0;
}

/* True when jansson would write s unchanged between quotes (no escape, no non-ASCII byte). */
static bool plain(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
            return false;
    }
    return true;
}

static char *append(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* The same bytes as the general path below, without building and sorting a JSON object around
 * data: only data is serialized. For names that need no escaping, which valid ones never do. */
static char *dumps_plain(const struct rt_envelope *env, bool include_id, bool include_tenant)
{
    const char *id = include_id ? env->id : NULL;
    const char *tenant = include_tenant ? env->tenant : NULL;
    if (!env->channel || !env->event || !env->ts || !json_is_object(env->data) ||
        !plain(env->channel) || !plain(env->event) || !plain(env->ts) || (id && !plain(id)) ||
        (tenant && !plain(tenant)))
        return NULL;
    char *data = json_dumps(env->data, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!data)
        return NULL;
    size_t cap = strlen(env->channel) + strlen(env->event) + strlen(env->ts) + strlen(data) +
                 (id ? strlen(id) : 0) + (tenant ? strlen(tenant) : 0) + 80;
    char *out = rt_xmalloc(cap), *p = out;
    p = append(p, "{");
    if (id) {
        p = append(p, "\"id\":\"");
        p = append(p, id);
        p = append(p, "\",");
    }
    p = append(p, "\"channel\":\"");
    p = append(p, env->channel);
    p = append(p, "\",\"event\":\"");
    p = append(p, env->event);
    if (tenant) {
        p = append(p, "\",\"tenant\":\"");
        p = append(p, tenant);
    }
    p = append(p, "\",\"ts\":\"");
    p = append(p, env->ts);
    p = append(p, "\",\"data\":");
    p = append(p, data);
    p = append(p, "}");
    *p = '\0';
    free(data);
    return out;
}

char *rt_envelope_dumps(const struct rt_envelope *env, bool include_id, bool include_tenant)
{
    char *fast = dumps_plain(env, include_id, include_tenant);
    if (fast)
        return fast;
    json_t *o = json_object();
    if (include_id && env->id)
        json_object_set_new(o, "id", json_string(env->id));
    json_object_set_new(o, "channel", json_string(env->channel));
    json_object_set_new(o, "event", json_string(env->event));
    if (include_tenant && env->tenant)
        json_object_set_new(o, "tenant", json_string(env->tenant));
    json_object_set_new(o, "ts", json_string(env->ts));
    json_object_set(o, "data", env->data);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static char *take_string(json_t *root, const char *key, bool required, int *rc)
{
    json_t *v = json_object_get(root, key);
    if (!v) {
        if (required)
            *rc = RT_EINVAL;
        return NULL;
    }
    if (!json_is_string(v)) {
        *rc = RT_EINVAL;
        return NULL;
    }
    return rt_xstrdup(json_string_value(v));
}

int rt_envelope_parse(const char *buf, size_t len, struct rt_envelope *env)
{
    json_error_t jerr;
    int rc = 0;
    memset(env, 0, sizeof(*env));
    if (len > RT_ENVELOPE_MAX)
        return RT_E2BIG;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return RT_EPARSE;
    if (!json_is_object(root)) {
        json_decref(root);
        return RT_EINVAL;
    }
    env->id = take_string(root, "id", false, &rc);
    env->channel = take_string(root, "channel", true, &rc);
    env->event = take_string(root, "event", true, &rc);
    env->tenant = take_string(root, "tenant", false, &rc);
    env->ts = take_string(root, "ts", false, &rc);
    json_t *data = json_object_get(root, "data");
    if (data && json_is_object(data))
        env->data = json_incref(data);
    else if (data || rc == 0)
        rc = RT_EINVAL; /* data is required and must be an object */
    json_decref(root);
    if (rc == 0 &&
        ((env->id && !rt_stream_id_valid(env->id)) ||
         rt_name_internal_channel(env->channel) == RT_CHANNEL_INVALID ||
         !rt_event_name_valid(env->event) || (env->tenant && !rt_name_tenant_valid(env->tenant)) ||
         (env->ts && !ts_valid(env->ts))))
        rc = RT_EINVAL;
    if (rc)
        rt_envelope_clear(env);
    return rc;
}

char *rt_envelope_with_id(const char *stored, size_t len, const char *id, size_t *out_len)
{
    if (len < 3 || stored[0] != '{' || stored[len - 1] != '}' || !rt_stream_id_valid(id))
        return NULL;
    size_t idlen = strlen(id);
    size_t n = 7 + idlen + 2 + (len - 1);
    char *out = rt_xmalloc(n + 1);
    memcpy(out, "{\"id\":\"", 7);
    memcpy(out + 7, id, idlen);
    memcpy(out + 7 + idlen, "\",", 2);
    memcpy(out + 9 + idlen, stored + 1, len - 1);
    out[n] = '\0';
    if (out_len)
        *out_len = n;
    return out;
}
