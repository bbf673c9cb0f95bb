#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "callstate.h"
#include "rt/err.h"

#include <string.h>

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
        cmocka_unit_test(test_event),
        cmocka_unit_test(test_event_defaults),
        cmocka_unit_test(test_event_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
