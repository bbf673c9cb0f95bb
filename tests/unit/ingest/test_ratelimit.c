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

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_bucket)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
