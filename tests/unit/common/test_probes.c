#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt/metrics.h"
#include "rt/probes.h"

static bool redis_up;

static bool ready(void *arg, char *reason, size_t cap)
{
    (void)arg;
    if (!redis_up)
        snprintf(reason, cap, "redis: connection refused");
    return redis_up;
}

static void test_probes(void **state)
{
    (void)state;
    struct rt_metrics *m = rt_metrics_new();
    rt_metric_set(rt_metrics_get(m, RT_METRIC_GAUGE, "rt_up", "Up.", NULL, NULL, 0), 1);
    struct rt_probes p = {.component = "rt-test", .ready = ready, .metrics = m};
    struct rt_http_reply r = {0};

    assert_false(rt_probes_handle(&p, "GET", "/api/v1/events", &r));
    assert_true(rt_probes_handle(&p, "GET", "/healthz", &r));
    assert_int_equal(r.status, 200);
    free(r.body);

    redis_up = true;
    assert_true(rt_probes_handle(&p, "GET", "/readyz?verbose=1", &r));
    assert_int_equal(r.status, 200);
    free(r.body);

    redis_up = false;
    assert_true(rt_probes_handle(&p, "GET", "/readyz", &r));
    assert_int_equal(r.status, 503);
    json_t *o = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "reason")),
                        "redis: connection refused");
    json_decref(o);
    free(r.body);

    redis_up = true;
    p.draining = true;
    assert_true(rt_probes_handle(&p, "GET", "/readyz", &r));
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "draining"));
    free(r.body);

    assert_true(rt_probes_handle(&p, "GET", "/metrics", &r));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.content_type, "text/plain"));
    assert_non_null(strstr(r.body, "rt_up 1"));
    free(r.body);

    assert_true(rt_probes_handle(&p, "POST", "/healthz", &r));
    assert_int_equal(r.status, 405);
    free(r.body);
    assert_false(rt_probes_handle(&p, "GET", "/healthzz", &r));
    rt_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_probes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
