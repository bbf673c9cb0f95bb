#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "codec_native.h"
#include "wsframe.h"

#include <stdlib.h>
#include <string.h>

static int decode(const char *s, struct edge_cmd *c, const char **why, char *ref)
{
    return edge_native_decode(s, strlen(s), c, why, ref, EDGE_REF_MAX + 1);
}

static void test_commands(void **state)
{
    (void)state;
    struct edge_cmd c;
    const char *why;
    char ref[EDGE_REF_MAX + 1];
    assert_int_equal(decode("ping", &c, &why, ref), 0);
    assert_int_equal(c.type, EDGE_CMD_PING_TEXT);
    edge_native_cmd_clear(&c);
    assert_int_equal(decode("{\"type\":\"subscribe\",\"ref\":\"1\",\"channel\":\"db:public.calls\","
                            "\"filter\":\"a=eq.1\",\"since\":\"1-0\"}",
                            &c, &why, ref),
                     0);
    assert_int_equal(c.type, EDGE_CMD_SUBSCRIBE);
    assert_string_equal(c.ref, "1");
    assert_string_equal(c.channel, "db:public.calls");
    assert_string_equal(c.filter, "a=eq.1");
    assert_string_equal(c.since, "1-0");
    edge_native_cmd_clear(&c);
    assert_int_equal(decode("{\"type\":\"auth\",\"token\":\"t\"}", &c, &why, ref), 0);
    assert_int_equal(c.type, EDGE_CMD_AUTH);
    assert_string_equal(c.token, "t");
    assert_null(c.ref);
    edge_native_cmd_clear(&c);
}

static void test_errors(void **state)
{
    (void)state;
    struct edge_cmd c;
    const char *why;
    char ref[EDGE_REF_MAX + 1];
    assert_int_equal(decode("{", &c, &why, ref), -1002 /* RT_EPARSE */);
    assert_int_equal(decode("[]", &c, &why, ref), -1002);
    assert_int_not_equal(decode("{\"type\":\"nope\",\"ref\":\"r\"}", &c, &why, ref), 0);
    assert_string_equal(ref, "r");
    assert_int_not_equal(decode("{\"type\":\"subscribe\"}", &c, &why, ref), 0);
    assert_int_not_equal(decode("{\"type\":\"subscribe\",\"channel\":1}", &c, &why, ref), 0);
    assert_int_not_equal(decode("{\"type\":\"auth\"}", &c, &why, ref), 0);
    assert_int_not_equal(decode("{\"type\":5}", &c, &why, ref), 0);
    assert_int_not_equal(decode("{\"type\":\"ping\",\"ref\":7}", &c, &why, ref), 0);
    assert_int_not_equal(decode("{\"type\":\"ping\",\"type\":\"auth\"}", &c, &why, ref), 0);
}

static void test_frames(void **state)
{
    (void)state;
    size_t sizes[] = {0, 125, 126, 65535, 65536, 70000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char *p = calloc(1, sizes[i] + 1);
        memset(p, 'a', sizes[i]);
        struct rt_msg *m = edge_wsframe_text(p, sizes[i]);
        size_t n;
        const unsigned char *f = edge_wsframe_bytes(m, &n);
        assert_int_equal(f[0], 0x81);
        size_t h = sizes[i] < 126 ? 2 : sizes[i] < 65536 ? 4 : 10;
        assert_int_equal(n, h + sizes[i]);
        if (h == 2)
            assert_int_equal(f[1], sizes[i]);
        else if (h == 4)
            assert_int_equal((f[2] << 8) | f[3], sizes[i]);
        else
            assert_int_equal(f[1], 127);
        assert_memory_equal(f + h, p, sizes[i]);
        rt_msg_unref(m);
        free(p);
    }
}

static void test_event_has_no_tenant(void **state)
{
    (void)state;
    json_t *env = json_loads("{\"id\":\"5-0\",\"channel\":\"user:u-1\",\"event\":\"e\","
                             "\"tenant\":\"acme\",\"ts\":\"t\",\"data\":{\"x\":1}}",
                             0, NULL);
    struct rt_msg *m = edge_native_event("user", env);
    char *s = strndup((const char *)rt_msg_payload(m), m->len);
    assert_string_equal(s,
                        "{\"type\":\"event\",\"channel\":\"user\",\"id\":\"5-0\",\"event\":\"e\","
                        "\"ts\":\"t\",\"data\":{\"x\":1}}");
    free(s);
    rt_msg_unref(m);
    json_decref(env);
    env = json_loads("{\"channel\":\"x\",\"data\":{}}", 0, NULL);
    assert_null(edge_native_event("x", env));
    json_decref(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_frames),
        cmocka_unit_test(test_event_has_no_tenant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
