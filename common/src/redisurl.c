#include "rt/redisurl.h"
#include "rt/err.h"

#include <stdlib.h>
#include <string.h>

static int parse_int(const char *s, size_t n, long min, long max, int *out)
{
    char buf[16];
    char *end;
    if (n == 0 || n >= sizeof(buf))
        return RT_EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return RT_EINVAL;
    }
    long v = strtol(buf, &end, 10);
    if (*end || v < min || v > max)
        return RT_EINVAL;
    *out = (int)v;
    return 0;
}

static int parse_unix(const char *rest, struct rt_redis_addr *out)
{
    const char *q = strchr(rest, '?');
    size_t plen = q ? (size_t)(q - rest) : strlen(rest);
    if (plen == 0 || rest[0] != '/' || plen >= sizeof(out->path))
        return RT_EINVAL;
    memcpy(out->path, rest, plen);
    out->path[plen] = '\0';
    if (q) {
        if (strncmp(q, "?db=", 4) != 0)
            return RT_EINVAL;
        return parse_int(q + 4, strlen(q + 4), 0, 15, &out->db);
    }
    return 0;
}

int rt_redis_url_parse(const char *url, struct rt_redis_addr *out)
{
    memset(out, 0, sizeof(*out));
    out->port = 6379;
    if (!url)
        return RT_EINVAL;
    if (strncmp(url, "unix://", 7) == 0)
        return parse_unix(url + 7, out);
    if (strncmp(url, "redis://", 8) != 0)
        return RT_EINVAL;
    const char *p = url + 8;
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        size_t n = (size_t)(at - pw);
        if (n >= sizeof(out->password))
            return RT_EINVAL;
        memcpy(out->password, pw, n);
        out->password[n] = '\0';
        p = at + 1;
    }
    const char *slash = strchr(p, '/');
    size_t hostport = slash ? (size_t)(slash - p) : strlen(p);
    const char *host = p, *port = NULL;
    size_t hlen = hostport;
    if (host[0] == '[') {
        const char *rb = memchr(host, ']', hostport);
        if (!rb)
            return RT_EINVAL;
        host++;
        hlen = (size_t)(rb - host);
        if (rb + 1 < p + hostport) {
            if (rb[1] != ':')
                return RT_EINVAL;
            port = rb + 2;
        }
    } else {
        const char *colon = memchr(host, ':', hostport);
        if (colon) {
            hlen = (size_t)(colon - host);
            port = colon + 1;
        }
    }
    if (hlen == 0 || hlen >= sizeof(out->host))
        return RT_EINVAL;
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    if (port && parse_int(port, (size_t)(p + hostport - port), 1, 65535, &out->port))
        return RT_EINVAL;
    if (slash && slash[1] && parse_int(slash + 1, strlen(slash + 1), 0, 15, &out->db))
        return RT_EINVAL;
    return 0;
}
