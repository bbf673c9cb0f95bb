#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt/err.h"
#include "rt/log.h"

static json_t *format_json(const char *event, const struct rt_logf *f, size_t n)
{
    char buf[8192];
    size_t len = rt_log_format_line(buf, sizeof(buf), RT_LOG_WARN, event, "a message", f, n);
    assert_true(len > 2);
    assert_int_equal(buf[len - 1], '\n');
    json_error_t err;
    json_t *o = json_loadb(buf, len - 1, 0, &err);
    if (!o)
        fail_msg("not JSON: %s (%s)", buf, err.text);
    return o;
}

static void test_json_line_has_the_fixed_fields(void **state)
{
    (void)state;
    rt_log_init("rt-test", RT_LOG_INFO, RT_LOG_FORMAT_JSON);
    struct rt_logf f[] = {RT_LF_STR("channel", "calls"), RT_LF_INT("n", -5), RT_LF_UINT("u", 7),
                          RT_LF_BOOL("ok", true), RT_LF_DBL("ms", 1.5)};
    json_t *o = format_json("redis.connected", f, 5);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(o, "component")), "rt-test");
    assert_string_equal(json_string_value(json_object_get(o, "event")), "redis.connected");
    assert_string_equal(json_string_value(json_object_get(o, "msg")), "a message");
    assert_true(json_is_string(json_object_get(o, "ts")));
    assert_int_equal(json_integer_value(json_object_get(o, "pid")), getpid());
    assert_string_equal(json_string_value(json_object_get(o, "channel")), "calls");
    assert_int_equal(json_integer_value(json_object_get(o, "n")), -5);
    assert_int_equal(json_integer_value(json_object_get(o, "u")), 7);
    assert_true(json_is_true(json_object_get(o, "ok")));
    assert_true(json_real_value(json_object_get(o, "ms")) == 1.5);
    json_decref(o);
}

static void test_secrets_are_redacted(void **state)
{
    (void)state;
    rt_log_init("rt-test", RT_LOG_INFO, RT_LOG_FORMAT_JSON);
    struct rt_logf f[] = {
        RT_LF_STR("token", "eyJhbGc.secret.sig"), RT_LF_STR("webhook_secret", "s3cr3t"),
        RT_LF_STR("password", "hunter2"),         RT_LF_STR("X-Twilio-Signature", "abc="),
        RT_LF_STR("Authorization", "Bearer xyz"), RT_LF_INT("access_token_len", 12)};
    char buf[4096];
    size_t len = rt_log_format_line(buf, sizeof(buf), RT_LOG_INFO, "x", NULL, f, 6);
    assert_null(strstr(buf, "eyJhbGc"));
    assert_null(strstr(buf, "s3cr3t"));
    assert_null(strstr(buf, "hunter2"));
    assert_null(strstr(buf, "abc="));
    assert_null(strstr(buf, "xyz"));
    json_t *o = json_loadb(buf, len - 1, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "token")), "***");
    assert_string_equal(json_string_value(json_object_get(o, "Authorization")), "***");
    json_decref(o);
    assert_false(rt_log_key_is_secret("channel"));
    assert_false(rt_log_key_is_secret("key"));
    assert_true(rt_log_key_is_secret("api_key"));
}

static void test_hostile_values_cannot_forge_lines(void **state)
{
    (void)state;
    rt_log_init("rt-test", RT_LOG_INFO, RT_LOG_FORMAT_JSON);
    const char hostile[] = "a\"}\n{\"level\":\"fatal\",\"x\":\"\\\x01\xff\xc3\x28 end";
    struct rt_logf f[] = {RT_LF_STR("tenant", hostile), RT_LF_STR("null", NULL)};
    char buf[4096];
    size_t len = rt_log_format_line(buf, sizeof(buf), RT_LOG_INFO, "x", NULL, f, 2);
    assert_null(memchr(buf, '\n', len - 1)); /* exactly one line */
    json_t *o = json_loadb(buf, len - 1, 0, NULL);
    assert_non_null(o); /* still valid JSON (invalid UTF-8 replaced) */
    assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
    assert_non_null(strstr(json_string_value(json_object_get(o, "tenant")), "end"));
    assert_true(json_is_null(json_object_get(o, "null")));
    json_decref(o);
}

static void test_long_values_are_cut_and_line_stays_valid(void **state)
{
    (void)state;
    char *big = malloc(20000);
    memset(big, 'x', 19999);
    big[19999] = '\0';
    struct rt_logf f[] = {RT_LF_STR("body_size_hint", big)};
    json_t *o = format_json("x", f, 1);
    assert_true(strlen(json_string_value(json_object_get(o, "body_size_hint"))) < 2000);
    json_decref(o);
    free(big);
}

static void test_text_format(void **state)
{
    (void)state;
    rt_log_init("rt-test", RT_LOG_INFO, RT_LOG_FORMAT_TEXT);
    struct rt_logf f[] = {RT_LF_STR("channel", "a b"), RT_LF_STR("secret", "zzz")};
    char buf[1024];
    rt_log_format_line(buf, sizeof(buf), RT_LOG_ERROR, "ws.closed", NULL, f, 2);
    assert_non_null(strstr(buf, "level=\"error\""));
    assert_non_null(strstr(buf, "event=\"ws.closed\""));
    assert_non_null(strstr(buf, "channel=\"a b\""));
    assert_null(strstr(buf, "zzz"));
    rt_log_init("rt-test", RT_LOG_INFO, RT_LOG_FORMAT_JSON);
}

static void test_levels(void **state)
{
    enum rt_log_level l;
    enum rt_log_format f;
    (void)state;
    assert_int_equal(rt_log_level_parse("warn", &l), 0);
    assert_int_equal(l, RT_LOG_WARN);
    assert_int_equal(rt_log_level_parse("loud", &l), RT_EINVAL);
    assert_int_equal(rt_log_format_parse("text", &f), 0);
    assert_int_equal(rt_log_format_parse("xml", &f), RT_EINVAL);
    rt_log_init("rt-test", RT_LOG_WARN, RT_LOG_FORMAT_JSON);
    assert_false(rt_log_enabled(RT_LOG_INFO));
    assert_true(rt_log_enabled(RT_LOG_ERROR));
}

static void test_emit_writes_one_line(void **state)
{
    int fds[2];
    char buf[4096];
    (void)state;
    assert_int_equal(pipe(fds), 0);
    rt_log_init("rt-test", RT_LOG_DEBUG, RT_LOG_FORMAT_JSON);
    rt_log_set_fd(fds[1]);
    RT_INFO("test.event", "hello", RT_LF_STR("k", "v"));
    RT_DEBUG("test.debug", "dbg");
    rt_log_set_fd(2);
    close(fds[1]);
    ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
    close(fds[0]);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "\"event\":\"test.event\""));
    assert_non_null(strstr(buf, "\"event\":\"test.debug\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_line_has_the_fixed_fields),
        cmocka_unit_test(test_secrets_are_redacted),
        cmocka_unit_test(test_hostile_values_cannot_forge_lines),
        cmocka_unit_test(test_long_values_are_cut_and_line_stays_valid),
        cmocka_unit_test(test_text_format),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_emit_writes_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
