#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "callmodel.h"
#include "eventtime.h"

#include <stdlib.h>
#include <string.h>

static void expect_iso(const char *in, const char *want)
{
    char buf[INGEST_EVENT_TIME_ISO_LEN + 1];
    assert_true(ingest_event_time_iso(in, buf, sizeof(buf)));
    assert_string_equal(buf, want);
}

static void test_formats(void **state)
{
    (void)state;
    /* Twilio's Timestamp (RFC 2822), with and without the weekday, numeric and named zones */
    expect_iso("Tue, 14 Nov 2023 22:13:20 +0000", "2023-11-14T22:13:20.000Z");
    expect_iso("14 Nov 2023 22:13:20 +0000", "2023-11-14T22:13:20.000Z");
    expect_iso("Tue, 14 Nov 2023 23:13:20 +0100", "2023-11-14T22:13:20.000Z");
    expect_iso("Tue, 14 Nov 2023 17:13:20 -0500", "2023-11-14T22:13:20.000Z");
    expect_iso("Tue, 14 Nov 2023 22:13:20 GMT", "2023-11-14T22:13:20.000Z");
    expect_iso("Tue, 14 Nov 2023 22:13 GMT", "2023-11-14T22:13:00.000Z");
    /* ISO-8601: Telnyx (microseconds, offsets), Vonage (ms Z), the generic route */
    expect_iso("2023-11-14T22:13:20.123456Z", "2023-11-14T22:13:20.123Z");
    expect_iso("2023-11-14T22:13:20.5+00:00", "2023-11-14T22:13:20.500Z");
    expect_iso("2023-11-15T00:13:20+02:00", "2023-11-14T22:13:20.000Z");
    expect_iso("2023-11-14T20:13:20-0200", "2023-11-14T22:13:20.000Z");
    expect_iso("2023-11-14 22:13:20Z", "2023-11-14T22:13:20.000Z");
    /* a day boundary crossed by the offset */
    expect_iso("2024-03-01T00:30:00+01:00", "2024-02-29T23:30:00.000Z");
}

static void test_refused(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "yesterday",
                         "1700000000",
                         "2023-11-14T22:13:20",             /* no zone: ambiguous */
                         "2023-13-14T22:13:20Z",            /* month */
                         "2023-11-14T24:13:20Z",            /* hour */
                         "2023-11-14T22:13:20.Z",           /* empty fraction */
                         "2023-11-14T22:13:20+25:00",       /* offset */
                         "2023-11-14T22:13:20Zjunk",        /* trailing */
                         "Tue, 14 Foo 2023 22:13:20 +0000", /* month name */
                         "Tue, 14 Nov 2023 22:13:20",       /* no zone */
                         "Tue, 14 Nov 2023 22:13:20 +0000 x",
                         "Tue, 14 Nov 2023 22:13:20 EST5", /* zone */
                         "Tuesday, 14 Nov 2023 22:13:20 +0000"};
    char buf[INGEST_EVENT_TIME_ISO_LEN + 1];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(ingest_event_time_iso(bad[i], buf, sizeof(buf)));
    assert_false(ingest_event_time_iso("2023-11-14T22:13:20Z", buf, INGEST_EVENT_TIME_ISO_LEN));
    assert_false(ingest_event_time_iso(NULL, buf, sizeof(buf)));
}

static void test_set_time(void **state)
{
    (void)state;
    char *t = NULL;
    assert_true(ingest_call_set_time(&t, "Tue, 14 Nov 2023 22:13:20 +0000"));
    assert_string_equal(t, "2023-11-14T22:13:20.000Z");
    /* unparseable: kept as the provider sent it */
    assert_true(ingest_call_set_time(&t, "soon"));
    assert_string_equal(t, "soon");
    /* absent: left as it was */
    assert_true(ingest_call_set_time(&t, NULL));
    assert_string_equal(t, "soon");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_set_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
