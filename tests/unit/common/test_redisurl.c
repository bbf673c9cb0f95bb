#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rt/err.h"
#include "rt/redisurl.h"

static void test_forms(void **state)
{
    struct rt_redis_addr a;
    (void)state;
    assert_int_equal(rt_redis_url_parse("redis://127.0.0.1:6379/0", &a), 0);
    assert_string_equal(a.host, "127.0.0.1");
    assert_int_equal(a.port, 6379);
    assert_int_equal(a.db, 0);
    assert_int_equal(rt_redis_url_parse("redis://:s3cret@redis.internal:7000/3", &a), 0);
    assert_string_equal(a.password, "s3cret");
    assert_string_equal(a.host, "redis.internal");
    assert_int_equal(a.port, 7000);
    assert_int_equal(a.db, 3);
    assert_int_equal(rt_redis_url_parse("redis://user:pw@h", &a), 0);
    assert_string_equal(a.password, "pw");
    assert_int_equal(a.port, 6379);
    assert_int_equal(rt_redis_url_parse("redis://[::1]:6380", &a), 0);
    assert_string_equal(a.host, "::1");
    assert_int_equal(a.port, 6380);
    assert_int_equal(rt_redis_url_parse("unix:///run/redis.sock?db=2", &a), 0);
    assert_string_equal(a.path, "/run/redis.sock");
    assert_int_equal(a.db, 2);
}

static void test_refused(void **state)
{
    struct rt_redis_addr a;
    (void)state;
    const char *bad[] = {NULL,
                         "",
                         "http://x",
                         "redis://",
                         "redis://:6379",
                         "redis://h:0",
                         "redis://h:65536",
                         "redis://h:12a",
                         "redis://h:1/16",
                         "redis://h:1/x",
                         "redis://[::1",
                         "unix://",
                         "unix://relative.sock",
                         "unix:///x?db=99"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(rt_redis_url_parse(bad[i], &a), RT_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
