#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt/metrics.h"

static void test_counter_gauge_histogram_render(void **state)
{
    (void)state;
    struct rt_metrics *m = rt_metrics_new();
    struct rt_metric *c =
        rt_metrics_get(m, RT_METRIC_COUNTER, "rt_events_total", "Events.", NULL, NULL, 0);
    struct rt_metric *g =
        rt_metrics_get(m, RT_METRIC_GAUGE, "rt_connections", "Open connections.", NULL, NULL, 0);
    const double b[] = {0.001, 0.01};
    struct rt_metric *h =
        rt_metrics_get(m, RT_METRIC_HISTOGRAM, "rt_latency_seconds", "Latency.", NULL, b, 2);
    rt_metric_inc(c);
    rt_metric_add(c, 2);
    rt_metric_set(g, 42);
    rt_metric_observe(h, 0.0005);
    rt_metric_observe(h, 0.005);
    rt_metric_observe(h, 5);
    assert_true(rt_metric_value(c) == 3);
    assert_int_equal(rt_metric_count(h), 3);
    /* the same name and labels give the same series */
    assert_ptr_equal(c,
                     rt_metrics_get(m, RT_METRIC_COUNTER, "rt_events_total", "x", NULL, NULL, 0));

    size_t len;
    char *text = rt_metrics_render(m, &len);
    assert_int_equal(len, strlen(text));
    assert_non_null(strstr(text, "# HELP rt_events_total Events.\n# TYPE rt_events_total counter\n"
                                 "rt_events_total 3\n"));
    assert_non_null(strstr(text, "# TYPE rt_connections gauge\nrt_connections 42\n"));
    assert_non_null(strstr(text, "rt_latency_seconds_bucket{le=\"0.001\"} 1\n"));
    assert_non_null(strstr(text, "rt_latency_seconds_bucket{le=\"0.01\"} 2\n"));
    assert_non_null(strstr(text, "rt_latency_seconds_bucket{le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(text, "rt_latency_seconds_count 3\n"));
    assert_non_null(strstr(text, "rt_latency_seconds_sum 5.0055"));
    free(text);
    rt_metrics_free(m);
}

static void test_labels_grouped_and_escaped(void **state)
{
    char l1[128], l2[128];
    (void)state;
    struct rt_metrics *m = rt_metrics_new();
    rt_metrics_label(l1, sizeof(l1), "reason", "expired");
    rt_metrics_label(l2, sizeof(l2), "reason", "bad\"sig\\\n");
    assert_string_equal(l2, "reason=\"bad\\\"sig\\\\\\n\"");
    rt_metric_inc(
        rt_metrics_get(m, RT_METRIC_COUNTER, "rt_auth_failures_total", "Failures.", l1, NULL, 0));
    rt_metric_inc(rt_metrics_get(m, RT_METRIC_GAUGE, "rt_other", "Other.", NULL, NULL, 0));
    rt_metric_inc(
        rt_metrics_get(m, RT_METRIC_COUNTER, "rt_auth_failures_total", "Failures.", l2, NULL, 0));
    char *text = rt_metrics_render(m, NULL);
    /* one HELP/TYPE header per name, both series under it */
    const char *first = strstr(text, "# TYPE rt_auth_failures_total");
    assert_non_null(first);
    assert_null(strstr(first + 1, "# TYPE rt_auth_failures_total"));
    const char *s1 = strstr(text, "rt_auth_failures_total{reason=\"expired\"} 1");
    const char *s2 = strstr(text, "rt_auth_failures_total{reason=\"bad\\\"sig\\\\\\n\"} 1");
    const char *other = strstr(text, "# TYPE rt_other");
    assert_non_null(s1);
    assert_non_null(s2);
    assert_true(s1 < other && s2 < other);
    free(text);
    rt_metrics_free(m);
}

static void test_cardinality_is_bounded(void **state)
{
    char l[64];
    (void)state;
    struct rt_metrics *m = rt_metrics_new();
    for (int i = 0; i < RT_METRICS_MAX_SERIES + 100; i++) {
        snprintf(l, sizeof(l), "tenant=\"t%d\"", i);
        rt_metric_inc(rt_metrics_get(m, RT_METRIC_COUNTER, "rt_x_total", "X.", l, NULL, 0));
    }
    char *text = rt_metrics_render(m, NULL);
    assert_non_null(strstr(text, "rt_x_total{overflow=\"true\"} 100"));
    free(text);
    rt_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_gauge_histogram_render),
        cmocka_unit_test(test_labels_grouped_and_escaped),
        cmocka_unit_test(test_cardinality_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
