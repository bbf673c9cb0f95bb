#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tenantset.h"

#include "rt/naming.h"

#include <stdio.h>
#include <string.h>

/* Far more tenants than the old fixed dirty list held (256): none is lost or counted twice, and
 * the insertion order is kept. */
static void test_many(void **state)
{
    (void)state;
    struct health_tenantset *s = health_tenantset_new();
    char name[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(name, sizeof(name), "t%d", i);
        assert_true(health_tenantset_add(s, name));
    }
    for (int i = 0; i < 10000; i += 7) {
        snprintf(name, sizeof(name), "t%d", i);
        assert_false(health_tenantset_add(s, name));
    }
    assert_int_equal(health_tenantset_count(s), 10000);
    for (int i = 0; i < 10000; i++) {
        snprintf(name, sizeof(name), "t%d", i);
        assert_string_equal(health_tenantset_get(s, (size_t)i), name);
    }
    health_tenantset_clear(s);
    assert_int_equal(health_tenantset_count(s), 0);
    assert_true(health_tenantset_add(s, "t5"));
    assert_false(health_tenantset_add(s, "t5"));
    assert_int_equal(health_tenantset_count(s), 1);
    health_tenantset_free(s);
    health_tenantset_free(NULL);
}

static void test_bounds(void **state)
{
    (void)state;
    struct health_tenantset *s = health_tenantset_new();
    char longest[RT_TENANT_MAX + 2];
    memset(longest, 'a', sizeof(longest));
    longest[RT_TENANT_MAX + 1] = '\0';
    assert_false(health_tenantset_add(s, longest)); /* one byte too long */
    longest[RT_TENANT_MAX] = '\0';
    assert_true(health_tenantset_add(s, longest));
    assert_false(health_tenantset_add(s, ""));
    assert_int_equal(health_tenantset_count(s), 1);
    health_tenantset_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
