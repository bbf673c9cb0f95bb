#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ratelimit.h"

static void test_bucket(void **state)
{
    (void)state;
    struct ingest_ratelimit *r = ingest_ratelimit_new(10, 20);
    assert_int_equal(ingest_ratelimit_take(r, "a", 20, 100.0), 0);
    assert_int_equal(ingest_ratelimit_take(r, "a", 1, 100.0), 1);
    /* another tenant has its own bucket */
    assert_int_equal(ingest_ratelimit_take(r, "b", 15, 100.0), 0);
    /* refill: 0.5 s gives 5 tokens */
    assert_int_equal(ingest_ratelimit_take(r, "a", 5, 100.5), 0);
    assert_int_equal(ingest_ratelimit_take(r, "a", 1, 100.5), 1);
    /* waiting for 15 tokens at 10/s: 2 s */
    assert_int_equal(ingest_ratelimit_take(r, "a", 15, 100.5), 2);
    /* never beyond the burst */
    assert_int_equal(ingest_ratelimit_take(r, "a", 20, 1000.0), 0);
    assert_int_equal(ingest_ratelimit_take(r, "a", 1, 1000.0), 1);
    ingest_ratelimit_free(r);
}

/* Several tenants at once: all or nothing. */
static void test_take_all(void **state)
{
    (void)state;
    struct ingest_ratelimit *r = ingest_ratelimit_new(10, 20);
    const char *ab[] = {"a", "b"};
    double n1[] = {5, 20};
    assert_int_equal(ingest_ratelimit_take(r, "b", 20, 100.0), 0);
    /* b is empty: refused, and a keeps its 20 tokens */
    for (int i = 0; i < 5; i++)
        assert_int_equal(ingest_ratelimit_take_all(r, ab, n1, 2, 100.0), 2);
    assert_int_equal(ingest_ratelimit_take(r, "a", 20, 100.0), 0);
    /* both have enough after 2 s: both are taken */
    assert_int_equal(ingest_ratelimit_take_all(r, ab, (double[]){20, 20}, 2, 102.0), 0);
    assert_int_equal(ingest_ratelimit_take(r, "a", 1, 102.0), 1);
    assert_int_equal(ingest_ratelimit_take(r, "b", 1, 102.0), 1);
    ingest_ratelimit_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_bucket),
                                       cmocka_unit_test(test_take_all)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
