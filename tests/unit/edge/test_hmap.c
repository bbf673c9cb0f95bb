#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hmap.h"

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
    struct edge_hmap *m = edge_hmap_new();
    char key[32];
    for (uintptr_t i = 1; i <= 1000; i++) {
        snprintf(key, sizeof(key), "k%lu", (unsigned long)i);
        edge_hmap_put(m, key, (void *)i);
    }
    assert_int_equal(edge_hmap_size(m), 1000);
    for (uintptr_t i = 1; i <= 1000; i++) {
        snprintf(key, sizeof(key), "k%lu", (unsigned long)i);
        assert_ptr_equal(edge_hmap_get(m, key), (void *)i);
    }
    edge_hmap_put(m, "k5", (void *)7);
    assert_ptr_equal(edge_hmap_get(m, "k5"), (void *)7);
    assert_int_equal(edge_hmap_size(m), 1000);
    assert_ptr_equal(edge_hmap_del(m, "k5"), (void *)7);
    assert_null(edge_hmap_del(m, "k5"));
    assert_null(edge_hmap_get(m, "k5"));
    assert_null(edge_hmap_get(m, "nope"));
    size_t n = 0;
    edge_hmap_each(m, count, &n);
    assert_int_equal(n, 999);
    edge_hmap_free(m);
    edge_hmap_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_put_get_del_grow)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
