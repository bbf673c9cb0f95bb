#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "rt/err.h"
#include "rt/naming.h"

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void test_hostile_tenants_refused(void **state)
{
    (void)state;
    char *huge = repeat('a', 10 * 1024);
    const char *bad[] = {"",         "a}:x", "../b", "a{b", "a:b",    "a b", "a*",    "a\nb",
                         "\xff\xfe", "é",    "a/b",  "a.b", "rt:{x}", huge,  "a\x00b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(rt_name_tenant_valid(bad[i]));
    assert_false(rt_name_tenant_valid(NULL));
    char *max = repeat('t', RT_TENANT_MAX);
    char *over = repeat('t', RT_TENANT_MAX + 1);
    assert_true(rt_name_tenant_valid(max));
    assert_false(rt_name_tenant_valid(over));
    assert_true(rt_name_tenant_valid("acme"));
    assert_true(rt_name_tenant_valid("Acme_Corp-2"));
    free(huge);
    free(max);
    free(over);
}

static void test_users(void **state)
{
    (void)state;
    assert_true(rt_name_user_valid("u-17"));
    assert_true(rt_name_user_valid("auth0|5f7c8ec7c33c6c004bbafe82"));
    assert_true(rt_name_user_valid("jane.doe@example.com"));
    assert_true(rt_name_user_valid("3fa85f64-5717-4562-b3fc-2c963f66afa6"));
    assert_false(rt_name_user_valid(""));
    assert_false(rt_name_user_valid("../admin"));
    assert_false(rt_name_user_valid("a}:x"));
    assert_false(rt_name_user_valid("a b"));
    assert_false(rt_name_user_valid("a*"));
    assert_false(rt_name_user_valid("\xc3\xa9"));
    char *over = repeat('u', RT_USER_MAX + 1);
    assert_false(rt_name_user_valid(over));
    free(over);
}

static void test_client_channels(void **state)
{
    (void)state;
    assert_int_equal(rt_name_client_channel("calls"), RT_CHANNEL_CALLS);
    assert_int_equal(rt_name_client_channel("user"), RT_CHANNEL_USER);
    assert_int_equal(rt_name_client_channel("tenant"), RT_CHANNEL_TENANT);
    assert_int_equal(rt_name_client_channel("health"), RT_CHANNEL_HEALTH);
    assert_int_equal(rt_name_client_channel("db:public.calls"), RT_CHANNEL_DB);
    assert_int_equal(rt_name_client_channel("db:app_1.t$x"), RT_CHANNEL_DB);
    assert_int_equal(rt_name_client_channel("app:import-progress"), RT_CHANNEL_CUSTOM);

    char *huge = repeat('c', 10 * 1024);
    char *longdb = malloc(300);
    snprintf(longdb, 300, "db:public.%s",
             "t234567890123456789012345678901234567890123456789012345678901234");
    const char *bad[] = {"",
                         "user:someone-else", /* clients never name another user */
                         "calls}",
                         "rt:{b}:calls",
                         "{b}:calls",
                         "db:public",
                         "db:.calls",
                         "db:public.",
                         "db:public.calls:x",
                         "db:public.ca}lls",
                         "db:../x.y",
                         "db:public.*",
                         "db:pub lic.calls",
                         "db:1abc.calls",
                         "app:",
                         "app:Upper",
                         "app:a:b",
                         "*",
                         "..",
                         "calls\n",
                         "caf\xc3\xa9",
                         "\xff",
                         huge,
                         longdb};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (rt_name_client_channel(bad[i]) != RT_CHANNEL_INVALID)
            fail_msg("accepted hostile channel #%zu", i);
    }
    free(huge);
    free(longdb);
}

static void test_internal_channels(void **state)
{
    (void)state;
    assert_int_equal(rt_name_internal_channel("user:u-17"), RT_CHANNEL_USER);
    assert_int_equal(rt_name_internal_channel("user"), RT_CHANNEL_INVALID);
    assert_int_equal(rt_name_internal_channel("user:a}:x"), RT_CHANNEL_INVALID);
    assert_int_equal(rt_name_internal_channel("user:"), RT_CHANNEL_INVALID);
    assert_int_equal(rt_name_internal_channel("calls"), RT_CHANNEL_CALLS);
}

static void test_keys(void **state)
{
    char key[RT_KEY_MAX], t[RT_TENANT_MAX + 1], c[RT_CHANNEL_MAX + 1], uc[RT_CHANNEL_MAX + 1];
    (void)state;
    assert_int_equal(rt_name_key(key, sizeof(key), "acme", "db:public.calls"), 0);
    assert_string_equal(key, "rt:{acme}:db:public.calls");
    assert_int_equal(rt_name_user_channel(uc, sizeof(uc), "u-17"), 0);
    assert_int_equal(rt_name_key(key, sizeof(key), "acme", uc), 0);
    assert_string_equal(key, "rt:{acme}:user:u-17");
    assert_int_equal(rt_name_key_split(key, t, sizeof(t), c, sizeof(c)), 0);
    assert_string_equal(t, "acme");
    assert_string_equal(c, "user:u-17");

    assert_int_equal(rt_name_key(key, sizeof(key), "a}:x", "calls"), RT_EINVAL);
    assert_int_equal(rt_name_key(key, sizeof(key), "../b", "calls"), RT_EINVAL);
    assert_int_equal(rt_name_key(key, sizeof(key), "", "calls"), RT_EINVAL);
    assert_int_equal(rt_name_key(key, sizeof(key), "acme", "user"), RT_EINVAL);
    assert_int_equal(rt_name_key(key, sizeof(key), "acme", "calls}"), RT_EINVAL);
    assert_int_equal(rt_name_key(key, 8, "acme", "calls"), RT_E2BIG);
    assert_int_equal(rt_name_user_channel(uc, sizeof(uc), "a b"), RT_EINVAL);
    assert_int_equal(rt_name_key_split("rt:{a}:x}:calls", t, sizeof(t), c, sizeof(c)), RT_EINVAL);
    assert_int_equal(rt_name_key_split("rt:calls:all", t, sizeof(t), c, sizeof(c)), RT_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_tenants_refused),
        cmocka_unit_test(test_users),
        cmocka_unit_test(test_client_channels),
        cmocka_unit_test(test_internal_channels),
        cmocka_unit_test(test_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
