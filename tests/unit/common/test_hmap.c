#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rt/hmap.h"

#include <stdio.h>

static void count(const char *key, void *val, void *arg)
{
    (void)key;
    (void)val;
    (*(size_t *)arg)++;
}

static void test_put_get_del_grow(void **state)
{
    (void)state;
    struct rt_hmap *m = rt_hmap_new();
    char key[32];
    for (uintptr_t i = 1; i <= 1000; i++) {
        snprintf(key, sizeof(key), "k%lu", (unsigned long)i);
        rt_hmap_put(m, key, (void *)i);
    }
    assert_int_equal(rt_hmap_size(m), 1000);
    for (uintptr_t i = 1; i <= 1000; i++) {
        snprintf(key, sizeof(key), "k%lu", (unsigned long)i);
        assert_ptr_equal(rt_hmap_get(m, key), (void *)i);
    }
    rt_hmap_put(m, "k5", (void *)7);
    assert_ptr_equal(rt_hmap_get(m, "k5"), (void *)7);
    assert_int_equal(rt_hmap_size(m), 1000);
    assert_ptr_equal(rt_hmap_del(m, "k5"), (void *)7);
    assert_null(rt_hmap_del(m, "k5"));
    assert_null(rt_hmap_get(m, "k5"));
    assert_null(rt_hmap_get(m, "nope"));
    size_t n = 0;
    rt_hmap_each(m, count, &n);
    assert_int_equal(n, 999);
    rt_hmap_free(m);
    rt_hmap_free(NULL);
}

static void test_clear_keeps_working(void **state)
{
    (void)state;
    struct rt_hmap *m = rt_hmap_new();
    char k[32];
    int v = 1;
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        rt_hmap_put(m, k, &v);
    }
    rt_hmap_clear(m);
    assert_int_equal(rt_hmap_size(m), 0);
    assert_null(rt_hmap_get(m, "k7"));
    rt_hmap_put(m, "k7", &v);
    assert_ptr_equal(rt_hmap_get(m, "k7"), &v);
    assert_int_equal(rt_hmap_size(m), 1);
    rt_hmap_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_put_get_del_grow),
                                       cmocka_unit_test(test_clear_keeps_working)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
