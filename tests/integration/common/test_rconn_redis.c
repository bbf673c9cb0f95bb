/* rt_rconn against a real redis-server: READY after the handshake, a failing handshake never
 * reports READY, and a stopped then restarted server is noticed and reconnected with backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt/err.h"
#include "rt/log.h"
#include "rt/loop_event.h"
#include "rt/rconn.h"
#include "rt_test.h"

static struct event_base *base;
static struct rt_loop loop;
static char dir[512];
static int port;
static int ready_count, down_count;

static void on_state(struct rt_rconn *rc, enum rt_rconn_state st, void *arg)
{
    (void)rc;
    (void)arg;
    if (st == RT_RCONN_READY)
        ready_count++;
    else if (st == RT_RCONN_BACKOFF)
        down_count++;
}

static void spin(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

static bool spin_until(int *counter, int want, int timeout_ms)
{
    for (int t = 0; t < timeout_ms && *counter < want; t += 10)
        spin(10);
    return *counter >= want;
}

static struct rt_rconn *open_url(const char *url)
{
    struct rt_rconn *rc;
    struct rt_rconn_opts o = {.url = url,
                              .client_name = "rt-test",
                              .connect_timeout_ms = 500,
                              .ping_interval_ms = 200,
                              .backoff_min_ms = 50,
                              .backoff_max_ms = 400,
                              .on_state = on_state};
    assert_int_equal(rt_rconn_open(&rc, &loop, &o), 0);
    return rc;
}

static void on_reply(redisAsyncContext *ac, void *r, void *priv)
{
    (void)ac;
    redisReply *reply = r;
    int *got = priv;
    *got =
        reply && reply->type == REDIS_REPLY_STRING && strcmp(reply->str, "rt-test") == 0 ? 1 : -1;
}

static void test_ready_then_commands(void **state)
{
    char url[128];
    (void)state;
    ready_count = down_count = 0;
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/3", port);
    struct rt_rconn *rc = open_url(url);
    assert_true(spin_until(&ready_count, 1, 3000));
    assert_true(rt_rconn_ready(rc));
    int got = 0;
    /* CLIENT SETNAME ran during the handshake */
    assert_int_equal(rt_rconn_cmd(rc, on_reply, &got, "CLIENT GETNAME"), 0);
    for (int t = 0; t < 2000 && !got; t += 10)
        spin(10);
    assert_int_equal(got, 1);
    rt_rconn_free(rc);
}

static void test_failed_handshake_never_ready(void **state)
{
    char url[128];
    (void)state;
    ready_count = down_count = 0;
    /* AUTH against a server without a password fails: the PING after it must not count */
    snprintf(url, sizeof(url), "redis://:wrong@127.0.0.1:%d/0", port);
    struct rt_rconn *rc = open_url(url);
    assert_true(spin_until(&down_count, 2, 3000));
    assert_int_equal(ready_count, 0);
    assert_false(rt_rconn_ready(rc));
    assert_non_null(strstr(rt_rconn_last_error(rc), "handshake failed"));
    assert_int_equal(rt_rconn_cmd(rc, on_reply, NULL, "PING"), RT_ENOTREADY);
    rt_rconn_free(rc);
}

static void test_server_restart_reconnects(void **state)
{
    char url[128];
    (void)state;
    ready_count = down_count = 0;
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
    struct rt_rconn *rc = open_url(url);
    assert_true(spin_until(&ready_count, 1, 3000));
    assert_int_equal(rt_test_fixture("redis.sh", "stop", dir, NULL), 0);
    assert_true(spin_until(&down_count, 1, 3000));
    assert_false(rt_rconn_ready(rc));
    assert_true(strlen(rt_rconn_last_error(rc)) > 0);
    spin(300); /* a few failed attempts while the server is away */
    assert_int_equal(rt_test_fixture("redis.sh", "restart", dir, NULL), 0);
    assert_true(spin_until(&ready_count, 2, 5000));
    assert_true(rt_rconn_ready(rc));
    assert_string_equal(rt_rconn_last_error(rc), "");
    rt_rconn_free(rc);
}

static void test_bad_url(void **state)
{
    struct rt_rconn *rc = (void *)1;
    (void)state;
    struct rt_rconn_opts o = {.url = "http://nope"};
    assert_int_equal(rt_rconn_open(&rc, &loop, &o), RT_EINVAL);
    assert_null(rc);
}

int main(void)
{
    const char *root = getenv("RT_TEST_STATE");
    rt_log_init("test", RT_LOG_ERROR, RT_LOG_FORMAT_JSON);
    snprintf(dir, sizeof(dir), "%s/rconn-%d", root ? root : "/tmp", (int)getpid());
    if (rt_test_fixture("redis.sh", "start", dir, "private") != 0)
        return 1;
    char buf[16];
    FILE *f = fopen(strcat(strcpy((char[600]){0}, dir), "/port"), "r");
    if (!f || !fgets(buf, sizeof(buf), f))
        return 1;
    fclose(f);
    port = atoi(buf);
    base = event_base_new();
    rt_loop_event_init(&loop, base);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_then_commands),
        cmocka_unit_test(test_failed_handshake_never_ready),
        cmocka_unit_test(test_server_restart_reconnects),
        cmocka_unit_test(test_bad_url),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rt_test_fixture("redis.sh", "stop", dir, NULL);
    event_base_free(base);
    libevent_global_shutdown();
    return rc;
}
