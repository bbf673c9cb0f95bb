/* A small metrics registry rendered as Prometheus text (version 0.0.4). Single-threaded: each
 * process owns one registry on its loop thread. Series pointers stay valid until the registry
 * is freed, so hot paths keep them and never look names up. */
#ifndef RT_METRICS_H
#define RT_METRICS_H

#include <stddef.h>

struct rt_metrics;
struct rt_metric; /* one series: a name plus one label set */

enum rt_metric_type { RT_METRIC_COUNTER, RT_METRIC_GAUGE, RT_METRIC_HISTOGRAM };

#define RT_METRICS_MAX_SERIES 4096 /* beyond this, new label sets share an "overflow" series */

struct rt_metrics *rt_metrics_new(void);
void rt_metrics_free(struct rt_metrics *m);

/* Returns the series for (name, labels), creating it on first use. labels is the inner text of
 * the braces, e.g. "reason=\"expired\"", or NULL. Label values are escaped by the caller with
 * rt_metrics_label(). The same name must always be used with the same type (asserted).
 * Histogram bounds are copied (ascending, +Inf implied); ignored for other types. */
struct rt_metric *rt_metrics_get(struct rt_metrics *m, enum rt_metric_type type, const char *name,
                                 const char *help, const char *labels, const double *bounds,
                                 size_t nbounds);

void rt_metric_inc(struct rt_metric *s);
void rt_metric_add(struct rt_metric *s, double v);
void rt_metric_set(struct rt_metric *s, double v);
void rt_metric_observe(struct rt_metric *s, double v);
double rt_metric_value(const struct rt_metric *s);             /* counter or gauge */
unsigned long long rt_metric_count(const struct rt_metric *s); /* histogram observations */

/* Writes key="value" with the value escaped per the exposition format. */
void rt_metrics_label(char *buf, size_t cap, const char *key, const char *value);

/* Renders every series; returns a malloc'd NUL-terminated string, length in *len. */
char *rt_metrics_render(const struct rt_metrics *m, size_t *len);

/* Default latency buckets in seconds, 100 µs to 10 s. */
extern const double rt_metrics_latency_bounds[];
extern const size_t rt_metrics_latency_nbounds;

#endif
