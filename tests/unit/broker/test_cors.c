#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cors.h"

static void test_check(void **state)
{
    char why[256];
    (void)state;
    assert_int_equal(health_cors_check("http://127.0.0.1:8080", why, sizeof(why)), 0);
    assert_int_equal(
        health_cors_check("http://127.0.0.1:8080,https://board.example.com", why, sizeof(why)), 0);
    assert_int_equal(health_cors_check("https://[::1]:8443", why, sizeof(why)), 0);
    /* a path, a space, no scheme, an empty entry, a wildcard: refused with what was expected */
    assert_int_not_equal(health_cors_check("http://127.0.0.1:8080/", why, sizeof(why)), 0);
    assert_true(why[0] != '\0');
    assert_int_not_equal(health_cors_check("http://a, http://b", why, sizeof(why)), 0);
    assert_int_not_equal(health_cors_check("127.0.0.1:8080", why, sizeof(why)), 0);
    assert_int_not_equal(health_cors_check("http://a,,http://b", why, sizeof(why)), 0);
    assert_int_not_equal(health_cors_check("*", why, sizeof(why)), 0);
    assert_int_not_equal(health_cors_check("http://", why, sizeof(why)), 0);
    assert_int_not_equal(health_cors_check("ftp://a", why, sizeof(why)), 0);
}

static void test_allowed(void **state)
{
    const char *list = "http://127.0.0.1:8080,https://board.example.com";
    (void)state;
    assert_true(health_cors_allowed(list, "http://127.0.0.1:8080"));
    assert_true(health_cors_allowed(list, "https://board.example.com"));
    assert_false(health_cors_allowed(list, "http://127.0.0.1:808"));
    assert_false(health_cors_allowed(list, "http://127.0.0.1:80800"));
    assert_false(health_cors_allowed(list, "https://board.example.com.evil"));
    assert_false(health_cors_allowed(list, "HTTP://127.0.0.1:8080"));
    assert_false(health_cors_allowed(list, ""));
    assert_false(health_cors_allowed(list, NULL));
    assert_false(health_cors_allowed(NULL, "http://127.0.0.1:8080"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_allowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
