/* The PostgreSQL batch publish script against a real redis-server: what makes replays exact
 * without a key per event. Each case uses its own slot and stream keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg_script.h"
#include "rt_test.h"

static redisContext *g_r;

/* One call: commit LSN lsn (hi/lo), first index, prev ("" none), ckpt ("" none), n events on
 * key with bodies {"n":<first+i>}. */
static redisReply *batch(const char *slot, const char *key, unsigned hi, unsigned lo,
                         unsigned first, const char *prev, const char *ckpt, unsigned n)
{
    const char *argv[64];
    size_t len[64];
    char buf[64][64];
    int argc = 0, b = 0;
#define ARG(s)   (argv[argc] = (s), len[argc] = strlen(argv[argc]), argc++)
#define FMT(...) (snprintf(buf[b], sizeof(buf[b]), __VA_ARGS__), ARG(buf[b++]))
    ARG("EVAL");
    ARG(ingest_pg_batch_script);
    FMT("%u", 2 + n);
    FMT("rt:pg:%s:checkpoint", slot);
    FMT("rt:pg:%s:progress", slot);
    for (unsigned i = 0; i < n; i++)
        ARG(key);
    ARG("1000");
    FMT("%u", hi);
    FMT("%u", lo);
    FMT("%u", first);
    ARG(prev);
    ARG(ckpt);
    for (unsigned i = 0; i < n; i++)
        FMT("{\"n\":%u}", first + i);
#undef ARG
#undef FMT
    redisReply *r = redisCommandArgv(g_r, argc, argv, len);
    assert_non_null(r);
    return r;
}

static void expect_counts(redisReply *r, long long stored, long long skipped)
{
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("error reply: %s", r->str);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    assert_int_equal(r->element[0]->integer, stored);
    assert_int_equal(r->element[1]->integer, skipped);
    freeReplyObject(r);
}

static void expect_error(redisReply *r, const char *prefix)
{
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    if (strncmp(r->str, prefix, strlen(prefix)) != 0)
        fail_msg("error %s, expected %s...", r->str, prefix);
    freeReplyObject(r);
}

static char *get(const char *fmt, const char *slot)
{
    redisReply *r = redisCommand(g_r, fmt, slot);
    char *s = r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
    freeReplyObject(r);
    return s;
}

/* The "n" of every entry of key, in order, into out; returns the count. */
static size_t entries(const char *key, long long *out, size_t cap)
{
    redisReply *r = redisCommand(g_r, "XRANGE %s - +", key);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    size_t n = 0;
    for (size_t i = 0; i < r->elements && n < cap; i++) {
        const char *e = r->element[i]->element[1]->element[1]->str;
        out[n++] = atoll(strchr(e, ':') + 1);
    }
    freeReplyObject(r);
    return n;
}

static void test_replay_inside_a_transaction(void **state)
{
    (void)state;
    const char *slot = "sc_replay", *key = "rt:{t_sc}:db:s.replay";
    long long n[32];
    /* a transaction of 10 events: the first 6 stored, then a crash before the rest */
    expect_counts(batch(slot, key, 0, 500, 0, "", "", 4), 4, 0);
    expect_counts(batch(slot, key, 0, 500, 4, "0 500 3", "", 2), 2, 0);
    char *p = get("GET rt:pg:%s:progress", slot);
    assert_string_equal(p, "0 500 5");
    free(p);
    assert_null(get("GET rt:pg:%s:checkpoint", slot));
    /* the replay sends it again from the start, in other batch sizes */
    expect_counts(batch(slot, key, 0, 500, 0, "", "", 3), 0, 3);
    expect_counts(batch(slot, key, 0, 500, 3, "0 500 2", "", 5), 2, 3);
    expect_counts(batch(slot, key, 0, 500, 8, "0 500 7", "900", 2), 2, 0);
    size_t got = entries(key, n, 32);
    assert_int_equal(got, 10);
    for (size_t i = 0; i < got; i++)
        assert_int_equal(n[i], (long long)i);
    p = get("GET rt:pg:%s:checkpoint", slot);
    assert_string_equal(p, "900");
    free(p);
    /* an earlier transaction replayed in full is skipped; a later one is stored */
    expect_counts(batch(slot, key, 0, 400, 0, "", "", 3), 0, 3);
    expect_counts(batch(slot, key, 1, 7, 0, "0 500 9", "", 1), 1, 0);
    assert_int_equal(entries(key, n, 32), 11);
    p = get("GET rt:pg:%s:progress", slot);
    assert_string_equal(p, "1 7 0"); /* the high half of the LSN orders first */
    free(p);
}

static void test_gap_stores_nothing(void **state)
{
    (void)state;
    const char *slot = "sc_gap", *key = "rt:{t_sc}:db:s.gap";
    long long n[8];
    expect_counts(batch(slot, key, 0, 100, 0, "", "", 2), 2, 0);
    /* this session believes it sent up to index 4: a batch in between was not stored */
    expect_error(batch(slot, key, 0, 100, 5, "0 100 4", "777", 2), "GAP");
    assert_int_equal(entries(key, n, 8), 2);
    assert_null(get("GET rt:pg:%s:checkpoint", slot));
    /* no progress at all yet and a predecessor expected: also a gap */
    expect_error(batch("sc_gap2", key, 0, 100, 0, "0 50 0", "", 1), "GAP");
    assert_int_equal(entries(key, n, 8), 2);
    /* a bare checkpoint call (no events) is checked the same way */
    expect_error(batch(slot, key, 0, 100, 2, "0 100 3", "777", 0), "GAP");
    expect_counts(batch(slot, key, 0, 100, 2, "0 100 1", "777", 0), 0, 0);
    char *p = get("GET rt:pg:%s:checkpoint", slot);
    assert_string_equal(p, "777");
    free(p);
}

static void test_failed_xadd_keeps_marker_exact(void **state)
{
    (void)state;
    const char *slot = "sc_fail";
    long long n[8];
    /* events 0 and 1 go to a stream, event 2 to a key that is not a stream */
    freeReplyObject(redisCommand(g_r, "SET rt:{t_sc}:notastream x"));
    const char *vals[] = {"EVAL",
                          ingest_pg_batch_script,
                          "5",
                          "rt:pg:sc_fail:checkpoint",
                          "rt:pg:sc_fail:progress",
                          "rt:{t_sc}:db:s.fail",
                          "rt:{t_sc}:db:s.fail",
                          "rt:{t_sc}:notastream",
                          "1000",
                          "0",
                          "300",
                          "0",
                          "",
                          "42",
                          "{\"n\":0}",
                          "{\"n\":1}",
                          "{\"n\":2}"};
    int argc = (int)(sizeof(vals) / sizeof(vals[0]));
    assert_true(argc <= 17);
    const char *all[17];
    size_t alllen[17];
    for (int i = 0; i < argc; i++) {
        all[i] = vals[i];
        alllen[i] = strlen(vals[i]);
    }
    redisReply *r = redisCommandArgv(g_r, argc, all, alllen);
    expect_error(r, "WRONGTYPE");
    assert_int_equal(entries("rt:{t_sc}:db:s.fail", n, 8), 2);
    char *p = get("GET rt:pg:%s:progress", slot);
    assert_string_equal(p, "0 300 1"); /* the two stored events, not the failed one */
    free(p);
    assert_null(get("GET rt:pg:%s:checkpoint", slot));
}

static void test_bad_marker_is_refused(void **state)
{
    (void)state;
    long long n[4];
    freeReplyObject(redisCommand(g_r, "SET rt:pg:sc_bad:progress garbage"));
    expect_error(batch("sc_bad", "rt:{t_sc}:db:s.bad", 0, 1, 0, "", "", 1), "ERR bad progress");
    assert_int_equal(entries("rt:{t_sc}:db:s.bad", n, 4), 0);
}

int main(void)
{
    int port = rt_test_redis_port();
    if (port <= 0)
        return 2;
    g_r = redisConnect("127.0.0.1", port);
    if (!g_r || g_r->err)
        return 2;
    /* a private database: the shared fixture serves other tests */
    freeReplyObject(redisCommand(g_r, "SELECT 9"));
    freeReplyObject(redisCommand(g_r, "FLUSHDB"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_inside_a_transaction),
        cmocka_unit_test(test_gap_stores_nothing),
        cmocka_unit_test(test_failed_xadd_keeps_marker_exact),
        cmocka_unit_test(test_bad_marker_is_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    freeReplyObject(redisCommand(g_r, "FLUSHDB"));
    redisFree(g_r);
    return rc;
}
