#include "rt/metrics.h"
#include "rt/err.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double rt_metrics_latency_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                            0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                            1,      2.5,     5,      10};
const size_t rt_metrics_latency_nbounds =
    sizeof(rt_metrics_latency_bounds) / sizeof(rt_metrics_latency_bounds[0]);

struct rt_metric {
    char *name;   /* owned */
    char *help;   /* owned */
    char *labels; /* owned; "" when none */
    enum rt_metric_type type;
    double value;
    double *bounds;              /* owned; histogram only */
    unsigned long long *buckets; /* owned; nbounds + 1 (last is +Inf) */
    size_t nbounds;
    double sum;
    unsigned long long count;
};

struct rt_metrics {
    struct rt_metric **series; /* owned, in creation order */
    size_t n, cap;
};

struct rt_metrics *rt_metrics_new(void)
{
    return rt_xcalloc(1, sizeof(struct rt_metrics));
}

void rt_metrics_free(struct rt_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        struct rt_metric *s = m->series[i];
        free(s->name);
        free(s->help);
        free(s->labels);
        free(s->bounds);
        free(s->buckets);
        free(s);
    }
    free(m->series);
    free(m);
}

static struct rt_metric *find(struct rt_metrics *m, const char *name, const char *labels)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->series[i]->name, name) == 0 && strcmp(m->series[i]->labels, labels) == 0)
            return m->series[i];
    }
    return NULL;
}

struct rt_metric *rt_metrics_get(struct rt_metrics *m, enum rt_metric_type type, const char *name,
                                 const char *help, const char *labels, const double *bounds,
                                 size_t nbounds)
{
    if (!labels)
        labels = "";
    struct rt_metric *s = find(m, name, labels);
    if (s) {
        RT_ASSERT(s->type == type);
        return s;
    }
    if (m->n >= RT_METRICS_MAX_SERIES) {
        /* bounded cardinality: a label explosion degrades to one shared series */
        s = find(m, name, "overflow=\"true\"");
        if (s)
            return s;
        labels = "overflow=\"true\"";
    }
    s = rt_xcalloc(1, sizeof(*s));
    s->name = rt_xstrdup(name);
    s->help = rt_xstrdup(help ? help : "");
    s->labels = rt_xstrdup(labels);
    s->type = type;
    if (type == RT_METRIC_HISTOGRAM) {
        if (!bounds) {
            bounds = rt_metrics_latency_bounds;
            nbounds = rt_metrics_latency_nbounds;
        }
        s->nbounds = nbounds;
        s->bounds = rt_xmalloc(nbounds * sizeof(double));
        memcpy(s->bounds, bounds, nbounds * sizeof(double));
        s->buckets = rt_xcalloc(nbounds + 1, sizeof(unsigned long long));
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 32;
        m->series = rt_xrealloc(m->series, m->cap * sizeof(*m->series));
    }
    m->series[m->n++] = s;
    return s;
}

void rt_metric_inc(struct rt_metric *s)
{
    s->value += 1;
}

void rt_metric_add(struct rt_metric *s, double v)
{
    s->value += v;
}

void rt_metric_set(struct rt_metric *s, double v)
{
    s->value = v;
}

void rt_metric_observe(struct rt_metric *s, double v)
{
    size_t i = 0;
    RT_ASSERT(s->type == RT_METRIC_HISTOGRAM);
    while (i < s->nbounds && v > s->bounds[i])
        i++;
    s->buckets[i]++;
    s->sum += v;
    s->count++;
}

double rt_metric_value(const struct rt_metric *s)
{
    return s->value;
}

unsigned long long rt_metric_count(const struct rt_metric *s)
{
    return s->count;
}

void rt_metrics_label(char *buf, size_t cap, const char *key, const char *value)
{
    size_t j = 0;
    int n = snprintf(buf, cap, "%s=\"", key);
    if (n < 0 || (size_t)n >= cap) {
        if (cap)
            buf[0] = '\0';
        return;
    }
    j = (size_t)n;
    for (const char *p = value; *p && j + 3 < cap; p++) {
        if (*p == '\\' || *p == '"') {
            buf[j++] = '\\';
            buf[j++] = *p;
        } else if (*p == '\n') {
            buf[j++] = '\\';
            buf[j++] = 'n';
        } else {
            buf[j++] = *p;
        }
    }
    buf[j++] = '"';
    buf[j] = '\0';
}

struct sbuf {
    char *p;
    size_t len, cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        RT_ASSERT(n >= 0);
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->p = rt_xrealloc(b->p, b->cap);
    }
}

static const char *type_name(enum rt_metric_type t)
{
    switch (t) {
    case RT_METRIC_COUNTER:
        return "counter";
    case RT_METRIC_GAUGE:
        return "gauge";
    case RT_METRIC_HISTOGRAM:
        return "histogram";
    }
    return "untyped";
}

/* Shortest text that reads back as the same double: 0.1 stays "0.1", 2^53 stays exact. */
static void fmt_num(char *buf, size_t cap, double v)
{
    snprintf(buf, cap, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, cap, "%.17g", v);
}

static void render_series(struct sbuf *b, const struct rt_metric *s)
{
    const char *l = s->labels;
    char num[40];
    if (s->type != RT_METRIC_HISTOGRAM) {
        fmt_num(num, sizeof(num), s->value);
        sb_printf(b, "%s%s%s%s %s\n", s->name, *l ? "{" : "", l, *l ? "}" : "", num);
        return;
    }
    unsigned long long cum = 0;
    for (size_t i = 0; i <= s->nbounds; i++) {
        cum += s->buckets[i];
        char le[32];
        if (i < s->nbounds)
            snprintf(le, sizeof(le), "%g", s->bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        sb_printf(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", s->name, l, *l ? "," : "", le, cum);
    }
    fmt_num(num, sizeof(num), s->sum);
    sb_printf(b, "%s_sum%s%s%s %s\n", s->name, *l ? "{" : "", l, *l ? "}" : "", num);
    sb_printf(b, "%s_count%s%s%s %llu\n", s->name, *l ? "{" : "", l, *l ? "}" : "", s->count);
}

char *rt_metrics_render(const struct rt_metrics *m, size_t *len)
{
    struct sbuf b = {rt_xmalloc(4096), 0, 4096};
    bool *done = rt_xcalloc(m->n ? m->n : 1, sizeof(bool));
    b.p[0] = '\0';
    /* group every series of one name under one HELP/TYPE header, as the format requires */
    for (size_t i = 0; i < m->n; i++) {
        if (done[i])
            continue;
        const struct rt_metric *s = m->series[i];
        sb_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", s->name, s->help, s->name,
                  type_name(s->type));
        for (size_t j = i; j < m->n; j++) {
            if (!done[j] && strcmp(m->series[j]->name, s->name) == 0) {
                render_series(&b, m->series[j]);
                done[j] = true;
            }
        }
    }
    free(done);
    if (len)
        *len = b.len;
    return b.p;
}
