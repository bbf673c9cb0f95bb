#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "status.h"

#include <string.h>

static struct health_config cfg(void)
{
    struct health_config c = {0};
    c.webhook_stale_ms = 300000;
    c.failure_degraded_pct = 10;
    c.failure_unhealthy_pct = 30;
    c.unanswered_degraded_pct = 60;
    c.min_calls = 5;
    return c;
}

static void fill(struct health_report *r, long long completed, long long failed, long long busy)
{
    memset(r, 0, sizeof(*r));
    strcpy(r->tenant, "acme");
    r->now_ms = 1795449600000ULL;
    r->buckets[0][HEALTH_OUTCOME_COMPLETED] = completed;
    r->buckets[1][HEALTH_OUTCOME_FAILED] = failed;
    r->buckets[2][HEALTH_OUTCOME_BUSY] = busy;
}

static void test_thresholds(void **state)
{
    struct health_config c = cfg();
    struct health_report r;
    struct health_view v;
    (void)state;
    fill(&r, 9, 0, 0);
    health_status_eval(&c, &r, &v);
    assert_int_equal(v.status, HEALTH_STATUS_HEALTHY);
    fill(&r, 9, 1, 0); /* exactly 10 % */
    health_status_eval(&c, &r, &v);
    assert_int_equal(v.status, HEALTH_STATUS_DEGRADED);
    assert_string_equal(v.reason, "failure_rate");
    fill(&r, 7, 3, 0); /* 30 % */
    health_status_eval(&c, &r, &v);
    assert_int_equal(v.status, HEALTH_STATUS_UNHEALTHY);
    fill(&r, 1, 0, 3); /* 75 % unanswered but only 4 calls: below min_calls */
    health_status_eval(&c, &r, &v);
    assert_int_equal(v.status, HEALTH_STATUS_HEALTHY);
    fill(&r, 2, 0, 3); /* 60 % unanswered of 5 */
    health_status_eval(&c, &r, &v);
    assert_int_equal(v.status, HEALTH_STATUS_DEGRADED);
    assert_string_equal(v.reason, "unanswered_rate");
    c.unanswered_degraded_pct = 0; /* off */
    health_status_eval(&c, &r, &v);
    assert_int_equal(v.status, HEALTH_STATUS_HEALTHY);
}

static void test_stale_and_json(void **state)
{
    struct health_config c = cfg();
    struct health_report r;
    struct health_view v;
    (void)state;
    fill(&r, 0, 0, 0);
    r.nwebhooks =
        health_webhooks_add(r.webhooks, 0, HEALTH_MAX_PROVIDERS, "twilio:at", "1795449000000");
    health_status_eval(&c, &r, &v);
    assert_int_equal(v.status, HEALTH_STATUS_HEALTHY); /* no active call: not stale */
    r.active_calls = 1;
    health_status_eval(&c, &r, &v);
    assert_int_equal(v.status, HEALTH_STATUS_DEGRADED);
    assert_string_equal(v.reason, "webhook_stale");
    json_t *o = health_status_json(&r, &v);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "degraded");
    json_t *tw = json_object_get(json_object_get(o, "webhooks"), "twilio");
    assert_true(json_is_true(json_object_get(tw, "stale")));
    assert_true(json_is_null(json_object_get(tw, "lag_ms")));
    assert_string_equal(json_string_value(json_object_get(tw, "last_received_at")),
                        "2026-11-23T15:50:00.000Z");
    assert_true(json_real_value(json_object_get(json_object_get(o, "failure_rate"), "5m")) == 0.0);
    assert_string_equal(json_string_value(json_object_get(o, "checked_at")),
                        "2026-11-23T16:00:00.000Z");
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thresholds),
        cmocka_unit_test(test_stale_and_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
