#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "callstate.h"
#include "rt/err.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int parse(const char *json, struct health_event *ev)
{
    return health_event_parse(json, strlen(json), ev);
}

static void test_ts(void **state)
{
    uint64_t ms;
    char buf[32];
    (void)state;
    assert_int_equal(health_ts_parse_ms("2026-11-23T16:00:00.123Z", &ms), 0);
    assert_true(ms == 1795449600123ULL);
    assert_int_equal(health_ts_parse_ms("2026-11-23T16:00:00Z", &ms), 0);
    assert_true(ms == 1795449600000ULL);
    assert_int_equal(health_ts_parse_ms("2026-11-23T16:00:00.123456Z", &ms), 0);
    assert_true(ms == 1795449600123ULL);
    assert_int_equal(health_ts_parse_ms("2026-11-23T16:00:00.1Z", &ms), 0);
    assert_true(ms == 1795449600100ULL);
    assert_int_equal(health_ts_parse_ms("2026-11-23T16:00:00.Z", &ms), RT_EINVAL);
    assert_int_equal(health_ts_parse_ms("2026-11-23T16:00:00+01:00", &ms), RT_EINVAL);
    assert_int_equal(health_ts_parse_ms("2026-13-23T16:00:00Z", &ms), RT_EINVAL);
    assert_int_equal(health_ts_parse_ms("yesterday", &ms), RT_EINVAL);
    health_ts_format_ms(1795449600123ULL, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-23T16:00:00.123Z");
}

/* The hand-written date arithmetic against the C library's, around leap days and year ends,
 * and every hour of a day of a month (each time printed by the formatter and parsed back). */
static void test_ts_calendar(void **state)
{
    static const char *const dates[] = {
        "1970-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "2000-02-29T12:00:00Z",
        "2000-03-01T00:00:00Z", "2024-02-29T23:59:59Z", "2025-03-01T00:00:00Z",
        "2026-12-31T23:59:59Z", "2100-02-28T01:02:03Z", "2100-03-01T00:00:00Z"};
    (void)state;
    for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
        struct tm tm = {0};
        uint64_t ms;
        assert_int_equal(sscanf(dates[i], "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon,
                                &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
                         6);
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        assert_int_equal(health_ts_parse_ms(dates[i], &ms), 0);
        assert_true(ms == (uint64_t)timegm(&tm) * 1000);
    }
    for (uint64_t t = 1709164800000ULL; t < 1709164800000ULL + 86400000ULL * 3; t += 3599999) {
        char buf[32];
        uint64_t back;
        health_ts_format_ms(t, buf, sizeof(buf));
        assert_int_equal(health_ts_parse_ms(buf, &back), 0);
        assert_true(back == t);
    }
    uint64_t ms;
    assert_int_equal(health_ts_parse_ms("2026-1x-23T16:00:00Z", &ms), RT_EINVAL);
    assert_int_equal(health_ts_parse_ms("2026-11-23T24:00:00Z", &ms), RT_EINVAL);
    assert_int_equal(health_ts_parse_ms("2026-11-23T16:00:00", &ms), RT_EINVAL);
    assert_int_equal(health_ts_parse_ms("2026-11-23 16:00:00Z", &ms), RT_EINVAL);
    assert_int_equal(health_ts_parse_ms("", &ms), RT_EINVAL);
}

static void test_event(void **state)
{
    struct health_event ev;
    (void)state;
    assert_int_equal(parse("{\"channel\":\"calls\",\"event\":\"call_update\",\"tenant\":\"acme\","
                           "\"ts\":\"2026-11-23T16:00:01.000Z\",\"data\":{\"call_id\":\"CA1\","
                           "\"state\":\"answered\",\"provider\":\"twilio\","
                           "\"received_at\":\"2026-11-23T16:00:00.900Z\","
                           "\"provider_event_time\":\"2026-11-23T16:00:00.400Z\"}}",
                           &ev),
                     0);
    assert_string_equal(ev.tenant, "acme");
    assert_string_equal(ev.call_id, "CA1");
    assert_string_equal(ev.state, "answered");
    assert_int_equal(ev.rank, 3);
    assert_int_equal(ev.outcome, -1);
    assert_true(ev.ev_ms == 1795449601000ULL);
    assert_string_equal(ev.provider, "twilio");
    assert_true(ev.received_ms == 1795449600900ULL);
    assert_int_equal(ev.lag_ms, 500);
}

static void test_event_defaults(void **state)
{
    struct health_event ev;
    (void)state;
    /* state from the event name; a missing outcome counts as failed; no provider */
    assert_int_equal(parse("{\"channel\":\"calls\",\"event\":\"call_ended\",\"tenant\":\"t1\","
                           "\"ts\":\"2026-11-23T16:00:01.000Z\",\"data\":{\"call_id\":\"x\"}}",
                           &ev),
                     0);
    assert_int_equal(ev.rank, 4);
    assert_int_equal(ev.outcome, HEALTH_OUTCOME_FAILED);
    assert_string_equal(ev.provider, "");
    assert_int_equal(ev.lag_ms, -1);
    assert_int_equal(parse("{\"channel\":\"calls\",\"event\":\"call_ended\",\"tenant\":\"t1\","
                           "\"ts\":\"2026-11-23T16:00:01.000Z\",\"data\":{\"call_id\":\"x\","
                           "\"state\":\"ended\",\"outcome\":\"no_answer\"}}",
                           &ev),
                     0);
    assert_int_equal(ev.outcome, HEALTH_OUTCOME_NO_ANSWER);
    assert_int_equal(parse("{\"channel\":\"calls\",\"event\":\"new_call\",\"tenant\":\"t1\","
                           "\"ts\":\"2026-11-23T16:00:01.000Z\",\"data\":{\"call_id\":\"x\"}}",
                           &ev),
                     0);
    assert_int_equal(ev.rank, 1);
}

static void test_event_rejects(void **state)
{
    struct health_event ev;
    (void)state;
    /* our own timeouts are not applied */
    assert_int_equal(parse("{\"channel\":\"calls\",\"event\":\"call_timeout\",\"tenant\":\"t1\","
                           "\"ts\":\"2026-11-23T16:00:01.000Z\",\"data\":{\"call_id\":\"x\"}}",
                           &ev),
                     RT_ENOENT);
    /* no tenant, no call id, a call id that could break a key, unknown state, bad JSON */
    assert_int_equal(parse("{\"channel\":\"calls\",\"event\":\"new_call\","
                           "\"ts\":\"2026-11-23T16:00:01.000Z\",\"data\":{\"call_id\":\"x\"}}",
                           &ev),
                     RT_EINVAL);
    assert_int_equal(parse("{\"channel\":\"calls\",\"event\":\"new_call\",\"tenant\":\"t1\","
                           "\"ts\":\"2026-11-23T16:00:01.000Z\",\"data\":{}}",
                           &ev),
                     RT_EINVAL);
    assert_int_equal(parse("{\"channel\":\"calls\",\"event\":\"new_call\",\"tenant\":\"t1\","
                           "\"ts\":\"2026-11-23T16:00:01.000Z\",\"data\":{\"call_id\":\"a\\nb\"}}",
                           &ev),
                     RT_EINVAL);
    assert_int_equal(parse("{\"channel\":\"calls\",\"event\":\"call_update\",\"tenant\":\"t1\","
                           "\"ts\":\"2026-11-23T16:00:01.000Z\",\"data\":{\"call_id\":\"x\","
                           "\"state\":\"dancing\"}}",
                           &ev),
                     RT_EINVAL);
    assert_true(parse("{nope", &ev) != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ts),
        cmocka_unit_test(test_ts_calendar),
        cmocka_unit_test(test_event),
        cmocka_unit_test(test_event_defaults),
        cmocka_unit_test(test_event_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
