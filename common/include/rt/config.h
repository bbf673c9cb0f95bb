/* Table-driven settings: every setting is an RT_* environment variable and a matching --flag.
 * One table row per setting drives parsing, validation, --help and --print-config.
 * Precedence: default < environment < flag. Secrets may also come from RT_<NAME>_FILE. */
#ifndef RT_CONFIG_H
#define RT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum rt_cfg_type {
    RT_CFG_STR,  /* char * owned by the config; NULL when unset and without default */
    RT_CFG_INT,  /* long long within [min, max] */
    RT_CFG_BOOL, /* bool: true/false/1/0/yes/no/on/off */
    RT_CFG_ENUM, /* int: index into the '|'-separated choices */
};

/* Extra validation for RT_CFG_STR: returns 0, or non-zero after writing what was expected. */
typedef int (*rt_cfg_check_fn)(const char *value, char *expected, size_t cap);

struct rt_cfg_def {
    const char *env; /* "RT_EDGE_LISTEN"; the flag is derived: "--edge-listen" */
    enum rt_cfg_type type;
    size_t offset;       /* into the process's config struct */
    const char *def;     /* default as text; NULL means none */
    bool required;       /* must be set (by env, file or flag) */
    long long min, max;  /* RT_CFG_INT range */
    const char *choices; /* RT_CFG_ENUM: "debug|info|warn|error" */
    bool secret;         /* shown as *** and readable from RT_<NAME>_FILE */
    rt_cfg_check_fn check;
    const char *help;
};

/* The settings every process has; embed as the first member of a process config. */
struct rt_common_cfg {
    char *redis_url; /* owned */
    int log_level;   /* enum rt_log_level */
    int log_format;  /* enum rt_log_format */
};

#define RT_CFG_COMMON_DEFS(CT, member)                                                             \
    {.env = "RT_REDIS_URL",                                                                        \
     .type = RT_CFG_STR,                                                                           \
     .offset = offsetof(CT, member.redis_url),                                                     \
     .def = "redis://127.0.0.1:6379/0",                                                            \
     .secret = true,                                                                               \
     .check = rt_cfg_check_redis_url,                                                              \
     .help = "Redis to use: redis://[:password@]host:port/db or unix:///path"},                    \
        {.env = "RT_LOG_LEVEL",                                                                    \
         .type = RT_CFG_ENUM,                                                                      \
         .offset = offsetof(CT, member.log_level),                                                 \
         .def = "info",                                                                            \
         .choices = "debug|info|warn|error",                                                       \
         .help = "lowest level logged"},                                                           \
    {                                                                                              \
        .env = "RT_LOG_FORMAT", .type = RT_CFG_ENUM, .offset = offsetof(CT, member.log_format),    \
        .def = "json", .choices = "json|text", .help = "json lines or logfmt"                      \
    }

/* The token settings shared by rt-edge and rt-health: same names, same meaning, one table. */
struct rt_jwt_cfg {
    char *secret;       /* RT_JWT_SECRET, secret */
    char *jwks;         /* RT_JWT_JWKS */
    char *issuer;       /* RT_JWT_ISSUER */
    char *audience;     /* RT_JWT_AUDIENCE */
    char *tenant_claim; /* RT_JWT_TENANT_CLAIM */
    char *algs;         /* RT_JWT_ALGS */
    long long leeway_s; /* RT_JWT_LEEWAY_S */
};

#define RT_CFG_JWT_DEFS(CT, member)                                                                \
    {.env = "RT_JWT_SECRET",                                                                       \
     .type = RT_CFG_STR,                                                                           \
     .offset = offsetof(CT, member.secret),                                                        \
     .secret = true,                                                                               \
     .help = "HS256 secret (enables HS256)"},                                                      \
        {.env = "RT_JWT_JWKS",                                                                     \
         .type = RT_CFG_STR,                                                                       \
         .offset = offsetof(CT, member.jwks),                                                      \
         .help = "JWKS file path or http(s) URL (enables RS256/ES256); refreshed"},                \
        {.env = "RT_JWT_ISSUER",                                                                   \
         .type = RT_CFG_STR,                                                                       \
         .offset = offsetof(CT, member.issuer),                                                    \
         .help = "required iss claim, checked when set"},                                          \
        {.env = "RT_JWT_AUDIENCE",                                                                 \
         .type = RT_CFG_STR,                                                                       \
         .offset = offsetof(CT, member.audience),                                                  \
         .help = "required aud claim, checked when set"},                                          \
        {.env = "RT_JWT_TENANT_CLAIM",                                                             \
         .type = RT_CFG_STR,                                                                       \
         .offset = offsetof(CT, member.tenant_claim),                                              \
         .def = "org_id",                                                                          \
         .help = "claim holding the tenant id"},                                                   \
        {.env = "RT_JWT_ALGS",                                                                     \
         .type = RT_CFG_STR,                                                                       \
         .offset = offsetof(CT, member.algs),                                                      \
         .def = "RS256,ES256,HS256",                                                               \
         .help = "allowed JWT algorithms (comma separated)"},                                      \
    {                                                                                              \
        .env = "RT_JWT_LEEWAY_S", .type = RT_CFG_INT, .offset = offsetof(CT, member.leeway_s),     \
        .def = "30", .min = 0, .max = 300, .help = "clock skew allowed on exp and nbf"             \
    }

/* Stream retention of the processes that write channel streams (rt-ingest, rt-health): every
 * writer of a stream trims it the same way, so they take the same two settings. */
#define RT_CFG_STREAM_DEFS(CT, maxlen_member, maxage_member)                                       \
    {.env = "RT_STREAM_MAXLEN",                                                                    \
     .type = RT_CFG_INT,                                                                           \
     .offset = offsetof(CT, maxlen_member),                                                        \
     .def = "10000",                                                                               \
     .min = 100,                                                                                   \
     .max = 100000000,                                                                             \
     .help = "approximate number of events kept per channel stream (retention for recovery)"},     \
    {                                                                                              \
        .env = "RT_STREAM_MAXAGE_S", .type = RT_CFG_INT, .offset = offsetof(CT, maxage_member),    \
        .def = "0", .min = 0, .max = 31536000,                                                     \
        .help = "also drop events older than this many seconds from channel streams (0: no age "   \
                "limit)"                                                                           \
    }

enum rt_cfg_result {
    RT_CFG_OK = 0,
    RT_CFG_EXIT_OK = 1, /* --help, --print-config or --version were served: exit 0 */
};

/* Fills cfg from defaults, the environment and argv. Prints every invalid setting (naming the
 * variable and what was expected) to stderr as log lines and returns RT_ECONFIG; the caller
 * exits 2. `env` is NULL for the process environment (tests pass their own, NULL-terminated
 * "NAME=value" strings). Call rt_config_free() on every path after a call. */
int rt_config_load(const struct rt_cfg_def *defs, size_t n, void *cfg, const char *proc, int argc,
                   char **argv, char **env);
void rt_config_free(const struct rt_cfg_def *defs, size_t n, void *cfg);

/* Writes --help text or the effective settings (secrets as ***) to a stream. */
void rt_config_print_help(const struct rt_cfg_def *defs, size_t n, const char *proc, void *stream);
void rt_config_print(const struct rt_cfg_def *defs, size_t n, const void *cfg, void *stream);

/* "RT_EDGE_LISTEN" -> "--edge-listen" into buf. */
void rt_config_flag_name(const char *env, char *buf, size_t cap);

/* Validators for common value shapes. */
int rt_cfg_check_listen(const char *value, char *expected, size_t cap);
int rt_cfg_check_redis_url(const char *value, char *expected, size_t cap);
int rt_cfg_check_http_url(const char *value, char *expected, size_t cap);

/* host:port (host may be [v6]); returns 0 or RT_EINVAL. */
int rt_listen_parse(const char *value, char *host, size_t host_cap, int *port);

#endif
