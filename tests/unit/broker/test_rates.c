#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rates.h"

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(health_outcome_name(HEALTH_OUTCOME_NO_ANSWER), "no_answer");
    assert_int_equal(health_outcome_parse("timed_out"), HEALTH_OUTCOME_TIMED_OUT);
    assert_int_equal(health_outcome_parse("completed"), HEALTH_OUTCOME_COMPLETED);
    assert_int_equal(health_outcome_parse("bogus"), -1);
    assert_null(health_outcome_name(HEALTH_OUTCOME_COUNT));
}

static void test_windows(void **state)
{
    long long b[HEALTH_RATE_MINUTES][HEALTH_OUTCOME_COUNT] = {{0}};
    struct health_window w;
    (void)state;
    b[0][HEALTH_OUTCOME_TIMED_OUT] = 1;
    b[1][HEALTH_OUTCOME_COMPLETED] = 3;
    b[1][HEALTH_OUTCOME_FAILED] = 1;
    b[1][HEALTH_OUTCOME_BUSY] = 1;
    b[4][HEALTH_OUTCOME_NO_ANSWER] = 2;
    b[5][HEALTH_OUTCOME_CANCELED] = 7; /* outside 5 min */
    b[59][HEALTH_OUTCOME_REJECTED] = 2;
    health_rates_window((const long long(*)[HEALTH_OUTCOME_COUNT])b, HEALTH_RATE_MINUTES, 5, &w);
    assert_int_equal(w.terminal, 8);
    assert_int_equal(w.failed, 2);
    assert_int_equal(w.unanswered, 3);
    assert_int_equal(w.completed, 3);
    assert_true(w.failure_rate == 2.0 / 8.0);
    assert_true(w.unanswered_rate == 3.0 / 8.0);
    assert_true(w.answer_rate == 3.0 / 8.0);
    health_rates_window((const long long(*)[HEALTH_OUTCOME_COUNT])b, HEALTH_RATE_MINUTES, 60, &w);
    assert_int_equal(w.terminal, 17);
    assert_true(w.unanswered_rate == 12.0 / 17.0);
}

static void test_empty_and_negative(void **state)
{
    long long b[HEALTH_RATE_MINUTES][HEALTH_OUTCOME_COUNT] = {{0}};
    struct health_window w;
    (void)state;
    health_rates_window((const long long(*)[HEALTH_OUTCOME_COUNT])b, HEALTH_RATE_MINUTES, 15, &w);
    assert_int_equal(w.terminal, 0);
    assert_true(w.failure_rate == 0.0);
    /* a replaced timeout whose increment fell out of the window leaves a -1: clamped */
    b[2][HEALTH_OUTCOME_TIMED_OUT] = -1;
    b[2][HEALTH_OUTCOME_COMPLETED] = 1;
    health_rates_window((const long long(*)[HEALTH_OUTCOME_COUNT])b, HEALTH_RATE_MINUTES, 15, &w);
    assert_int_equal(w.terminal, 1);
    assert_int_equal(w.failed, 0);
    assert_true(w.answer_rate == 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_windows),
        cmocka_unit_test(test_empty_and_negative),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
