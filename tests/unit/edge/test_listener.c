#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "listener.h"

#include <stdio.h>
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

/* A compact header whose ", "-joined rewrite would be longer than the original (this aborted
 * rt-edge before any authentication: one request took every connection down). */
static void test_compact_header_never_grows(void **state)
{
    (void)state;
    char *token;
    char *out = strip("GET /ws HTTP/1.1\r\nSec-WebSocket-Protocol:a,a,a,a,a,a,a,a,a,a,a,a,a,"
                      "rt.bearer.x\r\nX: y\r\n\r\n",
                      &token);
    assert_string_equal(token, "x");
    assert_string_equal(out, "GET /ws HTTP/1.1\r\nSec-WebSocket-Protocol:a,a,a,a,a,a,a,a,a,a,a,a,a"
                             "\r\nX: y\r\n\r\n");
    free(out);
    free(token);
}

/* Bare "\n" line ends, an empty token, many entries around it: every kept entry survives (no
 * fixed-size buffer drops any) and the head never grows. */
static void test_many_entries_bare_newlines(void **state)
{
    (void)state;
    char in[8192], want[8192];
    size_t o = (size_t)snprintf(in, sizeof(in), "GET /ws HTTP/1.1\nsec-websocket-protocol:");
    size_t w = (size_t)snprintf(want, sizeof(want), "GET /ws HTTP/1.1\nSec-WebSocket-Protocol:");
    for (int i = 0; i < 600; i++) {
        o += (size_t)snprintf(in + o, sizeof(in) - o, "%s%d", i ? "," : "", i % 10);
        w += (size_t)snprintf(want + w, sizeof(want) - w, "%s%d", i ? "," : "", i % 10);
        if (i == 300)
            o += (size_t)snprintf(in + o, sizeof(in) - o, ",rt.bearer.");
    }
    snprintf(in + o, sizeof(in) - o, "\nX: y\n\n");
    snprintf(want + w, sizeof(want) - w, "\r\nX: y\n\n");
    char *token;
    char *out = strip(in, &token);
    assert_non_null(token);
    assert_string_equal(token, "");
    assert_true(strlen(out) <= strlen(in));
    assert_string_equal(out, want);
    free(out);
    free(token);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bearer_moved_out),
        cmocka_unit_test(test_header_removed_when_only_bearer_and_case),
        cmocka_unit_test(test_untouched_without_bearer),
        cmocka_unit_test(test_compact_header_never_grows),
        cmocka_unit_test(test_many_entries_bare_newlines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
