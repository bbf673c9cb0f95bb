/* Structured logging: one JSON line (or logfmt line) per event on stderr, one write(2) each. */
#ifndef RT_LOG_H
#define RT_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum rt_log_level { RT_LOG_DEBUG, RT_LOG_INFO, RT_LOG_WARN, RT_LOG_ERROR, RT_LOG_FATAL };
enum rt_log_format { RT_LOG_FORMAT_JSON, RT_LOG_FORMAT_TEXT };

enum rt_logf_type {
    RT_LOGF_NONE,
    RT_LOGF_STR,
    RT_LOGF_INT,
    RT_LOGF_UINT,
    RT_LOGF_DBL,
    RT_LOGF_BOOL
};

/* A typed field; string values are escaped, so hostile input cannot forge a line. */
struct rt_logf {
    const char *key; /* borrowed */
    enum rt_logf_type type;
    union {
        const char *s; /* borrowed; NULL renders as null */
        long long i;
        unsigned long long u;
        double d;
        bool b;
    } v;
};

#define RT_LF_STR(k, val)  ((struct rt_logf){.key = (k), .type = RT_LOGF_STR, .v.s = (val)})
#define RT_LF_INT(k, val)  ((struct rt_logf){.key = (k), .type = RT_LOGF_INT, .v.i = (val)})
#define RT_LF_UINT(k, val) ((struct rt_logf){.key = (k), .type = RT_LOGF_UINT, .v.u = (val)})
#define RT_LF_DBL(k, val)  ((struct rt_logf){.key = (k), .type = RT_LOGF_DBL, .v.d = (val)})
#define RT_LF_BOOL(k, val) ((struct rt_logf){.key = (k), .type = RT_LOGF_BOOL, .v.b = (val)})
#define RT_LF_ERR(e)       RT_LF_STR("err", rt_errname(e))

/* Process-wide settings; call once from main before logging. `component` is copied. */
void rt_log_init(const char *component, enum rt_log_level level, enum rt_log_format format);
/* Redirect output (tests); the descriptor is borrowed. */
void rt_log_set_fd(int fd);
bool rt_log_enabled(enum rt_log_level level);

/* Parses "debug", "info", "warn", "error"; returns 0 or RT_EINVAL. */
int rt_log_level_parse(const char *s, enum rt_log_level *out);
int rt_log_format_parse(const char *s, enum rt_log_format *out);
const char *rt_log_level_name(enum rt_log_level level);

/* True for keys that name a secret (token, secret, password, signature, authorization, ...). */
bool rt_log_key_is_secret(const char *key);

/* Formats one line into buf (NUL-terminated, ends with '\n'); returns its length. Exposed for
 * tests; rt_log_emit uses it. */
size_t rt_log_format_line(char *buf, size_t cap, enum rt_log_level level, const char *event,
                          const char *msg, const struct rt_logf *fields, size_t n);
void rt_log_emit(enum rt_log_level level, const char *event, const char *msg,
                 const struct rt_logf *fields, size_t n);

/* rt_log(RT_LOG_INFO, "redis.connected", "connected", RT_LF_STR("addr", a), ...):
 * the level is checked before any field is built. */
#define rt_log(level, event, msg, ...)                                                             \
    do {                                                                                           \
        if (rt_log_enabled(level)) {                                                               \
            const struct rt_logf rt_log_f_[] = {{.key = NULL}, ##__VA_ARGS__};                     \
            rt_log_emit((level), (event), (msg), rt_log_f_ + 1,                                    \
                        sizeof(rt_log_f_) / sizeof(rt_log_f_[0]) - 1);                             \
        }                                                                                          \
    } while (0)

#define RT_DEBUG(event, msg, ...) rt_log(RT_LOG_DEBUG, event, msg, ##__VA_ARGS__)
#define RT_INFO(event, msg, ...)  rt_log(RT_LOG_INFO, event, msg, ##__VA_ARGS__)
#define RT_WARN(event, msg, ...)  rt_log(RT_LOG_WARN, event, msg, ##__VA_ARGS__)
#define RT_ERROR(event, msg, ...) rt_log(RT_LOG_ERROR, event, msg, ##__VA_ARGS__)

#endif
