#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "filter.h"

#include <string.h>

static struct edge_filter *parse_ok(const char *text)
{
    struct edge_filter *f = NULL;
    const char *why = NULL;
    assert_int_equal(edge_filter_parse(text, &f, &why), 0);
    assert_non_null(f);
    return f;
}

static bool match(const char *filter, const char *data_json, const char *event)
{
    json_t *data = json_loads(data_json, 0, NULL);
    assert_non_null(data);
    struct edge_filter *f = parse_ok(filter);
    bool m = edge_filter_match(f, data, event);
    edge_filter_free(f);
    json_decref(data);
    return m;
}

static void test_malformed_is_refused(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "status",
                         "status=",
                         "status=eq",
                         "=eq.x",
                         "status=like.x",
                         "status=EQ.x",
                         "st atus=eq.x",
                         "sta-tus=eq.x",
                         "status=in.x",
                         "status=in.()",
                         "status=in.(a,",
                         "status=in.(a,,b)",
                         "status=in.((a))",
                         "a234567890123456789012345678901234567890123456789012345678901234=eq.1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct edge_filter *f = (struct edge_filter *)1;
        const char *why = NULL;
        assert_int_not_equal(edge_filter_parse(bad[i], &f, &why), 0);
        assert_null(f);
        assert_non_null(why);
    }
    char longf[1100];
    memset(longf, 'a', sizeof(longf) - 1);
    longf[sizeof(longf) - 1] = '\0';
    memcpy(longf, "a=eq.", 5);
    struct edge_filter *f;
    const char *why;
    assert_int_not_equal(edge_filter_parse(longf, &f, &why), 0);
}

static void test_operators(void **state)
{
    (void)state;
    const char *rec =
        "{\"record\":{\"status\":\"active\",\"n\":10,\"r\":2.5,\"b\":true,\"z\":null}}";
    assert_true(match("status=eq.active", rec, "INSERT"));
    assert_false(match("status=eq.idle", rec, "INSERT"));
    assert_true(match("status=neq.idle", rec, "INSERT"));
    assert_false(match("status=neq.active", rec, "INSERT"));
    assert_true(match("n=eq.10", rec, "INSERT"));
    assert_true(match("n=eq.10.0", rec, "INSERT"));
    assert_true(match("n=lt.11", rec, "INSERT"));
    assert_false(match("n=lt.10", rec, "INSERT"));
    assert_true(match("n=lte.10", rec, "INSERT"));
    assert_true(match("n=gt.9", rec, "INSERT"));
    assert_false(match("n=gt.10", rec, "INSERT"));
    assert_true(match("n=gte.10", rec, "INSERT"));
    assert_true(match("n=gt.9.5", rec, "INSERT"));
    assert_true(match("n=lt.100", rec, "INSERT")); /* numeric, not "10" < "100" by accident */
    assert_true(match("n=gt.9", rec, "INSERT"));   /* numeric: "10" > "9" is false as text */
    assert_true(match("r=lt.3", rec, "INSERT"));
    assert_true(match("b=eq.true", rec, "INSERT"));
    assert_true(match("z=eq.null", rec, "INSERT"));
    assert_true(match("status=in.(idle,active)", rec, "INSERT"));
    assert_false(match("status=in.(idle,done)", rec, "INSERT"));
    assert_true(match("n=in.(1,10)", rec, "INSERT"));
    assert_false(match("missing=eq.x", rec, "INSERT"));
    assert_false(match("status=eq.active", "{\"record\":null}", "INSERT"));
    assert_false(match("status=eq.active", "{}", "INSERT"));
    assert_true(match("v=eq.a.b", "{\"record\":{\"v\":\"a.b\"}}", "INSERT"));
}

static void test_delete_uses_old_record(void **state)
{
    (void)state;
    const char *del = "{\"record\":null,\"old_record\":{\"status\":\"active\"}}";
    assert_true(match("status=eq.active", del, "DELETE"));
    assert_false(match("status=eq.active", del, "INSERT"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_is_refused),
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_delete_uses_old_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
