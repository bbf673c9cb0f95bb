#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "rt/err.h"

static void test_names_and_messages(void **state)
{
    (void)state;
    assert_string_equal(rt_errname(RT_OK), "OK");
    assert_string_equal(rt_errname(RT_EINVAL), "EINVAL");
    assert_string_equal(rt_errname(RT_ECLOSED), "ECLOSED");
    assert_string_equal(rt_strerror(RT_ENOTREADY), "not ready");
    /* unknown codes still give a string, never NULL */
    assert_non_null(rt_errname(-123456));
    assert_string_equal(rt_errname(-123456), "EUNKNOWN");
    assert_string_equal(rt_strerror(42), "unknown error");
}

static void test_codes_are_distinct(void **state)
{
    static const int codes[] = {
#define X(name, value, msg) value,
        RT_ERR_TABLE(X)
#undef X
    };
    (void)state;
    size_t n = sizeof(codes) / sizeof(codes[0]);
    for (size_t i = 0; i < n; i++) {
        assert_true(codes[i] <= 0);
        for (size_t j = i + 1; j < n; j++)
            assert_int_not_equal(codes[i], codes[j]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_messages),
        cmocka_unit_test(test_codes_are_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
