#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "webhooks_seen.h"

static void test_parse(void **state)
{
    struct health_webhook w[HEALTH_MAX_PROVIDERS];
    size_t n = 0;
    (void)state;
    n = health_webhooks_add(w, n, HEALTH_MAX_PROVIDERS, "twilio:at", "1000");
    n = health_webhooks_add(w, n, HEALTH_MAX_PROVIDERS, "telnyx:lag", "42");
    n = health_webhooks_add(w, n, HEALTH_MAX_PROVIDERS, "twilio:lag", "7");
    n = health_webhooks_add(w, n, HEALTH_MAX_PROVIDERS, "telnyx:at", "2000");
    n = health_webhooks_add(w, n, HEALTH_MAX_PROVIDERS, "bad name:at", "1");
    n = health_webhooks_add(w, n, HEALTH_MAX_PROVIDERS, "twilio:other", "1");
    n = health_webhooks_add(w, n, HEALTH_MAX_PROVIDERS, "noseparator", "1");
    assert_int_equal(n, 2);
    assert_string_equal(w[0].provider, "twilio");
    assert_int_equal(w[0].last_ms, 1000);
    assert_int_equal(w[0].lag_ms, 7);
    assert_string_equal(w[1].provider, "telnyx");
    assert_int_equal(w[1].last_ms, 2000);
    assert_int_equal(w[1].lag_ms, 42);
}

static void test_sigfail(void **state)
{
    struct health_webhook w[HEALTH_MAX_PROVIDERS];
    size_t n = 0;
    (void)state;
    n = health_webhooks_add(w, n, HEALTH_MAX_PROVIDERS, "twilio:at", "1000");
    /* minutes ago 0, 4 (in 5m), 5, 14 (in 15m), 59 (in 60m), 60 (outside every window) */
    n = health_webhooks_add_sigfail(w, n, HEALTH_MAX_PROVIDERS, "twilio", 0, 2);
    n = health_webhooks_add_sigfail(w, n, HEALTH_MAX_PROVIDERS, "twilio", 4, 1);
    n = health_webhooks_add_sigfail(w, n, HEALTH_MAX_PROVIDERS, "twilio", 5, 10);
    n = health_webhooks_add_sigfail(w, n, HEALTH_MAX_PROVIDERS, "twilio", 14, 100);
    n = health_webhooks_add_sigfail(w, n, HEALTH_MAX_PROVIDERS, "twilio", 59, 1000);
    n = health_webhooks_add_sigfail(w, n, HEALTH_MAX_PROVIDERS, "twilio", 60, 10000);
    /* a provider seen only through failures; bad names and non-positive counts change nothing */
    n = health_webhooks_add_sigfail(w, n, HEALTH_MAX_PROVIDERS, "telnyx", 1, 3);
    n = health_webhooks_add_sigfail(w, n, HEALTH_MAX_PROVIDERS, "Bad Name", 1, 3);
    n = health_webhooks_add_sigfail(w, n, HEALTH_MAX_PROVIDERS, "vonage", 1, 0);
    assert_int_equal(n, 2);
    assert_int_equal(w[0].sigfail[0], 3);
    assert_int_equal(w[0].sigfail[1], 113);
    assert_int_equal(w[0].sigfail[2], 1113);
    assert_string_equal(w[1].provider, "telnyx");
    assert_int_equal(w[1].last_ms, 0);
    assert_int_equal(w[1].sigfail[0], 3);
    /* never stale without a verified webhook, even with active calls */
    assert_true(health_webhooks_mark_stale(w, n, 5, 10000000, 1000));
    assert_true(w[0].stale);
    assert_false(w[1].stale);
}

static void test_cap(void **state)
{
    struct health_webhook w[2];
    size_t n = 0;
    (void)state;
    n = health_webhooks_add(w, n, 2, "a:at", "1");
    n = health_webhooks_add(w, n, 2, "b:at", "1");
    n = health_webhooks_add(w, n, 2, "c:at", "1");
    assert_int_equal(n, 2);
    assert_int_equal(w[0].lag_ms, -1);
}

static void test_stale(void **state)
{
    struct health_webhook w[2];
    size_t n = 0;
    (void)state;
    n = health_webhooks_add(w, n, 2, "twilio:at", "1000");
    n = health_webhooks_add(w, n, 2, "vonage:at", "5000");
    /* no active calls: never stale, however old */
    assert_false(health_webhooks_mark_stale(w, n, 0, 100000, 300));
    assert_false(w[0].stale);
    /* active calls: older than the bound is stale, at the bound is not */
    assert_true(health_webhooks_mark_stale(w, n, 3, 5300, 4299));
    assert_true(w[0].stale);
    assert_false(w[1].stale);
    assert_false(health_webhooks_mark_stale(w, n, 3, 5300, 4300));
}

static void test_provider_valid(void **state)
{
    (void)state;
    assert_true(health_provider_valid("twilio"));
    assert_true(health_provider_valid("my-pbx_2"));
    assert_false(health_provider_valid(""));
    assert_false(health_provider_valid("Twilio"));
    assert_false(health_provider_valid("a:b"));
    assert_false(health_provider_valid("abcdefghijklmnopqrstuvwxyz0123456"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_sigfail),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_stale),
        cmocka_unit_test(test_provider_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
