#include "rt/log.h"
#include "rt/err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES  8192
#define VALUE_MAX_BYTES 1024 /* a longer value is cut: logs carry ids and sizes, not payloads */

static struct {
    char component[48];
    enum rt_log_level level;
    enum rt_log_format format;
    int fd;
} g_log = {"rt", RT_LOG_INFO, RT_LOG_FORMAT_JSON, 2};

static const char *const level_names[] = {"debug", "info", "warn", "error", "fatal"};

void rt_log_init(const char *component, enum rt_log_level level, enum rt_log_format format)
{
    snprintf(g_log.component, sizeof(g_log.component), "%s", component ? component : "rt");
    g_log.level = level;
    g_log.format = format;
}

void rt_log_set_fd(int fd)
{
    g_log.fd = fd;
}

bool rt_log_enabled(enum rt_log_level level)
{
    return level >= g_log.level;
}

const char *rt_log_level_name(enum rt_log_level level)
{
    if ((unsigned)level > RT_LOG_FATAL)
        return "unknown";
    return level_names[level];
}

int rt_log_level_parse(const char *s, enum rt_log_level *out)
{
    for (int i = RT_LOG_DEBUG; i <= RT_LOG_ERROR; i++) {
        if (s && strcmp(s, level_names[i]) == 0) {
            *out = (enum rt_log_level)i;
            return 0;
        }
    }
    return RT_EINVAL;
}

int rt_log_format_parse(const char *s, enum rt_log_format *out)
{
    if (s && strcmp(s, "json") == 0)
        *out = RT_LOG_FORMAT_JSON;
    else if (s && strcmp(s, "text") == 0)
        *out = RT_LOG_FORMAT_TEXT;
    else
        return RT_EINVAL;
    return 0;
}

bool rt_log_key_is_secret(const char *key)
{
    static const char *const words[] = {
        "token",         "secret",  "password", "passwd", "signature",
        "authorization", "api_key", "apikey",   "cookie", "jwt"};
    if (!key)
        return false;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcasestr(key, words[i]))
            return true;
    }
    return false;
}

struct out {
    char *buf;
    size_t cap; /* usable bytes, keeping room for "\n\0" */
    size_t len;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->len >= o->cap)
        return;
    if (n > o->cap - o->len)
        n = o->cap - o->len;
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* Length of a valid UTF-8 sequence at s (max n bytes), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned cp;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2;
        cp = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3;
        cp = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* Writes s quoted and escaped (JSON rules also suit logfmt); invalid UTF-8 becomes U+FFFD. */
static void put_quoted(struct out *o, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), done = 0;
    char esc[8];
    put(o, "\"", 1);
    while (done < n) {
        if (done >= VALUE_MAX_BYTES) {
            puts_(o, "...");
            break;
        }
        unsigned char c = p[done];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(o, esc, 2);
            done++;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put(o, esc, 6);
            done++;
        } else {
            size_t l = utf8_len(p + done, n - done);
            if (l == 0) {
                puts_(o, "\\ufffd");
                done++;
            } else {
                put(o, (const char *)p + done, l);
                done += l;
            }
        }
    }
    put(o, "\"", 1);
}

static void put_key(struct out *o, const char *key)
{
    if (g_log.format == RT_LOG_FORMAT_JSON) {
        put(o, ",", 1);
        put_quoted(o, key);
        put(o, ":", 1);
    } else {
        put(o, " ", 1);
        /* logfmt keys are ours (literals), but keep them to a safe alphabet anyway */
        for (const char *k = key; *k; k++) {
            char c = (*k == ' ' || *k == '=' || *k == '"') ? '_' : *k;
            put(o, &c, 1);
        }
        put(o, "=", 1);
    }
}

static void put_field(struct out *o, const struct rt_logf *f)
{
    char num[64];
    if (!f->key)
        return;
    put_key(o, f->key);
    if (rt_log_key_is_secret(f->key)) {
        put_quoted(o, "***");
        return;
    }
    switch (f->type) {
    case RT_LOGF_STR:
        if (f->v.s)
            put_quoted(o, f->v.s);
        else
            puts_(o, "null");
        return;
    case RT_LOGF_INT:
        snprintf(num, sizeof(num), "%lld", f->v.i);
        break;
    case RT_LOGF_UINT:
        snprintf(num, sizeof(num), "%llu", f->v.u);
        break;
    case RT_LOGF_DBL:
        if (f->v.d != f->v.d || f->v.d > 1e300 || f->v.d < -1e300)
            snprintf(num, sizeof(num), "null");
        else
            snprintf(num, sizeof(num), "%.6g", f->v.d);
        break;
    case RT_LOGF_BOOL:
        snprintf(num, sizeof(num), "%s", f->v.b ? "true" : "false");
        break;
    case RT_LOGF_NONE:
        snprintf(num, sizeof(num), "null");
        break;
    }
    puts_(o, num);
}

size_t rt_log_format_line(char *buf, size_t cap, enum rt_log_level level, const char *event,
                          const char *msg, const struct rt_logf *fields, size_t n)
{
    struct out o = {buf, cap > 2 ? cap - 2 : 0, 0};
    struct timeval tv;
    struct tm tm;
    char ts[64], pid[24];

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
    snprintf(pid, sizeof(pid), "%d", (int)getpid());

    if (g_log.format == RT_LOG_FORMAT_JSON) {
        puts_(&o, "{\"ts\":\"");
        puts_(&o, ts);
        puts_(&o, "\"");
    } else {
        puts_(&o, "ts=");
        puts_(&o, ts);
    }
    const struct rt_logf head[] = {
        RT_LF_STR("level", rt_log_level_name(level)),
        RT_LF_STR("component", g_log.component),
        {.key = "pid", .type = RT_LOGF_INT, .v.i = getpid()},
        RT_LF_STR("event", event ? event : "log"),
        RT_LF_STR("msg", msg ? msg : (event ? event : "")),
    };
    for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
        put_field(&o, &head[i]);
    for (size_t i = 0; i < n; i++)
        put_field(&o, &fields[i]);
    if (g_log.format == RT_LOG_FORMAT_JSON) {
        if (o.len >= o.cap && o.cap > 0)
            o.len = o.cap - 1; /* keep the line parseable: close it even when cut */
        put(&o, "}", 1);
    }
    if (cap >= 2) {
        buf[o.len++] = '\n';
        buf[o.len] = '\0';
    }
    return o.len;
}

void rt_log_emit(enum rt_log_level level, const char *event, const char *msg,
                 const struct rt_logf *fields, size_t n)
{
    char buf[LINE_MAX_BYTES];
    size_t len = rt_log_format_line(buf, sizeof(buf), level, event, msg, fields, n);
    /* one write per line so that processes sharing a pipe never interleave */
    ssize_t w = write(g_log.fd, buf, len);
    (void)w;
}
