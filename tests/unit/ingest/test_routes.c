/* The routing file: parsing, defaults, and errors that name the offending key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "routes.h"
#include "rt/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse(const char *s, struct ingest_routes **r, char *err)
{
    return ingest_routes_parse(r, s, strlen(s), err, 256);
}

static void test_example(void **state)
{
    (void)state;
    char err[256];
    struct ingest_routes *r;
    assert_int_equal(
        parse("{\"tables\": {\"public.calls\": {\"tenant_column\": \"organization_id\", "
              "\"user_column\": \"user_id\", \"calls\": true},"
              "\"public.appointments\": {\"tenant_column\": \"org\"}},"
              "\"default\": {\"tenant_column\": \"tenant_id\", \"user_column\": \"owner\"}}",
              &r, err),
        0);
    const struct ingest_route *c = ingest_routes_get(r, "public", "calls");
    assert_string_equal(c->tenant_column, "organization_id");
    assert_string_equal(c->user_column, "user_id");
    assert_true(c->calls);
    const struct ingest_route *a = ingest_routes_get(r, "public", "appointments");
    assert_string_equal(a->tenant_column, "org");
    assert_string_equal(a->user_column, "owner"); /* inherited from default */
    assert_false(a->calls);
    const struct ingest_route *d = ingest_routes_get(r, "public", "other");
    assert_string_equal(d->tenant_column, "tenant_id");
    /* a prefix of a configured name is not that table */
    assert_ptr_equal(ingest_routes_get(r, "public", "call"), d);
    assert_ptr_equal(ingest_routes_get(r, "publi", "calls"), d);
    ingest_routes_free(r);
}

static void test_builtin(void **state)
{
    (void)state;
    char err[256];
    struct ingest_routes *r;
    assert_int_equal(ingest_routes_load(&r, NULL, err, sizeof(err)), 0);
    const struct ingest_route *d = ingest_routes_get(r, "public", "tasks");
    assert_string_equal(d->tenant_column, "organization_id");
    assert_null(d->user_column);
    assert_false(d->calls);
    ingest_routes_free(r);
}

static void test_errors(void **state)
{
    (void)state;
    char err[256];
    struct ingest_routes *r = (void *)1;
    assert_int_equal(parse("{\"tables\": {", &r, err), RT_EPARSE);
    assert_null(r);
    assert_non_null(strstr(err, "line 1"));
    assert_int_equal(parse("{\"tabels\": {}}", &r, err), RT_EINVAL);
    assert_non_null(strstr(err, "\"tabels\""));
    assert_int_equal(parse("{\"tables\": {\"public.calls\": {\"tenant\": \"x\"}}}", &r, err),
                     RT_EINVAL);
    assert_non_null(strstr(err, "tables.public.calls"));
    assert_non_null(strstr(err, "\"tenant\""));
    assert_int_equal(parse("{\"tables\": {\"calls\": {}}}", &r, err), RT_EINVAL);
    assert_non_null(strstr(err, "schema.table"));
    assert_int_equal(parse("{\"tables\": {\"a.b\": {\"calls\": 1}}}", &r, err), RT_EINVAL);
    assert_int_equal(parse("{\"default\": {\"tenant_column\": \"\"}}", &r, err), RT_EINVAL);
    assert_int_equal(parse("{\"default\": {\"calls\": true}}", &r, err), RT_EINVAL);
    assert_int_equal(parse("[]", &r, err), RT_EINVAL);
    assert_int_equal(parse("{\"tables\":{\"a.b\":{}},\"tables\":{}}", &r, err), RT_EPARSE);
    assert_int_equal(ingest_routes_load(&r, "/nonexistent/routes.json", err, sizeof(err)), RT_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example),
        cmocka_unit_test(test_builtin),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
