/* Type OID to JSON conversion of pgoutput text values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pgvalue.h"
#include "rt/err.h"

#include <stdlib.h>
#include <string.h>

static void check(uint32_t oid, const char *text, const char *want)
{
    json_t *v = ingest_pgvalue_json(oid, text, strlen(text));
    assert_non_null(v);
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT |
                                JSON_REAL_PRECISION(INGEST_PGVALUE_REAL_PRECISION));
    assert_non_null(s);
    if (strcmp(s, want) != 0)
        fail_msg("oid %u text '%s': got %s want %s", oid, text, s, want);
    free(s);
    json_decref(v);
}

static void test_integers(void **state)
{
    (void)state;
    check(INGEST_OID_INT2, "-32768", "-32768");
    check(INGEST_OID_INT4, "2147483647", "2147483647");
    check(INGEST_OID_INT8, "9223372036854775807", "9223372036854775807");
    check(INGEST_OID_INT8, "12x", "\"12x\"");
}

static void test_numeric(void **state)
{
    (void)state;
    check(INGEST_OID_NUMERIC, "12.34", "12.34");
    check(INGEST_OID_NUMERIC, "-0.000001234", "-1.234e-6");
    check(INGEST_OID_NUMERIC, "100", "100");
    check(INGEST_OID_NUMERIC, "10.50", "10.5");
    check(INGEST_OID_NUMERIC, "123456789012345", "123456789012345");
    /* 16 and more significant digits cannot round-trip through a double: kept exactly */
    check(INGEST_OID_NUMERIC, "1234567890123456", "\"1234567890123456\"");
    check(INGEST_OID_NUMERIC, "0.1234567890123456789", "\"0.1234567890123456789\"");
    check(INGEST_OID_NUMERIC, "99999999999999999999.99", "\"99999999999999999999.99\"");
    check(INGEST_OID_NUMERIC, "NaN", "\"NaN\"");
    check(INGEST_OID_FLOAT8, "Infinity", "\"Infinity\"");
    check(INGEST_OID_FLOAT8, "1.5e+300", "1.5e300");
    check(INGEST_OID_FLOAT8, "0.30000000000000004", "\"0.30000000000000004\"");
    check(INGEST_OID_FLOAT4, "0.25", "0.25");
}

static void test_bool_json(void **state)
{
    (void)state;
    check(INGEST_OID_BOOL, "t", "true");
    check(INGEST_OID_BOOL, "f", "false");
    check(INGEST_OID_JSONB, "{\"a\": [1, null, \"x\"]}", "{\"a\":[1,null,\"x\"]}");
    check(INGEST_OID_JSON, "\"str\"", "\"str\"");
    check(INGEST_OID_JSON, "42", "42");
    check(INGEST_OID_JSON, "{bad", "\"{bad\"");
}

static void test_timestamps(void **state)
{
    (void)state;
    check(INGEST_OID_TIMESTAMPTZ, "2026-11-23 16:00:00.123456+00",
          "\"2026-11-23T16:00:00.123456Z\"");
    check(INGEST_OID_TIMESTAMPTZ, "2026-11-23 16:00:00+05:30", "\"2026-11-23T16:00:00+05:30\"");
    check(INGEST_OID_TIMESTAMPTZ, "2026-11-23 16:00:00-03", "\"2026-11-23T16:00:00-03:00\"");
    check(INGEST_OID_TIMESTAMP, "2026-01-02 03:04:05.5", "\"2026-01-02T03:04:05.5\"");
    check(INGEST_OID_TIMESTAMPTZ, "infinity", "\"infinity\"");
    check(INGEST_OID_TIMESTAMPTZ, "0044-03-15 12:00:00+00 BC", "\"0044-03-15 12:00:00+00 BC\"");
    char buf[8];
    assert_int_equal(ingest_pgvalue_iso8601("2026-11-23 16:00:00+00", 22, buf, sizeof(buf)),
                     RT_E2BIG);
}

static void test_strings(void **state)
{
    (void)state;
    check(25, "hello \"world\"", "\"hello \\\"world\\\"\"");
    check(1007, "{1,2,3}", "\"{1,2,3}\"");
    check(2950, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"");
    check(25, "", "\"\"");
    /* invalid UTF-8 is replaced, never dropped */
    check(25, "\xff", "\"\xef\xbf\xbd\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers),  cmocka_unit_test(test_numeric),
        cmocka_unit_test(test_bool_json), cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
