#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "listener.h"

#include <stdlib.h>
#include <string.h>

static char *strip(const char *in, char **token)
{
    size_t n = strlen(in);
    char *buf = malloc(n + 1);
    memcpy(buf, in, n + 1);
    size_t m = edge_listener_strip_bearer(buf, n, token);
    buf[m] = '\0';
    return buf;
}

static void test_bearer_moved_out(void **state)
{
    (void)state;
    char *token;
    char *out = strip("GET /ws HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Protocol: rt.v1, "
                      "rt.bearer.aaa.bbb.ccc\r\nUpgrade: websocket\r\n\r\n",
                      &token);
    assert_string_equal(token, "aaa.bbb.ccc");
    assert_string_equal(out, "GET /ws HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Protocol: rt.v1\r\n"
                             "Upgrade: websocket\r\n\r\n");
    free(out);
    free(token);
}

static void test_header_removed_when_only_bearer_and_case(void **state)
{
    (void)state;
    char *token;
    char *out =
        strip("GET /ws HTTP/1.1\r\nsec-websocket-protocol:rt.bearer.T\r\nX: y\r\n\r\n", &token);
    assert_string_equal(token, "T");
    assert_string_equal(out, "GET /ws HTTP/1.1\r\nX: y\r\n\r\n");
    free(out);
    free(token);
}

static void test_untouched_without_bearer(void **state)
{
    (void)state;
    const char *in = "GET /ws HTTP/1.1\r\nSec-WebSocket-Protocol: rt.v1\r\n\r\n";
    char *token = (char *)1;
    char *out = strip(in, &token);
    assert_null(token);
    assert_string_equal(out, in);
    free(out);
    out = strip("GET /x HTTP/1.1\r\n\r\n", &token);
    assert_null(token);
    assert_string_equal(out, "GET /x HTTP/1.1\r\n\r\n");
    free(out);
    /* the header name only in a value, or a prefix of another header, is not the header */
    out = strip("GET / HTTP/1.1\r\nX-Sec-WebSocket-Protocol: rt.bearer.Z\r\n\r\n", &token);
    assert_null(token);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bearer_moved_out),
        cmocka_unit_test(test_header_removed_when_only_bearer_and_case),
        cmocka_unit_test(test_untouched_without_bearer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
