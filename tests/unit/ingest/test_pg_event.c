/* Row changes to event data: records, old records, unchanged TOAST, truncated rows, calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pg_event.h"
#include "rt/err.h"

#include <stdlib.h>
#include <string.h>

static struct ingest_pgo_column cols[] = {
    {.name = "id", .type_oid = 23, .key = true},
    {.name = "organization_id", .type_oid = 25},
    {.name = "status", .type_oid = 25},
    {.name = "end_time", .type_oid = 1184},
    {.name = "doc", .type_oid = 25},
};

static struct ingest_pgo_relation rel = {
    .id = 1, .schema = "public", .table = "calls", .replident = 'd', .ncols = 5, .cols = cols};

static struct ingest_route route = {.tenant_column = "organization_id", .calls = true};

#define T(s)                                                                                       \
    {                                                                                              \
        .kind = 't', .data = (s), .len = sizeof(s) - 1                                             \
    }
#define N                                                                                          \
    {                                                                                              \
        .kind = 'n'                                                                                \
    }
#define U                                                                                          \
    {                                                                                              \
        .kind = 'u'                                                                                \
    }

static void dump_is(json_t *v, const char *want)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (strcmp(s, want) != 0)
        fail_msg("got  %s\nwant %s", s, want);
    free(s);
}

static void test_ts(void **state)
{
    (void)state;
    char buf[40];
    ingest_pgevent_ts(0, buf, sizeof(buf));
    assert_string_equal(buf, "2000-01-01T00:00:00.000000Z");
    ingest_pgevent_ts(-1, buf, sizeof(buf));
    assert_string_equal(buf, "1999-12-31T23:59:59.999999Z");
    ingest_pgevent_ts(817138800123456LL, buf, sizeof(buf));
    assert_string_equal(buf, "2025-11-22T15:00:00.123456Z");
}

static void test_insert_and_call(void **state)
{
    (void)state;
    struct ingest_pgo_value nv[] = {T("7"), T("acme"), T("ringing"), N, T("d")};
    struct ingest_pgo_msg m = {.kind = INGEST_PGO_INSERT, .rel = &rel, .new_tuple = {5, nv}};
    char buf[70];
    assert_int_equal(ingest_pgevent_column(&m, "organization_id", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "acme");
    assert_int_equal(ingest_pgevent_column(&m, "end_time", buf, sizeof(buf)), RT_ENOENT);
    assert_int_equal(ingest_pgevent_column(&m, "nope", buf, sizeof(buf)), RT_ENOENT);
    assert_int_equal(ingest_pgevent_column(&m, "organization_id", buf, 4), RT_E2BIG);
    json_t *d = ingest_pgevent_row(&m, "TS", &route, false);
    dump_is(d, "{\"schema\":\"public\",\"table\":\"calls\",\"commit_timestamp\":\"TS\",\"record\":"
               "{\"id\":7,\"organization_id\":\"acme\",\"status\":\"ringing\",\"end_time\":null,"
               "\"doc\":\"d\"},\"old_record\":null}");
    const char *ev = NULL;
    json_t *call = ingest_pgevent_call(&m, d, &ev);
    assert_string_equal(ev, "new_call");
    dump_is(call, "{\"call_id\":7,\"provider_status\":\"ringing\",\"end_time\":null,\"state\":"
                  "\"ringing\",\"outcome\":null,\"source\":\"db\",\"commit_timestamp\":\"TS\"}");
    json_decref(call);
    json_decref(d);
}

static void test_update_toast_and_end(void **state)
{
    (void)state;
    struct ingest_pgo_value ov[] = {T("7"), T("acme"), T("answered"), N, T("big")};
    struct ingest_pgo_value nv[] = {T("7"), T("acme"), T("ended"), T("2026-01-01 00:00:00+00"), U};
    /* default identity: no old tuple, the TOASTed value is marked */
    struct ingest_pgo_msg m = {.kind = INGEST_PGO_UPDATE, .rel = &rel, .new_tuple = {5, nv}};
    json_t *d = ingest_pgevent_row(&m, "TS", &route, false);
    dump_is(json_object_get(json_object_get(d, "record"), "doc"), "{\"unchanged_toast\":true}");
    dump_is(json_object_get(d, "old_record"), "{\"id\":7}");
    const char *ev = NULL;
    json_t *call = ingest_pgevent_call(&m, d, &ev);
    assert_string_equal(ev, "call_ended"); /* without the old row: end_time set means ended */
    dump_is(json_object_get(call, "state"), "\"ended\"");
    json_decref(call);
    json_decref(d);

    /* REPLICA IDENTITY FULL: the old row fills the unchanged value; ended only once */
    m.old_kind = 'O';
    m.old_tuple = (struct ingest_pgo_tuple){5, ov};
    d = ingest_pgevent_row(&m, "TS", &route, false);
    dump_is(json_object_get(json_object_get(d, "record"), "doc"), "\"big\"");
    dump_is(json_object_get(json_object_get(d, "old_record"), "status"), "\"answered\"");
    call = ingest_pgevent_call(&m, d, &ev);
    assert_string_equal(ev, "call_ended");
    json_decref(call);
    json_decref(d);
    ov[3] = (struct ingest_pgo_value)T("2026-01-01 00:00:00+00");
    d = ingest_pgevent_row(&m, "TS", &route, false);
    call = ingest_pgevent_call(&m, d, &ev);
    assert_string_equal(ev, "call_update");
    json_decref(call);
    json_decref(d);
}

static void test_delete_and_truncated(void **state)
{
    (void)state;
    struct ingest_pgo_value ov[] = {T("7"), N, N, N, N};
    struct ingest_pgo_msg m = {
        .kind = INGEST_PGO_DELETE, .rel = &rel, .old_kind = 'K', .old_tuple = {5, ov}};
    char buf[16];
    /* key-only old tuple: the tenant column is not there, so such a DELETE is dropped */
    assert_int_equal(ingest_pgevent_column(&m, "organization_id", buf, sizeof(buf)), RT_ENOENT);
    json_t *d = ingest_pgevent_row(&m, "TS", &route, false);
    dump_is(json_object_get(d, "record"), "null");
    dump_is(json_object_get(d, "old_record"), "{\"id\":7}");
    const char *ev = NULL;
    assert_null(ingest_pgevent_call(&m, d, &ev));
    json_decref(d);

    struct ingest_pgo_value nv[] = {T("7"), T("acme"), T("x"), N, T("huge")};
    struct ingest_pgo_msg ins = {.kind = INGEST_PGO_INSERT, .rel = &rel, .new_tuple = {5, nv}};
    d = ingest_pgevent_row(&ins, "TS", &route, true);
    dump_is(d, "{\"schema\":\"public\",\"table\":\"calls\",\"commit_timestamp\":\"TS\",\"record\":"
               "{\"id\":7,\"organization_id\":\"acme\"},\"old_record\":null,\"truncated\":true}");
    json_decref(d);
}

static struct ingest_pgo_column ccols[] = {
    {.name = "id", .type_oid = 23, .key = true}, {.name = "status", .type_oid = 25},
    {.name = "outcome", .type_oid = 25},         {.name = "answer_time", .type_oid = 1184},
    {.name = "end_time", .type_oid = 1184},
};
static struct ingest_pgo_relation crel = {
    .id = 2, .schema = "public", .table = "calls", .replident = 'f', .ncols = 5, .cols = ccols};

/* The call event and its normalized state and outcome for one inserted or updated row. */
static void call_is(enum ingest_pgo_kind kind, struct ingest_pgo_value *nv,
                    struct ingest_pgo_value *ov, const char *event, const char *state,
                    const char *outcome)
{
    struct ingest_pgo_msg m = {.kind = kind, .rel = &crel, .new_tuple = {5, nv}};
    if (ov) {
        m.old_kind = 'O';
        m.old_tuple = (struct ingest_pgo_tuple){5, ov};
    }
    json_t *d = ingest_pgevent_row(&m, "TS", &route, false);
    const char *ev = NULL;
    json_t *call = ingest_pgevent_call(&m, d, &ev);
    assert_non_null(call);
    assert_string_equal(ev, event);
    assert_string_equal(json_string_value(json_object_get(call, "state")), state);
    json_t *o = json_object_get(call, "outcome");
    if (outcome)
        assert_string_equal(json_string_value(o), outcome);
    else
        assert_true(json_is_null(o));
    json_decref(call);
    json_decref(d);
}

static void test_call_states(void **state)
{
    (void)state;
    enum ingest_pgo_kind I = INGEST_PGO_INSERT, UP = INGEST_PGO_UPDATE;
    struct ingest_pgo_value a[] = {T("1"), T("initiated"), N, N, N};
    call_is(I, a, NULL, "new_call", "initiated", NULL);
    struct ingest_pgo_value b[] = {T("1"), T("queued"), T("busy"), N, N};
    call_is(I, b, NULL, "new_call", "initiated", NULL); /* no outcome before the end */
    struct ingest_pgo_value c[] = {T("1"), T("in-progress"), N, T("2026-01-01 00:00:00+00"), N};
    call_is(UP, c, a, "call_update", "answered", NULL);
    struct ingest_pgo_value d[] = {T("1"), T("Ringing"), N, N, N};
    call_is(UP, d, a, "call_update", "ringing", NULL);
    /* a terminal status ends the call even before end_time is written */
    struct ingest_pgo_value e[] = {T("1"), T("no-answer"), N, N, N};
    call_is(UP, e, d, "call_ended", "ended", "no_answer");
    call_is(UP, e, e, "call_update", "ended", "no_answer"); /* ended once */
    struct ingest_pgo_value f[] = {T("1"), T("completed"), N, N, T("2026-01-01 00:01:00+00")};
    call_is(I, f, NULL, "call_ended", "ended", "completed");
    /* the outcome column wins over the status; end_time alone ends the call */
    struct ingest_pgo_value g[] = {T("1"), T("answered"), T("cancelled"), N,
                                   T("2026-01-01 00:01:00+00")};
    call_is(UP, g, c, "call_ended", "ended", "canceled");
    struct ingest_pgo_value h[] = {T("1"), T("ended"), N, N, T("2026-01-01 00:01:00+00")};
    call_is(UP, h, c, "call_ended", "ended", NULL); /* no outcome known: null, never guessed */
    /* unknown status values are never copied: the state follows the times */
    struct ingest_pgo_value u1[] = {T("1"), T("on_hold"), N, N, N};
    call_is(I, u1, NULL, "new_call", "initiated", NULL);
    struct ingest_pgo_value u2[] = {T("1"), N, N, T("2026-01-01 00:00:00+00"), N};
    call_is(UP, u2, u1, "call_update", "answered", NULL);
    struct ingest_pgo_value u3[] = {T("1"), T("weird"), T("weird"), N, T("2026-01-01 00:00:00+00")};
    call_is(UP, u3, u2, "call_ended", "ended", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ts),
        cmocka_unit_test(test_insert_and_call),
        cmocka_unit_test(test_update_toast_and_end),
        cmocka_unit_test(test_delete_and_truncated),
        cmocka_unit_test(test_call_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
