/* The publish script through the C wrapper against a real redis-server: the event is read back
 * from the stream and from a subscriber, a dedupe key publishes once, NOSCRIPT reloads, MAXLEN
 * trims, and a publish while Redis is down is refused at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt/envelope.h"
#include "rt/err.h"
#include "rt/log.h"
#include "rt/loop_event.h"
#include "rt/naming.h"
#include "rt/publish.h"
#include "rt/rconn.h"
#include "rt_test.h"

struct result {
    int done;
    int status;
    char id[64];
};

struct ctx {
    struct event_base *base;
    struct rt_loop loop;
    struct rt_rconn *rc;
    struct rt_publisher *pub;
    redisContext *sync;
    char url[128];
    char tenant[32];
    char key[RT_KEY_MAX];
    /* subscriber */
    redisAsyncContext *sub;
    int subscribed;
    char *messages[16];
    int nmessages;
};

static struct ctx g;

static void on_state(struct rt_rconn *rc, enum rt_rconn_state st, void *arg)
{
    (void)rc;
    (void)arg;
    if (st == RT_RCONN_READY && g.pub)
        rt_publisher_on_ready(g.pub);
}

static void run_until(int *flag, int want, int timeout_ms)
{
    for (int waited = 0; *flag < want && waited < timeout_ms; waited += 5) {
        struct timeval tv = {0, 5000};
        event_base_loopexit(g.base, &tv);
        event_base_dispatch(g.base);
    }
}

static void on_published(int status, const char *id, void *arg)
{
    struct result *r = arg;
    r->status = status;
    snprintf(r->id, sizeof(r->id), "%s", id ? id : "");
    r->done = 1;
}

static void on_sub(redisAsyncContext *ac, void *rp, void *priv)
{
    redisReply *r = rp;
    (void)ac;
    (void)priv;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3)
        return;
    if (strcmp(r->element[0]->str, "subscribe") == 0)
        g.subscribed = 1;
    else if (strcmp(r->element[0]->str, "message") == 0 && g.nmessages < 16)
        g.messages[g.nmessages++] = strndup(r->element[2]->str, r->element[2]->len);
}

static char *body_for(const char *event, int n)
{
    struct rt_envelope e;
    assert_int_equal(rt_envelope_init(&e, "tenant", event, g.tenant, NULL,
                                      json_pack("{s:i,s:s}", "n", n, "note", "ünïcode \"q\"")),
                     0);
    char *s = rt_envelope_dumps(&e, false, true);
    rt_envelope_clear(&e);
    return s;
}

static struct result publish(const char *body, const char *dedupe, unsigned long maxlen)
{
    struct result r = {0};
    struct rt_publish_req req = {.key = g.key,
                                 .body = body,
                                 .body_len = strlen(body),
                                 .dedupe_key = dedupe,
                                 .dedupe_ttl_s = 60,
                                 .maxlen = maxlen};
    assert_int_equal(rt_publish(g.pub, &req, on_published, &r), 0);
    run_until(&r.done, 1, 5000);
    assert_int_equal(r.done, 1);
    return r;
}

static int setup(void **state)
{
    (void)state;
    rt_log_init("test", RT_LOG_WARN, RT_LOG_FORMAT_JSON);
    assert_true(rt_test_redis_url(g.url, sizeof(g.url)));
    snprintf(g.tenant, sizeof(g.tenant), "t%d", (int)getpid());
    assert_int_equal(rt_name_key(g.key, sizeof(g.key), g.tenant, "tenant"), 0);
    g.base = event_base_new();
    rt_loop_event_init(&g.loop, g.base);
    struct rt_rconn_opts o = {
        .url = g.url, .client_name = "test", .ping_interval_ms = 500, .on_state = on_state};
    assert_int_equal(rt_rconn_open(&g.rc, &g.loop, &o), 0);
    g.pub = rt_publisher_new(g.rc, 1000);
    for (int i = 0; i < 400 && !rt_rconn_ready(g.rc); i++)
        run_until(&(int){0}, 1, 5);
    assert_true(rt_rconn_ready(g.rc));
    g.sync = redisConnect("127.0.0.1", rt_test_redis_port());
    assert_true(g.sync && !g.sync->err);
    g.sub = redisAsyncConnect("127.0.0.1", rt_test_redis_port());
    redisLibeventAttach(g.sub, g.base);
    redisAsyncCommand(g.sub, on_sub, NULL, "SUBSCRIBE %s", g.key);
    run_until(&g.subscribed, 1, 5000);
    assert_int_equal(g.subscribed, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    freeReplyObject(redisCommand(g.sync, "DEL %s", g.key));
    redisAsyncFree(g.sub);
    rt_rconn_free(g.rc);
    rt_publisher_free(g.pub);
    redisFree(g.sync);
    for (int i = 0; i < g.nmessages; i++)
        free(g.messages[i]);
    event_base_free(g.base);
    libevent_global_shutdown();
    return 0;
}

static void test_publish_stream_and_subscriber(void **state)
{
    (void)state;
    char *b1 = body_for("first", 1), *b2 = body_for("second", 2);
    struct result r1 = publish(b1, NULL, 0);
    assert_int_equal(r1.status, 0);
    assert_true(rt_stream_id_valid(r1.id));
    char dedupe[RT_KEY_MAX + 32];
    snprintf(dedupe, sizeof(dedupe), "rt:{%s}:dedupe:test:abc", g.tenant);
    struct result r2 = publish(b2, dedupe, 0);
    assert_int_equal(r2.status, 0);
    assert_true(rt_stream_id_cmp(r1.id, r2.id) < 0);
    /* the same dedupe key again: no new entry, answered with the first id */
    struct result r3 = publish(b2, dedupe, 0);
    assert_int_equal(r3.status, RT_EDUPLICATE);
    assert_string_equal(r3.id, r2.id);

    redisReply *x = redisCommand(g.sync, "XRANGE %s - +", g.key);
    assert_int_equal(x->type, REDIS_REPLY_ARRAY);
    assert_int_equal(x->elements, 2);
    assert_string_equal(x->element[0]->element[0]->str, r1.id);
    assert_string_equal(x->element[1]->element[0]->str, r2.id);
    redisReply *fields = x->element[0]->element[1];
    assert_string_equal(fields->element[0]->str, "e");
    assert_string_equal(fields->element[1]->str, b1);
    freeReplyObject(x);

    /* the subscriber saw exactly two messages, each the full envelope with its stream id */
    run_until(&g.nmessages, 2, 2000);
    run_until(&g.nmessages, 3, 200); /* a third (the duplicate) must not come */
    assert_int_equal(g.nmessages, 2);
    const char *ids[] = {r1.id, r2.id};
    const char *events[] = {"first", "second"};
    for (int i = 0; i < 2; i++) {
        struct rt_envelope e;
        assert_int_equal(rt_envelope_parse(g.messages[i], strlen(g.messages[i]), &e), 0);
        assert_string_equal(e.id, ids[i]);
        assert_string_equal(e.event, events[i]);
        assert_string_equal(e.tenant, g.tenant);
        assert_int_equal(json_integer_value(json_object_get(e.data, "n")), i + 1);
        rt_envelope_clear(&e);
    }
    free(b1);
    free(b2);
}

static void test_noscript_reloads(void **state)
{
    (void)state;
    freeReplyObject(redisCommand(g.sync, "SCRIPT FLUSH"));
    char *b = body_for("after_flush", 3);
    struct result r = publish(b, NULL, 0);
    assert_int_equal(r.status, 0);
    assert_true(rt_stream_id_valid(r.id));
    free(b);
}

static void test_maxlen_trims(void **state)
{
    (void)state;
    char *b = body_for("bulk", 4);
    struct result rs[300];
    memset(rs, 0, sizeof(rs));
    struct rt_publish_req req = {.key = g.key, .body = b, .body_len = strlen(b), .maxlen = 100};
    /* pipelined: all 300 are sent before any reply is read */
    for (int i = 0; i < 300; i++)
        assert_int_equal(rt_publish(g.pub, &req, on_published, &rs[i]), 0);
    assert_int_equal(rt_publisher_inflight(g.pub), 300);
    run_until(&rs[299].done, 1, 10000);
    for (int i = 1; i < 300; i++) {
        assert_int_equal(rs[i].status, 0);
        assert_true(rt_stream_id_cmp(rs[i - 1].id, rs[i].id) < 0); /* replies in order */
    }
    redisReply *n = redisCommand(g.sync, "XLEN %s", g.key);
    assert_true(n->integer >= 100 && n->integer < 300);
    freeReplyObject(n);
    free(b);
}

static void test_refused_while_redis_down(void **state)
{
    (void)state;
    struct rt_rconn *down;
    struct rt_rconn_opts o = {.url = "redis://127.0.0.1:1/0", .connect_timeout_ms = 200};
    assert_int_equal(rt_rconn_open(&down, &g.loop, &o), 0);
    struct rt_publisher *p = rt_publisher_new(down, 0);
    struct result r = {0};
    struct rt_publish_req req = {.key = g.key, .body = "{\"a\":1}", .body_len = 7};
    assert_int_equal(rt_publish(p, &req, on_published, &r), RT_ENOTREADY);
    assert_int_equal(r.done, 0);
    /* malformed requests are refused before touching Redis */
    struct rt_publish_req bad = {.key = g.key, .body = "[]", .body_len = 2};
    assert_int_equal(rt_publish(g.pub, &bad, on_published, &r), RT_EINVAL);
    rt_rconn_free(down);
    rt_publisher_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_stream_and_subscriber),
        cmocka_unit_test(test_noscript_reloads),
        cmocka_unit_test(test_maxlen_trims),
        cmocka_unit_test(test_refused_while_redis_down),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
