#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rt/backoff.h"

static void test_doubles_caps_and_resets(void **state)
{
    struct rt_backoff b;
    (void)state;
    rt_backoff_init(&b, 100, 1000, 0);
    assert_int_equal(rt_backoff_next(&b), 100);
    assert_int_equal(rt_backoff_next(&b), 200);
    assert_int_equal(rt_backoff_next(&b), 400);
    assert_int_equal(rt_backoff_next(&b), 800);
    assert_int_equal(rt_backoff_next(&b), 1000);
    for (int i = 0; i < 100; i++)
        assert_int_equal(rt_backoff_next(&b), 1000);
    rt_backoff_reset(&b);
    assert_int_equal(rt_backoff_next(&b), 100);
}

static void test_jitter_stays_in_bounds_and_varies(void **state)
{
    struct rt_backoff b;
    (void)state;
    rt_backoff_init(&b, 1000, 30000, 30);
    uint32_t base = 1000, seen_min = UINT32_MAX, seen_max = 0;
    for (int attempt = 0; attempt < 10; attempt++) {
        uint32_t d = rt_backoff_next(&b);
        assert_true(d >= base && d < base + base * 30 / 100 + 1);
        base = base * 2 > 30000 ? 30000 : base * 2;
    }
    for (int i = 0; i < 1000; i++) {
        rt_backoff_reset(&b);
        uint32_t d = rt_backoff_next(&b);
        seen_min = d < seen_min ? d : seen_min;
        seen_max = d > seen_max ? d : seen_max;
    }
    assert_true(seen_min >= 1000 && seen_max < 1300);
    assert_true(seen_max - seen_min > 100); /* jitter actually spreads retries */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doubles_caps_and_resets),
        cmocka_unit_test(test_jitter_stays_in_bounds_and_varies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
