#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "callmodel.h"

#include <string.h>

static void test_event_names(void **state)
{
    (void)state;
    assert_string_equal(ingest_call_event_name(INGEST_CALL_INITIATED), "new_call");
    assert_string_equal(ingest_call_event_name(INGEST_CALL_RINGING), "call_update");
    assert_string_equal(ingest_call_event_name(INGEST_CALL_ANSWERED), "call_update");
    assert_string_equal(ingest_call_event_name(INGEST_CALL_ENDED), "call_ended");
}

static void test_data(void **state)
{
    (void)state;
    struct ingest_call c = {.provider = "twilio",
                            .state = INGEST_CALL_ENDED,
                            .outcome = "busy",
                            .duration = 7,
                            .seq = -1};
    assert_true(ingest_call_set(&c.call_id, "CA1"));
    char longs[INGEST_CALL_FIELD_MAX + 2];
    memset(longs, 'x', sizeof(longs) - 1);
    longs[sizeof(longs) - 1] = '\0';
    assert_false(ingest_call_set(&c.from, longs));
    json_t *d = ingest_call_data(&c, "acme", "2026-11-23T16:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(d, "state")), "ended");
    assert_string_equal(json_string_value(json_object_get(d, "outcome")), "busy");
    assert_int_equal(json_integer_value(json_object_get(d, "duration")), 7);
    assert_true(json_is_null(json_object_get(d, "from")));
    assert_true(json_is_null(json_object_get(d, "sequence")));
    assert_string_equal(json_string_value(json_object_get(d, "call_id")), "CA1");
    json_decref(d);
    ingest_call_clear(&c);
    assert_null(c.call_id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_event_names),
                                       cmocka_unit_test(test_data)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
