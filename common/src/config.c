#include "rt/config.h"
#include "rt/err.h"
#include "rt/log.h"
#include "rt/redisurl.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_VALUE_MAX (64 * 1024)

extern char **environ;

void rt_config_flag_name(const char *env, char *buf, size_t cap)
{
    size_t j = 0;
    const char *p = strncmp(env, "RT_", 3) == 0 ? env + 3 : env;
    if (cap < 3) {
        if (cap)
            buf[0] = '\0';
        return;
    }
    buf[j++] = '-';
    buf[j++] = '-';
    for (; *p && j + 1 < cap; p++)
        buf[j++] = *p == '_' ? '-' : (char)tolower((unsigned char)*p);
    buf[j] = '\0';
}

static const char *env_get(char **env, const char *name)
{
    size_t n = strlen(name);
    for (char **e = env ? env : environ; e && *e; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    }
    return NULL;
}

static int choice_index(const char *choices, const char *value)
{
    size_t vlen = strlen(value);
    int idx = 0;
    for (const char *p = choices; *p; idx++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == vlen && strncmp(p, value, n) == 0)
            return idx;
        if (!bar)
            break;
        p = bar + 1;
    }
    return -1;
}

static int parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return RT_EINVAL;
}

static void report(const struct rt_cfg_def *d, const char *source, const char *value,
                   const char *expected)
{
    char flag[96];
    rt_config_flag_name(d->env, flag, sizeof(flag));
    rt_log(RT_LOG_ERROR, "config.invalid", "invalid setting", RT_LF_STR("setting", d->env),
           RT_LF_STR("flag", flag), RT_LF_STR("source", source),
           RT_LF_STR("value", d->secret ? "***" : value), RT_LF_STR("expected", expected));
    fprintf(stderr, "error: %s (%s) from %s: expected %s\n", d->env, flag, source, expected);
}

/* Stores one textual value into its typed field; reports and returns RT_ECONFIG if invalid. */
static int assign(const struct rt_cfg_def *d, void *cfg, const char *value, const char *source)
{
    char expected[256];
    char *field = (char *)cfg + d->offset;
    switch (d->type) {
    case RT_CFG_STR: {
        if (d->check && d->check(value, expected, sizeof(expected))) {
            report(d, source, value, expected);
            return RT_ECONFIG;
        }
        char **slot = (char **)(void *)field;
        free(*slot);
        *slot = rt_xstrdup(value);
        return 0;
    }
    case RT_CFG_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (!*value || *end || errno || v < d->min || v > d->max) {
            snprintf(expected, sizeof(expected), "an integer from %lld to %lld", d->min, d->max);
            report(d, source, value, expected);
            return RT_ECONFIG;
        }
        *(long long *)(void *)field = v;
        return 0;
    }
    case RT_CFG_BOOL:
        if (parse_bool(value, (bool *)(void *)field)) {
            report(d, source, value, "true or false");
            return RT_ECONFIG;
        }
        return 0;
    case RT_CFG_ENUM: {
        int idx = choice_index(d->choices, value);
        if (idx < 0) {
            snprintf(expected, sizeof(expected), "one of %s", d->choices);
            report(d, source, value, expected);
            return RT_ECONFIG;
        }
        *(int *)(void *)field = idx;
        return 0;
    }
    }
    return RT_EINVAL;
}

static char *read_secret_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = rt_xmalloc(FILE_VALUE_MAX + 1);
    size_t n = fread(buf, 1, FILE_VALUE_MAX, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    return buf;
}

static int apply_env(const struct rt_cfg_def *d, void *cfg, char **env, bool *set)
{
    const char *v = env_get(env, d->env);
    if (v) {
        *set = true;
        return assign(d, cfg, v, "environment");
    }
    if (!d->secret)
        return 0;
    char name[128];
    snprintf(name, sizeof(name), "%s_FILE", d->env);
    const char *path = env_get(env, name);
    if (!path)
        return 0;
    char *content = read_secret_file(path);
    if (!content) {
        report(d, name, path, "a readable file holding the secret");
        return RT_ECONFIG;
    }
    *set = true;
    int rc = assign(d, cfg, content, name);
    free(content);
    return rc;
}

static const struct rt_cfg_def *find_flag(const struct rt_cfg_def *defs, size_t n, const char *arg,
                                          size_t len)
{
    char flag[96];
    for (size_t i = 0; i < n; i++) {
        rt_config_flag_name(defs[i].env, flag, sizeof(flag));
        if (strlen(flag) == len && strncmp(flag, arg, len) == 0)
            return &defs[i];
    }
    return NULL;
}

static int apply_flags(const struct rt_cfg_def *defs, size_t n, void *cfg, int argc, char **argv,
                       bool *set, int *special)
{
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *special = 'h';
            continue;
        }
        if (strcmp(a, "--print-config") == 0) {
            *special = 'p';
            continue;
        }
        if (strcmp(a, "--version") == 0) {
            *special = 'v';
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        const struct rt_cfg_def *d = strncmp(a, "--", 2) == 0 ? find_flag(defs, n, a, len) : NULL;
        if (!d) {
            rt_log(RT_LOG_ERROR, "config.unknown_flag", "unknown argument", RT_LF_STR("arg", a));
            fprintf(stderr, "error: unknown argument %s (see --help)\n", a);
            rc = RT_ECONFIG;
            continue;
        }
        const char *value;
        if (eq) {
            value = eq + 1;
        } else if (d->type == RT_CFG_BOOL) {
            value = "true";
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            report(d, "flag", "", "a value after the flag");
            rc = RT_ECONFIG;
            continue;
        }
        set[d - defs] = true;
        if (assign(d, cfg, value, "flag"))
            rc = RT_ECONFIG;
    }
    return rc;
}

/* Edit distance of two setting names (short ASCII strings), for "did you mean". */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[80];
    if (la >= 80 || lb >= 80)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* A variable of one of this process's setting families (RT_EDGE_..., RT_JWT_..., ...) that is
 * not one of its settings is most likely a typo: say so (by name only: values may be secrets).
 * Families this process has no setting in belong to the other processes sharing the
 * environment (a compose env file) and are left alone. */
static void warn_unknown(const struct rt_cfg_def *defs, size_t n, char **env)
{
    for (char **e = env ? env : environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        size_t len = eq ? (size_t)(eq - *e) : strlen(*e);
        char name[80];
        if (len < 4 || len >= sizeof(name) || strncmp(*e, "RT_", 3) != 0)
            continue;
        memcpy(name, *e, len);
        name[len] = '\0';
        const char *second = strchr(name + 3, '_');
        size_t family = second ? (size_t)(second - name) + 1 : len;
        bool known = false, claimed = false;
        const char *closest = NULL;
        size_t best = 4; /* suggest only near misses */
        for (size_t i = 0; i < n && !known; i++) {
            size_t dl = strlen(defs[i].env);
            known = strcmp(defs[i].env, name) == 0 ||
                    (defs[i].secret && len == dl + 5 && strncmp(name, defs[i].env, dl) == 0 &&
                     strcmp(name + dl, "_FILE") == 0);
            if (strncmp(defs[i].env, name, family) == 0)
                claimed = true;
            size_t d = distance(name, defs[i].env);
            if (d < best) {
                best = d;
                closest = defs[i].env;
            }
        }
        if (known || !claimed)
            continue;
        rt_log(RT_LOG_WARN, "config.unknown", "unknown setting ignored", RT_LF_STR("setting", name),
               RT_LF_STR("did_you_mean", closest ? closest : ""));
    }
}

int rt_config_load(const struct rt_cfg_def *defs, size_t n, void *cfg, const char *proc, int argc,
                   char **argv, char **env)
{
    int rc = 0, special = 0;
    bool *set = rt_xcalloc(n, sizeof(bool));

    for (size_t i = 0; i < n; i++) {
        if (defs[i].def && assign(&defs[i], cfg, defs[i].def, "default"))
            rc = RT_ECONFIG; /* a broken table is a programming error, but say so */
    }
    for (size_t i = 0; i < n; i++) {
        if (apply_env(&defs[i], cfg, env, &set[i]))
            rc = RT_ECONFIG;
    }
    warn_unknown(defs, n, env);
    if (apply_flags(defs, n, cfg, argc, argv, set, &special))
        rc = RT_ECONFIG;
    if (special == 'h') {
        rt_config_print_help(defs, n, proc, stdout);
        free(set);
        return RT_CFG_EXIT_OK;
    }
    if (special == 'v') {
        printf("%s 0.1.0\n", proc);
        free(set);
        return RT_CFG_EXIT_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (defs[i].required && !set[i] && !defs[i].def) {
            report(&defs[i], "nowhere", "", "a value: this setting is required");
            rc = RT_ECONFIG;
        }
    }
    free(set);
    if (rc)
        return rc;
    if (special == 'p') {
        rt_config_print(defs, n, cfg, stdout);
        return RT_CFG_EXIT_OK;
    }
    return 0;
}

void rt_config_free(const struct rt_cfg_def *defs, size_t n, void *cfg)
{
    for (size_t i = 0; i < n; i++) {
        if (defs[i].type == RT_CFG_STR) {
            char **slot = (char **)(void *)((char *)cfg + defs[i].offset);
            free(*slot);
            *slot = NULL;
        }
    }
}

static const char *type_name(const struct rt_cfg_def *d)
{
    switch (d->type) {
    case RT_CFG_STR:
        return "string";
    case RT_CFG_INT:
        return "integer";
    case RT_CFG_BOOL:
        return "bool";
    case RT_CFG_ENUM:
        return d->choices;
    }
    return "?";
}

void rt_config_print_help(const struct rt_cfg_def *defs, size_t n, const char *proc, void *stream)
{
    FILE *f = stream;
    char flag[96];
    fprintf(f,
            "usage: %s [--flag=value ...]\n\nEvery setting is an environment variable and a "
            "flag; flags win. Secrets may also be read from <VAR>_FILE.\n\n",
            proc);
    for (size_t i = 0; i < n; i++) {
        const struct rt_cfg_def *d = &defs[i];
        rt_config_flag_name(d->env, flag, sizeof(flag));
        fprintf(f, "  %-28s %-28s %s\n", flag, d->env, d->help ? d->help : "");
        fprintf(f, "  %-28s %-28s type: %s", "", "", type_name(d));
        if (d->type == RT_CFG_INT)
            fprintf(f, " [%lld..%lld]", d->min, d->max);
        if (d->def)
            fprintf(f, "; default: %s", d->def); /* defaults are never secrets */
        else
            fprintf(f, "; default: %s", d->required ? "(required)" : "(none)");
        if (d->secret)
            fprintf(f, "; secret (also %s_FILE)", d->env);
        fputc('\n', f);
    }
    fprintf(f, "  %-28s %-28s print this help\n  %-28s %-28s print the effective settings\n",
            "--help", "", "--print-config", "");
}

void rt_config_print(const struct rt_cfg_def *defs, size_t n, const void *cfg, void *stream)
{
    FILE *f = stream;
    for (size_t i = 0; i < n; i++) {
        const struct rt_cfg_def *d = &defs[i];
        const char *field = (const char *)cfg + d->offset;
        fprintf(f, "%s=", d->env);
        switch (d->type) {
        case RT_CFG_STR: {
            const char *s = *(char *const *)(const void *)field;
            fprintf(f, "%s\n", !s ? "" : d->secret ? "***" : s);
            break;
        }
        case RT_CFG_INT:
            fprintf(f, "%lld\n", *(const long long *)(const void *)field);
            break;
        case RT_CFG_BOOL:
            fprintf(f, "%s\n", *(const bool *)(const void *)field ? "true" : "false");
            break;
        case RT_CFG_ENUM: {
            int idx = *(const int *)(const void *)field;
            const char *p = d->choices;
            for (int k = 0; k < idx && p; k++) {
                p = strchr(p, '|');
                p = p ? p + 1 : NULL;
            }
            const char *bar = p ? strchr(p, '|') : NULL;
            fprintf(f, "%.*s\n", p ? (int)(bar ? (size_t)(bar - p) : strlen(p)) : 0, p ? p : "");
            break;
        }
        }
    }
}

int rt_listen_parse(const char *value, char *host, size_t host_cap, int *port)
{
    const char *colon;
    const char *h = value;
    size_t hlen;
    if (!value || !*value)
        return RT_EINVAL;
    if (value[0] == '[') {
        const char *rb = strchr(value, ']');
        if (!rb || rb[1] != ':')
            return RT_EINVAL;
        h = value + 1;
        hlen = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(value, ':');
        if (!colon)
            return RT_EINVAL;
        hlen = (size_t)(colon - value);
    }
    if (hlen == 0 || hlen >= host_cap)
        return RT_EINVAL;
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || errno || p < 0 || p > 65535)
        return RT_EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}

int rt_cfg_check_listen(const char *value, char *expected, size_t cap)
{
    char host[256];
    int port;
    if (rt_listen_parse(value, host, sizeof(host), &port) == 0)
        return 0;
    snprintf(expected, cap, "host:port with a port from 0 to 65535 (for example 127.0.0.1:8080)");
    return -1;
}

int rt_cfg_check_redis_url(const char *value, char *expected, size_t cap)
{
    struct rt_redis_addr a;
    if (rt_redis_url_parse(value, &a) == 0)
        return 0;
    snprintf(expected, cap, "redis://[:password@]host[:port][/db] or unix:///path");
    return -1;
}

int rt_cfg_check_http_url(const char *value, char *expected, size_t cap)
{
    if ((strncmp(value, "http://", 7) == 0 && value[7]) ||
        (strncmp(value, "https://", 8) == 0 && value[8]))
        return 0;
    snprintf(expected, cap, "an http:// or https:// URL");
    return -1;
}
